/* throttle.c - see throttle.h. */
#include "security/throttle.h"

#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/log.h"
#include "store/rds.h"

/* clang-format off */
/* gate: KEYS wait_ip, wait_acct, known; ARGV ip.
 * -> {'ok', now s, now us} | {'wait', ms, now s, now us} */
static const char LUA_GATE[] =
	"local now = redis.call('TIME')\n"
	"local t = redis.call('PTTL', KEYS[1])\n"
	"if t > 0 then return {'wait', t, now[1], now[2]} end\n"
	"if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then\n"
	"  t = redis.call('PTTL', KEYS[2])\n"
	"  if t > 0 then return {'wait', t, now[1], now[2]} end\n"
	"end\n"
	"return {'ok', now[1], now[2]}\n";

/* fail: KEYS fail_ip, fail_acct, wait_ip, wait_acct; ARGV window, ip free, account free,
 * max delay. -> {failures from ip, failures of the account} */
static const char LUA_FAIL[] =
	"local function delay(n, free, cap)\n"
	"  if n < free then return 0 end\n"
	"  local d = 1\n"
	"  for _ = 1, n - free do d = d * 2; if d >= cap then return cap end end\n"
	"  return d\n"
	"end\n"
	"local cap = tonumber(ARGV[4])\n"
	"local ni = redis.call('INCR', KEYS[1])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
	"local na = redis.call('INCR', KEYS[2])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
	"local di = delay(ni, tonumber(ARGV[2]), cap)\n"
	"if di > 0 then redis.call('SET', KEYS[3], '1', 'EX', di) end\n"
	"local da = delay(na, tonumber(ARGV[3]), cap)\n"
	"if da > 0 then redis.call('SET', KEYS[4], '1', 'EX', da) end\n"
	"return {ni, na}\n";

/* ok: KEYS fail_ip, fail_acct, wait_ip, wait_acct, known; ARGV ip, known ttl, known max. */
static const char LUA_OK[] =
	"redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])\n"
	"if ARGV[1] ~= '' then\n"
	"  redis.call('SADD', KEYS[5], ARGV[1])\n"
	"  while redis.call('SCARD', KEYS[5]) > tonumber(ARGV[3]) do\n"
	"    local m = redis.call('SRANDMEMBER', KEYS[5])\n"
	"    if m == ARGV[1] then break end\n"
	"    redis.call('SREM', KEYS[5], m)\n"
	"  end\n"
	"  redis.call('EXPIRE', KEYS[5], ARGV[2])\n"
	"end\n"
	"return {'ok'}\n";

/* mail: KEYS mail_ip; ARGV limit, window. -> {'ok'} | {'blocked', ttl} */
static const char LUA_MAIL[] =
	"local n = redis.call('INCR', KEYS[1])\n"
	"if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
	"if n > tonumber(ARGV[1]) then\n"
	"  local t = redis.call('TTL', KEYS[1])\n"
	"  if t < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]); t = tonumber(ARGV[2]) end\n"
	"  return {'blocked', t}\n"
	"end\n"
	"return {'ok'}\n";
/* clang-format on */

static int s_gate = -1, s_fail = -1, s_ok = -1, s_mail = -1;

int throttle_init(struct rds *r)
{
	s_gate = rds_script(r, LUA_GATE);
	s_fail = rds_script(r, LUA_FAIL);
	s_ok = rds_script(r, LUA_OK);
	s_mail = rds_script(r, LUA_MAIL);
	if (s_gate < 0 || s_fail < 0 || s_ok < 0 || s_mail < 0)
		return ERR_INVALID;
	return ERR_OK;
}

struct tkeys {
	const char *fail_ip, *fail_acct, *wait_ip, *wait_acct, *known;
};

static void make_keys(struct rds *r, struct arena *a, const char *email, const char *ip,
                      struct tkeys *k)
{
	if (ip == NULL)
		ip = "";
	k->fail_ip = rds_key(r, a, "login_fail:%s:%s", email, ip);
	k->fail_acct = rds_key(r, a, "login_fail:%s", email);
	k->wait_ip = rds_key(r, a, "login_wait:%s:%s", email, ip);
	k->wait_acct = rds_key(r, a, "login_wait:%s", email);
	k->known = rds_key(r, a, "login_known:%s", email);
}

