/*
 * Unit tests for src/text/charset.c: every charset name Kannel may send (and case
 * variants), the whole WINDOWS-1252 table against Microsoft's published mapping (0x80 is
 * the euro sign; the five undefined bytes 0x81 0x8D 0x8F 0x90 0x9D are rejected, which is
 * what glibc's iconv does), ISO-8859-1 and US-ASCII byte by byte, UTF-16BE with surrogate
 * pairs, lone surrogates and odd lengths, invalid UTF-8 (overlong, surrogate, truncated),
 * unknown charsets, the output cap, texts longer than one conversion chunk, and that a
 * failed conversion leaves nothing behind for the next one. The cases the SMS channel's
 * earlier hand-written decoder was tested on are kept here with the same results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "text/charset.h"

/* Convert and expect success with exactly `want` (wlen bytes) appended. */
static void conv_ok(const char *bytes, size_t len, const char *cs, const char *want, size_t wlen)
{
    struct buf b;

    buf_init(&b, 65536);
    assert_int_equal(charset_to_utf8(bytes, len, cs, &b), 0);
    assert_int_equal(b.len, wlen);
    assert_memory_equal(buf_cstr(&b), want, wlen);
    buf_free(&b);
}

/* Convert and expect -1 with out unchanged (it holds "keep" before the call). */
static void conv_fail(const char *bytes, size_t len, const char *cs)
{
    struct buf b;

    buf_init(&b, 65536);
    assert_int_equal(buf_puts(&b, "keep"), 0);
    assert_int_equal(charset_to_utf8(bytes, len, cs, &b), -1);
    assert_int_equal(b.len, 4);
    assert_string_equal(buf_cstr(&b), "keep");
    buf_free(&b);
}

#define OK(lit, cs, want) conv_ok(lit, sizeof(lit) - 1, cs, want, sizeof(want) - 1)
#define FAIL(lit, cs) conv_fail(lit, sizeof(lit) - 1, cs)

