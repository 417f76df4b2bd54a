#!/usr/bin/env python3
"""Runs the black-box API tests (tests/api/test_*.py) against a running stack.

    MEDRIN_STATE_DIR=/path/to/state python3 tests/api/run.py [NAME...] [-k PATTERN] [-v] [-x]

NAME keeps tests whose id (module.Class.test) starts with or contains NAME
("test_ops", "test_pipeline.EchoTest"); -k keeps tests whose id matches PATTERN (a glob,
or a substring when it has no wildcard); both may be repeated. Every failure is printed
with its traceback; the last line is always "N passed, N failed" (", N skipped" follows
when tests were skipped). Exit status 1 on any failure or error, 2 when nothing matched.

MEDRIN_NO_SKIPS=1 (script/test sets it): a skipped test counts as failed, and its reason
is printed with it; the stack script/test starts provides everything every test needs, so
a skip there means a test that ran nothing.
"""

import argparse
import fnmatch
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def keep(test_id, names, patterns):
    if names and not any(test_id.startswith(n) or n in test_id for n in names):
        return False
    for p in patterns:
        glob = p if any(c in p for c in "*?[") else "*%s*" % p
        if not fnmatch.fnmatchcase(test_id, glob):
            return False
    return True


class Result(unittest.TextTestResult):
    """Counts tests (not subtests) as passed / failed / skipped and prints one line per
    test as it ends."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.failed_ids = set()
        self.skipped_ids = set()
        self.passed_ids = set()
        self.skip_reasons = {}
        self._started = {}

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        super().startTest(test)

    def _mark_failed(self, test):
        self.failed_ids.add(test.id())

    def addError(self, test, err):
        super().addError(test, err)
        self._mark_failed(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark_failed(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._mark_failed(test)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._mark_failed(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed_ids.add(test.id())

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed_ids.add(test.id())

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        # test may be a stand-in for a skipping setUpClass / setUpModule (its id says so)
        self.skipped_ids.add(test.id())
        self.skip_reasons[test.id()] = reason


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="keep tests whose id starts with/contains NAME")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="keep tests whose id matches PATTERN (glob or substring)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    ap.add_argument("-x", "--failfast", action="store_true", help="stop at the first failure")
    args = ap.parse_args(argv)

    sys.dont_write_bytecode = True  # keep tests/api free of __pycache__
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    suite = loader.discover(start_dir=HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = [t for t in iter_tests(suite) if keep(t.id(), args.names, args.patterns)]
    if not tests:
        print("no test matched %s" % " ".join(args.names + args.patterns), file=sys.stderr)
        print("0 passed, 0 failed")
        return 2
    state = os.environ.get("MEDRIN_STATE_DIR")
    if not state or not os.path.exists(os.path.join(state, "env")):
        print("error: %s: start the stack first (script/server start) and set "
              "MEDRIN_STATE_DIR to its state dir"
              % ("MEDRIN_STATE_DIR is not set" if not state else state + "/env is missing"))
        print("0 passed, %d failed" % len(tests))
        return 1

    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if args.verbose else 1,
                                     failfast=args.failfast, resultclass=Result,
                                     buffer=False)
    started = time.monotonic()
    result = runner.run(unittest.TestSuite(tests))
    elapsed = time.monotonic() - started

    no_skips = os.environ.get("MEDRIN_NO_SKIPS", "") == "1"
    skipped_ids = result.skipped_ids - result.failed_ids
    failed_ids = set(result.failed_ids)
    if no_skips:
        failed_ids |= skipped_ids
        skipped_ids = set()
    passed = len(result.passed_ids - failed_ids - skipped_ids)
    failed = len(failed_ids)
    skipped = len(skipped_ids)
    if failed_ids:
        print("failed tests:")
        for tid in sorted(failed_ids):
            if tid in result.skip_reasons and tid not in result.failed_ids:
                print("  %s  (skipped, counted as failed by MEDRIN_NO_SKIPS=1: %s)"
                      % (tid, result.skip_reasons[tid]))
            else:
                print("  " + tid)
    if skipped_ids:
        print("skipped tests:")
        for tid in sorted(skipped_ids):
            print("  %s  (%s)" % (tid, result.skip_reasons[tid]))
    print("(%.1fs)" % elapsed)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
