/*
 * Finding districts by PIN, name and position; see geo.h. A PIN is a binary search in the
 * directory's sorted PIN table; a name is the search index; a position is a scan of the
 * districts' points (a few hundred for all India, microseconds).
 */
#include "data/geo.h"

#include <math.h>
#include <string.h>

#include "text/pin.h"

#define EARTH_KM 6371.0088

int geo_has_data(const struct dir_district *row)
{
    return row != NULL && row->summary[I18N_EN] != NULL;
}

size_t geo_pin(const struct directory *d, int pin, const struct dir_district **rows, double *shares,
               size_t max)
{
    size_t lo = 0, hi, n = 0, i;

    if (d == NULL || d->npins == 0)
        return 0;
    hi = d->npins;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (d->pins[mid].pin < pin)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = lo; i < d->npins && d->pins[i].pin == pin; i++, n++) {
        if (n >= max)
            continue;
        if (rows != NULL)
            rows[n] = &d->rows[d->pins[i].row];
        if (shares != NULL)
            shares[n] = d->pins[i].share;
    }
    return n;
}

void geo_lookup(const struct directory *d, const char *q, struct geo_lookup *out)
{
    struct search_result res[SEARCH_MAX_RESULTS];
    const struct dir_district *rows[GEO_MAX_MATCHES];
    double shares[GEO_MAX_MATCHES];
    size_t n = 0, i;

    memset(out, 0, sizeof(*out));
    if (d == NULL || q == NULL)
        return;
    out->pin = pin_parse(q, strlen(q));
    if (out->pin != 0) {
        n = geo_pin(d, out->pin, rows, shares, GEO_MAX_MATCHES);
        if (n > GEO_MAX_MATCHES)
            n = GEO_MAX_MATCHES;
        for (i = 0; i < n; i++) {
            out->m[i].row = rows[i];
            out->m[i].score = shares[i];
            if (shares[i] >= GEO_PIN_CHOICE_SHARE || i == 0)
                out->close = i + 1;
        }
        out->n = n;
        return;
    }
    if (search_find_memo(d->memo, d->index, q, res, SEARCH_MAX_RESULTS, &n) != 0)
        return;
    for (i = 0; i < n; i++) {
        const struct dir_district *row = directory_get(d, res[i].state_code, res[i].district_code);

        if (row == NULL)
            continue;
        out->m[out->n].row = row;
        out->m[out->n].score = res[i].score;
        out->n++;
    }
    out->close = out->n == 0 ? 0 : search_is_ambiguous(res, n) ? search_close_count(res, n) : 1;
    if (out->close > out->n)
        out->close = out->n;
}

double geo_km(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
    double dp = (lat2 - lat1) * M_PI / 180, dl = (lon2 - lon1) * M_PI / 180;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

    return EARTH_KM * 2 * asin(sqrt(a));
}

const struct dir_district *geo_nearest(const struct directory *d, double lat, double lon,
                                       int with_data, double *km)
{
    const struct dir_district *best = NULL;
    double best_km = 0, k;
    size_t i;

    if (d == NULL)
        return NULL;
    for (i = 0; i < d->n; i++) {
        const struct dir_district *row = &d->rows[i];

        if (!row->has_point || (with_data && !geo_has_data(row)))
            continue;
        k = geo_km(lat, lon, row->lat, row->lon);
        /* On a tie the lower district code, as the SQL answer did. */
        if (best == NULL || k < best_km) {
            best = row;
            best_km = k;
        }
    }
    if (best != NULL && km != NULL)
        *km = best_km;
    return best;
}
