"""Several hosts for real (docs/internals/hosts.md). One topology, started once for the
module, private to it (loopback only):

  nginx (its own instance, rendered from nginx/dev.conf.in) -> upstream of three app hosts,
  each a medrin-fcgi master on its own loopback address and TCP port (127.0.0.11..13);
  PostgreSQL primary + synchronous streaming standby (pg_basebackup), DATABASE_URL listing
  both with target_session_attrs=read-write;
  Redis primary + replica + three Sentinels (MEDRIN_REDIS_SENTINELS / MEDRIN_REDIS_MASTER).

Scenarios (each a test; they run in name order, sharing the topology):
  a stalled PostgreSQL and a stalled Redis (SIGSTOP): /ready is 503 in bounded time;
  one host SIGKILLed under GET load: zero failures, nginx stops using it, it rejoins, and
  a logout through one host is refused on the other two at once;
  rolling restart (SIGHUP, SIGTERM, start) of the three hosts, five times, under GETs and
  POSTs: zero failures;
  Redis failover by SENTINEL FAILOVER and by killing the primary under load: recovery
  within 5 s of the new primary, sessions and OTP counters kept, a revoked token never 200;
  after SENTINEL FAILOVER, registrations made while the old primary still takes writes
  are confirmable after its demotion (every process follows +switch-master);
  PostgreSQL standby promoted under registrations: recovery within 5 s, every 201 kept;
  a Redis primary refusing writes (min-replicas-to-write, NOREPLICAS): 503, nothing queued.
The figures are printed on stderr (lines starting "figures:").
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import fcgi_client
import harness
from harness import call, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_BIN = "/usr/lib/postgresql/15/bin"
DEV_USER = os.environ.get("MEDRIN_DEV_USER", "medrin-dev")
HOST_ADDRS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
PASSWORD = "correct horse battery staple 42"


def figures(text):
    sys.stderr.write("figures: %s\n" % text)
    sys.stderr.flush()


def free_port(addr="127.0.0.1"):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def as_dev(argv):
    return (["runuser", "-u", DEV_USER, "--"] + argv) if os.getuid() == 0 else argv


def run(argv, **kw):
    kw.setdefault("timeout", 120)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        raise harness.HarnessError("%s failed (%d): %s" % (argv[0], p.returncode,
                                                           p.stdout[-2000:]))
    return p.stdout


# One request straight to a host's FastCGI port: (status, body).
fcgi = fcgi_client.request


# --------------------------------------------------------------------------- load

class Load:
    """Threads sending requests through nginx until stop(); every outcome is kept with
    its time (monotonic) so recovery times can be measured."""

    def __init__(self, base, makers, threads=3):
        self.base, self.makers = base, makers
        self.results = []  # (t, kind, status)
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def _run(self, i):
        n = 0
        while not self.stop_ev.is_set():
            kind, method, path, body, headers = self.makers[(i + n) % len(self.makers)]()
            n += 1
            try:
                r = call(method, path, body=body, headers=headers, base=self.base, timeout=30)
                st = r.status
            except Exception as e:  # noqa: BLE001 - a failure, recorded
                st = type(e).__name__
            with self.lock:
                self.results.append((time.monotonic(), kind, st))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(40)
        return self.results

    def snapshot(self):
        with self.lock:
            return list(self.results)


# --------------------------------------------------------------------------- topology

class Topology:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mdr-hosts-")
        os.chmod(self.dir, 0o755)
        self.procs = {}
        self.env0 = harness.child_env()

    # PostgreSQL ---------------------------------------------------------
    def pg_start(self):
        self.pg_ports = [free_port(), free_port()]
        prim, stby = os.path.join(self.dir, "pg1"), os.path.join(self.dir, "pg2")
        self.pg_dirs = [prim, stby]
        os.makedirs(prim, 0o700)
        if os.getuid() == 0:
            shutil.chown(prim, DEV_USER)
        run(as_dev([PG_BIN + "/initdb", "-D", prim, "-U", "medrin", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8"]))
        with open(os.path.join(prim, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\n"
                    "unix_socket_directories = ''\nmax_connections = 100\n"
                    "wal_level = replica\nmax_wal_senders = 5\nfsync = off\n"
                    "full_page_writes = off\n"
                    "synchronous_commit = on\n"
                    % self.pg_ports[0])
        with open(os.path.join(prim, "pg_hba.conf"), "a") as f:
            f.write("host replication medrin 127.0.0.1/32 trust\n")
        self.pg_ctl(0, "start")
        run(["psql", "-X", "-q", "-d", self.pg_url(0, "postgres"), "-c",
             "CREATE DATABASE medrin"])
        os.makedirs(stby, 0o700)
        if os.getuid() == 0:
            shutil.chown(stby, DEV_USER)
        run(as_dev([PG_BIN + "/pg_basebackup", "-h", "127.0.0.1", "-p",
                    str(self.pg_ports[0]), "-U", "medrin", "-D", stby, "-R", "-X", "stream", "-c", "fast"]))
        with open(os.path.join(stby, "postgresql.conf"), "a") as f:
            # The promoted standby has no standby of its own: it must not wait for one.
            f.write("\nport = %d\nsynchronous_standby_names = ''\n" % self.pg_ports[1])
        # After the one pg_basebackup -R wrote (the last one wins): named, so that the
        # primary's synchronous_standby_names can list it.
        with open(os.path.join(stby, "postgresql.auto.conf"), "a") as f:
            f.write("primary_conninfo = 'host=127.0.0.1 port=%d user=medrin "
                    "application_name=standby1'\n" % self.pg_ports[0])
        self.pg_ctl(1, "start")
        # Synchronous from now on (not before: CREATE DATABASE would wait for a standby).
        self.psql(0, "ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
        self.psql(0, "SELECT pg_reload_conf()")
        wait_until(lambda: self.psql(0, "SELECT sync_state FROM pg_stat_replication")
                   == [["sync"]], 30, 0.2, "the standby is not a synchronous standby")
        self.database_url = ("postgresql://medrin@127.0.0.1:%d,127.0.0.1:%d/medrin"
                             "?target_session_attrs=read-write&connect_timeout=2"
                             % tuple(self.pg_ports))

    def pg_url(self, i, db="medrin"):
        return "postgresql://medrin@127.0.0.1:%d/%s" % (self.pg_ports[i], db)

    def pg_ctl(self, i, action, *extra):
        args = [PG_BIN + "/pg_ctl", action, "-D", self.pg_dirs[i], "-w", "-t", "60"]
        if action == "start":
            log = os.path.join(self.dir, "pg%d.log" % (i + 1))
            open(log, "a").close()
            if os.getuid() == 0:
                shutil.chown(log, DEV_USER)
            args += ["-l", log]
        run(as_dev(args + list(extra)))

    def pg_pids(self, i):
        with open(os.path.join(self.pg_dirs[i], "postmaster.pid")) as f:
            master = int(f.readline())
        return [master] + harness.children(master)

    def psql(self, i, sql, url=None):
        out = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                   "-d", url or self.pg_url(i), "-c", sql], timeout=30)
        return [line.split("\t") for line in out.splitlines() if line]

    # Redis --------------------------------------------------------------
    def redis_start(self):
        self.rport = [free_port(), free_port()]
        self.sport = [free_port(), free_port(), free_port()]
        for i, port in enumerate(self.rport):
            conf = os.path.join(self.dir, "redis%d.conf" % i)
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\nprotected-mode no\nsave \"\"\n"
                        "appendonly no\ndir %s\n" % (port, self.dir))
                if i == 1:
                    f.write("replicaof 127.0.0.1 %d\n" % self.rport[0])
            self.spawn("redis%d" % i, ["redis-server", conf])
        for i, port in enumerate(self.sport):
            conf = os.path.join(self.dir, "sentinel%d.conf" % i)
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"
                        "sentinel monitor medrin 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds medrin 1000\n"
                        "sentinel failover-timeout medrin 4000\n"
                        "sentinel parallel-syncs medrin 1\n" % (port, self.dir, self.rport[0]))
            self.spawn("sentinel%d" % i, ["redis-server", conf, "--sentinel"])
        wait_until(lambda: "master_link_status:up" in self.rcli(self.rport[1], "INFO",
                                                                  "replication"), 30, 0.1)
        wait_until(lambda: all(self.sentinel_primary(p) == self.rport[0] for p in self.sport)
                   and all(int(self.rcli(p, "SENTINEL", "master", "medrin").split("\n")[
                       self.rcli(p, "SENTINEL", "master", "medrin").split("\n").index(
                           "num-other-sentinels") + 1]) == 2 for p in self.sport),
                   30, 0.2, "the Sentinels do not agree on the primary")
        # SENTINEL FAILOVER answers NOGOODSLAVE until a Sentinel has seen the replica up
        # and linked (it learns of replicas from the primary's INFO, every 10 s).
        wait_until(lambda: all(self.replica_ready(p) for p in self.sport), 60, 0.2,
                   "the Sentinels have not found a replica they could promote")

    def replica_ready(self, sport):
        lines = self.rcli(sport, "SENTINEL", "replicas", "medrin").split("\n")
        pairs = dict(zip(lines[0::2], lines[1::2]))
        return pairs.get("flags") == "slave" and pairs.get("master-link-status") == "ok"

    def rcli(self, port, *args):
        p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=10)
        return p.stdout.strip()

    def sentinel_primary(self, sport=None):
        out = self.rcli(sport or self.sport[0], "SENTINEL", "get-master-addr-by-name",
                        "medrin").split()
        return int(out[1]) if len(out) == 2 and out[1].isdigit() else None

    # processes ----------------------------------------------------------
    def spawn(self, name, argv, env=None):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        log.close()
        self.procs[name] = p
        return p

    def host_env(self, i):
        return harness.child_env(
            DATABASE_URL=self.database_url,
            REDIS_URL="redis://127.0.0.1:%d/0" % self.rport[0],
            MEDRIN_REDIS_SENTINELS=",".join("127.0.0.1:%d" % p for p in self.sport),
            MEDRIN_REDIS_MASTER="medrin", MEDRIN_REDIS_FAILOVER_WAIT_MS=3000,
            MEDRIN_REDIS_TIMEOUT_MS=500, MEDRIN_DB_IO_TIMEOUT_MS=2000,
            MEDRIN_DB_CONNECT_TIMEOUT=2, MEDRIN_DB_STATEMENT_TIMEOUT_MS=2000,
            MEDRIN_LISTEN="%s:%d" % (HOST_ADDRS[i], self.hport[i]), MEDRIN_WORKERS=2,
            MEDRIN_RUN_DIR=os.path.join(self.dir, "run%d" % i), MEDRIN_DRAIN_SECONDS=10,
            MEDRIN_ENV_FILE=os.path.join(self.dir, "host%d.env" % i),
            NOTIFY_SOCKET=None, LISTEN_FDS=None, LISTEN_PID=None)

    def host_start(self, i):
        os.makedirs(os.path.join(self.dir, "run%d" % i), exist_ok=True)
        envf = os.path.join(self.dir, "host%d.env" % i)
        if not os.path.exists(envf):
            open(envf, "w").close()
        p = self.spawn("host%d" % i, [harness.build_path("fcgi", "medrin-fcgi")],
                       self.host_env(i))
        wait_until(lambda: self.host_ok(i), 60, 0.1,
                   "host %d did not answer /health" % i)
        wait_until(lambda: len(harness.children(p.pid)) == 2, 30, 0.1)
        return p

    def host_addr(self, i):
        return (HOST_ADDRS[i], self.hport[i])

    def host_ok(self, i):
        try:
            return fcgi(self.host_addr(i), "GET", "/api/v1/health", timeout=3)[0] == 200
        except OSError:
            return False

    def nginx_start(self):
        ng = os.path.join(self.dir, "nginx")
        for d in ("conf", "tmp", "log"):
            os.makedirs(os.path.join(ng, d), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "log"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "sock"), exist_ok=True)
        tls = os.path.join(harness.state_dir(), "tls")
        for f in ("cert.pem", "key.pem"):
            os.symlink(os.path.join(tls, f), os.path.join(ng, "conf", f))
        self.nport = free_port()
        # The project's own renderer, then the upstream replaced by the three hosts.
        run(["bash", "-c", '. "$1/script/lib.sh"; STATE=$2; MEDRIN_POOLS=1; '
             'HTTPS_PORT=$3; POOL_PORTS=; nginx_render', "render", ROOT, self.dir,
             str(self.nport)], env=dict(self.env0, MEDRIN_NGINX_AUTH_RATE="1000r/s",
                                        MEDRIN_NGINX_AUTH_BURST="1000"))
        conf = os.path.join(ng, "conf", "nginx.conf")
        text = open(conf).read()
        servers = "".join("        server %s:%d max_fails=1 fail_timeout=3s;\n"
                          % (HOST_ADDRS[i], self.hport[i]) for i in range(3))
        text, n = re.subn(r"upstream medrin \{[^}]*\}", "upstream medrin {\n%s    }" % servers,
                          text, count=1)
        assert n == 1, "no upstream medrin block in the rendered nginx.conf"
        open(conf, "w").write(text)
        self.access_log = os.path.join(self.dir, "log", "nginx-access.log")
        run(["nginx", "-t", "-q", "-p", ng, "-c", conf, "-e", os.path.join(self.dir, "log",
                                                                          "nginx.log")])
        self.spawn("nginx", ["nginx", "-p", ng, "-c", conf, "-e",
                             os.path.join(self.dir, "log", "nginx.log")])
        self.base = "https://localhost:%d" % self.nport
        try:
            wait_until(lambda: call("GET", "/health", base=self.base, timeout=3).status
                       == 200, 30, 0.1)
        except AssertionError:
            logs = ""
            for name in ("nginx.log", os.path.join("log", "nginx.log")):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    logs += f.read()[-1000:]
            raise AssertionError("nginx did not start (exit %r) on %d: %s"
                                 % (self.procs["nginx"].poll(), self.nport, logs))

    def start(self):
        self.pg_start()
        self.redis_start()
        out = harness.medrinctl("migrate", DATABASE_URL=self.database_url)
        assert out.returncode == 0, out.stderr
        self.hport = [free_port(a) for a in HOST_ADDRS]
        for i in range(3):
            self.host_start(i)
        self.worker_start()
        self.nginx_start()

    def worker_start(self):
        """One medrin-worker for the topology's queue, delivering to the stack's mail
        catcher: mail bodies are sealed at rest (only the worker opens them), so the
        tests read codes from the mailbox, as a user would."""
        env = self.host_env(0)
        for k in ("MEDRIN_LISTEN", "MEDRIN_ENV_FILE", "MEDRIN_WORKERS", "MEDRIN_DRAIN_SECONDS"):
            env.pop(k, None)
        env["SMTP_URL"] = harness.env_get("SMTP_URL")
        return self.spawn("worker", [harness.build_path("worker", "medrin-worker")], env)

    def kill_host(self, i, sig=signal.SIGKILL):
        p = self.procs.get("host%d" % i)
        if p is not None and p.poll() is None:
            os.killpg(p.pid, sig)  # its own session: the master and its workers
            p.wait(30)

    def stop(self):
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                for pid in [p.pid] + harness.children(p.pid):
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except OSError:
                        pass
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except OSError:
                    pass
        for name, p in list(self.procs.items()):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        for i, d in enumerate(getattr(self, "pg_dirs", [])):
            if os.path.exists(os.path.join(d, "postmaster.pid")):
                for pid in self.pg_pids(i):
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except OSError:
                        pass
                subprocess.run(as_dev([PG_BIN + "/pg_ctl", "stop", "-D", d, "-m", "immediate",
                                       "-w", "-t", "30"]), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(self.dir, True)


TOPO = None


def setUpModule():
    global TOPO
    harness.require_test_routes()
    TOPO = Topology()
    try:
        TOPO.start()
    except BaseException:
        TOPO.stop()
        TOPO = None
        raise


def tearDownModule():
    if TOPO is not None:
        TOPO.stop()


# --------------------------------------------------------------------------- helpers

def register_user(base, tag):
    """register -> code from the stored mail task -> verify: (email, tokens)."""
    email = "hosts-%s-%s@example.com" % (tag, uuid.uuid4().hex[:10])
    r = call("POST", "/auth/register", {"email": email, "password": PASSWORD}, base=base)
    assert r.status == 202, r
    code = wait_until(lambda: otp_code(email), 20)
    r = call("POST", "/auth/verify-otp", {"email": email, "code": code,
                                          "registration_id": r.json()["registration_id"]},
             base=base)
    assert r.status == 201, r
    return email, r.json()


def otp_code(email):
    """The code mailed to email (the topology's medrin-worker delivers to the stack's mail
    catcher), or None while it has not arrived."""
    msgs = [m for m in harness.mail_messages() if email in harness._recipients(m)]
    return harness.extract_code(msgs[-1]) if msgs else None


def bearer(tokens):
    return {"Authorization": "Bearer " + tokens["access_token"]}


def served_by(log_offset):
    """Final upstream address of each request logged after log_offset."""
    with open(TOPO.access_log) as f:
        f.seek(log_offset)
        lines = f.read().splitlines()
    out = []
    for line in lines:
        m = re.search(r" (\S+(?:, \S+)*) [0-9a-f]{32}$", line)
        if m:
            out.append(m.group(1).split(", ")[-1])
    return out


def log_size():
    time.sleep(1.2)  # access_log flush=1s
    return os.path.getsize(TOPO.access_log)


def failures(results, since=None):
    return [r for r in results if (since is None or r[0] >= since)
            and not (isinstance(r[2], int) and r[2] < 500)]


def counter_on_all_hosts(name):
    """The sum of an unlabelled counter over the three hosts' /metrics."""
    total = 0
    for i in range(3):
        _, body = fcgi(TOPO.host_addr(i), "GET", "/api/v1/metrics")
        m = re.search(rb"^" + name.encode() + rb" (\d+)", body, re.M)
        total += int(m.group(1)) if m else 0
    return total


