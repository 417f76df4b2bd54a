/* latex.c - escaping and the resume template; see latex.h. */
#include "domain/latex.h"

#include <string.h>
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* A bounded arena buffer only fails past its (generous) limit: output is then cut. */
#define IGN(x)                       \
	do {                         \
		if ((x) != ERR_OK) { \
		}                    \
	} while (0)
#include "domain/resumes.h"

/* Latin Extended-A letters T1 has no glyph of its own for (Đ Ħ ħ ĸ Ŀ ŀ ŉ Ŧ ŧ ſ) or draws
 * as a letter plus an accent (Ģ ĩ Į Ķ Ļ Ņ Ŗ Ų …, which text extraction would return
 * decomposed or as the bare letter): composed from others, each inside a PDF ActualText span so
 * that copying or pdftotext gives the real character back. */
#define LATEX_AT(hex, glyph)                                                               \
	"\\DeclareUnicodeCharacter{" hex "}{\\pdfliteral page{/Span<</ActualText<FEFF" hex \
	">>>BDC}" glyph "\\pdfliteral page{EMC}}\n"
#define LATEX_BAR(letter, h) letter "\\llap{\\raisebox{" h "}{\\rule{0.45em}{0.06ex}}\\kern0.05em}"
#define LATEX_EXTRA                                                       \
	LATEX_AT("0122", "\\c{G}")                                        \
	LATEX_AT("0123", "\\c{g}")                                        \
	LATEX_AT("0129", "\\~{\\i}")                                      \
	LATEX_AT("012B", "\\={\\i}")                                      \
	LATEX_AT("012D", "\\u{\\i}")                                      \
	LATEX_AT("012E", "\\k{I}")                                        \
	LATEX_AT("012F", "\\k{i}")                                        \
	LATEX_AT("0135", "\\^{\\j}")                                      \
	LATEX_AT("0136", "\\c{K}")                                        \
	LATEX_AT("0137", "\\c{k}")                                        \
	LATEX_AT("013B", "\\c{L}")                                        \
	LATEX_AT("013C", "\\c{l}")                                        \
	LATEX_AT("0145", "\\c{N}")                                        \
	LATEX_AT("0146", "\\c{n}")                                        \
	LATEX_AT("0156", "\\c{R}")                                        \
	LATEX_AT("0157", "\\c{r}")                                        \
	LATEX_AT("0172", "\\k{U}")                                        \
	LATEX_AT("0173", "\\k{u}")                                        \
	LATEX_AT("0110", "\\DJ{}") /* T1 draws it with the glyph of Ð */ \
	LATEX_AT("0126", LATEX_BAR("H", "1.1ex"))                         \
	LATEX_AT("0127", LATEX_BAR("h", "1.2ex"))                         \
	LATEX_AT("0138", "\\textsc{k}")                                   \
	LATEX_AT("013F", "L\\kern-0.1em\\textperiodcentered{}")           \
	LATEX_AT("0140", "l\\textperiodcentered{}")                       \
	LATEX_AT("0149", "\\textquoteright{}n")                           \
	LATEX_AT("0166", LATEX_BAR("T", "0.8ex"))                         \
	LATEX_AT("0167", LATEX_BAR("t", "0.6ex"))                         \
	LATEX_AT("017F", "f")

/* Bound of a whole document: the largest resume (resumes.h limits) escaped. */
#define LATEX_DOC_MAX (32u * 1024u * 1024u)

/* What each ASCII character becomes; NULL: itself. Control characters are handled
 * before the table is consulted. */
static const char *const ascii_map[128] = {
    ['\\'] = "\\textbackslash{}",
    ['{'] = "\\{",
    ['}'] = "\\}",
    ['$'] = "\\$",
    ['&'] = "\\&",
    ['#'] = "\\#",
    ['%'] = "\\%",
    ['_'] = "\\_",
    ['~'] = "\\textasciitilde{}",
    ['^'] = "\\textasciicircum{}",
    ['<'] = "\\textless{}",
    ['>'] = "\\textgreater{}",
    ['|'] = "\\textbar{}",
    ['"'] = "\\textquotedbl{}",
    ['\''] = "\\textquotesingle{}",
    ['`'] = "\\textasciigrave{}",
    ['-'] = "-{}", /* no -- or --- ligatures */
    [','] = ",{}", /* no ,, ligature (T1) */
    ['!'] = "!{}", /* no !` ligature */
    ['?'] = "?{}", /* no ?` ligature */
    ['['] = "{[}", /* never an optional argument */
    [']'] = "{]}",
};

int latex_supported(unsigned cp)
{
	if (cp >= 0x20 && cp < 0x7f)
		return 1;
	if (cp >= 0xa0 && cp <= 0x17f)
		return 1; /* the few T1 lacks are composed in the preamble (LATEX_EXTRA) */
	switch (cp) {
	case 0x2013: /* – */
	case 0x2014: /* — */
	case 0x2018: /* ‘ */
	case 0x2019: /* ’ */
	case 0x201c: /* “ */
	case 0x201d: /* ” */
	case 0x2022: /* • */
	case 0x2026: /* … */
	case 0x20ac: /* € */ return 1;
	default: return 0;
	}
}

