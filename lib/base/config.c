/* config.c - the configuration table, loading, validation, dump, env files; see config.h.
 *
 * Every key is one row below. config_load copies every string (the default included) with
 * strdup, so config_free can release every CONFIG_STR field without knowing where it came
 * from, and the environment may change afterwards (SIGHUP) without touching a loaded
 * configuration.
 */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "base/buf.h"
#include "base/util.h"

#ifndef MEDRIN_DATADIR
#define MEDRIN_DATADIR "/usr/local/share/medrin"
#endif

/* clang-format off */
#define F(field) offsetof(struct config, field)
#define STR(name, field, def, flags, choices, help) \
	{ name, CONFIG_STR, F(field), def, flags, 0, 0, help, choices }
#define INT(name, field, def, min, max, help) \
	{ name, CONFIG_INT, F(field), def, 0, min, max, help, NULL }
#define BOOL(name, field, def, help) \
	{ name, CONFIG_BOOL, F(field), def, 0, 0, 1, help, NULL }

static const struct config_key config_table[] = {
	/* general */
	STR("MEDRIN_ENV", env, "production", 0, "production|development|test",
	    "production, development or test; the last two relax secret checks"),
	STR("MEDRIN_LOG_LEVEL", log_level, "info", 0, "debug|info|warn|error",
	    "minimum level of the JSON log lines on stderr"),
	/* process pool */
	STR("MEDRIN_LISTEN", listen, "/run/medrin/fcgi.sock", 0, NULL,
	    "FastCGI socket: unix path, host:port, or \"systemd\" (socket activation)"),
	INT("MEDRIN_WORKERS", workers, "0", 0, 256,
	    "prefork workers per pool; 0 means 4 per online CPU"),
	INT("MEDRIN_MAX_REQUESTS", max_requests, "100000", 0, 1000000000,
	    "requests a worker serves before it is recycled (0: never)"),
	INT("MEDRIN_MAX_BODY", max_body, "1048576", 1024, 64 * 1024 * 1024,
	    "hard cap in bytes for any request body"),
	INT("MEDRIN_DRAIN_SECONDS", drain_seconds, "30", 0, 3600,
	    "graceful stop/reload deadline for in-flight requests"),
	INT("MEDRIN_CLIENT_TIMEOUT_SECONDS", client_timeout_s, "30", 1, 3600,
	    "longest a worker waits on a silent FastCGI peer while reading a request"),
	STR("MEDRIN_ENV_FILE", env_file, NULL, 0, NULL,
	    "EnvironmentFile re-read by the master on SIGHUP (unset: none)"),
	BOOL("MEDRIN_TEST_ROUTES", test_routes, "0",
         "1 enables /api/v1/_test/* (refused when MEDRIN_ENV=production)"),
	STR("MEDRIN_CORS_ORIGINS", cors_origins, "", 0, NULL,
	    "browser origins allowed to call the API (CORS), comma-separated; empty: none"),
	/* storage */
	STR("DATABASE_URL", database_url, "postgresql:///medrin", CONFIG_REQUIRED | CONFIG_URL, NULL,
	    "libpq connection URL or key=value string"),
	INT("MEDRIN_DB_STATEMENT_TIMEOUT_MS", db_statement_timeout_ms, "5000", 0, 3600000,
	    "PostgreSQL statement_timeout for request work (0: none)"),
	INT("MEDRIN_DB_CONNECT_TIMEOUT", db_connect_timeout_s, "3", 1, 300,
	    "PostgreSQL connect timeout in seconds"),
	INT("MEDRIN_DB_IO_TIMEOUT_MS", db_io_timeout_ms, "10000", 100, 600000,
	    "client-side bound on one PostgreSQL round trip (a stalled or partitioned server)"),
	STR("REDIS_URL", redis_url, "redis://127.0.0.1:6379/0", CONFIG_REQUIRED | CONFIG_URL, NULL,
	    "redis://[:password@]host[:port][/db] or unix:///path[?db=N]"),
	STR("MEDRIN_REDIS_PREFIX", redis_prefix, "medrin:", 0, NULL, "prefix of every Redis key"),
	INT("MEDRIN_REDIS_TIMEOUT_MS", redis_timeout_ms, "1000", 10, 60000,
	    "Redis connect and command timeout"),
	STR("MEDRIN_REDIS_SENTINELS", redis_sentinels, NULL, 0, NULL,
	    "host:port,... of Redis Sentinels to ask for the primary (unset: REDIS_URL's host)"),
	STR("MEDRIN_REDIS_MASTER", redis_master, NULL, 0, NULL,
	    "name the Sentinels monitor the primary under (needed with MEDRIN_REDIS_SENTINELS)"),
	INT("MEDRIN_REDIS_FAILOVER_WAIT_MS", redis_failover_wait_ms, "2000", 0, 60000,
	    "Sentinel mode: how long a call waits for a primary to appear before a 503"),
	STR("MEDRIN_MIGRATIONS_DIR", migrations_dir, MEDRIN_DATADIR "/migrations", CONFIG_REQUIRED,
	    NULL, "directory of NNNN_name.sql migrations"),
	/* security */
	STR("SECRET_KEY", secret_key, NULL, CONFIG_SECRET | CONFIG_REQUIRED, NULL,
	    "keys OTP hashes and signed links; >= 32 random bytes"),
	STR("JWT_SECRET_KEY", jwt_secret_key, NULL, CONFIG_SECRET, NULL,
	    "HS256 signing key; >= 32 random bytes (required with HS256)"),
	STR("JWT_ALGORITHM", jwt_algorithm, "HS256", 0, "HS256|RS256|ES256", "JWT signing algorithm"),
	STR("MEDRIN_JWT_PRIVATE_KEY_FILE", jwt_private_key_file, NULL, 0, NULL,
	    "PEM private key (RS256/ES256)"),
	STR("MEDRIN_JWT_PUBLIC_KEY_FILE", jwt_public_key_file, NULL, 0, NULL,
	    "PEM public key (RS256/ES256)"),
	INT("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", jwt_access_minutes, "30", 1, 1440,
	    "access token lifetime in minutes"),
	INT("MEDRIN_REFRESH_TOKEN_EXPIRE_DAYS", jwt_refresh_days, "30", 1, 365,
	    "refresh token (session) lifetime in days"),
	STR("MEDRIN_JWT_ISSUER", jwt_issuer, "medrin", 0, NULL, "JWT iss claim"),
	STR("MEDRIN_JWT_AUDIENCE", jwt_audience, "medrin-api", 0, NULL, "JWT aud claim"),
	INT("MEDRIN_REFRESH_GRACE_SECONDS", refresh_grace_seconds, "5", 0, 10,
	    "window in which a retried refresh gets the same new pair"),
	INT("MEDRIN_SESSIONS_MAX", sessions_max, "20", 1, 1000,
	    "live sessions per user; a new login beyond it revokes the oldest"),
	INT("MEDRIN_SESSION_MAX_DAYS", session_max_days, "90", 1, 3650,
	    "absolute session lifetime in days from sign-in; refreshing never extends it"),
	INT("MEDRIN_OTP_MAIL_PER_ADDRESS", otp_mail_per_address, "30", 1, 1000000,
	    "OTP and account mails one client address may cause per hour"),
	INT("OTP_EXPIRY_SECONDS", otp_expiry_seconds, "300", 30, 3600, "lifetime of an emailed OTP"),
	STR("LOGIN_OTP", login_otp, "optional", 0, "off|optional|required",
	    "login OTP: off, optional (per user) or required"),
	INT("MEDRIN_HASH_CONCURRENCY", hash_concurrency, "0", 0, 1024,
	    "password hashes at once per host (0: number of CPUs)"),
	STR("MEDRIN_RUN_DIR", hash_lock_dir, "/run/medrin", 0, NULL,
	    "runtime directory (per-host hashing slots)"),
	/* mail */
	STR("SMTP_URL", smtp_url, "smtp://127.0.0.1:25", CONFIG_URL, NULL,
	    "smtp://[user:password@]host:port or smtps://"),
	STR("MAIL_FROM", mail_from, "Medrin <no-reply@localhost>", 0, NULL, "From: of outgoing mail"),
	STR("MEDRIN_PUBLIC_URL", public_url, "https://localhost:8443", 0, NULL,
	    "public base URL, for links in mail"),
	INT("MEDRIN_MAIL_RETRY_HOURS", mail_retry_hours, "24", 1, 720,
	    "how long an undelivered mail is retried (capped exponential back-off)"),
	INT("MEDRIN_WORKER_POLL_SECONDS", worker_poll_seconds, "5", 1, 3600,
	    "medrin-worker's queue poll interval (LISTEN/NOTIFY wakes it sooner)"),
	/* sign-in with OpenID Connect (per provider: MEDRIN_OIDC_<NAME>_*, see load_oidc) */
	STR("MEDRIN_OIDC_PROVIDERS", oidc_providers, NULL, 0, NULL,
	    "comma-separated OpenID Connect provider names (each needs MEDRIN_OIDC_<NAME>_*)"),
	STR("MEDRIN_OIDC_RETURN_URLS", oidc_return_urls, NULL, 0, NULL,
	    "comma-separated front-end URLs a sign-in may return to (exact match)"),
	INT("MEDRIN_OIDC_TIMEOUT_MS", oidc_timeout_ms, "3000", 100, 30000,
	    "bound on each request to a provider (discovery, keys, token)"),
	/* resumes */
	STR("MEDRIN_FILES_DIR", files_dir, "/var/lib/medrin/files", 0, NULL,
	    "where compiled PDFs are stored; nginx serves it as the internal /files/"),
	INT("MEDRIN_COMPILE_TIMEOUT_SECONDS", compile_timeout_s, "20", 1, 600,
	    "wall-clock limit of one TeX run (CPU limit 1 s more; the lease 10 s more)"),
	INT("MEDRIN_COMPILE_MEMORY_MB", compile_memory_mb, "1024", 64, 16384,
	    "address-space limit of the TeX run in MiB"),
	STR("GEMINI_API_URL", gemini_api_url, "https://generativelanguage.googleapis.com/v1beta",
	    CONFIG_URL, NULL, "base URL of the Gemini-compatible API ({url}/models/{model}:generateContent)"),
	STR("GEMINI_API_KEY", gemini_api_key, NULL, CONFIG_SECRET, NULL,
	    "API key for rating (x-goog-api-key); unset: POST /resumes/{id}/rating answers 503"),
	STR("GEMINI_MODEL", gemini_model, "gemini-1.5-flash", 0, NULL, "model used for rating"),
	INT("GEMINI_TIMEOUT_SECONDS", gemini_timeout_s, "30", 1, 300,
	    "timeout of one generateContent request"),
	/* GraphQL */
	BOOL("MEDRIN_GRAPHQL_INTROSPECTION", graphql_introspection, "1",
	     "1 answers GraphQL introspection (__schema, __type; GraphiQL needs it), 0 refuses it"),
	INT("MEDRIN_GRAPHQL_MAX_DOCUMENT", graphql_max_document, "32768", 256, 200000,
	    "largest GraphQL document (query text) in bytes"),
	INT("MEDRIN_GRAPHQL_MAX_DEPTH", graphql_max_depth, "15", 2, 100,
	    "deepest nesting of GraphQL field selections, fragments included"),
	INT("MEDRIN_GRAPHQL_MAX_COST", graphql_max_cost, "5000", 10, 10000000,
	    "largest GraphQL operation cost: fields, each times the list sizes above it"),
	INT("MEDRIN_GRAPHQL_MAX_ALIASES", graphql_max_aliases, "30", 0, 10000,
	    "most aliased fields in one GraphQL operation, fragments expanded"),
};
/* clang-format on */

