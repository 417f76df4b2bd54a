/* oidc.c - sign-in with OpenID Connect; see oidc.h and docs/internals/oidc.md. */
#include "domain/oidc.h"

#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/config.h"
#include "base/log.h"
#include "base/record.h"
#include "base/util.h"
#include "domain/audit.h"
#include "domain/mailer.h"
#include "domain/sessions.h"
#include "domain/users.h"
#include "security/oidc.h"
#include "store/db.h"
#include "store/httpc.h"
#include "store/rds.h"

#define DISCOVERY_MAX_BYTES (64 * 1024)
#define JWKS_MAX_BYTES (128 * 1024)
#define TOKEN_MAX_BYTES (64 * 1024)
#define CLOCK_SKEW 60
#define IAT_MAX_AGE 600

static const struct db_stmt oidc_stmts[] = {
    {"oidc_identity_user",
     "SELECT user_id::text FROM user_identities WHERE provider = $1::text AND subject = "
     "$2::text",
     2},
    {"oidc_identity_insert",
     "INSERT INTO user_identities (user_id, provider, subject, email) VALUES ($1::uuid, "
     "$2::text, $3::text, $4::text)",
     4},
    {"oidc_identity_list",
     "SELECT provider, email, to_char(linked_at AT TIME ZONE 'UTC', "
     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM user_identities WHERE user_id = $1::uuid "
     "ORDER BY linked_at, provider",
     1},
    {"oidc_signin_ways",
     "SELECT u.password_hash <> '', (SELECT count(*) FROM user_identities i WHERE i.user_id "
     "= u.id AND i.provider <> $2::text) FROM users u WHERE u.id = $1::uuid FOR UPDATE",
     2},
    {"oidc_identity_delete",
     "DELETE FROM user_identities WHERE user_id = $1::uuid AND provider = $2::text", 2},
};

int oidc_register(struct db *db)
{
	return db_register(db, oidc_stmts, sizeof oidc_stmts / sizeof oidc_stmts[0]);
}

/* ------------------------------------------------------------------ the per-worker cache */

/* One slot per configured provider (same index as cfg->oidc). The issuer is kept so a
 * reloaded configuration that changed it does not reuse the old documents. */
struct provider_cache {
	char *issuer;
	char *discovery; /* the document's text */
	int64_t discovery_exp;
	struct oidc_keyset *keys;
	int64_t keys_exp;
	int64_t unknown_refresh; /* last refresh caused by an unknown kid */
};

static struct provider_cache cache[CONFIG_OIDC_MAX];

static void cache_reset(struct provider_cache *pc, const char *issuer)
{
	free(pc->issuer);
	free(pc->discovery);
	oidc_keyset_free(pc->keys);
	memset(pc, 0, sizeof *pc);
	pc->issuer = util_xstrdup(issuer);
}

static const struct config_oidc *find_provider(const struct config *cfg, const char *name,
                                               int *index)
{
	for (int i = 0; name != NULL && i < cfg->noidc; i++) {
		if (strcmp(cfg->oidc[i].name, name) == 0) {
			*index = i;
			return &cfg->oidc[i];
		}
	}
	return NULL;
}

static int provider_down(struct ctx *c, const char *detail)
{
	ctx_fail(c, ERR_UNAVAILABLE, "provider_unavailable", detail);
	c->why.retry_after = 30;
	return ERR_UNAVAILABLE;
}

static char *issuer_base(struct arena *a, const char *issuer)
{
	size_t n = strlen(issuer);

	while (n > 0 && issuer[n - 1] == '/')
		n--;
	return arena_strndup(a, issuer, n);
}

