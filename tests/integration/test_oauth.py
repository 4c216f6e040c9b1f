#!/usr/bin/env python3
"""OAuth2 / OpenID for Azure's tools against a real jitgated, over HTTPS, no tool in between:
the ADFS discovery documents, ARM's cloud metadata and tenants, client secrets (shown once,
hashed, listed without their secret, revocable, expiring, self-service or by an Owner), the
client-credentials token endpoint (client_id by name or object ID; a client secret or a
jitgate token; every refusal in OAuth2's shape, audited and throttled), and the access
token it returns: accepted as a bearer token, never longer than its credential, and dead
the moment that credential is revoked or its principal deleted.

Usage: test_oauth.py PATH/TO/jitgated    (speaks TAP)
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect, expect_error  # noqa: E402

tap = Tap()
P = "/providers/Jitgate/principals"


class Ctx:
    pass


def raw(c, method, path, body=None, headers=None, host=None):
    """(status, parsed JSON or text, headers), with any body and headers."""
    req = urllib.request.Request(c.srv.url + path, data=body, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if host:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, context=c.srv.ssl, timeout=30) as r:
            text = r.read()
            status, hdrs = r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        text, status, hdrs = e.read(), e.code, dict(e.headers)
    try:
        return status, json.loads(text) if text else None, hdrs
    except ValueError:
        return status, text.decode("utf-8", "replace"), hdrs


def token_req(c, client_id, secret, scope=None, grant="client_credentials", extra=""):
    form = {"grant_type": grant, "client_id": client_id, "client_secret": secret}
    form["scope"] = scope if scope is not None else c.srv.url + "/.default"
    body = urllib.parse.urlencode(form) + extra
    return raw(c, "POST", "/adfs/oauth2/token", body.encode(),
               {"Content-Type": "application/x-www-form-urlencoded"})


def expect_oauth_error(resp, status, code, contains=None):
    st, body, _ = resp
    expect(st == status, f"expected HTTP {status}, got {st}", body)
    expect(isinstance(body, dict) and body.get("error") == code and
           isinstance(body.get("error_description"), str), f"not OAuth2 error {code}", body)
    if contains:
        expect(contains in body["error_description"], f"description lacks {contains!r}", body)
    return body


def principal(c, name, kind="ServicePrincipal", role=None):
    st, p, _ = c.srv.request("PUT", f"{P}/{name}", {"properties": {"kind": kind}})
    expect(st in (200, 201), st, p)
    if role:
        st, a, _ = c.srv.request(
            "PUT", f"/subscriptions/{c.sub}/providers/Microsoft.Authorization/roleAssignments/"
            f"{role[1]}", {"properties": {"roleDefinitionId": role[0], "principalId": name}})
        expect(st in (200, 201), st, a)
    return p["properties"]["objectId"]


def secret(c, name, valid_for=None, token="admin"):
    body = {"name": "ci"}
    if valid_for:
        body["validFor"] = valid_for
    st, s, _ = c.srv.request("POST", f"{P}/{name}/clientSecrets", body, token=token)
    expect(st == 201, st, s)
    return s


def access(c, client_id, cred):
    st, body, _ = token_req(c, client_id, cred)
    expect(st == 200, st, body)
    return body


def whoami(c, bearer):
    return c.srv.request("GET", "/providers/Jitgate/whoami", token=bearer)


def setup():
    c = Ctx()
    c.srv = Server(sys.argv[1]).start()
    c.sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.bot_oid = principal(c, "ci-bot", role=("Reader", "6a1c7f00-0000-4000-8000-000000000001"))
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()


@tap.test
def discovery_documents(c):
    for path in ("/adfs/.well-known/openid-configuration",
                 "/adfs/adfs/.well-known/openid-configuration"):
        st, d, _ = raw(c, "GET", path)
        expect(st == 200, path, st, d)
        expect(d["issuer"] == c.srv.url + "/adfs", d)
        expect(d["token_endpoint"] == c.srv.url + "/adfs/oauth2/token", d)
        expect(d["authorization_endpoint"] == c.srv.url + "/adfs/oauth2/authorize", d)
        expect(d["grant_types_supported"] == ["client_credentials"], d)
        expect(d["jwks_uri"] == c.srv.url + "/adfs/discovery/keys", d)
    # Access tokens are opaque (checked by jitgated itself), so there is no signing key.
    st, keys, _ = raw(c, "GET", "/adfs/discovery/keys")
    expect(st == 200 and keys == {"keys": []}, st, keys)
    # Interactive sign-in is refused with a reason, in OAuth2's shape.
    expect_oauth_error(raw(c, "GET", "/adfs/oauth2/authorize"), 400,
                       "unsupported_response_type", "client_credentials")


@tap.test
def urls_only_for_this_servers_names(c):
    # A forged Host never becomes a token endpoint.
    st, d, _ = raw(c, "GET", "/adfs/.well-known/openid-configuration", host="evil.example")
    expect(st == 400 and "Host" in d["error_description"], st, d)
    st, d, _ = raw(c, "GET", "/metadata/endpoints?api-version=2015-01-01",
                   host="evil.example:443")
    expect_error((st, d, None), 400, "BadRequest", "Host")
    st, d, _ = raw(c, "GET", "/adfs/.well-known/openid-configuration",
                   host=f"localhost:{c.srv.port}")
    expect(st == 200 and d["token_endpoint"] ==
           f"https://localhost:{c.srv.port}/adfs/oauth2/token", d)


@tap.test
def arm_metadata_and_tenants(c):
    for path in ("/metadata/endpoints?api-version=2015-01-01",
                 "//metadata/endpoints?api-version=2015-01-01"):
        st, m, _ = raw(c, "GET", path)
        expect(st == 200, path, st, m)
        expect(m["authentication"]["loginEndpoint"] == c.srv.url + "/adfs", m)
        expect(m["authentication"]["audiences"] == [c.srv.url + "/"], m)
    # ARM's account endpoints take the api-version az sends; the JIT API keeps its own.
    st, t, _ = c.srv.request("GET", "/tenants", api_version="2019-11-01")
    expect(st == 200 and t["value"][0]["tenantId"] == "adfs", st, t)
    st, s, _ = c.srv.request("GET", "/subscriptions", api_version="2019-11-01")
    expect(st == 200 and s["value"][0]["subscriptionId"] == c.sub, st, s)
    st, s, _ = c.srv.request("GET", f"/subscriptions/{c.sub}", api_version="2016-06-01")
    expect(st == 200 and s["subscriptionId"] == c.sub, st, s)
    expect_error(c.srv.request("GET", "/subscriptions", api_version="latest"), 400,
                 "InvalidApiVersionParameter")
    expect_error(c.srv.request("GET", f"/subscriptions/{c.sub}/providers/Microsoft.Security/"
                               "jitNetworkAccessPolicies", api_version="2019-11-01"), 400,
                 "InvalidApiVersionParameter")
    expect_error(c.srv.request("GET", "/tenants", token=None), 401, "AuthenticationFailed")


@tap.test
def client_secret_shown_once_listed_without(c):
    c.srv.require_sqlite()
    s = secret(c, "ci-bot", "P30D")
    expect(s["secret"].startswith("jcs_" + s["id"] + "_"), s)
    expect(s["clientId"] == c.bot_oid and s["principalName"] == "ci-bot", s)
    expect(s["state"] == "Active" and "expiresUtc" in s, s)
    st, lst, _ = c.srv.request("GET", f"{P}/ci-bot/clientSecrets")
    expect(st == 200 and any(x["id"] == s["id"] for x in lst["value"]), lst)
    expect(s["secret"] not in json.dumps(lst) and all("secret" not in x for x in lst["value"]),
           lst)
    # Stored as a hash only: the secret is nowhere in the database or the log.
    with open(os.path.join(c.srv.state_dir, "jitgate.db"), "rb") as f:
        db = f.read()
    expect(s["secret"].split("_", 2)[2].encode() not in db, "secret in the database")
    expect(s["secret"] not in c.srv.log(), "secret in the log")
    # It always expires: no secret lives past two years, nor for nothing.
    for bad in ("P731D", "PT0S", "soon"):
        expect_error(c.srv.request("POST", f"{P}/ci-bot/clientSecrets",
                                   {"name": "x", "validFor": bad}), 400,
                     "InvalidRequestContent", "validFor")
    expect_error(c.srv.request("POST", f"{P}/ci-bot/clientSecrets", {"name": ""}), 400,
                 "InvalidRequestContent", "name")
    expect_error(c.srv.request("POST", f"{P}/nobody/clientSecrets", {"name": "x"}), 404,
                 "PrincipalNotFound")


@tap.test
def token_by_name_and_object_id(c):
    s = secret(c, "ci-bot")
    for client_id in ("ci-bot", c.bot_oid, c.bot_oid.upper()):
        tok = access(c, client_id, s["secret"])
        expect(tok["token_type"] == "Bearer" and tok["access_token"].startswith("jga_"), tok)
        expect(3590 <= tok["expires_in"] <= 3600, tok)
        expect(abs(tok["expires_on"] - (time.time() + tok["expires_in"])) < 5, tok)
        st, me, _ = whoami(c, tok["access_token"])
        expect(st == 200 and me["principal"]["name"] == "ci-bot", st, me)
    # The access token carries the principal's roles: a Reader reads, and may not write.
    st, lst, _ = c.srv.request("GET", "/subscriptions", token=tok["access_token"])
    expect(st == 200 and lst["value"][0]["subscriptionId"] == c.sub, st, lst)
    expect_error(c.srv.request("PUT", f"/subscriptions/{c.sub}/resourceGroups/nope",
                               {"location": "x"}, token=tok["access_token"]), 403,
                 "AuthorizationFailed", "ci-bot")
    # The issue is audited against the principal, naming the credential, never the secret.
    st, a, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs",
                             query={"operation": "Jitgate/oauth2/token/action", "top": "1"})
    e = a["value"][0]
    expect(e["principalName"] == "ci-bot" and e["details"]["credential"] == "clientSecret" and
           e["details"]["credentialId"] == s["id"], e)
    expect(s["secret"] not in json.dumps(a) and tok["access_token"] not in json.dumps(a), a)
    expect(tok["access_token"] not in c.srv.log() and s["secret"] not in c.srv.log())


@tap.test
def token_from_a_jitgate_token(c):
    st, t, _ = c.srv.request("POST", f"{P}/ci-bot/tokens", {"name": "az", "validFor": "PT1H"})
    expect(st == 201, st, t)
    tok = access(c, "ci-bot", t["token"])
    expect(tok["expires_in"] <= 3600, tok)
    expect(whoami(c, tok["access_token"])[0] == 200)
    # Revoking the token ends the access token bought with it, at once.
    st, _, _ = c.srv.request("DELETE", f"{P}/ci-bot/tokens/{t['id']}")
    expect(st == 200, st)
    expect_error(whoami(c, tok["access_token"]), 401, "AuthenticationFailed", "revoked")
    expect_oauth_error(token_req(c, "ci-bot", t["token"]), 401, "invalid_client")


@tap.test
def revoking_the_secret_stops_its_access_tokens_at_once(c):
    s = secret(c, "ci-bot")
    tok = access(c, "ci-bot", s["secret"])
    expect(whoami(c, tok["access_token"])[0] == 200)
    st, _, _ = c.srv.request("DELETE", f"{P}/ci-bot/clientSecrets/{s['id']}")
    expect(st == 200, st)
    expect_error(whoami(c, tok["access_token"]), 401, "AuthenticationFailed")
    expect_oauth_error(token_req(c, "ci-bot", s["secret"]), 401, "invalid_client")
    st, lst, _ = c.srv.request("GET", f"{P}/ci-bot/clientSecrets")
    mine = [x for x in lst["value"] if x["id"] == s["id"]][0]
    expect(mine["state"] == "Revoked" and "revokedUtc" in mine and "lastUsedUtc" in mine, mine)
    expect(c.srv.request("DELETE", f"{P}/ci-bot/clientSecrets/{s['id']}")[0] == 204)


@tap.test
def deleting_the_principal_stops_its_access_tokens(c):
    principal(c, "short-lived")
    s = secret(c, "short-lived")
    tok = access(c, "short-lived", s["secret"])
    expect(whoami(c, tok["access_token"])[0] == 200)
    expect(c.srv.request("DELETE", f"{P}/short-lived")[0] == 200)
    expect_error(whoami(c, tok["access_token"]), 401, "AuthenticationFailed")


@tap.test
def access_token_never_outlives_its_secret(c):
    s = secret(c, "ci-bot", "PT6S")
    tok = access(c, "ci-bot", s["secret"])
    expect(1 <= tok["expires_in"] <= 6, tok)
    expect(whoami(c, tok["access_token"])[0] == 200)
    time.sleep(tok["expires_in"] + 1.2)
    expect_error(whoami(c, tok["access_token"]), 401, "AuthenticationFailed")
    expect_oauth_error(token_req(c, "ci-bot", s["secret"]), 401, "invalid_client")
    st, lst, _ = c.srv.request("GET", f"{P}/ci-bot/clientSecrets")
    expect([x for x in lst["value"] if x["id"] == s["id"]][0]["state"] == "Expired", lst)


@tap.test
def refusals_in_oauth2_shape(c):
    s = secret(c, "ci-bot")
    other_oid = principal(c, "other-bot")
    same = "Client authentication failed"
    # A wrong secret, an unknown client, another principal's secret: the same answer.
    bad = s["secret"][:-4] + ("AAAA" if not s["secret"].endswith("AAAA") else "BBBB")
    expect_oauth_error(token_req(c, "ci-bot", bad), 401, "invalid_client", same)
    expect_oauth_error(token_req(c, "no-such-bot", s["secret"]), 401, "invalid_client", same)
    expect_oauth_error(token_req(c, other_oid, s["secret"]), 401, "invalid_client", same)
    expect_oauth_error(token_req(c, "ci-bot", "password123"), 401, "invalid_client", same)
    expect_oauth_error(token_req(c, "ci-bot", s["secret"], grant="password"), 400,
                       "unsupported_grant_type", "client_credentials")
    expect_oauth_error(token_req(c, "ci-bot", s["secret"], scope="https://x/user.read"), 400,
                       "invalid_scope", "/.default")
    expect_oauth_error(token_req(c, "ci-bot", s["secret"], extra="&client_id=again"), 400,
                       "invalid_request", "more than once")
    expect_oauth_error(token_req(c, "ci-bot", s["secret"], extra="&scope=%zz"), 400,
                       "invalid_request")
    expect_oauth_error(raw(c, "POST", "/adfs/oauth2/token", b"grant_type=client_credentials",
                           {"Content-Type": "application/x-www-form-urlencoded"}), 400,
                       "invalid_request", "client_id")
    expect_oauth_error(raw(c, "POST", "/adfs/oauth2/token", b'{"grant_type":"x"}',
                           {"Content-Type": "application/json"}), 400, "invalid_request",
                       "x-www-form-urlencoded")
    # A client secret is not itself a bearer token.
    expect_error(whoami(c, s["secret"]), 401, "AuthenticationFailed")
    # Failed sign-ins are audited, anonymous, with the reason.
    st, a, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs",
                             query={"operation": "Jitgate/signIn/action", "top": "5"})
    expect(any(e["resourceId"] == "/adfs/oauth2/token" and e["statusCode"] == 401
               for e in a["value"]), a)
    expect(s["secret"] not in json.dumps(a) and bad not in c.srv.log(), "secret leaked")


@tap.test
def agents_cannot_use_the_token_endpoint(c):
    # An agent's principal has no secrets to make; its own credential is refused here.
    st, rg, _ = c.srv.request("PUT", f"/subscriptions/{c.sub}/resourceGroups/rg-agents",
                              {"location": "westeurope"})
    expect(st in (200, 201), st, rg)
    st, et, _ = c.srv.request("POST", f"/subscriptions/{c.sub}/resourceGroups/rg-agents/"
                              "providers/Jitgate/enrollmentTokens", {"validFor": "PT10M"})
    expect(st == 201, st, et)
    st, cred, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": et["token"], "name": "ep-x", "kind": "host",
        "vm": {"name": "vm-x", "osType": "Linux", "addresses": ["10.9.9.9"]}},
        api_version=None, token=None)
    expect(st == 200, st, cred)
    agent = "agent-" + cred["credential"].split("_")[1]
    expect_oauth_error(token_req(c, agent, cred["credential"]), 400, "unauthorized_client",
                       "agent")


@tap.test
def self_service_and_others_secrets(c):
    # Making one's own secret is self-minting (security finding 7): a Reader may not.
    st, t, _ = c.srv.request("POST", f"{P}/ci-bot/tokens", {"name": "self"})
    expect(st == 201, st, t)
    expect_error(c.srv.request("POST", f"{P}/me/clientSecrets", {"name": "x"},
                               token=t["token"]), 403, "AuthorizationFailed",
                 "Jitgate/tokens/mintOwn/action")
    # With that action it makes its own secret (with its own token) but not someone else's,
    # and the secret never outlives the token it was made with.
    rid = "6a1c7f00-0000-4000-8000-0000000000aa"
    st, r, _ = c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}",
                             {"properties": {"roleName": "self-service", "permissions": [
                                 {"actions": ["Jitgate/tokens/mintOwn/action"]}],
                                 "assignableScopes": ["/"]}})
    expect(st == 201, st, r)
    st, a, _ = c.srv.request("PUT", "/providers/Microsoft.Authorization/roleAssignments/"
                             "6a1c7f00-0000-4000-8000-0000000000ab",
                             {"properties": {"roleDefinitionId": rid, "principalId": "ci-bot"}})
    expect(st == 201, st, a)
    st, short, _ = c.srv.request("POST", f"{P}/ci-bot/tokens", {"name": "short",
                                                                 "validFor": "PT1H"})
    expect_error(c.srv.request("POST", f"{P}/me/clientSecrets", {"name": "x", "validFor": "P30D"},
                               token=short["token"]), 400, contains="outlive")
    s2 = secret(c, "me", token=short["token"])
    expect(s2["expiresUtc"] <= short["expiresUtc"], s2, short)
    # Revoking the token it was made with revokes the secret (and its access tokens).
    st, _, _ = c.srv.request("DELETE", f"{P}/ci-bot/tokens/{short['id']}")
    expect(st == 200, st)
    st, lst, _ = c.srv.request("GET", f"{P}/ci-bot/clientSecrets")
    expect([x["state"] for x in lst["value"] if x["id"] == s2["id"]] == ["Revoked"], lst)
    mine = secret(c, "me", token=t["token"])
    expect(mine["principalName"] == "ci-bot", mine)
    expect_error(c.srv.request("POST", f"{P}/other-bot/clientSecrets", {"name": "x"},
                               token=t["token"]), 403, "AuthorizationFailed",
                 "Jitgate/principals/clientSecrets/write")
    expect_error(c.srv.request("GET", f"{P}/other-bot/clientSecrets", token=t["token"]), 403,
                 "AuthorizationFailed")
    st, lst, _ = c.srv.request("GET", f"{P}/me/clientSecrets", token=t["token"])
    expect(st == 200 and any(x["id"] == mine["id"] for x in lst["value"]), st, lst)


@tap.test
def failed_sign_ins_are_throttled(c):
    # A fresh server: the throttle is per address and would spill into other tests.
    srv = Server(sys.argv[1]).start()
    try:
        c2 = Ctx()
        c2.srv = srv
        principal_ok = srv.request("PUT", f"{P}/bot", {"properties": {"kind":
                                   "ServicePrincipal"}})[0] == 201
        expect(principal_ok)
        codes = [token_req(c2, "bot", "jcs_0000000000000000_" + "A" * 43)[0]
                 for _ in range(21)]
        expect(codes[:20] == [401] * 20 and codes[20] == 429, codes)
        st, body, hdrs = token_req(c2, "bot", "x")
        expect(st == 429 and body["error"] == "TooManyRequests" and
               int(hdrs.get("Retry-After", "0")) > 0, st, body, hdrs)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
