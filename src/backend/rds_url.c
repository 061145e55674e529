/*
 * Redis URLs and sentinel lists; see rds_url.h.
 */
#include "backend/rds_url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* s[0..n-1] as a port, 1-65535. Returns 0 or -1. */
static int parse_port(const char *s, size_t n, int *port)
{
    char tmp[8], *end;
    long v;

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtol(tmp, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int rds_url_parse(const char *url, struct rds_url *u)
{
    const char *p, *at, *slash, *hp_end, *colon;
    char *end;
    long v;
    size_t n;
    int rc = -1;

    memset(u, 0, sizeof(*u));
    if (url == NULL || strncmp(url, "redis://", 8) != 0)
        goto out;
    p = url + 8;
    slash = strchr(p, '/');
    hp_end = slash != NULL ? slash : p + strlen(p);
    at = NULL;
    for (const char *q = p; q < hp_end; q++)
        if (*q == '@')
            at = q;
    if (at != NULL) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL)
            goto out;
        if (colon > p)
            u->user = xstrndup(p, (size_t)(colon - p));
        u->password = xstrndup(colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    colon = memchr(p, ':', (size_t)(hp_end - p));
    n = (size_t)((colon != NULL ? colon : hp_end) - p);
    if (n == 0 || n >= sizeof(u->server.host))
        goto out;
    memcpy(u->server.host, p, n);
    u->server.host[n] = '\0';
    u->server.port = 6379;
    if (colon != NULL && parse_port(colon + 1, (size_t)(hp_end - colon - 1), &u->server.port) != 0)
        goto out;
    if (slash != NULL && slash[1] != '\0') {
        errno = 0;
        v = strtol(slash + 1, &end, 10);
        if (errno != 0 || *end != '\0' || end == slash + 1 || v < 0 || v > 1000000)
            goto out;
        u->db = (int)v;
    }
    rc = 0;
out:
    if (rc != 0)
        rds_url_free(u);
    return rc;
}

void rds_url_free(struct rds_url *u)
{
    free(u->user);
    free(u->password);
    u->user = NULL;
    u->password = NULL;
}

int rds_sentinels_parse(const char *list, struct rds_server *out, int max)
{
    const char *p = list, *end, *colon;
    size_t n;
    int count = 0;

    if (list == NULL)
        return -1;
    for (;;) {
        end = p + strcspn(p, ",");
        colon = memchr(p, ':', (size_t)(end - p));
        if (colon == NULL || count >= max)
            return -1;
        n = (size_t)(colon - p);
        if (n == 0 || n >= sizeof(out[0].host) ||
            parse_port(colon + 1, (size_t)(end - colon - 1), &out[count].port) != 0)
            return -1;
        memcpy(out[count].host, p, n);
        out[count].host[n] = '\0';
        count++;
        if (*end == '\0')
            return count;
        p = end + 1;
    }
}
