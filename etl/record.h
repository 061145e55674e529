/*
 * The shape of one MGNREGA record ("District-wise MGNREGA Data at a Glance",
 * data.gov.in resource ee03643a-ee4c-48c2-ac30-9f2ff26ab722), raw and cleaned.
 *
 * Every format (CSV, JSON, XML) is parsed into a struct etl_raw_record: one borrowed
 * string slice per known field, found by the source's field name (case-insensitive).
 * etl_clean_record() then applies the data rules (numbers parsed with checks; NA, empty
 * and garbage become NULL; names trimmed; months matched on their first three letters;
 * percentages outside 0..100 become NULL with a flag) into a struct etl_row, which the
 * loader writes to Postgres. This header is the contract between the parsers (format.c,
 * clean.c) and the loader (load.c).
 */
#ifndef HISAAB_ETL_RECORD_H
#define HISAAB_ETL_RECORD_H

#include <stddef.h>

#include "core/buf.h"

enum etl_kind {
    ETL_KIND_TEXT,    /* kept as trimmed text */
    ETL_KIND_INT,     /* whole number >= 0 -> bigint */
    ETL_KIND_DECIMAL, /* decimal >= 0 -> numeric (exact text kept) */
    ETL_KIND_PERCENT, /* decimal in 0..100, else NULL + flag */
};

/* Field indexes, in the source's CSV column order. */
enum etl_field {
    ETL_F_FIN_YEAR = 0,
    ETL_F_MONTH,
    ETL_F_STATE_CODE,
    ETL_F_STATE_NAME,
    ETL_F_DISTRICT_CODE,
    ETL_F_DISTRICT_NAME,
    ETL_F_FIRST_FIGURE,    /* = Approved_Labour_Budget; figures run to ETL_F_REMARKS - 1 */
    ETL_F_PERSONDAYS = 14, /* Persondays_of_Central_Liability_so_far */
    ETL_F_REMARKS = 35,
    ETL_NFIELDS = 36
};

struct etl_field_def {
    const char *source_name; /* as in the source, e.g. "Persondays_of_Central_Liability_so_far" */
    const char *column;      /* monthly_figures column (lower case); NULL for key fields */
    enum etl_kind kind;
};

/* The 36 fields, indexed by enum etl_field. */
extern const struct etl_field_def etl_fields[ETL_NFIELDS];

/* Index of a source field name (case-insensitive, surrounding spaces ignored), or -1. */
int etl_field_index(struct slice name);

/* One record as parsed: borrowed slices into the parser's buffer. A field that was absent
 * has ptr == NULL. Valid only during the callback that receives it. */
struct etl_raw_record {
    struct slice v[ETL_NFIELDS];
};

/* Called once per record by the format parsers. Return 0 to go on, -1 to stop parsing. */
typedef int (*etl_record_fn)(void *arg, const struct etl_raw_record *rec);

#define ETL_MAX_NAME 96
#define ETL_MAX_VALUE 40
#define ETL_MAX_REMARKS 256

/* A cleaned record. Figures are canonical text ready for Postgres, or NULL. */
struct etl_row {
    char fin_year[10];                /* "2024-2025" */
    int fy_start;                     /* 2024 */
    int month;                        /* calendar month 1..12 */
    int fy_month;                     /* April = 1 ... March = 12 */
    int state_code;                   /* > 0 */
    int district_code;                /* > 0 */
    char state_name[ETL_MAX_NAME];    /* trimmed, as in the source */
    char district_name[ETL_MAX_NAME]; /* trimmed, as in the source */
    long long persondays;             /* Persondays_of_Central_Liability_so_far, -1 when NULL */
    /* For each figure field i (ETL_F_FIRST_FIGURE <= i <= ETL_F_REMARKS): value text, or
     * is_null[i] = 1. Remarks of "NA" are NULL. */
    char value[ETL_NFIELDS][ETL_MAX_VALUE];
    char remarks[ETL_MAX_REMARKS];
    unsigned char is_null[ETL_NFIELDS];
    /* Set when a value was refused (e.g. percentage out of range): the raw text is in
     * flag_raw[i] (truncated) and flag_problem[i] names the problem. */
    unsigned char flagged[ETL_NFIELDS];
    char flag_raw[ETL_NFIELDS][ETL_MAX_VALUE];
    const char *flag_problem[ETL_NFIELDS];
};

/*
 * Clean one raw record into *row. Returns 0 when the record is usable, -1 when a key
 * field (fin_year, month, state code, district code, district name) is missing or
 * invalid, with a short reason in `why` (static string) if why != NULL.
 */
int etl_clean_record(const struct etl_raw_record *raw, struct etl_row *row, const char **why)
    __attribute__((warn_unused_result));

/* Month name to calendar month 1..12 from its first three letters, case-insensitive
 * ("Dec", "December", "july", " Sep "); 0 if not a month. */
int etl_parse_month(struct slice s);

/* "2024-2025" -> 2024 (the second year must be the first + 1); -1 if invalid. */
int etl_parse_fin_year(struct slice s);

/* Strict number parsing of a whole trimmed slice. Return 0 and set *out, or -1 for NA,
 * empty, garbage, negative, or out of range. */
int etl_parse_int(struct slice s, long long *out) __attribute__((warn_unused_result));
int etl_parse_decimal(struct slice s, double *out) __attribute__((warn_unused_result));

/* Calendar month -> financial-year month (April = 1, March = 12). */
int etl_fy_month(int month);

#endif
