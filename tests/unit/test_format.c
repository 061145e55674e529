/*
 * Unit tests for the CSV, JSON and XML parsers (etl/format.c): the real sample's first 50
 * lines, RFC 4180 corners, truncated and malformed input, API envelopes, entity safety,
 * and that the three formats of the same 20 real records clean to identical rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"

#define MAXROWS 64

/* What a parse produced: cleaned rows, raw copies of a few fields, clean failures. */
struct got {
    struct etl_row rows[MAXROWS];
    char raw_remarks[MAXROWS][64];
    char raw_name[MAXROWS][128];
    int absent_alb[MAXROWS]; /* Approved_Labour_Budget slice was NULL */
    int n;
    int bad;
    int stop_after; /* return -1 after this many records (0: never) */
};

static int collect(void *arg, const struct etl_raw_record *rec)
{
    struct got *g = arg;
    struct slice s;

    if (g->n >= MAXROWS)
        return -1;
    s = rec->v[ETL_F_REMARKS];
    snprintf(g->raw_remarks[g->n], sizeof(g->raw_remarks[0]), "%.*s", (int)s.len,
             s.ptr ? s.ptr : "");
    s = rec->v[ETL_F_DISTRICT_NAME];
    snprintf(g->raw_name[g->n], sizeof(g->raw_name[0]), "%.*s", (int)s.len, s.ptr ? s.ptr : "");
    g->absent_alb[g->n] = rec->v[ETL_F_FIRST_FIGURE].ptr == NULL;
    if (etl_clean_record(rec, &g->rows[g->n], NULL) != 0)
        g->bad++;
    g->n++;
    if (g->stop_after && g->n >= g->stop_after)
        return -1;
    return 0;
}

static struct got *got_new(void)
{
    struct got *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    return g;
}

static char fixture_dir[8192];

/* tests/fixtures, found from the test binary (build/tests/test_format). */
static void find_fixtures(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *env = getenv("HISAAB_FIXTURES");

    if (env != NULL) {
        snprintf(fixture_dir, sizeof(fixture_dir), "%s", env);
        return;
    }
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* build/tests */
    *strrchr(exe, '/') = '\0'; /* build */
    *strrchr(exe, '/') = '\0'; /* worktree */
    snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/fixtures", exe);
}

