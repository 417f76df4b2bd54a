"""Helpers shared by test_resumes, test_compile and test_rating."""

import os
import subprocess

import harness
from harness import assert_json, call
from test_auth import bearer, register

NASTY_TITLE = "\\input{/etc/passwd} \\write18{id} $ % & # _ { } ~ ^ \\"
NAMES = "Zoë Ångström Łódź Ħ ĸ ſ Œuvre Čapek"


def new_user():
    email, tokens = register()
    return email, bearer(tokens["access_token"])


def create(headers, body=None, status=201):
    r = call("POST", "/resumes", body if body is not None else {}, headers=headers)
    return assert_json(r, status)


def full_body(title="My resume", **over):
    body = {
        "title": title,
        "template": "classic",
        "contact": {"name": "Zoë Ångström", "email": "zoe@example.com", "phone": "+1 555",
                    "linkedin": "", "github": "zoe", "website": ""},
        "sections": [
            {"section_type": "experience", "title": "Work", "position": 1, "items": [
                {"title": "Engineer", "organization": "ACME", "location": "Oslo",
                 "start_date": "2020-01-01", "end_date": "2022-06-30",
                 "description": "Built things", "bullets": ["one", "two"], "position": 0},
            ]},
            {"section_type": "education", "title": "School", "position": 0, "items": []},
        ],
    }
    body.update(over)
    return body


def wait_task(headers, task_id, timeout=90):
    def done():
        r = call("GET", "/tasks/%s" % task_id, headers=headers)
        b = assert_json(r, 200)
        return b if b["status"] in ("succeeded", "failed") else None
    return harness.wait_until(done, timeout, interval=0.2,
                              message="task %s did not finish" % task_id)


def pdftotext(data):
    p = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                       capture_output=True, check=True, timeout=60)
    return p.stdout.decode("utf-8")


def processes_with(needle):
    """pids whose command line contains needle."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if needle.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out
