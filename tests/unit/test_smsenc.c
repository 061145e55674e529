/*
 * Unit tests for src/text/smsenc.c: GSM-7 vs UCS-2 decisions, septet and UTF-16 unit counts,
 * the exact single/concatenated boundaries (160/161, 70/71, 153, 67), invalid UTF-8, and
 * splitting: parts fit, concatenate to the input, end at spaces where they can, and never
 * cut a UTF-8 sequence, an escape pair, a surrogate pair or a Devanagari cluster (checked
 * on crafted texts and on a few thousand generated ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text/smsenc.c"
#include "text/grapheme.h"

static char big[8192];

/* big = `n` copies of `unit`; returns its length in bytes. */
static size_t repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit), i;

    assert_true(ul * n < sizeof(big));
    for (i = 0; i < n; i++)
        memcpy(big + i * ul, unit, ul);
    big[ul * n] = '\0';
    return ul * n;
}

static struct smsenc_info analyse_ok(const char *s, size_t len)
{
    struct smsenc_info info;

    assert_int_equal(smsenc_analyse(s, len, &info), 0);
    return info;
}

static void test_gsm7_basic(void **state)
{
    struct smsenc_info i;
    (void)state;

    i = analyse_ok("Hello, NREGA Niwari 1752!", 25);
    assert_int_equal(i.coding, SMSENC_GSM7);
    assert_int_equal(i.units, 25);
    assert_int_equal(i.chars, 25);
    assert_int_equal(i.parts, 1);

    /* non-ASCII members of the default alphabet count 1 */
    i = analyse_ok("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà",
                   strlen("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"));
    assert_int_equal(i.coding, SMSENC_GSM7);
    assert_int_equal(i.units, 39);
    assert_int_equal(i.chars, 39);

    /* @ $ _ and line breaks are in the default alphabet */
    i = analyse_ok("a@b$c_d\ne\rf", 11);
    assert_int_equal(i.coding, SMSENC_GSM7);
    assert_int_equal(i.units, 11);

    i = analyse_ok("", 0);
    assert_int_equal(i.coding, SMSENC_GSM7);
    assert_int_equal(i.units, 0);
    assert_int_equal(i.parts, 1);
}

static void test_gsm7_extension_counts_two(void **state)
{
    struct smsenc_info i;
    const char *ext = "^{}\\[~]|€\f";
    (void)state;

    i = analyse_ok(ext, strlen(ext));
    assert_int_equal(i.coding, SMSENC_GSM7);
    assert_int_equal(i.chars, 10);
    assert_int_equal(i.units, 20);

    i = analyse_ok("Rs 100 [approx]", 15);
    assert_int_equal(i.units, 17);
}

static void test_ucs2_decisions(void **state)
{
    struct smsenc_info i;
    (void)state;

    /* one character outside GSM-7 makes the whole message UCS-2 */
    i = analyse_ok("Hello `world`", 13);
    assert_int_equal(i.coding, SMSENC_UCS2);
    assert_int_equal(i.units, 13);

    i = analyse_ok("Wage ₹245", strlen("Wage ₹245"));
    assert_int_equal(i.coding, SMSENC_UCS2);
    assert_int_equal(i.units, 9);

    i = analyse_ok("निवाड़ी", strlen("निवाड़ी"));
    assert_int_equal(i.coding, SMSENC_UCS2);
    assert_int_equal(i.chars, 7); /* नि वा ड ़ ी: न ि व ा ड ़ ी */
    assert_int_equal(i.units, 7);

    /* outside the BMP: one character, two UTF-16 units */
    i = analyse_ok("ok \xF0\x9F\x98\x80", 7);
    assert_int_equal(i.coding, SMSENC_UCS2);
    assert_int_equal(i.chars, 4);
    assert_int_equal(i.units, 5);

    /* an extension character in a UCS-2 message is one unit, not two */
    i = analyse_ok("{क}", strlen("{क}"));
    assert_int_equal(i.coding, SMSENC_UCS2);
    assert_int_equal(i.units, 3);

    /* a control character other than LF/CR/FF has no GSM-7 form */
    i = analyse_ok("a\tb", 3);
    assert_int_equal(i.coding, SMSENC_UCS2);
    /* a Latin letter GSM-7 lacks (a-acute) */
    i = analyse_ok("\xC3\xA1", 2);
    assert_int_equal(i.coding, SMSENC_UCS2);
}

