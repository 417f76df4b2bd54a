/* main.c - medrin-fcgi: configuration, the listening socket, then the master.
 *
 *   medrin-fcgi            run the pool (configuration from the environment and the
 *                          optional MEDRIN_ENV_FILE)
 *   medrin-fcgi --check    validate the configuration, token keys included, and exit
 *                          (0 valid, 2 invalid)
 *   medrin-fcgi --version
 *
 * Exit status: 0 after a graceful stop, 1 on a start-up failure (socket in use, bind,
 * shared memory), 2 on an invalid configuration (MEDRIN_LISTEN malformed included) or
 * usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h" /* autoconf: PACKAGE_VERSION */
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "security/token.h"
#include "listen.h"
#include "master.h"

#define PROG "medrin-fcgi"

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--check | --version | --help]\n"
	           "Runs the Medrin FastCGI pool; configuration comes from the environment\n"
	           "(and MEDRIN_ENV_FILE). --check only validates it.\n");
}

/* Prints the problem lines config_* left in err, one per line, for a person. */
static void print_problems(const char *what, const struct buf *err)
{
	const char *p = buf_str(err);

	fprintf(stderr, PROG ": %s\n", what);
	while (*p) {
		size_t n = strcspn(p, "\n");

		if (n)
			fprintf(stderr, "  %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct listen_sock ls;
	struct buf err;
	char *env_file = NULL;
	const char *level = getenv("MEDRIN_LOG_LEVEL");
	int check = 0;
	int loaded = 0;
	int code = 0;
	int rc;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	ls.fd = -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf(PROG " %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	log_init(PROG, level && *level ? level : "info");
	buf_init(&err, NULL, 65536);

	master_save_environment();
	if (getenv("MEDRIN_ENV_FILE") && *getenv("MEDRIN_ENV_FILE")) {
		env_file = strdup(getenv("MEDRIN_ENV_FILE"));
		if (!env_file)
			abort();
		rc = config_apply_env_file(env_file, &err);
		if (rc < 0) {
			print_problems("cannot read MEDRIN_ENV_FILE; refusing to start", &err);
			code = 2;
			goto out;
		}
	}
	rc = config_load(&cfg, &err);
	loaded = 1;
	if (rc < 0) {
		print_problems("invalid configuration; refusing to start", &err);
		code = 2;
		goto out;
	}
	log_init(PROG, cfg.log_level);
	/* The keys every worker loads in app_init: a missing, unreadable or wrong key file
	 * is refused here (and by --check) rather than by workers dying one after the
	 * other. The master does not keep them. */
	{
		struct token_keys *keys = NULL;

		if (token_keys_load(&cfg, &keys) != ERR_OK) {
			fprintf(
			    stderr,
			    PROG ": the token keys cannot be loaded (JWT_ALGORITHM=%s; the error "
			         "line above names the problem); refusing to start\n",
			    cfg.jwt_algorithm && *cfg.jwt_algorithm ? cfg.jwt_algorithm : "HS256");
			code = 2;
			goto out;
		}
		token_keys_free(keys);
	}
	if (check) {
		printf(PROG ": configuration OK (MEDRIN_ENV=%s, MEDRIN_LISTEN=%s, "
		            "MEDRIN_WORKERS=%d)\n",
		       cfg.env, cfg.listen, cfg.workers);
		goto out;
	}

	rc = listen_open(cfg.listen, cfg.dev_mode, &ls);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot listen on %s (%s); see the log line above\n",
		        cfg.listen, err_name(rc));
		code = rc == ERR_INVALID ? 2 : 1;
		goto out;
	}
	if (metrics_map() < 0) {
		log_error("cannot map the shared metrics page");
		code = 1;
		goto out;
	}
	if (master_run(&cfg, &ls, env_file) < 0)
		code = 1;
out:
	if (ls.fd >= 0)
		listen_close(&ls);
	if (loaded)
		config_free(&cfg);
	buf_free(&err);
	free(env_file);
	return code;
}
