/*
 * What a voice provider's webhook delivers, once its own format is taken apart: the
 * provider's id for the call, who calls and which number, the keys pressed since the last
 * step, and (in status callbacks) how the call ended. Filled by twilio_voice.h, plivo.h,
 * exotel.h and vxml.h; read by the call flow. The voice analogue of message.h (which also
 * gives gateway_refuse() and struct gateway_error): the caller's number is as the provider
 * wrote it; the flow normalises and hashes it (channel/phone.h) and never keeps it in the
 * clear.
 *
 * Every value is checked on the way in: each field has a fixed size and a longer value is
 * refused (400), digits are only the keypad's 0-9 * # (Exotel's quoted "\"12\"" is
 * unquoted first), a duration is a whole number of seconds, and no value holds a NUL byte.
 */
#ifndef HISAAB_GATEWAY_VOICE_CALL_H
#define HISAAB_GATEWAY_VOICE_CALL_H

#include <stddef.h>

#include "core/buf.h"
#include "gateway/message.h"

#define VOICE_CALL_ID_MAX 72
#define VOICE_CALL_NUMBER_MAX 64
#define VOICE_CALL_DIGITS_MAX 32
#define VOICE_CALL_STATUS_MAX 32
#define VOICE_CALL_DURATION_MAX 86400 /* seconds; a longer duration is refused */

struct voice_call_in {
    const char *provider;               /* "twilio", "plivo", "exotel", "vxml" (static) */
    char call_id[VOICE_CALL_ID_MAX];    /* provider's id of the call; "" when none came */
    char from[VOICE_CALL_NUMBER_MAX];   /* the caller, raw; "" when none came */
    char to[VOICE_CALL_NUMBER_MAX];     /* the number called, raw; "" when none came */
    char digits[VOICE_CALL_DIGITS_MAX]; /* keys pressed (0-9 * #) as the provider
                                           reports them (the '#' that ended a PIN is
                                           left out by all but Exotel), "" for none */
    int has_digits;                     /* 1 when at least one key was pressed */
    char status[VOICE_CALL_STATUS_MAX]; /* the provider's word for the call's state
                                           ("completed", "no-answer", "noinput"), or "" */
    int duration_s;                     /* call length in seconds, -1 when not given */
};

/* The fields a provider's parameter can fill. */
enum voice_field {
    VOICE_FIELD_CALL_ID,
    VOICE_FIELD_FROM,
    VOICE_FIELD_TO,
    VOICE_FIELD_DIGITS,
    VOICE_FIELD_STATUS,
    VOICE_FIELD_DURATION,
};

/* A provider's parameter name for a field (both static). */
struct voice_field_name {
    enum voice_field field;
    const char *name;
};

/* A lookup of a decoded parameter by name, for voice_call_fill(): the value (borrowed until
 * the next call) or NULL when absent. Sets *bad (when not NULL) for a value that cannot be
 * read (over a cap, a NUL byte). */
typedef const char *(*voice_param_fn)(void *ctx, const char *name, int *bad);

/* Zero in, set its provider (static) and duration_s to -1. */
void voice_call_init(struct voice_call_in *in, const char *provider);

/*
 * Set field f of in from value (decoded, NUL-terminated). Digits lose one pair of
 * surrounding double quotes, then must be 0-9 * # only ("" is no key: has_digits stays
 * 0); a duration must be a whole number 0..VOICE_CALL_DURATION_MAX. Returns 0, or -1 with
 * *e set (400 "bad_parameter": too long for the field, not digits, not a duration); in is
 * then unchanged.
 */
int voice_call_set(struct voice_call_in *in, enum voice_field f, const char *value,
                   struct gateway_error *e) WUR;

/*
 * Fill in through get(ctx, name) from names[0..n) in order: the first name found for a
 * field sets it, later names for the same field are then not asked (so a table can give a
 * provider's preferred name first and an older one after). Returns 0, or -1 with *e set
 * (400, as voice_call_set(), also for a value get() could not read).
 */
int voice_call_fill(struct voice_call_in *in, voice_param_fn get, void *ctx,
                    const struct voice_field_name *names, size_t n, struct gateway_error *e) WUR;

/*
 * voice_call_fill() from a form body (application/x-www-form-urlencoded) and a raw query
 * string (either may be empty; query may be NULL): a name is looked up in the body first,
 * then in the query. Values are decoded with net/form.h and capped at 1 KiB.
 */
int voice_call_from_form(struct voice_call_in *in, const char *query, struct slice body,
                         const struct voice_field_name *names, size_t n,
                         struct gateway_error *e) WUR;

/*
 * 1 when key is NULL or "" (no check configured) or when the raw query holds key=<key>
 * exactly (compared in constant time), else 0. For the providers that do not sign their
 * requests: the URL configured at the provider carries ?key=<secret>.
 */
int voice_call_key_ok(const char *query, const char *key);

#endif
