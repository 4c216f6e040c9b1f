#!/usr/bin/env python3
"""The web console's server side against a real jitgated (HTTP level; the pages
themselves are driven in a real browser by tests/browser/).

Usage: test_console.py PATH/TO/jitgated PATH/TO/web    (speaks TAP)

Static files: every file of web/ is served byte for byte (embedded at build time), with
its content type, the security headers (CSP with Trusted Types, nosniff, no-referrer,
HSTS, no framing), an ETag answered with 304, Cache-Control: no-cache and gzip when
accepted; paths outside the one flat shape are 404; --console-dir serves from disk,
--no-console turns files, sessions and cookies off. Sessions: sign-in sets
__Host-jitgate_session (HttpOnly, Secure, SameSite=Strict, Path=/); a cookie reads;
changes need the CSRF header and a same-origin request; the Authorization header wins;
the agent channel never takes a cookie; sign-out and token revocation end the session;
failed sign-ins are audited and throttled like bad tokens. Permissions: Azure's
{scope}/providers/Microsoft.Authorization/permissions, with includeBelow.
"""
import gzip
import http.client
import json
import re
import os
import shutil
import sqlite3
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import API, Server, Tap, expect, expect_error  # noqa: E402

tap = Tap()
LOC = "westeurope"
COOKIE = "__Host-jitgate_session"


class Ctx:
    pass


def setup():
    c = Ctx()
    c.web = sys.argv[2]
    c.srv = Server(sys.argv[1]).start()
    c.extra = []
    c.sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.rgp = f"/subscriptions/{c.sub}/resourceGroups/rg1"
    c.vm = lambda v: f"{c.rgp}/providers/Microsoft.Compute/virtualMachines/{v}"
    c.pol = f"{c.rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    expect(c.srv.request("PUT", c.rgp, {"location": LOC})[0] == 201)
    for v in ("web1", "db1"):
        st, b, _ = c.srv.request("PUT", c.vm(v), {"properties": {"osType": "Linux", "addresses": ["10.0.0.4"]}})
        expect(st == 201, st, b)
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()
        for s in c.extra:
            s.cleanup()


def raw(srv, method, path, headers=None, body=None, query=True):
    """(status, headers as a dict of lists with lowercase names, body bytes)."""
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ssl, timeout=30)
    if query and path.startswith("/providers") or query and path.startswith("/subscriptions"):
        path += ("&" if "?" in path else "?") + f"api-version={API}"
    data = json.dumps(body).encode() if body is not None else None
    h = dict(headers or {})
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    out = {}
    for k, v in r.getheaders():
        out.setdefault(k.lower(), []).append(v)
    b = r.read()
    conn.close()
    return r.status, out, b


def sign_in(c, token=None, srv=None):
    srv = srv or c.srv
    st, hd, b = raw(srv, "POST", "/providers/Jitgate/sessions", body={"token": token or srv.admin_token})
    expect(st == 201, st, b)
    cookie = hd["set-cookie"][0]
    value = cookie.split(";")[0].split("=", 1)[1]
    return value, json.loads(b), cookie


def with_cookie(value, csrf=None, origin=None, site=None, port=None):
    h = {"Cookie": f"{COOKIE}={value}"}
    if csrf:
        h["X-CSRF-Token"] = csrf
    if origin:
        h["Origin"] = origin
    if site:
        h["Sec-Fetch-Site"] = site
    return h


def origin_of(srv):
    return f"https://127.0.0.1:{srv.port}"


def web_files(c):
    return sorted(f for f in os.listdir(c.web) if not f.startswith(".") and f != "meson.build")


# ---- static files ----

