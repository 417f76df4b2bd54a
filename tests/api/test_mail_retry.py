"""A mail outage longer than a few minutes loses no mail: mail tasks are retried with
capped exponential back-off for MEDRIN_MAIL_RETRY_HOURS (not for 8 attempts), dropped
once that window is over, and a code mail whose code has expired is dropped instead of
sent. The queue's age is in the metrics (test_metrics)."""

import json
import time
import unittest
import uuid

import harness
from harness import call, psql, wait_until

PASSWORD = "correct horse battery staple 42"


def insert_mail(to, created_ago_s=0, attempts=0, expires_at=None):
    payload = {"to": to, "subject": "retry window", "body": "hello\n"}
    if expires_at is not None:
        payload["expires_at"] = str(int(expires_at))
    text = json.dumps(payload)
    rows = psql("WITH t AS (INSERT INTO tasks (kind, payload, attempts, created_at) VALUES "
                "('mail', $j$%s$j$::jsonb, %d, now() - make_interval(secs => %d)) "
                "RETURNING id) SELECT t.id, pg_notify('medrin_tasks', 'mail') FROM t"
                % (text, attempts, created_ago_s))
    return rows[0][0]


def row(tid):
    r = psql("SELECT status, attempts, max_attempts, payload::text, coalesce(error, ''), "
             "EXTRACT(EPOCH FROM run_at - now())::int FROM tasks WHERE id = '%s'" % tid)[0]
    return {"status": r[0], "attempts": int(r[1]), "max_attempts": int(r[2]),
            "payload": json.loads(r[3]), "error": r[4], "due_in": int(r[5])}


class MailRetryWindowTest(unittest.TestCase):
    def setUp(self):
        if harness.read_pid("mail") is None or harness.read_pid("worker") is None:
            self.skipTest("needs the stack's own mail catcher and worker")

    def test_outage_retries_within_window_and_drops_after(self):
        hours = int(harness.env_get("MEDRIN_MAIL_RETRY_HOURS", "24"))
        tag = uuid.uuid4().hex[:8]
        harness.service("stop", "mail")
        self.addCleanup(harness.service, "start", "mail")
        # Attempt 21 of a mail queued an hour ago: past the old 8-attempt limit, inside
        # the window: retried, with the capped back-off.
        young = insert_mail("young-%s@example.com" % tag, created_ago_s=3600, attempts=20)
        # Queued longer ago than the window: the next failure is the last.
        old = insert_mail("old-%s@example.com" % tag, created_ago_s=hours * 3600 + 60)
        r = wait_until(lambda: row(young)["attempts"] == 21 and row(young)["error"]
                       and row(young)["status"] == "queued" and row(young), 30)
        self.assertIn("smtp", r["error"].lower())
        self.assertGreater(r["max_attempts"], 8)
        self.assertGreater(r["due_in"], 60)     # 2^20 s capped ...
        self.assertLessEqual(r["due_in"], 300)  # ... at 5 minutes
        r = wait_until(lambda: row(old)["status"] == "failed" and row(old), 30)
        self.assertEqual(r["attempts"], 1)
        self.assertEqual(r["payload"]["body"], "[not delivered]")
        psql("DELETE FROM tasks WHERE id = '%s'" % young)

    def test_expired_code_mail_is_dropped_not_sent(self):
        tag = uuid.uuid4().hex[:8]
        to = "expired-%s@example.com" % tag
        tid = insert_mail(to, expires_at=time.time() - 5)
        r = wait_until(lambda: row(tid)["status"] == "failed" and row(tid), 30)
        self.assertIn("expired", r["error"])
        self.assertEqual(r["attempts"], 1)
        self.assertEqual(r["payload"]["body"], "[not delivered]")
        # A fresh one to the same kind of address is delivered: the catcher works.
        live = insert_mail("live-%s@example.com" % tag, expires_at=time.time() + 600)
        wait_until(lambda: row(live)["status"] == "succeeded", 30)
        self.assertEqual([m for m in harness.mail_messages()
                          if to in " ".join(m.get("to") or [])], [])

    def test_code_mails_carry_the_code_expiry(self):
        email = "retry-otp-%s@example.com" % uuid.uuid4().hex[:10]
        t0 = time.time()
        r = call("POST", "/auth/register", {"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 202, r)
        rows = wait_until(lambda: psql("SELECT payload->>'expires_at' FROM tasks WHERE "
                                       "kind = 'mail' AND payload->>'to' = '%s'" % email), 10)
        exp = int(rows[0][0])
        ttl = int(harness.env_get("OTP_EXPIRY_SECONDS", "300"))
        self.assertGreaterEqual(exp, int(t0) + ttl - 2)
        self.assertLessEqual(exp, int(time.time()) + ttl + 2)


if __name__ == "__main__":
    unittest.main()
