#!/usr/bin/env python3
"""Counts test cases across meson test logs and prints `N passed, N failed, N skipped`.

Each argument is a meson-logs/testlog.json. TAP tests are counted per test case
(their `ok`/`not ok` lines); other tests count once by their result. A TAP test
that crashed or timed out after its last line counts one extra failure, so a
crash can never hide behind the cases that ran before it. Exits 1 on any failure.
"""
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b(.*)$")


def count(path):
    passed = failed = skipped = 0
    failures = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            name, result = t["name"], t["result"]
            out = t.get("stdout") or ""
            cases = [TAP.match(l) for l in out.splitlines()]
            cases = [m for m in cases if m]
            if cases and t.get("protocol", "tap") != "exitcode":
                for m in cases:
                    rest = m.group(2)
                    if "# SKIP" in rest.upper() or "# skip" in rest:
                        skipped += 1
                    elif m.group(1) == "ok":
                        passed += 1
                    else:
                        failed += 1
                        failures.append(f"{name}:{rest.strip()}")
                if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(
                    m.group(1) == "not ok" for m in cases
                ):
                    failed += 1
                    failures.append(f"{name}: {result}")
            elif result == "SKIP":
                skipped += 1
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
                failures.append(f"{name}: {result}")
    return passed, failed, skipped, failures


def main():
    passed = failed = skipped = 0
    for path in sys.argv[1:]:
        p, f, s, fl = count(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
        for x in fl:
            print(f"FAILED ({path.split('/')[0]}) {x}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
