/* ceiling.c - the fastest any Medrin endpoint can be (docs: performance.md "The ceiling").
 *
 *   ceiling SOCKET_PATH [WORKERS]     (WORKERS also from $CEILING_WORKERS; default 2)
 *
 * Listens on a unix socket (mode 0666, a stale file is replaced), forks WORKERS
 * libfcgi workers that answer every request with the fixed body {"status":"ok"} and the
 * headers medrin-fcgi sends (Status, Content-Type, Content-Length), and runs until
 * SIGTERM or SIGINT, when it stops the workers and removes the socket. No lib/, no
 * arena, no routing: one FastCGI round trip and nothing else.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define MAX_WORKERS 256

static const char response[] = "Status: 200 OK\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 15\r\n"
                               "\r\n"
                               "{\"status\":\"ok\"}";

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sa;
	size_t n = strlen(path);
	int fd;

	if (n == 0 || n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ceiling: socket path too long\n");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	umask(0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 1024) < 0) {
		fprintf(stderr, "ceiling: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void worker(int fd)
{
	FCGX_Request req;
	struct sigaction sa;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
		_exit(1);
	/* After FCGX_Init, which may install its own SIGTERM handler: the ceiling needs no
	 * graceful stop, SIGTERM simply ends a worker. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(response, (int)sizeof(response) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t pids[MAX_WORKERS];
	const char *env = getenv("CEILING_WORKERS");
	struct sigaction sa;
	int n, i, fd, alive;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ceiling SOCKET_PATH [WORKERS]\n");
		return 2;
	}
	n = argc == 3 ? atoi(argv[2]) : env ? atoi(env) : 2;
	if (n < 1 || n > MAX_WORKERS) {
		fprintf(stderr, "ceiling: WORKERS must be 1..%d\n", MAX_WORKERS);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = open_socket(argv[1]);
	if (fd < 0)
		return 1;
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker(fd);
		if (pids[i] < 0) {
			perror("ceiling: fork");
			n = i;
			stop = 1;
			break;
		}
	}
	fprintf(stderr, "ceiling: %d worker(s) on %s\n", n, argv[1]);
	alive = n;
	while (!stop && alive > 0) {
		if (wait(NULL) > 0)
			alive--;
	}
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	close(fd);
	unlink(argv[1]);
	return 0;
}