/* discovery returns the provider's (cached or fetched) discovery document. */
static int discovery(struct ctx *c, const struct config_oidc *p, int idx, struct oidc_discovery *d)
{
	struct provider_cache *pc = &cache[idx];
	int64_t now = util_wall_sec();
	struct httpc_resp resp;
	int rc;

	if (pc->issuer == NULL || strcmp(pc->issuer, p->issuer) != 0)
		cache_reset(pc, p->issuer);
	if (pc->discovery != NULL && pc->discovery_exp > now &&
	    oidc_discovery_parse(c->arena, pc->discovery, strlen(pc->discovery), d) == ERR_OK)
		return ERR_OK;
	const char *url = arena_printf(c->arena, "%s/.well-known/openid-configuration",
	                               issuer_base(c->arena, p->issuer));

	rc = httpc_get(c->arena, url, c->cfg->oidc_timeout_ms, DISCOVERY_MAX_BYTES, &resp);
	if (rc == ERR_OK && resp.status != 200)
		rc = ERR_UNAVAILABLE;
	if (rc == ERR_OK && oidc_discovery_parse(c->arena, resp.body, resp.len, d) != ERR_OK)
		rc = ERR_INVALID;
	/* Discovery 1.0, 4.3: the document's issuer is exactly the configured one. */
	if (rc == ERR_OK && strcmp(d->issuer, p->issuer) != 0)
		rc = ERR_INVALID;
	if (rc != ERR_OK) {
		log_warn("oidc: discovery of provider %s failed: %s", p->name, err_name(rc));
		return provider_down(c, "The sign-in provider can not be reached; try again later");
	}
	free(pc->discovery);
	pc->discovery = util_xstrdup(resp.body);
	pc->discovery_exp = now + OIDC_CACHE_TTL;
	return ERR_OK;
}

/* fetch_keys replaces the cached JWKS with the provider's current one. */
static int fetch_keys(struct ctx *c, const struct config_oidc *p, int idx,
                      const struct oidc_discovery *d)
{
	struct provider_cache *pc = &cache[idx];
	struct httpc_resp resp;
	struct oidc_keyset *ks = NULL;
	int64_t now = util_wall_sec();
	int rc = httpc_get(c->arena, d->jwks_uri, c->cfg->oidc_timeout_ms, JWKS_MAX_BYTES, &resp);

	if (rc == ERR_OK && resp.status != 200)
		rc = ERR_UNAVAILABLE;
	if (rc == ERR_OK && (ks = oidc_keyset_parse(resp.body, resp.len)) == NULL)
		rc = ERR_INVALID;
	if (rc != ERR_OK) {
		log_warn("oidc: keys of provider %s not fetched: %s", p->name, err_name(rc));
		return provider_down(c, "The sign-in provider's keys can not be fetched");
	}
	oidc_keyset_free(pc->keys);
	pc->keys = ks;
	pc->keys_exp = now + OIDC_CACHE_TTL;
	log_info("oidc: keys of provider %s fetched (%zu)", p->name, oidc_keyset_count(ks));
	return ERR_OK;
}

/* ------------------------------------------------------------------ Redis records */

static char *state_key(struct ctx *c, const char *state)
{
	return rds_key(c->rds, c->arena, "oidc:state:%s", oidc_sha256_hex(c->arena, state));
}

static char *exchange_key(struct ctx *c, const char *code)
{
	return rds_key(c->rds, c->arena, "oidc:exchange:%s", oidc_sha256_hex(c->arena, code));
}

static int put_record(struct ctx *c, const char *key, const struct record *rec, int ttl)
{
	const char *argv[6] = {
	    "SET", key, record_encode(c->arena, rec), "EX", arena_printf(c->arena, "%d", ttl),
	    "NX"};

	return rds_cmd(c->rds, c->arena, NULL, 6, argv, NULL);
}

/* take_record reads and deletes key at once (GETDEL: single use even under races).
 * ERR_NOT_FOUND when absent or unreadable. */
static int take_record(struct ctx *c, const char *key, struct record *out)
{
	redisReply *rep = NULL;
	const char *argv[2] = {"GETDEL", key};
	int rc = rds_cmd(c->rds, c->arena, &rep, 2, argv, NULL);

	memset(out, 0, sizeof *out);
	if (rc != ERR_OK)
		return rc;
	if (rep == NULL || rep->type != REDIS_REPLY_STRING)
		return ERR_NOT_FOUND;
	if (record_decode(c->arena, rep->str, rep->len, out) != ERR_OK)
		return ERR_NOT_FOUND;
	return ERR_OK;
}

/* ------------------------------------------------------------------ start */

static int return_allowed(const struct config *cfg, const char *url)
{
	const char *list = cfg->oidc_return_urls;
	size_t n = strlen(url);

	for (const char *p = list; p != NULL && *p;) {
		size_t m = strcspn(p, ",");

		if (m == n && memcmp(p, url, n) == 0)
			return 1;
		p += m + (p[m] == ',');
	}
	return 0;
}

static char *redirect_uri(struct ctx *c, const struct config_oidc *p)
{
	return arena_printf(c->arena, "%s/api/v1/auth/oidc/%s/callback",
	                    issuer_base(c->arena, c->cfg->public_url), p->name);
}

