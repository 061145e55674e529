/*
 * The prefork master (nginx and Kore style): forks cfg->workers worker processes that
 * each run their own libevent loop on the listening sockets opened before the fork,
 * restarts a worker that dies (backing off when they crash in a loop), and on SIGTERM or
 * SIGINT drains: workers stop accepting, finish what is in flight and exit; stragglers
 * are killed after cfg->drain_timeout seconds. Workers get SIGTERM if the master dies.
 */
#ifndef HISAAB_MASTER_H
#define HISAAB_MASTER_H

#include <stddef.h>

struct config;
struct router;

/*
 * Run the master until it is told to stop. cfg, router and the listening sockets
 * fds[0..nfds-1] are borrowed (inherited by the workers). Returns the process exit
 * status: 0 after a drain, 1 if workers could not be started at all.
 */
int master_run(const struct config *cfg, const struct router *router, const int *fds, size_t nfds);

#endif
