/* rds.h - one Redis connection per process (hiredis 0.14: no TLS, no auto-reconnect).
 *
 * Lazy connect with connect and command timeouts; a broken connection (I/O error,
 * timeout) is dropped, and the next call reconnects. Lua scripts registered with
 * rds_script are SCRIPT LOADed once per connection and run with EVALSHA (on NOSCRIPT the
 * script is loaded again and retried once). Every key passed through rds_key gets the
 * configured prefix. Replies are registered with the arena (freeReplyObject on reset).
 */
#ifndef MEDRIN_RDS_H
#define MEDRIN_RDS_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include "base/err.h"

struct arena;
struct rds;

/* url: redis://[[user]:password@]host[:port][/db] (password may be %-encoded) or
 * unix:///path/to/sock[?db=N]. A bad URL is logged here and makes every later call
 * fail with ERR_INTERNAL. Sets SIGPIPE to SIG_IGN when it is at its default: hiredis
 * writes to sockets Redis may have closed. Nothing connects yet. */
struct rds *rds_new(const char *url, const char *prefix, int timeout_ms);
void rds_free(struct rds *r);

/* rds_set_sentinels switches r to Sentinel mode (call before the first command): list is
 * "host:port[,host:port...]" (MEDRIN_REDIS_SENTINELS; NULL or "" leaves r alone), master
 * the monitored name (MEDRIN_REDIS_MASTER). Every (re)connect asks the Sentinels in turn
 * (SENTINEL get-master-addr-by-name) and keeps the address only if ROLE says "master"
 * there; password and db still come from the URL, its host and port are unused. While no
 * primary can be found the connect is retried every 100 ms for up to wait_ms, then fails
 * with ERR_UNAVAILABLE. A READONLY reply (the primary became a replica) drops the
 * connection and sends the command once more to the new primary. Each process also keeps
 * one Sentinel connection subscribed to +switch-master, read without blocking before
 * every command: an announced switch drops the data connection at once (the old primary
 * takes writes for seconds before it is demoted, and loses them then). Returns
 * ERR_INVALID (logged; every later call fails) for a malformed list or a missing name. */
int rds_set_sentinels(struct rds *r, const char *list, const char *master, int wait_ms) MUSTCHECK;

/* rds_script registers a Lua script (static text) and returns its id (>= 0) for
 * rds_eval. Call at start, before the first command. The same text registered twice
 * (or a NULL/empty one) is refused: ERR_INVALID (< 0, logged), and rds_eval with that
 * id fails with ERR_INTERNAL. */
int rds_script(struct rds *r, const char *lua) MUSTCHECK;

/* rds_key returns prefix + formatted key, in the arena. */
char *rds_key(struct rds *r, struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rds_cmd runs one command given as argv (binary-safe; lens may be NULL for C strings).
 * Keys must already be prefixed (rds_key). A Redis error reply returns ERR_INTERNAL
 * (its first line is logged, never the arguments); connection trouble or a timeout
 * ERR_UNAVAILABLE (the connection is dropped; a connection found already closed by the
 * server is reopened and the command sent once more). On ERR_OK *out (if not NULL) is
 * the reply, owned by the arena (freeReplyObject on reset), or by the caller when a is
 * NULL; on failure *out is NULL. */
int rds_cmd(struct rds *r, struct arena *a, redisReply **out, int argc, const char **argv,
            const size_t *lens) MUSTCHECK;

/* rds_eval runs a registered script (EVALSHA) with keys (already prefixed) and
 * arguments; on NOSCRIPT (script cache flushed) it loads the script again and retries
 * once. Reply and errors as rds_cmd. */
int rds_eval(struct rds *r, struct arena *a, int script, redisReply **out, int nkeys,
             const char **keys, int nargs, const char **args) MUSTCHECK;

/* rds_ping: PING, connecting if needed. */
int rds_ping(struct rds *r) MUSTCHECK;

#endif
