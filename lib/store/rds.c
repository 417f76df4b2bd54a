/* rds.c - the hiredis wrapper; see rds.h and docs/internals/storage.md.
 *
 * hiredis 0.14 has no reconnect of its own: a context with c->err set is useless, so it
 * is freed at once and the next call connects again (AUTH, SELECT, SCRIPT LOAD).
 */
#include "store/rds.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "base/arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"

struct script {
	const char *lua;
	char sha[41];
};

struct rds {
	/* parsed URL */
	char *host; /* TCP host, or NULL for a unix socket */
	int port;
	char *path;     /* unix socket path */
	char *user;     /* ACL user (Redis 6+), or NULL */
	char *password; /* or NULL */
	int db;
	int url_ok;
	char *prefix;
	size_t prefix_len;
	int timeout_ms;
	redisContext *c;
	struct script *scripts;
	int nscripts;
	int loaded; /* scripts loaded on the current connection */
	/* Sentinel mode (rds_set_sentinels): the primary is asked of the Sentinels on every
	 * (re)connect; host/port of the URL are then unused. */
	int nsentinels;
	char **sentinel_host;
	int *sentinel_port;
	char *master_name;
	int failover_wait_ms;
	/* The watch (see sentinel_watch): a Sentinel connection subscribed to
	 * +switch-master, read without blocking before each command. */
	redisContext *watch;
	int64_t watch_retry_at; /* monotonic ms; while no Sentinel takes the subscription */
	int watch_backoff_ms;
	char cur_host[256]; /* the primary r->c is connected to */
	int cur_port;
	char hint_host[256]; /* the new primary a +switch-master named: tried first */
	int hint_port;
};

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		util_oom();
	return p;
}

/* pct_decode decodes %XX in place (passwords may need them). */
static void pct_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '%' && util_hexval(p[1]) >= 0 && util_hexval(p[2]) >= 0) {
			*o++ = (char)(util_hexval(p[1]) * 16 + util_hexval(p[2]));
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* parse_url fills host/port/path/user/password/db. Returns 0 or ERR_INVALID. */
static int parse_url(struct rds *r, const char *url)
{
	long n;

	r->port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		const char *p = url + 7;
		const char *q = strchr(p, '?');

		if (*p != '/')
			return ERR_INVALID;
		r->path = xstrndup(p, q ? (size_t)(q - p) : strlen(p));
		if (q != NULL) {
			if (strncmp(q + 1, "db=", 3) != 0 ||
			    util_parse_long(q + 4, 0, 65535, &n) != ERR_OK)
				return ERR_INVALID;
			r->db = (int)n;
		}
		return ERR_OK;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return ERR_INVALID;
	const char *auth = url + 8;
	const char *end = auth + strcspn(auth, "/?#");
	const char *at = NULL;

	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	const char *hp = auth;

	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		if (colon != NULL) {
			if (colon > auth)
				r->user = xstrndup(auth, (size_t)(colon - auth));
			r->password = xstrndup(colon + 1, (size_t)(at - colon - 1));
			pct_decode(r->password);
		} else if (at > auth) {
			/* redis://password@host, as some clients accept */
			r->password = xstrndup(auth, (size_t)(at - auth));
			pct_decode(r->password);
		}
		hp = at + 1;
	}
	const char *hend = end;
	const char *portp = NULL;

	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (rb == NULL)
			return ERR_INVALID;
		r->host = xstrndup(hp + 1, (size_t)(rb - hp - 1));
		if (rb + 1 < end && rb[1] == ':')
			portp = rb + 2;
	} else {
		const char *colon = memchr(hp, ':', (size_t)(end - hp));

		if (colon != NULL) {
			portp = colon + 1;
			hend = colon;
		}
		r->host = xstrndup(hp, (size_t)(hend - hp));
	}
	if (r->host[0] == '\0') {
		free(r->host);
		r->host = xstrndup("127.0.0.1", 9);
	}
	if (portp != NULL) {
		char port[8];
		size_t plen = (size_t)(end - portp);

		if (plen == 0 || plen >= sizeof(port))
			return ERR_INVALID;
		memcpy(port, portp, plen);
		port[plen] = '\0';
		if (util_parse_long(port, 1, 65535, &n) != ERR_OK)
			return ERR_INVALID;
		r->port = (int)n;
	}
	if (*end == '/' && end[1] != '\0') {
		char db[8];
		size_t dlen = strcspn(end + 1, "?#");

		if (dlen >= sizeof(db))
			return ERR_INVALID;
		memcpy(db, end + 1, dlen);
		db[dlen] = '\0';
		if (dlen > 0 && util_parse_long(db, 0, 65535, &n) != ERR_OK)
			return ERR_INVALID;
		r->db = dlen > 0 ? (int)n : 0;
	}
	return ERR_OK;
}

