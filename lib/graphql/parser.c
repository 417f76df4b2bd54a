/* parser.c - recursive descent over the executable part of the grammar (Appendix B,
 * "Document Syntax"); see ast.h. Lists grow in the arena by doubling (struct vec). */
#include "graphql/ast.h"

#include <string.h>
#include "base/arena.h"
#include "graphql/lexer.h"

struct parser {
	struct gql_lexer lx;
	struct arena *a;
	int depth;
};

/* A growable array in the arena. */
struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct arena *a, struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		void *p = arena_alloc(a, cap * v->size);

		if (v->n)
			memcpy(p, v->items, v->n * v->size);
		v->items = p;
		v->cap = cap;
	}
	void *slot = (char *)v->items + v->n++ * v->size;

	memset(slot, 0, v->size);
	return slot;
}

#define TOK (&p->lx.tok)

static int advance(struct parser *p)
{
	return gql_lex_next(&p->lx);
}

static int unexpected(struct parser *p, const char *expected)
{
	const char *found = gql_tok_describe(p->a, TOK);

	p->lx.err->loc = TOK->loc;
	p->lx.err->message =
	    expected != NULL
	        ? arena_printf(p->a, "Syntax Error: Expected %s, found %s.", expected, found)
	        : arena_printf(p->a, "Syntax Error: Unexpected %s.", found);
	return ERR_INVALID;
}

static int expect(struct parser *p, enum gql_tok t, const char *what)
{
	if (TOK->kind != t)
		return unexpected(p, what);
	return advance(p);
}

/* Consumes t when it is the current token; *got says whether it was. */
static int optional(struct parser *p, enum gql_tok t, int *got)
{
	*got = TOK->kind == t;
	return *got ? advance(p) : ERR_OK;
}

static int is_keyword(const struct parser *p, const char *kw)
{
	return TOK->kind == GQL_T_NAME && strcmp(TOK->value, kw) == 0;
}

static int name(struct parser *p, const char **out, struct gql_loc *loc)
{
	if (TOK->kind != GQL_T_NAME)
		return unexpected(p, "Name");
	*out = TOK->value;
	if (loc != NULL)
		*loc = TOK->loc;
	return advance(p);
}

static int enter(struct parser *p)
{
	if (++p->depth > GQL_MAX_NESTING) {
		p->lx.err->loc = TOK->loc;
		p->lx.err->message = "Syntax Error: The document is nested too deeply.";
		return ERR_INVALID;
	}
	return ERR_OK;
}

static int value(struct parser *p, int is_const, struct gql_value *v);

static int list_value(struct parser *p, int is_const, struct gql_value *v)
{
	struct vec items = {NULL, 0, 0, sizeof(struct gql_value)};
	int got;

	v->kind = GQL_LIST;
	if (advance(p) != ERR_OK)
		return ERR_INVALID;
	for (;;) {
		if (optional(p, GQL_T_RBRACKET, &got) != ERR_OK)
			return ERR_INVALID;
		if (got)
			break;
		if (value(p, is_const, vec_push(p->a, &items)) != ERR_OK)
			return ERR_INVALID;
	}
	v->items = items.items;
	v->n = items.n;
	return ERR_OK;
}

static int object_value(struct parser *p, int is_const, struct gql_value *v)
{
	struct vec fields = {NULL, 0, 0, sizeof(struct gql_objfield)};
	int got;

	v->kind = GQL_OBJECT;
	if (advance(p) != ERR_OK)
		return ERR_INVALID;
	for (;;) {
		if (optional(p, GQL_T_RBRACE, &got) != ERR_OK)
			return ERR_INVALID;
		if (got)
			break;
		struct gql_objfield *f = vec_push(p->a, &fields);

		if (name(p, &f->name, &f->loc) != ERR_OK ||
		    expect(p, GQL_T_COLON, "\":\"") != ERR_OK ||
		    value(p, is_const, &f->value) != ERR_OK)
			return ERR_INVALID;
	}
	v->fields = fields.items;
	v->n = fields.n;
	return ERR_OK;
}

