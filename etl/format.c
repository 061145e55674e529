/*
 * The three input formats of the MGNREGA resource (see format.h): CSV parsed in place by
 * hand (RFC 4180; fast enough for a national file of 10^5..10^6 rows: no allocation per
 * field, one reused scratch buffer for quoted fields with doubled quotes), JSON with
 * jansson and XML with libxml2 (API pages, a few thousand records at most). Every parser
 * maps field names with etl_field_index() and hands each record to the caller's callback
 * as borrowed slices, which stay valid only during that call.
 */
#include "format.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* A CSV header wider than this is not the MGNREGA resource. */
#define CSV_MAX_COLUMNS 1024
/* Bound on the unescaped text of the quoted fields of one CSV row. */
#define CSV_MAX_SCRATCH (16u * 1024 * 1024)
/* Bound on one JSON or XML document (an API page is a few MB; libxml2 takes an int). Both
 * are parsed into a tree several times the input's size. */
#define TREE_MAX_INPUT (512u * 1024 * 1024)

static const char *const format_names[] = {"csv", "json", "xml"};

/* The key fields a header or record must name for its records to be usable. */
static const enum etl_field key_fields[] = {ETL_F_FIN_YEAR, ETL_F_MONTH, ETL_F_STATE_CODE,
                                            ETL_F_DISTRICT_CODE, ETL_F_DISTRICT_NAME};

int etl_format_from_name(const char *name, enum etl_format *out)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcasecmp(name, format_names[i]) == 0) {
            *out = (enum etl_format)i;
            return 0;
        }
    }
    return -1;
}

const char *etl_format_name(enum etl_format fmt)
{
    if ((unsigned)fmt >= sizeof(format_names) / sizeof(format_names[0]))
        return "unknown";
    return format_names[fmt];
}

/* ---------------------------------------------------------------------------------- */
/* CSV                                                                                */

enum csv_end { CSV_COMMA, CSV_NEWLINE, CSV_EOF };

struct csv {
    const char *p;
    const char *end;
    struct buf scratch; /* unescaped quoted fields of the current row */
    size_t line;        /* 1-based line of the row being read, for messages */
};

/*
 * Read one field at c->p. Sets *out to the field text (a slice of the input, or
 * *scratch_off to its offset in c->scratch when doubled quotes had to be undone and
 * `want` is set), *end to what ended it. Returns 0, or -1 with a message.
 */
static int csv_field(struct csv *c, int want, struct slice *out, size_t *scratch_off,
                     enum csv_end *end, char *err, size_t errlen)
{
    const char *p = c->p, *e = c->end, *start, *q;
    int doubled = 0;

    *scratch_off = SIZE_MAX;
    if (p < e && *p == '"') {
        start = ++p;
        for (;;) {
            q = memchr(p, '"', (size_t)(e - p));
            if (q == NULL) {
                snprintf(err, errlen,
                         "csv: quoted field opened on line %zu never closed "
                         "(truncated input)",
                         c->line);
                return -1;
            }
            if (q + 1 < e && q[1] == '"') {
                doubled = 1;
                p = q + 2;
                continue;
            }
            break;
        }
        out->ptr = start;
        out->len = (size_t)(q - start);
        for (const char *k = start; k < q; k++)
            c->line += *k == '\n';
        p = q + 1;
        if (doubled && want) {
            size_t off = c->scratch.len;
            const char *k = start;
            while (k < q) {
                const char *dq = memchr(k, '"', (size_t)(q - k));
                size_t n = dq ? (size_t)(dq - k) + 1 : (size_t)(q - k);
                if (buf_append(&c->scratch, k, n) != 0) {
                    snprintf(err, errlen, "csv: row at line %zu too large", c->line);
                    return -1;
                }
                k += n + (dq ? 1 : 0); /* skip the second quote of each pair */
            }
            out->ptr = NULL;
            out->len = c->scratch.len - off;
            *scratch_off = off;
        }
        if (p == e) {
            *end = CSV_EOF;
        } else if (*p == ',') {
            *end = CSV_COMMA;
            p++;
        } else if (*p == '\n') {
            *end = CSV_NEWLINE;
            p++;
        } else if (*p == '\r' && (p + 1 == e || p[1] == '\n')) {
            *end = CSV_NEWLINE;
            p += p + 1 == e ? 1 : 2;
        } else {
            snprintf(err, errlen, "csv: text after a closing quote on line %zu", c->line);
            return -1;
        }
        c->p = p;
        return 0;
    }

