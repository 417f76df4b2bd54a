/* check_config.c - defaults; secrets (missing, placeholder, short) refused in production
 * and accepted in development; ranges and enums; test routes refused in production;
 * problems never echo values; dump masks secrets and URL passwords; EnvironmentFile
 * parsing (quotes, comments, bad lines: all or nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "suites.h"
#include "base/buf.h"
#include "base/config.h"

#define GOOD_SECRET "k9VqZ3rT7yW1nB5mX8cL2pD6fH0jS4gA" /* 32 bytes */
#define GOOD_JWT "Qm7Rt2Vx9Lp4Zc8Nw1Ks6Hd3Fb0Gy5JuTe"  /* 34 bytes */

static struct buf err;

/* Every test starts from an environment without any configuration variable (Check
 * forks per test, so this also holds with CK_FORK=no). */
static void setup(void)
{
	size_t n;
	const struct config_key *k = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		unsetenv(k[i].name);
	buf_init(&err, NULL, 1 << 16);
}

static void teardown(void)
{
	buf_free(&err);
}

static void production_secrets(void)
{
	setenv("SECRET_KEY", GOOD_SECRET, 1);
	setenv("JWT_SECRET_KEY", GOOD_JWT, 1);
}

/* load_fails asserts that loading fails and that the problems name key. */
static void load_fails(const char *key)
{
	struct config cfg;

	buf_reset(&err);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_INVALID);
	ck_assert_msg(strstr(buf_str(&err), key) != NULL, "problems do not name %s: %s", key,
	              buf_str(&err));
}

static void load_ok(void)
{
	struct config cfg;

	buf_reset(&err);
	ck_assert_msg(config_load(&cfg, &err) == ERR_OK, "refused: %s", buf_str(&err));
	config_free(&cfg);
}

START_TEST(test_defaults)
{
	struct config cfg;

	setenv("MEDRIN_ENV", "development", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	ck_assert_str_eq(cfg.env, "development");
	ck_assert_int_eq(cfg.dev_mode, 1);
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.listen, "/run/medrin/fcgi.sock");
	ck_assert_int_eq(cfg.workers, 4 * (int)sysconf(_SC_NPROCESSORS_ONLN)); /* default 0 */
	ck_assert_int_eq(cfg.max_requests, 100000);
	ck_assert_int_eq(cfg.max_body, 1048576);
	ck_assert_int_eq(cfg.drain_seconds, 30);
	ck_assert_ptr_null(cfg.env_file);
	ck_assert_int_eq(cfg.test_routes, 0);
	ck_assert_str_eq(cfg.database_url, "postgresql:///medrin");
	ck_assert_int_eq(cfg.db_statement_timeout_ms, 5000);
	ck_assert_int_eq(cfg.db_connect_timeout_s, 3);
	ck_assert_str_eq(cfg.redis_url, "redis://127.0.0.1:6379/0");
	ck_assert_str_eq(cfg.redis_prefix, "medrin:");
	ck_assert_int_eq(cfg.redis_timeout_ms, 1000);
	ck_assert_ptr_nonnull(strstr(cfg.migrations_dir, "/migrations"));
	ck_assert_str_eq(cfg.jwt_algorithm, "HS256");
	ck_assert_int_eq(cfg.jwt_access_minutes, 30);
	ck_assert_int_eq(cfg.jwt_refresh_days, 30);
	ck_assert_str_eq(cfg.jwt_issuer, "medrin");
	ck_assert_str_eq(cfg.jwt_audience, "medrin-api");
	ck_assert_int_eq(cfg.refresh_grace_seconds, 5);
	ck_assert_int_eq(cfg.otp_expiry_seconds, 300);
	ck_assert_str_eq(cfg.login_otp, "optional");
	ck_assert_int_eq(cfg.hash_concurrency, 0);
	ck_assert_str_eq(cfg.hash_lock_dir, "/run/medrin");
	ck_assert_str_eq(cfg.smtp_url, "smtp://127.0.0.1:25");
	ck_assert_str_eq(cfg.mail_from, "Medrin <no-reply@localhost>");
	ck_assert_str_eq(cfg.public_url, "https://localhost:8443");
	ck_assert_int_eq(cfg.worker_poll_seconds, 5);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.env);
	config_free(&cfg); /* harmless twice */
}
END_TEST

