# shellcheck shell=bash
# script/lib.sh - shared functions of script/bootstrap, script/server and script/test.
#
# Sourced, never run. Expects `set -euo pipefail` in the caller. Layout and contracts:
# docs/internals/layout.md (what other parts rely on) and docs/internals/stack.md (how
# the dev/test stack is put together).

MEDRIN_ROOT=${MEDRIN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# When run as root, PostgreSQL (which refuses root) runs as this system user.
MEDRIN_DEV_USER=${MEDRIN_DEV_USER:-medrin-dev}
# shellcheck disable=SC2034  # used by script/server
SERVICES_ALL="postgres redis mail fcgi worker nginx"

# Configuration keys the programs read (lib/base/config.h names them in comments); this
# list is the fallback, the header is read too so a new key passes through automatically.
CONFIG_KEYS_STATIC="MEDRIN_ENV MEDRIN_LOG_LEVEL MEDRIN_WORKERS MEDRIN_MAX_REQUESTS
MEDRIN_MAX_BODY MEDRIN_DRAIN_SECONDS MEDRIN_ENV_FILE MEDRIN_TEST_ROUTES DATABASE_URL
MEDRIN_DB_STATEMENT_TIMEOUT_MS MEDRIN_DB_CONNECT_TIMEOUT REDIS_URL MEDRIN_REDIS_PREFIX
MEDRIN_REDIS_TIMEOUT_MS MEDRIN_MIGRATIONS_DIR SECRET_KEY JWT_SECRET_KEY JWT_ALGORITHM
MEDRIN_JWT_PRIVATE_KEY_FILE MEDRIN_JWT_PUBLIC_KEY_FILE JWT_ACCESS_TOKEN_EXPIRE_MINUTES
MEDRIN_REFRESH_TOKEN_EXPIRE_DAYS MEDRIN_JWT_ISSUER MEDRIN_JWT_AUDIENCE
MEDRIN_REFRESH_GRACE_SECONDS OTP_EXPIRY_SECONDS LOGIN_OTP MEDRIN_HASH_CONCURRENCY
MEDRIN_RUN_DIR SMTP_URL MAIL_FROM MEDRIN_PUBLIC_URL MEDRIN_WORKER_POLL_SECONDS MEDRIN_FILES_DIR
GEMINI_API_KEY GEMINI_API_URL GEMINI_MODEL"

say()  { printf '%s\n' "$*"; }
info() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- paths

# medrin_paths: sets STATE and BUILD (absolute) from MEDRIN_STATE_DIR / MEDRIN_BUILD_DIR.
medrin_paths() {
	local s=${MEDRIN_STATE_DIR:-$MEDRIN_ROOT/.run} b=${MEDRIN_BUILD_DIR:-}
	case $s in /*) ;; *) s=$PWD/$s ;; esac
	# a running stack keeps the build it was started from
	if [ -z "$b" ] && [ -f "$s/env" ]; then
		b=$(sed -n 's/^\(export \)\{0,1\}MEDRIN_BUILD_DIR=//p' "$s/env" | tr -d "'")
	fi
	b=${b:-$MEDRIN_ROOT/build/release}
	case $b in /*) ;; *) b=$MEDRIN_ROOT/$b ;; esac
	mkdir -p "$s"
	STATE=$(cd "$s" && pwd)
	BUILD=$b
	export MEDRIN_STATE_DIR=$STATE MEDRIN_BUILD_DIR=$BUILD
	mkdir -p "$STATE"/{pids,log,sock,san,run,tls,files,nginx/conf,nginx/tmp}
}

# build_is_sanitized DIR: true when DIR was configured with --enable-asan/--enable-ubsan.
build_is_sanitized() {
	[ -f "$1/Makefile" ] && grep -q '^SAN_CFLAGS = .*-fsanitize' "$1/Makefile"
}

# ---------------------------------------------------------------- processes

pidfile() { printf '%s/pids/%s.pid' "$STATE" "$1"; }

# proc_matches PID PATTERN: the process exists and its command line contains PATTERN
# (guards against a stale pid file naming a pid the kernel has since reused).
proc_matches() {
	local pid=$1 pat=$2 cmd
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[ -n "$cmd" ] || return 1    # zombie
	cmd="$cmd $(readlink "/proc/$pid/exe" 2>/dev/null || true)"
	case $cmd in *"$pat"*) return 0 ;; esac
	return 1
}

# svc_pid NAME PATTERN: prints the live pid of service NAME, or fails.
svc_pid() {
	local f pid
	f=$(pidfile "$1")
	[ -s "$f" ] || return 1
	pid=$(head -n1 "$f")
	proc_matches "$pid" "$2" || return 1
	printf '%s' "$pid"
}

# launch NAME LOG CMD...: starts CMD in the background in its own session (so a stop can
# signal its whole process group), stdin from /dev/null, output to LOG; writes the pid.
launch() {
	local name=$1 log=$2
	shift 2
	(exec setsid "$@" </dev/null >>"$log" 2>&1) &
	printf '%s\n' "$!" >"$(pidfile "$name")"
}

# stop_pid NAME PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL the process group.
stop_pid() {
	local name=$1 pid=$2 secs=$3 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie child of this shell counts as gone
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
		warn "$name (pid $pid) did not stop in ${secs}s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# leftovers of its session (e.g. pool workers whose master was killed)
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

log_tail() {
	if [ -f "$1" ]; then tail -n "${2:-20}" "$1" | sed 's/^/    | /' >&2; fi
	return 0
}

# ---------------------------------------------------------------- ports

# free_ports N: N distinct free loopback ports (all bound at once, so none repeats).
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

port_busy() {
	python3 - "$1" <<'EOF' >/dev/null 2>&1
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

# medrin_ports: sets HTTPS_PORT POOL_PORTS REDIS_PORT SMTP_PORT MAIL_HTTP_PORT.
# Precedence: MEDRIN_*_PORT from the environment, then what this state dir used before
# ($STATE/ports), then free ports when MEDRIN_PORTS=auto, else the fixed defaults.
medrin_ports() {
	local n=$MEDRIN_POOLS i
	HTTPS_PORT='' POOL_PORTS='' REDIS_PORT='' SMTP_PORT='' MAIL_HTTP_PORT=''
	# shellcheck disable=SC1091
	[ -f "$STATE/ports" ] && . "$STATE/ports"
	# shellcheck disable=SC2206
	local pools=(${MEDRIN_POOL_PORTS:-$POOL_PORTS}) spare=()
	if [ "${MEDRIN_PORTS:-}" = auto ]; then
		# shellcheck disable=SC2207
		spare=($(free_ports $((4 + n))))
	else
		spare=(8443 6380 1025 1080)
		for ((i = 0; i < n; i++)); do spare+=($((8444 + i))); done
	fi
	HTTPS_PORT=${MEDRIN_HTTPS_PORT:-${HTTPS_PORT:-${spare[0]}}}
	REDIS_PORT=${MEDRIN_REDIS_PORT:-${REDIS_PORT:-${spare[1]}}}
	SMTP_PORT=${MEDRIN_SMTP_PORT:-${SMTP_PORT:-${spare[2]}}}
	MAIL_HTTP_PORT=${MEDRIN_MAIL_HTTP_PORT:-${MAIL_HTTP_PORT:-${spare[3]}}}
	for ((i = ${#pools[@]}; i < n; i++)); do pools+=("${spare[4 + i]}"); done
	POOL_PORTS="${pools[*]:0:n}"
	cat >"$STATE/ports" <<EOF
HTTPS_PORT=$HTTPS_PORT
POOL_PORTS='$POOL_PORTS'
REDIS_PORT=$REDIS_PORT
SMTP_PORT=$SMTP_PORT
MAIL_HTTP_PORT=$MAIL_HTTP_PORT
EOF
}

# ports_hint VARS: what to do about a taken port, for the error message.
ports_hint() {
	printf 'another stack or program uses it: set %s, or start this stack with MEDRIN_PORTS=auto (free ports) and its own MEDRIN_STATE_DIR, and use that same MEDRIN_STATE_DIR for every later command' "$1"
}

# ports_precheck: before anything starts, every port this start will listen on must be
# free (unless this state dir's own service already holds it), so a second stack on taken
# ports refuses at once instead of leaving half a stack (its PostgreSQL) running.
ports_precheck() {
	local p busy=()
	if wants redis && [ "$EXTERNAL_redis" = 0 ] && ! svc_pid redis redis-server >/dev/null; then
		port_busy "$REDIS_PORT" && busy+=("$REDIS_PORT (redis)")
	fi
	if wants mail && [ "$EXTERNAL_mail" = 0 ] && ! svc_pid mail mailcatcher >/dev/null; then
		port_busy "$SMTP_PORT" && busy+=("$SMTP_PORT (mail smtp)")
		port_busy "$MAIL_HTTP_PORT" && busy+=("$MAIL_HTTP_PORT (mail inbox)")
	fi
	if wants nginx && ! svc_pid nginx nginx >/dev/null; then
		for p in $HTTPS_PORT $POOL_PORTS; do port_busy "$p" && busy+=("$p (nginx)"); done
	fi
	[ ${#busy[@]} -eq 0 ] && return 0
	printf 'error: ports already in use: %s; nothing was started.\n' "${busy[*]}" >&2
	printf '  %s\n' "$(ports_hint 'MEDRIN_HTTPS_PORT, MEDRIN_POOL_PORTS, MEDRIN_REDIS_PORT, MEDRIN_SMTP_PORT, MEDRIN_MAIL_HTTP_PORT')" >&2
	return 1
}

# ---------------------------------------------------------------- configuration

config_keys() {
	local hdr=$MEDRIN_ROOT/lib/base/config.h extra=''
	[ -f "$hdr" ] && extra=$(grep -o '/\* [A-Z][A-Z0-9_]*:\?' "$hdr" | tr -d '/*: ' | grep '_' || true)
	# shellcheck disable=SC2086  # word lists
	printf '%s\n' $CONFIG_KEYS_STATIC $extra | grep -vx 'MEDRIN_LISTEN' | sort -u
}

# shell_quote VALUE: VALUE as one shell word (bare when it is safe).
shell_quote() {
	case $1 in
	*[!A-Za-z0-9_./:@%+=,?-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
	*) printf '%s' "$1" ;;
	esac
}

secrets_load() {
	local f=$STATE/secrets
	if [ ! -s "$f" ]; then
		(umask 077; {
			printf 'SECRET_KEY=%s\n' "$(openssl rand -hex 32)"
			printf 'JWT_SECRET_KEY=%s\n' "$(openssl rand -hex 32)"
		} >"$f.tmp" && mv "$f.tmp" "$f")
	fi
	# shellcheck disable=SC1090
	DEV_SECRET_KEY=$(sed -n 's/^SECRET_KEY=//p' "$f")
	DEV_JWT_SECRET_KEY=$(sed -n 's/^JWT_SECRET_KEY=//p' "$f")
}

# medrin_config: computes every variable the programs get and exports it; config_write
# then writes $STATE/env (script/server does so only once the configuration is valid, so
# the file never holds a refused configuration).
# Precedence (one rule, docs/internals/stack.md "Settings"): the caller's environment, then
# the state dir's previous env file (so `MEDRIN_WORKERS=3 script/server start` followed by
# `script/server restart fcgi` keeps 3 workers), then the defaults.
medrin_config() {
	local k keys v line
	# one line: the membership tests below look for " KEY " in it
	keys=$(config_keys | tr '\n' ' ')
	declare -A from_env=()
	for k in $keys MEDRIN_POOLS MEDRIN_BUILD_DIR; do
		[ -n "${!k+x}" ] && from_env[$k]=${!k}
	done
	if [ -f "$STATE/env" ]; then
		while IFS= read -r line; do
			case $line in ''|'#'*) continue ;; esac
			line=${line#export }
			k=${line%%=*}
			case " $keys MEDRIN_POOLS " in *" $k "*) ;; *) continue ;; esac
			[ -n "${from_env[$k]+x}" ] && continue
			eval "v=${line#*=}"
			printf -v "$k" '%s' "$v"
			export "${k?}"
		done <"$STATE/env"
	fi

	MEDRIN_POOLS=${MEDRIN_POOLS:-1}
	medrin_ports
	secrets_load

	PG_SOCK=$STATE/sock/pg
	PRIVATE_DATABASE_URL="postgresql://medrin@/medrin?host=$PG_SOCK"
	PRIVATE_REDIS_URL="unix://$STATE/sock/redis.sock"
	PRIVATE_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT"
	EXTERNAL_postgres=0 EXTERNAL_redis=0 EXTERNAL_mail=0
	[ -n "${DATABASE_URL:-}" ] && [ "$DATABASE_URL" != "$PRIVATE_DATABASE_URL" ] && EXTERNAL_postgres=1
	[ -n "${REDIS_URL:-}" ] && [ "$REDIS_URL" != "$PRIVATE_REDIS_URL" ] && EXTERNAL_redis=1
	[ -n "${SMTP_URL:-}" ] && [ "$SMTP_URL" != "$PRIVATE_SMTP_URL" ] && EXTERNAL_mail=1

	MEDRIN_URL=https://localhost:$HTTPS_PORT
	MEDRIN_POOL_URLS=''
	for p in $POOL_PORTS; do MEDRIN_POOL_URLS="$MEDRIN_POOL_URLS https://localhost:$p"; done
	MEDRIN_POOL_URLS=${MEDRIN_POOL_URLS# }
	MEDRIN_MAILBOX_URL=http://127.0.0.1:$MAIL_HTTP_PORT
	MEDRIN_CA_FILE=$STATE/tls/ca.pem

	: "${MEDRIN_ENV:=development}"
	: "${DATABASE_URL:=$PRIVATE_DATABASE_URL}"
	: "${REDIS_URL:=$PRIVATE_REDIS_URL}"
	: "${SMTP_URL:=$PRIVATE_SMTP_URL}"
	: "${MAIL_FROM:=no-reply@medrin.localhost}"
	: "${SECRET_KEY:=$DEV_SECRET_KEY}"
	: "${JWT_SECRET_KEY:=$DEV_JWT_SECRET_KEY}"
	: "${MEDRIN_MIGRATIONS_DIR:=$MEDRIN_ROOT/sql/migrations}"
	: "${MEDRIN_RUN_DIR:=$STATE/run}"
	: "${MEDRIN_FILES_DIR:=$STATE/files}"
	: "${MEDRIN_PUBLIC_URL:=$MEDRIN_URL}"
	# The API suite sends every request from 127.0.0.1: its mail cap per client address
	# is lifted (tests/api/test_account_security.py checks the cap from its own address).
	if [ "$MEDRIN_ENV" = test ]; then : "${MEDRIN_OTP_MAIL_PER_ADDRESS:=100000}"; fi

	CONFIG_KEYS_LINE=$keys

	for k in $keys; do
		[ -n "${!k+x}" ] && export "${k?}"
	done
	export MEDRIN_POOLS MEDRIN_URL MEDRIN_POOL_URLS MEDRIN_MAILBOX_URL MEDRIN_CA_FILE

	if build_is_sanitized "$BUILD"; then
		export ASAN_OPTIONS="detect_leaks=1:log_path=$STATE/san/asan:abort_on_error=0"
		export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$STATE/san/ubsan"
	fi
}

# config_write: $STATE/env from what medrin_config computed. Every line is
# `export KEY=value`, so `. $STATE/env` (what script/server prints) sets and exports it
# for medrinctl and the tests; KEY=value parsers skip the `export ` word.
config_write() {
	local k
	{
		printf '# Written by script/server; shell-sourceable (. %s). Secrets: keep this file private.\n' "$STATE/env"
		for k in $CONFIG_KEYS_LINE; do
			[ -n "${!k+x}" ] || continue
			printf 'export %s=%s\n' "$k" "$(shell_quote "${!k}")"
		done
		for k in MEDRIN_POOLS MEDRIN_URL MEDRIN_POOL_URLS MEDRIN_MAILBOX_URL MEDRIN_CA_FILE \
			MEDRIN_BUILD_DIR MEDRIN_STATE_DIR; do
			printf 'export %s=%s\n' "$k" "$(shell_quote "${!k}")"
		done
	} >"$STATE/env.tmp"
	chmod 600 "$STATE/env.tmp"
	mv "$STATE/env.tmp" "$STATE/env"
}

# config_check: medrin-fcgi --check with the configuration medrin_config exported (and each
# pool's env file, as the pool will read it). On a refusal prints the program's own
# diagnostics first and alone, then fails: nothing has been stopped or started yet.
config_check() {
	local bin=$BUILD/fcgi/medrin-fcgi n out envfile
	fcgi_built || return 0
	for ((n = 1; n <= MEDRIN_POOLS; n++)); do
		envfile=${MEDRIN_ENV_FILE:-$STATE/fcgi-$n.env}
		[ -e "$envfile" ] || envfile=''
		if ! out=$(MEDRIN_LISTEN=$STATE/sock/fcgi-$n.sock MEDRIN_ENV_FILE=$envfile \
			ASAN_OPTIONS=detect_leaks=0 "$bin" --check 2>&1 >/dev/null); then
			printf 'error: the configuration is refused (medrin-fcgi --check%s); nothing was stopped or started:\n' \
				"${envfile:+ with $envfile}" >&2
			printf '%s\n' "$out" | grep -v '^{' | sed 's/^/  /' >&2
			return 1
		fi
	done
	return 0
}

# ---------------------------------------------------------------- the dev user (root only)

# dev_user_setup: as root, creates the system user PostgreSQL runs as and makes sure it
# can reach the state dir.
dev_user_setup() {
	is_root || return 0
	if ! id -u "$MEDRIN_DEV_USER" >/dev/null 2>&1; then
		info "creating system user $MEDRIN_DEV_USER (PostgreSQL refuses to run as root)"
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$MEDRIN_DEV_USER"
	fi
	chmod a+rx "$STATE" "$STATE/sock" "$STATE/log"
	runuser -u "$MEDRIN_DEV_USER" -- test -x "$STATE" ||
		die "$MEDRIN_DEV_USER cannot reach $STATE (a parent directory is not searchable); use another MEDRIN_STATE_DIR"
}

as_dev() {
	if is_root; then runuser -u "$MEDRIN_DEV_USER" -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- postgres

pg_ready() { "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p 5432; }

pg_running_pid() {
	local f=$STATE/pg/data/postmaster.pid pid
	[ -r "$f" ] || return 1
	pid=$(head -n1 "$f")
	proc_matches "$pid" postgres || return 1
	printf '%s' "$pid"
}

start_postgres() {
	if [ "$EXTERNAL_postgres" = 1 ]; then
		say "postgres: external (DATABASE_URL set), not started"
		run_migrate
		return 0
	fi
	local data=$STATE/pg/data log=$STATE/log/postgres.log pid
	dev_user_setup
	mkdir -p "$STATE/pg" "$PG_SOCK"
	touch "$log"
	if is_root; then chown "$MEDRIN_DEV_USER" "$STATE/pg" "$PG_SOCK" "$log"; fi
	if pid=$(pg_running_pid); then
		say "postgres: already running (pid $pid)"
		printf '%s\n' "$pid" >"$(pidfile postgres)"
	else
		if [ ! -s "$data/PG_VERSION" ]; then
			info "initdb $data"
			as_dev "$PG_BIN/initdb" -D "$data" -U medrin --auth=trust -E UTF8 \
				--locale=C.UTF-8 >>"$log" 2>&1 || { log_tail "$log"; die "initdb failed"; }
			cat >>"$data/postgresql.conf" <<EOF

# medrin dev/test stack (script/lib.sh): unix socket only, durability traded for speed
listen_addresses = ''
unix_socket_directories = '$PG_SOCK'
unix_socket_permissions = 0777
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_duration_statement = -1
log_line_prefix = '%m [%p] %d '
EOF
		fi
		info "starting postgres"
		as_dev "$PG_BIN/pg_ctl" start -D "$data" -l "$log" -w -t 60 -s >/dev/null ||
			{ log_tail "$log"; die "postgres did not start (log: $log)"; }
		pid=$(pg_running_pid) || die "postgres: no postmaster.pid"
		printf '%s\n' "$pid" >"$(pidfile postgres)"
	fi
	wait_for 30 pg_ready || { log_tail "$log"; die "postgres does not answer"; }
	if ! "$PG_BIN/psql" -h "$PG_SOCK" -U medrin -d postgres -tAc \
		"select 1 from pg_database where datname = 'medrin'" | grep -q 1; then
		"$PG_BIN/createdb" -h "$PG_SOCK" -U medrin medrin || die "createdb medrin failed"
	fi
	say "postgres: ready (socket $PG_SOCK)"
	run_migrate
}

run_migrate() {
	local ctl=$BUILD/cli/medrinctl
	if [ ! -x "$ctl" ]; then
		warn "medrinctl is not built ($ctl): migrations not applied"
		return 0
	fi
	"$ctl" migrate >>"$STATE/log/migrate.log" 2>&1 ||
		{ log_tail "$STATE/log/migrate.log"; die "medrinctl migrate failed (log: $STATE/log/migrate.log)"; }
	say "postgres: migrations applied"
}

stop_postgres() {
	local pid
	if pid=$(pg_running_pid); then
		as_dev "$PG_BIN/pg_ctl" stop -D "$STATE/pg/data" -m fast -w -t 30 -s >/dev/null 2>&1 ||
			stop_pid postgres "$pid" 5
		say "postgres: stopped"
	fi
	rm -f "$(pidfile postgres)"
}

# ---------------------------------------------------------------- redis

redis_ping() { redis-cli -s "$STATE/sock/redis.sock" ping | grep -q PONG; }

start_redis() {
	if [ "$EXTERNAL_redis" = 1 ]; then say "redis: external (REDIS_URL set), not started"; return 0; fi
	local pid
	if pid=$(svc_pid redis redis-server); then say "redis: already running (pid $pid)"; return 0; fi
	port_busy "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken ($(ports_hint MEDRIN_REDIS_PORT))"
	cat >"$STATE/redis.conf" <<EOF
# medrin dev/test stack (script/lib.sh): private. Sessions, the token blocklist and OTP
# state are user data: append-only file, so a stop/start keeps every user signed in.
bind 127.0.0.1
port $REDIS_PORT
unixsocket $STATE/sock/redis.sock
unixsocketperm 777
daemonize no
save ""
appendonly yes
appendfsync everysec
appenddirname appendonly
maxmemory-policy noeviction
dir $STATE/run
maxclients 1000
protected-mode yes
EOF
	rm -f "$STATE/sock/redis.sock"
	launch redis "$STATE/log/redis.log" redis-server "$STATE/redis.conf"
	wait_for 20 redis_ping || { log_tail "$STATE/log/redis.log"; die "redis does not answer"; }
	say "redis: ready (socket $STATE/sock/redis.sock, port $REDIS_PORT)"
}

stop_redis() {
	local pid
	if pid=$(svc_pid redis redis-server); then stop_pid redis "$pid" 10; say "redis: stopped"; fi
	rm -f "$(pidfile redis)" "$STATE/sock/redis.sock"
}

# ---------------------------------------------------------------- mail catcher

mail_ready() { curl -fsS -o /dev/null "$MEDRIN_MAILBOX_URL/api/messages"; }

start_mail() {
	if [ "$EXTERNAL_mail" = 1 ]; then say "mail: external (SMTP_URL set), not started"; return 0; fi
	local pid
	if pid=$(svc_pid mail mailcatcher); then say "mail: already running (pid $pid)"; return 0; fi
	port_busy "$SMTP_PORT" && die "mail: port $SMTP_PORT is taken ($(ports_hint MEDRIN_SMTP_PORT))"
	port_busy "$MAIL_HTTP_PORT" && die "mail: port $MAIL_HTTP_PORT is taken ($(ports_hint MEDRIN_MAIL_HTTP_PORT))"
	launch mail "$STATE/log/mail.log" python3 -u "$MEDRIN_ROOT/script/mailcatcher.py" \
		--smtp-port "$SMTP_PORT" --http-port "$MAIL_HTTP_PORT" --ports-file "$STATE/run/mail.ports"
	wait_for 20 mail_ready || { log_tail "$STATE/log/mail.log"; die "mail catcher does not answer"; }
	say "mail: ready (smtp 127.0.0.1:$SMTP_PORT, inbox $MEDRIN_MAILBOX_URL)"
}

stop_mail() {
	local pid
	if pid=$(svc_pid mail mailcatcher); then stop_pid mail "$pid" 5; say "mail: stopped"; fi
	rm -f "$(pidfile mail)"
}

# ---------------------------------------------------------------- fcgi pools and worker

fcgi_built() { [ -x "$BUILD/fcgi/medrin-fcgi" ]; }

# FCGI_ONLY: the pool numbers `script/server start|stop fcgi-N` names (empty: every pool).
FCGI_ONLY=${FCGI_ONLY:-}

fcgi_pools() {
	if [ -n "$FCGI_ONLY" ]; then printf '%s\n' $FCGI_ONLY; else seq 1 "$MEDRIN_POOLS"; fi
}

start_fcgi() {
	local bin=$BUILD/fcgi/medrin-fcgi n pid sock log
	if ! fcgi_built; then warn "medrin-fcgi is not built ($bin): pools not started"; return 0; fi
	for n in $(fcgi_pools); do
		sock=$STATE/sock/fcgi-$n.sock log=$STATE/log/fcgi-$n.log
		if pid=$(svc_pid "fcgi-$n" medrin-fcgi); then say "fcgi-$n: already running (pid $pid)"; continue; fi
		rm -f "$sock"
		# Each pool re-reads its own env file on SIGHUP (as MEDRIN_ENV_FILE does under
		# systemd): `echo KEY=value >>$STATE/fcgi-N.env; kill -HUP <pid>` reconfigures it.
		local envfile=${MEDRIN_ENV_FILE:-$STATE/fcgi-$n.env}
		[ -e "$envfile" ] || : >"$envfile"
		MEDRIN_LISTEN=$sock MEDRIN_ENV_FILE=$envfile launch "fcgi-$n" "$log" "$bin"
	done
	for n in $(fcgi_pools); do
		sock=$STATE/sock/fcgi-$n.sock log=$STATE/log/fcgi-$n.log
		if ! wait_for 30 test -S "$sock"; then
			log_tail "$log"
			die "fcgi-$n did not open $sock (log: $log)"
		fi
		svc_pid "fcgi-$n" medrin-fcgi >/dev/null || { log_tail "$log"; die "fcgi-$n exited (log: $log)"; }
		say "fcgi-$n: listening on $sock (pid $(head -n1 "$(pidfile "fcgi-$n")"))"
	done
}

stop_fcgi() {
	local f name pid
	for f in "$STATE"/pids/fcgi-*.pid; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .pid)
		if [ -n "$FCGI_ONLY" ]; then
			case " $FCGI_ONLY " in *" ${name#fcgi-} "*) ;; *) continue ;; esac
		fi
		if pid=$(svc_pid "$name" medrin-fcgi); then
			stop_pid "$name" "$pid" $(( ${MEDRIN_DRAIN_SECONDS:-30} + 5 ))
			say "$name: stopped"
		fi
		rm -f "$f" "$STATE/sock/$name.sock"
	done
}

start_worker() {
	local bin=$BUILD/worker/medrin-worker pid
	if [ ! -x "$bin" ]; then warn "medrin-worker is not built ($bin): not started"; return 0; fi
	if pid=$(svc_pid worker medrin-worker); then say "worker: already running (pid $pid)"; return 0; fi
	# Up means what it means under systemd (Type=notify): READY=1 on NOTIFY_SOCKET, sent
	# once the worker has LISTENed and looked at the queue. notify_wait listens for it.
	local sock=$STATE/run/worker.notify npid rc=0 log=$STATE/log/worker.log
	rm -f "$sock" "$(pidfile worker)"
	notify_wait "$sock" "$(pidfile worker)" 30 &
	npid=$!
	if ! wait_for 10 test -S "$sock"; then
		kill "$npid" 2>/dev/null || true
		wait "$npid" 2>/dev/null || true
		die "worker: cannot listen on $sock for its READY=1"
	fi
	NOTIFY_SOCKET=$sock launch worker "$log" "$bin"
	wait "$npid" || rc=$?
	rm -f "$sock"
	case $rc in
	0) ;;
	1) log_tail "$log"; die "medrin-worker exited (log: $log)" ;;
	*) log_tail "$log"; die "medrin-worker sent no READY=1 within 30s (log: $log)" ;;
	esac
	say "worker: ready (pid $(head -n1 "$(pidfile worker)"))"
}

# notify_wait SOCKET PIDFILE SECONDS: binds the unix datagram SOCKET (sd_notify's
# NOTIFY_SOCKET) and waits for a READY=1 datagram. Exit status 0 on READY=1, 1 when the
# process named in PIDFILE has exited (or is a zombie) first, 2 when SECONDS pass.
notify_wait() {
	python3 - "$@" <<'EOF'
import os, socket, sys, time
path, pidfile, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.1)
deadline = time.monotonic() + secs


def gone():
    try:
        with open(pidfile) as f:
            pid = f.read().split()[0]
    except (OSError, IndexError):
        return False  # not launched yet
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


while time.monotonic() < deadline:
    try:
        msg = s.recv(4096)
    except socket.timeout:
        if gone():
            sys.exit(1)
        continue
    if b"READY=1" in msg.split(b"\n"):
        sys.exit(0)
sys.exit(2)
EOF
}

stop_worker() {
	local pid
	if pid=$(svc_pid worker medrin-worker); then stop_pid worker "$pid" 35; say "worker: stopped"; fi
	rm -f "$(pidfile worker)"
}

# ---------------------------------------------------------------- nginx

# tls_setup: a private CA (MEDRIN_CA_FILE, what clients trust) and a localhost certificate
# it signs (SAN localhost, 127.0.0.1), made once per state dir.
tls_setup() {
	local d=$STATE/tls
	[ -s "$d/cert.pem" ] && [ -s "$d/key.pem" ] && [ -s "$d/ca.pem" ] && return 0
	info "creating a self-signed TLS certificate for localhost"
	(
		umask 077
		cd "$d"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.pem -days 825 -subj "/CN=Medrin dev CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout key.pem -out cert.csr -subj "/CN=localhost" 2>/dev/null
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
			"subjectAltName=DNS:localhost,IP:127.0.0.1" "subjectKeyIdentifier=hash" \
			"authorityKeyIdentifier=keyid" >cert.ext
		openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out cert.pem -days 825 -extfile cert.ext 2>/dev/null
		rm -f cert.csr cert.ext ca.srl
		chmod 644 ca.pem cert.pem
	) || die "openssl could not create the certificate"
}

# nginx_render: nginx/dev.conf.in -> $STATE/nginx/conf/nginx.conf. The block between the
# SERVER markers is emitted once for the load-balanced port and once per pool.
nginx_render() {
	local user_line='' upstreams n servers=''
	if is_root; then user_line='user root root;  # dev only: workers must reach root-owned sockets'; fi
	upstreams="upstream medrin {"
	for ((n = 1; n <= MEDRIN_POOLS; n++)); do upstreams+=$'\n'"        server unix:$STATE/sock/fcgi-$n.sock;"; done
	upstreams+=$'\n    }'
	for ((n = 1; n <= MEDRIN_POOLS; n++)); do
		upstreams+=$'\n'"    upstream medrin_pool_$n {"$'\n'"        server unix:$STATE/sock/fcgi-$n.sock;"$'\n    }'
	done
	servers="$HTTPS_PORT medrin"
	n=1
	for p in $POOL_PORTS; do servers+=" $p medrin_pool_$n"; n=$((n + 1)); done
	NGX_GRAPHIQL_ROOT=$BUILD/graphiql \
	NGX_STATE=$STATE NGX_USER_LINE=$user_line NGX_UPSTREAMS=$upstreams NGX_SERVERS=$servers \
	NGX_FILES_DIR=${MEDRIN_FILES_DIR:-$STATE/files} NGX_AUTH_RATE=${MEDRIN_NGINX_AUTH_RATE:-50r/s} NGX_AUTH_BURST=${MEDRIN_NGINX_AUTH_BURST:-200} \
	python3 - "$MEDRIN_ROOT/nginx/dev.conf.in" "$STATE/nginx/conf/nginx.conf" <<'EOF'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
begin, end = "# @SERVER_BEGIN@\n", "# @SERVER_END@\n"
head, rest = text.split(begin, 1)
block, tail = rest.split(end, 1)
vals = {k[4:]: v for k, v in os.environ.items() if k.startswith("NGX_")}
words = vals.pop("SERVERS").split()
servers = ""
for port, upstream in zip(words[0::2], words[1::2]):
    servers += block.replace("@PORT@", port).replace("@UPSTREAM@", upstream)
out = head + servers + tail
for k, v in vals.items():
    out = out.replace("@" + k + "@", v)
import re
left = sorted(set(re.findall(r"@[A-Z_]+@", out)))
if left:
    sys.exit("nginx template: unknown placeholders " + " ".join(left))
open(dst + ".tmp", "w").write(out)
os.replace(dst + ".tmp", dst)
EOF
}

# docs_stage: the API reference nginx serves (/api/v1/openapi.json, /api/v1/docs) into
# $STATE/www/api-docs: docs/openapi.json, docs/ui's page and Swagger UI's pinned build
# (docs/ui/node_modules, `npm ci` by script/bootstrap). The same files `make install` puts
# in $(pkgdatadir)/api-docs. Copied at each nginx start, so an edit shows after a restart.
DOCS_UI_FILES="swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE"
docs_stage() {
	local d=$STATE/www/api-docs ui=$MEDRIN_ROOT/docs/ui f
	mkdir -p "$d"
	cp "$MEDRIN_ROOT/docs/openapi.json" "$ui/index.html" "$ui/medrin-docs.js" "$d/"
	for f in $DOCS_UI_FILES; do
		if [ -f "$ui/node_modules/swagger-ui-dist/$f" ]; then
			cp "$ui/node_modules/swagger-ui-dist/$f" "$d/"
		else
			warn "docs/ui/node_modules/swagger-ui-dist/$f is missing (run script/bootstrap): /api/v1/docs will not render"
		fi
	done
	chmod -R a+rX "$STATE/www"
}

nginx_health() { curl -fsS -o /dev/null --cacert "$MEDRIN_CA_FILE" "$1/api/v1/health"; }

start_nginx() {
	local pid conf=$STATE/nginx/conf/nginx.conf p
	if pid=$(svc_pid nginx nginx); then say "nginx: already running (pid $pid)"; return 0; fi
	tls_setup
	for p in $HTTPS_PORT $POOL_PORTS; do
		port_busy "$p" && die "nginx: port $p is taken ($(ports_hint 'MEDRIN_HTTPS_PORT / MEDRIN_POOL_PORTS'))"
	done
	docs_stage
	ln -sf ../../tls/cert.pem "$STATE/nginx/conf/cert.pem"
	ln -sf ../../tls/key.pem "$STATE/nginx/conf/key.pem"
	nginx_render
	# shellcheck disable=SC2094  # -e and stderr both append to the log
	nginx -t -q -p "$STATE/nginx" -c "$conf" -e "$STATE/log/nginx.log" 2>>"$STATE/log/nginx.log" ||
		{ log_tail "$STATE/log/nginx.log"; die "nginx configuration test failed ($conf)"; }
	launch nginx "$STATE/log/nginx.log" nginx -p "$STATE/nginx" -c "$conf" -e "$STATE/log/nginx.log"
	wait_for 20 port_busy "$HTTPS_PORT" || { log_tail "$STATE/log/nginx.log"; die "nginx did not start"; }
	say "nginx: listening on $MEDRIN_URL (pools: $MEDRIN_POOL_URLS)"
}

stop_nginx() {
	local pid
	if pid=$(svc_pid nginx nginx); then stop_pid nginx "$pid" 10; say "nginx: stopped"; fi
	rm -f "$(pidfile nginx)"
}

# check_health: GET /api/v1/health through nginx on the shared URL and on each pool URL.
# Fails when medrin-fcgi is built and does not answer; only warns when it is not built.
check_health() {
	local u bad=0
	local secs=30
	fcgi_built || secs=1
	for u in "$MEDRIN_URL" $MEDRIN_POOL_URLS; do
		if wait_for $secs nginx_health "$u"; then
			say "health: $u/api/v1/health 200"
		else
			bad=1
			if fcgi_built; then warn "health: $u/api/v1/health does not answer 200"
			else warn "health: $u/api/v1/health not answering (medrin-fcgi is not built yet)"; fi
		fi
	done
	if [ $bad = 1 ] && fcgi_built; then
		log_tail "$STATE/log/fcgi-1.log"
		return 1
	fi
	return 0
}
