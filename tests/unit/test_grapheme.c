/*
 * Unit tests for src/text/grapheme.c: the cut rule (grapheme_can_break) on Devanagari,
 * the other Indic blocks, ZWJ/ZWNJ, Latin combining diacritics, emoji variation selectors
 * and skin tones, CR LF; and grapheme_clip: a conjunct is never left as a dangling virama
 * ("क्ष" clipped to 1, 2, 3), nukta letters, ZWJ sequences, decomposed Latin, emoji with a
 * variation selector, ASCII, the outlen limit, invalid UTF-8; then a few thousand
 * generated texts clipped at every length, checked against the rule directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"
#include "text/grapheme.h"

/* Clip s and check the return and the result. */
static void clip(const char *s, size_t max_chars, size_t outlen, const char *want)
{
    char out[256];

    assert_true(outlen <= sizeof(out));
    memset(out, 'X', sizeof(out));
    assert_int_equal(grapheme_clip(s, max_chars, out, outlen), 0);
    assert_string_equal(out, want);
}

static void test_can_break(void **state)
{
    (void)state;
    assert_int_equal(grapheme_can_break('a', 'b'), 1);
    assert_int_equal(grapheme_can_break(' ', 0x0915), 1);
    assert_int_equal(grapheme_can_break(0x0915, 0x0916), 1); /* क ख */
    assert_int_equal(grapheme_can_break('\n', 'a'), 1);
    assert_int_equal(grapheme_can_break('\r', '\n'), 0);
    /* Devanagari signs stay with their letter. */
    assert_int_equal(grapheme_can_break(0x0915, 0x094D), 0); /* virama */
    assert_int_equal(grapheme_can_break(0x0921, 0x093C), 0); /* nukta */
    assert_int_equal(grapheme_can_break(0x0935, 0x093E), 0); /* matra ा */
    assert_int_equal(grapheme_can_break(0x0928, 0x093F), 0); /* matra ि */
    assert_int_equal(grapheme_can_break(0x0915, 0x0901), 0); /* candrabindu */
    assert_int_equal(grapheme_can_break(0x0915, 0x0902), 0); /* anusvara */
    assert_int_equal(grapheme_can_break(0x0915, 0x0903), 0); /* visarga */
    assert_int_equal(grapheme_can_break(0x0915, 0x0951), 0); /* udatta */
    /* After a virama the next consonant joins it (conjunct). */
    assert_int_equal(grapheme_can_break(0x094D, 0x0937), 0);
    /* The same layout in Bengali, Gurmukhi, Tamil, Telugu, Kannada, Malayalam. */
    assert_int_equal(grapheme_can_break(0x0995, 0x09CD), 0);
    assert_int_equal(grapheme_can_break(0x09CD, 0x09B7), 0);
    assert_int_equal(grapheme_can_break(0x0A15, 0x0A3F), 0);
    assert_int_equal(grapheme_can_break(0x0B95, 0x0BCD), 0);
    assert_int_equal(grapheme_can_break(0x0C15, 0x0C3E), 0);
    assert_int_equal(grapheme_can_break(0x0C95, 0x0CBC), 0);
    assert_int_equal(grapheme_can_break(0x0D15, 0x0D4D), 0);
    assert_int_equal(grapheme_can_break(0x0995, 0x0996), 1);
    /* Letters of the block are not marks: precomposed nukta letters, independent vowels,
     * digits, danda. */
    assert_int_equal(grapheme_can_break(0x0915, 0x095C), 1); /* ड़ */
    assert_int_equal(grapheme_can_break(0x0915, 0x0905), 1); /* अ */
    assert_int_equal(grapheme_can_break(0x0915, 0x0966), 1); /* ० */
    assert_int_equal(grapheme_can_break(0x0915, 0x0964), 1); /* । */
    /* ZWJ and ZWNJ: no cut before or after. */
    assert_int_equal(grapheme_can_break(0x094D, 0x200D), 0);
    assert_int_equal(grapheme_can_break(0x200D, 0x0937), 0);
    assert_int_equal(grapheme_can_break(0x200C, 0x0937), 0);
    assert_int_equal(grapheme_can_break(0x1F468, 0x200D), 0);
    assert_int_equal(grapheme_can_break(0x200D, 0x1F469), 0);
    /* Latin combining diacritics, variation selectors, skin tones. */
    assert_int_equal(grapheme_can_break('e', 0x0301), 0);
    assert_int_equal(grapheme_can_break('a', 0x0323), 0);
    assert_int_equal(grapheme_can_break('a', 0x1AB0), 0);
    assert_int_equal(grapheme_can_break('a', 0x1DC0), 0);
    assert_int_equal(grapheme_can_break('a', 0x20D7), 0);
    assert_int_equal(grapheme_can_break(0x2764, 0xFE0F), 0);
    assert_int_equal(grapheme_can_break(0x2764, 0xFE0E), 0);
    assert_int_equal(grapheme_can_break(0x8FBA, 0xE0100), 0);
    assert_int_equal(grapheme_can_break(0x1F44D, 0x1F3FD), 0);
    assert_int_equal(grapheme_can_break(0xFE0F, 'a'), 1);
    assert_int_equal(grapheme_can_break(0x0301, 'a'), 1);
}