static int value(struct parser *p, int is_const, struct gql_value *v)
{
	int rc = ERR_OK;

	memset(v, 0, sizeof *v);
	v->loc = TOK->loc;
	if (enter(p) != ERR_OK)
		return ERR_INVALID;
	switch (TOK->kind) {
	case GQL_T_LBRACKET: rc = list_value(p, is_const, v); break;
	case GQL_T_LBRACE: rc = object_value(p, is_const, v); break;
	case GQL_T_INT:
	case GQL_T_FLOAT:
		v->kind = TOK->kind == GQL_T_INT ? GQL_INT : GQL_FLOAT;
		v->s = TOK->value;
		v->len = TOK->vlen;
		rc = advance(p);
		break;
	case GQL_T_STRING:
	case GQL_T_BLOCK_STRING:
		v->kind = GQL_STRING;
		v->s = TOK->value;
		v->len = TOK->vlen;
		rc = advance(p);
		break;
	case GQL_T_NAME:
		if (strcmp(TOK->value, "true") == 0 || strcmp(TOK->value, "false") == 0) {
			v->kind = GQL_BOOL;
			v->b = TOK->value[0] == 't';
		} else if (strcmp(TOK->value, "null") == 0) {
			v->kind = GQL_NULL;
		} else {
			v->kind = GQL_ENUM;
			v->s = TOK->value;
		}
		rc = advance(p);
		break;
	case GQL_T_DOLLAR:
		if (is_const) {
			rc = unexpected(p, NULL); /* a variable in a constant value */
			break;
		}
		v->kind = GQL_VAR;
		rc = advance(p);
		if (rc == ERR_OK)
			rc = name(p, &v->s, NULL);
		break;
	default: rc = unexpected(p, NULL); break;
	}
	p->depth--;
	return rc;
}

static int arguments(struct parser *p, int is_const, struct gql_argument **out, size_t *n)
{
	struct vec args = {NULL, 0, 0, sizeof(struct gql_argument)};
	int got;

	*out = NULL;
	*n = 0;
	if (TOK->kind != GQL_T_LPAREN)
		return ERR_OK;
	if (advance(p) != ERR_OK)
		return ERR_INVALID;
	do {
		struct gql_argument *arg = vec_push(p->a, &args);

		if (name(p, &arg->name, &arg->loc) != ERR_OK ||
		    expect(p, GQL_T_COLON, "\":\"") != ERR_OK ||
		    value(p, is_const, &arg->value) != ERR_OK)
			return ERR_INVALID;
		if (optional(p, GQL_T_RPAREN, &got) != ERR_OK)
			return ERR_INVALID;
	} while (!got);
	*out = args.items;
	*n = args.n;
	return ERR_OK;
}

static int directives(struct parser *p, int is_const, struct gql_directive **out, size_t *n)
{
	struct vec dirs = {NULL, 0, 0, sizeof(struct gql_directive)};

	while (TOK->kind == GQL_T_AT) {
		struct gql_directive *d = vec_push(p->a, &dirs);

		d->loc = TOK->loc;
		if (advance(p) != ERR_OK || name(p, &d->name, NULL) != ERR_OK ||
		    arguments(p, is_const, &d->args, &d->nargs) != ERR_OK)
			return ERR_INVALID;
	}
	*out = dirs.items;
	*n = dirs.n;
	return ERR_OK;
}

static int type_ref(struct parser *p, struct gql_tref **out)
{
	struct gql_tref *t = arena_zalloc(p->a, sizeof *t);
	int got, rc;

	t->loc = TOK->loc;
	if (enter(p) != ERR_OK)
		return ERR_INVALID;
	if (TOK->kind == GQL_T_LBRACKET) {
		t->kind = GQL_TLIST;
		rc = advance(p);
		if (rc == ERR_OK)
			rc = type_ref(p, &t->of);
		if (rc == ERR_OK)
			rc = expect(p, GQL_T_RBRACKET, "\"]\"");
	} else {
		t->kind = GQL_TNAMED;
		rc = name(p, &t->name, NULL);
	}
	p->depth--;
	if (rc != ERR_OK)
		return rc;
	if (optional(p, GQL_T_BANG, &got) != ERR_OK)
		return ERR_INVALID;
	if (got) {
		struct gql_tref *nn = arena_zalloc(p->a, sizeof *nn);

		nn->kind = GQL_TNONNULL;
		nn->of = t;
		nn->loc = t->loc;
		t = nn;
	}
	*out = t;
	return ERR_OK;
}

