/* medrinctl - Medrin's admin tool: migrations, configuration checks, the first admin.
 *
 * Exit status: 0 ok, 1 runtime failure (PostgreSQL down, migration refused or failed),
 * 2 usage or configuration error. Human output goes to stdout, problems to stderr, log
 * lines (JSON) to stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "domain/ctx.h"
#include "domain/services.h"
#include "domain/users_manage.h"
#include "security/password.h"
#include "store/db.h"
#include "store/migrate.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

#define PASSWORD_INPUT_LINE 1024

static const char usage_text[] =
    "usage: medrinctl [--env-file FILE] COMMAND\n"
    "\n"
    "commands:\n"
    "  migrate [--dir DIR]   apply pending sql/migrations (default MEDRIN_MIGRATIONS_DIR)\n"
    "  config check          validate the configuration and print it, secrets masked\n"
    "  config keys           list every configuration variable, one per line\n"
    "  create-admin EMAIL    create a verified admin account; the password is asked on\n"
    "                        the terminal, or read as one line from standard input\n"
    "  promote EMAIL ROLE    set the role (user, staff, admin) of an existing account\n"
    "\n"
    "options:\n"
    "  -e, --env-file FILE   apply FILE's KEY=VALUE lines (systemd EnvironmentFile\n"
    "                        syntax): they override the environment, as MEDRIN_ENV_FILE\n"
    "                        does for medrin-fcgi. MEDRIN_ENV_FILE, when set, is applied\n"
    "                        the same way first, so FILE also wins over it\n"
    "  -h, --help            show this help\n"
    "  -V, --version         show the version\n"
    "\n"
    "exit status: 0 ok, 1 runtime failure, 2 usage or configuration error\n";

static int usage_error(const char *msg)
{
	fprintf(stderr, "medrinctl: %s\n%s", msg, usage_text);
	return EXIT_USAGE;
}

static int cmd_config_keys(void)
{
	size_t n;
	const struct config_key *k = config_keys(&n);

	for (size_t i = 0; i < n; i++)
		printf("%s\n", k[i].name);
	return EXIT_OK;
}

static int cmd_config_check(const struct config *cfg)
{
	struct buf out;
	int rc;

	buf_init(&out, NULL, 1 << 20);
	rc = config_dump(cfg, &out);
	if (rc == ERR_OK)
		fputs(buf_str(&out), stdout);
	else
		fprintf(stderr, "medrinctl: config dump failed: %s\n", err_name(rc));
	buf_free(&out);
	return rc == ERR_OK ? EXIT_OK : EXIT_RUNTIME;
}

static int cmd_migrate(const struct config *cfg, const char *dir)
{
	struct buf out;
	int applied = 0;
	/* No statement_timeout: a migration may legitimately run long, and a second
	 * medrinctl waits on the advisory lock for as long as the first one takes. */
	struct db *db = db_new(cfg->database_url, 0, cfg->db_connect_timeout_s, 0);

	buf_init(&out, NULL, 1 << 20);
	int rc = migrate_run(db, dir ? dir : cfg->migrations_dir, &out, &applied);

	fputs(buf_str(&out), rc == ERR_OK ? stdout : stderr);
	if (rc != ERR_OK) {
		fprintf(stderr, "medrinctl: migrate failed (%s)", err_name(rc));
		if (applied > 0)
			fprintf(stderr, " after applying %d migration%s", applied,
			        applied == 1 ? "" : "s");
		fputc('\n', stderr);
	}
	buf_free(&out);
	db_free(db);
	return rc == ERR_OK ? EXIT_OK : EXIT_RUNTIME;
}

/* read_password reads the new admin's password: prompted twice without echo on a
 * terminal, else one line of standard input (its newline removed). */
static char *read_password(void)
{
	char a[PASSWORD_INPUT_LINE], b[PASSWORD_INPUT_LINE];
	int tty = isatty(STDIN_FILENO);
	struct termios old, quiet;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return NULL;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		/* Echo off first, then the prompt: what is typed after the prompt is kept. */
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fputs("Password: ", stderr);
	}
	int ok = fgets(a, sizeof a, stdin) != NULL;

	if (tty) {
		fputs("\nAgain: ", stderr);
		ok = ok && fgets(b, sizeof b, stdin) != NULL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return NULL;
	a[strcspn(a, "\n")] = '\0';
	if (tty) {
		b[strcspn(b, "\n")] = '\0';
		if (strcmp(a, b) != 0) {
			fprintf(stderr, "medrinctl: the passwords differ\n");
			return NULL;
		}
	}
	return util_xstrdup(a);
}

/* cmd_users runs create-admin / promote with the services a worker uses, so the domain
 * functions (and their audit rows) are the same ones the API calls. */
