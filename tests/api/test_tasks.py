"""Task leases, the heartbeat and takeover, with more than one medrin-worker.

docs/internals/tasks.md describes the queue. The long-running task is the test-only kind
test_sleep ({"ms": N}, lease TEST_SLEEP_LEASE seconds, 3 attempts), which medrin-worker
has in its kind table only with MEDRIN_TEST_ROUTES=1 (refused in production). Tasks are
inserted with psql the way tasks_enqueue does. Besides the stack's worker, the tests run
their own medrin-worker processes (ExtraWorker), each logging to
$MEDRIN_STATE_DIR/log/worker-test-*.log and reporting READY=1 on a private
NOTIFY_SOCKET once its first pass over the queue is done.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import uuid

import harness
from harness import psql, wait_for_mail, wait_until

TEST_SLEEP_LEASE = 3  # worker/main.c kind_table: {"test_sleep", 3, 3}
TEST_SLEEP_MAX_ATTEMPTS = 3


def sql_json(obj):
    text = json.dumps(obj)
    assert "$j$" not in text
    return "$j$%s$j$::jsonb" % text


def insert_task(kind, payload):
    """INSERT + NOTIFY in one statement, like tasks_enqueue; returns the id."""
    rows = psql("WITH t AS (INSERT INTO tasks (kind, payload) VALUES ('%s', %s) RETURNING id) "
                "SELECT t.id, pg_notify('medrin_tasks', '%s') FROM t"
                % (kind, sql_json(payload), kind))
    return rows[0][0]


def task_row(task_id):
    """The row, with locked_until as epoch seconds and the lease left (both None when
    NULL), as the database sees it."""
    rows = psql("SELECT status, attempts, max_attempts, "
                "coalesce(EXTRACT(EPOCH FROM locked_until)::text, ''), "
                "coalesce(EXTRACT(EPOCH FROM locked_until - now())::text, ''), "
                "coalesce(result::text, ''), coalesce(error, '') "
                "FROM tasks WHERE id = '%s'" % task_id)
    if not rows:
        return None
    status, attempts, max_attempts, locked, left, result, error = rows[0]
    return {"status": status, "attempts": int(attempts), "max_attempts": int(max_attempts),
            "locked_until": float(locked) if locked else None,
            "lease_left": float(left) if left else None,
            "result": json.loads(result) if result else None, "error": error}


def wait_row(task_id, pred, timeout, what):
    return wait_until(lambda: (lambda r: r if r is not None and pred(r) else None)(
        task_row(task_id)), timeout, interval=0.1,
        message="task %s never %s (now %r)" % (task_id, what, task_row(task_id)))


def log_files():
    return sorted(glob.glob(os.path.join(harness.state_dir(), "log", "worker*.log")))


def log_lines(needle):
    """Lines of every worker log (the stack's and the tests') containing needle."""
    out = []
    for path in log_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            out.extend(line for line in f if needle in line)
    return out


def starts_of(task_id):
    return [line for line in log_lines("task %s (" % task_id) if "started" in line]


class ExtraWorker:
    """One more medrin-worker of the stack's build and settings, started by a test."""

    def __init__(self, tag, **overrides):
        self.dir = tempfile.mkdtemp(prefix="medrin-w-")
        self.sock_path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        state = harness.state_dir()
        os.makedirs(os.path.join(state, "san"), exist_ok=True)
        os.makedirs(os.path.join(state, "log"), exist_ok=True)
        self.log_path = os.path.join(state, "log", "worker-test-%s-%s.log"
                                     % (tag, uuid.uuid4().hex[:6]))
        env = harness.child_env(NOTIFY_SOCKET=self.sock_path, **overrides)
        # Sanitizer reports land where script/test looks for them (ignored otherwise).
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:log_path=%s/san/asan:abort_on_error=0"
                       % state)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:log_path=%s/san/ubsan"
                       % state)
        exe = harness.build_path("worker", "medrin-worker")
        if not os.access(exe, os.X_OK):
            raise harness.HarnessError("%s is not built" % exe)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([exe], env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=30):
        """Waits for READY=1 (sent after the worker's first pass over the queue)."""
        self.sock.settimeout(0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("medrin-worker %d exited %s before READY=1 (log %s)"
                                     % (self.pid, self.proc.returncode, self.log_path))
            try:
                if b"READY=1" in self.sock.recv(4096):
                    return
            except socket.timeout:
                pass
        raise AssertionError("medrin-worker %d sent no READY=1 within %ds (log %s)"
                             % (self.pid, timeout, self.log_path))

    def kill(self):
        harness.signal_pid(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        """SIGTERM; returns the exit status (0: clean, LeakSanitizer included)."""
        if self.proc.poll() is None:
            harness.signal_pid(self.pid, signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def close(self):
        if self.proc.poll() is None:
            self.kill()
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class TasksTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_test_routes()
        if not harness.pid_alive(harness.read_pid("worker")):
            raise harness.HarnessError("medrin-worker is not running (script/server start worker)")

    def extra_worker(self, tag, **overrides):
        w = ExtraWorker(tag, **overrides)
        self.addCleanup(w.close)
        return w

    def stop_stack_worker(self):
        harness.service("stop", "worker")
        self.addCleanup(harness.service, "start", "worker")

    def forget(self, task_id):
        self.addCleanup(psql, "DELETE FROM tasks WHERE id = '%s'" % task_id)


class HeartbeatTest(TasksTestCase):
    def test_long_task_is_kept_by_its_heartbeat_and_run_once(self):
        """Two workers; a task running for more than three of its leases is never taken
        over by the idle one, which keeps serving other tasks meanwhile."""
        other = self.extra_worker("second")
        other.wait_ready()
        ms = 10000
        self.assertGreater(ms, 3 * TEST_SLEEP_LEASE * 1000)
        tid = insert_task("test_sleep", {"ms": ms})
        self.forget(tid)
        first = wait_row(tid, lambda r: r["status"] == "running", 30, "started running")
        # The kind's lease and attempts, not the 60 s default or the column's 8.
        self.assertEqual(first["attempts"], 1)
        self.assertEqual(first["max_attempts"], TEST_SLEEP_MAX_ATTEMPTS)
        self.assertLess(first["lease_left"], 10)

        # While it runs the idle worker claims and delivers other work.
        marker = "tasks-marker-%s@example.com" % uuid.uuid4().hex[:12]
        insert_task("mail", {"to": marker, "subject": "marker", "body": "x"})
        wait_for_mail(marker, timeout=30)

        seen, running = set(), []

        def finished():
            r = task_row(tid)
            if r["status"] == "running":
                running.append(r)
                seen.add(r["locked_until"])
                return None
            return r

        row = wait_until(finished, 60, interval=0.2,
                         message="test_sleep task %s did not finish" % tid)
        # Never taken over while its heartbeat ran, and always on the kind's short lease.
        self.assertEqual({r["attempts"] for r in running}, {1})
        self.assertLess(max(r["lease_left"] for r in running), 10)
        self.assertEqual(row["status"], "succeeded", row)
        self.assertEqual(row["attempts"], 1)
        self.assertIn(row["result"]["pid"], (harness.read_pid("worker"), other.pid))
        self.assertGreaterEqual(row["result"]["slept_ms"], ms)
        # The lease moved on while it ran, well past the end of the first one.
        seen.add(first["locked_until"])
        self.assertGreaterEqual(len(seen), 3, sorted(seen))
        self.assertGreater(max(seen), first["locked_until"] + TEST_SLEEP_LEASE)
        # Exactly one run, across both workers' logs.
        self.assertEqual(len(starts_of(tid)), 1, starts_of(tid))
        self.assertEqual(other.stop(), 0)

    def test_lost_claim_records_no_outcome(self):
        """When a renewal finds the task is no longer this claim's, the worker stops the
        task and records nothing: the row stays as the new claim left it."""
        tid = insert_task("test_sleep", {"ms": 30000})
        self.forget(tid)
        wait_row(tid, lambda r: r["status"] == "running", 30, "started running")
        # What another worker's claim does to the row once the lease ran out.
        psql("UPDATE tasks SET attempts = attempts + 1, locked_until = now() + "
             "interval '1 hour' WHERE id = '%s' AND attempts = 1" % tid)
        needle = "task %s (test_sleep) attempt 1: lease lost while running" % tid
        # Bound well under the 30 s sleep: the task gave up early.
        wait_until(lambda: log_lines(needle), 20, interval=0.2,
                   message="no worker logged the lost lease of %s" % tid)
        row = task_row(tid)
        self.assertEqual((row["status"], row["attempts"]), ("running", 2))
        self.assertIsNone(row["result"])
        self.assertEqual(row["error"], "")


class TakeoverTest(TasksTestCase):
    def test_task_of_a_killed_worker_is_taken_over_after_its_lease(self):
        self.stop_stack_worker()
        victim = self.extra_worker("victim")
        victim.wait_ready()
        tid = insert_task("test_sleep", {"ms": 30000})
        self.forget(tid)
        first = wait_row(tid, lambda r: r["status"] == "running", 30, "started running")
        # Its heartbeat ran: the kill, not a missing renewal, is what lets it go.
        wait_row(tid, lambda r: r["locked_until"] > first["locked_until"], 30,
                 "had its lease renewed")
        victim.kill()
        # Nobody renews now. Make the second run short (the payload is the test's own).
        psql("UPDATE tasks SET payload = '{\"ms\": 100}' WHERE id = '%s'" % tid)
        dead = task_row(tid)
        self.assertEqual((dead["status"], dead["attempts"]), ("running", 1))

        successor = self.extra_worker("successor")
        row = wait_row(tid, lambda r: r["status"] == "succeeded", 60, "succeeded")
        self.assertEqual(row["attempts"], 2)
        self.assertEqual(row["result"]["pid"], successor.pid)
        self.assertEqual(row["result"]["attempt"], 2)
        # Claimed only once the dead worker's lease was over (1 s slack for rounding).
        self.assertGreaterEqual(row["result"]["started_ms"] / 1000.0,
                                dead["locked_until"] - 1.0)
        starts = starts_of(tid)
        self.assertEqual(len(starts), 2, starts)
        self.assertEqual(successor.stop(), 0)

    def test_test_kind_is_unknown_without_test_routes(self):
        """test_sleep is only in the table with MEDRIN_TEST_ROUTES=1 (which production
        refuses); otherwise it is an unknown kind and fails for good."""
        self.stop_stack_worker()
        tid = insert_task("test_sleep", {"ms": 10})
        self.forget(tid)
        p = subprocess.run([harness.build_path("worker", "medrin-worker"), "--once"],
                           env=harness.child_env(MEDRIN_TEST_ROUTES="0"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace")[-2000:])
        row = task_row(tid)
        self.assertEqual((row["status"], row["attempts"]), ("failed", 1))
        self.assertIn("unknown task kind", row["error"])


if __name__ == "__main__":
    unittest.main()
