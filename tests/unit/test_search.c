/*
 * Unit tests for the district search (src/text/search.c and search_norm.c), on the real
 * reference data: the Madhya Pradesh districts of data/mgnrega_mp_2024-25.csv (NREGA
 * codes) plus the 9 more of data/reference/mp_nrega_lgd.csv, with Hindi names from
 * data/reference/districts_hi.csv and aliases from mp_centroids.csv, next to every other
 * district of the Hindi-speaking states (districts_hi.csv, aliases from
 * district_aliases.csv) and Maharashtra's Aurangabad, so that same-named districts really
 * collide. Districts outside Madhya Pradesh get the code 100000 + their LGD code. A table
 * of real inputs asserts the top result; a second index of all ~760 LGD districts is used
 * for a printed benchmark. Includes search.c to reach the index's internals and
 * osa_bitpar(); the normalisation (search_norm.c) is tested through search_norm.h.
 */
#include "../../src/text/search.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define OTHER_BASE 100000
#define MAX_ROWS 1024
#define MAX_FIELDS 12
#define NAME_MAX_ 128
#define ALIAS_MAX 8

static char data_dir[4096];

/* data/, found from the test binary (build/tests/test_search) or $HISAAB_DATA. */
static void find_data(void)
{
    char exe[3000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *env = getenv("HISAAB_DATA");
    int i;

    if (env != NULL) {
        snprintf(data_dir, sizeof(data_dir), "%s", env);
        return;
    }
    assert_true(n > 0);
    exe[n] = '\0';
    for (i = 0; i < 3; i++) {
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
    snprintf(data_dir, sizeof(data_dir), "%s/data", exe);
}

/* Split one CSV line (RFC 4180 quotes, no embedded newlines) in place. Returns the
 * number of fields. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *r = line, *w;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = w = r;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0')
                    break;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
            while (*r != ',' && *r != '\0')
                r++;
        } else {
            while (*r != ',' && *r != '\0')
                *w++ = *r++;
        }
        if (*r == '\0') {
            *w = '\0';
            break;
        }
        *w = '\0';
        r++;
    }
    return n;
}

typedef void (*row_fn)(char **f, int nf, void *ctx);

static void csv_each(const char *name, row_fn fn, void *ctx)
{
    char path[4200], line[8192];
    char *f[MAX_FIELDS];
    FILE *fp;
    int first = 1;

    if (data_dir[0] == '\0')
        find_data();
    snprintf(path, sizeof(path), "%s/%s", data_dir, name);
    fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    while (fgets(line, sizeof(line), fp) != NULL) {
        int nf;
        if (first) {
            first = 0;
            continue;
        }
        nf = csv_split(line, f, MAX_FIELDS);
        fn(f, nf, ctx);
    }
    fclose(fp);
}

/* ---- Reference data ---- */

struct ref_state {
    int lgd, nrega;
    char en[NAME_MAX_], hi[NAME_MAX_];
};

struct ref_district {
    int lgd, lgd_state;
    char en[NAME_MAX_], hi[NAME_MAX_];
    char aliases[ALIAS_MAX][NAME_MAX_];
    int naliases;
    int has_hi;
};

static struct ref_state states[64];
static int nstates;
static struct ref_district refd[MAX_ROWS];
static int nrefd;

struct mp_district {
    int nrega, lgd;
    char name[NAME_MAX_];
};
static struct mp_district mp[64];
static int nmp;

static int to_int(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (end == s) ? -1 : (int)v;
}

static void copy(char *dst, const char *src)
{
    snprintf(dst, NAME_MAX_, "%s", src);
}

static struct ref_district *refd_by_lgd(int lgd)
{
    int i;
    for (i = 0; i < nrefd; i++) {
        if (refd[i].lgd == lgd)
            return &refd[i];
    }
    return NULL;
}

static struct ref_state *state_by_lgd(int lgd)
{
    int i;
    for (i = 0; i < nstates; i++) {
        if (states[i].lgd == lgd)
            return &states[i];
    }
    return NULL;
}

static void on_state(char **f, int nf, void *ctx)
{
    struct ref_state *s = &states[nstates];
    (void)ctx;
    if (nf < 4 || nstates >= 64)
        return;
    s->lgd = to_int(f[0]);
    copy(s->en, f[1]);
    copy(s->hi, f[2]);
    s->nrega = f[3][0] ? to_int(f[3]) : 1000 + s->lgd;
    nstates++;
}

static void on_lgd_district(char **f, int nf, void *ctx)
{
    struct ref_district *d = &refd[nrefd];
    (void)ctx;
    if (nf < 4 || nrefd >= MAX_ROWS)
        return;
    memset(d, 0, sizeof(*d));
    d->lgd_state = to_int(f[0]);
    d->lgd = to_int(f[2]);
    copy(d->en, f[3]);
    nrefd++;
}

static void add_aliases(struct ref_district *d, char *list)
{
    char *p = list;
    while (*p && d->naliases < ALIAS_MAX) {
        size_t n = strcspn(p, ";");
        snprintf(d->aliases[d->naliases++], NAME_MAX_, "%.*s", (int)n, p);
        p += n;
        if (*p == ';')
            p++;
    }
}

static void on_hindi(char **f, int nf, void *ctx)
{
    struct ref_district *d;
    (void)ctx;
    if (nf < 4 || f[0][0] == '\0')
        return;
    d = refd_by_lgd(to_int(f[0]));
    if (d == NULL)
        return; /* created after LGD Dec 2022: not in lgd_districts.csv */
    copy(d->hi, f[3]);
    d->has_hi = 1;
}

static void on_aliases(char **f, int nf, void *ctx)
{
    struct ref_district *d;
    int col = *(int *)ctx;
    if (nf <= col || f[0][0] == '\0')
        return;
    d = refd_by_lgd(to_int(f[0]));
    if (d != NULL)
        add_aliases(d, f[col]);
}

static void on_nrega_lgd(char **f, int nf, void *ctx)
{
    int i, code;
    (void)ctx;
    if (nf < 3)
        return;
    code = to_int(f[0]);
    for (i = 0; i < nmp; i++) {
        if (mp[i].nrega == code) {
            mp[i].lgd = to_int(f[2]);
            return;
        }
    }
    if (nmp >= 64)
        return;
    mp[nmp].nrega = code;
    mp[nmp].lgd = to_int(f[2]);
    copy(mp[nmp].name, f[1]);
    nmp++;
}

static void on_mgnrega(char **f, int nf, void *ctx)
{
    int i, code;
    (void)ctx;
    if (nf < 6)
        return;
    code = to_int(f[4]);
    for (i = 0; i < nmp; i++) {
        if (mp[i].nrega == code)
            return;
    }
    if (nmp >= 64)
        return;
    mp[nmp].nrega = code;
    mp[nmp].lgd = -1;
    copy(mp[nmp].name, f[5]);
    nmp++;
}

static int nmp_in_data; /* how many MP districts the 2024-25 records name */

static void load_reference(void)
{
    int alias_col_mp = 4, alias_col_other = 2;

    if (nrefd > 0)
        return;
    csv_each("reference/states_hi.csv", on_state, NULL);
    csv_each("lgd_districts.csv", on_lgd_district, NULL);
    csv_each("reference/districts_hi.csv", on_hindi, NULL);
    csv_each("reference/mp_centroids.csv", on_aliases, &alias_col_mp);
    csv_each("reference/district_aliases.csv", on_aliases, &alias_col_other);
    csv_each("mgnrega_mp_2024-25.csv", on_mgnrega, NULL);
    nmp_in_data = nmp;
    csv_each("reference/mp_nrega_lgd.csv", on_nrega_lgd, NULL);
}

/* Add one reference district under the given codes and name. */
static void index_one(struct search_index *idx, const struct ref_district *d, int state_code,
                      int district_code, const char *name_en)
{
    const struct ref_state *s = state_by_lgd(d->lgd_state);
    const char *aliases[ALIAS_MAX + 1];
    struct search_district sd;
    int i;

    for (i = 0; i < d->naliases; i++)
        aliases[i] = d->aliases[i];
    aliases[d->naliases] = NULL;
    memset(&sd, 0, sizeof(sd));
    sd.state_code = state_code;
    sd.district_code = district_code;
    sd.name_en = name_en;
    sd.name_hi = d->has_hi ? d->hi : NULL;
    sd.state_en = s ? s->en : NULL;
    sd.state_hi = s ? s->hi : NULL;
    sd.aliases = aliases;
    assert_int_equal(search_index_add(idx, &sd), 0);
}

/* The MP districts by NREGA code, then the others: all of them (`all`) or only those of
 * districts_hi.csv plus Maharashtra's Aurangabad. */
static struct search_index *build_index(int all)
{
    struct search_index *idx = search_index_new();
    int i, j;

    load_reference();
    for (i = 0; i < nmp; i++) {
        struct ref_district *d = refd_by_lgd(mp[i].lgd);
        char name[NAME_MAX_];
        size_t n;
        assert_non_null(d);
        copy(name, mp[i].name);
        n = strlen(name);
        while (n > 0 && name[n - 1] == ' ') /* "HARDA " in the source */
            name[--n] = '\0';
        index_one(idx, d, 17, mp[i].nrega, name);
    }
    for (i = 0; i < nrefd; i++) {
        const struct ref_district *d = &refd[i];
        const struct ref_state *s = state_by_lgd(d->lgd_state);
        int is_mp = 0;
        for (j = 0; j < nmp; j++)
            is_mp |= mp[j].lgd == d->lgd;
        if (is_mp || d->lgd_state == 23 || s == NULL)
            continue;
        if (!all && !d->has_hi && d->lgd != 469)
            continue;
        index_one(idx, d, s->nrega, OTHER_BASE + d->lgd, d->en);
    }
    return idx;
}

static struct search_index *small_idx, *big_idx;

static int setup(void **state)
{
    (void)state;
    small_idx = build_index(0);
    big_idx = build_index(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    search_index_free(small_idx);
    search_index_free(big_idx);
    return 0;
}

/* ---- The table ---- */

#define NONE 0
#define AMBIG (-1)

struct row {
    const char *query;
    int code; /* expected top district; NONE = no result; AMBIG = see ambig_rows */
    int exact;
};

static const struct row rows[] = {
    /* Exact English, as the source spells it and in other cases. */
    {"NIWARI", 1752, 1},
    {"Niwari", 1752, 1},
    {"niwari", 1752, 1},
    {"TIKAMGARH", 1707, 1},
    {"Panna", 1709, 1},
    {"satna", 1712, 1},
    {"Morena", 1701, 1},
    {"BHIND", 1702, 1},
    {"Gwalior", 1703, 1},
    {"datia", 1704, 1},
    {"Guna", 1706, 1},
    {"Chhatarpur", 1708, 1},
    {"Sagar", 1710, 1},
    {"Damoh", 1711, 1},
    {"Shahdol", 1714, 1},
    {"Sidhi", 1715, 1},
    {"Mandsaur", 1716, 1},
    {"Ratlam", 1717, 1},
    {"Shajapur", 1719, 1},
    {"Dewas", 1720, 1},
    {"Jhabua", 1721, 1},
    {"Dhar", 1722, 1},
    {"Khargone", 1724, 1},
    {"Khandwa", 1725, 1},
    {"Rajgarh", 1726, 1},
    {"Vidisha", 1727, 1},
    {"Bhopal", 1728, 1},
    {"Sehore", 1729, 1},
    {"Raisen", 1730, 1},
    {"Narmadapuram", 1732, 1},
    {"Jabalpur", 1733, 1},
    {"Narsinghpur", 1734, 1},
    {"Mandla", 1735, 1},
    {"Seoni", 1737, 1},
    {"Balaghat", 1738, 1},
    {"Sheopur", 1739, 1},
    {"Umaria", 1740, 1},
    {"Neemuch", 1741, 1},
    {"Barwani", 1742, 1},
    {"Harda", 1743, 1},
    {"Anuppur", 1746, 1},
    {"Burhanpur", 1747, 1},
    {"Alirajpur", 1749, 1},
    {"Singrauli", 1750, 1},
    {"Chhindwara", 1736, 1},
    {"Ashok Nagar", 1748, 1},
    {"ashoknagar", 1748, 1},
    {"Indore", 1723, 1},
    /* Other names and romanised variants. */
    {"nivari", 1752, 1},
    {"niwadi", 1752, 1},
    {"chindwara", 1736, 1},
    {"chhindvara", 1736, 1},
    {"chhindwada", 1736, 1},
    {"hoshangabad", 1732, 1},
    {"Hoshangabad", 1732, 1},
    {"badwani", 1742, 1},
    {"baitul", 1731, 1},
    {"sivni", 1737, 1},
    {"nimach", 1741, 1},
    {"shyopur", 1739, 1},
    {"mandsour", 1716, 1},
    {"narsimhapur", 1734, 1},
    {"anupur", 1746, 1},
    {"west nimar", 1724, 1},
    {"bhopaal", 1728, 1},
    {"murena", 1701, 1},
    {"umariya", 1740, 1},
    /* Typos: one and two letters. */
    {"tikamgad", 1707, 1},
    {"tikamghar", 1707, 1},
    {"tikamgrah", 1707, 0},
    {"jabalpure", 1733, 1},
    {"jablpur", 1733, 0},
    {"jablpr", 1733, 0},
    {"gwaliar", 1703, 1},
    {"gwaleor", 1703, 0},
    {"chatarpur", 1708, 1},
    {"chattarpur", 1708, 1},
    {"balagat", 1738, 1},
    {"balaghaat", 1738, 1},
    {"hoshngabad", 1732, 0},
    {"narsingpur", 1734, 1},
    {"singroli", 1750, 1},
    {"sehor", 1729, 1},
    {"burhanpr", 1747, 0},
    {"khargon", 1724, 1},
    {"vidisa", 1727, 1},
    {"ujain", 1718, 1},
    {"chindvada", 1736, 1},
    {"narmdapurm", 1732, 0},
    {"shajapurr", 1719, 1},
    /* Devanagari, with and without nukta, with variant matras. */
    {"निवाड़ी", 1752, 1},
    {"निवाडी", 1752, 1},
    {"निवारी", 1752, 1},
    {"नीवाड़ी", 1752, 1},
    {"टीकमगढ़", 1707, 1},
    {"टीकमगढ", 1707, 1},
    {"टिकमगढ़", 1707, 1},
    {"छिंदवाड़ा", 1736, 1},
    {"छिंदवाडा", 1736, 1},
    {"छिन्दवाड़ा", 1736, 1},
    {"पन्ना", 1709, 1},
    {"सतना", 1712, 1},
    {"भोपाल", 1728, 1},
    {"ग्वालियर", 1703, 1},
    {"जबलपुर", 1733, 1},
    {"नर्मदापुरम", 1732, 1},
    {"होशंगाबाद", 1732, 1},
    {"बड़वानी", 1742, 1},
    {"बडवानी", 1742, 1},
    {"मुरैना", 1701, 1},
    {"सिंगरौली", 1750, 1},
    {"शहडोल", 1714, 1},
    {"खरगोन", 1724, 1},
    {"राजगढ़", 1726, 1},
    {"सीधी", 1715, 1},
    {"इंदौर", 1723, 1},
    {"उज्जैन", 1718, 1},
    {"मंडला", 1735, 1},
    {"मण्डला", 1735, 1},
    /* Keywords, spaces, punctuation, case. */
    {"NREGA Niwari", 1752, 1},
    {"nrega niwari", 1752, 1},
    {"  NREGA   Niwari  ", 1752, 1},
    {"Niwari NREGA", 1752, 1},
    {"MGNREGA Tikamgarh", 1707, 1},
    {"mgnrega: chhindwara!", 1736, 1},
    {"NREGA,Panna.", 1709, 1},
    {"nrega-niwari", 1752, 1},
    {"MNREGA\tSatna", 1712, 1},
    {"नरेगा निवाड़ी", 1752, 1},
    {"मनरेगा टीकमगढ़", 1707, 1},
    {"NREGA निवाड़ी", 1752, 1},
    {"नरेगा niwari", 1752, 1},
    {"नरेगा, पन्ना।", 1709, 1},
    {"Niwari jila", 1752, 1},
    {"जिला निवाड़ी", 1752, 1},
    {"Niwari district", 1752, 1},
    {"Niwari ka data", 1752, 1},
    {"niwri ka data", 1752, 0},
    {"ashok nagar ka data", 1748, 1},
    {"mera district chhindwara hai", 1736, 1},
    {"मेरा जिला छिंदवाड़ा है", 1736, 1},
    {"nrega job card", NONE, 0},
    {"मेरा जॉब कार्ड कब मिलेगा", NONE, 0},
    {"NREGA Niwari MP", 1752, 1},
    {"Tikamgarh, Madhya Pradesh", 1707, 1},
    {"N.R.E.G.A. Niwari", 1752, 1},
    {"nregaNiwari", NONE, 0},
    /* Codes. */
    {"1752", 1752, 1},
    {"NREGA 1752", 1752, 1},
    {" 1707 ", 1707, 1},
    {"१७५२", 1752, 1},
    {"नरेगा 1709", 1709, 1},
    {"MP 1752", 1752, 1},
    {"1752, Madhya Pradesh", 1752, 1},
    {"Niwari 1752", 1752, 1},
    /* Garbage that must not match. */
    {"hello", NONE, 0},
    {"12345", NONE, 0},
    {"", NONE, 0},
    {"   ", NONE, 0},
    {"!!!", NONE, 0},
    {"nrega", NONE, 0},
    {"नरेगा", NONE, 0},
    {"xyzzy", NONE, 0},
    {"qwertyuiop", NONE, 0},
    {"\xff\xfe\xfd", NONE, 0},
    {"1752 1707", NONE, 0},
    {"99999999999999999999", NONE, 0},
    /* Same name in two states: listed in ambig_rows. */
    {"Aurangabad", AMBIG, 1},
    {"Bilaspur", AMBIG, 1},
    {"Pratapgarh", AMBIG, 1},
    {"Balrampur", AMBIG, 1},
    {"Hamirpur", AMBIG, 1},
    {"बिलासपुर", AMBIG, 1},
    {"प्रतापगढ़", AMBIG, 1},
    {"nrega hamirpur", AMBIG, 1},
    {"nimar", AMBIG, 0},
    {"NREGA Nimar", AMBIG, 0},
    {"Rakgarh", AMBIG, 0},
    {"mandla mandsaur", AMBIG, 1},
    /* One word of a several-word name. */
    {"ashok", 1748, 0},
    {"spiti", OTHER_BASE + 21, 0},
    {"Lahaul and Spiti", OTHER_BASE + 21, 1},
    /* ... and told apart by a state name. */
    {"Bilaspur Himachal Pradesh", OTHER_BASE + 15, 1},
    {"Bilaspur Himachal", OTHER_BASE + 15, 1},
    {"Bilaspur Chhattisgarh", OTHER_BASE + 375, 1},
    {"Hamirpur UP", OTHER_BASE + 149, 1},
    {"Aurangabad Bihar", OTHER_BASE + 189, 1},
    {"Pratapgarh Rajasthan", OTHER_BASE + 629, 1},
    {"बलरामपुर छत्तीसगढ़", OTHER_BASE + 649, 1},
    {"बिलासपुर हिमाचल", OTHER_BASE + 15, 1},
    {"Hamirpur, H.P.", OTHER_BASE + 17, 1},
    {"हमीरपुर उत्तर प्रदेश", OTHER_BASE + 149, 1},
    {"West Nimar", 1724, 1},
};

/* The pair an ambiguous query must put on top, in either order, and whether both are
 * exact (the same name in two states) or not (two equally close matches). */
#define O(lgd) (OTHER_BASE + (lgd))
static const struct {
    const char *query;
    int a, b, exact;
} ambig_rows[] = {
    {"Aurangabad", O(189), O(469), 1}, {"Bilaspur", O(15), O(375), 1},
    {"Pratapgarh", O(174), O(629), 1}, {"Balrampur", O(127), O(649), 1},
    {"Hamirpur", O(17), O(149), 1},    {"बिलासपुर", O(15), O(375), 1},
    {"प्रतापगढ़", O(174), O(629), 1},    {"nrega hamirpur", O(17), O(149), 1},
    {"nimar", 1724, 1725, 0},          {"NREGA Nimar", 1724, 1725, 0},
    {"Rakgarh", 1726, O(607), 0},      {"mandla mandsaur", 1716, 1735, 1},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))
#define NROWS_MAX 512

static int check_row(const struct search_index *idx, const struct row *r, int verbose)
{
    struct search_result res[8];
    size_t n = 99, i;
    int ok = 1;

    assert_int_equal(search_find(idx, r->query, res, 8, &n), 0);
    if (r->code == NONE) {
        ok = n == 0;
    } else if (r->code == AMBIG) {
        ok = 0;
        for (i = 0; i < sizeof(ambig_rows) / sizeof(ambig_rows[0]); i++) {
            if (strcmp(ambig_rows[i].query, r->query) != 0)
                continue;
            ok = n >= 2 && search_is_ambiguous(res, n) && res[0].exact == ambig_rows[i].exact &&
                 res[1].exact == ambig_rows[i].exact &&
                 ((res[0].district_code == ambig_rows[i].a &&
                   res[1].district_code == ambig_rows[i].b) ||
                  (res[0].district_code == ambig_rows[i].b &&
                   res[1].district_code == ambig_rows[i].a));
        }
    } else {
        ok = n >= 1 && res[0].district_code == r->code && res[0].exact == r->exact &&
             res[0].score > 0.0 && res[0].score <= 1.0 && !search_is_ambiguous(res, n);
    }
    if (!ok && verbose) {
        print_message("FAIL %-28s want %d%s, got %zu:", r->query, r->code,
                      r->exact ? " (exact)" : "", n);
        for (i = 0; i < n && i < 4; i++)
            print_message(" %d/%d %.3f%s", res[i].state_code, res[i].district_code, res[i].score,
                          res[i].exact ? "e" : "");
        print_message("\n");
    }
    return ok;
}

static void test_table(void **state)
{
    size_t i, failed = 0;

    (void)state;
    assert_true(NROWS >= 60);
    /* The index holds what the data says: 42 districts in the 2024-25 records. */
    assert_int_equal(nmp_in_data, 42);
    assert_int_equal(nmp, 51);
    for (i = 0; i < NROWS; i++)
        failed += !check_row(small_idx, &rows[i], 1);
    print_message("search table: %zu rows, %zu failed, index of %zu districts\n", NROWS, failed,
                  search_index_count(small_idx));
    assert_int_equal(failed, 0);
}

/* The same table against all ~760 districts of India: the MP rows must still resolve. */
static void test_table_all_india(void **state)
{
    size_t i, failed = 0;

    (void)state;
    assert_true(search_index_count(big_idx) > 700);
    for (i = 0; i < NROWS; i++)
        failed += !check_row(big_idx, &rows[i], 1);
    print_message("all-India table: %zu rows, %zu failed, index of %zu districts\n", NROWS, failed,
                  search_index_count(big_idx));
    assert_int_equal(failed, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints lookups per second; never fails on a number. The best of 50 rounds over the
 * table is reported too, since a shared machine's scheduler inflates the mean. */
static void test_bench(void **state)
{
    struct search_result res[8];
    const struct search_index *which[2];
    const char *label[2] = {"hindi-belt", "all-india"};
    const char *chatter = "mera jobcard kab milega bhai saheb ji batao";
    int w;

    (void)state;
    which[0] = small_idx;
    which[1] = big_idx;
    for (w = 0; w < 2; w++) {
        size_t i, n, lookups = 0;
        double t0 = now_s(), dt, best = 1e9;
        int round;
        for (round = 0; round < 50; round++) {
            double r0 = now_s();
            for (i = 0; i < NROWS; i++) {
                assert_int_equal(search_find(which[w], rows[i].query, res, 8, &n), 0);
                lookups++;
            }
            if (now_s() - r0 < best)
                best = now_s() - r0;
        }
        dt = now_s() - t0;
        print_message("bench %s (%zu districts, %zu keys): %zu lookups in %.3f s = %.0f/s, "
                      "mean %.1f us, best round %.1f us per lookup\n",
                      label[w], search_index_count(which[w]), which[w]->nkeys, lookups, dt,
                      (double)lookups / dt, dt / (double)lookups * 1e6, best / (double)NROWS * 1e6);
        /* The slowest kind of query: 8 words that match nothing, so every single word
         * and pair is tried. */
        t0 = now_s();
        for (round = 0; round < 2000; round++)
            assert_int_equal(search_find(which[w], chatter, res, 8, &n), 0);
        print_message("bench %s: 8 words of chatter %.1f us per lookup\n", label[w],
                      (now_s() - t0) / 2000 * 1e6);
    }
}

/* Four threads run the table on the shared index at once and must agree with a run
 * on one thread (the index is read-only after building; lookups use only the stack). */
struct thread_run {
    const struct search_index *idx;
    int codes[NROWS_MAX];
};

static void *run_table(void *arg)
{
    struct thread_run *r = arg;
    struct search_result res[4];
    size_t i, n;
    int round;

    for (round = 0; round < 20; round++) {
        for (i = 0; i < NROWS; i++) {
            if (search_find(r->idx, rows[i].query, res, 4, &n) != 0)
                r->codes[i] = -2;
            else
                r->codes[i] = n ? res[0].district_code : -1;
        }
    }
    return NULL;
}

/* A memo answers as the search does: the same queries three times over (the later times
 * from the memo), with 1,000 others in between (slots replaced), on two indexes in turn
 * (the memo forgets one when given the other), and a query too long to keep. */
static void test_memo(void **state)
{
    static const char *const qs[] = {
        "niwari",      "NREGA Niwari",
        "hoshangabad", "bilaspur",
        "aurangabd",   "1752",
        "mp sagar",    "xyzzy",
        "निवाड़ी",      "a very long query that is longer than the memo keeps"};
    struct search_memo *m = search_memo_new();
    struct search_result want[SEARCH_MAX_RESULTS], got[SEARCH_MAX_RESULTS];
    const struct search_index *which[2] = {big_idx, small_idx};
    size_t nw, ng, i, k, j;
    char q[32];

    (void)state;
    for (k = 0; k < 6; k++) {
        const struct search_index *idx = which[k % 2 == 0 ? 0 : (k == 3 ? 1 : 0)];

        for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
            assert_int_equal(search_find(idx, qs[i], want, SEARCH_MAX_RESULTS, &nw), 0);
            assert_int_equal(search_find_memo(m, idx, qs[i], got, SEARCH_MAX_RESULTS, &ng), 0);
            assert_int_equal(ng, nw);
            for (j = 0; j < nw; j++) {
                assert_int_equal(got[j].district_code, want[j].district_code);
                assert_int_equal(got[j].state_code, want[j].state_code);
                assert_true(got[j].score == want[j].score);
                assert_int_equal(got[j].exact, want[j].exact);
            }
            /* Fewer asked for: the first of the same. */
            assert_int_equal(search_find_memo(m, idx, qs[i], got, 2, &ng), 0);
            assert_int_equal(ng, nw < 2 ? nw : 2);
            if (ng > 0)
                assert_int_equal(got[0].district_code, want[0].district_code);
        }
        for (i = 0; i < 1000; i++) {
            snprintf(q, sizeof(q), "dist %zu", i);
            assert_int_equal(search_find_memo(m, idx, q, got, SEARCH_MAX_RESULTS, &ng), 0);
        }
    }
    assert_int_equal(search_find_memo(NULL, big_idx, "niwari", got, SEARCH_MAX_RESULTS, &ng), 0);
    assert_true(ng >= 1);
    search_memo_free(m);
}

static void test_threads(void **state)
{
    static struct thread_run one, many[4];
    pthread_t th[4];
    int i;

    (void)state;
    assert_true(NROWS <= NROWS_MAX);
    one.idx = big_idx;
    run_table(&one);
    for (i = 0; i < 4; i++) {
        many[i].idx = big_idx;
        assert_int_equal(pthread_create(&th[i], NULL, run_table, &many[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_memory_equal(many[i].codes, one.codes, sizeof(one.codes));
    }
}

/* ---- Helpers ---- */

static void expect_plain(const char *in, const char *want)
{
    char out[SEARCH_PLAIN_MAX + 1];
    size_t n = search_norm_plain(in, strlen(in), out, sizeof(out), 0);
    if (strcmp(out, want) != 0)
        fail_msg("search_norm_plain(\"%s\") = \"%s\", want \"%s\"", in, out, want);
    assert_int_equal(n, strlen(want));
}

static void test_normalise(void **state)
{
    char out[64];

    (void)state;
    /* Without nuktas, as the index also stores Hindi names. */
    assert_int_equal(search_norm_plain("निवाड़ी", strlen("निवाड़ी"), out, sizeof(out), 1), 6);
    assert_string_equal(out, "nivadi");
    search_norm_plain("फ़ैज़ाबाद ढ़", strlen("फ़ैज़ाबाद ढ़"), out, sizeof(out), 1);
    assert_string_equal(out, "phaijabad dha");
    search_norm_plain("क़ख़ग़य़", strlen("क़ख़ग़य़"), out, sizeof(out), 1);
    assert_string_equal(out, "kakhgay");
    expect_plain("  NREGA   Niwari  ", "nrega niwari");
    expect_plain("निवाड़ी", "nivari");
    expect_plain("निवाडी", "nivadi");
    expect_plain("अशोकनगर", "ashoknagar");
    expect_plain("मुज़फ्फरनगर", "muzaphpharnagar");
    expect_plain("नरसिंहपुर", "narsinghpur");
    expect_plain("नगर", "nagar");
    expect_plain("छिंदवाड़ा", "chhindvara");
    expect_plain("टीकमगढ़", "tikamgarh");
    expect_plain("खरगोन", "khargon");
    expect_plain("नर्मदापुरम", "narmadapuram");
    expect_plain("मनरेगा", "manrega");
    expect_plain("शहडोल", "shahdol");
    expect_plain("डिंडोरी", "dindori");
    expect_plain("अम्बाला", "ambala");
    expect_plain("छिन्दवाड़ा", "chhindvara");
    expect_plain("चंपारण", "champaran");
    expect_plain("ज़िला", "zila");
    expect_plain("फ़ैज़ाबाद", "faizabad");
    expect_plain("इन्द्र", "indra");
    expect_plain("न", "na");
    expect_plain("१७५२", "1752");
    expect_plain("abc१२", "abc 12");
    expect_plain("nrega1752", "nrega 1752");
    expect_plain("Niwari,MP", "niwari mp");
    expect_plain("niwariनिवाड़ी", "niwari nivari");
    expect_plain("Bhopāl Mañdla", "bhopal mandla");
    expect_plain("a\xff"
                 "b",
                 "a b");
    expect_plain("\xe0\xa4", "");       /* truncated Devanagari */
    expect_plain("\xc0\xaf", "");       /* overlong '/' */
    expect_plain("\xed\xa0\x80x", "x"); /* surrogate */
    expect_plain("ऩ़ा्ं", "nan");          /* odd but valid sequences */
}

static void expect_key(const char *in, const char *want)
{
    char key[SEARCH_KEY_MAX + 1];
    search_norm_key(in, strlen(in), key, sizeof(key));
    if (strcmp(key, want) != 0)
        fail_msg("search_norm_key(\"%s\") = \"%s\", want \"%s\"", in, key, want);
}

static void test_phonetic_key(void **state)
{
    (void)state;
    expect_key("niwari", "nivari");
    expect_key("nivari", "nivari");
    expect_key("chhindwara", "cindvar");
    expect_key("chindwara", "cindvar");
    expect_key("chhindvara", "cindvar");
    expect_key("neemuch", "nimuc");
    expect_key("mandsaur", "mandsor");
    expect_key("mandsour", "mandsor");
    expect_key("panna", "pan");
    expect_key("betul", "betul");
    expect_key("baitul", "betul");
    expect_key("ashok nagar", "asoknagar");
    expect_key("umariya", "umari");
    expect_key("xyz", "ksyj");
    expect_key("aa", "a");
    expect_key("", "");
}

/* The textbook O(mn) optimal string alignment distance, to check osa_bitpar() against. */
static int osa_reference(const char *a, const char *b)
{
    int d[SEARCH_KEY_MAX + 1][SEARCH_KEY_MAX + 1];
    int la = (int)strlen(a), lb = (int)strlen(b), i, j;

    for (i = 0; i <= la; i++)
        d[i][0] = i;
    for (j = 0; j <= lb; j++)
        d[0][j] = j;
    for (i = 1; i <= la; i++) {
        for (j = 1; j <= lb; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

static int osa(const char *a, const char *b)
{
    uint64_t peq[26];
    size_t i;

    memset(peq, 0, sizeof(peq));
    for (i = 0; a[i]; i++)
        peq[a[i] - 'a'] |= (uint64_t)1 << i;
    return osa_bitpar(peq, strlen(a), b, strlen(b));
}

static void test_osa(void **state)
{
    char a[SEARCH_KEY_MAX + 1], b[SEARCH_KEY_MAX + 1];
    uint32_t seed = 12345;
    int round;

    (void)state;
    assert_int_equal(osa("abc", "abc"), 0);
    assert_int_equal(osa("abc", "acb"), 1);
    assert_int_equal(osa("abc", "ab"), 1);
    assert_int_equal(osa("ab", "abc"), 1);
    assert_int_equal(osa("tikamgar", "tikamgra"), 1);
    assert_int_equal(osa("jabalpur", "jblpr"), 3);
    assert_int_equal(osa("abcdef", "uvwxyz"), 6);
    assert_int_equal(osa("ca", "abc"), 3); /* OSA, not unrestricted Damerau (2) */
    assert_int_equal(osa("ab", ""), 2);
    /* Random keys over a small alphabet (many repeats and swaps), all lengths to 48. */
    for (round = 0; round < 20000; round++) {
        size_t la, lb, i;
        seed = seed * 1103515245u + 12345u;
        la = 1 + (seed >> 16) % SEARCH_KEY_MAX;
        seed = seed * 1103515245u + 12345u;
        lb = (seed >> 16) % (SEARCH_KEY_MAX + 1);
        if (round % 2)
            lb = la > 3 ? la - 3 + (seed >> 20) % 7 : lb; /* near-equal lengths */
        if (lb > SEARCH_KEY_MAX)
            lb = SEARCH_KEY_MAX;
        for (i = 0; i < la; i++) {
            seed = seed * 1103515245u + 12345u;
            a[i] = (char)('a' + (seed >> 16) % 4);
        }
        a[la] = '\0';
        for (i = 0; i < lb; i++) {
            seed = seed * 1103515245u + 12345u;
            /* b mostly a copy of a with edits, else random */
            b[i] = (i < la && (seed >> 16) % 5) ? a[i] : (char)('a' + (seed >> 20) % 4);
        }
        b[lb] = '\0';
        if (osa(a, b) != osa_reference(a, b))
            fail_msg("osa(\"%s\", \"%s\") = %d, reference %d", a, b, osa(a, b),
                     osa_reference(a, b));
    }
}

/* Queries at and past every limit: long, many words, binary, small `max`. */
static void test_bounds(void **state)
{
    struct search_result res[SEARCH_MAX_RESULTS + 4];
    char big[4096];
    size_t n, i;

    (void)state;
    assert_int_equal(search_find(NULL, "x", res, 4, &n), -1);
    assert_int_equal(search_find(small_idx, NULL, res, 4, &n), -1);
    assert_int_equal(search_find(small_idx, "x", NULL, 4, &n), -1);
    assert_int_equal(search_find(small_idx, "x", res, 4, NULL), -1);

    /* max = 0 and 1 */
    assert_int_equal(search_find(small_idx, "Bilaspur", res, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(search_find(small_idx, "Bilaspur", res, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_false(search_is_ambiguous(res, n));
    assert_false(search_is_ambiguous(NULL, 5));
    assert_int_equal(search_close_count(NULL, 5), 0);
    assert_int_equal(search_close_count(res, 0), 0);
    res[0].score = 1.0;
    res[1].score = 0.95;
    res[2].score = 0.9499;
    assert_int_equal(search_close_count(res, 3), 2);
    assert_true(search_is_ambiguous(res, 3));
    res[1].score = 0.9499;
    assert_int_equal(search_close_count(res, 3), 1);
    assert_false(search_is_ambiguous(res, 3));
    assert_int_equal(search_find(small_idx, "Bilaspur", res, 8, &n), 0);
    assert_int_equal(search_close_count(res, n), 2);
    assert_int_equal(search_find(small_idx, "nimar", res, 8, &n), 0);
    assert_int_equal(search_close_count(res, n), 2); /* not Neemuch, 0.72 */
    assert_true(n >= 3);
    assert_int_equal(search_find(small_idx, "Niwari", res, 8, &n), 0);
    assert_int_equal(search_close_count(res, n), 1);

    /* A prefix (autocomplete) finds several, never more than SEARCH_MAX_RESULTS. */
    assert_int_equal(search_find(big_idx, "sin", res, SEARCH_MAX_RESULTS + 4, &n), 0);
    assert_true(n >= 1 && n <= SEARCH_MAX_RESULTS);
    for (i = 1; i < n; i++)
        assert_true(res[i - 1].score >= res[i].score);
    assert_int_equal(search_find(small_idx, "chhind", res, 4, &n), 0);
    assert_true(n >= 1);
    assert_int_equal(res[0].district_code, 1736);
    assert_false(res[0].exact);

    /* Long input: cut at SEARCH_QUERY_MAX, still answered. */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(search_find(big_idx, big, res, 4, &n), 0);
    for (i = 0; i + 7 < sizeof(big); i += 7)
        memcpy(big + i, "Niwari ", 7);
    assert_int_equal(search_find(big_idx, big, res, 4, &n), 0);
    assert_true(n >= 1);
    assert_int_equal(res[0].district_code, 1752);
    /* Endless Devanagari word, endless conjunct, endless digits. */
    for (i = 0; i + 3 < sizeof(big); i += 3)
        memcpy(big + i, i % 2 ? "क" : "्", 3);
    big[i] = '\0';
    assert_int_equal(search_find(big_idx, big, res, 4, &n), 0);
    memset(big, '7', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(search_find(big_idx, big, res, 4, &n), 0);
    assert_int_equal(n, 0);
}

static void test_index_limits(void **state)
{
    struct search_index *idx = search_index_new();
    struct search_district d;
    const char *aliases[] = {"a1", "", "!!", "niwari", NULL};
    struct search_result res[4];
    size_t n;
    int i;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(search_index_add(idx, &d), -1); /* no name */
    assert_int_equal(search_index_add(NULL, &d), -1);
    assert_int_equal(search_index_add(idx, NULL), -1);
    d.state_code = 17;
    d.district_code = 1752;
    d.name_en = "NIWARI";
    d.aliases = aliases; /* empty and duplicate names are skipped */
    assert_int_equal(search_index_add(idx, &d), 0);
    assert_int_equal(idx->nkeys, 2); /* "niwari" and "a" */
    assert_int_equal(search_find(idx, "niwari", res, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_true(res[0].exact);
    assert_true(res[0].score == 1.0);
    d.name_en = "!!!"; /* a district with no usable name is kept but never found */
    assert_int_equal(search_index_add(idx, &d), 0);
    for (i = 2; i < SEARCH_MAX_DISTRICTS; i++) {
        d.name_en = "x";
        assert_int_equal(search_index_add(idx, &d), 0);
    }
    assert_int_equal(search_index_add(idx, &d), -1);
    assert_int_equal(search_index_count(idx), SEARCH_MAX_DISTRICTS);
    search_index_free(idx);
    search_index_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_phonetic_key),
        cmocka_unit_test(test_osa),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_all_india),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_index_limits),
        cmocka_unit_test(test_memo),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
