/* password.h - argon2id password hashes and the per-host hashing limit.
 *
 * Hashes are PHC strings ($argon2id$v=19$m=19456,t=2,p=1$salt$hash) so parameters travel
 * with them and can be raised later (password_needs_rehash). Hashing is expensive on
 * purpose, so at most MEDRIN_HASH_CONCURRENCY hashes run at once on a host: slots are
 * flock()ed files in MEDRIN_RUN_DIR, released by the kernel if a worker dies. When every
 * slot is busy, as many workers as there are slots may wait up to ~1 s for one (each holds
 * a waiting ticket, also a flock()ed file); any other caller, and a waiter whose wait
 * runs out, gets ERR_BUSY at once and the API answers 503 with Retry-After. So at most
 * twice MEDRIN_HASH_CONCURRENCY workers per host are ever busy with passwords, and a
 * login storm cannot starve every other endpoint.
 */
#ifndef MEDRIN_PASSWORD_H
#define MEDRIN_PASSWORD_H

#include <stddef.h>
#include "base/err.h"

struct arena;
struct config;

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_BYTES 128

/* password_limiter_open opens the slot files (once per worker). Returns an fd-holder
 * handle >= 0 stored in services.hash_slots, or -1 when the run dir is unusable (hashing
 * then runs unlimited, and a warning is logged once). */
int password_limiter_open(const struct config *cfg);
void password_limiter_close(int handle);
/* password_limiter_check makes an open limiter usable in the calling process (after a
 * fork it reopens its own slot files). ERR_OK (also for -1, no limiter) or ERR_INTERNAL:
 * then the caller must not serve (services_open fails the worker's start). */
int password_limiter_check(int handle) MUSTCHECK;
/* password_prepare builds the dummy hash password_verify(NULL) checks against (worker
 * start), so the first unknown-address login costs one hash like every other. */
int password_prepare(void) MUSTCHECK;

/* password_policy checks a new password: length (8..128 bytes, at least 8 characters),
 * not made only of white space or invisible characters (zero-width spaces, joiners, BOM,
 * Hangul fillers, ...), and not on the common-password list (password_is_common). Returns
 * NULL when acceptable or a static message for the 422 ("must be at least 8 characters";
 * password_too_common_message for a common one). Every path that sets a password
 * (register, reset, change) calls it, or password_check_new. */
const char *password_policy(const char *pw);

/* The message password_policy returns for a common password. api_invalid answers a 422
 * whose errors carry it with the code "password_too_common" (docs/auth.md). */
extern const char password_too_common_message[];

/* password_check_new is password_policy with the problem code too: NULL when pw is
 * acceptable; otherwise the message, and *code is "password_too_common" for a common
 * password, else "validation_failed". */
const char *password_check_new(const char *pw, const char **code);

/* password_is_common: 1 when pw, ASCII-case-insensitively, is on the list generated from
 * Debian's john-data password.lst at build time (lib/security/common_passwords.h). */
int password_is_common(const char *pw);

/* password_hash makes a new PHC string in the arena. ERR_BUSY when no hashing slot
 * freed in time; ERR_INTERNAL on library failure. */
int password_hash(int limiter, struct arena *a, const char *pw, char **out) MUSTCHECK;

/* password_verify: ERR_OK when pw matches the PHC string, ERR_UNAUTHORIZED when not,
 * ERR_BUSY as above. encoded NULL verifies against a fixed dummy hash with the same
 * parameters and returns ERR_UNAUTHORIZED, so an unknown email costs what a wrong password
 * costs. */
int password_verify(int limiter, const char *encoded, const char *pw) MUSTCHECK;

/* 1 when the hash's parameters are below the current ones. */
int password_needs_rehash(const char *encoded);

#endif
