/* execute.c - one request from text to response (sections 6 and 7): limits, parsing,
 * validation, operation selection, variable coercion, the static depth / alias / cost
 * limits, then execution with field errors, null propagation and paths. See graphql.h. */
#include "graphql/internal.h"

#include <stdio.h>
#include <string.h>
#include "base/arena.h"
#include "http/json.h"

struct path {
	const struct path *prev;
	const char *key; /* NULL: index */
	size_t index;
};

struct gql_exec {
	struct arena *a;
	const struct gql_schema *s;
	const struct gql_document *doc;
	const struct gql_limits *lim;
	json_object *vars; /* coerced variable values */
	json_object *errors;
	json_object *no_args; /* the arguments of fields without any */
	void *app;
	size_t values;
	int too_large;
	/* the error a resolver recorded with gql_fail */
	const char *pend_code, *pend_message;
	json_object *pend_ext;
};

const struct gql_schema *gql_exec_schema(const struct gql_exec *x)
{
	return x->s;
}

static void put_json(void *p)
{
	json_object_put(p);
}

/* ---- resolver helpers ---- */

int gql_fail(struct gql_call *call, const char *code, const char *message, json_object *ext)
{
	struct gql_exec *x = call->x;

	if (x->pend_ext != NULL)
		json_object_put(x->pend_ext);
	x->pend_code = code;
	x->pend_message = message;
	x->pend_ext = ext;
	return ERR_INVALID;
}

struct gql_val gql_json(struct gql_call *call, json_object *owned)
{
	struct gql_val v = {GQL_V_JSON, owned, NULL, NULL, 0};

	arena_defer(call->arena, put_json, owned);
	if (owned == NULL)
		v.kind = GQL_V_NULL;
	return v;
}

struct gql_val gql_string(struct gql_call *call, const char *s)
{
	struct gql_val v = {GQL_V_NULL, NULL, NULL, NULL, 0};

	if (s != NULL)
		v = gql_json(call, json_object_new_string(s));
	return v;
}

struct gql_val gql_bool(struct gql_call *call, int b)
{
	return gql_json(call, json_object_new_boolean(b));
}

struct gql_val gql_ptr(const void *p)
{
	struct gql_val v = {p != NULL ? GQL_V_PTR : GQL_V_NULL, NULL, p, NULL, 0};

	return v;
}

const char *gql_arg_str(const struct gql_call *call, const char *name, const char *def)
{
	json_object *v;

	if (!json_object_object_get_ex(call->args, name, &v) || v == NULL)
		return def;
	return json_object_get_string(v);
}

int64_t gql_arg_int(const struct gql_call *call, const char *name, int64_t def)
{
	json_object *v;

	if (!json_object_object_get_ex(call->args, name, &v) || v == NULL)
		return def;
	return json_object_get_int64(v);
}

int gql_arg_bool(const struct gql_call *call, const char *name, int def)
{
	json_object *v;

	if (!json_object_object_get_ex(call->args, name, &v) || v == NULL)
		return def;
	return json_object_get_boolean(v);
}

/* ---- errors ---- */

static json_object *loc_json(struct gql_loc l)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "line", json_object_new_int(l.line));
	json_object_object_add(o, "column", json_object_new_int(l.col));
	return o;
}

static json_object *path_json(const struct path *p)
{
	json_object *arr = json_object_new_array();
	size_t n = 0;

	for (const struct path *q = p; q != NULL; q = q->prev)
		n++;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, NULL);
	for (const struct path *q = p; q != NULL; q = q->prev)
		json_object_array_put_idx(arr, --n,
		                          q->key != NULL
		                              ? json_object_new_string(q->key)
		                              : json_object_new_int64((int64_t)q->index));
	return arr;
}

