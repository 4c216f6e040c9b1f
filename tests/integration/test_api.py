#!/usr/bin/env python3
"""Integration tests of jitgated's HTTPS API: a real server, real TLS, real SQLite.

Usage: test_api.py PATH/TO/jitgated    (speaks TAP)
Covers every operation of the Azure JIT API and the inventory, the error paths
(each must answer the right 4xx in Azure's error shape and change nothing),
the agent channel's long poll, expiry, and persistence across a restart.
"""
import datetime as dt
import json
import os
import socket
import sqlite3
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect, expect_error  # noqa: E402

tap = Tap()
RG = "rg-test"
LOC = "westeurope"


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def in_(seconds):
    return iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds))


class Ctx:
    pass


def setup():
    c = Ctx()
    c.srv = Server(sys.argv[1]).start()
    st, body, _ = c.srv.request("GET", "/subscriptions")
    expect(st == 200 and len(body["value"]) == 1, "one default subscription", body)
    c.sub = body["value"][0]["subscriptionId"]
    c.rgp = f"/subscriptions/{c.sub}/resourceGroups/{RG}"
    c.vm_id = lambda name: f"{c.rgp}/providers/Microsoft.Compute/virtualMachines/{name}"
    c.pol = f"{c.rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()


def policy_body(c, vms=("vm1",), ports=None):
    ports = ports or [
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT3H"},
        {"number": 3389, "protocol": "*", "allowedSourceAddressPrefixes": ["10.0.0.0/8", "127.0.0.1"],
         "maxRequestAccessDuration": "PT1H"},
    ]
    return {"kind": "Basic", "properties": {"virtualMachines": [
        {"id": c.vm_id(v), "ports": ports} for v in vms]}}


def snapshot(c):
    """Everything a refused request must leave unchanged."""
    out = {}
    for path in (f"{c.rgp}/providers/Microsoft.Compute/virtualMachines",
                 f"/subscriptions/{c.sub}/providers/Microsoft.Security/jitNetworkAccessPolicies",
                 f"/subscriptions/{c.sub}/resourceGroups"):
        out[path] = c.srv.request("GET", path)[:2]
    return out


@tap.test
def bootstrap_token_is_private_and_logged_by_path_only(c):
    path = os.path.join(c.srv.state_dir, "admin.token")
    expect(os.stat(path).st_mode & 0o777 == 0o600, "admin.token must be 0600")
    expect(c.srv.admin_token not in c.srv.log(), "the token leaked into the log")
    expect("admin.token" in c.srv.log(), "the token's path is logged")
    expect(os.stat(os.path.join(c.srv.state_dir, "tls", "key.pem")).st_mode & 0o777 == 0o600)


@tap.test
def api_version_is_required_and_checked(c):
    expect_error(c.srv.request("GET", "/subscriptions", api_version=None), 400,
                 "MissingApiVersionParameter")
    # The JIT API takes its own version only (ARM's account endpoints, /subscriptions and
    # /tenants, take any: test_oauth.py).
    expect_error(c.srv.request("GET", "/providers/Jitgate/whoami",
                               api_version="2015-06-01-preview"), 400,
                 "InvalidApiVersionParameter", "2020-01-01")
    expect_error(c.srv.request("GET", "/subscriptions", api_version="2015-06-01-beta"), 400,
                 "InvalidApiVersionParameter", "2020-01-01")


@tap.test
def authentication_is_required(c):
    expect_error(c.srv.request("GET", "/subscriptions", token=None), 401, "AuthenticationFailed")
    expect_error(c.srv.request("GET", "/subscriptions", token="jgt_0123456789abcdef_" + "A" * 43),
                 401, "AuthenticationFailed")
    expect_error(c.srv.request("GET", "/subscriptions", token="not-a-token"), 401)
    bad = c.srv.admin_token[:-4] + ("AAAA" if not c.srv.admin_token.endswith("AAAA") else "BBBB")
    expect_error(c.srv.request("GET", "/subscriptions", token=bad), 401)


@tap.test
def tls_below_1_2_is_refused(c):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, AttributeError):
        return
    with socket.create_connection(("127.0.0.1", c.srv.port), timeout=10) as s:
        try:
            with ctx.wrap_socket(s) as t:
                raise AssertionError(f"TLS {t.version()} was accepted")
        except ssl.SSLError:
            pass


