#!/usr/bin/env python3
"""The systemd units in packaging/systemd parse, and stay as tight as they are.

Usage: test_systemd_units.py UNIT_DIR MAN_DIR jitgated jitgate-agent    (speaks TAP)

Each unit is copied with its /usr/sbin/ binary replaced by the one just built, then
`systemd-analyze verify` must accept it without a single message (verify exits 0 on an
unknown key or a line outside a section and only warns, so any output is a failure), and
`systemd-analyze security --offline=yes` must score it at or under its threshold: 2.0 for
jitgated, 3.0 for the agent (the issue's targets; docs/security.md has today's scores).
Every man page a unit's Documentation= names must exist in docs/man. Skips without
systemd-analyze (it needs no running systemd: everything here is offline).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Skip, Tap, expect  # noqa: E402

tap = Tap()
UNIT_DIR, MAN_DIR, JITGATED, AGENT = (os.path.abspath(a) for a in sys.argv[1:5])
UNITS = {
    "jitgated.service": {"/usr/sbin/jitgated": JITGATED, "threshold": 2.0},
    "jitgate-agent.service": {"/usr/sbin/jitgate-agent": AGENT, "threshold": 3.0},
}
ANALYZE = shutil.which("systemd-analyze")


class Ctx:
    pass


def setup():
    c = Ctx()
    c.tmp = tempfile.mkdtemp(prefix="jitgate-units-")
    return c


def teardown(c):
    if c is not None:
        shutil.rmtree(c.tmp, ignore_errors=True)


def need_analyze():
    if ANALYZE is None:
        raise Skip("systemd-analyze is not installed (Debian: systemd)")


def staged(c, name, extra=""):
    """The unit with its binary path pointing at the build, as a file in c.tmp."""
    text = open(os.path.join(UNIT_DIR, name)).read()
    for installed, built in UNITS[name].items():
        if installed.startswith("/"):
            expect(installed in text, f"{name} does not run {installed}")
            text = text.replace(installed, built)
    path = os.path.join(c.tmp, name)
    with open(path, "w") as f:
        f.write(text + extra)
    return path


def verify(path):
    r = subprocess.run([ANALYZE, "verify", "--man=no", path], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def exposure(path, threshold):
    r = subprocess.run([ANALYZE, "security", "--offline=yes", f"--threshold={int(threshold * 10)}",
                        path], capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
    expect(m is not None, r.stdout[-2000:], r.stderr)
    return r.returncode, float(m.group(1)), r.stdout


@tap.test
def units_verify_without_a_message(c):
    need_analyze()
    for name in UNITS:
        rc, out = verify(staged(c, name))
        expect(rc == 0 and out == "", name, rc, out)


@tap.test
def a_broken_unit_is_caught(c):
    # The check itself can fail: an unknown key (a typo in a sandboxing setting) and a bad
    # value each produce a message.
    need_analyze()
    for extra in ("ProtectSytem=strict\n", "RestrictAddressFamilies=AF_NOSUCH\n"):
        rc, out = verify(staged(c, "jitgated.service", extra))
        expect(out != "", extra, rc)


@tap.test
def exposure_scores_within_target(c):
    need_analyze()
    for name, u in UNITS.items():
        rc, score, out = exposure(staged(c, name), u["threshold"])
        print(f"# {name}: systemd-analyze security exposure {score}")
        expect(rc == 0 and score <= u["threshold"], name, score, out[-3000:])


@tap.test
def a_loosened_unit_scores_worse(c):
    # The threshold is live: the same unit without its system-call filter and sandboxing
    # scores higher, and over the target once the capability bound goes too.
    need_analyze()
    text = open(staged(c, "jitgated.service")).read()
    loose = "\n".join(ln for ln in text.splitlines()
                      if not re.match(r"(SystemCallFilter|Protect\w+|Private\w+|Restrict\w+|"
                                      r"CapabilityBoundingSet|MemoryDenyWriteExecute)=", ln))
    path = os.path.join(c.tmp, "loose.service")
    with open(path, "w") as f:
        f.write(loose + "\n")
    rc, score, _ = exposure(path, UNITS["jitgated.service"]["threshold"])
    expect(rc != 0 and score > 2.0, rc, score)


@tap.test
def documented_man_pages_exist(c):
    for name in UNITS:
        text = open(os.path.join(UNIT_DIR, name)).read()
        pages = re.findall(r"man:([\w.-]+)\((\d)\)", text)
        expect(pages, f"{name} names no man page")
        for page, section in pages:
            p = os.path.join(MAN_DIR, f"{page}.{section}")
            expect(os.path.isfile(p), f"{name}: Documentation=man:{page}({section}) but no {p}")


@tap.test
def agent_unit_keeps_only_net_admin(c):
    # What the agent's privilege separation relies on: CAP_NET_ADMIN is the whole bound,
    # no user namespace of its own (it would cut CAP_NET_ADMIN off the host's network),
    # and prctl/capset stay allowed so the network process can drop it and filter itself.
    text = open(os.path.join(UNIT_DIR, "jitgate-agent.service")).read()
    expect(re.search(r"^CapabilityBoundingSet=CAP_NET_ADMIN$", text, re.M), "bounding set")
    expect(not re.search(r"^PrivateUsers=", text, re.M), "PrivateUsers= set")
    expect(not re.search(r"^SystemCallFilter=~.*(@privileged|@process|capset|prctl)", text, re.M),
           "filter denies what the privsep needs")


sys.exit(tap.run(setup, teardown))