@tap.test
def index_is_served_at_root_with_security_headers(c):
    st, hd, body = raw(c.srv, "GET", "/")
    expect(st == 200, st)
    with open(os.path.join(c.web, "index.html"), "rb") as f:
        expect(body == f.read(), "/ is not web/index.html")
    expect(hd["content-type"] == ["text/html; charset=utf-8"], hd)
    csp = hd["content-security-policy"][0]
    for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                 "frame-ancestors 'none'", "require-trusted-types-for 'script'", "object-src 'none'"):
        expect(part in csp, f"CSP lacks {part}", csp)
    expect("unsafe-inline" not in csp and "unsafe-eval" not in csp, csp)
    expect(hd["x-content-type-options"] == ["nosniff"], hd)
    expect(hd["referrer-policy"] == ["no-referrer"], hd)
    expect(hd["strict-transport-security"][0].startswith("max-age="), hd)
    expect(hd["cache-control"] == ["no-cache"], hd)
    expect(hd["etag"][0].startswith('"') and hd["etag"][0].endswith('"'), hd)


@tap.test
def every_web_file_is_embedded_byte_for_byte(c):
    types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    names = web_files(c)
    expect(len(names) >= 8, names)
    for name in names:
        st, hd, body = raw(c.srv, "GET", f"/console/{name}")
        expect(st == 200, name, st)
        with open(os.path.join(c.web, name), "rb") as f:
            expect(body == f.read(), f"{name} differs from web/{name}")
        ext = os.path.splitext(name)[1]
        expect(hd["content-type"][0].startswith(types[ext]), name, hd["content-type"])
        expect("content-security-policy" in hd, name)


@tap.test
def etag_answers_304_and_gzip_is_the_same_bytes(c):
    st, hd, body = raw(c.srv, "GET", "/console/app.js")
    tag = hd["etag"][0]
    st2, hd2, body2 = raw(c.srv, "GET", "/console/app.js", {"If-None-Match": tag})
    expect(st2 == 304 and body2 == b"", st2, body2)
    expect(hd2["etag"] == [tag], hd2)
    st3, hd3, gz = raw(c.srv, "GET", "/console/app.js", {"Accept-Encoding": "gzip, deflate"})
    expect(st3 == 200 and hd3.get("content-encoding") == ["gzip"], st3, hd3)
    expect(gzip.decompress(gz) == body, "gzip does not decompress to the file")
    expect(len(gz) < len(body), len(gz), len(body))
    expect(hd3["etag"][0] != tag, "the gzip representation needs its own ETag")
    expect(hd3["vary"] == ["Accept-Encoding"], hd3)
    st4, hd4, _ = raw(c.srv, "GET", "/console/app.js", {"Accept-Encoding": "gzip;q=0"})
    expect("content-encoding" not in hd4, hd4)
    st5, _, _ = raw(c.srv, "GET", "/console/app.js", {"If-None-Match": "\"nope\""})
    expect(st5 == 200, st5)


@tap.test
def paths_outside_the_console_shape_are_404(c):
    for p in ("/console/", "/console/../main.c", "/console/.hidden", "/console/a/b.js",
              "/console/nothere.js", "/console/meson.build", "/console/%2e%2e%2fREADME.md",
              "/console/app", "/index.html"):
        st, hd, b = raw(c.srv, "GET", p)
        expect(st == 404, p, st, b)
        expect(json.loads(b)["error"]["code"] == "NotFound", p, b)
    st, hd, b = raw(c.srv, "POST", "/", body={})
    expect(st == 405, st, b)
    st, hd, b = raw(c.srv, "HEAD", "/")
    expect(st == 200 and b == b"", st)