struct rds *rds_new(const char *url, const char *prefix, int timeout_ms)
{
	struct rds *r = calloc(1, sizeof(*r));
	struct sigaction sa;

	/* hiredis writes with write(): on a connection Redis has closed (restart) that
	 * raises SIGPIPE, which by default kills the process instead of failing the call.
	 * Nothing in Medrin wants SIGPIPE, so turn the default off (a handler someone
	 * installed on purpose is left alone). */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
	if (r == NULL)
		util_oom();
	r->url_ok = parse_url(r, url) == ERR_OK;
	if (!r->url_ok)
		log_error("redis: REDIS_URL is not redis://[user:password@]host[:port][/db] "
		          "or unix:///path[?db=N]");
	r->prefix = xstrndup(prefix ? prefix : "", prefix ? strlen(prefix) : 0);
	r->prefix_len = strlen(r->prefix);
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
	return r;
}

int rds_set_sentinels(struct rds *r, const char *list, const char *master, int wait_ms)
{
	if (list == NULL || *list == '\0')
		return ERR_OK;
	if (master == NULL || *master == '\0') {
		log_error("redis: MEDRIN_REDIS_SENTINELS needs MEDRIN_REDIS_MASTER");
		r->url_ok = 0;
		return ERR_INVALID;
	}
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char item[300];
		long port;

		if (n == 0 || n >= sizeof(item))
			goto bad;
		memcpy(item, p, n);
		item[n] = '\0';
		char *colon = strrchr(item, ':');
		char *h = item;

		if (colon == NULL || colon == item || util_parse_long(colon + 1, 1, 65535, &port))
			goto bad;
		*colon = '\0';
		if (*h == '[' && colon[-1] == ']') { /* [::1]:26379 */
			h++;
			colon[-1] = '\0';
		}
		char **hs = realloc(r->sentinel_host, (size_t)(r->nsentinels + 1) * sizeof(*hs));
		int *ps = hs ? realloc(r->sentinel_port, (size_t)(r->nsentinels + 1) * sizeof(*ps))
		             : NULL;

		if (hs == NULL || ps == NULL)
			util_oom();
		r->sentinel_host = hs;
		r->sentinel_port = ps;
		hs[r->nsentinels] = xstrndup(h, strlen(h));
		ps[r->nsentinels] = (int)port;
		r->nsentinels++;
		p += n;
		if (*p == ',' && *++p == '\0')
			goto bad; /* a trailing comma */
	}
	r->master_name = xstrndup(master, strlen(master));
	r->failover_wait_ms = wait_ms >= 0 ? wait_ms : 0;
	return ERR_OK;
bad:
	log_error("redis: MEDRIN_REDIS_SENTINELS is not host:port[,host:port...]");
	r->url_ok = 0;
	return ERR_INVALID;
}

static void drop(struct rds *r)
{
	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
	r->loaded = 0;
	r->cur_host[0] = '\0';
}

static void watch_close(struct rds *r)
{
	if (r->watch != NULL)
		redisFree(r->watch);
	r->watch = NULL;
}

void rds_free(struct rds *r)
{
	if (r == NULL)
		return;
	drop(r);
	watch_close(r);
	if (r->password != NULL)
		explicit_bzero(r->password, strlen(r->password));
	free(r->host);
	free(r->path);
	free(r->user);
	free(r->password);
	free(r->prefix);
	free(r->scripts);
	for (int i = 0; i < r->nsentinels; i++)
		free(r->sentinel_host[i]);
	free(r->sentinel_host);
	free(r->sentinel_port);
	free(r->master_name);
	free(r);
}