/* The fixture's bytes (malloc'd, caller frees) and length. */
static char *slurp(const char *name, size_t *len)
{
    char path[8192 + 256];
    FILE *f;
    char *data;
    long n;

    if (fixture_dir[0] == '\0')
        find_fixtures();
    snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

static int parse_str(enum etl_format fmt, const char *s, struct got *g, struct etl_page_info *info,
                     char *err, size_t errlen)
{
    return etl_parse(fmt, s, strlen(s), collect, g, info, err, errlen);
}

static int field(const char *name)
{
    int i = etl_field_index(slice_from_cstr(name));
    assert_true(i >= 0);
    return i;
}

#define HDR                                                                                        \
    "fin_year,month,state_code,state_name,district_code,district_name,"                            \
    "Approved_Labour_Budget,percentage_payments_gererated_within_15_days,Remarks"

/* ---------------------------------------------------------------------------------- */

static void test_format_names(void **state)
{
    enum etl_format f = ETL_FORMAT_CSV;
    (void)state;
    assert_int_equal(etl_format_from_name("JSON", &f), 0);
    assert_int_equal(f, ETL_FORMAT_JSON);
    assert_int_equal(etl_format_from_name("xml", &f), 0);
    assert_int_equal(f, ETL_FORMAT_XML);
    assert_int_equal(etl_format_from_name("csv", &f), 0);
    assert_int_equal(f, ETL_FORMAT_CSV);
    assert_int_equal(etl_format_from_name("yaml", &f), -1);
    assert_int_equal(etl_format_from_name(NULL, &f), -1);
    assert_string_equal(etl_format_name(ETL_FORMAT_XML), "xml");
}

static void test_csv_real_head50(void **state)
{
    size_t len;
    char *data = slurp("mgnrega_mp_head50.csv", &len);
    struct got *g = got_new();
    struct etl_page_info info;
    char err[256];
    int p15 = field("percentage_payments_gererated_within_15_days");
    (void)state;

    assert_int_equal(etl_parse(ETL_FORMAT_CSV, data, len, collect, g, &info, err, sizeof(err)), 0);
    assert_int_equal(g->n, 49);
    assert_int_equal(g->bad, 0);
    assert_int_equal(info.records, 49);
    assert_int_equal(info.total, -1);
    assert_int_equal(info.count, -1);
    assert_string_equal(g->rows[0].district_name, "NIWARI");
    assert_int_equal(g->rows[0].district_code, 1752);
    assert_int_equal(g->rows[0].persondays, 741282);
    assert_string_equal(g->rows[0].value[p15], "99.92");
    /* Record 8 is "HARDA " with the source's trailing space. */
    assert_string_equal(g->raw_name[7], "HARDA ");
    assert_string_equal(g->rows[7].district_name, "HARDA");
    /* Record 33: DATIA, July, 100.07 -> NULL and flagged. */
    assert_string_equal(g->rows[32].district_name, "DATIA");
    assert_int_equal(g->rows[32].month, 7);
    assert_int_equal(g->rows[32].is_null[p15], 1);
    assert_int_equal(g->rows[32].flagged[p15], 1);
    assert_string_equal(g->rows[32].flag_raw[p15], "100.07");
    assert_string_equal(g->raw_remarks[48], "NA");
    assert_int_equal(g->rows[48].is_null[ETL_F_REMARKS], 1);
    free(data);
    free(g);
}

static void test_csv_quotes_crlf_bom(void **state)
{
    struct got *g = got_new();
    struct etl_page_info info;
    char err[256];
    int p15 = field("percentage_payments_gererated_within_15_days");
    const char *in =
        "\xEF\xBB\xBF" HDR "\r\n"
        "2024-2025,Dec,17,MADHYA PRADESH,1752,\"NIWARI, \"\"NEW\"\"\",10,99.5,"
        "\"a, b\"\r\n"
        "\"2024-2025\",\"July\",17,\"MADHYA\r\nPRADESH\",1704,DATIA,\"\",100.07,\"\"\"q\"\"\"\r\n"
        "\r\n";
    (void)state;

    assert_int_equal(parse_str(ETL_FORMAT_CSV, in, g, &info, err, sizeof(err)), 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->bad, 0);
    assert_string_equal(g->raw_name[0], "NIWARI, \"NEW\"");
    assert_string_equal(g->rows[0].district_name, "NIWARI, \"NEW\"");
    assert_string_equal(g->rows[0].value[ETL_F_FIRST_FIGURE], "10");
    assert_string_equal(g->rows[0].remarks, "a, b");
    assert_string_equal(g->rows[0].value[p15], "99.5");
    assert_int_equal(g->rows[1].month, 7);
    assert_string_equal(g->rows[1].state_name, "MADHYA PRADESH");
    assert_int_equal(g->rows[1].is_null[ETL_F_FIRST_FIGURE], 1);
    assert_int_equal(g->absent_alb[1], 0); /* present but empty */
    assert_int_equal(g->rows[1].flagged[p15], 1);
    assert_string_equal(g->raw_remarks[1], "\"q\"");
    assert_string_equal(g->rows[1].remarks, "\"q\"");
    free(g);
}

static void test_csv_columns(void **state)
{
    struct got *g = got_new();
    char err[256];
    /* Columns in another order, an unknown column, header names in other case. */
    const char *in = "Extra,DISTRICT_NAME,District_Code,Month,State_Code,Fin_Year,Wages\n"
                     "zzz,REWA,1719,May,17,2024-2025,12.5\n"
                     "zzz,SATNA,1712,june,17,2024-2025,NA\n";
    (void)state;

    assert_int_equal(parse_str(ETL_FORMAT_CSV, in, g, NULL, err, sizeof(err)), 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->bad, 0);
    assert_string_equal(g->rows[0].district_name, "REWA");
    assert_int_equal(g->rows[0].month, 5);
    assert_string_equal(g->rows[0].value[field("Wages")], "12.5");
    assert_int_equal(g->absent_alb[0], 1);
    assert_int_equal(g->rows[0].is_null[ETL_F_FIRST_FIGURE], 1);
    assert_int_equal(g->rows[1].is_null[field("Wages")], 1);
    free(g);
}

static void test_csv_truncated_and_bad(void **state)
{
    struct got *g;
    char err[256];
    (void)state;

    /* Last row cut short without a newline. */
    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_CSV,
                               HDR "\n2024-2025,Dec,17,MP,1752,NIWARI,10,99\n"
                                   "2024-2025,Dec,17,MP,1707,TIKAM",
                               g, NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(g->n, 1);
    free(g);

    /* A complete last row without a final newline is fine. */
    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_CSV, HDR "\n2024-2025,Dec,17,MP,1752,NIWARI,10,99,NA", g,
                               NULL, err, sizeof(err)),
                     0);
    assert_int_equal(g->n, 1);
    free(g);

    /* A quoted field open at end of input. */
    g = got_new();
    assert_int_equal(
        parse_str(ETL_FORMAT_CSV, HDR "\n2024-2025,Dec,17,\"MADHYA PRA", g, NULL, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "never closed"));
    free(g);

    /* Text after a closing quote. */
    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_CSV, HDR "\n2024-2025,Dec,17,\"MP\"x,1752,N,1,2,3\n", g,
                               NULL, err, sizeof(err)),
                     -1);
    free(g);

    /* Header without a key field. */
    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_CSV,
                               "fin_year,month,state_code,district_name,Wages\n"
                               "2024-2025,Dec,17,NIWARI,1\n",
                               g, NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "district_code"));
    assert_int_equal(g->n, 0);
    free(g);

    /* Empty input, BOM only, header only. */
    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_CSV, "", g, NULL, err, sizeof(err)), -1);
    assert_int_equal(parse_str(ETL_FORMAT_CSV, "\xEF\xBB\xBF", g, NULL, err, sizeof(err)), -1);
    assert_int_equal(parse_str(ETL_FORMAT_CSV, HDR "\n", g, NULL, err, sizeof(err)), 0);
    assert_int_equal(g->n, 0);
    free(g);

    /* The callback stops the parse. */
    g = got_new();
    g->stop_after = 1;
    assert_int_equal(parse_str(ETL_FORMAT_CSV,
                               HDR "\n2024-2025,Dec,17,MP,1752,N,1,2,3\n"
                                   "2024-2025,Dec,17,MP,1753,M,1,2,3\n",
                               g, NULL, err, sizeof(err)),
                     -1);
    assert_int_equal(g->n, 1);
    free(g);

    /* A short row in the middle: its missing fields are absent, the key check rejects it. */
    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_CSV,
                               HDR "\n2024-2025,Dec,17\n2024-2025,Dec,17,MP,1752,N,1,2,3\n", g,
                               NULL, err, sizeof(err)),
                     0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->bad, 1);
    free(g);
}

