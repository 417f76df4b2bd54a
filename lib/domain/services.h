/* services.h - the worker's long-lived parts, opened once: the one registry.
 *
 * services_open creates the PostgreSQL and Redis handles (nothing connects yet: both
 * connect lazily), registers every module's statement table and Lua scripts exactly
 * once, loads the token keys and opens the per-host hashing limiter. A module with
 * statements or scripts adds one line to the registry in services.c; a duplicate
 * statement name or script is refused here, at start, with a log line naming it.
 * fcgi/ (through app_init) and the tests call it once per process.
 */
#ifndef MEDRIN_SERVICES_H
#define MEDRIN_SERVICES_H

#include "base/err.h"
#include "domain/ctx.h"

struct config;

/* services_open fills s. ERR_INVALID when the keys cannot be loaded or a registration is
 * refused, ERR_INTERNAL when a handle cannot be made or the hashing limiter (configured
 * but unusable in this process) cannot be opened: the worker must not start then. On
 * failure everything opened is closed again. */
int services_open(struct services *s, const struct config *cfg) MUSTCHECK;
void services_close(struct services *s);

/* services_ping reports whether PostgreSQL and Redis answer (each 1 or 0). */
void services_ping(const struct services *s, int *pg_ok, int *redis_ok);

#endif