static int no_provider(struct ctx *c)
{
	return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such sign-in provider");
}

int oidc_start(struct ctx *c, const char *provider, const char *return_to, const char **location)
{
	struct oidc_discovery d;
	struct record rec;
	int idx = 0, rc;
	const struct config_oidc *p = find_provider(c->cfg, provider, &idx);

	*location = NULL;
	if (p == NULL)
		return no_provider(c);
	if (return_to == NULL || !return_allowed(c->cfg, return_to)) {
		ctx_fail(c, ERR_INVALID, "return_to_not_allowed",
		         "return_to must be one of the configured return URLs");
		c->why.field = "return_to";
		return ERR_INVALID;
	}
	rc = discovery(c, p, idx, &d);
	if (rc != ERR_OK)
		return rc;
	/* 256 random bits; the nonce and the PKCE verifier (43 characters) are derived from
	 * it with SECRET_KEY, so Redis holds neither. */
	const char *state = oidc_random_token(c->arena, 32);
	const char *nonce = oidc_derive(c->arena, c->cfg->secret_key, "oidc-nonce", state);
	const char *verifier = oidc_derive(c->arena, c->cfg->secret_key, "oidc-pkce", state);

	memset(&rec, 0, sizeof rec);
	if (record_set(&rec, "provider", p->name) != ERR_OK ||
	    record_set(&rec, "return_to", return_to) != ERR_OK)
		return ERR_INTERNAL;
	rc = put_record(c, state_key(c, state), &rec, OIDC_STATE_TTL);
	if (rc != ERR_OK)
		return rc;
	*location = arena_printf(
	    c->arena,
	    "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
	    "&code_challenge=%s&code_challenge_method=S256",
	    d.authorization_endpoint, strchr(d.authorization_endpoint, '?') ? '&' : '?',
	    oidc_form_escape(c->arena, p->client_id),
	    oidc_form_escape(c->arena, redirect_uri(c, p)), oidc_form_escape(c->arena, p->scopes),
	    state, nonce, oidc_pkce_challenge(c->arena, verifier));
	return ERR_OK;
}

/* ------------------------------------------------------------------ callback */

static int state_invalid(struct ctx *c)
{
	return ctx_fail(c, ERR_INVALID, "oidc_state_invalid",
	                "This sign-in is unknown, expired or already finished; start again");
}

/* redeem posts the code to the token endpoint and returns the ID token. */
static int redeem(struct ctx *c, const struct config_oidc *p, const struct oidc_discovery *d,
                  const char *code, const char *verifier, const char **id_token)
{
	struct httpc_resp resp;
	const char *form = arena_printf(
	    c->arena, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
	    oidc_form_escape(c->arena, code), oidc_form_escape(c->arena, redirect_uri(c, p)),
	    oidc_form_escape(c->arena, verifier));
	const char *user = NULL, *password = NULL;
	int rc;

	/* client_secret_basic when the provider allows it (the default), else _post. */
	if (d->auth_basic) {
		user = oidc_form_escape(c->arena, p->client_id);
		password = oidc_form_escape(c->arena, p->client_secret);
	} else {
		form = arena_printf(c->arena, "%s&client_id=%s&client_secret=%s", form,
		                    oidc_form_escape(c->arena, p->client_id),
		                    oidc_form_escape(c->arena, p->client_secret));
	}
	rc = httpc_post_form(c->arena, d->token_endpoint, form, user, password,
	                     c->cfg->oidc_timeout_ms, TOKEN_MAX_BYTES, &resp);
	if (rc != ERR_OK) {
		log_warn("oidc: token endpoint of %s failed: %s", p->name, err_name(rc));
		return provider_down(c, "The sign-in provider can not be reached; try again later");
	}
	if (resp.status >= 500)
		return provider_down(c, "The sign-in provider failed; try again later");
	if (resp.status != 200 ||
	    oidc_token_response_parse(c->arena, resp.body, resp.len, id_token) != ERR_OK) {
		log_info("oidc: token endpoint of %s refused the code (HTTP %ld)", p->name,
		         resp.status);
		return ctx_fail(c, ERR_INVALID, "oidc_code_rejected",
		                "The sign-in provider refused the authorization code; start again");
	}
	return ERR_OK;
}

