#!/usr/bin/env python3
"""Role-based access against a real jitgated: the authorization matrix (every route x every
built-in role x scopes in scope / parent / sibling / child), custom roles, a requester on one
VM, list filtering, token expiry and revocation, and bad-token throttling.

Usage: test_rbac.py PATH/TO/jitgated    (speaks TAP)
"""
import datetime as dt
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect, expect_error  # noqa: E402

tap = Tap()
LOC = "westeurope"
ROLES = ["Owner", "Contributor", "Reader", "Security Reader", "JIT Network Access Requester"]
# Scope positions relative to the resources the matrix acts on (in rg-a).
SCOPES = ["root", "sub", "rg-a", "rg-b", "vm-a1"]


def in_(seconds):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Ctx:
    pass


def setup():
    c = Ctx()
    c.srv = Server(sys.argv[1]).start()
    c.sub = c.srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.subp = f"/subscriptions/{c.sub}"
    c.rg = lambda g: f"{c.subp}/resourceGroups/{g}"
    c.vm = lambda g, v: f"{c.rg(g)}/providers/Microsoft.Compute/virtualMachines/{v}"
    c.pol = lambda g, n="default": (f"{c.rg(g)}/providers/Microsoft.Security/locations/{LOC}/"
                                    f"jitNetworkAccessPolicies/{n}")
    for g, vms in (("rg-a", ("vm-a1", "vm-a2")), ("rg-b", ("vm-b1",))):
        expect(c.srv.request("PUT", c.rg(g), {"location": LOC})[0] == 201)
        for v in vms:
            expect(c.srv.request("PUT", c.vm(g, v), {"properties": {"osType": "Linux",
                                 "addresses": ["10.0.0.1"]}})[0] == 201)
        st, _, _ = c.srv.request("PUT", c.pol(g), policy(c, g, vms))
        expect(st == 200)
    c.scope_id = {"root": "", "sub": c.subp, "rg-a": c.rg("rg-a"), "rg-b": c.rg("rg-b"),
                  "vm-a1": c.vm("rg-a", "vm-a1")}
    c.tokens = {}
    for role in ROLES:
        for scope in SCOPES:
            name = f"{role.replace(' ', '').lower()}-{scope}"
            c.tokens[(role, scope)] = principal_with_role(c, name, role, c.scope_id[scope])
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()


