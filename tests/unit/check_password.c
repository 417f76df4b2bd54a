/* check_password.c - argon2id hashing, the policy table, rehash detection, the dummy
 * verify, and the per-host hashing limiter across processes. */
#include <argon2.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "suites.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/util.h"
#include "security/password.h"

START_TEST(test_hash_verify_round_trip)
{
	struct arena *a = arena_new(0);
	char *h1 = NULL, *h2 = NULL;

	ck_assert_int_eq(password_hash(-1, a, "correct horse battery", &h1), ERR_OK);
	ck_assert_ptr_nonnull(h1);
	ck_assert_int_eq(password_verify(-1, h1, "correct horse battery"), ERR_OK);
	ck_assert_int_eq(password_verify(-1, h1, "correct horse batterY"), ERR_UNAUTHORIZED);
	ck_assert_int_eq(password_verify(-1, h1, ""), ERR_UNAUTHORIZED);
	/* a fresh salt each time */
	ck_assert_int_eq(password_hash(-1, a, "correct horse battery", &h2), ERR_OK);
	ck_assert_str_ne(h1, h2);
	ck_assert_int_eq(password_verify(-1, h2, "correct horse battery"), ERR_OK);
	arena_free(a);
}
END_TEST

START_TEST(test_phc_parameters)
{
	struct arena *a = arena_new(0);
	char *h = NULL;
	unsigned m = 0, t = 0, p = 0, v = 0;
	char salt[64], tag[128];

	ck_assert_int_eq(password_hash(-1, a, "some password", &h), ERR_OK);
	ck_assert_int_eq(
	    sscanf(h, "$argon2id$v=%u$m=%u,t=%u,p=%u$%63[^$]$%127s", &v, &m, &t, &p, salt, tag), 6);
	ck_assert_uint_eq(v, 19);
	/* OWASP Password Storage Cheat Sheet: argon2id m >= 19 MiB, t >= 2, p >= 1 */
	ck_assert_uint_ge(m, 19456);
	ck_assert_uint_ge(t, 2);
	ck_assert_uint_ge(p, 1);
	ck_assert_uint_ge(strlen(salt), 22); /* >= 16 bytes */
	ck_assert_uint_ge(strlen(tag), 43);  /* >= 32 bytes */
	ck_assert_int_eq(password_needs_rehash(h), 0);
	arena_free(a);
}
END_TEST

START_TEST(test_needs_rehash)
{
	char weak[160];
	const unsigned char salt[16] = "0123456789abcdef";

	/* verifiable, but weaker than today's parameters */
	ck_assert_int_eq(argon2id_hash_encoded(1, 4096, 1, "pw-12345", 8, salt, sizeof(salt), 32,
	                                       weak, sizeof(weak)),
	                 ARGON2_OK);
	ck_assert_int_eq(password_verify(-1, weak, "pw-12345"), ERR_OK);
	ck_assert_int_eq(password_needs_rehash(weak), 1);
	ck_assert_int_eq(argon2id_hash_encoded(2, 8192, 1, "pw-12345", 8, salt, sizeof(salt), 32,
	                                       weak, sizeof(weak)),
	                 ARGON2_OK);
	ck_assert_int_eq(password_needs_rehash(weak), 1);
	ck_assert_int_eq(argon2id_hash_encoded(1, 19456, 1, "pw-12345", 8, salt, sizeof(salt), 32,
	                                       weak, sizeof(weak)),
	                 ARGON2_OK);
	ck_assert_int_eq(password_needs_rehash(weak), 1);
	/* stronger than today: no rehash */
	ck_assert_int_eq(argon2id_hash_encoded(3, 19456, 1, "pw-12345", 8, salt, sizeof(salt), 32,
	                                       weak, sizeof(weak)),
	                 ARGON2_OK);
	ck_assert_int_eq(password_needs_rehash(weak), 0);
	/* other schemes and junk */
	ck_assert_int_eq(password_needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"),
	                 1);
	ck_assert_int_eq(password_needs_rehash("$2b$12$abcdefghijklmnopqrstuv"), 1);
	ck_assert_int_eq(password_needs_rehash(""), 1);
	ck_assert_int_eq(password_needs_rehash(NULL), 1);
}
END_TEST

