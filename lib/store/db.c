/* db.c - the libpq wrapper; see db.h and docs/internals/storage.md.
 *
 * One PGconn per process, opened on first use. Every call goes through run(), which
 * (re)connects, prepares statement tables not yet prepared on this connection, executes,
 * and turns the outcome into an enum err: the one place where SQLSTATEs are mapped.
 *
 * Every round trip after connecting goes through roundtrip(): the connection is in
 * nonblocking mode, the command is sent with PQsend*, and the answer is awaited with
 * poll() on PQsocket against a deadline of io_timeout_ms. A round trip that misses the
 * deadline drops the connection (the server may be stopped or unreachable; nothing more
 * can be read from it safely) and fails with ERR_UNAVAILABLE.
 */
#include "store/db.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"

struct stmt_table {
	const struct db_stmt *stmts;
	size_t n;
};

struct db {
	char *conninfo;
	int statement_timeout_ms;
	int connect_timeout_s;
	int io_timeout_ms; /* bound on one round trip; 0: none */
	PGconn *conn;
	struct stmt_table *tables;
	size_t ntables;
	size_t prepared_tables; /* tables prepared on the current connection */
	int in_tx;              /* db_begin succeeded, no commit/rollback yet */
	unsigned long generation;
	char sqlstate[6];
	char errmsg[256];
};

/* What one round trip sends: a registered statement, a SQL text (simple protocol), a
 * parameterised SQL text, or a PREPARE. */
enum run_mode { RUN_PREPARED, RUN_RAW, RUN_PARAMS, RUN_PREPARE };

/* How a round trip ended: a result (which may be an error), the deadline passed, or the
 * connection is unusable (lost, or in a state we never use, such as COPY). */
enum rt_outcome { RT_DONE, RT_TIMEOUT, RT_BROKEN };

struct db *db_new(const char *conninfo, int statement_timeout_ms, int connect_timeout_s,
                  int io_timeout_ms)
{
	struct db *db = util_xmalloc(sizeof(*db));

	memset(db, 0, sizeof(*db));
	db->conninfo = util_xstrdup(conninfo);
	db->statement_timeout_ms = statement_timeout_ms;
	db->connect_timeout_s = connect_timeout_s;
	db->io_timeout_ms = io_timeout_ms > 0 ? io_timeout_ms : 0;
	return db;
}

static void drop(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->prepared_tables = 0;
	db->in_tx = 0;
}

void db_free(struct db *db)
{
	if (db == NULL)
		return;
	drop(db);
	/* The conninfo may hold a password. */
	explicit_bzero(db->conninfo, strlen(db->conninfo));
	free(db->conninfo);
	free(db->tables);
	free(db);
}

/* stmt_registered: is name already in one of the registered tables? */
static int stmt_registered(const struct db *db, const char *name)
{
	for (size_t t = 0; t < db->ntables; t++)
		for (size_t i = 0; i < db->tables[t].n; i++)
			if (strcmp(db->tables[t].stmts[i].name, name) == 0)
				return 1;
	return 0;
}

int db_register(struct db *db, const struct db_stmt *stmts, size_t n)
{
	/* A duplicate name would make every PQprepare after it fail ("prepared statement
	 * already exists") on every connect: refuse the table now, at worker start, where
	 * the log line names the culprit, instead of answering 500 forever. */
	for (size_t i = 0; i < n; i++) {
		if (stmts[i].name == NULL || stmts[i].name[0] == '\0' || stmts[i].sql == NULL) {
			log_error(
			    "db: statement %zu of a table has no name or no SQL; table refused", i);
			return ERR_INVALID;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(stmts[j].name, stmts[i].name) == 0) {
				log_error("db: statement \"%s\" appears twice in one table; table "
				          "refused",
				          stmts[i].name);
				return ERR_INVALID;
			}
		if (stmt_registered(db, stmts[i].name)) {
			log_error("db: statement \"%s\" is already registered by another table; "
			          "table refused",
			          stmts[i].name);
			return ERR_INVALID;
		}
	}
	db->tables = util_xrealloc(db->tables, (db->ntables + 1) * sizeof(*db->tables));
	db->tables[db->ntables].stmts = stmts;
	db->tables[db->ntables].n = n;
	db->ntables++;
	return ERR_OK;
}