/* Appends {"message","locations","path","extensions":{"code",…ext}} (ext taken over). */
static void add_error(json_object *errors, const char *message, const struct gql_loc *locs,
                      int nlocs, const struct path *p, const char *code, json_object *ext)
{
	json_object *e = json_object_new_object();
	json_object *ex = ext != NULL ? ext : json_object_new_object();

	json_object_object_add(e, "message", json_object_new_string(message));
	if (nlocs > 0) {
		json_object *ls = json_object_new_array();

		for (int i = 0; i < nlocs; i++)
			json_object_array_add(ls, loc_json(locs[i]));
		json_object_object_add(e, "locations", ls);
	}
	if (p != NULL)
		json_object_object_add(e, "path", path_json(p));
	json_object_object_add(ex, "code", json_object_new_string(code));
	json_object_object_add(e, "extensions", ex);
	json_object_array_add(errors, e);
}

static void field_error(struct gql_exec *x, const struct gql_selection *f, const struct path *p,
                        const char *code, const char *message)
{
	add_error(x->errors, message, &f->loc, 1, p, code, NULL);
}

/* ---- collecting fields (6.3.2) ---- */

struct groups;

/* The fields of one response key, and what execution learns about them once: the
 * field's definition, and the sub-selections collected for a type (a list of objects
 * collects them once, not once per item). */
struct group {
	const char *key;
	const struct gql_selection **f;
	size_t n, cap;
	const struct gql_field *fd;
	struct groups *sub;
	const struct gql_type *sub_type;
};

struct groups {
	struct group *g;
	size_t n, cap;
	const char **seen;
	size_t nseen, capseen;
};

static void *grow(struct arena *a, void *items, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return items;
	size_t c = *cap ? *cap * 2 : 8;
	void *p = arena_alloc(a, c * size);

	if (n)
		memcpy(p, items, n * size);
	*cap = c;
	return p;
}

static int directive_if(struct gql_exec *x, const struct gql_directive *d, int *value)
{
	const struct gql_type *bt = gql_type_named(x->s, "Boolean");
	json_object *out = NULL;
	const char *why;

	for (size_t i = 0; i < d->nargs; i++)
		if (strcmp(d->args[i].name, "if") == 0) {
			if (gql_coerce_literal(x->a, bt, &d->args[i].value, x->vars, &out, &why) !=
			        ERR_OK ||
			    out == NULL)
				return ERR_INVALID;
			*value = json_object_get_boolean(out);
			json_object_put(out);
			return ERR_OK;
		}
	return ERR_INVALID;
}

/* Whether @skip / @include keep this selection. */
static int included(struct gql_exec *x, const struct gql_directive *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		if (strcmp(dirs[i].name, "skip") == 0 && directive_if(x, &dirs[i], &v) == ERR_OK &&
		    v)
			return 0;
		if (strcmp(dirs[i].name, "include") == 0 &&
		    directive_if(x, &dirs[i], &v) == ERR_OK && !v)
			return 0;
	}
	return 1;
}

static const struct gql_definition *fragment(const struct gql_exec *x, const char *name)
{
	for (size_t i = 0; i < x->doc->n; i++)
		if (x->doc->defs[i].is_fragment && strcmp(x->doc->defs[i].name, name) == 0)
			return &x->doc->defs[i];
	return NULL;
}

static void collect(struct gql_exec *x, const struct gql_type *t, const struct gql_selset *set,
                    struct groups *out)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct gql_selection *s = &set->items[i];

		if (!included(x, s->dirs, s->ndirs))
			continue;
		if (s->kind == GQL_FIELD) {
			const char *key = s->alias != NULL ? s->alias : s->name;
			size_t k;

			for (k = 0; k < out->n; k++)
				if (strcmp(out->g[k].key, key) == 0)
					break;
			if (k == out->n) {
				out->g = grow(x->a, out->g, out->n, &out->cap, sizeof *out->g);
				memset(&out->g[k], 0, sizeof out->g[k]);
				out->g[k].key = key;
				out->g[k].fd = gql_lookup_field(x->s, t, s->name);
				out->n++;
			}
			struct group *g = &out->g[k];

			g->f = grow(x->a, g->f, g->n, &g->cap, sizeof *g->f);
			g->f[g->n++] = s;
		} else if (s->kind == GQL_INLINE) {
			if (s->type_condition != NULL && strcmp(s->type_condition, t->name) != 0)
				continue;
			collect(x, t, s->sel, out);
		} else {
			const struct gql_definition *fd;
			int dup = 0;

			for (size_t k = 0; k < out->nseen; k++)
				dup |= strcmp(out->seen[k], s->name) == 0;
			if (dup)
				continue;
			out->seen =
			    grow(x->a, out->seen, out->nseen, &out->capseen, sizeof *out->seen);
			out->seen[out->nseen++] = s->name;
			fd = fragment(x, s->name);
			if (fd == NULL || strcmp(fd->type_condition, t->name) != 0)
				continue;
			collect(x, t, fd->sel, out);
		}
	}
}

