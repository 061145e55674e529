/*
 * Loader; see load.h. The batch is a vector of compact entries (the key, the
 * completeness figures and the record already formatted as a COPY text line) indexed by
 * an open-addressing hash on the key, so a national file of several hundred thousand
 * snapshots reduces to one line per district-month before anything reaches Postgres.
 */
#include "load.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#define LINE_MAX_BYTES (64 * 1024)
#define COPY_CHUNK (256 * 1024)
#define SQL_MAX (64 * 1024)

struct entry {
    int state_code;
    int district_code;
    int fy_start;
    int month;
    long long pd; /* persondays so far, -1 when NULL */
    long recno;
    char *line;  /* COPY line for etl_stage, '\n'-terminated */
    char *flags; /* COPY lines for etl_stage_flags, or NULL */
    char state_name[ETL_MAX_NAME];
};

struct etl_batch {
    struct entry *e;
    size_t n, cap;
    uint32_t *slot; /* index + 1 into e; 0 = empty */
    size_t nslots;  /* power of two */
};

struct etl_batch *etl_batch_new(void)
{
    struct etl_batch *b = xcalloc(1, sizeof(*b));

    b->nslots = 1024;
    b->slot = xcalloc(b->nslots, sizeof(*b->slot));
    return b;
}

void etl_batch_clear(struct etl_batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        free(b->e[i].line);
        free(b->e[i].flags);
    }
    b->n = 0;
    memset(b->slot, 0, b->nslots * sizeof(*b->slot));
}

void etl_batch_free(struct etl_batch *b)
{
    if (b == NULL)
        return;
    etl_batch_clear(b);
    free(b->e);
    free(b->slot);
    free(b);
}

size_t etl_batch_count(const struct etl_batch *b)
{
    return b->n;
}

