/*
 * kore.conf: Kore's configuration syntax, parsed by our own small parser.
 *
 *   server NAME { bind ADDR PORT }
 *   workers N                       (0 or absent: one per CPU)
 *   validator NAME regex PATTERN    (POSIX extended regex)
 *   validator NAME function FUNC    (a C function registered in validator.c)
 *   domain NAME {
 *       route PATH {                (PATH starting with '^' is a regex, matched whole)
 *           handler NAME
 *           methods get post ...
 *           validate qs:get|post|qs:post PARAM VALIDATOR
 *       }
 *   }
 *   hisaab { KEY VALUE ... }        our own settings (see struct config)
 *
 * Also accepted for Kore compatibility: `tls no` in a server, `attach SERVER` in a domain.
 * Full reference: the Configuration section of README.md.
 *
 * '#' starts a comment; statements end at newline (a trailing ';' is allowed). Errors
 * name the file and line. Environment variables win over the file: DATABASE_URL,
 * REDIS_URL, DATA_GOV_API_BASE, KANNEL_SENDSMS_URL, KANNEL_SENDSMS_USER and
 * KANNEL_SENDSMS_FROM; the secrets DATA_GOV_API_KEY, HISAAB_SECRET, TWILIO_AUTH_TOKEN and
 * KANNEL_SENDSMS_PASSWORD are never read from the file, only from the environment.
 *
 * The parser is config.c; the `hisaab { }` settings and the environment are
 * config_hisaab.c's (config_hisaab.h is internal to the two).
 */
#ifndef HISAAB_CONFIG_H
#define HISAAB_CONFIG_H

#include <regex.h>
#include <stddef.h>

#include "net/fastre.h"

/* HTTP methods as a bit set. */
#define CFG_METHOD_GET 0x01
#define CFG_METHOD_POST 0x02
#define CFG_METHOD_PUT 0x04
#define CFG_METHOD_DELETE 0x08
#define CFG_METHOD_HEAD 0x10
#define CFG_METHOD_OPTIONS 0x20
#define CFG_METHOD_PATCH 0x40

enum cfg_validator_type { CFG_VALIDATOR_REGEX, CFG_VALIDATOR_FUNCTION };

struct cfg_validator {
    char *name;
    enum cfg_validator_type type;
    char *arg;                    /* the regex or the function name */
    regex_t re;                   /* compiled (REG_EXTENDED | REG_NOSUB), for CFG_VALIDATOR_REGEX */
    struct fastre fast;           /* the same without regexec(), when it has that form */
    int (*fn)(const char *value); /* resolved, for CFG_VALIDATOR_FUNCTION: 1 = valid */
    int line;
};

/* Where a validated parameter comes from. */
#define CFG_PARAM_QS_GET 0x01  /* query string of a GET (qs:get) */
#define CFG_PARAM_POST 0x02    /* form body of a POST (post) */
#define CFG_PARAM_QS_POST 0x04 /* query string of a POST (qs:post) */

struct cfg_param {
    int where;
    char *name;
    const struct cfg_validator *validator; /* borrowed from struct config */
};

struct cfg_route {
    char *path; /* exact path, or a regex when it starts with '^' */
    int is_regex;
    regex_t re;    /* compiled when is_regex */
    char *handler; /* handler name, looked up at start-up */
    unsigned methods;
    struct cfg_param *params;
    size_t nparams;
    int line;
};

struct cfg_domain {
    char *name;
    struct cfg_route *routes;
    size_t nroutes;
};

struct cfg_server {
    char *name;
    char *bind_addr;
    int bind_port;
};

struct config {
    char *path;
    struct cfg_server *servers;
    size_t nservers;
    int workers; /* resolved: >= 1 */
    struct cfg_validator *validators;
    size_t nvalidators;
    struct cfg_domain *domains;
    size_t ndomains;

