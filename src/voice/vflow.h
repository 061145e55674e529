/*
 * The call flow of the voice channel, one for every provider and for both directions
 * (an inbound IVR call and the callback after a missed call), as a pure state machine:
 * given the call's state and what the caller pressed (or that nothing was pressed), it
 * says what to play, what to gather, what to remember and the next state. No I/O: the
 * channel (voice.h) does the rest, the providers' formats are in gateway/.
 *
 *   LANG    "1 Hindi, 2 English" (skipped when a language is remembered)
 *   OFFER   a remembered district: 1 to hear it, 2 for another
 *   PIN     the 6-digit PIN code, ending with #
 *   CHOOSE  a PIN covering several districts: one digit per district
 *   AFTER   the summary was played: 1 repeat, 2 by SMS, 3 another district, 9 goodbye
 *
 * No input or a wrong key: the caller is told so and asked again, VFLOW_RETRIES times,
 * then a polite goodbye. A callback with a remembered district plays it straight away
 * (after the language question when no language is remembered); without one it asks for
 * the PIN.
 *
 * The state travels with the call (in the provider's action URLs, or in the call store
 * for providers with fixed URLs) as a short query string: vflow_encode()/vflow_decode().
 */
#ifndef HISAAB_VOICE_VFLOW_H
#define HISAAB_VOICE_VFLOW_H

#include <stddef.h>

#include "core/buf.h"
#include "data/directory.h"
#include "text/i18n.h"

#define VFLOW_RETRIES 2     /* a prompt is asked again this often, then goodbye */
#define VFLOW_CHOICES 5     /* districts of one PIN offered by digit */
#define VFLOW_PLAY_MAX 48   /* items of one step */
#define VFLOW_STEPS_MAX 200 /* a call ends after this many steps */

enum vflow_stage { VF_START = 0, VF_LANG, VF_OFFER, VF_PIN, VF_CHOOSE, VF_AFTER, VF_END };

struct vflow_state {
    enum vflow_stage stage;
    int has_lang;
    enum i18n_lang lang;
    int tries;                     /* failed answers to the current prompt */
    int step;                      /* steps answered so far */
    int callback;                  /* the call is a callback after a missed call */
    int remembered;                /* the district below is the remembered one (until asked) */
    int state_code, district_code; /* the district chosen (0: none yet) */
    int nchoices;
    int choice_state[VFLOW_CHOICES], choice_code[VFLOW_CHOICES];
};

/* What the caller did at this step. */
struct vflow_input {
    const char *digits; /* the keys pressed ("" or NULL: none, the gather timed out) */
};

/* What the flow may know of the caller and the districts. */
struct vflow_env {
    const struct directory *dir; /* NULL: the directory is not built yet */
    int has_lang;                /* remembered (any channel) */
    enum i18n_lang lang;
    int has_district;
    int state_code, district_code;
};

enum vflow_item_kind { VI_CLIP, VI_SUMMARY };

struct vflow_item {
    enum vflow_item_kind kind;
    enum i18n_lang lang; /* the clip's language */
    const char *id;      /* VI_CLIP: a static clip id, or district_clip below */
    int district_code;   /* VI_CLIP of a district's name (id NULL), VI_SUMMARY's district */
    int state_code;
};

struct vflow_out {
    struct vflow_item play[VFLOW_PLAY_MAX];
    size_t nplay;
    int gather;         /* then wait for keys */
    int num_digits;     /* 1, or 6 for a PIN */
    int finish_on_hash; /* the PIN ends with # */
    int timeout_s;      /* for the first key */
    int hangup;         /* the call ends after playing */
    /* Side effects for the channel: */
    int remember_lang;     /* the caller chose st->lang */
    int remember_district; /* a district was chosen: st->state_code, district_code */
    int send_sms;          /* send st's district's summary by SMS */
    int summary;           /* a summary is played at this step */
    const char *event;     /* what happened, for the record: "lang", "pin", "repeat", ... */
    int pin_step;          /* the keys of this step were a PIN (never recorded) */
};

/*
 * One step: st (the state before; updated in place), in, env -> out. The first request of
 * a call is st->stage == VF_START (in is ignored). Returns 0, or -1 when st is not a
 * valid state (then out says a polite goodbye).
 */
int vflow_step(struct vflow_state *st, const struct vflow_input *in, const struct vflow_env *env,
               struct vflow_out *out);

/* The clip ids the flow may play (every one must exist in both languages), NULL-ended. */
extern const char *const vflow_clip_ids[];

/* The state as a query string ("s=3&l=hi&t=0&n=4&d=23.1752...") appended to out; decode
 * it back from the raw query (only the flow's own keys are read). Returns 0 or -1. */
int vflow_encode(const struct vflow_state *st, struct buf *out) WUR;
int vflow_decode(const char *query, size_t len, struct vflow_state *st) WUR;

/* A stage's name for records ("lang", "offer", ...). */
const char *vflow_stage_name(enum vflow_stage s);

#endif
