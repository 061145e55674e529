/*
 * Tests for journal.c and journal_spool.c (both included, to reach their statics; the
 * records come from journal_rec.c in the library). Without services: array literals,
 * field repair, the SQLSTATE classes, declarations, back-pressure, batch limits, the spool
 * file round trip, lines for unknown streams, claiming (also by racing processes) and the
 * rejected file. With DATABASE_URL (tests/blackbox/test_journal.py runs this binary
 * against a harness Postgres): bad records among 5,000 of a batch stream, order of EACH
 * and ordered streams, the drain at exit, and with HISAAB_JOURNAL_CONTROL=1 (the binary
 * prints "CONTROL <action>" and waits for a line once the driver has done it) Postgres
 * stopped mid-way and a spool written with Postgres down, then replayed once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/journal.c"
#include "data/journal_spool.c"

static struct event_base *base;

#include "loop.h"
static char tdir[64];

static const struct journal_stream s_three = {
    "three", JOURNAL_BATCH, 0, 3,
    "INSERT INTO jt_batch (k, v, n) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])"};
static const struct journal_stream s_each = {"each", JOURNAL_EACH, 0, 2,
                                             "INSERT INTO jt_each (k, v) VALUES ($1, $2::int)"};
static const struct journal_stream s_ord = {
    "ord", JOURNAL_BATCH, 1, 1, "INSERT INTO jt_ord (v) SELECT * FROM unnest($1::int[])"};
static const struct journal_stream s_keyed = {
    "keyed", JOURNAL_BATCH, 0, 1,
    "INSERT INTO jt_keyed (k) SELECT * FROM unnest($1::text[]) ON CONFLICT (k) DO NOTHING"};
static const struct journal_stream s_big = {
    "big", JOURNAL_BATCH, 0, JOURNAL_MAX_COLS,
    "SELECT 1 WHERE $1::text[] IS NOT NULL OR $2::text[] IS NOT NULL OR $3::text[] IS NOT NULL"
    " OR $4::text[] IS NOT NULL OR $5::text[] IS NOT NULL OR $6::text[] IS NOT NULL"
    " OR $7::text[] IS NOT NULL OR $8::text[] IS NOT NULL OR $9::text[] IS NOT NULL"
    " OR $10::text[] IS NOT NULL OR $11::text[] IS NOT NULL OR $12::text[] IS NOT NULL"
    " OR $13::text[] IS NOT NULL OR $14::text[] IS NOT NULL OR $15::text[] IS NOT NULL"
    " OR $16::text[] IS NOT NULL"};

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                              */
/* ---------------------------------------------------------------------------------- */

