#!/usr/bin/env python3
"""The web console in a real browser: Debian's chromium, driven by playwright-core
(console.mjs), against a real jitgated, a real jitgate-agent and a real sshd.

Usage: test_browser.py PATH/TO/jitgated PATH/TO/jitgate-agent     (TAP on stdout)
Screenshots (every page at 1280 and 390 px) go to $JITGATE_BROWSER_OUT
(build/meson-logs/browser/ from meson).

Two network namespaces joined by a veth pair (netns_harness.py builds, runs and tears
them down, also on failure):

  cp  10.84.0.1 ---------------- 10.84.0.2  vm
  jitgated :8443, chromium,                  sshd :22, jitgate-agent (enforcing here)
  console.mjs and this script

The browser runs in "cp", so "My IP" is 10.84.0.1 and console.mjs's TCP connects to
10.84.0.2:22 come from that address. This script builds the world (the agent enrolled
for vm1, vm2 enrolled without an agent, legacy with no enforcement point, a Reader
and a JIT requester scoped to vm1 with their tokens) and runs console.mjs, whose
results (one JSON line each) become TAP points here. Without root the file is skipped;
as root, a missing chromium or node_modules is a failure saying how to install them
(`make test` does).
"""
import json
import os
import shutil
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import netns_harness as nh  # noqa: E402

RG = "rg-console"
CP_ADDR = "10.84.0.1"
VM_ADDR = "10.84.0.2"
CHROMIUM = os.environ.get("JITGATE_CHROMIUM", "/usr/bin/chromium")


class Net(nh.Net):
    NAMES = ("cp", "vm")
    PREFIX = "jgb"
    TMP_PREFIX = "jitgate-browser."

    def links(self):
        self.run("vm", "ip", "link", "add", "cp0", "type", "veth", "peer", "name", "vm0",
                 "netns", self.ns["cp"], check=True)
        self.run("cp", "ip", "addr", "add", f"{CP_ADDR}/24", "dev", "vm0", check=True)
        self.run("vm", "ip", "addr", "add", f"{VM_ADDR}/24", "dev", "cp0", check=True)
        self.run("cp", "ip", "link", "set", "vm0", "up", check=True)
        self.run("vm", "ip", "link", "set", "cp0", "up", check=True)


