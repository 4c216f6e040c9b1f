#!/usr/bin/env python3
"""
Issue 20's access workflow, for real. (1) Extending running access: jitgated, an enrolled jitgate-agent and
sshd in network namespaces (test_agent_e2e.py's topology and harness). An ssh session is
open on a closeEstablishedOnExpiry port (so the end of its grant would cut it); the grant
is extended before its first end time; the session must survive past that end, new logins
must still work, and revoking afterwards must cut it (so the session would have been cut,
had the extension not re-timed the grant). An extension of access that is not running is
refused and changes nothing. (2) `jitgate ssh`, run in the client's namespace, requests
port 22 from its own address, waits until the agent applied it and becomes ssh: it logs
into the VM's sshd and exits with the remote command's status.

Needs root, ip, nft, ssh and sshd; skips itself ("1..0 # SKIP") otherwise. Every
namespace, rule and daemon is its own and is torn down, also on failure.
"""
import datetime as dt
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns_harness as nh  # noqa: E402
import test_agent_e2e as e2e_mod  # noqa: E402
from test_agent_e2e import CL4, CP_ADDR, RG, VM4, VM_CP_ADDR  # noqa: E402


def parse_iso(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


CLI = os.environ.get("JITGATE_CLI", "")


class Net(e2e_mod.Net):
    PREFIX = "jgx"
    TMP_PREFIX = "jitgate-access."


class Extend(e2e_mod.E2E):
    JUSTIFICATION = "extend-e2e"

    def extend(self, ports, seconds):
        end = time.time() + seconds
        body = {"virtualMachines": [{"id": self.vm_id(), "ports": [
            {"number": n, "endTimeUtc": nh.iso(end), "allowedSourceAddressPrefix": src}
            for n, src in ports]}], "justification": "more time"}
        st, resp, _ = self.api("POST", self.pol() + "/extend", body)
        return st, resp, end

    def requests(self):
        st, body, _ = self.api("GET", self.pol())
        return body["properties"].get("requests", []) if st == 200 else None

    def scenario_extend(self):
        t = self.tap
        st, body, _ = self.api("PUT", self.pol(), self.policy())
        t.ok(st in (200, 201) and self.wait_in_sync() is not None,
             "enable JIT (2222 closes established sessions at expiry)", st, body)
        t.ok(not self.ssh("cl", VM4, 2222), "locked: ssh on 2222 from client is dropped")

        t.diag("nothing running: an extension is refused and changes nothing")
        before = self.requests()
        st, body, _ = self.extend([(2222, CL4)], 30)
        t.ok(st == 409 and body["error"]["code"] == "Conflict" and
             "no active access to port 2222" in body["error"]["message"],
             "extend without running access: 409 Conflict saying so", st, body)
        t.ok(self.requests() == before, "the refused extension recorded no request")
        t.ok(not self.ssh("cl", VM4, 2222), "and opened nothing")

        t.diag("a grant of 8 s with an ssh session, extended to 30 s before it ends")
        st, body, _, first_end = self.initiate([(2222, CL4)], 8)
        t.ok(st == 202 and self.wait_in_sync() is not None, "initiate 2222 for 8 s", st, body)
        sess, ticks = self.session(2222, "extended")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.count(ticks) == 0:
            time.sleep(0.1)
        t.ok(self.count(ticks) > 0, "the ssh session on 2222 is up")
        st, body, new_end = self.extend([(2222, CL4)], 30)
        t.ok(st == 202, "extend answers 202", st, body)
        port = body["virtualMachines"][0]["ports"][0] if st == 202 else {}
        got_end = parse_iso(port["endTimeUtc"]) if "endTimeUtc" in port else 0
        t.ok(abs(got_end - new_end) < 2, "the new request ends at the extended time", port)
        t.ok(time.time() < first_end - 1 and self.wait_in_sync() is not None,
             "the agent applied the extension before the first end time")
        reqs = self.requests()
        old = [r for r in reqs if r.get("justification") == "extend-e2e"]
        t.ok(old and old[0]["virtualMachines"][0]["ports"][0].get("statusReason") ==
             "NewerRequestInitiated", "the running request is superseded by the extension", old)

        time.sleep(max(0.0, first_end + 5 - time.time()))
        a = self.count(ticks)
        time.sleep(2)
        t.ok(sess.poll() is None and self.count(ticks) > a,
             "5 s past the first end time the ssh session is still up and ticking")
        t.ok(self.ssh("cl", VM4, 2222), "past the first end time new logins on 2222 work")

        t.diag("control: revoking cuts the session (closeEstablishedOnExpiry)")
        st, body, _ = self.api("POST", self.pol() + "/revoke", {"virtualMachines": [
            {"id": self.vm_id(), "ports": [{"number": 2222, "allowedSourceAddressPrefix": CL4}]}]})
        t.ok(st == 200 and body.get("revokedPorts") == 1, "revoke 2222", st, body)
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and sess.poll() is None:
            time.sleep(0.2)
        t.ok(sess.poll() is not None, "after the revoke the session is cut")
        if sess.poll() is None:
            sess.kill()
        sess.wait()

    def cli(self, *args):
        """jitgate in the client's namespace, routed through the VM to jitgated."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp,
               "XDG_CONFIG_HOME": os.path.join(self.tmp, "xdg"),
               "JITGATE_SERVER": f"https://{CP_ADDR}:{nh.PORT}",
               "JITGATE_CA": os.path.join(self.srv.state_dir, "tls", "cert.pem"),
               "JITGATE_TOKEN": self.srv.admin_token}
        return subprocess.run(["ip", "netns", "exec", self.net.ns["cl"], CLI, *args],
                              env=env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    def scenario_ssh(self):
        t = self.tap
        t.diag("jitgate ssh: request 22 from my address, wait, exec ssh")
        for ns, cmd in (("vm", ("sysctl", "-qw", "net.ipv4.ip_forward=1")),
                        ("cl", ("ip", "route", "add", "10.89.0.0/24", "via", VM4)),
                        ("cp", ("ip", "route", "add", "10.89.1.0/24", "via", VM_CP_ADDR))):
            self.net.run(ns, *cmd, check=True)
        t.ok(not self.ssh("cl", VM4), "before: ssh on 22 from client is dropped")
        r = self.cli("ssh", "vm1", "-g", RG, "--port", "2200")
        t.ok(r.returncode == 1 and "port 2200 is not a JIT port of vm1" in r.stderr,
             "a port the policy does not configure: exit 1, saying so", r.returncode, r.stderr)
        ssh_args = self.ssh_argv(VM4)
        opts = ssh_args[1:ssh_args.index("-p")]   # -F, -i and -o ..., not -p or the host
        r = self.cli("ssh", "root@vm1", "-g", RG, "--justification", "jitgate ssh e2e", "--",
                     *opts, "echo logged-in-as-$(id -un)-on-$(hostname -I | tr -d ' '); exit 7")
        t.ok(r.returncode == 7, "jitgate ssh exits with ssh's status (the remote exit 7)",
             r.returncode, r.stdout, r.stderr)
        t.ok("logged-in-as-root-on-" in r.stdout and VM4 in r.stdout,
             "it logged into the VM's sshd as root", r.stdout, r.stderr)
        reqs = self.requests()
        mine = [q for q in reqs if q.get("justification") == "jitgate ssh e2e"]
        port = mine[0]["virtualMachines"][0]["ports"][0] if mine else {}
        left = parse_iso(port["endTimeUtc"]) - time.time() if port else 0
        t.ok(port.get("number") == 22 and port.get("allowedSourceAddressPrefix") == CL4 and
             port.get("status") == "Initiated", "the request: port 22 from my IP", port)
        t.ok(3500 < left <= 3600, "for the default hour (the policy's maximum is PT1H)", left)
        t.ok(self.ssh("cl", VM4), "the access stays open for plain ssh afterwards")


def scenarios(e):
    e.enroll()
    e.scenario_extend()
    e.scenario_ssh()


def main():
    if not CLI or not os.access(CLI, os.X_OK):
        nh.skip_all("JITGATE_CLI does not name the built jitgate")
    tap, rc = nh.main("usage: test_access_e2e.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft", "ssh", "ssh-keygen", "unshare", "mount"), Net, Extend,
                      scenarios)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