def policy(c, g, vms):
    return {"properties": {"virtualMachines": [{"id": c.vm(g, v), "ports": [
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT3H"}]} for v in vms]}}


def principal_with_role(c, name, role, scope_id):
    st, _, _ = c.srv.request("PUT", f"/providers/Jitgate/principals/{name}", {"properties": {}})
    expect(st == 201, f"create principal {name}", st)
    if role is not None:
        st, body, _ = c.srv.request("PUT", f"{scope_id}/providers/Microsoft.Authorization/"
                                    f"roleAssignments/{uuid.uuid4()}",
                                    {"properties": {"roleDefinitionId": role, "principalId": name}})
        expect(st == 201, f"assign {role} to {name} at {scope_id or '/'}", st, body)
    st, tok, _ = c.srv.request("POST", f"/providers/Jitgate/principals/{name}/tokens",
                               {"name": "test"})
    expect(st == 201 and tok["token"].startswith("jgt_"), tok)
    return tok["token"]


# The routes of the matrix. level: where the route's resource sits (item in rg-a, rg-a
# itself, the subscription, or the root); list: it lists and filters (allowed wherever the
# role holds its action at, above or below the scope); child: an assignment on vm-a1 grants
# it (the VM itself, a policy trimmed to that VM, initiate for that VM).
def routes(c):
    a1 = c.vm("rg-a", "vm-a1")
    sec = "/providers/Microsoft.Security"
    return [
        # name, method, path, body, roles allowed (when the scope covers), level, list, child
        ("get policy", "GET", c.pol("rg-a"), None, ROLES, "item", False, True),
        ("put policy", "PUT", c.pol("rg-a"), policy(c, "rg-a", ("vm-a1", "vm-a2")),
         ["Owner", "Contributor"], "item", False, False),
        ("delete policy", "DELETE", c.pol("rg-a", "gone"), None, ["Owner", "Contributor"],
         "item", False, False),
        ("initiate", "POST", c.pol("rg-a") + "/initiate", {"virtualMachines": [{"id": a1, "ports": [
            {"number": 22, "endTimeUtc": in_(600), "allowedSourceAddressPrefix": "10.1.1.1"}]}]},
         ["Owner", "Contributor", "JIT Network Access Requester"], "item", False, True),
        ("list policies in rg", "GET", f"{c.rg('rg-a')}{sec}/jitNetworkAccessPolicies", None, ROLES,
         "rg", True, False),
        ("list policies in sub", "GET", f"{c.subp}{sec}/jitNetworkAccessPolicies", None, ROLES,
         "sub", True, False),
        ("get vm", "GET", a1, None, ROLES, "item", False, True),
        ("put vm", "PUT", a1, {"properties": {"osType": "Linux", "addresses": ["10.0.0.1"]}},
         ["Owner", "Contributor"], "item", False, True),
        ("delete vm", "DELETE", c.vm("rg-a", "vm-gone"), None, ["Owner", "Contributor"], "item",
         False, False),
        ("list vms in rg", "GET", f"{c.rg('rg-a')}/providers/Microsoft.Compute/virtualMachines", None,
         ROLES, "rg", True, False),
        ("put rg", "PUT", c.rg("rg-a"), {"location": LOC}, ["Owner", "Contributor"], "rg", False,
         False),
        ("delete rg", "DELETE", c.rg("rg-a"), None, ["Owner", "Contributor"], "rg", False, False),
        ("enrollment token", "POST", f"{c.rg('rg-a')}/providers/Jitgate/enrollmentTokens", {},
         ["Owner", "Contributor"], "rg", False, False),
        ("list enforcement points", "GET", f"{c.rg('rg-a')}/providers/Jitgate/enforcementPoints",
         None, ["Owner", "Contributor", "Reader", "Security Reader"], "rg", True, False),
        ("assign role at rg", "PUT", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
         "roleAssignments/{guid}", {"properties": {"roleDefinitionId": "Reader",
                                                   "principalId": "dummy"}},
         ["Owner"], "rg", False, False),
        ("list role assignments at rg", "GET", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
         "roleAssignments", None, ROLES, "rg", True, False),
        ("put subscription", "PUT", c.subp, {"displayName": "Default"}, ["Owner", "Contributor"],
         "sub", False, False),
        ("list principals", "GET", "/providers/Jitgate/principals", None, ["Owner", "Reader"],
         "root", False, False),
        ("create principal", "PUT", "/providers/Jitgate/principals/made-by-test", {}, ["Owner"],
         "root", False, False),
    ]


COVERS = {"item": {"root", "sub", "rg-a"}, "rg": {"root", "sub", "rg-a"},
          "sub": {"root", "sub"}, "root": {"root"}}
WITHIN = {"item": set(), "rg": {"vm-a1"}, "sub": {"rg-a", "rg-b", "vm-a1"}, "root": set()}


def expected(route, role, scope):
    _, _, _, _, allowed_roles, level, is_list, child = route
    if role not in allowed_roles:
        return False
    if scope in COVERS[level]:
        return True
    if is_list and scope in WITHIN[level]:
        return True
    return child and scope == "vm-a1"


@tap.test
def authorization_matrix(c):
    c.srv.request("PUT", "/providers/Jitgate/principals/dummy", {})
    wrong = []
    count = 0
    for route in routes(c):
        name, method, path, body = route[:4]
        for role in ROLES:
            for scope in SCOPES:
                p = path.replace("{guid}", str(uuid.uuid4()))
                st, resp, _ = c.srv.request(method, p, body, token=c.tokens[(role, scope)])
                allowed = st != 403
                count += 1
                if st in (401, 500) or allowed != expected(route, role, scope):
                    wrong.append(f"{name} as {role}@{scope}: HTTP {st} "
                                 f"(expected {'allow' if expected(route, role, scope) else 'deny'})"
                                 f" {resp}")
                if st == 403:
                    err = resp["error"]
                    expect(err["code"] == "AuthorizationFailed", resp)
                    expect("does not have authorization to perform action" in err["message"], resp)
    expect(not wrong, f"{len(wrong)} of {count} matrix cells wrong:\n" + "\n".join(wrong[:40]))
    print(f"# authorization matrix: {count} cells checked")


@tap.test
def requester_on_one_vm_initiates_for_that_vm_only(c):
    tok = c.tokens[("JIT Network Access Requester", "vm-a1")]
    st, r, _ = c.srv.request("POST", c.pol("rg-a") + "/initiate", {"virtualMachines": [
        {"id": c.vm("rg-a", "vm-a1"), "ports": [{"number": 22, "endTimeUtc": in_(300)}]}]},
        token=tok)
    expect(st == 202, st, r)
    err = expect_error(c.srv.request("POST", c.pol("rg-a") + "/initiate", {"virtualMachines": [
        {"id": c.vm("rg-a", "vm-a2"), "ports": [{"number": 22, "endTimeUtc": in_(300)}]}]},
        token=tok), 403, "AuthorizationFailed")
    expect("vm-a2" in err["message"] and "initiate/action" in err["message"], err)
    # Its view of the policy holds vm-a1 alone, and only requests for vm-a1.
    st, pol, _ = c.srv.request("GET", c.pol("rg-a"), token=tok)
    expect(st == 200, st, pol)
    expect([v["id"] for v in pol["properties"]["virtualMachines"]] == [c.vm("rg-a", "vm-a1")], pol)
    for req in pol["properties"]["requests"]:
        expect(all(v["id"] == c.vm("rg-a", "vm-a1") for v in req["virtualMachines"]), req)
    # It cannot change the policy, nor see rg-b's.
    expect_error(c.srv.request("PUT", c.pol("rg-a"), policy(c, "rg-a", ("vm-a1",)), token=tok), 403)
    expect_error(c.srv.request("GET", c.pol("rg-b"), token=tok), 403)


@tap.test
def lists_never_leak(c):
    sec = "/providers/Microsoft.Security/jitNetworkAccessPolicies"
    tok = c.tokens[("JIT Network Access Requester", "rg-b")]
    st, lst, _ = c.srv.request("GET", c.subp + sec, token=tok)
    expect(st == 200 and [p["id"] for p in lst["value"]] == [c.pol("rg-b")], lst)
    st, vms, _ = c.srv.request("GET", f"{c.subp}/providers/Microsoft.Compute/virtualMachines",
                               token=tok)
    expect(st == 200 and [v["name"] for v in vms["value"]] == ["vm-b1"], vms)
    st, rgs, _ = c.srv.request("GET", f"{c.subp}/resourceGroups", token=tok)
    expect(st == 200 and [g["name"] for g in rgs["value"]] == ["rg-b"], rgs)
    st, subs, _ = c.srv.request("GET", "/subscriptions", token=tok)
    expect(st == 200 and len(subs["value"]) == 1, subs)
    nobody = principal_with_role(c, "nobody", None, "")
    st, subs, _ = c.srv.request("GET", "/subscriptions", token=nobody)
    expect(st == 200 and subs["value"] == [], "no role: no subscription", subs)
    expect_error(c.srv.request("GET", c.subp + sec, token=nobody), 403, "AuthorizationFailed")


@tap.test
def custom_role(c):
    rid = str(uuid.uuid4())
    body = {"properties": {"roleName": "JIT viewer of rg-a", "description": "read JIT only",
                           "permissions": [{"actions": [
                               "Microsoft.Security/locations/jitNetworkAccessPolicies/*"],
                               "notActions": ["Microsoft.Security/locations/"
                                              "jitNetworkAccessPolicies/write",
                                              "Microsoft.Security/locations/"
                                              "jitNetworkAccessPolicies/delete"]}],
                           "assignableScopes": [c.rg("rg-a")]}}
    st, role, _ = c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}",
                                body)
    expect(st == 201 and role["properties"]["type"] == "CustomRole", st, role)
    # Not assignable outside its assignableScopes.
    c.srv.request("PUT", "/providers/Jitgate/principals/custom-user", {})
    expect_error(c.srv.request("PUT", f"{c.rg('rg-b')}/providers/Microsoft.Authorization/"
                               f"roleAssignments/{uuid.uuid4()}", {"properties": {
                                   "roleDefinitionId": rid, "principalId": "custom-user"}}), 400)
    st, _, _ = c.srv.request("PUT", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
                             f"roleAssignments/{uuid.uuid4()}", {"properties": {
                                 "roleDefinitionId": rid, "principalId": "custom-user"}})
    expect(st == 201)
    tok = c.srv.request("POST", "/providers/Jitgate/principals/custom-user/tokens",
                        {"name": "t"})[1]["token"]
    expect(c.srv.request("GET", c.pol("rg-a"), token=tok)[0] == 200)
    st, _, _ = c.srv.request("POST", c.pol("rg-a") + "/initiate", {"virtualMachines": [
        {"id": c.vm("rg-a", "vm-a2"), "ports": [{"number": 22, "endTimeUtc": in_(60),
                                                  "allowedSourceAddressPrefix": "10.2.2.2"}]}]},
        token=tok)
    expect(st == 202, "the wildcard grants initiate", st)
    expect_error(c.srv.request("PUT", c.pol("rg-a"), policy(c, "rg-a", ("vm-a1",)), token=tok), 403)
    expect_error(c.srv.request("GET", c.vm("rg-a", "vm-a1"), token=tok), 403)
    # A role still assigned cannot be deleted; built-ins never.
    expect_error(c.srv.request("DELETE", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}"),
                 409)
    expect_error(c.srv.request("DELETE", "/providers/Microsoft.Authorization/roleDefinitions/"
                               "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), 400)
    st, roles, _ = c.srv.request("GET", "/providers/Microsoft.Authorization/roleDefinitions")
    names = [r["properties"]["roleName"] for r in roles["value"]]
    expect(names[:5] == ROLES and "JIT viewer of rg-a" in names, names)


@tap.test
def writing_back_a_trimmed_policy_cannot_drop_unseen_vms(c):
    rid = str(uuid.uuid4())
    st, _, _ = c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}", {
        "properties": {"roleName": "JIT policy writer", "permissions": [{"actions": [
            "Microsoft.Security/locations/jitNetworkAccessPolicies/write"]}],
            "assignableScopes": ["/"]}})
    expect(st == 201)
    tok = principal_with_role(c, "writer", "JIT policy writer", c.pol("rg-a"))
    c.srv.request("PUT", f"{c.vm('rg-a', 'vm-a1')}/providers/Microsoft.Authorization/"
                  f"roleAssignments/{uuid.uuid4()}", {"properties": {
                      "roleDefinitionId": "Reader", "principalId": "writer"}})
    st, view, _ = c.srv.request("GET", c.pol("rg-a"), token=tok)
    expect(st == 200 and len(view["properties"]["virtualMachines"]) == 1, "trimmed to vm-a1", view)
    err = expect_error(c.srv.request("PUT", c.pol("rg-a"), {"properties": view["properties"]},
                                     token=tok), 403, "AuthorizationFailed")
    expect("vm-a2" in err["message"], err)
    st, full, _ = c.srv.request("GET", c.pol("rg-a"))
    expect(len(full["properties"]["virtualMachines"]) == 2, "vm-a2 is still in the policy", full)


@tap.test
def token_expiry_and_revocation_take_effect_on_next_request(c):
    c.srv.request("PUT", "/providers/Jitgate/principals/shortlived", {})
    c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                  {"properties": {"roleDefinitionId": "Reader", "principalId": "shortlived"}})
    st, t1, _ = c.srv.request("POST", "/providers/Jitgate/principals/shortlived/tokens",
                              {"name": "one second", "validFor": "PT1S"})
    expect(st == 201 and "expiresUtc" in t1, t1)
    expect(c.srv.request("GET", "/subscriptions", token=t1["token"])[0] == 200)
    time.sleep(1.5)
    expect_error(c.srv.request("GET", "/subscriptions", token=t1["token"]), 401)
    st, t2, _ = c.srv.request("POST", "/providers/Jitgate/principals/shortlived/tokens",
                              {"name": "revoked soon"})
    expect(c.srv.request("GET", "/subscriptions", token=t2["token"])[0] == 200)
    # Self-service: the principal revokes its own token.
    st, _, _ = c.srv.request("DELETE", f"/providers/Jitgate/principals/me/tokens/{t2['id']}",
                             token=t2["token"])
    expect(st == 200, st)
    expect_error(c.srv.request("GET", "/subscriptions", token=t2["token"]), 401)
    st, lst, _ = c.srv.request("GET", "/providers/Jitgate/principals/shortlived/tokens")
    states = {t["name"]: t["state"] for t in lst["value"]}
    expect(states == {"one second": "Expired", "revoked soon": "Revoked"}, states)
    expect(all("token" not in t for t in lst["value"]), "a listing never shows a secret", lst)
    expect(t1["token"] not in c.srv.log() and t2["token"] not in c.srv.log(), "token logged")


@tap.test
def whoami_and_self_service(c):
    tok = c.tokens[("Reader", "rg-a")]
    st, me, _ = c.srv.request("GET", "/providers/Jitgate/whoami", token=tok)
    expect(st == 200 and me["principal"]["name"] == "reader-rg-a", me)
    expect(me["callerAddress"] == "127.0.0.1", me)
    # Minting one's own token is an action of its own: readers and requesters lack it.
    expect_error(c.srv.request("POST", "/providers/Jitgate/principals/me/tokens", {"name": "2nd"},
                               token=tok), 403, contains="Jitgate/tokens/mintOwn/action")
    st, mine, _ = c.srv.request("POST", "/providers/Jitgate/principals/me/tokens", {"name": "2nd"},
                                token=c.tokens[("Contributor", "rg-a")])
    expect(st == 201, st, mine)
    expect_error(c.srv.request("GET", "/providers/Jitgate/principals/admin/tokens", token=tok), 403)
    expect_error(c.srv.request("DELETE", "/providers/Jitgate/principals/admin"), 400)
    # Principal names may be e-mail addresses; other punctuation is refused.
    st, p, _ = c.srv.request("PUT", "/providers/Jitgate/principals/bob.smith+jit@contoso.com", {})
    expect(st == 201 and p["name"] == "bob.smith+jit@contoso.com", st, p)
    expect_error(c.srv.request("PUT", "/providers/Jitgate/principals/bob%21", {}), 400)


@tap.test
def agents_cannot_get_roles(c):
    st, tok, _ = c.srv.request("POST", f"{c.rg('rg-b')}/providers/Jitgate/enrollmentTokens", {})
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok["token"], "name": "gw", "kind": "gateway"}, token=None,
        api_version=None)
    expect(st == 200, e)
    agent = c.srv.request("GET", "/providers/Jitgate/principals")[1]
    expect(all(not p["name"].startswith("agent-") for p in agent["value"]), agent)

