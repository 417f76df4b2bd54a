"""/api/v1/metrics read by a real Prometheus text-format parser (Debian's
python3-prometheus-client, installed by script/bootstrap): request counts by route and
status, the latency histogram, worker restarts, pool size, queue depth and oldest queued
task age per kind, PostgreSQL and Redis errors. Also checks docs/alerts.yml names only
metrics the endpoint exposes."""

import os
import re
import signal
import sys
import unittest

import harness
from harness import call, wait_until

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pyenv's python3 does not see Debian's dist-packages
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scrape(base=None):
    r = call("GET", "/metrics", base=base)
    assert r.status == 200, r
    assert r.content_type.startswith("text/plain"), r.content_type
    # The parser raises on anything that is not valid exposition format.
    fams = {f.name: f for f in text_string_to_metric_families(r.text)}
    return fams


def sample(fams, family, name=None, **labels):
    f = fams.get(family)
    if f is None:
        return None
    for s in f.samples:
        if (name is None or s.name == name) and all(s.labels.get(k) == v
                                                    for k, v in labels.items()):
            return s.value
    return None


class MetricsParseTest(unittest.TestCase):
    def test_families_and_types(self):
        fams = scrape()
        want = {
            "medrin_http_requests": "counter",
            "medrin_http_request_duration_seconds": "histogram",
            "medrin_worker_restarts": "counter",
            "medrin_pool_workers": "gauge",
            "medrin_postgres_errors": "counter",
            "medrin_redis_errors": "counter",
            "medrin_redis_primary_switches": "counter",
            "medrin_queue_up": "gauge",
            "medrin_queue_tasks": "gauge",
            "medrin_queue_oldest_seconds": "gauge",
        }
        for name, typ in want.items():
            self.assertIn(name, fams, sorted(fams))
            self.assertEqual(fams[name].type, typ, name)
        self.assertEqual(sample(fams, "medrin_queue_up"), 1.0)

    def test_requests_by_route_and_status_and_histogram(self):
        base = harness.pool_urls()[0]  # one pool: its own shared counters
        before = scrape(base)
        h0 = sample(before, "medrin_http_requests", route="ops_health", status="200") or 0
        n0 = sample(before, "medrin_http_requests", route="unmatched", status="404") or 0
        c0 = sample(before, "medrin_http_request_duration_seconds",
                    "medrin_http_request_duration_seconds_count")
        for _ in range(3):
            self.assertEqual(call("GET", "/health", base=base).status, 200)
        self.assertEqual(call("GET", "/no-such-route-metrics", base=base).status, 404)
        after = scrape(base)
        self.assertGreaterEqual(
            sample(after, "medrin_http_requests", route="ops_health", status="200"), h0 + 3)
        self.assertGreaterEqual(
            sample(after, "medrin_http_requests", route="unmatched", status="404"), n0 + 1)
        count = sample(after, "medrin_http_request_duration_seconds",
                       "medrin_http_request_duration_seconds_count")
        self.assertGreaterEqual(count, c0 + 4)
        # Buckets are cumulative and +Inf equals the count.
        buckets = [(s.labels["le"], s.value) for s in
                   after["medrin_http_request_duration_seconds"].samples
                   if s.name.endswith("_bucket")]
        values = [v for _, v in buckets]
        self.assertEqual(values, sorted(values))
        self.assertEqual(buckets[-1][0], "+Inf")
        self.assertEqual(buckets[-1][1], count)

    def test_pool_size_and_worker_restarts(self):
        base = harness.pool_urls()[0]
        fams = scrape(base)
        configured = sample(fams, "medrin_pool_workers", state="configured")
        self.assertEqual(configured, len(harness.worker_pids(1)))
        r0 = sample(fams, "medrin_worker_restarts")
        victim = harness.worker_pids(1)[0]
        harness.signal_pid(victim, signal.SIGKILL)
        wait_until(lambda: victim not in harness.worker_pids(1)
                   and len(harness.worker_pids(1)) == configured, 20)

        def restarted():
            f = scrape(base)
            return (sample(f, "medrin_worker_restarts") >= r0 + 1
                    and sample(f, "medrin_pool_workers", state="alive") == configured)
        wait_until(restarted, 20, message="restart not counted or pool not full again")

    def test_queue_depth_and_oldest_age_per_kind(self):
        # A task of a kind no worker runs, due far in the future: it stays queued.
        rows = harness.psql(
            "INSERT INTO tasks (kind, payload, run_at, created_at) VALUES "
            "('metrics_probe', '{}'::jsonb, now() + interval '1 day', "
            "now() - interval '600 seconds'), "
            "('metrics_probe', '{}'::jsonb, now() + interval '1 day', now()) RETURNING id")
        ids = [r[0] for r in rows]
        self.addCleanup(harness.psql, "DELETE FROM tasks WHERE id IN (%s)"
                        % ",".join("'%s'" % i for i in ids))
        fams = scrape()
        self.assertEqual(sample(fams, "medrin_queue_tasks", kind="metrics_probe",
                                status="queued"), 2.0)
        self.assertEqual(sample(fams, "medrin_queue_tasks", kind="metrics_probe",
                                status="running"), 0.0)
        age = sample(fams, "medrin_queue_oldest_seconds", kind="metrics_probe")
        self.assertGreaterEqual(age, 600)
        self.assertLess(age, 600 + 300)
        harness.psql("DELETE FROM tasks WHERE id IN (%s)" % ",".join("'%s'" % i for i in ids))
        fams = scrape()
        self.assertIsNone(sample(fams, "medrin_queue_tasks", kind="metrics_probe",
                                 status="queued"))

    def test_redis_errors_are_counted(self):
        if harness.read_pid("redis") is None:
            self.skipTest("Redis is external")
        base = harness.pool_urls()[0]
        e0 = sample(scrape(base), "medrin_redis_errors")
        harness.service("stop", "redis")
        self.addCleanup(harness.service, "start", "redis")
        # Every worker of the pool may need to see it: ask until the counter moves.
        wait_until(lambda: call("GET", "/ready", base=base).status == 503
                   and sample(scrape(base), "medrin_redis_errors") > e0, 20)
        harness.service("start", "redis")
        wait_until(lambda: call("GET", "/ready", base=base).status == 200, 20)

    def test_alert_rules_name_exposed_metrics(self):
        with open(os.path.join(ROOT, "docs", "alerts.yml")) as f:
            rules = f.read()
        fams = scrape()
        exposed = set()
        for f in fams.values():
            exposed.update(s.name for s in f.samples)
            exposed.add(f.name)
        used = set(re.findall(r"\b(medrin_[a-z_]+)", rules))
        self.assertTrue(used)
        for name in used:
            self.assertTrue(name in exposed or name + "_total" in exposed
                            or re.sub(r"_(bucket|sum|count)$", "", name) in exposed,
                            "%s in docs/alerts.yml is not exposed" % name)
        for alert in ("MedrinPoolDown", "MedrinQueueAge", "Medrin5xxRatio"):
            self.assertIn("alert: " + alert, rules)


if __name__ == "__main__":
    unittest.main()
