#!/usr/bin/env python3
"""Integration tests of jitgate's administration commands against a real jitgated.

Usage: test_cli_admin.py PATH/TO/jitgate PATH/TO/jitgated    (speaks TAP)

whoami, principal, token, client-secret, role, audit (table, JSON across nextLink pages, CSV parsed
with the csv module, verify on an intact and on a tampered log), jit settings, agent
list | show | remove (enforcement points enrolled through the agent channel), and
the VM columns the server reports. Every command runs as the real binary with HOME
in a temporary directory; JSON output is parsed back and checked against the API;
exit statuses are 0 ok, 1 the server said no, 2 usage. The README's walkthrough
"request-only access to one VM" is run as written, with the requester logged in
from a HOME of her own and a stand-in agent applying the grant.
"""
import csv
import datetime as dt
import http.client
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect  # noqa: E402
from test_cli import (Ctx, FakeAgent, api, clean_env, conn, fails, iso_to_dt,  # noqa: E402
                      now, ok, run)

tap = Tap()
AUTHZ = "/providers/Microsoft.Authorization"
REQUESTER = "b3b1e1f4-4a9c-4c1e-9a0b-6a1f0f3c7a11"
INITIATE = "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action"


def setup():
    c = Ctx()
    c.cli = os.path.abspath(sys.argv[1])
    c.srv = Server(sys.argv[2]).start()
    c.tmp = tempfile.mkdtemp(prefix="jitgate-cli-admin-test-")
    c.home = os.path.join(c.tmp, "home")
    os.mkdir(c.home)
    c.token_file = os.path.join(c.srv.state_dir, "admin.token")
    c.ca = os.path.join(c.srv.state_dir, "tls", "cert.pem")
    c.outputs = []
    c.hidden = []       # secrets that must never be printed
    c.tokens = {}       # token name -> token
    c.sub = api(c, "GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    c.rgp = lambda rg: f"/subscriptions/{c.sub}/resourceGroups/{rg}"
    c.vm_id = lambda rg, vm: f"{c.rgp(rg)}/providers/Microsoft.Compute/virtualMachines/{vm}"
    ok(c, "login", *conn(c))
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()
        shutil.rmtree(c.tmp, ignore_errors=True)


def token_file(c, name, token):
    path = os.path.join(c.tmp, name)
    with open(path, "w") as f:
        f.write(token + "\n")
    return path


def enroll(c, rg, ep, vm, addr):
    """Enrolls a host agent for vm (made by the enrollment); returns its credential."""
    tok = ok(c, "agent", "enroll-token", "-g", rg).out.strip()
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok, "name": ep, "kind": "host",
        "vm": {"name": vm, "osType": "Linux", "addresses": [addr]}}, token=None,
        api_version=None)
    expect(st == 200, "enrolled", st, e)
    c.hidden.append(e["credential"])
    return e["credential"]


# ---- help and usage ----

NEW_COMMANDS = [["whoami"], ["principal", "create"], ["principal", "list"],
                ["principal", "show"], ["principal", "delete"], ["token", "create"],
                ["token", "list"], ["token", "revoke"], ["role", "list"], ["role", "show"],
                ["role", "create"], ["role", "delete"], ["role", "assign"],
                ["role", "unassign"], ["role", "assignments"], ["audit"], ["audit", "verify"],
                ["jit", "settings"], ["agent", "list"], ["agent", "show"], ["agent", "remove"],
                ["client-secret", "create"], ["client-secret", "list"],
                ["client-secret", "revoke"]]


@tap.test
def every_new_command_has_help(c):
    top = ok(c, "--help")
    for cmd in NEW_COMMANDS:
        expect(" ".join(cmd) in top.out, f"top help lists {cmd}", top)
        h = ok(c, *cmd, "--help")
        expect(h.out.startswith("usage: jitgate " + " ".join(cmd)), "usage line", h)
        expect("--server" in h.out and "--output" in h.out, "common options listed", h)
    for group in ("principal", "token", "role"):
        h = ok(c, group, "--help")
        expect(f"usage: jitgate {group} COMMAND" in h.out, h)
    # audit is a command and the group of 'audit verify': help shows the command.
    expect(ok(c, "help", "audit").out.startswith("usage: jitgate audit [--vm"))
    expect("audit verify" in ok(c, "audit", "--help").out)
    expect("csv" in ok(c, "audit", "--help").out)


@tap.test
def usage_errors_exit_2(c):
    dead = ["--server", "https://127.0.0.1:1"]      # none of these reaches a server
    cases = [
        (["principal"], "principal create"),
        (["principal", "create"], "name one principal"),
        (["principal", "create", "bad name"], "letters, digits"),
        (["principal", "create", "me"], "reserved"),
        (["principal", "create", "x", "--display-name", ""], "--display-name"),
        (["principal", "show"], "name one principal"),
        (["principal", "delete", "me"], "yourself"),
        (["token", "create"], "--name"),
        (["token", "create", "--name", "x", "--valid-for", "soon"], "--valid-for"),
        (["token", "create", "--name", "x", "--output-file", "-"], "--output-file"),
        (["token", "create", "--name", "x", "--principal", "a b"], "--principal"),
        (["token", "list", "--name", "x"], "unknown option '--name'"),
        (["token", "revoke"], "ID"),
        (["token", "revoke", "jgt_0123456789abcdef_secret"], "not the secret itself"),
        (["client-secret", "create"], "--name"),
        (["client-secret", "create", "--name", "x", "--valid-for", "soon"], "--valid-for"),
        (["client-secret", "revoke", "jcs_0123456789abcdef_secret"], "not the secret itself"),
        (["role", "show"], "name one role"),
        (["role", "create"], "--file FILE"),
        (["role", "create", "--file", "x.json", "--name", "y"], "either-or"),
        (["role", "create", "--name", "r", "--action", "a b", "--scope", "/"], "--action"),
        (["role", "create", "--name", "r", "--action", "*/read", "--scope", "/nope"],
         "--scope"),
        (["role", "create", "--name", "r", "--action", "*/read"], "--scope"),
        (["role", "assign", "Reader"], "--principal"),
        (["role", "assign", "Reader", "--principal", "a", "--root", "--subscription-scope"],
         "one scope"),
        (["role", "assign", "Reader", "--principal", "a", "--scope", "/bogus"], "--scope"),
        (["role", "unassign", "not-a-guid"], "GUID"),
        (["role", "unassign", str(uuid.uuid4()), "--principal", "a"], "--principal"),
        (["audit", "--top", "0"], "--top"),
        (["audit", "--since", "yesterday"], "--since"),
        (["audit", "--since", "2030-01-02T00:00:00Z", "--until", "2030-01-01T00:00:00Z"],
         "--until"),
        (["audit", "--all", "-g", "rg"], "--all"),
        (["audit", "--operation", "a b"], "--operation"),
        (["audit", "web1"], "audit verify"),
        (["audit", "-o", "yaml"], "table, wide, csv or json"),
        (["audit", "verify", "now"], "unexpected"),
        (["jit", "settings", "--disable"], "--reason"),
        (["jit", "settings", "--reason", "x"], "--disable"),
        (["jit", "settings", "--enable", "--disable", "--reason", "x"], "either-or"),
        (["vm", "list", "-o", "csv"], "expected table, wide or json"),
        (["whoami", "extra"], "unexpected"),
        (["agent", "list", "extra"], "unexpected argument"),
        (["agent", "list", "-g", "a b"], "resource group"),
        (["agent", "show", "-g", "rg"], "name one enforcement point"),
        (["agent", "show", "ep1"], "-g RG"),
        (["agent", "show", "ep1", "ep2", "-g", "rg"], "name one enforcement point"),
        (["agent", "show", "bad name", "-g", "rg"], "enforcement point name"),
        (["agent", "remove", "ep1"], "-g RG"),
        (["agent", "remove", "-g", "rg"], "name one enforcement point"),
        (["agent", "remove", "ep1", "-g", "rg", "--valid-for", "1h"], "--valid-for"),
        (["agent", "remove", "ep1", "-g", "rg", "-o", "csv"], "expected table, wide or json"),
    ]
    for args, msg in cases:
        r = run(c, *(args + dead))
        expect(r.rc == 2, f"usage error exit 2 for {args}", r)
        expect(msg in r.err, f"message for {args} lacks {msg!r}", r)
        expect("--help" in r.err, "usage errors point at --help", r)