/* ---------------------------------------------------------------------------------- */

static void test_json_envelope(void **state)
{
    struct got *g = got_new();
    struct etl_page_info info;
    char err[256];
    int wage = field("Average_Wage_rate_per_day_per_person");
    int p15 = field("percentage_payments_gererated_within_15_days");
    const char *in =
        "{\"index_name\":\"ee03643a\",\"total\":\"10253\",\"count\":2,\"limit\":\"2\","
        "\"records\":[{\"fin_year\":\"2024-2025\",\"month\":\"Dec\",\"state_code\":\"17\","
        "\"state_name\":\"MADHYA PRADESH\",\"district_code\":\"1752\",\"district_name\":"
        "\"NIWARI \",\"Approved_Labour_Budget\":\"1078289\",\"Average_Wage_rate_per_day_per_"
        "person\":\"245.41163886348\",\"Remarks\":\"NA\",\"unknown\":[1,2]},"
        "{\"fin_year\":\"2024-2025\",\"month\":\"July\",\"state_code\":17,\"district_code\":"
        "1704,\"district_name\":\"DATIA\",\"Approved_Labour_Budget\":543552,"
        "\"Average_Wage_rate_per_day_per_person\":247.706393527998,"
        "\"percentage_payments_gererated_within_15_days\":100.07,\"Remarks\":null,"
        "\"Wages\":true,\"Total_Exp\":{\"a\":1}}]}";
    (void)state;

    assert_int_equal(parse_str(ETL_FORMAT_JSON, in, g, &info, err, sizeof(err)), 0);
    assert_int_equal(info.total, 10253);
    assert_int_equal(info.count, 2);
    assert_int_equal(info.records, 2);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->bad, 0);
    assert_string_equal(g->rows[0].district_name, "NIWARI");
    assert_string_equal(g->rows[0].value[wage], "245.41163886348");
    /* Numbers become their exact text. */
    assert_int_equal(g->rows[1].state_code, 17);
    assert_int_equal(g->rows[1].district_code, 1704);
    assert_string_equal(g->rows[1].value[ETL_F_FIRST_FIGURE], "543552");
    assert_string_equal(g->rows[1].value[wage], "247.706393527998");
    assert_int_equal(g->rows[1].flagged[p15], 1);
    assert_string_equal(g->rows[1].flag_raw[p15], "100.07");
    /* null, booleans and objects are NULL values. */
    assert_int_equal(g->rows[1].is_null[ETL_F_REMARKS], 1);
    assert_int_equal(g->rows[1].is_null[field("Wages")], 1);
    assert_int_equal(g->rows[1].is_null[field("Total_Exp")], 1);
    free(g);
}