    start = p;
    while (p < e && *p != ',' && *p != '\n')
        p++;
    out->ptr = start;
    out->len = (size_t)(p - start);
    if (p == e) {
        *end = CSV_EOF;
    } else {
        *end = *p == ',' ? CSV_COMMA : CSV_NEWLINE;
        if (*end == CSV_NEWLINE && out->len > 0 && start[out->len - 1] == '\r')
            out->len--;
        p++;
    }
    c->p = p;
    return 0;
}

static int parse_csv(const char *data, size_t len, etl_record_fn fn, void *arg,
                     struct etl_page_info *info, char *err, size_t errlen)
{
    struct csv c;
    struct etl_raw_record rec;
    short map[CSV_MAX_COLUMNS];
    size_t off[ETL_NFIELDS];
    int seen[ETL_NFIELDS] = {0};
    size_t ncols = 0, col, k;
    enum csv_end end;
    struct slice f;
    int rc = -1, idx;

    c.p = data;
    c.end = data + len;
    c.line = 1;
    buf_init(&c.scratch, CSV_MAX_SCRATCH);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    if (c.p == c.end) {
        snprintf(err, errlen, "csv: empty input (no header row)");
        goto out;
    }

    /* Header: map each column to a field; unknown and repeated columns are ignored. */
    do {
        if (csv_field(&c, 1, &f, &off[0], &end, err, errlen) != 0)
            goto out;
        if (ncols == CSV_MAX_COLUMNS) {
            snprintf(err, errlen, "csv: header has more than %d columns", CSV_MAX_COLUMNS);
            goto out;
        }
        if (off[0] != SIZE_MAX) {
            f.ptr = c.scratch.data + off[0];
        }
        idx = etl_field_index(f);
        if (idx >= 0 && seen[idx])
            idx = -1;
        if (idx >= 0)
            seen[idx] = 1;
        map[ncols++] = (short)idx;
    } while (end == CSV_COMMA);
    buf_reset(&c.scratch);
    for (k = 0; k < sizeof(key_fields) / sizeof(key_fields[0]); k++) {
        if (!seen[key_fields[k]]) {
            snprintf(err, errlen, "csv: header has no %s column",
                     etl_fields[key_fields[k]].source_name);
            goto out;
        }
    }

