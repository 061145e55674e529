/*
 * Query strings and form bodies; see form.h.
 */
#include "net/form.h"

#include <string.h>

#define KEY_MAX 256 /* longest decoded key compared */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int form_decode(const char *s, size_t n, struct buf *out)
{
    size_t i, start = 0;
    char c;

    for (i = 0; i < n; i++) {
        if (s[i] != '+' && s[i] != '%')
            continue;
        if (s[i] == '%' && (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0))
            continue; /* a lone '%' stays literal */
        if (buf_append(out, s + start, i - start) != 0)
            return -1;
        if (s[i] == '+') {
            c = ' ';
        } else {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (buf_append(out, &c, 1) != 0)
            return -1;
        start = i + 1;
    }
    return buf_append(out, s + start, n - start);
}

int form_next(const char *s, size_t len, size_t *pos, struct slice *key, struct slice *value)
{
    const char *seg, *amp, *eq;
    size_t seglen;

    while (s != NULL && *pos < len) {
        seg = s + *pos;
        amp = memchr(seg, '&', len - *pos);
        seglen = amp != NULL ? (size_t)(amp - seg) : len - *pos;
        *pos += seglen + 1;
        if (seglen == 0)
            continue;
        eq = memchr(seg, '=', seglen);
        key->ptr = seg;
        key->len = eq != NULL ? (size_t)(eq - seg) : seglen;
        value->ptr = eq != NULL ? eq + 1 : seg + seglen;
        value->len = eq != NULL ? seglen - key->len - 1 : 0;
        return 1;
    }
    return 0;
}

int form_get(const char *s, size_t len, const char *name, struct buf *out)
{
    struct slice k, v;
    struct buf key;
    size_t pos = 0, nl = strlen(name);
    int found = 0;

    buf_init(&key, KEY_MAX);
    while (!found && form_next(s, len, &pos, &k, &v)) {
        buf_reset(&key);
        /* Keys are short; one longer than any name we look for cannot match. */
        if (k.len > 3 * KEY_MAX || form_decode(k.ptr, k.len, &key) != 0)
            continue;
        if (key.len == nl && memcmp(key.data, name, nl) == 0)
            found = 1;
    }
    buf_free(&key);
    if (!found)
        return 0;
    buf_reset(out);
    return form_decode(v.ptr, v.len, out) == 0 ? 1 : -1;
}

int form_encode(const char *s, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;
    size_t start = out->len;
    char esc[3];
    int rc = -1;

    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            if (buf_append(out, p, 1) != 0)
                goto out;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[*p >> 4];
        esc[2] = hex[*p & 15];
        if (buf_append(out, esc, 3) != 0)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0 && out->len > start) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

int form_add(struct buf *out, const char *name, const char *value)
{
    size_t start = out->len;
    int rc = -1;

    if ((start > 0 && buf_append(out, "&", 1) != 0) || form_encode(name, out) != 0 ||
        buf_append(out, "=", 1) != 0 || form_encode(value, out) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > start) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
