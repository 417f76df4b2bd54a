/* coerce.c - input values: literals checked (5.6) and coerced (6.4.2), variable values
 * coerced from JSON (6.4.1), and equality of literals for field merging. See internal.h. */
#include "graphql/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/arena.h"
#include "base/buf.h"

/* ---- printing literals for messages ---- */

static void print_value(struct buf *b, const struct gql_value *v, int *rc)
{
	if (*rc != ERR_OK)
		return;
	switch (v->kind) {
	case GQL_VAR: *rc = buf_printf(b, "$%s", v->s); break;
	case GQL_INT:
	case GQL_FLOAT:
	case GQL_ENUM: *rc = buf_puts(b, v->s); break;
	case GQL_STRING: *rc = buf_json_string(b, v->s); break;
	case GQL_BOOL: *rc = buf_puts(b, v->b ? "true" : "false"); break;
	case GQL_NULL: *rc = buf_puts(b, "null"); break;
	case GQL_LIST:
		*rc = buf_putc(b, '[');
		for (size_t i = 0; i < v->n && *rc == ERR_OK; i++) {
			if (i > 0)
				*rc = buf_puts(b, ", ");
			print_value(b, &v->items[i], rc);
		}
		if (*rc == ERR_OK)
			*rc = buf_putc(b, ']');
		break;
	case GQL_OBJECT:
		*rc = buf_putc(b, '{');
		for (size_t i = 0; i < v->n && *rc == ERR_OK; i++) {
			*rc = buf_printf(b, "%s%s: ", i > 0 ? ", " : "", v->fields[i].name);
			print_value(b, &v->fields[i].value, rc);
		}
		if (*rc == ERR_OK)
			*rc = buf_putc(b, '}');
		break;
	}
}

static const char *printed(struct arena *a, const struct gql_value *v)
{
	struct buf b;
	int rc = ERR_OK;

	buf_init(&b, a, 256);
	print_value(&b, v, &rc);
	return rc == ERR_OK ? buf_str(&b) : "(value)";
}

/* ---- scalars ---- */

enum scalar { S_INT, S_FLOAT, S_STRING, S_BOOLEAN, S_ID, S_CUSTOM };

static enum scalar scalar_of(const struct gql_type *t)
{
	switch (t->scalar) {
	case GQL_SCALAR_INT: return S_INT;
	case GQL_SCALAR_FLOAT: return S_FLOAT;
	case GQL_SCALAR_STRING: return S_STRING;
	case GQL_SCALAR_BOOLEAN: return S_BOOLEAN;
	case GQL_SCALAR_ID: return S_ID;
	default: return S_CUSTOM;
	}
}

static int int32_text(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
		return 0;
	*out = v;
	return 1;
}

static const char *enum_internal(const struct gql_type *t, const char *name)
{
	for (size_t i = 0; i < t->nvalues; i++)
		if (strcmp(t->values[i].name, name) == 0)
			return t->values[i].value != NULL ? t->values[i].value : t->values[i].name;
	return NULL;
}

