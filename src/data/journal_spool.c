/*
 * The journal's files: spool files written at exit and claimed at start, .kept files,
 * files set aside as .bad, and the rejected file; see journal_spool.h.
 *
 * A claimed file is a struct journal_spool_file that counts its records not yet resolved
 * (written or rejected) and the lines no registered stream takes; every record read from
 * it points to it, and when the count reaches zero the kept lines are copied to a new
 * .kept file and the claimed file is deleted. A file is read whole before any of its
 * records is handed to the journal, so a file that cannot be read queues nothing.
 */
#include "data/journal_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/log.h"
#include "core/mem.h"

#define REJECTED_NAME "journal-rejected.jsonl"
#define CLAIM_MARK ".claimed-"
/* Longest spool line we read: every field at its cap, escaped as \uXXXX, fits easily. */
#define SPOOL_LINE_MAX (1u << 20)
/* A rejected line: a spool line and the server's message (under 512 bytes), escaped. */
#define REJECTED_LINE_MAX (SPOOL_LINE_MAX + 1024)

/* A claimed spool file. */
struct journal_spool_file {
    struct journal_spool_file *next;
    char *path;  /* its claimed name */
    size_t left; /* its records neither written nor rejected */
    size_t kept; /* its lines no registered stream takes (copied out when it is done) */
};

static struct {
    char *dir;
    char rejected[JOURNAL_SPOOL_PATH_MAX]; /* dir/REJECTED_NAME, "" if it does not fit */
    const struct journal_stream *const *streams;
    size_t nstreams;
    journal_spool_queue_fn queue;
    struct journal_spool_file *files; /* claimed, newest first */
    unsigned seq;                     /* for unique temporary and spool names */
} S;

/* ------------------------------------------------------------------------------------ */
/* Names and the directory                                                               */
/* ------------------------------------------------------------------------------------ */