static void pgresult_release(void *ptr)
{
	PQclear(ptr);
}

static void set_error(struct db *db, const char *sqlstate, const char *msg)
{
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", sqlstate ? sqlstate : "");
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "");
	/* Keep the first line only: libpq messages end in '\n' and may add hints. */
	db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
}

static void clear_error(struct db *db)
{
	db->sqlstate[0] = '\0';
	db->errmsg[0] = '\0';
}

/* classify maps a SQLSTATE to an error code; the only such mapping in libmedrin. */
static int classify(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return ERR_INTERNAL;
	if (strcmp(s, "23505") == 0)
		return ERR_CONFLICT;
	if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
		return ERR_INVALID;
	/* 57014 statement timeout, 08 connection, 57P0x shutdown/recovery, 53 resources,
	 * 40001/40P01 serialization failure and deadlock, 55P03 lock not available: the
	 * dependency is (for now) unable to serve us, not a bug. */
	if (strcmp(s, "57014") == 0 || strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0 ||
	    strncmp(s, "53", 2) == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
	    strcmp(s, "55P03") == 0)
		return ERR_UNAVAILABLE;
	return ERR_INTERNAL;
}

static void log_failure(const char *label, int rc, const char *sqlstate)
{
	/* Statement name and SQLSTATE only: messages can quote parameter values. */
	if (rc == ERR_CONFLICT || rc == ERR_INVALID)
		log_debug("db: %s: %s (SQLSTATE %s)", label, err_name(rc), sqlstate);
	else if (rc == ERR_UNAVAILABLE)
		log_warn("db: %s: %s (SQLSTATE %s)", label, err_name(rc), sqlstate);
	else
		log_error("db: %s: %s (SQLSTATE %s)", label, err_name(rc), sqlstate);
	if (rc != ERR_CONFLICT && rc != ERR_INVALID)
		metrics_pg_error();
}

static void notice_receiver(void *arg, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	/* Without this libpq prints notices on stderr, breaking the JSON log stream. */
	log_debug("db: server notice (SQLSTATE %s)", state ? state : "");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_sock waits until conn's socket is readable (or writable, with want_write) or the
 * deadline (monotonic ms; < 0: none) passes. 1: ready, 0: timed out, -1: error. */
static int wait_sock(PGconn *conn, int64_t deadline, int want_write)
{
	int fd = PQsocket(conn);

	if (fd < 0)
		return -1;
	for (;;) {
		int wait = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return 0;
			wait = left > 3600000 ? 3600000 : (int)left;
		}
		struct pollfd p = {.fd = fd,
		                   .events = (short)(POLLIN | (want_write ? POLLOUT : 0))};
		int n = poll(&p, 1, wait);

		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
		/* n == 0 or EINTR: the deadline check above decides. */
	}
}

/* roundtrip sends one command on the (nonblocking) connection and collects its results
 * within db->io_timeout_ms, never blocking past it. On RT_DONE *out is the result PQexec
 * would return: the last one, unless an error came first (NULL only if there was none).
 * what is the statement name (RUN_PREPARED, RUN_PREPARE) and sql the text. */