    while (c.p < c.end) {
        c.line++;
        memset(&rec, 0, sizeof(rec));
        for (k = 0; k < ETL_NFIELDS; k++)
            off[k] = SIZE_MAX;
        buf_reset(&c.scratch);
        col = 0;
        int blank = 0;
        do {
            int want = col < ncols && map[col] >= 0;
            const char *fstart = c.p;
            size_t so;
            if (csv_field(&c, want, &f, &so, &end, err, errlen) != 0)
                goto out;
            if (col == 0 && end != CSV_COMMA && f.len == 0 && *fstart != '"')
                blank = 1;
            if (want) {
                rec.v[map[col]] = f;
                off[map[col]] = so;
            }
            col++;
        } while (end == CSV_COMMA);
        if (blank)
            continue; /* an empty line, e.g. a trailing blank line */
        if (end == CSV_EOF && col < ncols) {
            snprintf(err, errlen,
                     "csv: last row (line %zu) has %zu of %zu columns and no "
                     "newline (truncated input)",
                     c.line, col, ncols);
            goto out;
        }
        /* Fields undone into scratch get their pointers now that it no longer moves. */
        for (k = 0; k < ETL_NFIELDS; k++) {
            if (off[k] != SIZE_MAX)
                rec.v[k].ptr = c.scratch.data + off[k];
        }
        info->records++;
        if (fn(arg, &rec) != 0) {
            snprintf(err, errlen, "stopped by the caller at record %lld", info->records);
            goto out;
        }
    }
    rc = 0;
out:
    buf_free(&c.scratch);
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* Envelope numbers                                                                   */

/* "total"/"count" as the API sends them: a number or a string of digits. */
static int count_from_text(const char *s, size_t n, long long *out)
{
    struct slice t = slice_trim((struct slice){s, n});
    return etl_parse_int(t, out);
}

/* ---------------------------------------------------------------------------------- */
/* JSON                                                                               */

/* Scratch text for the numbers of one JSON record. */
struct json_numbers {
    char text[ETL_NFIELDS][32];
};

/* The text of a JSON real that reads back to the same double: the shortest of %.15g,
 * %.16g, %.17g, so 245.41163886348 stays "245.41163886348". */
static void real_text(double d, char *out, size_t cap)
{
    int prec;

    for (prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

static int json_count(json_t *env, const char *key, long long *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(env, key);
    int rc = -1;

    *out = -1;
    if (v == NULL || json_is_null(v)) {
        rc = 0;
    } else if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        rc = 0;
    } else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e15 &&
               json_real_value(v) == (double)(long long)json_real_value(v)) {
        *out = (long long)json_real_value(v);
        rc = 0;
    } else if (json_is_string(v) &&
               count_from_text(json_string_value(v), json_string_length(v), out) == 0) {
        rc = 0;
    }
    if (rc != 0)
        snprintf(err, errlen, "json: envelope \"%s\" is not a count", key);
    return rc;
}

static int json_record(json_t *obj, size_t n, struct etl_raw_record *rec, struct json_numbers *nums,
                       char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    if (!json_is_object(obj)) {
        snprintf(err, errlen, "json: record %zu is not an object", n + 1);
        return -1;
    }
    memset(rec, 0, sizeof(*rec));
    json_object_foreach(obj, key, v)
    {
        int i = etl_field_index((struct slice){key, strlen(key)});
        if (i < 0)
            continue;
        switch (json_typeof(v)) {
        case JSON_STRING:
            rec->v[i].ptr = json_string_value(v);
            rec->v[i].len = json_string_length(v);
            break;
        case JSON_INTEGER:
            snprintf(nums->text[i], sizeof(nums->text[i]), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
            rec->v[i] = slice_from_cstr(nums->text[i]);
            break;
        case JSON_REAL:
            real_text(json_real_value(v), nums->text[i], sizeof(nums->text[i]));
            rec->v[i] = slice_from_cstr(nums->text[i]);
            break;
        default:
            /* null, booleans, arrays, objects: present but no usable value. */
            rec->v[i] = slice_from_cstr("");
            break;
        }
    }
    return 0;
}

static int parse_json(const char *data, size_t len, etl_record_fn fn, void *arg,
                      struct etl_page_info *info, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL, *records;
    struct etl_raw_record rec;
    struct json_numbers *nums = NULL;
    size_t i;
    int rc = -1;

    if (len > TREE_MAX_INPUT) {
        snprintf(err, errlen, "json: input of %zu bytes is too large", len);
        goto out;
    }
    /* Flags 0: the EOF check stays on (trailing garbage is an error) and integers stay
     * integers, so their text is exact. */
    root = json_loadb(data, len, 0, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "json: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        goto out;
    }
    if (json_is_array(root)) {
        records = root;
    } else if (json_is_object(root)) {
        records = json_object_get(root, "records");
        if (!json_is_array(records)) {
            json_t *msg = json_object_get(root, "message");
            snprintf(err, errlen, "json: no \"records\" array in the envelope%s%.200s",
                     json_is_string(msg) ? ": " : "",
                     json_is_string(msg) ? json_string_value(msg) : "");
            goto out;
        }
        if (json_count(root, "total", &info->total, err, errlen) != 0 ||
            json_count(root, "count", &info->count, err, errlen) != 0)
            goto out;
    } else {
        snprintf(err, errlen, "json: top level is neither an object nor an array");
        goto out;
    }
    nums = malloc(sizeof(*nums));
    if (nums == NULL) {
        snprintf(err, errlen, "json: out of memory");
        goto out;
    }
    for (i = 0; i < json_array_size(records); i++) {
        if (json_record(json_array_get(records, i), i, &rec, nums, err, errlen) != 0)
            goto out;
        info->records++;
        if (fn(arg, &rec) != 0) {
            snprintf(err, errlen, "stopped by the caller at record %lld", info->records);
            goto out;
        }
    }
    rc = 0;
out:
    free(nums);
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* XML                                                                                */

static int xml_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *xml_child(xmlNode *parent, const char *name)
{
    xmlNode *n;

    for (n = parent->children; n != NULL; n = n->next) {
        if (xml_is(n, name))
            return n;
    }
    return NULL;
}

/* The text of an element: its one text node in place, or a malloc'd concatenation
 * stored in *owned (caller frees with xmlFree). */
static struct slice xml_text(xmlNode *el, xmlChar **owned)
{
    xmlNode *c = el->children;

    *owned = NULL;
    if (c == NULL)
        return slice_from_cstr("");
    if (c->next == NULL && (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE))
        return slice_from_cstr(c->content ? (const char *)c->content : "");
    *owned = xmlNodeGetContent(el);
    return slice_from_cstr(*owned ? (const char *)*owned : "");
}

static int xml_count(xmlNode *root, const char *name, long long *out, char *err, size_t errlen)
{
    xmlNode *el = xml_child(root, name);
    xmlChar *owned;
    struct slice t;
    int rc = 0;

    *out = -1;
    if (el == NULL)
        return 0;
    t = xml_text(el, &owned);
    if (etl_parse_int(t, out) != 0) {
        snprintf(err, errlen, "xml: <%s> is not a count", name);
        rc = -1;
    }
    xmlFree(owned);
    return rc;
}

static int parse_xml(const char *data, size_t len, etl_record_fn fn, void *arg,
                     struct etl_page_info *info, char *err, size_t errlen)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlNode *root, *records, *item, *f;
    xmlChar *owned[ETL_NFIELDS];
    struct etl_raw_record rec;
    int rc = -1, i;

    memset(owned, 0, sizeof(owned));
    if (len > TREE_MAX_INPUT) {
        snprintf(err, errlen, "xml: input of %zu bytes is too large", len);
        goto out;
    }
    xmlInitParser();
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        snprintf(err, errlen, "xml: out of memory");
        goto out;
    }
    /* No XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network, no
     * XML_PARSE_HUGE (libxml2's size and depth limits stay on), no recovery. */
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        snprintf(err, errlen, "xml: %s (line %d)", e && e->message ? e->message : "not well-formed",
                 e ? e->line : 0);
        for (char *p = err; *p; p++) {
            if (*p == '\n')
                *p = ' ';
        }
        /* libxml2's message ends in a newline: "...item\n (line 1)" reads badly. */
        for (char *p = strstr(err, "  (line"); p != NULL; p = NULL)
            memmove(p, p + 1, strlen(p + 1) + 1);
        goto out;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        /* The API never sends a DTD; refusing it rules out entity tricks. */
        snprintf(err, errlen, "xml: documents with a DTD are refused");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL) {
        snprintf(err, errlen, "xml: no root element");
        goto out;
    }
    records = xml_is(root, "records") ? root : xml_child(root, "records");
    if (records == NULL) {
        snprintf(err, errlen, "xml: no <records> element");
        goto out;
    }
    if (xml_count(root, "total", &info->total, err, errlen) != 0 ||
        xml_count(root, "count", &info->count, err, errlen) != 0)
        goto out;

