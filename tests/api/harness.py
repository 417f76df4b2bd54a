"""harness.py - what every black-box API test uses (Python standard library only).

The stack is started by script/server or script/test; $MEDRIN_STATE_DIR/env holds every
URL, path and setting as KEY=value lines. Everything here reads that file once.

    from harness import call, assert_problem, env

    r = call("GET", "/health")              # -> https://.../api/v1/health through nginx
    r.status, r.headers["content-type"], r.text, r.json()
    assert_problem(call("GET", "/nope"), 404, "not_found")

Paths that do not start with "/api" get "/api/v1" put in front of them; pass the full
path ("/api/v1/...", "/api/v1/%00") to send it byte for byte. Each call opens its own
connection (nginx keeps no FastCGI connection either), so calls are thread-safe.

Never assert on time: use wait_until() to poll for a state instead of sleeping.
"""

import glob
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_TIMEOUT = 30


# --------------------------------------------------------------------------- env

class HarnessError(Exception):
    """The stack is not there or not as the contract says (not a product failure)."""


def _parse_env_file(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export "):].lstrip()
            key, sep, value = line.partition("=")
            if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                continue
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key] = value
    return values


_env_cache = None


def state_dir():
    d = os.environ.get("MEDRIN_STATE_DIR")
    if not d:
        raise HarnessError("MEDRIN_STATE_DIR is not set (start the stack with script/server "
                           "or run the suite through script/test)")
    return d


def env():
    """The stack's settings: $MEDRIN_STATE_DIR/env as a dict (read once)."""
    global _env_cache
    if _env_cache is None:
        path = os.path.join(state_dir(), "env")
        if not os.path.exists(path):
            raise HarnessError("%s does not exist: is the stack up?" % path)
        values = _parse_env_file(path)
        values.setdefault("MEDRIN_STATE_DIR", state_dir())
        _env_cache = values
    return _env_cache


def env_get(key, default=None):
    return env().get(key, default)


def base_url():
    url = env_get("MEDRIN_URL")
    if not url:
        raise HarnessError("MEDRIN_URL missing from the env file")
    return url.rstrip("/")


def pool_urls():
    """One base URL per pool, in pool order (fcgi-1 first). Falls back to MEDRIN_URL."""
    urls = env_get("MEDRIN_POOL_URLS", "").split()
    return [u.rstrip("/") for u in urls] or [base_url()]


def child_env(**overrides):
    """The environment for a program of the project: ours, the env file, then overrides
    (a value of None removes the key)."""
    e = dict(os.environ)
    e.update(env())
    for k, v in overrides.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = str(v)
    return e


def have_test_routes():
    return env_get("MEDRIN_TEST_ROUTES", "") in ("1", "true", "yes", "on")


def require_test_routes(testcase=None):
    if not have_test_routes():
        raise unittest.SkipTest("MEDRIN_TEST_ROUTES is not 1 in the env file")


# --------------------------------------------------------------------------- HTTP

_ctx = None
_ctx_lock = threading.Lock()
_verify_warned = False


def _verified_context():
    ca = env_get("MEDRIN_CA_FILE")
    if ca and os.path.exists(ca):
        # The stack's certificate names localhost and 127.0.0.1 (script/lib.sh tls_setup).
        return ssl.create_default_context(cafile=ca)
    return None


def ssl_context():
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            _ctx = _verified_context() or ssl._create_unverified_context()
        return _ctx


def _fallback_unverified(err):
    global _ctx, _verify_warned
    with _ctx_lock:
        _ctx = ssl._create_unverified_context()
        if not _verify_warned:
            _verify_warned = True
            sys.stderr.write("harness: certificate did not verify against MEDRIN_CA_FILE "
                             "(%s); using an unverified context\n" % err)


