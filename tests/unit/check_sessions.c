/* check_sessions.c - domain/sessions against a real Redis (MEDRIN_TEST_REDIS_URL, as in
 * check_otp.c; script/test starts a private one, and without it these tests say
 * "skipped", which script/test counts as a failure): the per-user cap, keyset pages,
 * cursors, the stored role (sessions_set_role, never the token's claim), the grace pair
 * as a record, and the conversion of a user_sess key left as a plain set. Every test
 * uses its own key prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "suites.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/record.h"
#include "domain/sessions.h"
#include "security/random.h"
#include "security/token.h"
#include "store/rds.h"

static struct config scfg;
static struct token_keys *skeys;
static char sprefix[96];
static int sprefix_n;

static void sess_setup(void)
{
	memset(&scfg, 0, sizeof(scfg));
	scfg.dev_mode = 1;
	scfg.jwt_algorithm = "HS256";
	scfg.jwt_secret_key = "unit-test-jwt-secret-key-of-at-least-32-bytes";
	scfg.jwt_issuer = "medrin-test";
	scfg.jwt_audience = "medrin-test-api";
	scfg.jwt_access_minutes = 30;
	scfg.jwt_refresh_days = 7;
	scfg.refresh_grace_seconds = 5;
	scfg.sessions_max = 20;
	skeys = NULL;
	ck_assert_int_eq(token_keys_load(&scfg, &skeys), ERR_OK);
}

static void sess_teardown(void)
{
	token_keys_free(skeys);
	skeys = NULL;
}

static struct rds *sess_open(void)
{
	const char *url = getenv("MEDRIN_TEST_REDIS_URL");
	struct rds *r;

	snprintf(sprefix, sizeof(sprefix), "medrin-unit-%ld-sessions-%d:", (long)getpid(),
	         ++sprefix_n);
	r = rds_new(url, sprefix, 2000);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(sessions_init(r), ERR_OK);
	return r;
}

/* Without MEDRIN_TEST_REDIS_URL these tests fail (a make check that ran none of them must
 * not pass), unless MEDRIN_TEST_NO_REDIS=1 opts out: then they return, saying so. */
