/*
 * The SMS record and the SMS out; see outbox.h.
 */
#include "channel/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "data/journal.h"
#include "text/smsenc.h"

/* clang-format off */

/* Every inbound and outbound message, once per gateway id and direction (sql/006). */
static const struct journal_stream messages_stream = {
    "sms_messages", JOURNAL_BATCH, 0, 13,
    "INSERT INTO sms_messages (at, direction, gateway, gateway_message_id, phone_hash, text,"
    " district_code, state_code, lang, kind, parts, coding, latency_ms)"
    " SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::int[], $8::int[], $9::text[], $10::text[], $11::smallint[],"
    " $12::smallint[], $13::int[])"
    " ON CONFLICT (gateway, gateway_message_id, direction)"
    " WHERE gateway_message_id IS NOT NULL DO NOTHING",
};

/* clang-format on */

static struct {
    struct sendsms_opts send;
} O;

int outbox_register(void)
{
    static int registered;

    if (registered)
        return 0;
    if (journal_register(&messages_stream) != 0)
        return -1;
    registered = 1;
    return 0;
}

void outbox_init(const struct config *cfg)
{
    sendsms_opts_init(&O.send, cfg);
}

int outbox_can_send(void)
{
    return O.send.url != NULL;
}

const struct sendsms_opts *outbox_sendsms(void)
{
    return &O.send;
}

int outbox_record(const struct outbox_rec *r)
{
    char district[16], state[16], p[16], c[16], lat[24];
    const char *f[13] = {NULL};

    f[0] = r->at;
    f[1] = r->direction;
    f[2] = r->gateway;
    f[3] = r->id != NULL && r->id[0] != '\0' ? r->id : NULL;
    f[4] = r->hash;
    f[5] = r->text;
    if (r->district_code > 0) {
        snprintf(district, sizeof(district), "%d", r->district_code);
        snprintf(state, sizeof(state), "%d", r->state_code);
        f[6] = district;
        f[7] = state;
    }
    f[8] = r->lang;
    f[9] = r->kind;
    if (r->parts > 0) {
        snprintf(p, sizeof(p), "%d", r->parts);
        snprintf(c, sizeof(c), "%d", r->coding);
        f[10] = p;
        f[11] = c;
    }
    snprintf(lat, sizeof(lat), "%lld", r->latency_ms);
    f[12] = lat;
    if (journal_append(&messages_stream, f) != 0) {
        log_error("outbox: journal refused a %s record", r->direction);
        return -1;
    }
    return 0;
}

static void sent_quietly(void *arg, enum sendsms_outcome outcome, const char *err)
{
    (void)arg;
    if (outcome != SENDSMS_SENT)
        log_warn("outbox: SMS not sent: %s", err != NULL ? err : "?");
}

int outbox_send(const char *e164, const char *text, const struct outbox_rec *r, sendsms_done_fn cb,
                void *arg)
{
    struct smsenc_info info;
    struct outbox_rec rec = *r;

    if (O.send.url == NULL || text == NULL || text[0] == '\0' ||
        smsenc_analyse(text, strlen(text), &info) != 0)
        return -1;
    if (cb == NULL)
        cb = sent_quietly;
    if (sendsms_send(&O.send, e164, text, info.coding, cb, arg) != 0)
        return -1;
    rec.direction = "out";
    rec.text = text;
    rec.parts = (int)info.parts;
    rec.coding = info.coding;
    if (outbox_record(&rec) != 0)
        log_warn("outbox: a sent message is not recorded");
    return 0;
}