START_TEST(test_verify_bad_stored_hash)
{
	/* a corrupted row, or one asking for 4 GiB of memory: refused, not run */
	ck_assert_int_eq(password_verify(-1, "not-a-hash", "password1"), ERR_UNAUTHORIZED);
	ck_assert_int_eq(password_verify(-1,
	                                 "$argon2id$v=19$m=4194304,t=2,p=1$"
	                                 "MDEyMzQ1Njc4OWFiY2RlZg$"
	                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	                                 "password1"),
	                 ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(test_dummy_verify)
{
	int64_t t0 = util_now_usec();

	ck_assert_int_eq(password_verify(-1, NULL, "anything at all"), ERR_UNAUTHORIZED);
	ck_assert_int_eq(password_verify(-1, NULL, ""), ERR_UNAUTHORIZED);
	/* it really ran argon2 (a real verify with these parameters takes milliseconds) */
	ck_assert_int_gt(util_now_usec() - t0, 2000);
}
END_TEST

static const struct {
	const char *pw;
	int ok;
} policy_cases[] = {
    {"1234567", 0},   /* 7 chars */
    {"4t9#kq2Z", 1},  /* 8 chars */
    {"12345678", 0},  /* 8 chars, but on the common-password list */
    {"PassWord1", 0}, /* common, matched case-insensitively */
    {"\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b"
     "\xe2\x80\x8b",
     0}, /* zero-width spaces only */
    {"\xef\xbb\xbf\xe2\x81\xa0\xe2\x80\x8c\xe2\x80\x8d\xe3\x85\xa4\xc2\xad  ", 0}, /* invisible */
    {"        ", 0},                                                               /* spaces only */
    {" \t \n \r  ", 0},              /* white space only */
    {"  pass  word  ", 1},           /* spaces inside are fine */
    {"\xc3\xa9\xc3\xa9\xc3\xa9", 0}, /* 3 chars in 6 bytes */
    {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 1}, /* 8 chars, 16 B */
    {"", 0},
    /* Unicode white space only (no-break, ideographic, em spaces) */
    {"\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0", 0},
    {"\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80"
     "\xe3\x80\x80\xe3\x80\x80",
     0},
    {" \xe2\x80\x83\t\xc2\xa0\xe2\x80\xaf  \xe3\x80\x80", 0},
    {"\xc2\xa0\xc2\xa0\xc2\xa0x\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0", 1}, /* one visible */
    {"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
     "\xe2\x82\xac\xe2\x82\xac",
     1}, /* 8 euro signs (3 bytes each) */
    {"\xf0\x9f\x94\x91\xf0\x9f\x94\x91\xf0\x9f\x94\x91\xf0\x9f\x94\x91", 0}, /* 4 chars */
};

START_TEST(test_policy_table)
{
	const char *msg = password_policy(policy_cases[_i].pw);

	if (policy_cases[_i].ok)
		ck_assert_msg(msg == NULL, "case %d refused: %s", _i, msg);
	else
		ck_assert_msg(msg != NULL, "case %d accepted", _i);
}
END_TEST

START_TEST(test_policy_bounds)
{
	char pw[200];

	memset(pw, 'a', sizeof(pw));
	pw[128] = '\0';
	ck_assert_ptr_null(password_policy(pw)); /* 128 bytes */
	pw[128] = 'a';
	pw[129] = '\0';
	ck_assert_ptr_nonnull(password_policy(pw)); /* 129 bytes */
	ck_assert_str_eq(password_policy(pw), "must be at most 128 bytes");
	ck_assert_str_eq(password_policy("1234567"), "must be at least 8 characters");
	ck_assert_ptr_nonnull(password_policy(NULL));
}
END_TEST

static struct config limiter_cfg(const char *dir, int n)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.hash_lock_dir = dir;
	c.hash_concurrency = n;
	return c;
}

START_TEST(test_limiter_blocks_when_full)
{
	char dir[] = "/tmp/medrin-hash-XXXXXX";
	char sub[64], slot[96];
	int ready[2], hold[2];
	char c;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/run/medrin", dir); /* created (0700) on open */
	struct config cfg = limiter_cfg(sub, 1);
	int lim = password_limiter_open(&cfg);

	ck_assert_int_ge(lim, 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(slot, sizeof(slot), "%s/hash-slot-0", sub);
	ck_assert_int_eq(access(slot, F_OK), 0);

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(hold), 0);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* another worker holding the only slot */
		int fd = open(slot, O_RDWR);

		close(hold[1]);
		close(ready[0]);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)read(hold[0], &c, 1); /* until the parent says so (or dies) */
		_exit(0);
	}
	close(hold[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);

	struct arena *a = arena_new(0);
	char *h = NULL;
	int64_t t0 = util_now_usec();

	ck_assert_int_eq(password_hash(lim, a, "password-1", &h), ERR_BUSY);
	ck_assert_ptr_null(h);
	int64_t waited = util_now_usec() - t0;

	ck_assert_int_ge(waited, 900000); /* polled for about a second */
	ck_assert_int_lt(waited, 3000000);
	ck_assert_int_eq(password_verify(lim, NULL, "password-1"), ERR_BUSY);

	/* the child exits: the kernel releases its lock */
	close(hold[1]);
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(password_hash(lim, a, "password-1", &h), ERR_OK);
	ck_assert_int_eq(password_verify(lim, h, "password-1"), ERR_OK);
	/* and our own slot was released after each call */
	int fd = open(slot, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);

	password_limiter_close(lim);
	arena_free(a);
	unlink(slot);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

/* Opened before fork (as a master might): the limit still holds in the child. */
START_TEST(test_limiter_inherited_by_child)
{
	char dir[] = "/tmp/medrin-hash-XXXXXX";
	char slot[96];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct config cfg = limiter_cfg(dir, 1);
	int lim = password_limiter_open(&cfg);

	ck_assert_int_ge(lim, 0);
	snprintf(slot, sizeof(slot), "%s/hash-slot-0", dir);
	int fd = open(slot, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0); /* the only slot is busy */
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct arena *a = arena_new(0);
		char *h = NULL;

		_exit(password_hash(lim, a, "password-1", &h) == ERR_BUSY ? 0 : 1);
	}
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	password_limiter_close(lim);
	unlink(slot);
	rmdir(dir);
}
END_TEST