    /* The `hisaab { }` block. Strings are malloc'd and owned by the config. */
    char *database_url;     /* database_url, or env DATABASE_URL */
    char *redis_url;        /* redis_url, or env REDIS_URL */
    char *data_source;      /* data_source: file path or URL of the default ETL source */
    char *data_format;      /* data_format: json|xml|csv (default csv) */
    char *data_api_base;    /* data_api_base, or env DATA_GOV_API_BASE */
    char *data_api_key;     /* env DATA_GOV_API_KEY only */
    char *secret;           /* env HISAAB_SECRET only */
    char *log_level;        /* log_level: debug|info|warn|error */
    size_t max_body;        /* max_body_bytes (default 65536) */
    size_t max_headers;     /* max_header_bytes (default 8192) */
    int header_timeout;     /* header_timeout_seconds (default 10): a whole request */
    int keepalive_timeout;  /* keepalive_timeout_seconds (0: header_timeout): idle between */
    int max_connections;    /* max_connections (1024): open connections per worker */
    int backend_timeout_ms; /* backend_timeout_ms: Postgres/Redis call timeout (default 1000) */
    int max_data_age_hours; /* max_data_age_hours: older data makes health degraded (default 2160)
                             */
    int drain_timeout;      /* drain_timeout_seconds: SIGTERM grace period (default 10) */
    char *assets_dir;       /* assets_dir: web app and text templates (default "assets") */
    char *spool_dir;        /* spool_dir: records that could not reach Postgres at shutdown,
                               kept for the next start (default "var/spool") */
    int insecure_dev;       /* insecure_dev yes|no (1|0, default 0): may start without
                               HISAAB_SECRET, phone numbers then hashed unkeyed; local runs only */
    int journal_queue_max;  /* journal_queue_max: records a worker holds for Postgres before
                               the webhooks answer 503 (default 200000) */

    /* The district API (src/api.h). */
    int cache_max_age;   /* cache_max_age_seconds: Cache-Control max-age (default 300) */
    int version_poll;    /* data_version_poll_seconds: data version poll (default 30) */
    int rate_ip;         /* rate_limit_ip: requests per window per client IP
                            (default 100; 0 = no limit) */
    int rate_ip_window;  /* rate_limit_ip_window_seconds (default 900) */
    int rate_key;        /* rate_limit_client: requests per window per API key
                            (default 1000; 0 = no limit) */
    int rate_key_window; /* rate_limit_client_window_seconds (default 3600) */
    int rate_nat;        /* rate_limit_ip_cached: cached GETs of the API and the web app per
                            client IP, sized for carrier NAT (default 6000; 0 = no limit) */
    int rate_nat_window; /* rate_limit_ip_cached_window_seconds (default 900) */
    char *cors_origins;  /* cors_origins: allowed Origins, comma-separated (default none) */

    /* The SMS channel (src/sms.h). */
    int sms_rate_per_hour;         /* sms_rate_per_hour: texts per number per hour (default 10) */
    char *sms_json_from;           /* sms_json_from: generic webhook's sender field ("from") */
    char *sms_json_to;             /* sms_json_to: receiver field (default "to") */
    char *sms_json_text;           /* sms_json_text: text field (default "text") */
    char *sms_json_id;             /* sms_json_id: message id field (default "id") */
    char *public_url;              /* public_url (old name sms_public_url): the public base
                                      URL of the service, of every absolute URL given to a
                                      provider and of every signature check (Twilio signs
                                      it); default none: http://<Host> */
    char *kannel_sendsms_url;      /* kannel_sendsms_url, or env KANNEL_SENDSMS_URL: smsbox's
                                      sendsms (default none) */
    char *kannel_sendsms_user;     /* kannel_sendsms_user, or env KANNEL_SENDSMS_USER
                                      (default "hisaab") */
    char *kannel_sendsms_from;     /* kannel_sendsms_from, or env KANNEL_SENDSMS_FROM: the
                                      sender id sent as from= (default none: Kannel's
                                      global-sender) */
    char *kannel_sendsms_password; /* env KANNEL_SENDSMS_PASSWORD only */
    char *twilio_auth_token;       /* env TWILIO_AUTH_TOKEN only */

    /* The voice channel (src/voice/voice.h, src/voice/callback.h). */
    char *audio_dir;                 /* audio_dir: the clip library (default "audio") */
    char *voice_webhook_key;         /* env VOICE_WEBHOOK_KEY only: ?key= of unsigned providers */
    char *callback_provider;         /* callback_provider twilio|exotel: who dials callbacks
                                        (default: the provider the missed call came through;
                                        twilio for the generic hook) */
    char *callback_quiet_hours;      /* callback_quiet_hours HH:MM-HH:MM (India time) or off
                                        (default 21:00-08:00) */
    int callback_per_number_minutes; /* one callback per number per this many minutes (60) */
    int callback_calls_per_minute;   /* callbacks dialled per minute, all workers (30) */
    int callback_daily_minutes;      /* outbound minutes per India day, 0 = no cap (600) */
    char *callback_retry_minutes;    /* retries after busy / no answer / failed: minutes
                                        after each attempt, "5,30" (default) or none */

