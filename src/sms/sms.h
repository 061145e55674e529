/*
 * The inbound SMS channel (issue 4): three webhooks, one shared core.
 *
 *   /sms/kannel   Kannel sms-service get-url / post-url: from, to, text (%b), charset (%C),
 *                 coding (%c), id (%I). The reply is the body (text/plain; charset=UTF-8),
 *                 with X-Kannel-Coding: 2 when it needs UCS-2. An empty body (duplicate,
 *                 or a number silenced by its limit) sends nothing (omit-empty = true).
 *   /sms/twilio   form POST (MessageSid, From, To, Body) signed with X-Twilio-Signature
 *                 (HMAC-SHA1 of the URL and the sorted parameters, keyed with env
 *                 TWILIO_AUTH_TOKEN; 403 when missing or wrong); the reply is TwiML.
 *   /sms/generic  JSON POST for Indian aggregators; field names from kore.conf
 *                 (sms_json_from/to/text/id); replies {"reply": "...", "parts": [...],
 *                 "coding": 0|2}.
 *
 * The core, per message: the sender is normalised and hashed (phone.h) and never logged
 * or recorded in the clear; one Redis script does the dedupe (gateway + message id, SET NX
 * for 24 h), the per-number limit (INCR on an hour window) and fetches the number's
 * language; smscmd.h parses the text, search.h finds the district, district_store.h gives
 * the figures (rendered replies are cached per worker and data version), i18n.h renders
 * the reply and smsenc.h decides the coding and the parts. Every webhook answers within
 * SMS_DEADLINE_MS: Redis gets SMS_REDIS_WAIT_MS, then the message goes on without it; a
 * district whose figures do not come in time is answered from the worker's cached reply
 * (even an old one); else a Kannel message is acknowledged with an empty body and the
 * figures follow through Kannel's sendsms (libcurl multi on the loop) when Postgres
 * answers; other gateways get TRY_LATER. Every inbound and outbound message is written to
 * sms_messages in batches; SUB/STOP/language changes to sms_subscriptions/sms_prefs.
 * While Postgres is down they wait in bounded per-worker queues (SMS_REC_QUEUE_MAX
 * messages, SMS_OP_QUEUE_MAX changes) and are written when it is back.
 */
#ifndef HISAAB_SMS_H
#define HISAAB_SMS_H

#include <stddef.h>

#include "core/buf.h"
#include "text/i18n.h"

struct config;
struct event_base;
struct http_request;

#define SMS_DEADLINE_MS 900     /* every webhook is answered by then */
#define SMS_REDIS_WAIT_MS 300   /* then the message goes on without Redis */
#define SMS_DEDUPE_TTL 86400    /* seconds a message id is remembered */
#define SMS_RATE_WINDOW 3600    /* seconds of the per-number window */
#define SMS_REPLY_TTL 600       /* seconds a cached district reply is used without asking */
#define SMS_REC_QUEUE_MAX 50000 /* message records waiting for Postgres, per worker */
#define SMS_OP_QUEUE_MAX 10000  /* subscription/preference changes waiting, per worker */
#define SMS_BATCH_MAX 200       /* records per INSERT */
#define SMS_TEXT_MAX 1600       /* inbound text bytes kept (10 UCS-2 parts) */

/* Per worker, after api_init() (Postgres and Redis started). Returns 0 or -1. */
int sms_init(struct event_base *base, const struct config *cfg) WUR;
/* Per worker, when stopping (after draining, before Postgres and Redis are shut): free
 * everything. Records still queued are counted in the log, not written (the worker's
 * queues live as long as the worker). */
void sms_exit(void);

/* Handlers (http_handler_fn). */
void sms_kannel(struct http_request *req);
void sms_twilio(struct http_request *req);
void sms_generic(struct http_request *req);

/*
 * Pure helpers, public for the unit tests.
 */

/* One name=value pair (borrowed). */
struct sms_kv {
    const char *name;
    const char *value;
};

/*
 * Twilio's signature: base64(HMAC-SHA1(token, url + each name+value, sorted by name
 * (byte order), concatenated)) into out (at least 29 bytes, NUL-terminated). params is
 * not modified (sorted in a copy). Returns 0, or -1 on a bad argument or when n > 64.
 */
int sms_twilio_signature(const char *token, const char *url, const struct sms_kv *params, size_t n,
                         char *out, size_t outlen) WUR;

/* 1 if sig (a header value, may be NULL) equals the expected signature (constant time). */
int sms_twilio_check(const char *token, const char *url, const struct sms_kv *params, size_t n,
                     const char *sig);

/* Append the TwiML reply for text (UTF-8; NULL or "" = no message: "<Response/>"),
 * XML-escaped. Returns 0 or -1 (out's cap). */
int sms_twiml(const char *text, struct buf *out) WUR;

/*
 * Decode an inbound text of len bytes in charset (Kannel's %C: "UTF-8", "UTF-16BE",
 * "UCS-2", "ISO-8859-1", "WINDOWS-1252"; NULL or "" = UTF-8) into UTF-8 appended to out.
 * Returns 0, or -1 for an unknown charset or bytes that are not valid in it.
 */
int sms_decode_text(const char *bytes, size_t len, const char *charset, struct buf *out) WUR;

/*
 * Render the reply for a district summary (the JSON text of district_store_summary) in
 * lang: SUMMARY (district, month, families, average days, wage, share paid in 15 days,
 * state average days; missing figures left out) or NODATA when every figure is missing.
 * Appends to out. Returns 0, or -1 when the JSON is not a summary or rendering fails.
 */
int sms_format_summary(enum i18n_lang lang, const char *json, size_t len, struct buf *out) WUR;

/* Copy at most max_chars Unicode characters of UTF-8 s into out (outlen bytes), cut at a
 * character boundary and before a combining mark. Returns 0, or -1 (invalid UTF-8). */
int sms_clip(const char *s, size_t max_chars, char *out, size_t outlen) WUR;

/* Append s as one element of a Postgres array literal ("..." with \ and " escaped; NULL
 * as NULL). Returns 0 or -1 (out's cap). */
int sms_pg_array_elem(const char *s, struct buf *out) WUR;

#endif
