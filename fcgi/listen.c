/* listen.c - see listen.h. We make the socket ourselves rather than with
 * FCGX_OpenSocket so that we control the backlog, the mode, stale-file handling and
 * O_NONBLOCK; libfcgi only ever sees the fd. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "listen.h"

#define SD_LISTEN_FDS_START 3

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return ERR_UNAVAILABLE;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return ERR_UNAVAILABLE;
	return 0;
}

/* A socket file nobody listens on any more is left over from a crash: connecting to it
 * is refused. Returns 0 when path is absent or stale (and removed). */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ERR_UNAVAILABLE;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("listen: %s exists and is not a socket; refusing to replace it", path);
		return ERR_CONFLICT;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		log_error("listen: %s is in use by a running server", path);
		rc = ERR_CONFLICT;
		goto out;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		log_error("listen: cannot probe %s: %s", path, strerror(errno));
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		log_error("listen: cannot remove stale socket %s: %s", path, strerror(errno));
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	log_info("listen: removed stale socket %s", path);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int open_unix(const char *path, int dev_mode, struct listen_sock *ls)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t mode = dev_mode ? 0666 : 0660;
	mode_t old_umask;
	size_t plen = strlen(path);
	int fd = -1;
	int rc;

	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		log_error("listen: unix socket path is empty or longer than %zu bytes",
		          sizeof(sa.sun_path) - 1);
		return ERR_INVALID;
	}
	rc = clear_stale(path);
	if (rc)
		return rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	/* bind() creates the file with 0777 & ~umask: narrow the umask so that the socket is
	 * never more open than mode, not even for an instant, then chmod to exactly mode. */
	old_umask = umask(0777 & ~mode);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc < 0) {
		log_error("listen: bind %s: %s", path, strerror(errno));
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (chmod(path, mode) < 0 || stat(path, &st) < 0) {
		log_error("listen: chmod %s: %s", path, strerror(errno));
		unlink(path);
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		log_error("listen: listen %s: %s", path, strerror(errno));
		unlink(path);
		rc = ERR_UNAVAILABLE;
		goto out;
	}
	ls->fd = fd;
	fd = -1;
	ls->is_unix = 1;
	memcpy(ls->path, path, plen + 1);
	ls->dev = st.st_dev;
	ls->ino = st.st_ino;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Splits "host:port", "[v6]:port", "*:port" or ":port" into host (NULL: any) and port. */
static int split_host_port(const char *spec, char *host, size_t hostsz, const char **port)
{
	const char *colon;
	size_t hlen;

	if (spec[0] == '[') {
		const char *close_br = strchr(spec, ']');

		if (!close_br || close_br[1] != ':')
			return ERR_INVALID;
		hlen = (size_t)(close_br - spec - 1);
		if (hlen == 0 || hlen >= hostsz)
			return ERR_INVALID;
		memcpy(host, spec + 1, hlen);
		host[hlen] = '\0';
		*port = close_br + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || strchr(spec, ':') != colon)
			return ERR_INVALID; /* bare IPv6 needs brackets */
		hlen = (size_t)(colon - spec);
		if (hlen >= hostsz)
			return ERR_INVALID;
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
		if (strcmp(host, "*") == 0)
			host[0] = '\0';
		*port = colon + 1;
	}
	if (!**port || strspn(*port, "0123456789") != strlen(*port) || strlen(*port) > 5 ||
	    atoi(*port) < 1 || atoi(*port) > 65535)
		return ERR_INVALID;
	return 0;
}

static int open_tcp(const char *spec, struct listen_sock *ls)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *port = NULL;
	int one = 1;
	int fd = -1;
	int rc;
	int gai;

	rc = split_host_port(spec, host, sizeof(host), &port);
	if (rc) {
		log_error("listen: MEDRIN_LISTEN must be a unix path (/...), host:port, [v6]:port "
		          "or systemd");
		return rc;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0) {
		log_error("listen: cannot resolve %s: %s", spec, gai_strerror(gai));
		return ERR_INVALID;
	}
	rc = ERR_UNAVAILABLE;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0) {
			rc = 0;
			break;
		}
		log_warn("listen: %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	if (rc == 0) {
		ls->fd = fd;
		ls->is_unix = 0;
	} else {
		log_error("listen: could not listen on %s", spec);
	}
	freeaddrinfo(res);
	return rc;
}

