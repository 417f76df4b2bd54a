/* migrate.c - the migrations runner; see migrate.h and docs/internals/storage.md. */
#include "store/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/db.h"

/* pg_advisory_lock key shared by every medrinctl on every host ("medrin" in ASCII). */
#define MIGRATE_LOCK_KEY "109101100114105110"

#define MIGRATE_MAX_FILE (16L * 1024 * 1024)

struct migration {
	int version;
	char *name; /* "0001_init" */
	char *file; /* "0001_init.sql" */
	char *sql;
	char sha[65];
	int applied;
};

static void put(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* put appends one progress or error line for the operator (a full buffer drops it). */
static void put(struct buf *out, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (out == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)!buf_puts(out, line);
}

/* parse_name accepts NNNN_name.sql (name: letters, digits, '_', '-'). */
static int parse_name(const char *f, int *version)
{
	size_t n = strlen(f);

	if (n < 10 || strcmp(f + n - 4, ".sql") != 0 || f[4] != '_')
		return 0;
	for (int i = 0; i < 4; i++)
		if (f[i] < '0' || f[i] > '9')
			return 0;
	for (size_t i = 5; i < n - 4; i++)
		if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= 'A' && f[i] <= 'Z') ||
		      (f[i] >= '0' && f[i] <= '9') || f[i] == '_' || f[i] == '-'))
			return 0;
	*version = (f[0] - '0') * 1000 + (f[1] - '0') * 100 + (f[2] - '0') * 10 + (f[3] - '0');
	return 1;
}

static int by_version(const void *x, const void *y)
{
	const struct migration *a = x, *b = y;

	return (a->version > b->version) - (a->version < b->version);
}

static int read_file(struct arena *a, const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "re");
	int rc = ERR_INVALID;

	if (f == NULL)
		return ERR_NOT_FOUND;
	if (fseek(f, 0, SEEK_END) != 0)
		goto out;
	long size = ftell(f);

	if (size < 0 || size > MIGRATE_MAX_FILE || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	*text = arena_alloc(a, (size_t)size + 1);
	if (fread(*text, 1, (size_t)size, f) != (size_t)size)
		goto out;
	(*text)[size] = '\0';
	*len = (size_t)size;
	rc = ERR_OK;
out:
	fclose(f);
	return rc;
}

static int sha256_hex(const char *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return ERR_INTERNAL;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return ERR_OK;
}

/* list_dir reads every migration file of dir, sorted by version. */
static int list_dir(struct arena *a, const char *dir, struct buf *out, struct migration **list,
                    size_t *count)
{
	DIR *d = opendir(dir);
	size_t n = 0, cap = 16;
	struct migration *m = arena_alloc(a, cap * sizeof(*m));
	int rc = ERR_OK;

	if (d == NULL) {
		put(out, "error: cannot open migrations directory %s: %s\n", dir, strerror(errno));
		return ERR_NOT_FOUND;
	}
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
		int version;

		if (!parse_name(e->d_name, &version))
			continue;
		if (n == cap) {
			struct migration *bigger = arena_alloc(a, 2 * cap * sizeof(*m));

			memcpy(bigger, m, cap * sizeof(*m));
			m = bigger;
			cap *= 2;
		}
		struct migration *x = &m[n++];
		size_t len = 0;

		memset(x, 0, sizeof(*x));
		x->version = version;
		x->file = arena_strdup(a, e->d_name);
		x->name = arena_strndup(a, e->d_name, strlen(e->d_name) - 4);
		char *path = arena_printf(a, "%s/%s", dir, e->d_name);

		rc = read_file(a, path, &x->sql, &len);
		if (rc == ERR_OK)
			rc = sha256_hex(x->sql, len, x->sha);
		if (rc) {
			put(out, "error: cannot read %s/%s\n", dir, e->d_name);
			goto out;
		}
	}
	qsort(m, n, sizeof(*m), by_version);
	for (size_t i = 1; i < n; i++) {
		if (m[i].version == m[i - 1].version) {
			put(out, "error: %s and %s have the same version\n", m[i - 1].file,
			    m[i].file);
			rc = ERR_INVALID;
			goto out;
		}
	}
	*list = m;
	*count = n;
out:
	closedir(d);
	return rc;
}

static void db_failed(struct db *db, struct buf *out, const char *what)
{
	if (out != NULL)
		(void)!buf_printf(out, "error: %s failed: %s (SQLSTATE %s)\n", what,
		                  db_error_message(db), db_sqlstate(db));
}