START_TEST(test_env_overrides_and_empty_means_default)
{
	struct config cfg;

	production_secrets();
	setenv("MEDRIN_LOG_LEVEL", "", 1);
	setenv("MEDRIN_WORKERS", "7", 1);
	setenv("MEDRIN_LISTEN", "127.0.0.1:9000", 1);
	setenv("MEDRIN_TEST_ROUTES", "0", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	ck_assert_str_eq(cfg.env, "production");
	ck_assert_int_eq(cfg.dev_mode, 0);
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_int_eq(cfg.workers, 7);
	ck_assert_str_eq(cfg.listen, "127.0.0.1:9000");
	ck_assert_str_eq(cfg.secret_key, GOOD_SECRET);
	config_free(&cfg);

	setenv("MEDRIN_WORKERS", "0", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	ck_assert_int_eq(cfg.workers, 4 * (int)sysconf(_SC_NPROCESSORS_ONLN)); /* 4 per CPU */
	config_free(&cfg);
}
END_TEST

START_TEST(test_production_needs_secrets)
{
	load_fails("SECRET_KEY");
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "JWT_SECRET_KEY"));
	setenv("SECRET_KEY", GOOD_SECRET, 1);
	load_fails("JWT_SECRET_KEY");
	ck_assert_ptr_null(strstr(buf_str(&err), "\nSECRET_KEY"));
	ck_assert_int_ne(strncmp(buf_str(&err), "SECRET_KEY", 10), 0);
	setenv("JWT_SECRET_KEY", GOOD_JWT, 1);
	load_ok();
}
END_TEST

START_TEST(test_placeholder_secrets)
{
	static const char *const placeholders[] = {
	    "changeme",
	    "CHANGEME",
	    "secret",
	    "your-secret-key",
	    "YOUR_SECRET_KEY",
	    "development",
	    "test",
	    "Test",
	    "changeme-changeme-changeme-changeme",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "please-replace-me-with-a-real-random-key",
	};

	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
		unsetenv("MEDRIN_ENV");
		production_secrets();
		setenv("SECRET_KEY", placeholders[i], 1);
		load_fails("SECRET_KEY");
		ck_assert_msg(strstr(buf_str(&err), placeholders[i]) == NULL, "value echoed: %s",
		              buf_str(&err));
		production_secrets();
		setenv("JWT_SECRET_KEY", placeholders[i], 1);
		load_fails("JWT_SECRET_KEY");
		/* Development and test accept them. */
		setenv("SECRET_KEY", placeholders[i], 1);
		setenv("MEDRIN_ENV", "development", 1);
		load_ok();
		setenv("MEDRIN_ENV", "test", 1);
		load_ok();
	}
}
END_TEST

START_TEST(test_short_secret)
{
	production_secrets();
	setenv("SECRET_KEY", "k9VqZ3rT7yW1nB5mX8cL2pD6fH0jS4g", 1); /* 31 bytes */
	load_fails("SECRET_KEY");
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "32"));
	ck_assert_ptr_null(strstr(buf_str(&err), "k9VqZ3"));
	setenv("SECRET_KEY", GOOD_SECRET, 1);
	load_ok();
}
END_TEST

START_TEST(test_asymmetric_keys)
{
	char priv[] = "/tmp/medrin-check-keyXXXXXX";
	int fd = mkstemp(priv);

	ck_assert_int_ge(fd, 0);
	close(fd);
	setenv("SECRET_KEY", GOOD_SECRET, 1);
	setenv("JWT_ALGORITHM", "RS256", 1);
	load_fails("MEDRIN_JWT_PRIVATE_KEY_FILE");
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "MEDRIN_JWT_PUBLIC_KEY_FILE"));
	ck_assert_ptr_null(strstr(buf_str(&err), "JWT_SECRET_KEY")); /* not needed with RS256 */
	setenv("MEDRIN_JWT_PRIVATE_KEY_FILE", priv, 1);
	setenv("MEDRIN_JWT_PUBLIC_KEY_FILE", "/nonexistent/medrin.pub", 1);
	load_fails("MEDRIN_JWT_PUBLIC_KEY_FILE");
	setenv("MEDRIN_JWT_PUBLIC_KEY_FILE", priv, 1);
	load_ok();
	setenv("JWT_ALGORITHM", "ES256", 1);
	load_ok();
	/* A verify-only host: the public key alone is enough. */
	unsetenv("MEDRIN_JWT_PRIVATE_KEY_FILE");
	load_ok();
	unlink(priv);
}
END_TEST