static void test_json_bare_and_bad(void **state)
{
    struct got *g;
    struct etl_page_info info;
    char err[256];
    (void)state;

    g = got_new();
    assert_int_equal(parse_str(ETL_FORMAT_JSON,
                               "[{\"fin_year\":\"2024-2025\",\"month\":\"april\","
                               "\"state_code\":\"17\",\"district_code\":\"1752\","
                               "\"district_name\":\"NIWARI\",\"Wages\":0.1}]",
                               g, &info, err, sizeof(err)),
                     0);
    assert_int_equal(g->n, 1);
    assert_int_equal(info.total, -1);
    assert_int_equal(info.count, -1);
    assert_int_equal(g->rows[0].month, 4);
    assert_string_equal(g->rows[0].value[field("Wages")], "0.1");
    free(g);

    g = got_new();
    /* Truncated document. */
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "{\"total\":1,\"records\":[{\"fin_year\":\"20", g,
                               &info, err, sizeof(err)),
                     -1);
    assert_true(strncmp(err, "json:", 5) == 0);
    assert_int_equal(g->n, 0);
    /* Trailing garbage after the document. */
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "[] x", g, &info, err, sizeof(err)), -1);
    /* Wrong shapes. */
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "{\"total\":1}", g, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "records"));
    assert_int_equal(parse_str(ETL_FORMAT_JSON,
                               "{\"status\":\"error\",\"message\":\"Invalid API key\"}", g, &info,
                               err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "Invalid API key"));
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "{\"records\":{}}", g, &info, err, sizeof(err)),
                     -1);
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "[\"x\"]", g, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an object"));
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "\"x\"", g, &info, err, sizeof(err)), -1);
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "{\"total\":\"many\",\"records\":[]}", g, &info,
                               err, sizeof(err)),
                     -1);
    assert_int_equal(
        parse_str(ETL_FORMAT_JSON, "{\"total\":-5,\"records\":[]}", g, &info, err, sizeof(err)),
        -1);
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "", g, &info, err, sizeof(err)), -1);
    assert_int_equal(g->n, 0);
    /* Empty page. */
    assert_int_equal(parse_str(ETL_FORMAT_JSON, "{\"total\":0,\"count\":0,\"records\":[]}", g,
                               &info, err, sizeof(err)),
                     0);
    assert_int_equal(info.total, 0);
    assert_int_equal(info.records, 0);
    free(g);
}