/* ---- completing values (6.4.3) ---- */

enum { OK = 0, NULL_ERR = 1 }; /* NULL_ERR: null because of an error already recorded */

static int complete(struct gql_exec *x, const struct gql_type *t, struct group *g,
                    const struct gql_field *fd, const struct gql_val *v, const struct path *p,
                    json_object **out);

static int exec_selset(struct gql_exec *x, const struct gql_type *t, struct group *g,
                       const struct gql_val *parent, const struct path *p, json_object **out);

static int count_value(struct gql_exec *x)
{
	if (++x->values > GQL_MAX_RESULT_VALUES)
		x->too_large = 1;
	return x->too_large;
}

static int leaf_mismatch(struct gql_exec *x, struct group *g, const struct path *p,
                         const struct gql_type *t, json_object *j)
{
	const char *shown = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);

	field_error(x, g->f[0], p, "INTERNAL_SERVER_ERROR",
	            arena_printf(x->a, "%s cannot represent value: %.60s", t->name, shown));
	return NULL_ERR;
}

static int complete_leaf(struct gql_exec *x, const struct gql_type *t, struct group *g,
                         const struct gql_val *v, const struct path *p, json_object **out)
{
	json_object *j = v->json;
	enum json_type jt = json_object_get_type(j);

	if (v->kind != GQL_V_JSON)
		return leaf_mismatch(x, g, p, t, NULL);
	if (t->kind == GQL_KIND_ENUM) {
		const char *s = jt == json_type_string ? json_object_get_string(j) : NULL;

		for (size_t i = 0; s != NULL && i < t->nvalues; i++) {
			const char *internal =
			    t->values[i].value != NULL ? t->values[i].value : t->values[i].name;

			if (strcmp(internal, s) == 0) {
				*out = internal == t->values[i].name
				           ? json_object_get(j)
				           : json_object_new_string(t->values[i].name);
				return OK;
			}
		}
		return leaf_mismatch(x, g, p, t, j);
	}
	if (t->scalar == GQL_SCALAR_INT) {
		int64_t i = json_object_get_int64(j);

		if (jt != json_type_int || i < INT32_MIN || i > INT32_MAX)
			return leaf_mismatch(x, g, p, t, j);
	} else if (t->scalar == GQL_SCALAR_FLOAT) {
		if (jt != json_type_int && jt != json_type_double)
			return leaf_mismatch(x, g, p, t, j);
	} else if (t->scalar == GQL_SCALAR_BOOLEAN) {
		if (jt != json_type_boolean)
			return leaf_mismatch(x, g, p, t, j);
	} else if (t->scalar == GQL_SCALAR_ID) {
		if (jt == json_type_int) {
			*out = json_object_new_string(json_object_get_string(j));
			return OK;
		}
		if (jt != json_type_string)
			return leaf_mismatch(x, g, p, t, j);
	} else if (jt != json_type_string) { /* String and the custom scalars */
		return leaf_mismatch(x, g, p, t, j);
	}
	*out = json_object_get(j);
	return OK;
}