@tap.test
def console_dir_serves_from_disk_and_no_console_turns_it_off(c):
    d = tempfile.mkdtemp(prefix="jitgate-console-dir-")
    try:
        for n in web_files(c):
            shutil.copy(os.path.join(c.web, n), d)
        with open(os.path.join(d, "index.html"), "ab") as f:
            f.write(b"<!-- edited -->\n")
        os.symlink("/etc/passwd", os.path.join(d, "link.js"))
        s = Server(sys.argv[1], extra_args=["--console-dir", d]).start()
        c.extra.append(s)
        st, hd, body = raw(s, "GET", "/")
        expect(st == 200 and body.endswith(b"<!-- edited -->\n"), st, body[-40:])
        expect("content-security-policy" in hd and "etag" in hd, hd)
        st, hd2, _ = raw(s, "GET", "/", {"If-None-Match": hd["etag"][0]})
        expect(st == 304, st)
        st, _, _ = raw(s, "GET", "/console/link.js")
        expect(st == 404, "a symlink out of --console-dir was followed", st)
        s.stop()
        n = Server(sys.argv[1], state_dir=s.state_dir, extra_args=["--no-console"]).start()
        c.extra.append(n)
        st, _, b = raw(n, "GET", "/")
        expect(st == 404, st, b)
        st, _, b = raw(n, "POST", "/providers/Jitgate/sessions", body={"token": n.admin_token})
        expect(st == 404, st, b)
        # A cookie is no credential without the console.
        st, _, b = raw(n, "GET", "/providers/Jitgate/whoami", with_cookie("jgs_0123456789abcdef_" + "A" * 43))
        expect(st == 401, st, b)
        n.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- sessions ----

@tap.test
def sign_in_sets_a_host_only_strict_cookie(c):
    value, s, cookie = sign_in(c)
    attrs = [a.strip() for a in cookie.split(";")]
    expect(attrs[0].startswith(COOKIE + "=jgs_"), cookie)
    for a in ("Path=/", "Secure", "HttpOnly", "SameSite=Strict"):
        expect(a in attrs, f"cookie lacks {a}", cookie)
    expect(not any(a.lower().startswith("domain=") for a in attrs), cookie)
    expect(s["principal"]["name"] == "admin" and len(s["csrfToken"]) == 64, s)
    expect(c.srv.admin_token not in json.dumps(s) and value not in json.dumps(s), "secret echoed")
    st, hd, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(value))
    expect(st == 200 and json.loads(b)["principal"]["name"] == "admin", st, b)
    st, hd, b = raw(c.srv, "GET", "/providers/Jitgate/sessions/current", with_cookie(value))
    expect(st == 200 and json.loads(b)["csrfToken"] == s["csrfToken"], st, b)
    # The sign-in is in the audit log; the cookie value and the token are not.
    st, log, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"operation": "Jitgate/sessions/write"})
    expect(st == 200 and log["value"] and log["value"][0]["principalName"] == "admin", log)
    expect(value not in c.srv.log() and c.srv.admin_token not in c.srv.log(), "a secret is in the log")


@tap.test
def no_credential_is_not_signed_in_and_not_a_failed_sign_in(c):
    before = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"operation": "Jitgate/signIn/action"})[1]["value"]
    for _ in range(25):
        st, _, b = raw(c.srv, "GET", "/providers/Jitgate/sessions/current")
        expect(st == 200 and json.loads(b) == {"signedIn": False}, st, b)
    after = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"operation": "Jitgate/signIn/action"})[1]["value"]
    expect(len(after) == len(before), "a visit without credentials was audited as a failed sign-in")


@tap.test
def cookie_changes_need_csrf_and_the_same_origin(c):
    value, s, _ = sign_in(c)
    body = {"properties": {"virtualMachines": [{"id": c.vm("web1"), "ports": [
        {"number": 22, "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"}]}]}}
    o = origin_of(c.srv)
    cases = [
        (with_cookie(value, origin=o), "CSRF token"),
        (with_cookie(value, csrf="0" * 64, origin=o), "CSRF token"),
        (with_cookie(value, csrf=s["csrfToken"], origin="https://evil.example"), "own origin"),
        (with_cookie(value, csrf=s["csrfToken"]), "own origin"),
        (with_cookie(value, csrf=s["csrfToken"], origin=o, site="cross-site"), "Sec-Fetch-Site"),
        (with_cookie(value, csrf=s["csrfToken"], origin="http://127.0.0.1:%d" % c.srv.port), "own origin"),
    ]
    for headers, why in cases:
        st, _, b = raw(c.srv, "PUT", c.pol, headers, body)
        err = json.loads(b)["error"]
        expect(st == 403 and why in err["message"], headers, st, b)
    st, _, b = c.srv.request("GET", c.pol)
    expect(st == 404, "a refused change changed something", st, b)
    st, _, b = raw(c.srv, "PUT", c.pol, with_cookie(value, csrf=s["csrfToken"], origin=o, site="same-origin"), body)
    expect(st == 200, st, b)
    # Refusals are audited like any 403.
    log = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"top": "50"})[1]["value"]
    expect(any(e["statusCode"] == 403 and "CSRF" in json.dumps(e.get("details")) for e in log), log[:3])