/* ---------------------------------------------------------------------------------- */

static void test_xml_envelope(void **state)
{
    struct got *g = got_new();
    struct etl_page_info info;
    char err[256];
    const char *in = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<result><total>10253</total>"
                     "<count>1</count><records><item><fin_year>2024-2025</fin_year>"
                     "<month> Sep </month><state_code>17</state_code><state_name>MADHYA "
                     "PRADESH</state_name><district_code>1752</district_code>"
                     "<district_name>NIWARI &amp; <![CDATA[<X>]]></district_name>"
                     "<Approved_Labour_Budget/><Wages>1.5</Wages><Remarks>A&lt;B</Remarks>"
                     "<Unknown>z</Unknown></item></records></result>";
    (void)state;

    assert_int_equal(parse_str(ETL_FORMAT_XML, in, g, &info, err, sizeof(err)), 0);
    assert_int_equal(info.total, 10253);
    assert_int_equal(info.count, 1);
    assert_int_equal(info.records, 1);
    assert_int_equal(g->bad, 0);
    assert_int_equal(g->rows[0].month, 9);
    assert_string_equal(g->rows[0].district_name, "NIWARI & <X>");
    assert_int_equal(g->absent_alb[0], 0);
    assert_int_equal(g->rows[0].is_null[ETL_F_FIRST_FIGURE], 1);
    assert_string_equal(g->rows[0].value[field("Wages")], "1.5");
    assert_string_equal(g->rows[0].remarks, "A<B");
    assert_int_equal(g->rows[0].is_null[field("Total_Exp")], 1);
    free(g);
}

static void test_xml_bad_and_entities(void **state)
{
    struct got *g = got_new();
    struct etl_page_info info;
    char err[256];
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">"
                         "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
                         "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
                         "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e "
                         "\"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
                         "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g "
                         "\"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
                         "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i "
                         "\"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]>"
                         "<result><records><item><fin_year>2024-2025</fin_year><month>Dec</month>"
                         "<state_code>17</state_code><district_code>1</district_code>"
                         "<district_name>&i;</district_name></item></records></result>";
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
                      "\"file:///etc/passwd\">]><result><records><item>"
                      "<fin_year>2024-2025</fin_year><month>Dec</month><state_code>17"
                      "</state_code><district_code>1</district_code><district_name>&x;"
                      "</district_name></item></records></result>";
    (void)state;

    /* Truncated. */
    assert_int_equal(parse_str(ETL_FORMAT_XML,
                               "<result><total>1</total><records><item><fin_year>2024", g, &info,
                               err, sizeof(err)),
                     -1);
    assert_true(strncmp(err, "xml:", 4) == 0);
    /* Malformed: mismatched tags, not XML at all, empty. */
    assert_int_equal(
        parse_str(ETL_FORMAT_XML, "<result><records></item></result>", g, &info, err, sizeof(err)),
        -1);
    assert_int_equal(parse_str(ETL_FORMAT_XML, "{\"records\":[]}", g, &info, err, sizeof(err)), -1);
    assert_int_equal(parse_str(ETL_FORMAT_XML, "", g, &info, err, sizeof(err)), -1);
    /* No records element; bad count. */
    assert_int_equal(
        parse_str(ETL_FORMAT_XML, "<result><total>1</total></result>", g, &info, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "records"));
    assert_int_equal(parse_str(ETL_FORMAT_XML, "<result><total>x</total><records/></result>", g,
                               &info, err, sizeof(err)),
                     -1);
    /* Undefined entity. */
    assert_int_equal(parse_str(ETL_FORMAT_XML,
                               "<result><records><item><district_name>&foo;</district_name>"
                               "</item></records></result>",
                               g, &info, err, sizeof(err)),
                     -1);
    /* Entity expansion and external entities are refused, with no record handed out. */
    assert_int_equal(parse_str(ETL_FORMAT_XML, laughs, g, &info, err, sizeof(err)), -1);
    assert_int_equal(parse_str(ETL_FORMAT_XML, xxe, g, &info, err, sizeof(err)), -1);
    assert_int_equal(g->n, 0);
    /* An empty page. */
    assert_int_equal(parse_str(ETL_FORMAT_XML,
                               "<result><total>0</total><count>0</count><records/></result>", g,
                               &info, err, sizeof(err)),
                     0);
    assert_int_equal(info.total, 0);
    assert_int_equal(info.records, 0);
    free(g);
}