#define SKIP_WITHOUT_REDIS()                                                                       \
	do {                                                                                       \
		if (getenv("MEDRIN_TEST_REDIS_URL") == NULL) {                                     \
			const char *no_ = getenv("MEDRIN_TEST_NO_REDIS");                          \
			ck_assert_msg(                                                             \
			    no_ != NULL && strcmp(no_, "1") == 0,                                  \
			    "MEDRIN_TEST_REDIS_URL is unset: this test needs a Redis "             \
			    "(script/test starts one); MEDRIN_TEST_NO_REDIS=1 skips it");          \
			fprintf(stderr, "sessions redis tests skipped: MEDRIN_TEST_NO_REDIS=1\n"); \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static redisReply *cmd(struct rds *r, struct arena *a, int argc, const char **argv)
{
	redisReply *rep = NULL;

	ck_assert_int_eq(rds_cmd(r, a, &rep, argc, argv, NULL), ERR_OK);
	ck_assert_ptr_nonnull(rep);
	return rep;
}

static long long cmd_int(struct rds *r, struct arena *a, const char *c, const char *key)
{
	const char *argv[] = {c, key};
	redisReply *rep = cmd(r, a, 2, argv);

	ck_assert_int_eq(rep->type, REDIS_REPLY_INTEGER);
	return rep->integer;
}

static const char *hget(struct rds *r, struct arena *a, const char *sid, const char *field)
{
	const char *argv[] = {"HGET", rds_key(r, a, "sess:%s", sid), field};
	redisReply *rep = cmd(r, a, 3, argv);

	return rep->type == REDIS_REPLY_STRING ? arena_strndup(a, rep->str, rep->len) : NULL;
}

static const char *key_type(struct rds *r, struct arena *a, const char *key)
{
	const char *argv[] = {"TYPE", key};
	redisReply *rep = cmd(r, a, 2, argv);

	return arena_strdup(a, rep->str);
}

/* A new session; *t gets its tokens. Returns the sid. */
static const char *login(struct rds *r, struct arena *a, const char *uid, const char *role,
                         struct session_tokens *t)
{
	struct session_tokens tmp;

	if (t == NULL)
		t = &tmp;
	ck_assert_int_eq(
	    sessions_create(r, &scfg, skeys, a, uid, role, "unit-test/1.0", "127.0.0.1", t),
	    ERR_OK);
	ck_assert_ptr_nonnull(t->sid);
	ck_assert_ptr_nonnull(t->access);
	return t->sid;
}

/* sessions_check on an access token; returns the error, *role the stored role. */
static int check_token(struct rds *r, struct arena *a, const char *access, const char **role)
{
	struct token_claims c;
	const char *cached = NULL;

	ck_assert_int_eq(token_verify(skeys, a, access, TOKEN_ACCESS, &c), ERR_OK);
	return sessions_check(r, a, c.sub, c.sid, c.jti, rds_key(r, a, "user:%s", c.sub), role,
	                      &cached);
}

static const char *claim_role(struct arena *a, const char *access)
{
	struct token_claims c;

	ck_assert_int_eq(token_verify(skeys, a, access, TOKEN_ACCESS, &c), ERR_OK);
	return c.role;
}

/* The ids of one list page, in order. */
static size_t page(struct rds *r, struct arena *a, const char *uid, const char *cursor, int limit,
                   const char **ids, size_t max, const char **next)
{
	struct session_info *v = NULL;
	size_t n = 0;

	ck_assert_int_eq(sessions_list(r, a, uid, cursor, limit, &v, &n, next), ERR_OK);
	ck_assert_uint_le(n, (size_t)limit);
	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i].id;
		ck_assert_str_eq(v[i].user_agent, "unit-test/1.0");
		ck_assert_str_eq(v[i].ip, "127.0.0.1");
		ck_assert_int_gt(v[i].created_at, 1600000000);
		ck_assert_int_ge(v[i].last_used_at, v[i].created_at);
	}
	return n;
}

/* The cap: with MEDRIN_SESSIONS_MAX = 3, the 4th and 5th logins revoke the two oldest
 * (their keys and tokens die, the set keeps 3); a stale member is dropped before the cap
 * counts, so it costs no live session its place. */
START_TEST(test_cap_revokes_oldest)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	const char *uid = "cap-user", *sids[6], *ids[10], *next = NULL, *role = NULL;
	struct session_tokens t[6];
	const char *zkey;

	scfg.sessions_max = 3;
	for (int i = 0; i < 5; i++)
		sids[i] = login(r, a, uid, "user", &t[i]);
	zkey = rds_key(r, a, "user_sess:%s", uid);
	ck_assert_str_eq(key_type(r, a, zkey), "zset");
	ck_assert_int_eq(cmd_int(r, a, "ZCARD", zkey), 3);
	ck_assert_int_eq(cmd_int(r, a, "EXISTS", rds_key(r, a, "sess:%s", sids[0])), 0);
	ck_assert_int_eq(cmd_int(r, a, "EXISTS", rds_key(r, a, "sess:%s", sids[1])), 0);
	ck_assert_int_eq(check_token(r, a, t[0].access, &role), ERR_UNAUTHORIZED);
	ck_assert_int_eq(check_token(r, a, t[1].access, &role), ERR_UNAUTHORIZED);
	ck_assert_int_eq(check_token(r, a, t[2].access, &role), ERR_OK);
	ck_assert_uint_eq(page(r, a, uid, NULL, 10, ids, 10, &next), 3);
	ck_assert_str_eq(ids[0], sids[4]);
	ck_assert_str_eq(ids[1], sids[3]);
	ck_assert_str_eq(ids[2], sids[2]);
	ck_assert_ptr_null(next);

	/* sids[2] expires (its hash is gone, the member stays): the next login drops the
	 * stale member and revokes nobody */
	const char *del[] = {"DEL", rds_key(r, a, "sess:%s", sids[2])};

	(void)cmd(r, a, 2, del);
	sids[5] = login(r, a, uid, "user", &t[5]);
	ck_assert_int_eq(cmd_int(r, a, "ZCARD", zkey), 3);
	ck_assert_int_eq(check_token(r, a, t[3].access, &role), ERR_OK);
	ck_assert_int_eq(check_token(r, a, t[4].access, &role), ERR_OK);
	ck_assert_int_eq(check_token(r, a, t[5].access, &role), ERR_OK);

	/* revoke-all deletes exactly the live ones */
	int count = -1;

	ck_assert_int_eq(sessions_revoke_all(r, a, uid, &count), ERR_OK);
	ck_assert_int_eq(count, 3);
	ck_assert_int_eq(cmd_int(r, a, "EXISTS", zkey), 0);
	ck_assert_int_eq(check_token(r, a, t[5].access, &role), ERR_UNAUTHORIZED);
	scfg.sessions_max = 20;
	rds_free(r);
	arena_free(a);
}
END_TEST

