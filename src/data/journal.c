/*
 * The journal's writer; see journal.h. It owns, per worker, the queue of records owed to
 * Postgres, the statements that write them (through backend/pg), the spool files in the
 * spool directory (written at exit, claimed and replayed at start) and the rejected file.
 *
 * Each registered stream has a queue of records (oldest first), a list of batches that
 * were formed and must be sent again before anything newer (after Postgres was away, or
 * the halves of a batch the server refused) and the batches in flight. pump() sends what
 * the in-flight limits allow; it runs from a zero-delay event activated by every append,
 * so the records of one loop turn share a statement. A failure that is not the server's
 * verdict on the data pauses every stream; a one-shot timer lifts the pause after
 * JOURNAL_RETRY_MS and the heads of the queues are tried again.
 *
 * A record is one allocation: the struct, the field pointers and the repaired bytes. A
 * record read from a spool file points to that file's struct src, which counts the
 * records not yet resolved; the file is deleted when the count reaches zero.
 */
#include "data/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "backend/pg.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/utf8.h"
#include "net/metrics.h"

#define DEFAULT_SPOOL_DIR "var/spool"
#define REJECTED_NAME "journal-rejected.jsonl"
#define CLAIM_MARK ".claimed-"
/* Longest spool line we read: every field at its cap, escaped as \uXXXX, fits easily. */
#define SPOOL_LINE_MAX (1u << 20)
#define SPOOL_PATH_MAX 4096
#define ERR_MAX 512
/* The drain loop's turn while waiting for answers at exit. */
#define DRAIN_TURN_MS 20

struct src;

struct rec {
    struct rec *next;
    struct src *src; /* the spool file it was read from, or NULL */
    size_t bytes;    /* its size in array literals, at most (with the separators) */
    char *f[];       /* ncols fields, NULL = SQL NULL; the bytes follow in this allocation */
};

struct stream;

struct batch {
    struct batch *next;
    struct stream *st;
    struct rec *head, *tail;
    size_t n;
    int depth;  /* how often it was halved */
    int orphan; /* journal_exit() spooled its records: only free it when pg answers */
};

struct stream {
    const struct journal_stream *s;
    struct rec *head, *tail; /* waiting, oldest first */
    struct batch *pending;   /* formed, sent again before the queue, in order */
    struct batch *flying;    /* in flight, oldest first */
    int inflight;
};

/* A claimed spool file. */
struct src {
    struct src *next;
    char *path;  /* its claimed name */
    size_t left; /* its records neither written nor rejected */
    size_t kept; /* its lines no registered stream takes (copied out when it is done) */
};

struct spool_out {
    FILE *f;
    char tmp[SPOOL_PATH_MAX];
    size_t records;
    size_t lines;
};

static const struct journal_stream *registered[JOURNAL_MAX_STREAMS];
static size_t nregistered;

static struct {
    int started;
    struct event_base *base;
    char *dir;
    struct stream streams[JOURNAL_MAX_STREAMS];
    size_t nstreams;
    size_t queue_max; /* journal_room() says no past this (JOURNAL_QUEUE_MAX by default) */
    size_t queued;    /* records held: waiting, pending, in flight */
    size_t inflight;  /* batches in flight, all streams */
    int paused;       /* Postgres is away: nothing is sent until the timer */
    int away_logged;  /* the outage was logged; log the recovery */
    int more_files;   /* spool files were left for later (no room) */
    struct event *flush_ev;
    struct event *timer;
    struct src *srcs;
    unsigned seq; /* for unique temporary and spool names */
    /* For the tests and the log. */
    unsigned long long statements, written, rejected, spooled;
} J;