static int verify_token(struct ctx *c, const struct config_oidc *p, int idx,
                        const struct oidc_discovery *d, const char *id_token, const char *nonce,
                        struct oidc_claims *claims)
{
	struct provider_cache *pc = &cache[idx];
	struct oidc_expect e;
	const char *why = NULL;
	int64_t now = util_wall_sec();
	int rc;

	memset(&e, 0, sizeof e);
	e.issuer = p->issuer;
	e.client_id = p->client_id;
	e.nonce = nonce;
	e.algs = d->algs;
	e.now = now;
	e.skew = CLOCK_SKEW;
	e.max_age = IAT_MAX_AGE;
	if (pc->keys == NULL || pc->keys_exp <= now) {
		rc = fetch_keys(c, p, idx, d);
		if (rc != ERR_OK)
			return rc;
	}
	rc = oidc_idtoken_verify(c->arena, pc->keys, id_token, &e, claims, &why);
	if (rc == ERR_NOT_FOUND && pc->unknown_refresh + OIDC_KEYS_MIN_REFRESH <= now) {
		/* An unknown kid: the provider may have rotated its keys. Fetch them once (and
		 * at most once per OIDC_KEYS_MIN_REFRESH s, so made-up kids cost no flood). */
		pc->unknown_refresh = now;
		log_info("oidc: unknown key id from provider %s: refreshing its keys", p->name);
		rc = fetch_keys(c, p, idx, d);
		if (rc != ERR_OK)
			return rc;
		rc = oidc_idtoken_verify(c->arena, pc->keys, id_token, &e, claims, &why);
	}
	if (rc == ERR_NOT_FOUND)
		why = "unknown_key";
	if (rc != ERR_OK) {
		log_info("oidc: ID token from provider %s refused: %s", p->name, why);
		audit_record1(c, "oidc_refused", NULL, NULL, "reason", why);
		return ctx_fail(c, ERR_UNAUTHORIZED, "oidc_id_token_invalid",
		                arena_printf(c->arena, "The ID token was refused (%s)", why));
	}
	return ERR_OK;
}

static int identity_user(struct ctx *c, const char *provider, const char *sub, const char **user_id)
{
	PGresult *res = NULL;
	const char *params[2] = {provider, sub};
	int rc = db_exec(c->db, c->arena, "oidc_identity_user", 2, params, &res);

	*user_id = NULL;
	if (rc != ERR_OK)
		return rc;
	if (db_rows(res) != 1)
		return ERR_NOT_FOUND;
	*user_id = arena_strdup(c->arena, db_value(res, 0, 0));
	return ERR_OK;
}

static int identity_insert(struct ctx *c, const char *user_id, const char *provider,
                           const struct oidc_claims *cl)
{
	const char *params[4] = {user_id, provider, cl->sub, cl->email != NULL ? cl->email : ""};

	return db_exec(c->db, c->arena, "oidc_identity_insert", 4, params, NULL);
}

/* resolve finds, links or creates the account of (provider, sub), in one transaction. */
static int resolve(struct ctx *c, const struct config_oidc *p, const struct oidc_claims *cl,
                   struct user *u)
{
	const char *user_id = NULL, *email = NULL;
	int rc, linked = 0, created = 0;