@tap.test
def resource_groups_and_vms(c):
    st, body, _ = c.srv.request("PUT", c.rgp, {"location": LOC})
    expect(st == 201 and body["name"] == RG and body["location"] == LOC, "rg created", st, body)
    st, body, _ = c.srv.request("PUT", c.rgp, {"location": LOC})
    expect(st == 200, "rg put again is 200", st, body)
    for name, addr in (("vm1", "10.1.0.4"), ("vm2", "10.1.0.5"), ("free", "10.1.0.6")):
        st, body, _ = c.srv.request("PUT", c.vm_id(name), {
            "properties": {"osType": "Linux", "addresses": [addr]}})
        expect(st == 201, f"vm {name} created", st, body)
        props = body["properties"]
        expect(props["osType"] == "Linux" and props["addresses"] == [addr], "vm shape", body)
        expect(props["jit"]["state"] == "Unsupported" and
               "missing network security group" in props["jit"]["reason"], body)
        expect(body["type"] == "Microsoft.Compute/virtualMachines" and body["id"] == c.vm_id(name))
    st, body, _ = c.srv.request("GET", c.vm_id("VM1"))
    expect(st == 200 and body["name"] == "vm1", "names compare case-insensitively", body)
    st, body, _ = c.srv.request("GET", f"{c.rgp}/providers/Microsoft.Compute/virtualMachines")
    expect(st == 200 and [v["name"] for v in body["value"]] == ["free", "vm1", "vm2"], body)
    st, body, _ = c.srv.request("GET", f"/subscriptions/{c.sub}/providers/Microsoft.Compute/virtualMachines")
    expect(st == 200 and len(body["value"]) == 3, body)


@tap.test
def vm_errors_change_nothing(c):
    before = snapshot(c)
    err = expect_error(c.srv.request("PUT", c.vm_id("bad"), {"properties": {"osType": "Solaris"}}),
                       400, "InvalidRequestContent")
    expect("properties.osType" in err["message"], err)
    err = expect_error(c.srv.request("PUT", c.vm_id("bad"), {"properties": {
        "osType": "Linux", "addresses": ["10.0.0.0/8"]}}), 400)
    expect("properties.addresses[0]" in err["message"], err)
    expect_error(c.srv.request("PUT", c.vm_id("bad"), {"properties": {
        "osType": "Linux", "enforcementPoint": c.rgp + "/providers/Jitgate/enforcementPoints/none"}}), 400)
    expect_error(c.srv.request("PUT", c.vm_id("bad%21name"), {"properties": {"osType": "Linux"}}), 400)
    expect_error(c.srv.request("PUT", f"/subscriptions/{c.sub}/resourceGroups/nope/providers/"
                 "Microsoft.Compute/virtualMachines/x", {"properties": {"osType": "Linux"}}), 404)
    expect_error(c.srv.request("GET", c.vm_id("absent")), 404, "ResourceNotFound")
    expect(snapshot(c) == before, "a refused request changed state")


@tap.test
def policy_create_get_and_list_four_ways(c):
    st, body, _ = c.srv.request("PUT", c.pol, policy_body(c))
    expect(st == 200, "PUT policy is 200", st, body)
    expect(body["id"] == c.pol and body["name"] == "default" and body["location"] == LOC)
    expect(body["type"] == "Microsoft.Security/locations/jitNetworkAccessPolicies")
    expect(body["kind"] == "Basic" and body["properties"]["provisioningState"] == "Succeeded")
    ports = body["properties"]["virtualMachines"][0]["ports"]
    expect(ports[0] == {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                        "maxRequestAccessDuration": "PT3H"}, ports)
    expect(ports[1]["allowedSourceAddressPrefixes"] == ["10.0.0.0/8", "127.0.0.1"], ports)
    st, got, _ = c.srv.request("GET", c.pol)
    expect(st == 200 and got == body, "GET returns what PUT returned", got, body)
    sec = "/providers/Microsoft.Security"
    lists = [f"/subscriptions/{c.sub}{sec}/jitNetworkAccessPolicies",
             f"/subscriptions/{c.sub}{sec}/locations/{LOC}/jitNetworkAccessPolicies",
             f"{c.rgp}{sec}/jitNetworkAccessPolicies",
             f"{c.rgp}{sec}/locations/{LOC}/jitNetworkAccessPolicies"]
    for path in lists:
        st, lst, _ = c.srv.request("GET", path)
        expect(st == 200 and [p["id"] for p in lst["value"]] == [c.pol], path, lst)
    for path in (f"/subscriptions/{c.sub}{sec}/locations/eastus/jitNetworkAccessPolicies",
                 f"{c.rgp}{sec}/locations/eastus/jitNetworkAccessPolicies"):
        st, lst, _ = c.srv.request("GET", path)
        expect(st == 200 and lst["value"] == [], "another location lists nothing", lst)