/* check_applied marks applied migrations and refuses a changed or missing file. */
static int check_applied(struct db *db, struct arena *a, struct buf *out, struct migration *m,
                         size_t n)
{
	PGresult *res;
	int rc = db_exec_raw(db, a, "SELECT to_regclass('schema_migrations') IS NOT NULL", &res);

	if (rc) {
		db_failed(db, out, "looking for schema_migrations");
		return rc;
	}
	if (strcmp(db_value(res, 0, 0), "t") != 0)
		return ERR_OK; /* a new database: everything is pending */
	rc = db_exec_raw(
	    db, a, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", &res);
	if (rc) {
		db_failed(db, out, "reading schema_migrations");
		return rc;
	}
	for (int row = 0; row < db_rows(res); row++) {
		int version = atoi(db_value(res, row, 0));
		const char *name = db_value(res, row, 1);
		const char *sum = db_value(res, row, 2);
		struct migration *x = NULL;

		for (size_t i = 0; i < n && x == NULL; i++)
			if (m[i].version == version)
				x = &m[i];
		if (x == NULL) {
			put(out, "error: applied migration %s has no file (%s.sql is missing)\n",
			    name, name);
			return ERR_CONFLICT;
		}
		if (sum == NULL || strcmp(sum, x->sha) != 0) {
			put(out,
			    "error: %s was changed after it was applied (checksum differs); "
			    "add a new migration instead\n",
			    x->file);
			return ERR_CONFLICT;
		}
		x->applied = 1;
	}
	return ERR_OK;
}

/* apply_one runs one migration in its own transaction. gen is the generation of the
 * session that holds the advisory lock: db_begin reconnects silently when it finds the
 * connection dead, and a transaction on that new session would run without the lock
 * (another medrinctl may be applying the same file), so it is refused before anything
 * runs. Once BEGIN succeeded, the connection cannot be replaced inside the transaction. */
static int apply_one(struct db *db, struct arena *a, struct buf *out, const struct migration *x,
                     unsigned long gen)
{
	char version[8];
	const char *params[3] = {version, x->name, x->sha};
	int rc = db_begin(db);

	snprintf(version, sizeof(version), "%d", x->version);
	if (rc) {
		db_failed(db, out, "BEGIN");
		return rc;
	}
	if (db_generation(db) != gen) {
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	rc = db_exec_raw(db, a, x->sql, NULL);
	if (rc) {
		db_failed(db, out, x->file);
		goto out;
	}
	rc = db_exec_params(db, a, "migrate_record",
	                    "INSERT INTO schema_migrations (version, name, checksum) "
	                    "VALUES ($1::int, $2::text, $3::text)",
	                    3, params, NULL);
	if (rc) {
		db_failed(db, out, "recording the migration");
		goto out;
	}
	rc = db_commit(db);
	if (rc)
		db_failed(db, out, "COMMIT");
out:
	if (rc)
		db_rollback(db);
	return rc;
}

int migrate_run(struct db *db, const char *dir, struct buf *out, int *applied)
{
	struct arena *a = arena_new(0);
	struct migration *m = NULL;
	size_t n = 0;
	int locked = 0;
	unsigned long gen = 0;
	const char *lock_params[1] = {MIGRATE_LOCK_KEY};
	int rc;

	*applied = 0;
	rc = list_dir(a, dir, out, &m, &n);
	if (rc)
		goto out;
	/* The lock is held by this session: every later statement must run on the same
	 * connection, so a reconnect (generation change) aborts the run. */
	rc = db_exec_params(db, a, "migrate_lock", "SELECT pg_advisory_lock($1::bigint)", 1,
	                    lock_params, NULL);
	if (rc) {
		db_failed(db, out, "taking the migration lock");
		goto out;
	}
	locked = 1;
	gen = db_generation(db);
	rc = check_applied(db, a, out, m, n);
	/* A reconnect inside check_applied lost the lock: what it read is not protected. */
	if (rc == ERR_OK && db_generation(db) != gen)
		rc = ERR_UNAVAILABLE;
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (m[i].applied)
			continue;
		rc = apply_one(db, a, out, &m[i], gen);
		if (rc == ERR_OK && db_generation(db) != gen)
			rc = ERR_UNAVAILABLE;
		if (rc)
			goto out;
		log_info("migrate: applied %s", m[i].name);
		put(out, "applied %s\n", m[i].name);
		(*applied)++;
	}
	if (*applied == 0)
		put(out, "up to date (%s)\n", n ? m[n - 1].name : "no migrations");
out:
	if (locked && db_generation(db) == gen) {
		if (db_exec_params(db, a, "migrate_unlock", "SELECT pg_advisory_unlock($1::bigint)",
		                   1, lock_params, NULL) != ERR_OK)
			log_warn("migrate: could not release the advisory lock");
	} else if (locked) {
		/* The session that held the lock is gone, and the lock with it. */
		put(out, "error: connection to PostgreSQL lost during migration\n");
		if (rc == ERR_OK)
			rc = ERR_UNAVAILABLE;
	}
	arena_free(a);
	return rc;
}
