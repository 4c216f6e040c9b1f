#!/usr/bin/env python3
"""GET /metrics against a real jitgated: who may read it (a token with Jitgate/metrics/read
at /, through a custom role of that one action; others 401/403), the Prometheus text format
(checked by Debian's `promtool check metrics` and by a strict parser here: every sample in
a declared family, label syntax and escaping, histogram buckets cumulative with +Inf equal
to _count), and what the series say after known events: requests by route pattern, method
and status; initiates approved and refused; active grants and their expiry; agents by
health and sync; the audit chain's length; store transactions; OAuth tokens.

Usage: test_metrics.py PATH/TO/jitgated    (speaks TAP)
"""
import datetime as dt
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Skip, Tap, expect, expect_error  # noqa: E402

tap = Tap()
LOC = "westeurope"
METRICS_ROLE = "5b0c9e8a-1d2f-4e3a-8b4c-6d7e8f9a0b1c"
INITIATE = "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action"


class Ctx:
    pass


def get_metrics(c, token):
    req = urllib.request.Request(c.srv.url + "/metrics")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=c.srv.ssl, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:' + LABEL + r')(?:,' + LABEL +
                    r')*\})? (\S+)$')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)


def parse(text):
    """{family: {"type", "help", "samples": [(name, {labels}, value)]}}; raises on any
    line the text format does not allow, or a sample outside its declared family."""
    fams, current = {}, None
    expect(text.endswith("\n"), "the exposition ends with a newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, helptext = line[7:].partition(" ")
            expect(name not in fams, f"family {name} declared twice")
            fams[name] = {"help": helptext, "type": None, "samples": []}
            current = name
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            expect(name == current and typ in ("counter", "gauge", "histogram"), line)
            fams[name]["type"] = typ
        else:
            m = SAMPLE.match(line)
            expect(m, f"not a sample line: {line!r}")
            name, labels, value = m.group(1), m.group(2), m.group(3)
            base = re.sub(r"_(bucket|sum|count)$", "", name) \
                if fams.get(current, {}).get("type") == "histogram" else name
            expect(base == current, f"sample {name} outside its family ({current})")
            lab = {}
            for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                   labels or ""):
                expect(k not in lab, f"label {k} twice: {line}")
                lab[k] = unescape(v)
            v = float(value.replace("+Inf", "inf").replace("-Inf", "-inf"))
            fams[current]["samples"].append((name, lab, v))
    for name, f in fams.items():
        expect(f["type"] and f["help"], f"family {name} lacks TYPE or HELP")
        if f["type"] == "counter":
            expect(name.endswith("_total"), f"counter {name} without _total")
            expect(all(s[2] >= 0 for s in f["samples"]), name)
        if f["type"] == "histogram":
            check_histograms(name, f["samples"])
    return fams


def check_histograms(name, samples):
    series = {}
    for sname, lab, v in samples:
        key = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sname.endswith("_bucket"):
            s["buckets"].append((float(lab["le"].replace("+Inf", "inf")), v))
        elif sname.endswith("_sum"):
            s["sum"] = v
        else:
            s["count"] = v
    for key, s in series.items():
        les = [b[0] for b in s["buckets"]]
        expect(les == sorted(les) and les[-1] == math.inf, f"{name}{key}: le order", les)
        counts = [b[1] for b in s["buckets"]]
        expect(counts == sorted(counts), f"{name}{key}: buckets not cumulative", counts)
        expect(s["count"] == counts[-1], f"{name}{key}: +Inf != _count")
        expect(s["sum"] is not None and s["sum"] >= 0, f"{name}{key}: _sum")


def value(fams, name, **labels):
    for sname, lab, v in fams[name]["samples"]:
        if sname == name and all(lab.get(k) == x for k, x in labels.items()):
            return v
    return 0.0


def hist_count(fams, name, **labels):
    return next((v for s, lab, v in fams[name]["samples"] if s == name + "_count" and
                 all(lab.get(k) == x for k, x in labels.items())), 0.0)


def scrape(c):
    st, text, hdrs = get_metrics(c, c.metrics_token)
    expect(st == 200, st, text)
    return parse(text)


def principal_token(c, name, role, scope):
    c.srv.request("PUT", f"/providers/Jitgate/principals/{name}",
                  {"properties": {"kind": "ServicePrincipal"}})
    st, a, _ = c.srv.request("PUT", f"{scope}/providers/Microsoft.Authorization/"
                             f"roleAssignments/{role[1]}",
                             {"properties": {"roleDefinitionId": role[0],
                                             "principalId": name}})
    expect(st in (200, 201), st, a)
    st, t, _ = c.srv.request("POST", f"/providers/Jitgate/principals/{name}/tokens",
                             {"name": "metrics"})
    expect(st == 201, st, t)
    return t["token"]