static uint32_t key_hash(int s, int d, int y, int m)
{
    uint64_t h = 1469598103934665603ULL;
    int k[4] = {s, d, y, m};
    int i;

    for (i = 0; i < 4; i++) {
        h ^= (uint32_t)k[i];
        h *= 1099511628211ULL;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static int same_key(const struct entry *a, const struct entry *b)
{
    return a->state_code == b->state_code && a->district_code == b->district_code &&
           a->fy_start == b->fy_start && a->month == b->month;
}

/* 1 if a is more complete than b: more person-days (NULL lowest), on a tie later. */
static int better(const struct entry *a, const struct entry *b)
{
    if (a->pd != b->pd)
        return a->pd > b->pd;
    return a->recno > b->recno;
}

static void rehash(struct etl_batch *b)
{
    size_t i, mask;

    free(b->slot);
    b->nslots *= 2;
    b->slot = xcalloc(b->nslots, sizeof(*b->slot));
    mask = b->nslots - 1;
    for (i = 0; i < b->n; i++) {
        const struct entry *x = &b->e[i];
        size_t j = key_hash(x->state_code, x->district_code, x->fy_start, x->month) & mask;

        while (b->slot[j])
            j = (j + 1) & mask;
        b->slot[j] = (uint32_t)(i + 1);
    }
}

/* Take ownership of *x's strings: keep it if better than what the batch has. */
static void put_entry(struct etl_batch *b, struct entry *x)
{
    size_t mask, j;

    if ((b->n + 1) * 2 > b->nslots)
        rehash(b);
    mask = b->nslots - 1;
    j = key_hash(x->state_code, x->district_code, x->fy_start, x->month) & mask;
    while (b->slot[j]) {
        struct entry *old = &b->e[b->slot[j] - 1];

        if (same_key(old, x)) {
            if (better(x, old)) {
                free(old->line);
                free(old->flags);
                *old = *x;
            } else {
                free(x->line);
                free(x->flags);
            }
            x->line = x->flags = NULL;
            return;
        }
        j = (j + 1) & mask;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->e = xrealloc(b->e, b->cap * sizeof(*b->e));
    }
    b->e[b->n] = *x;
    b->slot[j] = (uint32_t)(b->n + 1);
    b->n++;
    x->line = x->flags = NULL;
}

void etl_batch_merge(struct etl_batch *dst, struct etl_batch *src)
{
    size_t i;

    for (i = 0; i < src->n; i++)
        put_entry(dst, &src->e[i]);
    src->n = 0;
    memset(src->slot, 0, src->nslots * sizeof(*src->slot));
}

/* "Jammu And Kashmir" -> "Jammu and Kashmir": joining words stay lower case inside a name. */
static void lower_small_words(char *s)
{
    static const char *const small[] = {"And", "Of", NULL};
    size_t i = 0, j, n;
    int k;

    while (s[i] != '\0') {
        if (!isalpha((unsigned char)s[i])) {
            i++;
            continue;
        }
        for (j = i; isalpha((unsigned char)s[j]); j++)
            ;
        n = j - i;
        for (k = 0; small[k] && i > 0 && s[j] != '\0'; k++)
            if (strlen(small[k]) == n && strncmp(s + i, small[k], n) == 0 && s[i - 1] == ' ')
                s[i] = (char)tolower((unsigned char)s[i]);
        i = j;
    }
}

void etl_title_case(const char *in, char *out, size_t outlen)
{
    size_t i, o = 0;
    int prev_letter = 0;

    if (outlen == 0)
        return;
    for (i = 0; in[i] != '\0' && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c < 0x80 && isalpha(c)) {
            out[o++] = (char)(prev_letter ? tolower(c) : toupper(c));
            prev_letter = 1;
        } else {
            out[o++] = (char)c;
            /* UTF-8 bytes continue a word; an apostrophe does not start one ("Kheri's"). */
            prev_letter = c >= 0x80 || (c == '\'' && prev_letter);
        }
    }
    out[o] = '\0';
    lower_small_words(out);
}

/* Append s escaped for COPY text format. */
static int put_esc(struct buf *o, const char *s)
{
    const char *p;

    for (p = s; *p; p++) {
        const char *rep = NULL;

        switch (*p) {
        case '\\':
            rep = "\\\\";
            break;
        case '\t':
            rep = "\\t";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\r':
            rep = "\\r";
            break;
        }
        if (rep ? buf_puts(o, rep) != 0 : buf_append(o, p, 1) != 0)
            return -1;
    }
    return 0;
}

static const char *field_column(int i)
{
    return etl_fields[i].column ? etl_fields[i].column : "remarks";
}

/* Build the staging line and flag lines for a row. Returns 0 or -1 (too long). */
static int format_entry(const struct etl_row *row, long recno, struct entry *x)
{
    char title[ETL_MAX_NAME * 2];
    struct buf o, f;
    int i, rc = -1;

    buf_init(&o, LINE_MAX_BYTES);
    buf_init(&f, LINE_MAX_BYTES);
    if (buf_printf(&o, "%d\t%d\t", row->state_code, row->district_code) != 0 ||
        put_esc(&o, row->state_name) != 0 || buf_puts(&o, "\t") != 0)
        goto out;
    etl_title_case(row->state_name, title, sizeof(title));
    if (put_esc(&o, title) != 0 || buf_puts(&o, "\t") != 0 ||
        put_esc(&o, row->district_name) != 0 || buf_puts(&o, "\t") != 0)
        goto out;
    etl_title_case(row->district_name, title, sizeof(title));
    if (put_esc(&o, title) != 0 || buf_puts(&o, "\t") != 0 || put_esc(&o, row->fin_year) != 0 ||
        buf_printf(&o, "\t%d\t%d", row->month, row->fy_month) != 0)
        goto out;
    for (i = ETL_F_FIRST_FIGURE; i <= ETL_F_REMARKS; i++) {
        const char *v = i == ETL_F_REMARKS ? row->remarks : row->value[i];

        if (buf_puts(&o, "\t") != 0)
            goto out;
        if (row->is_null[i]) {
            if (buf_puts(&o, "\\N") != 0)
                goto out;
        } else if (put_esc(&o, v) != 0) {
            goto out;
        }
        if (row->flagged[i]) {
            if (buf_printf(&f, "%d\t%d\t", row->state_code, row->district_code) != 0 ||
                put_esc(&f, row->fin_year) != 0 ||
                buf_printf(&f, "\t%d\t%s\t", row->month, field_column(i)) != 0 ||
                put_esc(&f, row->flag_raw[i]) != 0 || buf_puts(&f, "\t") != 0 ||
                put_esc(&f, row->flag_problem[i] ? row->flag_problem[i] : "invalid") != 0 ||
                buf_puts(&f, "\n") != 0)
                goto out;
        }
    }
    if (buf_printf(&o, "\t%ld\n", recno) != 0)
        goto out;
    x->line = buf_steal(&o, NULL);
    x->flags = f.len ? buf_steal(&f, NULL) : NULL;
    rc = 0;
out:
    buf_free(&o);
    buf_free(&f);
    return rc;
}

void etl_batch_add(struct etl_batch *b, const struct etl_row *row, long recno)
{
    struct entry x;

    memset(&x, 0, sizeof(x));
    x.state_code = row->state_code;
    x.district_code = row->district_code;
    x.fy_start = row->fy_start;
    x.month = row->month;
    x.pd = row->is_null[ETL_F_PERSONDAYS] ? -1 : row->persondays;
    x.recno = recno;
    snprintf(x.state_name, sizeof(x.state_name), "%s", row->state_name);
    if (format_entry(row, recno, &x) != 0) {
        log_warn("load: record %ld too long, skipped", recno);
        return;
    }
    put_entry(b, &x);
}

void etl_load_result_free(struct etl_load_result *r)
{
    free(r->states);
    r->states = NULL;
    r->nstates = 0;
}

/* ---- SQL ---- */

static void set_err(char *err, size_t errlen, const char *what, PGconn *db)
{
    const char *m = db ? PQerrorMessage(db) : "";
    size_t n;

    snprintf(err, errlen, "%s%s%s", what, *m ? ": " : "", m);
    n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

static int exec_cmd(PGconn *db, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(db, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "database", db);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Run a parameterised command; *affected gets PQcmdTuples when not NULL. */
static int exec_params(PGconn *db, const char *sql, int n, const char *const *params,
                       long long *affected, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    int rc = -1;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "database", db);
        goto out;
    }
    if (affected)
        *affected = strtoll(PQcmdTuples(res), NULL, 10);
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* ", col1, col2..." over the figure columns with an optional prefix for each. */
static int figure_cols(struct buf *s, const char *prefix)
{
    int i;

    for (i = ETL_F_FIRST_FIGURE; i <= ETL_F_REMARKS; i++)
        if (buf_printf(s, "%s%s%s", i == ETL_F_FIRST_FIGURE ? "" : ", ", prefix, field_column(i)) !=
            0)
            return -1;
    return 0;
}

int etl_load_prepare(PGconn *db, char *err, size_t errlen)
{
    int rc = -1;

    if (exec_cmd(db, "SET client_min_messages = warning", err, errlen) != 0 ||
        exec_cmd(db,
                 "CREATE TEMP TABLE IF NOT EXISTS etl_stage AS "
                 "SELECT NULL::text AS state_name, NULL::text AS state_name_en,"
                 " NULL::text AS district_name, NULL::text AS district_name_en, m.* "
                 "FROM monthly_figures m WITH NO DATA",
                 err, errlen) != 0 ||
        exec_cmd(db,
                 "CREATE TEMP TABLE IF NOT EXISTS etl_stage_flags ("
                 " state_code integer, district_code integer, fin_year text,"
                 " month smallint, field text, raw_value text, problem text)",
                 err, errlen) != 0 ||
        exec_cmd(db,
                 "CREATE TEMP TABLE IF NOT EXISTS etl_changed ("
                 " state_code integer, district_code integer, fin_year text, month smallint)",
                 err, errlen) != 0 ||
        exec_cmd(db,
                 "CREATE TEMP TABLE IF NOT EXISTS etl_affected ("
                 " state_code integer, fin_year text, PRIMARY KEY (state_code, fin_year))",
                 err, errlen) != 0 ||
        exec_cmd(db, "TRUNCATE etl_stage, etl_stage_flags, etl_changed, etl_affected", err,
                 errlen) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

/* COPY the given lines (each '\n'-terminated) into the table and column list. */
static int copy_lines(PGconn *db, const char *copy_sql, struct entry **ents, size_t n, int flags,
                      char *err, size_t errlen)
{
    PGresult *res = PQexec(db, copy_sql);
    struct buf chunk;
    size_t i;
    int rc = -1;

    buf_init(&chunk, COPY_CHUNK + LINE_MAX_BYTES * 2);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        set_err(err, errlen, "COPY", db);
        PQclear(res);
        goto out;
    }
    PQclear(res);
    for (i = 0; i < n; i++) {
        const char *l = flags ? ents[i]->flags : ents[i]->line;

        if (l == NULL)
            continue;
        if (buf_puts(&chunk, l) != 0)
            goto abort;
        if (chunk.len >= COPY_CHUNK) {
            if (PQputCopyData(db, chunk.data, (int)chunk.len) != 1)
                goto abort;
            buf_reset(&chunk);
        }
    }
    if (chunk.len > 0 && PQputCopyData(db, chunk.data, (int)chunk.len) != 1)
        goto abort;
    if (PQputCopyEnd(db, NULL) != 1)
        goto abort;
    goto result;
abort:
    (void)PQputCopyEnd(db, "client error");
result:
    res = PQgetResult(db);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = 0;
    else
        set_err(err, errlen, "COPY", db);
    PQclear(res);
    while ((res = PQgetResult(db)) != NULL)
        PQclear(res);
out:
    buf_free(&chunk);
    return rc;
}

/* SQL for the per-state steps, built once from etl_fields. */
struct load_sql {
    struct buf copy;      /* COPY etl_stage (...) FROM STDIN */
    struct buf upsert;    /* monthly_figures upsert into etl_changed */
    struct buf states;    /* states upsert */
    struct buf districts; /* districts upsert */
};

static int build_states_sql(struct buf *q);
static int build_districts_sql(struct buf *q, int has_map);

static int build_sql(struct load_sql *q, int has_map)
{
    int i, rc = -1;

    buf_init(&q->copy, SQL_MAX);
    buf_init(&q->upsert, SQL_MAX);
    buf_init(&q->states, SQL_MAX);
    buf_init(&q->districts, SQL_MAX);
    if (build_states_sql(&q->states) != 0 || build_districts_sql(&q->districts, has_map) != 0)
        goto out;
    if (buf_puts(&q->copy, "COPY etl_stage (state_code, district_code, state_name, "
                           "state_name_en, district_name, district_name_en, fin_year, "
                           "month, fy_month, ") != 0 ||
        figure_cols(&q->copy, "") != 0 || buf_puts(&q->copy, ", source_record) FROM STDIN") != 0)
        goto out;
    if (buf_puts(&q->upsert, "WITH up AS (INSERT INTO monthly_figures AS m (state_code, "
                             "district_code, fin_year, month, fy_month, ") != 0 ||
        figure_cols(&q->upsert, "") != 0 ||
        buf_puts(&q->upsert, ", source_run_id, source_record) SELECT state_code, "
                             "district_code, fin_year, month, fy_month, ") != 0 ||
        figure_cols(&q->upsert, "") != 0 ||
        buf_puts(&q->upsert, ", $1::bigint, source_record FROM etl_stage "
                             "ON CONFLICT (state_code, district_code, fin_year, month) "
                             "DO UPDATE SET fy_month = EXCLUDED.fy_month") != 0)
        goto out;
    for (i = ETL_F_FIRST_FIGURE; i <= ETL_F_REMARKS; i++)
        if (buf_printf(&q->upsert, ", %s = EXCLUDED.%s", field_column(i), field_column(i)) != 0)
            goto out;
    if (buf_puts(&q->upsert,
                 ", source_run_id = EXCLUDED.source_run_id, source_record = "
                 "EXCLUDED.source_record, loaded_at = now() WHERE "
                 "COALESCE(EXCLUDED.persondays_of_central_liability_so_far, -1) > "
                 "COALESCE(m.persondays_of_central_liability_so_far, -1) OR "
                 "(EXCLUDED.persondays_of_central_liability_so_far IS NOT DISTINCT FROM "
                 "m.persondays_of_central_liability_so_far AND (") != 0 ||
        figure_cols(&q->upsert, "EXCLUDED.") != 0 ||
        buf_puts(&q->upsert, ") IS DISTINCT FROM (") != 0 || figure_cols(&q->upsert, "m.") != 0 ||
        buf_puts(&q->upsert, ")) RETURNING m.state_code, m.district_code, m.fin_year, m.month) "
                             "INSERT INTO etl_changed SELECT * FROM up") != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

static void free_sql(struct load_sql *q)
{
    buf_free(&q->copy);
    buf_free(&q->upsert);
    buf_free(&q->states);
    buf_free(&q->districts);
}

/* The normalised form of a name for matching: lower case, letters only. */
#define NORM "regexp_replace(lower(%s), '[^a-z]', '', 'g')"

/* States: named from the source, crosswalked to ref_states by NREGA code or by name. */
static int build_states_sql(struct buf *q)
{
    return buf_printf(
        q,
        "INSERT INTO states AS t (state_code, name_en, name_hi, lgd_state_code) "
        "SELECT s.state_code, s.state_name_en, r.name_hi, r.lgd_state_code FROM "
        "(SELECT DISTINCT ON (state_code) state_code, state_name, state_name_en "
        " FROM etl_stage ORDER BY state_code, source_record DESC) s "
        "LEFT JOIN LATERAL (SELECT r.name_hi, r.lgd_state_code FROM ref_states r "
        " WHERE r.nrega_state_code = s.state_code OR " NORM " = " NORM
        " ORDER BY (r.nrega_state_code IS NOT DISTINCT FROM s.state_code) DESC, "
        " r.lgd_state_code LIMIT 1) r ON true "
        "ON CONFLICT (state_code) DO UPDATE SET name_en = EXCLUDED.name_en, "
        " name_hi = COALESCE(EXCLUDED.name_hi, t.name_hi), "
        " lgd_state_code = COALESCE(EXCLUDED.lgd_state_code, t.lgd_state_code) "
        "WHERE (t.name_en, t.name_hi, t.lgd_state_code) IS DISTINCT FROM (EXCLUDED.name_en, "
        " COALESCE(EXCLUDED.name_hi, t.name_hi), "
        " COALESCE(EXCLUDED.lgd_state_code, t.lgd_state_code))",
        "r.name_en", "s.state_name");
}

/*
 * Districts: keyed by (state_code, district_code), crosswalked to ref_districts by the
 * NREGA -> LGD district map when migration 002 created one, else (and as a fallback) by
 * normalised name or alias within the state's LGD state. Reference values only ever fill
 * in: a district missing from the reference is created with NULLs, never dropped.
 */
static int build_districts_sql(struct buf *q, int has_map)
{
    const char *by_map = has_map ? "rd.lgd_district_code = (SELECT m.lgd_district_code FROM "
                                   "ref_nrega_district_map m WHERE m.nrega_district_code = "
                                   "s.district_code) OR "
                                 : "";
    const char *map_first = has_map ? "(rd.lgd_district_code IS NOT DISTINCT FROM (SELECT "
                                      "m.lgd_district_code FROM ref_nrega_district_map m WHERE "
                                      "m.nrega_district_code = s.district_code)) DESC, "
                                    : "";

    return buf_printf(
        q,
        "INSERT INTO districts AS t (state_code, district_code, name_en, name_source, name_hi, "
        " lgd_district_code, lat, lon) "
        "SELECT s.state_code, s.district_code, s.district_name_en, s.district_name, r.name_hi, "
        " r.lgd_district_code, r.lat, r.lon FROM "
        "(SELECT DISTINCT ON (state_code, district_code) state_code, district_code, "
        " district_name, district_name_en FROM etl_stage "
        " ORDER BY state_code, district_code, source_record DESC) s "
        "JOIN states st ON st.state_code = s.state_code "
        "LEFT JOIN LATERAL (SELECT rd.name_hi, rd.lgd_district_code, rd.lat, rd.lon "
        " FROM ref_districts rd WHERE %s (rd.lgd_state_code = st.lgd_state_code AND "
        " (" NORM " = " NORM " OR EXISTS (SELECT 1 FROM unnest(rd.aliases) a WHERE " NORM " = " NORM
        "))) ORDER BY %s(" NORM " = " NORM ") DESC, rd.lgd_district_code "
        " LIMIT 1) r ON true "
        "ON CONFLICT (state_code, district_code) DO UPDATE SET name_en = EXCLUDED.name_en, "
        " name_source = EXCLUDED.name_source, name_hi = COALESCE(EXCLUDED.name_hi, t.name_hi), "
        " lgd_district_code = COALESCE(EXCLUDED.lgd_district_code, t.lgd_district_code), "
        " lat = COALESCE(EXCLUDED.lat, t.lat), lon = COALESCE(EXCLUDED.lon, t.lon) "
        "WHERE (t.name_en, t.name_source, t.name_hi, t.lgd_district_code, t.lat, t.lon) IS "
        " DISTINCT FROM (EXCLUDED.name_en, EXCLUDED.name_source, "
        " COALESCE(EXCLUDED.name_hi, t.name_hi), "
        " COALESCE(EXCLUDED.lgd_district_code, t.lgd_district_code), "
        " COALESCE(EXCLUDED.lat, t.lat), COALESCE(EXCLUDED.lon, t.lon))",
        by_map, "rd.name_en", "s.district_name", "a", "s.district_name", map_first, "rd.name_en",
        "s.district_name");
}

static const char sql_flags_del[] =
    "DELETE FROM data_quality_flags f USING etl_changed c WHERE f.state_code = c.state_code "
    "AND f.district_code = c.district_code AND f.fin_year = c.fin_year AND f.month = c.month";

static const char sql_flags_ins[] =
    "INSERT INTO data_quality_flags (state_code, district_code, fin_year, month, field, "
    " raw_value, problem, run_id) "
    "SELECT fl.state_code, fl.district_code, fl.fin_year, fl.month, fl.field, fl.raw_value,"
    " fl.problem, $1::bigint FROM etl_stage_flags fl JOIN etl_changed c USING (state_code,"
    " district_code, fin_year, month) "
    "ON CONFLICT (state_code, district_code, fin_year, month, field) DO UPDATE SET "
    " raw_value = EXCLUDED.raw_value, problem = EXCLUDED.problem, run_id = EXCLUDED.run_id";

static const char sql_affected[] =
    "INSERT INTO etl_affected SELECT DISTINCT state_code, fin_year FROM etl_changed "
    "ON CONFLICT DO NOTHING";

/* New or renamed states/districts (or new reference matches) also make a new version. */
static const char sql_affected_meta[] =
    "INSERT INTO etl_affected SELECT DISTINCT state_code, fin_year FROM etl_stage "
    "ON CONFLICT DO NOTHING";

/* Load one state's entries in one transaction. Returns 0 or -1 (rolled back). */
static int load_state(PGconn *db, const struct load_sql *q, const char *run, struct entry **ents,
                      size_t n, long long *changed, char *err, size_t errlen)
{
    const char *params[1] = {run};
    long long meta = 0, n_districts = 0;
    int has_flags = 0, in_tx = 0, rc = -1;
    size_t i;

    *changed = 0;
    for (i = 0; i < n; i++)
        has_flags |= ents[i]->flags != NULL;
    if (exec_cmd(db, "BEGIN", err, errlen) != 0)
        goto out;
    in_tx = 1;
    if (exec_cmd(db, "TRUNCATE etl_stage, etl_stage_flags, etl_changed", err, errlen) != 0 ||
        copy_lines(db, q->copy.data, ents, n, 0, err, errlen) != 0)
        goto out;
    if (has_flags &&
        copy_lines(db, "COPY etl_stage_flags FROM STDIN", ents, n, 1, err, errlen) != 0)
        goto out;
    if (exec_cmd(db, "ANALYZE etl_stage", err, errlen) != 0 ||
        exec_params(db, q->states.data, 0, NULL, &meta, err, errlen) != 0 ||
        exec_params(db, q->districts.data, 0, NULL, &n_districts, err, errlen) != 0 ||
        exec_params(db, q->upsert.data, 1, params, changed, err, errlen) != 0)
        goto out;
    if (meta + n_districts > 0 && exec_cmd(db, sql_affected_meta, err, errlen) != 0)
        goto out;
    if (*changed > 0 &&
        (exec_cmd(db, sql_flags_del, err, errlen) != 0 ||
         (has_flags && exec_params(db, sql_flags_ins, 1, params, NULL, err, errlen) != 0) ||
         exec_cmd(db, sql_affected, err, errlen) != 0))
        goto out;
    if (exec_cmd(db, "COMMIT", err, errlen) != 0)
        goto out;
    in_tx = 0;
    rc = 0;
out:
    if (in_tx) {
        char ignore[64];

        (void)exec_cmd(db, "ROLLBACK", ignore, sizeof(ignore));
        *changed = 0;
    }
    return rc;
}

static int cmp_entry_state(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;

    if (x->state_code != y->state_code)
        return x->state_code < y->state_code ? -1 : 1;
    return x->recno < y->recno ? -1 : x->recno > y->recno;
}

int etl_load_batch(PGconn *db, long long run_id, struct etl_batch *b, struct etl_load_result *res,
                   char *err, size_t errlen)
{
    struct load_sql q;
    struct entry **ents = NULL;
    PGresult *res0;
    char run[24], msg[512];
    size_t i, start;
    int rc = -1, failed = 0, has_map;

    res0 = PQexec(db, "SELECT to_regclass('ref_nrega_district_map') IS NOT NULL");
    has_map = PQresultStatus(res0) == PGRES_TUPLES_OK && PQntuples(res0) == 1 &&
              strcmp(PQgetvalue(res0, 0, 0), "t") == 0;
    PQclear(res0);
    if (build_sql(&q, has_map) != 0) {
        snprintf(err, errlen, "internal: SQL too long");
        free_sql(&q);
        return -1;
    }
    snprintf(run, sizeof(run), "%lld", run_id);
    ents = xcalloc(b->n ? b->n : 1, sizeof(*ents));
    for (i = 0; i < b->n; i++)
        ents[i] = &b->e[i];
    qsort(ents, b->n, sizeof(*ents), cmp_entry_state);
    for (start = 0; start < b->n;) {
        struct etl_state_result *sr;
        size_t end = start;
        long long changed = 0;

        while (end < b->n && ents[end]->state_code == ents[start]->state_code)
            end++;
        res->states = xrealloc(res->states, (res->nstates + 1) * sizeof(*res->states));
        sr = &res->states[res->nstates++];
        memset(sr, 0, sizeof(*sr));
        sr->state_code = ents[start]->state_code;
        /* The latest record's spelling names the state. */
        snprintf(sr->name, sizeof(sr->name), "%s", ents[end - 1]->state_name);
        if (load_state(db, &q, run, ents + start, end - start, &changed, msg, sizeof(msg)) == 0) {
            sr->ok = 1;
            sr->changed = changed;
            res->rows_changed += changed;
            log_info("load: state %d (%s): %zu district-months, %lld rows changed", sr->state_code,
                     sr->name, end - start, changed);
        } else {
            log_error("load: state %d (%s) rolled back: %s", sr->state_code, sr->name, msg);
            if (!failed)
                snprintf(err, errlen, "state %s: %s", sr->name, msg);
            failed = 1;
        }
        start = end;
    }
    rc = failed ? -1 : 0;
    free(ents);
    free_sql(&q);
    return rc;
}

static const char sql_state_figures[] =
    "INSERT INTO state_monthly_figures (state_code, fin_year, month, fy_month, "
    " districts_reporting, total_households_worked, total_individuals_worked, "
    " persondays_of_central_liability_so_far, women_persondays, sc_persondays, st_persondays, "
    " total_no_of_hhs_completed_100_days_of_wage_employment, number_of_completed_works, "
    " number_of_ongoing_works, total_no_of_works_takenup, total_no_of_active_job_cards, "
    " total_no_of_active_workers, total_exp, wages, avg_days_per_household, avg_wage_rate, "
    " payments_within_15_days_pct) "
    "SELECT m.state_code, m.fin_year, m.month, min(m.fy_month), count(*)::integer, "
    " sum(m.total_households_worked)::bigint, sum(m.total_individuals_worked)::bigint, "
    " sum(m.persondays_of_central_liability_so_far)::bigint, sum(m.women_persondays)::bigint, "
    " sum(m.sc_persondays)::bigint, sum(m.st_persondays)::bigint, "
    " sum(m.total_no_of_hhs_completed_100_days_of_wage_employment)::bigint, "
    " sum(m.number_of_completed_works)::bigint, sum(m.number_of_ongoing_works)::bigint, "
    " sum(m.total_no_of_works_takenup)::bigint, sum(m.total_no_of_active_job_cards)::bigint, "
    " sum(m.total_no_of_active_workers)::bigint, sum(m.total_exp), sum(m.wages), "
    " sum(m.persondays_of_central_liability_so_far::numeric) FILTER (WHERE "
    "  m.persondays_of_central_liability_so_far IS NOT NULL AND "
    "  m.total_households_worked IS NOT NULL) / NULLIF(sum(m.total_households_worked) "
    "  FILTER (WHERE m.persondays_of_central_liability_so_far IS NOT NULL AND "
    "  m.total_households_worked IS NOT NULL), 0), "
    " sum(m.average_wage_rate_per_day_per_person * m.persondays_of_central_liability_so_far) "
    "  FILTER (WHERE m.average_wage_rate_per_day_per_person IS NOT NULL AND "
    "  m.persondays_of_central_liability_so_far IS NOT NULL) / "
    "  NULLIF(sum(m.persondays_of_central_liability_so_far) FILTER (WHERE "
    "  m.average_wage_rate_per_day_per_person IS NOT NULL AND "
    "  m.persondays_of_central_liability_so_far IS NOT NULL), 0), "
    " sum(m.percentage_payments_gererated_within_15_days * "
    "  m.persondays_of_central_liability_so_far) FILTER (WHERE "
    "  m.percentage_payments_gererated_within_15_days IS NOT NULL AND "
    "  m.persondays_of_central_liability_so_far IS NOT NULL) / "
    "  NULLIF(sum(m.persondays_of_central_liability_so_far) FILTER (WHERE "
    "  m.percentage_payments_gererated_within_15_days IS NOT NULL AND "
    "  m.persondays_of_central_liability_so_far IS NOT NULL), 0) "
    "FROM monthly_figures m JOIN etl_affected a ON a.state_code = m.state_code AND "
    " a.fin_year = m.fin_year "
    "GROUP BY m.state_code, m.fin_year, m.month";

int etl_load_finish(PGconn *db, long long run_id, const char *redis_url, long long *version,
                    char *err, size_t errlen)
{
    PGresult *res = NULL;
    const char *params[2];
    char run[24], ver[24];
    int in_tx = 0, rc = -1;

    *version = -1;
    if (exec_cmd(db, "BEGIN", err, errlen) != 0)
        goto out;
    in_tx = 1;
    res = PQexec(db, "SELECT count(*) FROM etl_affected");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "database", db);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        rc = 0;
        goto out;
    }
    PQclear(res);
    res = NULL;
    if (exec_cmd(db,
                 "DELETE FROM state_monthly_figures s USING etl_affected a "
                 "WHERE s.state_code = a.state_code AND s.fin_year = a.fin_year",
                 err, errlen) != 0 ||
        exec_cmd(db, sql_state_figures, err, errlen) != 0)
        goto out;
    res = PQexec(db, "UPDATE data_version SET version = version + 1, updated_at = now() "
                     "WHERE id = 1 RETURNING version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        set_err(err, errlen, "data_version", db);
        goto out;
    }
    snprintf(ver, sizeof(ver), "%s", PQgetvalue(res, 0, 0));
    snprintf(run, sizeof(run), "%lld", run_id);
    params[0] = ver;
    params[1] = run;
    if (exec_params(db, "UPDATE etl_runs SET data_version = $1 WHERE id = $2", 2, params, NULL, err,
                    errlen) != 0 ||
        exec_cmd(db, "TRUNCATE etl_affected", err, errlen) != 0 ||
        exec_cmd(db, "COMMIT", err, errlen) != 0)
        goto out;
    in_tx = 0;
    *version = strtoll(ver, NULL, 10);
    log_info("load: data version %lld", *version);
    if (redis_url != NULL && *redis_url != '\0') {
        if (etl_publish_version(redis_url, *version) != 0) {
            /* Logged; servers also poll data_version. */
        }
    } else {
        log_warn("load: REDIS_URL not set; servers will see version %lld when they poll", *version);
    }
    rc = 0;
out:
    PQclear(res);
    if (in_tx) {
        char ignore[64];

        (void)exec_cmd(db, "ROLLBACK", ignore, sizeof(ignore));
    }
    return rc;
}

/* Split redis://[:pass@]host[:port][/db]. Returns 0 or -1. */
static int parse_redis_url(const char *url, char *host, size_t hostlen, int *port, char *pass,
                           size_t passlen)
{
    const char *p = url, *at, *end, *colon;
    char *e;
    long v;

    *port = 6379;
    pass[0] = '\0';
    if (strncmp(p, "redis://", 8) == 0)
        p += 8;
    end = p + strcspn(p, "/?");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *pw = memchr(p, ':', (size_t)(at - p));

        pw = pw ? pw + 1 : p;
        if ((size_t)(at - pw) >= passlen)
            return -1;
        memcpy(pass, pw, (size_t)(at - pw));
        pass[at - pw] = '\0';
        p = at + 1;
    }
    colon = memchr(p, ':', (size_t)(end - p));
    if (colon != NULL) {
        v = strtol(colon + 1, &e, 10);
        if (e != end || v <= 0 || v > 65535)
            return -1;
        *port = (int)v;
    } else {
        colon = end;
    }
    if (colon == p || (size_t)(colon - p) >= hostlen)
        return -1;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = '\0';
    return 0;
}

redisContext *etl_redis_connect(const char *redis_url)
{
    struct timeval tv = {2, 0};
    redisContext *c = NULL;
    redisReply *r = NULL;
    char host[256], pass[256];
    int port;

    if (parse_redis_url(redis_url, host, sizeof(host), &port, pass, sizeof(pass)) != 0) {
        log_warn("redis: cannot parse REDIS_URL");
        return NULL;
    }
    c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        log_warn("redis: %s:%d unreachable (%s)", host, port, c ? c->errstr : "no memory");
        goto fail;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK)
        goto fail;
    if (pass[0] != '\0') {
        r = redisCommand(c, "AUTH %s", pass);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            log_warn("redis: AUTH failed");
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

int etl_publish_version(const char *redis_url, long long version)
{
    redisContext *c = etl_redis_connect(redis_url);
    redisReply *r = NULL;
    int rc = -1;

    if (c == NULL) {
        log_warn("load: version %lld not published; servers will poll it", version);
        goto out;
    }
    r = redisCommand(c, "PUBLISH %s %lld", ETL_VERSION_CHANNEL, version);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        log_warn("load: redis PUBLISH failed (%s); servers will poll version %lld",
                 r ? r->str : c->errstr, version);
        goto out;
    }
    log_info("load: published version %lld on %s (%lld subscribers)", version, ETL_VERSION_CHANNEL,
             r->type == REDIS_REPLY_INTEGER ? r->integer : 0LL);
    rc = 0;
out:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return rc;
}
