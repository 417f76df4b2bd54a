/* otp.c - the unified OTP system; see otp.h and docs/internals/security.md.
 *
 * Every counter, block and code changes only inside one of the Lua scripts below, and a
 * Redis script runs atomically: no other command (from any worker on any host) runs
 * between its first and last call. That is what makes the limits exact under
 * concurrency. The secret comparison itself is done in C, in constant time.
 */
#include "security/otp.h"

#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "security/random.h"
#include "store/rds.h"

#define OTP_MAX_REQUESTS 3
#define OTP_REQUEST_WINDOW 86400
#define OTP_MAX_WRONG 5
#define OTP_WRONG_WINDOW 3600
#define OTP_WRONG_BLOCK 1800
#define OTP_DEFAULT_EXPIRY 300

/* clang-format off */
/* issue: KEYS blocked, limit, otp; ARGV hash ('' counts without touching the code),
 * expiry, block, max requests, window.
 * -> {"blocked", ttl} | {"ok", requests left} */
static const char LUA_ISSUE[] =
	"local ttl = redis.call('TTL', KEYS[1])\n"
	"if ttl ~= -2 then\n"
	"  if ttl < 0 then ttl = tonumber(ARGV[3]) end\n"
	"  return {'blocked', ttl}\n"
	"end\n"
	"local n = redis.call('INCR', KEYS[2])\n"
	"if n == 1 then redis.call('EXPIRE', KEYS[2], ARGV[5]) end\n"
	"if n > tonumber(ARGV[4]) then\n"
	"  redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])\n"
	"  return {'blocked', tonumber(ARGV[3])}\n"
	"end\n"
	"if ARGV[1] ~= '' then redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2]) end\n"
	"return {'ok', tonumber(ARGV[4]) - n}\n";

/* check: KEYS blocked, otp, wrong. -> {blocked ttl (-2: none), stored hash or nil,
 * wrong count} */
static const char LUA_CHECK[] =
	"return {redis.call('TTL', KEYS[1]), redis.call('GET', KEYS[2]),\n"
	"        tonumber(redis.call('GET', KEYS[3]) or '0')}\n";

/* wrong: KEYS wrong, blocked, otp; ARGV max wrong, window, block.
 * Every wrong attempt is counted, blocked or not, so N concurrent wrong codes count N.
 * The 5th starts a 30-minute block (never shortening a longer one) and kills the code;
 * once over the limit, a wrong attempt while no block is active starts a new one.
 * -> {"blocked", ttl} | {"wrong", wrong codes left} */
static const char LUA_WRONG[] =
	"local n = redis.call('INCR', KEYS[1])\n"
	"if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
	"local max, block = tonumber(ARGV[1]), tonumber(ARGV[3])\n"
	"local ttl = redis.call('TTL', KEYS[2])\n"
	"if n >= max then\n"
	"  if ttl == -2 or ttl == -1 or (n == max and ttl < block) then\n"
	"    redis.call('SET', KEYS[2], '1', 'EX', block)\n"
	"    ttl = block\n"
	"  end\n"
	"  redis.call('DEL', KEYS[3])\n"
	"  return {'blocked', ttl}\n"
	"end\n"
	"if ttl ~= -2 then\n"
	"  if ttl < 0 then ttl = block end\n"
	"  return {'blocked', ttl}\n"
	"end\n"
	"return {'wrong', max - n}\n";

/* consume: KEYS blocked, otp, limit, wrong; ARGV hash, max wrong.
 * The compare-and-delete that makes a code single-use (the secret comparison already
 * happened in C). -> {"blocked", ttl} | {"ok"} | {"mismatch", wrong codes left} */
static const char LUA_CONSUME[] =
	"local ttl = redis.call('TTL', KEYS[1])\n"
	"if ttl ~= -2 then return {'blocked', ttl} end\n"
	"if redis.call('GET', KEYS[2]) == ARGV[1] then\n"
	"  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[1])\n"
	"  return {'ok'}\n"
	"end\n"
	"return {'mismatch', tonumber(ARGV[2]) - tonumber(redis.call('GET', KEYS[4]) or '0')}\n";

/* allowed: KEYS blocked, limit; ARGV block, max requests.
 * -> {"blocked", ttl} | {"ok", requests left}. A request over the limit counts like the
 * one issue would refuse: it starts the block (no code is made here). */