/* Pages of 1 and of 2: every session that existed when paging began comes exactly once,
 * newest first, although a new session is created (and a stale member appears) between
 * page fetches; the new ones never show up on later pages; the last page has no cursor. */
START_TEST(test_pages_keyset)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	enum { N = 7 };

	for (int limit = 1; limit <= 2; limit++) {
		const char *uid = limit == 1 ? "page-user-1" : "page-user-2";
		const char *orig[N], *fresh[N + 2], *ids[4], *seen[2 * N], *cursor = NULL;
		size_t nseen = 0, nfresh = 0;
		int pages = 0;

		for (int i = 0; i < N; i++)
			orig[i] = login(r, a, uid, "user", NULL);
		do {
			const char *next = NULL;
			size_t n = page(r, a, uid, cursor, limit, ids, 4, &next);

			ck_assert_uint_ge(n, 1);
			for (size_t i = 0; i < n; i++)
				seen[nseen++] = ids[i];
			cursor = next;
			pages++;
			/* traffic between two pages: a new sign-in every time */
			fresh[nfresh++] = login(r, a, uid, "user", NULL);
			ck_assert_int_le(pages, N);
		} while (cursor != NULL);
		ck_assert_int_eq(pages, (N + limit - 1) / limit);
		ck_assert_uint_eq(nseen, N);
		/* newest first: exactly the originals, in reverse creation order */
		for (int i = 0; i < N; i++)
			ck_assert_str_eq(seen[i], orig[N - 1 - i]);
		for (size_t i = 0; i < nseen; i++)
			for (size_t j = 0; j < nfresh; j++)
				ck_assert_str_ne(seen[i], fresh[j]);

		/* a fresh walk sees the new ones first, then the originals, once each */
		size_t total = 0;

		cursor = NULL;
		do {
			const char *next = NULL;
			size_t n = page(r, a, uid, cursor, limit, ids, 4, &next);

			for (size_t i = 0; i < n; i++, total++) {
				const char *want = total < nfresh ? fresh[nfresh - 1 - total]
				                                  : orig[N - 1 - (total - nfresh)];

				ck_assert_str_eq(ids[i], want);
			}
			cursor = next;
		} while (cursor != NULL);
		ck_assert_uint_eq(total, N + nfresh);
	}

	/* an expired session in the middle of a walk is skipped and dropped */
	const char *uid = "page-user-3", *s[4], *ids[4], *next = NULL;

	for (int i = 0; i < 4; i++)
		s[i] = login(r, a, uid, "user", NULL);
	ck_assert_uint_eq(page(r, a, uid, NULL, 1, ids, 4, &next), 1);
	ck_assert_str_eq(ids[0], s[3]);
	const char *del[] = {"DEL", rds_key(r, a, "sess:%s", s[2])};

	(void)cmd(r, a, 2, del);
	ck_assert_uint_eq(page(r, a, uid, next, 2, ids, 4, &next), 2);
	ck_assert_str_eq(ids[0], s[1]);
	ck_assert_str_eq(ids[1], s[0]);
	ck_assert_ptr_null(next);
	ck_assert_int_eq(cmd_int(r, a, "ZCARD", rds_key(r, a, "user_sess:%s", uid)), 3);
	rds_free(r);
	arena_free(a);
}
END_TEST