#define NKEYS (sizeof(config_table) / sizeof(config_table[0]))

const struct config_key *config_keys(size_t *n)
{
	*n = NKEYS;
	return config_table;
}

/* Field access by offset. A `const char *` field is read and written as `char *` (same
 * representation) so that config_free can release what config_load duplicated. */
static char **str_field(struct config *cfg, const struct config_key *k)
{
	return (char **)(void *)((char *)cfg + k->offset);
}

static const char *str_value(const struct config *cfg, const struct config_key *k)
{
	return *(const char *const *)(const void *)((const char *)cfg + k->offset);
}

static int *int_field(struct config *cfg, const struct config_key *k)
{
	return (int *)(void *)((char *)cfg + k->offset);
}

static int int_value(const struct config *cfg, const struct config_key *k)
{
	return *(const int *)(const void *)((const char *)cfg + k->offset);
}

/* problem appends one "NAME: rule" line; the value is never part of it. */
static void problem(struct buf *errbuf, const char *name, const char *rule)
{
	if (errbuf != NULL)
		(void)!buf_printf(errbuf, "%s: %s\n", name, rule);
}

static int choice_ok(const char *choices, const char *v)
{
	size_t vlen = strlen(v);

	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == vlen && strncmp(p, v, n) == 0)
			return 1;
		p += n + (bar ? 1 : 0);
	}
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return ERR_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return ERR_OK;
		}
	}
	return ERR_INVALID;
}

