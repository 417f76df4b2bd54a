"""A stalled dependency costs a 503, never a pinned worker (docs/internals/storage.md).

PostgreSQL (postmaster and every backend) or Redis is stopped with SIGSTOP: the process
is there, its sockets accept, and nothing answers, as with a hung host or a network
partition. The last pool is reconfigured through its env file (MEDRIN_ENV_FILE + SIGHUP,
as in test_process) with a small MEDRIN_DB_IO_TIMEOUT_MS and a statement timeout below
it; then /ready and a request that needs the stalled service must answer 503
problem+json well inside the HTTP client's own timeout, /health keeps answering, and
after SIGCONT everything recovers without restarting the pool. The dev stack reaches
both services over unix sockets, so this is the client-side deadline at work (TCP
keepalives play no part there). Signals go only to pids read from pids/*.pid and their
children; every stopped pid gets SIGCONT in a cleanup."""

import json
import os
import signal
import unittest
import uuid

import harness
from harness import assert_problem, call, children, master_pid, wait_until
from test_auth import PASSWORD

# The pool under test gets these; the stack's own values are written back afterwards.
STALL_SETTINGS = {
    "MEDRIN_DB_IO_TIMEOUT_MS": "1500",
    "MEDRIN_DB_STATEMENT_TIMEOUT_MS": "1000",
    "MEDRIN_DB_CONNECT_TIMEOUT": "2",
    "MEDRIN_REDIS_TIMEOUT_MS": "1000",
}
DEFAULTS = {
    "MEDRIN_DB_IO_TIMEOUT_MS": "10000",
    "MEDRIN_DB_STATEMENT_TIMEOUT_MS": "5000",
    "MEDRIN_DB_CONNECT_TIMEOUT": "3",
    "MEDRIN_REDIS_TIMEOUT_MS": "1000",
}
# A stalled request must be answered well before this (the bounds above add up to a few
# seconds per dependency call); a hang shows up as a socket timeout, i.e. an error.
ANSWER_WITHIN = 20


def stop_process_tree(test, name):
    """SIGSTOPs pids/NAME.pid and its children; registers SIGCONT for each first."""
    pid = harness.read_pid(name)
    if not pid or not harness.pid_alive(pid):
        test.skipTest("%s is not a private service of this stack" % name)
    stopped = []

    def resume():
        for p in stopped:
            try:
                harness.signal_pid(p, signal.SIGCONT)
            except ProcessLookupError:
                pass

    test.addCleanup(resume)
    # The parent first, so it forks no new child that would escape the stop.
    stopped.append(pid)
    harness.signal_pid(pid, signal.SIGSTOP)
    for child in children(pid):
        stopped.append(child)
        harness.signal_pid(child, signal.SIGSTOP)
    return resume


class StallTest(unittest.TestCase):
    def setUp(self):
        self.pool = harness.pool_count()
        self.base = harness.pool_urls()[self.pool - 1]
        self.envfile = os.path.join(harness.state_dir(), "fcgi-%d.env" % self.pool)
        if not os.path.exists(self.envfile):
            self.skipTest("pool %d has no env file (%s)" % (self.pool, self.envfile))
        self.assertTrue(harness.ready(self.base), "pool %d not ready before the test" % self.pool)
        with open(self.envfile) as f:
            original = f.read()
        if original and not original.endswith("\n"):
            original += "\n"
        # setenv in the master outlives a line removed from the file: write the stack's
        # values back explicitly.
        restore = original + "".join(
            "%s=%s\n" % (k, harness.env_get(k, DEFAULTS[k])) for k in STALL_SETTINGS)
        self.addCleanup(self.reload, restore)
        self.reload(original + "# test_stall\n" +
                    "".join("%s=%s\n" % kv for kv in STALL_SETTINGS.items()))
        self.master = master_pid(self.pool)

    def reload(self, content):
        """Writes the pool's env file and SIGHUPs its master; waits for new workers."""
        master = master_pid(self.pool)
        old = set(children(master))
        with open(self.envfile, "w") as f:
            f.write(content)
        harness.signal_pid(master, signal.SIGHUP)
        wait_until(lambda: children(master) and not (set(children(master)) & old), 30, 0.05,
                   "pool %d did not replace its workers after SIGHUP" % self.pool)
        wait_until(lambda: harness.healthy(self.base), 30, 0.1, "pool did not come back")

    def get(self, path):
        return call("GET", path, base=self.base, timeout=ANSWER_WITHIN)

    def post(self, path, body):
        return call("POST", path, body=body, base=self.base, timeout=ANSWER_WITHIN)

    def assert_not_ready(self, words):
        p = assert_problem(self.get("/ready"), 503, "not_ready")
        text = json.dumps(p).lower()
        self.assertTrue(any(w in text for w in words), "503 does not name %s: %r" % (words, p))

    def assert_recovered(self):
        wait_until(lambda: harness.ready(self.base), 30, 0.2,
                   "pool %d not ready after SIGCONT" % self.pool)
        self.assertEqual(master_pid(self.pool), self.master, "the pool master was restarted")
        self.assertTrue(harness.pid_alive(self.master))

    def test_stopped_postgres_costs_503_then_recovers(self):
        # Warm the workers' connections so the stall hits an established session too.
        for _ in range(4):
            self.get("/ready")
        resume = stop_process_tree(self, "postgres")
        # Several in a row: an established connection times out (io timeout), the next
        # reconnects and times out in connect_timeout; none hangs.
        for _ in range(3):
            self.assert_not_ready(["postgres"])
        creds = {"email": "stall-%s@example.com" % uuid.uuid4().hex[:12], "password": PASSWORD}
        assert_problem(self.post("/auth/login", creds), 503, "dependency_unavailable")
        self.assertEqual(self.get("/health").status, 200)
        resume()
        self.assert_recovered()
        # PostgreSQL answers again: an unknown address is a plain 401 now.
        assert_problem(self.post("/auth/login", creds), 401)

    def test_stopped_redis_costs_503_then_recovers(self):
        for _ in range(4):
            self.get("/ready")
        resume = stop_process_tree(self, "redis")
        for _ in range(3):
            self.assert_not_ready(["redis"])
        body = {"email": "stall-%s@example.com" % uuid.uuid4().hex[:12], "password": PASSWORD}
        # Registration checks the OTP limits in Redis before anything else.
        assert_problem(self.post("/auth/register", body), 503, "dependency_unavailable")
        self.assertEqual(self.get("/health").status, 200)
        resume()
        self.assert_recovered()


if __name__ == "__main__":
    unittest.main()