static void test_boundaries_gsm7(void **state)
{
    struct smsenc_info i;
    size_t n;
    (void)state;

    n = repeat("a", 160);
    i = analyse_ok(big, n);
    assert_int_equal(i.units, 160);
    assert_int_equal(i.parts, 1);
    n = repeat("a", 161);
    i = analyse_ok(big, n);
    assert_int_equal(i.parts, 2);
    n = repeat("a", 306);
    assert_int_equal(analyse_ok(big, n).parts, 2);
    n = repeat("a", 307);
    assert_int_equal(analyse_ok(big, n).parts, 3);

    /* 158 + euro = 160 septets: one SMS; 159 + euro = 161: two */
    n = repeat("a", 158);
    memcpy(big + n, "€", 4);
    i = analyse_ok(big, n + 3);
    assert_int_equal(i.units, 160);
    assert_int_equal(i.chars, 159);
    assert_int_equal(i.parts, 1);
    n = repeat("a", 159);
    memcpy(big + n, "€", 4);
    i = analyse_ok(big, n + 3);
    assert_int_equal(i.units, 161);
    assert_int_equal(i.parts, 2);

    /* 80 extension characters = 160 septets */
    n = repeat("|", 80);
    assert_int_equal(analyse_ok(big, n).parts, 1);
    n = repeat("|", 81);
    assert_int_equal(analyse_ok(big, n).parts, 2);
}

static void test_boundaries_ucs2(void **state)
{
    struct smsenc_info i;
    size_t n;
    (void)state;

    n = repeat("क", 70);
    i = analyse_ok(big, n);
    assert_int_equal(i.units, 70);
    assert_int_equal(i.parts, 1);
    n = repeat("क", 71);
    assert_int_equal(analyse_ok(big, n).parts, 2);
    n = repeat("क", 134);
    assert_int_equal(analyse_ok(big, n).parts, 2);
    n = repeat("क", 135);
    assert_int_equal(analyse_ok(big, n).parts, 3);

    /* 35 emoji = 70 units; 36 = 72 units */
    n = repeat("\xF0\x9F\x98\x80", 35);
    i = analyse_ok(big, n);
    assert_int_equal(i.units, 70);
    assert_int_equal(i.parts, 1);
    n = repeat("\xF0\x9F\x98\x80", 36);
    assert_int_equal(analyse_ok(big, n).parts, 2);

    /* 69 ASCII + one Devanagari letter: 70 units, UCS-2, one part; 70 + 1: two parts */
    n = repeat("a", 69);
    memcpy(big + n, "क", 4);
    assert_int_equal(analyse_ok(big, n + 3).parts, 1);
    n = repeat("a", 70);
    memcpy(big + n, "क", 4);
    i = analyse_ok(big, n + 3);
    assert_int_equal(i.coding, SMSENC_UCS2);
    assert_int_equal(i.parts, 2);
}

static void test_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "\xC3",             /* truncated */
        "\xC0\xAF",         /* overlong '/' */
        "\xE0\x80\xAF",     /* overlong */
        "\xED\xA0\x80",     /* UTF-16 surrogate */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
        "\xFF",             /* never valid */
        "abc\x80",          /* stray continuation byte */
        "\xE0\xA4",         /* truncated Devanagari */
    };
    struct smsenc_info info;
    struct slice parts[4];
    size_t i, n = 99;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        info.units = 99;
        assert_int_equal(smsenc_analyse(bad[i], strlen(bad[i]), &info), -1);
        assert_int_equal(info.units, 0);
        assert_int_equal(smsenc_split(bad[i], strlen(bad[i]), parts, 4, &n), -1);
        assert_int_equal(n, 0);
    }
}

/* UTF-16 code units of a slice (valid UTF-8). */
static size_t ucs2_units(struct slice s)
{
    size_t i = 0, u = 0;
    unsigned cp;
    int n;

    while (i < s.len) {
        n = utf8_decode(s.ptr + i, s.len - i, &cp);
        assert_true(n > 0);
        i += (size_t)n;
        u += cp > 0xFFFF ? 2 : 1;
    }
    return u;
}

static unsigned first_cp(struct slice s)
{
    unsigned cp = 0;

    assert_true(utf8_decode(s.ptr, s.len, &cp) > 0);
    return cp;
}

static unsigned last_cp(struct slice s)
{
    size_t i = s.len;
    unsigned cp = 0;

    while (i > 0 && ((unsigned char)s.ptr[i - 1] & 0xC0) == 0x80)
        i--;
    assert_true(i > 0);
    assert_true(utf8_decode(s.ptr + i - 1, s.len - i + 1, &cp) > 0);
    return cp;
}