/* A cursor this list did not make, or a limit out of 1..100, is ERR_INVALID before Redis
 * is asked; a well-formed cursor past the end is simply an empty last page. */
START_TEST(test_bad_cursor)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	struct session_info *v = NULL;
	size_t n = 9;
	const char *next = "x";
	const char *hex = "0123456789abcdef0123456789abcdef";
	const char *bad[] = {
	    "",
	    "abc",
	    "123",
	    "_",
	    "123_",
	    "_0123456789abcdef0123456789abcdef",
	    "0123_0123456789abcdef0123456789abcdef",
	    "-1_0123456789abcdef0123456789abcdef",
	    "+1_0123456789abcdef0123456789abcdef",
	    "1 _0123456789abcdef0123456789abcdef",
	    "12345678901234567_0123456789abcdef0123456789abcdef",
	    "9999999999999999_0123456789abcdef0123456789abcdef", /* > 2^53 */
	    "1_0123456789ABCDEF0123456789abcdef",
	    "1_0123456789abcdef0123456789abcde",
	    "1_0123456789abcdef0123456789abcdef0",
	    "1_0123456789abcdef_123456789abcdef",
	    "1.5_0123456789abcdef0123456789abcdef",
	    "eyJjcmVhdGVkIjoxfQ",
	};

	login(r, a, "cursor-user", "user", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 9;
		next = "x";
		ck_assert_msg(sessions_list(r, a, "cursor-user", bad[i], 20, &v, &n, &next) ==
		                  ERR_INVALID,
		              "cursor \"%s\" was accepted", bad[i]);
		ck_assert_uint_eq(n, 0);
		ck_assert_ptr_null(next);
	}
	ck_assert_int_eq(sessions_list(r, a, "cursor-user", NULL, 0, &v, &n, &next), ERR_INVALID);
	ck_assert_int_eq(sessions_list(r, a, "cursor-user", NULL, 101, &v, &n, &next), ERR_INVALID);
	ck_assert_int_eq(sessions_list(r, a, "cursor-user", NULL, 100, &v, &n, &next), ERR_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(
	    sessions_list(r, a, "cursor-user", arena_printf(a, "1_%s", hex), 20, &v, &n, &next),
	    ERR_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(next);
	rds_free(r);
	arena_free(a);
}
END_TEST

/* sessions_set_role: the role sessions_check returns changes on the next check, for every
 * live session of that user and no one else's; a sign-in or refresh that read the old
 * role (from PostgreSQL, just before the change) signs and stores the new one. */
START_TEST(test_set_role)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	struct session_tokens t1, t2, other, late, rot;
	struct token_claims rc;
	enum session_rotation outcome;
	const char *role = NULL, *s2;

	login(r, a, "role-user", "user", &t1);
	s2 = login(r, a, "role-user", "user", &t2);
	login(r, a, "role-other", "user", &other);
	ck_assert_int_eq(check_token(r, a, t1.access, &role), ERR_OK);
	ck_assert_str_eq(role, "user");

	ck_assert_int_eq(sessions_set_role(r, a, "role-user", "staff"), ERR_OK);
	ck_assert_int_eq(check_token(r, a, t1.access, &role), ERR_OK);
	ck_assert_str_eq(role, "staff");
	ck_assert_int_eq(check_token(r, a, t2.access, &role), ERR_OK);
	ck_assert_str_eq(role, "staff");
	ck_assert_str_eq(hget(r, a, s2, "role"), "staff");
	ck_assert_int_eq(check_token(r, a, other.access, &role), ERR_OK);
	ck_assert_str_eq(role, "user");

	/* a login that read "user" before the change: the new role wins, claim and store */
	login(r, a, "role-user", "user", &late);
	ck_assert_str_eq(claim_role(a, late.access), "staff");
	ck_assert_int_eq(check_token(r, a, late.access, &role), ERR_OK);
	ck_assert_str_eq(role, "staff");
	/* likewise a refresh */
	ck_assert_int_eq(token_verify(skeys, a, t1.refresh, TOKEN_REFRESH, &rc), ERR_OK);
	ck_assert_int_eq(sessions_rotate(r, &scfg, skeys, a, &rc, "user", &rot, &outcome), ERR_OK);
	ck_assert_int_eq(outcome, SESSION_ROTATED);
	ck_assert_str_eq(claim_role(a, rot.access), "staff");
	ck_assert_int_eq(check_token(r, a, rot.access, &role), ERR_OK);
	ck_assert_str_eq(role, "staff");

	/* without a recent change, rotation stores the role it is given (PostgreSQL's) */
	const char *del[] = {"DEL", rds_key(r, a, "role_set:%s", "role-user")};

	(void)cmd(r, a, 2, del);
	ck_assert_int_eq(token_verify(skeys, a, t2.refresh, TOKEN_REFRESH, &rc), ERR_OK);
	ck_assert_int_eq(sessions_rotate(r, &scfg, skeys, a, &rc, "admin", &rot, &outcome), ERR_OK);
	ck_assert_int_eq(outcome, SESSION_ROTATED);
	ck_assert_str_eq(claim_role(a, rot.access), "admin");
	ck_assert_str_eq(hget(r, a, s2, "role"), "admin");
	ck_assert_int_eq(check_token(r, a, rot.access, &role), ERR_OK);
	ck_assert_str_eq(role, "admin");

	/* a stale member is dropped; a user with no session is fine; bad input refused */
	const char *del2[] = {"DEL", rds_key(r, a, "sess:%s", s2)};

	(void)cmd(r, a, 2, del2);
	ck_assert_int_eq(sessions_set_role(r, a, "role-user", "user"), ERR_OK);
	ck_assert_int_eq(cmd_int(r, a, "ZCARD", rds_key(r, a, "user_sess:%s", "role-user")), 2);
	ck_assert_int_eq(check_token(r, a, t1.access, &role), ERR_OK);
	ck_assert_str_eq(role, "user");
	ck_assert_int_eq(check_token(r, a, late.access, &role), ERR_OK);
	ck_assert_str_eq(role, "user");
	ck_assert_int_eq(sessions_set_role(r, a, "nobody", "staff"), ERR_OK);
	ck_assert_int_eq(sessions_set_role(r, a, "role-user", ""), ERR_INVALID);
	ck_assert_int_eq(sessions_set_role(r, a, "role-user", NULL), ERR_INVALID);

	/* a missing role field reads as "user" */
	const char *hdel[] = {"HDEL", rds_key(r, a, "sess:%s", late.sid), "role"};

	(void)cmd(r, a, 3, hdel);
	ck_assert_int_eq(check_token(r, a, late.access, &role), ERR_OK);
	ck_assert_str_eq(role, "user");
	rds_free(r);
	arena_free(a);
}
END_TEST

