/* dispatch.h - the request pipeline between the transport and the handlers.
 *
 * match route (404 / 405 + Allow) -> test-route gate -> body limit (413) -> content type
 * (415) -> JSON parse (400) -> authentication (401/403/503) -> handler -> metrics and the
 * access log line. Every failure is a problem+json response.
 */
#ifndef MEDRIN_DISPATCH_H
#define MEDRIN_DISPATCH_H

#include "api/api.h"

void dispatch(struct app *app, const struct route *table, size_t n, struct arena *a,
              const struct http_req *req, struct http_resp *resp);

#endif