static const char *scalar_literal_problem(struct arena *a, const struct gql_type *t,
                                          const struct gql_value *v)
{
	int64_t i;

	if (t->kind == GQL_KIND_ENUM) {
		if (v->kind != GQL_ENUM)
			return arena_printf(a, "Enum \"%s\" cannot represent non-enum value: %s.",
			                    t->name, printed(a, v));
		if (enum_internal(t, v->s) == NULL)
			return arena_printf(a, "Value \"%s\" does not exist in \"%s\" enum.", v->s,
			                    t->name);
		return NULL;
	}
	switch (scalar_of(t)) {
	case S_INT:
		if (v->kind != GQL_INT)
			return arena_printf(a, "Int cannot represent non-integer value: %s",
			                    printed(a, v));
		if (!int32_text(v->s, &i))
			return arena_printf(
			    a, "Int cannot represent non 32-bit signed integer value: %s", v->s);
		return NULL;
	case S_FLOAT:
		if (v->kind != GQL_INT && v->kind != GQL_FLOAT)
			return arena_printf(a, "Float cannot represent non numeric value: %s",
			                    printed(a, v));
		if (!isfinite(strtod(v->s, NULL)))
			return arena_printf(a, "Float cannot represent non numeric value: %s",
			                    v->s);
		return NULL;
	case S_BOOLEAN:
		if (v->kind != GQL_BOOL)
			return arena_printf(a, "Boolean cannot represent a non boolean value: %s",
			                    printed(a, v));
		return NULL;
	case S_ID:
		if (v->kind != GQL_STRING && v->kind != GQL_INT)
			return arena_printf(
			    a, "ID cannot represent a non-string and non-integer value: %s",
			    printed(a, v));
		return NULL;
	case S_STRING:
	case S_CUSTOM:
		if (v->kind != GQL_STRING)
			return arena_printf(a, "%s cannot represent a non string value: %s",
			                    t->name, printed(a, v));
		return NULL;
	}
	return NULL;
}

static json_object *scalar_from_literal(const struct gql_type *t, const struct gql_value *v)
{
	int64_t i;

	if (t->kind == GQL_KIND_ENUM)
		return json_object_new_string(enum_internal(t, v->s));
	switch (scalar_of(t)) {
	case S_INT: return int32_text(v->s, &i) ? json_object_new_int64(i) : NULL;
	case S_FLOAT: return json_object_new_double(strtod(v->s, NULL));
	case S_BOOLEAN: return json_object_new_boolean(v->b);
	case S_ID:
	case S_STRING:
	case S_CUSTOM: return json_object_new_string_len(v->s, (int)v->len);
	}
	return NULL;
}

/* ---- literals ---- */

static const struct gql_objfield *objfield(const struct gql_value *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->fields[i].name, name) == 0)
			return &v->fields[i];
	return NULL;
}

const char *gql_literal_problem(struct arena *a, const struct gql_type *t,
                                const struct gql_value *v)
{
	if (v->kind == GQL_VAR)
		return NULL;
	if (t->kind == GQL_KIND_NON_NULL) {
		if (v->kind == GQL_NULL)
			return arena_printf(a, "Expected value of type \"%s\", found null.",
			                    gql_type_str(a, t));
		return gql_literal_problem(a, t->of, v);
	}
	if (v->kind == GQL_NULL)
		return NULL;
	if (t->kind == GQL_KIND_LIST) {
		if (v->kind != GQL_LIST)
			return gql_literal_problem(a, t->of, v);
		for (size_t i = 0; i < v->n; i++) {
			const char *p = gql_literal_problem(a, t->of, &v->items[i]);

			if (p != NULL)
				return p;
		}
		return NULL;
	}
	if (t->kind == GQL_KIND_INPUT_OBJECT) {
		if (v->kind != GQL_OBJECT)
			return arena_printf(a, "Expected value of type \"%s\", found %s.", t->name,
			                    printed(a, v));
		for (size_t i = 0; i < v->n; i++) {
			if (gql_input_of(t->inputs, t->ninputs, v->fields[i].name) == NULL)
				return arena_printf(a,
				                    "Field \"%s\" is not defined by type \"%s\".",
				                    v->fields[i].name, t->name);
			for (size_t k = 0; k < i; k++)
				if (strcmp(v->fields[k].name, v->fields[i].name) == 0)
					return arena_printf(
					    a, "There can be only one input field named \"%s\".",
					    v->fields[i].name);
		}
		for (size_t i = 0; i < t->ninputs; i++) {
			const struct gql_input *in = &t->inputs[i];
			const struct gql_objfield *f = objfield(v, in->name);

			if (f == NULL) {
				if (in->type->kind == GQL_KIND_NON_NULL && in->def == NULL)
					return arena_printf(a,
					                    "Field \"%s.%s\" of required type "
					                    "\"%s\" was not provided.",
					                    t->name, in->name,
					                    gql_type_str(a, in->type));
				continue;
			}
			const char *p = gql_literal_problem(a, in->type, &f->value);

			if (p != NULL)
				return p;
		}
		return NULL;
	}
	return scalar_literal_problem(a, t, v);
}

