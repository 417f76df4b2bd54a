"""Every curl example in README.md and docs/*.md runs against the stack, so the docs cannot
drift from the program again (issue 13).

Each file's fenced ```sh / ```bash / ```shell blocks that call curl (directly or through a
shell function an earlier block defined, like auth.md's `api`) are joined, in
order, into one bash script (so a variable set in one block serves the next, as in a
reader's shell) and run with `set -e -o pipefail` against this stack. Before running:
`. .run/env` becomes this stack's env file, `https://localhost:8443` its URL, lines that
run other tools (`script/...`, `sudo`, `systemctl`, `make`, `cd`) are left out, every
`NAME@example.com` becomes an address unique to this run (so a re-run registers afresh),
and a literal 6-digit `"code":"NNNNNN"` in a single-quoted JSON body is replaced by the
newest code the mailbox received for that body's email. Every curl call's status is
recorded (its headers go to a side file; stdout is untouched): the script must exit 0,
every call must get an HTTP answer below 500, and a 4xx must be one the block states (the
number appears in the block, e.g. `# 401 now`). New files and blocks are picked up as
they are added; write examples that run top to bottom."""

import glob
import os
import re
import subprocess
import tempfile
import unittest
import uuid

import harness

FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
RUN_LANGS = ("sh", "bash", "shell")
SKIP_LINE = re.compile(r"^\s*(script/|sudo\b|systemctl\b|systemd-|make\b|cd\b|cp\b|nginx\b|"
                       r"tests/bench/)")
EMAIL = re.compile(r"\b([A-Za-z0-9._-]+)@example\.com\b")
CODE = re.compile(r'"code":"(\d{6})"')

PREAMBLE = r'''
set -e -o pipefail
__dir=$1
curl() {
	local __id=$BASHPID.$RANDOM$RANDOM
	printf '%s\n' "${BASH_LINENO[-2]}" >"$__dir/l.$__id"
	command curl -D "$__dir/h.$__id" "$@"
}
__code() {  # the newest 6-digit code mailed to $1
	local i c
	for i in $(seq 75); do
		c=$(command curl -s "$MEDRIN_MAILBOX_URL/api/messages?to=$1" |
			jq -r '.[-1].body // empty' | grep -oE '\b[0-9]{6}\b' | head -n 1) || true
		[ -n "$c" ] && { printf '%s' "$c"; return 0; }
		sleep 0.2
	done
	echo "no code mailed to $1" >&2
	return 1
}
'''


def doc_files():
    root = harness.ROOT
    return [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))


def curl_blocks(path):
    """[(first line number in the file, block text)] of the runnable blocks that call curl,
    directly or through a shell function an earlier such block defined (`api() {...}`)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out, helpers = [], []
    for m in FENCE.finditer(text):
        body = m.group(2)
        if m.group(1) not in RUN_LANGS:
            continue
        calls = re.search(r"\bcurl\b", body) or any(
            re.search(r"(^|[\s($|])%s\b" % re.escape(h), body) for h in helpers)
        if calls:
            out.append((text.count("\n", 0, m.start(2)) + 1, body))
            helpers += re.findall(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{", body)
    return out


def prepare(block, tag, url, state):
    lines = []
    for line in block.splitlines():
        if SKIP_LINE.match(line):
            lines.append("# (not run by test_examples) " + line)
            continue
        line = re.sub(r"(^|\s)\.\s+\.run/env\b", r'\1. "%s/env"' % state, line)
        line = line.replace("https://localhost:8443", url)
        line = EMAIL.sub(lambda m: "%s-%s@example.com" % (m.group(1), tag), line)
        em = EMAIL.search(line)
        if em and "'" in line:
            addr = em.group(0)
            line = CODE.sub(lambda m: '"code":"\'"$(__code %s)"\'"' % addr, line)
        lines.append(line)
    return lines


def make_test(path):
    def test(self):
        blocks = curl_blocks(path)
        self.assertTrue(blocks or not path.endswith("auth.md"), "no curl example found")
        if not blocks:
            return
        tag = uuid.uuid4().hex[:10]
        script = PREAMBLE.splitlines()
        ranges = []
        for first, block in blocks:
            start = len(script) + 2
            script.append("# --- %s:%d" % (os.path.basename(path), first))
            script.extend(prepare(block, tag, harness.base_url(), harness.state_dir()))
            ranges.append((start, len(script), first, block))
        side = tempfile.mkdtemp(prefix="medrin-examples-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", side]))
        with open(os.path.join(side, "script.sh"), "w") as f:
            f.write("\n".join(script) + "\n")
        p = subprocess.run(["bash", os.path.join(side, "script.sh"), side],
                           env=harness.child_env(MEDRIN_STATE_DIR=harness.state_dir()),
                           cwd=harness.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300)
        self.assertEqual(p.returncode, 0, "%s: the examples failed (exit %d)\nstderr:\n%s\n"
                         "stdout:\n%s" % (path, p.returncode, p.stderr[-3000:], p.stdout[-2000:]))
        calls = 0
        seen_blocks = set()
        for name in os.listdir(side):
            if not name.startswith("l."):
                continue
            calls += 1
            with open(os.path.join(side, name)) as f:
                line = int(f.read().strip() or 0)
            block = next((r for r in ranges if r[0] <= line <= r[1]), None)
            where = "%s (script line %d)" % (os.path.basename(path), line)
            if block is not None:
                where = "%s:%d" % (os.path.basename(path), block[2] + line - block[0] - 1)
                seen_blocks.add(block[2])
            hdr = os.path.join(side, "h." + name[2:])
            statuses = []
            if os.path.exists(hdr):
                with open(hdr, errors="replace") as f:
                    statuses = re.findall(r"(?m)^HTTP/[\d.]+ (\d{3})", f.read())
            self.assertTrue(statuses, "%s: a curl call got no HTTP answer" % where)
            status = int(statuses[-1])
            self.assertLess(status, 500, "%s: answered %d" % (where, status))
            if status >= 400:
                self.assertIsNotNone(block, where)
                self.assertRegex(block[3], r"\b%d\b" % status,
                                 "%s: answered %d, which the example does not say" % (where, status))
        self.assertGreaterEqual(calls, len(blocks), "fewer curl calls than blocks")
        # a block that only defines helpers (auth.md's api and code) need not call anything
        callers = {first for first, body in blocks
                   if not re.search(r"(?m)^\s*[A-Za-z_][A-Za-z0-9_]*\(\)\s*\{", body)}
        self.assertEqual(callers - seen_blocks, set(), "a block made no curl call")
    return test


class DocExamples(unittest.TestCase):
    pass


for _path in doc_files():
    _name = "test_" + re.sub(r"\W", "_", os.path.relpath(_path, harness.ROOT))
    setattr(DocExamples, _name, make_test(_path))


if __name__ == "__main__":
    unittest.main()
