/* app.h - the worker's application object and the one entry point for a request.
 *
 * fcgi/ calls app_init once per worker process, app_handle once per request (with a
 * fresh or reset arena), and app_close before the worker exits. Nothing connects in
 * app_init: PostgreSQL and Redis connect lazily on first use.
 */
#ifndef MEDRIN_APP_H
#define MEDRIN_APP_H

#include "api/api.h"

int app_init(struct app *app, const struct config *cfg) MUSTCHECK;
void app_close(struct app *app);

/* app_handle routes req and fills resp. Never fails: every outcome is a response. */
void app_handle(struct app *app, struct arena *a, const struct http_req *req,
                struct http_resp *resp);

#endif