static int cmd_users(const struct config *cfg, const char *cmd, const char *email_in,
                     const char *role)
{
	struct services svc;
	struct ctx c;
	struct user u;
	struct arena *a = arena_new(0);
	char *pw = NULL;
	const char *email = util_normalize_email(a, email_in);
	int status = EXIT_RUNTIME;
	int rc;

	if (!util_email_valid(email)) {
		fprintf(stderr, "medrinctl: %s is not a valid email address\n", email_in);
		arena_free(a);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "create-admin") == 0) {
		const char *why;

		pw = read_password();
		if (pw == NULL) {
			fprintf(stderr, "medrinctl: no password given\n");
			arena_free(a);
			return EXIT_USAGE;
		}
		if ((why = password_policy(pw)) != NULL) {
			fprintf(stderr, "medrinctl: the password %s\n", why);
			goto out_pw;
		}
	}
	if (services_open(&svc, cfg) != ERR_OK) {
		fprintf(stderr, "medrinctl: cannot open PostgreSQL and Redis\n");
		goto out_pw;
	}
	ctx_init(&c, &svc, a, NULL, "medrinctl");
	if (pw != NULL)
		rc = users_create_admin(&c, email, pw, &u);
	else
		rc = users_promote(&c, email, role, &u);
	if (rc == ERR_OK) {
		printf("%s %s (%s) is %s\n", pw != NULL ? "created" : "updated", u.email, u.id,
		       u.role);
		status = EXIT_OK;
	} else {
		fprintf(stderr, "medrinctl: %s failed: %s\n", cmd,
		        c.why.detail != NULL ? c.why.detail : err_name(rc));
	}
	services_close(&svc);
out_pw:
	if (pw != NULL) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	arena_free(a);
	return status == EXIT_OK ? EXIT_OK : status;
}

/* apply_env_file reads one EnvironmentFile; prints its problems. */
static int apply_env_file(const char *path)
{
	struct buf err;

	buf_init(&err, NULL, 64 * 1024);
	int rc = config_apply_env_file(path, &err);

	if (rc != ERR_OK)
		fprintf(stderr, "medrinctl: %s", buf_str(&err));
	buf_free(&err);
	return rc;
}

int main(int argc, char **argv)
{
	const char *env_file = NULL;
	int i = 1;

	log_init("medrinctl", "info");
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		} else if (strcmp(o, "-V") == 0 || strcmp(o, "--version") == 0) {
			printf("medrinctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_OK;
		} else if (strcmp(o, "-e") == 0 || strcmp(o, "--env-file") == 0) {
			if (i + 1 >= argc)
				return usage_error("--env-file needs a file");
			env_file = argv[++i];
		} else if (strncmp(o, "--env-file=", 11) == 0) {
			env_file = o + 11;
		} else {
			return usage_error("unknown option");
		}
	}
	if (i >= argc)
		return usage_error("no command given");
	const char *cmd = argv[i++];
	const char *sub = i < argc ? argv[i] : NULL;
	const char *dir = NULL;

	if (strcmp(cmd, "config") == 0) {
		if (sub == NULL || (strcmp(sub, "check") != 0 && strcmp(sub, "keys") != 0))
			return usage_error("config needs check or keys");
		if (i + 1 < argc)
			return usage_error("too many arguments");
		if (strcmp(sub, "keys") == 0)
			return cmd_config_keys();
	} else if (strcmp(cmd, "migrate") == 0) {
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
				dir = argv[++i];
			else if (strncmp(argv[i], "--dir=", 6) == 0)
				dir = argv[i] + 6;
			else
				return usage_error("migrate takes only --dir DIR");
		}
	} else if (strcmp(cmd, "create-admin") == 0) {
		if (argc - i != 1)
			return usage_error("create-admin needs EMAIL");
	} else if (strcmp(cmd, "promote") == 0) {
		if (argc - i != 2)
			return usage_error("promote needs EMAIL ROLE");
		if (strcmp(argv[i + 1], "user") != 0 && strcmp(argv[i + 1], "staff") != 0 &&
		    strcmp(argv[i + 1], "admin") != 0)
			return usage_error("ROLE must be user, staff or admin");
	} else {
		return usage_error("unknown command");
	}

	/* Precedence (the help text): defaults < environment < MEDRIN_ENV_FILE < --env-file.
	 * A file overrides the environment, as for medrin-fcgi (whose env file is what a
	 * reload re-reads); the file named on the command line is applied last. */
	const char *from_env = getenv("MEDRIN_ENV_FILE");

	if (from_env != NULL && *from_env != '\0' &&
	    (env_file == NULL || strcmp(from_env, env_file) != 0)) {
		/* Copy: applying the file may setenv MEDRIN_ENV_FILE itself. */
		char *path = strdup(from_env);
		int rc = path ? apply_env_file(path) : ERR_INTERNAL;

		free(path);
		if (rc != ERR_OK)
			return EXIT_USAGE;
	}
	if (env_file != NULL && apply_env_file(env_file) != ERR_OK)
		return EXIT_USAGE;

	struct config cfg;
	struct buf err;

	buf_init(&err, NULL, 64 * 1024);
	if (config_load(&cfg, &err) != ERR_OK) {
		fprintf(stderr, "medrinctl: configuration problems:\n%s", buf_str(&err));
		buf_free(&err);
		return EXIT_USAGE;
	}
	buf_free(&err);
	log_init("medrinctl", cfg.log_level);

	int status;

	if (strcmp(cmd, "config") == 0)
		status = cmd_config_check(&cfg);
	else if (strcmp(cmd, "migrate") == 0)
		status = cmd_migrate(&cfg, dir);
	else
		status =
		    cmd_users(&cfg, cmd, sub, strcmp(cmd, "promote") == 0 ? argv[i + 1] : NULL);

	/* log_init keeps the level only by comparison, not by pointer: safe to free. */
	config_free(&cfg);
	return status;
}