def in_(seconds):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def setup():
    c = Ctx()
    c.srv = Server(sys.argv[1]).start()
    c.sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.rgp = f"/subscriptions/{c.sub}/resourceGroups/rg-m"
    c.vm = f"{c.rgp}/providers/Microsoft.Compute/virtualMachines/vm-m"
    c.pol = f"{c.rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/p"
    expect(c.srv.request("PUT", c.rgp, {"location": LOC})[0] == 201)
    expect(c.srv.request("PUT", c.vm, {"properties": {"osType": "Linux",
                         "addresses": ["10.0.0.9"]}})[0] == 201)
    st, p, _ = c.srv.request("PUT", c.pol, {"properties": {"virtualMachines": [{
        "id": c.vm, "ports": [{"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                               "maxRequestAccessDuration": "PT1H"}]}]}})
    expect(st == 200, st, p)
    # A scraper: a custom role holding only Jitgate/metrics/read, assigned at /.
    st, r, _ = c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleDefinitions/"
                             f"{METRICS_ROLE}", {"properties": {
                                 "roleName": "Metrics Reader", "permissions": [
                                     {"actions": ["Jitgate/metrics/read"], "notActions": []}],
                                 "assignableScopes": ["/"]}})
    expect(st in (200, 201), st, r)
    c.metrics_token = principal_token(c, "prometheus", ("Metrics Reader",
                                      "5b0c9e8a-0000-4000-8000-00000000000a"), "")
    c.requester = principal_token(c, "req", ("JIT Network Access Requester",
                                  "5b0c9e8a-0000-4000-8000-00000000000b"), c.rgp)
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()


@tap.test
def who_may_read_metrics(c):
    st, text, _ = get_metrics(c, None)
    expect(st == 401 and "AuthenticationFailed" in text, st, text)
    st, text, _ = get_metrics(c, c.requester)
    expect(st == 403 and "Jitgate/metrics/read" in text, st, text)
    st, text, hdrs = get_metrics(c, c.metrics_token)
    expect(st == 200, st, text)
    expect(hdrs["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", hdrs)
    # The metrics-only principal can read nothing else.
    expect_error(c.srv.request("GET", f"/subscriptions/{c.sub}/providers/Microsoft.Security/"
                               "jitNetworkAccessPolicies", token=c.metrics_token), 403)
    # An Owner's token reads them too (Owner is "*").
    st, _, _ = get_metrics(c, c.srv.admin_token)
    expect(st == 200, st)


@tap.test
def promtool_accepts_the_exposition(c):
    if shutil.which("promtool") is None:
        raise Skip("promtool is not installed (Debian prometheus; make test installs it)")
    # Something in every family first: a 404, an initiate, a token.
    c.srv.request("GET", "/no/such/thing")
    st, text, _ = get_metrics(c, c.metrics_token)
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    expect(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
           "promtool check metrics found problems", r.stdout, r.stderr, text[:3000])


@tap.test
def the_text_format_parses_strictly(c):
    fams = scrape(c)
    for name, typ in (("jitgate_build_info", "gauge"),
                      ("jitgate_http_requests_total", "counter"),
                      ("jitgate_http_request_duration_seconds", "histogram"),
                      ("jitgate_jit_initiates_total", "counter"),
                      ("jitgate_jit_grants_expired_total", "counter"),
                      ("jitgate_jit_grants_active", "gauge"),
                      ("jitgate_agents", "gauge"),
                      ("jitgate_store_transaction_duration_seconds", "histogram"),
                      ("jitgate_audit_chain_length", "gauge"),
                      ("jitgate_oauth_tokens_issued_total", "counter"),
                      ("jitgate_oauth_client_auth_failures_total", "counter"),
                      ("jitgate_auth_failures_total", "counter"),
                      ("jitgate_start_time_seconds", "gauge")):
        expect(name in fams and fams[name]["type"] == typ, f"{name} ({typ})", fams.get(name))
    expect(abs(value(fams, "jitgate_start_time_seconds") - time.time()) < 600)
    # Routes are patterns, never raw paths: no subscription ID in any label.
    for f in fams.values():
        for _, lab, _ in f["samples"]:
            expect(c.sub not in "".join(lab.values()), "a raw path in a label", lab)


@tap.test
def requests_by_route_method_and_code(c):
    before = scrape(c)
    for _ in range(3):
        expect(c.srv.request("GET", "/subscriptions")[0] == 200)
    c.srv.request("GET", f"/subscriptions/{c.sub}/resourceGroups/nope")
    c.srv.request("GET", "/no/such/route")
    c.srv.request("GET", "/subscriptions", token="jgt_0123456789abcdef_" + "A" * 43)
    after = scrape(c)
    d = lambda **lab: (value(after, "jitgate_http_requests_total", **lab) -  # noqa: E731
                       value(before, "jitgate_http_requests_total", **lab))
    expect(d(route="/subscriptions", method="GET", code="200") == 3,
           d(route="/subscriptions", method="GET", code="200"))
    expect(d(route="/subscriptions/{sub}/resourceGroups/{rg}", method="GET", code="404") == 1)
    expect(d(route="unmatched", method="GET", code="404") == 1)
    expect(d(route="/subscriptions", method="GET", code="401") == 1)
    expect(value(after, "jitgate_auth_failures_total") -
           value(before, "jitgate_auth_failures_total") == 1)
    h = "jitgate_http_request_duration_seconds"
    expect(hist_count(after, h, route="/subscriptions") -
           hist_count(before, h, route="/subscriptions") == 4)
    t = "jitgate_store_transaction_duration_seconds"
    expect(hist_count(after, t, mode="read") > hist_count(before, t, mode="read"))


@tap.test
def initiates_grants_and_expiry(c):
    before = scrape(c)
    body = lambda end: {"virtualMachines": [{"id": c.vm, "ports": [  # noqa: E731
        {"number": 22, "allowedSourceAddressPrefix": "10.1.1.1", "endTimeUtc": end}]}]}
    st, r, _ = c.srv.request("POST", c.pol + "/initiate", body(in_(3)), token=c.requester)
    expect(st == 202, st, r)
    st, r, _ = c.srv.request("POST", c.pol + "/initiate", body(in_(7200)), token=c.requester)
    expect(st == 400, st, r)
    mid = scrape(c)
    i = "jitgate_jit_initiates_total"
    expect(value(mid, i, result="approved") - value(before, i, result="approved") == 1)
    expect(value(mid, i, result="refused") - value(before, i, result="refused") == 1)
    expect(value(mid, "jitgate_jit_grants_active") ==
           value(before, "jitgate_jit_grants_active") + 1, mid["jitgate_jit_grants_active"])
    deadline = time.time() + 15
    while time.time() < deadline:
        after = scrape(c)
        if value(after, "jitgate_jit_grants_expired_total") > \
                value(before, "jitgate_jit_grants_expired_total"):
            break
        time.sleep(0.5)
    expect(value(after, "jitgate_jit_grants_expired_total") -
           value(before, "jitgate_jit_grants_expired_total") == 1, "the expiry is counted")
    expect(value(after, "jitgate_jit_grants_active") == value(before, "jitgate_jit_grants_active"))
    w = "jitgate_store_transaction_duration_seconds"
    expect(hist_count(after, w, mode="write") > hist_count(before, w, mode="write"))


@tap.test
def agents_by_health_and_sync(c):
    fams = scrape(c)
    a = lambda f, h, s: value(f, "jitgate_agents", health=h, sync=s)  # noqa: E731
    expect(sum(a(fams, h, s) for h in ("healthy", "unhealthy")
               for s in ("in_sync", "behind")) == 0, fams["jitgate_agents"])
    st, et, _ = c.srv.request("POST", f"{c.rgp}/providers/Jitgate/enrollmentTokens",
                              {"validFor": "PT10M"})
    expect(st == 201, st, et)
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": et["token"], "name": "ep-m", "kind": "host",
        "vm": {"name": "vm-agent", "osType": "Linux", "addresses": ["10.0.0.10"]}},
        api_version=None, token=None)
    expect(st == 200, st, e)
    cred = e["credential"]
    st, ds, _ = c.srv.request("GET", "/agent/v1/desired-state", token=cred, api_version=None)
    expect(st == 200, st, ds)
    fams = scrape(c)
    expect(a(fams, "healthy", "behind") + a(fams, "unhealthy", "behind") == 1,
           "enrolled, nothing applied yet: behind", fams["jitgate_agents"])
    st, _, _ = c.srv.request("POST", "/agent/v1/status", {"appliedVersion": ds["version"],
                             "healthy": True}, token=cred, api_version=None)
    expect(st == 204, st)
    fams = scrape(c)
    expect(a(fams, "healthy", "in_sync") == 1 and a(fams, "healthy", "behind") == 0,
           fams["jitgate_agents"])


@tap.test
def audit_chain_length_and_oauth(c):
    st, s, _ = c.srv.request("POST", "/providers/Jitgate/principals/prometheus/clientSecrets",
                             {"name": "m"})
    expect(st == 201, st, s)
    before = scrape(c)
    form = f"grant_type=client_credentials&client_id=prometheus&client_secret={s['secret']}"
    for secret in (s["secret"], "jcs_0000000000000000_" + "B" * 43):
        req = urllib.request.Request(
            c.srv.url + "/adfs/oauth2/token", method="POST",
            data=form.replace(s["secret"], secret).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            urllib.request.urlopen(req, context=c.srv.ssl, timeout=30).read()
        except urllib.error.HTTPError as e:
            e.read()
    after = scrape(c)
    expect(value(after, "jitgate_oauth_tokens_issued_total") -
           value(before, "jitgate_oauth_tokens_issued_total") == 1)
    expect(value(after, "jitgate_oauth_client_auth_failures_total") -
           value(before, "jitgate_oauth_client_auth_failures_total") == 1)
    st, v, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"], st, v)
    expect(value(after, "jitgate_audit_chain_length") == v["entries"],
           value(after, "jitgate_audit_chain_length"), v)


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
