/*
 * The SMS record and the SMS out, for every channel: the table sms_messages (sql/006)
 * holds every message the service received or sent, whichever channel caused it (a
 * reply to an SMS, a summary a caller asked for on a call with key 2), so its stream is
 * declared here, below the channels, and each channel writes its records through
 * outbox_record(). outbox_send() sends a text to a number through Kannel's sendsms on the
 * worker's loop (gateway/sendsms.h) and records it.
 */
#ifndef HISAAB_CHANNEL_OUTBOX_H
#define HISAAB_CHANNEL_OUTBOX_H

#include "core/buf.h"
#include "gateway/sendsms.h"

struct config;

/* One sms_messages record: every field a string or NULL (SQL NULL). */
struct outbox_rec {
    const char *at;                /* UTC "YYYY-MM-DD HH:MM:SS.mmmZ" */
    const char *direction;         /* "in" | "out" */
    const char *gateway;           /* "kannel", "twilio", "generic", ... */
    const char *id;                /* the gateway's message id (with direction, unique), or NULL */
    const char *hash;              /* the number's keyed hash */
    const char *text;              /* as recorded (PIN codes already redacted by the caller) */
    int state_code, district_code; /* 0: none */
    const char *lang;
    const char *kind;
    int parts, coding; /* 0 parts: not given */
    long long latency_ms;
};

/* Per worker, before journal_init(): declare the stream. Returns 0 or -1. */
int outbox_register(void) WUR;

/* Per worker, with curlm started: the sendsms settings from cfg. */
void outbox_init(const struct config *cfg);

/* 1 when a sendsms URL is configured (outbox_send() can work). */
int outbox_can_send(void);

/* The sendsms settings (borrowed), for a channel that sends on its own. */
const struct sendsms_opts *outbox_sendsms(void);

/* Queue one record. Returns 0, or -1 when the journal did not take it (logged). */
int outbox_record(const struct outbox_rec *r) WUR;

/*
 * Send text to e164 and record it as r (r->text, parts and coding are filled in here;
 * r->direction is "out"). cb (may be NULL) gets the outcome once from the loop. Returns 0,
 * or -1 (nothing sent, cb never called): no sendsms URL, a text that is not a valid SMS,
 * or the transfer did not start.
 */
int outbox_send(const char *e164, const char *text, const struct outbox_rec *r, sendsms_done_fn cb,
                void *arg) WUR;

#endif