static int run(struct rds *r, struct arena *a, int script, redisReply **rep, int nkeys,
               const char **keys, int nargs, const char **args)
{
	int rc;

	if (script < 0) {
		log_error("throttle: throttle_init was not called");
		return ERR_INTERNAL;
	}
	rc = rds_eval(r, a, script, rep, nkeys, keys, nargs, args);
	if (rc != ERR_OK)
		return rc;
	if (*rep == NULL || (*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements < 1) {
		log_error("throttle: unexpected script reply");
		return ERR_INTERNAL;
	}
	return ERR_OK;
}

static int is_word(const redisReply *e, const char *w)
{
	return (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
	       e->len == strlen(w) && memcmp(e->str, w, e->len) == 0;
}

/* Element i of rep as a number (TIME answers strings). */
static long long elem_num(const redisReply *rep, size_t i)
{
	const redisReply *e;

	if (i >= rep->elements)
		return 0;
	e = rep->element[i];
	if (e->type == REDIS_REPLY_INTEGER)
		return e->integer;
	if (e->type == REDIS_REPLY_STRING && e->str != NULL)
		return strtoll(e->str, NULL, 10);
	return 0;
}

int throttle_login_gate(struct rds *r, struct arena *a, const char *email, const char *ip,
                        int64_t *retry_after, int64_t *now_us)
{
	struct tkeys k;
	redisReply *rep = NULL;
	int rc;

	*retry_after = 0;
	*now_us = 0;
	make_keys(r, a, email, ip, &k);
	const char *keys[3] = {k.wait_ip, k.wait_acct, k.known};
	const char *args[1] = {ip != NULL ? ip : ""};

	rc = run(r, a, s_gate, &rep, 3, keys, 1, args);
	if (rc != ERR_OK)
		return rc;
	if (is_word(rep->element[0], "wait")) {
		long long ms = elem_num(rep, 1);

		*now_us = elem_num(rep, 2) * 1000000 + elem_num(rep, 3);
		*retry_after = (ms + 999) / 1000;
		if (*retry_after < 1)
			*retry_after = 1;
		return ERR_LIMITED;
	}
	*now_us = elem_num(rep, 1) * 1000000 + elem_num(rep, 2);
	return ERR_OK;
}

int throttle_login_failed(struct rds *r, struct arena *a, const char *email, const char *ip)
{
	struct tkeys k;
	redisReply *rep = NULL;

	make_keys(r, a, email, ip, &k);
	const char *keys[4] = {k.fail_ip, k.fail_acct, k.wait_ip, k.wait_acct};
	const char *args[4] = {arena_printf(a, "%d", THROTTLE_WINDOW),
	                       arena_printf(a, "%d", THROTTLE_IP_FREE),
	                       arena_printf(a, "%d", THROTTLE_ACCOUNT_FREE),
	                       arena_printf(a, "%d", THROTTLE_MAX_DELAY)};

	return run(r, a, s_fail, &rep, 4, keys, 4, args);
}

int throttle_login_ok(struct rds *r, struct arena *a, const char *email, const char *ip)
{
	struct tkeys k;
	redisReply *rep = NULL;

	make_keys(r, a, email, ip, &k);
	const char *keys[5] = {k.fail_ip, k.fail_acct, k.wait_ip, k.wait_acct, k.known};
	const char *args[3] = {ip != NULL ? ip : "",
	                       arena_printf(a, "%d", THROTTLE_KNOWN_DAYS * 86400),
	                       arena_printf(a, "%d", THROTTLE_KNOWN_MAX)};

	return run(r, a, s_ok, &rep, 5, keys, 3, args);
}

int throttle_mail(struct rds *r, struct arena *a, const char *ip, int per_hour,
                  int64_t *retry_after)
{
	redisReply *rep = NULL;
	int rc;

	*retry_after = 0;
	if (ip == NULL || *ip == '\0')
		return ERR_OK;
	const char *keys[1] = {rds_key(r, a, "mail_ip:%s", ip)};
	const char *args[2] = {arena_printf(a, "%d", per_hour > 0 ? per_hour : 30),
	                       arena_printf(a, "%d", THROTTLE_MAIL_WINDOW)};

	rc = run(r, a, s_mail, &rep, 1, keys, 2, args);
	if (rc != ERR_OK)
		return rc;
	if (is_word(rep->element[0], "blocked")) {
		*retry_after = rep->elements > 1 && rep->element[1]->type == REDIS_REPLY_INTEGER
		                   ? rep->element[1]->integer
		                   : THROTTLE_MAIL_WINDOW;
		if (*retry_after < 1)
			*retry_after = 1;
		return ERR_LIMITED;
	}
	return ERR_OK;
}
