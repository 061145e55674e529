/*
 * The USSD channel: a menu on any GSM phone (ussd/umenu.h), through two gateway styles
 * (gateway/ussd.h):
 *
 *   POST /ussd/at        Africa's Talking style: the whole path in `text`, CON/END
 *   GET|POST /ussd/session
 *                        session style: this screen's input, field names from kore.conf
 *
 * Per request, on the shared channel core: the caller's number is hashed
 * (channel/phone.h); the session is named by a keyed hash of the gateway, its session id
 * and the number; at a session's start the channel gate (channel/gate.h) counts the
 * session against the caller's hourly limit and reads what is remembered of the caller
 * (any channel: language, district); between two requests the session's state, the path
 * answered and the last screen are kept in the conversation store (channel/session.h,
 * TTL USSD_SESSION_TTL_S, the network's session limit), so that a gateway's retry of a
 * step gets the same screen and does not move the menu twice. An Africa's Talking
 * session whose state is lost (Redis away and another worker) is rebuilt from its path.
 *
 * Every request is answered within ussd_deadline_ms (kore.conf): the menu is answered
 * from the worker's district directory; when nothing can answer, END with an apology.
 * Every screen answered is journaled once (ussd_steps, and its session in ussd_sessions:
 * sql/010); with no room in the journal the request is answered 503 before anything.
 */
#ifndef HISAAB_USSD_H
#define HISAAB_USSD_H

struct config;
struct event_base;
struct http_request;

#define USSD_SESSION_SPACE "ussd"
#define USSD_SESSION_TTL_S 180 /* a USSD session lasts at most this on the network */
#define USSD_RECORDS_MAX 4     /* journal records one step may add */
#define USSD_GATE_WAIT_MS 300  /* Redis's share of a step's time */

void ussd_at(struct http_request *req);
void ussd_session(struct http_request *req);

/* Per worker, before journal_init(): declare the journal streams. Returns 0 or -1. */
int ussd_register(void);

/* Per worker, after the channel core: the wording set (<assets_dir>/templates/ussd) and
 * the gateway settings. Without the wording set the webhooks answer 503. Returns 0 or -1. */
int ussd_init(struct event_base *base, const struct config *cfg);
void ussd_exit(void);

#endif
