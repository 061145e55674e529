/*
 * USSD gateways: what a USSD aggregator's HTTP request carries, once its format is taken
 * apart, and the answer in its format. Two styles:
 *
 *  - Africa's Talking style (POST /ussd/at, a form): sessionId, serviceCode, phoneNumber,
 *    networkCode and text, every answer of the session so far joined by '*' (empty on
 *    the first request). The answer is text/plain, "CON <screen>" when the menu goes on
 *    and "END <screen>" when the session ends.
 *  - Session style (Indian aggregators): this screen's input only, a session id, the
 *    number and a new/continue flag, in a GET query or a POST form, under field names
 *    that are configuration (struct ussd_fields). The answer is the screen as text/plain
 *    with a header saying continue or end, or a JSON object with the screen and that
 *    flag under configured names.
 *
 * Both give a struct ussd_in; the number is as the gateway wrote it (the channel hashes it
 * and never keeps it in the clear). Pure parsing and rendering over the request.
 */
#ifndef HISAAB_GATEWAY_USSD_H
#define HISAAB_GATEWAY_USSD_H

#include <stddef.h>

#include "core/buf.h"
#include "gateway/message.h"

struct http_request;

#define USSD_SESSION_ID_MAX 96
#define USSD_INPUT_MAX 512 /* bytes of the text / input of one request */

struct ussd_in {
    const char *gateway; /* "at", "session" (static) */
    char session[USSD_SESSION_ID_MAX];
    char from[GATEWAY_FROM_MAX];
    char service[32];           /* the code dialled, "*123*6#" (may be "") */
    char network[16];           /* the network's code (may be "") */
    char input[USSD_INPUT_MAX]; /* AT: the whole path ("1*2"); session: this screen's */
    int is_new;                 /* session style: the first request of the session */
};

/* The session gateway's field names and reply form (kore.conf ussd_session_*). */
struct ussd_fields {
    const char *session, *msisdn, *input, *new_flag, *new_value;
    int reply_json;   /* 0: text/plain and a header; 1: JSON */
    const char *flag; /* the header's or the JSON field's name */
    const char *text; /* JSON: the screen's field name */
    const char *cont_value, *end_value;
};

/* Africa's Talking style: parse the form body of req. Returns 0, or -1 with *e. */
int ussd_at_parse(struct http_request *req, struct ussd_in *in, struct gateway_error *e) WUR;
/* The same over a raw form (for the unit tests). */
int ussd_at_parse_form(struct slice body, struct ussd_in *in, struct gateway_error *e) WUR;

/* Session style: parse req's query and (POST) form body under f's names. */
int ussd_session_parse(struct http_request *req, const struct ussd_fields *f, struct ussd_in *in,
                       struct gateway_error *e) WUR;
int ussd_session_parse_form(const char *query, struct slice body, const struct ussd_fields *f,
                            struct ussd_in *in, struct gateway_error *e) WUR;

/* Answer req with screen (UTF-8), going on or ending. */
void ussd_at_reply(struct http_request *req, const char *screen, int end);
void ussd_session_reply(struct http_request *req, const struct ussd_fields *f, const char *screen,
                        int end);

/* The body of those answers (for the tests): AT's "CON ..."/"END ...", the session's JSON
 * (reply_json) or plain screen. Returns 0 or -1. */
int ussd_at_body(const char *screen, int end, struct buf *out) WUR;
int ussd_session_body(const struct ussd_fields *f, const char *screen, int end,
                      struct buf *out) WUR;

/*
 * AT's text is the whole path; given the path already answered (prev, the text of the
 * last request), the new input is what follows prev and one '*': an answer that itself
 * holds '*' stays whole. Writes it into out (n bytes) and returns 1; returns 0 when text
 * is prev itself (a retry), -1 when text does not continue prev (the session's state
 * must be rebuilt from the path).
 */
int ussd_at_next(const char *prev, const char *text, char *out, size_t n);

#endif
