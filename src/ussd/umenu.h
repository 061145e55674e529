/*
 * The USSD menu, one for every gateway style, as a pure state machine (like the voice
 * flow): given the session's state and what the caller sent on this screen, it writes the
 * next screen and says what to remember, what to send and whether the session ends. No
 * I/O: the channel (ussd.h) does the rest, the gateways' formats are in gateway/ussd.h.
 *
 *   MAIN       1 the remembered district (only when there is one), 2 PIN code,
 *              3 district name, 4 by state, 5 language
 *   PIN        a 6-digit PIN code: its district, or a choice when it covers several
 *   NAME       a name, as the SMS channel searches it: a district, or up to 5 choices
 *   STATES     the states with figures, in pages (98 next, 0 back)
 *   DISTRICTS  one state's districts, in pages, alphabetical in the screen's script
 *   CHOICES    districts by digit (a PIN's, a name's)
 *   SUMMARY    the district's figures (the SMS summary's), 1 by SMS, 0 main menu
 *   LANG       1 Hindi in Devanagari, 2 English, 3 Hindi in Latin letters
 *
 * Wrong input: the same screen again, after one line saying what to press. A session
 * starts in romanised Hindi (every phone shows it), or in English when the caller chose
 * English before on any channel; Devanagari only when chosen on this menu. Every screen
 * fits the limit of its coding (env): lists are cut into pages that fit.
 *
 * The state is kept between two requests by the channel as a short query string
 * (umenu_encode()/umenu_decode()).
 */
#ifndef HISAAB_USSD_UMENU_H
#define HISAAB_USSD_UMENU_H

#include <stddef.h>

#include "core/buf.h"
#include "data/directory.h"
#include "text/i18n.h"

/* Languages of the screens: the index of each in the wording set (umenu_lang_codes). */
enum umenu_lang { UL_HL = 0, UL_HI, UL_EN, UL_NLANGS };

#define UMENU_CHOICES 5       /* districts offered by digit */
#define UMENU_PAGE_MAX 9      /* items of one page (keys 1-9) */
#define UMENU_STEPS_MAX 60    /* a session ends after this many steps */
#define UMENU_SCREEN_MAX 1024 /* bytes of one screen */
#define UMENU_GSM_LIMIT 182   /* GSM-7 characters of a screen */
#define UMENU_UCS2_LIMIT 80   /* UCS-2 characters of a screen (default; gateways differ) */

enum umenu_screen {
    UM_START = 0,
    UM_MAIN,
    UM_PIN,
    UM_NAME,
    UM_STATES,
    UM_DISTRICTS,
    UM_CHOICES,
    UM_SUMMARY,
    UM_LANG,
    UM_END
};

struct umenu_state {
    enum umenu_screen screen;
    enum umenu_lang lang;
    int step;                      /* screens answered so far */
    int page;                      /* of a list or a summary */
    int list_state;                /* DISTRICTS: the state's code */
    int state_code, district_code; /* SUMMARY: the district */
    int nchoices;
    int choice_state[UMENU_CHOICES], choice_code[UMENU_CHOICES];
};

/* What the menu may know. */
struct umenu_env {
    const struct directory *dir;  /* NULL: not built yet (the menu says sorry) */
    const struct i18n_set *words; /* the wording set, languages as enum umenu_lang */
    int has_lang;                 /* remembered (any channel) */
    enum i18n_lang lang;
    int has_district; /* remembered (any channel) */
    int state_code, district_code;
    size_t gsm_limit, ucs2_limit; /* 0: the defaults above */
};

struct umenu_out {
    struct buf screen; /* the screen's text (no CON/END); the caller inits and frees it */
    int end;           /* the session ends with this screen */
    /* Side effects for the channel: */
    int remember_lang; /* the caller chose lang (as an SMS/voice language) */
    enum i18n_lang lang;
    int remember_district; /* a district's summary is shown: state_code, district_code */
    int send_sms;          /* send that district's summary by SMS in lang */
    int state_code, district_code;
    int summary;       /* a summary is shown at this step */
    int pin_step;      /* the input was a PIN code (never recorded) */
    int wrong;         /* the input was not understood */
    const char *event; /* what happened, for the record: "menu", "pin", "summary", ... */
};

/* The wording set's language codes, in enum umenu_lang order. */
extern const char *const umenu_lang_codes[UL_NLANGS];

/* Init out's screen buffer (UMENU_SCREEN_MAX cap); free with umenu_out_free(). */
void umenu_out_init(struct umenu_out *out);
void umenu_out_free(struct umenu_out *out);

/*
 * One step: st (the state before; updated in place), input (what was sent on the screen;
 * ignored at UM_START), env -> out. Returns 0, or -1 when st is not a valid state or the
 * screen cannot be rendered (then out holds a polite END).
 */
int umenu_step(struct umenu_state *st, const char *input, const struct umenu_env *env,
               struct umenu_out *out);

/* The state as a query string appended to out, and back. Returns 0 or -1. */
int umenu_encode(const struct umenu_state *st, struct buf *out) WUR;
int umenu_decode(const char *s, size_t len, struct umenu_state *st) WUR;

/* A screen's name for records ("main", "pin", ...). */
const char *umenu_screen_name(enum umenu_screen s);

/* How long text is on a handset: *ucs2 1 when it needs UCS-2; returns characters
 * (GSM-7 septets or UTF-16 units), or (size_t)-1 for invalid UTF-8. */
size_t umenu_screen_len(const char *text, size_t len, int *ucs2);

#endif