# ---- the README's walkthrough: request-only access to one VM ----

@tap.test
def readme_request_only_access_to_one_vm(c):
    """README, "Who may do what", run as written (with a stand-in agent for web1)."""
    api(c, "PUT", c.rgp("prod"), {"location": "westeurope"})
    c.web1_cred = enroll(c, "prod", "ep-web1", "web1", "10.0.1.5")
    ok(c, "vm", "add", "db1", "-g", "prod", "--os", "linux", "--address", "10.0.1.6")
    ok(c, "jit", "enable", "web1", "-g", "prod")
    ok(c, "jit", "enable", "db1", "-g", "prod")

    work = os.path.join(c.tmp, "walkthrough")
    os.mkdir(work)
    shutil.copy(c.ca, os.path.join(work, "cert.pem"))
    ok(c, "principal", "create", "alice", cwd=work)
    ok(c, "role", "assign", "JIT Network Access Requester", "--principal", "alice", "--vm",
       "web1", "-g", "prod", cwd=work)
    r = ok(c, "token", "create", "--principal", "alice", "--name", "alice laptop",
           "--valid-for", "P30D", "--output-file", "alice.token", cwd=work)
    path = os.path.join(work, "alice.token")
    expect(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the token file is 0600",
           oct(os.stat(path).st_mode))
    token = open(path).read()
    expect(re.fullmatch(r"jgt_[0-9a-f]{16}_\S+\n", token), "one token, one line", token)
    token = token.strip()
    c.hidden.append(token)
    expect(token not in r.out + r.err, "with --output-file the token is not printed", r)
    expect("alice.token (mode 0600)" in r.out, r)

    # Alice, in a HOME of her own.
    alice_home = os.path.join(c.tmp, "alice-home")
    os.mkdir(alice_home)
    r = ok(c, "login", "--server", c.srv.url, "--ca", "cert.pem", "--token-file",
           "alice.token", home=alice_home, cwd=work)
    expect("as alice" in r.out, r)
    with FakeAgent(c.srv, c.web1_cred):
        r = ok(c, "request", "web1", "-g", "prod", "--port", "22", "--for", "1h", "--wait",
               home=alice_home, cwd=work)
    expect("enforcement point ep-web1 applied the access" in r.err, r)
    row = [line for line in r.out.splitlines() if line.startswith("web1")]
    expect(row and "10.0.1.5" in row[0] and "127.0.0.1" in row[0], r)
    # Another VM of the same policy: refused by the server, exit 1, nothing requested.
    r = fails(c, 1, "request", "db1", "-g", "prod", "--port", "22", "--for", "1h", "--wait",
              home=alice_home, cwd=work, contains="(AuthorizationFailed)")
    pol = api(c, "GET", f"{c.rgp('prod')}/providers/Microsoft.Security/locations/westeurope/"
              "jitNetworkAccessPolicies/default")[1]
    reqs = pol["properties"]["requests"]
    expect(len(reqs) == 1 and reqs[0]["requestor"] == "alice", "one request, alice's", reqs)
    # Alice sees web1 alone, and who she is.
    vms = ok(c, "vm", "list", "-o", "json", home=alice_home).json()
    expect([v["name"] for v in vms] == ["web1"], vms)
    me = ok(c, "whoami", "-o", "json", home=alice_home).json()
    expect(me["principal"]["name"] == "alice", me)
    fails(c, 1, "principal", "list", home=alice_home, contains="(AuthorizationFailed)")
    fails(c, 1, "audit", "verify", home=alice_home, contains="(AuthorizationFailed)")
    c.alice_home = alice_home


# ---- enforcement points: agent list, show, remove ----

