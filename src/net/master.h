/*
 * The prefork master (nginx and Kore style): forks cfg->workers worker processes that
 * each run their own libevent loop on the listening sockets opened before the fork,
 * restarts a worker that dies (backing off when they crash in a loop), and on SIGTERM or
 * SIGINT drains: workers stop accepting, finish what is in flight and exit; stragglers
 * are killed after cfg->drain_timeout seconds. With cfg->drain_ready_seconds, a worker
 * first spends that long still serving but reporting itself not ready (master_draining()),
 * so that a load balancer or Kubernetes takes the instance out before it stops
 * accepting. Workers get SIGTERM if the master dies.
 */
#ifndef HISAAB_MASTER_H
#define HISAAB_MASTER_H

#include <stddef.h>

struct config;
struct event_base;
struct router;

/*
 * What a worker runs besides HTTP (the application, src/app.c): init after fork and
 * before serving on the worker's loop (non-zero: the worker exits), exit after draining.
 */
struct master_hooks {
    int (*worker_init)(struct event_base *base, const struct config *cfg);
    void (*worker_exit)(void);
};

/*
 * Run the master until it is told to stop. cfg, router, hooks and the listening sockets
 * fds[0..nfds-1] are borrowed (inherited by the workers). Returns the process exit
 * status: 0 after a drain, 1 if workers could not be started at all.
 */
int master_run(const struct config *cfg, const struct router *router, const int *fds, size_t nfds,
               const struct master_hooks *hooks);

/* In a worker: 1 once it was told to stop (it may still be serving), else 0. */
int master_draining(void);

#endif