int rds_script(struct rds *r, const char *lua)
{
	if (lua == NULL || lua[0] == '\0') {
		log_error("redis: rds_script: no script text; refused");
		return ERR_INVALID;
	}
	for (int i = 0; i < r->nscripts; i++)
		if (strcmp(r->scripts[i].lua, lua) == 0) {
			/* Two modules sharing one id would each think the script is theirs; a
			 * copy-paste slip is caught here, at start, not in production. */
			log_error("redis: rds_script: this script text is already registered "
			          "(id %d); refused",
			          i);
			return ERR_INVALID;
		}
	struct script *s = realloc(r->scripts, (size_t)(r->nscripts + 1) * sizeof(*s));

	if (s == NULL)
		util_oom();
	r->scripts = s;
	r->scripts[r->nscripts].lua = lua;
	r->scripts[r->nscripts].sha[0] = '\0';
	return r->nscripts++;
}

char *rds_key(struct rds *r, struct arena *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *rest = arena_vprintf(a, fmt, ap);
	va_end(ap);
	size_t n = strlen(rest);
	char *key = arena_alloc(a, r->prefix_len + n + 1);

	memcpy(key, r->prefix, r->prefix_len);
	memcpy(key + r->prefix_len, rest, n + 1);
	return key;
}

static void reply_release(void *ptr)
{
	freeReplyObject(ptr);
}

/* log_error_reply logs the first line of an error reply (the error's text, never the
 * command's arguments). */
static void log_error_reply(const char *what, const redisReply *rep)
{
	int n = (int)strcspn(rep->str ? rep->str : "", "\r\n");

	if (n > 200)
		n = 200;
	log_warn("redis: %s: %.*s", what, n, rep->str ? rep->str : "");
	metrics_redis_error();
}

/* io_failed logs and drops a context whose I/O failed. */
static void io_failed(struct rds *r, const char *what)
{
	/* hiredis reports its socket timeout as EAGAIN's text. */
	if (r->c != NULL && r->c->err == REDIS_ERR_IO &&
	    (strcmp(r->c->errstr, strerror(EAGAIN)) == 0 ||
	     strcmp(r->c->errstr, strerror(EWOULDBLOCK)) == 0))
		log_warn("redis: %s: no answer within %d ms; dropping the connection", what,
		         r->timeout_ms);
	else
		log_warn("redis: %s: %s", what,
		         r->c && r->c->errstr[0] ? r->c->errstr : "I/O error");
	metrics_redis_error();
	drop(r);
}

/* setup_cmd runs a command during connection set-up; 0, ERR_UNAVAILABLE (I/O; the
 * context is dropped) or ERR_INTERNAL (error reply). *out gets the reply if wanted. */
static int setup_cmd(struct rds *r, const char *what, int argc, const char **argv, redisReply **out)
{
	redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);

	if (rep == NULL) {
		io_failed(r, what);
		return ERR_UNAVAILABLE;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		log_error_reply(what, rep);
		freeReplyObject(rep);
		return ERR_INTERNAL;
	}
	if (out != NULL)
		*out = rep;
	else
		freeReplyObject(rep);
	return ERR_OK;
}

static int load_script(struct rds *r, int id)
{
	const char *argv[] = {"SCRIPT", "LOAD", r->scripts[id].lua};
	redisReply *rep = NULL;
	int rc = setup_cmd(r, "SCRIPT LOAD", 3, argv, &rep);

	if (rc)
		return rc;
	if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
		log_error("redis: SCRIPT LOAD: unexpected reply");
		freeReplyObject(rep);
		return ERR_INTERNAL;
	}
	memcpy(r->scripts[id].sha, rep->str, 40);
	r->scripts[id].sha[40] = '\0';
	freeReplyObject(rep);
	return ERR_OK;
}

