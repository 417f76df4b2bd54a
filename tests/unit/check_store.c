/* check_store.c - lib/store without a real server: the statement registry refuses
 * duplicates (db_register), the script registry refuses a text twice (rds_script), and
 * the I/O bounds hold against fake servers on unix sockets that accept and then go
 * silent (a stopped PostgreSQL: during the startup handshake, or after it, in the middle
 * of a query; a stopped Redis). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "suites.h"
#include "store/db.h"
#include "store/rds.h"

/* A conninfo that can never connect (no server there), so that a db_exec that gets past
 * the registry fails with ERR_UNAVAILABLE rather than ERR_INTERNAL. */
#define NOWHERE "host=/nonexistent-medrin-dir port=1 dbname=x user=x sslmode=disable"

static const struct db_stmt table_a[] = {
    {"a_one", "SELECT 1", 0},
    {"a_two", "SELECT $1::int", 1},
};
static const struct db_stmt table_b[] = {
    {"b_one", "SELECT 2", 0}, {"a_two", "SELECT 3", 0}, /* collides with table_a */
};
static const struct db_stmt table_dup[] = {
    {"d_one", "SELECT 1", 0},
    {"d_two", "SELECT 2", 0},
    {"d_one", "SELECT 3", 0},
};
static const struct db_stmt table_c[] = {
    {"c_one", "SELECT 4", 0},
};
static const struct db_stmt table_noname[] = {
    {NULL, "SELECT 5", 0},
};

START_TEST(test_db_register_refuses_duplicates)
{
	struct db *db = db_new(NOWHERE, 1000, 2, 1000);

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_register(db, table_a, 2), ERR_OK);
	/* Twice in one table: refused; none of it is registered. */
	ck_assert_int_eq(db_register(db, table_dup, 3), ERR_INVALID);
	ck_assert_int_eq(db_exec(db, NULL, "d_two", 0, NULL, NULL), ERR_INTERNAL);
	/* Across tables: refused as a whole, b_one included. */
	ck_assert_int_eq(db_register(db, table_b, 2), ERR_INVALID);
	ck_assert_int_eq(db_exec(db, NULL, "b_one", 0, NULL, NULL), ERR_INTERNAL);
	/* The same table twice is a duplicate of every statement. */
	ck_assert_int_eq(db_register(db, table_a, 2), ERR_INVALID);
	ck_assert_int_eq(db_register(db, table_noname, 1), ERR_INVALID);
	/* A distinct table is still accepted after refusals. */
	ck_assert_int_eq(db_register(db, table_c, 1), ERR_OK);
	/* Registered statements get past the registry (and fail only for lack of a
	 * server); their parameter counts are still checked first. */
	ck_assert_int_eq(db_exec(db, NULL, "c_one", 0, NULL, NULL), ERR_UNAVAILABLE);
	ck_assert_int_eq(db_exec(db, NULL, "a_one", 0, NULL, NULL), ERR_UNAVAILABLE);
	ck_assert_int_eq(db_exec(db, NULL, "a_two", 0, NULL, NULL), ERR_INTERNAL);
	ck_assert_uint_eq(db_generation(db), 0);
	db_free(db);
}
END_TEST

static const char LUA_A[] = "return 1";
static const char LUA_B[] = "return 2";

START_TEST(test_rds_script_refuses_duplicates)
{
	struct rds *r = rds_new("redis://127.0.0.1:1/0", "t:", 100);
	char copy[sizeof(LUA_A)];

	memcpy(copy, LUA_A, sizeof(LUA_A));
	ck_assert_ptr_nonnull(r);
	int a = rds_script(r, LUA_A);
	int b = rds_script(r, LUA_B);

	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(rds_script(r, LUA_A), ERR_INVALID);
	ck_assert_int_eq(rds_script(r, copy), ERR_INVALID); /* same text, other pointer */
	ck_assert_int_eq(rds_script(r, ""), ERR_INVALID);
	ck_assert_int_eq(rds_script(r, NULL), ERR_INVALID);
	/* A refused id is refused by rds_eval too, before any connection. */
	ck_assert_int_eq(rds_eval(r, NULL, ERR_INVALID, NULL, 0, NULL, 0, NULL), ERR_INTERNAL);
	ck_assert_int_eq(rds_script(r, "return 3"), 2);
	rds_free(r);
}
END_TEST

