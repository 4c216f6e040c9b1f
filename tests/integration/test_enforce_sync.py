#!/usr/bin/env python3
"""The agent's incremental apply, drift repair and restart, against real nftables.

Usage: test_enforce_sync.py PATH/TO/jitgated PATH/TO/jitgate-agent      (TAP on stdout)

Three network namespaces joined by veth pairs:

  cp  10.88.0.1 ---- 10.88.0.2  vm  10.88.1.1 ---- client 10.88.1.2
  jitgated :8443                jitgate-agent, a TCP server on 10050

Scenarios (issue 15):
(1) a diff that adds, removes and changes end times applies exactly: after each change
    the table's grant elements are compared with the grants the test asked for (keys
    and kernel timeouts), and the agent's log shows an update of exactly the changed
    elements, not a rebuild;
(2) drift: the table deleted, an element deleted, a foreign element added to our set
    (each with the nft command, as an operator would) is noticed from the ruleset event,
    repaired, and reported to jitgated (the enforcement point's status message);
(3) a restart of the agent with 10,000 grants drops no live grant: a client with one of
    them connects throughout the restart without a single failed attempt, and the table
    holds every grant afterwards.
Nothing touches the host's network or firewall; all is torn down at the end (also on
failure and signals). Without root, ip netns or nftables the file is skipped.
"""
import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns_harness as nh  # noqa: E402
from netns_harness import PROBE  # noqa: E402

CP_ADDR, VM_CP_ADDR = "10.88.0.1", "10.88.0.2"
VM4, CL4 = "10.88.1.1", "10.88.1.2"
PORTS = list(range(10000, 10100))     # the policy's ports: 100 of them
SERVED = 10050                        # a TCP server listens here in vm


class Net(nh.Net):
    NAMES = ("cp", "vm", "cl")
    PREFIX = "jgs"
    TMP_PREFIX = "jitgate-sync."

    def links(self):
        cp, cl = self.ns["cp"], self.ns["cl"]
        steps = [
            ("vm", "ip", "link", "add", "cp0", "type", "veth", "peer", "name", "vm0", "netns", cp),
            ("vm", "ip", "link", "add", "cl0", "type", "veth", "peer", "name", "eth0", "netns", cl),
            ("cp", "ip", "addr", "add", f"{CP_ADDR}/24", "dev", "vm0"),
            ("vm", "ip", "addr", "add", f"{VM_CP_ADDR}/24", "dev", "cp0"),
            ("vm", "ip", "addr", "add", f"{VM4}/24", "dev", "cl0"),
            ("cl", "ip", "addr", "add", f"{CL4}/24", "dev", "eth0"),
        ]
        for ns, *cmd in steps:
            self.run(ns, *cmd, check=True)
        for ns, dev in (("cp", "vm0"), ("vm", "cp0"), ("vm", "cl0"), ("cl", "eth0")):
            self.run(ns, "ip", "link", "set", dev, "up", check=True)


