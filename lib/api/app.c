/* app.c - the worker's application object; see app.h. */
#include "api/app.h"

#include <string.h>
#include "base/log.h"
#include "base/metrics.h"
#include "api/dispatch.h"
#include "domain/services.h"

/* Route names for the metrics page, indexed like api_routes (metrics keeps the pointer,
 * so the array lives as long as the process). */
static const char *route_names[METRICS_MAX_ROUTES];

int app_init(struct app *app, const struct config *cfg)
{
	memset(app, 0, sizeof(*app));
	app->cfg = cfg;
	if (api_nroutes > METRICS_MAX_ROUTES)
		log_warn("app: %zu routes, metrics keep the first %d", api_nroutes,
		         METRICS_MAX_ROUTES);
	for (size_t i = 0; i < api_nroutes && i < METRICS_MAX_ROUTES; i++)
		route_names[i] = api_routes[i].name;
	metrics_set_routes(route_names,
	                   api_nroutes < METRICS_MAX_ROUTES ? api_nroutes : METRICS_MAX_ROUTES);
	/* Every statement table, Lua script, key and the hashing limiter: services.c. */
	return services_open(&app->svc, cfg);
}

void app_close(struct app *app)
{
	services_close(&app->svc);
}

void app_handle(struct app *app, struct arena *a, const struct http_req *req,
                struct http_resp *resp)
{
	log_set_request_id(req->request_id);
	dispatch(app, api_routes, api_nroutes, a, req, resp);
	log_set_request_id(NULL);
}