/* ---- fake servers on a unix socket ---- */

enum fake_mode {
	FAKE_SILENT,   /* accept, then never answer (stopped during the handshake) */
	FAKE_PG_STALL, /* PostgreSQL handshake and the first query, then silence */
};

struct fake {
	char dir[64];
	char path[96];
	int lfd;
	enum fake_mode mode;
	pthread_t thread;
	int accepted; /* connections accepted (read after the thread is joined) */
	int stop_pipe[2];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_readable: 1 when fd is readable, 0 when the stop pipe was written. */
static int wait_readable(struct fake *f, int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
	                      {.fd = f->stop_pipe[0], .events = POLLIN}};

	for (;;) {
		int n = poll(p, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (p[1].revents & POLLIN))
			return 0;
		return 1;
	}
}

static int read_full(struct fake *f, int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		if (!wait_readable(f, fd))
			return -1;
		ssize_t k = read(fd, (char *)buf + got, n - got);

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return 4;
}

static size_t put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

/* msg appends one backend message (type, body) to out. */
static size_t msg(unsigned char *out, char type, const unsigned char *body, size_t n)
{
	out[0] = (unsigned char)type;
	put32(out + 1, (uint32_t)(n + 4));
	if (n > 0)
		memcpy(out + 5, body, n);
	return n + 5;
}

/* pg_serve: startup (AuthenticationOk, ReadyForQuery), then the extended-protocol query
 * db_connect sends (set_config), answered with one text row, then silence. */
