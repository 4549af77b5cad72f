#!/usr/bin/env python3
"""Reads junit.xml as a JUnit consumer would (xml.etree, which rejects any
character XML forbids) and checks it against the report.json of the same run:
one testsuite per cell, one testcase per result, each code in the right JUnit
element, and counts on every testsuite and on the root that add up.

usage: check_junit.py junit.xml report.json
"""
import json
import sys
import xml.etree.ElementTree as ET

KIND = {"PASS": None, "FAIL": "failure", "XPASS": "failure", "XFAIL": "skipped", "UNSUPPORTED": "skipped",
        "TIMEOUT": "error", "CRASH": "error", "ERROR": "error", "NOTRUN": "error", "FLAKY": None}
COUNT = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def fail(msg):
    print(f"check_junit: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    root = ET.parse(sys.argv[1]).getroot()
    with open(sys.argv[2], encoding="utf-8") as f:
        report = json.load(f)
    if root.tag != "testsuites":
        fail(f"root is <{root.tag}>, not <testsuites>")
    suites = root.findall("testsuite")
    cells = report["cells"]
    if [s.get("name") for s in suites] != [c["id"] for c in cells]:
        fail("testsuites are not the cells, in order")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite, cell in zip(suites, cells):
        cases = suite.findall("testcase")
        results = [(s, r) for s in cell["scenarios"] for r in s["results"]]
        if len(cases) != len(results):
            fail(f"{cell['id']}: {len(cases)} testcases for {len(results)} results")
        counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
        for case, (scenario, result) in zip(cases, results):
            name = scenario["scenario"] + ("/" + result["check"] if result["check"] else "")
            if case.get("classname") != cell["id"] or case.get("name") != name:
                fail(f"{cell['id']}: testcase {case.get('classname')}/{case.get('name')} is not {name}")
            kinds = [k for k in ("failure", "error", "skipped") if case.find(k) is not None]
            want = KIND[result["code"]]
            if kinds != ([want] if want else []):
                fail(f"{cell['id']} {name}: {result['code']} written as {kinds or 'a pass'}")
            if want:
                counts[COUNT[want]] += 1
            # Reruns as Maven Surefire writes them: a FLAKY result passes with one
            # flaky* element per failed attempt; a failure keeps one rerun* per failed rerun.
            failed = [a for a in scenario.get("attempts", []) if KIND[a["code"]] in ("failure", "error")]
            flaky = case.findall("flakyFailure") + case.findall("flakyError")
            rerun = case.findall("rerunFailure") + case.findall("rerunError")
            if result["code"] == "FLAKY":
                want_flaky, want_rerun = len(failed), 0
            elif want in ("failure", "error"):
                want_flaky, want_rerun = 0, len([a for a in failed if a["attempt"] > 1])
            else:
                want_flaky, want_rerun = 0, 0
            if (len(flaky), len(rerun)) != (want_flaky, want_rerun):
                fail(f"{cell['id']} {name}: {len(flaky)} flaky and {len(rerun)} rerun elements, "
                     f"expected {want_flaky} and {want_rerun}")
            out = case.find("system-out")
            if scenario["stdout"] and (out is None or not out.text):
                fail(f"{cell['id']} {name}: the scenario's stdout is missing")
        for k, v in counts.items():
            if suite.get(k) != str(v):
                fail(f"{cell['id']}: {k}={suite.get(k)}, counted {v}")
            total[k] += v
    for k, v in total.items():
        if root.get(k) != str(v):
            fail(f"testsuites: {k}={root.get(k)}, counted {v}")
    print(f"check_junit: {len(suites)} testsuites, {total['tests']} testcases: consistent with {sys.argv[2]}")


if __name__ == "__main__":
    main()
