/* sessions.c - sessions, refresh rotation and the blocklist in Redis; see sessions.h.
 *
 * Every state change is one Lua script, so two workers (or two hosts) racing on the same
 * session see one order of events: a refresh token is spent exactly once, and a reuse
 * and a rotation cannot both win.
 */
#include "domain/sessions.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "security/random.h"
#include "security/token.h"
#include "store/rds.h"

#define SESSION_UA_MAX 200
/* How long after sessions_set_role a role read earlier from PostgreSQL is overridden by
 * the new one (longer than any read-then-write of a sign-in or refresh can take). */
#define ROLE_SETTLE_SECONDS 60

/* user_sess:{uid} is a sorted set: member sid, score its creation time in microseconds
 * (strictly increasing per user, see lua_create), so the cap and the list walk it in
 * order. Keys written by older code are plain sets; LUA_ZSET_OF converts one in place
 * (scores from each session's created_at, stale members dropped, TTL kept) the first time
 * a script that needs the order meets it. LUA_UNLINK removes a member from either type. */
#define LUA_ZSET_OF                                                                           \
	"local function zset_of(key, pfx, uid)\n"                                             \
	"  if redis.call('TYPE', key).ok ~= 'set' then return end\n"                          \
	"  local s = redis.call('SMEMBERS', key)\n"                                           \
	"  local ttl = redis.call('PTTL', key)\n"                                             \
	"  redis.call('DEL', key)\n"                                                          \
	"  for _, sid in ipairs(s) do\n"                                                      \
	"    local v = redis.call('HMGET', pfx .. 'sess:' .. sid, 'user_id', 'created_at')\n" \
	"    if v[1] == uid then\n"                                                           \
	"      local c = math.floor(tonumber(v[2]) or 0)\n"                                   \
	"      redis.call('ZADD', key, string.format('%.0f', c * 1000000), sid)\n"            \
	"    end\n"                                                                           \
	"  end\n"                                                                             \
	"  if ttl > 0 and redis.call('EXISTS', key) == 1 then\n"                              \
	"    redis.call('PEXPIRE', key, ttl)\n"                                               \
	"  end\n"                                                                             \
	"end\n"
#define LUA_UNLINK                                        \
	"local function unlink(key, sid)\n"               \
	"  if redis.call('TYPE', key).ok == 'set' then\n" \
	"    redis.call('SREM', key, sid)\n"              \
	"  else\n"                                        \
	"    redis.call('ZREM', key, sid)\n"              \
	"  end\n"                                         \
	"end\n"

/* KEYS: sess:{sid}, user_sess:{uid}, role_set:{uid}, pw_changed:{uid}
 * ARGV: user_id, role, now, user_agent, ip, cur (refresh jti), ttl, sid, key prefix,
 *       cap (MEDRIN_SESSIONS_MAX), creation time in microseconds, read_at ('' or the
 *       Redis time in us before the caller read the password hash it checked).
 * {'stale'} (nothing written) when sessions_password_changed ran after read_at.
 * {'ok', revoked}: stale members are dropped, then the user's oldest live sessions are
 * deleted until cap - 1 remain, then the new one is added (so at most cap, O(cap)).
 * {'role', newer role} (nothing written) when sessions_set_role changed the role in the
 * last ROLE_SETTLE_SECONDS to something other than ARGV[2]. */
static const char lua_create[] =
    LUA_ZSET_OF "if ARGV[12] ~= '' then\n"
                "  local changed = tonumber(redis.call('GET', KEYS[4]) or '0')\n"
                "  if changed > tonumber(ARGV[12]) then return {'stale'} end\n"
                "end\n"
                "local newer = redis.call('GET', KEYS[3])\n"
                "if newer and newer ~= ARGV[2] then return {'role', newer} end\n"
                "zset_of(KEYS[2], ARGV[9], ARGV[1])\n"
                "local live = {}\n"
                "for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
                "  if redis.call('HGET', ARGV[9] .. 'sess:' .. sid, 'user_id') == ARGV[1] then\n"
                "    table.insert(live, sid)\n"
                "  else\n"
                "    redis.call('ZREM', KEYS[2], sid)\n"
                "  end\n"
                "end\n"
                "local revoked = 0\n"
                "for i = 1, #live - tonumber(ARGV[10]) + 1 do\n"
                "  redis.call('DEL', ARGV[9] .. 'sess:' .. live[i])\n"
                "  redis.call('ZREM', KEYS[2], live[i])\n"
                "  revoked = revoked + 1\n"
                "end\n"
                "local score = tonumber(ARGV[11])\n"
                "local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')\n"
                "if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end\n"
                "redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'role', ARGV[2],\n"
                "  'created_at', ARGV[3], 'last_used_at', ARGV[3], 'user_agent', ARGV[4],\n"
                "  'ip', ARGV[5], 'cur', ARGV[6], 'prev', '', 'prev_until', '0')\n"
                "redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
                "redis.call('ZADD', KEYS[2], string.format('%.0f', score), ARGV[8])\n"
                "if redis.call('TTL', KEYS[2]) < tonumber(ARGV[7]) then\n"
                "  redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
                "end\n"
                "return {'ok', revoked}\n";