/* The role sessions_check returns is the stored one, not the token's claim: a validly
 * signed access token for a real session claiming "admin" still gets "user". */
START_TEST(test_claim_is_not_the_role)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	struct session_tokens t;
	const char *role = NULL;
	const char *sid = login(r, a, "claim-user", "user", &t);
	struct token_claims forged = {.typ = TOKEN_ACCESS,
	                              .sub = "claim-user",
	                              .jti = random_id(a),
	                              .sid = sid,
	                              .role = "admin"};
	char *tok = NULL;

	ck_assert_int_eq(token_issue(skeys, a, &forged, &tok), ERR_OK);
	ck_assert_str_eq(claim_role(a, tok), "admin");
	ck_assert_int_eq(check_token(r, a, tok, &role), ERR_OK);
	ck_assert_str_eq(role, "user");
	/* and the other way round: the stored role counts even when the claim is lower */
	const char *hset[] = {"HSET", rds_key(r, a, "sess:%s", sid), "role", "staff"};

	(void)cmd(r, a, 4, hset);
	ck_assert_str_eq(claim_role(a, t.access), "user");
	ck_assert_int_eq(check_token(r, a, t.access, &role), ERR_OK);
	ck_assert_str_eq(role, "staff");
	rds_free(r);
	arena_free(a);
}
END_TEST