int gql_coerce_literal(struct arena *a, const struct gql_type *t, const struct gql_value *v,
                       json_object *vars, json_object **out, const char **why)
{
	*out = NULL;
	if (v->kind == GQL_VAR) {
		json_object *val;

		if (vars == NULL || !json_object_object_get_ex(vars, v->s, &val))
			return GQL_ABSENT;
		if (val == NULL && t->kind == GQL_KIND_NON_NULL) {
			*why = arena_printf(
			    a, "Variable \"$%s\" of non-null type must not be null.", v->s);
			return ERR_INVALID;
		}
		*out = json_object_get(val);
		return ERR_OK;
	}
	if (t->kind == GQL_KIND_NON_NULL) {
		int rc;

		if (v->kind == GQL_NULL) {
			*why = arena_printf(a, "Expected value of type \"%s\", found null.",
			                    gql_type_str(a, t));
			return ERR_INVALID;
		}
		rc = gql_coerce_literal(a, t->of, v, vars, out, why);
		if (rc == GQL_ABSENT) {
			*why = "A required value was not provided.";
			return ERR_INVALID;
		}
		return rc;
	}
	if (v->kind == GQL_NULL)
		return ERR_OK;
	if (t->kind == GQL_KIND_LIST) {
		json_object *arr, *item;
		int rc;

		if (v->kind != GQL_LIST) {
			rc = gql_coerce_literal(a, t->of, v, vars, &item, why);
			if (rc == GQL_ABSENT)
				rc = ERR_OK, item = NULL;
			if (rc != ERR_OK)
				return rc;
			*out = json_object_new_array();
			json_object_array_add(*out, item);
			return ERR_OK;
		}
		if (v->n > GQL_MAX_LIST_INPUT) {
			*why = arena_printf(a, "A list may have at most %d items.",
			                    GQL_MAX_LIST_INPUT);
			return ERR_INVALID;
		}
		arr = json_object_new_array();
		for (size_t i = 0; i < v->n; i++) {
			rc = gql_coerce_literal(a, t->of, &v->items[i], vars, &item, why);
			if (rc == GQL_ABSENT)
				rc = ERR_OK, item = NULL;
			if (rc == ERR_OK && item == NULL && t->of->kind == GQL_KIND_NON_NULL) {
				*why = "A list item of non-null type must not be null.";
				rc = ERR_INVALID;
			}
			if (rc != ERR_OK) {
				json_object_put(arr);
				return rc;
			}
			json_object_array_add(arr, item);
		}
		*out = arr;
		return ERR_OK;
	}
	if (t->kind == GQL_KIND_INPUT_OBJECT) {
		json_object *obj;

		if (v->kind != GQL_OBJECT) {
			*why = arena_printf(a, "Expected value of type \"%s\".", t->name);
			return ERR_INVALID;
		}
		obj = json_object_new_object();
		for (size_t i = 0; i < t->ninputs; i++) {
			const struct gql_input *in = &t->inputs[i];
			const struct gql_objfield *f = objfield(v, in->name);
			json_object *fv = NULL;
			int rc = GQL_ABSENT;

			if (f != NULL)
				rc = gql_coerce_literal(a, in->type, &f->value, vars, &fv, why);
			if (rc == GQL_ABSENT && in->def != NULL)
				rc = gql_coerce_literal(a, in->type, in->def, NULL, &fv, why);
			if (rc == GQL_ABSENT && in->type->kind == GQL_KIND_NON_NULL) {
				*why =
				    arena_printf(a,
				                 "Field \"%s.%s\" of required type \"%s\" was not "
				                 "provided.",
				                 t->name, in->name, gql_type_str(a, in->type));
				rc = ERR_INVALID;
			}
			if (rc == GQL_ABSENT)
				continue;
			if (rc != ERR_OK) {
				json_object_put(obj);
				return rc;
			}
			json_object_object_add(obj, in->name, fv);
		}
		*out = obj;
		return ERR_OK;
	}
	*why = scalar_literal_problem(a, t, v);
	if (*why != NULL)
		return ERR_INVALID;
	*out = scalar_from_literal(t, v);
	return ERR_OK;
}

