"""Operations endpoints (api.md "Operations") and what nginx adds to every response."""

import json
import os
import re
import socket
import ssl
import unittest

import harness
from harness import assert_json, assert_problem, call, wait_until


def metric_samples(text):
    """Prometheus text -> (families {name: type}, samples [(name, labels str, value)])."""
    families, samples = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                families[parts[2]] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            try:
                value = float(m.group(3))
            except ValueError:
                continue
            samples.append((m.group(1), m.group(2) or "", value))
    return families, samples


def family_of(sample_name, families):
    for suffix in ("_total", "_count", "_sum", "_bucket", "_created"):
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in families:
            return sample_name[: -len(suffix)]
    return sample_name


def request_total(text):
    """Sum of every sample of counter families named like requests (not latency
    histograms): the total number of requests the pool has counted."""
    families, samples = metric_samples(text)
    total, seen = 0.0, False
    for name, _labels, value in samples:
        fam = family_of(name, families)
        if families.get(fam) == "counter" and "request" in fam:
            total += value
            seen = True
    if not seen:
        raise AssertionError("no counter family with 'request' in its name:\n" + text[:2000])
    return total


def metrics_base():
    """The first pool's own URL: the counters live in one pool's shared page, so requests
    and the scrape must reach the same pool."""
    return harness.pool_urls()[0]


class HealthTest(unittest.TestCase):
    def test_health_is_200_ok_json(self):
        r = call("GET", "/api/v1/health")
        self.assertEqual(assert_json(r, 200), {"status": "ok"})

    def test_health_through_every_pool(self):
        for i, base in enumerate(harness.pool_urls(), 1):
            with self.subTest(pool=i):
                self.assertEqual(assert_json(call("GET", "/health", base=base), 200),
                                 {"status": "ok"})

    def test_ready_is_200_with_both_ok(self):
        r = call("GET", "/api/v1/ready")
        body = assert_json(r, 200)
        text = json.dumps(body).lower()
        self.assertIn("postgres", text, body)
        self.assertIn("redis", text, body)
        self.assertNotIn("fail", text, body)


class SecurityHeadersTest(unittest.TestCase):
    def check_headers(self, r):
        h = r.headers
        self.assertEqual((h.get("x-content-type-options") or "").lower(), "nosniff", r)
        frame = (h.get("x-frame-options") or "").upper()
        csp = h.get("content-security-policy") or ""
        self.assertTrue(frame in ("DENY", "SAMEORIGIN") or "frame-ancestors" in csp,
                        "no X-Frame-Options nor CSP frame-ancestors: %r" % r)
        self.assertTrue(h.get("referrer-policy"), "Referrer-Policy missing: %r" % r)

    def test_security_headers_on_success(self):
        self.check_headers(call("GET", "/health"))

    def test_security_headers_on_errors_too(self):
        # nginx's add_header skips 4xx/5xx unless "always" is given.
        r = call("GET", "/api/v1/no-such-route-for-headers")
        self.assertEqual(r.status, 404, r)
        self.check_headers(r)

    def test_server_header_hides_version(self):
        server = call("GET", "/health").headers.get("server") or ""
        self.assertNotRegex(server, r"\d", "Server header reveals a version: %r" % server)

    def test_request_id_header(self):
        a, b = call("GET", "/health"), call("GET", "/health")
        rid_a, rid_b = a.headers.get("x-request-id"), b.headers.get("x-request-id")
        self.assertTrue(rid_a and rid_b, "X-Request-Id missing: %r %r" % (a, b))
        self.assertNotEqual(rid_a, rid_b, "two requests got the same request id")
        self.assertRegex(rid_a, r"^[A-Za-z0-9._-]{8,128}$")