static int load_pending_scripts(struct rds *r)
{
	for (; r->loaded < r->nscripts; r->loaded++) {
		int rc = load_script(r, r->loaded);

		if (rc)
			return rc;
	}
	return ERR_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sentinel_open connects to Sentinel i with the connect and command timeouts, or NULL
 * (logged). hiredis 0.14 has no Sentinel support: what follows are plain commands. */
static redisContext *sentinel_open(struct rds *r, int i)
{
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(r->sentinel_host[i], r->sentinel_port[i], tv);

	if (c != NULL && !c->err && redisSetTimeout(c, tv) == REDIS_OK) {
		(void)redisEnableKeepAlive(c);
		return c;
	}
	log_warn("redis: sentinel %s:%d: %s", r->sentinel_host[i], r->sentinel_port[i],
	         c != NULL && c->err ? c->errstr : "cannot connect");
	metrics_redis_error();
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* copy_addr stores host (n bytes) and port if the host fits; 0 when it does not. */
static int copy_addr(char *dst, size_t dstlen, int *dport, const char *host, size_t n, int port)
{
	if (n == 0 || n >= dstlen)
		return 0;
	memcpy(dst, host, n);
	dst[n] = '\0';
	*dport = port;
	return 1;
}

/* sentinel_lookup asks each Sentinel in turn for the primary's address: the first
 * answer wins. */
static int sentinel_lookup(struct rds *r, char *host, size_t hostlen, int *port)
{
	for (int i = 0; i < r->nsentinels; i++) {
		redisContext *c = sentinel_open(r, i);
		redisReply *rep = NULL;

		if (c == NULL)
			continue;
		const char *argv[] = {"SENTINEL", "get-master-addr-by-name", r->master_name};

		rep = redisCommandArgv(c, 3, argv, NULL);
		int ok = rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		         rep->element[0]->type == REDIS_REPLY_STRING &&
		         rep->element[1]->type == REDIS_REPLY_STRING;
		long n = 0;

		if (ok)
			ok = util_parse_long(rep->element[1]->str, 1, 65535, &n) == ERR_OK &&
			     copy_addr(host, hostlen, port, rep->element[0]->str,
			               rep->element[0]->len, (int)n);
		if (!ok) {
			log_warn("redis: sentinel %s:%d: no primary for \"%s\"%s%s",
			         r->sentinel_host[i], r->sentinel_port[i], r->master_name,
			         c->err ? ": " : "", c->err ? c->errstr : "");
			metrics_redis_error();
		}
		if (rep != NULL)
			freeReplyObject(rep);
		redisFree(c);
		if (ok)
			return ERR_OK;
	}
	return ERR_UNAVAILABLE;
}

/* The watch. A failover is seen on the old primary only when the Sentinels demote it,
 * about ten seconds after the new one was promoted; until then it still answers as a
 * primary and takes writes that the demotion then throws away (a registration made there
 * cannot be confirmed afterwards). So, as the Sentinel client guidelines advise, each
 * process keeps one connection to a Sentinel subscribed to +switch-master and reads it
 * without blocking (one poll(2) of zero timeout) before every command: a message for our
 * name drops the data connection, and the next connect goes to the address it named.
 * While no Sentinel takes the subscription, it is tried again with back-off (1 s doubling
 * to 30 s) so that unreachable Sentinels never cost each request a connect timeout; the
 * data connection is then only moved by errors, READONLY, or the demotion itself. */
static void watch_failed(struct rds *r, const char *why)
{
	log_warn("redis: Sentinel watch for \"%s\": %s; retrying in %d ms", r->master_name, why,
	         r->watch_backoff_ms);
	metrics_redis_error();
	watch_close(r);
	r->watch_retry_at = mono_ms() + r->watch_backoff_ms;
	r->watch_backoff_ms = r->watch_backoff_ms >= 15000 ? 30000 : r->watch_backoff_ms * 2;
}

/* watch_open subscribes to +switch-master on the first Sentinel that accepts. */
static int watch_open(struct rds *r)
{
	for (int i = 0; i < r->nsentinels; i++) {
		redisContext *c = sentinel_open(r, i);

		if (c == NULL)
			continue;
		const char *argv[] = {"SUBSCRIBE", "+switch-master"};
		redisReply *rep = redisCommandArgv(c, 2, argv, NULL);
		int ok = rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
		         rep->element[0]->type == REDIS_REPLY_STRING &&
		         strcmp(rep->element[0]->str, "subscribe") == 0;

		if (rep != NULL)
			freeReplyObject(rep);
		if (ok) {
			r->watch = c;
			r->watch_backoff_ms = 1000;
			return ERR_OK;
		}
		log_warn("redis: sentinel %s:%d refused SUBSCRIBE", r->sentinel_host[i],
		         r->sentinel_port[i]);
		redisFree(c);
	}
	return ERR_UNAVAILABLE;
}

/* switch_to acts on a +switch-master payload "name old-ip old-port new-ip new-port". */
static void switch_to(struct rds *r, const char *msg, size_t len)
{
	const char *f[5];
	size_t n[5];
	int k = 0;

	for (size_t i = 0; i < len && k < 5;) {
		while (i < len && msg[i] == ' ')
			i++;
		size_t j = i;

		while (j < len && msg[j] != ' ')
			j++;
		if (j > i) {
			f[k] = msg + i;
			n[k++] = j - i;
		}
		i = j;
	}
	char port[8];
	long p = 0;

	if (k != 5 || n[0] != strlen(r->master_name) || memcmp(f[0], r->master_name, n[0]) != 0 ||
	    n[4] >= sizeof(port))
		return; /* another monitored name, or not the documented shape */
	memcpy(port, f[4], n[4]);
	port[n[4]] = '\0';
	if (util_parse_long(port, 1, 65535, &p) != ERR_OK ||
	    !copy_addr(r->hint_host, sizeof(r->hint_host), &r->hint_port, f[3], n[3], (int)p))
		return;
	if (r->c != NULL && r->cur_port == r->hint_port && strcmp(r->cur_host, r->hint_host) == 0) {
		r->hint_host[0] = '\0'; /* already there: reconnected before reading this */
		return;
	}
	log_warn("redis: a Sentinel reports the new primary of \"%s\" at %s:%d; reconnecting",
	         r->master_name, r->hint_host, r->hint_port);
	if (r->c != NULL) {
		metrics_redis_switch();
		drop(r);
	}
}

/* watch_poll reads whatever the Sentinel has sent, without waiting. */
static void watch_poll(struct rds *r)
{
	struct pollfd pfd = {.fd = r->watch->fd, .events = POLLIN};

	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (redisBufferRead(r->watch) != REDIS_OK) {
		watch_failed(r, r->watch->errstr[0] ? r->watch->errstr : "connection lost");
		return;
	}
	for (;;) {
		void *v = NULL;

		if (redisGetReplyFromReader(r->watch, &v) != REDIS_OK) {
			watch_failed(r, "unreadable message");
			return;
		}
		if (v == NULL)
			return;
		redisReply *m = v;

		if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
		    m->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(m->element[0]->str, "message") == 0 &&
		    m->element[2]->type == REDIS_REPLY_STRING)
			switch_to(r, m->element[2]->str, m->element[2]->len);
		freeReplyObject(m);
	}
}

/* sentinel_watch keeps the watch open and applies what it says; it may drop r->c. */
static void sentinel_watch(struct rds *r)
{
	if (r->watch != NULL) {
		watch_poll(r);
		return;
	}
	if (mono_ms() < r->watch_retry_at)
		return;
	if (r->watch_backoff_ms == 0)
		r->watch_backoff_ms = 1000;
	if (watch_open(r) != ERR_OK) {
		watch_failed(r, "no Sentinel took the subscription");
		return;
	}
	/* Subscribed now; a switch announced while there was no watch was missed, so check
	 * the connection we have against what the Sentinels name. */
	char host[256];
	int port = 0;

	if (r->c != NULL && r->cur_host[0] != '\0' &&
	    sentinel_lookup(r, host, sizeof(host), &port) == ERR_OK &&
	    (port != r->cur_port || strcmp(host, r->cur_host) != 0)) {
		log_warn("redis: the Sentinels name %s:%d as the primary of \"%s\", not %s:%d; "
		         "reconnecting",
		         host, port, r->master_name, r->cur_host, r->cur_port);
		metrics_redis_switch();
		drop(r);
	}
}

/* connect_to opens r->c to host:port (or the unix path), authenticates, checks the role
 * (Sentinel mode: only a primary will do), selects the db and loads the scripts. */
static int connect_to(struct rds *r, const char *host, int port)
{
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	int rc;

	r->c = host == NULL ? redisConnectUnixWithTimeout(r->path, tv)
	                    : redisConnectWithTimeout(host, port, tv);
	if (r->c == NULL || r->c->err) {
		log_warn("redis: connect failed: %s", r->c ? r->c->errstr : "out of memory");
		metrics_redis_error();
		drop(r);
		return ERR_UNAVAILABLE;
	}
	if (redisSetTimeout(r->c, tv) != REDIS_OK) {
		io_failed(r, "set timeout");
		return ERR_UNAVAILABLE;
	}
	if (host != NULL)
		(void)redisEnableKeepAlive(r->c);
	if (r->password != NULL) {
		const char *argv[] = {"AUTH", r->user ? r->user : r->password, r->password};

		rc = setup_cmd(r, "AUTH", r->user ? 3 : 2, argv, NULL);
		if (rc)
			goto out;
	}
	if (r->nsentinels > 0) {
		const char *argv[] = {"ROLE"};
		redisReply *rep = NULL;

		rc = setup_cmd(r, "ROLE", 1, argv, &rep);
		if (rc)
			goto out;
		int primary = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		              rep->element[0]->type == REDIS_REPLY_STRING &&
		              strcmp(rep->element[0]->str, "master") == 0;

		freeReplyObject(rep);
		if (!primary) {
			/* The Sentinels have not noticed yet, or are mid-failover. */
			log_warn("redis: %s:%d is not the primary (yet); asking again", host, port);
			rc = ERR_UNAVAILABLE;
			goto out;
		}
	}
	if (r->db != 0) {
		char db[8];
		const char *argv[] = {"SELECT", db};

		snprintf(db, sizeof(db), "%d", r->db);
		rc = setup_cmd(r, "SELECT", 2, argv, NULL);
		if (rc)
			goto out;
	}
	r->loaded = 0;
	rc = load_pending_scripts(r);
	if (rc == ERR_OK) {
		log_debug("redis: connected");
		if (host != NULL && strlen(host) < sizeof(r->cur_host)) {
			strcpy(r->cur_host, host);
			r->cur_port = port;
		}
	}
out:
	if (rc) {
		drop(r);
		/* A refused AUTH or SELECT makes Redis unusable for us: a 503, not a 500. */
		rc = ERR_UNAVAILABLE;
	}
	return rc;
}

static int rds_connect(struct rds *r)
{
	if (!r->url_ok)
		return ERR_INTERNAL;
	if (r->nsentinels == 0)
		return connect_to(r, r->path ? NULL : r->host, r->port);
	/* Sentinel mode: during a failover the old primary refuses or answers as a replica
	 * and the Sentinels may still name it; ask again every 100 ms, up to the bounded
	 * wait. */
	int64_t deadline = mono_ms() + r->failover_wait_ms;

	for (;;) {
		char host[256];
		int port = 0;

		if (r->hint_host[0] != '\0') {
			/* Named by a +switch-master just now: the Sentinel asked first below may
			 * not have heard of it yet and still name the old primary. */
			int ok = copy_addr(host, sizeof(host), &port, r->hint_host,
			                   strlen(r->hint_host), r->hint_port) &&
			         connect_to(r, host, port) == ERR_OK;

			r->hint_host[0] = '\0';
			if (ok)
				return ERR_OK;
		}
		if (sentinel_lookup(r, host, sizeof(host), &port) == ERR_OK &&
		    connect_to(r, host, port) == ERR_OK)
			return ERR_OK;
		if (mono_ms() + 100 > deadline) {
			log_warn("redis: no primary for \"%s\" within %d ms", r->master_name,
			         r->failover_wait_ms);
			return ERR_UNAVAILABLE;
		}
		struct timespec ts = {0, 100 * 1000000L};

		nanosleep(&ts, NULL);
	}
}

static int ensure(struct rds *r)
{
	if (r->nsentinels > 0 && r->url_ok)
		sentinel_watch(r);
	if (r->c == NULL)
		return rds_connect(r);
	if (r->loaded < r->nscripts) {
		int rc = load_pending_scripts(r);

		if (rc)
			drop(r);
		return rc ? ERR_UNAVAILABLE : ERR_OK;
	}
	return ERR_OK;
}

/* retryable: the failure looks like a connection the server had already closed (restart,
 * idle timeout), found on first use, so the command never reached it. A timeout is not
 * retried: the command may have run. */
static int retryable(const redisContext *c)
{
	if (c->err == REDIS_ERR_EOF)
		return 1;
	return c->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE ||
	                                  strcmp(c->errstr, strerror(ECONNRESET)) == 0 ||
	                                  strcmp(c->errstr, strerror(EPIPE)) == 0);
}