def expect_body_too_large_refused_unread(c):
    """A body over 1 MiB is refused with 413 from its Content-Length, before it is sent."""
    raw = socket.create_connection(("127.0.0.1", c.srv.port), timeout=10)
    with c.srv.ssl.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        s.sendall((f"PUT {c.pol}?api-version=2020-01-01 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {c.srv.admin_token}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {2 * 1024 * 1024}\r\n\r\n").encode())
        s.sendall(b"{" * 4096)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        expect(head.startswith(b"HTTP/1.1 413"), "expected 413", head)
        expect(b"RequestEntityTooLarge" in rest or b"Content-Length" in head, head, rest)


@tap.test
def policy_errors_change_nothing(c):
    before = snapshot(c)
    err = expect_error(c.srv.request("PUT", c.pol, policy_body(c, vms=("ghost",))), 400)
    expect("virtualMachines[0].id" in err["message"] and "ghost" in err["message"], err)
    bad = policy_body(c)
    bad["properties"]["virtualMachines"][0]["ports"][1]["maxRequestAccessDuration"] = "PT0S"
    err = expect_error(c.srv.request("PUT", c.pol, bad), 400, "InvalidRequestContent")
    expect("properties.virtualMachines[0].ports[1].maxRequestAccessDuration" in err["message"], err)
    bad = policy_body(c)
    bad["properties"]["virtualMachines"][0]["ports"][0]["number"] = 65536
    expect_error(c.srv.request("PUT", c.pol, bad), 400, "InvalidRequestContent")
    bad = policy_body(c)
    bad["properties"]["virtualMachines"][0]["ports"][0]["allowedSourceAddressPrefix"] = "10.0.0.0/33"
    expect_error(c.srv.request("PUT", c.pol, bad), 400, "InvalidRequestContent")
    expect_error(c.srv.request("PUT", c.pol, raw=b'{"properties": '), 400, "InvalidRequestContent")
    expect_error(c.srv.request("PUT", c.pol, raw=b'[1,2]'), 400, "InvalidRequestContent")
    expect_error(c.srv.request("PUT", c.pol, raw=b'{"properties": {"virtualMachines": "x"}}'), 400)
    expect_error(c.srv.request("PUT", c.pol, raw=b'{}'), 400)
    expect_body_too_large_refused_unread(c)
    # A VM already in this policy cannot join a second one.
    other = c.pol.replace("/default", "/second")
    err = expect_error(c.srv.request("PUT", other, policy_body(c)), 409, "Conflict")
    expect(c.pol in err["message"], "the conflict names the other policy by its ID", err)
    # A VM in another resource group cannot be named.
    foreign = policy_body(c)
    foreign["properties"]["virtualMachines"][0]["id"] = (
        f"/subscriptions/{c.sub}/resourceGroups/other/providers/Microsoft.Compute/virtualMachines/vm1")
    expect_error(c.srv.request("PUT", c.pol, foreign), 400)
    expect(snapshot(c) == before, "a refused request changed state")


@tap.test
def path_junk_and_unknown_routes(c):
    expect_error(c.srv.request("GET", f"/subscriptions/{c.sub}//resourceGroups"), 400)
    expect_error(c.srv.request("GET", "/subscriptions/a%00b"), 400)
    expect_error(c.srv.request("GET", "/nothing/here"), 404, "NotFound")
    expect_error(c.srv.request("PATCH", c.pol, {}), 405, "MethodNotAllowed")
    expect_error(c.srv.request("GET", f"/subscriptions/{c.sub}/resourceGroups/" + "r" * 91), 400)
    expect_error(c.srv.request("GET", f"/subscriptions/{'x' * 10}"), 404)


