/* latex.h - user text into LaTeX, and a resume into a LaTeX document.
 *
 * latex_escape is the one function every user string goes through on its way into a
 * .tex file (docs/internals/resumes.md, "Compiling"). Its output typesets the input
 * literally under the document preamble latex_resume writes (T1 fonts, lmodern, UTF-8
 * input): every character TeX gives a meaning is replaced by a command that prints it,
 * ligatures that would change the text (-- ,, `` '' !` ?` << >>) are broken, control
 * characters become spaces, and code points outside what the fonts cover (Basic Latin,
 * Latin-1 Supplement, Latin Extended-A, the common punctuation of U+2010..U+2026) become
 * "?". Nothing user-provided can ever be read by TeX as a command: there is no input for
 * which the output contains a backslash, brace, #, %, $, &, ^, _ or ~ that the function
 * did not write itself.
 */
#ifndef MEDRIN_LATEX_H
#define MEDRIN_LATEX_H

#include <stddef.h>

struct arena;
struct resume;

/* latex_escape returns s escaped (arena memory, never NULL; NULL s gives ""). s must be
 * UTF-8; an invalid byte becomes "?". */
char *latex_escape(struct arena *a, const char *s);

/* latex_supported reports whether code point cp is printed as itself (1) or as "?" (0). */
int latex_supported(unsigned cp);

/* latex_resume returns the whole .tex document for r (arena memory). */
char *latex_resume(struct arena *a, const struct resume *r);

#endif