static enum rt_outcome roundtrip(struct db *db, enum run_mode mode, const char *what,
                                 const char *sql, int nparams, const char *const *params,
                                 PGresult **out)
{
	PGconn *conn = db->conn;
	int64_t deadline = db->io_timeout_ms > 0 ? now_ms() + db->io_timeout_ms : -1;
	PGresult *last = NULL;
	int ok, w;

	*out = NULL;
	switch (mode) {
	case RUN_PREPARED:
		ok = PQsendQueryPrepared(conn, what, nparams, params, NULL, NULL, 0);
		break;
	case RUN_PARAMS:
		ok = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
		break;
	case RUN_PREPARE: ok = PQsendPrepare(conn, what, sql, nparams, NULL); break;
	default: ok = PQsendQuery(conn, sql); break;
	}
	if (!ok)
		return RT_BROKEN;
	/* Nonblocking mode: what did not fit in the socket buffer is sent as it drains. */
	for (;;) {
		int f = PQflush(conn);

		if (f == 0)
			break;
		if (f < 0)
			return RT_BROKEN;
		w = wait_sock(conn, deadline, 1);
		if (w == 0)
			return RT_TIMEOUT;
		if (w < 0 || !PQconsumeInput(conn))
			return RT_BROKEN;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			w = wait_sock(conn, deadline, 0);
			if (w == 0) {
				PQclear(last);
				return RT_TIMEOUT;
			}
			if (w < 0 || !PQconsumeInput(conn)) {
				PQclear(last);
				return RT_BROKEN;
			}
		}
		PGresult *r = PQgetResult(conn);

		if (r == NULL)
			break;
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			PQclear(r);
			PQclear(last);
			return RT_BROKEN;
		}
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
			PQclear(r); /* a later result never hides an error */
		} else {
			PQclear(last);
			last = r;
		}
		if (PQstatus(conn) == CONNECTION_BAD)
			break;
	}
	*out = last;
	return RT_DONE;
}

/* timed_out drops the connection after a missed deadline: the server is stopped or
 * unreachable, and the answer, should it come, can not be matched to anything. */
static int timed_out(struct db *db, const char *label)
{
	log_warn("db: %s: no answer from PostgreSQL within %d ms; dropping the connection", label,
	         db->io_timeout_ms);
	metrics_pg_error();
	drop(db);
	set_error(db, "08006", "timed out waiting for the server");
	return ERR_UNAVAILABLE;
}

/* prepare_pending prepares every statement of the tables registered since the last
 * (re)connect. A failure drops the connection so the next call starts clean (for
 * instance after the migration that creates a missing table). */
static int prepare_pending(struct db *db)
{
	for (; db->prepared_tables < db->ntables; db->prepared_tables++) {
		const struct stmt_table *t = &db->tables[db->prepared_tables];

		for (size_t i = 0; i < t->n; i++) {
			PGresult *r;
			enum rt_outcome o =
			    roundtrip(db, RUN_PREPARE, t->stmts[i].name, t->stmts[i].sql,
			              t->stmts[i].nparams, NULL, &r);

			if (o == RT_TIMEOUT)
				return timed_out(db, t->stmts[i].name);
			if (o == RT_DONE && r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) {
				PQclear(r);
				continue;
			}
			const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
			int bad_conn = o == RT_BROKEN || PQstatus(db->conn) == CONNECTION_BAD;

			if (state == NULL)
				state = "08006";
			set_error(db, state,
			          r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
			int rc = bad_conn ? ERR_UNAVAILABLE : classify(state);

			log_error("db: prepare %s failed (SQLSTATE %s)", t->stmts[i].name, state);
			PQclear(r);
			drop(db);
			return rc == ERR_UNAVAILABLE ? rc : ERR_INTERNAL;
		}
	}
	return ERR_OK;
}

static int db_connect(struct db *db)
{
	char timeout[16], ms[16], user_timeout[16];
	/* Keys are applied in order, the last value of a key winning; the URL or key=value
	 * string in dbname is expanded in place (expand_dbname). So the user's string
	 * overrides application_name and the TCP keepalive settings, and the configured
	 * connect_timeout wins over the string's. Keepalives and tcp_user_timeout find a
	 * dead peer on an idle or a sending TCP connection (libpq ignores them on a unix
	 * socket); the per-round-trip deadline in roundtrip() is what bounds every call. */
	const char *keys[] = {"application_name",
	                      "keepalives",
	                      "keepalives_idle",
	                      "keepalives_interval",
	                      "keepalives_count",
	                      "tcp_user_timeout",
	                      "dbname",
	                      "connect_timeout",
	                      NULL};
	const char *vals[] = {"medrin",     "1",          "30",    "10", "3",
	                      user_timeout, db->conninfo, timeout, NULL};

	snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout_s);
	snprintf(user_timeout, sizeof(user_timeout), "%d",
	         db->io_timeout_ms > 0 ? db->io_timeout_ms : 30000);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, "08001", db->conn ? PQerrorMessage(db->conn) : "out of memory");
		log_warn("db: connect failed: %s", db->errmsg);
		metrics_pg_error();
		drop(db);
		return ERR_UNAVAILABLE;
	}
	PQsetNoticeReceiver(db->conn, notice_receiver, NULL);
	/* Nonblocking: PQsend* and PQflush never wait on a full socket buffer, and neither
	 * does PQfinish when it says goodbye to a server that stopped reading. */
	if (PQsetnonblocking(db->conn, 1) != 0) {
		set_error(db, "08001", PQerrorMessage(db->conn));
		log_warn("db: cannot make the connection nonblocking");
		drop(db);
		return ERR_UNAVAILABLE;
	}
	db->generation++;
	db->prepared_tables = 0;
	db->in_tx = 0;

	snprintf(ms, sizeof(ms), "%d", db->statement_timeout_ms);
	const char *params[1] = {ms};
	PGresult *r;
	enum rt_outcome o =
	    roundtrip(db, RUN_PARAMS, NULL, "SELECT set_config('statement_timeout', $1, false)", 1,
	              params, &r);

	if (o == RT_TIMEOUT)
		return timed_out(db, "set statement_timeout");
	if (o != RT_DONE || r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		set_error(db, state ? state : "08006", r ? PQresultErrorMessage(r) : "no result");
		log_warn("db: setting statement_timeout failed (SQLSTATE %s)", db->sqlstate);
		PQclear(r);
		drop(db);
		return ERR_UNAVAILABLE;
	}
	PQclear(r);
	log_debug("db: connected");
	return prepare_pending(db);
}