/* Placeholders seen in example files and tutorials. Compared case-insensitively after
 * dropping everything that is not a letter or digit ("your-secret-key" = "YOUR_SECRET_KEY"). */
static const char *const placeholders[] = {
    "changeme",   "changethis",    "changeit",
    "secret",     "secretkey",     "yoursecretkey",
    "yoursecret", "yourjwtsecret", "yourjwtsecretkey",
    "jwtsecret",  "jwtsecretkey",  "development",
    "dev",        "devsecret",     "test",
    "testing",    "testsecret",    "password",
    "default",    "example",       "placeholder",
    "insecure",   "supersecret",   "supersecretkey",
    "mysecret",   "mysecretkey",   "replaceme",
    "todo",       "xxx",           "none",
    "null",       "key",
};

/* Fragments that mark a template value however long it is made. */
static const char *const placeholder_parts[] = {
    "changeme", "yoursecret", "replaceme", "placeholder", "notsecret", "insecure",
};

static int is_placeholder(const char *v)
{
	char norm[256];
	size_t n = 0;

	for (const char *p = v; *p && n < sizeof(norm) - 1; p++)
		if (isalnum((unsigned char)*p))
			norm[n++] = (char)tolower((unsigned char)*p);
	norm[n] = '\0';
	if (n == 0)
		return 1;
	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
		if (strcmp(norm, placeholders[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(placeholder_parts) / sizeof(placeholder_parts[0]); i++)
		if (strstr(norm, placeholder_parts[i]) != NULL)
			return 1;
	/* One character repeated ("xxxx…", "0000…") is not a key. */
	size_t vlen = strlen(v);
	size_t same = 1;

	while (same < vlen && v[same] == v[0])
		same++;
	return vlen > 0 && same == vlen;
}

#define MIN_SECRET_BYTES 32

static void check_secret(const struct config *cfg, const char *name, const char *v,
                         struct buf *errbuf, int *bad)
{
	if (cfg->dev_mode)
		return;
	if (v == NULL || *v == '\0') {
		problem(errbuf, name, "is required outside development (>= 32 random bytes)");
		*bad = 1;
	} else if (is_placeholder(v)) {
		problem(errbuf, name,
		        "is a known placeholder; generate one (openssl rand -base64 48)");
		*bad = 1;
	} else if (strlen(v) < MIN_SECRET_BYTES) {
		problem(errbuf, name, "must be at least 32 bytes");
		*bad = 1;
	}
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* validate checks the rules that involve more than one key or more than a range. */
/* cors_origins_ok: every item of the MEDRIN_CORS_ORIGINS list (commas and/or spaces) is
 * an exact origin, scheme://host[:port]: no "*", no path, no trailing slash. */
static int cors_origins_ok(const char *list)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		const char *host = NULL;

		if (n > 7 && strncmp(p, "http://", 7) == 0)
			host = p + 7;
		else if (n > 8 && strncmp(p, "https://", 8) == 0)
			host = p + 8;
		if (host == NULL || (size_t)(host - p) >= n)
			return 0;
		for (const char *c = host; c < p + n; c++)
			if (*c == '/' || *c == '*' || *c == '?' || *c == '#' || *c == '@')
				return 0;
		p += n;
	}
	return 1;
}

static int validate(struct config *cfg, struct buf *errbuf)
{
	int bad = 0;

	cfg->dev_mode = strcmp(cfg->env, "development") == 0 || strcmp(cfg->env, "test") == 0;
	check_secret(cfg, "SECRET_KEY", cfg->secret_key, errbuf, &bad);
	if (strcmp(cfg->jwt_algorithm, "HS256") == 0) {
		check_secret(cfg, "JWT_SECRET_KEY", cfg->jwt_secret_key, errbuf, &bad);
	} else {
		/* A signing host needs the private key (the public one is derived from it); a
		 * verify-only host of a multi-host deployment needs just the public key. */
		const char *files[2][2] = {
		    {"MEDRIN_JWT_PRIVATE_KEY_FILE", cfg->jwt_private_key_file},
		    {"MEDRIN_JWT_PUBLIC_KEY_FILE", cfg->jwt_public_key_file},
		};

		if (files[0][1] == NULL && files[1][1] == NULL) {
			problem(errbuf, "MEDRIN_JWT_PRIVATE_KEY_FILE",
			        "or MEDRIN_JWT_PUBLIC_KEY_FILE is required with JWT_ALGORITHM "
			        "RS256/ES256");
			bad = 1;
		}
		for (int i = 0; i < 2; i++) {
			if (files[i][1] != NULL && access(files[i][1], R_OK) != 0) {
				problem(errbuf, files[i][0], "is not a readable file");
				bad = 1;
			}
		}
	}
	if (cfg->test_routes && strcmp(cfg->env, "production") == 0) {
		problem(errbuf, "MEDRIN_TEST_ROUTES",
		        "must not be enabled when MEDRIN_ENV=production");
		bad = 1;
	}
	if (!cors_origins_ok(cfg->cors_origins)) {
		problem(errbuf, "MEDRIN_CORS_ORIGINS",
		        "must list exact origins (https://app.example.com, http://localhost:3000), "
		        "no \"*\", paths or trailing slashes");
		bad = 1;
	}
	if (!has_prefix(cfg->redis_url, "redis://") && !has_prefix(cfg->redis_url, "unix://")) {
		problem(errbuf, "REDIS_URL", "must start with redis:// or unix://");
		bad = 1;
	}
	if (!has_prefix(cfg->smtp_url, "smtp://") && !has_prefix(cfg->smtp_url, "smtps://")) {
		problem(errbuf, "SMTP_URL", "must start with smtp:// or smtps://");
		bad = 1;
	}
	if (!has_prefix(cfg->public_url, "https://") && !has_prefix(cfg->public_url, "http://")) {
		problem(errbuf, "MEDRIN_PUBLIC_URL", "must start with https:// or http://");
		bad = 1;
	}
	if (cfg->workers == 0) {
		/* A worker spends most of a request waiting for Redis or PostgreSQL, so one per
		 * CPU leaves the CPUs idle: 4 per CPU measured best here (tests/bench/README.md);
		 * each worker stays under a few MiB. */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->workers = cpus > 0 ? (int)(cpus > 64 ? 256 : 4 * cpus) : 8;
	}
	return bad ? ERR_INVALID : ERR_OK;
}

/* ---- OpenID Connect providers ----
 *
 * The table above is static, so the per-provider keys are not rows: for each name listed
 * in MEDRIN_OIDC_PROVIDERS (at most CONFIG_OIDC_MAX, [a-z0-9]{1,32}, case-insensitive,
 * no duplicates) load_oidc reads MEDRIN_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET
 * and _SCOPES from the environment, NAME upper-cased. Variables of providers not listed
 * are ignored. */

static void oidc_upper(char *dst, const char *name)
{
	size_t i = 0;

	for (; i < 39 && name[i]; i++)
		dst[i] = (char)toupper((unsigned char)name[i]);
	dst[i] = '\0';
}

static const char *oidc_env(const char *up, const char *suffix)
{
	char key[96];
	const char *v;

	snprintf(key, sizeof key, "MEDRIN_OIDC_%s_%s", up, suffix);
	v = getenv(key);
	return v != NULL && *v != '\0' ? v : NULL;
}

/* oidc_url_ok: https://host…, or http:// to a loopback host outside production (tests). */
static int oidc_url_ok(const struct config *cfg, const char *v)
{
	if (has_prefix(v, "https://") && strlen(v) > 8)
		return strcspn(v, " \t\r\n") == strlen(v);
	if (!cfg->dev_mode || !has_prefix(v, "http://"))
		return 0;
	return has_prefix(v, "http://127.") || has_prefix(v, "http://localhost:") ||
	       has_prefix(v, "http://localhost/") || has_prefix(v, "http://[::1]");
}

static void load_oidc(struct config *cfg, struct buf *errbuf, int *bad)
{
	const char *list = cfg->oidc_providers;
	char key[96];

	cfg->noidc = 0;
	if (list == NULL || cfg->env == NULL)
		return;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *s = p;

		p += n + (p[n] == ',');
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		char name[33], up[40];
		int ok = n <= 32;

		for (size_t i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)s[i]);
		if (!ok) {
			problem(errbuf, "MEDRIN_OIDC_PROVIDERS",
			        "names must be 1 to 32 letters or digits, comma-separated");
			*bad = 1;
			return;
		}
		for (size_t i = 0; i < n; i++)
			name[i] = (char)tolower((unsigned char)s[i]);
		name[n] = '\0';
		for (int i = 0; i < cfg->noidc; i++) {
			if (strcmp(cfg->oidc[i].name, name) == 0) {
				problem(errbuf, "MEDRIN_OIDC_PROVIDERS", "names a provider twice");
				*bad = 1;
				return;
			}
		}
		if (cfg->noidc == CONFIG_OIDC_MAX) {
			problem(errbuf, "MEDRIN_OIDC_PROVIDERS", "names more than 8 providers");
			*bad = 1;
			return;
		}
		oidc_upper(up, name);
		const char *iss = oidc_env(up, "ISSUER"), *id = oidc_env(up, "CLIENT_ID");
		const char *secret = oidc_env(up, "CLIENT_SECRET"),
		           *scopes = oidc_env(up, "SCOPES");

		if (iss == NULL || !oidc_url_ok(cfg, iss)) {
			snprintf(key, sizeof key, "MEDRIN_OIDC_%s_ISSUER", up);
			problem(
			    errbuf, key,
			    "is required: the provider's https:// issuer URL (http:// only to a "
			    "loopback host outside production)");
			*bad = 1;
		}
		if (id == NULL) {
			snprintf(key, sizeof key, "MEDRIN_OIDC_%s_CLIENT_ID", up);
			problem(errbuf, key, "is required");
			*bad = 1;
		}
		if (secret == NULL || (!cfg->dev_mode && is_placeholder(secret))) {
			snprintf(key, sizeof key, "MEDRIN_OIDC_%s_CLIENT_SECRET", up);
			problem(errbuf, key,
			        "is required (the secret the provider issued; not a placeholder)");
			*bad = 1;
		}
		if (scopes != NULL) {
			/* space-separated; must ask for openid */
			int has_openid = 0;

			for (const char *q = scopes; *q;) {
				size_t m = strcspn(q, " ");

				has_openid |= m == 6 && strncmp(q, "openid", 6) == 0;
				q += m;
				while (*q == ' ')
					q++;
			}
			if (!has_openid || strcspn(scopes, "\"<>\\^`{|}\t\r\n") != strlen(scopes)) {
				snprintf(key, sizeof key, "MEDRIN_OIDC_%s_SCOPES", up);
				problem(errbuf, key,
				        "must be space-separated scopes including openid");
				*bad = 1;
			}
		}
		struct config_oidc *o = &cfg->oidc[cfg->noidc++];

		o->name = util_xstrdup(name);
		o->issuer = util_xstrdup(iss != NULL ? iss : "");
		o->client_id = util_xstrdup(id != NULL ? id : "");
		o->client_secret = util_xstrdup(secret != NULL ? secret : "");
		o->scopes = util_xstrdup(scopes != NULL ? scopes : "openid email profile");
	}
	if (cfg->noidc > 0) {
		const char *r = cfg->oidc_return_urls;
		int any = 0, ok = r != NULL;

		for (const char *q = r; ok && q != NULL && *q;) {
			size_t m = strcspn(q, ",");
			char *u = strndup(q, m);

			if (u == NULL)
				util_oom();
			if (*u != '\0') {
				any = 1;
				ok = (has_prefix(u, "https://") || has_prefix(u, "http://")) &&
				     strcspn(u, " \t\r\n#") == strlen(u);
			}
			free(u);
			q += m + (q[m] == ',');
		}
		if (!ok || !any) {
			problem(
			    errbuf, "MEDRIN_OIDC_RETURN_URLS",
			    "is required with MEDRIN_OIDC_PROVIDERS: comma-separated http(s) URLs "
			    "without fragments");
			*bad = 1;
		}
	}
}

