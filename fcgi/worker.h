/* worker.h - one prefork worker: the libfcgi accept loop around app_handle.
 *
 * Runs in a child the master forked. It never returns: it exits 0 after
 * cfg->max_requests requests (recycling) or on SIGTERM once no request is in flight,
 * WORKER_EXIT_INIT when app_init fails, and 1 on an unexpected accept error. Signal
 * handling and the no-lost-request argument are in docs/internals/fcgi.md.
 */
#ifndef MEDRIN_WORKER_H
#define MEDRIN_WORKER_H

#include "base/config.h"

#define WORKER_EXIT_INIT 3

/* worker_run serves requests from listen_fd (non-blocking, shared with the other
 * workers) until told to stop. close_fd (-1: none) is a master-only descriptor that
 * the child closes first. The caller must have SIGTERM blocked (the master keeps it
 * blocked for its signalfd) so that no signal is lost between fork and set-up. */
void worker_run(const struct config *cfg, int listen_fd, int close_fd) __attribute__((noreturn));

#endif