/* KEYS: bl:{jti}, sess:{sid}, user:{uid} (the users cache); ARGV: now, user_id.
 * {1, cached user JSON or nil, stored role} when the token may be used, {0} otherwise.
 * The role is the session's, never the token's claim (sessions_set_role changes it).
 * last_used_at is written at most once a minute, and the grace pair is dropped once its
 * window has passed. */
static const char lua_check[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end\n"
    "local v = redis.call('HMGET', KEYS[2], 'user_id', 'last_used_at', 'prev_until', 'role')\n"
    "if not v[1] or v[1] ~= ARGV[2] then return {0} end\n"
    "local now = tonumber(ARGV[1])\n"
    "if now - (tonumber(v[2]) or 0) >= 60 then\n"
    "  redis.call('HSET', KEYS[2], 'last_used_at', ARGV[1])\n"
    "  if now > (tonumber(v[3]) or 0) then redis.call('HDEL', KEYS[2], 'grace') end\n"
    "end\n"
    "return {1, redis.call('GET', KEYS[3]), v[4] or 'user'}\n";

/* KEYS: sess:{sid}, user_sess:{uid}, role_set:{uid}
 * ARGV: presented jti, new jti, now, grace seconds, grace pair (record), ttl, sid, role, uid,
 *       absolute lifetime in seconds (MEDRIN_SESSION_MAX_DAYS).
 * A session older than the absolute lifetime (from created_at) is deleted ({'gone'}); a
 * rotation never extends the key past created_at + lifetime.
 * A grace of 0 seconds disables the window (prev_until 0). When sessions_set_role changed
 * the user's role in the last ROLE_SETTLE_SECONDS to something other than ARGV[8] (the
 * caller read PostgreSQL before the change), nothing is spent: {'role', newer role} asks
 * for the pair to be signed again with it. */
static const char lua_rotate[] = LUA_UNLINK
    "local v = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'prev_until', 'grace', 'user_id',\n"
    "  'created_at')\n"
    "if not v[1] or v[5] ~= ARGV[9] then return {'gone'} end\n"
    "local now = tonumber(ARGV[3])\n"
    "local left = (tonumber(v[6]) or now) + tonumber(ARGV[10]) - now\n"
    "if left <= 0 then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  unlink(KEYS[2], ARGV[7])\n"
    "  return {'gone'}\n"
    "end\n"
    "local ttl = math.min(tonumber(ARGV[6]), left)\n"
    "if v[1] == ARGV[1] then\n"
    "  local newer = redis.call('GET', KEYS[3])\n"
    "  if newer and newer ~= ARGV[8] then return {'role', newer} end\n"
    "  local pu = 0\n"
    "  if tonumber(ARGV[4]) > 0 then pu = now + tonumber(ARGV[4]) end\n"
    "  redis.call('HSET', KEYS[1], 'prev', v[1], 'cur', ARGV[2],\n"
    "    'prev_until', tostring(pu), 'grace', ARGV[5],\n"
    "    'role', ARGV[8], 'last_used_at', ARGV[3])\n"
    "  redis.call('EXPIRE', KEYS[1], ttl)\n"
    "  if redis.call('TTL', KEYS[2]) < ttl then\n"
    "    redis.call('EXPIRE', KEYS[2], ttl)\n"
    "  end\n"
    "  return {'rotated'}\n"
    "end\n"
    "if v[2] and v[2] ~= '' and v[2] == ARGV[1] and v[4]\n"
    "   and now <= (tonumber(v[3]) or 0) then\n"
    "  return {'grace', v[4]}\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "unlink(KEYS[2], ARGV[7])\n"
    "return {'reused'}\n";

/* KEYS: sess:{sid}, user_sess:{uid}[, bl:{jti}]; ARGV: user_id, sid, block ttl.
 * The blocklist entry is written even when the session is already gone: the token's
 * owner asked for it to die. */
static const char lua_revoke[] = LUA_UNLINK "if #KEYS >= 3 and tonumber(ARGV[3]) > 0 then\n"
                                            "  redis.call('SET', KEYS[3], '1', 'EX', ARGV[3])\n"
                                            "end\n"
                                            "local u = redis.call('HGET', KEYS[1], 'user_id')\n"
                                            "if u ~= ARGV[1] then return 0 end\n"
                                            "redis.call('DEL', KEYS[1])\n"
                                            "unlink(KEYS[2], ARGV[2])\n"
                                            "return 1\n";

/* The body both scripts below end with. KEYS[1]: user_sess:{uid}; ARGV[1]: key prefix,
 * ARGV[2]: user_id. Session keys are derived from the set members inside the script
 * (single Redis, not Cluster). Either set type; the set holds at most
 * MEDRIN_SESSIONS_MAX members (lua_create), so this is O(cap). Returns how many went. */
#define LUA_DELETE_USER_SESSIONS                                  \
	"local s\n"                                               \
	"if redis.call('TYPE', KEYS[1]).ok == 'set' then\n"       \
	"  s = redis.call('SMEMBERS', KEYS[1])\n"                 \
	"else\n"                                                  \
	"  s = redis.call('ZRANGE', KEYS[1], 0, -1)\n"            \
	"end\n"                                                   \
	"local n = 0\n"                                           \
	"for _, sid in ipairs(s) do\n"                            \
	"  local k = ARGV[1] .. 'sess:' .. sid\n"                 \
	"  if redis.call('HGET', k, 'user_id') == ARGV[2] then\n" \
	"    redis.call('DEL', k)\n"                              \
	"    n = n + 1\n"                                         \
	"  end\n"                                                 \
	"end\n"                                                   \
	"redis.call('DEL', KEYS[1])\n"                            \
	"return n\n"

/* KEYS: user_sess:{uid}; ARGV: key prefix, user_id. */
static const char lua_revoke_all[] = LUA_DELETE_USER_SESSIONS;

/* KEYS: user_sess:{uid}, pw_changed:{uid}; ARGV: key prefix, user_id, mark ttl.
 * Marks the password changed now (Redis time, us) and deletes every session of the
 * user, in one step: a sign-in that read the old hash earlier is refused by lua_create. */
static const char lua_pw_changed[] = "local t = redis.call('TIME')\n"
                                     "redis.call('SET', KEYS[2], string.format('%.0f', t[1] * "
                                     "1000000 + t[2]), 'EX', ARGV[3])\n" LUA_DELETE_USER_SESSIONS;

/* KEYS: user_sess:{uid}; ARGV: key prefix, user_id, limit, cursor score ('' on the first
 * page), cursor sid. One page, newest first, keyset on (score, sid) in the set's own order
 * (score descending, then member bytes descending): only members strictly after the
 * cursor's position, so sessions added meanwhile (newer) never shift a page.
 * {more (0/1), then sid, score, created_at, last_used_at, user_agent, ip per session}.
 * Stale members met on the way are dropped. At most the whole set is read: O(cap). */
static const char lua_list[] =
    LUA_ZSET_OF "local function before(a, b)\n"
                "  for i = 1, math.min(#a, #b) do\n"
                "    local x, y = string.byte(a, i), string.byte(b, i)\n"
                "    if x ~= y then return x < y end\n"
                "  end\n"
                "  return #a < #b\n"
                "end\n"
                "zset_of(KEYS[1], ARGV[1], ARGV[2])\n"
                "local limit = tonumber(ARGV[3])\n"
                "local max, cs = '+inf', nil\n"
                "if ARGV[4] ~= '' then max = ARGV[4]; cs = tonumber(ARGV[4]) end\n"
                "local out, stale, found, more = {0}, {}, 0, 0\n"
                "local off, batch = 0, limit + 1\n"
                "while more == 0 do\n"
                "  local r = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES',\n"
                "    'LIMIT', off, batch)\n"
                "  for i = 1, #r, 2 do\n"
                "    local sid, sc = r[i], r[i + 1]\n"
                "    if not cs or tonumber(sc) ~= cs or before(sid, ARGV[5]) then\n"
                "      local v = redis.call('HMGET', ARGV[1] .. 'sess:' .. sid,\n"
                "        'user_id', 'created_at', 'last_used_at', 'user_agent', 'ip')\n"
                "      if v[1] == ARGV[2] then\n"
                "        if found == limit then more = 1; break end\n"
                "        found = found + 1\n"
                "        table.insert(out, sid)\n"
                "        table.insert(out, sc)\n"
                "        for j = 2, 5 do table.insert(out, v[j] or '') end\n"
                "      else\n"
                "        table.insert(stale, sid)\n"
                "      end\n"
                "    end\n"
                "  end\n"
                "  if #r < 2 * batch then break end\n"
                "  off = off + batch\n"
                "end\n"
                "for _, sid in ipairs(stale) do redis.call('ZREM', KEYS[1], sid) end\n"
                "out[1] = more\n"
                "return out\n";

/* KEYS: user_sess:{uid}, role_set:{uid}; ARGV: key prefix, user_id, role, settle seconds.
 * Sets the role of every live session of the user (stale members dropped) and leaves a
 * short-lived marker, so a sign-in or refresh that read the old role from PostgreSQL
 * just before the change signs with the new one (see lua_rotate). Returns the count. */
static const char lua_set_role[] =
    LUA_ZSET_OF "zset_of(KEYS[1], ARGV[1], ARGV[2])\n"
                "local n = 0\n"
                "for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do\n"
                "  local k = ARGV[1] .. 'sess:' .. sid\n"
                "  if redis.call('HGET', k, 'user_id') == ARGV[2] then\n"
                "    redis.call('HSET', k, 'role', ARGV[3])\n"
                "    n = n + 1\n"
                "  else\n"
                "    redis.call('ZREM', KEYS[1], sid)\n"
                "  end\n"
                "end\n"
                "redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])\n"
                "return n\n";

/* Script ids for this process's one Redis handle (worker lifetime). */
static int s_create = -1, s_check = -1, s_rotate = -1, s_revoke = -1, s_revoke_all = -1,
           s_list = -1, s_set_role = -1, s_pw_changed = -1;

int sessions_init(struct rds *r)
{
	s_create = rds_script(r, lua_create);
	s_check = rds_script(r, lua_check);
	s_rotate = rds_script(r, lua_rotate);
	s_revoke = rds_script(r, lua_revoke);
	s_revoke_all = rds_script(r, lua_revoke_all);
	s_list = rds_script(r, lua_list);
	s_set_role = rds_script(r, lua_set_role);
	s_pw_changed = rds_script(r, lua_pw_changed);
	if (s_pw_changed < 0)
		return ERR_INVALID;
	if (s_create < 0 || s_check < 0 || s_rotate < 0 || s_revoke < 0 || s_revoke_all < 0 ||
	    s_list < 0 || s_set_role < 0)
		return ERR_INVALID;
	return ERR_OK;
}

/* The configured key prefix, as rds_key applies it. */
static const char *key_prefix(struct rds *r, struct arena *a)
{
	return rds_key(r, a, "%s", "");
}

/* Wall clock in microseconds (the score of user_sess members). */
static int64_t wall_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The absolute lifetime of a session, from its creation (MEDRIN_SESSION_MAX_DAYS). */
static int64_t session_max(const struct config *cfg)
{
	return (int64_t)(cfg->session_max_days > 0 ? cfg->session_max_days : 90) * 86400;
}

/* The key's TTL: the refresh-token lifetime, never past the absolute lifetime. */
static int64_t session_ttl(const struct config *cfg)
{
	int64_t t = (int64_t)cfg->jwt_refresh_days * 86400;

	return t < session_max(cfg) ? t : session_max(cfg);
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static const char *clip_utf8(struct arena *a, const char *s, size_t max)
{
	if (s == NULL)
		return "";
	return arena_strndup(a, s, util_utf8_cut(s, max));
}

/* Signs a new pair for (user_id, sid); the new refresh jti goes to *refresh_jti. */
static int issue_pair(const struct config *cfg, const struct token_keys *k, struct arena *a,
                      const char *user_id, const char *role, const char *sid,
                      struct session_tokens *out, const char **refresh_jti)
{
	struct token_claims ac, rc;
	char *access = NULL, *refresh = NULL;
	int err;

	memset(&ac, 0, sizeof ac);
	ac.typ = TOKEN_ACCESS;
	ac.sub = user_id;
	ac.jti = random_id(a);
	ac.sid = sid;
	ac.role = role;
	err = token_issue(k, a, &ac, &access);
	if (err != ERR_OK)
		goto out;

	memset(&rc, 0, sizeof rc);
	rc.typ = TOKEN_REFRESH;
	rc.sub = user_id;
	rc.jti = random_id(a);
	rc.sid = sid;
	err = token_issue(k, a, &rc, &refresh);
	if (err != ERR_OK)
		goto out;

	out->access = access;
	out->refresh = refresh;
	out->sid = sid;
	out->expires_in = (int64_t)cfg->jwt_access_minutes * 60;
	*refresh_jti = rc.jti;
out:
	return err;
}

int sessions_create(struct rds *r, const struct config *cfg, const struct token_keys *k,
                    struct arena *a, const char *user_id, const char *role, const char *user_agent,
                    const char *ip, struct session_tokens *out)
{
	return sessions_create_since(r, cfg, k, a, user_id, role, user_agent, ip, NULL, out);
}

int sessions_create_since(struct rds *r, const struct config *cfg, const struct token_keys *k,
                          struct arena *a, const char *user_id, const char *role,
                          const char *user_agent, const char *ip, const char *read_at,
                          struct session_tokens *out)
{
	const char *sid = random_id(a);
	const char *rjti = NULL;
	const char *keys[4], *args[12];
	redisReply *rep = NULL;
	int err = ERR_OK;

	if (role == NULL || *role == '\0')
		role = "user";
	keys[0] = rds_key(r, a, "sess:%s", sid);
	keys[1] = rds_key(r, a, "user_sess:%s", user_id);
	keys[2] = rds_key(r, a, "role_set:%s", user_id);
	keys[3] = rds_key(r, a, "pw_changed:%s", user_id);
	/* As in sessions_rotate: a role change racing this sign-in re-signs, at most twice. */
	for (int attempt = 0; attempt < 3; attempt++) {
		err = issue_pair(cfg, k, a, user_id, role, sid, out, &rjti);
		if (err != ERR_OK)
			goto out;
		args[0] = user_id;
		args[1] = role;
		args[2] = arena_printf(a, "%lld", (long long)util_wall_sec());
		args[3] = clip_utf8(a, user_agent, SESSION_UA_MAX);
		args[4] = ip != NULL ? ip : "";
		args[5] = rjti;
		args[6] = arena_printf(a, "%lld", (long long)session_ttl(cfg));
		args[7] = sid;
		args[8] = key_prefix(r, a);
		args[9] = arena_printf(a, "%d", cfg->sessions_max > 0 ? cfg->sessions_max : 20);
		args[10] = arena_printf(a, "%lld", (long long)wall_usec());
		args[11] = read_at != NULL ? read_at : "";
		err = rds_eval(r, a, s_create, &rep, 4, keys, 12, args);
		if (err != ERR_OK)
			goto out;
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
		    rep->element[0]->type != REDIS_REPLY_STRING) {
			err = ERR_INTERNAL;
			goto out;
		}
		if (strcmp(rep->element[0]->str, "stale") == 0) {
			err = ERR_CONFLICT;
			goto out;
		}
		if (strcmp(rep->element[0]->str, "role") != 0) {
			if (rep->elements >= 2 && rep->element[1]->type == REDIS_REPLY_INTEGER &&
			    rep->element[1]->integer > 0)
				log_info("sessions: the session cap revoked %lld older session(s)",
				         (long long)rep->element[1]->integer);
			goto out;
		}
		if (rep->elements < 2 || rep->element[1]->type != REDIS_REPLY_STRING) {
			err = ERR_INTERNAL;
			goto out;
		}
		role = arena_strndup(a, rep->element[1]->str, rep->element[1]->len);
	}
	log_error("sessions: the role kept changing during a sign-in");
	err = ERR_UNAVAILABLE;
out:
	if (err != ERR_OK)
		memset(out, 0, sizeof *out);
	return err;
}

int sessions_check(struct rds *r, struct arena *a, const char *user_id, const char *sid,
                   const char *jti, const char *user_cache_key, const char **role,
                   const char **cached_user)
{
	redisReply *rep = NULL;
	const char *keys[3], *args[2];
	int err;

	*role = NULL;
	*cached_user = NULL;
	if (user_id == NULL || sid == NULL || jti == NULL)
		return ERR_UNAUTHORIZED;
	keys[0] = rds_key(r, a, "bl:%s", jti);
	keys[1] = rds_key(r, a, "sess:%s", sid);
	keys[2] = user_cache_key;
	args[0] = arena_printf(a, "%lld", (long long)util_wall_sec());
	args[1] = user_id;
	err = rds_eval(r, a, s_check, &rep, 3, keys, 2, args);
	if (err != ERR_OK)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER || rep->element[0]->integer != 1) {
		err = ERR_UNAUTHORIZED;
		goto out;
	}
	if (rep->elements > 1 && rep->element[1]->type == REDIS_REPLY_STRING)
		*cached_user = arena_strndup(a, rep->element[1]->str, rep->element[1]->len);
	if (rep->elements > 2 && rep->element[2]->type == REDIS_REPLY_STRING &&
	    rep->element[2]->len > 0)
		*role = arena_strndup(a, rep->element[2]->str, rep->element[2]->len);
	else
		*role = "user";
out:
	return err;
}