START_TEST(test_bad_ints)
{
	static const struct {
		const char *key, *value;
	} bad[] = {
	    {"MEDRIN_WORKERS", "abc"},
	    {"MEDRIN_WORKERS", "-1"},
	    {"MEDRIN_WORKERS", "99999"},
	    {"MEDRIN_WORKERS", "5 "},
	    {"MEDRIN_WORKERS", "2.5"},
	    {"MEDRIN_MAX_BODY", "10"},
	    {"MEDRIN_REFRESH_GRACE_SECONDS", "11"},
	    {"OTP_EXPIRY_SECONDS", "0"},
	    {"MEDRIN_DB_CONNECT_TIMEOUT", "0"},
	    {"JWT_ACCESS_TOKEN_EXPIRE_MINUTES", "99999999999999999999"},
	    {"MEDRIN_TEST_ROUTES", "maybe"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		production_secrets();
		setenv(bad[i].key, bad[i].value, 1);
		load_fails(bad[i].key);
		ck_assert_msg(strstr(buf_str(&err), bad[i].value) == NULL ||
		                  strlen(bad[i].value) < 3,
		              "value echoed: %s", buf_str(&err));
		teardown();
	}
	setup();
	production_secrets();
	setenv("MEDRIN_REFRESH_GRACE_SECONDS", "10", 1);
	setenv("MEDRIN_TEST_ROUTES", "false", 1);
	load_ok();
}
END_TEST

START_TEST(test_bad_enums)
{
	static const struct {
		const char *key, *value;
	} bad[] = {
	    {"MEDRIN_ENV", "staging"},
	    {"MEDRIN_ENV", "Production"},
	    {"MEDRIN_LOG_LEVEL", "verbose"},
	    {"JWT_ALGORITHM", "none"},
	    {"JWT_ALGORITHM", "HS512"},
	    {"LOGIN_OTP", "always"},
	    {"REDIS_URL", "http://localhost"},
	    {"SMTP_URL", "mail.example.com"},
	    {"MEDRIN_PUBLIC_URL", "localhost:8443"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		production_secrets();
		setenv(bad[i].key, bad[i].value, 1);
		load_fails(bad[i].key);
		teardown();
	}
	setup();
	production_secrets();
	setenv("LOGIN_OTP", "required", 1);
	setenv("MEDRIN_LOG_LEVEL", "debug", 1);
	setenv("REDIS_URL", "unix:///run/redis.sock?db=2", 1);
	setenv("SMTP_URL", "smtps://mail.example.com:465", 1);
	load_ok();
}
END_TEST

START_TEST(test_test_routes)
{
	production_secrets();
	setenv("MEDRIN_TEST_ROUTES", "1", 1);
	load_fails("MEDRIN_TEST_ROUTES");
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "production"));
	setenv("MEDRIN_ENV", "test", 1);

	struct config cfg;

	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	ck_assert_int_eq(cfg.test_routes, 1);
	config_free(&cfg);
}
END_TEST