@tap.test
def review_enforcement_points_stay_in_their_group(c):
    st, tok, _ = c.srv.request("POST", f"{c.rg('rg-b')}/providers/Jitgate/enrollmentTokens", {})
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok["token"], "name": "ep-b1", "kind": "host",
        "vm": {"name": "vm-b1", "osType": "Linux", "addresses": ["10.0.0.1"]}},
        token=None, api_version=None)
    expect(st == 200, e)
    # A Contributor of rg-a cannot bind its VM to rg-b's point (that would open rg-b's host).
    tok_a = c.tokens[("Contributor", "rg-a")]
    err = expect_error(c.srv.request("PUT", c.vm("rg-a", "evil"), {"properties": {
        "osType": "Linux", "enforcementPoint": e["enforcementPoint"]}}, token=tok_a), 400)
    expect("resource group" in err["message"], err)
    missing = e["enforcementPoint"].replace("ep-b1", "no-such-ep")
    err2 = expect_error(c.srv.request("PUT", c.vm("rg-a", "evil"), {"properties": {
        "osType": "Linux", "enforcementPoint": missing}}, token=tok_a), 400)
    expect(err["message"].replace("ep-b1", "X") == err2["message"].replace("no-such-ep", "X"),
           "a foreign point and a missing one read alike", err, err2)
    # A host point protects its own VM only.
    err = expect_error(c.srv.request("PUT", c.vm("rg-b", "second"), {"properties": {
        "osType": "Linux", "enforcementPoint": e["enforcementPoint"]}}), 409)
    # Another enrollment cannot take a protected VM over.
    st, tok2, _ = c.srv.request("POST", f"{c.rg('rg-b')}/providers/Jitgate/enrollmentTokens", {})
    err = expect_error(c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok2["token"], "name": "ep-evil", "kind": "host",
        "vm": {"name": "vm-b1", "osType": "Linux", "addresses": ["192.0.2.66"]}},
        token=None, api_version=None), 409)
    vm = c.srv.request("GET", c.vm("rg-b", "vm-b1"))[1]
    expect(vm["properties"]["enforcementPoint"] == e["enforcementPoint"] and
           vm["properties"]["addresses"] == ["10.0.0.1"], vm)
    # Deleting the point revokes the agent's credential and unbinds its VM.
    st, _, _ = c.srv.request("DELETE", e["enforcementPoint"])
    expect(st == 200, st)
    expect_error(c.srv.request("GET", "/agent/v1/desired-state", token=e["credential"],
                               api_version=None), 401)
    vm = c.srv.request("GET", c.vm("rg-b", "vm-b1"))[1]
    expect("enforcementPoint" not in vm["properties"], vm)
    # An agent's principal is managed through its enforcement point, not as a principal.
    agent_name = "agent-" + e["credential"].split("_")[1]
    expect_error(c.srv.request("DELETE", f"/providers/Jitgate/principals/{agent_name}"), 400)


