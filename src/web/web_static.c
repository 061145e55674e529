/*
 * The web app's files from memory; see web_static.h.
 */
#include "web/web_static.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "channel/httplimit.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/config.h"
#include "net/http.h"
#include "net/serve.h"

#define BUILD_MARK "@BUILD@"
#define NAME_MAX_LEN 96
#define MAX_DEPTH 4
#define IMMUTABLE "public, max-age=31536000, immutable"

struct web_file {
    char *name; /* path under assets/web/: "index.html", "app/main.js" */
    unsigned char *data;
    size_t len;
    unsigned char *gz; /* NULL when gzip would not be smaller */
    size_t gz_len;
    char etag[SERVE_ETAG_MAX];
    char gz_etag[SERVE_ETAG_MAX + 4];
    const char *type;
};

static struct {
    struct web_file files[WEB_MAX_FILES];
    size_t n, total;
    char build[WEB_BUILD_LEN + 1];
    json_t *text;
    struct limit_policy nat;
} W;

/* A name we serve: [a-z0-9_.-], not starting with '.', with a known type. */
static int servable(const char *name)
{
    size_t i;

    if (name[0] == '.' || name[0] == '\0' || strlen(name) > 64)
        return 0;
    for (i = 0; name[i] != '\0'; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '-' || name[i] == '.'))
            return 0;
    return serve_mime(name) != NULL;
}

/* Read path (at most WEB_MAX_FILE_BYTES) into a malloc'd buffer. Returns 0 or -1. */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    struct stat st;
    int rc = -1;

    if (f == NULL || fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        (unsigned long long)st.st_size > WEB_MAX_FILE_BYTES) {
        log_error("web: %s: cannot read or larger than %u bytes", path, WEB_MAX_FILE_BYTES);
        goto out;
    }
    data = xmalloc((size_t)st.st_size + 1);
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        log_error("web: %s: short read", path);
        goto out;
    }
    *out = data;
    *len = (size_t)st.st_size;
    data = NULL;
    rc = 0;
out:
    free(data);
    if (f != NULL)
        fclose(f);
    return rc;
}

/* Load every servable file under dir/rel (rel "" for the top) into W.files. */
static int load_dir(const char *dir, const char *rel, int depth)
{
    char path[1024], name[NAME_MAX_LEN + 1];
    struct dirent *de;
    struct stat st;
    DIR *d;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if ((d = opendir(path)) == NULL) {
        log_error("web: %s: %s", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", de->d_name) >=
                (int)sizeof(name) ||
            snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
            stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH && load_dir(dir, name, depth + 1) != 0)
                goto out;
            continue;
        }
        if (!S_ISREG(st.st_mode) || !servable(de->d_name))
            continue;
        if (W.n == WEB_MAX_FILES) {
            log_error("web: more than %d files in %s", WEB_MAX_FILES, dir);
            goto out;
        }
        if (read_file(path, &W.files[W.n].data, &W.files[W.n].len) != 0)
            goto out;
        W.total += W.files[W.n].len;
        if (W.total > WEB_MAX_TOTAL_BYTES) {
            log_error("web: %s holds more than %u bytes", dir, WEB_MAX_TOTAL_BYTES);
            free(W.files[W.n].data);
            goto out;
        }
        W.files[W.n].name = xstrdup(name);
        W.files[W.n].type = serve_mime(de->d_name);
        W.n++;
    }
    rc = 0;
out:
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct web_file *)a)->name, ((const struct web_file *)b)->name);
}

static int immutable_file(const struct web_file *f)
{
    return strncmp(f->name, "app/", 4) == 0;
}

