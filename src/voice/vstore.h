/*
 * What the voice channel keeps of a call between two requests, when the provider cannot
 * carry it in its URLs (Exotel's applets call fixed URLs) or before the call exists (a
 * callback we place: its call id is marked as ours when the provider names it). A short
 * text per (provider, call id), in Redis (hisaab:vcall:<provider>:<id>, VSTORE_TTL_S) so
 * that any worker of any instance continues the call, and in this worker's table, which
 * answers while Redis is away (a call then continues only on the worker that kept it).
 */
#ifndef HISAAB_VOICE_VSTORE_H
#define HISAAB_VOICE_VSTORE_H

#include <stddef.h>

#include "core/buf.h"

struct event_base;

#define VSTORE_TTL_S 7200     /* a call is kept two hours after its last step */
#define VSTORE_LOCAL 4096     /* calls kept per worker */
#define VSTORE_VALUE_MAX 8192 /* bytes of one call's text */
#define VSTORE_WAIT_MS 300    /* then the worker's own table answers */

/* cb(arg, ok) once from the loop: ok 1 when Redis has the value, 0 when only this worker. */
typedef void (*vstore_put_fn)(void *arg, int ok);
/* cb(arg, value) once from the loop: the value (borrowed for the call) or NULL. */
typedef void (*vstore_get_fn)(void *arg, const char *value);

int vstore_init(struct event_base *base) WUR;
void vstore_exit(void);

/* Keep value for (provider, id). cb may be NULL. Returns 0, or -1 (cb never called) for a
 * value too long or an id that is not printable. */
int vstore_put(const char *provider, const char *id, const char *value, vstore_put_fn cb,
               void *arg) WUR;

/* What is kept for (provider, id). Returns 0, or -1 (cb never called) when not started. */
int vstore_get(const char *provider, const char *id, vstore_get_fn cb, void *arg) WUR;

#endif