/* The grace field: the pair issued by the last rotation, as a record (base/record.h). */
static int pair_encode(struct arena *a, const struct session_tokens *t, const char **out)
{
	struct record rec;
	int err;

	memset(&rec, 0, sizeof rec);
	err = record_set(&rec, "access_token", t->access);
	if (err == ERR_OK)
		err = record_set(&rec, "refresh_token", t->refresh);
	if (err == ERR_OK)
		*out = record_encode(a, &rec);
	return err;
}

static int pair_decode(struct arena *a, const char *text, size_t len, struct session_tokens *out)
{
	struct record rec;
	const char *acc, *ref;

	if (record_decode(a, text, len, &rec) != ERR_OK)
		goto bad;
	acc = record_get(&rec, "access_token");
	ref = record_get(&rec, "refresh_token");
	if (acc == NULL || ref == NULL || *acc == '\0' || *ref == '\0')
		goto bad;
	out->access = acc;
	out->refresh = ref;
	return ERR_OK;
bad:
	log_error("sessions: stored grace pair is unreadable");
	return ERR_INTERNAL;
}

int sessions_rotate(struct rds *r, const struct config *cfg, const struct token_keys *k,
                    struct arena *a, const struct token_claims *refresh, const char *role,
                    struct session_tokens *out, enum session_rotation *outcome)
{
	redisReply *rep = NULL;
	const char *keys[3], *args[10];
	const char *rjti = NULL, *grace = NULL;
	struct session_tokens fresh;
	int grace_s = cfg->refresh_grace_seconds;
	int err = ERR_OK;

