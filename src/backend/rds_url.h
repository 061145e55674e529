/*
 * Where Redis is: the URL rds_init() takes ("redis://[[user]:password@]host[:port][/db]")
 * and the sentinel list rds_init_sentinel() takes ("host:port,host:port"). Pure parsing,
 * no I/O; internal to backend/rds.c.
 */
#ifndef HISAAB_RDS_URL_H
#define HISAAB_RDS_URL_H

#define RDS_HOST_MAX 256

struct rds_server {
    char host[RDS_HOST_MAX];
    int port;
};

struct rds_url {
    struct rds_server server; /* port 6379 when the URL names none */
    int db;                   /* 0 when the URL names none */
    char *user;               /* malloc'd, or NULL */
    char *password;           /* malloc'd, or NULL */
};

/* Parse url into u (user and password malloc'd: rds_url_free() frees them). Returns 0,
 * or -1 (u holds nothing to free) when the URL is not of that form or a number is out
 * of range. */
int rds_url_parse(const char *url, struct rds_url *u) __attribute__((warn_unused_result));

void rds_url_free(struct rds_url *u);

/* "host:port,host:port" into out[0..max-1]. Returns how many, or -1 when the list is
 * empty, malformed or longer than max. */
int rds_sentinels_parse(const char *list, struct rds_server *out, int max)
    __attribute__((warn_unused_result));

#endif