	rc = identity_user(c, p->name, cl->sub, &user_id);
	if (rc == ERR_OK) {
		rc = users_by_id(c->db, c->arena, user_id, u);
		return rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* FK cascade: cannot happen */
	}
	if (rc != ERR_NOT_FOUND)
		return rc;
	if (cl->email != NULL) {
		email = util_normalize_email(c->arena, cl->email);
		if (!util_email_valid(email))
			email = NULL;
	}
	if (email == NULL)
		return ctx_fail(c, ERR_INVALID, "oidc_email_missing",
		                "The sign-in provider gave no usable email address (scope email)");
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	rc = users_by_email(c->db, c->arena, email, u);
	if (rc == ERR_OK) {
		if (!cl->email_verified) {
			db_rollback(c->db);
			audit_record1(c, "oidc_link_refused", u->id, email, "provider", p->name);
			return ctx_fail(
			    c, ERR_CONFLICT, "oidc_email_unverified",
			    "An account with this email exists, and the provider does not "
			    "say the address is verified: sign in with your password "
			    "instead");
		}
		linked = 1;
	} else if (rc == ERR_NOT_FOUND && !cl->email_verified) {
		db_rollback(c->db);
		return ctx_fail(c, ERR_DENIED, "oidc_email_unverified",
		                "The sign-in provider does not say this email address is verified");
	} else if (rc == ERR_NOT_FOUND) {
		struct users_new nu;

		memset(&nu, 0, sizeof nu);
		nu.email = email;
		nu.password_hash = ""; /* no password: forget/reset can set one */
		nu.first_name = cl->given_name != NULL ? cl->given_name : "";
		nu.last_name = cl->family_name != NULL ? cl->family_name : "";
		nu.account_type = "none";
		if (strlen(nu.first_name) > 100 || strlen(nu.last_name) > 100)
			nu.first_name = nu.last_name = "";
		rc = users_insert(c->db, c->arena, &nu, u);
		created = rc == ERR_OK;
	}
	if (rc == ERR_OK)
		rc = identity_insert(c, u->id, p->name, cl);
	if (rc == ERR_OK && linked)
		rc = mailer_queue_oidc_linked(c->db, c->cfg, c->arena, u->email, p->name);
	if (rc == ERR_OK)
		rc = db_commit(c->db);
	else
		db_rollback(c->db);
	if (rc == ERR_CONFLICT) {
		/* A concurrent first sign-in of the same identity (or address) won: use it. */
		rc = identity_user(c, p->name, cl->sub, &user_id);
		if (rc == ERR_OK)
			return users_by_id(c->db, c->arena, user_id, u);
		return ctx_fail(c, ERR_CONFLICT, "conflict",
		                "A concurrent sign-in changed this account; try again");
	}
	if (rc != ERR_OK)
		return rc;
	if (linked)
		audit_record1(c, "oidc_linked", u->id, u->email, "provider", p->name);
	if (created)
		audit_record1(c, "registered", u->id, u->email, "method",
		              arena_printf(c->arena, "oidc:%s", p->name));
	return ERR_OK;
}

int oidc_callback(struct ctx *c, const char *provider, const char *state, const char *code,
                  const char *error, const char **location)
{
	struct oidc_discovery d;
	struct oidc_claims claims;
	struct record rec, ex;
	struct user u;
	const char *id_token = NULL;
	int idx = 0, rc;
	const struct config_oidc *p = find_provider(c->cfg, provider, &idx);

	*location = NULL;
	if (p == NULL)
		return no_provider(c);
	if (state == NULL || *state == '\0' || strlen(state) > 256)
		return state_invalid(c);
	rc = take_record(c, state_key(c, state), &rec);
	if (rc == ERR_NOT_FOUND)
		return state_invalid(c);
	if (rc != ERR_OK)
		return rc;
	const char *return_to = record_get(&rec, "return_to");
	const char *rec_provider = record_get(&rec, "provider");

	if (return_to == NULL || rec_provider == NULL || strcmp(rec_provider, p->name) != 0)
		return state_invalid(c);
	const char *nonce = oidc_derive(c->arena, c->cfg->secret_key, "oidc-nonce", state);
	const char *verifier = oidc_derive(c->arena, c->cfg->secret_key, "oidc-pkce", state);

	if (error != NULL)
		return ctx_fail(c, ERR_INVALID, "oidc_denied",
		                "The sign-in provider did not sign you in");
	if (code == NULL || *code == '\0' || strlen(code) > 2048)
		return ctx_fail(c, ERR_INVALID, "oidc_code_rejected", "The callback has no code");
	rc = discovery(c, p, idx, &d);
	if (rc == ERR_OK)
		rc = redeem(c, p, &d, code, verifier, &id_token);
	if (rc == ERR_OK)
		rc = verify_token(c, p, idx, &d, id_token, nonce, &claims);
	if (rc == ERR_OK)
		rc = resolve(c, p, &claims, &u);
	if (rc != ERR_OK)
		return rc;

	const char *xcode = oidc_random_token(c->arena, 32);

	memset(&ex, 0, sizeof ex);
	if (record_set(&ex, "user_id", u.id) != ERR_OK ||
	    record_set(&ex, "provider", p->name) != ERR_OK)
		return ERR_INTERNAL;
	rc = put_record(c, exchange_key(c, xcode), &ex, OIDC_EXCHANGE_TTL);
	if (rc != ERR_OK)
		return rc;
	*location = arena_printf(c->arena, "%s%ccode=%s", return_to,
	                         strchr(return_to, '?') ? '&' : '?', xcode);
	return ERR_OK;
}