	*outcome = SESSION_GONE;
	if (refresh->sid == NULL || refresh->jti == NULL || refresh->sub == NULL)
		return ERR_OK;
	if (role == NULL || *role == '\0')
		role = "user";
	if (grace_s < 0)
		grace_s = 0;
	if (grace_s > 10)
		grace_s = 10;
	keys[0] = rds_key(r, a, "sess:%s", refresh->sid);
	keys[1] = rds_key(r, a, "user_sess:%s", refresh->sub);
	keys[2] = rds_key(r, a, "role_set:%s", refresh->sub);

	/* At most one retry per role change racing this refresh; three is plenty. */
	for (int attempt = 0; attempt < 3; attempt++) {
		memset(&fresh, 0, sizeof fresh);
		err = issue_pair(cfg, k, a, refresh->sub, role, refresh->sid, &fresh, &rjti);
		if (err != ERR_OK)
			goto out;
		err = pair_encode(a, &fresh, &grace);
		if (err != ERR_OK)
			goto out;
		args[0] = refresh->jti;
		args[1] = rjti;
		args[2] = arena_printf(a, "%lld", (long long)util_wall_sec());
		args[3] = arena_printf(a, "%d", grace_s);
		args[4] = grace;
		args[5] = arena_printf(a, "%lld", (long long)session_ttl(cfg));
		args[6] = refresh->sid;
		args[7] = role;
		args[8] = refresh->sub;
		args[9] = arena_printf(a, "%lld", (long long)session_max(cfg));
		err = rds_eval(r, a, s_rotate, &rep, 3, keys, 10, args);
		if (err != ERR_OK)
			goto out;
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
		    rep->element[0]->type != REDIS_REPLY_STRING) {
			err = ERR_INTERNAL;
			goto out;
		}
		if (strcmp(rep->element[0]->str, "role") != 0)
			break;
		if (rep->elements < 2 || rep->element[1]->type != REDIS_REPLY_STRING) {
			err = ERR_INTERNAL;
			goto out;
		}
		role = arena_strndup(a, rep->element[1]->str, rep->element[1]->len);
	}
	if (strcmp(rep->element[0]->str, "rotated") == 0) {
		*out = fresh;
		*outcome = SESSION_ROTATED;
	} else if (strcmp(rep->element[0]->str, "grace") == 0 && rep->elements >= 2 &&
	           rep->element[1]->type == REDIS_REPLY_STRING) {
		memset(out, 0, sizeof *out);
		err = pair_decode(a, rep->element[1]->str, rep->element[1]->len, out);
		if (err != ERR_OK)
			goto out;
		out->sid = refresh->sid;
		out->expires_in = (int64_t)cfg->jwt_access_minutes * 60;
		*outcome = SESSION_GRACE;
	} else if (strcmp(rep->element[0]->str, "reused") == 0) {
		*outcome = SESSION_REUSED;
	} else if (strcmp(rep->element[0]->str, "role") == 0) {
		log_error("sessions: the role kept changing during a refresh");
		err = ERR_UNAVAILABLE;
	} else {
		*outcome = SESSION_GONE;
	}