def cells(line):
    """A table row's cells (columns are two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


def table(r):
    lines = r.out.splitlines()
    head = cells(lines[0])
    return head, {cells(line)[0]: dict(zip(head, cells(line))) for line in lines[1:]}


def ep_path(c, rg, name=None):
    return f"{c.rgp(rg)}/providers/Jitgate/enforcementPoints" + (f"/{name}" if name else "")


def agent_status(c, cred, **status):
    """Reports status for an agent, as jitgate-agent does (applied: its desired version)."""
    st, ds, _ = c.srv.request("GET", "/agent/v1/desired-state", token=cred, api_version=None)
    expect(st == 200, "desired state", st, ds)
    body = {"appliedVersion": ds["version"]}
    body.update(status)
    st, e, _ = c.srv.request("POST", "/agent/v1/status", body, token=cred, api_version=None)
    expect(st == 204, "status accepted", st, e)
    return ds["version"]


@tap.test
def agent_list_show_remove(c):
    api(c, "PUT", c.rgp("edge"), {"location": "westeurope"})
    host = enroll(c, "edge", "ep-h2", "h2", "10.9.0.5")
    tok = ok(c, "agent", "enroll-token", "-g", "edge").out.strip()
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok, "name": "ep-gw", "kind": "gateway"}, token=None,
        api_version=None)
    expect(st == 200, "gateway enrolled", st, e)
    gw = e["credential"]
    c.hidden.append(gw)
    for vm, addr in (("b1", "10.9.1.1"), ("b2", "10.9.1.2")):
        ok(c, "vm", "add", vm, "-g", "edge", "--os", "linux", "--address", addr,
           "--enforcement-point", "ep-gw")

    # Never heard from: LAST SEEN never, not healthy, nothing reported.
    head, rows = table(ok(c, "agent", "list", "-g", "edge"))
    expect(head == ["NAME", "RESOURCE GROUP", "KIND", "IN SYNC", "LAST SEEN", "HEALTHY", "OS",
                    "CAPABILITIES"], head)
    expect(set(rows) == {"ep-h2", "ep-gw"}, rows)
    expect(rows["ep-gw"]["KIND"] == "gateway" and rows["ep-gw"]["LAST SEEN"] == "never" and
           rows["ep-gw"]["HEALTHY"] == "no" and rows["ep-gw"]["OS"] == "-" and
           rows["ep-gw"]["CAPABILITIES"] == "-", rows)

    # The host reports itself healthy and in sync; the gateway reports trouble, then
    # falls behind when a policy names one of its VMs.
    v = agent_status(c, host, healthy=True, capabilities={"nftables": True}, os="Linux")
    agent_status(c, gw, healthy=False, capabilities={"nftables": True, "ipv6": False},
                 os="Linux", message="nft: \x1b[31mno such table")
    ok(c, "jit", "enable", "b1", "-g", "edge")
    gw_api = api(c, "GET", ep_path(c, "edge", "ep-gw"))[1]["properties"]
    expect(gw_api["desiredVersion"] > gw_api["appliedVersion"], gw_api)
    head, rows = table(ok(c, "agent", "list", "-g", "edge"))
    h2 = rows["ep-h2"]
    expect(h2["RESOURCE GROUP"] == "edge" and h2["KIND"] == "host" and
           h2["IN SYNC"] == f"yes ({v}/{v})" and h2["HEALTHY"] == "yes" and
           h2["OS"] == "Linux" and h2["CAPABILITIES"] == "nftables", h2)
    seen = dt.datetime.strptime(h2["LAST SEEN"], "%Y-%m-%d %H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)
    expect(abs(now() - seen) < dt.timedelta(minutes=1), h2)
    g = rows["ep-gw"]
    expect(g["IN SYNC"] == f"no ({gw_api['appliedVersion']}/{gw_api['desiredVersion']})" and
           g["HEALTHY"] == "yes" and g["CAPABILITIES"] == "nftables", "heard from: healthy", g)

    # Without -g: the whole subscription (ep-web1 of prod too). -o json is the server's list.
    expect({"ep-h2", "ep-gw", "ep-web1"} <= set(table(ok(c, "agent", "list"))[1]))
    j = ok(c, "agent", "list", "-g", "edge", "-o", "json").json()
    expect(j == api(c, "GET", ep_path(c, "edge"))[1]["value"], "the server's list", j)
    j = ok(c, "agent", "list", "-o", "json").json()
    expect(j == api(c, "GET", f"/subscriptions/{c.sub}/providers/Jitgate/enforcementPoints")[1]
           ["value"], j)
    fails(c, 1, "agent", "list", "-g", "no-such-group", contains="(")

    # show: the fields, the agent's own word, its VMs; JSON as the server's.
    r = ok(c, "agent", "show", "ep-gw", "-g", "edge")
    for pat in (r"^Name:\s+ep-gw$", r"^Resource group:\s+edge$",
                r"^ID:\s+" + re.escape(ep_path(c, "edge", "ep-gw")) + "$",
                r"^Kind:\s+gateway$", r"^In sync:\s+no, applying \(applied version \d+ of \d+\)$",
                r"^Last seen:\s+\S+ \S+Z \((\d+s ago|just now)\)$",
                r"^Healthy:\s+yes \(heard from within 90 s\)$", r"^Agent reports:\s+unhealthy$",
                r"^OS:\s+Linux$", r"^Capabilities:\s+nftables$",
                r"^Message:\s+nft: \?\[31mno such table$", r"^VMs:\s+b1 \(edge\), b2 \(edge\)$"):
        expect(re.search(pat, r.out, re.M), f"agent show lacks {pat!r}", r)
    expect("\x1b" not in r.out, "the agent's text cannot drive the terminal", r)
    r = ok(c, "agent", "show", "ep-h2", "-g", "edge")
    expect(re.search(r"^In sync:\s+yes \(applied version (\d+) of \1\)$", r.out, re.M) and
           re.search(r"^Agent reports:\s+healthy$", r.out, re.M) and
           re.search(r"^VMs:\s+h2 \(edge\)$", r.out, re.M), r)
    j = ok(c, "agent", "show", "ep-h2", "-g", "edge", "-o", "json").json()
    expect(j == api(c, "GET", ep_path(c, "edge", "ep-h2"))[1], "the server's answer", j)
    expect(j["properties"]["kind"] == "host" and j["properties"]["inSync"] is True, j)
    r = fails(c, 1, "agent", "show", "ep-none", "-g", "edge", contains="(")
    expect(len(r.err.splitlines()) == 1 and r.out == "", "one line", r)

    # Someone who may not delete enforcement points: refused, nothing removed.
    fails(c, 1, "agent", "remove", "ep-web1", "-g", "prod", home=c.alice_home,
          contains="(AuthorizationFailed)")
    expect(api(c, "GET", ep_path(c, "prod", "ep-web1"))[0] == 200, "ep-web1 is still there")

    # remove: the credential revoked, the VMs (read first) unbound, the nftables reminder.
    r = ok(c, "agent", "remove", "ep-gw", "-g", "edge")
    expect("ep-gw: enforcement point removed from resource group edge; its agent's "
           "credential is revoked" in r.out, r)
    expect("b1 (edge), b2 (edge)" in r.out and "Unsupported" in r.out, r)
    expect("'jitgate-agent --uninstall'" in r.out and "nftables" in r.out, r)
    st, _, _ = c.srv.request("GET", "/agent/v1/desired-state", token=gw, api_version=None)
    expect(st == 401, "the gateway's credential no longer works", st)
    for vm in ("b1", "b2"):
        props = api(c, "GET", c.vm_id("edge", vm))[1]["properties"]
        expect("enforcementPoint" not in props, f"{vm} is unbound", props)
    expect(api(c, "GET", c.vm_id("edge", "b2"))[1]["properties"]["jit"]["state"] ==
           "Unsupported")

    j = ok(c, "agent", "remove", "ep-h2", "-g", "edge", "-o", "json").json()
    expect(j == {"name": "ep-h2", "resourceGroup": "edge", "id": ep_path(c, "edge", "ep-h2"),
                 "deleted": True, "unboundVirtualMachines": [c.vm_id("edge", "h2")]}, j)
    st, _, _ = c.srv.request("POST", "/agent/v1/status", {"appliedVersion": 1}, token=host,
                             api_version=None)
    expect(st == 401, "the host's credential no longer works", st)
    expect("enforcementPoint" not in api(c, "GET", c.vm_id("edge", "h2"))[1]["properties"])

    # Again: nothing to do, noted, exit 0.
    r = ok(c, "agent", "remove", "ep-h2", "-g", "edge")
    expect(r.out == "" and "no enforcement point named ep-h2" in r.err, r)
    j = ok(c, "agent", "remove", "ep-h2", "-g", "edge", "-o", "json").json()
    expect(j["deleted"] is False and j["unboundVirtualMachines"] == [], j)
    expect(ok(c, "agent", "list", "-g", "edge").out.splitlines()[1:] == [], "none left")
    expect(ok(c, "agent", "list", "-g", "edge", "-o", "json").json() == [])
    fails(c, 1, "agent", "show", "ep-h2", "-g", "edge", contains="(")

    # The reinstalled host re-enrolls with a new token, binding its VM again.
    enroll(c, "edge", "ep-h2", "h2", "10.9.0.5")
    props = api(c, "GET", c.vm_id("edge", "h2"))[1]["properties"]
    expect(props.get("enforcementPoint", "").lower() == ep_path(c, "edge", "ep-h2").lower(),
           props)
    expect(ok(c, "agent", "show", "ep-h2", "-g", "edge", "-o", "json").json()["name"] ==
           "ep-h2")


# ---- whoami and principals ----

@tap.test
def whoami_says_who_and_from_where(c):
    r = ok(c, "whoami")
    expect(re.search(r"^Name:\s+admin$", r.out, re.M) and
           re.search(r"^Caller address:\s+127\.0\.0\.1$", r.out, re.M), r)
    j = ok(c, "whoami", "-o", "json").json()
    st, body, _ = api(c, "GET", "/providers/Jitgate/whoami")
    expect(j == body, "whoami -o json is the server's answer", j, body)
    expect(j["principal"]["properties"]["kind"] == "User" and j["callerAddress"] == "127.0.0.1")


@tap.test
def a_ca_file_is_the_only_trust_anchor_read(c):
    """With a CA file given, no system CA store is opened: neither trusted nor read (it
    was a third of the CLI's start-up time)."""
    expect(shutil.which("strace") is not None,
           "strace is installed (make test installs it: scripts/packages.txt, test)")
    trace = os.path.join(c.tmp, "whoami.strace")
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", trace,
                        c.cli, "whoami"] + conn(c), capture_output=True, text=True,
                       # LeakSanitizer cannot run under ptrace (the ASan build's runs).
                       env=clean_env(c, {"ASAN_OPTIONS": ":".join(filter(None, [
                           os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))}))
    expect(p.returncode == 0, "whoami under strace", p.stderr)
    with open(trace) as f:
        opened = [line for line in f if "/etc/ssl/certs" in line or "ca-certificates" in line]
    expect(not opened, "the system CA directory and bundle are never opened", opened[:5])
    with open(trace) as f:
        expect(any(c.ca in line for line in f), "the given CA file is", c.ca)


