#!/usr/bin/env python3
"""The keyed, anchored audit chain against a real jitgated and the jitgate CLI (issue 18;
finding 5 of issue 11: the chain was forgeable by anyone who could write the database).

Usage: test_audit_keys.py PATH/TO/jitgate PATH/TO/jitgated    (speaks TAP)

The attacker here can write the database (sqlite3 on the stopped server's file) but not
read the audit key file. They rewrite an entry, delete another, renumber and re-chain
everything after it with the unkeyed hash (and, again, with a key of their own), and
update the recorded head: verify names the first rewritten entry. Cutting the tail off
(every remaining MAC still valid) or rolling back to an older copy passes a plain verify,
and is caught by a signed checkpoint taken before. The test's own re-implementation of the
MAC is checked against the server's (with the real key, which only the test holds), so a
forgery that fails is one that would have passed without the key. Also: the key file is
created 0600 on first start and refused when unsafe; checkpoints come from the API and the
operator log and are verified by the CLI (signature, pinned key, tampering); rotation.
"""
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect  # noqa: E402

tap = Tap()
LOC = "westeurope"
CLI, JITGATED = (os.path.abspath(a) for a in sys.argv[1:3])


def in_(seconds):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Ctx:
    pass


def setup():
    c = Ctx()
    c.srv = Server(JITGATED).start()
    c.tmp = tempfile.mkdtemp(prefix="jitgate-audit-keys-")
    c.home = os.path.join(c.tmp, "home")
    os.mkdir(c.home)
    c.db = os.path.join(c.srv.state_dir, "jitgate.db")
    c.keyfile = os.path.join(c.srv.state_dir, "audit.key")
    sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.rgp = f"/subscriptions/{sub}/resourceGroups/rg1"
    c.vm = lambda v: f"{c.rgp}/providers/Microsoft.Compute/virtualMachines/{v}"
    c.pol = f"{c.rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/p"
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()
        shutil.rmtree(c.tmp, ignore_errors=True)


def cli(c, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITGATE_")}
    env.update(HOME=c.home, JITGATE_SERVER=c.srv.url, JITGATE_TOKEN=c.srv.admin_token,
               JITGATE_CA=os.path.join(c.srv.state_dir, "tls", "cert.pem"))
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, env=env,
                          timeout=60)


def some_entries(c, n=3):
    expect(c.srv.request("PUT", c.rgp, {"location": LOC})[0] in (200, 201))
    for v in ("vm1", "vm2"):
        expect(c.srv.request("PUT", c.vm(v), {"properties": {"osType": "Linux",
               "addresses": [f"10.0.0.{1 if v == 'vm1' else 2}"]}})[0] in (200, 201))
    st, body, _ = c.srv.request("PUT", c.pol, {"properties": {"virtualMachines": [
        {"id": c.vm(v), "ports": [{"number": 22, "protocol": "TCP",
                                   "allowedSourceAddressPrefix": "*",
                                   "maxRequestAccessDuration": "PT3H"}]} for v in ("vm1", "vm2")]}})
    expect(st == 200, body)
    for i in range(n):
        st, body, _ = c.srv.request("POST", c.pol + "/initiate", {"virtualMachines": [
            {"id": c.vm("vm1"), "ports": [{"number": 22, "endTimeUtc": in_(600),
                                           "allowedSourceAddressPrefix": f"10.9.0.{i + 1}"}]}],
            "justification": f"ticket {uuid.uuid4()}"})
        expect(st == 202, st, body)


def verify(c, **q):
    st, body, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs/verify", query=q or None)
    expect(st == 200, st, body)
    return body


# -- the chain's encoding, as an attacker with the source would write it --

def field(h, v):
    if v is None:
        h.update(b"\xff" * 8)
    else:
        b = str(v).encode()
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)


def entry_hash(prev, row, key=None):
    """row: seq, time_ns, principal_id, principal_name, caller, operation, resource_id,
    result, status, correlation_id, details, vms (as stored)."""
    h = hashlib.blake2b(digest_size=32, key=key or b"")
    field(h, "jitgate-audit-mac-v1" if key else "jitgate-audit-v1")
    field(h, prev)
    seq, time_ns, pid = row[0], row[1], row[2]
    for v in (seq, time_ns, pid if pid else None) + tuple(row[3:8]) + (row[8],) + tuple(row[9:12]):
        field(h, v)
    return h.hexdigest()