class Sync(nh.E2E):
    RG = "rg-sync"
    CP_ADDR = CP_ADDR
    AGENT_NS = "vm"
    EP_NAME = "ep-sync"
    JUSTIFICATION = "sync"
    LOGS = ("agent.log", "jitgated/jitgated.log")
    # 100 initiates in a few seconds for the 10,000 grants: past the default rate limit.
    JITGATED_ARGS = ("--initiate-limit", "0")

    def __init__(self, *a):
        super().__init__(*a)
        self.want = {}     # (source, port) -> end (epoch seconds): the live grants

    def start_agent(self, token_file=None):
        cmd = self.agent_argv() + ["--vm-name", "vm1", "--name", self.EP_NAME,
                                   "--address", VM4, "--log-level", "debug"]
        if token_file:
            cmd += ["--enroll-token", token_file]
        self.agent = self.net.popen("vm", cmd, "agent.log")

    def vm_id(self):
        return f"{self.rgp}/providers/Microsoft.Compute/virtualMachines/vm1"

    def setup(self):
        self.net.popen("vm", PROBE + ["serve-tcp", SERVED], "servers.log")
        self.start_jitgated()

    # -- helpers --

    def grants(self, ports, seconds):
        """Initiates [(port, source)] until now + seconds (one request per batch of
        distinct ports, as a request names each port once); records them as wanted."""
        todo = list(ports)
        while todo:
            batch, seen = [], set()
            for p, src in list(todo):
                if p not in seen:
                    seen.add(p)
                    batch.append((p, src))
                    todo.remove((p, src))
            st, body, _, end = self.initiate_vm(self.vm_id(), batch, seconds)
            if st != 202:
                raise RuntimeError(f"initiate: {st} {body}")
            for p, src in batch:
                self.want[(src, p)] = end

    def revoke(self, ports):
        body = {"virtualMachines": [{"id": self.vm_id(), "ports": [
            {"number": p, "allowedSourceAddressPrefix": src} for p, src in ports]}]}
        st, resp, _ = self.api("POST", self.pol() + "/revoke", body)
        if st != 200:
            raise RuntimeError(f"revoke: {st} {resp}")
        for p, src in ports:
            self.want.pop((src, p), None)

    def kernel_grants(self):
        """{(source, port): seconds left} over grants4 and nets4, or None without a table."""
        r = self.net.run("vm", "nft", "-j", "list", "table", "inet", "jitgate", timeout=60)
        if r.returncode != 0:
            return None
        out = {}
        for o in json.loads(r.stdout)["nftables"]:
            s = o.get("set")
            if not s or s["name"] not in ("grants4", "nets4"):
                continue
            for e in s.get("elem", []):
                src, _proto, port = e["elem"]["val"]["concat"]
                if isinstance(src, dict):
                    src = f"{src['prefix']['addr']}/{src['prefix']['len']}"
                    if s["name"] != "nets4":
                        src = "prefix in the hash set: " + src
                elif s["name"] != "grants4":
                    src = "address in the interval set: " + src
                out[(src, port)] = e["elem"].get("expires")
        return out

    def table_matches(self, what):
        """The table's grants are exactly self.want, each timing out at its end (the
        kernel counts whole seconds, rounded down; a few seconds of slack for the apply)."""
        got = self.kernel_grants()
        if got is None:
            return self.tap.ok(False, f"{what}: table inet jitgate exists")
        now = time.time()
        problems = [f"missing {k}" for k in self.want if k not in got]
        problems += [f"not wanted {k}" for k in got if k not in self.want]
        for k, end in self.want.items():
            if k in got and not (end - now - 4 <= got[k] <= end - now + 1):
                problems.append(f"{k}: {got[k]} s left, want {end - now:.0f}")
        return self.tap.ok(not problems, f"{what}: the table holds exactly the {len(self.want)} "
                           "wanted grants, each with its own timeout", problems[:10])

    def applied_line(self, since):
        m = self.wait_log(r"event=applied [^\n]*", since, 20)
        return m.group(0) if m else ""

    # -- scenarios --

    def enroll(self):
        t = self.tap
        _, token_file = self.enrollment_token()
        self.start_agent(token_file)
        ep = self.wait_in_sync()
        if not t.ok(ep is not None, "the agent enrolls and applies", self.agent_text()):
            raise RuntimeError("the agent did not come up")
        ports = [{"number": p, "protocol": "TCP", "allowedSourceAddressPrefix": "10.0.0.0/8",
                  "maxRequestAccessDuration": "PT3H"} for p in PORTS]
        mark = self.log_mark()
        st, body, _ = self.api("PUT", self.pol(), {"properties": {"virtualMachines": [
            {"id": self.vm_id(), "ports": ports}]}})
        if st not in (200, 201):
            raise RuntimeError(f"PUT policy: {st} {body}")
        t.ok(self.wait_in_sync() is not None, "the policy's 100 ports are applied")
        line = self.applied_line(mark)
        t.ok("mode=update" in line and "operations=100 " in line,
             "locking 100 ports is an update of 100 elements", line)

    def scenario1_diff(self):
        t = self.tap
        t.diag("(1) a diff applies exactly: adds, removes, changed end times")
        self.grants([(10000, "10.1.0.1"), (10000, "10.1.0.2"), (10001, "10.2.0.0/24"),
                     (10002, "10.1.0.3"), (SERVED, CL4)], 900)
        t.ok(self.wait_in_sync() is not None, "five grants applied (two requests)")
        self.table_matches("after adding five")
        mark = self.log_mark()
        # remove one, move one end time, add one: 1 delete, 1 delete + 1 add, 1 add
        self.revoke([(10000, "10.1.0.2")])
        t.ok(self.wait_in_sync() is not None, "the revoke is applied")
        self.grants([(10002, "10.1.0.3")], 1800)
        t.ok(self.wait_in_sync() is not None, "the new end time is applied")
        self.grants([(10003, "10.1.0.4"), (10001, "10.4.0.0/16")], 600)
        t.ok(self.wait_in_sync() is not None, "two more grants are applied")
        self.table_matches("after a revoke, a new end time and two adds")
        lines = re.findall(r"event=applied [^\n]*", self.agent_text()[mark:])
        ops = [re.search(r"operations=(\d+)", x).group(1) for x in lines]
        t.ok(len(lines) == 3 and all("mode=update" in x for x in lines) and
             ops[:2] == ["1", "2"], "each change was an update of only its elements "
             "(revoke: 1 delete; new end: delete + add)", lines)
        # a prefix grant (interval set) removed, another one's end time moved
        mark = self.log_mark()
        self.revoke([(10001, "10.2.0.0/24")])
        t.ok(self.wait_in_sync() is not None, "the prefix revoke is applied")
        self.grants([(10001, "10.4.0.0/16")], 1200)
        t.ok(self.wait_in_sync() is not None, "the prefix's new end time is applied")
        self.table_matches("after a prefix revoke and a prefix's new end time")
        lines = re.findall(r"event=applied [^\n]*", self.agent_text()[mark:])
        t.ok(len(lines) == 2 and all("mode=update" in x for x in lines) and
             [re.search(r"operations=(\d+)", x).group(1) for x in lines] == ["1", "2"],
             "prefix elements are deleted and re-added in place too", lines)

    def drift_case(self, what, command, check):
        t = self.tap
        mark = self.log_mark()
        r = self.net.run("vm", "nft", *command)
        t.ok(r.returncode == 0, f"drift: {what} by hand", r.stderr)
        m = self.wait_log(r"event=drift_detected [^\n]*", mark, 10)
        t.ok(m is not None and "found_by=event" in m.group(0),
             f"drift ({what}): noticed from the ruleset event", m.group(0) if m else
             self.agent_text()[mark:])
        t.ok(self.wait_log(r"event=drift_repaired", mark, 10) is not None,
             f"drift ({what}): repaired")
        if check is not None:
            t.ok(check(m.group(0) if m else ""), f"drift ({what}): the log says what it found",
                 m.group(0) if m else "")
        self.table_matches(f"drift ({what}): after the repair")
        deadline = time.monotonic() + 10
        msg = ""
        while time.monotonic() < deadline:
            ep = self.ep()
            msg = (ep or {}).get("properties", {}).get("status", {}).get("message", "")
            if "repaired drift" in msg:
                break
            time.sleep(0.2)
        t.ok("repaired drift" in msg, f"drift ({what}): reported to jitgated at once", msg)

    def scenario2_drift(self):
        self.tap.diag("(2) drift: noticed, repaired, reported")
        self.drift_case("table deleted", ["delete", "table", "inet", "jitgate"],
                        lambda line: "deleted" in line)
        self.drift_case("an element deleted", ["delete", "element", "inet", "jitgate",
                                               "grants4", "{ 10.1.0.1 . tcp . 10000 }"],
                        lambda line: "1 elements missing" in line)
        self.drift_case("a foreign element added", ["add", "element", "inet", "jitgate",
                                                    "grants4",
                                                    "{ 10.9.9.9 . tcp . 10000 timeout 1h }"],
                        lambda line: "1 foreign" in line)
        self.drift_case("an element re-timed", ["delete", "element", "inet", "jitgate",
                                                "grants4", "{ 10.1.0.3 . tcp . 10002 }", ";",
                                                "add", "element", "inet", "jitgate", "grants4",
                                                "{ 10.1.0.3 . tcp . 10002 timeout 3h }"],
                        lambda line: "1 with another timeout" in line)

    def scenario3_restart(self):
        t = self.tap
        t.diag("(3) a restart with 10,000 grants drops no live grant")
        t0 = time.monotonic()
        for i in range(100):
            src = f"10.3.{i // 250}.{i % 250 + 1}"
            self.grants([(p, src) for p in PORTS], 3600)
        t.diag(f"10,000 grants initiated in {time.monotonic() - t0:.1f} s")
        t.ok(self.wait_in_sync(timeout=120) is not None, "10,000 more grants applied")
        self.table_matches("with 10,000 grants")
        probe = self.prober("cl", "closed", "tcp", VM4, SERVED, 40)
        first = probe.stdout.readline().strip()
        t.ok(first == "ready", "the client connects through its grant before the restart",
             first)
        mark = self.log_mark()
        rc = self.kill_agent(signal.SIGTERM)
        t.ok(rc == 0, "the agent stops on SIGTERM", rc)
        self.start_agent()
        line = self.applied_line(mark)
        t.ok("mode=rebuild" in line, "the restarted agent rebuilds its table once", line)
        ms = re.search(r"ms=([\d.]+)", line)
        t.diag(f"rebuild of {len(self.want)} grants after the restart: "
               f"{ms.group(1) if ms else '?'} ms")
        time.sleep(2)
        probe.send_signal(signal.SIGTERM)
        out, _ = probe.communicate(timeout=10)
        t.ok(out.strip() == "", "no connect attempt failed during the restart "
             "(the grant was never dropped)", out)
        t.ok(self.wait_in_sync() is not None, "in sync after the restart")
        self.table_matches("after the restart")


def scenarios(s):
    s.enroll()
    s.scenario1_diff()
    s.scenario2_drift()
    s.scenario3_restart()


def main():
    tap, rc = nh.main("usage: test_enforce_sync.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft"), Net, Sync, scenarios)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
