/* tasks.c - GET /api/v1/tasks/{id}: a queued task's state, for its owner only (another
 * user's task, or one without an owner such as a mail, is 404). */
#include "api/api.h"

#include "api/render.h"
#include "domain/resumes.h"

int api_tasks_get(struct api_req *r)
{
	struct task_view t;
	int rc = resumes_task_get(&r->ctx, api_param(r, "id"), &t);

	if (rc != ERR_OK)
		return api_outcome(r, rc);
	return api_json(r, 200, render_task(r->arena, &t));
}