/* A limiter that cannot be reopened in a new process is reported by
 * password_limiter_check (services_open then refuses to start the worker) instead of
 * failing every later hash with an internal error. In the child the run dir is gone, so
 * its own slot files cannot be opened. */
static void remove_limiter_dir(const char *dir)
{
	char path[96];

	for (int i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "%s/hash-slot-%d", dir, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s/hash-wait-%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

START_TEST(test_limiter_reopen_failure_is_reported)
{
	char dir[] = "/tmp/medrin-hash-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct config cfg = limiter_cfg(dir, 1);
	int lim = password_limiter_open(&cfg);

	ck_assert_int_ge(lim, 0);
	ck_assert_int_eq(password_limiter_check(lim), ERR_OK); /* ours already */
	ck_assert_int_eq(password_limiter_check(-1), ERR_OK);  /* no limiter: nothing to do */
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		remove_limiter_dir(dir);
		_exit(password_limiter_check(lim) == ERR_INTERNAL ? 0 : 1);
	}
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	password_limiter_close(lim);
	remove_limiter_dir(dir);
}
END_TEST

START_TEST(test_limiter_unusable_dir)
{
	struct config cfg = limiter_cfg("", 1);

	ck_assert_int_eq(password_limiter_open(&cfg), -1);
	cfg = limiter_cfg("/proc/medrin-cannot-create", 1);
	ck_assert_int_eq(password_limiter_open(&cfg), -1);
	password_limiter_close(-1);
}
END_TEST

Suite *password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("password");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hash_verify_round_trip);
	tcase_add_test(tc, test_phc_parameters);
	tcase_add_test(tc, test_needs_rehash);
	tcase_add_test(tc, test_verify_bad_stored_hash);
	tcase_add_test(tc, test_dummy_verify);
	tcase_add_loop_test(tc, test_policy_table, 0,
	                    (int)(sizeof(policy_cases) / sizeof(policy_cases[0])));
	tcase_add_test(tc, test_policy_bounds);
	tcase_add_test(tc, test_limiter_blocks_when_full);
	tcase_add_test(tc, test_limiter_inherited_by_child);
	tcase_add_test(tc, test_limiter_reopen_failure_is_reported);
	tcase_add_test(tc, test_limiter_unusable_dir);
	suite_add_tcase(s, tc);
	return s;
}
