/*
 * Parsers for the three formats data.gov.in serves the MGNREGA resource in, and that
 * local files come in: CSV (the API's CSV export: a header row of field names), JSON (the
 * API envelope {"total":N,"count":N,"records":[{field:value,...}]}, or a bare array of
 * records) and XML (<result>...<total>N</total>...<records><item><field>v</field>...
 * </item></records></result>). Each record is handed to a callback as a struct
 * etl_raw_record (record.h). JSON is parsed with jansson and XML with libxml2.
 */
#ifndef HISAAB_ETL_FORMAT_H
#define HISAAB_ETL_FORMAT_H

#include <stddef.h>

#include "record.h"

enum etl_format { ETL_FORMAT_CSV = 0, ETL_FORMAT_JSON, ETL_FORMAT_XML };

/* "csv" / "json" / "xml" (case-insensitive) -> *out; returns 0 or -1. */
int etl_format_from_name(const char *name, enum etl_format *out)
    __attribute__((warn_unused_result));
const char *etl_format_name(enum etl_format fmt);

/* What an API page's envelope said; total/count are -1 when absent (files, CSV). */
struct etl_page_info {
    long long total;   /* "total": records matching the query on the server */
    long long count;   /* "count": records in this page */
    long long records; /* records actually parsed and handed to the callback */
};

/*
 * Parse a whole buffer (one API page or one file) and call fn for each record, in order.
 * Returns 0 on success; -1 if the input is malformed or truncated (an unterminated JSON
 * document, XML not well-formed, a CSV row cut short at end of input, a header without the
 * key fields) or if fn returned -1, with a short message in err. Records already handed
 * to fn before an error stay handed: callers that need all-or-nothing buffer them.
 */
int etl_parse(enum etl_format fmt, const char *data, size_t len, etl_record_fn fn, void *arg,
              struct etl_page_info *info, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