@tap.test
def review_role_definitions_need_rights_at_their_scopes(c):
    rid = str(uuid.uuid4())
    body = {"properties": {"roleName": "Sub auditor", "permissions": [{"actions": [
        "Jitgate/auditLogs/read"]}], "assignableScopes": [c.subp]}}
    st, _, _ = c.srv.request("PUT", f"{c.subp}/providers/Microsoft.Authorization/roleDefinitions/{rid}",
                             body)
    expect(st == 201, st)
    owner_a = c.tokens[("Owner", "rg-a")]
    # Rewriting a subscription-wide role through rg-a's path is refused.
    body["properties"]["permissions"][0]["actions"] = ["*"]
    expect_error(c.srv.request("PUT", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{rid}", body, token=owner_a), 403)
    # So is making a role assignable above what one owns.
    top = {"properties": {"roleName": "Everything", "permissions": [{"actions": ["*"]}],
                          "assignableScopes": ["/"]}}
    expect_error(c.srv.request("PUT", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{uuid.uuid4()}", top, token=owner_a), 403)
    # And deleting it from a VM's path.
    owner_vm = c.tokens[("Owner", "vm-a1")]
    expect_error(c.srv.request("DELETE", f"{c.vm('rg-a', 'vm-a1')}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{rid}", token=owner_vm), 403)
    # Within its own scope an rg Owner may define roles.
    mine = {"properties": {"roleName": "rg-a helper", "permissions": [{"actions": ["*/read"]}],
                           "assignableScopes": [c.rg("rg-a")]}}
    st, _, _ = c.srv.request("PUT", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
                             f"roleDefinitions/{uuid.uuid4()}", mine, token=owner_a)
    expect(st == 201, st)


@tap.test
def review_no_existence_leaks_and_bounds(c):
    nobody = principal_with_role(c, "nosy", None, "")
    ini = {"virtualMachines": [{"id": c.vm("rg-a", "vm-a1"), "ports": [
        {"number": 22, "endTimeUtc": in_(60)}]}]}
    e1 = expect_error(c.srv.request("POST", c.pol("rg-a") + "/initiate", ini, token=nobody), 403)
    e2 = expect_error(c.srv.request("POST", c.pol("rg-a", "ghost") + "/initiate", ini,
                                    token=nobody), 403)
    expect_error(c.srv.request("POST", c.pol("rg-a", "ghost") + "/revoke", ini, token=nobody), 403)
    expect_error(c.srv.request("GET", "/providers/Jitgate/principals/admin", token=nobody), 403)
    expect_error(c.srv.request("GET", "/providers/Jitgate/principals/nobody-here", token=nobody), 403)
    st, lst, _ = c.srv.request("GET", f"{c.rg('rg-a')}/providers/Microsoft.Authorization/"
                               "roleAssignments", query={"principalId": "nobody-here"})
    expect(st == 200 and lst["value"] == [], lst)
    expect_error(c.srv.request("POST", "/providers/Jitgate/principals/me/tokens",
                               {"name": "forever", "validFor": "P106751D"}, token=nobody), 403)
    expect_error(c.srv.request("POST", "/providers/Jitgate/principals/me/tokens",
                               {"name": "forever", "validFor": "P106751D"},
                               token=c.tokens[("Contributor", "rg-a")]), 400)
    expect_error(c.srv.request("PUT", f"/providers/Jitgate/principals/{uuid.uuid4()}", {}), 400)
    # A role on the policy alone edits the VMs in it but cannot add one.
    rid = str(uuid.uuid4())
    c.srv.request("PUT", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}", {
        "properties": {"roleName": "policy editor", "permissions": [{"actions": [
            "Microsoft.Security/locations/jitNetworkAccessPolicies/*"]}],
            "assignableScopes": ["/"]}})
    ed = principal_with_role(c, "editor", "policy editor", c.pol("rg-a"))
    c.srv.request("PUT", c.vm("rg-a", "vm-a3"), {"properties": {"osType": "Linux"}})
    err = expect_error(c.srv.request("PUT", c.pol("rg-a"), policy(c, "rg-a", ("vm-a1", "vm-a2", "vm-a3")),
                                     token=ed), 403)
    expect("vm-a3" in err["message"], err)
    st, _, _ = c.srv.request("PUT", c.pol("rg-a"), policy(c, "rg-a", ("vm-a1", "vm-a2")), token=ed)
    expect(st == 200, "editing the VMs already in it is allowed", st)


@tap.test
def review_enrollment_failures_are_throttled(c):
    statuses = []
    for _ in range(25):
        st, _, _ = c.srv.request("POST", "/agent/v1/enroll", {
            "enrollmentToken": "jge_0000000000000000_" + "x" * 43, "name": "x", "kind": "gateway"},
            token=None, api_version=None)
        statuses.append(st)
    expect(statuses[-1] == 429 and 401 in statuses, statuses)


@tap.test
def repeated_bad_tokens_are_throttled(c):
    statuses = [c.srv.request("GET", "/subscriptions", token="jgt_0000000000000000_" + "x" * 43)[0]
                for _ in range(25)]
    # Earlier tests' failures (bad enrollments too) from this address count in the same
    # one-minute window.
    n401 = statuses.index(429) if 429 in statuses else len(statuses)
    expect(n401 <= 20 and statuses[n401:] == [429] * (25 - n401), statuses)
    st, body, headers = c.srv.request("GET", "/subscriptions", token="jgt_0000000000000000_" + "y" * 43)
    expect(st == 429 and int(headers.get("Retry-After", "0")) > 0, "throttled per address", st)
    # A valid credential from the same address is never refused (security finding 6).
    st, body, headers = c.srv.request("GET", "/subscriptions")
    expect(st == 200, "a valid token is served from a throttled address", st, body)


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
