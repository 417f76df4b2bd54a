/* migrate.h - apply sql/migrations/NNNN_name.sql in order.
 *
 * Under pg_advisory_lock (so two hosts deploying at once serialise), each pending file
 * runs in its own transaction together with its row in schema_migrations (version, name,
 * sha256 checksum, applied_at). An applied migration whose file changed is refused
 * (ERR_CONFLICT) before anything runs. Running it again when nothing is pending is a
 * no-op.
 */
#ifndef MEDRIN_MIGRATE_H
#define MEDRIN_MIGRATE_H

#include "base/err.h"

struct db;
struct buf;

/* migrate_run applies what is pending from dir. Progress lines go to out (one per
 * migration: "applied 0002_auth" / "up to date"). *applied counts what ran. */
int migrate_run(struct db *db, const char *dir, struct buf *out, int *applied) MUSTCHECK;

#endif
