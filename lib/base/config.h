/* config.h - configuration from the environment, one declarative table.
 *
 * Every key is a row in config.c's table: {name, type, field, default, flags, help}.
 * config_load reads the environment (getenv), applies defaults, validates, and refuses a
 * missing or placeholder secret unless MEDRIN_ENV=development or test. The README's
 * configuration table lists every key (a test checks this against config_keys()).
 * docs/internals/config.md has the rules.
 */
#ifndef MEDRIN_CONFIG_H
#define MEDRIN_CONFIG_H

#include <stddef.h>
#include "base/err.h"

struct buf;

/* One OpenID Connect provider (MEDRIN_OIDC_<NAME>_*), read for each name listed in
 * MEDRIN_OIDC_PROVIDERS (docs/internals/oidc.md). Strings are owned by the config. */
#define CONFIG_OIDC_MAX 8
struct config_oidc {
	char *name;          /* lower-case, [a-z0-9]{1,32}: the {provider} of the routes */
	char *issuer;        /* MEDRIN_OIDC_<NAME>_ISSUER: exact iss, discovery base */
	char *client_id;     /* MEDRIN_OIDC_<NAME>_CLIENT_ID */
	char *client_secret; /* MEDRIN_OIDC_<NAME>_CLIENT_SECRET (secret: masked) */
	char *scopes;        /* MEDRIN_OIDC_<NAME>_SCOPES (default "openid email profile") */
};

