#!/usr/bin/env python3
"""Audit log, VM JIT states and statistics against a real jitgated.

Usage: test_audit.py PATH/TO/jitgated    (speaks TAP)
Every audited operation leaves an entry; verification passes on an untouched log and
fails on each kind of tampering (altered, deleted, reordered, truncated rows: made with
sqlite3 on a copy of a stopped server's database); CSV exports parse back; the three VM
states and each Unsupported reason come from real conditions; statistics respect the
7-day window.
"""
import concurrent.futures
import csv
import datetime as dt
import io
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect, expect_error  # noqa: E402

tap = Tap()
LOC = "westeurope"


def in_(seconds):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Ctx:
    pass


def setup():
    c = Ctx()
    c.srv = Server(sys.argv[1]).start()
    c.sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.rgp = f"/subscriptions/{c.sub}/resourceGroups/rg1"
    c.vm = lambda v: f"{c.rgp}/providers/Microsoft.Compute/virtualMachines/{v}"
    c.pol = f"{c.rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    c.extra = []
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()
        for s in c.extra:
            s.cleanup()


def audit(c, path=None, token="admin", **q):
    path = path or "/providers/Jitgate/auditLogs"
    st, body, _ = c.srv.request("GET", path, token=token, query=q or None)
    expect(st == 200, st, body)
    return body["value"]


def ops(entries):
    return [e["operationName"] for e in entries]


def enroll(c, name, vm=None, kind="host"):
    st, tok, _ = c.srv.request("POST", f"{c.rgp}/providers/Jitgate/enrollmentTokens", {})
    expect(st == 201, tok)
    body = {"enrollmentToken": tok["token"], "name": name, "kind": kind}
    if vm:
        body["vm"] = {"name": vm, "osType": "Linux", "addresses": ["10.5.0.9"]}
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", body, token=None, api_version=None)
    expect(st == 200, e)
    return e