static const char LUA_ALLOWED[] =
	"local ttl = redis.call('TTL', KEYS[1])\n"
	"if ttl ~= -2 then\n"
	"  if ttl < 0 then ttl = tonumber(ARGV[1]) end\n"
	"  return {'blocked', ttl}\n"
	"end\n"
	"local n = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if n >= tonumber(ARGV[2]) then\n"
	"  redis.call('INCR', KEYS[2])\n"
	"  redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])\n"
	"  return {'blocked', tonumber(ARGV[1])}\n"
	"end\n"
	"return {'ok', tonumber(ARGV[2]) - n}\n";

/* refund: KEYS otp, limit; ARGV hash.
 * Undoes one otp_issue whose mail could not be queued: the code goes (only if it is
 * still the one that issue stored) and the request is not counted. -> {1} */
static const char LUA_REFUND[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
	"local n = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if n > 0 then redis.call('DECR', KEYS[2]) end\n"
	"return {1}\n";

/* peek: KEYS blocked, limit, wrong; ARGV max requests, max wrong.
 * -> {"blocked", ttl} | {"ok", requests left, wrong codes left}; writes nothing. */
static const char LUA_PEEK[] =
	"local ttl = redis.call('TTL', KEYS[1])\n"
	"if ttl ~= -2 then\n"
	"  if ttl < 0 then ttl = 1 end\n"
	"  return {'blocked', ttl}\n"
	"end\n"
	"return {'ok', tonumber(ARGV[1]) - tonumber(redis.call('GET', KEYS[2]) or '0'),\n"
	"  tonumber(ARGV[2]) - tonumber(redis.call('GET', KEYS[3]) or '0')}\n";

/* clang-format on */

static int script_peek = -1;
static int script_issue = -1, script_check = -1, script_wrong = -1, script_consume = -1,
           script_allowed = -1, script_refund = -1;

int otp_module_parse(const char *name, enum otp_module *out)
{
	if (name == NULL)
		return ERR_INVALID;
	if (strcmp(name, "register") == 0)
		*out = OTP_MODULE_REGISTER;
	else if (strcmp(name, "login") == 0)
		*out = OTP_MODULE_LOGIN;
	else if (strcmp(name, "forgetpassword") == 0)
		*out = OTP_MODULE_FORGETPASSWORD;
	else
		return ERR_INVALID;
	return ERR_OK;
}

const char *otp_module_name(enum otp_module m)
{
	switch (m) {
	case OTP_MODULE_REGISTER: return "register";
	case OTP_MODULE_LOGIN: return "login";
	case OTP_MODULE_FORGETPASSWORD: return "forgetpassword";
	}
	return "register";
}

int otp_block_seconds(enum otp_module m)
{
	return m == OTP_MODULE_REGISTER ? 1200 : 86400;
}

int otp_init(struct rds *r)
{
	script_issue = rds_script(r, LUA_ISSUE);
	script_check = rds_script(r, LUA_CHECK);
	script_wrong = rds_script(r, LUA_WRONG);
	script_consume = rds_script(r, LUA_CONSUME);
	script_allowed = rds_script(r, LUA_ALLOWED);
	script_refund = rds_script(r, LUA_REFUND);
	script_peek = rds_script(r, LUA_PEEK);
	if (script_peek < 0)
		return ERR_INVALID;
	if (script_issue < 0 || script_check < 0 || script_wrong < 0 || script_consume < 0 ||
	    script_allowed < 0 || script_refund < 0)
		return ERR_INVALID;
	return ERR_OK;
}

int otp_code_valid(const char *code)
{
	if (code == NULL)
		return 0;
	for (int i = 0; i < 6; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[6] == '\0';
}

char *otp_hash(const struct config *cfg, struct arena *a, enum otp_module m, const char *email,
               const char *code)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	const char *key = cfg->secret_key != NULL ? cfg->secret_key : "";
	const char *mod = otp_module_name(m);
	size_t mlen = strlen(mod), elen = strlen(email), clen = strlen(code);
	size_t n = mlen + 1 + elen + 1 + clen;
	unsigned char *msg = arena_alloc_secret(a, n + 1);

	memcpy(msg, mod, mlen);
	msg[mlen] = '|';
	memcpy(msg + mlen + 1, email, elen);
	msg[mlen + 1 + elen] = '|';
	memcpy(msg + mlen + 2 + elen, code, clen);
	if (HMAC(EVP_sha256(), key, (int)strlen(key), msg, n, mac, &maclen) == NULL) {
		log_error("otp_hash: HMAC failed");
		abort();
	}
	return random_hex(a, mac, maclen);
}

/* ---- Redis plumbing ---- */

struct keys {
	const char *otp, *limit, *blocked, *wrong;
};

static void make_keys(struct rds *r, struct arena *a, enum otp_module m, const char *email,
                      struct keys *k)
{
	const char *mod = otp_module_name(m);

	k->otp = rds_key(r, a, "otp:%s:%s", mod, email);
	k->limit = rds_key(r, a, "otp_limit:%s:%s", mod, email);
	k->blocked = rds_key(r, a, "blocked_user:%s:%s", mod, email);
	k->wrong = rds_key(r, a, "wrong_otp_attempts:%s:%s", email, mod);
}

static int eval(struct rds *r, struct arena *a, int script, redisReply **out, int nkeys,
                const char **keys, int nargs, const char **args)
{
	int rc;

	if (script < 0) {
		log_error("otp: otp_init was not called");
		return ERR_INTERNAL;
	}
	rc = rds_eval(r, a, script, out, nkeys, keys, nargs, args);
	if (rc != ERR_OK)
		return rc;
	if (*out == NULL || (*out)->type != REDIS_REPLY_ARRAY || (*out)->elements < 1) {
		log_error("otp: unexpected script reply");
		return ERR_INTERNAL;
	}
	return ERR_OK;
}

/* Element i of an array reply as an integer (0 when absent or not an integer). */
static long long elem_int(const redisReply *rep, size_t i)
{
	if (i >= rep->elements || rep->element[i]->type != REDIS_REPLY_INTEGER)
		return 0;
	return rep->element[i]->integer;
}

/* 1 when element i is the status word w (scripts return Lua strings: bulk replies). */
static int elem_is(const redisReply *rep, size_t i, const char *w)
{
	const redisReply *e;

	if (i >= rep->elements)
		return 0;
	e = rep->element[i];
	if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS)
		return 0;
	return strlen(w) == e->len && memcmp(e->str, w, e->len) == 0;
}