@tap.test
def principal_create_list_show_delete(c):
    r = ok(c, "principal", "create", "bob@example.com", "--display-name", "Bob Example",
           "-o", "json")
    j = r.json()
    expect(j["name"] == "bob@example.com" and j["properties"]["displayName"] == "Bob Example"
           and j["properties"]["kind"] == "User", j)
    r = ok(c, "principal", "create", "bob@example.com")
    expect("exists already" in r.err and r.out == "", r)
    j = ok(c, "principal", "create", "ci-bot", "--service", "-o", "json").json()
    expect(j["properties"]["kind"] == "ServicePrincipal", j)
    fails(c, 1, "principal", "create", "ci-bot", contains="(Conflict)")  # as a User
    lst = ok(c, "principal", "list", "-o", "json").json()
    expect({"admin", "alice", "bob@example.com", "ci-bot"} <= {p["name"] for p in lst}, lst)
    r = ok(c, "principal", "list")
    expect(r.out.splitlines()[0].split()[:2] == ["NAME", "KIND"], r)
    expect(any(line.startswith("ci-bot") and "ServicePrincipal" in line
               for line in r.out.splitlines()), r)
    show = ok(c, "principal", "show", "bob@example.com", "-o", "json").json()
    expect(show == api(c, "GET", "/providers/Jitgate/principals/bob@example.com")[1], show)
    expect(ok(c, "principal", "show", "me", "-o", "json").json()["name"] == "admin")
    r = ok(c, "principal", "show", "ci-bot")
    expect(re.search(r"^Kind:\s+ServicePrincipal$", r.out, re.M), r)
    expect(ok(c, "principal", "delete", "ci-bot", "-o", "json").json() ==
           {"name": "ci-bot", "deleted": True})
    r = ok(c, "principal", "delete", "ci-bot")
    expect("no principal named ci-bot" in r.err, r)
    fails(c, 1, "principal", "show", "ci-bot", contains="(PrincipalNotFound)")
    fails(c, 2, "principal", "create", "agent-x", contains="reserved")
    # The bootstrap Owner cannot delete itself (the server says so).
    fails(c, 1, "principal", "delete", "admin", contains="(BadRequest)")


# ---- tokens ----

def tokens(c, who):
    return api(c, "GET", f"/providers/Jitgate/principals/{who}/tokens")[1]["value"]


@tap.test
def token_shown_once_and_file_0600(c):
    # Printed: alone on stdout, a warning on stderr.
    r = ok(c, "token", "create", "--principal", "bob@example.com", "--name", "bob ci")
    tok = r.out.strip()
    c.tokens["bob ci"] = tok
    expect(re.fullmatch(r"jgt_[0-9a-f]{16}_\S+\n", r.out), "only the token on stdout", r)
    expect("shown once" in r.err, r)
    who = c.srv.request("GET", "/providers/Jitgate/whoami", token=tok)[1]
    expect(who["principal"]["name"] == "bob@example.com", "the token works", who)
    # -o json without a file: the token is in the JSON (and the warning on stderr).
    j = ok(c, "token", "create", "--principal", "bob@example.com", "--name", "bob json",
           "--valid-for", "12h", "-o", "json")
    c.tokens["bob json"] = j.json()["token"]
    left = iso_to_dt(j.json()["expiresUtc"]) - now()
    expect(dt.timedelta(hours=11, minutes=58) < left <= dt.timedelta(hours=12, minutes=1), j)
    expect("shown once" in j.err, j)

    # To a file: 0600, not printed, an existing file refused and no token made then.
    path = os.path.join(c.tmp, "bob.token")
    r = ok(c, "token", "create", "--principal", "bob@example.com", "--name", "bob laptop",
           "--valid-for", "P30D", "--output-file", path, "-o", "json")
    j = r.json()
    expect("token" not in j and j["outputFile"] == path and j["name"] == "bob laptop", j)
    expect(stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode))
    secret = open(path).read().strip()
    c.hidden.append(secret)
    c.tokens["bob laptop"] = secret
    expect(secret.startswith("jgt_" + j["id"] + "_") and secret not in r.out + r.err, r)
    expect("shown once" not in r.err, "no warning when the token went to a file", r)
    left = iso_to_dt(j["expiresUtc"]) - now()
    expect(dt.timedelta(days=29, hours=23) < left <= dt.timedelta(days=30, minutes=1), left)
    before = len(tokens(c, "bob@example.com"))
    fails(c, 2, "token", "create", "--principal", "bob@example.com", "--name", "again",
          "--output-file", path, contains="exists")
    expect(open(path).read().strip() == secret, "the existing file is untouched")
    fails(c, 1, "token", "create", "--principal", "bob@example.com", "--name", "nowhere",
          "--output-file", os.path.join(c.tmp, "no-such-dir", "t"), contains="cannot create")
    expect(len(tokens(c, "bob@example.com")) == before, "no token made when it cannot be kept")
    # A symbolic link is not followed.
    link = os.path.join(c.tmp, "link.token")
    os.symlink(os.path.join(c.tmp, "elsewhere"), link)
    fails(c, 2, "token", "create", "--principal", "bob@example.com", "--name", "link",
          "--output-file", link)
    expect(not os.path.exists(os.path.join(c.tmp, "elsewhere")), "nothing written via a link")
    # A token of your own (no --principal).
    own = os.path.join(c.tmp, "own.token")
    r = ok(c, "token", "create", "--name", "admin laptop", "--output-file", own)
    c.hidden.append(open(own).read().strip())
    # The admin token never expires, so the new one lives the server's maximum (a year).
    expect("for you written to" in r.out and "valid until" in r.out, r)