out:
	return err;
}

int sessions_revoke(struct rds *r, struct arena *a, const char *user_id, const char *sid,
                    const char *block_jti, int64_t block_ttl)
{
	redisReply *rep = NULL;
	const char *keys[3], *args[3];
	int nkeys = 2;
	int err;

	keys[0] = rds_key(r, a, "sess:%s", sid);
	keys[1] = rds_key(r, a, "user_sess:%s", user_id);
	if (block_jti != NULL && block_ttl > 0) {
		keys[2] = rds_key(r, a, "bl:%s", block_jti);
		nkeys = 3;
	}
	args[0] = user_id;
	args[1] = sid;
	args[2] = arena_printf(a, "%lld", (long long)(nkeys == 3 ? block_ttl : 0));
	err = rds_eval(r, a, s_revoke, &rep, nkeys, keys, 3, args);
	if (err != ERR_OK)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer != 1)
		err = ERR_NOT_FOUND;
out:
	return err;
}

int sessions_revoke_all(struct rds *r, struct arena *a, const char *user_id, int *count)
{
	redisReply *rep = NULL;
	const char *keys[1], *args[2];
	int err;

	keys[0] = rds_key(r, a, "user_sess:%s", user_id);
	args[0] = key_prefix(r, a);
	args[1] = user_id;
	err = rds_eval(r, a, s_revoke_all, &rep, 1, keys, 2, args);
	if (err != ERR_OK)
		goto out;
	if (count != NULL)
		*count = (rep != NULL && rep->type == REDIS_REPLY_INTEGER) ? (int)rep->integer : 0;
out:
	return err;
}