/* Turn the loop until nothing is queued or `seconds` pass. Returns 1 when drained. */
static int drain(double seconds)
{
    double deadline = now_s() + seconds;
    struct timeval tick = {0, 20000};

    while (journal_queued() > 0 && now_s() < deadline) {
        event_base_loopexit(base, &tick);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return journal_queued() == 0;
}

static void rm_dir(const char *dir)
{
    char path[512];
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (unlink(path) != 0)
            rm_dir(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Files in tdir whose name contains `part` (and ends with `end` when not NULL); the last
 * one's name into found. */
static int count_files(const char *part, const char *end, char *found, size_t len)
{
    struct dirent *de;
    DIR *d = opendir(tdir);
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (strstr(de->d_name, part) == NULL)
            continue;
        if (end != NULL && (l < strlen(end) || strcmp(de->d_name + l - strlen(end), end) != 0))
            continue;
        n++;
        if (found != NULL)
            snprintf(found, len, "%s/%s", tdir, de->d_name);
    }
    closedir(d);
    return n;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;

    if (f == NULL)
        return -1;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void start(void)
{
    struct journal_opts o = {.spool_dir = tdir};

    assert_int_equal(journal_init(base, &o), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tdir, sizeof(tdir), "/tmp/hisaab-journal-XXXXXX");
    if (mkdtemp(tdir) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    journal_exit(0);
    pg_shutdown();
    rm_dir(tdir);
    return 0;
}

/* The records of one stream, waiting or in pending batches, in order. */
static size_t held(const struct journal_stream *s, const struct journal_rec **out, size_t max)
{
    struct stream *st = stream_of(s);
    const struct batch *b;
    const struct journal_rec *r;
    size_t n = 0;

    assert_non_null(st);
    for (b = st->flying; b != NULL; b = b->next)
        for (r = b->head; r != NULL; r = r->next)
            if (n < max)
                out[n++] = r;
    for (b = st->pending; b != NULL; b = b->next)
        for (r = b->head; r != NULL; r = r->next)
            if (n < max)
                out[n++] = r;
    for (r = st->head; r != NULL; r = r->next)
        if (n < max)
            out[n++] = r;
    return n;
}

/* ---------------------------------------------------------------------------------- */
/* No services                                                                          */
/* ---------------------------------------------------------------------------------- */

static void test_array_elem(void **state)
{
    char slashes[40];
    struct buf b;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(journal_array_elem(NULL, 0, &b), 0);
    assert_int_equal(buf_append(&b, ",", 1), 0);
    assert_int_equal(journal_array_elem("", 0, &b), 0);
    assert_int_equal(buf_append(&b, ",", 1), 0);
    assert_int_equal(journal_array_elem("a\"b\\c,{d} e", 11, &b), 0);
    assert_int_equal(buf_append(&b, ",", 1), 0);
    assert_int_equal(journal_array_elem("NULL", 4, &b), 0);
    assert_string_equal(buf_cstr(&b), "NULL,\"\",\"a\\\"b\\\\c,{d} e\",\"NULL\"");
    /* Only len bytes are taken. */
    buf_reset(&b);
    assert_int_equal(journal_array_elem("abc\"def", 4, &b), 0);
    assert_string_equal(buf_cstr(&b), "\"abc\\\"\"");
    /* Over the cap: -1 and the buffer as it was. */
    buf_reset(&b);
    assert_int_equal(buf_puts(&b, "{x,"), 0);
    memset(slashes, '\\', sizeof(slashes));
    assert_int_equal(journal_array_elem(slashes, sizeof(slashes), &b), -1);
    assert_string_equal(buf_cstr(&b), "{x,");
    assert_int_equal(b.len, 3);
    buf_free(&b);
}

static void test_repair(void **state)
{
    static char big[JOURNAL_FIELD_MAX + 16];
    char out[JOURNAL_FIELD_MAX + 16];
    size_t n;

    (void)state;
    /* Valid text passes unchanged (Devanagari, 3 bytes a character). */
    n = journal_repair("\xe0\xa4\xb9\xe0\xa4\xbf abc", 10, out, sizeof(out));
    assert_int_equal(n, 10);
    assert_memory_equal(out, "\xe0\xa4\xb9\xe0\xa4\xbf abc", 10);
    /* One U+FFFD per maximal invalid subpart (utf8_repair()): a stray byte, a truncated
     * sequence (one, however many of its bytes came), and one for each byte of an
     * overlong '/', a surrogate and a value above U+10FFFF (no second byte there can
     * continue a valid sequence). */
    n = journal_repair("a\xff"
                       "b",
                       3, out, sizeof(out));
    assert_int_equal(n, 5);
    assert_memory_equal(out,
                        "a\xef\xbf\xbd"
                        "b",
                        5);
    n = journal_repair("x\xe0\xa4", 3, out, sizeof(out));
    assert_int_equal(n, 4);
    assert_memory_equal(out, "x\xef\xbf\xbd", 4);
    n = journal_repair("\xf0\x9f\x98"
                       "z",
                       4, out, sizeof(out));
    assert_int_equal(n, 4);
    assert_memory_equal(out,
                        "\xef\xbf\xbd"
                        "z",
                        4);
    n = journal_repair("\xe0\x80", 2, out, sizeof(out));
    assert_int_equal(n, 6);
    n = journal_repair("\xc0\xaf", 2, out, sizeof(out));
    assert_int_equal(n, 6);
    assert_memory_equal(out, "\xef\xbf\xbd\xef\xbf\xbd", 6);
    n = journal_repair("\xed\xa0\x80", 3, out, sizeof(out));
    assert_int_equal(n, 9);
    n = journal_repair("\xf4\x90\x80\x80", 4, out, sizeof(out));
    assert_int_equal(n, 12);
    /* NUL bytes are dropped. */
    n = journal_repair("a\0b\0\0c", 6, out, sizeof(out));
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abc", 3);
    /* Cut at JOURNAL_FIELD_MAX, never inside a character. */
    memset(big, 'a', sizeof(big));
    n = journal_repair(big, sizeof(big), out, sizeof(out));
    assert_int_equal(n, JOURNAL_FIELD_MAX);
    memcpy(big + JOURNAL_FIELD_MAX - 1, "\xe0\xa4\xb9", 3); /* straddles the limit */
    n = journal_repair(big, JOURNAL_FIELD_MAX + 2, out, sizeof(out));
    assert_int_equal(n, JOURNAL_FIELD_MAX - 1);
    assert_int_equal(out[n - 1], 'a');
    memcpy(big + JOURNAL_FIELD_MAX - 3, "\xe0\xa4\xb9", 3); /* ends exactly at it */
    n = journal_repair(big, JOURNAL_FIELD_MAX + 2, out, sizeof(out));
    assert_int_equal(n, JOURNAL_FIELD_MAX);
    assert_memory_equal(out + JOURNAL_FIELD_MAX - 3, "\xe0\xa4\xb9", 3);
    /* A replacement that would not fit is left out too. */
    n = journal_repair("ab\xff", 3, out, 4);
    assert_int_equal(n, 2);
}

static void test_append_repairs(void **state)
{
    static char big[3 * JOURNAL_FIELD_MAX];
    const struct journal_rec *r[4];
    struct slice sl[3];
    const char *f[3];

    (void)state;
    assert_int_equal(journal_register(&s_three), 0);
    start();
    memset(big, 'z', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    f[0] = "k\xff";
    f[1] = NULL;
    f[2] = big;
    assert_int_equal(journal_append(&s_three, f), 0);
    sl[0].ptr = "a\0b";
    sl[0].len = 3;
    sl[1].ptr = "";
    sl[1].len = 0;
    sl[2].ptr = NULL;
    sl[2].len = 0;
    assert_int_equal(journal_append_slices(&s_three, sl), 0);
    assert_int_equal(journal_queued(), 2);
    assert_int_equal(held(&s_three, r, 4), 2);
    assert_string_equal(r[0]->f[0], "k\xef\xbf\xbd");
    assert_null(r[0]->f[1]);
    assert_int_equal(strlen(r[0]->f[2]), JOURNAL_FIELD_MAX);
    assert_string_equal(r[1]->f[0], "ab");
    assert_string_equal(r[1]->f[1], "");
    assert_null(r[1]->f[2]);
}

static void test_loggable(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(loggable("ERROR: new row violates check constraint \"c\" DETAIL: "
                                 "Failing row contains (+919812345678, x).",
                                 out, sizeof(out)),
                        "ERROR: new row violates check constraint \"c\"");
    assert_string_equal(loggable(NULL, out, sizeof(out)), "?");
    assert_string_equal(loggable("timeout", out, sizeof(out)), "timeout");
    assert_int_equal(strlen(loggable("0123456789012345678901234567890123456789"
                                     "0123456789012345678901234567890123456789",
                                     out, sizeof(out))),
                     sizeof(out) - 1);
}

static void test_permanent(void **state)
{
    (void)state;
    assert_false(permanent(NULL));
    assert_false(permanent(""));
    assert_false(permanent("08006")); /* connection failure */
    assert_false(permanent("40001")); /* serialization */
    assert_false(permanent("40P01")); /* deadlock */
    assert_false(permanent("53300")); /* too many connections */
    assert_false(permanent("57014")); /* statement timeout */
    assert_false(permanent("57P01")); /* admin shutdown */
    assert_false(permanent("58030")); /* I/O error */
    assert_false(permanent("25006")); /* read-only transaction (a standby) */
    assert_true(permanent("23514"));  /* check violation */
    assert_true(permanent("23502"));  /* not null */
    assert_true(permanent("22P02"));  /* invalid text representation */
    assert_true(permanent("22021"));  /* bad encoding */
    assert_true(permanent("42601"));  /* syntax */
    assert_true(permanent("21000"));  /* cardinality */
}

static void test_register(void **state)
{
    struct journal_stream bad = s_three;
    const char *f[3] = {"a", "b", "1"};

    (void)state;
    assert_int_equal(journal_register(NULL), -1);
    bad.ncols = 0;
    assert_int_equal(journal_register(&bad), -1);
    bad.ncols = JOURNAL_MAX_COLS + 1;
    assert_int_equal(journal_register(&bad), -1);
    bad = s_three;
    bad.sql = NULL;
    assert_int_equal(journal_register(&bad), -1);
    bad = s_three;
    bad.name = "";
    assert_int_equal(journal_register(&bad), -1);
    bad = s_three;
    bad.mode = (enum journal_mode)7;
    assert_int_equal(journal_register(&bad), -1);
    /* Not started: nothing taken, no room. */
    assert_int_equal(journal_append(&s_three, f), -1);
    assert_int_equal(journal_room(1), 0);
    assert_int_equal(journal_register(&s_three), 0);
    assert_int_equal(journal_register(&s_three), -1);
    bad = s_three; /* another struct, same name */
    assert_int_equal(journal_register(&bad), -1);
    start();
    assert_int_equal(journal_register(&s_each), -1); /* after init */
    assert_int_equal(journal_append(&s_each, f), -1);
    assert_int_equal(journal_append(&s_three, f), 0);
    assert_int_equal(journal_queued(), 1);
    /* journal_init twice */
    assert_int_equal(journal_init(base, NULL), -1);
}

static void test_room(void **state)
{
    const char *f[1];
    char k[16];
    size_t i;

    (void)state;
    assert_int_equal(journal_register(&s_keyed), 0);
    start();
    f[0] = k;
    assert_int_equal(journal_room(JOURNAL_QUEUE_MAX), 1);
    assert_int_equal(journal_room(JOURNAL_QUEUE_MAX + 1), 0);
    for (i = 0; i < JOURNAL_QUEUE_MAX - 1; i++) {
        snprintf(k, sizeof(k), "%zu", i);
        assert_int_equal(journal_append(&s_keyed, f), 0);
    }
    /* Postgres was never started: the writer tries, the records wait. */
    run_for(0.05);
    assert_int_equal(J.paused, 1);
    assert_int_equal(journal_queued(), JOURNAL_QUEUE_MAX - 1);
    assert_int_equal(journal_room(1), 1);
    assert_int_equal(journal_room(2), 0);
    assert_int_equal(journal_append(&s_keyed, f), 0);
    assert_int_equal(journal_room(1), 0);
    assert_int_equal(journal_room(0), 1);
    /* Over the limit a record is still taken, never dropped. */
    assert_int_equal(journal_append(&s_keyed, f), 0);
    assert_int_equal(journal_queued(), JOURNAL_QUEUE_MAX + 1);
    assert_int_equal(journal_room(0), 0);
}

static void test_batch_limits(void **state)
{
    static char big[JOURNAL_FIELD_MAX + 1];
    const char *f[JOURNAL_MAX_COLS];
    struct batch *b;
    int i;

    (void)state;
    assert_int_equal(journal_register(&s_keyed), 0);
    assert_int_equal(journal_register(&s_each), 0);
    assert_int_equal(journal_register(&s_big), 0);
    start();
    for (i = 0; i < 2500; i++) {
        f[0] = "k";
        f[1] = "1";
        assert_int_equal(journal_append(&s_keyed, f), 0);
        assert_int_equal(journal_append(&s_each, f), 0);
    }
    memset(big, '"', JOURNAL_FIELD_MAX);
    for (i = 0; i < JOURNAL_MAX_COLS; i++)
        f[i] = big;
    for (i = 0; i < 40; i++)
        assert_int_equal(journal_append(&s_big, f), 0);
    /* Taken straight from the queues (the loop has not run). */
    b = batch_take(stream_of(&s_keyed));
    assert_int_equal(b->n, JOURNAL_BATCH_MAX);
    pending_push(stream_of(&s_keyed), b);
    b = batch_take(stream_of(&s_each));
    assert_int_equal(b->n, 1);
    pending_push(stream_of(&s_each), b);
    b = batch_take(stream_of(&s_big));
    /* Each record is at most 16 * (2 * 8192 + 3) bytes in array literals. */
    assert_int_equal(b->n, JOURNAL_BATCH_BYTES / (JOURNAL_MAX_COLS * (2 * JOURNAL_FIELD_MAX + 3)));
    pending_push(stream_of(&s_big), b);
    assert_int_equal(journal_queued(), 5040);
}

static void test_spool_round_trip(void **state)
{
    const char *rows[][3] = {
        {"plain", "1", "2"},
        {"quote \" and \\ backslash, {braces}", NULL, ""},
        {"line\nbreak\ttab", "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d", NULL},
        {"bad \xff byte", "\x01\x1f control", "NULL"},
    };
    const char *e1[2] = {"sub", "1"}, *e2[2] = {"stop", "2"};
    const struct journal_rec *r[8];
    char path[512], again[512];
    size_t i;
    int j;

    (void)state;
    assert_int_equal(journal_register(&s_three), 0);
    assert_int_equal(journal_register(&s_each), 0);
    start();
    for (i = 0; i < 4; i++)
        assert_int_equal(journal_append(&s_three, rows[i]), 0);
    assert_int_equal(journal_append(&s_each, e1), 0);
    assert_int_equal(journal_append(&s_each, e2), 0);
    run_for(0.05); /* the writer tries (no Postgres) and puts a batch back */
    journal_exit(0);
    assert_int_equal(J.started, 0);
    assert_int_equal(count_files(".tmp", NULL, NULL, 0), 0);
    assert_int_equal(count_files("journal-", ".spool", path, sizeof(path)), 1);
    assert_int_equal(count_lines(path), 6);
    {
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
    /* The next start claims it and queues the same records, in order. */
    assert_int_equal(journal_register(&s_three), 0);
    assert_int_equal(journal_register(&s_each), 0);
    start();
    assert_int_equal(journal_queued(), 6);
    assert_int_equal(count_files("journal-", ".spool", NULL, 0), 0);
    assert_int_equal(count_files(CLAIM_MARK, NULL, NULL, 0), 1);
    assert_int_equal(held(&s_three, r, 8), 4);
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 3; j++) {
            char fixed[64];
            size_t n;
            if (rows[i][j] == NULL) {
                assert_null(r[i]->f[j]);
                continue;
            }
            n = journal_repair(rows[i][j], strlen(rows[i][j]), fixed, sizeof(fixed) - 1);
            fixed[n] = '\0';
            assert_string_equal(r[i]->f[j], fixed);
        }
    }
    assert_int_equal(held(&s_each, r, 8), 2);
    assert_string_equal(r[0]->f[0], "sub");
    assert_string_equal(r[1]->f[0], "stop");
    /* Not written this time either: spooled again, the claimed file gone, nothing doubled. */
    journal_exit(0);
    assert_int_equal(count_files(CLAIM_MARK, NULL, NULL, 0), 0);
    assert_int_equal(count_files("journal-", ".spool", again, sizeof(again)), 1);
    assert_int_equal(count_lines(again), 6);
    assert_int_equal(journal_register(&s_three), 0);
    assert_int_equal(journal_register(&s_each), 0);
    start();
    assert_int_equal(journal_queued(), 6);
}

static void test_spool_unknown_streams(void **state)
{
    char path[512], kept[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/journal-0000000001-1-0.spool", tdir);
    write_file(path, "{\"stream\":\"each\",\"fields\":[\"a\",\"1\"]}\n"
                     "{\"stream\":\"gone\",\"fields\":[\"x\"]}\n"
                     "not json at all\n"
                     "{\"stream\":\"each\",\"fields\":[\"too\",\"many\",\"fields\"]}\n"
                     "\n"
                     "{\"stream\":\"each\",\"fields\":[\"b\",null]}\n");
    assert_int_equal(journal_register(&s_each), 0);
    start();
    assert_int_equal(journal_queued(), 2);
    /* At exit: the two records and the three lines kept go to one new file. */
    journal_exit(0);
    assert_int_equal(count_files(CLAIM_MARK, NULL, NULL, 0), 0);
    assert_int_equal(count_files("journal-", ".spool", path, sizeof(path)), 1);
    assert_int_equal(count_lines(path), 5);
    /* A build without the stream keeps all five lines, in a .kept file. */
    start();
    assert_int_equal(journal_queued(), 0);
    assert_int_equal(count_files("journal-", ".spool", NULL, 0), 0);
    assert_int_equal(count_files(CLAIM_MARK, NULL, NULL, 0), 0);
    assert_int_equal(count_files("journal-", ".kept", kept, sizeof(kept)), 1);
    assert_int_equal(count_lines(kept), 5);
    /* The once-a-second claim leaves .kept files alone; the next start takes them. */
    claim_files(0, JOURNAL_QUEUE_MAX);
    assert_int_equal(count_files("journal-", ".kept", NULL, 0), 1);
    journal_exit(0);
    assert_int_equal(journal_register(&s_each), 0);
    start();
    assert_int_equal(journal_queued(), 2);
}

static void test_spool_bad_file_set_aside(void **state)
{
    char path[512];
    FILE *f;
    size_t i;

    (void)state;
    snprintf(path, sizeof(path), "%s/journal-0000000002-1-0.spool", tdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"stream\":\"each\",\"fields\":[\"a\",\"1\"]}\n", f);
    for (i = 0; i < SPOOL_LINE_MAX + 10; i++)
        fputc('x', f);
    fputc('\n', f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(journal_register(&s_each), 0);
    start();
    /* Nothing of it is queued (it is not read whole); it is kept, untouched. */
    assert_int_equal(journal_queued(), 0);
    assert_int_equal(count_files("journal-", ".bad", NULL, 0), 1);
}

static void test_claim(void **state)
{
    char path[512], other[512], *c1 = NULL, *c2 = NULL;
    const char *name = "journal-0000000003-1-0.spool";
    int i, status, winners = 0;
    pid_t pid, kids[6];

    (void)state;
    start();
    snprintf(path, sizeof(path), "%s/%s", tdir, name);
    write_file(path, "");
    assert_int_equal(claim(tdir, name, &c1), 0);
    assert_int_equal(claim(tdir, name, &c2), -1);
    assert_null(c2);
    assert_non_null(strstr(c1, CLAIM_MARK));
    assert_int_equal(access(c1, F_OK), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(unlink(c1), 0);
    free(c1);
    /* Processes racing for one file: exactly one gets it. */
    for (int round = 0; round < 5; round++) {
        write_file(path, "");
        for (i = 0; i < 6; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                char *mine = NULL;
                _exit(claim(tdir, name, &mine) == 0 ? 0 : 1);
            }
        }
        for (i = 0; i < 6; i++) {
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            assert_true(WIFEXITED(status));
            winners += WEXITSTATUS(status) == 0;
        }
    }
    assert_int_equal(winners, 5);
    assert_int_equal(count_files(CLAIM_MARK, NULL, NULL, 0), 5);
    /* A claim by a process that is gone is stale; one by a live process is not. */
    pid = fork();
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    snprintf(other, sizeof(other), "journal-0000000004-1-0.spool.claimed-%ld", (long)pid);
    assert_true(stale_claim(other, (long)pid));
    snprintf(other, sizeof(other), "journal-0000000004-1-0.spool.claimed-%ld", (long)getppid());
    assert_false(stale_claim(other, (long)getppid()));
    /* Our own pid on a file that is not one of ours: a previous life. */
    snprintf(other, sizeof(other), "journal-0000000004-1-0.spool.claimed-%ld", (long)getpid());
    assert_true(stale_claim(other, (long)getpid()));
}

static void test_claim_names(void **state)
{
    long pid;
    int kept;

    (void)state;
    assert_true(spool_name("journal-0000000001-12-0.spool", &kept, &pid));
    assert_false(kept);
    assert_int_equal(pid, 0);
    assert_true(spool_name("journal-0000000001-12-0.kept.claimed-99", &kept, &pid));
    assert_true(kept);
    assert_int_equal(pid, 99);
    assert_false(spool_name("journal-rejected.jsonl", &kept, &pid));
    assert_false(spool_name(".journal-12-0.tmp", &kept, &pid));
    assert_false(spool_name("journal-0000000001-12-0.spool.bad", &kept, &pid));
    assert_false(spool_name("journal-0000000001-12-0.spool.claimed-9.bad", &kept, &pid));
    assert_false(spool_name("journal-0000000001-12-0.spool.claimed-", &kept, &pid));
    assert_false(spool_name("other.spool", &kept, &pid));
}

/* Claiming stops at the limit, oldest file first; the rest waits for the timer. */
static void test_claim_limit(void **state)
{
    char path[512];

    (void)state;
    assert_int_equal(journal_register(&s_each), 0);
    start();
    snprintf(path, sizeof(path), "%s/journal-0000000008-1-0.spool", tdir);
    write_file(path, "{\"stream\":\"each\",\"fields\":[\"new\",\"2\"]}\n");
    snprintf(path, sizeof(path), "%s/journal-0000000007-1-0.spool", tdir);
    write_file(path, "{\"stream\":\"each\",\"fields\":[\"old\",\"1\"]}\n"
                     "{\"stream\":\"each\",\"fields\":[\"old\",\"1\"]}\n");
    claim_files(0, 1);
    assert_int_equal(journal_queued(), 2);
    assert_int_equal(J.more_files, 1);
    assert_int_equal(count_files("journal-0000000008-1-0.spool", ".spool", NULL, 0), 1);
    assert_string_equal(stream_of(&s_each)->head->f[0], "old");
    claim_files(0, 3);
    assert_int_equal(journal_queued(), 3);
    assert_int_equal(J.more_files, 0);
    assert_int_equal(count_files("journal-", ".spool", NULL, 0), 0);
}

/* Files left by processes that are gone are taken back at start and replayed. */
static void test_stale_claim_replayed(void **state)
{
    char path[512];
    int status;
    pid_t pid;

    (void)state;
    pid = fork();
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    snprintf(path, sizeof(path), "%s/journal-0000000005-1-0.spool.claimed-%ld", tdir, (long)pid);
    write_file(path, "{\"stream\":\"each\",\"fields\":[\"a\",\"1\"]}\n");
    snprintf(path, sizeof(path), "%s/journal-0000000006-1-0.spool.claimed-%ld", tdir,
             (long)getppid());
    write_file(path, "{\"stream\":\"each\",\"fields\":[\"b\",\"2\"]}\n");
    assert_int_equal(journal_register(&s_each), 0);
    start();
    assert_int_equal(journal_queued(), 1);
    /* The live process's file is left alone. */
    assert_int_equal(access(path, F_OK), 0);
}

static void test_rejected_file(void **state)
{
    const char *f[3] = {"k\"1", NULL, "x"};
    const struct journal_rec *r[1];
    char path[512], line[4096];
    json_t *o;
    FILE *fp;

    (void)state;
    assert_int_equal(journal_register(&s_three), 0);
    start();
    assert_int_equal(journal_append(&s_three, f), 0);
    assert_int_equal(held(&s_three, r, 1), 1);
    rejected_write(stream_of(&s_three), r[0], "22P02",
                   "invalid input syntax for type integer: \"x\" \xff");
    snprintf(path, sizeof(path), "%s/%s", tdir, REJECTED_NAME);
    assert_int_equal(count_lines(path), 1);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    o = json_loads(line, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "stream")), "three");
    assert_string_equal(json_string_value(json_object_get(o, "sqlstate")), "22P02");
    assert_non_null(strstr(json_string_value(json_object_get(o, "error")), "invalid input"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "fields"), 0)), "k\"1");
    assert_true(json_is_null(json_array_get(json_object_get(o, "fields"), 1)));
    assert_non_null(json_object_get(o, "at"));
    json_decref(o);
}

static void test_spool_dir(void **state)
{
    struct journal_opts o = {.spool_dir = NULL};
    char nested[256], file[256];
    struct stat sb;

    (void)state;
    snprintf(nested, sizeof(nested), "%s/a/b/spool", tdir);
    o.spool_dir = nested;
    assert_int_equal(journal_init(base, &o), 0);
    assert_int_equal(stat(nested, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    journal_exit(0);
    snprintf(file, sizeof(file), "%s/plainfile", tdir);
    write_file(file, "x");
    o.spool_dir = file;
    assert_int_equal(journal_init(base, &o), -1);
    assert_int_equal(J.started, 0);
}

/* ---------------------------------------------------------------------------------- */
/* Against Postgres                                                                     */
/* ---------------------------------------------------------------------------------- */

struct answer {
    int called, ok;
    char val[256];
    char err[256];
};

static void answer_cb(void *arg, const PGresult *res, const char *err)
{
    struct answer *a = arg;

    a->called = 1;
    if (res != NULL) {
        a->ok = 1;
        if (PQntuples(res) > 0 && PQnfields(res) > 0)
            snprintf(a->val, sizeof(a->val), "%s",
                     PQgetisnull(res, 0, 0) ? "<null>" : PQgetvalue(res, 0, 0));
    }
    if (err != NULL)
        snprintf(a->err, sizeof(a->err), "%s", err);
}

/* Run sql (no parameters) and return its first value ("" for none) in a static buffer. */
static const char *sql1(const char *sql)
{
    static struct answer a;
    double deadline = now_s() + 10;
    struct timeval tick = {0, 20000};

    memset(&a, 0, sizeof(a));
    assert_int_equal(pg_query(sql, 0, NULL, answer_cb, &a), 0);
    while (!a.called && now_s() < deadline) {
        event_base_loopexit(base, &tick);
        event_base_loop(base, EVLOOP_ONCE);
    }
    if (!a.ok)
        fail_msg("%s: %s", sql, a.err);
    return a.val;
}

static int start_pg(void)
{
    const char *url = getenv("DATABASE_URL");
    double t;

    if (url == NULL || pg_init(base, url, 2, 5000) != 0)
        return -1;
    for (t = now_s() + 20; !pg_is_up() && now_s() < t;)
        run_for(0.02);
    return pg_is_up() ? 0 : -1;
}

static void control(const char *action)
{
    char line[64];

    printf("CONTROL %s\n", action);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        fail_msg("no answer from the driver for %s", action);
}

static void test_pg_bad_records(void **state)
{
    char k[16], v[32], n[16], path[512], line[4096];
    const char *f[3];
    int i, bad = 0, states = 0;
    FILE *fp;

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(), 0);
    sql1("DROP TABLE IF EXISTS jt_batch");
    sql1("CREATE TABLE jt_batch (k text NOT NULL, v text CHECK (v <> 'bad'), n int)");
    assert_int_equal(journal_register(&s_three), 0);
    start();
    for (i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "k%04d", i);
        snprintf(v, sizeof(v), "v%d", i);
        snprintf(n, sizeof(n), "%d", i);
        f[0] = k;
        f[1] = v;
        f[2] = n;
        if (i == 100)
            f[1] = "bad"; /* CHECK violation: 23514 */
        if (i == 2500)
            f[2] = "12x"; /* not an integer: 22P02 */
        if (i == 4000)
            f[0] = NULL; /* NOT NULL: 23502 */
        if (i == 10)
            f[1] = "ok\xff\xfe"; /* repaired, then written */
        if (i == 11)
            f[1] = "a\"b\\c,{d} NULL";
        if (i == 12)
            f[1] = NULL;
        if (i == 13)
            f[1] = "";
        if (i == 14)
            f[1] = "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xb8\xe0\xa4\xbe\xe0\xa4\xac";
        assert_int_equal(journal_append(&s_three, f), 0);
        if (i % 700 == 0)
            run_for(0.001); /* a few loop turns: batches of various sizes */
    }
    assert_true(drain(60));
    assert_string_equal(sql1("SELECT count(*) FROM jt_batch"), "4997");
    assert_string_equal(sql1("SELECT count(DISTINCT k) FROM jt_batch"), "4997");
    assert_string_equal(sql1("SELECT count(*) FROM jt_batch WHERE k IN ('k0100', 'k2500')"), "0");
    assert_string_equal(sql1("SELECT count(*) FROM jt_batch WHERE v = 'v' || n"), "4992");
    assert_string_equal(sql1("SELECT v FROM jt_batch WHERE k = 'k0010'"),
                        "ok\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(sql1("SELECT v FROM jt_batch WHERE k = 'k0011'"), "a\"b\\c,{d} NULL");
    assert_string_equal(sql1("SELECT v FROM jt_batch WHERE k = 'k0012'"), "<null>");
    assert_string_equal(sql1("SELECT v FROM jt_batch WHERE k = 'k0013'"), "");
    assert_string_equal(sql1("SELECT v FROM jt_batch WHERE k = 'k0014'"),
                        "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xb8\xe0\xa4\xbe\xe0\xa4\xac");
    assert_int_equal(J.written, 4997);
    assert_int_equal(J.rejected, 3);
    /* Splitting costs a few statements per bad record, not one per record. */
    print_message("5,000 records with 3 bad ones: %llu statements\n", J.statements);
    assert_true(J.statements < 200);
    snprintf(path, sizeof(path), "%s/%s", tdir, REJECTED_NAME);
    assert_int_equal(count_lines(path), 3);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        json_t *o = json_loads(line, 0, NULL);
        const char *st, *key;
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "stream")), "three");
        st = json_string_value(json_object_get(o, "sqlstate"));
        key = json_string_value(json_array_get(json_object_get(o, "fields"), 0));
        if (strcmp(st, "23514") == 0 && key != NULL && strcmp(key, "k0100") == 0)
            states |= 1;
        if (strcmp(st, "22P02") == 0 && key != NULL && strcmp(key, "k2500") == 0)
            states |= 2;
        if (strcmp(st, "23502") == 0 && key == NULL)
            states |= 4;
        bad++;
        json_decref(o);
    }
    fclose(fp);
    assert_int_equal(bad, 3);
    assert_int_equal(states, 7);
}

