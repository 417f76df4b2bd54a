"""systemd without a running systemd: socket activation with systemd-socket-activate (the
first connection starts medrin-fcgi, which takes fd 3 and serves it), readiness
notifications READY=1 / RELOADING=1 / STOPPING=1 on a NOTIFY_SOCKET (the listener of
test_reload.NotifyTest), and `systemd-analyze security --offline=true` exposure <= 2.0
for every unit in systemd/."""

import glob
import os
import re
import signal
import socket
import subprocess
import unittest

import fcgi_client
import harness
import test_reload
from harness import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_EXPOSURE = 2.0


def served_health(socks):
    """How many of these connections (each sent a GET /health) got its answer; a reset
    one counts as not served. Closes them all."""
    served = 0
    for s in socks:
        try:
            status, body = fcgi_client.read_response(s)
            served += status == 200 and body == b'{"status":"ok"}'
        except OSError:
            pass
        finally:
            s.close()
    return served


class ExposureTest(unittest.TestCase):
    def test_every_unit_exposure_at_most_2(self):
        units = sorted(glob.glob(os.path.join(ROOT, "systemd", "*.service")))
        self.assertTrue(units)
        for unit in units:
            p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                                "--no-pager", unit], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60)
            m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", p.stdout)
            self.assertIsNotNone(m, p.stdout[-2000:])
            self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE,
                                 "%s: exposure %s > %s" % (os.path.basename(unit),
                                                           m.group(1), MAX_EXPOSURE))


class SocketActivationTest(test_reload.NotifyTest):
    """medrin-fcgi started by systemd-socket-activate on the first connection."""

    test_notifications_follow_readiness = None  # the parent's test runs in test_reload

    def start(self):
        if subprocess.run(["sh", "-c", "command -v systemd-socket-activate"],
                          stdout=subprocess.DEVNULL).returncode != 0:
            self.fail("systemd-socket-activate is missing (script/bootstrap installs systemd)")
        self.sock = os.path.join(self.tmp, "activated.sock")
        logf = open(self.log, "ab")
        self.addCleanup(logf.close)
        env = harness.child_env(
            MEDRIN_LISTEN="systemd", MEDRIN_WORKERS=2,
            MEDRIN_RUN_DIR=os.path.join(self.tmp, "run"), MEDRIN_ENV_FILE=self.envfile,
            MEDRIN_DRAIN_SECONDS=5, NOTIFY_SOCKET=os.path.join(self.tmp, "notify"),
            JWT_ALGORITHM="HS256")
        keep = set(harness.env()) | {"MEDRIN_LISTEN", "MEDRIN_WORKERS", "MEDRIN_RUN_DIR",
                                     "MEDRIN_ENV_FILE", "MEDRIN_DRAIN_SECONDS",
                                     "NOTIFY_SOCKET", "JWT_ALGORITHM", "ASAN_OPTIONS",
                                     "UBSAN_OPTIONS", "LSAN_OPTIONS", "PATH"}
        keep -= {"MEDRIN_JWT_PUBLIC_KEY_FILE", "MEDRIN_JWT_PRIVATE_KEY_FILE"}
        argv = ["systemd-socket-activate", "-l", self.sock]
        for k in sorted(keep):
            if k in env:
                argv += ["-E", "%s=%s" % (k, env[k])]
        argv.append(self.exe)
        proc = subprocess.Popen(argv, env=env, stdout=logf, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop, proc)
        wait_until(lambda: os.path.exists(self.sock), 10, message="no activation socket")
        return proc

    def test_socket_activation_and_notify(self):
        proc = self.start()
        # Nothing runs medrin-fcgi yet: the first connection starts it (socket
        # activation), waits in the backlog, and is served once the workers are ready.
        status, body = fcgi_client.request(self.sock, "GET", "/api/v1/health", timeout=20)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, b'{"status":"ok"}')
        msg = self.next_message()
        self.assertEqual(msg.get("READY"), "1", msg)
        # systemd-socket-activate execs the program: same pid, and the socket is fd 3.
        self.assertEqual(msg.get("MAINPID"), str(proc.pid), msg)
        self.assertEqual(len(test_reload.children(proc.pid)), 2)
        target = os.readlink("/proc/%d/fd/3" % proc.pid)
        self.assertTrue(target.startswith("socket:"), target)

        first = test_reload.children(proc.pid)
        proc.send_signal(signal.SIGHUP)
        msg = self.next_message()
        self.assertEqual(msg.get("RELOADING"), "1", msg)
        self.assertIn("MONOTONIC_USEC", msg)
        msg = self.next_message()
        self.assertEqual(msg.get("READY"), "1", msg)
        wait_until(lambda: not (set(test_reload.children(proc.pid)) & set(first)), 30,
                   message="the old generation did not stop after the reload")
        self.assertEqual(fcgi_client.request(self.sock, "GET", "/api/v1/health", timeout=20)[0], 200)

        proc.send_signal(signal.SIGTERM)
        msg = self.next_message()
        self.assertEqual(msg.get("STOPPING"), "1", msg)
        self.assertEqual(proc.wait(30), 0)
        # The socket belongs to systemd: a stop must not unlink it.
        self.assertTrue(os.path.exists(self.sock))