static const struct db_stmt *find_stmt(const struct db *db, const char *name)
{
	for (size_t t = 0; t < db->ntables; t++)
		for (size_t i = 0; i < db->tables[t].n; i++)
			if (strcmp(db->tables[t].stmts[i].name, name) == 0)
				return &db->tables[t].stmts[i];
	return NULL;
}

static int tx_open(PGconn *conn)
{
	PGTransactionStatusType ts = PQtransactionStatus(conn);

	return ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
}

/* run executes one call with the reconnect-and-retry-once rule of db.h. */
static int run(struct db *db, struct arena *a, enum run_mode mode, const char *label,
               const char *sql, int nparams, const char *const *params, PGresult **res)
{
	if (res != NULL)
		*res = NULL;
	clear_error(db);
	for (int attempt = 0;; attempt++) {
		if (db->in_tx && (db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD)) {
			drop(db);
			set_error(db, "08003", "connection lost inside a transaction");
			log_warn("db: %s: connection lost inside a transaction", label);
			return ERR_UNAVAILABLE;
		}
		if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_BAD)
			drop(db);
		int reused = db->conn != NULL;
		int rc = db->conn == NULL ? db_connect(db) : prepare_pending(db);

		if (rc)
			return rc;
		int was_tx = db->in_tx || tx_open(db->conn);
		PGresult *r;
		enum rt_outcome o = roundtrip(db, mode, sql, sql, nparams, params, &r);

		if (o == RT_TIMEOUT)
			return timed_out(db, label);
		if (o == RT_BROKEN && PQstatus(db->conn) != CONNECTION_BAD) {
			/* Not lost, but in a state we never use: start over on a new one. */
			drop(db);
			set_error(db, "08006", "connection left in an unexpected state");
			log_failure(label, ERR_UNAVAILABLE, db->sqlstate);
			return ERR_UNAVAILABLE;
		}
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
			if (res == NULL)
				PQclear(r);
			else if (a != NULL)
				arena_defer(a, pgresult_release, r);
			if (res != NULL)
				*res = r;
			return ERR_OK;
		}
		if (o == RT_BROKEN || PQstatus(db->conn) == CONNECTION_BAD) {
			PQclear(r);
			drop(db);
			/* A stale connection (server restarted, idle connection cut) fails on
			 * first use; the statement did not run, so it is safe to run it again,
			 * unless a transaction was open: that is lost with the connection. */
			if (!was_tx && reused && attempt == 0) {
				log_info("db: %s: connection lost, reconnecting", label);
				continue;
			}
			set_error(db, "08006", "connection lost");
			log_failure(label, ERR_UNAVAILABLE, db->sqlstate);
			return ERR_UNAVAILABLE;
		}
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		set_error(db, state ? state : "XX000",
		          r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
		            : PQerrorMessage(db->conn));
		rc = classify(db->sqlstate);
		log_failure(label, rc, db->sqlstate);
		PQclear(r);
		/* 25006: this server is read-only now (a primary demoted, a standby reached by a
		 * connection string without target_session_attrs=read-write); 57P01..57P03: it
		 * is shutting down or starting. The next call connects again, and libpq picks
		 * whichever listed host is the primary now. */
		if (!db->in_tx &&
		    (strcmp(db->sqlstate, "25006") == 0 || strncmp(db->sqlstate, "57P0", 4) == 0)) {
			drop(db);
			rc = ERR_UNAVAILABLE;
		}
		return rc;
	}
}