/* The grace pair is stored as a base/record (not JSON) and a retry within the window gets
 * exactly the pair of the rotation back; a later reuse kills the session. */
START_TEST(test_grace_pair_record)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	struct session_tokens t, p1, p2;
	struct token_claims rc;
	struct record rec;
	enum session_rotation outcome;
	const char *sid = login(r, a, "grace-user", "user", &t);
	const char *stored;

	ck_assert_int_eq(token_verify(skeys, a, t.refresh, TOKEN_REFRESH, &rc), ERR_OK);
	ck_assert_int_eq(sessions_rotate(r, &scfg, skeys, a, &rc, "user", &p1, &outcome), ERR_OK);
	ck_assert_int_eq(outcome, SESSION_ROTATED);
	stored = hget(r, a, sid, "grace");
	ck_assert_ptr_nonnull(stored);
	ck_assert_int_ne(stored[0], '{');
	ck_assert_int_eq(record_decode(a, stored, strlen(stored), &rec), ERR_OK);
	ck_assert_str_eq(record_get(&rec, "access_token"), p1.access);
	ck_assert_str_eq(record_get(&rec, "refresh_token"), p1.refresh);

	ck_assert_int_eq(sessions_rotate(r, &scfg, skeys, a, &rc, "user", &p2, &outcome), ERR_OK);
	ck_assert_int_eq(outcome, SESSION_GRACE);
	ck_assert_str_eq(p2.access, p1.access);
	ck_assert_str_eq(p2.refresh, p1.refresh);
	ck_assert_str_eq(p2.sid, sid);
	ck_assert_int_eq(p2.expires_in, 30 * 60);

	/* an unreadable stored pair is an internal error, never a reuse */
	const char *hset[] = {"HSET", rds_key(r, a, "sess:%s", sid), "grace", "junk"};

	(void)cmd(r, a, 4, hset);
	ck_assert_int_eq(sessions_rotate(r, &scfg, skeys, a, &rc, "user", &p2, &outcome),
	                 ERR_INTERNAL);
	ck_assert_int_eq(cmd_int(r, a, "EXISTS", rds_key(r, a, "sess:%s", sid)), 1);

	/* outside the window the old token is a reuse: the session dies */
	const char *hset2[] = {"HSET", rds_key(r, a, "sess:%s", sid), "prev_until", "1"};

	(void)cmd(r, a, 4, hset2);
	ck_assert_int_eq(sessions_rotate(r, &scfg, skeys, a, &rc, "user", &p2, &outcome), ERR_OK);
	ck_assert_int_eq(outcome, SESSION_REUSED);
	ck_assert_int_eq(cmd_int(r, a, "EXISTS", rds_key(r, a, "sess:%s", sid)), 0);
	ck_assert_int_eq(cmd_int(r, a, "ZCARD", rds_key(r, a, "user_sess:%s", "grace-user")), 0);
	rds_free(r);
	arena_free(a);
}
END_TEST

/* A user_sess key written by the old code (a plain set) is converted in place the first
 * time it is listed: ordered by created_at, stale members dropped, TTL kept; revoke and
 * revoke-all work on either type. */
