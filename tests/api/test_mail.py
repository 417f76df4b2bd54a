"""Mail through the task queue: tasks (PostgreSQL) -> medrin-worker -> SMTP -> mail catcher.

docs/internals/tasks.md describes the queue. These tests need the whole stack: the
worker and the mail catcher of script/server, and psql for looking at the tasks table.
"""

import json
import re
import unittest
import uuid

import harness
from harness import call, psql, wait_for_mail, wait_until

PASSWORD = "correct horse battery 9"


def fresh_email(tag):
    return "mail-%s-%s@example.com" % (tag, uuid.uuid4().hex[:12])


def sql_json(obj):
    """obj as a SQL jsonb literal (dollar-quoted: no escaping games)."""
    text = json.dumps(obj)
    assert "$j$" not in text
    return "$j$%s$j$::jsonb" % text


def insert_task(kind, payload, extra_cols="", extra_vals=""):
    """Inserts a task the way tasks_enqueue does (INSERT + NOTIFY) and returns its id."""
    rows = psql("WITH t AS (INSERT INTO tasks (kind, payload%s) VALUES ('%s', %s%s) "
                "RETURNING id) SELECT t.id, pg_notify('medrin_tasks', '%s') FROM t"
                % (extra_cols, kind, sql_json(payload), extra_vals, kind))
    return rows[0][0]


def task_row(task_id):
    rows = psql("SELECT status, attempts, payload::text, coalesce(error, ''), "
                "coalesce(result::text, '') FROM tasks WHERE id = '%s'" % task_id)
    if not rows:
        return None
    status, attempts, payload, error, result = rows[0]
    return {"status": status, "attempts": int(attempts), "payload": json.loads(payload),
            "error": error, "result": json.loads(result) if result else None}


def wait_status(task_id, status, timeout=20):
    return wait_until(lambda: (task_row(task_id) or {}).get("status") == status
                      and task_row(task_id), timeout,
                      message="task %s never reached status %s (now %r)"
                      % (task_id, status, task_row(task_id)))


def mail_tasks_to(address):
    """The mail tasks addressed to address, oldest first."""
    rows = psql("SELECT id FROM tasks WHERE kind = 'mail' AND payload->>'to' = '%s' "
                "ORDER BY created_at" % address)
    return [r[0] for r in rows]


def register(email):
    r = call("POST", "/auth/register", {"email": email, "password": PASSWORD})
    if r.status == 404:
        raise unittest.SkipTest("POST /api/v1/auth/register is not routed yet")
    return r


class MailTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not harness.pid_alive(harness.read_pid("worker")):
            raise harness.HarnessError("medrin-worker is not running (script/server start worker)")
        if not harness.pid_alive(harness.read_pid("mail")):
            harness.service("start", "mail")