@tap.test
def initiate_checks_ports_sources_and_times(c):
    before = snapshot(c)
    pol = c.pol + "/initiate"

    def body(port=22, src="10.9.9.9", end=None, vm="vm1"):
        p = {"number": port, "endTimeUtc": end or in_(600)}
        if src is not None:
            p["allowedSourceAddressPrefix"] = src
        return {"virtualMachines": [{"id": c.vm_id(vm), "ports": [p]}], "justification": "test"}

    err = expect_error(c.srv.request("POST", pol, body(port=80)), 400)
    expect("port 80 is not configured" in err["message"], err)
    err = expect_error(c.srv.request("POST", pol, body(port=3389, src="192.168.1.1")), 400)
    expect("not inside the prefixes" in err["message"], err)
    err = expect_error(c.srv.request("POST", pol, body(port=3389, src="10.0.0.0/7")), 400)
    err = expect_error(c.srv.request("POST", pol, body(end=in_(-5))), 400)
    expect("not in the future" in err["message"], err)
    err = expect_error(c.srv.request("POST", pol, body(port=3389, end=in_(2 * 3600))), 400)
    expect("maximum request duration" in err["message"], err)
    err = expect_error(c.srv.request("POST", pol, body(vm="free")), 400)
    expect("not in this JIT policy" in err["message"], err)
    expect_error(c.srv.request("POST", pol, {"virtualMachines": [{"id": c.vm_id("vm1"),
                 "ports": [{"number": 22}]}]}), 400, "InvalidRequestContent")
    expect_error(c.srv.request("POST", c.pol.replace("default", "nope") + "/initiate", body()), 404)
    expect(snapshot(c) == before, "a refused initiate changed state")


@tap.test
def initiate_records_a_request_and_my_ip(c):
    st, r, _ = c.srv.request("POST", c.pol + "/initiate", {
        "virtualMachines": [{"id": c.vm_id("vm1"), "ports": [
            {"number": 22, "endTimeUtc": in_(600), "allowedSourceAddressPrefix": "10.9.9.9"},
            {"number": 3389, "endTimeUtc": in_(600)}]}],
        "justification": "deploy hotfix"})
    expect(st == 202, "initiate is 202", st, r)
    expect(r["requestor"] == "admin" and r["justification"] == "deploy hotfix", r)
    ports = r["virtualMachines"][0]["ports"]
    expect([p["status"] for p in ports] == ["Initiated", "Initiated"], ports)
    expect([p["statusReason"] for p in ports] == ["UserRequested"] * 2, ports)
    expect(ports[1]["allowedSourceAddressPrefix"] == "127.0.0.1", "no source means the caller", ports)
    st, pol, _ = c.srv.request("GET", c.pol)
    reqs = pol["properties"]["requests"]
    expect(len(reqs) == 1 and reqs[0]["virtualMachines"] == r["virtualMachines"], reqs, r)
    expect(reqs[0]["startTimeUtc"] == r["startTimeUtc"], reqs)


@tap.test
def newer_request_supersedes_older(c):
    body = {"virtualMachines": [{"id": c.vm_id("vm1"), "ports": [
        {"number": 22, "endTimeUtc": in_(900), "allowedSourceAddressPrefix": "10.9.9.9"}]}]}
    st, _, _ = c.srv.request("POST", c.pol + "/initiate", body)
    expect(st == 202)
    st, pol, _ = c.srv.request("GET", c.pol)
    reqs = pol["properties"]["requests"]
    expect(reqs[0]["virtualMachines"][0]["ports"][0]["status"] == "Initiated", reqs)
    old = reqs[1]["virtualMachines"][0]["ports"]
    expect(old[0]["status"] == "Revoked" and old[0]["statusReason"] == "NewerRequestInitiated", old)
    expect(old[1]["status"] == "Initiated", "a different port is untouched", old)


