/* lexer.c - GraphQL tokens; see lexer.h. The grammar is the spec's Appendix B ("Lexical
 * Tokens"); messages follow graphql-js's wording so that clients see familiar text. */
#include "graphql/lexer.h"

#include <string.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/util.h"

void gql_lex_init(struct gql_lexer *lx, struct arena *a, const char *src, size_t len,
                  struct gql_syntax_error *err)
{
	memset(lx, 0, sizeof *lx);
	lx->a = a;
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->err = err;
}

/* The column (1-based, in code points) of byte offset off on the current line. Counted on
 * from the last answer, so a long line costs linear time, not quadratic. */
static int column(struct gql_lexer *lx, size_t off)
{
	if (lx->col_off < lx->line_start || off < lx->col_off) {
		lx->col_off = lx->line_start;
		lx->col = 1;
	}
	for (size_t i = lx->col_off; i < off && i < lx->len; i++)
		if (((unsigned char)lx->src[i] & 0xC0) != 0x80)
			lx->col++;
	lx->col_off = off;
	return lx->col;
}

static int fail_at(struct gql_lexer *lx, size_t off, const char *msg)
{
	lx->err->message = arena_printf(lx->a, "Syntax Error: %s", msg);
	lx->err->loc.line = lx->line;
	lx->err->loc.col = column(lx, off);
	return ERR_INVALID;
}

static int peek(const struct gql_lexer *lx, size_t off)
{
	return off < lx->len ? (unsigned char)lx->src[off] : -1;
}

static int is_name_start(int c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_name_continue(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Decodes the UTF-8 sequence at off (the input is valid UTF-8): code point and length. */
static unsigned utf8_at(const struct gql_lexer *lx, size_t off, size_t *n)
{
	const unsigned char *s = (const unsigned char *)lx->src + off;
	size_t left = lx->len - off;

	if (s[0] < 0x80 || left < 2) {
		*n = 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0) {
		*n = 2;
		return ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
	}
	if ((s[0] & 0xF0) == 0xE0 && left >= 3) {
		*n = 3;
		return ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
	}
	if (left >= 4) {
		*n = 4;
		return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
		       (s[3] & 0x3Fu);
	}
	*n = 1;
	return s[0];
}

/* Skips ignored tokens; keeps the line count. */
static void skip_ignored(struct gql_lexer *lx)
{
	while (lx->pos < lx->len) {
		int c = peek(lx, lx->pos);

		if (c == ' ' || c == '\t' || c == ',') {
			lx->pos++;
		} else if (c == '\n' || c == '\r') {
			lx->pos++;
			if (c == '\r' && peek(lx, lx->pos) == '\n')
				lx->pos++;
			lx->line++;
			lx->line_start = lx->pos;
		} else if (c == 0xEF && peek(lx, lx->pos + 1) == 0xBB &&
		           peek(lx, lx->pos + 2) == 0xBF) {
			lx->pos += 3; /* U+FEFF, the byte order mark */
		} else if (c == '#') {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n' &&
			       lx->src[lx->pos] != '\r')
				lx->pos++;
		} else {
			return;
		}
	}
}

static void put_utf8(struct buf *b, unsigned cp, int *rc)
{
	char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12)), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		out[0] = (char)(0xF0 | (cp >> 18)), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*rc == ERR_OK)
		*rc = buf_append(b, out, n);
}