@tap.test
def token_list_never_shows_secrets_and_revoke(c):
    lst = ok(c, "token", "list", "--principal", "bob@example.com", "-o", "json").json()
    expect(len(lst) == 3 and all("token" not in t for t in lst), lst)
    expect({t["name"] for t in lst} == {"bob ci", "bob json", "bob laptop"}, lst)
    r = ok(c, "token", "list", "--principal", "bob@example.com")
    expect(r.out.splitlines()[0].split()[:3] == ["ID", "NAME", "STATE"], r)
    for secret in c.tokens.values():
        expect(secret.split("_", 2)[2] not in r.out + json.dumps(lst), "no secret in a list")
    mine = ok(c, "token", "list", "-o", "json").json()
    expect("admin laptop" in [t["name"] for t in mine], mine)
    ci = [t for t in lst if t["name"] == "bob ci"][0]
    r = ok(c, "token", "revoke", ci["id"], "--principal", "bob@example.com", "-o", "json")
    expect(r.json() == {"id": ci["id"], "revoked": True}, r)
    st, _, _ = c.srv.request("GET", "/providers/Jitgate/whoami", token=c.tokens["bob ci"])
    expect(st == 401, "a revoked token stops working at once", st)
    lst = ok(c, "token", "list", "--principal", "bob@example.com", "-o", "json").json()
    expect([t["state"] for t in lst if t["id"] == ci["id"]] == ["Revoked"], lst)
    r = ok(c, "token", "revoke", "0123456789abcdef", "--principal", "bob@example.com")
    expect("nothing to do" in r.err, r)
    # Bob manages his own tokens with his own token.
    bob = token_file(c, "bob-own.token", c.tokens["bob laptop"])
    own = ok(c, "token", "list", "--token-file", bob, "-o", "json").json()
    expect(len(own) == 3, own)
    fails(c, 1, "token", "list", "--principal", "admin", "--token-file", bob,
          contains="(AuthorizationFailed)")


@tap.test
def client_secret_create_list_revoke(c):
    ok(c, "principal", "create", "ci-bot", "--service")
    path = os.path.join(c.tmp, "ci-bot.secret")
    r = ok(c, "client-secret", "create", "--principal", "ci-bot", "--name", "pipeline",
           "--valid-for", "90d", "--output-file", path, "-o", "json")
    j = r.json()
    expect("secret" not in j and j["outputFile"] == path and j["principalName"] == "ci-bot", j)
    expect(stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode))
    secret = open(path).read().strip()
    c.hidden.append(secret)
    expect(secret.startswith("jcs_" + j["id"] + "_") and secret not in r.out + r.err, r)
    left = iso_to_dt(j["expiresUtc"]) - now()
    expect(dt.timedelta(days=89, hours=23) < left <= dt.timedelta(days=90, minutes=1), left)
    # Printed when there is no file: alone on stdout, the warning on stderr.
    r = ok(c, "client-secret", "create", "--principal", "ci-bot", "--name", "printed")
    printed = r.out.strip()      # printed on purpose: not one of c.hidden
    expect(re.fullmatch(r"jcs_[0-9a-f]{16}_\S+\n", r.out) and "client secret" in r.err, r)
    # It works at the token endpoint.
    form = f"grant_type=client_credentials&client_id=ci-bot&client_secret={printed}"
    req = urllib.request.Request(c.srv.url + "/adfs/oauth2/token", data=form.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, context=c.srv.ssl) as resp:
        access = json.loads(resp.read())["access_token"]
    expect(c.srv.request("GET", "/providers/Jitgate/whoami", token=access)[0] == 200)
    lst = ok(c, "client-secret", "list", "--principal", "ci-bot", "-o", "json").json()
    expect({x["name"] for x in lst} == {"pipeline", "printed"} and
           all("secret" not in x for x in lst), lst)
    r = ok(c, "client-secret", "list", "--principal", "ci-bot")
    expect(r.out.splitlines()[0].split()[:3] == ["ID", "NAME", "STATE"], r)
    expect(printed.split("_", 2)[2] not in r.out, r)
    pid = [x["id"] for x in lst if x["name"] == "printed"][0]
    r = ok(c, "client-secret", "revoke", pid, "--principal", "ci-bot")
    expect("revoked" in r.out and "access tokens" in r.out, r)
    st, _, _ = c.srv.request("GET", "/providers/Jitgate/whoami", token=access)
    expect(st == 401, "the access token stops with its secret", st)
    r = ok(c, "client-secret", "revoke", pid, "--principal", "ci-bot")
    expect("nothing to do" in r.err, r)
    lst = ok(c, "client-secret", "list", "--principal", "ci-bot", "-o", "json").json()
    expect([x["state"] for x in lst if x["id"] == pid] == ["Revoked"], lst)


# ---- roles ----

def role_file(c, name, body):
    path = os.path.join(c.tmp, name)
    with open(path, "w") as f:
        json.dump(body, f)
    return path


@tap.test
def role_list_show(c):
    roles = ok(c, "role", "list", "-o", "json").json()
    builtin = {r["properties"]["roleName"]: r["name"] for r in roles
               if r["properties"]["type"] == "BuiltInRole"}
    expect(builtin.get("JIT Network Access Requester") == REQUESTER and len(builtin) == 5,
           builtin)
    r = ok(c, "role", "list")
    expect(r.out.splitlines()[0].split()[:2] == ["NAME", "TYPE"] and REQUESTER in r.out, r)
    by_name = ok(c, "role", "show", "jit network access requester", "-o", "json").json()
    by_id = ok(c, "role", "show", REQUESTER, "-o", "json").json()
    expect(by_name == by_id and by_id["name"] == REQUESTER, by_name, by_id)
    r = ok(c, "role", "show", "Reader")
    expect(re.search(r"^Actions:\s+\*/read$", r.out, re.M) and
           re.search(r"^Type:\s+built-in$", r.out, re.M), r)
    fails(c, 1, "role", "show", "Nobody", contains="no role 'Nobody'")