static int clamp_remaining(long long n)
{
	return n < 0 ? 0 : (int)n;
}

/* request_reply reads {"ok", requests left} | {"blocked", ttl} from the issue and
 * allowed scripts. */
static int request_reply(const redisReply *rep, struct otp_result *res)
{
	if (elem_is(rep, 0, "ok")) {
		res->attempts_remaining = clamp_remaining(elem_int(rep, 1));
		return ERR_OK;
	}
	if (elem_is(rep, 0, "blocked")) {
		res->retry_after = elem_int(rep, 1);
		return ERR_LIMITED;
	}
	return ERR_INTERNAL;
}

static int issue(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
                 const char *email, char **code, int store, struct otp_result *res)
{
	struct keys k;
	redisReply *rep = NULL;
	char *c = random_otp_code(a);
	int expiry = cfg->otp_expiry_seconds > 0 ? cfg->otp_expiry_seconds : OTP_DEFAULT_EXPIRY;
	const char *args[5];
	int rc;

	*code = NULL;
	res->attempts_remaining = 0;
	res->retry_after = 0;
	make_keys(r, a, m, email, &k);
	const char *keys[3] = {k.blocked, k.limit, k.otp};

	args[0] = store ? otp_hash(cfg, a, m, email, c) : "";
	args[1] = arena_printf(a, "%d", expiry);
	args[2] = arena_printf(a, "%d", otp_block_seconds(m));
	args[3] = arena_printf(a, "%d", OTP_MAX_REQUESTS);
	args[4] = arena_printf(a, "%d", OTP_REQUEST_WINDOW);
	rc = eval(r, a, script_issue, &rep, 3, keys, 5, args);
	if (rc == ERR_OK)
		rc = request_reply(rep, res);
	if (rc == ERR_OK && store)
		*code = c;
	return rc;
}

int otp_issue(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
              const char *email, char **code, struct otp_result *res)
{
	return issue(r, cfg, a, m, email, code, 1, res);
}

int otp_count(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
              const char *email, struct otp_result *res)
{
	char *unused = NULL;

	return issue(r, cfg, a, m, email, &unused, 0, res);
}

int otp_check_allowed(struct rds *r, struct arena *a, enum otp_module m, const char *email,
                      struct otp_result *res)
{
	struct keys k;
	redisReply *rep = NULL;
	int rc;

	res->attempts_remaining = 0;
	res->retry_after = 0;
	make_keys(r, a, m, email, &k);
	const char *keys[2] = {k.blocked, k.limit};
	const char *args[2] = {arena_printf(a, "%d", otp_block_seconds(m)),
	                       arena_printf(a, "%d", OTP_MAX_REQUESTS)};

	rc = eval(r, a, script_allowed, &rep, 2, keys, 2, args);
	if (rc == ERR_OK)
		rc = request_reply(rep, res);
	return rc;
}

int otp_peek(struct rds *r, struct arena *a, enum otp_module m, const char *email,
             struct otp_result *res, int *wrong_left)
{
	struct keys k;
	redisReply *rep = NULL;
	int rc;