def recovery_after(results, t0):
    """Seconds from t0 to the first success after the last failure (0: none failed)."""
    bad = [r[0] for r in results if r[0] >= t0 and not (isinstance(r[2], int) and r[2] < 500)]
    if not bad:
        return 0.0
    ok = [r[0] for r in results if r[0] > bad[-1] and isinstance(r[2], int) and r[2] < 500]
    return (ok[0] - t0) if ok else None


# --------------------------------------------------------------------------- tests

class HostsTest(unittest.TestCase):
    def setUp(self):
        self.assertIsNotNone(TOPO, "the topology did not start")
        self.base = TOPO.base

    def ready_503_while_stopped(self, pids, names, what):
        """SIGSTOP pids (connections stay open, nothing answers): /ready is 503 naming
        the dependency within 10 s; SIGCONT, and /ready is 200 again."""
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = call("GET", "/ready", base=self.base, timeout=30)
            took = time.monotonic() - t0
            self.assertEqual(r.status, 503, r)
            self.assertIn(names, r.text)
            self.assertLess(took, 10.0)
            figures("%s: /ready 503 in %.2f s" % (what, took))
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        wait_until(lambda: call("GET", "/ready", base=self.base).status == 200, 30, 0.2)

    def test_1_stalled_postgres_and_redis_ready_503_in_bounded_time(self):
        self.assertEqual(call("GET", "/ready", base=self.base).status, 200)
        # PostgreSQL: every process of the primary stopped, connections left open.
        # MEDRIN_DB_IO_TIMEOUT_MS=2000 (+ connect_timeout 2 s per host on a reconnect).
        self.ready_503_while_stopped(TOPO.pg_pids(0), "postgres", "stalled PostgreSQL")
        # Redis: primary and replica stopped (no failover possible), Sentinels answering.
        # MEDRIN_REDIS_TIMEOUT_MS=500 per try, MEDRIN_REDIS_FAILOVER_WAIT_MS=3000.
        self.ready_503_while_stopped([TOPO.procs["redis0"].pid, TOPO.procs["redis1"].pid],
                                     "redis", "stalled Redis")
        # No worker is left pinned: every host answers at once.
        for i in range(3):
            self.assertTrue(TOPO.host_ok(i))

    def test_2_host_loss_under_get_load(self):
        email, tok = register_user(self.base, "loss")
        me = ("me", "GET", "/auth/me", None, bearer(tok))
        off = log_size()
        with Load(self.base, [lambda: me], threads=3) as load:
            wait_until(lambda: len(load.snapshot()) > 30, 30)
            t_kill = time.monotonic()
            TOPO.kill_host(1)
            off_kill = log_size()
            time.sleep(3)
            after_kill = served_by(off_kill)
            TOPO.host_start(1)
            off_back = os.path.getsize(TOPO.access_log)
            wait_until(lambda: served_by(off_back).count("%s:%d" % TOPO.host_addr(1)) >= 5,
                       30, 0.3, "the restarted host gets no requests")
            res = load.stop()
        self.assertEqual(failures(res), [], "failed GETs while a host was lost")
        self.assertNotIn("%s:%d" % TOPO.host_addr(1), after_kill,
                         "nginx still had requests served by the dead host")
        before = served_by(off)
        self.assertTrue(all(before.count("%s:%d" % TOPO.host_addr(i)) for i in range(3)))
        figures("host loss: %d GETs, 0 failed; after the kill %d requests, none served by "
                "the dead host" % (len(res), len(after_kill)))
        del t_kill
        # Logout through host 0: refused on hosts 1 and 2 at once.
        _, tok2 = register_user(self.base, "logout")
        h = {"Authorization": "Bearer " + tok2["access_token"]}
        for i in range(3):
            self.assertEqual(fcgi(TOPO.host_addr(i), "GET", "/api/v1/auth/me", headers=h)[0],
                             200)
        st, body = fcgi(TOPO.host_addr(0), "POST", "/api/v1/auth/logout", headers=h)
        self.assertEqual(st, 204, body)
        for i in (1, 2):
            self.assertEqual(fcgi(TOPO.host_addr(i), "GET", "/api/v1/auth/me", headers=h)[0],
                             401)

    def test_3_rolling_restart_five_times_under_gets_and_posts(self):
        email, tok = register_user(self.base, "roll")
        me = ("GET", "GET", "/auth/me", None, bearer(tok))
        echo = ("POST", "POST", "/_test/echo", {"name": "Ada", "count": 1}, None)
        with Load(self.base, [lambda: me, lambda: echo], threads=4) as load:
            wait_until(lambda: len(load.snapshot()) > 20, 30)
            t0 = time.monotonic()
            for _round in range(5):
                for i in range(3):
                    p = TOPO.procs["host%d" % i]
                    old = set(harness.children(p.pid))
                    p.send_signal(signal.SIGHUP)
                    wait_until(lambda: len(set(harness.children(p.pid)) - old) == 2
                               and not (set(harness.children(p.pid)) & old), 30, 0.05,
                               "host %d: reload did not replace the workers" % i)
                    p.send_signal(signal.SIGTERM)
                    self.assertEqual(p.wait(30), 0)
                    TOPO.host_start(i)
            took = time.monotonic() - t0
            res = load.stop()
        bad = failures(res)
        gets = sum(1 for r in res if r[1] == "GET")
        posts = len(res) - gets
        self.assertEqual(bad, [], "failed requests during the rolling restarts")
        self.assertEqual([r for r in res if r[2] not in (200,)], [])
        figures("rolling restart x5 (15 host restarts, %.1f s): %d GETs + %d POSTs, 0 failed"
                % (took, gets, posts))

    def wait_primary_changed(self, old):
        return wait_until(lambda: (TOPO.sentinel_primary() not in (None, old)
                                   and TOPO.sentinel_primary()), 30, 0.05,
                          "no new Redis primary")

    def redis_failover(self, how):
        email, tok = register_user(self.base, "rfo-" + how)
        _, gone = register_user(self.base, "rfo-revoked-" + how)
        r = call("POST", "/auth/logout", headers=bearer(gone), base=self.base)
        self.assertEqual(r.status, 204, r)
        # An OTP counter: a pending registration with one wrong code used.
        pend = "hosts-otp-%s-%s@example.com" % (how, uuid.uuid4().hex[:8])
        self.assertEqual(call("POST", "/auth/register", {"email": pend, "password": PASSWORD},
                              base=self.base).status, 202)
        wrong = call("POST", "/auth/verify-otp", {"email": pend, "code": "000000"},
                     base=self.base)
        left = (wrong.json() or {}).get("attempts_remaining")
        self.assertIsInstance(left, int, wrong)
        old = TOPO.sentinel_primary()
        # Everything above is on the replica before the switch.
        TOPO.rcli(old, "WAIT", "1", "2000")
        me = ("me", "GET", "/auth/me", None, bearer(tok))
        revoked = ("revoked", "GET", "/auth/me", None, bearer(gone))
        with Load(self.base, [lambda: me, lambda: revoked], threads=4) as load:
            wait_until(lambda: len(load.snapshot()) > 20, 30)
            t0 = time.monotonic()
            if how == "sentinel":
                out = TOPO.rcli(TOPO.sport[0], "SENTINEL", "FAILOVER", "medrin")
                self.assertEqual(out, "OK")
            else:
                name = "redis0" if TOPO.rport[0] == old else "redis1"
                TOPO.procs[name].kill()
                TOPO.procs[name].wait(10)
            new = self.wait_primary_changed(old)
            t_new = time.monotonic()
            # Recovered: a success after the new primary is known, within 5 s.
            wait_until(lambda: any(r[0] > t_new and r[1] == "me" and r[2] == 200
                                   for r in load.snapshot()), 5, 0.05,
                       "no successful request within 5 s of the new primary")
            time.sleep(1)
            res = load.stop()
        if how == "sentinel":
            self.writes_after_the_switch_survive_the_demotion(old)
        rec = recovery_after(res, t_new)
        self.assertIsNotNone(rec)
        self.assertLessEqual(rec, 5.0)
        # Fail closed: the revoked token was never accepted, Redis up or not.
        self.assertEqual([r for r in res if r[1] == "revoked" and r[2] == 200], [])
        self.assertTrue(all(r[2] in (401, 503) for r in res if r[1] == "revoked"),
                        set(r[2] for r in res if r[1] == "revoked"))
        # Sessions and OTP counters from before the failover are still honoured.
        self.assertEqual(call("GET", "/auth/me", headers=bearer(tok), base=self.base).status,
                         200)
        again = call("POST", "/auth/verify-otp", {"email": pend, "code": "000000"},
                     base=self.base)
        self.assertEqual((again.json() or {}).get("attempts_remaining"), left - 1, again)
        failed = len(failures(res))
        figures("Redis failover (%s): primary %d -> %d in %.2f s; %d requests, %d answered "
                "5xx/errors, recovery %.2f s after the new primary; revoked token never 200"
                % (how, old, new, t_new - t0, len(res), failed, rec))
        return old

    def role(self, port):
        return TOPO.rcli(port, "ROLE").split("\n")[0]

    def writes_after_the_switch_survive_the_demotion(self, old):
        """After SENTINEL FAILOVER the old primary still answers as a primary (and takes
        writes) for about ten seconds, until the Sentinels demote it and it resyncs from
        the new one, discarding them. Registrations answered in that window must still be
        confirmable after the demotion: every process moves on the +switch-master."""
        self.assertEqual(self.role(old), "master", "the window under test is already over")
        late, lock = [], threading.Lock()

        def register(i):
            email = "hosts-late-%d-%s@example.com" % (i, uuid.uuid4().hex[:10])
            body = ('{"email":"%s","password":"%s"}' % (email, PASSWORD)).encode()
            st, out = fcgi(TOPO.host_addr(i % 3), "POST", "/api/v1/auth/register", body)
            with lock:
                late.append((email, st, out))

        threads = [threading.Thread(target=register, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(self.role(old), "master",
                         "the old primary was demoted before the registrations were "
                         "answered, so they do not test the window")
        self.assertEqual(sorted(st for _, st, _ in late), [202] * 6, late)
        wait_until(lambda: self.role(old) == "slave", 30, 0.2,
                   "the Sentinels did not demote the old primary")
        wait_until(lambda: "master_link_status:up" in TOPO.rcli(old, "INFO", "replication"),
                   30, 0.2)
        for email, _, out in late:
            rid = json.loads(out)["registration_id"]
            code = wait_until(lambda: otp_code(email), 20)
            r = call("POST", "/auth/verify-otp", {"email": email, "code": code,
                                                  "registration_id": rid}, base=self.base)
            self.assertEqual(r.status, 201, (email, r))
        moved = counter_on_all_hosts("medrin_redis_primary_switches_total")
        self.assertGreater(moved, 0, "no process acted on the Sentinels' +switch-master")
        figures("Redis failover (sentinel): 6 registrations answered while the demoted "
                "primary still took writes, all 6 confirmed after its demotion; %d "
                "connections moved by +switch-master" % moved)

    def test_4_redis_failover_by_sentinel(self):
        self.redis_failover("sentinel")

    def test_5_redis_failover_by_killing_the_primary(self):
        killed = self.redis_failover("kill")
        # Bring the killed one back as a replica for what follows.
        name = "redis0" if TOPO.rport[0] == killed else "redis1"
        TOPO.spawn(name, ["redis-server", os.path.join(TOPO.dir, "%s.conf" % name)])
        errors = counter_on_all_hosts("medrin_redis_errors_total")
        self.assertGreater(errors, 0, "the failovers left no trace in medrin_redis_errors")

    def test_6_postgres_standby_promoted_under_registrations(self):
        accepted, created, lock = [], [], threading.Lock()
        outcomes = []
        stop = threading.Event()

        def registrations():
            while not stop.is_set():
                email = "hosts-pg-%s@example.com" % uuid.uuid4().hex[:12]
                t = time.monotonic()
                try:
                    r = call("POST", "/auth/register", {"email": email, "password": PASSWORD},
                             base=self.base, timeout=30)
                    st = r.status
                except Exception as e:  # noqa: BLE001
                    st = type(e).__name__
                with lock:
                    outcomes.append((t, "register", st))
                    if st == 202:
                        accepted.append(email)
                if st != 202:
                    continue
                try:
                    code = wait_until(lambda: otp_code(email), 30, 0.1)
                    r = call("POST", "/auth/verify-otp",
                             {"email": email, "code": code, "password": PASSWORD},
                             base=self.base, timeout=30)
                    st = r.status
                except Exception as e:  # noqa: BLE001
                    st = type(e).__name__
                with lock:
                    outcomes.append((time.monotonic(), "verify", st))
                    if st == 201:
                        created.append(email)

        threads = [threading.Thread(target=registrations, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(created) >= 5, 60, 0.1)
            t0 = time.monotonic()
            TOPO.pg_ctl(0, "stop", "-m", "immediate")
            TOPO.pg_ctl(1, "promote")
            t_new = time.monotonic()
            n_then = len(created)
            wait_until(lambda: any(o[0] > t_new and o[2] in (201, 202) for o in outcomes), 5,
                       0.05, "no registration succeeded within 5 s of the promotion")
            wait_until(lambda: len(created) >= n_then + 5, 60, 0.1)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        rec = recovery_after(outcomes, t_new)
        self.assertIsNotNone(rec)
        self.assertLessEqual(rec, 5.0)
        rows = TOPO.psql(1, "SELECT email FROM users WHERE email LIKE 'hosts-pg-%'")
        have = {r[0] for r in rows}
        lost = [e for e in created if e not in have]
        self.assertEqual(lost, [], "registrations answered 201 are missing after failover")
        queued = {r[0] for r in TOPO.psql(1, "SELECT payload->>'to' FROM tasks WHERE "
                                             "payload->>'to' LIKE 'hosts-pg-%'")}
        self.assertEqual([e for e in accepted if e not in queued], [],
                         "registrations answered 202 have no mail task after failover")
        figures("PostgreSQL promotion (%.2f s to promote): %d registrations accepted (202), "
                "%d created (201), 0 lost; %d requests failed; recovery %.2f s after the "
                "promotion" % (t_new - t0, len(accepted), len(created),
                               len(failures(outcomes)), rec))

    def test_7_redis_primary_without_replicas_refuses_writes_with_503(self):
        # min-replicas-to-write (docs/internals/hosts.md): a primary with fewer replicas
        # than it wants refuses writes with NOREPLICAS. That is an outage, not a bug: the
        # request gets a 503 problem+json, and nothing is queued for it.
        _, tok = register_user(self.base, "norepl")
        port = TOPO.sentinel_primary()
        self.assertEqual(TOPO.rcli(port, "CONFIG", "SET", "min-replicas-to-write", "3"), "OK")
        try:
            email = "hosts-norepl-%s@example.com" % uuid.uuid4().hex[:10]
            r = call("POST", "/auth/register", {"email": email, "password": PASSWORD},
                     base=self.base)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.headers.get("Content-Type"), "application/problem+json", r)
            r = call("POST", "/auth/logout", headers=bearer(tok), base=self.base)
            self.assertEqual(r.status, 503, r)
        finally:
            TOPO.rcli(port, "CONFIG", "SET", "min-replicas-to-write", "0")
        self.assertEqual(TOPO.psql(1, "SELECT count(*) FROM tasks WHERE payload->>'to' = "
                                      "'%s'" % email), [["0"]])
        # The logout was refused, so the session still works once writes are taken again.
        self.assertEqual(call("GET", "/auth/me", headers=bearer(tok), base=self.base).status,
                         200)
        figures("Redis primary refusing writes (NOREPLICAS): register and logout 503, "
                "nothing queued")


if __name__ == "__main__":
    unittest.main()