static void test_clip_conjunct(void **state)
{
    (void)state;
    /* क्ष = क + virama + ष: 1 and 2 would leave "क" or "क्"; the whole cluster or nothing. */
    clip("क्ष", 0, 64, "");
    clip("क्ष", 1, 64, "");
    clip("क्ष", 2, 64, "");
    clip("क्ष", 3, 64, "क्ष");
    clip("क्ष", 30, 64, "क्ष");
    /* With a letter before it the cut falls before the conjunct. */
    clip("अक्ष", 2, 64, "अ");
    clip("अक्ष", 3, 64, "अ");
    clip("अक्ष", 4, 64, "अक्ष");
    /* क्षमा: क ् ष म ा; at 4 the cut would separate म from its matra. */
    clip("क्षमा", 4, 64, "क्ष");
    clip("क्षमा", 5, 64, "क्षमा");
    /* स्त्री: two viramas and a matra, one cluster of 6. */
    clip("स्त्री", 5, 64, "");
    clip("स्त्री", 6, 64, "स्त्री");
    /* What the SMS channel's earlier clip kept: निवाड़ी (न ि व ा ड ़ ी) at 4 and 3. */
    clip("निवाड़ी", 4, 64, "निवा");
    clip("निवाड़ी", 3, 64, "नि");
    clip("निवाड़ी", 7, 64, "निवाड़ी");
    /* Bengali conjunct ক্ষ likewise. */
    clip("\u0995\u09CD\u09B7", 2, 64, "");
}

static void test_clip_nukta(void **state)
{
    (void)state;
    /* बड़ा with a decomposed ड़ (ड + nukta): the nukta never loses its letter. */
    clip("बड़ा", 1, 64, "ब");
    clip("बड़ा", 2, 64, "ब");
    clip("बड़ा", 3, 64, "ब");
    clip("बड़ा", 4, 64, "बड़ा");
    /* Precomposed ड़ (U+095C) is one letter. */
    clip("\u092C\u095C\u093E", 2, 64, "\u092C");
    clip("\u092C\u095C\u093E", 3, 64, "\u092C\u095C\u093E");
    /* ड़ीँ: letter, nukta, matra, candrabindu: one cluster of 4. */
    clip("ड़ीँ", 3, 64, "");
    clip("ड़ीँ", 4, 64, "ड़ीँ");
}

static void test_clip_zwj(void **state)
{
    static const char family[] = "\xF0\x9F\x91\xA8\u200D\xF0\x9F\x91\xA9\u200D\xF0\x9F\x91\xA7";
    char want[64];
    size_t k;

    (void)state;
    /* Man ZWJ woman ZWJ girl: five code points, one picture. */
    for (k = 0; k < 5; k++)
        clip(family, k, 64, "");
    clip(family, 5, 64, family);
    snprintf(want, sizeof(want), "ab %s", family);
    clip(want, 7, 64, "ab ");
    clip(want, 8, 64, want);
    /* Half forms: क्‍ष (ZWJ) and क्‌ष (ZWNJ) are one cluster each. */
    clip("क्\u200Dष", 3, 64, "");
    clip("क्\u200Dष", 4, 64, "क्\u200Dष");
    clip("क्\u200Cष", 3, 64, "");
    clip("क्\u200Cषa", 4, 64, "क्\u200Cष");
    /* A trailing ZWJ still waits for what it joins. */
    clip("a\u200Db", 2, 64, "");
}