class GracefulStopBacklogTest(test_reload.NotifyTest):
    """SIGTERM with connections waiting in the accept backlog: the socket file goes at
    once (new connects fail, so nginx tries the next upstream), every queued connection
    is served, and only then do the workers exit."""

    test_notifications_follow_readiness = None

    def test_backlog_served_after_sigterm(self):
        proc = self.start()
        self.assertEqual(self.next_message().get("READY"), "1")
        path = os.path.join(self.tmp, "fcgi.sock")
        # Pin both workers with slow requests so that what follows waits in the backlog.
        slow = []
        for _ in range(2):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            slow.append(s)  # an unfinished request: the worker waits on it
        queued = []
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(path)
            s.sendall(fcgi_client.request_bytes("GET", "/api/v1/health"))
            queued.append(s)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.next_message().get("STOPPING"), "1")
        # STOPPING=1 is sent once the file is gone.
        self.assertFalse(os.path.exists(path), "the socket file is still there after SIGTERM")
        with self.assertRaises(OSError):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(path)
            finally:
                c.close()
        for s in slow:  # release the workers
            s.close()
        served = served_health(queued)
        self.assertEqual(served, len(queued), "connections queued at SIGTERM were reset")
        self.assertEqual(proc.wait(30), 0)


class GracefulStopTcpTest(test_reload.NotifyTest):
    """The same over TCP: after SIGTERM new SYNs are dropped (a connect does not complete,
    and once the pool is gone it is refused), the connections already queued are served."""

    test_notifications_follow_readiness = None

    def start(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        logf = open(self.log, "ab")
        self.addCleanup(logf.close)
        env = harness.child_env(
            MEDRIN_LISTEN="127.0.0.1:%d" % self.port, MEDRIN_WORKERS=2,
            MEDRIN_RUN_DIR=os.path.join(self.tmp, "run"), MEDRIN_ENV_FILE=self.envfile,
            MEDRIN_DRAIN_SECONDS=10, NOTIFY_SOCKET=os.path.join(self.tmp, "notify"),
            LISTEN_FDS=None, LISTEN_PID=None, JWT_ALGORITHM="HS256",
            MEDRIN_JWT_PUBLIC_KEY_FILE=None, MEDRIN_JWT_PRIVATE_KEY_FILE=None)
        proc = subprocess.Popen([self.exe], env=env, stdout=logf, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop, proc)
        return proc

    def test_tcp_backlog_served_and_new_syns_dropped(self):
        proc = self.start()
        self.assertEqual(self.next_message().get("READY"), "1")
        addr = ("127.0.0.1", self.port)
        slow = [socket.create_connection(addr, timeout=10) for _ in range(2)]
        queued = []
        for _ in range(10):
            s = socket.create_connection(addr, timeout=30)
            s.sendall(fcgi_client.request_bytes("GET", "/api/v1/health"))
            queued.append(s)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.next_message().get("STOPPING"), "1")
        # STOPPING=1 is sent once the filter is attached: a new connect does not complete.
        with self.assertRaises(socket.timeout):
            c = socket.create_connection(addr, timeout=0.5)
            c.close()
        for s in slow:
            s.close()
        served = served_health(queued)
        self.assertEqual(served, len(queued), "connections queued at SIGTERM were reset")
        self.assertEqual(proc.wait(30), 0)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(addr, timeout=2).close()


if __name__ == "__main__":
    unittest.main()
