"""AI rating of resumes against a local fake of the generateContent API.

docs/internals/resumes.md "Rating". The fake (fake_gemini.py) speaks the real request and
response format; the real client (worker/rating.c, in medrin-worker) talks to it. The
stack runs without GEMINI_API_KEY, so POST .../rating is 503 rating_unavailable; the
other tests give every pool the key (SIGHUP with an env file, undone afterwards), stop
the stack's worker and run their own medrin-worker pointed at the fake.
"""

import time
import unittest

import harness
from fake_gemini import KEY, RATING, FakeGemini
from harness import assert_json, assert_problem, call
from resumes_common import create, full_body, new_user, wait_task
from test_tasks import ExtraWorker


class NoKeyTest(unittest.TestCase):
    def test_no_key_is_503_rating_unavailable(self):
        _, h = new_user()
        rid = create(h)["id"]
        r = call("POST", "/resumes/%s/rating" % rid, headers=h)
        p = assert_problem(r, 503, "rating_unavailable")
        self.assertIn("GEMINI_API_KEY", p["detail"])
        self.assertTrue(r.headers.get("retry-after"))
        self.assertEqual(harness.psql("SELECT count(*) FROM tasks WHERE kind = 'rating' AND "
                                      "payload->>'resume_id' = '%s'" % rid)[0][0], "0")


class RatingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = new_user()[1]  # while the stack's worker still delivers mail
        cls.fake = FakeGemini().start()
        cls.old_env = {}
        for pool in range(1, harness.pool_count() + 1):
            old = harness.reload_pool(pool, "GEMINI_API_KEY=%s\n" % KEY)
            cls.old_env[pool] = old
        harness.service("stop", "worker")
        cls.worker = ExtraWorker("rating", GEMINI_API_KEY=KEY, GEMINI_API_URL=cls.fake.url,
                                 GEMINI_MODEL="fake-model", GEMINI_TIMEOUT_SECONDS="3")
        cls.worker.wait_ready()

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.worker.stop() == 0, "medrin-worker did not exit cleanly"
        finally:
            cls.worker.close()
            harness.service("start", "worker")
            for pool, old in cls.old_env.items():
                harness.reload_pool(pool, "GEMINI_API_KEY=\n")
                harness.write_pool_env(pool, old)
            cls.fake.stop()

    def setUp(self):
        with self.fake.lock:
            self.fake.requests.clear()

    def rate(self, script):
        self.fake.script = list(script)
        body = full_body()
        body["contact"]["name"] = "Zoë Ångström"
        rid = create(self.h, body)["id"]
        q = assert_json(call("POST", "/resumes/%s/rating" % rid, headers=self.h), 202)
        self.assertEqual(q["status_url"], "/api/v1/tasks/%s" % q["task_id"])
        return wait_task(self.h, q["task_id"], timeout=60)

    def test_success_stores_the_parsed_result(self):
        t = self.rate(["ok"])
        self.assertEqual((t["kind"], t["status"]), ("rating", "succeeded"), t)
        self.assertEqual(t["result"], RATING)
        self.assertEqual(len(self.fake.requests), 1)
        req = self.fake.requests[0]
        self.assertEqual(req["path"], "/v1beta/models/fake-model:generateContent")
        self.assertEqual(req["headers"].get("x-goog-api-key"), KEY)
        gen = req["body"]["generationConfig"]
        self.assertEqual(gen["responseMimeType"], "application/json")
        self.assertEqual(sorted(gen["responseSchema"]["required"]),
                         ["improvements", "rating", "reasoning", "strengths"])
        prompt = req["body"]["contents"][0]["parts"][0]["text"]
        self.assertIn("Zoë Ångström", prompt)
        self.assertIn("Engineer, ACME", prompt)
        self.assertEqual(harness.psql("SELECT result->>'rating' FROM tasks WHERE id = '%s'"
                                      % t["id"])[0][0], "78")
        harness.assert_no_secrets_in_logs([KEY])

    def test_429_then_success_is_retried_after_retry_after(self):
        t = self.rate(["429", "ok"])
        self.assertEqual(t["status"], "succeeded", t)
        self.assertEqual(t["result"]["rating"], 78)
        self.assertEqual(len(self.fake.requests), 2)
        gap = self.fake.requests[1]["t"] - self.fake.requests[0]["t"]
        self.assertGreaterEqual(gap, 0.9)  # Retry-After: 1 honoured
        self.assertLess(gap, 15)

    def test_500s_are_retried(self):
        t = self.rate(["500", "500", "ok"])
        self.assertEqual(t["status"], "succeeded", t)
        self.assertEqual(len(self.fake.requests), 3)

    def test_garbage_fails_with_a_clear_error(self):
        t = self.rate(["garbage"])
        self.assertEqual(t["status"], "failed", t)
        self.assertIn("malformed rating reply", t["error"])
        self.assertIn("not JSON", t["error"])
        self.assertNotIn("result", t)
        self.assertEqual(len(self.fake.requests), 1)  # not retried: it would not improve

    def test_rating_out_of_range_fails(self):
        t = self.rate(["bad_rating"])
        self.assertEqual(t["status"], "failed", t)
        self.assertIn("0..100", t["error"])

    def test_slow_server_times_out_and_is_retried(self):
        t0 = time.monotonic()
        t = self.rate([("slow", 5), "ok"])  # GEMINI_TIMEOUT_SECONDS=3 for the worker
        self.assertEqual(t["status"], "succeeded", t)
        self.assertGreaterEqual(len(self.fake.requests), 2)
        self.assertLess(time.monotonic() - t0, 40)


if __name__ == "__main__":
    unittest.main()
