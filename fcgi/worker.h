/* worker.h - one prefork worker: the libfcgi accept loop around app_handle.
 *
 * Runs in a child the master forked. It never returns: it exits 0 after
 * cfg->max_requests requests (recycling) or on SIGTERM once no request is in flight,
 * WORKER_EXIT_INIT when app_init fails (before it has told the master it is ready), and
 * 1 on an unexpected accept error. Signal
 * handling and the no-lost-request argument are in docs/internals/fcgi.md.
 */
#ifndef MEDRIN_WORKER_H
#define MEDRIN_WORKER_H

#include "base/config.h"

#define WORKER_EXIT_INIT 3

/* worker_run serves requests from listen_fd (non-blocking, shared with the other
 * workers) until told to stop. Once app_init has succeeded it writes its pid (an
 * int32_t) to ready_fd (-1: none) and closes it: the master counts a worker as ready
 * only then. close_fds (nclose of them; -1 entries skipped) are master-only descriptors
 * the child closes first. The caller must have SIGTERM blocked (the master keeps it
 * blocked for its signalfd) so that no signal is lost between fork and set-up. */
void worker_run(const struct config *cfg, int listen_fd, int ready_fd, const int *close_fds,
                int nclose) __attribute__((noreturn));

#endif
