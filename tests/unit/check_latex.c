/* check_latex.c - latex_escape, table-driven: every character TeX treats specially, the
 * ligatures that would change the text, control characters, UTF-8 (supported, outside
 * the fonts, invalid); and the resume cache codec round trip. */
#include <check.h>
#include <string.h>

#include "base/arena.h"
#include "domain/latex.h"
#include "domain/resumes.h"
#include "suites.h"

static const struct {
	const char *in, *out;
} cases[] = {
    {"", ""},
    {"plain text 123", "plain text 123"},
    {"\\", "\\textbackslash{}"},
    {"{", "\\{"},
    {"}", "\\}"},
    {"$", "\\$"},
    {"&", "\\&"},
    {"#", "\\#"},
    {"%", "\\%"},
    {"_", "\\_"},
    {"~", "\\textasciitilde{}"},
    {"^", "\\textasciicircum{}"},
    {"<>", "\\textless{}\\textgreater{}"},
    {"|", "\\textbar{}"},
    {"\"", "\\textquotedbl{}"},
    {"'", "\\textquotesingle{}"},
    {"`", "\\textasciigrave{}"},
    {"--", "-{}-{}"},
    {",,", ",{},{}"},
    {"!`?`", "!{}\\textasciigrave{}?{}\\textasciigrave{}"},
    {"[x]", "{[}x{]}"},
    {"\\input{/etc/passwd}", "\\textbackslash{}input\\{/etc/passwd\\}"},
    {"\\write18{id}", "\\textbackslash{}write18\\{id\\}"},
    {"$ % & # _ { } ~ ^ \\",
     "\\$ \\% \\& \\# \\_ \\{ \\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}"},
    {"a\nb\tc\rd", "a b c d"},
    {"\x7f", " "},
    {"Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m", "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m"},
    {"\xc5\x81\xc3\xb3"
     "d\xc5\xba \xc4\xa6 \xc5\xbf",
     "\xc5\x81\xc3\xb3"
     "d\xc5\xba \xc4\xa6 \xc5\xbf"},
    {"\xe2\x80\x94", "\xe2\x80\x94"}, /* em dash: supported */
    {"\xe4\xb8\xad", "?"},            /* CJK: outside the fonts */
    {"\xf0\x9f\x98\x80", "?"},        /* emoji */
    {"\xff", "?"},                    /* invalid byte */
    {"\xc3", "?"},                    /* truncated sequence */
    {"\xc0\xaf", "??"},               /* overlong '/' */
    {"\xed\xa0\x80", "???"},          /* surrogate */
    {"\xc2\x85", " "},                /* C1 control */
};

START_TEST(test_escape_table)
{
	struct arena *a = arena_new(0);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(strcmp(latex_escape(a, cases[i].in), cases[i].out) == 0,
		              "case %zu: '%s' -> '%s', want '%s'", i, cases[i].in,
		              latex_escape(a, cases[i].in), cases[i].out);
	ck_assert_str_eq(latex_escape(a, NULL), "");
	arena_free(a);
}
END_TEST

/* No output ever holds a special character the function did not write itself: every
 * byte 1..255 alone, and every pair of ASCII bytes, leaves no bare special. */
static int bare_specials(const char *s)
{
	static const char *const ok[] = {"\\textbackslash{}",
	                                 "\\{",
	                                 "\\}",
	                                 "\\$",
	                                 "\\&",
	                                 "\\#",
	                                 "\\%",
	                                 "\\_",
	                                 "\\textasciitilde{}",
	                                 "\\textasciicircum{}",
	                                 "\\textless{}",
	                                 "\\textgreater{}",
	                                 "\\textbar{}",
	                                 "\\textquotedbl{}",
	                                 "\\textquotesingle{}",
	                                 "\\textasciigrave{}",
	                                 "-{}",
	                                 ",{}",
	                                 "!{}",
	                                 "?{}",
	                                 "{[}",
	                                 "{]}"};

	while (*s) {
		size_t skip = 0;

		for (size_t i = 0; i < sizeof ok / sizeof ok[0] && !skip; i++)
			if (strncmp(s, ok[i], strlen(ok[i])) == 0)
				skip = strlen(ok[i]);
		if (skip) {
			s += skip;
			continue;
		}
		if (strchr("\\{}$&#%_~^", *s) != NULL)
			return 1;
		s++;
	}
	return 0;
}

START_TEST(test_escape_exhaustive)
{
	struct arena *a = arena_new(0);
	char in[3] = {0};

	for (int x = 1; x < 128; x++)
		for (int y = 0; y < 128; y++) {
			in[0] = (char)x;
			in[1] = (char)y;
			ck_assert_msg(!bare_specials(latex_escape(a, in)), "input %02x %02x", x, y);
		}
	arena_reset(a);
	for (unsigned cp = 0xa0; cp <= 0x17f; cp++)
		ck_assert_msg(latex_supported(cp), "U+%04X is Latin-1 / Latin Extended-A", cp);
	ck_assert(!latex_supported(0x4e2d));
	arena_free(a);
}
END_TEST

START_TEST(test_cache_round_trip)
{
	struct arena *a = arena_new(0);
	const char *bullets[] = {"one", "two = 2 \\ back"};
	struct resume_item item = {"i1", "Engineer\nline", "Org", "", "2020-01-01", NULL,
	                           "d",  bullets,          2,     0};
	struct resume_section sec = {"s1", "experience", "Work", 0, &item, 1};
	struct resume r = {"r1",
	                   "T",
	                   "classic",
	                   {"Zo\xc3\xab", "", "", "", "", ""},
	                   &sec,
	                   1,
	                   1,
	                   1,
	                   "2026-01-01T00:00:00Z",
	                   "2026-01-02T00:00:00Z"};
	struct resume_list l = {&r, 1, 0}, back;
	long long v = 0;
	char *text = resumes_cache_encode(a, 42, &l);

	ck_assert_int_eq(resumes_cache_decode(a, text, &v, &back), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(back.n, 1);
	ck_assert_str_eq(back.items[0].contact.name, "Zo\xc3\xab");
	ck_assert_int_eq(back.items[0].has_pdf, 1);
	ck_assert_int_eq(back.items[0].nsections, 1);
	ck_assert_str_eq(back.items[0].sections[0].items[0].title, "Engineer\nline");
	ck_assert_ptr_null(back.items[0].sections[0].items[0].end_date);
	ck_assert_str_eq(back.items[0].sections[0].items[0].start_date, "2020-01-01");
	ck_assert_int_eq(back.items[0].sections[0].items[0].nbullets, 2);
	ck_assert_str_eq(back.items[0].sections[0].items[0].bullets[1], "two = 2 \\ back");
	/* Truncated or altered text is refused, never half-read. */
	text[strlen(text) - 3] = '\0';
	ck_assert_int_ne(resumes_cache_decode(a, text, &v, &back), 0);
	ck_assert_int_ne(resumes_cache_decode(a, "t=r\n\n", &v, &back), 0);
	arena_free(a);
}
END_TEST

Suite *latex_suite(void)
{
	Suite *s = suite_create("latex");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_escape_table);
	tcase_add_test(tc, test_escape_exhaustive);
	tcase_add_test(tc, test_cache_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
