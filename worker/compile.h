/* compile.h - a LaTeX document to a PDF inside a sandbox (docs/internals/resumes.md).
 *
 * pdflatex runs under bubblewrap: every namespace unshared (no network, own pid space),
 * /usr and the TeX configuration read-only, nothing else of the host visible (no /etc,
 * no /home, no /var beyond the TeX format files), one private writable directory (the
 * job's, removed afterwards); shell escape off, openin_any=p and openout_any=p (TeX may
 * read and write only below that directory); CPU, address-space, file-size and
 * open-file limits (setrlimit) and a wall clock, after which the whole process group is
 * killed with SIGKILL. A PDF over COMPILE_PDF_MAX bytes is refused.
 */
#ifndef MEDRIN_WORKER_COMPILE_H
#define MEDRIN_WORKER_COMPILE_H

#include <stddef.h>

struct arena;
struct config;

#define COMPILE_PDF_MAX (20L * 1024 * 1024)
#define COMPILE_ERRBUF_SIZE 256

/* compile_tex compiles tex and moves the PDF to dest (an absolute path; its directory is
 * created). job names the run (appears on the TeX command line: [A-Za-z0-9-]+).
 * Returns ERR_OK (*bytes: the PDF's size), ERR_INVALID (the document failed: a TeX
 * error, the time limit, a limit; err says which: not worth retrying) or ERR_UNAVAILABLE
 * (the sandbox or the file system failed: retry), with a message in err. */
int compile_tex(const struct config *cfg, struct arena *a, const char *job, const char *tex,
                const char *dest, long *bytes, char err[COMPILE_ERRBUF_SIZE]);

#endif