/* reply_says: the error's first line holds word. A script's refused write comes back
 * wrapped ("ERR ... READONLY ..." in some versions), so not only the prefix counts. */
static int reply_says(const redisReply *rep, const char *word)
{
	const char *s = rep->str ? rep->str : "";
	size_t n = strcspn(s, "\r\n");
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++)
		if (memcmp(s + i, word, w) == 0)
			return 1;
	return 0;
}

/* command runs argv with one retry on a stale connection. On ERR_OK *rep is the reply
 * (never an error reply); an error reply returns ERR_INTERNAL with *rep set too. */
static int command(struct rds *r, int argc, const char **argv, const size_t *lens, redisReply **rep)
{
	*rep = NULL;
	for (int attempt = 0;; attempt++) {
		int reused = r->c != NULL;
		int rc = ensure(r);

		if (rc)
			return rc;
		*rep = redisCommandArgv(r->c, argc, argv, lens);
		if (*rep != NULL && attempt == 0 && (*rep)->type == REDIS_REPLY_ERROR &&
		    reply_says(*rep, "READONLY")) {
			/* A primary turned replica by a failover: the write was refused, so
			 * reconnect (to the new primary in Sentinel mode) and send it again. */
			log_warn("redis: %s: READONLY: the server is a replica now; reconnecting",
			         argv[0]);
			metrics_redis_error();
			freeReplyObject(*rep);
			*rep = NULL;
			drop(r);
			continue;
		}
		if (*rep != NULL && (*rep)->type == REDIS_REPLY_ERROR &&
		    reply_says(*rep, "NOREPLICAS")) {
			/* min-replicas-to-write on a primary cut off from its replicas: the write
			 * was refused, nothing is lost, and it is an outage (503), not a bug. */
			log_error_reply(argv[0], *rep);
			freeReplyObject(*rep);
			*rep = NULL;
			return ERR_UNAVAILABLE;
		}
		if (*rep != NULL)
			break;
		int again = reused && attempt == 0 && retryable(r->c);

		io_failed(r, again ? "connection lost, reconnecting" : argv[0]);
		if (!again)
			return ERR_UNAVAILABLE;
	}
	return (*rep)->type == REDIS_REPLY_ERROR ? ERR_INTERNAL : ERR_OK;
}

