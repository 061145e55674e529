/*
 * libFuzzer target for the USSD menu (ussd/umenu.h): any kept state either decodes to a
 * valid state or is refused, a decoded state encodes and decodes to itself, and any
 * inputs typed from it give screens that are never empty, always fit the screen limits
 * of their coding, and say END only at the end. The wording set is the shipped one
 * (run from the repository root, or set HISAAB_ROOT).
 *
 *   make fuzz && build/fuzz/fuzz_umenu -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/search.h"
#include "ussd/umenu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct i18n_set *words;
static struct directory dir;
static struct dir_district rows[3];
static struct dir_pin pins[2];

static void once(void)
{
    const char *root = getenv("HISAAB_ROOT");
    char path[4096], err[256];
    struct search_district sd;
    size_t i;

    snprintf(path, sizeof(path), "%s/assets/templates/ussd", root != NULL ? root : ".");
    if (i18n_set_load(path, umenu_lang_codes, UL_NLANGS, &words, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    for (i = 0; i < 3; i++) {
        rows[i].has_id = i > 0;
        rows[i].state_code = i > 0 ? 17 : -9;
        rows[i].district_code = i > 0 ? 1700 + (int)i : -162;
        rows[i].name[0] = i == 0 ? "Lucknow" : i == 1 ? "Agar Malwa" : "Niwari";
        rows[i].name[1] = i == 0 ? "लखनऊ" : i == 1 ? "आगर मालवा" : "निवाड़ी";
        rows[i].state[0] = i == 0 ? "Uttar Pradesh" : "Madhya Pradesh";
        rows[i].state[1] = i == 0 ? "उत्तर प्रदेश" : "मध्य प्रदेश";
        rows[i].has_facts = i == 2;
        rows[i].facts.year = 2025;
        rows[i].facts.month = 3;
        rows[i].facts.have_families = rows[i].facts.have_days = 1;
        rows[i].facts.families = 99999999;
        rows[i].facts.days = 99.5;
    }
    pins[0] = (struct dir_pin){472001, 1, 0.5f};
    pins[1] = (struct dir_pin){472001, 2, 0.5f};
    dir.rows = rows;
    dir.n = 3;
    dir.pins = pins;
    dir.npins = 2;
    dir.index = search_index_new();
    for (i = 0; i < 3; i++) {
        memset(&sd, 0, sizeof(sd));
        sd.state_code = rows[i].state_code;
        sd.district_code = rows[i].district_code;
        sd.name_en = rows[i].name[0];
        sd.name_hi = rows[i].name[1];
        if (search_index_add(dir.index, &sd) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t qlen = nul != NULL ? (size_t)(nul - (const char *)data) : size, i, n;
    struct umenu_state st, back;
    struct umenu_env env;
    struct umenu_out o;
    char inputs[512], *p, *nl;
    struct buf b;
    int ucs2, steps;

    if (words == NULL)
        once();
    if (umenu_decode((const char *)data, qlen, &st) != 0)
        return 0;
    buf_init(&b, 4096);
    if (umenu_encode(&st, &b) != 0 || umenu_decode(b.data, b.len, &back) != 0 ||
        memcmp(&st, &back, sizeof(st)) != 0)
        abort();
    buf_free(&b);
    memset(&env, 0, sizeof(env));
    env.dir = &dir;
    env.words = words;
    env.has_district = 1;
    env.state_code = 17;
    env.district_code = 1702;
    memset(inputs, 0, sizeof(inputs));
    if (nul != NULL) {
        n = size - qlen - 1;
        memcpy(inputs, nul + 1, n < sizeof(inputs) - 1 ? n : sizeof(inputs) - 1);
    }
    umenu_out_init(&o);
    for (p = inputs, steps = 0; p != NULL && steps < 8 && st.screen != UM_END; steps++) {
        nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        (void)umenu_step(&st, p, &env, &o);
        if (o.screen.len == 0)
            abort();
        i = umenu_screen_len(o.screen.data, o.screen.len, &ucs2);
        if (i == (size_t)-1 || i > (ucs2 ? UMENU_UCS2_LIMIT : UMENU_GSM_LIMIT))
            abort();
        if (o.end != (st.screen == UM_END))
            abort();
        p = nl != NULL ? nl + 1 : NULL;
    }
    umenu_out_free(&o);
    return 0;
}
