/*
 * The district directory: one per worker, shared by the API and every channel. It holds
 * every district (codes, names in English and Hindi, state names, point, the search
 * index over names, Hindi names and aliases, former names included) and every district's
 * latest figures: the API's summary JSON in both languages, rendered by Postgres, and the
 * same figures as plain values (text/summary.h) for replies. So any channel answers any
 * district from memory, also while Postgres is down; a few MB for all of India.
 *
 * Besides the districts with figures (the NREGA-coded `districts` table), it holds every
 * other district of the LGD reference (id unknown, no figures) so that any place in India
 * is found and answered honestly, and the PIN code table (ref_pincodes: PIN -> districts
 * with their share of its post offices). Finding by PIN, name or position: data/geo.h.
 *
 * It is built from Postgres in pages (DIRECTORY_PAGE districts per query, so no query
 * outlives the backend timeout however large the country) whenever the data version
 * (data/version.h) moves, when none is built yet (retried with a capped backoff while
 * Postgres is away), and at least every DIRECTORY_REFRESH_S seconds (so `stale` in a
 * summary is never more than that late). A new directory replaces the old one whole,
 * between two events of the loop: a request sees one version, never a mix. Listeners
 * (the API's cache) hear of each new directory.
 *
 * Everything handed out is borrowed from the current directory and valid until the
 * worker's loop runs again (a rebuild frees the old one only after a listener round,
 * from the loop): copy what must outlive a callback.
 */
#ifndef HISAAB_DATA_DIRECTORY_H
#define HISAAB_DATA_DIRECTORY_H

#include <stddef.h>

#include "core/buf.h"
#include "text/i18n.h"
#include "text/search.h"
#include "text/summary.h"

struct event_base;

#define DIRECTORY_PAGE 250       /* districts per build query */
#define DIRECTORY_PIN_PAGE 20000 /* PIN code rows per build query */
#define DIRECTORY_REFRESH_S 3600 /* rebuild at least this often */
#define DIRECTORY_LISTENERS 8

struct dir_district {
    /* NREGA codes (the ids of every endpoint); for a district known only from the LGD
     * reference (no figures loaded for its state) the negated LGD codes, and has_id 0. */
    int state_code, district_code;
    int has_id;
    int lgd_code;    /* LGD district code, 0 when not crosswalked */
    int nrega_state; /* NREGA state code (also for reference-only rows when known), or 0 */
    const char *name[I18N_NLANGS]; /* display name; the Hindi one falls back to English */
    int has_hindi_name;
    const char *state[I18N_NLANGS]; /* state's name; Hindi falls back to English */
    char state_short[16];           /* "MP" for choices in short replies */
    int has_point;
    double lat, lon;
    /* The API's summary data (district_store_summary()'s JSON) per language, or NULL when
     * the district has no figures. */
    const char *summary[I18N_NLANGS];
    size_t summary_len[I18N_NLANGS];
    int has_facts;              /* facts parsed (only with a summary) */
    struct summary_facts facts; /* the same figures as values */
};

/* One district of a PIN code: rows[row] holds share of the PIN's post offices. */
struct dir_pin {
    int pin;
    unsigned row;
    float share;
};

struct directory {
    long long version;          /* data version it was built for */
    int loaded;                 /* any figures loaded at all (else the API says no_data) */
    size_t n;                   /* districts */
    struct dir_district *rows;  /* sorted by district_code, then state_code */
    struct search_index *index; /* every district, for search_find() */
    struct search_memo *memo;   /* this worker's answers from index (search_find_memo()) */
    struct dir_pin *pins;       /* sorted by PIN, then share descending (data/geo.h) */
    size_t npins;
    unsigned *by_lgd; /* row indices sorted by lgd_code (rows without one left out) */
    size_t nlgd;
    long long built_ms; /* monotonic ms */
};

/* Per worker, after data_version_init(): build now and on every new data version.
 * Returns 0 or -1 (listener or timer not set up). */
int directory_init(struct event_base *base, long long max_age_s) WUR;

/* Per worker, when stopping. */
void directory_exit(void);

/* The current directory, or NULL before the first build. */
const struct directory *directory_current(void);

/* A district by code (NREGA district codes are unique; on a tie the lowest state code),
 * or NULL. d may be NULL (then NULL). */
const struct dir_district *directory_find(const struct directory *d, int district_code);

/* The district of a search result (state and district code), or NULL. */
const struct dir_district *directory_get(const struct directory *d, int state_code,
                                         int district_code);

/* Called with each new directory (borrowed, as above). */
typedef void (*directory_fn)(void *arg, const struct directory *d);
int directory_listen(directory_fn fn, void *arg) WUR;

/*
 * Called once when a directory exists: at once (from the loop) when one does, else when
 * the first is built, or with NULL when the worker stops first. For requests that came
 * before the first build. Returns 0, or -1 (too many waiting: answer without it).
 */
int directory_when_ready(directory_fn fn, void *arg) WUR;

/* "Madhya Pradesh" -> "MP", "Jammu And Kashmir" -> "JK"; a one-word name is clipped to
 * 12 characters. Into out (outlen bytes). Public for the unit tests. */
void directory_state_short(const char *name, char *out, size_t outlen);

#endif