static void free_oidc(struct config *cfg)
{
	for (int i = 0; i < cfg->noidc && i < CONFIG_OIDC_MAX; i++) {
		struct config_oidc *o = &cfg->oidc[i];

		if (o->client_secret != NULL)
			explicit_bzero(o->client_secret, strlen(o->client_secret));
		free(o->name);
		free(o->issuer);
		free(o->client_id);
		free(o->client_secret);
		free(o->scopes);
	}
	cfg->noidc = 0;
}

int config_load(struct config *cfg, struct buf *errbuf)
{
	int bad = 0;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_table[i];
		const char *v = getenv(k->name);

		/* KEY= in an EnvironmentFile means "not set": the default applies. */
		if (v == NULL || *v == '\0')
			v = k->def;
		switch (k->type) {
		case CONFIG_STR:
			if (v == NULL) {
				if ((k->flags & CONFIG_REQUIRED) && !(k->flags & CONFIG_SECRET)) {
					problem(errbuf, k->name, "is required");
					bad = 1;
				}
				break;
			}
			if (k->choices != NULL && !choice_ok(k->choices, v)) {
				char rule[160];

				snprintf(rule, sizeof(rule), "must be one of %s", k->choices);
				problem(errbuf, k->name, rule);
				bad = 1;
				v = k->def; /* keep the struct usable for the checks below */
			}
			*str_field(cfg, k) = util_xstrdup(v);
			break;
		case CONFIG_INT: {
			long n = 0;

			if (util_parse_long(v, k->min, k->max, &n) != ERR_OK) {
				char rule[160];

				snprintf(rule, sizeof(rule), "must be an integer from %ld to %ld",
				         k->min, k->max);
				problem(errbuf, k->name, rule);
				bad = 1;
				(void)!util_parse_long(k->def, k->min, k->max, &n);
			}
			*int_field(cfg, k) = (int)n;
			break;
		}
		case CONFIG_BOOL:
			if (parse_bool(v, int_field(cfg, k)) != ERR_OK) {
				problem(errbuf, k->name,
				        "must be 0 or 1 (or true/false, yes/no, on/off)");
				bad = 1;
			}
			break;
		}
	}
	if (validate(cfg, errbuf) != ERR_OK)
		bad = 1;
	load_oidc(cfg, errbuf, &bad);
	if (bad) {
		config_free(cfg);
		return ERR_INVALID;
	}
	return ERR_OK;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (config_table[i].type != CONFIG_STR)
			continue;
		char **slot = str_field(cfg, &config_table[i]);

		if (*slot != NULL && (config_table[i].flags & (CONFIG_SECRET | CONFIG_URL)))
			explicit_bzero(*slot, strlen(*slot));
		free(*slot);
		*slot = NULL;
	}
	free_oidc(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

/* dump_masked writes a URL or conninfo with any password replaced by "****":
 * scheme://user:PASSWORD@host… and password=VALUE (conninfo or query string). */
static int dump_masked(struct buf *out, const char *v)
{
	const char *p = v;
	const char *scheme = strstr(v, "://");
	int rc = ERR_OK;

	if (scheme != NULL) {
		const char *auth = scheme + 3;
		const char *end = auth + strcspn(auth, "/?#");
		const char *at = NULL;

		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

		if (colon != NULL) {
			rc = buf_append(out, v, (size_t)(colon + 1 - v));
			if (rc == ERR_OK)
				rc = buf_puts(out, "****");
			p = at;
		} else if (at != NULL && at > auth && has_prefix(v, "redis://")) {
			/* rds.c reads redis://SECRET@host (no colon) as a password, not a user. */
			rc = buf_append(out, v, (size_t)(auth - v));
			if (rc == ERR_OK)
				rc = buf_puts(out, "****");
			p = at;
		}
	}
	for (const char *pw = strstr(p, "password="); rc == ERR_OK && pw != NULL;
	     pw = strstr(p, "password=")) {
		rc = buf_append(out, p, (size_t)(pw + 9 - p));
		if (rc == ERR_OK)
			rc = buf_puts(out, "****");
		if (pw[9] == '\'') {
			/* libpq key=value syntax: 'quoted value', with \' and \\ escapes */
			const char *q = pw + 10;

			while (*q && *q != '\'')
				q += (*q == '\\' && q[1]) ? 2 : 1;
			p = *q ? q + 1 : q;
		} else {
			p = pw + 9 + strcspn(pw + 9, " &");
		}
	}
	if (rc == ERR_OK)
		rc = buf_puts(out, p);
	return rc;
}

int config_dump(const struct config *cfg, struct buf *out)
{
	int rc = ERR_OK;

	for (size_t i = 0; i < NKEYS && rc == ERR_OK; i++) {
		const struct config_key *k = &config_table[i];

		rc = buf_printf(out, "%s=", k->name);
		if (rc)
			break;
		if (k->type == CONFIG_STR) {
			const char *v = str_value(cfg, k);

			if (v == NULL || *v == '\0')
				rc = buf_puts(out, "(unset)");
			else if (k->flags & CONFIG_SECRET)
				rc = buf_puts(out, "****");
			else if (k->flags & CONFIG_URL)
				rc = dump_masked(out, v);
			else
				rc = buf_puts(out, v);
		} else {
			rc = buf_printf(out, "%d", int_value(cfg, k));
		}
		if (rc == ERR_OK)
			rc = buf_putc(out, '\n');
	}
	for (int i = 0; i < cfg->noidc && rc == ERR_OK; i++) {
		const struct config_oidc *o = &cfg->oidc[i];
		char up[40];

		oidc_upper(up, o->name);
		rc = buf_printf(out,
		                "MEDRIN_OIDC_%s_ISSUER=%s\nMEDRIN_OIDC_%s_CLIENT_ID=%s\n"
		                "MEDRIN_OIDC_%s_CLIENT_SECRET=****\nMEDRIN_OIDC_%s_SCOPES=%s\n",
		                up, o->issuer, up, o->client_id, up, up, o->scopes);
	}
	return rc;
}

/* ---- EnvironmentFile parsing ---- */

struct env_pair {
	char *key;
	char *value;
};

static int key_valid(const char *k, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)k[i]) || k[i] == '_'))
			return 0;
	return 1;
}