@tap.test
def every_operation_is_audited(c):
    srv = c.srv
    srv.request("PUT", c.rgp, {"location": LOC})
    for v in ("vm1", "vm2"):
        srv.request("PUT", c.vm(v), {"properties": {"osType": "Linux", "addresses": ["10.5.0.4"]}})
    body = {"properties": {"virtualMachines": [{"id": c.vm("vm1"), "ports": [
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT3H"}]}]}}
    expect(srv.request("PUT", c.pol, body)[0] == 200)
    body["properties"]["virtualMachines"].append({"id": c.vm("vm2"), "ports": [
        {"number": 3389, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT1H"}]})
    expect(srv.request("PUT", c.pol, body)[0] == 200)
    st, _, _ = srv.request("POST", c.pol + "/initiate", {"virtualMachines": [{"id": c.vm("vm1"),
                           "ports": [{"number": 22, "endTimeUtc": in_(1.5),
                                      "allowedSourceAddressPrefix": "10.9.8.7"}]}],
                           "justification": "INC-42 disk full"})
    expect(st == 202)
    expect_error(srv.request("POST", c.pol + "/initiate", {"virtualMachines": [{"id": c.vm("vm1"),
                 "ports": [{"number": 80, "endTimeUtc": in_(60)}]}]}), 400)
    expect_error(srv.request("GET", "/subscriptions", token="jgt_0123456789abcdef_" + "Q" * 43), 401)
    srv.request("PUT", "/providers/Jitgate/principals/alice", {})
    st, tok, _ = srv.request("POST", "/providers/Jitgate/principals/alice/tokens", {"name": "laptop"})
    expect_error(srv.request("GET", c.pol, token=tok["token"]), 403)
    srv.request("PUT", f"{c.rgp}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                {"properties": {"roleDefinitionId": "Reader", "principalId": "alice"}})
    srv.request("DELETE", f"/providers/Jitgate/principals/alice/tokens/{tok['id']}")
    e = enroll(c, "ep-vm1", vm="vm1")
    # The agent reports the state it applied: a "grant applied" entry.
    st, ds, _ = srv.request("GET", "/agent/v1/desired-state", token=e["credential"], api_version=None)
    st, _, _ = srv.request("POST", "/agent/v1/status", {"appliedVersion": ds["version"],
                           "healthy": True, "capabilities": {"nftables": True}},
                           token=e["credential"], api_version=None)
    expect(st == 204)
    srv.request("PUT", c.vm("tmp"), {"properties": {"osType": "Windows"}})
    srv.request("DELETE", c.vm("tmp"))
    time.sleep(3)  # the initiated grant ends; the sweeper writes it down
    expect(srv.request("DELETE", c.pol)[0] == 200)

    entries = audit(c, top=1000)
    got = ops(entries)
    want = {
        "Microsoft.Resources/subscriptions/resourceGroups/write": "Succeeded",
        "Microsoft.Compute/virtualMachines/write": "Succeeded",
        "Microsoft.Compute/virtualMachines/delete": "Succeeded",
        "Microsoft.Security/locations/jitNetworkAccessPolicies/write": "Succeeded",
        "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action": "Succeeded",
        "Microsoft.Security/locations/jitNetworkAccessPolicies/expire/action": "Succeeded",
        "Microsoft.Security/locations/jitNetworkAccessPolicies/delete": "Succeeded",
        "Jitgate/signIn/action": "Failed",
        "Jitgate/principals/write": "Succeeded",
        "Jitgate/principals/tokens/write": "Succeeded",
        "Jitgate/principals/tokens/delete": "Succeeded",
        "Microsoft.Authorization/roleAssignments/write": "Succeeded",
        "Jitgate/enrollmentTokens/write": "Succeeded",
        "Jitgate/enforcementPoints/enroll/action": "Succeeded",
        "Jitgate/enforcementPoints/apply/action": "Succeeded",
    }
    for op, result in want.items():
        expect(any(e["operationName"] == op and e["result"] == result for e in entries),
               f"no {result} entry for {op}", got)
    # An expiry's sources are JSON, not JSON inside a string.
    exp = next(e for e in entries if e["operationName"].endswith("expire/action"))
    expect(exp["details"]["sources"] == ["10.9.8.7"], exp)
    # Denied and refused attempts are there too.
    expect(any(e["operationName"].endswith("initiate/action") and e["statusCode"] == 400
               for e in entries), "refused initiate not audited")
    expect(any(e["statusCode"] == 403 and e["principalName"] == "alice" for e in entries),
           "authorization failure not audited")
    # The initiate entry answers who, from where, when, why and until when.
    ini = next(e for e in entries if e["operationName"].endswith("initiate/action")
               and e["result"] == "Succeeded")
    port = ini["details"]["virtualMachines"][0]["ports"][0]
    expect(ini["principalName"] == "admin" and ini["callerAddress"] == "127.0.0.1", ini)
    expect(ini["details"]["justification"] == "INC-42 disk full", ini)
    expect(port["allowedSourceAddressPrefix"] == "10.9.8.7" and "endTimeUtc" in port, ini)
    seqs = [e["seq"] for e in entries]
    expect(seqs == sorted(seqs, reverse=True), "newest first", seqs)
    # Each committed entry also went to the operator log with its hash.
    expect(f"hash={entries[0]['hash']}" in srv.log(), "audit line missing from the log")


@tap.test
def per_vm_filters_and_paging(c):
    vm1 = audit(c, f"{c.vm('vm1')}/providers/Jitgate/auditLogs", top=1000)
    expect(vm1 and all(c.vm("vm1") in e.get("virtualMachines", []) for e in vm1), vm1)
    expect(any(e["operationName"].endswith("initiate/action") for e in vm1), ops(vm1))
    expect(any(e["operationName"].endswith("initiate/action") and e["result"] == "Failed"
               for e in vm1), "a refused initiate is in the VM's own log", ops(vm1))
    vm2 = audit(c, f"{c.vm('vm2')}/providers/Jitgate/auditLogs", top=1000)
    expect(not any(e["operationName"].endswith("initiate/action") and e["result"] == "Succeeded"
                   for e in vm2), "vm2 was never initiated", ops(vm2))
    by_name = audit(c, f"{c.rgp}/providers/Jitgate/auditLogs", vm="vm1", top=1000)
    expect([e["seq"] for e in by_name] == [e["seq"] for e in vm1], "vm= filter")
    only = audit(c, principal="alice", top=1000)
    expect(only and all(e["principalName"] == "alice" for e in only), only)
    writes = audit(c, operation="*jitNetworkAccessPolicies/write", top=1000)
    expect(len(writes) >= 2 and all(e["operationName"].endswith("/write") for e in writes))
    since = audit(c, since=in_(-3600), until=in_(3600), top=1000)
    expect(len(since) == len(audit(c, top=1000)))
    expect(audit(c, since=in_(3600)) == [], "nothing in the future")
    # Paging: nextLink walks the whole log without repeats.
    seen, path, q = [], "/providers/Jitgate/auditLogs", {"top": 5}
    while True:
        st, page, _ = c.srv.request("GET", path, query=q)
        expect(st == 200, page)
        seen += [e["seq"] for e in page["value"]]
        if "nextLink" not in page:
            break
        expect(page["nextLink"].startswith(c.srv.url + "/"), "nextLink is absolute", page["nextLink"])
        path, _, query = page["nextLink"][len(c.srv.url):].partition("?")
        q = dict(kv.split("=", 1) for kv in query.split("&") if not kv.startswith("api-version"))
    expect(seen == [e["seq"] for e in audit(c, top=1000)], "paging lost or repeated entries")
    # A Host header that is not one of the server's names is never echoed into a link.
    st, page, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"top": 2},
                                headers={"Host": "attacker.example"})
    expect(st == 200 and page["nextLink"].startswith("/providers/"), page.get("nextLink"))
    expect_error(c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"since": "yesterday"}), 400)
    expect_error(c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"top": "0"}), 400)


@tap.test
def readers_see_their_scope_only(c):
    srv = c.srv
    srv.request("PUT", f"/subscriptions/{c.sub}/resourceGroups/rg2", {"location": LOC})
    srv.request("PUT", f"/subscriptions/{c.sub}/resourceGroups/rg2/providers/Microsoft.Compute/"
                "virtualMachines/other", {"properties": {"osType": "Linux"}})
    srv.request("PUT", "/providers/Jitgate/principals/auditor", {})
    srv.request("PUT", f"{c.rgp}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                {"properties": {"roleDefinitionId": "Security Reader", "principalId": "auditor"}})
    tok = srv.request("POST", "/providers/Jitgate/principals/auditor/tokens", {"name": "t"})[1]["token"]
    mine = audit(c, f"/subscriptions/{c.sub}/providers/Jitgate/auditLogs", token=tok, top=1000)
    expect(mine, "the auditor sees rg1's entries")
    expect(all((e.get("resourceId") or "").lower().startswith(c.rgp.lower()) for e in mine),
           [e.get("resourceId") for e in mine])
    expect_error(srv.request("GET", "/providers/Jitgate/auditLogs/verify", token=tok), 403)
    # No route deletes or edits the log.
    for m in ("DELETE", "PUT", "POST"):
        st, _, _ = srv.request(m, "/providers/Jitgate/auditLogs", {} if m != "DELETE" else None)
        expect(st in (404, 405), m, st)


@tap.test
def csv_export_parses_and_is_formula_safe(c):
    srv = c.srv
    srv.request("PUT", "/providers/Jitgate/principals/-2+3", {})  # refused: '+' is not allowed
    st, _, _ = srv.request("PUT", "/providers/Jitgate/principals/-cmd", {})
    expect(st == 201, st)
    tok = srv.request("POST", "/providers/Jitgate/principals/-cmd/tokens", {"name": "=HYPERLINK()"})
    expect(tok[0] == 201)
    expect_error(srv.request("GET", c.pol, token=tok[1]["token"]), 403)
    import urllib.request
    req = urllib.request.Request(f"{srv.url}/providers/Jitgate/auditLogs?api-version=2020-01-01"
                                 f"&format=csv", headers={"Authorization": f"Bearer {srv.admin_token}"})
    with urllib.request.urlopen(req, context=srv.ssl) as r:
        expect(r.status == 200 and r.headers["Content-Type"].startswith("text/csv"), r.headers)
        text = r.read().decode()
    expect("\r\n" in text, "RFC 4180 line ends")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    expect(len(rows) == len(audit(c, top=1000)), len(rows))
    ini = [r for r in rows if r["operation"].endswith("initiate/action") and r["result"] == "Succeeded"]
    expect(ini and "INC-42 disk full" in ini[-1]["details"], ini)
    cmd = [r for r in rows if r["principal"].lstrip("'") == "-cmd"]
    expect(cmd and all(r["principal"] == "'-cmd" for r in cmd), "formula cell not neutralised", cmd)
    for r in rows:
        for v in r.values():
            expect(not v or v[0] not in "=+-@\t\r", "a cell could start a formula", r)
    vm_csv = audit_csv(srv, f"{c.vm('vm1')}/providers/Jitgate/auditLogs")
    expect(len(vm_csv) == len(audit(c, f"{c.vm('vm1')}/providers/Jitgate/auditLogs", top=1000)))


def audit_csv(srv, path):
    import urllib.request
    req = urllib.request.Request(f"{srv.url}{path}?api-version=2020-01-01",
                                 headers={"Authorization": f"Bearer {srv.admin_token}",
                                          "Accept": "text/csv"})
    with urllib.request.urlopen(req, context=srv.ssl) as r:
        return list(csv.DictReader(io.StringIO(r.read().decode(), newline="")))


def tampered(c, how):
    """Copies the stopped server's state, tampers with the copy, verifies it."""
    d = tempfile.mkdtemp(prefix="jitgate-tamper-")
    shutil.rmtree(d)
    shutil.copytree(c.srv.state_dir, d)
    db = sqlite3.connect(os.path.join(d, "jitgate.db"))
    how(db)
    db.commit()
    db.close()
    srv = Server(c.srv.binary, state_dir=d)
    srv.own_dir = True
    c.extra.append(srv)
    srv.start()
    st, v, _ = srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    srv.stop()
    expect(st == 200, st, v)
    return v


@tap.test
def verify_detects_every_kind_of_tampering(c):
    st, v, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True and v["entries"] > 20, v)
    c.srv.require_sqlite("tampers with a copy of the SQLite file")
    expect(c.srv.stop() == 0)
    n = v["entries"]
    mid = n // 2

    def alter(db):
        db.execute("UPDATE audit SET caller = '10.66.66.66' WHERE seq = ?", (mid,))

    def alter_details(db):
        db.execute("UPDATE audit SET details = replace(details, 'INC-42', 'INC-43')"
                   " WHERE details LIKE '%INC-42%'")

    def delete_middle(db):
        db.execute("DELETE FROM audit WHERE seq = ?", (mid,))

    def delete_last(db):
        db.execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")

    def reorder(db):
        a = db.execute("SELECT * FROM audit WHERE seq = ?", (mid,)).fetchone()
        b = db.execute("SELECT * FROM audit WHERE seq = ?", (mid + 1,)).fetchone()
        cols = [d[1] for d in db.execute("PRAGMA table_info(audit)")]
        for row, seq in ((b, mid), (a, mid + 1)):
            sets = ", ".join(f"{k} = ?" for k in cols if k != "seq")
            db.execute(f"UPDATE audit SET {sets} WHERE seq = ?",
                       [row[i] for i, k in enumerate(cols) if k != "seq"] + [seq])

    def rehash_one(db):
        # Altering a row and its own hash still breaks the next row's link.
        db.execute("UPDATE audit SET result = 'Failed', hash = ? WHERE seq = ?", ("f" * 64, mid))

    def hide_from_scoped_queries(db):
        # Derived index columns are not hashed but verify recomputes them.
        db.execute("UPDATE audit SET resource_key = '/elsewhere' WHERE details LIKE '%INC-42%'")

    def unindex_vm(db):
        db.execute("DELETE FROM audit_vms WHERE seq = (SELECT seq FROM audit WHERE details"
                   " LIKE '%INC-42%' AND operation LIKE '%initiate/action')")

    cases = [("altered row", alter, mid), ("altered details", alter_details, None),
             ("hidden from scoped queries", hide_from_scoped_queries, None),
             ("removed from the VM index", unindex_vm, None),
             ("deleted row", delete_middle, mid), ("deleted last row", delete_last, n),
             ("reordered rows", reorder, mid), ("re-hashed row", rehash_one, mid)]
    for name, how, at in cases:
        v = tampered(c, how)
        expect(v["verified"] is False, f"{name} not detected", v)
        if at is not None:
            expect(v["firstBrokenSeq"] in (at, at + 1), f"{name}: wrong first broken seq", v)
        expect(v["reason"], v)
    c.srv.start()
    st, v, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(v["verified"] is True, "the original still verifies", v)


@tap.test
def vm_states_and_unsupported_reasons(c):
    srv = c.srv
    for v in ("noagent", "nonft", "fine", "inpolicy"):
        srv.request("PUT", c.vm(v), {"properties": {"osType": "Linux", "addresses": ["10.5.1.1"]}})
    # An agent that reports nftables missing, and one that can enforce.
    bad = enroll(c, "ep-nonft", vm="nonft")
    srv.request("POST", "/agent/v1/status", {"appliedVersion": 1, "healthy": False,
                "capabilities": {"nftables": False}}, token=bad["credential"], api_version=None)
    enroll(c, "ep-fine", vm="fine")
    good = enroll(c, "ep-inpolicy", vm="inpolicy")
    srv.request("POST", "/agent/v1/status", {"appliedVersion": 1, "healthy": True,
                "capabilities": {"nftables": True}}, token=good["credential"], api_version=None)
    expect(srv.request("PUT", c.pol, {"properties": {"virtualMachines": [{"id": c.vm("inpolicy"),
           "ports": [{"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                      "maxRequestAccessDuration": "PT3H"}]}]}})[0] == 200)

    def jit(v):
        return srv.request("GET", c.vm(v))[1]["properties"]["jit"]

    expect(jit("noagent")["state"] == "Unsupported" and
           "missing network security group" in jit("noagent")["reason"], jit("noagent"))
    expect(jit("nonft")["state"] == "Unsupported" and "nftables" in jit("nonft")["reason"],
           jit("nonft"))
    expect(jit("fine")["state"] == "NotConfigured", jit("fine"))
    j = jit("inpolicy")
    expect(j["state"] == "Configured" and j["policy"] == c.pol, j)
    expect(j["enforcementPointHealthy"] is True and j["connection"]["ports"] == [{"number": 22}], j)
    expect(j["enforcementPointDesiredVersion"] >= 1 and j["enforcementPointAppliedVersion"] == 1, j)
    expect(j["connection"]["addresses"] == ["10.5.0.9"], j)
    # In a policy without an enforcement point: Unsupported (nothing locks its ports).
    expect(srv.request("PUT", c.pol, {"properties": {"virtualMachines": [
        {"id": c.vm(v), "ports": [{"number": 22, "protocol": "TCP",
                                   "allowedSourceAddressPrefix": "*",
                                   "maxRequestAccessDuration": "PT3H"}]}
        for v in ("inpolicy", "noagent")]}})[0] == 200)
    j = jit("noagent")
    expect(j["state"] == "Unsupported" and "missing network security group" in j["reason"]
           and j["policy"] == c.pol, j)
    lst = srv.request("GET", f"{c.rgp}/providers/Microsoft.Compute/virtualMachines",
                      query={"state": "Configured"})[1]["value"]
    expect([v["name"] for v in lst] == ["inpolicy"], lst)
    expect_error(srv.request("GET", f"{c.rgp}/providers/Microsoft.Compute/virtualMachines",
                             query={"state": "Sideways"}), 400)

    # A security policy disables JIT on the group: enabling and requesting are refused,
    # and the group's VMs show Unsupported with that reason.
    st, s, _ = srv.request("PUT", f"{c.rgp}/providers/Microsoft.Security/jitSettings/default",
                           {"properties": {"enabled": False, "reason": "change freeze"}})
    expect(st == 200 and s["properties"]["enabled"] is False, s)
    err = expect_error(srv.request("POST", c.pol + "/initiate", {"virtualMachines": [
        {"id": c.vm("inpolicy"), "ports": [{"number": 22, "endTimeUtc": in_(60)}]}]}), 403,
        "RequestDisallowedByPolicy")
    expect("change freeze" in err["message"], err)
    expect_error(srv.request("PUT", c.pol, {"properties": {"virtualMachines": [{"id": c.vm("fine"),
                 "ports": [{"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                            "maxRequestAccessDuration": "PT3H"}]}]}}), 403, "RequestDisallowedByPolicy")
    expect(jit("fine")["state"] == "Unsupported" and "disabled by a security policy" in
           jit("fine")["reason"], jit("fine"))
    # Azure's rule: a VM in a policy is Unsupported too when nothing enforces JIT there.
    j = jit("inpolicy")
    expect(j["state"] == "Unsupported" and "change freeze" in j["reason"] and
           j["policy"] == c.pol, j)
    # The subscription-level setting does the same for every group.
    srv.request("PUT", f"{c.rgp}/providers/Microsoft.Security/jitSettings/default",
                {"properties": {"enabled": True}})
    srv.request("PUT", f"/subscriptions/{c.sub}/providers/Microsoft.Security/jitSettings/default",
                {"properties": {"enabled": False}})
    expect(jit("fine")["state"] == "Unsupported", jit("fine"))
    srv.request("PUT", f"/subscriptions/{c.sub}/providers/Microsoft.Security/jitSettings/default",
                {"properties": {"enabled": True}})
    expect(jit("fine")["state"] == "NotConfigured", jit("fine"))
    expect_error(srv.request("PUT", f"{c.rgp}/providers/Microsoft.Security/jitSettings/other",
                             {"properties": {"enabled": True}}), 404)


@tap.test
def statistics_respect_the_7_day_window(c):
    c.srv.require_sqlite()
    srv = c.srv
    for i in range(3):
        st, _, _ = srv.request("POST", c.pol + "/initiate", {"virtualMachines": [
            {"id": c.vm("inpolicy"), "ports": [{"number": 22, "endTimeUtc": in_(600),
                                                "allowedSourceAddressPrefix": f"10.7.0.{i + 1}"}]}]})
        expect(st == 202)
    j = srv.request("GET", c.vm("inpolicy"))[1]["properties"]["jit"]
    expect(j["approvedRequestsLast7Days"] == 3 and j["lastUser"] == "admin", j)
    last = dt.datetime.fromisoformat(j["lastAccessUtc"][:26])
    expect(abs((dt.datetime.utcnow() - last).total_seconds()) < 120, j)
    # Age two of them: 8 days (outside the window) and 6 days (inside).
    expect(srv.stop() == 0)
    db = sqlite3.connect(os.path.join(srv.state_dir, "jitgate.db"))
    ids = [r[0] for r in db.execute(
        "SELECT DISTINCT r.id FROM requests r JOIN request_ports rp ON rp.request_id = r.id"
        " WHERE rp.vm_key LIKE '%/inpolicy' ORDER BY r.id")]
    now_ns = time.time_ns()
    db.execute("UPDATE requests SET start_ns = ? WHERE id = ?", (now_ns - 8 * 86400 * 10**9, ids[0]))
    db.execute("UPDATE requests SET start_ns = ? WHERE id = ?", (now_ns - 6 * 86400 * 10**9, ids[1]))
    db.commit()
    db.close()
    srv.start()
    j = srv.request("GET", c.vm("inpolicy"))[1]["properties"]["jit"]
    expect(j["approvedRequestsLast7Days"] == 2, "8 days ago is outside the window", j)


@tap.test
def a_policy_of_1000_long_named_vms_verifies(c):
    """Regression: the audit index of an entry was cut at 64 VMs / 4 KiB, so verify
    reported an Owner's legitimate write of a large policy as hidden."""
    srv = c.srv
    rg = f"/subscriptions/{c.sub}/resourceGroups/big"
    st, _, _ = srv.request("PUT", rg, {"location": LOC})
    expect(st in (200, 201), st)
    names = [("v" * 84) + f"{i:06d}" for i in range(1000)]
    ids = [f"{rg}/providers/Microsoft.Compute/virtualMachines/{n}" for n in names]

    def put(vid):
        return srv.request("PUT", vid, {"properties": {"osType": "Linux"}})[0]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(put, ids))
    expect(all(code in (200, 201) for code in codes), sorted(set(codes)))
    pol = f"{rg}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/big"
    st, body, _ = srv.request("PUT", pol, {"properties": {"virtualMachines": [
        {"id": vid, "ports": [{"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                               "maxRequestAccessDuration": "PT3H"}]} for vid in ids]}})
    expect(st in (200, 201), st, body)
    st, v, _ = srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True, v)
    # The entry is found under its last VM too (the whole index was written).
    entries = audit(c, ids[-1] + "/providers/Jitgate/auditLogs")
    expect(any(e["resourceId"] == pol and e["operationName"].endswith("/write")
               for e in entries), entries[:3])


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