/* ------------------------------------------------------------------ exchange */

int oidc_exchange(struct ctx *c, const char *code, struct accounts_signin *out)
{
	struct record rec;
	const char *user_id, *provider;
	int rc;

	memset(out, 0, sizeof *out);
	rc = take_record(c, exchange_key(c, code), &rec);
	if (rc == ERR_NOT_FOUND)
		return ctx_fail(c, ERR_INVALID, "exchange_code_invalid",
		                "The code is unknown, expired or already used");
	if (rc != ERR_OK)
		return rc;
	user_id = record_get(&rec, "user_id");
	provider = record_get(&rec, "provider");
	rc = users_by_id(c->db, c->arena, user_id, &out->user);
	if (rc == ERR_NOT_FOUND)
		return ctx_fail(c, ERR_INVALID, "exchange_code_invalid",
		                "The account no longer exists");
	if (rc != ERR_OK)
		return rc;
	rc = sessions_create(c->rds, c->cfg, c->svc->keys, c->arena, out->user.id, out->user.role,
	                     c->client.user_agent, c->client.ip, &out->tokens);
	if (rc != ERR_OK)
		return rc;
	audit_record1(c, "login_ok", out->user.id, out->user.email, "method",
	              arena_printf(c->arena, "oidc:%s", provider != NULL ? provider : "?"));
	return ERR_OK;
}

/* ------------------------------------------------------------------ identities */

int oidc_identities(struct ctx *c, const char *user_id, struct oidc_identity **items, size_t *n)
{
	PGresult *res = NULL;
	const char *params[1] = {user_id};
	int rc = db_exec(c->db, c->arena, "oidc_identity_list", 1, params, &res);

	*items = NULL;
	*n = 0;
	if (rc != ERR_OK)
		return rc;
	int rows = db_rows(res);

	*items = arena_zalloc(c->arena, sizeof **items * (size_t)(rows > 0 ? rows : 1));
	for (int i = 0; i < rows; i++) {
		(*items)[i].provider = arena_strdup(c->arena, db_value(res, i, 0));
		(*items)[i].email = arena_strdup(c->arena, db_value(res, i, 1));
		(*items)[i].linked_at = arena_strdup(c->arena, db_value(res, i, 2));
	}
	*n = (size_t)rows;
	return ERR_OK;
}

int oidc_unlink(struct ctx *c, const char *provider)
{
	PGresult *res = NULL;
	const char *params[2] = {c->actor.user_id, provider};
	int rc;

	if (provider == NULL || strlen(provider) > 32)
		return ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such linked provider");
	rc = db_begin(c->db);
	if (rc != ERR_OK)
		return rc;
	/* Locks the user row: two unlinks at once can not both pass the check. */
	rc = db_exec(c->db, c->arena, "oidc_signin_ways", 2, params, &res);
	if (rc == ERR_OK && db_rows(res) != 1)
		rc = ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such linked provider");
	if (rc == ERR_OK) {
		int has_password = db_value(res, 0, 0) != NULL && db_value(res, 0, 0)[0] == 't';
		long others = strtol(db_value(res, 0, 1) ? db_value(res, 0, 1) : "0", NULL, 10);

		res = NULL;
		rc = db_exec(c->db, c->arena, "oidc_identity_delete", 2, params, &res);
		if (rc == ERR_OK && strcmp(PQcmdTuples(res), "1") != 0)
			rc = ctx_fail(c, ERR_NOT_FOUND, "not_found", "No such linked provider");
		else if (rc == ERR_OK && !has_password && others == 0)
			rc = ctx_fail(c, ERR_CONFLICT, "last_sign_in_method",
			              "This is the account's only way to sign in: set a password "
			              "(forgot password) or link another provider first");
	}
	if (rc != ERR_OK) {
		db_rollback(c->db);
		return rc;
	}
	rc = db_commit(c->db);
	if (rc != ERR_OK)
		return rc;
	audit_record1(c, "oidc_unlinked", c->actor.user_id, NULL, "provider", provider);
	return ERR_OK;
}

int oidc_users_me(struct ctx *c, struct oidc_me *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	rc = users_get(c, c->actor.user_id, &out->view);
	if (rc != ERR_OK)
		return rc;
	return oidc_identities(c, c->actor.user_id, &out->identities, &out->n);
}
