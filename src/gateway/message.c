/*
 * The inbound message shared by the SMS gateways; see message.h.
 */
#include "gateway/message.h"

#include <string.h>

void gateway_msg_init(struct gateway_msg *m, const char *gateway)
{
    memset(m, 0, sizeof(*m));
    m->gateway = gateway;
    buf_init(&m->text, 2 * GATEWAY_TEXT_MAX);
}

void gateway_msg_free(struct gateway_msg *m)
{
    buf_free(&m->text);
}

int gateway_refuse(struct gateway_error *e, int status, const char *code, const char *message)
{
    e->status = status;
    e->code = code;
    e->message = message;
    return -1;
}
