/*
 * The SMS channel: a villager texts a district ("NREGA Niwari", "निवाड़ी", "1752") or a
 * command (HELP, HINDI / ENGLISH, SUB <district>, STOP) and gets a short reply, through
 * any of three gateways (gateway/kannel.h, gateway/twilio.h, gateway/generic.h):
 *
 *   /sms/kannel   Kannel sms-service get-url / post-url; the reply is the body.
 *   /sms/twilio   Twilio-style signed form POST; the reply is TwiML.
 *   /sms/generic  JSON POST for Indian aggregators (field names in kore.conf).
 *
 * Per message, on the shared channel core: the sender is normalised and hashed
 * (channel/phone.h) and never logged or recorded in the clear; the gate (channel/gate.h)
 * does the dedupe, the per-number limit (sms_rate_per_hour) and reads what is remembered
 * of the number (its language) in one Redis round trip, or from this worker when Redis is
 * away; smscmd.h parses the text; the district directory (data/directory.h) finds the
 * district and holds its figures, so the reply (text/summary.h, from the templates of
 * text/i18n.h) needs no query, also while Postgres is down. The district asked for is
 * remembered for the other channels (channel/memory.h).
 *
 * Every webhook is answered within SMS_DEADLINE_MS. Only before the worker's first
 * directory exists can a reply wait on Postgres: then a Kannel message is acknowledged
 * with an empty body at the deadline and the answer follows through Kannel's sendsms
 * (gateway/sendsms.h) once the directory is built; other gateways get TRY_LATER.
 *
 * Every inbound and outbound message is journaled once (data/journal.h, table
 * sms_messages); SUB/STOP go to sms_subscriptions in order. When the journal cannot take
 * more, the webhook answers 503 before acknowledging anything (the gateway retries).
 */
#ifndef HISAAB_SMS_H
#define HISAAB_SMS_H

#include "core/buf.h"

struct config;
struct event_base;
struct http_request;

#define SMS_DEADLINE_MS 900   /* every webhook is answered by then */
#define SMS_REDIS_WAIT_MS 300 /* then the message goes on without Redis */
#define SMS_RATE_WINDOW 3600  /* seconds of the per-number window */
#define SMS_TEXT_MAX 1600     /* inbound characters kept in the record (10 UCS-2 parts) */
#define SMS_RECORDS_MAX 4     /* journal records one message may add */

/* Per worker, after the journal, the gate, the directory and curlm have started (their
 * streams registered by sms_register() before journal_init()). Returns 0 or -1. */
int sms_init(struct event_base *base, const struct config *cfg) WUR;

/* Declare the channel's journal streams; before journal_init(). Returns 0 or -1. */
int sms_register(void) WUR;

/* Per worker, when stopping (after the HTTP server drained, before the journal). */
void sms_exit(void);

/* Handlers (http_handler_fn). */
void sms_kannel(struct http_request *req);
void sms_twilio(struct http_request *req);
void sms_generic(struct http_request *req);

#endif
