/*
 * The `hisaab { }` block of kore.conf: Hisaab's own settings (see struct config in
 * config.h and the Configuration section of README.md). This file owns the table of
 * keys (name, type, field of struct config, range, allowed values or URL prefixes), their
 * defaults, the check of each value, the refusal of secrets (a key whose name looks like
 * one, a URL with a password or an api-key parameter in it) and the environment
 * variables that win over the file (config_apply_env). The kore.conf syntax itself is
 * config.c's; it hands each statement of the block to config_hisaab_key() (see
 * config_hisaab.h for how the two halves share the parser's error reporting).
 *
 * Adding a setting: a field in struct config, a row in hisaab_keys[], its default in
 * config_hisaab_defaults() (and its free in config_hisaab_free() if it is a string), a
 * commented line in kore.conf and a row in README.md's `hisaab { }` table.
 */
#include "net/config_hisaab.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "net/config.h"

/* Directive names that would put a secret into the file. */
int config_looks_secret(const char *word)
{
    static const char *const bad[] = {"secret",  "password", "passwd", "token",
                                      "api_key", "apikey",   "api-key"};
    char low[CFG_NAME_MAX + 1];
    size_t i, n = strlen(word);

    if (n > CFG_NAME_MAX)
        return 0;
    for (i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)word[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strstr(low, bad[i]) != NULL)
            return 1;
    }
    return n > 4 && strcmp(low + n - 4, "_key") == 0;
}

