/* compile.c - the TeX sandbox; see compile.h. */
#include "compile.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "base/util.h"

#define BWRAP "/usr/bin/bwrap"
#define PDFLATEX "/usr/bin/pdflatex"
#define OUTPUT_MAX (32L * 1024 * 1024) /* RLIMIT_FSIZE: any file TeX writes */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *dir)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		log_warn("compile: cannot remove a job directory");
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text), off = 0;

	if (fd < 0)
		return ERR_UNAVAILABLE;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return ERR_UNAVAILABLE;
		}
		off += (size_t)n;
	}
	return close(fd) == 0 ? ERR_OK : ERR_UNAVAILABLE;
}

static void limit(int res, rlim_t v)
{
	struct rlimit rl = {v, v};

	if (setrlimit(res, &rl) != 0)
		_exit(126);
}

/* The child: its own process group, the limits, then bwrap. Only async-signal-safe
 * calls between fork and exec. */
static void child(const struct config *cfg, char *const argv[], const char *out_path)
{
	int fd;

	setpgid(0, 0);
	limit(RLIMIT_CPU, (rlim_t)cfg->compile_timeout_s + 1);
	limit(RLIMIT_AS, (rlim_t)cfg->compile_memory_mb * 1024 * 1024);
	limit(RLIMIT_FSIZE, (rlim_t)OUTPUT_MAX);
	limit(RLIMIT_NOFILE, 256);
	limit(RLIMIT_CORE, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0)
		_exit(126);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	for (int i = 3; i < 1024; i++)
		close(i);
	execv(BWRAP, argv);
	_exit(127);
}

/* first_error: the first "! ..." line of the TeX log (what went wrong), cleaned. */
static void first_error(const char *log_path, char *out, size_t n)
{
	FILE *f = fopen(log_path, "r");
	char line[512];

	snprintf(out, n, "TeX failed");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] != '!')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		snprintf(out, n, "TeX failed: %.200s", line + 1 + (line[1] == ' '));
		break;
	}
	fclose(f);
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* install copies src to dest through dest.tmp + rename (readers never see half a PDF). */
static int install(struct arena *a, const char *src, const char *dest, long *bytes)
{
	char *dir = arena_strdup(a, dest);
	char *tmp = arena_printf(a, "%s.tmp%ld", dest, (long)getpid());
	char buf[65536];
	int in, out, rc = ERR_OK;
	long total = 0;
	ssize_t n;

	if (mkdirs(dir) != 0)
		return ERR_UNAVAILABLE;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ERR_UNAVAILABLE;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		close(in);
		return ERR_UNAVAILABLE;
	}
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			rc = ERR_UNAVAILABLE;
			break;
		}
		total += n;
	}
	if (n < 0)
		rc = ERR_UNAVAILABLE;
	close(in);
	if (close(out) != 0)
		rc = ERR_UNAVAILABLE;
	if (rc == ERR_OK && rename(tmp, dest) != 0)
		rc = ERR_UNAVAILABLE;
	if (rc != ERR_OK)
		unlink(tmp);
	*bytes = total;
	return rc;
}