static void pg_serve(struct fake *f, int fd)
{
	unsigned char hdr[5], buf[8192], out[512], body[256];
	size_t o = 0, b;
	uint32_t len;

	/* Startup packet: int32 length (itself included), then the rest. */
	if (read_full(f, fd, hdr, 4) < 0)
		return;
	len = be32(hdr);
	if (len < 8 || len - 4 > sizeof(buf) || read_full(f, fd, buf, len - 4) < 0)
		return;
	put32(body, 0);
	o += msg(out + o, 'R', body, 4); /* AuthenticationOk */
	body[0] = 'I';
	o += msg(out + o, 'Z', body, 1); /* ReadyForQuery, idle */
	if (write(fd, out, o) != (ssize_t)o)
		return;
	/* Parse, Bind, Describe, Execute, Sync: read messages up to Sync. */
	for (;;) {
		if (read_full(f, fd, hdr, 5) < 0)
			return;
		len = be32(hdr + 1);
		if (len < 4 || len - 4 > sizeof(buf) || read_full(f, fd, buf, len - 4) < 0)
			return;
		if (hdr[0] == 'S')
			break;
	}
	o = 0;
	o += msg(out + o, '1', NULL, 0); /* ParseComplete */
	o += msg(out + o, '2', NULL, 0); /* BindComplete */
	b = put16(body, 1);
	memcpy(body + b, "set_config", 11);
	b += 11;
	b += put32(body + b, 0);          /* table oid */
	b += put16(body + b, 0);          /* column */
	b += put32(body + b, 25);         /* text */
	b += put16(body + b, 0xffff);     /* typlen -1 */
	b += put32(body + b, 0xffffffff); /* typmod -1 */
	b += put16(body + b, 0);          /* text format */
	o += msg(out + o, 'T', body, b);  /* RowDescription */
	b = put16(body, 1);
	b += put32(body + b, 4);
	memcpy(body + b, "1000", 4);
	b += 4;
	o += msg(out + o, 'D', body, b); /* DataRow */
	o += msg(out + o, 'C', (const unsigned char *)"SELECT 1", 9);
	body[0] = 'I';
	o += msg(out + o, 'Z', body, 1);
	if (write(fd, out, o) != (ssize_t)o)
		return;
	/* Now stopped: read (and ignore) whatever comes until the client hangs up. */
	while (wait_readable(f, fd) && read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char buf[4096];

	for (;;) {
		if (!wait_readable(f, f->lfd))
			break;
		int fd = accept(f->lfd, NULL, NULL);

		if (fd < 0)
			continue;
		f->accepted++;
		if (f->mode == FAKE_PG_STALL)
			pg_serve(f, fd);
		else
			while (wait_readable(f, fd) && read(fd, buf, sizeof(buf)) > 0)
				;
		close(fd);
	}
	return NULL;
}

/* fake_start listens on dir/name (a fresh temporary dir) and serves in a thread. */
static void fake_start(struct fake *f, enum fake_mode mode, const char *name)
{
	struct sockaddr_un sa;

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	snprintf(f->dir, sizeof(f->dir), "/tmp/medrin-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(f->lfd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->lfd, 16), 0);
	ck_assert_int_eq(pipe(f->stop_pipe), 0);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	ck_assert_int_eq(write(f->stop_pipe[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	unlink(f->path);
	rmdir(f->dir);
}

static struct db *fake_db(const struct fake *f, int io_timeout_ms)
{
	char conninfo[256];

	snprintf(conninfo, sizeof(conninfo),
	         "host=%s port=5432 dbname=x user=x sslmode=disable gssencmode=disable", f->dir);
	return db_new(conninfo, 1000, 10, io_timeout_ms);
}

/* A server that accepts and then answers nothing: connect_timeout (2 s, libpq's least)
 * ends the wait, not the 10 s a test harness would notice. */
START_TEST(test_db_connect_bounded)
{
	struct fake f;

	fake_start(&f, FAKE_SILENT, ".s.PGSQL.5432");
	char conninfo[256];

	snprintf(conninfo, sizeof(conninfo), "host=%s port=5432 dbname=x user=x", f.dir);
	struct db *db = db_new(conninfo, 1000, 2, 300);
	int64_t t0 = now_ms();

	ck_assert_int_eq(db_ping(db), ERR_UNAVAILABLE);
	ck_assert_int_lt(now_ms() - t0, 8000);
	ck_assert_uint_eq(db_generation(db), 0);
	db_free(db);
	fake_stop(&f);
}
END_TEST

/* Connected, then the server stops answering (SIGSTOP, partition): the query returns
 * ERR_UNAVAILABLE after io_timeout_ms (the connect timeout here is 10 s, so only the
 * round-trip deadline can end it that soon), is not retried on a new connection, and
 * the next call reconnects. */
START_TEST(test_db_roundtrip_bounded)
{
	struct fake f;

	fake_start(&f, FAKE_PG_STALL, ".s.PGSQL.5432");
	struct db *db = fake_db(&f, 300);
	int64_t t0 = now_ms();

	ck_assert_int_eq(db_ping(db), ERR_UNAVAILABLE);
	int64_t took = now_ms() - t0;

	ck_assert_int_ge(took, 250);
	ck_assert_int_lt(took, 5000);
	ck_assert_uint_eq(db_generation(db), 1); /* connected once, not retried */
	ck_assert_str_eq(db_sqlstate(db), "08006");
	/* The next call starts over on a new connection, and is bounded the same way. */
	ck_assert_int_eq(db_ping(db), ERR_UNAVAILABLE);
	ck_assert_uint_eq(db_generation(db), 2);
	/* Inside a transaction: BEGIN itself stalls; the state is clean afterwards. */
	ck_assert_int_eq(db_begin(db), ERR_UNAVAILABLE);
	db_rollback(db);
	ck_assert_uint_eq(db_generation(db), 3);
	db_free(db);
	fake_stop(&f);
	ck_assert_int_eq(f.accepted, 3);
}
END_TEST

/* A statement that stalls while being prepared (connect-time PREPARE) is bounded too. */
static const struct db_stmt table_stall[] = {
    {"stall_one", "SELECT 1", 0},
};

START_TEST(test_db_prepare_bounded)
{
	struct fake f;

	fake_start(&f, FAKE_PG_STALL, ".s.PGSQL.5432");
	struct db *db = fake_db(&f, 300);
	int64_t t0 = now_ms();

	ck_assert_int_eq(db_register(db, table_stall, 1), ERR_OK);
	ck_assert_int_eq(db_exec(db, NULL, "stall_one", 0, NULL, NULL), ERR_UNAVAILABLE);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert_uint_eq(db_generation(db), 1);
	db_free(db);
	fake_stop(&f);
}
END_TEST

/* Redis accepts and goes silent (unix socket): the command timeout ends the call. */
START_TEST(test_rds_command_bounded)
{
	struct fake f;
	char url[256];

	fake_start(&f, FAKE_SILENT, "redis.sock");
	snprintf(url, sizeof(url), "unix://%s", f.path);
	struct rds *r = rds_new(url, "t:", 300);
	int64_t t0 = now_ms();

	ck_assert_int_eq(rds_ping(r), ERR_UNAVAILABLE);
	int64_t took = now_ms() - t0;

	ck_assert_int_ge(took, 250);
	ck_assert_int_lt(took, 5000);
	rds_free(r);
	fake_stop(&f);
	ck_assert_int_eq(f.accepted, 1); /* a timeout is not retried */
}
END_TEST

/* Sentinel mode: malformed lists and a missing name are refused (and make every later
 * call fail); with no Sentinel answering, a call gives up after the bounded wait. */
START_TEST(test_rds_sentinels_parse_and_bounded_wait)
{
	static const char *const bad[] = {"127.0.0.1",     "127.0.0.1:0", "127.0.0.1:70000",
	                                  ":26379",        "a:1,,b:2",    "127.0.0.1:26379,",
	                                  "127.0.0.1:x12", NULL};

	for (int i = 0; bad[i] != NULL; i++) {
		struct rds *r = rds_new("redis://127.0.0.1:1/0", "t:", 100);

		ck_assert_msg(rds_set_sentinels(r, bad[i], "medrin", 100) == ERR_INVALID, "%s",
		              bad[i]);
		ck_assert_int_eq(rds_ping(r), ERR_INTERNAL);
		rds_free(r);
	}
	struct rds *r = rds_new("redis://127.0.0.1:1/0", "t:", 100);

	ck_assert_int_eq(rds_set_sentinels(r, "127.0.0.1:1", NULL, 100), ERR_INVALID);
	rds_free(r);
	r = rds_new("redis://127.0.0.1:1/0", "t:", 100);
	ck_assert_int_eq(rds_set_sentinels(r, NULL, NULL, 100), ERR_OK); /* unset: plain URL */
	rds_free(r);
	r = rds_new("redis://127.0.0.1:1/0", "t:", 100);
	ck_assert_int_eq(rds_set_sentinels(r, "127.0.0.1:1,[::1]:1", "medrin", 400), ERR_OK);
	int64_t t0 = now_ms();

	ck_assert_int_eq(rds_ping(r), ERR_UNAVAILABLE);
	int64_t took = now_ms() - t0;

	ck_assert_int_ge(took, 300);
	ck_assert_int_lt(took, 5000);
	rds_free(r);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *reg = tcase_create("registry");
	TCase *io = tcase_create("bounded_io");

	tcase_add_test(reg, test_db_register_refuses_duplicates);
	tcase_add_test(reg, test_rds_script_refuses_duplicates);
	tcase_add_test(io, test_db_connect_bounded);
	tcase_add_test(io, test_db_roundtrip_bounded);
	tcase_add_test(io, test_db_prepare_bounded);
	tcase_add_test(io, test_rds_command_bounded);
	tcase_add_test(io, test_rds_sentinels_parse_and_bounded_wait);
	tcase_set_timeout(io, 30);
	suite_add_tcase(s, reg);
	suite_add_tcase(s, io);
	return s;
}