static int complete_list(struct gql_exec *x, const struct gql_type *t, struct group *g,
                         const struct gql_field *fd, const struct gql_val *v, const struct path *p,
                         json_object **out)
{
	size_t n;
	json_object *arr;

	if (v->kind == GQL_V_LIST)
		n = v->n;
	else if (v->kind == GQL_V_JSON && json_object_is_type(v->json, json_type_array))
		n = json_object_array_length(v->json);
	else {
		field_error(x, g->f[0], p, "INTERNAL_SERVER_ERROR",
		            arena_printf(x->a, "Expected a list for field \"%s\".", fd->name));
		return NULL_ERR;
	}
	arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct path ip = {p, NULL, i};
		struct gql_val item;
		json_object *j = NULL;

		if (v->kind == GQL_V_LIST) {
			item = v->items[i];
		} else {
			item.kind = GQL_V_JSON;
			item.json = json_object_array_get_idx(v->json, i);
			if (item.json == NULL)
				item.kind = GQL_V_NULL;
		}
		if (complete(x, t->of, g, fd, &item, &ip, &j) != OK) {
			if (t->of->kind == GQL_KIND_NON_NULL || x->too_large) {
				json_object_put(arr);
				return NULL_ERR;
			}
			j = NULL;
		}
		json_object_array_add(arr, j);
	}
	*out = arr;
	return OK;
}

static int complete(struct gql_exec *x, const struct gql_type *t, struct group *g,
                    const struct gql_field *fd, const struct gql_val *v, const struct path *p,
                    json_object **out)
{
	*out = NULL;
	if (count_value(x))
		return NULL_ERR;
	if (t->kind == GQL_KIND_NON_NULL) {
		int rc = complete(x, t->of, g, fd, v, p, out);

		if (rc != OK)
			return rc;
		if (*out == NULL) {
			field_error(
			    x, g->f[0], p, "INTERNAL_SERVER_ERROR",
			    arena_printf(x->a, "Cannot return null for non-nullable field %s.%s.",
			                 fd->owner != NULL ? fd->owner->name : "Query", fd->name));
			return NULL_ERR;
		}
		return OK;
	}
	if (v->kind == GQL_V_NULL || (v->kind == GQL_V_JSON && v->json == NULL))
		return OK;
	if (t->kind == GQL_KIND_LIST)
		return complete_list(x, t, g, fd, v, p, out);
	if (gql_is_leaf(t))
		return complete_leaf(x, t, g, v, p, out);
	if (v->kind == GQL_V_JSON && !json_object_is_type(v->json, json_type_object)) {
		field_error(x, g->f[0], p, "INTERNAL_SERVER_ERROR",
		            arena_printf(x->a, "Expected an object for field \"%s\".", fd->name));
		return NULL_ERR;
	}
	return exec_selset(x, t, g, v, p, out);
}

/* CoerceArgumentValues (6.4.2) for the field (or directive) arguments args. */
static int coerce_args(struct gql_exec *x, const struct gql_input *defs, size_t ndefs,
                       const struct gql_argument *args, size_t nargs, json_object **out,
                       const char **why)
{
	json_object *o;

	if (ndefs == 0) { /* most fields: one shared empty object per request */
		if (x->no_args == NULL) {
			x->no_args = json_object_new_object();
			arena_defer(x->a, put_json, x->no_args);
		}
		*out = x->no_args;
		return ERR_OK;
	}
	o = json_object_new_object();

	for (size_t i = 0; i < ndefs; i++) {
		const struct gql_input *in = &defs[i];
		const struct gql_argument *arg = NULL;
		json_object *v = NULL;
		int rc = GQL_ABSENT;

		for (size_t k = 0; k < nargs; k++)
			if (strcmp(args[k].name, in->name) == 0)
				arg = &args[k];
		if (arg != NULL)
			rc = gql_coerce_literal(x->a, in->type, &arg->value, x->vars, &v, why);
		if (rc == GQL_ABSENT && in->def != NULL)
			rc = gql_coerce_literal(x->a, in->type, in->def, NULL, &v, why);
		if (rc == GQL_ABSENT && in->type->kind == GQL_KIND_NON_NULL) {
			*why = arena_printf(
			    x->a, "Argument \"%s\" of required type \"%s\" was not provided.",
			    in->name, gql_type_str(x->a, in->type));
			rc = ERR_INVALID;
		}
		if (rc == GQL_ABSENT)
			continue;
		if (rc != ERR_OK) {
			*why = arena_printf(x->a, "Argument \"%s\" has an invalid value: %s",
			                    in->name, *why);
			json_object_put(o);
			return ERR_INVALID;
		}
		json_object_object_add(o, in->name, v);
	}
	arena_defer(x->a, put_json, o);
	*out = o;
	return ERR_OK;
}