static int open_systemd(struct listen_sock *ls)
{
	const char *pid_s = getenv("LISTEN_PID");
	const char *fds_s = getenv("LISTEN_FDS");
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char *end = NULL;
	long pid, nfds;
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (!pid_s || !fds_s) {
		log_error("listen: MEDRIN_LISTEN=systemd but LISTEN_PID/LISTEN_FDS are not set "
		          "(start through the .socket unit)");
		return ERR_INVALID;
	}
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno || *end || pid != (long)getpid()) {
		log_error("listen: LISTEN_PID is not this process");
		return ERR_INVALID;
	}
	nfds = strtol(fds_s, &end, 10);
	if (errno || *end || nfds < 1) {
		log_error("listen: LISTEN_FDS passes no socket");
		return ERR_INVALID;
	}
	if (nfds > 1)
		log_warn("listen: systemd passed %ld sockets; using fd 3 only", nfds);
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_STREAM ||
	    getsockname(SD_LISTEN_FDS_START, (struct sockaddr *)&ss, &sslen) < 0) {
		log_error("listen: fd 3 from systemd is not a stream socket");
		return ERR_INVALID;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	ls->fd = SD_LISTEN_FDS_START;
	ls->from_systemd = 1;
	ls->is_unix = ss.ss_family == AF_UNIX;
	return 0;
}

int listen_open(const char *spec, int dev_mode, struct listen_sock *ls)
{
	int rc;

	memset(ls, 0, sizeof(*ls));
	ls->fd = -1;
	if (!spec || !*spec) {
		log_error("listen: MEDRIN_LISTEN is empty");
		return ERR_INVALID;
	}
	if (strcmp(spec, "systemd") == 0)
		rc = open_systemd(ls);
	else if (spec[0] == '/' || spec[0] == '.')
		rc = open_unix(spec, dev_mode, ls);
	else
		rc = open_tcp(spec, ls);
	if (rc)
		return rc;
	rc = set_flags(ls->fd);
	if (rc) {
		log_error("listen: fcntl: %s", strerror(errno));
		listen_close(ls);
		return rc;
	}
	log_info("listen: %s (%s)", spec,
	         ls->from_systemd ? "from systemd"
	         : ls->is_unix    ? "unix"
	                          : "tcp");
	return 0;
}

void listen_close(struct listen_sock *ls)
{
	struct stat st;

	if (ls->fd >= 0)
		close(ls->fd);
	ls->fd = -1;
	if (ls->is_unix && !ls->from_systemd && ls->path[0]) {
		if (lstat(ls->path, &st) == 0 && st.st_dev == ls->dev && st.st_ino == ls->ino)
			unlink(ls->path);
		ls->path[0] = '\0';
	}
}

void listen_stop_new(const struct listen_sock *ls)
{
	struct stat st;

	if (ls->fd < 0 || ls->from_systemd)
		return;
	if (ls->is_unix) {
		if (ls->path[0] && lstat(ls->path, &st) == 0 && st.st_dev == ls->dev &&
		    st.st_ino == ls->ino && unlink(ls->path) == 0)
			log_info("listen: %s unlinked; serving the connections already queued",
			         ls->path);
		return;
	}
	/* Drop a packet with SYN set and ACK clear (a new connection), pass everything else.
	 * The filter runs with the packet at its TCP header (byte 13: the flags). Sockets
	 * accepted later inherit the filter, so it must let their segments through. */
	struct sock_filter drop[] = {
	    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
	    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = {sizeof(drop) / sizeof(drop[0]), drop};

	if (setsockopt(ls->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		log_warn("listen: cannot stop new connections: %s", strerror(errno));
	else
		log_info("listen: new connections dropped; serving the ones already queued");
}

int listen_backlog_empty(const struct listen_sock *ls)
{
	struct pollfd p = {ls->fd, POLLIN, 0};

	if (ls->fd < 0)
		return 1;
	return poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN);
}