/* parse_line splits one line into key and value (malloc'd). Returns 1 for a pair, 0 for a
 * blank or comment line, -1 with *why set for a bad line. */
static int parse_line(char *line, struct env_pair *out, const char **why)
{
	size_t len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	char *p = line;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	char *eq = strchr(p, '=');

	if (eq == NULL) {
		*why = "expected KEY=VALUE";
		return -1;
	}
	char *kend = eq;

	while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
		kend--;
	if (!key_valid(p, (size_t)(kend - p))) {
		*why = "invalid variable name";
		return -1;
	}
	char *v = eq + 1;

	while (*v == ' ' || *v == '\t')
		v++;
	char *val = util_xmalloc(strlen(v) + 1);
	size_t o = 0;

	if (*v == '"' || *v == '\'') {
		char q = *v++;

		for (;;) {
			if (*v == '\0') {
				*why = "unterminated quote";
				free(val);
				return -1;
			}
			if (*v == q)
				break;
			/* Inside double quotes, backslash escapes \" \\ \$ \` (systemd's rules). */
			if (q == '"' && *v == '\\' && v[1] != '\0' &&
			    strchr("\"\\$`", v[1]) != NULL)
				v++;
			val[o++] = *v++;
		}
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '\0' && *v != '#') {
			*why = "text after the closing quote";
			free(val);
			return -1;
		}
	} else {
		size_t n = strlen(v);

		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		memcpy(val, v, n);
		o = n;
	}
	val[o] = '\0';
	*kend = '\0';
	out->key = util_xstrdup(p);
	out->value = val;
	return 1;
}

