/* validate.c - the validation rules of section 5 that apply to schemas without
 * interfaces or unions; see internal.h. Messages follow graphql-js's wording.
 *
 * One walk over every definition, with the parent type known, checks the rules that look
 * at one selection (fields, arguments, directives, values, fragments' types and targets,
 * leaf selections) and collects each definition's variable usages and fragment spreads;
 * the rules that look at a whole operation (variables defined, used and allowed, unused
 * fragments, cycles) run on what was collected. Field merging (5.3.2) expands fragments,
 * so its work is bounded (VALIDATION_BUDGET): a document built to make it explode is
 * refused as too complex instead of keeping a worker busy.
 */
#include "graphql/internal.h"

#include <stdarg.h>
#include <string.h>
#include "base/arena.h"

#define VALIDATION_BUDGET 50000

struct usage {
	const char *name;
	struct gql_loc loc;
	const struct gql_type *type; /* the location's type, NULL when unknown */
	int location_has_default;
};

struct dinfo { /* per definition */
	const struct gql_definition *def;
	const struct gql_type *type; /* fragments: the type condition (NULL if bad) */
	struct usage *uses;
	size_t nuses, capuses;
	const char **spreads;
	size_t nspreads, capspreads;
	int reached;
};

struct vctx {
	struct arena *a;
	const struct gql_schema *s;
	const struct gql_document *doc;
	struct gql_verrors *errs;
	int introspection;
	struct dinfo *info; /* one per definition, same index */
	struct dinfo *cur;
	size_t work;
	int too_complex;
};

void gql_verror_add(struct arena *a, struct gql_verrors *errs, const char *code, struct gql_loc l1,
                    const struct gql_loc *l2, const char *fmt, ...)
{
	va_list ap;
	struct gql_verror *e;

	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;
		struct gql_verror *p = arena_alloc(a, cap * sizeof *p);

		if (errs->n)
			memcpy(p, errs->e, errs->n * sizeof *p);
		errs->e = p;
		errs->cap = cap;
	}
	e = &errs->e[errs->n++];
	memset(e, 0, sizeof *e);
	va_start(ap, fmt);
	e->message = arena_vprintf(a, fmt, ap);
	va_end(ap);
	e->code = code;
	e->locs[0] = l1;
	e->nlocs = 1;
	if (l2 != NULL)
		e->locs[e->nlocs++] = *l2;
}

#define ERR(v, loc, ...) gql_verror_add((v)->a, (v)->errs, NULL, (loc), NULL, __VA_ARGS__)

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

static void add_usage(struct vctx *v, const char *name, struct gql_loc loc,
                      const struct gql_type *type, int has_default)
{
	struct dinfo *d = v->cur;

	d->uses = grow(v->a, d->uses, d->nuses, &d->capuses, sizeof *d->uses);
	d->uses[d->nuses].name = name;
	d->uses[d->nuses].loc = loc;
	d->uses[d->nuses].type = type;
	d->uses[d->nuses].location_has_default = has_default;
	d->nuses++;
}