static int selection_set(struct parser *p, struct gql_selset **out);

static int field(struct parser *p, struct gql_selection *s)
{
	const char *first;
	int got;

	s->kind = GQL_FIELD;
	if (name(p, &first, NULL) != ERR_OK || optional(p, GQL_T_COLON, &got) != ERR_OK)
		return ERR_INVALID;
	if (got) {
		s->alias = first;
		if (name(p, &s->name, NULL) != ERR_OK)
			return ERR_INVALID;
	} else {
		s->name = first;
	}
	if (arguments(p, 0, &s->args, &s->nargs) != ERR_OK ||
	    directives(p, 0, &s->dirs, &s->ndirs) != ERR_OK)
		return ERR_INVALID;
	if (TOK->kind == GQL_T_LBRACE)
		return selection_set(p, &s->sel);
	return ERR_OK;
}

static int fragment_selection(struct parser *p, struct gql_selection *s)
{
	if (advance(p) != ERR_OK) /* "..." */
		return ERR_INVALID;
	if (TOK->kind == GQL_T_NAME && !is_keyword(p, "on")) {
		s->kind = GQL_SPREAD;
		if (name(p, &s->name, NULL) != ERR_OK)
			return ERR_INVALID;
		return directives(p, 0, &s->dirs, &s->ndirs);
	}
	s->kind = GQL_INLINE;
	if (is_keyword(p, "on")) {
		if (advance(p) != ERR_OK || name(p, &s->type_condition, NULL) != ERR_OK)
			return ERR_INVALID;
	}
	if (directives(p, 0, &s->dirs, &s->ndirs) != ERR_OK)
		return ERR_INVALID;
	if (TOK->kind != GQL_T_LBRACE)
		return unexpected(p, "\"{\"");
	return selection_set(p, &s->sel);
}

static int selection_set(struct parser *p, struct gql_selset **out)
{
	struct vec items = {NULL, 0, 0, sizeof(struct gql_selection)};
	struct gql_selset *set = arena_zalloc(p->a, sizeof *set);
	int got;

	set->loc = TOK->loc;
	if (enter(p) != ERR_OK || expect(p, GQL_T_LBRACE, "\"{\"") != ERR_OK)
		return ERR_INVALID;
	do {
		struct gql_selection *s = vec_push(p->a, &items);
		int rc;

		s->loc = TOK->loc;
		if (TOK->kind == GQL_T_SPREAD)
			rc = fragment_selection(p, s);
		else if (TOK->kind == GQL_T_NAME)
			rc = field(p, s);
		else
			rc = unexpected(p, "Name");
		if (rc != ERR_OK || optional(p, GQL_T_RBRACE, &got) != ERR_OK)
			return ERR_INVALID;
	} while (!got);
	p->depth--;
	set->items = items.items;
	set->n = items.n;
	*out = set;
	return ERR_OK;
}