class E2E(nh.E2E):
    RG = RG
    CP_ADDR = CP_ADDR
    AGENT_NS = "vm"
    EP_NAME = "ep-vm1"
    LOGS = ("agent.log", "jitgated/jitgated.log", "sshd.log", "console.log")

    def setup(self):
        self.make_ssh_keys()
        self.start_sshd("vm", "sshd_config", (22,), f"{self.tmp}/sshd.pid", "sshd.log")
        self.start_jitgated()
        self.wait_up(lambda: self.tcp("cp", VM_ADDR, 22), "sshd did not come up")

    def vm(self, name):
        return f"{self.rgp}/providers/Microsoft.Compute/virtualMachines/{name}"

    def world(self):
        t = self.tap
        _, token_file = self.enrollment_token()
        self.agent = self.net.popen("vm", self.agent_argv() + [
            "--vm-name", "vm1", "--name", "ep-vm1", "--address", VM_ADDR,
            "--enroll-token", token_file], "agent.log")
        ep = self.wait_in_sync()
        t.ok(ep is not None, "the agent enrolls and reports", self.agent_text())
        if ep is None:
            raise RuntimeError("the agent did not come up")
        # vm2: an enforcement point enrolled over the API (no agent runs for it).
        st, tok, _ = self.api("POST", f"{self.rgp}/providers/Jitgate/enrollmentTokens", {})
        st, body, _ = self.srv.request("POST", "/agent/v1/enroll", {
            "enrollmentToken": tok["token"], "name": "ep-vm2", "kind": "host",
            "vm": {"name": "vm2", "osType": "Windows", "addresses": ["10.84.0.3"]}},
            token=None, api_version=None)
        t.ok(st == 200, "vm2 is enrolled without an agent", st, body)
        st, body, _ = self.api("PUT", self.vm("legacy"), {"properties": {"osType": "Linux",
                                                                          "addresses": ["10.84.0.4"]}})
        t.ok(st == 201, "a VM without an enforcement point (Unsupported)", st, body)
        tokens = {}
        for who, role, scope in (("rita", "Reader", f"/subscriptions/{self.sub}"),
                                 ("jan", "JIT Network Access Requester", self.vm("vm1"))):
            self.api("PUT", f"/providers/Jitgate/principals/{who}",
                     {"properties": {"kind": "User", "displayName": who.title()}})
            st, a, _ = self.api("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/"
                                f"{uuid.uuid4()}", {"properties": {"roleDefinitionId": role,
                                                                   "principalId": who}})
            st2, tk, _ = self.api("POST", f"/providers/Jitgate/principals/{who}/tokens",
                                  {"name": "console test"})
            t.ok(st == 201 and st2 == 201, f"{who}: {role} at {scope.split('/')[-1]}", a, tk)
            tokens[who] = tk["token"]
        return tokens

    def run_console(self, tokens):
        out = os.environ.get("JITGATE_BROWSER_OUT") or os.path.join(self.tmp, "shots")
        os.makedirs(out, exist_ok=True)
        cfg = {
            "url": f"https://{CP_ADDR}:{nh.PORT}",
            "otherOrigin": f"https://127.0.0.1:{nh.PORT}",
            "ca": os.path.join(self.srv.state_dir, "tls", "cert.pem"),
            "chromium": CHROMIUM, "root": os.geteuid() == 0, "out": out,
            "admin": self.srv.admin_token, "reader": tokens["rita"], "requester": tokens["jan"],
            "sub": self.sub, "rg": self.rgp, "vmAddr": VM_ADDR, "myIp": CP_ADDR,
            "vm1": self.vm("vm1"), "vm2": self.vm("vm2"), "legacy": self.vm("legacy"),
            "profile": os.path.join(self.tmp, "chromium-profile"),
        }
        path = os.path.join(self.tmp, "console.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=cfg["ca"], HOME=self.tmp,
                   PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        log = open(os.path.join(self.tmp, "console.log"), "w")
        p = subprocess.Popen(["node", os.path.join(HERE, "console.mjs"), path], cwd=HERE,
                             stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        results = 0
        for line in p.stdout:
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                results += 1
                self.tap.ok(r["ok"], r["desc"], *([r["details"]] if r.get("details") else []))
            else:
                print("# " + line.rstrip(), flush=True)
        rc = p.wait(timeout=600)
        log.close()
        self.tap.ok(rc == 0 and results > 0, f"console.mjs ran to the end (exit {rc})",
                    open(os.path.join(self.tmp, "console.log")).read()[-3000:])
        self.tap.diag(f"screenshots: {out}")


def check_browser():
    """As root everything else is ours to provide: missing pieces fail, saying how."""
    problems = []
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"{CHROMIUM} is missing (sh scripts/deps.sh test installs chromium)")
    if shutil.which("node") is None:
        problems.append("node is missing (sh scripts/deps.sh test)")
    for m in ("playwright-core/package.json", "axe-core/axe.min.js"):
        if not os.path.exists(os.path.join(HERE, "node_modules", m)):
            problems.append(f"tests/browser/node_modules/{m} is missing "
                            "(sh tests/browser/install.sh runs npm ci; make test does)")
    if problems:
        print("1..1")
        print("not ok 1 - the browser test's prerequisites")
        for p in problems:
            print(f"#   {p}")
        sys.exit(1)


def scenarios(e2e):
    tokens = e2e.world()
    e2e.run_console(tokens)


def main():
    tap, rc = nh.main("usage: test_browser.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft", "ssh-keygen", "unshare", "mount"), Net, E2E, scenarios,
                      before=check_browser)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
