"""Reload safety and the FastCGI read bound (docs/internals/fcgi.md "Reload" and "Client
timeout"): a SIGHUP whose new workers cannot start leaves the old generation serving and
says so in one error line; the systemd notifications follow the truth; `--check` loads the
token keys; a FastCGI peer that stalls half-way through a record is dropped after
MEDRIN_CLIENT_TIMEOUT_SECONDS and pins no worker.

Pool 2 is reconfigured through its env file ($STATE/fcgi-2.env, re-read on SIGHUP) and put
back afterwards. A key removed from that file keeps its value in the master's environment
(setenv only adds), so every value a test changes is written back explicitly."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import call, children, master_pid, wait_until

POOL = 2
FCGI_BEGIN_REQUEST = 1


def fcgi_log():
    return os.path.join(harness.state_dir(), "log", "fcgi-%d.log" % POOL)


def log_size():
    try:
        return os.path.getsize(fcgi_log())
    except OSError:
        return 0


def log_lines(offset):
    """The JSON lines pool 2 logged after byte offset (non-JSON lines left out)."""
    with open(fcgi_log(), "rb") as f:
        f.seek(offset)
        data = f.read().decode("utf-8", "replace")
    out = []
    for line in data.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def envfile():
    return os.path.join(harness.state_dir(), "fcgi-%d.env" % POOL)


# What pool 2 runs with when the tests have not touched it.
def defaults():
    return {
        "JWT_ALGORITHM": harness.env_get("JWT_ALGORITHM", "") or "HS256",
        "MEDRIN_JWT_PUBLIC_KEY_FILE": harness.env_get("MEDRIN_JWT_PUBLIC_KEY_FILE", ""),
        "MEDRIN_JWT_PRIVATE_KEY_FILE": harness.env_get("MEDRIN_JWT_PRIVATE_KEY_FILE", ""),
        "MEDRIN_CLIENT_TIMEOUT_SECONDS":
            harness.env_get("MEDRIN_CLIENT_TIMEOUT_SECONDS", "") or "30",
    }


def write_env(values):
    with open(envfile(), "w") as f:
        f.write("# written by tests/api/test_reload.py\n")
        for k, v in values.items():
            f.write("%s=%s\n" % (k, v))


def generation_ready_lines(offset, master):
    return [l for l in log_lines(offset) if l.get("pid") == master
            and "reload: generation" in l.get("msg", "") and " ready " in l.get("msg", "")]


def reload_ok(values):
    """Writes values into pool 2's env file, SIGHUPs it and waits until the new generation
    is ready and the old workers are gone."""
    master = master_pid(POOL)
    old = set(children(master))
    write_env(values)
    os.kill(master, signal.SIGHUP)
    wait_until(lambda: len(children(master)) >= len(old)
               and not (set(children(master)) & old), 40, 0.05,
               "pool %d: old workers still there after a reload" % POOL)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        if harness.pool_count() < POOL:
            self.skipTest("the test stack runs two pools")
        self.master = master_pid(POOL)
        self.assertTrue(harness.pid_alive(self.master), "pool %d master not running" % POOL)
        wait_until(lambda: children(self.master), 10, 0.05, "pool %d has no workers" % POOL)
        self.base = harness.pool_urls()[POOL - 1]
        with open(envfile()) as f:
            original = f.read()
        self.tmp = tempfile.mkdtemp(prefix="medrin-reload-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.restore, original)

    def restore(self, original):
        try:
            if harness.pid_alive(self.master):
                reload_ok(defaults())
        finally:
            with open(envfile(), "w") as f:
                f.write(original)
        wait_until(lambda: harness.healthy(self.base), 30, 0.1, "pool %d not healthy" % POOL)

    def failed_reload(self, values, must_name):
        """SIGHUP with values that make every new worker's app_init fail: requests keep
        succeeding, the master stays, exactly one error line says the reload failed, the
        cause (must_name) is in the log, and no new generation takes over."""
        before = set(children(self.master))
        offset = log_size()
        with harness.RequestLoop(base=self.base, threads=2) as loop:
            wait_until(lambda: loop.count() >= 5, 10)
            write_env(values)
            os.kill(self.master, signal.SIGHUP)

            def failed():
                return [l for l in log_lines(offset)
                        if l.get("pid") == self.master and l.get("level") == "error"
                        and l.get("msg", "").startswith("reload failed")]

            lines = wait_until(failed, 30, 0.05, "no 'reload failed' line after SIGHUP")
            seen = loop.count()
            wait_until(lambda: loop.count() >= seen + 20, 20, 0.05,
                       "requests stopped being answered after the failed reload")
        self.assertEqual(loop.failures(), [], "requests failed around the failed reload")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("app_init failed", lines[0]["msg"])
        self.assertIn("keeps serving", lines[0]["msg"])
        text = "\n".join(l.get("msg", "") for l in log_lines(offset))
        self.assertIn(must_name, text, "the log does not name the cause")
        self.assertFalse(generation_ready_lines(offset, self.master),
                         "a generation that could not start took over")
        self.assertEqual(master_pid(POOL), self.master)
        wait_until(lambda: len(children(self.master)) == len(before), 10, 0.05,
                   "pool %d lost workers in the failed reload" % POOL)
        self.assertTrue(harness.healthy(self.base))

    def test_reload_with_invalid_public_key_keeps_old_generation(self):
        bad = os.path.join(self.tmp, "public.pem")
        with open(bad, "w") as f:
            f.write("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
        self.failed_reload({"JWT_ALGORITHM": "RS256", "MEDRIN_JWT_PUBLIC_KEY_FILE": bad,
                            "MEDRIN_JWT_PRIVATE_KEY_FILE": ""}, bad)

    def test_reload_with_invalid_private_key_keeps_old_generation(self):
        bad = os.path.join(self.tmp, "private.pem")
        with open(bad, "w") as f:
            f.write("garbage, not a PEM private key\n")
        self.failed_reload({"JWT_ALGORITHM": "RS256", "MEDRIN_JWT_PUBLIC_KEY_FILE": "",
                            "MEDRIN_JWT_PRIVATE_KEY_FILE": bad}, bad)

    def test_good_reload_after_a_failed_one(self):
        bad = os.path.join(self.tmp, "public.pem")
        with open(bad, "w") as f:
            f.write("\n")
        self.failed_reload({"JWT_ALGORITHM": "RS256", "MEDRIN_JWT_PUBLIC_KEY_FILE": bad,
                            "MEDRIN_JWT_PRIVATE_KEY_FILE": ""}, bad)
        reload_ok(defaults())
        self.assertTrue(harness.healthy(self.base))


def half_a_record():
    """A FastCGI BEGIN_REQUEST header that announces an 8-byte body, cut after 6 bytes."""
    return bytes([1, FCGI_BEGIN_REQUEST, 0, 1, 0, 8])


class ClientTimeoutTest(unittest.TestCase):
    TIMEOUT = 2

    def setUp(self):
        if harness.pool_count() < POOL:
            self.skipTest("the test stack runs two pools")
        self.master = master_pid(POOL)
        self.base = harness.pool_urls()[POOL - 1]
        self.sock = os.path.join(harness.state_dir(), "sock", "fcgi-%d.sock" % POOL)
        if not os.path.exists(self.sock):
            self.skipTest("pool %d does not listen on %s" % (POOL, self.sock))
        with open(envfile()) as f:
            original = f.read()
        self.addCleanup(self.restore, original)
        values = defaults()
        values["MEDRIN_CLIENT_TIMEOUT_SECONDS"] = str(self.TIMEOUT)
        reload_ok(values)

    def restore(self, original):
        try:
            if harness.pid_alive(self.master):
                reload_ok(defaults())
        finally:
            with open(envfile(), "w") as f:
                f.write(original)
        wait_until(lambda: harness.healthy(self.base), 30, 0.1, "pool %d not healthy" % POOL)

    def test_stalled_peers_are_dropped_and_pin_no_worker(self):
        workers = children(self.master)
        self.assertTrue(workers)
        offset = log_size()
        # One stalled connection per worker: if a worker waited on its peer without a
        # bound, nothing would be left to answer nginx.
        stalled = []
        for _ in workers:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.settimeout(30)
            s.connect(self.sock)
            s.sendall(half_a_record())
            stalled.append(s)
        opened = time.monotonic()

        def dropped():
            return {l["pid"] for l in log_lines(offset)
                    if "dropped a FastCGI connection" in l.get("msg", "")}

        # Requests through nginx are answered while the stalled connections are open
        # (they wait in the backlog for at most the bound).
        r = call("GET", "/health", base=self.base, timeout=30)
        self.assertEqual(r.status, 200, r)
        # Each stalled connection is closed by the worker after about the bound.
        for s in stalled:
            self.assertEqual(s.recv(64), b"", "a stalled connection got data")
            elapsed = time.monotonic() - opened
            self.assertGreaterEqual(elapsed, self.TIMEOUT * 0.5, "dropped before the bound")
            self.assertLess(elapsed, self.TIMEOUT + 20, "not dropped near the bound")
            s.close()
        pinned = wait_until(lambda: len(dropped()) >= len(workers) and dropped(), 20, 0.05,
                            "workers did not log the dropped connections")
        # Every worker that held a stalled connection goes on serving.
        served = set()

        def all_served():
            for _ in range(10):
                self.assertEqual(call("GET", "/health", base=self.base).status, 200)
            served.update(l["pid"] for l in log_lines(offset)
                          if l.get("msg") == "request" and l.get("route") == "ops_health")
            alive = {p for p in pinned if harness.pid_alive(p)}
            return alive <= served

        wait_until(all_served, 30, 0.05, "a worker that held a stalled peer stopped serving")
        self.assertEqual(master_pid(POOL), self.master)


class CheckTest(unittest.TestCase):
    def test_check_refuses_unusable_key_file(self):
        exe = harness.build_path("fcgi", "medrin-fcgi")
        if not os.access(exe, os.X_OK):
            self.skipTest("%s is not built" % exe)
        tmp = tempfile.mkdtemp(prefix="medrin-check-")
        self.addCleanup(shutil.rmtree, tmp, True)
        bad = os.path.join(tmp, "public.pem")
        with open(bad, "w") as f:
            f.write("not a key\n")
        missing = os.path.join(tmp, "missing.pem")
        # A missing file is refused by the configuration check itself (naming the key);
        # a file that is there but is no usable key only by loading it.
        for name, path, named in (("invalid", bad, bad),
                                  ("missing", missing, "MEDRIN_JWT_PUBLIC_KEY_FILE")):
            with self.subTest(key=name):
                p = subprocess.run(
                    [exe, "--check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    text=True, timeout=30,
                    env=harness.child_env(JWT_ALGORITHM="RS256",
                                          MEDRIN_JWT_PUBLIC_KEY_FILE=path,
                                          MEDRIN_JWT_PRIVATE_KEY_FILE=None,
                                          MEDRIN_ENV_FILE=None, NOTIFY_SOCKET=None))
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn(named, p.stdout)
                if name == "invalid":
                    self.assertIn("token keys", p.stdout)
                self.assertNotIn("configuration OK", p.stdout)
        p = subprocess.run([exe, "--check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30,
                           env=harness.child_env(MEDRIN_ENV_FILE=None, NOTIFY_SOCKET=None))
        self.assertEqual(p.returncode, 0, p.stdout)


class NotifyTest(unittest.TestCase):
    """A private medrin-fcgi with NOTIFY_SOCKET: READY=1 only once its workers are ready,
    RELOADING=1 at a reload, READY=1 again when the new generation is ready (or when a
    failed reload left the old one serving), STOPPING=1 on SIGTERM."""

    def setUp(self):
        self.exe = harness.build_path("fcgi", "medrin-fcgi")
        if not os.access(self.exe, os.X_OK):
            self.skipTest("%s is not built" % self.exe)
        self.tmp = tempfile.mkdtemp(prefix="mdr-ntf-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.notify.close)
        self.notify.bind(os.path.join(self.tmp, "notify"))
        self.notify.settimeout(0.1)
        self.envfile = os.path.join(self.tmp, "env")
        with open(self.envfile, "w") as f:
            f.write("JWT_ALGORITHM=HS256\n")
        self.log = os.path.join(harness.state_dir(), "log", "test-reload-notify.log")
        self.messages = []

    def start(self):
        logf = open(self.log, "ab")
        self.addCleanup(logf.close)
        env = harness.child_env(
            MEDRIN_LISTEN=os.path.join(self.tmp, "fcgi.sock"), MEDRIN_WORKERS=2,
            MEDRIN_RUN_DIR=os.path.join(self.tmp, "run"), MEDRIN_ENV_FILE=self.envfile,
            MEDRIN_DRAIN_SECONDS=5, NOTIFY_SOCKET=os.path.join(self.tmp, "notify"),
            LISTEN_FDS=None, LISTEN_PID=None, JWT_ALGORITHM="HS256",
            MEDRIN_JWT_PUBLIC_KEY_FILE=None, MEDRIN_JWT_PRIVATE_KEY_FILE=None)
        proc = subprocess.Popen([self.exe], env=env, stdout=logf, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop, proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the process this test started
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def next_message(self, timeout=30):
        """The next datagram on the notify socket, as a dict of its assignments."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.notify.recv(4096).decode()
            except socket.timeout:
                continue
            msg = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
            self.messages.append(msg)
            return msg
        self.fail("no sd_notify message within %d s (got %r)" % (timeout, self.messages))

    def test_notifications_follow_readiness(self):
        proc = self.start()
        msg = self.next_message()
        self.assertEqual(msg.get("READY"), "1", msg)
        self.assertEqual(msg.get("MAINPID"), str(proc.pid), msg)
        first = children(proc.pid)
        self.assertEqual(len(first), 2, first)

        # A reload whose workers cannot start: RELOADING=1, then READY=1 (the old
        # generation serves) with a STATUS naming the failure; the old workers stay.
        def write(text):
            with open(self.envfile, "w") as f:
                f.write(text)

        bad = os.path.join(self.tmp, "public.pem")
        with open(bad, "w") as f:
            f.write("not a key\n")
        write("JWT_ALGORITHM=RS256\nMEDRIN_JWT_PUBLIC_KEY_FILE=%s\n" % bad)
        proc.send_signal(signal.SIGHUP)
        msg = self.next_message()
        self.assertEqual(msg.get("RELOADING"), "1", msg)
        msg = self.next_message()
        self.assertEqual(msg.get("READY"), "1", msg)
        self.assertIn("reload failed", msg.get("STATUS", ""), msg)
        # The new workers that could not start are gone; the old ones are still there.
        wait_until(lambda: children(proc.pid) == first, 30, 0.05,
                   "the failed generation's workers did not go, or old ones went")
        for p in first:
            self.assertTrue(harness.pid_alive(p))

        # A good reload: READY=1 arrives once the new generation is ready, and only then
        # does the old one stop.
        write("JWT_ALGORITHM=HS256\nMEDRIN_JWT_PUBLIC_KEY_FILE=\n")
        proc.send_signal(signal.SIGHUP)
        msg = self.next_message()
        self.assertEqual(msg.get("RELOADING"), "1", msg)
        msg = self.next_message()
        self.assertEqual(msg.get("READY"), "1", msg)
        self.assertNotIn("failed", msg.get("STATUS", ""), msg)
        wait_until(lambda: len(set(children(proc.pid)) - set(first)) == 2, 30, 0.05,
                   "the new generation is not there after READY=1")
        wait_until(lambda: not (set(children(proc.pid)) & set(first)), 30, 0.05,
                   "the old generation did not stop after the reload")

        proc.send_signal(signal.SIGTERM)
        msg = self.next_message()
        self.assertEqual(msg.get("STOPPING"), "1", msg)
        self.assertEqual(proc.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