static int path_of(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_p(const char *dir)
{
    char path[JOURNAL_SPOOL_PATH_MAX];
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

/* ------------------------------------------------------------------------------------ */
/* JSON lines                                                                            */
/* ------------------------------------------------------------------------------------ */

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

static const struct journal_stream *stream_named(const char *name)
{
    size_t i;

    for (i = 0; i < S.nstreams; i++)
        if (strcmp(S.streams[i]->name, name) == 0)
            return S.streams[i];
    return NULL;
}

/* A record of a registered stream from one spool line, or NULL (not ours, or bad). */
static struct journal_rec *decode_line(const char *line, size_t len,
                                       const struct journal_stream **sp)
{
    struct slice fields[JOURNAL_MAX_COLS];
    const struct journal_stream *s;
    json_t *o, *name, *a, *v;
    struct journal_rec *r = NULL;
    size_t i;

    o = json_loadb(line, len, 0, NULL);
    if (o == NULL)
        goto out;
    name = json_object_get(o, "stream");
    a = json_object_get(o, "fields");
    if (!json_is_string(name) || !json_is_array(a))
        goto out;
    s = stream_named(json_string_value(name));
    if (s == NULL || json_array_size(a) != (size_t)s->ncols)
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
    r = journal_rec_new(s->ncols, fields);
    *sp = s;
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

/* ------------------------------------------------------------------------------------ */
/* Writing a spool file                                                                  */
/* ------------------------------------------------------------------------------------ */

int journal_spool_open(struct journal_spool_out *so)
{
    char name[64];
    int fd, rc = -1;

    memset(so, 0, sizeof(*so));
    snprintf(name, sizeof(name), ".journal-%ld-%u.tmp", (long)getpid(), S.seq++);
    if (path_of(so->tmp, sizeof(so->tmp), S.dir, name) != 0)
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
        log_error("journal: cannot create a file in %s: %m", S.dir);
    return rc;
}

/* Append one line as it is (a kept line). */
static int put_line(struct journal_spool_out *so, const char *line, size_t len)
{
    int rc = -1;

    if (fwrite(line, 1, len, so->f) != len || fputc('\n', so->f) == EOF)
        goto out;
    so->lines++;
    rc = 0;
out:
    return rc;
}

int journal_spool_put(struct journal_spool_out *so, const struct journal_stream *s,
                      const struct journal_rec *r)
{
    struct buf b;
    int rc = -1;

    buf_init(&b, SPOOL_LINE_MAX);
    if (encode_line(&b, s->name, r->f, s->ncols, NULL, NULL) != 0 ||
        fwrite(b.data, 1, b.len, so->f) != b.len)
        goto out;
    so->lines++;
    so->records++;
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

void journal_spool_abort(struct journal_spool_out *so)
{
    if (so->f != NULL)
        fclose(so->f);
    so->f = NULL;
    unlink(so->tmp);
}

/* Make the file complete and durable, then give it its final name (never replacing
 * another). kind is "spool" or "kept". When it holds nothing it is removed. Returns 0 or -1
 * (nothing left behind). */
static int commit(struct journal_spool_out *so, const char *kind, char *final, size_t len)
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
                 (long)getpid(), S.seq++, kind);
        if (path_of(final, len, S.dir, name) != 0)
            goto out;
        if (link(so->tmp, final) == 0)
            break;
        if (errno != EEXIST)
            goto out;
    }
    if (tries == 100)
        goto out;
    unlink(so->tmp);
    dfd = open(S.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    if (rc != 0) {
        log_error("journal: cannot write a spool file in %s: %m", S.dir);
        journal_spool_abort(so);
        final[0] = '\0';
    }
    return rc;
}

int journal_spool_commit(struct journal_spool_out *so, char *final, size_t len)
{
    return commit(so, "spool", final, len);
}

/* Copy the lines of file's file that no registered stream takes into so. Returns 0 or -1. */
static int copy_kept(const struct journal_spool_file *file, struct journal_spool_out *so)
{
    const struct journal_stream *s;
    struct journal_rec *r;
    struct buf line;
    FILE *f;
    int got, rc = -1;

    buf_init(&line, SPOOL_LINE_MAX);
    f = fopen(file->path, "r");
    if (f == NULL)
        goto out;
    while ((got = read_line(f, &line)) == 1) {
        if (line.len == 0)
            continue;
        r = decode_line(buf_cstr(&line), line.len, &s);
        if (r != NULL) {
            free(r);
            continue;
        }
        if (put_line(so, buf_cstr(&line), line.len) != 0)
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

int journal_spool_put_kept(struct journal_spool_out *so)
{
    const struct journal_spool_file *file;
    int rc = 0;

    for (file = S.files; file != NULL && rc == 0; file = file->next)
        if (file->kept > 0)
            rc = copy_kept(file, so);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Spool files at start: claim, queue, delete when written                               */
/* ------------------------------------------------------------------------------------ */

/* Take dir/name for this process: 0 and *claimed (malloc'd path) when the rename won. */
static int claim(const char *dir, const char *name, char **claimed)
{
    char from[JOURNAL_SPOOL_PATH_MAX], to[JOURNAL_SPOOL_PATH_MAX];
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
    const struct journal_spool_file *file;

    for (file = S.files; file != NULL; file = file->next)
        if (strcmp(file->path, path) == 0)
            return 1;
    return 0;
}

/* A claim is stale when its process is gone, or it names this process but is not one of
 * this journal's files (a previous process with the same pid, or an earlier start). */
static int stale_claim(const char *name, long pid)
{
    char path[JOURNAL_SPOOL_PATH_MAX];

    if (pid == (long)getpid())
        return path_of(path, sizeof(path), S.dir, name) == 0 && !ours(path);
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Put a file aside as <name>.bad, untouched, for someone to look at. */
static void set_aside(const char *path, const char *why)
{
    char bad[JOURNAL_SPOOL_PATH_MAX];
    int n = snprintf(bad, sizeof(bad), "%s.bad", path);

    if (n > 0 && (size_t)n < sizeof(bad) && rename(path, bad) == 0)
        log_error("journal: %s: %s; set aside as %s", path, why, bad);
    else
        log_error("journal: %s: %s; left in place", path, why);
}

/* The file's records are all resolved: keep its other lines in a .kept file, delete it. */
static void file_finish(struct journal_spool_file *file)
{
    struct journal_spool_file **pp;
    struct journal_spool_out so;
    char final[JOURNAL_SPOOL_PATH_MAX];

    /* On failure the file stays claimed: journal_exit() copies its kept lines again, or a
     * later start takes it back. */
    if (file->kept > 0) {
        if (journal_spool_open(&so) != 0)
            goto out;
        if (copy_kept(file, &so) != 0) {
            journal_spool_abort(&so);
            log_error("journal: %s: cannot copy its %zu kept lines; left in place", file->path,
                      file->kept);
            goto out;
        }
        if (commit(&so, "kept", final, sizeof(final)) != 0)
            goto out;
        log_warn("journal: %s: %zu lines for streams this build does not write kept in %s",
                 file->path, file->kept, final);
    }
    if (unlink(file->path) != 0)
        log_error("journal: cannot delete %s: %m (its records would be written again)", file->path);
    else
        log_info("journal: %s: done (its records written or rejected)", file->path);
    for (pp = &S.files; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == file) {
            *pp = file->next;
            break;
        }
    }
    free(file->path);
    free(file);
out:
    return;
}

/* Hand the records of a claimed file to the journal (path is taken over). Returns how
 * many. A file that cannot be read whole is put aside and nothing of it is queued. */
static size_t file_load(char *path)
{
    struct journal_rec *head = NULL, *tail = NULL, *r;
    const struct journal_stream **owner = NULL, *s;
    size_t n = 0, kept = 0, cap = 0, i;
    struct journal_spool_file *file;
    struct buf line;
    FILE *f;
    int got = -1;

    buf_init(&line, SPOOL_LINE_MAX);
    file = xcalloc(1, sizeof(*file));
    file->path = path;
    f = fopen(path, "r");
    if (f == NULL)
        goto fail;
    while ((got = read_line(f, &line)) == 1) {
        if (line.len == 0)
            continue;
        r = decode_line(buf_cstr(&line), line.len, &s);
        if (r == NULL) {
            kept++;
            continue;
        }
        if (n == cap) {
            cap = cap == 0 ? 1024 : cap * 2;
            owner = xrealloc(owner, cap * sizeof(*owner));
        }
        owner[n++] = s;
        r->file = file;
        if (tail != NULL)
            tail->next = r;
        else
            head = r;
        tail = r;
    }
    fclose(f);
    if (got < 0)
        goto fail;
    file->left = n;
    file->kept = kept;
    file->next = S.files;
    S.files = file;
    for (i = 0; i < n; i++) {
        r = head;
        head = r->next;
        S.queue(owner[i], r);
    }
    if (kept > 0)
        log_warn("journal: %s: %zu records queued; %zu lines name no registered stream or do "
                 "not parse",
                 path, n, kept);
    else
        log_info("journal: %s: %zu records queued", path, n);
    if (n == 0)
        file_finish(file);
    goto out;
fail:
    set_aside(path, f == NULL ? "cannot be opened" : "a line is too long or unreadable");
    journal_rec_free_list(head);
    free(file->path);
    free(file);
    n = 0;
out:
    free(owner);
    buf_free(&line);
    return n;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int journal_spool_claim(int at_start, size_t held, size_t limit)
{
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    struct dirent *de;
    char *claimed;
    int kept, more = 0;
    long pid;
    DIR *d;

    d = opendir(S.dir);
    if (d == NULL) {
        log_error("journal: cannot read %s: %m", S.dir);
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
    /* Oldest first: their names start with the time. */
    if (n > 0)
        qsort(names, n, sizeof(*names), name_cmp);
    for (i = 0; i < n; i++) {
        if (held >= limit)
            more = 1;
        else if (claim(S.dir, names[i], &claimed) == 0)
            held += file_load(claimed);
        free(names[i]);
    }
out:
    free(names);
    return more;
}

void journal_spool_resolved(struct journal_spool_file *file)
{
    if (file != NULL && --file->left == 0)
        file_finish(file);
}

size_t journal_spool_claimed(void)
{
    const struct journal_spool_file *file;
    size_t n = 0;

    for (file = S.files; file != NULL; file = file->next)
        n++;
    return n;
}

/* ------------------------------------------------------------------------------------ */
/* The rejected file, the directory, the end                                             */
/* ------------------------------------------------------------------------------------ */

int journal_spool_reject(const struct journal_stream *s, const struct journal_rec *r,
                         const char *sqlstate, const char *error)
{
    struct buf b;
    int fd = -1, rc = -1;

    buf_init(&b, REJECTED_LINE_MAX);
    if (S.rejected[0] == '\0') {
        errno = ENAMETOOLONG;
        goto out;
    }
    if (encode_line(&b, s->name, r->f, s->ncols, sqlstate, error) != 0)
        goto out;
    fd = open(S.rejected, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    /* One write(2) per line with O_APPEND: lines of several workers never interleave. */
    if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    buf_free(&b);
    return rc;
}

const char *journal_spool_rejected_path(void)
{
    return S.rejected;
}

const char *journal_spool_dir(void)
{
    return S.dir != NULL ? S.dir : "";
}

int journal_spool_init(const char *dir, const struct journal_stream *const *streams,
                       size_t nstreams, journal_spool_queue_fn queue)
{
    int rc = -1;

    journal_spool_exit(0);
    if (mkdir_p(dir) != 0) {
        log_error("journal: spool directory %s is not usable: %m", dir);
        goto out;
    }
    S.dir = xstrdup(dir);
    if (path_of(S.rejected, sizeof(S.rejected), dir, REJECTED_NAME) != 0)
        S.rejected[0] = '\0';
    S.streams = streams;
    S.nstreams = nstreams;
    S.queue = queue;
    rc = 0;
out:
    return rc;
}

void journal_spool_exit(int delete_files)
{
    struct journal_spool_file *file;

    while ((file = S.files) != NULL) {
        S.files = file->next;
        if (delete_files && unlink(file->path) != 0)
            log_error("journal: cannot delete %s: %m", file->path);
        free(file->path);
        free(file);
    }
    free(S.dir);
    memset(&S, 0, sizeof(S));
}