@tap.test
def authorization_header_wins_and_agent_routes_take_no_cookie(c):
    value, s, _ = sign_in(c)
    st, p, _ = c.srv.request("PUT", "/providers/Jitgate/principals/rita", {"properties": {"kind": "User"}})
    expect(st == 201, st, p)
    st, a, _ = c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                             {"properties": {"roleDefinitionId": "Reader", "principalId": "rita"}})
    expect(st == 201, st, a)
    st, t, _ = c.srv.request("POST", "/providers/Jitgate/principals/rita/tokens", {"name": "t"})
    expect(st == 201, st, t)
    h = with_cookie(value)
    h["Authorization"] = "Bearer " + t["token"]
    st, _, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", h)
    expect(st == 200 and json.loads(b)["principal"]["name"] == "rita", st, b)
    # With a bad bearer token next to a good cookie: refused (the header wins).
    h["Authorization"] = "Bearer jgt_0000000000000000_" + "x" * 43
    st, _, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", h)
    expect(st == 401, st, b)
    for m, p in (("GET", "/agent/v1/desired-state"), ("POST", "/agent/v1/status")):
        st, _, b = raw(c.srv, m, p, with_cookie(value, csrf=s["csrfToken"], origin=origin_of(c.srv)),
                       body={} if m == "POST" else None, query=False)
        expect(st == 401, m, p, st, b)


@tap.test
def sign_out_ends_the_session_server_side(c):
    value, s, _ = sign_in(c)
    st, hd, b = raw(c.srv, "DELETE", "/providers/Jitgate/sessions/current", with_cookie(value))
    expect(st == 403, "sign-out without CSRF", st, b)
    st, hd, b = raw(c.srv, "DELETE", "/providers/Jitgate/sessions/current",
                    with_cookie(value, csrf=s["csrfToken"], origin=origin_of(c.srv)))
    expect(st == 200, st, b)
    expect("Max-Age=0" in hd["set-cookie"][0], hd)
    st, hd, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(value))
    expect(st == 401, "the cookie still works after sign-out", st, b)
    st, hd, b = raw(c.srv, "GET", "/providers/Jitgate/sessions/current", with_cookie(value))
    expect(st == 401 and "Max-Age=0" in hd.get("set-cookie", [""])[0], st, hd)


@tap.test
def revoking_the_token_ends_its_sessions(c):
    st, t, _ = c.srv.request("POST", "/providers/Jitgate/principals/me/tokens", {"name": "console"})
    expect(st == 201, st, t)
    value, s, _ = sign_in(c, t["token"])
    other, _, _ = sign_in(c)
    st, _, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(value))
    expect(st == 200, st, b)
    st, _, b = c.srv.request("DELETE", f"/providers/Jitgate/principals/me/tokens/{t['id']}")
    expect(st == 200, st, b)
    st, _, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(value))
    expect(st == 401 and "revoked" in json.loads(b)["error"]["message"], st, b)
    st, _, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(other))
    expect(st == 200, "a session of another token ended too", st, b)
    # An agent's credential cannot sign in.
    st, _, b = raw(c.srv, "POST", "/providers/Jitgate/sessions", body={"token": 42})
    expect(st == 400, st, b)