/* ---- JSON variable values ---- */

static const char *json_shown(struct arena *a, json_object *in)
{
	const char *s = json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);

	return n > 60 ? arena_printf(a, "%.57s...", s) : arena_strdup(a, s);
}

static int bad(struct arena *a, const char **why, const char *path, const char *msg)
{
	*why = arena_printf(a, "%s: %s", path, msg);
	return ERR_INVALID;
}

static int coerce_scalar_json(struct arena *a, const struct gql_type *t, json_object *in,
                              const char *path, json_object **out, const char **why)
{
	enum json_type jt = json_object_get_type(in);

	if (t->kind == GQL_KIND_ENUM) {
		const char *v =
		    jt == json_type_string ? enum_internal(t, json_object_get_string(in)) : NULL;

		if (v == NULL)
			return bad(a, why, path,
			           arena_printf(a, "Value %s does not exist in \"%s\" enum.",
			                        json_shown(a, in), t->name));
		*out = json_object_new_string(v);
		return ERR_OK;
	}
	switch (scalar_of(t)) {
	case S_INT: {
		double d;

		if (jt == json_type_int) {
			int64_t v = json_object_get_int64(in);

			if (v >= INT32_MIN && v <= INT32_MAX) {
				*out = json_object_new_int64(v);
				return ERR_OK;
			}
		} else if (jt == json_type_double) {
			d = json_object_get_double(in);
			if (d == floor(d) && d >= INT32_MIN && d <= INT32_MAX) {
				*out = json_object_new_int64((int64_t)d);
				return ERR_OK;
			}
		}
		return bad(a, why, path,
		           arena_printf(a,
		                        "Int cannot represent non 32-bit signed integer value: %s",
		                        json_shown(a, in)));
	}
	case S_FLOAT:
		if (jt == json_type_int || jt == json_type_double) {
			*out = json_object_new_double(json_object_get_double(in));
			return ERR_OK;
		}
		return bad(a, why, path,
		           arena_printf(a, "Float cannot represent non numeric value: %s",
		                        json_shown(a, in)));
	case S_BOOLEAN:
		if (jt == json_type_boolean) {
			*out = json_object_new_boolean(json_object_get_boolean(in));
			return ERR_OK;
		}
		return bad(a, why, path,
		           arena_printf(a, "Boolean cannot represent a non boolean value: %s",
		                        json_shown(a, in)));
	case S_ID:
		if (jt == json_type_string || jt == json_type_int) {
			*out = json_object_new_string(json_object_get_string(in));
			return ERR_OK;
		}
		return bad(a, why, path,
		           arena_printf(a, "ID cannot represent value: %s", json_shown(a, in)));
	case S_STRING:
	case S_CUSTOM:
		if (jt == json_type_string) {
			*out = json_object_new_string_len(json_object_get_string(in),
			                                  json_object_get_string_len(in));
			return ERR_OK;
		}
		return bad(a, why, path,
		           arena_printf(a, "%s cannot represent a non string value: %s", t->name,
		                        json_shown(a, in)));
	}
	return ERR_INVALID;
}