/* 1 if a URL carries a password in its user-info ("scheme://user:pass@host"). */
static int url_has_password(const char *url)
{
    const char *auth = strstr(url, "://"), *end, *at, *colon;

    if (auth == NULL)
        return 0;
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    if (at == NULL)
        return 0;
    colon = memchr(auth, ':', (size_t)(at - auth));
    return colon != NULL;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the keys ---- */

/* K_URLS: one or more words, each checked like a K_STR, kept joined by blanks. */
enum key_kind { K_STR, K_SIZE, K_INT, K_BOOL, K_URLS };

struct key {
    const char *name;
    enum key_kind kind;
    size_t off;
    long lo, hi;                 /* K_SIZE, K_INT: the range */
    const char *const *choices;  /* K_STR: allowed values, NULL-terminated; NULL = any */
    const char *const *prefixes; /* K_STR: required prefixes (one of), NULL-terminated */
};

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const data_formats[] = {"json", "xml", "csv", NULL};
static const char *const pg_prefixes[] = {"postgresql://", "postgres://", NULL};
static const char *const redis_prefixes[] = {"redis://", NULL};
static const char *const http_prefixes[] = {"http://", "https://", NULL};
static const char *const callback_providers[] = {"twilio", "exotel", NULL};
static const char *const ussd_replies[] = {"header", "json", NULL};

#define OFF(f) offsetof(struct config, f)

static const struct key hisaab_keys[] = {
    {"database_url", K_STR, OFF(database_url), 0, 0, NULL, pg_prefixes},
    {"redis_url", K_STR, OFF(redis_url), 0, 0, NULL, redis_prefixes},
    {"data_source", K_STR, OFF(data_source), 0, 0, NULL, NULL},
    {"data_format", K_STR, OFF(data_format), 0, 0, data_formats, NULL},
    {"data_api_base", K_STR, OFF(data_api_base), 0, 0, NULL, http_prefixes},
    {"log_level", K_STR, OFF(log_level), 0, 0, log_levels, NULL},
    {"assets_dir", K_STR, OFF(assets_dir), 0, 0, NULL, NULL},
    {"spool_dir", K_STR, OFF(spool_dir), 0, 0, NULL, NULL},
    {"insecure_dev", K_BOOL, OFF(insecure_dev), 0, 0, NULL, NULL},
    {"journal_queue_max", K_INT, OFF(journal_queue_max), 10, 10000000, NULL, NULL},
    {"max_body_bytes", K_SIZE, OFF(max_body), 1, 64L * 1024 * 1024, NULL, NULL},
    {"max_header_bytes", K_SIZE, OFF(max_headers), 256, 1024L * 1024, NULL, NULL},
    {"header_timeout_seconds", K_INT, OFF(header_timeout), 1, 3600, NULL, NULL},
    {"keepalive_timeout_seconds", K_INT, OFF(keepalive_timeout), 0, 3600, NULL, NULL},
    {"max_connections", K_INT, OFF(max_connections), 1, 1000000, NULL, NULL},
    {"backend_timeout_ms", K_INT, OFF(backend_timeout_ms), 10, 60000, NULL, NULL},
    {"max_data_age_hours", K_INT, OFF(max_data_age_hours), 1, 87600, NULL, NULL},
    {"drain_timeout_seconds", K_INT, OFF(drain_timeout), 0, 3600, NULL, NULL},
    {"cache_max_age_seconds", K_INT, OFF(cache_max_age), 0, 86400, NULL, NULL},
    {"data_version_poll_seconds", K_INT, OFF(version_poll), 1, 3600, NULL, NULL},
    {"rate_limit_ip", K_INT, OFF(rate_ip), 0, 100000000, NULL, NULL},
    {"rate_limit_ip_window_seconds", K_INT, OFF(rate_ip_window), 1, 86400, NULL, NULL},
    {"rate_limit_client", K_INT, OFF(rate_key), 0, 100000000, NULL, NULL},
    {"rate_limit_client_window_seconds", K_INT, OFF(rate_key_window), 1, 86400, NULL, NULL},
    {"rate_limit_ip_cached", K_INT, OFF(rate_nat), 0, 100000000, NULL, NULL},
    {"rate_limit_ip_cached_window_seconds", K_INT, OFF(rate_nat_window), 1, 86400, NULL, NULL},
    {"cors_origins", K_STR, OFF(cors_origins), 0, 0, NULL, NULL},
    {"sms_rate_per_hour", K_INT, OFF(sms_rate_per_hour), 1, 100000, NULL, NULL},
    {"sms_json_from", K_STR, OFF(sms_json_from), 0, 0, NULL, NULL},
    {"sms_json_to", K_STR, OFF(sms_json_to), 0, 0, NULL, NULL},
    {"sms_json_text", K_STR, OFF(sms_json_text), 0, 0, NULL, NULL},
    {"sms_json_id", K_STR, OFF(sms_json_id), 0, 0, NULL, NULL},
    {"public_url", K_STR, OFF(public_url), 0, 0, NULL, http_prefixes},
    {"sms_public_url", K_STR, OFF(public_url), 0, 0, NULL, http_prefixes}, /* the old name */
    {"audio_dir", K_STR, OFF(audio_dir), 0, 0, NULL, NULL},
    {"callback_provider", K_STR, OFF(callback_provider), 0, 0, callback_providers, NULL},
    {"callback_quiet_hours", K_STR, OFF(callback_quiet_hours), 0, 0, NULL, NULL},
    {"callback_per_number_minutes", K_INT, OFF(callback_per_number_minutes), 1, 10080, NULL, NULL},
    {"callback_calls_per_minute", K_INT, OFF(callback_calls_per_minute), 1, 100000, NULL, NULL},
    {"callback_daily_minutes", K_INT, OFF(callback_daily_minutes), 0, 10000000, NULL, NULL},
    {"callback_retry_minutes", K_STR, OFF(callback_retry_minutes), 0, 0, NULL, NULL},
    {"ussd_deadline_ms", K_INT, OFF(ussd_deadline_ms), 200, 60000, NULL, NULL},
    {"ussd_gsm_limit", K_INT, OFF(ussd_gsm_limit), 40, 1000, NULL, NULL},
    {"ussd_ucs2_limit", K_INT, OFF(ussd_ucs2_limit), 40, 1000, NULL, NULL},
    {"ussd_sessions_per_hour", K_INT, OFF(ussd_sessions_per_hour), 1, 100000, NULL, NULL},
    {"ussd_retry_ms", K_INT, OFF(ussd_retry_ms), 0, 60000, NULL, NULL},
    {"ussd_session_id", K_STR, OFF(ussd_session_id), 0, 0, NULL, NULL},
    {"ussd_session_msisdn", K_STR, OFF(ussd_session_msisdn), 0, 0, NULL, NULL},
    {"ussd_session_input", K_STR, OFF(ussd_session_input), 0, 0, NULL, NULL},
    {"ussd_session_new", K_STR, OFF(ussd_session_new), 0, 0, NULL, NULL},
    {"ussd_session_new_value", K_STR, OFF(ussd_session_new_value), 0, 0, NULL, NULL},
    {"ussd_session_reply", K_STR, OFF(ussd_session_reply), 0, 0, ussd_replies, NULL},
    {"ussd_session_flag", K_STR, OFF(ussd_session_flag), 0, 0, NULL, NULL},
    {"ussd_session_text", K_STR, OFF(ussd_session_text), 0, 0, NULL, NULL},
    {"ussd_session_continue", K_STR, OFF(ussd_session_continue), 0, 0, NULL, NULL},
    {"ussd_session_end", K_STR, OFF(ussd_session_end), 0, 0, NULL, NULL},
    {"kannel_sendsms_url", K_STR, OFF(kannel_sendsms_url), 0, 0, NULL, http_prefixes},
    {"kannel_sendsms_user", K_STR, OFF(kannel_sendsms_user), 0, 0, NULL, NULL},
    {"kannel_sendsms_from", K_STR, OFF(kannel_sendsms_from), 0, 0, NULL, NULL},
    {"database_replicas", K_URLS, OFF(database_replicas), 0, 0, NULL, pg_prefixes},
    {"database_replica_pool", K_INT, OFF(database_replica_pool), 1, 16, NULL, NULL},
    {"replica_max_lag_ms", K_INT, OFF(replica_max_lag_ms), 0, 3600000, NULL, NULL},
    {"redis_sentinels", K_STR, OFF(redis_sentinels), 0, 0, NULL, NULL},
    {"redis_sentinel_master", K_STR, OFF(redis_sentinel_master), 0, 0, NULL, NULL},
    {"drain_ready_seconds", K_INT, OFF(drain_ready_seconds), 0, 300, NULL, NULL},
    {"journal_retention_months", K_INT, OFF(journal_retention_months), 1, 120, NULL, NULL},
    {"auth_refresh_seconds", K_INT, OFF(auth_refresh_seconds), 1, 3600, NULL, NULL},
};

#define NKEYS (sizeof(hisaab_keys) / sizeof(hisaab_keys[0]))

/* config_hisaab_key() keeps one byte per key in the caller's CONFIG_HISAAB_KEYS_MAX. */
_Static_assert(NKEYS <= CONFIG_HISAAB_KEYS_MAX, "too many hisaab keys for *seen");

int config_quiet_hours(const char *s, int *from_min, int *to_min)
{
    int h1, m1, h2, m2, n = 0;

    if (s == NULL || strcmp(s, "off") == 0) {
        *from_min = *to_min = -1;
        return 0;
    }
    if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || s[n] != '\0' ||
        strlen(s) != 11 || h1 < 0 || h1 > 23 || h2 < 0 || h2 > 23 || m1 < 0 || m1 > 59 || m2 < 0 ||
        m2 > 59 || (h1 == h2 && m1 == m2))
        return -1;
    *from_min = h1 * 60 + m1;
    *to_min = h2 * 60 + m2;
    return 0;
}

