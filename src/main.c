/*
 * hisaab: the HTTP server. Reads kore.conf, builds the router, opens the listening
 * sockets and hands over to the prefork master (master.c).
 *
 *   hisaab [-c PATH] [-t]
 *
 * -t only checks the configuration (like nginx -t): it parses the file, resolves every
 * handler and validator, prints the verdict and exits 0 or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "net/config.h"
#include "core/log.h"
#include "media/clips.h"
#include "net/master.h"
#include "net/metrics.h"
#include "net/router.h"

#define MAX_LISTENERS 16
#define LISTEN_BACKLOG 1024

static const struct master_hooks hooks = {app_worker_init, app_worker_exit};

static void usage(void)
{
    fprintf(stderr, "usage: hisaab [-c PATH] [-t]\n"
                    "  -c PATH  configuration file (default ./kore.conf)\n"
                    "  -t       test the configuration and exit\n");
}

/* A listening, non-blocking socket on addr:port, or -1 with the reason logged. */
static int open_listener(const char *addr, int port)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[16];
    int fd = -1, one = 1, err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    err = getaddrinfo(addr, service, &hints, &res);
    if (err != 0) {
        log_error("bind %s %d: %s", addr, port, gai_strerror(err));
        goto out;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
            break;
        log_error("bind %s %d: %s", addr, port, strerror(errno));
        close(fd);
        fd = -1;
    }
out:
    if (res != NULL)
        freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    const char *path = "kore.conf";
    struct config *cfg = NULL;
    struct router *router = NULL;
    int fds[MAX_LISTENERS];
    size_t i, r, d, nfds = 0;
    int opt, test = 0, rc = 1;
    char err[512];

    while ((opt = getopt(argc, argv, "c:th")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            test = 1;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (optind != argc) {
        usage();
        return 2;
    }
    log_init("hisaab", LOG_INFO);
    err[0] = '\0';
    if (config_load(path, &cfg, err, sizeof(err)) != 0)
        goto fail;
    router = router_new(cfg, app_handler_lookup, err, sizeof(err));
    if (router == NULL)
        goto fail;
    if (cfg->nservers == 0) {
        snprintf(err, sizeof(err), "%s: no server { bind ADDR PORT } block", path);
        goto fail;
    }
    if (cfg->nservers > MAX_LISTENERS) {
        snprintf(err, sizeof(err), "%s: more than %d server blocks", path, MAX_LISTENERS);
        goto fail;
    }
    if (test) {
        if (app_preload(cfg) != 0) {
            snprintf(err, sizeof(err), "%s: the clip library in '%s' is not usable (see above)",
                     path, cfg->audio_dir != NULL ? cfg->audio_dir : "audio");
            goto fail;
        }
        printf("hisaab: configuration file %s test is successful\n", path);
        rc = 0;
        goto out;
    }

    log_init("hisaab", log_level_parse(cfg->log_level));
    if ((cfg->secret == NULL || cfg->secret[0] == '\0') && !cfg->insecure_dev) {
        fprintf(stderr, "hisaab: HISAAB_SECRET is not set, so phone numbers would be stored as "
                        "unkeyed hashes; set it (make run keeps one in var/secret), or set "
                        "'insecure_dev yes' in kore.conf's hisaab block for a throwaway run\n");
        goto out;
    }
    if (cfg->secret == NULL || cfg->secret[0] == '\0')
        log_warn("insecure_dev: HISAAB_SECRET is not set; phone hashes are unkeyed");
    /* Before the workers fork: they share the clip library. */
    if (app_preload(cfg) != 0) {
        fprintf(stderr, "hisaab: the clip library in '%s' is not usable (see above)\n",
                cfg->audio_dir != NULL ? cfg->audio_dir : "audio");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (metrics_init() != 0)
        goto out;
    /* Route labels must be in the shared block before the workers exist. */
    for (d = 0; d < cfg->ndomains; d++)
        for (r = 0; r < cfg->domains[d].nroutes; r++)
            (void)metrics_route_register(cfg->domains[d].routes[r].path);
    for (i = 0; i < cfg->nservers; i++) {
        fds[nfds] = open_listener(cfg->servers[i].bind_addr, cfg->servers[i].bind_port);
        if (fds[nfds] < 0)
            goto out;
        nfds++;
        printf(strchr(cfg->servers[i].bind_addr, ':') != NULL
                   ? "hisaab: serving on http://[%s]:%d/\n"
                   : "hisaab: serving on http://%s:%d/\n",
               cfg->servers[i].bind_addr, cfg->servers[i].bind_port);
    }
    fflush(stdout);
    rc = master_run(cfg, router, fds, nfds, &hooks);
    nfds = 0; /* the master closed them */
    goto out;
fail:
    fprintf(stderr, "%s\n", err[0] != '\0' ? err : "hisaab: configuration error");
    if (test)
        fprintf(stderr, "hisaab: configuration file %s test failed\n", path);
out:
    for (i = 0; i < nfds; i++)
        close(fds[i]);
    clips_free();
    router_free(router);
    config_free(cfg);
    return rc;
}
