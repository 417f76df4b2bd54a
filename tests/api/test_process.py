"""The FastCGI process model (architecture.md "Process model"): respawn, graceful stop,
reload, recycling. Pids come from $STATE/pids/fcgi-N.pid (masters) and /proc (workers).
Signals go only to pids these tests looked up themselves."""

import os
import signal
import threading
import unittest

import harness
from harness import assert_json, call, children, master_pid, wait_until
from test_auth import PASSWORD, post, register, remember_tokens

# System calls a worker sits in while /_test/sleep runs (nanosleep, clock_nanosleep).
SLEEP_SYSCALLS = {"x86_64": {35, 230}, "aarch64": {101, 115}}.get(os.uname().machine, set())


def pools():
    return list(range(1, harness.pool_count() + 1))


def all_workers():
    out = set()
    for i in pools():
        m = master_pid(i)
        if m:
            out.update(children(m))
    return out


def ensure_pools_up():
    """Cleanup: whatever a test did, leave every pool answering."""
    if not all(harness.pid_alive(master_pid(i)) for i in pools()):
        harness.service("start", "fcgi", check=False)
    for base in harness.pool_urls():
        wait_until(lambda: harness.healthy(base), 30, 0.1, "%s did not come back" % base)


class ProcessTest(unittest.TestCase):
    def setUp(self):
        for i in pools():
            m = master_pid(i)
            self.assertTrue(harness.pid_alive(m), "pool %d master not running" % i)
            wait_until(lambda: children(m), 10, 0.05, "pool %d has no workers" % i)
        self.addCleanup(ensure_pools_up)

    def test_killed_worker_is_replaced(self):
        base = harness.pool_urls()[0]
        master = master_pid(1)
        before = children(master)
        victim = before[0]
        with harness.RequestLoop(base=base, threads=2) as loop:
            wait_until(lambda: loop.count() >= 5, 10)
            os.kill(victim, signal.SIGKILL)

            def replaced():
                now = children(master)
                return (victim not in now and len(now) == len(before)
                        and set(now) - set(before))

            wait_until(replaced, 15, 0.05, "worker %d was not replaced" % victim)
            seen = loop.count()
            wait_until(lambda: loop.count() >= seen + 20, 20)
        # Only the request the killed worker held may fail.
        self.assertLessEqual(len(loop.failures()), 1, loop.failures())
        self.assertEqual(master_pid(1), master)
        self.assertTrue(harness.pid_alive(master))
        self.assertTrue(harness.healthy(base))

    def test_sigterm_finishes_in_flight_requests(self):
        harness.require_test_routes()
        pool = harness.pool_count()  # the last pool: MEDRIN_URL keeps its others
        base = harness.pool_urls()[pool - 1]
        master = master_pid(pool)
        workers = children(master)
        # More requests than workers would wait in the listen queue, and a stopping pool
        # accepts nothing new: those would rightly fail.
        n = min(8, len(workers))
        # In flight = every worker is inside the sleep, seen in /proc/PID/syscall. Without
        # that we could only guess with a fixed sleep, which this suite does not do.
        if not SLEEP_SYSCALLS or harness.current_syscall(workers[0]) is None:
            self.skipTest("cannot see which system call a worker is in")
        results = [None] * n
        go = threading.Barrier(n + 1)

        def one(i):
            try:
                go.wait(10)
            except threading.BrokenBarrierError:
                pass
            try:
                results[i] = call("GET", "/api/v1/_test/sleep?ms=1500", base=base,
                                  timeout=30).status
            except Exception as e:  # noqa: BLE001 - recorded
                results[i] = repr(e)

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        go.wait(10)
        wait_until(lambda: sum(harness.current_syscall(w) in SLEEP_SYSCALLS
                               for w in workers) >= n, 10, 0.005,
                   "the %d requests did not all reach a worker's sleep" % n)
        os.kill(master, signal.SIGTERM)
        for t in threads:
            t.join(40)
        self.assertEqual(results, [200] * n)
        wait_until(lambda: not harness.pid_alive(master), 40, 0.05,
                   "pool %d master did not exit after SIGTERM" % pool)
        for w in workers:
            self.assertFalse(harness.pid_alive(w), "worker %d outlived its master" % w)
        stopped = call("GET", "/health", base=base)
        harness.service("start", "fcgi")
        wait_until(lambda: harness.healthy(base), 30, 0.1, "pool %d did not restart" % pool)
        self.assertNotEqual(master_pid(pool), master)
        # The stopped pool accepted nothing: nginx answered a problem whose "status"
        # matches the status line.
        self.assertIn(stopped.status, (502, 503), stopped)
        harness.assert_problem(stopped, stopped.status)

    def test_sighup_reloads_without_failing_requests(self):
        masters = [master_pid(i) for i in pools()]
        old = all_workers()
        self.assertTrue(old)
        with harness.RequestLoop(threads=2) as loop:
            wait_until(lambda: loop.count() >= 10, 10)
            for m in masters:
                os.kill(m, signal.SIGHUP)
            wait_until(lambda: all_workers() and not (all_workers() & old), 20, 0.05,
                       "old workers still there after SIGHUP")
            # Load on the new generation alone, counted in requests rather than seconds.
            seen = loop.count()
            wait_until(lambda: loop.count() >= seen + 30, 20)
        self.assertEqual(loop.failures(), [], "requests failed during reload")
        self.assertGreater(len(loop.results), 30)
        self.assertEqual([master_pid(i) for i in pools()], masters)
        for i in pools():
            self.assertTrue(children(master_pid(i)), "pool %d has no workers" % i)

    def test_sighup_applies_the_new_configuration(self):
        """SIGHUP re-reads the pool's MEDRIN_ENV_FILE: LOGIN_OTP=required written into pool
        2's file turns the login OTP step on in that pool only (config-level "required",
        not the user's own switch); writing it back turns it off again."""
        urls = harness.pool_urls()
        self.assertGreaterEqual(len(urls), 2, "the test stack runs two pools")
        envfile = os.path.join(harness.state_dir(), "fcgi-2.env")
        self.assertTrue(os.path.exists(envfile), envfile)
        email, _ = register()

        def reload(content):
            master = master_pid(2)
            old = set(children(master))
            with open(envfile, "w") as f:
                f.write(content)
            os.kill(master, signal.SIGHUP)
            wait_until(lambda: children(master) and not (set(children(master)) & old), 20,
                       0.05, "pool 2 did not replace its workers after SIGHUP")

        creds = {"email": email, "password": PASSWORD}
        try:
            reload("# written by test_process\nLOGIN_OTP=required\n")
            r = post("/auth/login", creds, base=urls[1])
            self.assertEqual(assert_json(r, 202)["message"], "Login OTP sent successfully")
            remember_tokens(assert_json(post("/auth/login", creds, base=urls[0]), 200))
        finally:
            reload("LOGIN_OTP=optional\n")
        remember_tokens(assert_json(post("/auth/login", creds, base=urls[1]), 200))

    def test_workers_recycled_after_max_requests(self):
        try:
            max_requests = int(harness.env_get("MEDRIN_MAX_REQUESTS", "0") or 0)
        except ValueError:
            max_requests = 0
        if max_requests <= 0:
            self.skipTest("MEDRIN_MAX_REQUESTS is not set")
        base = harness.pool_urls()[0]
        master = master_pid(1)
        before = set(children(master))
        # If no worker were recycled, one of them would have served more than allowed.
        total = len(before) * (max_requests + 1) + 1
        if total > 1500:
            self.skipTest("MEDRIN_MAX_REQUESTS=%d too large to reach quickly" % max_requests)
        failures = []
        for _ in range(total):
            r = call("GET", "/health", base=base)
            if r.status != 200:
                failures.append(r.status)
        self.assertEqual(failures, [])
        wait_until(lambda: set(children(master)) - before, 10, 0.05, "no worker recycled")
        self.assertEqual(master_pid(1), master)
        wait_until(lambda: len(children(master)) == len(before), 10, 0.05)


if __name__ == "__main__":
    unittest.main()
