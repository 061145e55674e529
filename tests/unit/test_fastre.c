/*
 * Unit tests for net/fastre.c: which regexes take the fast path, and that on those it
 * decides exactly as regexec() does: every validator regex of kore.conf and generated
 * ones, each against every short string over an alphabet that touches their sets and
 * against random longer ones.
 */
#include "net/fastre.h"

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/config.h"

static const char alphabet[] = "a9Z+-_.:() \t]\\{}[x0\x80\xc3";

/* 1 when both decide the same on s (or fastre does not take the regex). */
static void agree(const char *re, const regex_t *rx, const struct fastre *f, const char *s)
{
    int slow = regexec(rx, s, 0, NULL, 0) == 0;
    int fast = fastre_match(f, s);

    if (slow != fast)
        fail_msg("regex '%s' on '%s': regexec %d, fastre %d", re, s, slow, fast);
}

static unsigned long long rnd_state = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state % n);
}

/* Compare on all strings up to 3 characters of the alphabet, and 3,000 random ones of up
 * to 70 characters from the alphabet and from the regex's own bytes. Returns fastre's ok. */
static int check(const char *re)
{
    regex_t rx;
    struct fastre f;
    char s[80];
    size_t na = sizeof(alphabet) - 1, nr = strlen(re), i, j, k, n;

    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    if (!fastre_compile(re, &f)) {
        regfree(&rx);
        return 0;
    }
    assert_int_equal(f.ok, 1);
    agree(re, &rx, &f, "");
    for (i = 0; i < na; i++) {
        s[0] = alphabet[i];
        s[1] = '\0';
        agree(re, &rx, &f, s);
        for (j = 0; j < na; j++) {
            s[1] = alphabet[j];
            s[2] = '\0';
            agree(re, &rx, &f, s);
            for (k = 0; k < na; k++) {
                s[2] = alphabet[k];
                s[3] = '\0';
                agree(re, &rx, &f, s);
            }
        }
    }
    for (i = 0; i < 3000; i++) {
        n = rnd(71);
        for (j = 0; j < n; j++)
            s[j] = rnd(2) ? alphabet[rnd((unsigned)na)] : re[rnd((unsigned)nr)];
        s[n] = '\0';
        agree(re, &rx, &f, s);
    }
    regfree(&rx);
    return 1;
}

static void test_kore_conf_validators(void **state)
{
    struct config *cfg = NULL;
    char err[512], exe[400], path[512];
    size_t i, fast = 0, regex = 0, up;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    (void)state;
    assert_true(n > 0);
    exe[n] = '\0';
    /* build/tests/test_fastre or build/asan/tests/test_fastre, under the repository */
    for (up = 0; up < 4 && cfg == NULL && (slash = strrchr(exe, '/')) != NULL; up++) {
        *slash = '\0';
        snprintf(path, sizeof(path), "%s/kore.conf", exe);
        if (access(path, R_OK) == 0 && config_load(path, &cfg, err, sizeof(err)) != 0)
            fail_msg("kore.conf: %s", err);
    }
    assert_non_null(cfg);
    for (i = 0; i < cfg->nvalidators; i++) {
        const struct cfg_validator *v = &cfg->validators[i];
        if (v->type != CFG_VALIDATOR_REGEX)
            continue;
        regex++;
        assert_int_equal(v->fast.ok, check(v->arg) == 1);
        fast += (size_t)v->fast.ok;
    }
    assert_true(regex >= 10);
    /* every one but the metric names (an alternation) takes the fast path */
    assert_int_equal(fast, regex - 1);
    config_free(cfg);
}

static void test_forms_taken_and_left(void **state)
{
    static const char *const taken[] = {
        "^[0-9]{1,2}$",
        "^[+]?[0-9[:space:]()-]{1,24}$",
        "^[-A-Za-z0-9_.:]{1,64}$",
        "^[0-2]$",
        "^a+b*c?$",
        "^[]a]{2,}$",
        "^\\.[a-z]{3}\\$X{0}$",
        "^[[:upper:]][[:lower:]]*$",
        "^x{5}$",
        "^[\\]{1,3}$",
        "^[a-]{2}:$",
        "^[--/]+$",
    };
    static const char *const left[] = {
        "^(a|b)$", "^[^a]$", "^[a-z]+[0-9a]$", "^a{2}{3}$", "^a.b$",   "^ab",   "ab$",
        "^a\\1$",  "^a\\<$", "^[[.a.]]$",      "^a{1001}$", "^a{,3}$", "^\\$",  "^a+?$",
        "^$",      "^a|b$",  "^[[:word:]]$",   "^a{3,2}$",  "^é$",     "^a*a$",
    };
    struct fastre f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        if (!fastre_compile(taken[i], &f))
            fail_msg("'%s' should take the fast path", taken[i]);
        assert_int_equal(check(taken[i]), 1);
    }
    for (i = 0; i < sizeof(left) / sizeof(left[0]); i++)
        if (fastre_compile(left[i], &f) || f.ok)
            fail_msg("'%s' should be left to regexec", left[i]);
}

/* Random regexes of the form (and near it): wherever fastre takes one, it agrees. */
static void test_generated(void **state)
{
    static const char *const atoms[] = {"[0-9]",  "[a-f]", "[+]", "x",   "\\.",     "[[:space:]]",
                                        "[A-Z_]", "-",     ":",   "[]]", "[a-z0-9]"};
    static const char *const reps[] = {"", "", "?", "*", "+", "{2}", "{1,3}", "{0,2}", "{2,}"};
    char re[128];
    size_t i, k, n, taken = 0;

    (void)state;
    for (i = 0; i < 400; i++) {
        size_t at = 0;
        re[at++] = '^';
        n = 1 + rnd(4);
        for (k = 0; k < n; k++)
            at += (size_t)snprintf(re + at, sizeof(re) - at, "%s%s",
                                   atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))],
                                   reps[rnd(sizeof(reps) / sizeof(reps[0]))]);
        re[at++] = '$';
        re[at] = '\0';
        if (check(re) == 1)
            taken++;
    }
    assert_true(taken > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kore_conf_validators),
        cmocka_unit_test(test_forms_taken_and_left),
        cmocka_unit_test(test_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