/* Check every property a split must have; returns the number of parts. */
static size_t check_split(const char *s, size_t len)
{
    struct slice parts[SMSENC_MAX_PARTS];
    struct smsenc_info whole, pi;
    size_t n, k, off = 0, limit;

    assert_int_equal(smsenc_analyse(s, len, &whole), 0);
    assert_int_equal(smsenc_split(s, len, parts, SMSENC_MAX_PARTS, &n), 0);
    assert_true(n >= whole.parts);
    if (whole.parts == 1) {
        assert_int_equal(n, 1);
        assert_int_equal(parts[0].len, len);
        return 1;
    }
    limit = whole.coding == SMSENC_GSM7 ? SMSENC_GSM7_PART : SMSENC_UCS2_PART;
    for (k = 0; k < n; k++) {
        /* contiguous: the parts concatenate to the input exactly */
        assert_ptr_equal(parts[k].ptr, s + off);
        assert_true(parts[k].len > 0);
        off += parts[k].len;
        /* each part is valid UTF-8 on its own (no sequence cut) and fits */
        assert_int_equal(smsenc_analyse(parts[k].ptr, parts[k].len, &pi), 0);
        if (whole.coding == SMSENC_GSM7) {
            assert_int_equal(pi.coding, SMSENC_GSM7);
            assert_true(pi.units <= limit);
        } else {
            assert_true(ucs2_units(parts[k]) <= limit);
        }
        /* clusters stay whole: every cut is one the grapheme rule allows */
        if (k + 1 < n)
            assert_true(grapheme_can_break(last_cp(parts[k]), first_cp(parts[k + 1])));
    }
    assert_int_equal(off, len);
    return n;
}

static void test_split_single_and_plain(void **state)
{
    struct slice parts[4];
    size_t n, len;
    (void)state;

    assert_int_equal(smsenc_split("hi", 2, parts, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(parts[0].len, 2);

    /* exactly 160: one part, not 153 + 7 */
    len = repeat("a", 160);
    assert_int_equal(check_split(big, len), 1);

    /* 161 letters without a space: cut at 153 */
    len = repeat("a", 161);
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].len, 153);
    assert_int_equal(parts[1].len, 8);

    /* UCS-2 without a space: 67 + 4 */
    len = repeat("क", 71);
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].len, 67 * 3);
    assert_int_equal(parts[1].len, 4 * 3);

    /* too many parts for the caller's array */
    len = repeat("a", 153 * 4 + 1);
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), -1);
    assert_int_equal(n, 0);
    len = repeat("a", 153 * 4);
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), 0);
    assert_int_equal(n, 4);
}

static void test_split_word_boundaries(void **state)
{
    struct slice parts[SMSENC_MAX_PARTS];
    size_t n, len, k;
    (void)state;

    /* "word " * 40 = 200 septets: the first part ends after a space, within 153 */
    len = repeat("word ", 40);
    assert_int_equal(smsenc_split(big, len, parts, SMSENC_MAX_PARTS, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].len, 150); /* 30 words; a 31st would need 155 */
    assert_int_equal(parts[0].ptr[parts[0].len - 1], ' ');
    assert_int_equal(parts[1].ptr[0], 'w');
    check_split(big, len);

    /* Hindi words: every part but the last ends with a space */
    len = repeat("परिवारों को काम मिला। ", 12);
    n = check_split(big, len);
    assert_true(n >= 4);
    assert_int_equal(smsenc_split(big, len, parts, SMSENC_MAX_PARTS, &n), 0);
    for (k = 0; k + 1 < n; k++)
        assert_int_equal(parts[k].ptr[parts[k].len - 1], ' ');

    /* a line break is a break opportunity too */
    len = repeat("abcdefghi\n", 20);
    assert_int_equal(smsenc_split(big, len, parts, SMSENC_MAX_PARTS, &n), 0);
    assert_int_equal(parts[0].len, 150);
    assert_int_equal(parts[0].ptr[149], '\n');
}

static void test_split_escape_pair(void **state)
{
    struct slice parts[4];
    size_t n, len;
    (void)state;

    /* 152 letters then '{' (2 septets): the pair cannot straddle parts, so part 1 is 152 */
    len = repeat("a", 152);
    memcpy(big + len, "{bbbbbbbbbb", 12);
    len += 11;
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].len, 152);
    assert_int_equal(parts[1].ptr[0], '{');
    check_split(big, len);

    /* the same with the euro sign (3 UTF-8 bytes, 2 septets) */
    len = repeat("a", 152);
    memcpy(big + len, "€bbbbbbbbbb", 14);
    len += 13;
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), 0);
    assert_int_equal(parts[0].len, 152);
    assert_memory_equal(parts[1].ptr, "€", 3);
}

