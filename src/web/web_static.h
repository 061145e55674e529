/*
 * The web app's files (assets/web/), served from memory by every worker:
 *
 *   GET /                      the app's shell (index.html)          no-cache
 *   GET /sw.js                 its service worker                     no-cache
 *   GET /manifest.webmanifest  the install manifest                   no-cache
 *   GET /app/{build}/{path}    everything under assets/web/app/       immutable, one year
 *
 * {build} is a fingerprint of every file under app/ (12 hex digits of a SHA-256 over their
 * names and bytes), computed when the worker loads the files; the three files above have
 * each "@BUILD@" in them replaced by it, so a release changes the service worker's bytes
 * (the browser installs the new one) and every immutable URL at once. A request for
 * another build is a 404, never another release's bytes under a cached name.
 *
 * Each file has an exact MIME type (net/serve.h), a strong ETag, and a gzip form (made
 * once at load, zlib level 9) sent when accepted and smaller; HEAD is answered. Only files
 * that were loaded can be named: the request path is looked up in the loaded table, never
 * joined to a directory, so "..", NUL and odd encodings cannot reach the file system (and
 * the routes' patterns refuse anything but [-a-z0-9_./]). HTML and the service worker
 * carry WEB_CSP (the app's own scripts, styles, images, audio and API only); sw.js says
 * Service-Worker-Allowed: /. Every file counts against the per-address carrier-NAT budget
 * (channel/httplimit.h).
 */
#ifndef HISAAB_WEB_STATIC_H
#define HISAAB_WEB_STATIC_H

#include <stddef.h>

#include <jansson.h>

struct config;
struct http_request;

/* The policy of every HTML answer of the web channel. */
#define WEB_CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "media-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "               \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

#define WEB_MAX_FILES 128
#define WEB_MAX_FILE_BYTES (1u << 20)
#define WEB_MAX_TOTAL_BYTES (8u << 20)
#define WEB_BUILD_LEN 12

/*
 * Per worker: load <assets_dir>/web/ and its wording (app/text.json). A missing folder is
 * not an error (the routes then answer 404 and the pages use built-in English); a file too
 * large, too many files or a malformed text.json is (logged with its name). Returns 0 or -1.
 */
int web_static_init(const struct config *cfg) __attribute__((warn_unused_result));
void web_static_exit(void);

/* The build fingerprint ("" when nothing is loaded). */
const char *web_static_build(void);

/* The wording of lang ("en"/"hi") from app/text.json, or NULL. Borrowed. */
const json_t *web_static_text(const char *lang);

/* Handlers. */
void web_index(struct http_request *req);
void web_sw(struct http_request *req);
void web_manifest(struct http_request *req);
void web_asset(struct http_request *req);

/* Count req against the carrier-NAT budget of its address, then next(req) (or 429). */
void web_limit(struct http_request *req, void (*next)(struct http_request *req));

#endif
