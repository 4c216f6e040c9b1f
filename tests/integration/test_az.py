#!/usr/bin/env python3
"""The Azure CLI (Debian's azure-cli, unchanged) signs in to jitgate and drives JIT for real.

Usage: test_az.py PATH/TO/jitgated PATH/TO/jitgate-agent      (TAP on stdout)

Two network namespaces joined by a veth pair:

  cp  10.93.0.1 ---- 10.93.0.2  vm
  jitgated :8443, this script,   jitgate-agent (host), a TCP server on :2222
  and az

In a sandboxed AZURE_CONFIG_DIR, with jitgated's self-signed CA as REQUESTS_CA_BUNDLE and
nothing else written for jitgate but its URL: `az cloud register` (the endpoints come
from jitgated's /metadata/endpoints), `az login --service-principal --tenant adfs` with a
client secret, `az account list/show`, `az rest` PUT of a policy, `az security jit-policy
list/show`, and `az rest` POST of an initiate that the agent turns into an open port in
the vm namespace (closed before, open after, from this namespace only). A Reader signed
in the same way reads the policies, and its initiate is a 403 that az prints with
jitgate's message. Revoking the Reader's secret stops az at once, although az still holds
the access token in its cache. The agent's --metrics-file (node_exporter's textfile) is
checked with promtool and against the table. Without root, ip netns, nftables or az the
file is skipped.
"""
import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns_harness as nh  # noqa: E402
from netns_harness import LOC, PORT, PROBE  # noqa: E402

CP_ADDR, VM_ADDR = "10.93.0.1", "10.93.0.2"
JIT_PORT = 2222
PRINCIPALS = "/providers/Jitgate/principals"
INITIATE = "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action"


class Net(nh.Net):
    NAMES = ("cp", "vm")
    PREFIX = "jgz"
    TMP_PREFIX = "jitgate-az."

    def links(self):
        for ns, *cmd in [
            ("vm", "ip", "link", "add", "cp0", "type", "veth", "peer", "name", "vm0", "netns",
             self.ns["cp"]),
            ("cp", "ip", "addr", "add", f"{CP_ADDR}/24", "dev", "vm0"),
            ("vm", "ip", "addr", "add", f"{VM_ADDR}/24", "dev", "cp0"),
            ("cp", "ip", "link", "set", "vm0", "up"),
            ("vm", "ip", "link", "set", "cp0", "up"),
        ]:
            self.run(ns, *cmd, check=True)


class AzE2E(nh.E2E):
    RG = "rg-az"
    AGENT_NS = "vm"
    EP_NAME = "ep-az"
    CP_ADDR = CP_ADDR
    LOGS = ("agent.log", "jitgated/jitgated.log", "az.log")

    def setup(self):
        self.net.popen("vm", PROBE + ["serve-tcp", JIT_PORT], "servers.log")
        self.start_jitgated()
        self.url = f"https://{CP_ADDR}:{PORT}"
        self.az_dir = os.path.join(self.tmp, "azure")
        self.env = dict(os.environ, AZURE_CONFIG_DIR=self.az_dir,
                        REQUESTS_CA_BUNDLE=os.path.join(self.srv.state_dir, "tls", "cert.pem"),
                        AZURE_CORE_COLLECT_TELEMETRY="0", AZURE_CORE_NO_COLOR="1",
                        HOME=self.tmp)
        self.env.pop("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", None)
        self.wait_up(lambda: self.tcp(None, VM_ADDR, JIT_PORT), "the TCP server did not come up")

    def tcp(self, ns, addr, port, secs=None):
        """A connect from this namespace (cp) when ns is None."""
        if ns is not None:
            return super().tcp(ns, addr, port, secs)
        r = subprocess.run(PROBE + ["tcp", addr, str(port), "2"], capture_output=True)
        return r.returncode == 0

    def az(self, *args, body=None):
        """Runs az; returns (returncode, parsed JSON stdout or text, stderr)."""
        argv = ["az", *args]
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=120,
                           input=body)
        with open(os.path.join(self.tmp, "az.log"), "a") as f:
            f.write(f"$ {' '.join(a if 'jcs_' not in a else '***' for a in argv)}\n"
                    f"rc={r.returncode}\n{r.stdout[-2000:]}{r.stderr[-2000:]}\n")
        try:
            out = json.loads(r.stdout) if r.stdout.strip() else None
        except ValueError:
            out = r.stdout
        return r.returncode, out, r.stderr

    def principal(self, name, role, guid):
        st, _, _ = self.api("PUT", f"{PRINCIPALS}/{name}",
                            {"properties": {"kind": "ServicePrincipal"}})
        st2, a, _ = self.api("PUT", f"/subscriptions/{self.sub}/providers/"
                             f"Microsoft.Authorization/roleAssignments/{guid}",
                             {"properties": {"roleDefinitionId": role, "principalId": name}})
        st3, s, _ = self.api("POST", f"{PRINCIPALS}/{name}/clientSecrets",
                             {"name": "az test", "validFor": "P1D"})
        self.tap.ok(st in (200, 201) and st2 in (200, 201) and st3 == 201,
                    f"a service principal '{name}' ({role}) with a client secret", st, st2, a, s)
        return s

    def vm_id(self):
        return f"{self.rgp}/providers/Microsoft.Compute/virtualMachines/vm-az"

    def metrics_file(self):
        return os.path.join(self.tmp, "textfile", "jitgate-agent.prom")

    def agent_metrics(self):
        """{series with labels: value} from the agent's textfile."""
        with open(self.metrics_file()) as f:
            text = f.read()
        out = {}
        for line in text.splitlines():
            if not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return text, out

    def enroll(self):
        os.makedirs(os.path.dirname(self.metrics_file()), mode=0o755)
        if os.geteuid() == 0:
            # The agent's processes run as --user nobody (agent_argv): the textfile
            # directory must be theirs to write, as node_exporter's is in a deployment.
            os.chown(os.path.dirname(self.metrics_file()), 65534, 65534)
        _, token_file = self.enrollment_token()
        self.agent = self.net.popen("vm", self.agent_argv() + [
            "--vm-name", "vm-az", "--name", self.EP_NAME, "--address", VM_ADDR,
            "--enroll-token", token_file, "--metrics-file", self.metrics_file()], "agent.log")
        ep = self.wait_in_sync()
        if not self.tap.ok(ep is not None, "the agent enrolls and reports in sync",
                           self.agent_text()):
            raise RuntimeError("the agent did not come up")