	res->attempts_remaining = 0;
	res->retry_after = 0;
	*wrong_left = 0;
	make_keys(r, a, m, email, &k);
	const char *keys[3] = {k.blocked, k.limit, k.wrong};
	const char *args[2] = {arena_printf(a, "%d", OTP_MAX_REQUESTS),
	                       arena_printf(a, "%d", OTP_MAX_WRONG)};

	rc = eval(r, a, script_peek, &rep, 3, keys, 2, args);
	if (rc != ERR_OK)
		return rc;
	rc = request_reply(rep, res);
	if (rc == ERR_OK)
		*wrong_left = clamp_remaining(elem_int(rep, 2));
	return rc;
}

int otp_refund(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
               const char *email, const char *code)
{
	struct keys k;

	make_keys(r, a, m, email, &k);
	const char *keys[2] = {k.otp, k.limit};
	const char *args[1] = {otp_hash(cfg, a, m, email, code)};
	redisReply *rep = NULL;

	return eval(r, a, script_refund, &rep, 2, keys, 1, args);
}

int otp_discard(struct rds *r, struct arena *a, enum otp_module m, const char *email)
{
	struct keys k;

	make_keys(r, a, m, email, &k);
	const char *argv[2] = {"DEL", k.otp};

	return rds_cmd(r, a, NULL, 2, argv, NULL);
}

int otp_verify(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
               const char *email, const char *code, int consume, struct otp_result *res)
{
	struct keys k;
	redisReply *rep = NULL;
	const char *want = NULL;
	int match = 0;
	int rc;

	res->attempts_remaining = 0;
	res->retry_after = 0;
	make_keys(r, a, m, email, &k);

	const char *ckeys[3] = {k.blocked, k.otp, k.wrong};

	rc = eval(r, a, script_check, &rep, 3, ckeys, 0, NULL);
	if (rc != ERR_OK)
		goto out;
	long long bttl = elem_int(rep, 0);
	const redisReply *stored = rep->elements > 1 ? rep->element[1] : NULL;

	if (stored != NULL && stored->type == REDIS_REPLY_STRING && otp_code_valid(code)) {
		want = otp_hash(cfg, a, m, email, code);
		match = util_ct_equal(stored->str, stored->len, want, strlen(want));
	}
	if (match && bttl != -2) {
		/* a blocked module refuses even the correct code */
		res->retry_after = bttl > 0 ? bttl : OTP_WRONG_BLOCK;
		rc = ERR_LIMITED;
		goto out;
	}
	if (!match) {
		/* wrong, malformed or expired: each one is counted, atomically */
		const char *wkeys[3] = {k.wrong, k.blocked, k.otp};
		const char *wargs[3] = {arena_printf(a, "%d", OTP_MAX_WRONG),
		                        arena_printf(a, "%d", OTP_WRONG_WINDOW),
		                        arena_printf(a, "%d", OTP_WRONG_BLOCK)};

		rc = eval(r, a, script_wrong, &rep, 3, wkeys, 3, wargs);
		if (rc != ERR_OK)
			goto out;
		if (elem_is(rep, 0, "wrong")) {
			res->attempts_remaining = clamp_remaining(elem_int(rep, 1));
			rc = ERR_INVALID;
		} else if (elem_is(rep, 0, "blocked")) {
			res->retry_after = elem_int(rep, 1);
			rc = ERR_LIMITED;
		} else {
			rc = ERR_INTERNAL;
		}
		goto out;
	}
	if (!consume) {
		res->attempts_remaining = clamp_remaining(OTP_MAX_WRONG - elem_int(rep, 2));
		goto out;
	}
	const char *skeys[4] = {k.blocked, k.otp, k.limit, k.wrong};
	const char *sargs[2] = {want, arena_printf(a, "%d", OTP_MAX_WRONG)};

	rc = eval(r, a, script_consume, &rep, 4, skeys, 2, sargs);
	if (rc != ERR_OK)
		goto out;
	if (elem_is(rep, 0, "ok")) {
		res->attempts_remaining = OTP_MAX_WRONG;
	} else if (elem_is(rep, 0, "blocked")) {
		res->retry_after = elem_int(rep, 1) > 0 ? elem_int(rep, 1) : OTP_WRONG_BLOCK;
		rc = ERR_LIMITED;
	} else if (elem_is(rep, 0, "mismatch")) {
		/* spent by a concurrent request between check and consume */
		res->attempts_remaining = clamp_remaining(elem_int(rep, 1));
		rc = ERR_INVALID;
	} else {
		rc = ERR_INTERNAL;
	}
out:
	return rc;
}