START_TEST(test_plain_set_migrates)
{
	SKIP_WITHOUT_REDIS();
	struct rds *r = sess_open();
	struct arena *a = arena_new(0);
	const char *uid = "legacy-user", *ids[8], *next = NULL;
	const char *sid[3] = {random_id(a), random_id(a), random_id(a)};
	const char *zkey = rds_key(r, a, "user_sess:%s", uid);
	const char *created[3] = {"1700000300", "1700000100", "1700000200"};

	for (int i = 0; i < 3; i++) {
		const char *hs[] = {"HSET",         rds_key(r, a, "sess:%s", sid[i]),
		                    "user_id",      uid,
		                    "role",         "user",
		                    "created_at",   created[i],
		                    "last_used_at", created[i],
		                    "user_agent",   "unit-test/1.0",
		                    "ip",           "127.0.0.1"};
		const char *sa[] = {"SADD", zkey, sid[i]};

		(void)cmd(r, a, (int)(sizeof(hs) / sizeof(hs[0])), hs);
		(void)cmd(r, a, 3, sa);
	}
	const char *stale[] = {"SADD", zkey, random_id(a)};
	const char *ex[] = {"EXPIRE", zkey, "5000"};

	(void)cmd(r, a, 3, stale);
	(void)cmd(r, a, 3, ex);
	/* revoke on the plain set */
	ck_assert_int_eq(sessions_revoke(r, a, uid, sid[2], NULL, 0), ERR_OK);
	ck_assert_str_eq(key_type(r, a, zkey), "set");
	ck_assert_int_eq(cmd_int(r, a, "SCARD", zkey), 3);

	ck_assert_uint_eq(page(r, a, uid, NULL, 20, ids, 8, &next), 2);
	ck_assert_str_eq(ids[0], sid[0]);
	ck_assert_str_eq(ids[1], sid[1]);
	ck_assert_str_eq(key_type(r, a, zkey), "zset");
	ck_assert_int_eq(cmd_int(r, a, "ZCARD", zkey), 2);
	ck_assert_int_gt(cmd_int(r, a, "TTL", zkey), 4000);
	ck_assert_int_le(cmd_int(r, a, "TTL", zkey), 5000);
	/* new sessions come after the converted ones */
	const char *fresh = login(r, a, uid, "user", NULL);

	ck_assert_uint_eq(page(r, a, uid, NULL, 20, ids, 8, &next), 3);
	ck_assert_str_eq(ids[0], fresh);
	ck_assert_str_eq(ids[2], sid[1]);

	/* revoke-all on a plain set too */
	const char *uid2 = "legacy-user-2", *zkey2 = rds_key(r, a, "user_sess:%s", uid2);
	const char *s2 = random_id(a);
	const char *hs2[] = {
	    "HSET", rds_key(r, a, "sess:%s", s2), "user_id", uid2, "created_at", "1700000000"};
	const char *sa2[] = {"SADD", zkey2, s2};
	int count = -1;

	(void)cmd(r, a, (int)(sizeof(hs2) / sizeof(hs2[0])), hs2);
	(void)cmd(r, a, 3, sa2);
	ck_assert_int_eq(sessions_revoke_all(r, a, uid2, &count), ERR_OK);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(cmd_int(r, a, "EXISTS", rds_key(r, a, "sess:%s", s2)), 0);
	rds_free(r);
	arena_free(a);
}
END_TEST

/* Redis down: every call reports ERR_UNAVAILABLE (callers fail closed). */
START_TEST(test_unavailable)
{
	struct rds *r = rds_new("unix:///nonexistent/medrin-unit-redis.sock", "medrin-unit:", 200);
	struct arena *a = arena_new(0);
	struct session_info *v = NULL;
	struct session_tokens t;
	size_t n = 0;
	const char *role = NULL, *cached = NULL, *next = NULL;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(sessions_init(r), ERR_OK);
	ck_assert_int_eq(sessions_set_role(r, a, "u", "staff"), ERR_UNAVAILABLE);
	ck_assert_int_eq(sessions_check(r, a, "u", "s", "j", "user:u", &role, &cached),
	                 ERR_UNAVAILABLE);
	ck_assert_int_eq(sessions_list(r, a, "u", NULL, 20, &v, &n, &next), ERR_UNAVAILABLE);
	ck_assert_int_eq(sessions_create(r, &scfg, skeys, a, "u", "user", NULL, NULL, &t),
	                 ERR_UNAVAILABLE);
	rds_free(r);
	arena_free(a);
}
END_TEST

Suite *sessions_suite(void)
{
	Suite *s = suite_create("sessions");
	TCase *tc = tcase_create("sessions_redis");

	tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cap_revokes_oldest);
	tcase_add_test(tc, test_pages_keyset);
	tcase_add_test(tc, test_bad_cursor);
	tcase_add_test(tc, test_set_role);
	tcase_add_test(tc, test_claim_is_not_the_role);
	tcase_add_test(tc, test_grace_pair_record);
	tcase_add_test(tc, test_plain_set_migrates);
	tcase_add_test(tc, test_unavailable);
	suite_add_tcase(s, tc);
	return s;
}