int compile_tex(const struct config *cfg, struct arena *a, const char *job, const char *tex,
                const char *dest, long *bytes, char err[COMPILE_ERRBUF_SIZE])
{
	char dir[] = "/tmp/medrin-compile-XXXXXX";
	const char *tex_path, *out_path, *pdf_path, *log_path;
	struct stat st;
	int64_t deadline;
	int status = 0, timed_out = 0, rc;
	pid_t pid, w;
	char head[5] = {0};
	FILE *f;

	*bytes = 0;
	err[0] = '\0';
	if (access(BWRAP, X_OK) != 0 || access(PDFLATEX, X_OK) != 0) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "sandbox unavailable: %s or %s missing", BWRAP,
		         PDFLATEX);
		return ERR_UNAVAILABLE;
	}
	if (mkdtemp(dir) == NULL) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "cannot create a job directory");
		return ERR_UNAVAILABLE;
	}
	tex_path = arena_printf(a, "%s/%s.tex", dir, job);
	out_path = arena_printf(a, "%s/tex.out", dir);
	pdf_path = arena_printf(a, "%s/%s.pdf", dir, job);
	log_path = arena_printf(a, "%s/%s.log", dir, job);
	if (write_file(tex_path, tex) != ERR_OK) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "cannot write the document");
		rc = ERR_UNAVAILABLE;
		goto out;
	}

	const char *jobname = arena_printf(a, "-jobname=%s", job);
	const char *texfile = arena_printf(a, "%s.tex", job);
	/* Every namespace --unshare-all would make but UTS (the hostname is not a secret,
	 * and medrin-worker.service does not allow UTS namespaces): user, IPC, PID, network,
	 * and cgroup where the kernel allows it. */
	const char *argv[] = {"bwrap",
	                      "--unshare-user",
	                      "--unshare-ipc",
	                      "--unshare-pid",
	                      "--unshare-net",
	                      "--unshare-cgroup-try",
	                      "--die-with-parent",
	                      "--cap-drop",
	                      "ALL",
	                      "--ro-bind",
	                      "/usr",
	                      "/usr",
	                      "--symlink",
	                      "usr/bin",
	                      "/bin",
	                      "--symlink",
	                      "usr/lib",
	                      "/lib",
	                      "--symlink",
	                      "usr/lib64",
	                      "/lib64",
	                      "--ro-bind",
	                      "/etc/texmf",
	                      "/etc/texmf",
	                      "--ro-bind",
	                      "/var/lib/texmf",
	                      "/var/lib/texmf",
	                      "--dev",
	                      "/dev",
	                      "--proc",
	                      "/proc",
	                      "--tmpfs",
	                      "/tmp",
	                      "--bind",
	                      dir,
	                      "/job",
	                      "--chdir",
	                      "/job",
	                      "--clearenv",
	                      "--setenv",
	                      "PATH",
	                      "/usr/bin",
	                      "--setenv",
	                      "HOME",
	                      "/job",
	                      "--setenv",
	                      "LC_ALL",
	                      "C.UTF-8",
	                      "--setenv",
	                      "openin_any",
	                      "p",
	                      "--setenv",
	                      "openout_any",
	                      "p",
	                      "--setenv",
	                      "shell_escape",
	                      "f",
	                      "--setenv",
	                      "TEXMFVAR",
	                      "/job/.texmf-var",
	                      "--setenv",
	                      "TEXMFCACHE",
	                      "/job/.texmf-var",
	                      PDFLATEX,
	                      "-no-shell-escape",
	                      "-interaction=nonstopmode",
	                      "-halt-on-error",
	                      "-file-line-error",
	                      jobname,
	                      texfile,
	                      NULL};

	/* execv takes char *const[]: the same pointers, copied without a qualifier cast. */
	char **av = arena_alloc(a, sizeof argv);

	memcpy(av, argv, sizeof argv);
	deadline = util_now_usec() + (int64_t)cfg->compile_timeout_s * 1000000;
	pid = fork();
	if (pid < 0) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "cannot start the sandbox");
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (pid == 0)
		child(cfg, av, out_path);
	setpgid(pid, pid); /* also here: no race with the kill below */
	for (;;) {
		struct timespec ts = {0, 20 * 1000000L};

		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (util_now_usec() >= deadline) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		nanosleep(&ts, NULL);
	}
	/* Whatever is left in the group (nothing, normally: the pid namespace died with
	 * bwrap) goes too. */
	kill(-pid, SIGKILL);

	if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "TeX time limit exceeded (%d s); stopped",
		         cfg->compile_timeout_s);
		rc = ERR_INVALID;
		goto out;
	}
	if (WIFSIGNALED(status)) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "TeX killed by signal %d (a resource limit)",
		         WTERMSIG(status));
		rc = ERR_INVALID;
		goto out;
	}
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127)) {
		snprintf(err, COMPILE_ERRBUF_SIZE, "sandbox failed to start (exit %d)",
		         WEXITSTATUS(status));
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(pdf_path, &st) != 0) {
		if (stat(log_path, &st) == 0) {
			first_error(log_path, err, COMPILE_ERRBUF_SIZE);
			rc = ERR_INVALID;
		} else {
			snprintf(err, COMPILE_ERRBUF_SIZE, "sandbox failed (no TeX log)");
			rc = ERR_UNAVAILABLE;
		}
		goto out;
	}
	f = fopen(pdf_path, "rb");
	if (f == NULL || fread(head, 1, 4, f) != 4 || memcmp(head, "%PDF", 4) != 0 ||
	    st.st_size > COMPILE_PDF_MAX) {
		if (f != NULL)
			fclose(f);
		snprintf(err, COMPILE_ERRBUF_SIZE, "TeX produced no usable PDF (over %ld bytes?)",
		         COMPILE_PDF_MAX);
		rc = ERR_INVALID;
		goto out;
	}
	fclose(f);
	rc = install(a, pdf_path, dest, bytes);
	if (rc != ERR_OK)
		snprintf(err, COMPILE_ERRBUF_SIZE, "cannot store the PDF under MEDRIN_FILES_DIR");
out:
	rm_tree(dir);
	return rc;
}
