/*
 * Finding districts in the worker's directory (data/directory.h) the ways people name a
 * place: a PIN code, a name (any script, typos, former names: text/search.h) or a
 * position. The API and every channel use these, so a PIN, a renamed district or a place
 * outside the states with figures is understood the same way everywhere. Pure reads of a
 * directory: nothing is allocated, nothing is stored, nothing is logged (a PIN or a
 * position a person sends stays in the request).
 */
#ifndef HISAAB_DATA_GEO_H
#define HISAAB_DATA_GEO_H

#include <stddef.h>

#include "data/directory.h"

#define GEO_MAX_MATCHES SEARCH_MAX_RESULTS
/* A PIN's district counts as a choice of its own from this share of its post offices. */
#define GEO_PIN_CHOICE_SHARE 0.10

struct geo_match {
    const struct dir_district *row;
    double score; /* search score (0..1), or the PIN share */
};

/* What a query named. */
struct geo_lookup {
    int pin;      /* the query was this PIN code (0: a name) */
    size_t n;     /* matches, best first */
    size_t close; /* how many of the first are equally good: choices when > 1 */
    struct geo_match m[GEO_MAX_MATCHES];
};

/* 1 when the district has figures loaded (it has a summary). */
int geo_has_data(const struct dir_district *row);

/*
 * The districts of PIN pin in d, most post offices first: writes up to max rows and
 * their shares (may be NULL). Returns how many there are (0: unknown PIN).
 */
size_t geo_pin(const struct directory *d, int pin, const struct dir_district **rows, double *shares,
               size_t max);

/*
 * What q names in d: a PIN code (text/pin.h) gives its districts; anything else goes to
 * the name search. Fills *out (n = 0: nothing). A PIN's districts with at least
 * GEO_PIN_CHOICE_SHARE of its post offices count as choices; a name's, those the search
 * calls ambiguous.
 */
void geo_lookup(const struct directory *d, const char *q, struct geo_lookup *out);

/*
 * The district nearest to (lat, lon) in degrees (great-circle, haversine, R = 6371.0088
 * km) among those with a point; with_data limits it to districts with figures. *km gets
 * the distance. NULL when there is none.
 */
const struct dir_district *geo_nearest(const struct directory *d, double lat, double lon,
                                       int with_data, double *km);

/* Great-circle distance in km between two points in degrees. */
double geo_km(double lat1, double lon1, double lat2, double lon2);

#endif
