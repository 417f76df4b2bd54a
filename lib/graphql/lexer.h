/* lexer.h - GraphQL tokens (October 2021, section 2.1). Used by the parser only.
 *
 * Ignored tokens (white space, line terminators, commas, comments, the byte order mark)
 * are skipped; a String or block string token carries its decoded value (escapes
 * resolved, block strings dedented as BlockString() says) in the arena.
 */
#ifndef MEDRIN_GQL_LEXER_H
#define MEDRIN_GQL_LEXER_H

#include <stddef.h>
#include "graphql/ast.h"

enum gql_tok {
	GQL_T_EOF,
	GQL_T_BANG,
	GQL_T_DOLLAR,
	GQL_T_AMP,
	GQL_T_LPAREN,
	GQL_T_RPAREN,
	GQL_T_SPREAD,
	GQL_T_COLON,
	GQL_T_EQUALS,
	GQL_T_AT,
	GQL_T_LBRACKET,
	GQL_T_RBRACKET,
	GQL_T_LBRACE,
	GQL_T_PIPE,
	GQL_T_RBRACE,
	GQL_T_NAME,
	GQL_T_INT,
	GQL_T_FLOAT,
	GQL_T_STRING,
	GQL_T_BLOCK_STRING
};

struct gql_token {
	enum gql_tok kind;
	const char *start; /* raw text in the source */
	size_t len;
	struct gql_loc loc;
	char *value; /* strings: decoded (NUL-terminated, vlen bytes); names and numbers: a copy */
	size_t vlen;
};

struct gql_lexer {
	struct arena *a;
	const char *src;
	size_t len;
	size_t pos;
	int line;
	size_t line_start; /* offset of the current line's first byte */
	size_t col_off;    /* column cache: byte offset col_off on this line is column col */
	int col;
	struct gql_token tok;
	struct gql_syntax_error *err;
};

void gql_lex_init(struct gql_lexer *lx, struct arena *a, const char *src, size_t len,
                  struct gql_syntax_error *err);
/* Advances to the next token (lx->tok). ERR_INVALID with lx->err filled. */
int gql_lex_next(struct gql_lexer *lx) MUSTCHECK;
/* A description of the current token for messages: "Name \"x\"", "\"{\"", "<EOF>". */
const char *gql_tok_describe(struct arena *a, const struct gql_token *t);

#endif
