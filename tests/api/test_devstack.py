"""The dev stack's papercuts (issue 13), each as the newcomer met it, through the commands a
user types: script/server, medrinctl, medrin-fcgi, medrin-worker, `. $STATE/env`.

- `. $STATE/env` (what script/server prints) exports the settings: medrinctl config check
  afterwards sees the stack's MEDRIN_ENV and database, not production defaults.
- A bad setting on `restart fcgi` refuses within seconds, prints the error first, stops
  nothing (the masters keep their pids, the API keeps answering) and leaves $STATE/env
  alone; the same for MEDRIN_ENV=production, whose values never reach the env file.
- A setting given once sticks for later commands on the same state dir; the environment
  wins over it; the env file reflects what the programs got.
- Redis keeps sessions across `script/server stop redis && script/server start redis`.
- Tests refuse to stop services of a stack that is not a test stack (harness.service).
- `fcgi-N` works as a service name; an unknown command or service says so, exit 2.
- medrin-fcgi and medrin-worker exit 2 on a configuration error.
- A second stack on taken ports refuses before starting anything (no PostgreSQL left
  running) and its hint names MEDRIN_PORTS=auto and MEDRIN_STATE_DIR.
- medrinctl --env-file overrides the environment and MEDRIN_ENV_FILE, as its help says.
- A key deleted from a pool's env file reverts to its default on SIGHUP.
- The README says MEDRIN_PORTS=auto and that every command needs the same MEDRIN_STATE_DIR.
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import call
from test_auth import bearer, register

SERVER = os.path.join(harness.ROOT, "script", "server")


def bare_env(**extra):
    """A user's shell: PATH and HOME, the state dir, nothing of the stack's settings."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
         "MEDRIN_STATE_DIR": harness.state_dir()}
    for k, v in extra.items():
        if v is not None:
            e[k] = v
    return e