/* "host:port,host:port": 1..8 entries, each a host name (letters, digits, . - _) and a
 * port 1..65535. */
static int hostports_ok(const char *s)
{
    const char *colon, *end;
    long port;
    char *pend;
    int n = 0;

    for (;;) {
        end = s + strcspn(s, ",");
        colon = memchr(s, ':', (size_t)(end - s));
        if (colon == NULL || colon == s || colon - s > 255 || ++n > 8)
            return 0;
        for (const char *q = s; q < colon; q++)
            if (!isalnum((unsigned char)*q) && *q != '.' && *q != '-' && *q != '_')
                return 0;
        if (colon[1] < '0' || colon[1] > '9')
            return 0;
        port = strtol(colon + 1, &pend, 10);
        if (pend != end || port < 1 || port > 65535)
            return 0;
        if (*end == '\0')
            return 1;
        s = end + 1;
    }
}

int config_quiet_hours_ok(const char *s)
{
    int a, b;

    return config_quiet_hours(s, &a, &b) == 0;
}

int config_minutes_list(const char *s, int *out, int max)
{
    int n = 0;
    long v;
    char *end;

    if (s == NULL || strcmp(s, "none") == 0)
        return 0;
    for (;;) {
        if (*s < '0' || *s > '9')
            return -1;
        v = strtol(s, &end, 10);
        if (v < 1 || v > 10080 || n == max)
            return -1;
        out[n++] = (int)v;
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
}

int config_minutes_list_ok(const char *s)
{
    int tmp[CONFIG_RETRIES_MAX];

    return config_minutes_list(s, tmp, CONFIG_RETRIES_MAX) >= 0;
}

void config_hisaab_defaults(struct config *cfg)
{
    cfg->database_url = xstrdup("postgresql://hisaab@127.0.0.1:5433/hisaab");
    cfg->redis_url = xstrdup("redis://127.0.0.1:6380/0");
    cfg->data_source = xstrdup("data/mgnrega_mp_2024-25.csv");
    cfg->data_format = xstrdup("csv");
    cfg->data_api_base = xstrdup("https://api.data.gov.in");
    cfg->log_level = xstrdup("info");
    cfg->assets_dir = xstrdup("assets");
    cfg->spool_dir = xstrdup("var/spool");
    cfg->insecure_dev = 0;
    cfg->journal_queue_max = 200000;
    cfg->max_body = 65536;
    cfg->max_headers = 8192;
    cfg->header_timeout = 10;
    cfg->keepalive_timeout = 0;
    cfg->max_connections = 1024;
    cfg->backend_timeout_ms = 1000;
    cfg->max_data_age_hours = 2160;
    cfg->drain_timeout = 10;
    cfg->cache_max_age = 300;
    cfg->version_poll = 30;
    cfg->rate_ip = 100;
    cfg->rate_ip_window = 900;
    cfg->rate_key = 1000;
    cfg->rate_key_window = 3600;
    cfg->rate_nat = 6000;
    cfg->rate_nat_window = 900;
    cfg->sms_rate_per_hour = 10;
    cfg->sms_json_from = xstrdup("from");
    cfg->sms_json_to = xstrdup("to");
    cfg->sms_json_text = xstrdup("text");
    cfg->sms_json_id = xstrdup("id");
    cfg->kannel_sendsms_user = xstrdup("hisaab");
    cfg->audio_dir = xstrdup("audio");
    cfg->callback_quiet_hours = xstrdup("21:00-08:00");
    cfg->callback_per_number_minutes = 60;
    cfg->callback_calls_per_minute = 30;
    cfg->callback_daily_minutes = 600;
    cfg->callback_retry_minutes = xstrdup("5,30");
    cfg->ussd_deadline_ms = 5000;
    cfg->ussd_gsm_limit = 182;
    cfg->ussd_ucs2_limit = 80;
    cfg->ussd_sessions_per_hour = 30;
    cfg->ussd_retry_ms = 3000;
    cfg->ussd_session_id = xstrdup("sessionid");
    cfg->ussd_session_msisdn = xstrdup("msisdn");
    cfg->ussd_session_input = xstrdup("msg");
    cfg->ussd_session_new = xstrdup("type");
    cfg->ussd_session_new_value = xstrdup("1");
    cfg->ussd_session_reply = xstrdup("header");
    cfg->ussd_session_flag = xstrdup("X-USSD-Continue");
    cfg->ussd_session_text = xstrdup("msg");
    cfg->ussd_session_continue = xstrdup("1");
    cfg->ussd_session_end = xstrdup("0");
    cfg->database_replica_pool = 2;
    cfg->replica_max_lag_ms = 5000;
    cfg->redis_sentinel_master = xstrdup("hisaab");
    cfg->journal_retention_months = 12;
    cfg->auth_refresh_seconds = 10;
}

/* A string value: one of k->choices and k->prefixes if given, and no secret in it. */
static int set_string(struct config_parser *p, const struct key *k, char **slot, const char *name,
                      const char *value)
{
    const char *const *c;
    int rc = -1;

    if (k->choices != NULL) {
        for (c = k->choices; *c != NULL && strcmp(*c, value) != 0; c++)
            ;
        if (*c == NULL) {
            config_perr(p, "%s: '%s' is not one of the allowed values", name, value);
            goto out;
        }
    }
    if (k->prefixes != NULL) {
        for (c = k->prefixes; *c != NULL && !has_prefix(value, *c); c++)
            ;
        if (*c == NULL) {
            config_perr(p, "%s: '%s' must start with %s", name, value, k->prefixes[0]);
            goto out;
        }
    }
    if (url_has_password(value) || strstr(value, "api-key=") != NULL ||
        strstr(value, "api_key=") != NULL) {
        config_perr(
            p,
            "%s: secrets are never read from the config file; set the environment "
            "variable instead (DATABASE_URL, DATABASE_REPLICAS, REDIS_URL, DATA_GOV_API_KEY)",
            name);
        goto out;
    }
    free(*slot);
    *slot = xstrdup(value);
    rc = 0;
out:
    return rc;
}

/* Words w[1..n-1], each a string value of k, kept as one blank-separated string. */
static int set_urls(struct config_parser *p, const struct key *k, char **slot, char **w, size_t n)
{
    char *one = NULL;
    size_t i, len = 0, at = 0;
    int rc = -1;

    for (i = 1; i < n; i++) {
        if (set_string(p, k, &one, w[0], w[i]) != 0)
            goto out;
        len += strlen(w[i]) + 1;
    }
    free(*slot);
    *slot = xmalloc(len);
    for (i = 1; i < n; i++)
        at += (size_t)snprintf(*slot + at, len - at, "%s%s", i > 1 ? " " : "", w[i]);
    rc = 0;
out:
    free(one);
    return rc;
}

int config_hisaab_key(struct config_parser *p, struct config *cfg, unsigned char *seen, char **w,
                      size_t n)
{
    const struct key *k = NULL;
    char *base = (char *)cfg;
    size_t i;
    long v;
    int rc = -1;

    for (i = 0; i < NKEYS; i++) {
        if (strcmp(hisaab_keys[i].name, w[0]) == 0) {
            k = &hisaab_keys[i];
            break;
        }
    }
    if (k == NULL) {
        config_perr(p, "unknown key '%s' in hisaab block", w[0]);
        goto out;
    }
    if (n != 2 && !(k->kind == K_URLS && n > 2)) {
        config_perr(p, "%s: expected exactly one value", w[0]);
        goto out;
    }
    if (seen[i]) {
        config_perr(p, "%s: given twice", w[0]);
        goto out;
    }
    seen[i] = 1;

    switch (k->kind) {
    case K_STR:
        if (strcmp(k->name, "callback_quiet_hours") == 0 && !config_quiet_hours_ok(w[1])) {
            config_perr(p, "%s: '%s' must be HH:MM-HH:MM (India time) or off", w[0], w[1]);
            goto out;
        }
        if (strcmp(k->name, "callback_retry_minutes") == 0 && !config_minutes_list_ok(w[1])) {
            config_perr(p, "%s: '%s' must be minutes separated by commas (5,30) or none", w[0],
                        w[1]);
            goto out;
        }
        if (strcmp(k->name, "redis_sentinels") == 0 && !hostports_ok(w[1])) {
            config_perr(p, "%s: '%s' must be host:port separated by commas (at most 8)", w[0],
                        w[1]);
            goto out;
        }
        if (set_string(p, k, (char **)(void *)(base + k->off), w[0], w[1]) != 0)
            goto out;
        break;
    case K_SIZE:
        if (config_parse_num(p, w[0], w[1], k->lo, k->hi, &v) != 0)
            goto out;
        *(size_t *)(void *)(base + k->off) = (size_t)v;
        break;
    case K_INT:
        if (config_parse_num(p, w[0], w[1], k->lo, k->hi, &v) != 0)
            goto out;
        *(int *)(void *)(base + k->off) = (int)v;
        break;
    case K_URLS:
        if (set_urls(p, k, (char **)(void *)(base + k->off), w, n) != 0)
            goto out;
        break;
    case K_BOOL:
        if (strcmp(w[1], "yes") != 0 && strcmp(w[1], "no") != 0) {
            config_perr(p, "%s: '%s' must be yes or no", w[0], w[1]);
            goto out;
        }
        *(int *)(void *)(base + k->off) = strcmp(w[1], "yes") == 0;
        break;
    }
    rc = 0;
out:
    return rc;
}

void config_hisaab_free(struct config *cfg)
{
    free(cfg->database_url);
    free(cfg->redis_url);
    free(cfg->data_source);
    free(cfg->data_format);
    free(cfg->data_api_base);
    free(cfg->data_api_key);
    free(cfg->secret);
    free(cfg->log_level);
    free(cfg->assets_dir);
    free(cfg->spool_dir);
    free(cfg->cors_origins);
    free(cfg->sms_json_from);
    free(cfg->sms_json_to);
    free(cfg->sms_json_text);
    free(cfg->sms_json_id);
    free(cfg->public_url);
    free(cfg->audio_dir);
    free(cfg->callback_provider);
    free(cfg->callback_quiet_hours);
    free(cfg->callback_retry_minutes);
    free(cfg->ussd_session_id);
    free(cfg->ussd_session_msisdn);
    free(cfg->ussd_session_input);
    free(cfg->ussd_session_new);
    free(cfg->ussd_session_new_value);
    free(cfg->ussd_session_reply);
    free(cfg->ussd_session_flag);
    free(cfg->ussd_session_text);
    free(cfg->ussd_session_continue);
    free(cfg->ussd_session_end);
    free(cfg->voice_webhook_key);
    free(cfg->kannel_sendsms_url);
    free(cfg->kannel_sendsms_user);
    free(cfg->kannel_sendsms_from);
    free(cfg->kannel_sendsms_password);
    free(cfg->twilio_auth_token);
    free(cfg->database_replicas);
    free(cfg->redis_sentinels);
    free(cfg->redis_sentinel_master);
}

/* ---- the environment ---- */

static void env_override(char **slot, const char *var)
{
    const char *v = getenv(var);

    if (v != NULL && v[0] != '\0') {
        free(*slot);
        *slot = xstrdup(v);
    }
}

void config_apply_env(struct config *cfg)
{
    if (cfg == NULL)
        return;
    env_override(&cfg->database_url, "DATABASE_URL");
    env_override(&cfg->database_replicas, "DATABASE_REPLICAS");
    env_override(&cfg->redis_url, "REDIS_URL");
    env_override(&cfg->data_api_base, "DATA_GOV_API_BASE");
    env_override(&cfg->data_api_key, "DATA_GOV_API_KEY");
    env_override(&cfg->secret, "HISAAB_SECRET");
    env_override(&cfg->twilio_auth_token, "TWILIO_AUTH_TOKEN");
    env_override(&cfg->voice_webhook_key, "VOICE_WEBHOOK_KEY");
    env_override(&cfg->kannel_sendsms_password, "KANNEL_SENDSMS_PASSWORD");
    env_override(&cfg->kannel_sendsms_url, "KANNEL_SENDSMS_URL");
    env_override(&cfg->kannel_sendsms_user, "KANNEL_SENDSMS_USER");
    env_override(&cfg->kannel_sendsms_from, "KANNEL_SENDSMS_FROM");
}