class QueueTest(MailTestCase):
    """Tasks inserted directly: what the worker does with them."""

    def test_queued_mail_is_delivered_and_body_redacted(self):
        to = fresh_email("queued")
        body = "Hello,\n\n424242\n\n.a line starting with a dot\nlast line"
        tid = insert_task("mail", {"to": to, "subject": "Queued mail test", "body": body})
        msg = wait_for_mail(to, timeout=20)
        self.assertEqual(msg["subject"], "Queued mail test")
        self.assertEqual([t.lower() for t in msg["to"]], [to])
        # Line endings arrive as CRLF on the wire; the catcher may keep or normalise them.
        got = msg["body"].replace("\r\n", "\n").rstrip("\n")
        self.assertEqual(got, body)
        mail_from = harness.env_get("MAIL_FROM", "")
        m = re.search(r"<([^>]+)>", mail_from)
        self.assertIn((m.group(1) if m else mail_from.strip()).lower(), msg["from"].lower())
        row = wait_status(tid, "succeeded")
        self.assertEqual(row["attempts"], 1)
        self.assertEqual(row["payload"]["body"], "[delivered]")
        self.assertNotIn("424242", json.dumps(row["payload"]))
        self.assertEqual(row["payload"]["to"], to)
        self.assertIn("sent_at", row["result"] or {})

    def test_non_ascii_subject_and_body(self):
        to = fresh_email("utf8")
        subject = "Votre code de vérification — Medrin ✓"
        body = "Bonjour Zoë,\nvoilà: ünïcödé ✓"
        insert_task("mail", {"to": to, "subject": subject, "body": body})
        msg = wait_for_mail(to, timeout=20)
        self.assertEqual(msg["subject"], subject)
        self.assertEqual(msg["body"].replace("\r\n", "\n").rstrip("\n"), body)

    def test_unknown_kind_fails_permanently(self):
        tid = insert_task("no-such-kind", {"x": 1})
        row = wait_status(tid, "failed")
        self.assertEqual(row["attempts"], 1)
        self.assertIn("unknown", row["error"])

    def test_malformed_mail_payload_fails_permanently(self):
        tid = insert_task("mail", {"subject": "no recipient", "body": "x"})
        row = wait_status(tid, "failed")
        self.assertEqual(row["attempts"], 1)
        self.assertTrue(row["error"])

    def test_header_injection_is_refused(self):
        to = fresh_email("inject")
        victim = fresh_email("victim")
        tid = insert_task("mail", {"to": to, "subject": "Hi\r\nBcc: " + victim,
                                   "body": "code 919191"})
        row = wait_status(tid, "failed")
        self.assertEqual(row["attempts"], 1)
        # A mail that will never be sent does not keep its body (codes) either.
        self.assertEqual(row["payload"]["body"], "[not delivered]")
        tid2 = insert_task("mail", {"to": to + "\r\nBcc: " + victim, "subject": "Hi",
                                    "body": "x"})
        wait_status(tid2, "failed")
        # A mail queued after both has arrived, so the refused ones had their chance.
        marker = fresh_email("marker")
        insert_task("mail", {"to": marker, "subject": "marker", "body": "x"})
        wait_for_mail(marker, timeout=20)
        for m in harness.mail_messages():
            rcpts = " ".join(m.get("to") or []).lower()
            self.assertNotIn(victim, rcpts)
            self.assertNotIn(to, rcpts)

    def test_task_of_a_dead_worker_is_taken_over(self):
        """status running with its lease run out: another worker claims it again."""
        to = fresh_email("orphan")
        tid = insert_task("mail", {"to": to, "subject": "Orphaned task", "body": "x"},
                          ", status, attempts, locked_until",
                          ", 'running', 1, now() - interval '1 second'")
        msg = wait_for_mail(to, timeout=30)
        self.assertEqual(msg["subject"], "Orphaned task")
        row = wait_status(tid, "succeeded")
        self.assertEqual(row["attempts"], 2)

    def test_task_under_a_live_lease_is_left_alone(self):
        to = fresh_email("leased")
        tid = insert_task("mail", {"to": to, "subject": "Leased task", "body": "x"},
                          ", status, attempts, locked_until",
                          ", 'running', 1, now() + interval '1 hour'")
        marker = fresh_email("marker")
        insert_task("mail", {"to": marker, "subject": "marker", "body": "x"})
        wait_for_mail(marker, timeout=20)
        row = task_row(tid)
        self.assertEqual((row["status"], row["attempts"]), ("running", 1))
        self.assertNotIn(to, [t for m in harness.mail_messages() for t in m.get("to") or []])
        psql("DELETE FROM tasks WHERE id = '%s'" % tid)


class RegistrationMailTest(MailTestCase):
    """Mail caused through the API."""

    def test_register_mails_a_code(self):
        to = fresh_email("register")
        r = register(to)
        self.assertEqual(r.status, 202, r)
        msg = wait_for_mail(to, timeout=20)
        self.assertEqual(msg["subject"], "Your Medrin verification code")
        code = harness.extract_code(msg)
        body = msg["body"].replace("\r\n", "\n")
        self.assertIn("\n%s\n" % code, "\n" + body)  # the code stands on its own line
        minutes = max(1, -(-int(harness.env_get("OTP_EXPIRY_SECONDS", "300")) // 60))
        self.assertRegex(body, r"expires in %d minute" % minutes)
        tids = mail_tasks_to(to)
        self.assertEqual(len(tids), 1)
        row = wait_status(tids[0], "succeeded")
        self.assertNotIn(code, json.dumps(row["payload"]))
        harness.assert_no_secrets_in_logs([code])

    def test_mail_waits_for_the_catcher_to_come_back(self):
        to = fresh_email("outage")
        harness.service("stop", "mail")
        try:
            r = register(to)
            self.assertEqual(r.status, 202, r)
            tids = wait_until(lambda: mail_tasks_to(to), 10)
            # At least one delivery attempt failed and a retry is scheduled.
            row = wait_until(lambda: (task_row(tids[0])["attempts"] >= 1
                                      and task_row(tids[0])["status"] == "queued"
                                      and task_row(tids[0])["error"]
                                      and task_row(tids[0])), 15)
            self.assertIn("smtp", row["error"].lower())
        finally:
            harness.service("start", "mail")
        # Back-off is 1, 2, 4, 8... s: the retry after the catcher returns comes soon.
        msg = wait_for_mail(to, timeout=60)
        self.assertEqual(msg["subject"], "Your Medrin verification code")
        row = wait_status(tids[0], "succeeded")
        self.assertGreaterEqual(row["attempts"], 2)
        self.assertEqual(row["error"], "")


if __name__ == "__main__":
    unittest.main()