@tap.test
def revoke_ends_access_early(c):
    body = {"virtualMachines": [{"id": c.vm_id("vm1"), "ports": [
        {"number": 22, "endTimeUtc": in_(900), "allowedSourceAddressPrefix": "10.6.6.6"}]}]}
    expect(c.srv.request("POST", c.pol + "/initiate", body)[0] == 202)
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    st, r, _ = c.srv.request("POST", c.pol + "/revoke", {"virtualMachines": [
        {"id": c.vm_id("vm1"), "ports": [{"number": 22, "allowedSourceAddressPrefix": "10.6.6.6"}]}]})
    after = dt.datetime.now(dt.timezone.utc)
    expect(st == 200 and r["revokedPorts"] == 1, st, r)
    # The audit entry records when the access really ended (now), not a placeholder.
    st, log, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs")
    entry = next(e for e in log["value"] if e["operationName"].endswith("/revoke/action")
                 and e.get("status") != "Failed" and e.get("httpStatus", 200) == 200)
    details = entry["details"]
    if isinstance(details, str):
        details = json.loads(details)
    ended = dt.datetime.fromisoformat(details["endTimeUtc"].replace("Z", "+00:00"))
    expect(before - dt.timedelta(seconds=1) <= ended <= after + dt.timedelta(seconds=1),
           "the revoke's audit entry records its real end time", before, ended, after)
    st, pol, _ = c.srv.request("GET", c.pol)
    port = pol["properties"]["requests"][0]["virtualMachines"][0]["ports"][0]
    expect(port["status"] == "Revoked" and port["statusReason"] == "UserRequested", port)
    st, r, _ = c.srv.request("POST", c.pol + "/revoke", {"virtualMachines": [
        {"id": c.vm_id("vm1"), "ports": [{"number": 22, "allowedSourceAddressPrefix": "10.6.6.6"}]}]})
    expect(st == 200 and r["revokedPorts"] == 0, "nothing left to revoke", r)
    expect_error(c.srv.request("POST", c.pol + "/revoke", {"virtualMachines": [
        {"id": c.vm_id("free"), "ports": [{"number": 22}]}]}), 400)


@tap.test
def ports_expire_on_time(c):
    st, _, _ = c.srv.request("POST", c.pol + "/initiate", {"virtualMachines": [{"id": c.vm_id("vm1"), "ports": [
        {"number": 22, "endTimeUtc": in_(1.5), "allowedSourceAddressPrefix": "10.7.7.7"}]}]})
    expect(st == 202)
    time.sleep(2.5)
    st, pol, _ = c.srv.request("GET", c.pol)
    port = pol["properties"]["requests"][0]["virtualMachines"][0]["ports"][0]
    expect(port["status"] == "Revoked" and port["statusReason"] == "Expired", port)
    # The sweeper also writes it down (not only computed on read).
    time.sleep(1.5)
    expect("event=audit" in c.srv.log() and "jitNetworkAccessPolicies/expire/action" in c.srv.log(),
           "the sweeper audited the expiry")


@tap.test
def vm_in_policy_cannot_be_deleted(c):
    err = expect_error(c.srv.request("DELETE", c.vm_id("vm1")), 409, "Conflict")
    expect("default" in err["message"], err)
    expect_error(c.srv.request("DELETE", c.rgp), 409)