static void deliver(struct arena *a, redisReply *rep, redisReply **out)
{
	if (out == NULL) {
		freeReplyObject(rep);
		return;
	}
	if (a != NULL)
		arena_defer(a, reply_release, rep);
	*out = rep;
}

int rds_cmd(struct rds *r, struct arena *a, redisReply **out, int argc, const char **argv,
            const size_t *lens)
{
	redisReply *rep;

	if (out != NULL)
		*out = NULL;
	int rc = command(r, argc, argv, lens, &rep);

	if (rc == ERR_INTERNAL && rep != NULL) {
		log_error_reply(argv[0], rep);
		freeReplyObject(rep);
		return rc;
	}
	if (rc)
		return rc;
	deliver(a, rep, out);
	return ERR_OK;
}

int rds_eval(struct rds *r, struct arena *a, int script, redisReply **out, int nkeys,
             const char **keys, int nargs, const char **args)
{
	char nk[16];
	int argc = 3 + nkeys + nargs;
	const char **argv;
	redisReply *rep = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (script < 0 || script >= r->nscripts || nkeys < 0 || nargs < 0) {
		log_error("redis: rds_eval: bad script id or counts");
		return ERR_INTERNAL;
	}
	argv =
	    a ? arena_alloc(a, (size_t)argc * sizeof(*argv)) : malloc((size_t)argc * sizeof(*argv));
	if (argv == NULL)
		util_oom();
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVALSHA";
	argv[2] = nk;
	for (int i = 0; i < nkeys; i++)
		argv[3 + i] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[3 + nkeys + i] = args[i];
	for (int attempt = 0;; attempt++) {
		/* ensure() inside command() loads scripts on a new connection, so argv[1] is
		 * read after it: set it once the connection is there. */
		rc = ensure(r);
		if (rc)
			goto out;
		argv[1] = r->scripts[script].sha;
		rc = command(r, argc, argv, NULL, &rep);
		if (rc == ERR_INTERNAL && rep != NULL && attempt == 0 &&
		    strncmp(rep->str ? rep->str : "", "NOSCRIPT", 8) == 0) {
			/* The script cache was flushed (SCRIPT FLUSH, failover): load, retry. */
			freeReplyObject(rep);
			rep = NULL;
			log_info("redis: NOSCRIPT, loading the script again");
			rc = load_script(r, script);
			if (rc) {
				if (r->c != NULL)
					drop(r);
				rc = ERR_UNAVAILABLE;
				goto out;
			}
			continue;
		}
		break;
	}
	if (rc == ERR_INTERNAL && rep != NULL) {
		log_error_reply("EVALSHA", rep);
		freeReplyObject(rep);
		goto out;
	}
	if (rc == ERR_OK)
		deliver(a, rep, out);
out:
	if (a == NULL)
		free(argv);
	return rc;
}

int rds_ping(struct rds *r)
{
	const char *argv[] = {"PING"};

	return rds_cmd(r, NULL, NULL, 1, argv, NULL);
}
