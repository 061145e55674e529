/*
 * The journal's writer; see journal.h. It owns, per worker, the streams, the queue of
 * records owed to Postgres, the statements that write them (through backend/pg), the
 * pause while Postgres is away, back-pressure and the drain at exit. The files in the
 * spool directory (spool files written at exit, claimed and replayed at start, the
 * rejected file) are journal_spool.c's; a record (one allocation of repaired fields) is
 * journal_rec.c's.
 *
 * Each registered stream has a queue of records (oldest first), a list of batches that
 * were formed and must be sent again before anything newer (after Postgres was away, or
 * the halves of a batch the server refused) and the batches in flight. pump() sends what
 * the in-flight limits allow; it runs from a zero-delay event activated by every append,
 * so the records of one loop turn share a statement. A failure that is not the server's
 * verdict on the data pauses every stream; a one-shot timer lifts the pause after
 * JOURNAL_RETRY_MS and the heads of the queues are tried again.
 *
 * A record read from a spool file points to that file (r->file); each record resolved
 * (written or rejected) is reported to journal_spool_resolved(), which deletes the file
 * once all of its records are.
 */
#include "data/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "backend/pg.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "data/journal_rec.h"
#include "data/journal_spool.h"
#include "net/metrics.h"

#define DEFAULT_SPOOL_DIR "var/spool"
#define ERR_MAX 512
/* The drain loop's turn while waiting for answers at exit. */
#define DRAIN_TURN_MS 20

struct stream;

struct batch {
    struct batch *next;
    struct stream *st;
    struct journal_rec *head, *tail;
    size_t n;
    int depth;  /* how often it was halved */
    int orphan; /* journal_exit() spooled its records: only free it when pg answers */
};

struct stream {
    const struct journal_stream *s;
    struct journal_rec *head, *tail; /* waiting, oldest first */
    struct batch *pending;           /* formed, sent again before the queue, in order */
    struct batch *flying;            /* in flight, oldest first */
    int inflight;
    size_t waiting;     /* records at head..tail */
    long long first_ms; /* when the oldest of them came */
};

static const struct journal_stream *registered[JOURNAL_MAX_STREAMS];
static size_t nregistered;

static struct {
    int started;
    struct event_base *base;
    struct stream streams[JOURNAL_MAX_STREAMS];
    size_t nstreams;
    size_t queue_max;        /* journal_room() says no past this (JOURNAL_QUEUE_MAX by default) */
    size_t queued;           /* records held: waiting, pending, in flight */
    size_t inflight;         /* batches in flight, all streams */
    int paused;              /* Postgres is away: nothing is sent until the timer */
    int draining;            /* journal_exit(): send at once */
    struct event *linger_ev; /* a batch stream waits for more records (linger_left()) */
    int away_logged;         /* the outage was logged; log the recovery */
    int more_files;          /* spool files were left for later (no room) */
    struct event *flush_ev;
    struct event *timer;
    /* For the tests and the log. */
    unsigned long long statements, written, rejected, spooled;
} J;

static void kick(void);

/* ------------------------------------------------------------------------------------ */
/* Pure helpers                                                                          */
/* ------------------------------------------------------------------------------------ */