static int find_fragment(const struct vctx *v, const char *name)
{
	for (size_t i = 0; i < v->doc->n; i++)
		if (v->doc->defs[i].is_fragment && strcmp(v->doc->defs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- values: variable usages and literal types ---- */

static void value_usages(struct vctx *v, const struct gql_value *val, const struct gql_type *t,
                         int has_default)
{
	if (val->kind == GQL_VAR) {
		add_usage(v, val->s, val->loc, t, has_default);
	} else if (val->kind == GQL_LIST) {
		const struct gql_type *item = NULL;

		if (t != NULL) {
			const struct gql_type *nt = t->kind == GQL_KIND_NON_NULL ? t->of : t;

			item = nt->kind == GQL_KIND_LIST ? nt->of : NULL;
		}
		for (size_t i = 0; i < val->n; i++)
			value_usages(v, &val->items[i], item, 0);
	} else if (val->kind == GQL_OBJECT) {
		const struct gql_type *nt = gql_named(t);

		for (size_t i = 0; i < val->n; i++) {
			struct gql_input *in = NULL;

			if (nt != NULL && nt->kind == GQL_KIND_INPUT_OBJECT)
				in = gql_input_of(nt->inputs, nt->ninputs, val->fields[i].name);
			value_usages(v, &val->fields[i].value, in != NULL ? in->type : NULL,
			             in != NULL && in->def != NULL);
		}
	}
}

static void check_value(struct vctx *v, const struct gql_value *val, const struct gql_type *t)
{
	const char *p = gql_literal_problem(v->a, t, val);

	if (p != NULL)
		ERR(v, val->loc, "%s", p);
}

/* ---- arguments and directives ---- */

/* Arguments of field `name` on type `owner` (or, owner NULL, of directive @name); the
 * messages are only made when there is a problem. */
static void check_arguments(struct vctx *v, const struct gql_argument *args, size_t nargs,
                            struct gql_input *defs, size_t ndefs, int known, const char *owner,
                            const char *name, struct gql_loc at)
{
	for (size_t i = 0; i < nargs; i++) {
		struct gql_input *in = known ? gql_input_of(defs, ndefs, args[i].name) : NULL;

		for (size_t k = 0; k < i; k++)
			if (strcmp(args[k].name, args[i].name) == 0) {
				gql_verror_add(v->a, v->errs, NULL, args[k].loc, &args[i].loc,
				               "There can be only one argument named \"%s\".",
				               args[i].name);
				break;
			}
		if (known && in == NULL)
			ERR(v, args[i].loc, "Unknown argument \"%s\" on %s \"%s%s%s\".",
			    args[i].name, owner != NULL ? "field" : "directive",
			    owner != NULL ? owner : "@", owner != NULL ? "." : "", name);
		value_usages(v, &args[i].value, in != NULL ? in->type : NULL,
		             in != NULL && in->def != NULL);
		if (in != NULL)
			check_value(v, &args[i].value, in->type);
	}
	if (!known)
		return;
	for (size_t k = 0; k < ndefs; k++) {
		int given = 0;

		if (defs[k].type->kind != GQL_KIND_NON_NULL || defs[k].def != NULL)
			continue;
		for (size_t i = 0; i < nargs; i++)
			if (strcmp(args[i].name, defs[k].name) == 0)
				given = 1;
		if (!given)
			ERR(v, at,
			    "%s \"%s%s\" argument \"%s\" of type \"%s\" is required, but it was "
			    "not "
			    "provided.",
			    owner != NULL ? "Field" : "Directive", owner != NULL ? "" : "@", name,
			    defs[k].name, gql_type_str(v->a, defs[k].type));
	}
}

static const char *loc_name(unsigned loc)
{
	static const char *const names[] = {"QUERY",
	                                    "MUTATION",
	                                    "SUBSCRIPTION",
	                                    "FIELD",
	                                    "FRAGMENT_DEFINITION",
	                                    "FRAGMENT_SPREAD",
	                                    "INLINE_FRAGMENT",
	                                    "VARIABLE_DEFINITION"};

	for (size_t i = 0; i < GQL_N(names); i++)
		if (loc == 1u << i)
			return names[i];
	return "UNKNOWN";
}

static void check_directives(struct vctx *v, const struct gql_directive *dirs, size_t n,
                             unsigned location)
{
	for (size_t i = 0; i < n; i++) {
		const struct gql_directive_def *dd = gql_directive_named(v->s, dirs[i].name);

		if (dd == NULL) {
			ERR(v, dirs[i].loc, "Unknown directive \"@%s\".", dirs[i].name);
			check_arguments(v, dirs[i].args, dirs[i].nargs, NULL, 0, 0, NULL, NULL,
			                dirs[i].loc);
			continue;
		}
		if (!(dd->locations & location))
			ERR(v, dirs[i].loc, "Directive \"@%s\" may not be used on %s.",
			    dirs[i].name, loc_name(location));
		for (size_t k = 0; k < i && !dd->repeatable; k++)
			if (strcmp(dirs[k].name, dirs[i].name) == 0) {
				gql_verror_add(
				    v->a, v->errs, NULL, dirs[k].loc, &dirs[i].loc,
				    "The directive \"@%s\" can only be used once at this location.",
				    dirs[i].name);
				break;
			}
		check_arguments(v, dirs[i].args, dirs[i].nargs, dd->args, dd->nargs, 1, NULL,
		                dd->name, dirs[i].loc);
	}
}

/* ---- field merging (5.3.2) ---- */

struct cfield {
	const char *key;
	const struct gql_type *parent;
	const struct gql_selection *sel;
	const struct gql_field *def;
};

struct cset {
	struct cfield *f;
	size_t n, cap;
	const char **seen; /* fragments already expanded into this set */
	size_t nseen, capseen;
};

static int spend(struct vctx *v)
{
	if (++v->work > VALIDATION_BUDGET) {
		if (!v->too_complex) {
			struct gql_loc l = {1, 1};

			v->too_complex = 1;
			gql_verror_add(v->a, v->errs, "COST_LIMIT_EXCEEDED", l, NULL,
			               "The document is too complex to validate.");
		}
		return 0;
	}
	return 1;
}

static void collect(struct vctx *v, const struct gql_selset *set, const struct gql_type *parent,
                    struct cset *out)
{
	for (size_t i = 0; set != NULL && i < set->n && spend(v); i++) {
		const struct gql_selection *s = &set->items[i];

		if (s->kind == GQL_FIELD) {
			out->f = grow(v->a, out->f, out->n, &out->cap, sizeof *out->f);
			out->f[out->n].key = s->alias != NULL ? s->alias : s->name;
			out->f[out->n].parent = parent;
			out->f[out->n].sel = s;
			out->f[out->n].def =
			    parent != NULL ? gql_lookup_field(v->s, parent, s->name) : NULL;
			out->n++;
		} else if (s->kind == GQL_INLINE) {
			const struct gql_type *t = parent;

			if (s->type_condition != NULL)
				t = gql_type_named(v->s, s->type_condition);
			collect(v, s->sel, t, out);
		} else {
			int fi = find_fragment(v, s->name), dup = 0;

			if (fi < 0)
				continue;
			for (size_t k = 0; k < out->nseen; k++)
				if (strcmp(out->seen[k], s->name) == 0)
					dup = 1;
			if (dup)
				continue;
			out->seen =
			    grow(v->a, out->seen, out->nseen, &out->capseen, sizeof *out->seen);
			out->seen[out->nseen++] = s->name;
			collect(v, v->doc->defs[fi].sel,
			        gql_type_named(v->s, v->doc->defs[fi].type_condition), out);
		}
	}
}

static int same_arguments(const struct gql_selection *x, const struct gql_selection *y)
{
	if (x->nargs != y->nargs)
		return 0;
	for (size_t i = 0; i < x->nargs; i++) {
		size_t k;

		for (k = 0; k < y->nargs; k++)
			if (strcmp(x->args[i].name, y->args[k].name) == 0)
				break;
		if (k == y->nargs || !gql_values_equal(&x->args[i].value, &y->args[k].value))
			return 0;
	}
	return 1;
}

static int types_conflict(const struct gql_type *x, const struct gql_type *y)
{
	if (x->kind == GQL_KIND_LIST)
		return y->kind == GQL_KIND_LIST ? types_conflict(x->of, y->of) : 1;
	if (y->kind == GQL_KIND_LIST)
		return 1;
	if (x->kind == GQL_KIND_NON_NULL)
		return y->kind == GQL_KIND_NON_NULL ? types_conflict(x->of, y->of) : 1;
	if (y->kind == GQL_KIND_NON_NULL)
		return 1;
	if (gql_is_leaf(x) || gql_is_leaf(y))
		return x != y;
	return 0;
}

static const char *conflicts_between(struct vctx *v, int exclusive, const struct cset *x,
                                     const struct cset *y);

/* The reason fields a and b (same response key) cannot merge, or NULL. */
static const char *find_conflict(struct vctx *v, int exclusive, const struct cfield *a,
                                 const struct cfield *b)
{
	if (!spend(v))
		return NULL;
	exclusive =
	    exclusive || (a->parent != b->parent && a->parent != NULL && b->parent != NULL &&
	                  a->parent->kind == GQL_KIND_OBJECT && b->parent->kind == GQL_KIND_OBJECT);
	if (!exclusive) {
		if (strcmp(a->sel->name, b->sel->name) != 0)
			return arena_printf(v->a, "\"%s\" and \"%s\" are different fields",
			                    a->sel->name, b->sel->name);
		if (!same_arguments(a->sel, b->sel))
			return "they have differing arguments";
	}
	if (a->def != NULL && b->def != NULL && types_conflict(a->def->type, b->def->type))
		return arena_printf(v->a, "they return conflicting types \"%s\" and \"%s\"",
		                    gql_type_str(v->a, a->def->type),
		                    gql_type_str(v->a, b->def->type));
	if (a->sel->sel != NULL && b->sel->sel != NULL) {
		struct cset x, y;
		const char *why;

		memset(&x, 0, sizeof x);
		memset(&y, 0, sizeof y);
		collect(v, a->sel->sel, a->def != NULL ? gql_named(a->def->type) : NULL, &x);
		collect(v, b->sel->sel, b->def != NULL ? gql_named(b->def->type) : NULL, &y);
		why = conflicts_between(v, exclusive, &x, &y);
		if (why != NULL)
			return why;
	}
	return NULL;
}

static const char *conflicts_between(struct vctx *v, int exclusive, const struct cset *x,
                                     const struct cset *y)
{
	for (size_t i = 0; i < x->n; i++)
		for (size_t k = 0; k < y->n; k++) {
			const char *why;

			if (strcmp(x->f[i].key, y->f[k].key) != 0)
				continue;
			why = find_conflict(v, exclusive, &x->f[i], &y->f[k]);
			if (why != NULL)
				return arena_printf(v->a, "subfields \"%s\" conflict because %s",
				                    x->f[i].key, why);
			if (v->too_complex)
				return NULL;
		}
	return NULL;
}

static void check_merging(struct vctx *v, const struct gql_selset *set,
                          const struct gql_type *parent)
{
	struct cset c;

	memset(&c, 0, sizeof c);
	collect(v, set, parent, &c);
	for (size_t i = 0; i < c.n && !v->too_complex; i++)
		for (size_t k = i + 1; k < c.n && !v->too_complex; k++) {
			const char *why;

			if (strcmp(c.f[i].key, c.f[k].key) != 0)
				continue;
			why = find_conflict(v, 0, &c.f[i], &c.f[k]);
			if (why != NULL)
				gql_verror_add(
				    v->a, v->errs, NULL, c.f[i].sel->loc, &c.f[k].sel->loc,
				    "Fields \"%s\" conflict because %s. Use different aliases on "
				    "the fields to fetch both if this was intentional.",
				    c.f[i].key, why);
		}
}

/* ---- selections ---- */

static int possible(const struct gql_type *parent, const struct gql_type *t)
{
	/* Without interfaces and unions, an object can only be of its own type. */
	return parent == t;
}

static void check_selset(struct vctx *v, const struct gql_selset *set,
                         const struct gql_type *parent);

static void check_field(struct vctx *v, const struct gql_selection *s,
                        const struct gql_type *parent)
{
	const struct gql_field *fd =
	    parent != NULL ? gql_lookup_field(v->s, parent, s->name) : NULL;
	const struct gql_type *named;

	if (parent != NULL && fd == NULL)
		ERR(v, s->loc, "Cannot query field \"%s\" on type \"%s\".", s->name, parent->name);
	if (fd != NULL && !v->introspection &&
	    (fd == &v->s->schema_field || fd == &v->s->type_field))
		gql_verror_add(v->a, v->errs, "INTROSPECTION_DISABLED", s->loc, NULL,
		               "GraphQL introspection has been disabled, but the requested query "
		               "contained the field \"%s\".",
		               s->name);
	check_arguments(v, s->args, s->nargs, fd != NULL ? fd->args : NULL,
	                fd != NULL ? fd->nargs : 0, fd != NULL, parent != NULL ? parent->name : "",
	                s->name, s->loc);
	check_directives(v, s->dirs, s->ndirs, GQL_LOC_FIELD);
	named = fd != NULL ? gql_named(fd->type) : NULL;
	if (named != NULL && gql_is_leaf(named) && s->sel != NULL)
		ERR(v, s->loc,
		    "Field \"%s\" must not have a selection since type \"%s\" has no "
		    "subfields.",
		    s->name, gql_type_str(v->a, fd->type));
	if (named != NULL && gql_is_composite(named) && s->sel == NULL)
		ERR(v, s->loc,
		    "Field \"%s\" of type \"%s\" must have a selection of subfields. Did "
		    "you mean \"%s { ... }\"?",
		    s->name, gql_type_str(v->a, fd->type), s->name);
	if (s->sel != NULL)
		check_selset(v, s->sel, named != NULL && gql_is_composite(named) ? named : NULL);
}

/* The type a fragment's condition names, with the rules 5.5.1.2 and 5.5.1.3. */
static const struct gql_type *condition_type(struct vctx *v, const char *name, struct gql_loc loc,
                                             const char *frag)
{
	const struct gql_type *t = gql_type_named(v->s, name);

	if (t == NULL) {
		ERR(v, loc, "Unknown type \"%s\".", name);
		return NULL;
	}
	if (!gql_is_composite(t)) {
		if (frag != NULL)
			ERR(v, loc,
			    "Fragment \"%s\" cannot condition on non composite type \"%s\".", frag,
			    name);
		else
			ERR(v, loc, "Fragment cannot condition on non composite type \"%s\".",
			    name);
		return NULL;
	}
	return t;
}

static void check_selset(struct vctx *v, const struct gql_selset *set,
                         const struct gql_type *parent)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct gql_selection *s = &set->items[i];

		if (s->kind == GQL_FIELD) {
			check_field(v, s, parent);
		} else if (s->kind == GQL_INLINE) {
			const struct gql_type *t = parent;

			if (s->type_condition != NULL) {
				t = condition_type(v, s->type_condition, s->loc, NULL);
				if (t != NULL && parent != NULL && !possible(parent, t))
					ERR(v, s->loc,
					    "Fragment cannot be spread here as objects of type "
					    "\"%s\" can never "
					    "be of type \"%s\".",
					    parent->name, t->name);
			}
			check_directives(v, s->dirs, s->ndirs, GQL_LOC_INLINE_FRAGMENT);
			check_selset(v, s->sel, t);
		} else {
			int fi = find_fragment(v, s->name);
			struct dinfo *d = v->cur;

			check_directives(v, s->dirs, s->ndirs, GQL_LOC_FRAGMENT_SPREAD);
			if (fi < 0) {
				ERR(v, s->loc, "Unknown fragment \"%s\".", s->name);
				continue;
			}
			d->spreads =
			    grow(v->a, d->spreads, d->nspreads, &d->capspreads, sizeof *d->spreads);
			d->spreads[d->nspreads++] = s->name;
			const struct gql_type *ft =
			    gql_type_named(v->s, v->doc->defs[fi].type_condition);

			if (ft != NULL && gql_is_composite(ft) && parent != NULL &&
			    !possible(parent, ft))
				ERR(v, s->loc,
				    "Fragment \"%s\" cannot be spread here as objects of type "
				    "\"%s\" can "
				    "never be of type \"%s\".",
				    s->name, parent->name, ft->name);
		}
	}
	if (parent != NULL && !v->too_complex)
		check_merging(v, set, parent);
}

/* ---- operations ---- */

static int types_compatible(const struct gql_type *var, const struct gql_type *loc)
{
	if (loc->kind == GQL_KIND_NON_NULL)
		return var->kind == GQL_KIND_NON_NULL && types_compatible(var->of, loc->of);
	if (var->kind == GQL_KIND_NON_NULL)
		return types_compatible(var->of, loc);
	if (loc->kind == GQL_KIND_LIST)
		return var->kind == GQL_KIND_LIST && types_compatible(var->of, loc->of);
	if (var->kind == GQL_KIND_LIST)
		return 0;
	return var == loc;
}

/* Marks every fragment reachable from d (by index) and gathers their usages. */
static void reach(struct vctx *v, struct dinfo *d, int *mark, struct usage **uses, size_t *n,
                  size_t *cap)
{
	for (size_t i = 0; i < d->nuses; i++) {
		*uses = grow(v->a, *uses, *n, cap, sizeof **uses);
		(*uses)[(*n)++] = d->uses[i];
	}
	for (size_t i = 0; i < d->nspreads; i++) {
		int fi = find_fragment(v, d->spreads[i]);

		if (fi < 0 || mark[fi])
			continue;
		mark[fi] = 1;
		v->info[fi].reached = 1;
		reach(v, &v->info[fi], mark, uses, n, cap);
	}
}

static void check_variables(struct vctx *v, size_t di)
{
	const struct gql_definition *op = &v->doc->defs[di];
	int *mark = arena_zalloc(v->a, v->doc->n * sizeof *mark);
	struct usage *uses = NULL;
	size_t n = 0, cap = 0;
	const char *in_op =
	    op->name != NULL ? arena_printf(v->a, " by operation \"%s\"", op->name) : "";
	const char *in_op2 =
	    op->name != NULL ? arena_printf(v->a, " in operation \"%s\"", op->name) : "";

	reach(v, &v->info[di], mark, &uses, &n, &cap);
	for (size_t i = 0; i < n; i++) {
		const struct gql_vardef *vd = NULL;

		for (size_t k = 0; k < op->nvars; k++)
			if (strcmp(op->vars[k].name, uses[i].name) == 0)
				vd = &op->vars[k];
		if (vd == NULL) {
			gql_verror_add(v->a, v->errs, NULL, uses[i].loc, &op->loc,
			               "Variable \"$%s\" is not defined%s.", uses[i].name, in_op);
			continue;
		}
		const struct gql_type *vt = gql_type_from_ref(v->a, v->s, vd->type);
		const struct gql_type *lt = uses[i].type;

		if (vt == NULL || lt == NULL || !gql_is_input(vt))
			continue;
		if (lt->kind == GQL_KIND_NON_NULL && vt->kind != GQL_KIND_NON_NULL) {
			int var_default = vd->def != NULL && vd->def->kind != GQL_NULL;

			if (!var_default && !uses[i].location_has_default) {
				gql_verror_add(
				    v->a, v->errs, NULL, vd->loc, &uses[i].loc,
				    "Variable \"$%s\" of type \"%s\" used in position expecting "
				    "type \"%s\".",
				    vd->name, gql_type_str(v->a, vt), gql_type_str(v->a, lt));
				continue;
			}
			lt = lt->of;
		}
		if (!types_compatible(vt, lt))
			gql_verror_add(
			    v->a, v->errs, NULL, vd->loc, &uses[i].loc,
			    "Variable \"$%s\" of type \"%s\" used in position expecting type "
			    "\"%s\".",
			    vd->name, gql_type_str(v->a, vt), gql_type_str(v->a, lt));
	}
	for (size_t k = 0; k < op->nvars; k++) {
		int used = 0;

		for (size_t i = 0; i < n && !used; i++)
			used = strcmp(uses[i].name, op->vars[k].name) == 0;
		if (!used)
			ERR(v, op->vars[k].loc, "Variable \"$%s\" is never used%s.",
			    op->vars[k].name, in_op2);
	}
}

static void check_vardefs(struct vctx *v, const struct gql_definition *op)
{
	for (size_t i = 0; i < op->nvars; i++) {
		const struct gql_vardef *vd = &op->vars[i];
		const struct gql_tref *r = vd->type;
		const struct gql_type *t;

		for (size_t k = 0; k < i; k++)
			if (strcmp(op->vars[k].name, vd->name) == 0) {
				gql_verror_add(v->a, v->errs, NULL, op->vars[k].loc, &vd->loc,
				               "There can be only one variable named \"$%s\".",
				               vd->name);
				break;
			}
		check_directives(v, vd->dirs, vd->ndirs, GQL_LOC_VARIABLE_DEFINITION);
		while (r->kind != GQL_TNAMED)
			r = r->of;
		t = gql_type_from_ref(v->a, v->s, vd->type);
		if (t == NULL) {
			ERR(v, r->loc, "Unknown type \"%s\".", r->name);
			continue;
		}
		if (!gql_is_input(t)) {
			ERR(v, vd->type->loc, "Variable \"$%s\" cannot be non-input type \"%s\".",
			    vd->name, gql_type_str(v->a, t));
			continue;
		}
		if (vd->def != NULL) {
			/* A default is a constant: check it as one (null allowed only if nullable).
			 */
			check_value(v, vd->def, t);
		}
	}
}

static void check_operation(struct vctx *v, size_t di, size_t nops)
{
	const struct gql_definition *op = &v->doc->defs[di];
	const struct gql_type *root = NULL;
	static const unsigned locs[] = {GQL_LOC_QUERY, GQL_LOC_MUTATION, GQL_LOC_SUBSCRIPTION};

	if (op->name == NULL && nops > 1)
		ERR(v, op->loc, "This anonymous operation must be the only defined operation.");
	if (op->name != NULL)
		for (size_t k = 0; k < di; k++)
			if (!v->doc->defs[k].is_fragment && v->doc->defs[k].name != NULL &&
			    strcmp(v->doc->defs[k].name, op->name) == 0) {
				gql_verror_add(v->a, v->errs, NULL, v->doc->defs[k].loc, &op->loc,
				               "There can be only one operation named \"%s\".",
				               op->name);
				break;
			}
	if (op->op == GQL_QUERY)
		root = v->s->query;
	else if (op->op == GQL_MUTATION)
		root = v->s->mutation;
	if (root == NULL)
		ERR(v, op->loc, "Schema is not configured to execute %s operation.",
		    gql_op_name(op->op));
	check_vardefs(v, op);
	check_directives(v, op->dirs, op->ndirs, locs[op->op]);
	check_selset(v, op->sel, root);
}

static void check_fragment(struct vctx *v, size_t di)
{
	const struct gql_definition *f = &v->doc->defs[di];

	for (size_t k = 0; k < di; k++)
		if (v->doc->defs[k].is_fragment && strcmp(v->doc->defs[k].name, f->name) == 0) {
			gql_verror_add(v->a, v->errs, NULL, v->doc->defs[k].loc, &f->loc,
			               "There can be only one fragment named \"%s\".", f->name);
			break;
		}
	v->info[di].type = condition_type(v, f->type_condition, f->loc, f->name);
	check_directives(v, f->dirs, f->ndirs, GQL_LOC_FRAGMENT_DEFINITION);
	check_selset(v, f->sel, v->info[di].type);
}

/* 5.5.2.2: a depth-first search over spreads; each cycle is reported once, at the
 * fragment where it is entered. */
static void find_cycles(struct vctx *v, size_t fi, int *state, size_t *stack, size_t depth)
{
	struct dinfo *d = &v->info[fi];

	state[fi] = 1;
	stack[depth] = fi;
	for (size_t i = 0; i < d->nspreads; i++) {
		int t = find_fragment(v, d->spreads[i]);

		if (t < 0)
			continue;
		if (state[t] == 1) {
			ERR(v, v->doc->defs[t].loc, "Cannot spread fragment \"%s\" within itself.",
			    v->doc->defs[t].name);
		} else if (state[t] == 0) {
			find_cycles(v, (size_t)t, state, stack, depth + 1);
		}
	}
	state[fi] = 2;
}

int gql_validate(struct arena *a, const struct gql_schema *s, const struct gql_document *doc,
                 int introspection, struct gql_verrors *errs)
{
	struct vctx v;
	size_t nops = 0, before = errs->n;

	memset(&v, 0, sizeof v);
	v.a = a;
	v.s = s;
	v.doc = doc;
	v.errs = errs;
	v.introspection = introspection;
	v.info = arena_zalloc(a, (doc->n ? doc->n : 1) * sizeof *v.info);
	for (size_t i = 0; i < doc->n; i++) {
		v.info[i].def = &doc->defs[i];
		if (!doc->defs[i].is_fragment)
			nops++;
	}
	for (size_t i = 0; i < doc->n; i++) {
		v.cur = &v.info[i];
		if (doc->defs[i].is_fragment)
			check_fragment(&v, i);
		else
			check_operation(&v, i, nops);
	}
	int *state = arena_zalloc(a, (doc->n ? doc->n : 1) * sizeof *state);
	size_t *stack = arena_zalloc(a, (doc->n ? doc->n : 1) * sizeof *stack);

	for (size_t i = 0; i < doc->n; i++)
		if (doc->defs[i].is_fragment && state[i] == 0)
			find_cycles(&v, i, state, stack, 0);
	for (size_t i = 0; i < doc->n; i++)
		if (!doc->defs[i].is_fragment)
			check_variables(&v, i);
	for (size_t i = 0; i < doc->n; i++)
		if (doc->defs[i].is_fragment && !v.info[i].reached)
			ERR(&v, doc->defs[i].loc, "Fragment \"%s\" is never used.",
			    doc->defs[i].name);
	return errs->n > before ? ERR_INVALID : ERR_OK;
}