class Response:
    """status (int), reason, headers (case-insensitive: headers["content-type"],
    headers.get_all("set-cookie")), body (bytes), text (str), json()."""

    def __init__(self, status, reason, headers, body, method="GET", url=""):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.method = method
        self.url = url

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def content_type(self):
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError("%s %s: body is not JSON (%s): %r"
                                 % (self.method, self.url, e, self.body[:300]))

    def __repr__(self):
        return "<Response %s %s -> %d %s %r>" % (self.method, self.url, self.status,
                                                 self.content_type, self.body[:200])


def _split_base(base):
    u = urllib.parse.urlsplit(base)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname, port, u.path.rstrip("/")


def full_path(path):
    if not path.startswith("/"):
        path = "/" + path
    if not path.startswith("/api"):
        path = "/api/v1" + path
    return path


def _connection(scheme, host, port, timeout):
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def call(method, path, body=None, headers=None, raw=None, base=None, timeout=DEFAULT_TIMEOUT):
    """One HTTP request through nginx. body: JSON-encoded, Content-Type application/json
    (unless headers set one). raw: bytes sent as they are (no Content-Type added).
    base: another base URL (a pool's own URL). Returns a Response; never raises on an
    HTTP status, only on a transport failure."""
    scheme, host, port, prefix = _split_base(base or base_url())
    target = prefix + full_path(path)
    hdrs = {}
    data = None
    if body is not None and raw is not None:
        raise ValueError("body and raw are exclusive")
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    for k, v in (headers or {}).items():
        for existing in list(hdrs):
            if existing.lower() == k.lower():
                del hdrs[existing]
        hdrs[k] = v
    for attempt in (1, 2):
        conn = _connection(scheme, host, port, timeout)
        try:
            try:
                conn.putrequest(method, target, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                if data is not None and not any(k.lower() == "content-length" for k in hdrs):
                    conn.putheader("Content-Length", str(len(data)))
                conn.endheaders()
                if data:
                    try:
                        conn.send(data)
                    except (BrokenPipeError, ConnectionResetError):
                        # nginx may answer (413) and stop reading before the body is sent.
                        pass
            except ssl.SSLCertVerificationError as e:
                if attempt == 1 and scheme == "https":
                    _fallback_unverified(e)
                    continue
                raise
            resp = conn.getresponse()
            rbody = resp.read()
            return Response(resp.status, resp.reason, resp.msg, rbody, method, target)
        finally:
            conn.close()
    raise AssertionError("unreachable")


def raw_request(data, base=None, timeout=DEFAULT_TIMEOUT, method="GET"):
    """Send bytes exactly as given (request line, headers, body) over one TLS connection
    and parse the first response. For chunked bodies and malformed framing."""
    scheme, host, port, _ = _split_base(base or base_url())
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if scheme == "https":
            sock = ssl_context().wrap_socket(sock, server_hostname=host)
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        rbody = resp.read()
        return Response(resp.status, resp.reason, resp.msg, rbody, method, "(raw)")
    finally:
        sock.close()


# --------------------------------------------------------------------------- assertions

def assert_json(resp, status):
    """resp has this status and an application/json body; returns the parsed body."""
    if resp.status != status:
        raise AssertionError("expected %d, got %r" % (status, resp))
    if resp.content_type != "application/json":
        raise AssertionError("expected Content-Type application/json, got %r" % resp)
    return resp.json()


def assert_problem(resp, status, code=None):
    """resp is an RFC 9457 problem: Content-Type application/problem+json, this status in
    the line and in "status", a non-empty "title" and "type", "code" equal to code (or
    any non-empty string when code is None). Returns the parsed problem."""
    if resp.status != status:
        raise AssertionError("expected status %d, got %r" % (status, resp))
    if resp.content_type != "application/problem+json":
        raise AssertionError("expected Content-Type application/problem+json, got %r" % resp)
    p = resp.json()
    if not isinstance(p, dict):
        raise AssertionError("problem is not an object: %r" % resp)
    if p.get("status") != status:
        raise AssertionError("problem \"status\" is %r, expected %d: %r"
                             % (p.get("status"), status, resp))
    for field in ("title", "type"):
        if not isinstance(p.get(field), str) or not p[field]:
            raise AssertionError("problem has no %r string: %r" % (field, resp))
    if code is None:
        if not isinstance(p.get("code"), str) or not p["code"]:
            raise AssertionError("problem has no \"code\": %r" % resp)
    elif p.get("code") != code:
        raise AssertionError("problem \"code\" is %r, expected %r: %r"
                             % (p.get("code"), code, resp))
    return p


def problem_fields(problem):
    """The "field" of every entry in a 422 problem's "errors" list."""
    errs = problem.get("errors")
    if not isinstance(errs, list):
        raise AssertionError("problem has no \"errors\" list: %r" % problem)
    return [e.get("field") for e in errs if isinstance(e, dict)]


# Numbers that logs carry for their own reasons (durations, pids, status and sizes): removed
# before scanning so a 6-digit OTP code cannot "match" a request that took 123456 us.
_LOG_NOISE = [
    re.compile(rb'"(?:usec|pid|status)":\d+'),   # our JSON lines
    re.compile(rb'" \d{3} \d+ '),                 # nginx: status and bytes after "$request"
    re.compile(rb'\[\d+\]'),                      # PostgreSQL: [pid]
]


def assert_no_secrets_in_logs(values, logdir=None):
    """No log file under $STATE/log (*.log) contains any of the given strings (passwords,
    OTPs, tokens, keys). Empty values are ignored. Short values (OTP codes) count only as
    a whole token (not inside a longer run of letters and digits such as a hex request
    id), after the numeric noise above is removed; long ones anywhere. The failure names
    the file and the value's position in `values`, never the value itself."""
    logdir = logdir or os.path.join(state_dir(), "log")
    files = sorted(glob.glob(os.path.join(logdir, "*.log")))
    if not files:
        raise AssertionError("no log files in %s" % logdir)
    needles = []
    for i, v in enumerate(values):
        if not v:
            continue
        b = v.encode("utf-8") if isinstance(v, str) else v
        if len(b) < 16:
            needles.append((i, b, re.compile(rb"(?<![0-9A-Za-z])" + re.escape(b) + rb"(?![0-9A-Za-z])")))
        else:
            needles.append((i, b, None))
    found = []
    for path in files:
        with open(path, "rb") as f:
            content = f.read()
        for noise in _LOG_NOISE:
            content = noise.sub(b" ", content)
        for i, needle, token in needles:
            if (token.search(content) if token else needle in content):
                found.append("%s contains secret #%d (%d bytes)"
                             % (os.path.basename(path), i, len(needle)))
    if found:
        raise AssertionError("secrets in logs: " + "; ".join(found))


# --------------------------------------------------------------------------- polling

def wait_until(fn, timeout=10.0, interval=0.05, message=None):
    """Calls fn until it returns something truthy and returns that; raises AssertionError
    after timeout seconds. Exceptions from fn count as "not yet" (the last one is
    reported)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - the state is not there yet
            last_exc = e
        if time.monotonic() >= deadline:
            msg = message or ("condition not met within %.1fs" % timeout)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise AssertionError(msg)
        time.sleep(interval)


class RequestLoop:
    """Background threads sending one request after another until stop().
    results: list of (status or exception-name). Use as a context manager."""

    def __init__(self, method="GET", path="/health", base=None, threads=2, timeout=20):
        self.method, self.path, self.base = method, path, base
        self.timeout = timeout
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            try:
                r = call(self.method, self.path, base=self.base, timeout=self.timeout)
                outcome = r.status
            except Exception as e:  # noqa: BLE001 - recorded as a failure
                outcome = type(e).__name__
            with self._lock:
                self.results.append(outcome)

    def count(self):
        with self._lock:
            return len(self.results)

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.results

    def failures(self):
        with self._lock:
            return [r for r in self.results if r != 200]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------- services

def disruption_allowed():
    """Tests may stop and restart the stack's services only on a throwaway test stack
    (MEDRIN_ENV=test in its env file, as script/test and tests/api/README.md start it) or
    when MEDRIN_TEST_DISRUPT=1 says the caller accepts it."""
    return env_get("MEDRIN_ENV") == "test" or os.environ.get("MEDRIN_TEST_DISRUPT") == "1"


def service(action, *names, check=True, timeout=120):
    """Runs script/server ACTION NAME... with our environment and MEDRIN_STATE_DIR.
    Returns the CompletedProcess; raises HarnessError when it fails and check is set.
    stop/restart refuse (HarnessError, before touching anything) unless
    disruption_allowed(), and say on stderr what they are about to stop."""
    if action in ("stop", "restart"):
        if not disruption_allowed():
            raise HarnessError(
                "refusing to %s %s of the stack in %s: it is not a test stack (MEDRIN_ENV=%s). "
                "Tests that stop services run against a stack started with MEDRIN_ENV=test "
                "(script/test does), or set MEDRIN_TEST_DISRUPT=1 to allow it here."
                % (action, " ".join(names) or "every service", state_dir(),
                   env_get("MEDRIN_ENV")))
        sys.stderr.write("[harness] %s %s of the stack in %s\n"
                         % (action, " ".join(names) or "every service", state_dir()))
    # The env file's settings go in the environment: script/server gives the caller's
    # environment precedence, so the restarted service gets exactly the stack's settings
    # (private DATABASE_URL / REDIS_URL / SMTP_URL values still count as private).
    e = child_env()
    e["MEDRIN_STATE_DIR"] = state_dir()
    p = subprocess.run([os.path.join(ROOT, "script", "server"), action] + list(names),
                       env=e, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise HarnessError("script/server %s %s failed (%d): %s"
                           % (action, " ".join(names), p.returncode,
                              p.stdout.decode("utf-8", "replace")[-2000:]))
    return p


def pid_file(name):
    return os.path.join(state_dir(), "pids", name + ".pid")


def read_pid(name):
    """The pid in $STATE/pids/NAME.pid, or None."""
    try:
        with open(pid_file(name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def master_pid(pool=1):
    """The pid of pool N's master (pids/fcgi-N.pid)."""
    return read_pid("fcgi-%d" % pool)


def children(pid):
    """Pids whose parent is pid, from /proc/*/stat (zombies left out)."""
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(pid) and fields[0] not in ("Z", "X"):
            out.append(int(stat.split("/")[2]))
    return sorted(out)


def worker_pids(pool=1):
    m = master_pid(pool)
    if not m:
        raise HarnessError("no master pid for pool %d" % pool)
    return children(m)


def pool_count():
    return len(pool_urls())


def pool_env_file(pool=1):
    """$STATE/fcgi-N.env: pool N's MEDRIN_ENV_FILE, which its master re-reads on SIGHUP."""
    return os.path.join(state_dir(), "fcgi-%d.env" % pool)


def reload_pool(pool, content, timeout=20):
    """Writes content into pool N's env file, sends its master SIGHUP and waits until every
    worker has been replaced, so each later request to that pool sees the new settings.
    Returns the file's previous content. A reload applies the file as a whole (a key the
    file stops naming reverts to its default), so putting the old content back with
    reload_pool undoes a setting."""
    master = master_pid(pool)
    if not master:
        raise HarnessError("no master pid for pool %d" % pool)
    path = pool_env_file(pool)
    with open(path) as f:
        old = f.read()
    before = set(children(master))
    write_pool_env(pool, content)
    signal_pid(master, signal.SIGHUP)
    wait_until(lambda: children(master) and not (set(children(master)) & before), timeout,
               0.05, "pool %d did not replace its workers after SIGHUP" % pool)
    return old


def write_pool_env(pool, content):
    """Replaces pool N's env file without reloading (it is read at the next SIGHUP)."""
    path = pool_env_file(pool)
    with open(path + ".tmp", "w") as f:
        f.write(content)
    os.replace(path + ".tmp", path)


def current_syscall(pid):
    """The number of the system call pid is blocked in (from /proc/PID/syscall), or None."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            first = f.read().split()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


def healthy(base=None):
    try:
        return call("GET", "/health", base=base, timeout=5).status == 200
    except OSError:
        return False


def ready(base=None):
    try:
        return call("GET", "/ready", base=base, timeout=10).status == 200
    except OSError:
        return False


# --------------------------------------------------------------------------- programs

def build_path(*parts):
    d = env_get("MEDRIN_BUILD_DIR")
    if not d:
        raise HarnessError("MEDRIN_BUILD_DIR missing from the env file")
    return os.path.join(d, *parts)


def medrinctl(*args, timeout=60, **overrides):
    """Runs $MEDRIN_BUILD_DIR/cli/medrinctl ARGS with the stack's env (+ overrides).
    Returns CompletedProcess with text stdout/stderr."""
    exe = build_path("cli", "medrinctl")
    if not os.access(exe, os.X_OK):
        raise HarnessError("%s is not built" % exe)
    return subprocess.run([exe] + list(args), env=child_env(**overrides),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def psql(sql, database_url=None, timeout=30):
    """Runs one SQL statement with psql against DATABASE_URL; returns the rows as a list
    of lists of strings (unaligned, tuples only). Raises on an SQL error."""
    url = database_url or env_get("DATABASE_URL")
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=child_env())
    if p.returncode != 0:
        raise HarnessError("psql failed: %s" % p.stderr.strip())
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def database_url_for(dbname, database_url=None):
    """DATABASE_URL with its database name replaced (URI or key=value form)."""
    url = database_url or env_get("DATABASE_URL")
    if re.match(r"^postgres(ql)?://", url):
        u = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))
    if re.search(r"(^|\s)dbname\s*=", url):
        return re.sub(r"(^|\s)dbname\s*=\s*('[^']*'|\S+)", r"\1dbname=" + dbname, url)
    return url + " dbname=" + dbname


# --------------------------------------------------------------------------- mailbox

def mailbox_url():
    u = env_get("MEDRIN_MAILBOX_URL")
    if not u:
        raise HarnessError("MEDRIN_MAILBOX_URL missing from the env file")
    return u.rstrip("/")


def mail_messages():
    """Every message the mail catcher holds, oldest first:
    [{"id","from","to":[...],"subject","body","date"}]."""
    with urllib.request.urlopen(mailbox_url() + "/api/messages", timeout=10) as r:
        return json.loads(r.read().decode("utf-8"))


def mail_clear():
    req = urllib.request.Request(mailbox_url() + "/api/messages", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def _recipients(msg):
    to = msg.get("to") or []
    if isinstance(to, str):
        to = [to]
    return [t.lower() for t in to]


def wait_for_mail(address, timeout=15.0, after_ids=(), subject_contains=None):
    """Waits for a message to address (case-insensitive, a recipient containing it) whose
    id is not in after_ids; returns the newest such message."""
    address = address.lower()
    skip = set(after_ids)

    def find():
        found = [m for m in mail_messages()
                 if m.get("id") not in skip
                 and any(address in t for t in _recipients(m))
                 and (subject_contains is None
                      or subject_contains.lower() in (m.get("subject") or "").lower())]
        return found[-1] if found else None

    return wait_until(find, timeout, interval=0.1,
                      message="no mail to %s within %.1fs" % (address, timeout))


def mail_ids():
    return [m.get("id") for m in mail_messages()]


def extract_code(msg):
    """The 6-digit code in a message (subject or body), or AssertionError."""
    text = (msg.get("subject") or "") + "\n" + (msg.get("body") or "")
    m = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
    if not m:
        raise AssertionError("no 6-digit code in mail %r" % (msg.get("subject"),))
    return m.group(1)


def signal_pid(pid, sig):
    """Sends sig to one pid the test looked up itself (never by name)."""
    os.kill(pid, sig)


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "glob", "http", "json", "os", "re", "signal", "socket", "ssl", "subprocess", "sys",
    "threading", "time", "unittest", "urllib")]