static void test_pg_order(void **state)
{
    char v[16];
    const char *f[2];
    int i, turn;

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(), 0);
    sql1("DROP TABLE IF EXISTS jt_each, jt_ord");
    sql1("CREATE TABLE jt_each (seq bigserial, k text, v int)");
    sql1("CREATE TABLE jt_ord (seq bigserial, v int)");
    assert_int_equal(journal_register(&s_each), 0);
    assert_int_equal(journal_register(&s_ord), 0);
    start();
    for (turn = 0; turn < 5; turn++) {
        for (i = turn * 1000; i < (turn + 1) * 1000; i++) {
            snprintf(v, sizeof(v), "%d", i);
            f[0] = v;
            assert_int_equal(journal_append(&s_ord, f), 0);
            if (i % 10 == 0) {
                /* One EACH change in ten; number 150 is not an integer and is refused. */
                f[0] = i / 10 % 2 == 0 ? "sub" : "stop";
                snprintf(v, sizeof(v), "%d", i / 10);
                f[1] = i == 1500 ? "x" : v;
                assert_int_equal(journal_append(&s_each, f), 0);
            }
        }
        run_for(0.01);
    }
    assert_true(drain(60));
    assert_string_equal(sql1("SELECT count(*) FROM jt_ord"), "5000");
    /* Written in the order appended: seq follows v. */
    assert_string_equal(sql1("SELECT count(*) FROM (SELECT v, row_number() OVER (ORDER BY seq)"
                             " - 1 AS i FROM jt_ord) x WHERE v = i"),
                        "5000");
    assert_string_equal(sql1("SELECT count(*) FROM jt_each"), "499");
    assert_string_equal(sql1("SELECT count(*) FROM (SELECT v, lag(v) OVER (ORDER BY seq) AS p"
                             " FROM jt_each) x WHERE p IS NOT NULL AND v <= p"),
                        "0");
    assert_string_equal(sql1("SELECT count(*) FROM jt_each WHERE v = 150"), "0");
    assert_int_equal(J.rejected, 1);
}