/* ExecuteField (6.4.1) for one response key; *out is the completed value. */
static int exec_field(struct gql_exec *x, const struct gql_type *t, struct group *g,
                      const struct gql_val *parent, const struct path *p, json_object **out)
{
	const struct gql_selection *f = g->f[0];
	const struct gql_field *fd = g->fd;
	struct gql_call call;
	struct gql_val v = {GQL_V_NULL, NULL, NULL, NULL, 0};
	const char *why = NULL;
	int rc;

	*out = NULL;
	if (fd == &x->s->typename_field) {
		*out = json_object_new_string(t->name);
		return OK;
	}
	memset(&call, 0, sizeof call);
	call.x = x;
	call.app = x->app;
	call.parent = parent;
	call.field = fd->name;
	call.arena = x->a;
	if (coerce_args(x, fd->args, fd->nargs, f->args, f->nargs, &call.args, &why) != ERR_OK) {
		field_error(x, f, p, "BAD_USER_INPUT", why);
		return NULL_ERR;
	}
	x->pend_code = NULL;
	if ((fd->flags & GQL_AUTH) && x->s->authorize != NULL && x->s->authorize(&call) != 0) {
		rc = ERR_UNAUTHORIZED;
		if (x->pend_code == NULL)
			gql_fail(&call, "UNAUTHENTICATED", "A valid access token is required.",
			         NULL);
	} else if (fd->fn != NULL) {
		rc = fd->fn(&call, &v);
	} else {
		rc = ERR_OK;
		if (parent->kind == GQL_V_JSON && parent->json != NULL &&
		    json_object_object_get_ex(parent->json, fd->prop, &v.json) && v.json != NULL)
			v.kind = GQL_V_JSON;
	}
	if (rc != ERR_OK) {
		if (x->pend_code == NULL)
			gql_fail(&call, "INTERNAL_SERVER_ERROR",
			         "Something went wrong on our side.", NULL);
		add_error(x->errors, x->pend_message, &f->loc, 1, p, x->pend_code, x->pend_ext);
		x->pend_ext = NULL;
		return NULL_ERR;
	}
	return complete(x, fd->type, g, fd, &v, p, out);
}

/* ExecuteSelectionSet (6.3) over the merged sub-selections of g (or the operation's
 * selection set when g->n is the operation's). */
static int exec_groups(struct gql_exec *x, const struct gql_type *t, struct groups *gs,
                       const struct gql_val *parent, const struct path *p, json_object **out)
{
	json_object *obj = json_object_new_object();

	for (size_t i = 0; i < gs->n; i++) {
		struct path fp = {p, gs->g[i].key, 0};
		const struct gql_field *fd = gs->g[i].fd;
		json_object *v = NULL;

		if (exec_field(x, t, &gs->g[i], parent, &fp, &v) != OK) {
			if (fd->type->kind == GQL_KIND_NON_NULL || x->too_large) {
				json_object_put(obj);
				*out = NULL;
				return NULL_ERR;
			}
			v = NULL;
		}
		json_object_object_add(obj, gs->g[i].key, v);
	}
	*out = obj;
	return OK;
}

static int exec_selset(struct gql_exec *x, const struct gql_type *t, struct group *g,
                       const struct gql_val *parent, const struct path *p, json_object **out)
{
	if (g->sub == NULL || g->sub_type != t) {
		g->sub = arena_zalloc(x->a, sizeof *g->sub);
		g->sub_type = t;
		for (size_t i = 0; i < g->n; i++)
			if (g->f[i]->sel != NULL)
				collect(x, t, g->f[i]->sel, g->sub);
	}
	return exec_groups(x, t, g->sub, parent, p, out);
}

/* ---- limits (our own, after validation) ---- */