/* ---------------------------------------------------------------------------------- */

/* A small deterministic generator (xorshift) so the round trip below is reproducible. */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

#define RT_ROWS 40

struct roundtrip {
    char name[RT_ROWS][64];
    char remarks[RT_ROWS][64];
    int n;
    int mismatch;
};

static int check_roundtrip(void *arg, const struct etl_raw_record *rec)
{
    struct roundtrip *rt = arg;
    struct slice a = rec->v[ETL_F_DISTRICT_NAME], b = rec->v[ETL_F_REMARKS];

    if (rt->n >= RT_ROWS || a.ptr == NULL || b.ptr == NULL || a.len != strlen(rt->name[rt->n]) ||
        memcmp(a.ptr, rt->name[rt->n], a.len) != 0 || b.len != strlen(rt->remarks[rt->n]) ||
        memcmp(b.ptr, rt->remarks[rt->n], b.len) != 0)
        rt->mismatch++;
    rt->n++;
    return 0;
}

/* Write one field as RFC 4180 says: quoted (quotes doubled) when it must be, or by chance. */
static void put_field(struct buf *out, const char *v)
{
    int quote = strpbrk(v, ",\"\r\n") != NULL || (rnd() % 4 == 0);

    assert_int_equal(buf_puts(out, quote ? "\"" : ""), 0);
    for (; *v; v++)
        assert_int_equal(buf_puts(out, *v == '"' ? "\"\"" : (char[2]){*v, 0}), 0);
    assert_int_equal(buf_puts(out, quote ? "\"" : ""), 0);
}

static void test_csv_roundtrip_random(void **state)
{
    static const char *const pieces[] = {"a", "B",        ",",  "\"",   "\n", "\r\n",
                                         " ", "\xc3\xa9", "NA", "\"\"", ",\""};
    (void)state;

    for (int round = 0; round < 200; round++) {
        struct roundtrip *rt = calloc(1, sizeof(*rt));
        struct buf out;
        char err[256];
        const char *eol = rnd() % 2 ? "\r\n" : "\n";
        int rows = 1 + (int)(rnd() % RT_ROWS);

        assert_non_null(rt);
        buf_init(&out, 1 << 20);
        assert_int_equal(buf_puts(&out, "fin_year,district_name,month,state_code,"
                                        "district_code,Remarks"),
                         0);
        assert_int_equal(buf_puts(&out, eol), 0);
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < 2; k++) {
                char *dst = k == 0 ? rt->name[r] : rt->remarks[r];
                int n = (int)(rnd() % 6);
                size_t used = 0;
                for (int j = 0; j < n; j++) {
                    const char *pc = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
                    size_t pl = strlen(pc);
                    assert_true(used + pl < sizeof(rt->name[0]));
                    memcpy(dst + used, pc, pl);
                    used += pl;
                }
                dst[used] = '\0';
            }
            assert_int_equal(buf_puts(&out, "2024-2025,"), 0);
            put_field(&out, rt->name[r]);
            assert_int_equal(buf_puts(&out, ",Dec,17,1752,"), 0);
            put_field(&out, rt->remarks[r]);
            /* The last row sometimes has no final newline: it is complete, so still fine. */
            if (r + 1 < rows || rnd() % 2)
                assert_int_equal(buf_puts(&out, eol), 0);
        }
        assert_int_equal(etl_parse(ETL_FORMAT_CSV, out.data, out.len, check_roundtrip, rt, NULL,
                                   err, sizeof(err)),
                         0);
        assert_int_equal(rt->n, rows);
        assert_int_equal(rt->mismatch, 0);
        buf_free(&out);
        free(rt);
    }
}