@tap.test
def role_create_from_flags_and_file(c):
    scope = f"/subscriptions/{c.sub}"
    j = ok(c, "role", "create", "--name", "JIT Auditor", "--description", "reads JIT and audit",
           "--action", "Microsoft.Security/locations/jitNetworkAccessPolicies/read",
           "--action", "Jitgate/auditLogs/read", "--not-action", "Jitgate/auditLogs/verify",
           "--scope", scope, "-o", "json").json()
    expect(re.fullmatch(r"[0-9a-f-]{36}", j["name"]), "a GUID was made", j)
    p = j["properties"]
    expect(p["roleName"] == "JIT Auditor" and p["type"] == "CustomRole" and
           p["assignableScopes"] == [scope] and
           p["permissions"][0]["notActions"] == ["Jitgate/auditLogs/verify"], j)
    st, got, _ = api(c, "GET", f"{scope}{AUTHZ}/roleDefinitions/{j['name']}")
    expect(st == 200 and got["properties"]["roleName"] == "JIT Auditor", got)
    c.auditor = j["name"]
    fails(c, 1, "role", "create", "--name", "JIT Auditor", "--action", "*/read", "--scope",
          scope, contains="RoleDefinitionNameInUse")
    fails(c, 1, "role", "create", "--name", "Owner", "--action", "*/read", "--scope", scope,
          contains="RoleDefinitionNameInUse")

    # Azure's shape from a file: no "name", then with one (which also updates).
    body = {"properties": {"roleName": "Prod requester", "description": "request access to prod",
                           "permissions": [{"actions": [
                               "Microsoft.Security/locations/jitNetworkAccessPolicies/read",
                               "Microsoft.Security/locations/jitNetworkAccessPolicies/"
                               "initiate/action",
                               "Microsoft.Compute/virtualMachines/read"], "notActions": []}],
                           "assignableScopes": [c.rgp("prod")]}}
    r = ok(c, "role", "create", "--file", role_file(c, "role.json", body))
    m = re.fullmatch(r'role "Prod requester": created \(ID ([0-9a-f-]{36})\)\n', r.out)
    expect(m, r)
    c.prod_role = m.group(1)
    guid = str(uuid.uuid4())
    body2 = dict(body, name=guid)
    body2["properties"] = dict(body["properties"], roleName="Named role")
    j = ok(c, "role", "create", "--file", "-", "-o", "json", stdin=json.dumps(body2)).json()
    expect(j["name"] == guid, "the file's name is the GUID", j)
    body2["properties"]["description"] = "changed"
    r = ok(c, "role", "create", "--file", role_file(c, "role2.json", body2))
    expect("updated" in r.out, r)
    expect(ok(c, "role", "show", guid, "-o", "json").json()["properties"]["description"] ==
           "changed")
    bad = json.loads(json.dumps(body))
    bad["properties"]["permissions"][0]["actions"] = []
    fails(c, 2, "role", "create", "--file", role_file(c, "bad.json", bad),
          contains="properties.permissions[0].actions")
    fails(c, 2, "role", "create", "--file", "-", stdin="{not json", contains="line 1")
    fails(c, 2, "role", "create", "--file", "-", stdin=json.dumps(dict(body, name="nope")),
          contains="GUID")
    fails(c, 2, "role", "create", "--file", os.path.join(c.tmp, "missing.json"))
    ok(c, "role", "delete", guid)


@tap.test
def role_assign_unassign_assignments(c):
    # At a resource group, by role name; listed at, above and below scopes.
    j = ok(c, "role", "assign", "JIT Auditor", "--principal", "bob@example.com", "-g", "prod",
           "-o", "json").json()
    expect(j["properties"]["scope"] == c.rgp("prod") and
           j["properties"]["principalName"] == "bob@example.com" and
           j["properties"]["roleDefinitionId"].endswith(c.auditor), j)
    a1 = j["name"]
    # By role ID, at the subscription (the default) and at the root.
    r = ok(c, "role", "assign", REQUESTER, "--principal", "bob@example.com")
    m = re.search(r"at /subscriptions/\S+ \(assignment ([0-9a-f-]{36})\)", r.out)
    expect(m and f"at /subscriptions/{c.sub} (" in r.out, r)
    a2 = m.group(1)
    a3 = ok(c, "role", "assign", "Reader", "--principal", "bob@example.com", "--root",
            "-o", "json").json()["name"]
    a4 = ok(c, "role", "assign", "Reader", "--principal", "bob@example.com", "--scope",
            c.vm_id("prod", "web1"), "-o", "json").json()["name"]
    lst = ok(c, "role", "assignments", "--principal", "bob@example.com", "-o", "json").json()
    expect({a["name"] for a in lst} == {a1, a2, a3, a4}, lst)
    r = ok(c, "role", "assignments", "--principal", "bob@example.com")
    expect(r.out.splitlines()[0].split() == ["ID", "PRINCIPAL", "ROLE", "SCOPE"], r)
    expect(any(a1 in line and "JIT Auditor" in line for line in r.out.splitlines()), r)
    vm = ok(c, "role", "assignments", "--vm", "web1", "-g", "prod", "-o", "json").json()
    names = {a["name"] for a in vm}
    expect({a1, a2, a3, a4} <= names, "at the VM: its own and those above", vm)
    grp = {a["name"] for a in ok(c, "role", "assignments", "-g", "prod", "--principal",
                                 "bob@example.com", "-o", "json").json()}
    expect(grp == {a1, a2, a3, a4}, grp)
    fails(c, 1, "role", "assign", "No Such Role", "--principal", "bob@example.com", "-g",
          "prod", contains="(RoleDefinitionDoesNotExist)")
    fails(c, 1, "role", "assign", "Reader", "--principal", "nobody", "-g", "prod",
          contains="(PrincipalNotFound)")
    fails(c, 1, "role", "assign", "Reader", "--principal", "bob@example.com", "--vm", "ghost",
          "-g", "prod", contains="(ResourceNotFound)")
    # A role still assigned cannot be deleted.
    fails(c, 1, "role", "delete", "JIT Auditor", contains="(RoleDefinitionHasAssignments)")
    # Unassign: by GUID (the scope is looked up), by full ID, with scope flags.
    r = ok(c, "role", "unassign", a1)
    expect(f"assignment {a1} removed (bob@example.com" in r.out, r)
    full = f"/subscriptions/{c.sub}{AUTHZ}/roleAssignments/{a2}"
    j = ok(c, "role", "unassign", full, "-o", "json").json()
    expect(j["name"] == a2, j)
    ok(c, "role", "unassign", a3, "--root")
    fails(c, 1, "role", "unassign", a4, "-g", "prod", contains="(BadRequest)")  # not there
    ok(c, "role", "unassign", a4, "--vm", "web1", "-g", "prod")
    fails(c, 1, "role", "unassign", a4, contains="(RoleAssignmentNotFound)")
    r = ok(c, "role", "unassign", a4, "--root")
    expect("nothing to do" in r.err, r)
    expect(ok(c, "role", "assignments", "--principal", "bob@example.com", "-o", "json")
           .json() == [])
    # Then the role can go; built-in roles cannot.
    r = ok(c, "role", "delete", "JIT Auditor")
    expect("deleted" in r.out, r)
    fails(c, 1, "role", "show", c.auditor, contains="no role")
    fails(c, 1, "role", "delete", "Owner", contains="built-in")
    ok(c, "role", "delete", c.prod_role, "-o", "json")


# ---- JIT settings and the VM columns ----