/* The fingerprint of every file under app/, names and bytes, in name order. */
static int fingerprint(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0, i;
    size_t k;
    int rc = -1;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    for (k = 0; k < W.n; k++) {
        if (!immutable_file(&W.files[k]))
            continue;
        if (EVP_DigestUpdate(ctx, W.files[k].name, strlen(W.files[k].name) + 1) != 1 ||
            EVP_DigestUpdate(ctx, W.files[k].data, W.files[k].len) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mlen) != 1 || mlen * 2 < WEB_BUILD_LEN)
        goto out;
    for (i = 0; i < WEB_BUILD_LEN / 2; i++)
        snprintf(W.build + 2 * i, 3, "%02x", md[i]);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Replace each BUILD_MARK in f by the fingerprint. */
static int stamp(struct web_file *f)
{
    size_t mlen = strlen(BUILD_MARK), i = 0;
    struct buf b;
    char *out;

    buf_init(&b, 2 * WEB_MAX_FILE_BYTES);
    while (i < f->len) {
        if (f->len - i >= mlen && memcmp(f->data + i, BUILD_MARK, mlen) == 0) {
            if (buf_puts(&b, W.build) != 0)
                goto fail;
            i += mlen;
        } else {
            if (buf_append(&b, f->data + i, 1) != 0)
                goto fail;
            i++;
        }
    }
    free(f->data);
    if (b.len == 0) {
        f->data = xmalloc(1);
        f->len = 0;
        buf_free(&b);
        return 0;
    }
    out = buf_steal(&b, &f->len);
    f->data = (unsigned char *)out;
    return 0;
fail:
    buf_free(&b);
    return -1;
}

/* ETag and gzip form of every file. */
static void finish(struct web_file *f)
{
    char *gz;
    size_t zlen = 0;

    serve_etag(f->data, f->len, f->etag, sizeof(f->etag));
    snprintf(f->gz_etag, sizeof(f->gz_etag), "%.*s-gz\"", (int)strlen(f->etag) - 1, f->etag);
    if (strncmp(f->type, "image/png", 9) == 0 || f->len < 256)
        return; /* already compressed, or too small to gain */
    gz = serve_gzip(f->data, f->len, 9, &zlen);
    if (gz != NULL && zlen < f->len) {
        f->gz = (unsigned char *)gz;
        f->gz_len = zlen;
    } else {
        free(gz);
    }
}

static const struct web_file *find(const char *name)
{
    size_t lo = 0, hi = W.n;
    int c;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        c = strcmp(name, W.files[mid].name);
        if (c == 0)
            return &W.files[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int load_text(void)
{
    const struct web_file *f = find("app/text.json");
    json_error_t err;

    if (f == NULL)
        return 0;
    W.text = json_loadb((const char *)f->data, f->len, 0, &err);
    if (W.text == NULL || !json_is_object(json_object_get(W.text, "en")) ||
        !json_is_object(json_object_get(W.text, "hi"))) {
        log_error("web: app/text.json:%d: %s", err.line,
                  W.text == NULL ? err.text : "needs objects \"en\" and \"hi\"");
        return -1;
    }
    return 0;
}

int web_static_init(const struct config *cfg)
{
    char dir[1024];
    struct stat st;
    size_t k;

    web_static_exit();
    W.nat.limit = cfg->rate_nat;
    W.nat.window_s = cfg->rate_nat_window > 0 ? cfg->rate_nat_window : 900;
    snprintf(dir, sizeof(dir), "%s/web", cfg->assets_dir != NULL ? cfg->assets_dir : "assets");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_warn("web: no %s; the web app is not served", dir);
        return 0;
    }
    if (load_dir(dir, "", 0) != 0)
        goto fail;
    qsort(W.files, W.n, sizeof(W.files[0]), by_name);
    if (fingerprint() != 0)
        goto fail;
    for (k = 0; k < W.n; k++) {
        if (!immutable_file(&W.files[k]) && stamp(&W.files[k]) != 0)
            goto fail;
        finish(&W.files[k]);
    }
    if (load_text() != 0)
        goto fail;
    return 0;
fail:
    web_static_exit();
    return -1;
}

void web_static_exit(void)
{
    size_t k;

    for (k = 0; k < W.n; k++) {
        free(W.files[k].name);
        free(W.files[k].data);
        free(W.files[k].gz);
    }
    json_decref(W.text);
    memset(&W, 0, sizeof(W));
}

const char *web_static_build(void)
{
    return W.build;
}

const json_t *web_static_text(const char *lang)
{
    return W.text != NULL ? json_object_get(W.text, lang) : NULL;
}

void web_limit(struct http_request *req, void (*next)(struct http_request *req))
{
    char id[LIMIT_ID_MAX];

    snprintf(id, sizeof(id), "%s%s", HTTPLIMIT_NAT_PREFIX, http_peer(req));
    httplimit_run(req, id, &W.nat, next);
}

/* Answer with the loaded file name, or 404. */
static void send_file(struct http_request *req, const char *name)
{
    const struct web_file *f = find(name);
    struct serve_body b;

    if (f == NULL) {
        http_reply_error(req, 404, "not_found", "There is no such file.");
        return;
    }
    memset(&b, 0, sizeof(b));
    b.data = f->data;
    b.len = f->len;
    b.etag = f->etag;
    b.gz = f->gz;
    b.gz_len = f->gz_len;
    b.gz_etag = f->gz_etag;
    b.type = f->type;
    b.cache_control = immutable_file(f) ? IMMUTABLE : "no-cache";
    if (strncmp(f->type, "text/html", 9) == 0 || strcmp(name, "sw.js") == 0)
        http_add_header(req, "Content-Security-Policy", WEB_CSP);
    if (strcmp(name, "sw.js") == 0)
        http_add_header(req, "Service-Worker-Allowed", "/");
    serve_reply(req, &b);
}

static void index_run(struct http_request *req)
{
    send_file(req, "index.html");
}

static void sw_run(struct http_request *req)
{
    send_file(req, "sw.js");
}

static void manifest_run(struct http_request *req)
{
    send_file(req, "manifest.webmanifest");
}

/* /app/<build>/<path>: the file app/<path> of this build. */
static void asset_run(struct http_request *req)
{
    const char *p = http_path(req) + strlen("/app/"), *rest;
    char name[NAME_MAX_LEN + 1];

    rest = strchr(p, '/');
    if (W.n == 0 || rest == NULL || (size_t)(rest - p) != WEB_BUILD_LEN ||
        memcmp(p, W.build, WEB_BUILD_LEN) != 0 || strstr(rest, "/.") != NULL ||
        snprintf(name, sizeof(name), "app%s", rest) >= (int)sizeof(name)) {
        http_reply_error(req, 404, "not_found", "There is no such file.");
        return;
    }
    send_file(req, name);
}

void web_index(struct http_request *req)
{
    web_limit(req, index_run);
}

void web_sw(struct http_request *req)
{
    web_limit(req, sw_run);
}

void web_manifest(struct http_request *req)
{
    web_limit(req, manifest_run);
}

void web_asset(struct http_request *req)
{
    web_limit(req, asset_run);
}