    for (item = records->children; item != NULL; item = item->next) {
        if (item->type != XML_ELEMENT_NODE)
            continue;
        memset(&rec, 0, sizeof(rec));
        for (f = item->children; f != NULL; f = f->next) {
            if (f->type != XML_ELEMENT_NODE)
                continue;
            i = etl_field_index(slice_from_cstr((const char *)f->name));
            if (i < 0 || rec.v[i].ptr != NULL)
                continue;
            rec.v[i] = xml_text(f, &owned[i]);
        }
        info->records++;
        if (fn(arg, &rec) != 0) {
            snprintf(err, errlen, "stopped by the caller at record %lld", info->records);
            goto out;
        }
        for (i = 0; i < ETL_NFIELDS; i++) {
            xmlFree(owned[i]);
            owned[i] = NULL;
        }
    }
    rc = 0;
out:
    for (i = 0; i < ETL_NFIELDS; i++)
        xmlFree(owned[i]);
    if (doc != NULL)
        xmlFreeDoc(doc);
    if (ctxt != NULL)
        xmlFreeParserCtxt(ctxt);
    return rc;
}

/* ---------------------------------------------------------------------------------- */

int etl_parse(enum etl_format fmt, const char *data, size_t len, etl_record_fn fn, void *arg,
              struct etl_page_info *info, char *err, size_t errlen)
{
    struct etl_page_info dummy;
    char errdummy[8];

    if (info == NULL)
        info = &dummy;
    if (err == NULL || errlen == 0) {
        err = errdummy;
        errlen = sizeof(errdummy);
    }
    info->total = -1;
    info->count = -1;
    info->records = 0;
    err[0] = '\0';
    if (data == NULL)
        data = "";
    switch (fmt) {
    case ETL_FORMAT_CSV:
        return parse_csv(data, len, fn, arg, info, err, errlen);
    case ETL_FORMAT_JSON:
        return parse_json(data, len, fn, arg, info, err, errlen);
    case ETL_FORMAT_XML:
        return parse_xml(data, len, fn, arg, info, err, errlen);
    }
    snprintf(err, errlen, "unknown format %d", (int)fmt);
    return -1;
}