@tap.test
def sessions_expire(c):
    value, s, _ = sign_in(c)
    st, _, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(value))
    expect(st == 200, st, b)
    expect(s["expiresUtc"] > "2000", s)
    # Its end, moved into the past on the stopped server's database.
    c.srv.stop()
    sid = value.split("_")[1]
    expect(re.fullmatch(r"[0-9a-f]+", sid), sid)
    c.srv.sql(f"UPDATE sessions SET expires_ns = 1 WHERE session_id = '{sid}'")
    n = len(c.srv.sql(f"SELECT 1 FROM sessions WHERE session_id = '{sid}' AND expires_ns = 1"))
    expect(n == 1, "no such session row", n)
    c.srv.start()
    st, hd, b = raw(c.srv, "GET", "/providers/Jitgate/whoami", with_cookie(value))
    expect(st == 401 and "ended" in json.loads(b)["error"]["message"], st, b)
    st, hd, b = raw(c.srv, "GET", "/providers/Jitgate/sessions/current", with_cookie(value))
    expect(st == 401 and "Max-Age=0" in hd["set-cookie"][0], st, hd)


# ---- permissions ----

@tap.test
def permissions_at_a_scope_as_azure_answers_them(c):
    st, body, _ = c.srv.request("GET", "/providers/Microsoft.Authorization/permissions")
    expect(st == 200 and body["value"][0]["actions"] == ["*"] and body["value"][0]["scope"] == "/", body)
    expect(set(body["value"][0]) >= {"actions", "notActions", "dataActions", "notDataActions"}, body)
    st, _, _ = c.srv.request("PUT", "/providers/Jitgate/principals/jan", {"properties": {"kind": "User"}})
    st, a, _ = c.srv.request("PUT", f"{c.vm('web1')}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                             {"properties": {"roleDefinitionId": "JIT Network Access Requester", "principalId": "jan"}})
    expect(st == 201, st, a)
    st, t, _ = c.srv.request("POST", "/providers/Jitgate/principals/jan/tokens", {"name": "t"})
    jan = t["token"]
    sub = f"/subscriptions/{c.sub}"
    st, body, _ = c.srv.request("GET", f"{sub}/providers/Microsoft.Authorization/permissions", token=jan)
    expect(st == 200 and body["value"] == [], body)
    st, body, _ = c.srv.request("GET", f"{sub}/providers/Microsoft.Authorization/permissions", token=jan,
                                query={"includeBelow": "true"})
    expect(st == 200 and len(body["value"]) == 1, body)
    p = body["value"][0]
    expect(p["scope"].lower() == c.vm("web1").lower() and p["roleName"] == "JIT Network Access Requester", p)
    expect("Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action" in p["actions"], p)
    st, body, _ = c.srv.request("GET", f"{c.vm('web1')}/providers/Microsoft.Authorization/permissions", token=jan)
    expect(st == 200 and len(body["value"]) == 1, body)
    st, body, _ = c.srv.request("GET", f"{c.vm('db1')}/providers/Microsoft.Authorization/permissions", token=jan)
    expect(st == 200 and body["value"] == [], body)
    expect_error(c.srv.request("GET", f"{sub}/providers/Microsoft.Authorization/permissions", token=jan,
                               query={"includeBelow": "yes"}), 400, "BadRequest")
    expect_error(c.srv.request("PUT", f"{sub}/providers/Microsoft.Authorization/permissions", {}), 405)


# Last: it makes this address throttled for a minute.
@tap.test
def failed_sign_ins_are_audited_and_throttled_like_bad_tokens(c):
    bad = "jgt_0123456789abcdef_" + "B" * 43
    st, _, b = raw(c.srv, "POST", "/providers/Jitgate/sessions", body={"token": bad})
    expect(st == 401 and json.loads(b)["error"]["code"] == "AuthenticationFailed", st, b)
    expect(bad not in c.srv.log(), "the refused token is in the log")
    log = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"operation": "Jitgate/signIn/action"})[1]["value"]
    expect(log and log[0]["resourceId"] == "/providers/Jitgate/sessions" and log[0]["statusCode"] == 401, log[:1])
    statuses = []
    for _ in range(25):
        st, hd, b = raw(c.srv, "POST", "/providers/Jitgate/sessions", body={"token": bad})
        statuses.append(st)
    expect(statuses[-1] == 429 and "retry-after" in hd, statuses, hd)
    expect(json.loads(b)["error"]["code"] == "TooManyRequests", b)


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