/* utf8_next decodes one code point at s (len bytes left). Returns its length, or 0 for
 * an invalid sequence (overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t len, unsigned *cp)
{
	size_t n;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static void put(struct buf *b, const void *p, size_t n)
{
	/* The buffer has no limit: only out of memory could fail, and arena memory aborts. */
	IGN(buf_append(b, p, n));
}

char *latex_escape(struct arena *a, const char *s)
{
	struct buf b;
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t len = strlen((const char *)p);

	/* The longest replacement is 16 bytes for one input byte. */
	buf_init(&b, a, len * 16 + 16);
	while (len > 0) {
		unsigned cp;
		size_t n = utf8_next(p, len, &cp);

		if (n == 0) {
			put(&b, "?", 1);
			p++, len--;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			put(&b, " ", 1);
		else if (cp < 0x80 && ascii_map[cp] != NULL)
			put(&b, ascii_map[cp], strlen(ascii_map[cp]));
		else if (latex_supported(cp))
			put(&b, p, n);
		else
			put(&b, "?", 1);
		p += n, len -= n;
	}
	return arena_strdup(a, buf_str(&b));
}

/* ------------------------------------------------------------------ the template */

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void esc(struct buf *b, struct arena *a, const char *s)
{
	puts_(b, latex_escape(a, s));
}

static int nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

static void contact_line(struct buf *b, struct arena *a, const struct resume *r)
{
	const char *parts[] = {r->contact.email, r->contact.phone, r->contact.linkedin,
	                       r->contact.github, r->contact.website};
	int first = 1;

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if (!nonempty(parts[i]))
			continue;
		if (!first)
			puts_(b, " \\textbar{} ");
		esc(b, a, parts[i]);
		first = 0;
	}
	if (!first)
		puts_(b, "\\par\n");
}

static void item_block(struct buf *b, struct arena *a, const struct resume_item *it)
{
	puts_(b, "\\noindent\\textbf{");
	esc(b, a, it->title);
	puts_(b, "}");
	if (nonempty(it->organization)) {
		puts_(b, " \\textemdash{} ");
		esc(b, a, it->organization);
	}
	if (nonempty(it->start_date) || nonempty(it->end_date)) {
		puts_(b, "\\hfill ");
		esc(b, a, nonempty(it->start_date) ? it->start_date : "");
		puts_(b, " \\textendash{} ");
		esc(b, a, nonempty(it->end_date) ? it->end_date : "present");
	}
	puts_(b, "\\par\n");
	if (nonempty(it->location)) {
		puts_(b, "\\noindent\\textit{");
		esc(b, a, it->location);
		puts_(b, "}\\par\n");
	}
	if (nonempty(it->description)) {
		puts_(b, "\\noindent ");
		esc(b, a, it->description);
		puts_(b, "\\par\n");
	}
	if (it->nbullets > 0) {
		puts_(b, "\\begin{itemize}\n");
		for (size_t i = 0; i < it->nbullets; i++) {
			puts_(b, "\\item ");
			esc(b, a, it->bullets[i]);
			puts_(b, "\n");
		}
		puts_(b, "\\end{itemize}\n");
	}
	puts_(b, "\\medskip\n");
}

char *latex_resume(struct arena *a, const struct resume *r)
{
	struct buf b;
	int compact = r->template != NULL && strcmp(r->template, "compact") == 0;

	buf_init(&b, a, LATEX_DOC_MAX);
	puts_(&b, "\\documentclass[11pt]{article}\n"
	          "\\usepackage[utf8]{inputenc}\n"
	          "\\usepackage[T1]{fontenc}\n"
	          "\\usepackage{lmodern}\n"
	          "\\usepackage{textcomp}\n");
	puts_(&b, LATEX_EXTRA);
	puts_(&b, compact ? "\\usepackage[margin=1.5cm]{geometry}\n"
	                  : "\\usepackage[margin=2.2cm]{geometry}\n");
	puts_(&b, "\\pagestyle{empty}\n"
	          "\\setlength{\\parindent}{0pt}\n"
	          "\\begin{document}\n"
	          "{\\LARGE\\bfseries ");
	esc(&b, a, nonempty(r->contact.name) ? r->contact.name : r->title);
	puts_(&b, "\\par}\n\\medskip\n");
	if (nonempty(r->contact.name)) {
		puts_(&b, "{\\large ");
		esc(&b, a, r->title);
		puts_(&b, "\\par}\n");
	}
	contact_line(&b, a, r);
	puts_(&b, "\\bigskip\n");
	for (size_t i = 0; i < r->nsections; i++) {
		const struct resume_section *s = &r->sections[i];

		puts_(&b, "\\section*{");
		esc(&b, a, s->title);
		puts_(&b, "}\n");
		for (size_t j = 0; j < s->nitems; j++)
			item_block(&b, a, &s->items[j]);
	}
	puts_(&b, "\\end{document}\n");
	return arena_strdup(a, buf_str(&b));
}