struct config {
	/* general */
	const char *env;       /* MEDRIN_ENV: production (default) | development | test */
	int dev_mode;          /* derived: env is development or test */
	const char *log_level; /* MEDRIN_LOG_LEVEL */
	/* process pool */
	const char *listen;   /* MEDRIN_LISTEN: unix path, host:port, or "systemd" */
	int workers;          /* MEDRIN_WORKERS */
	int max_requests;     /* MEDRIN_MAX_REQUESTS (0: never recycle) */
	int max_body;         /* MEDRIN_MAX_BODY bytes, hard cap for any request body */
	int drain_seconds;    /* MEDRIN_DRAIN_SECONDS, graceful stop/reload deadline */
	int client_timeout_s; /* MEDRIN_CLIENT_TIMEOUT_SECONDS: bound on a silent FastCGI peer */
	const char *env_file; /* MEDRIN_ENV_FILE, re-read by the master on SIGHUP */
	int test_routes; /* MEDRIN_TEST_ROUTES=1 enables the _test routes (refused in production) */
	const char *cors_origins; /* MEDRIN_CORS_ORIGINS: allowed browser origins ("": no CORS) */
	/* storage */
	const char *database_url;    /* DATABASE_URL */
	int db_statement_timeout_ms; /* MEDRIN_DB_STATEMENT_TIMEOUT_MS */
	int db_connect_timeout_s;    /* MEDRIN_DB_CONNECT_TIMEOUT */
	int db_io_timeout_ms;        /* MEDRIN_DB_IO_TIMEOUT_MS: client-side bound per round trip */
	const char *redis_url;       /* REDIS_URL: redis://[:pw@]host:port/db or unix:///path */
	const char *redis_prefix;    /* MEDRIN_REDIS_PREFIX */
	int redis_timeout_ms;        /* MEDRIN_REDIS_TIMEOUT_MS */
	const char *redis_sentinels; /* MEDRIN_REDIS_SENTINELS: host:port,... (NULL: none) */
	const char *redis_master;    /* MEDRIN_REDIS_MASTER: the Sentinels' name of the primary */
	int redis_failover_wait_ms;  /* MEDRIN_REDIS_FAILOVER_WAIT_MS */
	const char *migrations_dir;  /* MEDRIN_MIGRATIONS_DIR */
	/* security */
	const char *secret_key;           /* SECRET_KEY: keys OTP hashes, signed links */
	const char *jwt_secret_key;       /* JWT_SECRET_KEY (HS256) */
	const char *jwt_algorithm;        /* JWT_ALGORITHM: HS256 | RS256 | ES256 */
	const char *jwt_private_key_file; /* MEDRIN_JWT_PRIVATE_KEY_FILE (RS256/ES256) */
	const char *jwt_public_key_file;  /* MEDRIN_JWT_PUBLIC_KEY_FILE (RS256/ES256) */
	int jwt_access_minutes;           /* JWT_ACCESS_TOKEN_EXPIRE_MINUTES */
	int jwt_refresh_days;             /* MEDRIN_REFRESH_TOKEN_EXPIRE_DAYS */
	const char *jwt_issuer;           /* MEDRIN_JWT_ISSUER */
	const char *jwt_audience;         /* MEDRIN_JWT_AUDIENCE */
	int refresh_grace_seconds;        /* MEDRIN_REFRESH_GRACE_SECONDS (<= 10) */
	int sessions_max;                 /* MEDRIN_SESSIONS_MAX: live sessions per user */
	int session_max_days;             /* MEDRIN_SESSION_MAX_DAYS: absolute session cap */
	int otp_mail_per_address;         /* MEDRIN_OTP_MAIL_PER_ADDRESS: mails per client ip/h */
	int otp_expiry_seconds;           /* OTP_EXPIRY_SECONDS */
	const char *login_otp;            /* LOGIN_OTP: off | optional | required */
	int hash_concurrency;             /* MEDRIN_HASH_CONCURRENCY per host (0: cores) */
	const char *hash_lock_dir;        /* MEDRIN_RUN_DIR: where per-host hashing slots live */
	/* mail */
	const char *smtp_url;    /* SMTP_URL: smtp://host:port or smtps:// */
	const char *mail_from;   /* MAIL_FROM */
	const char *public_url;  /* MEDRIN_PUBLIC_URL, for links in mail */
	int mail_retry_hours;    /* MEDRIN_MAIL_RETRY_HOURS: retry window of a mail task */
	int worker_poll_seconds; /* MEDRIN_WORKER_POLL_SECONDS */
	/* sign-in with OpenID Connect */
	const char *oidc_providers;   /* MEDRIN_OIDC_PROVIDERS: "google,okta" (unset: none) */
	const char *oidc_return_urls; /* MEDRIN_OIDC_RETURN_URLS: allowed return_to, comma list */
	int oidc_timeout_ms;          /* MEDRIN_OIDC_TIMEOUT_MS: bound on each provider request */
	struct config_oidc oidc[CONFIG_OIDC_MAX]; /* derived: one per listed provider */
	int noidc;
	/* resumes */
	const char *files_dir;      /* MEDRIN_FILES_DIR: compiled PDFs (nginx /files/) */
	int compile_timeout_s;      /* MEDRIN_COMPILE_TIMEOUT_SECONDS */
	int compile_memory_mb;      /* MEDRIN_COMPILE_MEMORY_MB */
	const char *gemini_api_url; /* GEMINI_API_URL */
	const char *gemini_api_key; /* GEMINI_API_KEY */
	const char *gemini_model;   /* GEMINI_MODEL */
	int gemini_timeout_s;       /* GEMINI_TIMEOUT_SECONDS */
	/* GraphQL (docs/internals/graphql.md) */
	int graphql_introspection; /* MEDRIN_GRAPHQL_INTROSPECTION: 0 refuses __schema, __type */
	int graphql_max_document;  /* MEDRIN_GRAPHQL_MAX_DOCUMENT: bytes of query text */
	int graphql_max_depth;     /* MEDRIN_GRAPHQL_MAX_DEPTH: nested field selections */
	int graphql_max_cost;      /* MEDRIN_GRAPHQL_MAX_COST: fields times list sizes */
	int graphql_max_aliases;   /* MEDRIN_GRAPHQL_MAX_ALIASES: aliased fields */
};

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_BOOL };
enum config_flags {
	CONFIG_SECRET = 1 << 0,   /* masked by config_dump, refused if placeholder in production */
	CONFIG_REQUIRED = 1 << 1, /* must be non-empty in production */
	CONFIG_URL = 1 << 2 /* may carry a password (user:pw@, password=): masked by config_dump */
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;   /* offsetof(struct config, field) */
	const char *def; /* default as text; NULL: none */
	unsigned flags;
	long min, max;       /* for CONFIG_INT */
	const char *help;    /* one line for the README and config check */
	const char *choices; /* CONFIG_STR enums: "a|b|c"; NULL: any text */
};

/* config_load fills cfg from the environment. An unset or empty variable takes the
 * default. Strings are copies the config owns; release with config_free. MEDRIN_WORKERS=0
 * is resolved to the number of online CPUs. On failure returns ERR_INVALID, leaves cfg
 * zeroed (nothing to free) and writes one "NAME: rule" line per problem into errbuf (if
 * not NULL); the lines never echo a value. */
int config_load(struct config *cfg, struct buf *errbuf) MUSTCHECK;
void config_free(struct config *cfg);

/* The table, for config check and the README test. */
const struct config_key *config_keys(size_t *n);

/* config_dump writes "NAME=value" lines in table order: secrets as "****", passwords
 * inside CONFIG_URL values as "****", unset values as "(unset)". ERR_TOO_LARGE when out
 * is full. */
int config_dump(const struct config *cfg, struct buf *out) MUSTCHECK;

/* config_apply_env_file reads KEY=VALUE lines (systemd EnvironmentFile syntax: `#`/`;`
 * comments, blank lines, optional single or double quotes, no expansion) and setenv()s
 * each, overwriting. All or nothing: ERR_INVALID with "path:LINE: reason" lines in errbuf
 * when any line is bad (nothing is set then); ERR_NOT_FOUND when the file can not be
 * opened. Used at start and on SIGHUP. */
int config_apply_env_file(const char *path, struct buf *errbuf) MUSTCHECK;

#endif