static int variable_definitions(struct parser *p, struct gql_definition *d)
{
	struct vec vars = {NULL, 0, 0, sizeof(struct gql_vardef)};
	int got;

	if (TOK->kind != GQL_T_LPAREN)
		return ERR_OK;
	if (advance(p) != ERR_OK)
		return ERR_INVALID;
	do {
		struct gql_vardef *v = vec_push(p->a, &vars);

		v->loc = TOK->loc;
		if (expect(p, GQL_T_DOLLAR, "\"$\"") != ERR_OK ||
		    name(p, &v->name, NULL) != ERR_OK ||
		    expect(p, GQL_T_COLON, "\":\"") != ERR_OK || type_ref(p, &v->type) != ERR_OK ||
		    optional(p, GQL_T_EQUALS, &got) != ERR_OK)
			return ERR_INVALID;
		if (got) {
			v->def = arena_zalloc(p->a, sizeof *v->def);
			if (value(p, 1, v->def) != ERR_OK)
				return ERR_INVALID;
		}
		if (directives(p, 1, &v->dirs, &v->ndirs) != ERR_OK ||
		    optional(p, GQL_T_RPAREN, &got) != ERR_OK)
			return ERR_INVALID;
	} while (!got);
	d->vars = vars.items;
	d->nvars = vars.n;
	return ERR_OK;
}

static int definition(struct parser *p, struct gql_definition *d)
{
	d->loc = TOK->loc;
	if (TOK->kind == GQL_T_LBRACE) {
		d->op = GQL_QUERY;
		return selection_set(p, &d->sel);
	}
	if (TOK->kind != GQL_T_NAME)
		return unexpected(p, NULL);
	if (is_keyword(p, "fragment")) {
		d->is_fragment = 1;
		if (advance(p) != ERR_OK)
			return ERR_INVALID;
		if (is_keyword(p, "on"))
			return unexpected(p, NULL);
		if (name(p, &d->name, NULL) != ERR_OK)
			return ERR_INVALID;
		if (!is_keyword(p, "on"))
			return unexpected(p, "\"on\"");
		if (advance(p) != ERR_OK || name(p, &d->type_condition, NULL) != ERR_OK ||
		    directives(p, 0, &d->dirs, &d->ndirs) != ERR_OK)
			return ERR_INVALID;
		return selection_set(p, &d->sel);
	}
	if (is_keyword(p, "query"))
		d->op = GQL_QUERY;
	else if (is_keyword(p, "mutation"))
		d->op = GQL_MUTATION;
	else if (is_keyword(p, "subscription"))
		d->op = GQL_SUBSCRIPTION;
	else
		return unexpected(p, NULL);
	if (advance(p) != ERR_OK)
		return ERR_INVALID;
	if (TOK->kind == GQL_T_NAME && name(p, &d->name, NULL) != ERR_OK)
		return ERR_INVALID;
	if (variable_definitions(p, d) != ERR_OK || directives(p, 0, &d->dirs, &d->ndirs) != ERR_OK)
		return ERR_INVALID;
	return selection_set(p, &d->sel);
}

int gql_parse(struct arena *a, const char *src, size_t len, struct gql_document *doc,
              struct gql_syntax_error *err)
{
	struct parser p;
	struct vec defs = {NULL, 0, 0, sizeof(struct gql_definition)};

	memset(doc, 0, sizeof *doc);
	memset(&p, 0, sizeof p);
	p.a = a;
	gql_lex_init(&p.lx, a, src, len, err);
	if (advance(&p) != ERR_OK)
		return ERR_INVALID;
	do {
		if (definition(&p, vec_push(a, &defs)) != ERR_OK)
			return ERR_INVALID;
	} while (p.lx.tok.kind != GQL_T_EOF);
	doc->defs = defs.items;
	doc->n = defs.n;
	return ERR_OK;
}

int gql_parse_const(struct arena *a, const char *src, struct gql_value *out,
                    struct gql_syntax_error *err)
{
	struct parser p;

	memset(&p, 0, sizeof p);
	p.a = a;
	gql_lex_init(&p.lx, a, src, strlen(src), err);
	if (advance(&p) != ERR_OK || value(&p, 1, out) != ERR_OK)
		return ERR_INVALID;
	if (p.lx.tok.kind != GQL_T_EOF)
		return unexpected(&p, "<EOF>");
	return ERR_OK;
}

const char *gql_op_name(enum gql_op_kind k)
{
	switch (k) {
	case GQL_QUERY: return "query";
	case GQL_MUTATION: return "mutation";
	default: return "subscription";
	}
}
