/* otp.h - the unified OTP system (api.md "OTP rules").
 *
 * Codes are 6 digits from the CSPRNG, stored only as HMAC-SHA256(SECRET_KEY, module|email|
 * code) under otp:{module}:{email} for OTP_EXPIRY_SECONDS, compared in constant time,
 * single use. Every counter lives in Redis and changes only inside Lua scripts, so the
 * limits hold exactly across workers and hosts:
 *   otp_limit:{module}:{email}            requests in the 24 h window (first send + resends)
 *   blocked_user:{module}:{email}         present while blocked (TTL = block length)
 *   wrong_otp_attempts:{email}:{module}   wrong codes in the 1 h window
 * Limits: 3 requests / 24 h, then block (register 20 min; login, forgetpassword 24 h);
 * 5 wrong codes / 1 h → 30 min block. A successful verification resets every counter of
 * the module. Emails must already be normalised (util_normalize_email).
 */
#ifndef MEDRIN_OTP_H
#define MEDRIN_OTP_H

#include <stdint.h>
#include "base/err.h"

struct arena;
struct rds;
struct config;

enum otp_module { OTP_MODULE_REGISTER, OTP_MODULE_LOGIN, OTP_MODULE_FORGETPASSWORD };

struct otp_result {
	int attempts_remaining; /* requests (issue) or wrong codes (verify) left */
	int64_t retry_after;    /* seconds, when ERR_LIMITED */
};

/* otp_module_parse maps "register" / "login" / "forgetpassword"; ERR_INVALID otherwise. */
int otp_module_parse(const char *name, enum otp_module *out) MUSTCHECK;
const char *otp_module_name(enum otp_module m);

/* How long the 5th wrong code blocks the module (seconds). */
#define OTP_WRONG_BLOCK_SECONDS 1800

/* otp_block_seconds: how long the request limit blocks the module (register 1200 s,
 * login and forgetpassword 86400 s). */
int otp_block_seconds(enum otp_module m);

/* otp_code_valid: 1 when code is exactly 6 ASCII digits. */
int otp_code_valid(const char *code);

/* otp_hash returns lower-case hex HMAC-SHA256(SECRET_KEY, "module|email|code") in the
 * arena (64 chars): the only form in which a code is stored. */
char *otp_hash(const struct config *cfg, struct arena *a, enum otp_module m, const char *email,
               const char *code);

/* otp_init registers the Lua scripts with the Redis handle (services.c, once).
 * ERR_INVALID when the handle refuses one. */
int otp_init(struct rds *r) MUSTCHECK;

/* otp_issue counts one request for (module, email); when allowed, makes a new code
 * (replacing any previous one) and returns it in *code (secret arena memory) for the
 * caller to mail. ERR_LIMITED (blocked or limit reached: the block starts now) with
 * res->retry_after; ERR_UNAVAILABLE when Redis is down. */
int otp_issue(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
              const char *email, char **code, struct otp_result *res) MUSTCHECK;

/* otp_count counts one request like otp_issue (same limits, same block) but makes no
 * code and leaves the current one alone: a notice that must not cancel a code another
 * client is waiting for (a refused second sign-up). */
int otp_count(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
              const char *email, struct otp_result *res) MUSTCHECK;

/* otp_check_allowed tells whether a request could be issued now: ERR_OK (nothing is
 * counted: the caller issues later) or ERR_LIMITED with retry_after. A request over the
 * limit is refused the way otp_issue refuses it: it counts and starts the block. */
int otp_check_allowed(struct rds *r, struct arena *a, enum otp_module m, const char *email,
                      struct otp_result *res) MUSTCHECK;

/* otp_peek reads, changing nothing: ERR_LIMITED with retry_after when the module is
 * blocked for email, else ERR_OK with res->attempts_remaining = requests left and
 * *wrong_left = wrong codes left. ERR_UNAVAILABLE when Redis is down. */
int otp_peek(struct rds *r, struct arena *a, enum otp_module m, const char *email,
             struct otp_result *res, int *wrong_left) MUSTCHECK;

/* otp_refund undoes an otp_issue whose code could not be sent (the mail was not queued):
 * the code is deleted if it is still the current one, and the request is uncounted, so
 * a failure on our side costs the user nothing. ERR_UNAVAILABLE when Redis is down. */
int otp_refund(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
               const char *email, const char *code) MUSTCHECK;

/* otp_discard deletes the module's current code for email (a cancelled flow); the
 * counters are left as they are. ERR_UNAVAILABLE when Redis is down. */
int otp_discard(struct rds *r, struct arena *a, enum otp_module m, const char *email) MUSTCHECK;

/* otp_verify checks code. ERR_OK: correct; the code is spent and every counter of the
 * module reset. ERR_INVALID: wrong or expired (res->attempts_remaining = wrong codes left).
 * ERR_LIMITED: blocked (before or because of this attempt; res->retry_after).
 * ERR_UNAVAILABLE: Redis down. With consume=0 a correct code is not spent (used by
 * reset-password's own check-then-spend flow: call again with consume=1). */
int otp_verify(struct rds *r, const struct config *cfg, struct arena *a, enum otp_module m,
               const char *email, const char *code, int consume, struct otp_result *res) MUSTCHECK;

#endif