/* Reads hex digits at off: exactly 4 (fixed) or 1.. up to '}' (braced). -1 on error. */
static long read_hex(const struct gql_lexer *lx, size_t off, size_t count)
{
	long v = 0;

	for (size_t i = 0; i < count; i++) {
		int d = util_hexval(peek(lx, off + i));

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static int is_lead_surrogate(long v)
{
	return v >= 0xD800 && v <= 0xDBFF;
}

static int is_trail_surrogate(long v)
{
	return v >= 0xDC00 && v <= 0xDFFF;
}

/* One escape after a backslash at lx->pos (which points at the backslash). */
static int read_escape(struct gql_lexer *lx, struct buf *b, int *rc)
{
	size_t at = lx->pos;
	int c = peek(lx, at + 1);
	long v;

	switch (c) {
	case '"': put_utf8(b, '"', rc), lx->pos += 2; return ERR_OK;
	case '\\': put_utf8(b, '\\', rc), lx->pos += 2; return ERR_OK;
	case '/': put_utf8(b, '/', rc), lx->pos += 2; return ERR_OK;
	case 'b': put_utf8(b, '\b', rc), lx->pos += 2; return ERR_OK;
	case 'f': put_utf8(b, '\f', rc), lx->pos += 2; return ERR_OK;
	case 'n': put_utf8(b, '\n', rc), lx->pos += 2; return ERR_OK;
	case 'r': put_utf8(b, '\r', rc), lx->pos += 2; return ERR_OK;
	case 't': put_utf8(b, '\t', rc), lx->pos += 2; return ERR_OK;
	case 'u': break;
	default: return fail_at(lx, at, "Invalid character escape sequence.");
	}
	if (peek(lx, at + 2) == '{') {
		size_t i = at + 3;

		v = 0;
		while (peek(lx, i) != '}') {
			int d = util_hexval(peek(lx, i));

			if (d < 0 || v > 0x10FFFF)
				return fail_at(lx, at, "Invalid Unicode escape sequence.");
			v = v * 16 + d;
			i++;
		}
		if (i == at + 3 || v > 0x10FFFF || is_lead_surrogate(v) || is_trail_surrogate(v))
			return fail_at(lx, at, "Invalid Unicode escape sequence.");
		put_utf8(b, (unsigned)v, rc);
		lx->pos = i + 1;
		return ERR_OK;
	}
	v = read_hex(lx, at + 2, 4);
	if (v < 0 || is_trail_surrogate(v))
		return fail_at(lx, at, "Invalid Unicode escape sequence.");
	if (is_lead_surrogate(v)) {
		long t = -1;

		if (peek(lx, at + 6) == '\\' && peek(lx, at + 7) == 'u')
			t = read_hex(lx, at + 8, 4);
		if (!is_trail_surrogate(t))
			return fail_at(lx, at, "Invalid Unicode escape sequence.");
		put_utf8(b, (unsigned)(0x10000 + ((v - 0xD800) << 10) + (t - 0xDC00)), rc);
		lx->pos = at + 12;
		return ERR_OK;
	}
	put_utf8(b, (unsigned)v, rc);
	lx->pos = at + 6;
	return ERR_OK;
}

static int read_string(struct gql_lexer *lx)
{
	struct buf b;
	int rc = ERR_OK;
	size_t start = lx->pos;

	buf_init(&b, lx->a, lx->len + 1);
	lx->pos++; /* the opening quote */
	for (;;) {
		int c = peek(lx, lx->pos);

		if (c < 0 || c == '\n' || c == '\r')
			return fail_at(lx, lx->pos, "Unterminated string.");
		if (c == '"')
			break;
		if (c == '\\') {
			if (read_escape(lx, &b, &rc) != ERR_OK)
				return ERR_INVALID;
			continue;
		}
		size_t n;

		(void)utf8_at(lx, lx->pos, &n);
		if (rc == ERR_OK)
			rc = buf_append(&b, lx->src + lx->pos, n);
		lx->pos += n;
	}
	lx->pos++;
	if (rc != ERR_OK)
		return fail_at(lx, start, "String too long.");
	lx->tok.kind = GQL_T_STRING;
	lx->tok.vlen = b.len;
	lx->tok.value = b.data != NULL ? b.data : arena_strdup(lx->a, "");
	return ERR_OK;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* BlockString(rawValue), section 2.9.4: common indentation removed from every line but
 * the first, leading and trailing blank lines removed, lines joined with \n. */
static char *block_string_value(struct arena *a, const char *raw, size_t n, size_t *outlen)
{
	size_t nlines = 1, i, k = 0;

	for (i = 0; i < n; i++)
		if (raw[i] == '\n' || (raw[i] == '\r' && (i + 1 >= n || raw[i + 1] != '\n')))
			nlines++;
	const char **ls = arena_alloc(a, nlines * sizeof *ls);
	size_t *ll = arena_alloc(a, nlines * sizeof *ll);
	size_t s = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || raw[i] == '\n' || raw[i] == '\r') {
			ls[k] = raw + s;
			ll[k] = i - s;
			k++;
			if (i < n && raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n')
				i++;
			s = i + 1;
		}
	}
	size_t common = (size_t)-1;

	for (i = 1; i < k; i++) {
		size_t ind = 0;

		while (ind < ll[i] && (ls[i][ind] == ' ' || ls[i][ind] == '\t'))
			ind++;
		if (ind < ll[i] && ind < common)
			common = ind;
	}
	if (common != (size_t)-1)
		for (i = 1; i < k; i++) {
			size_t cut = ll[i] < common ? ll[i] : common;

			ls[i] += cut;
			ll[i] -= cut;
		}
	size_t first = 0, last = k;

	while (first < last && is_blank(ls[first], ll[first]))
		first++;
	while (last > first && is_blank(ls[last - 1], ll[last - 1]))
		last--;
	size_t total = 0;

	for (i = first; i < last; i++)
		total += ll[i] + 1;
	char *out = arena_alloc(a, total + 1), *p = out;

	for (i = first; i < last; i++) {
		if (i > first)
			*p++ = '\n';
		memcpy(p, ls[i], ll[i]);
		p += ll[i];
	}
	*p = '\0';
	*outlen = (size_t)(p - out);
	return out;
}

static int read_block_string(struct gql_lexer *lx)
{
	size_t start = lx->pos, i = lx->pos + 3;
	struct buf raw;
	int rc = ERR_OK;
	int line = lx->line;
	size_t line_start = lx->line_start;

	buf_init(&raw, lx->a, lx->len + 1);
	for (;;) {
		int c = peek(lx, i);

		if (c < 0) {
			lx->line = line, lx->line_start = line_start;
			return fail_at(lx, start, "Unterminated string.");
		}
		if (c == '"' && peek(lx, i + 1) == '"' && peek(lx, i + 2) == '"')
			break;
		if (c == '\\' && peek(lx, i + 1) == '"' && peek(lx, i + 2) == '"' &&
		    peek(lx, i + 3) == '"') {
			if (rc == ERR_OK)
				rc = buf_append(&raw, "\"\"\"", 3);
			i += 4;
			continue;
		}
		if (c == '\n' || c == '\r') {
			if (rc == ERR_OK)
				rc = buf_putc(&raw, (char)c);
			i++;
			if (c == '\r' && peek(lx, i) == '\n') {
				if (rc == ERR_OK)
					rc = buf_putc(&raw, '\n');
				i++;
			}
			lx->line++;
			lx->line_start = i;
			continue;
		}
		if (rc == ERR_OK)
			rc = buf_putc(&raw, (char)c);
		i++;
	}
	lx->pos = i + 3;
	if (rc != ERR_OK)
		return fail_at(lx, start, "String too long.");
	lx->tok.kind = GQL_T_BLOCK_STRING;
	lx->tok.value =
	    block_string_value(lx->a, raw.data != NULL ? raw.data : "", raw.len, &lx->tok.vlen);
	return ERR_OK;
}

static int read_digits(struct gql_lexer *lx, size_t *i)
{
	int c = peek(lx, *i);

	if (!is_digit(c)) {
		const char *what = c < 0 ? "<EOF>" : arena_printf(lx->a, "\"%c\"", c);

		if (c >= 0x80 || (c >= 0 && c < 0x20))
			what = "an unexpected character";
		return fail_at(
		    lx, *i,
		    arena_printf(lx->a, "Invalid number, expected digit but got: %s.", what));
	}
	while (is_digit(peek(lx, *i)))
		(*i)++;
	return ERR_OK;
}

static int read_number(struct gql_lexer *lx)
{
	size_t i = lx->pos;
	int is_float = 0;

	if (peek(lx, i) == '-')
		i++;
	if (peek(lx, i) == '0') {
		i++;
		if (is_digit(peek(lx, i)))
			return fail_at(lx, i, "Invalid number, unexpected digit after 0.");
	} else if (read_digits(lx, &i) != ERR_OK) {
		return ERR_INVALID;
	}
	if (peek(lx, i) == '.') {
		is_float = 1;
		i++;
		if (read_digits(lx, &i) != ERR_OK)
			return ERR_INVALID;
	}
	if (peek(lx, i) == 'e' || peek(lx, i) == 'E') {
		is_float = 1;
		i++;
		if (peek(lx, i) == '+' || peek(lx, i) == '-')
			i++;
		if (read_digits(lx, &i) != ERR_OK)
			return ERR_INVALID;
	}
	if (peek(lx, i) == '.' || is_name_start(peek(lx, i)))
		return fail_at(lx, i,
		               "Invalid number, expected digit but got: an unexpected character.");
	lx->tok.kind = is_float ? GQL_T_FLOAT : GQL_T_INT;
	lx->tok.value = arena_strndup(lx->a, lx->src + lx->pos, i - lx->pos);
	lx->tok.vlen = i - lx->pos;
	lx->pos = i;
	return ERR_OK;
}

int gql_lex_next(struct gql_lexer *lx)
{
	static const struct {
		char c;
		enum gql_tok t;
	} punct[] = {
	    {'!', GQL_T_BANG},     {'$', GQL_T_DOLLAR},   {'&', GQL_T_AMP},    {'(', GQL_T_LPAREN},
	    {')', GQL_T_RPAREN},   {':', GQL_T_COLON},    {'=', GQL_T_EQUALS}, {'@', GQL_T_AT},
	    {'[', GQL_T_LBRACKET}, {']', GQL_T_RBRACKET}, {'{', GQL_T_LBRACE}, {'|', GQL_T_PIPE},
	    {'}', GQL_T_RBRACE},
	};
	int rc = ERR_OK, c;

	skip_ignored(lx);
	memset(&lx->tok, 0, sizeof lx->tok);
	lx->tok.start = lx->src + lx->pos;
	lx->tok.loc.line = lx->line;
	lx->tok.loc.col = column(lx, lx->pos);
	c = peek(lx, lx->pos);
	if (c < 0) {
		lx->tok.kind = GQL_T_EOF;
		return ERR_OK;
	}
	for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i++)
		if (c == punct[i].c) {
			lx->tok.kind = punct[i].t;
			lx->pos++;
			lx->tok.len = 1;
			return ERR_OK;
		}
	size_t start = lx->pos;

	if (c == '.') {
		if (peek(lx, lx->pos + 1) == '.' && peek(lx, lx->pos + 2) == '.') {
			lx->tok.kind = GQL_T_SPREAD;
			lx->pos += 3;
			lx->tok.len = 3;
			return ERR_OK;
		}
		return fail_at(lx, lx->pos, "Unexpected character: \".\".");
	}
	if (is_name_start(c)) {
		size_t i = lx->pos;

		while (is_name_continue(peek(lx, i)))
			i++;
		lx->tok.kind = GQL_T_NAME;
		lx->tok.value = arena_strndup(lx->a, lx->src + lx->pos, i - lx->pos);
		lx->tok.vlen = i - lx->pos;
		lx->pos = i;
	} else if (c == '-' || is_digit(c)) {
		rc = read_number(lx);
	} else if (c == '"') {
		if (peek(lx, lx->pos + 1) == '"' && peek(lx, lx->pos + 2) == '"')
			rc = read_block_string(lx);
		else
			rc = read_string(lx);
	} else if (c == '\'') {
		return fail_at(
		    lx, lx->pos,
		    "Unexpected single quote character ('), did you mean to use a double "
		    "quote (\")?");
	} else if (c >= 0x20 && c < 0x7F) {
		return fail_at(lx, lx->pos,
		               arena_printf(lx->a, "Unexpected character: \"%c\".", c));
	} else {
		size_t n;
		unsigned cp = utf8_at(lx, lx->pos, &n);

		return fail_at(lx, lx->pos,
		               arena_printf(lx->a, "Invalid character: U+%04X.", (unsigned)cp));
	}
	lx->tok.len = lx->pos - start;
	return rc;
}

const char *gql_tok_describe(struct arena *a, const struct gql_token *t)
{
	switch (t->kind) {
	case GQL_T_EOF: return "<EOF>";
	case GQL_T_NAME: return arena_printf(a, "Name \"%s\"", t->value);
	case GQL_T_INT: return arena_printf(a, "Int \"%s\"", t->value);
	case GQL_T_FLOAT: return arena_printf(a, "Float \"%s\"", t->value);
	case GQL_T_STRING: return "String";
	case GQL_T_BLOCK_STRING: return "BlockString";
	case GQL_T_SPREAD: return "\"...\"";
	default: return arena_printf(a, "\"%.*s\"", (int)t->len, t->start);
	}
}