def server(*args, env=None, timeout=120):
    return subprocess.run([SERVER] + list(args), env=env or bare_env(), cwd=harness.ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def read(path):
    with open(path) as f:
        return f.read()


def env_file():
    return os.path.join(harness.state_dir(), "env")


class EnvFile(unittest.TestCase):
    def test_sourcing_the_printed_command_exports_the_settings(self):
        ctl = harness.build_path("cli", "medrinctl")
        p = subprocess.run(["bash", "-c", '. "$1/env" && exec "$2" config check', "sh",
                            harness.state_dir(), ctl], env=bare_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^MEDRIN_ENV=%s$" % harness.env_get("MEDRIN_ENV"))
        self.assertIn(harness.state_dir(), p.stdout)  # the private database and Redis
        for line in read(env_file()).splitlines():
            if line and not line.startswith("#"):
                self.assertTrue(line.startswith("export "), line)


class BadSettings(unittest.TestCase):
    def setUp(self):
        self.env_before = read(env_file())
        self.masters = [harness.master_pid(n) for n in range(1, harness.pool_count() + 1)]

    def assert_nothing_changed(self):
        self.assertEqual([harness.master_pid(n) for n in range(1, harness.pool_count() + 1)],
                         self.masters, "a pool was restarted")
        for pid in self.masters:
            self.assertTrue(harness.pid_alive(pid))
        self.assertEqual(read(env_file()), self.env_before, "the env file was rewritten")
        self.assertEqual(call("GET", "/health").status, 200)

    def test_invalid_workers_refused_before_stopping(self):
        t0 = time.monotonic()
        p = server("restart", "fcgi", env=bare_env(MEDRIN_WORKERS="abc"))
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertLess(took, 10, "refusing took %.1fs" % took)  # generous; it is ~0.3 s
        lines = p.stderr.splitlines()
        self.assertTrue(lines[0].startswith("error: the configuration is refused"), p.stderr)
        self.assertIn("MEDRIN_WORKERS", p.stderr)
        self.assertLess(len(lines), 6, "the error is buried: " + p.stderr)
        self.assertNotIn("stopped", p.stdout)
        self.assert_nothing_changed()

    def test_production_values_never_reach_the_env_file(self):
        p = server("restart", "fcgi", env=bare_env(MEDRIN_ENV="production"))
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("MEDRIN_TEST_ROUTES", p.stderr)
        self.assertNotIn("production", read(env_file()))
        self.assert_nothing_changed()


class StickySettings(unittest.TestCase):
    def setUp(self):
        self.saved = read(env_file())
        self.addCleanup(self.restore)

    def restore(self):
        with open(env_file() + ".tmp", "w") as f:
            f.write(self.saved)
        os.chmod(env_file() + ".tmp", 0o600)
        os.replace(env_file() + ".tmp", env_file())

    def poll_seconds(self):
        for line in read(env_file()).splitlines():
            if line.startswith("export MEDRIN_WORKER_POLL_SECONDS="):
                return line.split("=", 1)[1]
        return None

    def test_a_setting_sticks_and_the_environment_wins(self):
        # `start nginx` on a running stack changes no process, but computes and writes env
        p = server("start", "nginx", env=bare_env(MEDRIN_WORKER_POLL_SECONDS="7"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.poll_seconds(), "7")
        p = server("start", "nginx")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.poll_seconds(), "7", "the setting did not stick")
        # every other setting of the stack stuck as well
        kept = [l for l in read(env_file()).splitlines() if "WORKER_POLL" not in l]
        self.assertEqual(kept, [l for l in self.saved.splitlines() if "WORKER_POLL" not in l])
        p = server("start", "nginx", env=bare_env(MEDRIN_WORKER_POLL_SECONDS="9"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.poll_seconds(), "9", "the environment did not win")


class RedisPersistence(unittest.TestCase):
    def test_sessions_survive_a_redis_restart(self):
        _, tokens = register()
        self.assertEqual(call("GET", "/auth/me", headers=bearer(tokens["access_token"])).status,
                         200)
        self.addCleanup(lambda: harness.service("start", "redis", check=False))
        harness.service("stop", "redis")
        harness.service("start", "redis")
        harness.wait_until(lambda: harness.ready(), 30, 0.2, "not ready after redis start")
        r = call("GET", "/auth/me", headers=bearer(tokens["access_token"]))
        self.assertEqual(r.status, 200, "signed out by a Redis restart: " + r.text)
        r = call("POST", "/auth/refresh", body={"refresh_token": tokens["refresh_token"]})
        self.assertEqual(r.status, 200, r.text)
        conf = read(os.path.join(harness.state_dir(), "redis.conf"))
        self.assertRegex(conf, r"(?m)^appendonly yes$")
        self.assertRegex(conf, r"(?m)^maxmemory-policy noeviction$")


class DisruptionGuard(unittest.TestCase):
    def test_services_of_a_non_test_stack_are_not_stopped(self):
        d = tempfile.mkdtemp(prefix="medrin-devstack-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(d, "env"), "w") as f:
            f.write("export MEDRIN_ENV=development\nexport MEDRIN_URL=https://localhost:1\n")
        code = ("import harness, sys\n"
                "try:\n    harness.service('stop', 'redis')\n"
                "except harness.HarnessError as e:\n    print(e); sys.exit(3)\n")
        e = bare_env(MEDRIN_STATE_DIR=d, PYTHONPATH=os.path.join(harness.ROOT, "tests", "api"))
        p = subprocess.run(["python3", "-c", code], env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("MEDRIN_TEST_DISRUPT=1", p.stdout)
        self.assertEqual(sorted(os.listdir(d)), ["env"], "script/server was run")


class Names(unittest.TestCase):
    def test_unknown_command_and_service(self):
        p = server("strat")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.splitlines()[0], "error: unknown command: strat")
        p = server("start", "nosuch")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.splitlines()[0], "error: unknown service: nosuch")
        p = server("start", "fcgi-9")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("fcgi-9", p.stderr)

    def test_a_pool_by_the_name_status_shows(self):
        if harness.pool_count() < 2:
            self.fail("needs two pools")
        p = server("status", "fcgi")
        self.assertIn("fcgi-2", p.stdout)
        one, two = harness.master_pid(1), harness.master_pid(2)
        p = server("restart", "fcgi-2")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(harness.master_pid(1), one, "pool 1 was restarted too")
        self.assertNotEqual(harness.master_pid(2), two, "pool 2 was not restarted")
        self.assertTrue(harness.healthy(harness.pool_urls()[1]))
        p = server("status", "fcgi-2")
        self.assertIn("fcgi-2", p.stdout)
        self.assertIn("running", p.stdout)


class ExitCodes(unittest.TestCase):
    def test_configuration_error_is_exit_2_for_both_programs(self):
        for prog in (("fcgi", "medrin-fcgi"), ("worker", "medrin-worker")):
            with self.subTest(prog=prog[1]):
                exe = harness.build_path(*prog)
                p = subprocess.run([exe], env=harness.child_env(MEDRIN_WORKERS="abc",
                                                                MEDRIN_ENV_FILE=None),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   timeout=60)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("MEDRIN_WORKERS", p.stderr)


class SecondStack(unittest.TestCase):
    def test_taken_ports_refused_before_anything_starts(self):
        d = tempfile.mkdtemp(prefix="medrin-second-")
        os.chmod(d, 0o755)
        self.addCleanup(shutil.rmtree, d, True)
        taken = harness.base_url().rsplit(":", 1)[1]
        e = bare_env(MEDRIN_STATE_DIR=d, MEDRIN_HTTPS_PORT=taken, MEDRIN_SKIP_BOOTSTRAP="1",
                     MEDRIN_BUILD_DIR=harness.env_get("MEDRIN_BUILD_DIR"), MEDRIN_ENV="test")
        self.addCleanup(lambda: server("stop", env=e))
        t0 = time.monotonic()
        p = server("start", env=e)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertLess(time.monotonic() - t0, 30)
        self.assertIn(taken, p.stderr)
        self.assertIn("MEDRIN_PORTS=auto", p.stderr)
        self.assertIn("MEDRIN_STATE_DIR", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "pg", "data", "postmaster.pid")),
                         "its PostgreSQL was started")
        self.assertFalse(os.path.exists(os.path.join(d, "pids", "redis.pid")))
        self.assertEqual(call("GET", "/health").status, 200)


class MedrinctlEnvFile(unittest.TestCase):
    def level(self, *args, **env):
        p = harness.medrinctl(*args, "config", "check", **env)
        self.assertEqual(p.returncode, 0, p.stderr)
        for line in p.stdout.splitlines():
            if line.startswith("MEDRIN_LOG_LEVEL="):
                return line.split("=", 1)[1]
        self.fail("no MEDRIN_LOG_LEVEL line")

    def test_precedence_is_what_the_help_says(self):
        d = tempfile.mkdtemp(prefix="medrin-envfile-")
        self.addCleanup(shutil.rmtree, d, True)
        f1, f2 = os.path.join(d, "one.env"), os.path.join(d, "two.env")
        with open(f1, "w") as f:
            f.write("MEDRIN_LOG_LEVEL=warn\n")
        with open(f2, "w") as f:
            f.write("MEDRIN_LOG_LEVEL=debug\n")
        self.assertEqual(self.level(MEDRIN_LOG_LEVEL="error", MEDRIN_ENV_FILE=None), "error")
        self.assertEqual(self.level("--env-file", f1, MEDRIN_LOG_LEVEL="error",
                                    MEDRIN_ENV_FILE=None), "warn")
        self.assertEqual(self.level(MEDRIN_LOG_LEVEL="error", MEDRIN_ENV_FILE=f2), "debug")
        self.assertEqual(self.level("--env-file", f1, MEDRIN_LOG_LEVEL="error",
                                    MEDRIN_ENV_FILE=f2), "warn")
        p = harness.medrinctl("--help")
        self.assertIn("override the environment", " ".join(p.stdout.split()))


class ReloadAppliesTheFileWhole(unittest.TestCase):
    def test_deleted_key_reverts_to_its_default(self):
        base = harness.pool_urls()[0]
        old = read(harness.pool_env_file(1))
        self.addCleanup(harness.reload_pool, 1, old)
        origin = "https://front.example.com"

        def acao():
            r = call("GET", "/health", base=base, headers={"Origin": origin})
            return r.headers.get("access-control-allow-origin")

        self.assertIsNone(acao())
        harness.reload_pool(1, old + "\nMEDRIN_CORS_ORIGINS=%s\n" % origin)
        self.assertEqual(acao(), origin)
        harness.reload_pool(1, old)  # the line deleted
        self.assertIsNone(acao(), "a key deleted from the env file kept its value")


class Readme(unittest.TestCase):
    def test_readme_tells_how_to_run_a_second_stack(self):
        text = " ".join(read(os.path.join(harness.ROOT, "README.md")).split())
        for want in ("MEDRIN_PORTS=auto", "same `MEDRIN_STATE_DIR`", "noeviction"):
            self.assertTrue(want in text, "README.md does not say %s" % want)


if __name__ == "__main__":
    unittest.main()