int journal_array_elem(const char *s, size_t len, struct buf *out)
{
    size_t at = out->len, i, from;
    int rc = -1;

    if (s == NULL) {
        rc = buf_puts(out, "NULL");
        goto out;
    }
    if (buf_append(out, "\"", 1) != 0)
        goto out;
    for (i = from = 0; i < len; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        if (buf_append(out, s + from, i - from) != 0 || buf_append(out, "\\", 1) != 0)
            goto out;
        from = i;
    }
    if (buf_append(out, s + from, len - from) != 0 || buf_append(out, "\"", 1) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->data != NULL) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

size_t journal_repair(const char *s, size_t len, char *out, size_t outlen)
{
    struct buf b;
    size_t n = 0;

    if (outlen > JOURNAL_FIELD_MAX)
        outlen = JOURNAL_FIELD_MAX;
    buf_init(&b, outlen);
    /* The cut at outlen comes first, so out's cap (-1) is never reached. */
    if (utf8_repair(s, len, outlen, &b) >= 0 && b.len > 0) {
        n = b.len;
        memcpy(out, b.data, n);
    }
    buf_free(&b);
    return n;
}

/* 1 when a failure with this SQLSTATE will happen again however often the statement is
 * sent (the server's verdict on the data or the statement); 0 when Postgres is away or
 * busy, or there was no server answer at all (state NULL). */
static int permanent(const char *state)
{
    static const char *const transient_class[] = {"08", "40", "53", "57", "58"};
    size_t i;
    int verdict = 0;

    if (state == NULL || strlen(state) != 5)
        goto out;
    for (i = 0; i < sizeof(transient_class) / sizeof(transient_class[0]); i++)
        if (strncmp(state, transient_class[i], 2) == 0)
            goto out;
    /* A read-only standby (after a failover) and a lock not available pass too. */
    if (strcmp(state, "25006") == 0 || strcmp(state, "55P03") == 0)
        goto out;
    verdict = 1;
out:
    return verdict;
}

/* err for the log: Postgres's DETAIL ("Failing row contains (...)") quotes the record,
 * which may hold a phone number; the rejected file keeps the whole message. */
static const char *loggable(const char *err, char *out, size_t len)
{
    const char *detail;
    size_t n;

    if (err == NULL)
        err = "?";
    detail = strstr(err, " DETAIL:");
    n = detail != NULL ? (size_t)(detail - err) : strlen(err);
    n = journal_repair(err, n, out, len - 1);
    out[n] = '\0';
    return out;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------ */
/* Streams and records                                                                   */
/* ------------------------------------------------------------------------------------ */

static struct stream *stream_of(const struct journal_stream *s)
{
    size_t i;

    for (i = 0; i < J.nstreams; i++)
        if (J.streams[i].s == s)
            return &J.streams[i];
    return NULL;
}

static void rec_enqueue(struct stream *st, struct journal_rec *r)
{
    r->next = NULL;
    if (st->tail != NULL)
        st->tail->next = r;
    else
        st->head = r;
    st->tail = r;
    if (st->waiting++ == 0)
        st->first_ms = now_ms();
    J.queued++;
}

/* A record of a claimed spool file (journal_spool_claim() reads only registered streams). */
static void queue_replayed(const struct journal_stream *s, struct journal_rec *r)
{
    rec_enqueue(stream_of(s), r);
}

/* Claim and queue spool files while fewer than limit records are held (.kept files only
 * at_start); note whether files were left for the timer. */
static void claim_files(int at_start, size_t limit)
{
    J.more_files = journal_spool_claim(at_start, J.queued, limit);
}

/* ------------------------------------------------------------------------------------ */
/* The writer                                                                            */
/* ------------------------------------------------------------------------------------ */

static void arm_timer(void)
{
    struct timeval tv = {JOURNAL_RETRY_MS / 1000, (JOURNAL_RETRY_MS % 1000) * 1000};

    if (J.timer != NULL && !evtimer_pending(J.timer, NULL))
        evtimer_add(J.timer, &tv);
}

/* Postgres did not take a statement for a reason of its own: wait, then try again. */
static void wait_for_pg(const struct stream *st, const char *err)
{
    char shown[ERR_MAX];

    if (!J.away_logged) {
        log_warn("journal: %s: postgres away (%s); %zu records wait, retrying every %d ms",
                 st->s->name, loggable(err, shown, sizeof(shown)), J.queued, JOURNAL_RETRY_MS);
        J.away_logged = 1;
    } else {
        log_debug("journal: %s: still waiting (%s)", st->s->name,
                  loggable(err, shown, sizeof(shown)));
    }
    J.paused = 1;
    arm_timer();
}

/* Keep r, which Postgres refused, in the rejected file and log it (without its fields). */
static void rejected_write(const struct stream *st, const struct journal_rec *r,
                           const char *sqlstate, const char *err)
{
    char msg[ERR_MAX], shown[ERR_MAX];
    size_t n;

    n = journal_repair(err != NULL ? err : "?", err != NULL ? strlen(err) : 1, msg,
                       sizeof(msg) - 1);
    msg[n] = '\0';
    if (journal_spool_reject(st->s, r, sqlstate, msg) == 0)
        log_error("journal: %s: Postgres refused a record (%s %s); kept in %s", st->s->name,
                  sqlstate != NULL ? sqlstate : "-", loggable(msg, shown, sizeof(shown)),
                  journal_spool_rejected_path());
    else
        log_error("journal: %s: Postgres refused a record (%s %s) and it could not be kept in "
                  "%s: %m; record lost",
                  st->s->name, sqlstate != NULL ? sqlstate : "-",
                  loggable(msg, shown, sizeof(shown)), journal_spool_rejected_path());
}

/* Resolve the batch's records (written, or rejected with err) and free it. */
static void batch_finish(struct batch *b, const char *sqlstate, const char *err)
{
    struct journal_rec *r;
    size_t n = b->n;

    while ((r = b->head) != NULL) {
        b->head = r->next;
        if (err != NULL)
            rejected_write(b->st, r, sqlstate, err);
        J.queued--;
        journal_spool_resolved(r->file);
        free(r);
    }
    if (err != NULL) {
        J.rejected += n;
        metrics_journal_rejected(n);
    } else {
        J.written += n;
        metrics_journal_written(n);
    }
    free(b);
}

static void pending_push(struct stream *st, struct batch *b)
{
    b->next = st->pending;
    st->pending = b;
}

/* Split a refused batch in halves, both sent again (first half first) before anything. */
static void batch_split(struct batch *b)
{
    struct batch *b2 = xcalloc(1, sizeof(*b2));
    struct journal_rec *r = b->head;
    size_t half = b->n / 2, i;

    for (i = 1; i < half; i++)
        r = r->next;
    b2->st = b->st;
    b2->head = r->next;
    b2->tail = b->tail;
    b2->n = b->n - half;
    b2->depth = b->depth + 1;
    r->next = NULL;
    b->tail = r;
    b->n = half;
    b->depth++;
    pending_push(b->st, b2);
    pending_push(b->st, b);
}

/* In flight now: at the end of the list, which keeps the oldest first. */
static void flying_add(struct stream *st, struct batch *b)
{
    struct batch **pp = &st->flying;

    while (*pp != NULL)
        pp = &(*pp)->next;
    b->next = NULL;
    *pp = b;
    st->inflight++;
    J.inflight++;
}

static void flying_remove(struct stream *st, struct batch *b)
{
    struct batch **pp;

    for (pp = &st->flying; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    b->next = NULL;
    st->inflight--;
    J.inflight--;
}

static void batch_done(void *arg, const PGresult *res, const char *err)
{
    struct batch *b = arg;
    struct stream *st = b->st;
    const char *state = pg_last_sqlstate();
    char msg[ERR_MAX], shown[ERR_MAX];

    if (b->orphan) {
        free(b);
        goto out;
    }
    flying_remove(st, b);
    if (res != NULL) {
        if (J.away_logged && !J.paused) {
            log_info("journal: postgres answers again; %zu records queued", J.queued);
            J.away_logged = 0;
        }
        batch_finish(b, NULL, NULL);
    } else if (!permanent(state)) {
        pending_push(st, b);
        wait_for_pg(st, err);
    } else if (b->n == 1) {
        snprintf(msg, sizeof(msg), "%s", err != NULL ? err : "?");
        batch_finish(b, state, msg);
    } else {
        if (b->depth == 0)
            log_warn("journal: %s: a batch of %zu records was refused (%s %s); writing it in "
                     "parts",
                     st->s->name, b->n, state, loggable(err, shown, sizeof(shown)));
        batch_split(b);
    }
    kick();
out:
    return;
}

/* Up to JOURNAL_BATCH_MAX records (1 for EACH) within JOURNAL_BATCH_BYTES from the queue. */
static struct batch *batch_take(struct stream *st)
{
    size_t max = st->s->mode == JOURNAL_EACH ? 1 : JOURNAL_BATCH_MAX, bytes = 0;
    struct batch *b = NULL;
    struct journal_rec *r;

    if (st->head == NULL)
        goto out;
    b = xcalloc(1, sizeof(*b));
    b->st = st;
    while ((r = st->head) != NULL && b->n < max &&
           (b->n == 0 || bytes + r->bytes <= JOURNAL_BATCH_BYTES)) {
        st->head = r->next;
        if (st->head == NULL)
            st->tail = NULL;
        r->next = NULL;
        if (b->tail != NULL)
            b->tail->next = r;
        else
            b->head = r;
        b->tail = r;
        b->n++;
        bytes += r->bytes;
    }
    st->waiting -= b->n;
    st->first_ms = now_ms();
out:
    return b;
}

/*
 * Milliseconds a batch stream should still wait before its next statement, so that one
 * statement carries many records (each statement costs Postgres a parse, a plan and a
 * commit whatever its size): 0 when a full batch waits, the oldest record has waited
 * JOURNAL_LINGER_MS, or the journal is stopping.
 */
static long long linger_left(const struct stream *st)
{
    long long left;

    if (st->s->mode == JOURNAL_EACH || J.draining || st->waiting >= JOURNAL_BATCH_MAX)
        return 0;
    left = st->first_ms + JOURNAL_LINGER_MS - now_ms();
    return left > 0 ? left : 0;
}

/* Send b. Returns 0 (batch_done() will be called) or -1. */
static int batch_send(struct batch *b)
{
    const struct journal_stream *s = b->st->s;
    struct buf cols[JOURNAL_MAX_COLS];
    const char *params[JOURNAL_MAX_COLS];
    const struct journal_rec *r;
    int i, ok = 1, rc = -1;

    if (s->mode == JOURNAL_EACH) {
        rc = pg_query(s->sql, s->ncols, (const char *const *)b->head->f, batch_done, b);
        goto out;
    }
    for (i = 0; i < s->ncols; i++) {
        buf_init(&cols[i], JOURNAL_BATCH_BYTES + 16);
        ok &= buf_append(&cols[i], "{", 1) == 0;
    }
    for (r = b->head; r != NULL && ok; r = r->next) {
        for (i = 0; i < s->ncols; i++) {
            if (r != b->head)
                ok &= buf_append(&cols[i], ",", 1) == 0;
            ok &= journal_array_elem(r->f[i], r->f[i] != NULL ? strlen(r->f[i]) : 0, &cols[i]) == 0;
        }
    }
    for (i = 0; i < s->ncols; i++) {
        ok &= buf_append(&cols[i], "}", 1) == 0;
        params[i] = buf_cstr(&cols[i]);
    }
    if (ok)
        rc = pg_query(s->sql, s->ncols, params, batch_done, b);
    else
        log_error("journal: %s: a batch outgrew its buffers", s->name);
    for (i = 0; i < s->ncols; i++)
        buf_free(&cols[i]);
out:
    if (rc == 0)
        J.statements++;
    return rc;
}

/* Send what the in-flight limits allow: pending batches first, then the queue. */
static void pump(void)
{
    long long wait, soonest = -1;
    struct timeval tv;
    struct stream *st;
    struct batch *b;
    size_t i;
    int limit;

    for (i = 0; i < J.nstreams && J.started && !J.paused; i++) {
        st = &J.streams[i];
        limit = st->s->mode == JOURNAL_EACH || st->s->ordered ? 1 : JOURNAL_INFLIGHT;
        while (st->inflight < limit && !J.paused) {
            if (st->pending != NULL) {
                b = st->pending;
                st->pending = b->next;
                b->next = NULL;
            } else if (st->head == NULL) {
                break;
            } else if ((wait = linger_left(st)) > 0) {
                if (soonest < 0 || wait < soonest)
                    soonest = wait;
                break;
            } else if ((b = batch_take(st)) == NULL) {
                break;
            }
            if (batch_send(b) != 0) {
                pending_push(st, b);
                wait_for_pg(st, "not sent: postgres not started");
                break;
            }
            flying_add(st, b);
        }
    }
    if (soonest > 0 && J.linger_ev != NULL && !evtimer_pending(J.linger_ev, NULL)) {
        tv.tv_sec = soonest / 1000;
        tv.tv_usec = (soonest % 1000) * 1000;
        evtimer_add(J.linger_ev, &tv);
    }
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pump();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    J.paused = 0;
    if (J.more_files && J.queued < J.queue_max / 2)
        claim_files(0, J.queue_max / 2);
    if (J.more_files)
        arm_timer();
    pump();
}

/* Write at the end of this loop turn, so that the records of one turn share a statement. */
static void kick(void)
{
    if (J.flush_ev != NULL && !J.paused)
        event_active(J.flush_ev, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------------------------------ */
/* The interface                                                                         */
/* ------------------------------------------------------------------------------------ */

int journal_register(const struct journal_stream *s)
{
    size_t i;
    int rc = -1;

    if (J.started || s == NULL || s->name == NULL || s->name[0] == '\0' || s->sql == NULL ||
        s->ncols < 1 || s->ncols > JOURNAL_MAX_COLS ||
        (s->mode != JOURNAL_BATCH && s->mode != JOURNAL_EACH) || nregistered >= JOURNAL_MAX_STREAMS)
        goto out;
    for (i = 0; i < nregistered; i++)
        if (registered[i] == s || strcmp(registered[i]->name, s->name) == 0)
            goto out;
    registered[nregistered++] = s;
    rc = 0;
out:
    return rc;
}

int journal_init(struct event_base *base, const struct journal_opts *o)
{
    const char *dir = o != NULL && o->spool_dir != NULL ? o->spool_dir : DEFAULT_SPOOL_DIR;
    size_t i;
    int rc = -1;

    if (J.started || base == NULL)
        goto out;
    memset(&J, 0, sizeof(J));
    if (journal_spool_init(dir, registered, nregistered, queue_replayed) != 0)
        goto out;
    J.base = base;
    J.queue_max = o != NULL && o->queue_max > 0 ? o->queue_max : JOURNAL_QUEUE_MAX;
    for (i = 0; i < nregistered; i++)
        J.streams[i].s = registered[i];
    J.nstreams = nregistered;
    J.flush_ev = event_new(base, -1, 0, on_flush, NULL);
    J.timer = evtimer_new(base, on_timer, NULL);
    J.linger_ev = evtimer_new(base, on_flush, NULL);
    if (J.flush_ev == NULL || J.timer == NULL || J.linger_ev == NULL) {
        log_error("journal: cannot create events");
        goto out;
    }
    J.started = 1;
    claim_files(1, J.queue_max);
    if (J.more_files)
        arm_timer();
    kick();
    rc = 0;
out:
    if (rc != 0 && !J.started) {
        if (J.flush_ev != NULL)
            event_free(J.flush_ev);
        if (J.timer != NULL)
            event_free(J.timer);
        if (J.linger_ev != NULL)
            event_free(J.linger_ev);
        journal_spool_exit(0);
        memset(&J, 0, sizeof(J));
    }
    return rc;
}

int journal_room(size_t n)
{
    return J.started && n <= J.queue_max && J.queued <= J.queue_max - n;
}

void journal_refused(void)
{
    metrics_journal_refused();
}

int journal_append_slices(const struct journal_stream *s, const struct slice *fields)
{
    struct stream *st;
    int rc = -1;

    if (!J.started || fields == NULL || (st = stream_of(s)) == NULL)
        goto out;
    rec_enqueue(st, journal_rec_new(s->ncols, fields));
    kick();
    rc = 0;
out:
    return rc;
}

int journal_append(const struct journal_stream *s, const char *const *fields)
{
    struct slice sl[JOURNAL_MAX_COLS];
    int i, rc = -1;

    if (s == NULL || fields == NULL || s->ncols < 1 || s->ncols > JOURNAL_MAX_COLS)
        goto out;
    for (i = 0; i < s->ncols; i++) {
        sl[i].ptr = fields[i];
        sl[i].len = fields[i] != NULL ? strlen(fields[i]) : 0;
    }
    rc = journal_append_slices(s, sl);
out:
    return rc;
}

size_t journal_queued(void)
{
    return J.queued;
}

static int spool_list(struct journal_spool_out *so, const struct stream *st,
                      const struct journal_rec *r)
{
    int rc = 0;

    for (; r != NULL && rc == 0; r = r->next)
        rc = journal_spool_put(so, st->s, r);
    return rc;
}

/* Everything still held, oldest first per stream, and the kept lines of claimed files.
 * Returns 0 (also when there was nothing), or -1. */
static int spool_everything(char *final, size_t len)
{
    struct journal_spool_out so;
    const struct batch *b;
    const struct stream *st;
    size_t i;
    int rc = -1;

    final[0] = '\0';
    if (journal_spool_open(&so) != 0)
        goto out;
    for (i = 0; i < J.nstreams; i++) {
        st = &J.streams[i];
        for (b = st->flying; b != NULL; b = b->next)
            if (spool_list(&so, st, b->head) != 0)
                goto fail;
        for (b = st->pending; b != NULL; b = b->next)
            if (spool_list(&so, st, b->head) != 0)
                goto fail;
        if (spool_list(&so, st, st->head) != 0)
            goto fail;
    }
    if (journal_spool_put_kept(&so) != 0)
        goto fail;
    J.spooled = so.records;
    if (journal_spool_commit(&so, final, len) != 0)
        goto out;
    rc = 0;
    goto out;
fail:
    journal_spool_abort(&so);
    log_error("journal: cannot write the spool file in %s: %m", journal_spool_dir());
out:
    return rc;
}

void journal_exit(int drain_ms)
{
    long long deadline = now_ms() + (drain_ms > 0 ? drain_ms : 0);
    struct timeval turn = {0, DRAIN_TURN_MS * 1000};
    char final[JOURNAL_SPOOL_PATH_MAX];
    struct batch *b, *next;
    struct stream *st;
    size_t i, held;
    int spooled;

    if (!J.started)
        goto out;
    J.draining = 1;
    kick();
    while (J.queued > 0 && now_ms() < deadline) {
        /* Postgres is down and nothing is on its way: waiting would not write anything. */
        if (J.paused && J.inflight == 0 && !pg_is_up())
            break;
        event_base_loopexit(J.base, &turn);
        if (event_base_loop(J.base, EVLOOP_ONCE) < 0)
            break;
    }
    held = J.queued;
    spooled = spool_everything(final, sizeof(final)) == 0;
    if (held == 0 && journal_spool_claimed() == 0)
        log_info("journal: every record written");
    else if (spooled && final[0] != '\0')
        log_warn("journal: %zu records not written yet; spooled to %s", held, final);
    else if (!spooled)
        log_error("journal: %zu records not written and not spooled: lost (those read from "
                  "spool files stay in them)",
                  held);
    if (spooled)
        metrics_journal_spooled(J.spooled);
    /* When spooled, the claimed files' records (and kept lines) are in the new file now. */
    journal_spool_exit(spooled);
    for (i = 0; i < J.nstreams; i++) {
        st = &J.streams[i];
        for (b = st->flying; b != NULL; b = next) {
            /* pg still owns the statement: its answer frees the batch. */
            next = b->next;
            journal_rec_free_list(b->head);
            b->head = b->tail = NULL;
            b->orphan = 1;
        }
        for (b = st->pending; b != NULL; b = next) {
            next = b->next;
            journal_rec_free_list(b->head);
            free(b);
        }
        journal_rec_free_list(st->head);
    }
    event_free(J.flush_ev);
    event_free(J.timer);
    event_free(J.linger_ev);
    memset(&J, 0, sizeof(J));
out:
    memset(registered, 0, sizeof(registered));
    nregistered = 0;
}