static char scratch[JOURNAL_MAX_COLS][JOURNAL_FIELD_MAX];

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
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t i = 0, o = 0, k;
    const char *from;
    uint32_t cp;
    int n;

    if (outlen > JOURNAL_FIELD_MAX)
        outlen = JOURNAL_FIELD_MAX;
    while (i < len) {
        if (s[i] == '\0') {
            i++;
            continue;
        }
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0) {
            from = replacement;
            k = 3;
            i++;
        } else {
            from = s + i;
            k = (size_t)n;
            i += k;
        }
        if (o + k > outlen)
            break;
        memcpy(out + o, from, k);
        o += k;
    }
    return o;
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

static struct stream *stream_named(const char *name)
{
    size_t i;

    for (i = 0; i < J.nstreams; i++)
        if (strcmp(J.streams[i].s->name, name) == 0)
            return &J.streams[i];
    return NULL;
}

/* A repaired copy of fields (ncols of them; ptr NULL = SQL NULL). */
static struct rec *rec_new(int ncols, const struct slice *fields)
{
    size_t lens[JOURNAL_MAX_COLS];
    size_t total = 0, bytes = 0;
    struct rec *r;
    char *p;
    int i;

    for (i = 0; i < ncols; i++) {
        lens[i] = 0;
        if (fields[i].ptr == NULL) {
            bytes += 5; /* NULL, */
            continue;
        }
        lens[i] = journal_repair(fields[i].ptr, fields[i].len, scratch[i], JOURNAL_FIELD_MAX);
        total += lens[i] + 1;
        bytes += 2 * lens[i] + 3; /* quotes, every byte escaped at worst, the comma */
    }
    r = xmalloc(sizeof(*r) + (size_t)ncols * sizeof(char *) + total);
    r->next = NULL;
    r->src = NULL;
    r->bytes = bytes;
    p = (char *)&r->f[ncols];
    for (i = 0; i < ncols; i++) {
        if (fields[i].ptr == NULL) {
            r->f[i] = NULL;
            continue;
        }
        memcpy(p, scratch[i], lens[i]);
        p[lens[i]] = '\0';
        r->f[i] = p;
        p += lens[i] + 1;
    }
    return r;
}

static void rec_enqueue(struct stream *st, struct rec *r)
{
    r->next = NULL;
    if (st->tail != NULL)
        st->tail->next = r;
    else
        st->head = r;
    st->tail = r;
    J.queued++;
}

/* ------------------------------------------------------------------------------------ */
/* Files: names, JSON lines, the spool writer                                            */
/* ------------------------------------------------------------------------------------ */