static void test_clip_latin_combining(void **state)
{
    (void)state;
    /* "café" written with a combining acute: e + U+0301. */
    clip("cafe\u0301", 4, 64, "caf");
    clip("cafe\u0301", 5, 64, "cafe\u0301");
    clip("cafe\u0301s", 5, 64, "cafe\u0301");
    /* Two diacritics on one letter. */
    clip("a\u0301\u0323b", 1, 64, "");
    clip("a\u0301\u0323b", 2, 64, "");
    clip("a\u0301\u0323b", 3, 64, "a\u0301\u0323");
    /* Precomposed é is one character. */
    clip("caf\u00E9", 4, 64, "caf\u00E9");
    /* CR LF is not split. */
    clip("a\r\nb", 2, 64, "a");
    clip("a\r\nb", 3, 64, "a\r\n");
}

static void test_clip_emoji(void **state)
{
    (void)state;
    /* I ❤️ NREGA: ❤ + U+FE0F. */
    clip("I \u2764\uFE0F NREGA", 3, 64, "I ");
    clip("I \u2764\uFE0F NREGA", 4, 64, "I \u2764\uFE0F");
    clip("\u2764\uFE0F", 1, 64, "");
    /* 👍🏽: thumbs up + skin tone. */
    clip("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!", 1, 64, "");
    clip("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!", 2, 64, "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD");
    /* A plain emoji outside the BMP is one code point. */
    clip("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 1, 64, "\xF0\x9F\x98\x80");
}

static void test_clip_ascii(void **state)
{
    (void)state;
    clip("Niwari", 30, 64, "Niwari");
    clip("Niwari", 6, 64, "Niwari");
    clip("Niwari", 3, 64, "Niw");
    clip("Niwari", 0, 64, "");
    clip("abcdef", 3, 64, "abc");
    clip("", 5, 64, "");
    clip("NREGA Niwari", 6, 64, "NREGA ");
}

static void test_clip_outlen(void **state)
{
    char out[8];

    (void)state;
    /* outlen counts the NUL: 4 bytes hold 3 ASCII characters. */
    clip("Niwari", 30, 4, "Niw");
    clip("Niwari", 30, 1, "");
    clip("Niwari", 30, 7, "Niwari");
    clip("Niwari", 30, 6, "Niwar");
    /* A 3-byte character that does not fit is left out whole... */
    clip("नव", 30, 6, "न");
    clip("नव", 30, 7, "नव");
    /* ...a letter is not kept without the sign that follows it... */
    clip("नि", 30, 6, "");
    clip("नि", 30, 7, "नि");
    /* ...so with 9 bytes of room, where ा does not fit, वा goes. */
    clip("निवाड़ी", 30, 10, "नि");
    clip("निवाड़ी", 30, 13, "निवा");
    clip("क्ष", 30, 9, "");
    clip("क्ष", 30, 10, "क्ष");
    /* A 4-byte emoji with 3 bytes room. */
    clip("\xF0\x9F\x98\x80", 30, 4, "");
    clip("\xF0\x9F\x98\x80", 30, 5, "\xF0\x9F\x98\x80");
    /* Both limits: the tighter one wins. */
    clip("abcdef", 2, 5, "ab");
    clip("abcdef", 5, 3, "ab");
    /* No room even for the NUL. */
    assert_int_equal(grapheme_clip("abc", 3, out, 0), -1);
}

static void test_clip_invalid(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(grapheme_clip("ab\xff", 30, out, sizeof(out)), -1);
    assert_string_equal(out, "");
    /* Invalid past the cut is still invalid. */
    memset(out, 'X', sizeof(out));
    assert_int_equal(grapheme_clip("abc\xff", 1, out, sizeof(out)), -1);
    assert_string_equal(out, "");
    assert_int_equal(grapheme_clip("abc\xe0\xa4", 30, out, sizeof(out)), -1);  /* truncated */
    assert_int_equal(grapheme_clip("\xc0\xaf", 30, out, sizeof(out)), -1);     /* overlong */
    assert_int_equal(grapheme_clip("\xe0\x80\xaf", 30, out, sizeof(out)), -1); /* overlong */
    assert_int_equal(grapheme_clip("\xed\xa0\x80", 30, out, sizeof(out)), -1); /* surrogate */
    assert_int_equal(grapheme_clip("\xf4\x90\x80\x80", 1, out, 64), -1);       /* > 10FFFF */
    assert_int_equal(grapheme_clip("\x80", 30, out, sizeof(out)), -1);         /* continuation */
    assert_int_equal(grapheme_clip(NULL, 30, out, sizeof(out)), -1);
    assert_string_equal(out, "");
}

/* Deterministic generator (LCG), so a failure is reproducible. */
static uint32_t rng = 4242;
static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7FFF;
}

