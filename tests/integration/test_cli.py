#!/usr/bin/env python3
"""Integration tests of the jitgate command line against a real jitgated.

Usage: test_cli.py PATH/TO/jitgate PATH/TO/jitgated    (speaks TAP)

Every command runs as the real binary, with HOME and XDG_CONFIG_HOME in a
temporary directory so the user's own profile is never read or written. Covers
each command's table and JSON output (parsed back and checked against the API),
exit statuses (0 ok, 1 the server or the network said no, 2 usage), network and
TLS failures, the login profile (0600) and that the token is never printed.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import datetime as dt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server, Tap, expect  # noqa: E402

tap = Tap()
SEC = "/providers/Microsoft.Security"
VMS = "/providers/Microsoft.Compute/virtualMachines"


class Ctx:
    pass


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}):\n{self.out}\n{self.err}")

    def __repr__(self):
        return f"rc={self.rc}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def clean_env(c, extra=None, home=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JITGATE_") and k not in ("XDG_CONFIG_HOME",)
           and not k.lower().endswith("_proxy")}
    env["HOME"] = home or c.home
    env.update(extra or {})
    return env


def run(c, *args, env=None, home=None, stdin=None, timeout=60, cwd=None):
    p = subprocess.run([c.cli] + [str(a) for a in args], capture_output=True, text=True,
                       env=clean_env(c, env, home), input=stdin, timeout=timeout, cwd=cwd)
    r = Result(p.returncode, p.stdout, p.stderr)
    c.outputs.append(p.stdout + p.stderr)
    return r


def ok(c, *args, **kw):
    r = run(c, *args, **kw)
    expect(r.rc == 0, f"jitgate {' '.join(map(str, args))} failed", r)
    return r


def fails(c, rc, *args, contains=None, **kw):
    r = run(c, *args, **kw)
    expect(r.rc == rc, f"expected exit {rc} from jitgate {' '.join(map(str, args))}", r)
    expect(r.err.startswith("jitgate: "), "errors start with 'jitgate: '", r)
    if contains:
        expect(contains in r.err, f"stderr lacks {contains!r}", r)
    return r


def conn(c):
    return ["--server", c.srv.url, "--token-file", c.token_file, "--ca", c.ca]


def setup():
    c = Ctx()
    c.cli = os.path.abspath(sys.argv[1])
    c.srv = Server(sys.argv[2]).start()
    c.tmp = tempfile.mkdtemp(prefix="jitgate-cli-test-")
    c.home = os.path.join(c.tmp, "home")
    os.mkdir(c.home)
    c.token_file = os.path.join(c.srv.state_dir, "admin.token")
    c.ca = os.path.join(c.srv.state_dir, "tls", "cert.pem")
    c.outputs = []
    st, body, _ = c.srv.request("GET", "/subscriptions")
    c.sub = body["value"][0]["subscriptionId"]
    c.rgp = lambda rg: f"/subscriptions/{c.sub}/resourceGroups/{rg}"
    c.vm_id = lambda rg, vm: f"{c.rgp(rg)}{VMS}/{vm}"
    c.pol = lambda rg, loc, name="default": (
        f"{c.rgp(rg)}{SEC}/locations/{loc}/jitNetworkAccessPolicies/{name}")
    # Most tests use the profile that login writes (tested first).
    ok(c, "login", *conn(c))
    return c


def teardown(c):
    if c is not None:
        c.srv.cleanup()
        shutil.rmtree(c.tmp, ignore_errors=True)


def api(c, method, path, body=None):
    return c.srv.request(method, path, body)


def add_rg(c, rg, location="westeurope"):
    st, _, _ = api(c, "PUT", c.rgp(rg), {"location": location})
    expect(st in (200, 201), "resource group", st)


def add_vm(c, rg, name, os_type="linux", addr="10.0.0.4", *extra):
    return ok(c, "vm", "add", name, "-g", rg, "--os", os_type, "--address", addr, *extra)


def iso_to_dt(s):
    return dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)


def now():
    return dt.datetime.now(dt.timezone.utc)


# ---- help and usage ----

COMMANDS = [["login"], ["vm", "list"], ["vm", "show"], ["vm", "add"], ["vm", "remove"],
            ["jit", "enable"], ["jit", "edit"], ["jit", "show"], ["jit", "list"],
            ["jit", "disable"], ["jit", "set"], ["request"], ["requests"], ["revoke"],
            ["ssh"], ["agent", "enroll-token"]]


@tap.test
def every_command_has_help(c):
    r = ok(c, "--help")
    for cmd in COMMANDS:
        expect(" ".join(cmd) in r.out, f"top help lists {cmd}", r)
        h = ok(c, *cmd, "--help")
        expect(h.out.startswith("usage: jitgate " + " ".join(cmd)), "usage line", h)
        expect("--server" in h.out and "--output" in h.out, "common options listed", h)
    for group in ("vm", "jit", "agent"):
        h = ok(c, group, "--help")
        expect(f"usage: jitgate {group} COMMAND" in h.out, h)
    expect(ok(c, "help", "request").out.startswith("usage: jitgate request"))
    expect(re.match(r"jitgate \d+\.\d+\.\d+", ok(c, "--version").out), "version")


@tap.test
def usage_errors_exit_2(c):
    # None of these reaches the network: the server below does not exist.
    dead = ["--server", "https://127.0.0.1:1"]
    cases = [
        ([], "COMMAND"),
        (["bogus"], "not a command"),
        (["vm"], "vm list"),
        (["vm", "frobnicate"], "not a command"),
        (["vm", "list", "--bogus"], "unknown option '--bogus'"),
        (["vm", "list", "--state", "sleepy"], "--state"),
        (["vm", "list", "-o", "yaml"], "--output"),
        (["vm", "list", "--timeout", "0"], "--timeout"),
        (["vm", "show"], "name one VM"),
        (["vm", "add", "x", "-g", "rg"], "--os"),
        (["vm", "add", "x", "-g", "rg", "--os", "solaris", "--address", "10.0.0.1"], "--os"),
        (["vm", "add", "x", "-g", "rg", "--os", "linux", "--address", "10.0.0.0/8"], "prefix"),
        (["vm", "add", "bad/name", "-g", "rg", "--os", "linux", "--address", "10.0.0.1"],
         "VM name"),
        (["jit", "enable"], "VM"),
        (["jit", "enable", "vm1", "--port", "70000"], "port number"),
        (["jit", "enable", "vm1", "--port", "22/sctp"], "protocol"),
        (["jit", "enable", "vm1", "--port", "22,from=10.0.0.0/33"], "from="),
        (["jit", "enable", "vm1", "--port", "22,max=PT1M"], "max="),
        (["jit", "enable", "vm1", "--port", "22,max=2d"], "max="),
        (["jit", "enable", "vm1", "--port", "22,colour=blue"], "unknown"),
        (["jit", "enable", "vm1", "--port", "22,close=maybe"], "close="),
        (["jit", "enable", "vm1", "--port", "22", "--port", "22"], "twice"),
        (["jit", "edit", "vm1"], "--add-port"),
        (["jit", "set"], "--file"),
        (["jit", "show"], "-g RG"),
        (["request", "vm1"], "--port"),
        (["request", "--port", "22"], "VM"),
        (["request", "vm1", "--port", "22", "--for", "1h", "--until",
          "2099-01-01T00:00:00Z"], "either-or"),
        (["request", "vm1", "--port", "22", "--for", "soon"], "duration"),
        (["request", "vm1", "--port", "22", "--until", "2001-01-01T00:00:00Z"], "future"),
        (["request", "vm1", "--port", "22", "--source", "300.1.1.1"], "--source"),
        (["ssh"], "name one VM"),
        (["ssh", "vm1", "vm2"], "name one VM"),
        (["ssh", "@vm1"], "expected [USER@]VM"),
        (["ssh", "vm1", "--port", "22", "--port", "2222"], "one SSH port"),
        (["requests", "a", "b"], "one VM"),
        (["revoke"], "VM"),
        (["agent", "enroll-token"], "-g RG"),
        (["agent", "enroll-token", "-g", "rg", "--valid-for", "8d"], "7 days"),
    ]
    for args, msg in cases:
        r = run(c, *(args + dead if args else args))
        expect(r.rc == 2, f"usage error exit 2 for {args}", r)
        expect(msg in r.err, f"message for {args} lacks {msg!r}", r)
        expect("--help" in r.err, "usage errors point at --help", r)
    fails(c, 2, "vm", "list", "--server", "http://127.0.0.1:1", contains="HTTPS")
    fails(c, 2, "vm", "list", "--server", "https://127.0.0.1:1/path", contains="no path")


@tap.test
def no_server_configured_is_a_usage_error(c):
    empty = os.path.join(c.tmp, "empty-home")
    os.makedirs(empty, exist_ok=True)
    fails(c, 2, "vm", "list", home=empty, contains="no server")
    fails(c, 2, "vm", "list", "--server", c.srv.url, home=empty, contains="no token")


# ---- login and connection ----

@tap.test
def login_writes_a_private_profile(c):
    path = os.path.join(c.home, ".config", "jitgate", "config")
    st = os.stat(path)
    expect(st.st_mode & 0o777 == 0o600, "profile is 0600", oct(st.st_mode))
    expect(os.stat(os.path.dirname(path)).st_mode & 0o077 == 0, "profile dir is private")
    text = open(path).read()
    expect(f"server = {c.srv.url}" in text and f"ca = {c.ca}" in text, text)
    expect(c.srv.admin_token in text, "the profile holds the token")
    # XDG_CONFIG_HOME wins over HOME.
    xdg = os.path.join(c.tmp, "xdg")
    r = ok(c, "login", *conn(c), "-o", "json", env={"XDG_CONFIG_HOME": xdg})
    expect(r.json()["profile"] == os.path.join(xdg, "jitgate", "config"), r)
    expect(os.stat(os.path.join(xdg, "jitgate", "config")).st_mode & 0o777 == 0o600)
    expect("token" not in r.json(), "login -o json does not show the token", r)
    expect(r.json().get("principal") == "admin", "login says whose token it is", r)
    # Commands then need no flags.
    ok(c, "vm", "list", env={"XDG_CONFIG_HOME": xdg})
    # The token can come from standard input.
    ok(c, "login", "--server", c.srv.url, "--ca", c.ca, "--token-file", "-",
       env={"XDG_CONFIG_HOME": xdg}, stdin=c.srv.admin_token + "\n")
    # A refused token writes no profile.
    bad = os.path.join(c.tmp, "bad.token")
    with open(bad, "w") as f:
        f.write("jgt_0123456789abcdef_" + "A" * 43 + "\n")
    other = os.path.join(c.tmp, "xdg-bad")
    fails(c, 1, "login", "--server", c.srv.url, "--ca", c.ca, "--token-file", bad,
          env={"XDG_CONFIG_HOME": other}, contains="(AuthenticationFailed)")
    expect(not os.path.exists(os.path.join(other, "jitgate", "config")), "no profile written")


@tap.test
def named_profiles_sit_beside_the_default(c):
    # A second principal's profile does not replace the default one (the admin's).
    default = os.path.join(c.home, ".config", "jitgate", "config")
    before = open(default).read()
    st, tok, _ = api(c, "POST", "/providers/Jitgate/principals/admin/tokens", {"name": "p2"})
    expect(st == 201, tok)
    tf = os.path.join(c.tmp, "p2.token")
    with open(tf, "w") as f:
        f.write(tok["token"] + "\n")
    r = ok(c, "login", "--server", c.srv.url, "--ca", c.ca, "--token-file", tf,
           "--profile", "second", "-o", "json")
    path = os.path.join(c.home, ".config", "jitgate", "profiles", "second")
    expect(r.json()["profile"] == path, r)
    expect(os.stat(path).st_mode & 0o777 == 0o600, "named profile is 0600")
    expect(os.stat(os.path.dirname(path)).st_mode & 0o077 == 0, "profiles dir is private")
    expect(tok["token"] in open(path).read() and open(default).read() == before,
           "the default profile is untouched")
    ok(c, "vm", "list", "--profile", "second")
    ok(c, "vm", "list", env={"JITGATE_PROFILE": "second"})
    fails(c, 2, "vm", "list", "--profile", "nobody", contains="there is no profile 'nobody'")
    fails(c, 2, "vm", "list", "--profile", "../x", contains="a profile name is")
    fails(c, 2, "vm", "list", env={"JITGATE_PROFILE": "a/b"}, contains="a profile name is")
    # JITGATE_TOKEN_FILE names a file; JITGATE_TOKEN is the token itself.
    empty = os.path.join(c.tmp, "tf-home")
    os.makedirs(empty, exist_ok=True)
    ok(c, "vm", "list", home=empty, env={"JITGATE_SERVER": c.srv.url, "JITGATE_CA": c.ca,
                                          "JITGATE_TOKEN_FILE": tf})
    fails(c, 1, "vm", "list", home=empty, env={"JITGATE_SERVER": c.srv.url, "JITGATE_CA": c.ca,
          "JITGATE_TOKEN_FILE": os.path.join(c.tmp, "missing")}, contains="JITGATE_TOKEN_FILE")


@tap.test
def environment_connects_without_a_profile(c):
    empty = os.path.join(c.tmp, "env-home")
    os.makedirs(empty, exist_ok=True)
    r = ok(c, "vm", "list", "-o", "json", home=empty, env={
        "JITGATE_SERVER": c.srv.url, "JITGATE_TOKEN": c.srv.admin_token, "JITGATE_CA": c.ca})
    expect(isinstance(r.json(), list), r)
    ok(c, "vm", "list", "--subscription", c.sub)
    ok(c, "vm", "list", env={"JITGATE_SUBSCRIPTION": c.sub})
    fails(c, 1, "vm", "list", "--subscription", "nope", contains="(")


@tap.test
def profile_token_goes_only_to_its_server(c):
    # Another server named on the command line does not get the profile's token.
    fails(c, 2, "vm", "list", "--server", "https://127.0.0.1:1", contains="no token")


@tap.test
def unreachable_server_says_what_to_check(c):
    r = fails(c, 1, "vm", "list", "--server", "https://127.0.0.1:1", "--token-file",
              c.token_file, "--ca", c.ca, contains="cannot connect to https://127.0.0.1:1")
    expect("check the server URL" in r.err, r)
    r = fails(c, 1, "vm", "list", "--server", "https://no-such-host.invalid:8443",
              "--token-file", c.token_file, "--ca", c.ca, contains="check the server URL")
    expect(len(r.err.strip().splitlines()) == 1, "one line", r)


@tap.test
def bad_ca_is_refused(c):
    # A CA that did not sign the server's certificate: verification fails, exit 1.
    other = Server(sys.argv[2]).start()
    try:
        other_ca = os.path.join(other.state_dir, "tls", "cert.pem")
        r = fails(c, 1, "vm", "list", "--server", c.srv.url, "--token-file", c.token_file,
                  "--ca", other_ca, contains="cannot be verified")
        expect("--ca" in r.err and "clock" in r.err, r)
    finally:
        other.cleanup()
    # No --ca (and no profile): the system's trust store does not know jitgated's
    # self-signed certificate.
    empty = os.path.join(c.tmp, "no-ca-home")
    os.makedirs(empty, exist_ok=True)
    r = fails(c, 1, "vm", "list", "--server", c.srv.url, "--token-file", c.token_file,
              home=empty)
    expect("--ca" in r.err and "system's trust store" in r.err, r)
    # A CA file that does not exist.
    fails(c, 1, "vm", "list", "--server", c.srv.url, "--token-file", c.token_file,
          "--ca", os.path.join(c.tmp, "missing.pem"), contains="CA file")
    # The certificate names 127.0.0.1 and localhost, not this: host name checked.
    r = run(c, "vm", "list", "--server", f"https://127.0.0.2:{c.srv.port}", "--token-file",
            c.token_file, "--ca", c.ca)
    expect(r.rc == 1, "wrong host name refused", r)


@tap.test
def server_errors_are_one_line_with_the_code(c):
    add_rg(c, "rg-err")
    r = fails(c, 1, "vm", "show", "ghost", "-g", "rg-err", contains="(ResourceNotFound)")
    expect(len(r.err.strip().splitlines()) == 1, "one line", r)
    bad = os.path.join(c.tmp, "wrong.token")
    with open(bad, "w") as f:
        f.write(c.srv.admin_token[:-4] + "AAAA\n")
    fails(c, 1, "vm", "list", "--token-file", bad, contains="(AuthenticationFailed)")
    fails(c, 1, "vm", "show", "ghost", contains="no VM named 'ghost'")


# ---- inventory ----

@tap.test
def vm_add_list_show_remove(c):
    # A refused vm add leaves no resource group behind.
    fails(c, 1, "vm", "add", "web1", "-g", "rg-vm", "--os", "linux", "--address", "10.1.0.4",
          "--enforcement-point", "ep-none", contains="resource group rg-vm does not exist, so "
          "it has no enforcement point ep-none")
    expect(api(c, "GET", c.rgp("rg-vm"))[0] == 404, "no group made for a refused VM")
    r = add_vm(c, "rg-vm", "web1", "linux", "10.1.0.4")
    expect("created resource group rg-vm" in r.err, "a missing group is created", r)
    fails(c, 1, "vm", "add", "web9", "-g", "rg-vm", "--os", "linux", "--address", "10.1.0.9",
          "--enforcement-point", "ep-none",
          contains="no enforcement point 'ep-none' in the VM's resource group 'rg-vm'")
    expect(api(c, "GET", c.vm_id("rg-vm", "web9"))[0] == 404, "the refused VM is not there")
    # Someone who may make groups but not VMs: the group made for the VM is deleted again.
    rid = "44444444-5555-4666-8777-888888888888"
    st, _, _ = api(c, "PUT", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}", {
        "properties": {"roleName": "Group maker", "permissions": [{"actions": [
            "*/read", "Microsoft.Resources/subscriptions/resourceGroups/*"]}],
            "assignableScopes": [f"/subscriptions/{c.sub}"]}})
    expect(st == 201, st)
    api(c, "PUT", "/providers/Jitgate/principals/gm", {})
    st, _, _ = api(c, "PUT", f"/subscriptions/{c.sub}/providers/Microsoft.Authorization/"
                   "roleAssignments/55555555-6666-4777-8888-999999999999",
                   {"properties": {"roleDefinitionId": rid, "principalId": "gm"}})
    expect(st == 201, st)
    st, tok, _ = api(c, "POST", "/providers/Jitgate/principals/gm/tokens", {"name": "t"})
    gm = os.path.join(c.tmp, "gm.token")
    with open(gm, "w") as f:
        f.write(tok["token"] + "\n")
    r = fails(c, 1, "vm", "add", "x1", "-g", "rg-gm", "--os", "linux", "--address", "10.1.0.7",
              "--token-file", gm, contains="(AuthorizationFailed)")
    expect(r.out == "" and "created resource group" not in r.err, r)
    expect(api(c, "GET", c.rgp("rg-gm"))[0] == 404, "the group made for it is gone", r)
    add_vm(c, "rg-vm", "win1", "windows", "10.1.0.5", "--address", "2001:db8::5")
    st, body, _ = api(c, "GET", c.vm_id("rg-vm", "win1"))
    expect(st == 200 and body["properties"]["addresses"] == ["10.1.0.5", "2001:db8::5"], body)
    expect(body["properties"]["osType"] == "Windows", body)
    r = ok(c, "vm", "list", "-g", "rg-vm", "-o", "wide")
    lines = r.out.splitlines()
    expect(lines[0].split()[:3] == ["NAME", "RESOURCE", "GROUP"], r)
    expect(any("missing network security group: no enforcement point protects this VM" in l
               for l in lines), "-o wide: the whole reason", r)
    narrow = ok(c, "vm", "list", "-g", "rg-vm").out.splitlines()
    expect(narrow[0].split()[:2] == ["NAME", "GROUP"] and
           all(len(l) <= 100 for l in narrow), narrow)
    expect(any(l.startswith("web1") and "Unsupported" in l for l in lines), r)
    vms = ok(c, "vm", "list", "-g", "rg-vm", "-o", "json").json()
    expect(sorted(v["name"] for v in vms) == ["web1", "win1"], vms)
    for v in vms:
        expect(v["properties"]["jit"]["state"] == "Unsupported", v)
        expect("no enforcement point" in v["properties"]["jit"]["reason"], v)
    one = ok(c, "vm", "show", "web1", "-o", "json").json()
    expect(one["id"] == c.vm_id("rg-vm", "web1"), one)
    r = ok(c, "vm", "show", c.vm_id("rg-vm", "web1"))
    expect("10.1.0.4" in r.out and "Unsupported" in r.out, r)
    expect(ok(c, "vm", "list", "--state", "configured", "-g", "rg-vm", "-o", "json").json()
           == [], "no configured VM yet")
    # The same name in two groups needs -g.
    add_vm(c, "rg-vm2", "web1", "linux", "10.2.0.4")
    fails(c, 2, "vm", "show", "web1", contains="-g")
    ok(c, "vm", "show", "web1", "-g", "rg-vm2")
    r = ok(c, "vm", "remove", "web1", "-g", "rg-vm2", "-o", "json")
    expect(r.json() == [c.vm_id("rg-vm2", "web1")], r)
    expect(api(c, "GET", c.vm_id("rg-vm2", "web1"))[0] == 404, "removed")
    fails(c, 1, "vm", "list", "-g", "no-such-group", contains="NotFound)")


class FakeAgent:
    """A stand-in agent: reads its desired state and reports it applied, a bit later."""

    def __init__(self, srv, cred, delay=0.3):
        self.srv, self.cred, self.delay = srv, cred, delay
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop_ev.is_set():
            st, ds, _ = self.srv.request("GET", "/agent/v1/desired-state", token=self.cred,
                                         api_version=None, query={"wait": 1, "version": 0})
            if st == 200:
                time.sleep(self.delay)
                self.srv.request("POST", "/agent/v1/status",
                                 {"appliedVersion": ds["version"], "healthy": True,
                                  "capabilities": {"nftables": True}, "os": "Linux"},
                                 token=self.cred, api_version=None)
            time.sleep(0.1)

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.th.join(5)


def enroll_host(c, rg, ep, vm, addr):
    """An agent enrollment through the API, with a token from the CLI; returns the
    agent credential."""
    r = ok(c, "agent", "enroll-token", "-g", rg)
    tok = r.out.strip()
    st, e, _ = c.srv.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok, "name": ep, "kind": "host",
        "vm": {"name": vm, "osType": "Linux", "addresses": [addr]}}, token=None,
        api_version=None)
    expect(st == 200, "enrolled", st, e)
    return e["credential"]


@tap.test
def agent_enroll_token(c):
    add_rg(c, "rg-agent")
    r = ok(c, "agent", "enroll-token", "-g", "rg-agent")
    expect(re.fullmatch(r"jge_[0-9a-f]{16}_[A-Za-z0-9_-]{40,}\n", r.out), "only the token", r)
    expect("valid until" in r.err, r)
    j = ok(c, "agent", "enroll-token", "-g", "rg-agent", "--valid-for", "10m", "-o", "json").json()
    expect(j["token"].startswith("jge_") and j["resourceGroup"] == c.rgp("rg-agent"), j)
    left = iso_to_dt(j["expiresAtUtc"]) - now()
    expect(dt.timedelta(minutes=8) < left <= dt.timedelta(minutes=10, seconds=5), left)
    fails(c, 1, "agent", "enroll-token", "-g", "no-such-group", contains="(")
    cred = enroll_host(c, "rg-agent", "ep-h1", "h1", "10.3.0.4")
    expect(cred not in "".join(c.outputs), "agent credential never printed")
    r = ok(c, "vm", "list", "-g", "rg-agent")
    expect(any(l.startswith("h1") and "ep-h1" in l and "Not configured" in l
               for l in r.out.splitlines()), r)
    js = ok(c, "vm", "list", "--state", "not-configured", "-o", "json").json()
    expect("h1" in [v["name"] for v in js], js)


# ---- JIT policies ----

@tap.test
def jit_enable_with_os_defaults(c):
    add_rg(c, "rg-jit", "northeurope")
    add_vm(c, "rg-jit", "lin", "linux", "10.4.0.4")
    add_vm(c, "rg-jit", "win", "windows", "10.4.0.5")
    r = ok(c, "jit", "enable", "lin", "win", "-g", "rg-jit")
    expect("lin: JIT enabled" in r.out and "win: JIT enabled" in r.out, r)
    # Neither has an enforcement point: the policy is written, but said not to be enforced.
    for vm in ("lin", "win"):
        expect(f"warning: {vm} is Unsupported, nothing enforces its policy and its ports "
               "are NOT locked: missing network security group" in r.err, r)
    st, p, _ = api(c, "GET", c.pol("rg-jit", "northeurope"))
    expect(st == 200, "policy 'default' at the group's location", st, p)
    vms = {v["id"].rsplit("/", 1)[1]: v["ports"] for v in p["properties"]["virtualMachines"]}
    expect(vms["lin"] == [{"number": 22, "protocol": "*", "allowedSourceAddressPrefix": "*",
                           "maxRequestAccessDuration": "PT3H"}], vms)
    expect([x["number"] for x in vms["win"]] == [3389], vms)
    rows = [l for l in ok(c, "vm", "list", "-g", "rg-jit").out.splitlines()
            if "Unsupported" in l]
    expect(len(rows) == 2, "both in the policy, both Unsupported", rows)
    js = ok(c, "vm", "list", "-g", "rg-jit", "--state", "configured", "-o", "json").json()
    expect(js == [], "nothing enforces them: not Configured", js)


@tap.test
def jit_enable_specs_recommended_and_other_vms_kept(c):
    add_vm(c, "rg-jit", "spec", "linux", "10.4.0.6")
    answers = ok(c, "jit", "enable", "spec", "-g", "rg-jit", "--port",
                 "3389/tcp,from=10.0.0.0/8,max=PT1H", "--port",
                 "22,from=10.0.0.0/8;192.168.0.0/16,max=90m", "-o", "json").json()
    expect(len(answers) == 1 and answers[0]["id"] == c.pol("rg-jit", "northeurope"), answers)
    vms = {v["id"].rsplit("/", 1)[1]: v["ports"]
           for v in answers[0]["properties"]["virtualMachines"]}
    expect(set(vms) == {"lin", "win", "spec"}, "other VMs kept", vms)
    expect(vms["spec"] == [
        {"number": 3389, "protocol": "TCP", "allowedSourceAddressPrefix": "10.0.0.0/8",
         "maxRequestAccessDuration": "PT1H"},
        {"number": 22, "protocol": "*",
         "allowedSourceAddressPrefixes": ["10.0.0.0/8", "192.168.0.0/16"],
         "maxRequestAccessDuration": "PT1H30M"}], vms["spec"])
    add_vm(c, "rg-jit", "rec", "windows", "10.4.0.7")
    ok(c, "jit", "enable", "rec", "--recommended", "--port", "22,max=PT1H")
    p = api(c, "GET", c.pol("rg-jit", "northeurope"))[1]
    rec = [v for v in p["properties"]["virtualMachines"] if v["id"].endswith("/rec")][0]
    expect([x["number"] for x in rec["ports"]] == [22, 3389, 5985, 5986], rec)
    expect(rec["ports"][0]["maxRequestAccessDuration"] == "PT1H", rec)
    fails(c, 2, "jit", "enable", "rec", "rec", contains="named twice")
    # close=yes: jitgate's closeEstablishedOnExpiry extension, kept by later edits.
    ok(c, "jit", "edit", "rec", "--add-port", "2222/tcp,close=yes")
    rec = [v for v in api(c, "GET", c.pol("rg-jit", "northeurope"))[1]["properties"]
           ["virtualMachines"] if v["id"].endswith("/rec")][0]
    expect(rec["ports"][-1].get("closeEstablishedOnExpiry") is True, rec)
    expect("close connections" in ok(c, "jit", "show", "rec").out)
    ok(c, "jit", "edit", "rec", "--set-port", "2222,close=no")
    rec = [v for v in api(c, "GET", c.pol("rg-jit", "northeurope"))[1]["properties"]
           ["virtualMachines"] if v["id"].endswith("/rec")][0]
    expect("closeEstablishedOnExpiry" not in rec["ports"][-1], rec)
    ok(c, "jit", "edit", "rec", "--remove-port", "2222")
    # Another policy name or location for a VM already in one is refused here.
    fails(c, 1, "jit", "enable", "rec", "--policy", "other", contains="already in the JIT policy")
    # Explicit location and name for a new group.
    add_vm(c, "rg-jit2", "x1", "linux", "10.5.0.4", "--location", "eastus")
    ok(c, "jit", "enable", "x1", "--location", "westus", "--policy", "ops")
    expect(api(c, "GET", c.pol("rg-jit2", "westus", "ops"))[0] == 200)


@tap.test
def jit_show_list_and_edit(c):
    r = ok(c, "jit", "show", "spec")
    expect("3389" in r.out and "10.0.0.0/8,192.168.0.0/16" in r.out and "PT1H30M" in r.out, r)
    j = ok(c, "jit", "show", "spec", "-o", "json").json()
    expect(j["policy"] == c.pol("rg-jit", "northeurope"), j)
    expect(j["virtualMachine"]["id"] == c.vm_id("rg-jit", "spec"), j)
    whole = ok(c, "jit", "show", "-g", "rg-jit", "-o", "json").json()
    expect(whole["id"] == c.pol("rg-jit", "northeurope") and whole["kind"] == "Basic", whole)
    lst = ok(c, "jit", "list", "-o", "json").json()
    expect(c.pol("rg-jit", "northeurope") in [p["id"] for p in lst], lst)
    r = ok(c, "jit", "list", "-g", "rg-jit")
    expect(any(l.startswith("spec") and "3389,22" in l for l in r.out.splitlines()), r)

    r = ok(c, "jit", "edit", "spec", "--add-port", "5985,max=PT2H", "--set-port",
           "22,max=PT2H", "--remove-port", "3389", "-o", "json")
    vm = [v for v in r.json()["properties"]["virtualMachines"] if v["id"].endswith("/spec")][0]
    expect([(x["number"], x["maxRequestAccessDuration"]) for x in vm["ports"]] ==
           [(22, "PT2H"), (5985, "PT2H")], vm)
    expect(vm["ports"][0]["allowedSourceAddressPrefixes"] == ["10.0.0.0/8", "192.168.0.0/16"],
           "--set-port keeps what it does not name", vm)
    fails(c, 1, "jit", "edit", "spec", "--add-port", "22", contains="already configured")
    fails(c, 1, "jit", "edit", "spec", "--set-port", "23", contains="not configured")
    fails(c, 1, "jit", "edit", "spec", "--remove-port", "22", "--remove-port", "5985",
          contains="jit disable")
    fails(c, 1, "jit", "edit", "h1", "--add-port", "22", contains="not enabled")


@tap.test
def jit_set_from_a_file(c):
    pol = ok(c, "jit", "show", "-g", "rg-jit2", "--policy", "ops", "-o", "json").json()
    pol["properties"]["virtualMachines"][0]["ports"].append(
        {"number": 2222, "protocol": "TCP", "allowedSourceAddressPrefix": "10.9.0.0/16",
         "maxRequestAccessDuration": "PT10M"})
    path = os.path.join(c.tmp, "policy.json")
    with open(path, "w") as f:
        json.dump(pol, f)
    r = ok(c, "jit", "set", "--file", path)
    expect("written, 1 VM" in r.out, r)
    got = api(c, "GET", c.pol("rg-jit2", "westus", "ops"))[1]
    expect([x["number"] for x in got["properties"]["virtualMachines"][0]["ports"]] == [22, 2222])
    # Without an id: named by flags and the VMs' group; location from the group.
    add_rg(c, "rg-set", "uksouth")
    add_vm(c, "rg-set", "s1", "linux", "10.6.0.4")
    bare = {"properties": {"virtualMachines": [{"id": c.vm_id("rg-set", "s1"), "ports": [
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT1H"}]}]}}
    j = ok(c, "jit", "set", "--file", "-", "-o", "json", stdin=json.dumps(bare)).json()
    expect(j["id"] == c.pol("rg-set", "uksouth"), j)
    bad = json.loads(json.dumps(bare))
    bad["properties"]["virtualMachines"][0]["ports"][0]["number"] = 70000
    r = fails(c, 2, "jit", "set", "--file", "-", stdin=json.dumps(bad),
              contains="properties.virtualMachines[0].ports[0].number")
    fails(c, 2, "jit", "set", "--file", "-", stdin="{not json", contains="line 1")
    fails(c, 2, "jit", "set", "--file", path, "--policy", "other", contains="\"id\"")
    fails(c, 2, "jit", "set", "--file", os.path.join(c.tmp, "missing.json"))


# ---- requests ----

@tap.test
def request_my_ip_is_the_caller_as_the_server_sees_it(c):
    r = ok(c, "request", "lin", "--port", "22", "--justification", "deploy", "-o", "json")
    j = r.json()
    acc = j["access"]
    expect(len(acc) == 1 and acc[0]["source"] == "127.0.0.1", "my-ip is 127.0.0.1", j)
    expect(acc[0]["addresses"] == ["10.4.0.4"] and acc[0]["port"] == 22, j)
    left = iso_to_dt(acc[0]["endTimeUtc"]) - now()
    expect(dt.timedelta(hours=2, minutes=58) < left <= dt.timedelta(hours=3, minutes=1),
           "default --for is the policy's maximum (PT3H)", left)
    expect(j["requests"][0]["justification"] == "deploy", j)
    # The table shows where to connect.
    r = ok(c, "request", "lin", "--port", "22", "--source", "10.9.9.9", "--for", "30m")
    row = [l for l in r.out.splitlines() if l.startswith("lin")][0]
    expect("10.4.0.4" in row and " 22 " in row and "10.9.9.9" in row, r)
    expect("no enforcement point" in r.err, "a warning when nothing enforces", r)
    # --until, and several VMs in one policy in one initiate.
    until = (now() + dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    j = ok(c, "request", "lin", "spec", "--port", "22", "--until", until, "--source",
           "10.1.2.3", "-o", "json").json()
    expect(len(j["requests"]) == 1 and len(j["access"]) == 2, j)
    expect(all(a["endTimeUtc"].startswith(until[:19]) for a in j["access"]), j)


@tap.test
def request_refusals(c):
    def refused_initiates(vm):
        st, body, _ = api(c, "GET", c.vm_id("rg-jit", vm) + "/providers/Jitgate/auditLogs")
        expect(st == 200, body)
        return [e for e in body["value"] if e["operationName"].endswith("/initiate/action")
                and e["result"] != "Succeeded"]

    before = {vm: len(refused_initiates(vm)) for vm in ("lin", "spec")}
    # The server decides what the policy refuses, and audits it; the CLI explains.
    r = fails(c, 1, "request", "lin", "--port", "3389",
              contains="port 3389 is not configured for JIT on 'lin'")
    expect("the JIT ports of lin: 22" in r.err and "(BadRequest)" in r.err, r)
    expect("virtualMachines[" not in r.err, "no JSON path", r)
    fails(c, 1, "request", "web1", "--port", "22", contains="JIT is not enabled on web1")
    # A mistyped VM name or option gets the closest one.
    fails(c, 1, "request", "lim", "--port", "22",
          contains="did you mean lin in resource group rg-jit?")
    fails(c, 1, "vm", "show", "lim", "-g", "rg-jit",
          contains="did you mean lin in resource group rg-jit?")
    fails(c, 2, "request", "lin", "--port", "22", "--duration", "5m",
          contains="unknown option '--duration' (did you mean --for?)")
    fails(c, 2, "request", "lin", "--port", "22", "--justifcation", "x",
          contains="(did you mean --justification?)")
    r = fails(c, 2, "request", "lin", "--port", "22", "--colour", "x")
    expect("did you mean" not in r.err, r)
    r = fails(c, 1, "request", "spec", "--port", "22", "--source", "10.1.2.3", "--for", "3h",
              contains="is past the policy's maximum request duration")
    expect("--for 3h is longer than the policy allows for port 22 on spec" in r.err, r)
    expect(r.err.startswith("jitgate: '"), "no JSON path first", r)
    until = (now() + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fails(c, 1, "request", "spec", "--port", "22", "--source", "10.1.2.3", "--until", until,
          contains=f"--until {until} is longer")
    after = {vm: len(refused_initiates(vm)) for vm in ("lin", "spec")}
    expect(after["lin"] == before["lin"] + 1 and after["spec"] == before["spec"] + 2,
           "each refusal is in the VM's audit log", before, after)
    # A source outside the policy's prefixes: the message names the allowed ones.
    r = fails(c, 1, "request", "spec", "--port", "22", "--source", "172.16.0.1",
              contains="(BadRequest)")
    expect("not inside the prefixes" in r.err and len(r.err.strip().splitlines()) == 1, r)
    expect("for port 22: 10.0.0.0/8, 192.168.0.0/16" in r.err, r)
    expect(r.err.startswith("jitgate: the source '172.16.0.1'"), "no JSON path first", r)
    # my-ip (127.0.0.1) is outside spec's 10/8 and 192.168/16 as well.
    fails(c, 1, "request", "spec", "--port", "22", contains="your address")


@tap.test
def requests_history_newest_first(c):
    rows = ok(c, "requests", "-o", "json").json()
    starts = [r["startTimeUtc"] for r in rows]
    expect(starts == sorted(starts, reverse=True) and len(rows) >= 3, starts)
    mine = ok(c, "requests", "lin", "-o", "json").json()
    expect(all(len(r["virtualMachines"]) == 1 and r["virtualMachines"][0]["id"] ==
               c.vm_id("rg-jit", "lin") for r in mine), mine)
    expect(all(r["policy"] == c.pol("rg-jit", "northeurope") for r in mine), mine)
    r = ok(c, "requests", "lin")
    lines = r.out.splitlines()
    expect(lines[0].split()[:3] == ["START", "VM", "PORT"], r)
    expect("Initiated" in r.out and "deploy" in r.out, r)
    # A newer request from the same source revoked the older one.
    ok(c, "request", "lin", "--port", "22", "--source", "10.9.9.9", "--for", "10m")
    mine = ok(c, "requests", "lin", "-o", "json").json()
    older = [r for r in mine[1:] if r["virtualMachines"][0]["ports"][0].get(
        "allowedSourceAddressPrefix") == "10.9.9.9"]
    expect(older and older[0]["virtualMachines"][0]["ports"][0]["statusReason"] ==
           "NewerRequestInitiated", mine)
    # It ended when the newer one started, and says so (not its original end time).
    newer = [r for r in mine if r["virtualMachines"][0]["ports"][0].get(
        "allowedSourceAddressPrefix") == "10.9.9.9"][0]
    expect(older[0]["virtualMachines"][0]["ports"][0]["endTimeUtc"] ==
           newer["startTimeUtc"], older[0], newer)
    expect("Revoked (NewerRequestInitiated)" in ok(c, "requests", "lin").out)


@tap.test
def revoke_ends_access_early(c):
    ok(c, "request", "lin", "--port", "22", "--source", "10.7.7.7", "--for", "20m")
    r = ok(c, "revoke", "lin", "--port", "22", "--source", "10.7.7.7", "-o", "json")
    expect(r.json() == {"revokedPorts": 1}, r)
    newest = ok(c, "requests", "lin", "-o", "json").json()[0]
    port = newest["virtualMachines"][0]["ports"][0]
    expect(port["allowedSourceAddressPrefix"] == "10.7.7.7", newest)
    expect(port["status"] == "Revoked" and port["statusReason"] == "UserRequested", newest)
    expect(iso_to_dt(port["endTimeUtc"]) <= now(), "the end time is now", port)
    expect("Revoked (UserRequested)" in ok(c, "requests", "lin").out)
    # Without --port and --source: every JIT port, every source.
    r = ok(c, "revoke", "lin")
    expect(r.out.startswith("lin: access revoked ("), r)
    fails(c, 2, "revoke", "lin", "--source", "my-ip", contains="every source")
    fails(c, 1, "revoke", "lin", "--port", "3389", contains="not a JIT port")
    fails(c, 1, "revoke", "web1", contains="JIT is not enabled")


@tap.test
def request_extend_moves_the_end_of_running_access(c):
    def audited(op):
        st, body, _ = api(c, "GET", c.vm_id("rg-jit", "lin") + "/providers/Jitgate/auditLogs")
        expect(st == 200, body)
        return [e for e in body["value"] if e["operationName"].endswith(op)]

    # Nothing running from 10.6.6.6: nothing to extend (409), and that refusal is audited.
    before = len(audited("/extend/action"))
    fails(c, 1, "request", "lin", "--port", "22", "--source", "10.6.6.6", "--for", "20m",
          "--extend", contains="no active access to port 22 of 'lin' from 10.6.6.6 to extend")
    ok(c, "request", "lin", "--port", "22", "--source", "10.6.6.6", "--for", "10m")
    first = ok(c, "requests", "lin", "-o", "json").json()[0]
    # Not to an earlier end.
    fails(c, 1, "request", "lin", "--port", "22", "--source", "10.6.6.6", "--for", "5m",
          "--extend", contains="is not later than the current end")
    j = ok(c, "request", "lin", "--port", "22", "--source", "10.6.6.6", "--for", "40m",
           "--extend", "--justification", "more time", "-o", "json").json()
    left = iso_to_dt(j["access"][0]["endTimeUtc"]) - now()
    expect(dt.timedelta(minutes=39) < left <= dt.timedelta(minutes=41), "--for counts from now",
           left)
    mine = ok(c, "requests", "lin", "-o", "json").json()
    newest, older = mine[0], [r for r in mine if r["startTimeUtc"] == first["startTimeUtc"]][0]
    expect(newest["justification"] == "more time" and
           newest["virtualMachines"][0]["ports"][0]["status"] == "Initiated", newest)
    expect(older["virtualMachines"][0]["ports"][0]["statusReason"] == "NewerRequestInitiated",
           "the extension supersedes the running request", older)
    # Beyond the port's maximum (PT3H from now): refused like an initiate.
    fails(c, 1, "request", "lin", "--port", "22", "--source", "10.6.6.6", "--for", "4h",
          "--extend", contains="maximum request duration")
    ext = audited("/extend/action")
    expect(len(ext) == before + 4, "every extension and refusal is audited as extend", ext)
    expect(sum(1 for e in ext if e["result"] == "Succeeded") >= 1, ext)
    ok(c, "revoke", "lin", "--port", "22", "--source", "10.6.6.6")


@tap.test
def request_wait(c):
    fails(c, 1, "request", "lin", "--port", "22", "--wait", contains="no enforcement point")
    cred = enroll_host(c, "rg-jit", "ep-w1", "w1", "10.4.0.9")
    ok(c, "jit", "enable", "w1")
    # No agent reports: --wait gives up after --timeout, exit 1.
    t0 = time.monotonic()
    fails(c, 1, "request", "w1", "--port", "22", "--wait", "--timeout", "1",
          contains="has not applied it")
    fails(c, 1, "revoke", "lin", "--wait", contains="no enforcement point")
    expect(time.monotonic() - t0 < 10, "bounded by --timeout")

    with FakeAgent(c.srv, cred):
        r = ok(c, "request", "w1", "--port", "22", "--wait", "--timeout", "20")
        expect("applied the access" in r.err and "w1" in r.out, r)
        r = ok(c, "revoke", "w1", "--wait", "--timeout", "20")
        expect("applied the revoke" in r.err, r)
        ep = api(c, "GET", f"{c.rgp('rg-jit')}/providers/Jitgate/enforcementPoints/ep-w1")[1]
        expect(ep["properties"]["appliedVersion"] >= ep["properties"]["desiredVersion"], ep)
    c.w1_cred = cred


@tap.test
def jit_requester_least_privilege(c):
    """A principal holding only the JIT requester role on one VM."""
    st, _, _ = api(c, "PUT", "/providers/Jitgate/principals/carol",
                   {"properties": {"displayName": "Carol"}})
    expect(st == 201, st)
    st, tok, _ = api(c, "POST", "/providers/Jitgate/principals/carol/tokens", {"name": "cli"})
    expect(st == 201, tok)
    path = os.path.join(c.tmp, "carol.token")
    with open(path, "w") as f:
        f.write(tok["token"] + "\n")
    st, a, _ = api(c, "PUT", c.vm_id("rg-jit", "w1") + "/providers/Microsoft.Authorization/"
                   "roleAssignments/33333333-4444-4555-8666-777777777777",
                   {"properties": {"roleDefinitionId": "JIT Network Access Requester",
                                   "principalId": "carol"}})
    expect(st == 201, a)
    carol = ["--token-file", path]
    vms = ok(c, "vm", "list", "-o", "json", *carol).json()
    expect([v["name"] for v in vms] == ["w1"], "carol sees her VM only", vms)
    j = ok(c, "request", "w1", "--port", "22", "--for", "10m", "-o", "json", *carol).json()
    expect(j["requests"][0]["requestor"] == "Carol" and j["access"][0]["source"] == "127.0.0.1",
           j)
    # Her role cannot read enforcement points, but --wait reads the versions from the VM.
    ep_path = f"{c.rgp('rg-jit')}/providers/Jitgate/enforcementPoints/ep-w1"
    expect(c.srv.request("GET", ep_path, token=tok["token"])[0] == 403,
           "carol may not read the enforcement point")
    with FakeAgent(c.srv, c.w1_cred):
        r = ok(c, "request", "w1", "--port", "22", "--for", "10m", "--wait", "--timeout", "20",
               *carol)
        expect("enforcement point ep-w1 applied the access" in r.err, r)
        j = ok(c, "vm", "show", "w1", "-o", "json", *carol).json()["properties"]["jit"]
        expect(j["enforcementPointAppliedVersion"] >= j["enforcementPointDesiredVersion"], j)
        r = ok(c, "vm", "show", "w1", *carol)
        expect("ep-w1 (healthy, in sync, applied version" in r.out, r)
    # Without an agent the wait times out after the request was made (exit 1).
    fails(c, 1, "request", "w1", "--port", "22", "--for", "10m", "--wait", "--timeout", "1",
          *carol, contains="has not applied it")
    fails(c, 1, "request", "lin", "--port", "22", *carol, contains="no VM named 'lin'")
    # Refused: nothing on stdout says otherwise, and w1 stays in its policy.
    r = fails(c, 1, "jit", "disable", "w1", *carol, contains="(AuthorizationFailed)")
    expect(r.out == "", "no success printed for a refused change", r)
    pol = api(c, "GET", c.pol("rg-jit", "northeurope"))[1]
    expect(c.vm_id("rg-jit", "w1") in [v["id"] for v in pol["properties"]["virtualMachines"]],
           "w1 is still in the policy", pol)
    # The same for the other commands that change something.
    for args in (["jit", "enable", "w1", "--recommended"],
                 ["jit", "edit", "w1", "--add-port", "2222"],
                 ["revoke", "w1", "--port", "22"],
                 ["vm", "remove", "w1"],
                 ["vm", "add", "w9", "-g", "rg-jit", "--os", "linux", "--address", "10.4.9.9"],
                 ["principal", "create", "mallory"],
                 ["token", "create", "--principal", "admin", "--name", "more"],
                 ["jit", "settings", "-g", "rg-jit", "--disable", "--reason", "no"]):
        r = run(c, *args, *carol)
        expect(r.rc == 1 and r.out == "" and "(AuthorizationFailed)" in r.err,
               f"refused: {args}", r)
    expect(tok["token"] not in "".join(c.outputs), "carol's token never printed")


@tap.test
def jit_disable_keeps_others_and_deletes_empty_policies(c):
    r = ok(c, "jit", "disable", "spec", "-o", "json")
    expect(r.json() == {"disabled": [c.vm_id("rg-jit", "spec")], "deletedPolicies": []}, r)
    p = api(c, "GET", c.pol("rg-jit", "northeurope"))[1]
    names = [v["id"].rsplit("/", 1)[1] for v in p["properties"]["virtualMachines"]]
    expect("spec" not in names and "lin" in names, names)
    r = ok(c, "jit", "disable", "spec")
    expect("not enabled" in r.err, "disabling again is a no-op with a note", r)
    r = ok(c, "jit", "disable", "s1")
    expect("deleted (no VMs left)" in r.out, r)
    expect(api(c, "GET", c.pol("rg-set", "uksouth"))[0] == 404, "empty policy deleted")
    # A VM in a policy cannot be removed from the inventory (the server says why).
    fails(c, 1, "vm", "remove", "lin", contains="(Conflict)")


@tap.test
def token_never_printed(c):
    everything = "".join(c.outputs)
    expect(c.srv.admin_token not in everything, "the admin token appeared in some output")
    secret = c.srv.admin_token.split("_", 2)[2]
    expect(secret not in everything, "the token's secret appeared in some output")


@tap.test
def server_list_fails_over_to_the_next_replica(c):
    # A port nothing listens on, then the real server: refused, so the next one answers.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    servers = f"https://127.0.0.1:{dead},{c.srv.url}"
    r = ok(c, "vm", "list", "-o", "json", "--server", servers, "--token-file", c.token_file,
           "--ca", c.ca)
    expect(isinstance(r.json(), list), r)
    # A write too: it never reached the dead one, so it is sent to the next.
    r = ok(c, "principal", "create", "failover-" + str(os.getpid()), "-o", "json",
           "--server", servers, "--token-file", c.token_file, "--ca", c.ca)
    # Every URL of the list is checked.
    fails(c, 2, "vm", "list", "--server", f"{c.srv.url},http://127.0.0.1:1",
          "--token-file", c.token_file, "--ca", c.ca, contains="plain HTTP")
    # An enrollment token's instructions carry the whole list, for the agent to fail over.
    add_rg(c, "rg-failover")
    r = ok(c, "agent", "enroll-token", "-g", "rg-failover", "--server", servers,
           "--token-file", c.token_file, "--ca", c.ca)
    expect(f"jitgate-agent --server {servers} " in r.err, r)
    # Only dead servers: the error names the last one tried.
    r = fails(c, 1, "vm", "list", "--server", f"https://127.0.0.1:{dead},https://127.0.0.1:{dead}",
              "--token-file", c.token_file, "--ca", c.ca)


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