    /* The USSD channel (src/ussd/ussd.h, src/gateway/ussd.h). */
    int ussd_deadline_ms;         /* ussd_deadline_ms: every screen answered by then (5000) */
    int ussd_gsm_limit;           /* ussd_gsm_limit: GSM-7 characters of a screen (182) */
    int ussd_ucs2_limit;          /* ussd_ucs2_limit: UCS-2 characters of a screen (80) */
    int ussd_sessions_per_hour;   /* ussd_sessions_per_hour: sessions per number per hour (30) */
    int ussd_retry_ms;            /* ussd_retry_ms: a session-style request repeating the
                                     last input within this is a retry (3000) */
    char *ussd_session_id;        /* ussd_session_id: the session id's field ("sessionid") */
    char *ussd_session_msisdn;    /* ussd_session_msisdn: the number's field ("msisdn") */
    char *ussd_session_input;     /* ussd_session_input: this screen's input field ("msg") */
    char *ussd_session_new;       /* ussd_session_new: the new/continue flag's field ("type") */
    char *ussd_session_new_value; /* ussd_session_new_value: its value for new ("1") */
    char *ussd_session_reply;     /* ussd_session_reply header|json (header) */
    char *ussd_session_flag;      /* ussd_session_flag: the header or JSON field saying
                                     continue or end ("X-USSD-Continue") */
    char *ussd_session_text;      /* ussd_session_text: JSON reply's screen field ("msg") */
    char *ussd_session_continue;  /* ussd_session_continue: the flag's value to go on ("1") */
    char *ussd_session_end;       /* ussd_session_end: the flag's value to end ("0") */

    /* Scale-out (README "Scale-out"). */
    char *database_replicas;     /* database_replicas, or env DATABASE_REPLICAS: read replicas,
                                    libpq URLs separated by blanks (default none) */
    int database_replica_pool;   /* database_replica_pool: connections per replica per
                                    worker (default 2) */
    int replica_max_lag_ms;      /* replica_max_lag_ms: a replica further behind is left out
                                    of reads (default 5000) */
    char *redis_sentinels;       /* redis_sentinels: host:port,... of Redis Sentinels; the
                                    master comes from them instead of redis_url's host
                                    (default none) */
    char *redis_sentinel_master; /* redis_sentinel_master: the master's name ("hisaab") */
    int drain_ready_seconds;     /* drain_ready_seconds: after SIGTERM, /ready fails this long
                                    while requests are still served, then the drain
                                    (default 0) */
    /* Operations (src/api/api_auth.h, etl/admin.h, docs/operations.md). */
    int journal_retention_months; /* journal_retention_months: journal rows older than this
                                     are deleted by hisaab-etl maintain (12) */
    int auth_refresh_seconds;     /* auth_refresh_seconds: each worker rereads the API keys
                                     this often (10) */
};

#define CONFIG_RETRIES_MAX 8

/* "21:00-08:00" -> minutes of the day (from, to); "off" -> -1, -1. Returns 0 or -1. */
int config_quiet_hours(const char *s, int *from_min, int *to_min)
    __attribute__((warn_unused_result));
int config_quiet_hours_ok(const char *s);
/* "5,30" -> {5, 30}: returns the count (0 for "none"), or -1. */
int config_minutes_list(const char *s, int *out, int max) __attribute__((warn_unused_result));
int config_minutes_list_ok(const char *s);

/*
 * Parse the file at `path`. On success returns 0 and sets *out (caller frees with
 * config_free()). On error returns -1 and writes "PATH:LINE: message" into err.
 * Function validators are resolved through validator_lookup() (validator.h); an unknown
 * function is an error. Environment overrides are applied (config_apply_env).
 */
int config_load(const char *path, struct config **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Same, from a string; `name` stands in for the file name in errors. */
int config_parse(const char *name, const char *text, struct config **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Apply the environment variables named above over the file's values. */
void config_apply_env(struct config *cfg);

/* Free everything config_load() allocated. NULL is fine. */
void config_free(struct config *cfg);

#endif