static void test_split_surrogate_pair(void **state)
{
    struct slice parts[4];
    size_t n, len;
    (void)state;

    /* 66 units, then an emoji (2 units) would make 68 > 67: it moves to part 2 whole */
    len = repeat("क", 66);
    memcpy(big + len, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80kk", 11);
    len += 10;
    assert_int_equal(smsenc_split(big, len, parts, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(parts[0].len, 66 * 3);
    assert_int_equal(first_cp(parts[1]), 0x1F600);
    check_split(big, len);
}

static void test_split_devanagari_clusters(void **state)
{
    struct slice parts[SMSENC_MAX_PARTS];
    size_t n, len, k;
    (void)state;

    /* conjunct क्ष (क + virama + ष) with no spaces: never cut around the virama */
    len = repeat("क्ष", 40); /* 120 units */
    assert_int_equal(smsenc_split(big, len, parts, SMSENC_MAX_PARTS, &n), 0);
    assert_int_equal(n, 2);
    /* 67 units = 22 clusters (66) + 1 unit that would split the 23rd: cut at 66 */
    assert_int_equal(ucs2_units(parts[0]), 66);
    check_split(big, len);

    /* a consonant with nukta, vowel sign and candrabindu: ड़ ँ ... as one cluster */
    len = repeat("ड़ीँ", 30); /* ड ़ ी ँ: 4 units each, 120 units */
    n = check_split(big, len);
    assert_int_equal(n, 2);
    assert_int_equal(smsenc_split(big, len, parts, SMSENC_MAX_PARTS, &n), 0);
    assert_int_equal(ucs2_units(parts[0]) % 4, 0);

    /* half forms with ZWJ (क्‍ष) and ZWNJ (क्‌ष) stay whole */
    len = repeat("क्\u200Dष", 20); /* 4 units each */
    check_split(big, len);
    len = repeat("क्\u200Cष", 20);
    check_split(big, len);

    /* स्त्री: two viramas in one cluster of 6 units */
    len = repeat("स्त्री", 25);
    assert_int_equal(smsenc_split(big, len, parts, SMSENC_MAX_PARTS, &n), 0);
    for (k = 0; k < n; k++)
        assert_int_equal(ucs2_units(parts[k]) % 6, 0);
    check_split(big, len);
}

/* Deterministic generator (LCG), so a failure is reproducible. */
static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7FFF;
}

static void test_split_generated(void **state)
{
    static const char *const gsm_pieces[] = {"a", "Niwari", " ",  "  ", "12,34,567", "{",
                                             "€", "|",      "\n", "é",  "Δ",         "word"};
    static const char *const uni_pieces[] = {"क",
                                             "्",
                                             "ष",
                                             "ि",
                                             "ी",
                                             "ं",
                                             "ँ",
                                             "़",
                                             "\u200D",
                                             "\u200C",
                                             " ",
                                             " ",
                                             "।",
                                             "a",
                                             "{",
                                             "€",
                                             "\xF0\x9F\x98\x80",
                                             "नि",
                                             "वा",
                                             "ड़ी",
                                             "स्त्री",
                                             "क्ष"};
    size_t len, round, piece;
    (void)state;

    for (round = 0; round < 3000; round++) {
        int uni = round % 2;
        size_t want = 100 + next_rand() % 600;
        /* start with a base letter: a mark at the very start has nothing to attach to */
        big[0] = 'x';
        len = 1;
        while (len < want) {
            const char *p = uni ? uni_pieces[next_rand() % (sizeof(uni_pieces) / sizeof(char *))]
                                : gsm_pieces[next_rand() % (sizeof(gsm_pieces) / sizeof(char *))];
            piece = strlen(p);
            memcpy(big + len, p, piece);
            len += piece;
        }
        big[len] = '\0';
        check_split(big, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gsm7_basic),
        cmocka_unit_test(test_gsm7_extension_counts_two),
        cmocka_unit_test(test_ucs2_decisions),
        cmocka_unit_test(test_boundaries_gsm7),
        cmocka_unit_test(test_boundaries_ucs2),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_split_single_and_plain),
        cmocka_unit_test(test_split_word_boundaries),
        cmocka_unit_test(test_split_escape_pair),
        cmocka_unit_test(test_split_surrogate_pair),
        cmocka_unit_test(test_split_devanagari_clusters),
        cmocka_unit_test(test_split_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