static void test_pg_exit_drains(void **state)
{
    const char *f[1];
    char k[16];
    int i;

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(), 0);
    sql1("DROP TABLE IF EXISTS jt_keyed");
    sql1("CREATE TABLE jt_keyed (k text PRIMARY KEY)");
    assert_int_equal(journal_register(&s_keyed), 0);
    start();
    f[0] = k;
    for (i = 0; i < 3000; i++) {
        snprintf(k, sizeof(k), "d%d", i);
        assert_int_equal(journal_append(&s_keyed, f), 0);
    }
    /* Nothing written yet; exit keeps the loop turning until it is. */
    journal_exit(20000);
    assert_int_equal(count_files("journal-", ".spool", NULL, 0), 0);
    assert_string_equal(sql1("SELECT count(*) FROM jt_keyed"), "3000");
}

static void test_pg_down_and_back(void **state)
{
    unsigned long long before;
    const char *f[1];
    char k[16];
    int i;

    (void)state;
    if (getenv("DATABASE_URL") == NULL || getenv("HISAAB_JOURNAL_CONTROL") == NULL)
        skip();
    assert_int_equal(start_pg(), 0);
    sql1("DROP TABLE IF EXISTS jt_keyed");
    sql1("CREATE TABLE jt_keyed (k text PRIMARY KEY)");
    assert_int_equal(journal_register(&s_keyed), 0);
    start();
    f[0] = k;
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "b%d", i);
        assert_int_equal(journal_append(&s_keyed, f), 0);
    }
    assert_true(drain(20));
    control("pg-stop");
    run_for(1.0);
    for (i = 1000; i < 3000; i++) {
        snprintf(k, sizeof(k), "b%d", i);
        assert_int_equal(journal_append(&s_keyed, f), 0);
        if (i % 500 == 0)
            run_for(0.01);
    }
    before = J.statements;
    run_for(3.0);
    /* The records wait; the writer tries about once a second, not in a loop. */
    assert_int_equal(journal_queued(), 2000);
    assert_true(J.statements - before >= 2);
    assert_true(J.statements - before <= 4 * JOURNAL_INFLIGHT);
    assert_int_equal(J.paused, 1);
    control("pg-start");
    assert_true(drain(30));
    assert_string_equal(sql1("SELECT count(*) FROM jt_keyed"), "3000");
    assert_int_equal(J.rejected, 0);
    assert_int_equal(count_files(REJECTED_NAME, NULL, NULL, 0), 0);
}