START_TEST(test_dump_masks)
{
	struct config cfg;
	struct buf out;

	production_secrets();
	setenv("DATABASE_URL", "postgresql://app:hunter2pw@db.internal:5432/medrin?sslmode=require",
	       1);
	setenv("REDIS_URL", "redis://:redispw99@cache:6379/1", 1);
	setenv("SMTP_URL", "smtp://mailer:smtppw77@relay:587", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	buf_init(&out, NULL, 1 << 16);
	ck_assert_int_eq(config_dump(&cfg, &out), ERR_OK);
	const char *d = buf_str(&out);

	ck_assert_ptr_nonnull(strstr(d, "SECRET_KEY=****\n"));
	ck_assert_ptr_nonnull(strstr(d, "JWT_SECRET_KEY=****\n"));
	ck_assert_ptr_null(strstr(d, GOOD_SECRET));
	ck_assert_ptr_null(strstr(d, GOOD_JWT));
	ck_assert_ptr_nonnull(strstr(
	    d, "DATABASE_URL=postgresql://app:****@db.internal:5432/medrin?sslmode=require\n"));
	ck_assert_ptr_nonnull(strstr(d, "REDIS_URL=redis://:****@cache:6379/1\n"));
	ck_assert_ptr_nonnull(strstr(d, "SMTP_URL=smtp://mailer:****@relay:587\n"));
	ck_assert_ptr_null(strstr(d, "hunter2pw"));
	ck_assert_ptr_null(strstr(d, "redispw99"));
	ck_assert_ptr_null(strstr(d, "smtppw77"));
	ck_assert_ptr_nonnull(strstr(d, "MEDRIN_ENV_FILE=(unset)\n"));
	buf_free(&out);
	config_free(&cfg);

	/* libpq key=value form with a quoted password holding a space and an escaped quote */
	setenv("DATABASE_URL", "host=db dbname=medrin password='sp ace\\'pw77' user=app", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	buf_init(&out, NULL, 1 << 16);
	ck_assert_int_eq(config_dump(&cfg, &out), ERR_OK);
	d = buf_str(&out);
	ck_assert_ptr_nonnull(
	    strstr(d, "DATABASE_URL=host=db dbname=medrin password=**** user=app\n"));
	ck_assert_ptr_null(strstr(d, "pw77"));
	ck_assert_ptr_null(strstr(d, "ace"));
	char workers[32];

	snprintf(workers, sizeof(workers), "MEDRIN_WORKERS=%d\n", cfg.workers);
	ck_assert_ptr_nonnull(strstr(d, workers));
	ck_assert_ptr_nonnull(strstr(d, "MEDRIN_ENV=production\n"));

	/* Every key appears exactly once, as the first thing on its line. */
	size_t n;
	const struct config_key *k = config_keys(&n);

	for (size_t i = 0; i < n; i++) {
		char needle[128];
		int count = 0;

		snprintf(needle, sizeof(needle), "\n%s=", k[i].name);
		for (const char *p = d - 1; (p = strstr(p + 1, needle)) != NULL;)
			count++;
		if (strncmp(d, needle + 1, strlen(needle + 1)) == 0)
			count++;
		ck_assert_msg(count == 1, "%s appears %d times", k[i].name, count);
	}
	buf_free(&out);
	config_free(&cfg);

	/* key=value conninfo and query-string passwords. */
	setenv("DATABASE_URL", "host=db dbname=medrin password=pw12345 user=app", 1);
	setenv("REDIS_URL", "redis://cache:6379/0", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	buf_init(&out, NULL, 1 << 16);
	ck_assert_int_eq(config_dump(&cfg, &out), ERR_OK);
	ck_assert_ptr_nonnull(
	    strstr(buf_str(&out), "DATABASE_URL=host=db dbname=medrin password=**** user=app\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "REDIS_URL=redis://cache:6379/0\n"));
	ck_assert_ptr_null(strstr(buf_str(&out), "pw12345"));
	buf_free(&out);
	config_free(&cfg);

	/* redis://PASSWORD@host (no colon) is a password to rds.c: masked as well. */
	setenv("REDIS_URL", "redis://bareredispw@cache:6379/0", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	buf_init(&out, NULL, 1 << 16);
	ck_assert_int_eq(config_dump(&cfg, &out), ERR_OK);
	ck_assert_ptr_null(strstr(buf_str(&out), "bareredispw"));
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "REDIS_URL=redis://****@cache:6379/0\n"));
	buf_free(&out);
	config_free(&cfg);

	/* An unset secret (development) shows as unset, not masked. */
	setup();
	setenv("MEDRIN_ENV", "development", 1);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	buf_init(&out, NULL, 1 << 16);
	ck_assert_int_eq(config_dump(&cfg, &out), ERR_OK);
	ck_assert_ptr_nonnull(strstr(buf_str(&out), "\nSECRET_KEY=(unset)\n"));
	buf_free(&out);
	/* A full buffer fails cleanly. */
	buf_init(&out, NULL, 100);
	ck_assert_int_eq(config_dump(&cfg, &out), ERR_TOO_LARGE);
	buf_free(&out);
	config_free(&cfg);
}
END_TEST

START_TEST(test_table)
{
	size_t n;
	const struct config_key *k = config_keys(&n);

	ck_assert_uint_ge(n, 33);
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(k[i].help);
		ck_assert_uint_gt(strlen(k[i].help), 0);
		for (size_t j = i + 1; j < n; j++)
			ck_assert_msg(strcmp(k[i].name, k[j].name) != 0, "duplicate %s", k[i].name);
		if (k[i].type == CONFIG_INT) {
			long v = strtol(k[i].def, NULL, 10);

			ck_assert_msg(v >= k[i].min && v <= k[i].max, "%s default out of range",
			              k[i].name);
		}
		if (k[i].flags & CONFIG_SECRET)
			ck_assert_ptr_null(k[i].def);
	}
}
END_TEST

static char *write_file(const char *text)
{
	static char path[64];

	snprintf(path, sizeof(path), "/tmp/medrin-check-envXXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_env_file)
{
	const char *text = "# a comment\n"
	                   "; another comment\n"
	                   "\n"
	                   "   \t\n"
	                   "A_PLAIN=plain value  \n"
	                   "B_DOUBLE=\"double # not a comment\"\n"
	                   "C_SINGLE='single $HOME \\n'\n"
	                   "  D_SPACED = spaced\n"
	                   "E_ESCAPED=\"say \\\"hi\\\" \\\\ \\$x\"\n"
	                   "F_EMPTY=\n"
	                   "G_EQUALS=a=b=c\n"
	                   "H_CRLF=crlf\r\n"
	                   "I_QUOTED_EMPTY=\"\"\n"
	                   "A_PLAIN=second wins\n"
	                   "J_LAST=no newline";
	char *path = write_file(text);

	setenv("F_EMPTY", "was set", 1);
	ck_assert_int_eq(config_apply_env_file(path, &err), ERR_OK);
	ck_assert_str_eq(buf_str(&err), "");
	ck_assert_str_eq(getenv("A_PLAIN"), "second wins");
	ck_assert_str_eq(getenv("B_DOUBLE"), "double # not a comment");
	ck_assert_str_eq(getenv("C_SINGLE"), "single $HOME \\n");
	ck_assert_str_eq(getenv("D_SPACED"), "spaced");
	ck_assert_str_eq(getenv("E_ESCAPED"), "say \"hi\" \\ $x");
	ck_assert_str_eq(getenv("F_EMPTY"), "");
	ck_assert_str_eq(getenv("G_EQUALS"), "a=b=c");
	ck_assert_str_eq(getenv("H_CRLF"), "crlf");
	ck_assert_str_eq(getenv("I_QUOTED_EMPTY"), "");
	ck_assert_str_eq(getenv("J_LAST"), "no newline");
	unlink(path);
}
END_TEST

START_TEST(test_env_file_bad_lines)
{
	const char *text = "GOOD_ONE=1\n"
	                   "this line has no equals sign\n"
	                   "1BAD=x\n"
	                   "UNTERMINATED=\"open\n"
	                   "TRAILING='x' junk\n"
	                   "=novalue\n"
	                   "GOOD_TWO=2\n";
	char *path = write_file(text);

	ck_assert_int_eq(config_apply_env_file(path, &err), ERR_INVALID);
	const char *e = buf_str(&err);

	for (int line = 2; line <= 6; line++) {
		char needle[16];

		snprintf(needle, sizeof(needle), ":%d: ", line);
		ck_assert_msg(strstr(e, needle) != NULL, "line %d not reported: %s", line, e);
	}
	ck_assert_ptr_null(strstr(e, ":1: "));
	ck_assert_ptr_null(strstr(e, ":7: "));
	/* All or nothing: the good lines were not applied either. */
	ck_assert_ptr_null(getenv("GOOD_ONE"));
	ck_assert_ptr_null(getenv("GOOD_TWO"));
	unlink(path);

	buf_reset(&err);
	ck_assert_int_eq(config_apply_env_file("/nonexistent/medrin.env", &err), ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(buf_str(&err), "/nonexistent/medrin.env"));
}
END_TEST

START_TEST(test_env_file_feeds_load)
{
	char *path = write_file("MEDRIN_ENV=production\n"
	                        "SECRET_KEY='" GOOD_SECRET "'\n"
	                        "JWT_SECRET_KEY=\"" GOOD_JWT "\"\n"
	                        "MEDRIN_WORKERS=3\n");
	struct config cfg;

	ck_assert_int_eq(config_apply_env_file(path, &err), ERR_OK);
	ck_assert_int_eq(config_load(&cfg, &err), ERR_OK);
	ck_assert_int_eq(cfg.workers, 3);
	ck_assert_str_eq(cfg.jwt_secret_key, GOOD_JWT);
	config_free(&cfg);
	unlink(path);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_env_overrides_and_empty_means_default);
	tcase_add_test(tc, test_production_needs_secrets);
	tcase_add_test(tc, test_placeholder_secrets);
	tcase_add_test(tc, test_short_secret);
	tcase_add_test(tc, test_asymmetric_keys);
	tcase_add_test(tc, test_bad_ints);
	tcase_add_test(tc, test_bad_enums);
	tcase_add_test(tc, test_test_routes);
	tcase_add_test(tc, test_dump_masks);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_env_file);
	tcase_add_test(tc, test_env_file_bad_lines);
	tcase_add_test(tc, test_env_file_feeds_load);
	suite_add_tcase(s, tc);
	return s;
}