int gql_coerce_json(struct arena *a, const struct gql_type *t, json_object *in, const char *path,
                    json_object **out, const char **why)
{
	*out = NULL;
	if (t->kind == GQL_KIND_NON_NULL) {
		if (in == NULL)
			return bad(a, why, path,
			           arena_printf(a,
			                        "Expected non-nullable type \"%s\" not to be null.",
			                        gql_type_str(a, t)));
		return gql_coerce_json(a, t->of, in, path, out, why);
	}
	if (in == NULL)
		return ERR_OK;
	if (t->kind == GQL_KIND_LIST) {
		json_object *arr, *item;
		size_t n;

		if (!json_object_is_type(in, json_type_array)) {
			if (gql_coerce_json(a, t->of, in, path, &item, why) != ERR_OK)
				return ERR_INVALID;
			*out = json_object_new_array();
			json_object_array_add(*out, item);
			return ERR_OK;
		}
		n = json_object_array_length(in);
		if (n > GQL_MAX_LIST_INPUT)
			return bad(a, why, path,
			           arena_printf(a, "A list may have at most %d items.",
			                        GQL_MAX_LIST_INPUT));
		arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			if (gql_coerce_json(a, t->of, json_object_array_get_idx(in, i),
			                    arena_printf(a, "%s[%zu]", path, i), &item,
			                    why) != ERR_OK) {
				json_object_put(arr);
				return ERR_INVALID;
			}
			json_object_array_add(arr, item);
		}
		*out = arr;
		return ERR_OK;
	}
	if (t->kind == GQL_KIND_INPUT_OBJECT) {
		json_object *obj;

		if (!json_object_is_type(in, json_type_object))
			return bad(
			    a, why, path,
			    arena_printf(a, "Expected type \"%s\" to be an object.", t->name));
		json_object_object_foreach(in, key, val)
		{
			(void)val;
			if (gql_input_of(t->inputs, t->ninputs, key) == NULL)
				return bad(
				    a, why, path,
				    arena_printf(a, "Field \"%s\" is not defined by type \"%s\".",
				                 key, t->name));
		}
		obj = json_object_new_object();
		for (size_t i = 0; i < t->ninputs; i++) {
			const struct gql_input *in_f = &t->inputs[i];
			json_object *fv = NULL, *given;
			const char *fpath = arena_printf(a, "%s.%s", path, in_f->name);
			int rc = ERR_OK;

			if (json_object_object_get_ex(in, in_f->name, &given)) {
				rc = gql_coerce_json(a, in_f->type, given, fpath, &fv, why);
			} else if (in_f->def != NULL) {
				rc = gql_coerce_literal(a, in_f->type, in_f->def, NULL, &fv, why);
			} else if (in_f->type->kind == GQL_KIND_NON_NULL) {
				rc =
				    bad(a, why, fpath,
				        arena_printf(a,
				                     "Field \"%s\" of required type \"%s\" was not "
				                     "provided.",
				                     in_f->name, gql_type_str(a, in_f->type)));
			} else {
				continue;
			}
			if (rc != ERR_OK) {
				json_object_put(obj);
				return ERR_INVALID;
			}
			json_object_object_add(obj, in_f->name, fv);
		}
		*out = obj;
		return ERR_OK;
	}
	return coerce_scalar_json(a, t, in, path, out, why);
}

int gql_values_equal(const struct gql_value *x, const struct gql_value *y)
{
	if (x->kind != y->kind)
		return 0;
	switch (x->kind) {
	case GQL_VAR:
	case GQL_INT:
	case GQL_FLOAT:
	case GQL_ENUM: return strcmp(x->s, y->s) == 0;
	case GQL_STRING: return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
	case GQL_BOOL: return x->b == y->b;
	case GQL_NULL: return 1;
	case GQL_LIST:
		if (x->n != y->n)
			return 0;
		for (size_t i = 0; i < x->n; i++)
			if (!gql_values_equal(&x->items[i], &y->items[i]))
				return 0;
		return 1;
	case GQL_OBJECT:
		if (x->n != y->n)
			return 0;
		for (size_t i = 0; i < x->n; i++)
			if (strcmp(x->fields[i].name, y->fields[i].name) != 0 ||
			    !gql_values_equal(&x->fields[i].value, &y->fields[i].value))
				return 0;
		return 1;
	}
	return 0;
}
