/* db.h - one PostgreSQL connection per process, prepared statements, transactions.
 *
 * The connection opens lazily on first use. Statement tables registered with
 * db_register are prepared once per connection, right after (re)connecting. Each new
 * connection sets statement_timeout (0: none), connect_timeout and application_name
 * ("medrin" unless the URL names one). When a call finds the connection broken (PQstatus bad), the
 * handle reconnects once and retries if no transaction was open; inside a transaction it
 * fails with ERR_UNAVAILABLE (the transaction is lost) and reconnects on the next call.
 * No round trip waits longer than io_timeout_ms: a server that does not answer in time
 * (stopped, partitioned) costs ERR_UNAVAILABLE, the connection is dropped (the next call
 * reconnects) and the call is not retried (the statement may have run). Connecting is
 * bounded by connect_timeout. TCP keepalives and tcp_user_timeout are set unless the
 * URL sets them. SQLSTATE 23505 maps to ERR_CONFLICT here, nowhere else. Logs name the statement,
 * never its parameters.
 */
#ifndef MEDRIN_DB_H
#define MEDRIN_DB_H

#include <stddef.h>
#include <libpq-fe.h>
#include "base/err.h"

struct arena;

struct db_stmt {
	const char *name; /* "users_by_email" */
	const char *sql;  /* one statement, parameters cast: "WHERE id = $1::uuid" */
	int nparams;
};

struct db;

/* db_new keeps conninfo (a libpq URL or key=value string); nothing connects yet.
 * io_timeout_ms bounds every round trip (0: no bound, for medrinctl migrate, whose
 * statements may legitimately run for long); keep statement_timeout_ms below it so the
 * server, not the client, cuts a slow statement. */
struct db *db_new(const char *conninfo, int statement_timeout_ms, int connect_timeout_s,
                  int io_timeout_ms);
void db_free(struct db *db);

/* db_register adds a static table of statements (kept by pointer; must outlive db).
 * Call before the first query; tables registered later are prepared on next connect.
 * ERR_INVALID (logged, naming the statement; nothing of the table is registered) when a
 * name appears twice in the table or is already registered by another table, or a
 * statement has no name or no SQL. */
int db_register(struct db *db, const struct db_stmt *stmts, size_t n) MUSTCHECK;

/* db_exec runs a registered statement. params are text (NULL = SQL NULL). On ERR_OK,
 * *res (if res is not NULL) holds the result, registered with the arena (PQclear on
 * reset); with a NULL arena the caller owns it and must PQclear it. On failure *res is
 * NULL. Errors: ERR_UNAVAILABLE (connection, 57014 statement timeout, 08xxx, 57P0x,
 * 40001/40P01), ERR_CONFLICT (23505), ERR_INVALID (22xxx/23xxx data errors other than
 * 23505), ERR_INTERNAL (others, an unregistered statement or a wrong nparams). */
int db_exec(struct db *db, struct arena *a, const char *stmt, int nparams,
            const char *const *params, PGresult **res) MUSTCHECK;

/* db_exec_raw runs one non-prepared SQL text without parameters (migrations, DDL); it
 * may hold several statements (simple query protocol; *res is the last one's result).
 * The result is handled like db_exec's. */
int db_exec_raw(struct db *db, struct arena *a, const char *sql, PGresult **res) MUSTCHECK;

/* db_exec_params runs one parameterised SQL text that is not prepared (PQexecParams):
 * for statements that can not be prepared at connect time, e.g. on a table a migration
 * is about to create. label names it in logs. Result and errors as db_exec. */
int db_exec_params(struct db *db, struct arena *a, const char *label, const char *sql, int nparams,
                   const char *const *params, PGresult **res) MUSTCHECK;

int db_begin(struct db *db) MUSTCHECK;
int db_commit(struct db *db) MUSTCHECK;
/* db_rollback never fails from the caller's view; safe when no transaction is open. */
void db_rollback(struct db *db);

/* db_ping checks the connection ("SELECT 1"), connecting if needed. */
int db_ping(struct db *db) MUSTCHECK;

/* The SQLSTATE of the last failed call ("23505"), or "" . */
const char *db_sqlstate(const struct db *db);
/* The primary message of the last failed call, or "". It may quote data values, so it is
 * never logged by db; medrinctl shows it to the operator for a failed migration. */
const char *db_error_message(const struct db *db);
/* Counts successful connects; a change between two calls means the session (and any
 * session-level state such as an advisory lock) was replaced. 0: never connected. */
unsigned long db_generation(const struct db *db);

/* Helpers over a result: cell text (NULL when SQL NULL) and row count. */
const char *db_value(const PGresult *res, int row, int col);
int db_rows(const PGresult *res);

#endif