int sessions_password_changed(struct rds *r, struct arena *a, const char *user_id, int *count)
{
	redisReply *rep = NULL;
	const char *keys[2], *args[3];
	int err;

	keys[0] = rds_key(r, a, "user_sess:%s", user_id);
	keys[1] = rds_key(r, a, "pw_changed:%s", user_id);
	args[0] = key_prefix(r, a);
	args[1] = user_id;
	args[2] = arena_printf(a, "%d", SESSIONS_PW_MARK_SECONDS);
	err = rds_eval(r, a, s_pw_changed, &rep, 2, keys, 3, args);
	if (err == ERR_OK && count != NULL)
		*count = (rep != NULL && rep->type == REDIS_REPLY_INTEGER) ? (int)rep->integer : 0;
	return err;
}

int sessions_set_role(struct rds *r, struct arena *a, const char *user_id, const char *role)
{
	const char *keys[2], *args[4];

	if (user_id == NULL || role == NULL || *role == '\0')
		return ERR_INVALID;
	keys[0] = rds_key(r, a, "user_sess:%s", user_id);
	keys[1] = rds_key(r, a, "role_set:%s", user_id);
	args[0] = key_prefix(r, a);
	args[1] = user_id;
	args[2] = role;
	args[3] = arena_printf(a, "%d", ROLE_SETTLE_SECONDS);
	return rds_eval(r, a, s_set_role, NULL, 2, keys, 4, args);
}