@tap.test
def jit_settings_disable_and_enable(c):
    j = ok(c, "jit", "settings", "-o", "json").json()
    expect(j["id"] == f"/subscriptions/{c.sub}/providers/Microsoft.Security/jitSettings/default"
           and j["properties"]["enabled"] is True, j)
    r = ok(c, "jit", "settings", "-g", "prod", "--disable", "--reason", "change freeze")
    expect(re.search(r"^JIT:\s+disabled$", r.out, re.M) and "change freeze" in r.out, r)
    st, got, _ = api(c, "GET", f"{c.rgp('prod')}/providers/Microsoft.Security/jitSettings/default")
    expect(got["properties"] == {**got["properties"], "enabled": False, "reason": "change freeze"},
           got)
    vms = ok(c, "vm", "list", "-g", "prod", "-o", "json").json()
    expect(all("change freeze" in v["properties"]["jit"]["reason"] for v in vms), vms)
    r = ok(c, "vm", "list", "-g", "prod", "-o", "wide")
    expect(all("change freeze" in line for line in r.out.splitlines()[1:]), r)
    fails(c, 1, "request", "web1", "-g", "prod", "--port", "22", "--for", "10m",
          contains="(RequestDisallowedByPolicy)")
    j = ok(c, "jit", "settings", "-g", "prod", "--enable", "-o", "json").json()
    expect(j["properties"]["enabled"] is True, j)
    ok(c, "request", "web1", "-g", "prod", "--port", "22", "--for", "10m", "--source",
       "10.9.9.9", "--justification", "INC-1234 disk full")
    fails(c, 1, "jit", "settings", "-g", "prod", "--disable", "--reason", "x",
          home=c.alice_home, contains="(AuthorizationFailed)")


@tap.test
def vm_list_shows_the_servers_jit_columns(c):
    with FakeAgent(c.srv, c.web1_cred):
        ok(c, "request", "web1", "-g", "prod", "--port", "22", "--for", "5m", "--wait")
        vms = {v["name"]: v for v in
               ok(c, "vm", "list", "--state", "configured", "-g", "prod", "-o", "json").json()}
        r = ok(c, "vm", "list", "--state", "configured", "-g", "prod", "-o", "wide")
        narrow = ok(c, "vm", "list", "-g", "prod")
        show = ok(c, "vm", "show", "web1", "-g", "prod")
    # db1 is in the policy too, but without an enforcement point: Unsupported.
    expect(set(vms) == {"web1"}, vms)
    jit = vms["web1"]["properties"]["jit"]
    expect(jit["state"] == "Configured" and jit["enforcementPointHealthy"] is True and
           jit["approvedRequestsLast7Days"] >= 2 and jit["lastUser"] == "admin", jit)
    head = r.out.splitlines()[0]
    for col in ("AGENT", "JIT STATE", "REQUESTS 7D", "LAST ACCESS", "LAST USER", "REASON"):
        expect(col in head, f"vm list -o wide has {col}", r)
    # By default it fits 100 columns, the reason cut short with "...".
    expect(narrow.out.splitlines()[0].split() == ["NAME", "GROUP", "OS", "ADDRESSES", "AGENT",
                                                  "JIT", "STATE", "REASON"], narrow)
    expect(all(len(line) <= 100 for line in narrow.out.splitlines()), "fits 100", narrow)
    expect(any(line.startswith("db1") and line.endswith("...")
               for line in narrow.out.splitlines()), "db1's long reason is cut", narrow)
    web1 = [line.split() for line in r.out.splitlines() if line.startswith("web1")][0]
    expect(web1[4:8] == ["ep-web1", "healthy", "Configured",
                         str(jit["approvedRequestsLast7Days"])], web1)
    expect(web1[10] == "admin", "last user", web1)
    expect(iso_to_dt(jit["lastAccessUtc"]).strftime("%Y-%m-%d %H:%M:%SZ") ==
           " ".join(web1[8:10]), "last access", web1, jit)
    db1 = [line for line in ok(c, "vm", "list", "-g", "prod", "-o", "wide").out.splitlines()
           if line.startswith("db1")][0]
    expect("Unsupported" in db1 and "no enforcement point" in db1, "db1's reason", db1)
    expect(re.search(r"^Enforcement point:\s+ep-web1 \(healthy, in sync, applied version \d+ of "
                     r"\d+, last seen ", show.out, re.M), show)
    expect(re.search(r"^Requests \(7 days\):\s+\d+$", show.out, re.M) and
           re.search(r"^Last access:\s+\S+ \S+ by admin$", show.out, re.M), show)
    un = ok(c, "vm", "list", "--state", "unsupported", "-o", "json").json()
    expect(all(v["properties"]["jit"]["state"] == "Unsupported" for v in un), un)


# ---- audit ----

