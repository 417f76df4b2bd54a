/* ctx.h - what every domain function is given: the request context.
 *
 * The dispatcher (lib/api/dispatch.c) builds one struct ctx per request from the worker's
 * services and the request, and passes it to the one domain function a handler calls.
 * The domain never sees HTTP: the actor and the client arrive here as plain values, and
 * the outcome of a refused call leaves here as plain values (ctx->why), which the api
 * layer turns into problem+json (api_outcome). GraphQL resolvers get the same context.
 *
 * Lifetimes: services live as long as the worker (services.h); everything else in the
 * context lives as long as the request (its arena).
 */
#ifndef MEDRIN_CTX_H
#define MEDRIN_CTX_H

#include <stdint.h>
#include "base/err.h"

struct arena;
struct config;
struct db;
struct rds;
struct token_keys;

/* Worker lifetime: made once by services_open, reused by every request. */
struct services {
	const struct config *cfg;
	struct db *db;
	struct rds *rds;
	struct token_keys *keys; /* JWT signing/verification keys (security/token.h) */
	int hash_slots;          /* per-host hashing limiter (security/password.h), -1: none */
};

/* Who is calling. Set by accounts_authenticate from the access token and the session it
 * names; user_id NULL: anonymous. role is the role stored with the session (updated the
 * moment a role changes), never the token's claim. */
struct actor {
	const char *user_id;     /* uuid text */
	const char *role;        /* user | staff | admin */
	const char *sid;         /* session id */
	const char *jti;         /* access token id */
	int64_t exp;             /* access token expiry, unix seconds */
	const char *cached_user; /* the user cache record read with the session, or NULL */
};

/* Where the call comes from, for audit rows and session lists. */
struct client {
	const char *ip;
	const char *user_agent;
};

/* Why a call was refused: what a client needs beyond the error code. Filled by ctx_fail;
 * api_outcome maps (error code, why) to one problem+json answer. */
struct outcome {
	const char *code;       /* stable problem code ("otp_invalid"); NULL: the error's default */
	const char *detail;     /* for people; NULL: the error's default */
	const char *field;      /* the input field at fault, or NULL */
	int64_t retry_after;    /* seconds, > 0: the answer carries Retry-After */
	int attempts_remaining; /* >= 0: the answer carries attempts_remaining; -1: none */
};

struct ctx {
	const struct services *svc;
	const struct config *cfg; /* svc->cfg, for brevity */
	struct db *db;            /* svc->db */
	struct rds *rds;          /* svc->rds */
	struct arena *arena;      /* request memory */
	struct actor actor;
	struct client client;
	struct outcome why;
};

/* ctx_init fills c for one request (anonymous, no outcome). */
void ctx_init(struct ctx *c, const struct services *svc, struct arena *a, const char *ip,
              const char *user_agent);

/* ctx_fail records why a call fails and returns err, so a domain function can say
 * `return ctx_fail(c, ERR_INVALID, "otp_invalid", "The code is wrong");`. code and
 * detail are static strings or arena memory. It resets field, retry_after and
 * attempts_remaining; set those on c->why afterwards when they apply. */
int ctx_fail(struct ctx *c, int err, const char *code, const char *detail);

#endif
