/* app.c - the worker's application object; see app.h. */
#include "api/app.h"

#include <string.h>
#include "base/log.h"
#include "base/metrics.h"
#include "api/dispatch.h"
#include "store/db.h"
#include "store/rds.h"

/* Route names for the metrics page, indexed like api_routes (metrics keeps the pointer,
 * so the array lives as long as the process). */
static const char *route_names[METRICS_MAX_ROUTES];

/* ==== Module registration ====
 * Modules that need worker-lifetime setup register it here: PostgreSQL statement tables
 * (db_register(app->db, table, n)), Redis Lua scripts (rds_script(app->rds, lua)), keys
 * (app->keys), the hashing limiter (app->hash_slots_fd). Nothing may connect here: db and
 * rds connect lazily on first use. Returns ERR_OK or the first failure. */
static int app_register_modules(struct app *app)
{
	return auth_module_init(app);
}

int app_init(struct app *app, const struct config *cfg)
{
	int rc;

	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	app->keys = NULL;
	app->hash_slots_fd = -1;
	app->db = db_new(cfg->database_url, cfg->db_statement_timeout_ms, cfg->db_connect_timeout_s,
	                 cfg->db_io_timeout_ms);
	app->rds = rds_new(cfg->redis_url, cfg->redis_prefix, cfg->redis_timeout_ms);
	if (app->db == NULL || app->rds == NULL) {
		log_error("app: cannot create the storage handles");
		rc = ERR_INTERNAL;
		goto out;
	}
	if (api_nroutes > METRICS_MAX_ROUTES)
		log_warn("app: %zu routes, metrics keep the first %d", api_nroutes, METRICS_MAX_ROUTES);
	for (size_t i = 0; i < api_nroutes && i < METRICS_MAX_ROUTES; i++)
		route_names[i] = api_routes[i].name;
	metrics_set_routes(route_names, api_nroutes < METRICS_MAX_ROUTES ? api_nroutes
	                                                                 : METRICS_MAX_ROUTES);
	rc = app_register_modules(app);
out:
	if (rc != ERR_OK)
		app_close(app);
	return rc;
}

void app_close(struct app *app)
{
	auth_module_close(app);
	if (app->db != NULL)
		db_free(app->db);
	if (app->rds != NULL)
		rds_free(app->rds);
	app->db = NULL;
	app->rds = NULL;
}

void app_handle(struct app *app, struct arena *a, const struct http_req *req,
                struct http_resp *resp)
{
	log_set_request_id(req->request_id);
	dispatch(app, api_routes, api_nroutes, a, req, resp);
	log_set_request_id(NULL);
}