static void test_names(void **state)
{
    static const char *const utf8[] = {"UTF-8", "utf-8", "Utf-8", "UTF8", "utf8", NULL, ""};
    static const char *const utf16[] = {"UTF-16BE", "utf-16be", "UTF-16", "UCS-2",
                                        "ucs-2",    "UCS-2BE",  "UCS2",   "Ucs2"};
    static const char *const latin1[] = {"ISO-8859-1", "iso-8859-1", "ISO8859-1", "LATIN1",
                                         "latin1"};
    static const char *const cp1252[] = {"WINDOWS-1252", "windows-1252", "Windows-1252", "CP1252",
                                         "cp1252"};
    static const char *const ascii[] = {"US-ASCII", "us-ascii", "ASCII", "ascii"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
        OK("caf\xc3\xa9", utf8[i], "café");
    for (i = 0; i < sizeof(utf16) / sizeof(utf16[0]); i++)
        OK("\x00\x63\x00\xe9", utf16[i], "cé");
    for (i = 0; i < sizeof(latin1) / sizeof(latin1[0]); i++)
        OK("caf\xe9", latin1[i], "café");
    for (i = 0; i < sizeof(cp1252) / sizeof(cp1252[0]); i++)
        OK("\x80 caf\xe9", cp1252[i], "€ café");
    for (i = 0; i < sizeof(ascii) / sizeof(ascii[0]); i++)
        OK("NREGA 1752", ascii[i], "NREGA 1752");
}

static void test_unknown_charset(void **state)
{
    (void)state;
    FAIL("abc", "KOI8-R");
    FAIL("abc", "UTF-32");
    FAIL("abc", "UTF-7");
    FAIL("abc", "ISO-8859-15");
    FAIL("abc", "ISO-2022-JP");
    FAIL("abc", "UTF-16LE");
    FAIL("abc", "UTF-8 ");
    FAIL("abc", " UTF-8");
    FAIL("abc", "UTF-8//IGNORE");
    FAIL("abc", "WINDOWS-1252//TRANSLIT");
    FAIL("abc", "x");
    /* Also with nothing to convert. */
    FAIL("", "KOI8-R");
}

/* Microsoft's cp1252.txt for 0x80..0x9F; 0 = undefined. */
static const uint32_t cp1252_c1[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

/* The UTF-8 form of cp; returns its length. */
static size_t encode(uint32_t cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static void test_cp1252(void **state)
{
    char in[1], want[4];
    unsigned c;
    uint32_t cp;

    (void)state;
    /* The reason for this module: these are not Latin-1's C1 controls. */
    OK("\x80", "WINDOWS-1252", "\xe2\x82\xac");                             /* € */
    OK("\x93Hisaab\x94", "WINDOWS-1252", "\xe2\x80\x9cHisaab\xe2\x80\x9d"); /* “ ” */
    OK("wait\x85", "CP1252", "wait\xe2\x80\xa6");                           /* … */
    OK("\x96\x97", "CP1252", "\xe2\x80\x93\xe2\x80\x94");                   /* – — */
    OK("Rs 100\x80", "CP1252", "Rs 100€");
    /* Every byte against the published table: ASCII and 0xA0..0xFF as Latin-1. */
    for (c = 0; c < 256; c++) {
        in[0] = (char)c;
        cp = c >= 0x80 && c < 0xA0 ? cp1252_c1[c - 0x80] : c;
        if (cp == 0 && c != 0) {
            conv_fail(in, 1, "WINDOWS-1252");
            continue;
        }
        conv_ok(in, 1, "WINDOWS-1252", want, encode(cp, want));
    }
}

static void test_cp1252_undefined(void **state)
{
    static const unsigned char undefined[] = {0x81, 0x8D, 0x8F, 0x90, 0x9D};
    char text[8];
    size_t i;

    (void)state;
    /* glibc's table leaves them undefined (iconv fails with EILSEQ); no fallback to the C1
     * control of the same number. */
    for (i = 0; i < sizeof(undefined); i++) {
        text[0] = 'a';
        text[1] = (char)undefined[i];
        text[2] = 'b';
        conv_fail(text, 3, "WINDOWS-1252");
        conv_fail(text + 1, 1, "CP1252");
        /* In Latin-1 the same byte is the C1 control U+0081 etc. */
        {
            char want[3] = {'a', (char)0xC2, (char)undefined[i]};

            conv_ok(text, 2, "ISO-8859-1", want, 3);
        }
    }
}

static void test_latin1_and_ascii(void **state)
{
    char in[1], want[4];
    unsigned c;

    (void)state;
    for (c = 0; c < 256; c++) {
        in[0] = (char)c;
        conv_ok(in, 1, "ISO-8859-1", want, encode(c, want));
        if (c < 0x80)
            conv_ok(in, 1, "US-ASCII", in, 1);
        else
            conv_fail(in, 1, "US-ASCII");
    }
    OK("caf\xe9", "ISO-8859-1", "café");
    OK("\x80\xff", "ISO-8859-1", "\xc2\x80\xc3\xbf");
    FAIL("NREGA \xe9", "US-ASCII");
}

static void test_utf16(void **state)
{
    /* "निवाड़ी" as UTF-16BE. */
    static const char nivadi[] = "\x09\x28\x09\x3f\x09\x35\x09\x3e\x09\x21\x09\x3c\x09\x40";

    (void)state;
    OK(nivadi, "UTF-16BE", "निवाड़ी");
    OK(nivadi, "UCS-2", "निवाड़ी");
    OK("\x00N\x00R", "UTF-16BE", "NR");
    /* Surrogate pairs: U+1F600 and U+10FFFF, alone and in text. */
    OK("\xd8\x3d\xde\x00", "UCS-2", "\xf0\x9f\x98\x80");
    OK("\xdb\xff\xdf\xff", "UTF-16BE", "\xf4\x8f\xbf\xbf");
    OK("\x00h\x00i\xd8\x3d\xde\x00\x00!", "UTF-16BE", "hi\xf0\x9f\x98\x80!");
    /* A byte-order mark is kept as U+FEFF (Kannel sends none); U+FFFE passes. */
    OK("\xfe\xff\x00\x41", "UTF-16BE", "\xef\xbb\xbf\x41");
    OK("\x20\xac", "UCS-2", "€");
    OK("", "UTF-16BE", "");
    /* Lone surrogates: a low one, a high one before a non-surrogate, at the end, two
     * highs. */
    FAIL("\xdc\x00\x00\x41", "UTF-16BE");
    FAIL("\x00\x41\xde\x00", "UCS-2");
    FAIL("\xd8\x3d\x00\x41", "UTF-16BE");
    FAIL("\x00\x41\xd8\x3d", "UTF-16BE");
    FAIL("\xd8\x3d", "UCS-2");
    FAIL("\xd8\x3d\xd8\x3d\xde\x00", "UTF-16BE");
    /* Odd lengths. */
    FAIL("\x09", "UTF-16BE");
    FAIL("\x00\x41\x00", "UTF-16BE");
    FAIL("\xd8\x3d\xde", "UCS-2");
}

static void test_utf8(void **state)
{
    (void)state;
    OK("निवाड़ी", "UTF-8", "निवाड़ी");
    OK("\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", NULL, "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    OK("", "", "");
    /* A NUL is a character in every charset. */
    conv_ok("a\0b", 3, "UTF-8", "a\0b", 3);
    conv_ok("\0a\0\0", 4, "UTF-16BE", "a\0", 2);
    FAIL("caf\xe9", "UTF-8");
    FAIL("\xc0\xaf", "UTF-8");            /* overlong '/' */
    FAIL("\xe0\x80\xaf", "UTF-8");        /* overlong '/' */
    FAIL("\xf0\x80\x80\xaf", NULL);       /* overlong '/' */
    FAIL("\xed\xa0\x80", "UTF-8");        /* U+D800 */
    FAIL("\xed\xa0\xbd\xed\xb8\x80", ""); /* CESU-8 surrogate pair */
    FAIL("\xe0\xa4", "UTF-8");            /* truncated */
    FAIL("\xf0\x9f\x98", "UTF-8");        /* truncated */
    FAIL("ok\xe0\xa4", "UTF-8");          /* truncated at the end */
    FAIL("\xf4\x90\x80\x80", "UTF-8");    /* past U+10FFFF */
    FAIL("\x80", "UTF-8");                /* continuation byte */
    FAIL("\xff", "UTF-8");
}

static void test_null_bytes_pointer(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 16);
    assert_int_equal(charset_to_utf8(NULL, 0, "UTF-8", &b), 0);
    assert_int_equal(charset_to_utf8(NULL, 5, "WINDOWS-1252", &b), 0);
    assert_int_equal(charset_to_utf8(NULL, 0, "KOI8-R", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_cap(void **state)
{
    struct buf b;

    (void)state;
    /* "€€" is 2 bytes in CP1252 and 6 in UTF-8. */
    buf_init(&b, 5);
    assert_int_equal(charset_to_utf8("\x80\x80", 2, "CP1252", &b), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(charset_to_utf8("\x80", 1, "CP1252", &b), 0);
    assert_string_equal(buf_cstr(&b), "€");
    /* 3 of 5 used: "ab" fits exactly, then nothing more. */
    assert_int_equal(charset_to_utf8("\x00"
                                     "a\x00"
                                     "b",
                                     4, "UTF-16BE", &b),
                     0);
    assert_string_equal(buf_cstr(&b), "€ab");
    assert_int_equal(charset_to_utf8("c", 1, "UTF-8", &b), -1);
    assert_int_equal(charset_to_utf8("c", 1, "US-ASCII", &b), -1);
    assert_int_equal(charset_to_utf8("\xe9", 1, "ISO-8859-1", &b), -1);
    assert_int_equal(b.len, 5);
    assert_string_equal(buf_cstr(&b), "€ab");
    assert_int_equal(charset_to_utf8("", 0, "CP1252", &b), 0);
    buf_free(&b);
}

static void test_long_text(void **state)
{
    static char in[3000], want[9000];
    struct buf b;
    size_t i;

    (void)state;
    /* 3000 euro signs come out as 9000 bytes, through several chunks. */
    for (i = 0; i < sizeof(in); i++) {
        in[i] = (char)0x80;
        memcpy(want + 3 * i, "€", 3);
    }
    conv_ok(in, sizeof(in), "WINDOWS-1252", want, sizeof(want));
    /* An undefined byte at the very end rolls back all the chunks before it. */
    in[sizeof(in) - 1] = (char)0x81;
    conv_fail(in, sizeof(in), "WINDOWS-1252");
    /* The cap hit in a later chunk: nothing appended. */
    in[sizeof(in) - 1] = (char)0x80;
    buf_init(&b, 8999);
    assert_int_equal(charset_to_utf8(in, sizeof(in), "CP1252", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_state_reset(void **state)
{
    (void)state;
    /* A text ending in a high surrogate fails; the next text, starting with a low
     * surrogate, must not be joined to it. */
    FAIL("\x00\x41\xd8\x3d", "UTF-16BE");
    FAIL("\xde\x00", "UTF-16BE");
    /* An odd byte left over does not shift the next text. */
    FAIL("\x00\x41\x00", "UCS-2");
    OK("\x00\x42", "UCS-2", "B");
    /* After a failure in one charset the others still work, and it does too. */
    FAIL("\x81", "CP1252");
    OK("\x80", "CP1252", "€");
    OK("\xe9", "ISO-8859-1", "é");
    FAIL("\x80", "US-ASCII");
    OK("A", "US-ASCII", "A");
}

/* The cases the earlier hand-written decoder was tested on, with the same results. */
static void test_sms_decode_cases(void **state)
{
    static const char u16[] = "\x09\x28\x09\x3f\x09\x35\x09\x3e\x09\x21\x09\x3c\x09\x40";
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(charset_to_utf8(u16, sizeof(u16) - 1, "UTF-16BE", &b), 0);
    assert_string_equal(buf_cstr(&b), "निवाड़ी");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("\xd8\x3d\xde\x00", 4, "UCS-2", &b), 0);
    assert_string_equal(buf_cstr(&b), "\xf0\x9f\x98\x80");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("\x00N", 2, "utf-16be", &b), 0);
    assert_string_equal(buf_cstr(&b), "N");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("caf\xe9", 4, "ISO-8859-1", &b), 0);
    assert_string_equal(buf_cstr(&b), "café");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("NREGA Niwari", 12, NULL, &b), 0);
    assert_string_equal(buf_cstr(&b), "NREGA Niwari");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("निवाड़ी", strlen("निवाड़ी"), "UTF-8", &b), 0);
    assert_string_equal(buf_cstr(&b), "निवाड़ी");
    buf_reset(&b);
    assert_int_equal(charset_to_utf8("caf\xe9", 4, "UTF-8", &b), -1);
    assert_int_equal(charset_to_utf8("\x09", 1, "UTF-16BE", &b), -1);
    assert_int_equal(charset_to_utf8("\xdc\x00\x00\x41", 4, "UTF-16BE", &b), -1);
    assert_int_equal(charset_to_utf8("\xd8\x3d\x00\x41", 4, "UTF-16BE", &b), -1);
    assert_int_equal(charset_to_utf8("abc", 3, "KOI8-R", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* Deterministic generator (LCG), so a failure is reproducible. */
static uint32_t rng = 99;
static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7FFF;
}

static void test_generated_valid_output(void **state)
{
    static const char *const charsets[] = {"UTF-8", "UTF-16BE", "ISO-8859-1", "WINDOWS-1252",
                                           "US-ASCII"};
    char in[64];
    struct buf b;
    size_t round, len, i, k;
    uint32_t cp;
    int n;

    (void)state;
    for (round = 0; round < 20000; round++) {
        len = next_rand() % sizeof(in);
        for (i = 0; i < len; i++)
            in[i] = (char)(next_rand() & 0xFF);
        buf_init(&b, 4096);
        if (charset_to_utf8(in, len, charsets[round % 5], &b) == 0) {
            for (k = 0; k < b.len; k += (size_t)n) {
                n = utf8_decode(b.data + k, b.len - k, &cp);
                assert_true(n > 0);
            }
        } else {
            assert_int_equal(b.len, 0);
        }
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unknown_charset),
        cmocka_unit_test(test_cp1252),
        cmocka_unit_test(test_cp1252_undefined),
        cmocka_unit_test(test_latin1_and_ascii),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_null_bytes_pointer),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_state_reset),
        cmocka_unit_test(test_sms_decode_cases),
        cmocka_unit_test(test_generated_valid_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