int config_apply_env_file(const char *path, struct buf *errbuf)
{
	FILE *f = fopen(path, "re");
	struct env_pair *pairs = NULL;
	size_t npairs = 0, cap = 0;
	char *line = NULL;
	size_t linecap = 0;
	int rc = ERR_OK;
	long lineno = 0;

	if (f == NULL) {
		if (errbuf != NULL)
			(void)!buf_printf(errbuf, "%s: cannot open: %s\n", path, strerror(errno));
		return ERR_NOT_FOUND;
	}
	while (getline(&line, &linecap, f) != -1) {
		struct env_pair pair;
		const char *why = NULL;

		lineno++;
		int r = parse_line(line, &pair, &why);

		if (r < 0) {
			if (errbuf != NULL)
				(void)!buf_printf(errbuf, "%s:%ld: %s\n", path, lineno, why);
			rc = ERR_INVALID;
			continue;
		}
		if (r == 0)
			continue;
		if (npairs == cap) {
			cap = cap ? cap * 2 : 16;
			pairs = util_xrealloc(pairs, cap * sizeof(*pairs));
		}
		pairs[npairs++] = pair;
	}
	if (ferror(f)) {
		if (errbuf != NULL)
			(void)!buf_printf(errbuf, "%s: read error\n", path);
		rc = ERR_INVALID;
	}
	/* All or nothing: a file with a bad line changes no variable. */
	for (size_t i = 0; rc == ERR_OK && i < npairs; i++)
		if (setenv(pairs[i].key, pairs[i].value, 1) != 0)
			rc = ERR_INVALID;
	for (size_t i = 0; i < npairs; i++) {
		explicit_bzero(pairs[i].value, strlen(pairs[i].value));
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
	if (line != NULL)
		explicit_bzero(line, linecap);
	free(line);
	fclose(f);
	return rc;
}
