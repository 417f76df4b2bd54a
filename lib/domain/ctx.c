/* ctx.c - the request context; see ctx.h. */
#include "domain/ctx.h"

#include <string.h>

void ctx_init(struct ctx *c, const struct services *svc, struct arena *a, const char *ip,
              const char *user_agent)
{
	memset(c, 0, sizeof(*c));
	c->svc = svc;
	c->cfg = svc != NULL ? svc->cfg : NULL;
	c->db = svc != NULL ? svc->db : NULL;
	c->rds = svc != NULL ? svc->rds : NULL;
	c->arena = a;
	c->client.ip = ip;
	c->client.user_agent = user_agent;
	c->why.attempts_remaining = -1;
}

int ctx_fail(struct ctx *c, int err, const char *code, const char *detail)
{
	c->why.code = code;
	c->why.detail = detail;
	c->why.field = NULL;
	c->why.retry_after = 0;
	c->why.attempts_remaining = -1;
	return err;
}