int db_exec(struct db *db, struct arena *a, const char *stmt, int nparams,
            const char *const *params, PGresult **res)
{
	const struct db_stmt *s = find_stmt(db, stmt);

	if (res != NULL)
		*res = NULL;
	if (s == NULL || s->nparams != nparams) {
		clear_error(db);
		log_error("db: %s: %s", stmt,
		          s == NULL ? "not a registered statement" : "wrong number of parameters");
		return ERR_INTERNAL;
	}
	return run(db, a, RUN_PREPARED, stmt, stmt, nparams, params, res);
}

int db_exec_raw(struct db *db, struct arena *a, const char *sql, PGresult **res)
{
	return run(db, a, RUN_RAW, "raw sql", sql, 0, NULL, res);
}

int db_exec_params(struct db *db, struct arena *a, const char *label, const char *sql, int nparams,
                   const char *const *params, PGresult **res)
{
	return run(db, a, RUN_PARAMS, label, sql, nparams, params, res);
}

int db_begin(struct db *db)
{
	if (db->in_tx) {
		log_error("db: begin: a transaction is already open");
		return ERR_INTERNAL;
	}
	int rc = run(db, NULL, RUN_RAW, "begin", "BEGIN", 0, NULL, NULL);

	if (rc == ERR_OK)
		db->in_tx = 1;
	return rc;
}

int db_commit(struct db *db)
{
	PGresult *r = NULL;

	if (!db->in_tx) {
		log_error("db: commit: no transaction is open");
		return ERR_INTERNAL;
	}
	int rc = run(db, NULL, RUN_RAW, "commit", "COMMIT", 0, NULL, &r);

	/* Whatever happened, the transaction is over (committed, or rolled back by the
	 * server on error). */
	db->in_tx = 0;
	if (rc == ERR_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
		/* COMMIT of a transaction that had already failed rolls back instead. */
		set_error(db, "25P02", "transaction was aborted; rolled back");
		log_error("db: commit: transaction had failed and was rolled back");
		rc = ERR_INTERNAL;
	}
	PQclear(r);
	return rc;
}

void db_rollback(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_BAD) {
		drop(db);
		return;
	}
	if (db->conn != NULL && (db->in_tx || tx_open(db->conn))) {
		/* Leave the last error as it was: the caller usually reads it after this. */
		PGresult *r;
		enum rt_outcome o = roundtrip(db, RUN_RAW, NULL, "ROLLBACK", 0, NULL, &r);

		if (o == RT_TIMEOUT) {
			log_warn("db: rollback: no answer from PostgreSQL within %d ms; dropping "
			         "the connection",
			         db->io_timeout_ms);
			drop(db);
			return;
		}
		if (o != RT_DONE || r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_warn("db: rollback failed; dropping the connection");
			PQclear(r);
			drop(db);
			return;
		}
		PQclear(r);
	}
	db->in_tx = 0;
}

int db_ping(struct db *db)
{
	return run(db, NULL, RUN_RAW, "ping", "SELECT 1", 0, NULL, NULL);
}

const char *db_sqlstate(const struct db *db)
{
	return db->sqlstate;
}

const char *db_error_message(const struct db *db)
{
	return db->errmsg;
}

unsigned long db_generation(const struct db *db)
{
	return db->generation;
}

const char *db_value(const PGresult *res, int row, int col)
{
	if (res == NULL || row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

int db_rows(const PGresult *res)
{
	return res ? PQntuples(res) : 0;
}
