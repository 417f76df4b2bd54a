/* services.c - the worker's long-lived parts and the one registry; see services.h. */
#include "domain/services.h"

#include <string.h>
#include "base/config.h"
#include "base/log.h"
#include "domain/audit.h"
#include "domain/oidc.h"
#include "domain/resumes.h"
#include "domain/jobs.h"
#include "domain/sessions.h"
#include "domain/tasks.h"
#include "domain/users.h"
#include "domain/users_manage.h"
#include "domain/profiles.h"
#include "security/otp.h"
#include "security/throttle.h"
#include "security/password.h"
#include "security/token.h"
#include "store/db.h"
#include "store/rds.h"

/* The registry: every module with statements or scripts, once. */
static int register_modules(struct services *s)
{
	int rc = users_register(s->db);

	if (rc == ERR_OK)
		rc = tasks_register(s->db);
	if (rc == ERR_OK)
		rc = audit_register(s->db);
	if (rc == ERR_OK)
		rc = users_self_register(s->db);
	if (rc == ERR_OK)
		rc = users_admin_register(s->db);
	if (rc == ERR_OK)
		rc = profiles_register(s->db);
	if (rc == ERR_OK)
		rc = oidc_register(s->db);
	if (rc == ERR_OK)
		rc = resumes_register(s->db);
	if (rc == ERR_OK)
		rc = jobs_register(s->db);
	if (rc == ERR_OK)
		rc = otp_init(s->rds);
	if (rc == ERR_OK)
		rc = sessions_init(s->rds);
	if (rc == ERR_OK)
		rc = throttle_init(s->rds);
	if (rc != ERR_OK)
		log_error("services: a statement table or script was refused at registration");
	return rc;
}

int services_open(struct services *s, const struct config *cfg)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->hash_slots = -1;
	s->db = db_new(cfg->database_url, cfg->db_statement_timeout_ms, cfg->db_connect_timeout_s,
	               cfg->db_io_timeout_ms);
	s->rds = rds_new(cfg->redis_url, cfg->redis_prefix, cfg->redis_timeout_ms);
	if (s->rds != NULL && rds_set_sentinels(s->rds, cfg->redis_sentinels, cfg->redis_master,
	                                        cfg->redis_failover_wait_ms) != ERR_OK) {
		rc = ERR_INVALID;
		goto out;
	}
	if (s->db == NULL || s->rds == NULL) {
		log_error("services: cannot create the storage handles");
		rc = ERR_INTERNAL;
		goto out;
	}
	rc = register_modules(s);
	if (rc != ERR_OK)
		goto out;
	rc = token_keys_load(cfg, &s->keys);
	if (rc != ERR_OK) {
		log_error("services: cannot load the token keys");
		goto out;
	}
	/* Opened here, in the process that uses it (after any fork), and checked at once:
	 * a limiter that cannot be used must stop the worker from starting, not turn every
	 * later password operation into a 500. */
	s->hash_slots = password_limiter_open(cfg);
	rc = password_limiter_check(s->hash_slots);
	if (rc != ERR_OK) {
		log_error("services: the hashing limiter cannot be used in this process");
		goto out;
	}
	/* The dummy hash an unknown address is checked against, made now so that the first
	 * such login costs what every other one does. */
	rc = password_prepare();
out:
	if (rc != ERR_OK)
		services_close(s);
	return rc;
}

void services_close(struct services *s)
{
	if (s->keys != NULL)
		token_keys_free(s->keys);
	s->keys = NULL;
	if (s->hash_slots >= 0)
		password_limiter_close(s->hash_slots);
	s->hash_slots = -1;
	if (s->db != NULL)
		db_free(s->db);
	if (s->rds != NULL)
		rds_free(s->rds);
	s->db = NULL;
	s->rds = NULL;
}

void services_ping(const struct services *s, int *pg_ok, int *redis_ok)
{
	*pg_ok = s != NULL && s->db != NULL && db_ping(s->db) == ERR_OK;
	*redis_ok = s != NULL && s->rds != NULL && rds_ping(s->rds) == ERR_OK;
}