@tap.test
def agent_enrollment_long_poll_and_status(c):
    st, tok, _ = c.srv.request("POST", f"{c.rgp}/providers/Jitgate/enrollmentTokens", {"validFor": "PT10M"})
    expect(st == 201 and tok["token"].startswith("jge_"), tok)
    expect(tok["token"] not in c.srv.log(), "the enrollment token leaked into the log")
    enroll = {"enrollmentToken": tok["token"], "name": "ep-vm2", "kind": "host",
              "vm": {"name": "vm2", "osType": "Linux", "addresses": ["10.1.0.5"]}}
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", enroll, token=None, api_version=None)
    expect(st == 200 and e["credential"].startswith("jgt_") and e["vm"] == c.vm_id("vm2"), e)
    expect(e["credential"] not in c.srv.log(), "the agent credential leaked into the log")
    expect_error(c.srv.request("POST", "/agent/v1/enroll", enroll, token=None, api_version=None), 401)
    agent = e["credential"]
    # The agent credential is for the agent channel only, and users cannot use it.
    expect_error(c.srv.request("GET", "/subscriptions", token=agent), 403, "AuthorizationFailed")
    expect_error(c.srv.request("GET", "/agent/v1/desired-state", api_version=None), 403)

    st, ds, _ = c.srv.request("GET", "/agent/v1/desired-state", token=agent, api_version=None)
    expect(st == 200 and ds["kind"] == "host" and ds["rules"] == [], "vm2 has no policy yet", ds)
    version = ds["version"]
    # Enable JIT on vm2 while a long poll waits: it must wake at once.
    result = {}

    def poll():
        t0 = time.monotonic()
        result["resp"] = c.srv.request("GET", "/agent/v1/desired-state", token=agent,
                                       api_version=None, query={"version": version, "wait": 30})
        result["took"] = time.monotonic() - t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    st, _, _ = c.srv.request("PUT", c.pol, policy_body(c, vms=("vm1", "vm2")))
    expect(st == 200)
    th.join(35)
    st, ds, _ = result["resp"]
    expect(st == 200 and ds["version"] > version, "the poll returned the new state", ds)
    expect(result["took"] < 10, "the poll woke on the change, not the timeout", result["took"])
    expect([(r["number"], r["protocol"]) for r in ds["rules"]] == [(22, "TCP"), (3389, "*")], ds)
    expect(ds["rules"][0]["destinations"] == ["10.1.0.5"], ds)

    # An initiate for vm2 reaches the agent as a grant with its end time.
    version = ds["version"]
    end = in_(300)
    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.3)
    st, _, _ = c.srv.request("POST", c.pol + "/initiate", {"virtualMachines": [
        {"id": c.vm_id("vm2"), "ports": [{"number": 22, "endTimeUtc": end,
                                          "allowedSourceAddressPrefix": "10.3.0.0/24"}]}]})
    expect(st == 202)
    th.join(35)
    st, ds, _ = result["resp"]
    grants = ds["rules"][0]["grants"]
    expect(len(grants) == 1 and grants[0]["source"] == "10.3.0.0/24", grants)
    expect(0 < grants[0]["secondsRemaining"] <= 300, grants)
    expect(result["took"] < 10, result["took"])

    # Without a change the poll waits for `wait` seconds, then answers the same version.
    t0 = time.monotonic()
    st, same, _ = c.srv.request("GET", "/agent/v1/desired-state", token=agent, api_version=None,
                                query={"version": ds["version"], "wait": 1})
    expect(st == 200 and same["version"] == ds["version"] and time.monotonic() - t0 >= 0.9, same)

    st, _, _ = c.srv.request("POST", "/agent/v1/status", {"appliedVersion": ds["version"], "healthy": True,
                             "capabilities": {"nftables": True}, "os": "Linux"}, token=agent, api_version=None)
    expect(st == 204, "status accepted", st)
    st, ep, _ = c.srv.request("GET", f"{c.rgp}/providers/Jitgate/enforcementPoints/ep-vm2")
    expect(st == 200 and ep["properties"]["appliedVersion"] == ds["version"], ep)
    expect(ep["properties"]["inSync"] is True and ep["properties"]["status"]["capabilities"]["nftables"], ep)
    st, vm, _ = c.srv.request("GET", c.vm_id("vm2"))
    expect(vm["properties"]["enforcementPoint"] == ep["id"], vm)

    # GET VM ?appliedVersion=N: held until the agent reports N (request --wait's poll).
    applied = ds["version"]
    st, _, _ = c.srv.request("POST", c.pol + "/initiate", {"virtualMachines": [
        {"id": c.vm_id("vm2"), "ports": [{"number": 22, "endTimeUtc": in_(300),
                                          "allowedSourceAddressPrefix": "10.3.1.0/24"}]}]})
    expect(st == 202)
    st, vm, _ = c.srv.request("GET", c.vm_id("vm2"))
    want = vm["properties"]["jit"]["enforcementPointDesiredVersion"]
    expect(want > applied, "the initiate made a new version for vm2's point", vm)
    t0 = time.monotonic()
    st, vm, _ = c.srv.request("GET", c.vm_id("vm2"), query={"appliedVersion": want, "wait": 1})
    expect(st == 200 and vm["properties"]["jit"]["enforcementPointAppliedVersion"] == applied and
           time.monotonic() - t0 >= 0.9, "without the report it answers after `wait`", vm)
    st, vm, _ = c.srv.request("GET", c.vm_id("vm2"), query={"appliedVersion": applied})
    expect(st == 200, "a version already applied is answered at once", vm)
    held = {}

    def wait_vm():
        t1 = time.monotonic()
        held["resp"] = c.srv.request("GET", c.vm_id("vm2"), query={
            "appliedVersion": want, "wait": 30})
        held["took"] = time.monotonic() - t1

    th = threading.Thread(target=wait_vm)
    th.start()
    time.sleep(0.5)
    st, _, _ = c.srv.request("POST", "/agent/v1/status", {"appliedVersion": want,
                             "healthy": True, "capabilities": {"nftables": True}, "os": "Linux"},
                             token=agent, api_version=None)
    expect(st == 204, "status accepted", st)
    th.join(35)
    st, vm, _ = held["resp"]
    expect(st == 200 and vm["properties"]["jit"]["enforcementPointAppliedVersion"] == want
           and held["took"] < 10, "the report wakes the wait at once", held)
    for bad in ({"appliedVersion": "x"}, {"appliedVersion": "-1"},
                {"appliedVersion": "1", "wait": "soon"}):
        expect_error(c.srv.request("GET", c.vm_id("vm2"), query=bad), 400)
    expect_error(c.srv.request("POST", "/agent/v1/status", {"appliedVersion": "x"}, token=agent,
                               api_version=None), 400)