static int path_of(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_p(const char *dir)
{
    char path[SPOOL_PATH_MAX];
    size_t len = strlen(dir), i;
    struct stat sb;
    int rc = -1;

    if (len == 0 || len >= sizeof(path))
        goto out;
    memcpy(path, dir, len + 1);
    for (i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            goto out;
        path[i] = i < len ? '/' : '\0';
    }
    if (stat(dir, &sb) != 0 || access(dir, W_OK | X_OK) != 0)
        goto out;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/*
 * Whether name is a spool file: "journal-<...>.spool" or "journal-<...>.kept", maybe
 * followed by ".claimed-<pid>". *kept tells which; *claimer is the pid or 0 when unclaimed.
 */
static int spool_name(const char *name, int *kept, long *claimer)
{
    const char *mark = strstr(name, CLAIM_MARK);
    size_t base = mark != NULL ? (size_t)(mark - name) : strlen(name);
    char *end;
    int ok = 0;

    *claimer = 0;
    if (strncmp(name, "journal-", 8) != 0)
        goto out;
    if (base > 6 && strncmp(name + base - 6, ".spool", 6) == 0)
        *kept = 0;
    else if (base > 5 && strncmp(name + base - 5, ".kept", 5) == 0)
        *kept = 1;
    else
        goto out;
    if (mark != NULL) {
        errno = 0;
        *claimer = strtol(mark + strlen(CLAIM_MARK), &end, 10);
        if (errno != 0 || *end != '\0' || *claimer <= 0 || *claimer > INT_MAX)
            goto out;
    }
    ok = 1;
out:
    return ok;
}

/* JSON line: {"stream":"...","fields":[...]} plus, for the rejected file, the error. */
static int encode_line(struct buf *out, const char *stream, char *const *f, int ncols,
                       const char *sqlstate, const char *error)
{
    json_t *o = json_object(), *a = json_array();
    char *text = NULL;
    char at[32];
    time_t t;
    struct tm tm;
    int i, rc = -1;

    if (o == NULL || a == NULL)
        goto out;
    for (i = 0; i < ncols; i++)
        if (json_array_append_new(a, f[i] != NULL ? json_string(f[i]) : json_null()) != 0)
            goto out;
    if (json_object_set_new(o, "stream", json_string(stream)) != 0 ||
        json_object_set(o, "fields", a) != 0)
        goto out;
    if (error != NULL) {
        t = time(NULL);
        gmtime_r(&t, &tm);
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (json_object_set_new(o, "sqlstate",
                                sqlstate != NULL ? json_string(sqlstate) : json_null()) != 0 ||
            json_object_set_new(o, "error", json_string(error)) != 0 ||
            json_object_set_new(o, "at", json_string(at)) != 0)
            goto out;
    }
    text = json_dumps(o, JSON_COMPACT);
    if (text == NULL || buf_puts(out, text) != 0 || buf_append(out, "\n", 1) != 0)
        goto out;
    rc = 0;
out:
    free(text);
    json_decref(a);
    json_decref(o);
    return rc;
}

/* A record of a registered stream from one spool line, or NULL (not ours, or bad). */
static struct rec *decode_line(const char *line, size_t len, struct stream **stp)
{
    struct slice fields[JOURNAL_MAX_COLS];
    json_t *o, *name, *a, *v;
    struct rec *r = NULL;
    struct stream *st;
    size_t i;

    o = json_loadb(line, len, 0, NULL);
    if (o == NULL)
        goto out;
    name = json_object_get(o, "stream");
    a = json_object_get(o, "fields");
    if (!json_is_string(name) || !json_is_array(a))
        goto out;
    st = stream_named(json_string_value(name));
    if (st == NULL || json_array_size(a) != (size_t)st->s->ncols)
        goto out;
    for (i = 0; i < json_array_size(a); i++) {
        v = json_array_get(a, i);
        if (json_is_null(v)) {
            fields[i].ptr = NULL;
            fields[i].len = 0;
        } else if (json_is_string(v)) {
            fields[i].ptr = json_string_value(v);
            fields[i].len = json_string_length(v);
        } else {
            goto out;
        }
    }
    r = rec_new(st->s->ncols, fields);
    *stp = st;
out:
    json_decref(o);
    return r;
}

/* Read one line (without its newline) into line. Returns 1, 0 at the end, -1 when it is
 * longer than SPOOL_LINE_MAX or on a read error. */
static int read_line(FILE *f, struct buf *line)
{
    char chunk[65536];
    size_t n;
    int rc = -1;

    buf_reset(line);
    while (fgets(chunk, sizeof(chunk), f) != NULL) {
        n = strlen(chunk);
        if (n > 0 && chunk[n - 1] == '\n') {
            rc = buf_append(line, chunk, n - 1) == 0 ? 1 : -1;
            goto out;
        }
        if (buf_append(line, chunk, n) != 0)
            goto out;
    }
    if (ferror(f))
        goto out;
    rc = line->len > 0 ? 1 : 0; /* a last line without its newline, or the end */
out:
    return rc;
}

static int spool_open(struct spool_out *so)
{
    char name[64];
    int fd, rc = -1;

    memset(so, 0, sizeof(*so));
    snprintf(name, sizeof(name), ".journal-%ld-%u.tmp", (long)getpid(), J.seq++);
    if (path_of(so->tmp, sizeof(so->tmp), J.dir, name) != 0)
        goto out;
    fd = open(so->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    so->f = fdopen(fd, "w");
    if (so->f == NULL) {
        close(fd);
        unlink(so->tmp);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        log_error("journal: cannot create a file in %s: %m", J.dir);
    return rc;
}

static int spool_put(struct spool_out *so, const char *line, size_t len)
{
    int rc = -1;

    if (fwrite(line, 1, len, so->f) != len || fputc('\n', so->f) == EOF)
        goto out;
    so->lines++;
    rc = 0;
out:
    return rc;
}

static int spool_put_rec(struct spool_out *so, const struct stream *st, const struct rec *r)
{
    struct buf b;
    int rc = -1;

    buf_init(&b, SPOOL_LINE_MAX);
    if (encode_line(&b, st->s->name, r->f, st->s->ncols, NULL, NULL) != 0 ||
        fwrite(b.data, 1, b.len, so->f) != b.len)
        goto out;
    so->lines++;
    so->records++;
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

static void spool_abort(struct spool_out *so)
{
    if (so->f != NULL)
        fclose(so->f);
    so->f = NULL;
    unlink(so->tmp);
}

/* Make the file complete and durable, then give it its final name (never replacing
 * another). kind is "spool" or "kept". When it holds nothing it is removed. Returns 0 or -1
 * (nothing left behind). */
static int spool_commit(struct spool_out *so, const char *kind, char *final, size_t len)
{
    char name[96];
    int dfd, tries, rc = -1;

    final[0] = '\0';
    if (fflush(so->f) != 0 || fsync(fileno(so->f)) != 0 || fclose(so->f) != 0) {
        so->f = NULL;
        goto out;
    }
    so->f = NULL;
    if (so->lines == 0) {
        unlink(so->tmp);
        rc = 0;
        goto out;
    }
    for (tries = 0; tries < 100; tries++) {
        snprintf(name, sizeof(name), "journal-%010lld-%ld-%u.%s", (long long)time(NULL),
                 (long)getpid(), J.seq++, kind);
        if (path_of(final, len, J.dir, name) != 0)
            goto out;
        if (link(so->tmp, final) == 0)
            break;
        if (errno != EEXIST)
            goto out;
    }
    if (tries == 100)
        goto out;
    unlink(so->tmp);
    dfd = open(J.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    if (rc != 0) {
        log_error("journal: cannot write a spool file in %s: %m", J.dir);
        spool_abort(so);
        final[0] = '\0';
    }
    return rc;
}

/* Copy the lines of src's file that no registered stream takes into so. Returns 0 or -1. */
static int copy_kept(const struct src *sc, struct spool_out *so)
{
    struct stream *st;
    struct buf line;
    struct rec *r;
    FILE *f;
    int got, rc = -1;

    buf_init(&line, SPOOL_LINE_MAX);
    f = fopen(sc->path, "r");
    if (f == NULL)
        goto out;
    while ((got = read_line(f, &line)) == 1) {
        if (line.len == 0)
            continue;
        r = decode_line(buf_cstr(&line), line.len, &st);
        if (r != NULL) {
            free(r);
            continue;
        }
        if (spool_put(so, buf_cstr(&line), line.len) != 0)
            goto out;
    }
    if (got < 0)
        goto out;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    buf_free(&line);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Spool files at start: claim, queue, delete when written                               */
/* ------------------------------------------------------------------------------------ */

/* Take dir/name for this process: 0 and *claimed (malloc'd path) when the rename won. */
static int claim(const char *dir, const char *name, char **claimed)
{
    char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX];
    const char *mark = strstr(name, CLAIM_MARK);
    size_t base = mark != NULL ? (size_t)(mark - name) : strlen(name);
    int n, rc = -1;

    *claimed = NULL;
    n = snprintf(to, sizeof(to), "%s/%.*s%s%ld", dir, (int)base, name, CLAIM_MARK, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(to) || path_of(from, sizeof(from), dir, name) != 0)
        goto out;
    if (strcmp(from, to) == 0 || rename(from, to) != 0)
        goto out;
    *claimed = xstrdup(to);
    rc = 0;
out:
    return rc;
}

static int ours(const char *path)
{
    const struct src *sc;

    for (sc = J.srcs; sc != NULL; sc = sc->next)
        if (strcmp(sc->path, path) == 0)
            return 1;
    return 0;
}

/* A claim is stale when its process is gone, or it names this process but is not one of
 * this journal's files (a previous process with the same pid, or an earlier start). */
static int stale_claim(const char *name, long pid)
{
    char path[SPOOL_PATH_MAX];

    if (pid == (long)getpid())
        return path_of(path, sizeof(path), J.dir, name) == 0 && !ours(path);
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Put a file aside as <name>.bad, untouched, for someone to look at. */
static void set_aside(const char *path, const char *why)
{
    char bad[SPOOL_PATH_MAX];
    int n = snprintf(bad, sizeof(bad), "%s.bad", path);

    if (n > 0 && (size_t)n < sizeof(bad) && rename(path, bad) == 0)
        log_error("journal: %s: %s; set aside as %s", path, why, bad);
    else
        log_error("journal: %s: %s; left in place", path, why);
}

/* The file's records are all resolved: keep its other lines in a .kept file, delete it. */
static void src_finish(struct src *sc)
{
    struct src **pp;
    struct spool_out so;
    char final[SPOOL_PATH_MAX];

    /* On failure the file stays claimed: journal_exit() copies its kept lines again, or a
     * later start takes it back. */
    if (sc->kept > 0) {
        if (spool_open(&so) != 0)
            goto out;
        if (copy_kept(sc, &so) != 0) {
            spool_abort(&so);
            log_error("journal: %s: cannot copy its %zu kept lines; left in place", sc->path,
                      sc->kept);
            goto out;
        }
        if (spool_commit(&so, "kept", final, sizeof(final)) != 0)
            goto out;
        log_warn("journal: %s: %zu lines for streams this build does not write kept in %s",
                 sc->path, sc->kept, final);
    }
    if (unlink(sc->path) != 0)
        log_error("journal: cannot delete %s: %m (its records would be written again)", sc->path);
    else
        log_info("journal: %s: done (its records written or rejected)", sc->path);
    for (pp = &J.srcs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == sc) {
            *pp = sc->next;
            break;
        }
    }
    free(sc->path);
    free(sc);
out:
    return;
}

/* Queue the records of a claimed file (path is taken over). A file that cannot be read
 * whole is put aside and nothing of it is queued. */
static void src_load(char *path)
{
    struct rec *head = NULL, *tail = NULL, *r;
    struct stream **owner = NULL, *st;
    size_t n = 0, kept = 0, cap = 0, i;
    struct src *sc;
    struct buf line;
    FILE *f;
    int got = -1;

    buf_init(&line, SPOOL_LINE_MAX);
    sc = xcalloc(1, sizeof(*sc));
    sc->path = path;
    f = fopen(path, "r");
    if (f == NULL)
        goto fail;
    while ((got = read_line(f, &line)) == 1) {
        if (line.len == 0)
            continue;
        r = decode_line(buf_cstr(&line), line.len, &st);
        if (r == NULL) {
            kept++;
            continue;
        }
        if (n == cap) {
            cap = cap == 0 ? 1024 : cap * 2;
            owner = xrealloc(owner, cap * sizeof(*owner));
        }
        owner[n++] = st;
        r->src = sc;
        if (tail != NULL)
            tail->next = r;
        else
            head = r;
        tail = r;
    }
    fclose(f);
    if (got < 0)
        goto fail;
    sc->left = n;
    sc->kept = kept;
    sc->next = J.srcs;
    J.srcs = sc;
    for (i = 0; i < n; i++) {
        r = head;
        head = r->next;
        rec_enqueue(owner[i], r);
    }
    if (kept > 0)
        log_warn("journal: %s: %zu records queued; %zu lines name no registered stream or do "
                 "not parse",
                 path, n, kept);
    else
        log_info("journal: %s: %zu records queued", path, n);
    if (n == 0)
        src_finish(sc);
    goto out;
fail:
    set_aside(path, f == NULL ? "cannot be opened" : "a line is too long or unreadable");
    while ((r = head) != NULL) {
        head = r->next;
        free(r);
    }
    free(sc->path);
    free(sc);
out:
    free(owner);
    buf_free(&line);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Claim and queue spool files while the queue is below limit, oldest first (their names
 * start with the time). .kept files only at start (at_start): their lines wait for a
 * build that registers their streams.
 */
static void claim_files(int at_start, size_t limit)
{
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    struct dirent *de;
    char *claimed;
    long pid;
    int kept;
    DIR *d;

    J.more_files = 0;
    d = opendir(J.dir);
    if (d == NULL) {
        log_error("journal: cannot read %s: %m", J.dir);
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        if (!spool_name(de->d_name, &kept, &pid) || (kept && !at_start))
            continue;
        if (pid != 0 && !stale_claim(de->d_name, pid))
            continue;
        if (n == cap) {
            cap = cap == 0 ? 16 : cap * 2;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), name_cmp);
    for (i = 0; i < n; i++) {
        if (J.queued >= limit) {
            J.more_files = 1;
        } else if (claim(J.dir, names[i], &claimed) == 0) {
            src_load(claimed);
        }
        free(names[i]);
    }
out:
    free(names);
}

static void src_record_done(struct rec *r)
{
    struct src *sc = r->src;

    if (sc != NULL && --sc->left == 0)
        src_finish(sc);
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

static void rejected_write(const struct stream *st, const struct rec *r, const char *sqlstate,
                           const char *err)
{
    char path[SPOOL_PATH_MAX], msg[ERR_MAX], shown[ERR_MAX];
    struct buf b;
    size_t n;
    int fd = -1;

    buf_init(&b, SPOOL_LINE_MAX + ERR_MAX * 2);
    n = journal_repair(err != NULL ? err : "?", err != NULL ? strlen(err) : 1, msg,
                       sizeof(msg) - 1);
    msg[n] = '\0';
    if (path_of(path, sizeof(path), J.dir, REJECTED_NAME) != 0 ||
        encode_line(&b, st->s->name, r->f, st->s->ncols, sqlstate, msg) != 0)
        goto fail;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    /* One write(2) per line with O_APPEND: lines of several workers never interleave. */
    if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)
        goto fail;
    log_error("journal: %s: Postgres refused a record (%s %s); kept in %s", st->s->name,
              sqlstate != NULL ? sqlstate : "-", loggable(msg, shown, sizeof(shown)), path);
    goto out;
fail:
    log_error("journal: %s: Postgres refused a record (%s %s) and it could not be kept in %s: "
              "%m; record lost",
              st->s->name, sqlstate != NULL ? sqlstate : "-", loggable(msg, shown, sizeof(shown)),
              path);
out:
    if (fd >= 0)
        close(fd);
    buf_free(&b);
}

/* Resolve the batch's records (written, or rejected with err) and free it. */
static void batch_finish(struct batch *b, const char *sqlstate, const char *err)
{
    struct rec *r;
    size_t n = b->n;

    while ((r = b->head) != NULL) {
        b->head = r->next;
        if (err != NULL)
            rejected_write(b->st, r, sqlstate, err);
        J.queued--;
        src_record_done(r);
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
    struct rec *r = b->head;
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
    struct rec *r;

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
out:
    return b;
}

/* Send b. Returns 0 (batch_done() will be called) or -1. */
static int batch_send(struct batch *b)
{
    const struct journal_stream *s = b->st->s;
    struct buf cols[JOURNAL_MAX_COLS];
    const char *params[JOURNAL_MAX_COLS];
    const struct rec *r;
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
    if (mkdir_p(dir) != 0) {
        log_error("journal: spool directory %s is not usable: %m", dir);
        goto out;
    }
    J.dir = xstrdup(dir);
    J.base = base;
    J.queue_max = o != NULL && o->queue_max > 0 ? o->queue_max : JOURNAL_QUEUE_MAX;
    for (i = 0; i < nregistered; i++)
        J.streams[i].s = registered[i];
    J.nstreams = nregistered;
    J.flush_ev = event_new(base, -1, 0, on_flush, NULL);
    J.timer = evtimer_new(base, on_timer, NULL);
    if (J.flush_ev == NULL || J.timer == NULL) {
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
        free(J.dir);
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
    rec_enqueue(st, rec_new(s->ncols, fields));
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

static int spool_list(struct spool_out *so, const struct stream *st, const struct rec *r)
{
    int rc = 0;

    for (; r != NULL && rc == 0; r = r->next)
        rc = spool_put_rec(so, st, r);
    return rc;
}

/* Everything still held, oldest first per stream, and the kept lines of claimed files.
 * Returns 0 (also when there was nothing), or -1. */
static int spool_everything(char *final, size_t len)
{
    struct spool_out so;
    const struct batch *b;
    const struct stream *st;
    const struct src *sc;
    size_t i;
    int rc = -1;

    final[0] = '\0';
    if (spool_open(&so) != 0)
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
    for (sc = J.srcs; sc != NULL; sc = sc->next)
        if (sc->kept > 0 && copy_kept(sc, &so) != 0)
            goto fail;
    J.spooled = so.records;
    if (spool_commit(&so, "spool", final, len) != 0)
        goto out;
    rc = 0;
    goto out;
fail:
    spool_abort(&so);
    log_error("journal: cannot write the spool file in %s: %m", J.dir);
out:
    return rc;
}

static void free_recs(struct rec *r)
{
    struct rec *next;

    for (; r != NULL; r = next) {
        next = r->next;
        free(r);
    }
}

void journal_exit(int drain_ms)
{
    long long deadline = now_ms() + (drain_ms > 0 ? drain_ms : 0);
    struct timeval turn = {0, DRAIN_TURN_MS * 1000};
    char final[SPOOL_PATH_MAX];
    struct batch *b, *next;
    struct stream *st;
    struct src *sc;
    size_t i, held;
    int spooled;

    if (!J.started)
        goto out;
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
    if (held == 0 && J.srcs == NULL)
        log_info("journal: every record written");
    else if (spooled && final[0] != '\0')
        log_warn("journal: %zu records not written yet; spooled to %s", held, final);
    else if (!spooled)
        log_error("journal: %zu records not written and not spooled: lost (those read from "
                  "spool files stay in them)",
                  held);
    if (spooled) {
        metrics_journal_spooled(J.spooled);
        /* Their records (and kept lines) are in the new file now. */
        for (sc = J.srcs; sc != NULL; sc = sc->next)
            if (unlink(sc->path) != 0)
                log_error("journal: cannot delete %s: %m", sc->path);
    }
    for (i = 0; i < J.nstreams; i++) {
        st = &J.streams[i];
        for (b = st->flying; b != NULL; b = next) {
            /* pg still owns the statement: its answer frees the batch. */
            next = b->next;
            free_recs(b->head);
            b->head = b->tail = NULL;
            b->orphan = 1;
        }
        for (b = st->pending; b != NULL; b = next) {
            next = b->next;
            free_recs(b->head);
            free(b);
        }
        free_recs(st->head);
    }
    while ((sc = J.srcs) != NULL) {
        J.srcs = sc->next;
        free(sc->path);
        free(sc);
    }
    event_free(J.flush_ev);
    event_free(J.timer);
    free(J.dir);
    memset(&J, 0, sizeof(J));
out:
    memset(registered, 0, sizeof(registered));
    nregistered = 0;
}