static int64_t to_i64(const redisReply *e)
{
	long v = 0;

	if (e->type != REDIS_REPLY_STRING || util_parse_long(e->str, 0, 1L << 40, &v) != ERR_OK)
		return 0;
	return v;
}

/* The cursor is "<score>_<sid>" of the last session of the previous page: the score in
 * decimal (no sign, no leading zero), the sid 32 lowercase hex digits. Opaque to clients. */
#define CURSOR_SCORE_MAX ((1LL << 53) - 1) /* scores are exact doubles */

static int cursor_parse(struct arena *a, const char *c, const char **score, const char **sid)
{
	const char *us = strchr(c, '_');
	size_t nd;
	long v = 0;

	if (us == NULL)
		return ERR_INVALID;
	nd = (size_t)(us - c);
	if (nd == 0 || nd > 16 || strspn(c, "0123456789") != nd || (c[0] == '0' && nd > 1))
		return ERR_INVALID;
	if (strlen(us + 1) != 32 || strspn(us + 1, "0123456789abcdef") != 32)
		return ERR_INVALID;
	*score = arena_strndup(a, c, nd);
	if (util_parse_long(*score, 0, CURSOR_SCORE_MAX, &v) != ERR_OK)
		return ERR_INVALID;
	*sid = us + 1;
	return ERR_OK;
}