/* ---------------------------------------------------------------------------------- */

static struct got *parse_fixture(enum etl_format fmt, const char *name, struct etl_page_info *info)
{
    size_t len;
    char *data = slurp(name, &len);
    struct got *g = got_new();
    char err[256];

    if (etl_parse(fmt, data, len, collect, g, info, err, sizeof(err)) != 0)
        fail_msg("%s: %s", name, err);
    free(data);
    return g;
}

static void assert_rows_equal(const struct etl_row *a, const struct etl_row *b)
{
    assert_string_equal(a->fin_year, b->fin_year);
    assert_int_equal(a->fy_start, b->fy_start);
    assert_int_equal(a->month, b->month);
    assert_int_equal(a->fy_month, b->fy_month);
    assert_int_equal(a->state_code, b->state_code);
    assert_int_equal(a->district_code, b->district_code);
    assert_string_equal(a->state_name, b->state_name);
    assert_string_equal(a->district_name, b->district_name);
    assert_int_equal(a->persondays, b->persondays);
    assert_string_equal(a->remarks, b->remarks);
    for (int i = 0; i < ETL_NFIELDS; i++) {
        assert_string_equal(a->value[i], b->value[i]);
        assert_int_equal(a->is_null[i], b->is_null[i]);
        assert_int_equal(a->flagged[i], b->flagged[i]);
        assert_string_equal(a->flag_raw[i], b->flag_raw[i]);
        assert_true((a->flag_problem[i] == NULL) == (b->flag_problem[i] == NULL));
    }
}

static void test_three_formats_agree(void **state)
{
    struct etl_page_info ic, ij, ix;
    struct got *c = parse_fixture(ETL_FORMAT_CSV, "mgnrega_sample20.csv", &ic);
    struct got *j = parse_fixture(ETL_FORMAT_JSON, "mgnrega_sample20.json", &ij);
    struct got *x = parse_fixture(ETL_FORMAT_XML, "mgnrega_sample20.xml", &ix);
    int p15 = field("percentage_payments_gererated_within_15_days");
    (void)state;

    assert_int_equal(c->n, 20);
    assert_int_equal(j->n, 20);
    assert_int_equal(x->n, 20);
    assert_int_equal(c->bad + j->bad + x->bad, 0);
    assert_int_equal(ij.total, 20);
    assert_int_equal(ij.count, 20);
    assert_int_equal(ix.total, 20);
    assert_int_equal(ix.count, 20);
    assert_int_equal(ic.total, -1);
    for (int i = 0; i < 20; i++) {
        assert_rows_equal(&c->rows[i], &j->rows[i]);
        assert_rows_equal(&c->rows[i], &x->rows[i]);
    }
    /* The fixture's notable rows. */
    assert_string_equal(c->raw_name[7], "HARDA ");
    assert_string_equal(c->rows[7].district_name, "HARDA");
    assert_int_equal(c->rows[18].flagged[p15], 1);
    assert_int_equal(c->rows[19].is_null[ETL_F_FIRST_FIGURE], 1);
    assert_int_equal(c->rows[19].is_null[field("Women_Persondays")], 1);
    assert_int_equal(c->rows[19].is_null[field("Wages")], 0);
    free(c);
    free(j);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),          cmocka_unit_test(test_csv_real_head50),
        cmocka_unit_test(test_csv_quotes_crlf_bom),   cmocka_unit_test(test_csv_columns),
        cmocka_unit_test(test_csv_truncated_and_bad), cmocka_unit_test(test_csv_roundtrip_random),
        cmocka_unit_test(test_json_envelope),         cmocka_unit_test(test_json_bare_and_bad),
        cmocka_unit_test(test_xml_envelope),          cmocka_unit_test(test_xml_bad_and_entities),
        cmocka_unit_test(test_three_formats_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