@tap.test
def delete_policy_then_again(c):
    st, body, _ = c.srv.request("DELETE", c.pol)
    expect(st == 200, "first delete is 200", st, body)
    st, body, _ = c.srv.request("DELETE", c.pol)
    expect(st == 204, "second delete is 204", st, body)
    expect_error(c.srv.request("GET", c.pol), 404, "ResourceNotFound")
    st, _, _ = c.srv.request("DELETE", c.vm_id("vm1"))
    expect(st == 200, "vm deletable once out of the policy")


@tap.test
def audit_rows_are_written(c):
    ops = [r[0] for r in c.srv.sql("SELECT operation FROM audit")]
    for op in ("Microsoft.Security/locations/jitNetworkAccessPolicies/write",
               "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action",
               "Microsoft.Security/locations/jitNetworkAccessPolicies/delete",
               "Jitgate/enforcementPoints/enroll/action"):
        expect(op in ops, f"no audit entry for {op}", ops)


@tap.test
def state_survives_restart(c):
    st, _, _ = c.srv.request("PUT", c.pol, policy_body(c, vms=("vm2",)))
    expect(st == 200)
    token = c.srv.admin_token
    expect(c.srv.stop() == 0, "clean shutdown on SIGTERM exits 0")
    c.srv.start()
    expect(c.srv.admin_token == token, "admin.token is not rewritten")
    st, pol, _ = c.srv.request("GET", c.pol)
    expect(st == 200 and pol["properties"]["virtualMachines"][0]["id"] == c.vm_id("vm2"), pol)
    st, subs, _ = c.srv.request("GET", "/subscriptions")
    expect(len(subs["value"]) == 1 and subs["value"][0]["subscriptionId"] == c.sub, subs)


@tap.test
def policy_put_fails_when_the_old_policy_cannot_be_read(c):
    """Regression: PUT ignored the error of reading the policy it replaces, so a storage
    or memory error passed the checks that compare old and new (who may remove which
    VM). Now the PUT fails and changes nothing."""
    expect(c.srv.stop() == 0)
    q = lambda v: "'" + str(v).replace("'", "''") + "'"  # noqa: E731
    saved = c.srv.sql("SELECT vm_key, number, sources FROM policy_ports")
    c.srv.sql("UPDATE policy_ports SET sources = 'not json'")
    c.srv.start()
    st, body, _ = c.srv.request("PUT", c.pol, policy_body(c, vms=("vm2",), ports=[
        {"number": 2222, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT1H"}]))
    expect(st == 500, "the unreadable old policy fails the PUT", st, body)
    expect(c.srv.stop() == 0)
    ports = [int(r[0]) for r in c.srv.sql("SELECT number FROM policy_ports")]
    expect(2222 not in ports and len(ports) == len(saved), "the policy is unchanged", ports)
    for vm_key, number, sources in saved:
        c.srv.sql(f"UPDATE policy_ports SET sources = {q(sources)} WHERE vm_key = {q(vm_key)}"
                  f" AND number = {int(number)}")
    c.srv.start()
    st, pol, _ = c.srv.request("GET", c.pol)
    expect(st == 200 and pol["properties"]["virtualMachines"][0]["id"] == c.vm_id("vm2"), pol)


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
