"""Compiling resumes to PDF: escaping, Unicode, the sandbox's limits, takeover.

docs/internals/resumes.md "Compiling". The first test uses the stack's worker; the others
stop it and run their own medrin-worker processes (test_tasks.ExtraWorker) with a short
MEDRIN_COMPILE_TIMEOUT_SECONDS, so the time limit and the lease (limit + 10 s) are short.
"""

import os
import signal
import time
import unicodedata
import unittest

import harness
from harness import assert_json, assert_problem, call, psql, wait_until
from resumes_common import (NAMES, NASTY_TITLE, create, full_body, new_user, pdftotext,
                            processes_with, wait_task)
from test_tasks import ExtraWorker, insert_task, log_lines, task_row, wait_row

SHORT_LIMIT = 5  # MEDRIN_COMPILE_TIMEOUT_SECONDS for the extra workers
SHORT_LEASE = SHORT_LIMIT + 10  # worker/main.c compile_lease


def squash(text):
    """White space collapsed, and NFC: letters T1 draws as base + accent come out of
    pdftotext as base + combining accent, canonically the same text."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


class CompileTest(unittest.TestCase):
    def test_pdf_through_nginx_has_the_literal_text(self):
        _, h = new_user()
        body = full_body(title=NASTY_TITLE)
        body["contact"]["name"] = NAMES
        body["sections"][0]["items"][0]["bullets"] = ["50% of $1 & #2 -- ``quoted'' <b>"]
        rid = create(h, body)["id"]
        assert_problem(call("GET", "/resumes/%s/pdf" % rid, headers=h), 404, "pdf_not_found")
        q = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=h), 202)
        done = wait_task(h, q["task_id"])
        self.assertEqual(done["status"], "succeeded", done)
        self.assertEqual(done["result"]["pdf_url"], "/api/v1/resumes/%s/pdf" % rid)
        r = call("GET", done["result"]["pdf_url"].replace("/api/v1", ""), headers=h)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-type"), "application/pdf")
        self.assertNotIn("x-accel-redirect", r.headers)  # nginx consumed it
        self.assertTrue(r.body.startswith(b"%PDF"))
        text = squash(pdftotext(r.body))
        self.assertIn(squash(NASTY_TITLE), text)
        self.assertIn(NAMES, text)
        self.assertIn("50% of $1 & #2 -- ``quoted'' <b>", text)
        self.assertNotIn("root:x:0:0", text)  # /etc/passwd was never read
        # Every Latin-1 and Latin Extended-A letter comes back as itself.
        letters = "".join(chr(c) for c in range(0xC0, 0x180) if chr(c).isalpha())
        # (in words of 12: one long word would run off the page)
        body["sections"][0]["items"][0]["bullets"] = [
            " ".join(letters[i:i + 12] for i in range(0, len(letters), 12))]
        assert_json(call("PUT", "/resumes/%s" % rid, body, headers=h), 200)
        q = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=h), 202)
        self.assertEqual(wait_task(h, q["task_id"])["status"], "succeeded")
        text = squash(pdftotext(call("GET", "/resumes/%s/pdf" % rid, headers=h).body))
        self.assertIn(letters, text.replace(" ", ""))
        # The stored file is under MEDRIN_FILES_DIR; the resume now says it has one.
        self.assertTrue(assert_json(call("GET", "/resumes/%s" % rid, headers=h), 200)["has_pdf"])
        uid = psql("SELECT user_id FROM resumes WHERE id = '%s'" % rid)[0][0]
        path = os.path.join(harness.env_get("MEDRIN_FILES_DIR"), "resumes", uid, rid + ".pdf")
        self.assertTrue(os.path.isfile(path))
        # DELETE removes it too.
        self.assertEqual(call("DELETE", "/resumes/%s" % rid, headers=h).status, 204)
        self.assertFalse(os.path.exists(path))


class SandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = new_user()[1]  # while the stack's worker still delivers mail

    def setUp(self):
        harness.service("stop", "worker")
        self.addCleanup(harness.service, "start", "worker")
        self.workers = []

    def tearDown(self):
        for w in self.workers:
            w.close()

    def worker(self, tag):
        w = ExtraWorker(tag, MEDRIN_COMPILE_TIMEOUT_SECONDS=str(SHORT_LIMIT))
        self.workers.append(w)
        w.wait_ready()
        return w

    def test_tex_loop_hits_the_time_limit_and_leaves_no_process(self):
        w = self.worker("loop")
        tid = insert_task("test_tex", {"tex": "\\def\\x{\\x}\\x"})
        t0 = time.monotonic()
        row = wait_row(tid, lambda r: r["status"] == "failed", 60, "failed")
        self.assertIn("time limit", row["error"])
        self.assertLess(time.monotonic() - t0, SHORT_LIMIT + 20)
        self.assertEqual(row["attempts"], 1)  # a time limit is not retried
        self.assertEqual(processes_with(tid), [])
        self.assertEqual(w.stop(), 0)

    def test_shell_escape_and_file_reads_are_refused(self):
        self.worker("escape")
        tid = insert_task("test_tex", {"tex": "\\immediate\\write18{touch /tmp/medrin-pwned}"
                                              "\\input{/etc/passwd}\\bye"})
        row = wait_row(tid, lambda r: r["status"] in ("failed", "succeeded"), 60, "finished")
        self.assertFalse(os.path.exists("/tmp/medrin-pwned"))
        self.assertEqual(row["status"], "failed")
        self.assertIn("passwd", row["error"])  # not found / not allowed, never read

    def test_worker_killed_mid_compile_is_taken_over_after_the_lease(self):
        h = self.h
        rid = create(h, full_body())["id"]
        a = self.worker("victim")
        tid = assert_json(call("POST", "/resumes/%s/compile" % rid, headers=h), 202)["task_id"]
        # pdflatex's command line names the task: kill the worker while it runs.
        wait_until(lambda: processes_with(tid), 30, interval=0.005,
                   message="the compile never started")
        a.kill()
        wait_until(lambda: not processes_with(tid), 15, message="sandbox outlived its worker")
        killed_at = time.time()
        row = task_row(tid)
        self.assertEqual((row["status"], row["attempts"]), ("running", 1))
        self.assertLessEqual(row["lease_left"], SHORT_LEASE + 1)
        self.worker("heir")
        row = wait_row(tid, lambda r: r["status"] == "succeeded", SHORT_LEASE + 60, "succeeded")
        self.assertEqual(row["attempts"], 2)
        self.assertGreaterEqual(time.time() - killed_at, row["lease_left"] or 0)
        self.assertEqual(len([l for l in log_lines("task %s (compile) succeeded" % tid)]), 1)
        st = assert_json(call("GET", "/tasks/%s" % tid, headers=h), 200)
        self.assertEqual(st["status"], "succeeded")
        r = call("GET", "/resumes/%s/pdf" % rid, headers=h)
        self.assertTrue(r.body.startswith(b"%PDF"))


if __name__ == "__main__":
    unittest.main()