class MetricsTest(unittest.TestCase):
    def scrape(self):
        r = call("GET", "/api/v1/metrics", base=metrics_base())
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith("text/plain"), r)
        return r.text

    def test_metrics_is_prometheus_text(self):
        text = self.scrape()
        self.assertRegex(text, r"(?m)^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$")
        self.assertRegex(text, r"(?m)^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
                               r"(counter|gauge|histogram|summary|untyped)$")
        families, samples = metric_samples(text)
        self.assertTrue(samples, "no samples")
        self.assertIn("histogram", families.values(), "no latency histogram")
        for name, _labels, _value in samples:
            self.assertIn(family_of(name, families), families,
                          "sample %s has no # TYPE line" % name)

    def test_request_counters_increase(self):
        before = request_total(self.scrape())
        for _ in range(5):
            self.assertEqual(call("GET", "/health", base=metrics_base()).status, 200)
        after = request_total(self.scrape())
        # 5 health requests + the first scrape itself, at least.
        self.assertGreaterEqual(after - before, 5, (before, after))

    def test_counters_have_route_and_status_labels(self):
        call("GET", "/health", base=metrics_base())
        families, samples = metric_samples(self.scrape())
        labelled = [(n, l) for n, l, _ in samples
                    if "request" in family_of(n, families) and "status" in l]
        self.assertTrue(labelled, "no request sample labelled with a status")
        self.assertTrue(any("200" in l for _, l in labelled))
        self.assertTrue(any("health" in l for _, l in labelled),
                        "no request sample labelled with the health route")

    def test_pool_size_gauge(self):
        families, samples = metric_samples(self.scrape())
        gauges = [(n, l, v) for n, l, v in samples
                  if families.get(family_of(n, families)) == "gauge"
                  and ("pool" in n or "worker" in n)]
        self.assertTrue(gauges, "no pool/worker gauge")
        self.assertTrue(any(v >= 1 for _, _, v in gauges), gauges)

    def test_metrics_forbidden_from_other_addresses(self):
        """nginx serves /metrics to 127.0.0.1 only: the same request from another source
        address (127.0.0.2 reaches the same loopback listener) gets 403."""
        port = harness._split_base(harness.base_url())[2]
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=5,
                                       source_address=("127.0.0.2", 0))
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /api/v1/metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            head = s.recv(4096).decode("latin-1")
        self.assertRegex(head, r"^HTTP/1\.1 403 ", head[:200])
        # ...while the same path from 127.0.0.1 works (the allow rule is real, not a typo).
        self.assertEqual(call("GET", "/api/v1/metrics").status, 200)

class MailboxTest(unittest.TestCase):
    def test_mail_catcher_lists_messages(self):
        if not harness.env_get("MEDRIN_MAILBOX_URL"):
            self.skipTest("no MEDRIN_MAILBOX_URL")
        msgs = harness.mail_messages()
        self.assertIsInstance(msgs, list)


class DependencyDownTest(unittest.TestCase):
    """Stopping Redis / PostgreSQL makes /ready 503; starting them again recovers without
    restarting the pool."""

    def bounce(self, service, words):
        if not harness.read_pid(service):
            self.skipTest("%s is not a private service of this stack" % service)
        masters = [harness.master_pid(i) for i in range(1, harness.pool_count() + 1)]
        self.assertTrue(all(masters), "pool pid files missing: %r" % masters)
        self.assertTrue(harness.ready(), "stack not ready before the test")
        self.addCleanup(lambda: harness.service("start", service, check=False))
        harness.service("stop", service)
        try:
            r = call("GET", "/ready")
            p = assert_problem(r, 503)
            text = json.dumps(p).lower()
            self.assertTrue(any(w in text for w in words),
                            "503 does not name %s: %r" % (service, p))
            # Other endpoints that need no dependency keep answering.
            self.assertEqual(call("GET", "/health").status, 200)
        finally:
            harness.service("start", service)
        wait_until(harness.ready, 30, 0.2, "/ready did not recover after %s came back" % service)
        # Every pool recovers (each has its own connections).
        for base in harness.pool_urls():
            wait_until(lambda: harness.ready(base), 30, 0.2, "%s not ready" % base)
        after = [harness.master_pid(i) for i in range(1, harness.pool_count() + 1)]
        self.assertEqual(masters, after, "pool masters were restarted")
        for m in after:
            self.assertTrue(harness.pid_alive(m))

    def test_redis_down_then_up(self):
        self.bounce("redis", ["redis"])

    def test_postgres_down_then_up(self):
        self.bounce("postgres", ["postgres", "database"])


if __name__ == "__main__":
    unittest.main()
