#!/usr/bin/env python3
"""Per-principal request-rate limits against a real jitgated (issue 18: limits against abuse).

Usage: test_limits.py PATH/TO/jitgated    (speaks TAP)

jitgated runs with --initiate-limit 12 (a burst of 12, then one every 5 s per principal).
A principal over its rate gets 429 TooManyRequests in ARM's error shape with Retry-After,
and the refused request changes nothing (no access request, no audit entry); refused
initiates count too (each costs an audit entry); other principals and other routes are
not affected; the budget comes back after Retry-After; 0 turns the limit off and bad
values are refused at start.
"""
import datetime as dt
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect, expect_error  # noqa: E402

tap = Tap()
LOC = "westeurope"
LIMIT = 12


def in_(seconds):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Ctx:
    pass


def principal(c, name, role="JIT Network Access Requester"):
    st, _, _ = c.srv.request("PUT", f"/providers/Jitgate/principals/{name}", {"properties": {}})
    expect(st == 201, name, st)
    st, body, _ = c.srv.request("PUT", f"{c.rgp}/providers/Microsoft.Authorization/"
                                f"roleAssignments/{uuid.uuid4()}",
                                {"properties": {"roleDefinitionId": role, "principalId": name}})
    expect(st == 201, body)
    st, tok, _ = c.srv.request("POST", f"/providers/Jitgate/principals/{name}/tokens",
                               {"name": "t"})
    expect(st == 201, tok)
    return tok["token"]


def setup():
    c = Ctx()
    c.srv = Server(sys.argv[1], extra_args=["--initiate-limit", str(LIMIT)]).start()
    c.sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.rgp = f"/subscriptions/{c.sub}/resourceGroups/rg1"
    c.vm = f"{c.rgp}/providers/Microsoft.Compute/virtualMachines/vm1"
    c.pol = f"{c.rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    expect(c.srv.request("PUT", c.rgp, {"location": LOC})[0] == 201)
    expect(c.srv.request("PUT", c.vm, {"properties": {"osType": "Linux",
                                                      "addresses": ["10.0.0.1"]}})[0] == 201)
    st, body, _ = c.srv.request("PUT", c.pol, {"properties": {"virtualMachines": [{
        "id": c.vm, "ports": [{"number": 22, "protocol": "TCP",
                               "allowedSourceAddressPrefix": "*",
                               "maxRequestAccessDuration": "PT3H"}]}]}})
    expect(st == 200, body)
    c.alice = principal(c, "alice")
    c.bob = principal(c, "bob")
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()


def initiate(c, token, port=22):
    return c.srv.request("POST", c.pol + "/initiate", {"virtualMachines": [{"id": c.vm, "ports": [
        {"number": port, "endTimeUtc": in_(600), "allowedSourceAddressPrefix": "10.1.1.1"}]}]},
        token=token)


def state(c):
    requests = c.srv.request("GET", c.pol)[1]["properties"].get("requests", [])
    audit = c.srv.request("GET", "/providers/Jitgate/auditLogs")[1]["value"]
    return len(requests), len(audit)


@tap.test
def over_the_rate_is_429_in_arms_shape_and_changes_nothing(c):
    # A refused initiate (port 2222 is not in the policy) spends the budget like an
    # accepted one: it is audited too.
    st, body, _ = initiate(c, c.alice, port=2222)
    expect_error((st, body, None), 400)
    for _ in range(LIMIT - 1):
        st, body, _ = initiate(c, c.alice)
        expect(st == 202, st, body)
    before = state(c)
    st, body, headers = initiate(c, c.alice)
    expect(st == 429, st, body)
    expect(set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body)
    expect(body["error"]["code"] == "TooManyRequests", body)
    expect("alice" in body["error"]["message"] and "initiate" in body["error"]["message"], body)
    wait = int(headers.get("Retry-After", "0"))
    expect(1 <= wait <= 60 // LIMIT, "Retry-After", headers)
    expect(state(c) == before, "a 429 wrote something", before, state(c))
    c.wait = wait


@tap.test
def other_principals_and_routes_are_unaffected(c):
    st, body, _ = initiate(c, c.bob)
    expect(st == 202, "bob has his own budget", st, body)
    st, body, _ = initiate(c, "admin")
    expect(st == 202, "the Owner too", st, body)
    st, body, _ = c.srv.request("GET", c.pol, token=c.alice)
    expect(st == 200, "alice may still read", st, body)
    st, body, _ = initiate(c, c.alice)
    expect(st == 429, "alice is still limited", st, body)


@tap.test
def the_budget_returns_after_retry_after(c):
    time.sleep(60 / LIMIT + 0.5)
    st, body, _ = initiate(c, c.alice)
    expect(st == 202, "one more after the interval", st, body)
    st, body, _ = initiate(c, c.alice)
    expect(st == 429, "and only one", st, body)


@tap.test
def zero_turns_it_off_and_bad_values_are_refused(c):
    srv = Server(sys.argv[1], extra_args=["--initiate-limit", "0"]).start()
    try:
        sub = srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
        rgp = f"/subscriptions/{sub}/resourceGroups/rg1"
        pol = f"{rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/p"
        body = {"virtualMachines": [{"id": f"{rgp}/providers/Microsoft.Compute/virtualMachines/x",
                                     "ports": [{"number": 22, "endTimeUtc": in_(600)}]}]}
        for _ in range(LIMIT + 3):
            st, _, _ = srv.request("POST", pol + "/initiate", body)
            expect(st != 429, st)
    finally:
        srv.cleanup()
    for bad in ("-1", "x", "", "100001", "1e3"):
        r = subprocess.run([sys.argv[1], "--state-dir", "/nonexistent", "--initiate-limit", bad],
                           capture_output=True, text=True, timeout=20)
        expect(r.returncode == 2 and "--initiate-limit" in r.stderr, bad, r.returncode, r.stderr)


sys.exit(tap.run(setup, teardown))