struct measure {
	struct gql_exec *x;
	int64_t *frag_cost; /* per definition index: cost of one spread, -1 unknown */
	int64_t *frag_aliases;
	int *frag_depth;
};

static int64_t sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
	if (a == 0 || b == 0)
		return 0;
	return a > INT64_MAX / b ? INT64_MAX : a * b;
}

static int64_t multiplier(struct gql_exec *x, const struct gql_field *fd,
                          const struct gql_selection *s)
{
	int64_t m = fd->list_size > 0 ? fd->list_size : 1;

	if (fd->size_arg != NULL) {
		const struct gql_input *in = gql_input_of(fd->args, fd->nargs, fd->size_arg);
		const struct gql_value *val = in->def;
		json_object *j = NULL;
		const char *why;

		for (size_t i = 0; i < s->nargs; i++)
			if (strcmp(s->args[i].name, fd->size_arg) == 0)
				val = &s->args[i].value;
		if (val != NULL &&
		    gql_coerce_literal(x->a, in->type, val, x->vars, &j, &why) == ERR_OK &&
		    j != NULL) {
			m = json_object_get_int64(j);
			json_object_put(j);
		}
		if (m < 1)
			m = 1;
	}
	return m;
}

static int fragment_index(const struct gql_exec *x, const char *name)
{
	for (size_t i = 0; i < x->doc->n; i++)
		if (x->doc->defs[i].is_fragment && strcmp(x->doc->defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Cost (fields weighted by the list sizes above them, for a unit multiplier), aliases and
 * depth of a selection set; fragments measured once (the document is valid: no cycles). */
static void measure(struct measure *m, const struct gql_selset *set, const struct gql_type *t,
                    int64_t *cost, int64_t *aliases, int *depth)
{
	*cost = 0, *aliases = 0, *depth = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct gql_selection *s = &set->items[i];
		int64_t c = 0, al = 0;
		int d = 0;

		if (s->kind == GQL_FIELD) {
			const struct gql_field *fd = gql_lookup_field(m->x->s, t, s->name);

			if (s->sel != NULL && fd != NULL) {
				measure(m, s->sel, gql_named(fd->type), &c, &al, &d);
				c = sat_mul(c, multiplier(m->x, fd, s));
			}
			*cost = sat_add(*cost, sat_add(c, 1));
			*aliases = sat_add(*aliases, sat_add(al, s->alias != NULL));
			if (d + 1 > *depth)
				*depth = d + 1;
			continue;
		}
		if (s->kind == GQL_INLINE) {
			measure(m, s->sel,
			        s->type_condition != NULL
			            ? gql_type_named(m->x->s, s->type_condition)
			            : t,
			        &c, &al, &d);
		} else {
			int fi = fragment_index(m->x, s->name);

			if (fi < 0)
				continue;
			if (m->frag_cost[fi] < 0) {
				const struct gql_definition *fd = &m->x->doc->defs[fi];

				measure(m, fd->sel, gql_type_named(m->x->s, fd->type_condition),
				        &m->frag_cost[fi], &m->frag_aliases[fi],
				        &m->frag_depth[fi]);
			}
			c = m->frag_cost[fi], al = m->frag_aliases[fi], d = m->frag_depth[fi];
		}
		*cost = sat_add(*cost, c);
		*aliases = sat_add(*aliases, al);
		if (d > *depth)
			*depth = d;
	}
}

static int check_limits(struct gql_exec *x, const struct gql_definition *op,
                        const struct gql_type *root, json_object *errors)
{
	struct measure m = {x, NULL, NULL, NULL};
	size_t n = x->doc->n ? x->doc->n : 1;
	int64_t cost, aliases;
	int depth;

	m.frag_cost = arena_alloc(x->a, n * sizeof *m.frag_cost);
	m.frag_aliases = arena_alloc(x->a, n * sizeof *m.frag_aliases);
	m.frag_depth = arena_alloc(x->a, n * sizeof *m.frag_depth);
	for (size_t i = 0; i < n; i++)
		m.frag_cost[i] = -1;
	measure(&m, op->sel, root, &cost, &aliases, &depth);
	if (depth > x->lim->max_depth)
		add_error(errors,
		          arena_printf(
		              x->a, "The query is nested %d levels deep; at most %d are allowed.",
		              depth, x->lim->max_depth),
		          &op->loc, 1, NULL, "DEPTH_LIMIT_EXCEEDED", NULL);
	if (aliases > x->lim->max_aliases)
		add_error(errors,
		          arena_printf(x->a, "The query has %lld aliases; at most %d are allowed.",
		                       (long long)aliases, x->lim->max_aliases),
		          &op->loc, 1, NULL, "ALIAS_LIMIT_EXCEEDED", NULL);
	if (cost > x->lim->max_cost)
		add_error(
		    errors,
		    arena_printf(x->a,
		                 "The query costs %lld (fields times the list sizes above them); "
		                 "at most %lld is allowed.",
		                 (long long)cost, (long long)x->lim->max_cost),
		    &op->loc, 1, NULL, "COST_LIMIT_EXCEEDED", NULL);
	return json_object_array_length(errors) > 0 ? ERR_INVALID : ERR_OK;
}

/* ---- variables (6.4.1 CoerceVariableValues) ---- */

static int coerce_variables(struct gql_exec *x, const struct gql_definition *op, json_object *given,
                            json_object *errors)
{
	json_object *vars = json_object_new_object();

	arena_defer(x->a, put_json, vars);
	x->vars = vars;
	for (size_t i = 0; i < op->nvars; i++) {
		const struct gql_vardef *vd = &op->vars[i];
		const struct gql_type *t = gql_type_from_ref(x->a, x->s, vd->type);
		json_object *in, *out = NULL;
		const char *why = NULL;
		int rc;

		if (given != NULL && json_object_object_get_ex(given, vd->name, &in)) {
			rc = gql_coerce_json(x->a, t, in, arena_printf(x->a, "$%s", vd->name), &out,
			                     &why);
		} else if (vd->def != NULL) {
			rc = gql_coerce_literal(x->a, t, vd->def, NULL, &out, &why);
		} else if (t->kind == GQL_KIND_NON_NULL) {
			why = arena_printf(
			    x->a, "Variable \"$%s\" of required type \"%s\" was not provided.",
			    vd->name, gql_type_str(x->a, t));
			rc = ERR_INVALID;
		} else {
			continue;
		}
		if (rc != ERR_OK) {
			add_error(errors,
			          arena_printf(x->a, "Variable \"$%s\" got an invalid value. %s",
			                       vd->name, why),
			          &vd->loc, 1, NULL, "BAD_USER_INPUT", NULL);
			continue;
		}
		json_object_object_add(vars, vd->name, out);
	}
	return json_object_array_length(errors) > 0 ? ERR_INVALID : ERR_OK;
}

/* ---- the request ---- */

static void request_error(struct gql_result *res, json_object *errors)
{
	json_object_object_add(res->response, "errors", errors);
	res->outcome = GQL_RES_INVALID;
}

static const struct gql_definition *select_operation(struct gql_exec *x, const char *name,
                                                     json_object *errors)
{
	const struct gql_definition *found = NULL;
	struct gql_loc nowhere = {0, 0};

	for (size_t i = 0; i < x->doc->n; i++) {
		const struct gql_definition *d = &x->doc->defs[i];

		if (d->is_fragment)
			continue;
		if (name == NULL) {
			if (found != NULL) {
				add_error(errors,
				          "Must provide operation name if query contains multiple "
				          "operations.",
				          &nowhere, 0, NULL, "BAD_REQUEST", NULL);
				return NULL;
			}
			found = d;
		} else if (d->name != NULL && strcmp(d->name, name) == 0) {
			return d;
		}
	}
	if (found == NULL)
		add_error(errors,
		          name != NULL ? arena_printf(x->a, "Unknown operation named \"%s\".", name)
		                       : "Must provide an operation.",
		          &nowhere, 0, NULL, "BAD_REQUEST", NULL);
	return found;
}

int gql_execute(struct arena *a, const struct gql_schema *s, const struct gql_limits *lim,
                const struct gql_request *req, struct gql_result *res)
{
	struct gql_exec x;
	struct gql_document doc;
	struct gql_syntax_error se;
	struct gql_verrors verrs;
	json_object *errors = json_object_new_array(), *data = NULL;
	const struct gql_definition *op = NULL;
	const struct gql_type *root;

	memset(&x, 0, sizeof x);
	memset(&verrs, 0, sizeof verrs);
	x.a = a;
	x.s = s;
	x.lim = lim;
	x.doc = &doc;
	x.app = req->app;
	x.errors = errors;
	res->response = json_new_object(a);
	res->outcome = GQL_RES_DATA;
	if (req->query_len > lim->max_document) {
		struct gql_loc nowhere = {0, 0};

		add_error(errors,
		          arena_printf(a, "The document is %zu bytes; at most %zu are allowed.",
		                       req->query_len, lim->max_document),
		          &nowhere, 0, NULL, "DOCUMENT_TOO_LARGE", NULL);
		request_error(res, errors);
		return ERR_OK;
	}
	if (gql_parse(a, req->query, req->query_len, &doc, &se) != ERR_OK) {
		add_error(errors, se.message, &se.loc, 1, NULL, "GRAPHQL_PARSE_FAILED", NULL);
		request_error(res, errors);
		return ERR_OK;
	}
	/* GraphQL over HTTP: a mutation over GET is 405 whether or not it is valid. */
	if (!req->allow_mutation) {
		json_object *scratch = json_object_new_array();

		op = select_operation(&x, req->operation_name, scratch);
		json_object_put(scratch);
	}
	if (!req->allow_mutation && op != NULL && op->op != GQL_QUERY) {
		json_object_put(errors);
		errors = json_object_new_array();
		add_error(
		    errors,
		    arena_printf(a, "A %s cannot be sent with GET; use POST.", gql_op_name(op->op)),
		    &op->loc, 1, NULL, "METHOD_NOT_ALLOWED", NULL);
		request_error(res, errors);
		res->outcome = GQL_RES_NOT_ALLOWED;
		return ERR_OK;
	}
	if (gql_validate(a, s, &doc, lim->introspection, &verrs) != ERR_OK) {
		for (size_t i = 0; i < verrs.n; i++)
			add_error(
			    errors, verrs.e[i].message, verrs.e[i].locs, verrs.e[i].nlocs, NULL,
			    verrs.e[i].code != NULL ? verrs.e[i].code : "GRAPHQL_VALIDATION_FAILED",
			    NULL);
		request_error(res, errors);
		return ERR_OK;
	}
	op = select_operation(&x, req->operation_name, errors);
	if (op == NULL) {
		request_error(res, errors);
		return ERR_OK;
	}
	root = op->op == GQL_QUERY ? s->query : s->mutation;
	if (coerce_variables(&x, op, req->variables, errors) != ERR_OK ||
	    check_limits(&x, op, root, errors) != ERR_OK) {
		request_error(res, errors);
		return ERR_OK;
	}

	struct groups gs;
	struct gql_val rootval = {GQL_V_NULL, NULL, NULL, NULL, 0};

	memset(&gs, 0, sizeof gs);
	collect(&x, root, op->sel, &gs);
	if (exec_groups(&x, root, &gs, &rootval, NULL, &data) != OK)
		data = NULL;
	if (x.too_large) {
		struct gql_loc nowhere = {0, 0};

		json_object_put(data);
		json_object_put(errors);
		errors = json_object_new_array();
		add_error(errors,
		          arena_printf(a,
		                       "The response would have more than %d values; ask for less.",
		                       GQL_MAX_RESULT_VALUES),
		          &nowhere, 0, NULL, "RESULT_TOO_LARGE", NULL);
		request_error(res, errors);
		return ERR_OK;
	}
	if (json_object_array_length(errors) > 0)
		json_object_object_add(res->response, "errors", errors);
	else
		json_object_put(errors);
	json_object_object_add(res->response, "data", data);
	return ERR_OK;
}