COLS = ("seq, time_ns, principal_id, principal_name, caller, operation, resource_id, result,"
        " status, correlation_id, details, vms")


def rows(db):
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT {COLS}, prev_hash, hash FROM audit ORDER BY seq").fetchall()


def real_key(c):
    with open(c.keyfile) as f:
        lines = [ln.split() for ln in f if ln.startswith("mac ")]
    return bytes.fromhex(lines[-1][2])


def rechain(db, key=None, first=1):
    """Recomputes every hash from entry first on (the forger's step) and the head."""
    with sqlite3.connect(db) as con:
        all_rows = con.execute(f"SELECT {COLS}, prev_hash FROM audit ORDER BY seq").fetchall()
        prev = "0" * 64
        for r in all_rows:
            if r[0] >= first:
                h = entry_hash(prev, r[:12], key)
                con.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
                            (prev, h, r[0]))
            else:
                h = con.execute("SELECT hash FROM audit WHERE seq = ?", (r[0],)).fetchone()[0]
            prev = h
        last = all_rows[-1][0]
        con.execute("UPDATE meta SET value = ? WHERE key = 'audit_head_seq'", (str(last),))
        con.execute("UPDATE meta SET value = ? WHERE key = 'audit_head_hash'", (prev,))


def forge(db, rewrite, delete, key=None):
    """Rewrites entry `rewrite`, deletes entry `delete` (> rewrite) and renumbers the
    entries after it so that no seq is missing, then re-chains from `rewrite` on."""
    with sqlite3.connect(db) as con:
        con.execute("UPDATE audit SET details = ? WHERE seq = ?",
                    ('{"justification":"nothing to see"}', rewrite))
        con.execute("DELETE FROM audit WHERE seq = ?", (delete,))
        con.execute("DELETE FROM audit_vms WHERE seq = ?", (delete,))
        last = con.execute("SELECT max(seq) FROM audit").fetchone()[0]
        for s in range(delete + 1, last + 1):
            con.execute("UPDATE audit SET seq = ? WHERE seq = ?", (s - 1, s))
            con.execute("UPDATE audit_vms SET seq = ? WHERE seq = ?", (s - 1, s))
    rechain(db, key, first=rewrite)