def end_in(seconds):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def scenarios(e):
    t = e.tap
    e.enroll()
    bot = e.principal("ci-bot", "Contributor", "7d0c1e2f-0000-4000-8000-0000000000a1")
    reader = e.principal("auditor", "Reader", "7d0c1e2f-0000-4000-8000-0000000000a2")

    # -- the cloud and the sign-in --
    rc, _, err = e.az("cloud", "register", "-n", "jitgate",
                      "--endpoint-resource-manager", e.url + "/")
    t.ok(rc == 0, "az cloud register reads the endpoints from jitgated", err)
    rc, cloud, err = e.az("cloud", "show", "-n", "jitgate", "-o", "json")
    t.ok(rc == 0 and cloud["endpoints"]["activeDirectory"] == e.url + "/adfs" and
         cloud["endpoints"]["activeDirectoryResourceId"] == e.url + "/",
         "the cloud's login endpoint is jitgated's /adfs", cloud, err)
    rc, _, err = e.az("cloud", "set", "-n", "jitgate")
    t.ok(rc == 0, "az cloud set", err)
    rc, subs, err = e.az("login", "--service-principal", "-u", "ci-bot", "-p", bot["secret"],
                         "--tenant", "adfs", "-o", "json")
    t.ok(rc == 0 and isinstance(subs, list) and subs and subs[0]["id"] == e.sub and
         subs[0]["user"] == {"name": "ci-bot", "type": "servicePrincipal"} and
         subs[0]["tenantId"] == "adfs" and subs[0]["cloudName"] == "jitgate",
         "az login --service-principal --tenant adfs finds jitgate's subscription", subs, err)
    rc, acct, err = e.az("account", "show", "-o", "json")
    t.ok(rc == 0 and acct["id"] == e.sub and acct["name"] == "Default" and
         acct["state"] == "Enabled", "az account show", acct, err)
    rc, accts, err = e.az("account", "list", "-o", "json")
    t.ok(rc == 0 and [a["id"] for a in accts] == [e.sub], "az account list", accts, err)
    st, audit, _ = e.srv.request("GET", "/providers/Jitgate/auditLogs", query={
        "operation": "Jitgate/oauth2/token/action", "top": "1"})
    t.ok(st == 200 and audit["value"] and audit["value"][0]["principalName"] == "ci-bot",
         "the sign-in is in the audit log", audit)

    # -- a policy through az rest, read back through az security --
    pol = e.pol()
    policy = {"kind": "Basic", "properties": {"virtualMachines": [{"id": e.vm_id(), "ports": [
        {"number": JIT_PORT, "protocol": "TCP", "allowedSourceAddressPrefix": "10.93.0.0/24",
         "maxRequestAccessDuration": "PT1H"}]}]}}
    rc, out, err = e.az("rest", "--method", "put", "--url",
                        f"{e.url}{pol}?api-version=2020-01-01", "--body", "@-",
                        body=json.dumps(policy))
    t.ok(rc == 0 and isinstance(out, dict) and
         out["properties"]["provisioningState"] == "Succeeded",
         "az rest PUTs a JIT policy", out, err)
    rc, lst, err = e.az("security", "jit-policy", "list", "-o", "json")
    t.ok(rc == 0 and [p["id"] for p in lst] == [out["id"]] and
         lst[0]["virtualMachines"][0]["ports"][0]["number"] == JIT_PORT,
         "az security jit-policy list returns jitgate's policy", lst, err)
    rc, shown, err = e.az("security", "jit-policy", "show", "-g", e.RG, "-l", LOC,
                          "-n", "default", "-o", "json")
    t.ok(rc == 0 and shown["name"] == "default" and
         shown["virtualMachines"][0]["id"].lower() == e.vm_id().lower(),
         "az security jit-policy show", shown, err)
    t.ok(e.wait_in_sync() is not None and not e.tcp(None, VM_ADDR, JIT_PORT),
         f"the agent locked port {JIT_PORT}: no connect from cp")

    # -- an initiate through az rest opens the port --
    req = {"virtualMachines": [{"id": e.vm_id(), "ports": [
        {"number": JIT_PORT, "endTimeUtc": end_in(600)}]}], "justification": "az test"}
    rc, out, err = e.az("rest", "--method", "post", "--url",
                        f"{e.url}{pol}/initiate?api-version=2020-01-01", "--body", "@-",
                        body=json.dumps(req))
    port = out["virtualMachines"][0]["ports"][0] if isinstance(out, dict) else {}
    t.ok(rc == 0 and port.get("status") == "Initiated" and
         port.get("allowedSourceAddressPrefix") == CP_ADDR and out.get("requestor") == "ci-bot",
         "az rest POSTs an initiate: 202, for the caller's own address", out, err)
    t.ok(e.wait_in_sync() is not None, "the agent applies the grant")
    t.ok(e.tcp(None, VM_ADDR, JIT_PORT), f"port {JIT_PORT} is open from cp after the initiate")

    # -- the agent's textfile for node_exporter --
    text, m = e.agent_metrics()
    ep = e.ep()
    mode = stat.S_IMODE(os.stat(e.metrics_file()).st_mode)
    t.ok(mode == 0o644 and not [f for f in os.listdir(os.path.dirname(e.metrics_file()))
                                if not f.endswith(".prom")],
         "the agent's metrics file is 0644 and alone in its directory (no temporary left)",
         oct(mode), os.listdir(os.path.dirname(e.metrics_file())))
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        t.ok(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
             "promtool check metrics accepts the agent's file", r.stdout, r.stderr, text)
    grants = sum(1 for _ in (e.table() or {}).get("grants4", []))
    t.ok(m.get('jitgate_agent_applies_total{result="ok",source="server"}', 0) >= 2 and
         m.get('jitgate_agent_applies_total{result="failed",source="server"}') == 0 and
         m.get("jitgate_agent_grants") == grants == 1 and
         m.get("jitgate_agent_locked_ports") == 1 and
         m.get("jitgate_agent_applied_version") == ep["properties"]["appliedVersion"] and
         m.get("jitgate_agent_healthy") == 1 and m.get("jitgate_agent_server_reachable") == 1 and
         abs(m.get("jitgate_agent_last_apply_timestamp_seconds", 0) - time.time()) < 60 and
         m.get("jitgate_agent_apply_duration_seconds_count") ==
         m.get('jitgate_agent_apply_duration_seconds_bucket{le="+Inf"}') > 0 and
         "jitgate_agent_drift_repairs_total" in m,
         "the agent's metrics: applies, one grant, one locked port, its version, healthy",
         m, grants, ep)

    # -- a Reader: reads, and is refused the initiate with jitgate's message --
    rc, subs, err = e.az("login", "--service-principal", "-u", "auditor", "-p",
                         reader["secret"], "--tenant", "adfs", "-o", "json")
    t.ok(rc == 0 and subs and subs[0]["user"]["name"] == "auditor", "the Reader signs in",
         subs, err)
    rc, lst, err = e.az("security", "jit-policy", "list", "-o", "json")
    t.ok(rc == 0 and len(lst) == 1, "the Reader lists the policy", lst, err)
    rc, out, err = e.az("rest", "--method", "post", "--url",
                        f"{e.url}{pol}/initiate?api-version=2020-01-01", "--body", "@-",
                        body=json.dumps(req))
    t.ok(rc != 0 and "Forbidden" in err and "AuthorizationFailed" in err and
         "The client 'auditor'" in err and f"perform action '{INITIATE}'" in err,
         "the Reader's initiate: az prints jitgate's 403 and its message", rc, out, err)

    # -- revoking the Reader's secret stops az at once (its token is still cached) --
    st, _, _ = e.api("DELETE", f"{PRINCIPALS}/auditor/clientSecrets/{reader['id']}")
    rc, out, err = e.az("rest", "--method", "get", "--url",
                        f"{e.url}/providers/Jitgate/whoami?api-version=2020-01-01")
    t.ok(st == 200 and rc != 0 and "Unauthorized" in err and "AuthenticationFailed" in err,
         "after its secret is revoked, the Reader's cached access token is refused", st, out,
         err)
    logs = e.srv.log() + open(os.path.join(e.tmp, "az.log")).read()
    t.ok(bot["secret"] not in logs and reader["secret"] not in logs,
         "no client secret in jitgated's log or az's output")


def main():
    tap, rc = nh.main("usage: test_az.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft", "az"), Net, AzE2E, scenarios)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
