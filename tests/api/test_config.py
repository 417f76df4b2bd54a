"""Configuration (lib/base/config.h, architecture.md "Configuration"): config check masks
secrets, production refuses placeholder secrets, the README documents every key, and no
secret reaches a log file."""

import os
import re
import secrets
import subprocess
import tempfile
import unittest

import harness
from harness import medrinctl

SECRET_KEYS = ("SECRET_KEY", "JWT_SECRET_KEY")
KEY_LINE = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*=", re.M)


def output(p):
    return (p.stdout or "") + (p.stderr or "")


def strong_secrets():
    return {k: secrets.token_hex(32) for k in SECRET_KEYS}


def production(**overrides):
    """Overrides for a production run with strong secrets and no test routes."""
    o = dict(MEDRIN_ENV="production", MEDRIN_TEST_ROUTES="0")
    o.update(strong_secrets())
    o.update(overrides)
    return o


def config_key_names():
    """The configuration table's names: `medrinctl config keys` if it exists, else the
    NAME=value lines of `medrinctl config check`."""
    p = medrinctl("config", "keys")
    if p.returncode == 0:
        names = [m.group(1) for m in re.finditer(r"(?m)^\s*([A-Z][A-Z0-9_]+)\b", p.stdout)]
        if names:
            return names
    p = medrinctl("config", "check")
    if p.returncode != 0:
        raise AssertionError("medrinctl config check failed: " + output(p))
    return KEY_LINE.findall(p.stdout)


class ConfigCheckTest(unittest.TestCase):
    def test_check_prints_config_with_secrets_masked(self):
        p = medrinctl("config", "check")
        self.assertEqual(p.returncode, 0, output(p))
        names = KEY_LINE.findall(p.stdout)
        for k in ("MEDRIN_ENV", "DATABASE_URL", "REDIS_URL") + SECRET_KEYS:
            self.assertIn(k, names, p.stdout)
        for k in SECRET_KEYS:
            value = harness.env_get(k)
            self.assertTrue(value, "%s missing from the env file" % k)
            self.assertNotIn(value, output(p), "%s printed in clear" % k)
        workers = harness.env_get("MEDRIN_WORKERS")
        if workers:
            self.assertRegex(p.stdout, r"(?m)^\s*MEDRIN_WORKERS\s*=\s*%s\s*$" % workers)

    def test_strong_secrets_masked_in_production_too(self):
        o = production()
        p = medrinctl("config", "check", **o)
        self.assertEqual(p.returncode, 0, output(p))
        for k in SECRET_KEYS:
            self.assertNotIn(o[k], output(p))

    def test_production_refuses_placeholder_secrets(self):
        for key in SECRET_KEYS:
            for bad in ("changeme", "", None):
                with self.subTest(key=key, value=bad):
                    p = medrinctl("config", "check", **production(**{key: bad}))
                    self.assertNotEqual(p.returncode, 0, output(p))
                    self.assertIn(key, output(p))
                    if bad:
                        self.assertNotIn(bad, output(p))

    def test_production_refuses_test_routes(self):
        p = medrinctl("config", "check", **production(MEDRIN_TEST_ROUTES="1"))
        self.assertNotEqual(p.returncode, 0, output(p))
        self.assertIn("MEDRIN_TEST_ROUTES", output(p))

    def test_development_accepts_placeholder(self):
        p = medrinctl("config", "check", MEDRIN_ENV="development", SECRET_KEY="changeme")
        self.assertEqual(p.returncode, 0, output(p))


class ProgramsRefuseTest(unittest.TestCase):
    """medrin-fcgi (and medrin-worker) exit non-zero at start on a placeholder secret."""

    def run_program(self, exe, **overrides):
        tmp = tempfile.mkdtemp(prefix="medrin-cfg-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", tmp]))
        overrides.setdefault("MEDRIN_LISTEN", os.path.join(tmp, "fcgi.sock"))
        overrides.setdefault("MEDRIN_RUN_DIR", tmp)
        overrides.setdefault("NOTIFY_SOCKET", None)
        overrides.setdefault("LISTEN_FDS", None)
        overrides.setdefault("LISTEN_PID", None)
        proc = subprocess.Popen([exe], env=harness.child_env(**overrides),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()  # the one process this test started
            proc.communicate()
            self.fail("%s started with a placeholder secret" % os.path.basename(exe))
        return proc.returncode, out

    def check_refuses(self, exe):
        if not os.access(exe, os.X_OK):
            self.skipTest("%s is not built" % exe)
        for key, bad in (("SECRET_KEY", "changeme"), ("JWT_SECRET_KEY", "")):
            with self.subTest(key=key, value=bad):
                rc, out = self.run_program(exe, **production(**{key: bad}))
                self.assertNotEqual(rc, 0, out)
                self.assertIn(key, out)
                if bad:
                    self.assertNotIn(bad, out)

    def test_fcgi_refuses_placeholder_secret(self):
        self.check_refuses(harness.build_path("fcgi", "medrin-fcgi"))

    def test_worker_refuses_placeholder_secret(self):
        self.check_refuses(harness.build_path("worker", "medrin-worker"))


class ReadmeTest(unittest.TestCase):
    def test_every_key_in_readme_table(self):
        readme = os.path.join(harness.ROOT, "README.md")
        self.assertTrue(os.path.exists(readme), "README.md does not exist yet")
        with open(readme, encoding="utf-8") as f:
            rows = [l for l in f if l.lstrip().startswith("|")]
        documented = set()
        for row in rows:
            cells = [c.strip().strip("`").strip() for c in row.strip().strip("|").split("|")]
            if cells:
                documented.add(cells[0])
        keys = config_key_names()
        self.assertGreater(len(keys), 10, keys)
        missing = [k for k in keys if k not in documented]
        self.assertEqual(missing, [], "keys missing from README.md's configuration table")


class LogsTest(unittest.TestCase):
    def test_no_secret_in_logs(self):
        values = [harness.env_get(k) for k in SECRET_KEYS]
        values = [v for v in values if v and len(v) >= 8]
        if not values:
            self.skipTest("no secret long enough to search for")
        # Make every program log something first.
        harness.call("GET", "/health")
        harness.call("GET", "/api/v1/no-such-route")
        harness.assert_no_secrets_in_logs(values)

    def test_scanner_catches_a_leak_and_ignores_noise(self):
        """The log scan other suites rely on really fails on a leaked code or token, and
        does not fire on the same digits inside a hex request id or a duration."""
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "fcgi-1.log")
            with open(path, "w") as f:
                f.write('{"req":"ab123456cd","usec":123456,"msg":"request"}\n')
                f.write('127.0.0.1 [t] "GET /api/v1/health HTTP/1.1" 200 123456 0.001 - ff123456\n')
            harness.assert_no_secrets_in_logs(["123456"], logdir=d)
            with open(path, "a") as f:
                f.write('{"msg":"verify code 123456 for eyJhbGciOiJIUzI1NiJ9.long-token"}\n')
            with self.assertRaises(AssertionError):
                harness.assert_no_secrets_in_logs(["123456"], logdir=d)
            with self.assertRaises(AssertionError):
                harness.assert_no_secrets_in_logs(["eyJhbGciOiJIUzI1NiJ9.long-token"], logdir=d)


if __name__ == "__main__":
    unittest.main()