static void test_pg_spool_and_replay(void **state)
{
    const char *f[3];
    char k[16], path[512];
    double t0;
    int i;

    (void)state;
    if (getenv("DATABASE_URL") == NULL || getenv("HISAAB_JOURNAL_CONTROL") == NULL)
        skip();
    assert_int_equal(start_pg(), 0);
    sql1("DROP TABLE IF EXISTS jt_batch");
    sql1("CREATE TABLE jt_batch (k text NOT NULL, v text, n int)"); /* no key: doubles show */
    assert_int_equal(journal_register(&s_three), 0);
    start();
    control("pg-stop");
    run_for(1.0);
    f[1] = "spooled";
    f[2] = "7";
    f[0] = k;
    for (i = 0; i < 1500; i++) {
        snprintf(k, sizeof(k), "s%d", i);
        assert_int_equal(journal_append(&s_three, f), 0);
    }
    run_for(0.1);
    /* Postgres is down: exit does not wait out its drain time, it spools. */
    t0 = now_s();
    journal_exit(5000);
    assert_true(now_s() - t0 < 2.0);
    assert_int_equal(count_files("journal-", ".spool", path, sizeof(path)), 1);
    assert_int_equal(count_lines(path), 1500);
    pg_shutdown();
    control("pg-start");
    /* The next start replays them once. */
    assert_int_equal(start_pg(), 0);
    assert_int_equal(journal_register(&s_three), 0);
    start();
    assert_int_equal(journal_queued(), 1500);
    assert_true(drain(30));
    assert_string_equal(sql1("SELECT count(*) FROM jt_batch"), "1500");
    assert_string_equal(sql1("SELECT count(DISTINCT k) FROM jt_batch"), "1500");
    assert_int_equal(count_files("journal-", NULL, NULL, 0), 0);
    journal_exit(1000);
    assert_int_equal(journal_register(&s_three), 0);
    start();
    assert_int_equal(journal_queued(), 0);
    run_for(0.2);
    assert_string_equal(sql1("SELECT count(*) FROM jt_batch"), "1500");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_elem),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_permanent),
        cmocka_unit_test(test_loggable),
        cmocka_unit_test(test_claim_names),
        cmocka_unit_test_setup_teardown(test_append_repairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_unknown_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_bad_file_set_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_claim_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_bad_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_exit_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_down_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_spool_and_replay, setup, teardown),
    };
    int rc;

    if (getenv("DATABASE_URL") == NULL)
        printf("test_journal: DATABASE_URL not set; Postgres tests are skipped "
               "(tests/blackbox/test_journal.py runs them)\n");
    log_init("test_journal", LOG_INFO);
    base = event_base_new();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    event_base_free(base);
    return rc;
}
