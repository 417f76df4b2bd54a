"""Note reminders are really mailed (api.md "Job-application tracker"; docs/internals/jobs.md):
exactly once with several workers running, reminded_at set; re-arming mails again once;
a deleted note or job never mails; reminders that came due while no worker ran are sent
when one comes back, and say they are late.

Extra medrin-worker processes are started like test_tasks.py does (ExtraWorker). "Never
mails" is awaited against a control note due at the same time: once the control's mail
has arrived and every reminder task is finished, the cancelled one had its chance.
"""

import datetime
import unittest
import uuid

import harness
from harness import assert_json, call, psql, wait_for_mail, wait_until
from test_auth import bearer, register
from test_tasks import ExtraWorker


def at(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def mails(address, needle):
    return [m for m in harness.mail_messages()
            if any(address.lower() in t.lower() for t in (m.get("to") or []))
            and needle in (m.get("subject") or "")]


class RemindersTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not harness.pid_alive(harness.read_pid("worker")):
            raise harness.HarnessError("medrin-worker is not running (script/server start worker)")
        cls.email, tok = register()
        cls.h = bearer(tok["access_token"])
        cls.uid = tok["user"]["id"]

    def extra_worker(self, tag):
        w = ExtraWorker(tag)
        self.addCleanup(w.close)
        w.wait_ready()
        return w

    def job(self):
        """A job with a unique company name (the mail subjects are matched on it)."""
        tag = "Co" + uuid.uuid4().hex[:10]
        j = assert_json(call("POST", "/jobs", headers=self.h, body={
            "company_name": tag, "position": "Platform engineer", "status": "interviewing",
            "applied_on": "2026-11-20"}), 201)
        return j, tag

    def note(self, job_id, content, when):
        return assert_json(call("POST", "/jobs/%s/notes" % job_id, headers=self.h,
                                body={"content": content, "reminder_time": when}), 201)

    def reminded_at(self, note_id):
        """reminded_at as text, "" when not set, None when the note is gone."""
        rows = psql("SELECT coalesce(reminded_at::text, '-') FROM notes WHERE id = '%s'" % note_id)
        return (rows[0][0] if rows[0][0] != "-" else "") if rows else None

    def reminder_tasks_done(self):
        return psql("SELECT count(*) FROM tasks WHERE kind IN ('reminder', 'mail') AND "
                    "status IN ('queued', 'running') AND run_at <= now()") == [["0"]]


class ExactlyOnceTest(RemindersTestCase):
    def test_reminder_two_seconds_ahead_mails_once_with_three_workers(self):
        self.extra_worker("rem-a")
        self.extra_worker("rem-b")
        job, tag = self.job()
        note = self.note(job["id"], "Ask about the on-call rota", at(2))
        msg = wait_for_mail(self.email, timeout=30, subject_contains=tag)
        self.assertEqual(msg["subject"], "Reminder: Platform engineer at %s" % tag)
        body = msg["body"]
        for part in (tag, "Platform engineer", "Ask about the on-call rota",
                     "/jobs/%s" % job["id"], harness.env_get("MEDRIN_PUBLIC_URL")):
            self.assertIn(part, body)
        self.assertNotIn("late", body.lower())
        wait_until(self.reminder_tasks_done, 30)
        self.assertEqual(len(mails(self.email, tag)), 1)
        self.assertTrue(self.reminded_at(note["id"]))
        got = assert_json(call("GET", "/jobs/%s/notes" % job["id"], headers=self.h), 200)
        self.assertIsNotNone(got["items"][0]["reminded_at"])
        # the reminder task fired once and the worker result says so
        rows = psql("SELECT status, result->>'outcome' FROM tasks WHERE kind = 'reminder' AND "
                    "payload->>'note_id' = '%s'" % note["id"])
        self.assertEqual(rows, [["succeeded", "mail_queued"]])

    def test_many_reminders_due_at_once_each_mail_once(self):
        self.extra_worker("rem-c")
        self.extra_worker("rem-d")
        job, tag = self.job()
        when = at(2)
        notes = [self.note(job["id"], "batch note %d" % i, when) for i in range(8)]
        wait_until(lambda: len(mails(self.email, tag)) >= 8, 45, interval=0.2)
        wait_until(self.reminder_tasks_done, 30)
        got = mails(self.email, tag)
        self.assertEqual(len(got), 8)
        bodies = sorted(next(line for line in m["body"].splitlines() if "batch note" in line)
                        for m in got)
        self.assertEqual(bodies, sorted("batch note %d" % i for i in range(8)))
        for n in notes:
            self.assertTrue(self.reminded_at(n["id"]))


class RearmAndCancelTest(RemindersTestCase):
    def test_rearmed_note_mails_again_once(self):
        self.extra_worker("rem-e")
        job, tag = self.job()
        note = self.note(job["id"], "first time", at(2))
        wait_for_mail(self.email, timeout=30, subject_contains=tag)
        wait_until(lambda: self.reminded_at(note["id"]), 10)
        p = assert_json(call("PATCH", "/notes/" + note["id"], headers=self.h,
                             body={"reminder_time": at(2)}), 200)
        self.assertIsNone(p["reminded_at"])  # re-armed
        self.assertEqual(self.reminded_at(note["id"]), "")
        wait_until(lambda: len(mails(self.email, tag)) >= 2, 30, interval=0.2)
        wait_until(self.reminder_tasks_done, 30)
        self.assertEqual(len(mails(self.email, tag)), 2)
        self.assertTrue(self.reminded_at(note["id"]))

    def test_moving_an_armed_reminder_replaces_it(self):
        job, tag = self.job()
        note = self.note(job["id"], "moved", at(3600))
        old_task = psql("SELECT reminder_task FROM notes WHERE id = '%s'" % note["id"])[0][0]
        assert_json(call("PATCH", "/notes/" + note["id"], headers=self.h,
                         body={"reminder_time": at(2)}), 200)
        self.assertEqual(psql("SELECT count(*) FROM tasks WHERE id = '%s'" % old_task), [["0"]])
        wait_for_mail(self.email, timeout=30, subject_contains=tag)
        wait_until(self.reminder_tasks_done, 30)
        self.assertEqual(len(mails(self.email, tag)), 1)

    def test_deleted_note_or_job_never_mails(self):
        self.extra_worker("rem-f")
        gone_note_job, gone_note_tag = self.job()
        gone_job, gone_job_tag = self.job()
        control, control_tag = self.job()
        when = at(2)
        n1 = self.note(gone_note_job["id"], "never", when)
        self.note(gone_job["id"], "never either", when)
        self.note(control["id"], "control", when)
        self.assertEqual(call("DELETE", "/notes/" + n1["id"], headers=self.h).status, 204)
        self.assertEqual(call("DELETE", "/jobs/" + gone_job["id"], headers=self.h).status, 204)
        # their reminder tasks went with them, in the same statement
        self.assertEqual(psql("SELECT count(*) FROM tasks WHERE kind = 'reminder' AND "
                              "payload->>'note_id' = '%s'" % n1["id"]), [["0"]])
        wait_for_mail(self.email, timeout=30, subject_contains=control_tag)
        wait_until(self.reminder_tasks_done, 30)
        self.assertEqual(mails(self.email, gone_note_tag), [])
        self.assertEqual(mails(self.email, gone_job_tag), [])


class LateTest(RemindersTestCase):
    def test_reminders_due_while_no_worker_ran_are_sent_when_one_comes_back(self):
        harness.service("stop", "worker")
        self.addCleanup(harness.service, "start", "worker")
        job, tag = self.job()
        soon = self.note(job["id"], "due while down", at(2))
        old = self.note(job["id"], "long overdue", at(-600))
        # both are due and nobody sends them
        wait_until(lambda: psql("SELECT count(*) FROM tasks WHERE kind = 'reminder' AND "
                                "status = 'queued' AND run_at <= now() AND payload->>'note_id' "
                                "IN ('%s', '%s')" % (soon["id"], old["id"])) == [["2"]], 15)
        self.assertEqual(mails(self.email, tag), [])
        self.assertEqual(self.reminded_at(soon["id"]), "")
        harness.service("start", "worker")
        wait_until(lambda: len(mails(self.email, tag)) >= 2, 30, interval=0.2)
        got = {("long overdue" in m["body"]): m for m in mails(self.email, tag)}
        late = got[True]
        self.assertTrue(late["subject"].startswith("Late reminder:"), late["subject"])
        self.assertIn("This reminder is late", late["body"])
        self.assertIn("/jobs/%s" % job["id"], late["body"])
        self.assertTrue(self.reminded_at(old["id"]))
        self.assertTrue(self.reminded_at(soon["id"]))
        wait_until(self.reminder_tasks_done, 30)
        self.assertEqual(len(mails(self.email, tag)), 2)


if __name__ == "__main__":
    unittest.main()