/* The code point of the UTF-8 character at s (valid). */
static uint32_t cp_at(const char *s, size_t *n)
{
    uint32_t cp = 0;
    int k = utf8_decode(s, strlen(s), &cp);

    assert_true(k > 0);
    *n = (size_t)k;
    return cp;
}

/* For s clipped to max_chars and outlen: the result is a prefix of s within both limits,
 * ends at the end of s or where the rule allows a cut, and is the longest such prefix. */
static void check_clip(const char *s, size_t max_chars, size_t outlen)
{
    char out[512];
    size_t i = 0, chars = 0, n, best = 0, len = strlen(s), got;
    uint32_t prev = 0, cp;

    assert_int_equal(grapheme_clip(s, max_chars, out, outlen), 0);
    got = strlen(out);
    assert_true(got < outlen);
    assert_memory_equal(out, s, got);
    /* The longest prefix that fits and ends on a boundary. */
    while (i < len) {
        cp = cp_at(s + i, &n);
        if (i > 0 && grapheme_can_break(prev, cp) && chars <= max_chars && i < outlen)
            best = i;
        chars++;
        prev = cp;
        i += n;
    }
    if (chars <= max_chars && len < outlen)
        best = len;
    assert_int_equal(got, best);
}

static void test_clip_generated(void **state)
{
    static const char *const pieces[] = {"क",
                                         "्",
                                         "ष",
                                         "ि",
                                         "ी",
                                         "ं",
                                         "ँ",
                                         "़",
                                         "ड़",
                                         "\u200D",
                                         "\u200C",
                                         " ",
                                         "a",
                                         "e",
                                         "\u0301",
                                         "\r",
                                         "\n",
                                         "\u2764",
                                         "\uFE0F",
                                         "\xF0\x9F\x98\x80",
                                         "\xF0\x9F\x8F\xBD",
                                         "।"};
    char s[256];
    size_t round, len, piece, max, outlen;
    const char *p;

    (void)state;
    for (round = 0; round < 2000; round++) {
        size_t want = 1 + next_rand() % 60;

        len = 0;
        while (len < want) {
            p = pieces[next_rand() % (sizeof(pieces) / sizeof(pieces[0]))];
            piece = strlen(p);
            memcpy(s + len, p, piece);
            len += piece;
        }
        s[len] = '\0';
        for (max = 0; max <= 40; max += 1 + next_rand() % 3)
            for (outlen = 1; outlen <= len + 2; outlen += 1 + next_rand() % 7)
                check_clip(s, max, outlen);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_can_break),
        cmocka_unit_test(test_clip_conjunct),
        cmocka_unit_test(test_clip_nukta),
        cmocka_unit_test(test_clip_zwj),
        cmocka_unit_test(test_clip_latin_combining),
        cmocka_unit_test(test_clip_emoji),
        cmocka_unit_test(test_clip_ascii),
        cmocka_unit_test(test_clip_outlen),
        cmocka_unit_test(test_clip_invalid),
        cmocka_unit_test(test_clip_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