@tap.test
def audit_table_and_json(c):
    narrow = ok(c, "audit", "--vm", "web1", "-g", "prod")
    expect(narrow.out.splitlines()[0].split() == ["TIME", "PRINCIPAL", "OPERATION", "RESOURCE",
                                                  "RESULT", "PORTS", "SOURCE", "JUSTIFICATION"],
           narrow)
    expect(all(len(line) <= 100 for line in narrow.out.splitlines()), "fits 100", narrow)
    r = ok(c, "audit", "--vm", "web1", "-g", "prod", "-o", "wide")
    head = r.out.splitlines()[0].split()
    expect(head == ["TIME", "PRINCIPAL", "CALLER", "OPERATION", "RESOURCE", "RESULT", "STATUS",
                    "PORTS", "SOURCE", "END", "JUSTIFICATION"], r)
    row = [line for line in r.out.splitlines() if "INC-1234" in line]
    expect(row, "the request with its justification", r)
    cells = row[0].split()
    expect(cells[2:7] == ["admin", "127.0.0.1", "initiate", "web1", "Succeeded"] and
           cells[7:10] == ["202", "22", "10.9.9.9"], cells)
    expect(any(line.split()[2:5] == ["alice", "127.0.0.1", "initiate"]
               for line in r.out.splitlines()), "alice's request", r)
    grp = ok(c, "audit", "-g", "prod", "--operation", "initiate", "-o", "wide")
    refused = [line for line in grp.out.splitlines() if "Failed" in line and " 403 " in line]
    expect(refused, "the request refused under the settings", grp)

    entries = ok(c, "audit", "--vm", "web1", "-g", "prod", "-o", "json").json()
    st, body, _ = api(c, "GET", c.vm_id("prod", "web1") + "/providers/Jitgate/auditLogs")
    expect(entries == body["value"], "-o json is the server's entries", entries)
    seqs = [e["seq"] for e in entries]
    expect(seqs == sorted(seqs, reverse=True), "newest first", seqs)
    inc = [e for e in entries if e.get("details", {}).get("justification") ==
           "INC-1234 disk full"][0]
    expect(inc["details"]["virtualMachines"][0]["ports"][0]["allowedSourceAddressPrefix"] ==
           "10.9.9.9", inc)

    # Filters: principal (me too), operation (short name or full), time, top.
    mine = ok(c, "audit", "--principal", "alice", "-o", "json").json()
    expect(mine and all(e["principalName"] == "alice" for e in mine), mine)
    me = ok(c, "audit", "--principal", "me", "--top", "5", "-o", "json").json()
    expect(len(me) == 5 and all(e["principalName"] == "admin" for e in me), me)
    ini = ok(c, "audit", "-g", "prod", "--operation", "initiate", "-o", "json").json()
    expect(len(ini) >= 3 and all(e["operationName"] == INITIATE for e in ini), ini)
    expect(ok(c, "audit", "-g", "prod", "--operation", INITIATE, "-o", "json").json() == ini)
    ra = ok(c, "audit", "--all", "--operation", "roleAssignments/write", "-o", "json").json()
    expect(ra and all(e["operationName"] == "Microsoft.Authorization/roleAssignments/write"
                      for e in ra), ra)
    tw = ok(c, "audit", "--all", "--operation", "tokens/write", "-o", "wide").out
    expect("tokens/write" in tw and "bob@example.com" in tw, tw)
    future = (now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expect(ok(c, "audit", "--since", future, "-o", "json").json() == [])
    expect(len(ok(c, "audit", "--until", future, "--top", "3", "-o", "json").json()) == 3)
    # The subscription's log leaves out what is not in it; --all has everything.
    sub = ok(c, "audit", "--top", "1000", "-o", "json").json()
    expect(not any("/providers/Jitgate/principals" in (e.get("resourceId") or "")
                   for e in sub), "principals are not in the subscription")
    everything = ok(c, "audit", "--all", "--top", "1000", "-o", "json").json()
    expect(any("/providers/Jitgate/principals" in (e.get("resourceId") or "")
               for e in everything), "--all has the principals' entries")
    # A JIT requester may not read the audit log.
    fails(c, 1, "audit", "-g", "prod", home=c.alice_home, contains="(AuthorizationFailed)")


@tap.test
def audit_json_follows_next_links(c):
    # More than a page (1000): refused requests are audited, cheaply, on one connection.
    h = http.client.HTTPSConnection("127.0.0.1", c.srv.port, context=c.srv.ssl)
    body = json.dumps({"properties": {"osType": "Solaris"}})
    for i in range(1050):
        h.request("PUT", c.vm_id("prod", "bad") + "?api-version=2020-01-01", body,
                  {"Authorization": f"Bearer {c.srv.admin_token}",
                   "Content-Type": "application/json"})
        resp = h.getresponse()
        resp.read()
        expect(resp.status == 400, resp.status)
    h.close()
    entries = ok(c, "audit", "--all", "--top", "1100", "-o", "json").json()
    seqs = [e["seq"] for e in entries]
    expect(len(entries) == 1100 and len(set(seqs)) == 1100, len(entries))
    expect(seqs == sorted(seqs, reverse=True), "newest first across pages")
    # The same as the API's pages, entry by entry.
    st, p1, _ = c.srv.request("GET", "/providers/Jitgate/auditLogs", query={"top": 1000})
    expect(entries[:1000] == p1["value"], "first page")
    nxt = p1["nextLink"]
    path = nxt[nxt.index("/providers"):]
    st, p2, _ = c.srv.request("GET", path, api_version=None)
    expect(entries[1000:] == p2["value"][:100], "second page")
    r = ok(c, "audit", "--all", "--top", "1050")
    expect(len(r.out.splitlines()) == 1051, "a header and 1050 rows")


@tap.test
def audit_csv_is_the_servers_csv(c):
    r = ok(c, "audit", "--vm", "web1", "-g", "prod", "-o", "csv")
    rows = list(csv.reader(io.StringIO(r.out, newline="")))
    expect(rows[0] == ["seq", "timeUtc", "principal", "callerAddress", "operation", "resourceId",
                       "virtualMachines", "result", "statusCode", "correlationId", "details",
                       "hash"], rows[0])
    recs = list(csv.DictReader(io.StringIO(r.out, newline="")))
    expect(recs and all(c.vm_id("prod", "web1") in (x["virtualMachines"] + x["resourceId"])
                        for x in recs), recs)
    inc = [x for x in recs if "INC-1234" in x["details"]]
    expect(inc and json.loads(inc[0]["details"])["justification"] == "INC-1234 disk full", inc)
    expect(json.loads(inc[0]["virtualMachines"]) == [c.vm_id("prod", "web1")], inc)
    # Byte for byte what the server answers (CRLF line ends included).
    raw = subprocess.run([c.cli, "audit", "--vm", "web1", "-g", "prod", "-o", "csv"],
                         capture_output=True, env=clean_env(c)).stdout
    expect(b"\r\n" in raw, "RFC 4180 line ends, passed on as they are")
    req = urllib.request.Request(
        f"{c.srv.url}{c.vm_id('prod', 'web1')}/providers/Jitgate/auditLogs?api-version=2020-01-01",
        headers={"Authorization": f"Bearer {c.srv.admin_token}", "Accept": "text/csv"})
    with urllib.request.urlopen(req, context=c.srv.ssl) as resp:
        server = resp.read().decode()
    expect(len(raw) > 0)
    expect(server == raw.decode(), "verbatim")
    # The group and subscription routes (format=csv), filters and --top.
    grp = list(csv.DictReader(io.StringIO(ok(c, "audit", "-g", "prod", "--operation",
                                             "initiate", "-o", "csv").out, newline="")))
    expect(len(grp) >= 3 and all(x["operation"] == INITIATE for x in grp), grp)
    five = list(csv.DictReader(io.StringIO(ok(c, "audit", "--all", "--top", "5", "-o",
                                              "csv").out, newline="")))
    expect(len(five) == 5, five)
    sub = ok(c, "audit", "-o", "csv", "--principal", "alice").out
    expect(all(x["principal"] == "alice" for x in csv.DictReader(io.StringIO(sub, newline=""))))
    none = ok(c, "audit", "-g", "no-such-group", "-o", "csv").out
    expect(none.splitlines() == [",".join(rows[0])], "only the header", none)


@tap.test
def audit_verify_ok(c):
    r = ok(c, "audit", "verify")
    expect(re.match(r"The audit log verifies: \d+ entries", r.out), r)
    j = ok(c, "audit", "verify", "-o", "json").json()
    expect(j["verified"] is True and j["entries"] > 1000 and len(j["head"]) == 64, j)


@tap.test
def secrets_never_printed(c):
    everything = "".join(c.outputs)
    for secret in [c.srv.admin_token] + c.hidden:
        expect(secret.split("_", 2)[2] not in everything, "a secret appeared in some output")
    # The tokens made without --output-file were printed, and only where asked.
    printed = [o for o in c.outputs if c.tokens["bob ci"].split("_", 2)[2] in o]
    expect(len(printed) == 1, "printed once", len(printed))


@tap.test
def audit_verify_reports_the_first_broken_entry(c):
    c.srv.require_sqlite()
    """Last: stops the server, tampers with a copy of its database, verifies that."""
    expect(c.srv.stop() == 0)
    d = tempfile.mkdtemp(prefix="jitgate-cli-tamper-")
    shutil.rmtree(d)
    shutil.copytree(c.srv.state_dir, d)
    db = sqlite3.connect(os.path.join(d, "jitgate.db"))
    seq = db.execute("SELECT seq FROM audit WHERE details LIKE '%INC-1234%'").fetchone()[0]
    db.execute("UPDATE audit SET details = replace(details, 'INC-1234', 'INC-9999')"
               " WHERE seq = ?", (seq,))
    db.commit()
    db.close()
    srv = Server(c.srv.binary, state_dir=d)
    srv.own_dir = True
    try:
        srv.start()
        flags = ["--server", srv.url, "--token-file", os.path.join(d, "admin.token"),
                 "--ca", os.path.join(d, "tls", "cert.pem")]
        r = fails(c, 1, "audit", "verify", *flags,
                  contains=f"the first broken entry is {seq} (")
        expect("initiate" in r.err and r.out == "", r)
        r = run(c, "audit", "verify", "-o", "json", *flags)
        expect(r.rc == 1 and r.json()["verified"] is False and
               r.json()["firstBrokenSeq"] == seq and r.json()["reason"], r)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
