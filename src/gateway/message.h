/*
 * What an SMS gateway's webhook delivers, once its own format is taken apart: who sent
 * it, the gateway's id for it (for dedupe), and the text in UTF-8. Filled by kannel.h,
 * twilio.h and generic.h; read by the SMS channel. The sender is as the gateway wrote it:
 * the channel normalises and hashes it (channel/phone.h) and never keeps it in the clear.
 */
#ifndef HISAAB_GATEWAY_MESSAGE_H
#define HISAAB_GATEWAY_MESSAGE_H

#include "core/buf.h"

#define GATEWAY_FROM_MAX 64
#define GATEWAY_ID_MAX 72
#define GATEWAY_TEXT_MAX 6400 /* bytes of a text as sent (UTF-8 text: twice that) */

struct gateway_msg {
    const char *gateway;         /* "kannel", "twilio", "generic" (static) */
    char from[GATEWAY_FROM_MAX]; /* raw sender */
    char id[GATEWAY_ID_MAX];     /* "" when the gateway gave none */
    struct buf text;             /* valid UTF-8; gateway_msg_init() caps it */
};

/* Why a request is refused: HTTP status, error code and a message for the gateway. */
struct gateway_error {
    int status;
    const char *code;
    const char *message;
};

/* Zero m and cap its text at 2 * GATEWAY_TEXT_MAX bytes. */
void gateway_msg_init(struct gateway_msg *m, const char *gateway);
/* Free what m holds. */
void gateway_msg_free(struct gateway_msg *m);

/* Set *e (static strings) and return -1, for the parsers' error exits. */
int gateway_refuse(struct gateway_error *e, int status, const char *code, const char *message);

#endif