def copy_db(src, dst):
    """An SQLite database is its file and its WAL: both go together (the stopped server
    may not have folded the WAL into the file)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.remove(dst + suffix)
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)


def restart(c, *extra):
    c.srv.stop()
    c.srv.extra_args = list(extra)
    c.srv.start()


def checkpoint(c, name):
    st, body, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs/checkpoint")
    expect(st == 200 and set(body) == {"sequence", "head", "timeUtc", "publicKey", "signature"},
           st, body)
    path = os.path.join(c.tmp, name)
    with open(path, "w") as f:
        json.dump(body, f)
    return path, body


@tap.test
def key_file_is_created_private_on_first_start(c):
    st = os.stat(c.keyfile)
    expect(st.st_mode & 0o777 == 0o600, oct(st.st_mode))
    with open(c.keyfile) as f:
        text = f.read()
    expect(text.startswith("jitgate-audit-keys 1\n") and "\nmac 1 " in text and "\nsign " in text,
           "key file layout")
    log = c.srv.log()
    expect("event=audit_key_created" in log, "the creation is logged")
    key_hex = text.split("\nmac 1 ")[1].split()[0]
    expect(key_hex not in log, "the key is in the log")
    # The database holds no key: not one byte string of it.
    with open(c.db, "rb") as f:
        expect(bytes.fromhex(key_hex) not in f.read() and key_hex.encode() not in open(c.db, "rb").read(),
               "the key is in the database")


@tap.test
def entries_carry_a_mac_under_the_key(c):
    some_entries(c)
    v = verify(c)
    expect(v["verified"] is True and v["keyed"] is True and v["entries"] >= 6, v)
    # Our re-implementation is exact: with the key it computes what the server stored...
    prev = "0" * 64
    key = real_key(c)
    for r in rows(c.db):
        expect(r[12] == prev and entry_hash(prev, r[:12], key) == r[13], "MAC of entry", r[0])
        # ...and the unkeyed hash an attacker could compute is not it.
        expect(entry_hash(prev, r[:12]) != r[13], "unkeyed hash accepted", r[0])
        prev = r[13]


@tap.test
def checkpoints_from_the_api_and_the_log_verify(c):
    path, body = checkpoint(c, "cp-api.json")
    r = cli(c, "audit", "verify", "--checkpoint", path)
    expect(r.returncode == 0 and "matches the checkpoint" in r.stdout, r.stdout, r.stderr)
    r = cli(c, "audit", "verify", "--checkpoint", path, "--public-key", body["publicKey"])
    expect(r.returncode == 0, r.stdout, r.stderr)
    r = cli(c, "audit", "checkpoint", "-o", "json")
    expect(r.returncode == 0 and json.loads(r.stdout)["publicKey"] == body["publicKey"], r)
    # The operator log's line (jitgated writes one at start and when the head moves).
    lines = [ln for ln in c.srv.log().splitlines() if "event=audit_checkpoint" in ln]
    expect(lines, "no audit_checkpoint line in jitgated's log")
    logged = os.path.join(c.tmp, "cp-log.txt")
    with open(logged, "w") as f:
        f.write(lines[-1] + "\n")
    r = cli(c, "audit", "verify", "--checkpoint", logged)
    expect(r.returncode == 0, r.stdout, r.stderr)


@tap.test
def a_tampered_or_foreign_checkpoint_is_refused(c):
    path, body = checkpoint(c, "cp.json")
    for what, change in (("head", "0" * 64), ("sequence", body["sequence"] + 1),
                         ("timeUtc", "2020-01-01T00:00:00.0000000Z")):
        bad = dict(body, **{what: change})
        p = os.path.join(c.tmp, f"bad-{what}.json")
        with open(p, "w") as f:
            json.dump(bad, f)
        r = cli(c, "audit", "verify", "--checkpoint", p)
        expect(r.returncode == 1 and "signature does not verify" in r.stderr, what, r.stderr)
    r = cli(c, "audit", "verify", "--checkpoint", path, "--public-key", "ab" * 32)
    expect(r.returncode == 1 and "not by the --public-key" in r.stderr, r.stderr)
    # A valid signature, but over a head this log never had: the server says no.
    st, v, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs/verify", query={
        "checkpointSequence": body["sequence"], "checkpointHead": "1" * 64})
    expect(st == 200 and v["verified"] is False and
           v["firstBrokenSeq"] == body["sequence"], v)


@tap.test
def forgery_without_the_key_is_detected(c):
    """Finding 5: rewrite an entry, delete another, renumber, re-chain, update the head."""
    some_entries(c, n=4)
    n = len(rows(c.db))
    backup = os.path.join(c.tmp, "before-forgery.db")
    c.srv.stop()
    copy_db(c.db, backup)
    rewrite, delete = n - 4, n - 2
    for attempt, key in (("unkeyed hash", None), ("a key of the attacker's", os.urandom(32))):
        copy_db(backup, c.db)
        forge(c.db, rewrite, delete, key)
        c.srv.start()
        v = verify(c)
        expect(v["verified"] is False and v["firstBrokenSeq"] == rewrite and
               "MAC" in v["reason"], attempt, v)
        r = cli(c, "audit", "verify")
        expect(r.returncode == 1 and f"first broken entry is {rewrite}" in r.stderr, r.stderr)
        c.srv.stop()
    # The control: the same forgery with the real key passes, so the key is what stops it.
    copy_db(backup, c.db)
    forge(c.db, rewrite, delete, real_key(c))
    c.srv.start()
    expect(verify(c)["verified"] is True, "the encoding of this test is not the server's")
    c.srv.stop()
    copy_db(backup, c.db)
    c.srv.start()
    expect(verify(c)["verified"] is True)


@tap.test
def cut_back_or_rolled_back_logs_fail_against_a_checkpoint(c):
    old = os.path.join(c.tmp, "older.db")
    c.srv.stop()
    copy_db(c.db, old)
    c.srv.start()
    some_entries(c, n=2)
    path, body = checkpoint(c, "cp-head.json")
    c.srv.stop()
    backup = os.path.join(c.tmp, "before-cut.db")
    copy_db(c.db, backup)
    # Cut the last two entries off and move the head back: every MAC left is valid.
    with sqlite3.connect(c.db) as con:
        last = con.execute("SELECT max(seq) FROM audit").fetchone()[0]
        con.execute("DELETE FROM audit WHERE seq > ?", (last - 2,))
        con.execute("DELETE FROM audit_vms WHERE seq > ?", (last - 2,))
        h = con.execute("SELECT hash FROM audit WHERE seq = ?", (last - 2,)).fetchone()[0]
        con.execute("UPDATE meta SET value = ? WHERE key = 'audit_head_seq'", (str(last - 2),))
        con.execute("UPDATE meta SET value = ? WHERE key = 'audit_head_hash'", (h,))
    for what in ("cut back", "rolled back"):
        if what == "rolled back":
            c.srv.stop()
            copy_db(old, c.db)
        c.srv.start()
        # Alone, the database cannot tell (no anchor outside it)...
        expect(verify(c)["verified"] is True, what)
        # ...the checkpoint can, and names its entry.
        r = cli(c, "audit", "verify", "--checkpoint", path)
        expect(r.returncode == 1 and f"first broken entry is {body['sequence']}" in r.stderr and
               "before the checkpoint" in r.stderr, what, r.stderr)
    c.srv.stop()
    copy_db(backup, c.db)
    c.srv.start()
    r = cli(c, "audit", "verify", "--checkpoint", path)
    expect(r.returncode == 0, r.stderr)


@tap.test
def unsafe_key_files_are_refused(c):
    c.srv.stop()
    saved = os.path.join(c.tmp, "audit.key.saved")
    shutil.copyfile(c.keyfile, saved)
    try:
        os.chmod(c.keyfile, 0o640)
        r = subprocess.run([JITGATED, "--state-dir", c.srv.state_dir, "--listen", "127.0.0.1:0"]
                           + (["--allow-root"] if os.geteuid() == 0 else []),
                           capture_output=True, text=True, timeout=30)
        expect(r.returncode == 1 and "mode 0600" in r.stderr, r.stderr)
        os.remove(c.keyfile)
        os.symlink(saved, c.keyfile)
        r = subprocess.run([JITGATED, "--state-dir", c.srv.state_dir, "--listen", "127.0.0.1:0"]
                           + (["--allow-root"] if os.geteuid() == 0 else []),
                           capture_output=True, text=True, timeout=30)
        expect(r.returncode == 1 and "symlink" in r.stderr, r.stderr)
    finally:
        if os.path.islink(c.keyfile) or os.path.exists(c.keyfile):
            os.remove(c.keyfile)
        shutil.copyfile(saved, c.keyfile)
        os.chmod(c.keyfile, 0o600)
    c.srv.start()
    expect(verify(c)["verified"] is True)


@tap.test
def rotation_keeps_old_entries_verifiable(c):
    old_path, old_cp = checkpoint(c, "cp-before-rotation.json")
    root = ["--allow-root"] if os.geteuid() == 0 else []
    # Not while jitgated runs: its entries would race the new key.
    r = subprocess.run([JITGATED, "--state-dir", c.srv.state_dir, "--rotate-audit-key"] + root,
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode == 1 and "in use by another jitgated" in r.stderr, r.stderr)
    c.srv.stop()
    head = len(rows(c.db))
    r = subprocess.run([JITGATED, "--state-dir", c.srv.state_dir, "--rotate-audit-key"] + root,
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode == 0 and "event=audit_key_rotated" in r.stderr, r.stderr)
    with open(c.keyfile) as f:
        macs = [ln.split() for ln in f if ln.startswith("mac ")]
    expect(len(macs) == 2 and int(macs[1][1]) == head + 1, macs)
    expect(os.stat(c.keyfile).st_mode & 0o777 == 0o600)
    c.srv.start()
    some_entries(c, n=2)
    v = verify(c)
    expect(v["verified"] is True and v["entries"] > head, v)
    # Entries after the rotation are under the new key, those before under the old one.
    rs = rows(c.db)
    expect(entry_hash(rs[head][12], rs[head][:12], bytes.fromhex(macs[1][2])) == rs[head][13],
           "the first entry after the rotation is not under the new key")
    new_path, new_cp = checkpoint(c, "cp-after-rotation.json")
    expect(new_cp["publicKey"] != old_cp["publicKey"], "a new signing key")
    for p, pk in ((old_path, old_cp["publicKey"]), (new_path, new_cp["publicKey"])):
        r = cli(c, "audit", "verify", "--checkpoint", p, "--public-key", pk)
        expect(r.returncode == 0, p, r.stderr)
    expect(re.search(r"event=audit_checkpoint seq=\d+ head=[0-9a-f]{64}", c.srv.log()),
           "checkpoints in the log")


sys.exit(tap.run(setup, teardown))
