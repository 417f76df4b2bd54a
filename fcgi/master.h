/* master.h - the supervisor of the worker pool (architecture.md "Process model").
 *
 * After main has loaded the configuration, opened the listening socket and mapped the
 * metrics page, master_run forks cfg->workers workers and then only supervises:
 * respawns dead workers (exponential back-off up to 30 s when they die within 1 s of
 * start or before they were ready), replaces recycled workers at once, stops gracefully
 * on SIGTERM/SIGINT and reloads on SIGHUP (the old generation stops only once every new
 * worker has reported ready; a reload whose workers cannot start leaves the old one
 * serving). Signals reach it through a signalfd. Details and the
 * no-lost-request reasoning: docs/internals/fcgi.md.
 */
#ifndef MEDRIN_MASTER_H
#define MEDRIN_MASTER_H

#include "base/config.h"
#include "listen.h"

#define MASTER_BACKOFF_MAX_MS 30000
#define MASTER_QUICK_EXIT_MS 1000
/* A reload fails when its new workers are not all ready within this. */
#define MASTER_READY_TIMEOUT_MS 30000

/* master_run supervises until a graceful stop has finished (every worker exited or was
 * killed at the drain deadline), then returns 0; the caller closes ls. On SIGHUP it
 * replaces *cfg with the reloaded configuration (config_free on the old one), so cfg
 * must be the caller's own, and the caller frees whatever *cfg holds on return (a
 * reload that is still proving its workers when a stop begins is dropped).
 * env_file (NULL: none) is re-applied before every reload. Returns ERR_INTERNAL when
 * the signal plumbing cannot be set up (nothing was forked then). */
int master_run(struct config *cfg, const struct listen_sock *ls, const char *env_file) MUSTCHECK;

/* master_save_environment keeps a copy of the process environment; main calls it before
 * applying MEDRIN_ENV_FILE. Every reload restores that copy, then applies the file whole:
 * a key the file no longer names reverts to its start-up value or default. */
void master_save_environment(void);

#endif
