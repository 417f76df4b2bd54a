/* throttle.h - per-account login throttling and the per-client-address mail cap, in Redis
 * (docs/auth.md "Login throttling", "Mail per client address").
 *
 * Keys (through rds_key, so they carry the prefix); every change is one Lua script:
 *   login_fail:{email}:{ip}  failed logins for the account from that client address
 *   login_fail:{email}       failed logins for the account from any address
 *   login_wait:{email}:{ip}  present while that address must wait (TTL = the delay)
 *   login_wait:{email}       present while addresses the account never signed in from
 *                            must wait
 *   login_known:{email}      set of the client addresses the account signed in from
 *                            (30 days, at most 20: the oldest are dropped at random)
 *   mail_ip:{ip}             mails caused by the client address in the current hour
 * The counters expire THROTTLE_WINDOW seconds after the last failure. From the
 * THROTTLE_IP_FREE-th failure of an (account, address) pair, that pair waits
 * 2^(n - THROTTLE_IP_FREE) seconds (1, 2, 4, ... at most THROTTLE_MAX_DELAY); from the
 * THROTTLE_ACCOUNT_FREE-th failure of the account from anywhere, addresses that are not in
 * login_known wait the same way. An address the owner signed in from is therefore slowed
 * only by its own failures: strangers elsewhere cannot lock it. A successful login clears
 * the counters and waits of the account and remembers the address. Emails are normalised.
 */
#ifndef MEDRIN_THROTTLE_H
#define MEDRIN_THROTTLE_H

#include <stdint.h>
#include "base/err.h"

struct arena;
struct rds;

#define THROTTLE_IP_FREE 5
#define THROTTLE_ACCOUNT_FREE 20
#define THROTTLE_MAX_DELAY 900
#define THROTTLE_WINDOW 3600
#define THROTTLE_KNOWN_DAYS 30
#define THROTTLE_KNOWN_MAX 20
#define THROTTLE_MAIL_WINDOW 3600

/* throttle_init registers the scripts with the Redis handle (services.c, once). */
int throttle_init(struct rds *r) MUSTCHECK;

/* throttle_login_gate: ERR_OK when (email, ip) may try a password now; ERR_LIMITED with
 * *retry_after (seconds, >= 1) when it must wait. Counts nothing. *now_us gets Redis's
 * clock (TIME, microseconds): the login's "read at" (sessions_create_since).
 * ERR_UNAVAILABLE. */
int throttle_login_gate(struct rds *r, struct arena *a, const char *email, const char *ip,
                        int64_t *retry_after, int64_t *now_us) MUSTCHECK;

/* throttle_login_failed counts a wrong password (or an unknown address: the same) for
 * (email, ip) and starts the delays it earns. ERR_UNAVAILABLE. */
int throttle_login_failed(struct rds *r, struct arena *a, const char *email,
                          const char *ip) MUSTCHECK;

/* throttle_login_ok clears the account's counters and waits and remembers ip as one the
 * account signs in from. ERR_UNAVAILABLE. */
int throttle_login_ok(struct rds *r, struct arena *a, const char *email, const char *ip) MUSTCHECK;

/* throttle_mail counts one mail (an OTP, a notice, or the discarded stand-in an unknown
 * address gets) caused by client address ip: ERR_OK, or ERR_LIMITED with *retry_after
 * once more than per_hour were caused this hour. An empty ip is not counted. */
int throttle_mail(struct rds *r, struct arena *a, const char *ip, int per_hour,
                  int64_t *retry_after) MUSTCHECK;

#endif