static const char *reply_str(struct arena *a, const redisReply *e)
{
	if (e->type != REDIS_REPLY_STRING || e->str == NULL)
		return "";
	return arena_strndup(a, e->str, e->len);
}

int sessions_list(struct rds *r, struct arena *a, const char *user_id, const char *cursor,
                  int limit, struct session_info **items, size_t *n, const char **next_cursor)
{
	redisReply *rep = NULL;
	const char *keys[1], *args[5];
	const char *cscore = "", *csid = "";
	struct session_info *v = NULL;
	size_t count = 0;
	long last_score = 0;
	int err;

	*items = NULL;
	*n = 0;
	*next_cursor = NULL;
	if (limit < 1 || limit > SESSIONS_LIST_MAX)
		return ERR_INVALID;
	if (cursor != NULL && cursor_parse(a, cursor, &cscore, &csid) != ERR_OK)
		return ERR_INVALID;
	keys[0] = rds_key(r, a, "user_sess:%s", user_id);
	args[0] = key_prefix(r, a);
	args[1] = user_id;
	args[2] = arena_printf(a, "%d", limit);
	args[3] = cscore;
	args[4] = csid;
	err = rds_eval(r, a, s_list, &rep, 1, keys, 5, args);
	if (err != ERR_OK)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    (rep->elements - 1) % 6 != 0 || rep->element[0]->type != REDIS_REPLY_INTEGER) {
		err = ERR_INTERNAL;
		goto out;
	}
	count = (rep->elements - 1) / 6;
	v = arena_zalloc(a, (count ? count : 1) * sizeof *v);
	for (size_t i = 0; i < count; i++) {
		redisReply **e = rep->element + 1 + i * 6;

		v[i].id = reply_str(a, e[0]);
		v[i].created_at = to_i64(e[2]);
		v[i].last_used_at = to_i64(e[3]);
		v[i].user_agent = reply_str(a, e[4]);
		v[i].ip = reply_str(a, e[5]);
		if (i + 1 == count &&
		    (e[1]->type != REDIS_REPLY_STRING ||
		     util_parse_long(e[1]->str, 0, CURSOR_SCORE_MAX, &last_score) != ERR_OK)) {
			log_error("sessions: a user_sess score is not an integer");
			err = ERR_INTERNAL;
			goto out;
		}
	}
	if (rep->element[0]->integer == 1 && count > 0)
		*next_cursor = arena_printf(a, "%ld_%s", last_score, v[count - 1].id);
	*items = v;
	*n = count;
out:
	return err;
}
