#!/usr/bin/env python3
"""jitgate end to end through a gateway: jitgated, jitgate-agent --kind gateway, nftables
on the forward path, and a real OpenSSH on two VMs behind it, in network namespaces.

Usage: test_gateway_e2e.py PATH/TO/jitgated PATH/TO/jitgate-agent      (TAP on stdout)

Six network namespaces joined by veth pairs, "gw" in the middle, forwarding IPv4 and IPv6:

  cp      10.90.0.1 ------ 10.90.0.2   gw (ip_forward, jitgate-agent --kind gateway)
  jitgated :8443                       |
  (and this script)   client 10.90.1.2  fd90:1::2  ---- 10.90.1.1  fd90:1::1
                      other  10.90.2.2  fd90:2::2  ---- 10.90.2.1  fd90:2::1
                      vm1    10.90.11.2 fd90:11::2 ---- 10.90.11.1 fd90:11::1
                      vm2    10.90.12.2 fd90:12::2 ---- 10.90.12.1 fd90:12::1

client, other, vm1 and vm2 route everything through gw. vm1 and vm2 each run a real sshd
on 22 (in a private mount namespace) and TCP servers on 8080 (never locked); vm1 also on
7000. The VMs are registered with jitgated by PUT .../virtualMachines/{vm} and assigned to
the gateway's enforcement point; the gateway enforces for them on its forward hook, keyed
by destination address. jitgated runs in "cp" and this script moves itself there (setns)
after building the network, so it talks to jitgated over loopback; the agent reaches it
over the cp-gw link with TLS verified against jitgated's self-signed CA. Nothing touches
the host's own network, firewall or sshd, and all of it is torn down on success, failure
and signals. Without root, ip netns, nftables, OpenSSH or python3 the file is skipped.

Scenarios: (1) before JIT both VMs are reachable through the gateway; JIT on vm1 only locks
vm1:22 (and 7000) from every source, IPv4 and IPv6, while vm2:22 and vm1:8080 stay open;
(2) a grant for the client's address on vm1:22, open from the client within a second of
the 202, not from other, vm2 unchanged, closed again at the end time; (3) kill -9 of the
gateway agent during a grant: it still closes on time, and the restarted agent reconciles
(a grant superseded meanwhile leaves no stale element, read with nft -j inside gw), even
when restarted without --kind; (4) IPv6 through the gateway (enforcer_nft.c keys a
gateway's grants6 by IPv6 source . destination . protocol . port), then a /64 prefix and a
"*" source; (6) security finding 1: a principal with write and initiate on vm1 alone
cannot give vm1 vm2's address (403, and 409 naming vm2 for anyone), and its grant on vm1
does not open vm2:22; (5) the VMs' JIT state (Configured, NotConfigured, Unsupported without an
enforcement point) and the gateway's health as jitgated reports them. At the end the agent
and jitgated stop cleanly, --uninstall empties gw's ruleset, and neither log holds a
sanitizer report. Latencies and close times are printed as TAP comments.

The namespaces, jitgated in "cp", sshd, the probe loops, TAP and the teardown are
netns_harness.py's (shared with test_agent_e2e.py); this file holds the topology, the
host check and the scenarios.
"""
import os
import re
import signal
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns_harness as nh  # noqa: E402
from netns_harness import PROBE  # noqa: E402

RG = "rg-gw-e2e"
EP_NAME = "gw1"
CP_ADDR, GW_CP_ADDR = "10.90.0.1", "10.90.0.2"
# name: (namespace address v4, v6; the gateway's side v4, v6; gateway interface)
LINKS = {
    "cl": ("10.90.1.2", "fd90:1::2", "10.90.1.1", "fd90:1::1", "cl0"),
    "ot": ("10.90.2.2", "fd90:2::2", "10.90.2.1", "fd90:2::1", "ot0"),
    "vm1": ("10.90.11.2", "fd90:11::2", "10.90.11.1", "fd90:11::1", "vm1"),
    "vm2": ("10.90.12.2", "fd90:12::2", "10.90.12.1", "fd90:12::1", "vm2"),
}
CL4, CL6 = LINKS["cl"][0], LINKS["cl"][1]
OT4, OT6 = LINKS["ot"][0], LINKS["ot"][1]
VM1_4, VM1_6 = LINKS["vm1"][0], LINKS["vm1"][1]
VM2_4, VM2_6 = LINKS["vm2"][0], LINKS["vm2"][1]


# ---- namespaces ------------------------------------------------------------------------

class Net(nh.Net):
    """The six namespaces, their processes, and teardown."""

    NAMES = ("cp", "gw", "cl", "ot", "vm1", "vm2")
    PREFIX = "jgw"
    TMP_PREFIX = "jitgate-gw-e2e."

    def links(self):
        # Every veth is made inside gw, its peer moved straight into the other namespace:
        # no interface ever exists in the host's namespace.
        self.run("gw", "ip", "link", "add", "cp0", "type", "veth", "peer", "name", "gw0",
                 "netns", self.ns["cp"], check=True)
        self.run("gw", "ip", "addr", "add", f"{GW_CP_ADDR}/24", "dev", "cp0", check=True)
        self.run("cp", "ip", "addr", "add", f"{CP_ADDR}/24", "dev", "gw0", check=True)
        self.run("gw", "ip", "link", "set", "cp0", "up", check=True)
        self.run("cp", "ip", "link", "set", "gw0", "up", check=True)
        for ns, (a4, a6, g4, g6, dev) in LINKS.items():
            self.run("gw", "ip", "link", "add", dev, "type", "veth", "peer", "name", "eth0",
                     "netns", self.ns[ns], check=True)
            self.run("gw", "ip", "addr", "add", f"{g4}/24", "dev", dev, check=True)
            self.run("gw", "ip", "addr", "add", f"{g6}/64", "dev", dev, "nodad", check=True)
            self.run(ns, "ip", "addr", "add", f"{a4}/24", "dev", "eth0", check=True)
            self.run(ns, "ip", "addr", "add", f"{a6}/64", "dev", "eth0", "nodad", check=True)
            self.run("gw", "ip", "link", "set", dev, "up", check=True)
            self.run(ns, "ip", "link", "set", "eth0", "up", check=True)
            self.run(ns, "ip", "route", "add", "default", "via", g4, check=True)
            self.run(ns, "ip", "-6", "route", "add", "default", "via", g6, check=True)
        # Per-namespace sysctls: the host's forwarding settings are not touched.
        for key in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
            self.run("gw", "sysctl", "-q", "-w", key, check=True)


def host_view():
    """What of the host's own network this test could touch, read-only: its jitgate
    table, interfaces named like ours, forwarding. (Not the whole ruleset or link list:
    other software may change those meanwhile.)"""
    def out(*argv):
        r = subprocess.run(argv, capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else f"({' '.join(argv)}: {r.returncode})"
    ours = {"cp0", "gw0"} | {v[4] for v in LINKS.values()}
    links = re.findall(r"^\d+: ([^:@]+)", out("ip", "-o", "link"), re.M)
    return {"jitgate table": "table inet jitgate" in out("nft", "list", "tables").splitlines(),
            "links named like ours": sorted(set(links) & ours),
            "ip_forward": out("sysctl", "-n", "net.ipv4.ip_forward").strip(),
            "ipv6 forwarding": out("sysctl", "-n", "net.ipv6.conf.all.forwarding").strip()}


# ---- the test ------------------------------------------------------------------------------

class E2E(nh.E2E):
    RG = RG
    CP_ADDR = CP_ADDR
    AGENT_NS = "gw"
    EP_NAME = EP_NAME
    JUSTIFICATION = "gateway e2e"
    TCP_SECS = 1.5
    LOGS = ("agent.log", "jitgated/jitgated.log", "sshd.vm1.log", "sshd.vm2.log")
    WATCH_MUST_START_OPEN = True

    def __init__(self, *args):
        super().__init__(*args)
        self.latencies = []

    # -- helpers: processes --

    def start_agent(self, token_file=None):
        """With a token: enrolls as gateway EP_NAME. Without: a restart with neither --kind
        nor --name, so the kind must come from the enrollment kept in the state dir."""
        cmd = self.agent_argv() + ["--log-level", "debug"]
        if token_file:
            cmd += ["--kind", "gateway", "--name", EP_NAME, "--enroll-token", token_file]
        self.agent = self.net.popen("gw", cmd, "agent.log")

    # -- helpers: API --

    def vm_id(self, name):
        return f"{self.rgp}/providers/Microsoft.Compute/virtualMachines/{name}"

    def vm_jit(self, name):
        st, body, _ = self.api("GET", self.vm_id(name))
        return body["properties"].get("jit", {}) if st == 200 else {"status": st}

    def initiate(self, vm, ports, seconds):
        """ports: [(number, source)]; returns (status, body, wall time of the 202, end)."""
        return self.initiate_vm(self.vm_id(vm), ports, seconds)

    # -- helpers: traffic --

    def ssh(self, ns, addr, port=22):
        r = self.net.run(ns, *self.ssh_argv(addr, port), "cat", "/run/vm-name", timeout=20)
        return r.stdout.strip() if r.returncode == 0 else None

    def reach(self, *probes, secs=1.5):
        """TCP connects (ns, addr, port) run side by side: a list of booleans. Dropped
        connects each wait secs; in parallel they cost that once, so several checks fit
        well inside a short grant."""
        procs = [subprocess.Popen(["ip", "netns", "exec", self.net.ns[ns]] +
                                  nh.connect_argv("tcp", addr, port, secs),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
                 for ns, addr, port in probes]
        return [p.wait(timeout=secs + 20) == 0 for p in procs]

    def opens_quickly(self, what, ns, addr, port, vm, ports, seconds):
        """Initiates with a prober already dropped; checks the first connect is within 1 s."""
        t = self.tap
        opener = self.prober(ns, "open", "tcp", addr, port, 15)
        t.ok(self.prober_ready(opener), f"{what}: before the initiate the connects are dropped")
        st, body, t202, end = self.initiate(vm, ports, seconds)
        t.ok(st == 202, f"{what}: initiate answers 202", st, body)
        opened = self.prober_result(opener, 20)
        latency = None if opened is None else opened - t202
        if latency is not None:
            self.latencies.append((what, latency))
            # Below zero: the gateway applied before this script had read the 202.
            t.diag(f"{what}: latency from the 202 to the first TCP connect through the "
                   f"gateway: {latency * 1000:.0f} ms")
        t.ok(latency is not None and latency <= 1.0,
             f"{what}: reachable within a second of the 202", latency)
        return end

    # -- helpers: the gateway's table, read-only --

    def check_table(self, what, grants4=(), grants6=()):
        """gw's table holds vm1's locked ports (only) and exactly these grant keys."""
        t = self.tap
        tbl = self.table()
        if not t.ok(tbl is not None, f"{what}: table inet jitgate exists in gw"):
            return
        t.ok(tbl["_chains"] == [("forward", "forward")],
             f"{what}: one base chain, on the forward hook", tbl["_chains"])
        t.ok(self.keys(tbl, "locked4") == [(VM1_4, "tcp", 22), (VM1_4, "tcp", 7000)],
             f"{what}: locked4 is vm1's IPv4 address . tcp . 22/7000 (no vm2 key)",
             tbl.get("locked4"))
        t.ok(self.keys(tbl, "locked6") == [(VM1_6, "tcp", 22), (VM1_6, "tcp", 7000)],
             f"{what}: locked6 is vm1's IPv6 address . tcp . 22/7000 (no vm2 key)",
             tbl.get("locked6"))
        t.ok(not tbl.get("closing4") and not tbl.get("closing6"),
             f"{what}: no closing keys", tbl.get("closing4"), tbl.get("closing6"))
        t.ok(self.grant_keys(tbl, 4) == sorted(grants4),
             f"{what}: IPv4 grants are exactly the live ones", self.grant_keys(tbl, 4))
        t.ok(self.grant_keys(tbl, 6) == sorted(grants6),
             f"{what}: IPv6 grants are exactly the live ones", self.grant_keys(tbl, 6))
        return tbl

    # -- setup --

    def setup(self):
        net = self.net
        self.make_ssh_keys()
        for vm in ("vm1", "vm2"):
            self.start_sshd(vm, f"sshd_config.{vm}", (22,), "/run/sshd.pid", f"sshd.{vm}.log",
                            vm_name=vm)
            net.popen(vm, PROBE + ["serve-tcp", 8080], f"servers.{vm}.log")
        net.popen("vm1", PROBE + ["serve-tcp", 7000], "servers.vm1.log")

        self.start_jitgated()
        self.wait_up(lambda: (self.ssh("cl", VM1_4) and self.ssh("cl", VM2_4) and
                              self.tcp("cl", VM1_4, 8080) and self.tcp("cl", VM1_4, 7000)),
                     "sshd or the test servers did not come up behind the gateway")

    # -- scenarios --

    def enroll(self):
        t = self.tap
        t.diag("enrollment: the gateway agent trades a one-time token for its credential")
        _, token_file = self.enrollment_token()
        self.start_agent(token_file)
        ep = self.wait_in_sync()
        t.ok(ep is not None, "the gateway agent enrolls, applies and reports (inSync)",
             self.agent_text())
        if ep is None:
            raise RuntimeError("the gateway agent did not come up")
        t.ok(ep["id"].lower() == self.ep_id().lower() and ep["properties"]["kind"] == "gateway",
             "the enforcement point is a gateway", ep)
        t.ok(re.search(r"event=enrolled .*kind=gateway", self.agent_text()) is not None,
             "the agent logs its enrollment as a gateway", self.agent_text())
        caps = self.agent_status()
        t.ok(int(caps["CapEff"], 16) == 1 << 12 and caps["NoNewPrivs"].strip() == "1",
             "the gateway agent holds CAP_NET_ADMIN only, no_new_privs",
             {k: caps[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs")})

    def register_vms(self):
        t = self.tap
        t.diag("the VMs behind the gateway: PUT .../virtualMachines/{vm} with enforcementPoint")
        for vm in ("vm1", "vm2"):
            a4, a6 = LINKS[vm][0], LINKS[vm][1]
            st, body, _ = self.api("PUT", self.vm_id(vm), {"properties": {
                "osType": "Linux", "addresses": [a4, a6], "enforcementPoint": self.ep_id()}})
            t.ok(st in (200, 201) and
                 body["properties"]["enforcementPoint"].lower() == self.ep_id().lower(),
                 f"{vm} is assigned to the gateway", st, body)
        # A VM with no enforcement point at all, for the Unsupported state.
        st, body, _ = self.api("PUT", self.vm_id("vm3"), {"properties": {
            "osType": "Linux", "addresses": ["10.90.13.2"]}})
        t.ok(st in (200, 201), "vm3 is registered without an enforcement point", st, body)
        t.ok(self.wait_in_sync() is not None, "the gateway is in sync after the assignment")
        tbl = self.table()
        t.ok(tbl is not None and not tbl.get("locked4") and not tbl.get("locked6"),
             "before JIT the gateway's table locks nothing", tbl)

    def scenario5_states(self, when):
        """(5) VM JIT states and the gateway's health; `when` is "before" or "after" JIT."""
        t = self.tap
        t.diag(f"scenario 5 ({when} JIT on vm1): the VMs' JIT state and the gateway's health")
        j1, j2, j3 = self.vm_jit("vm1"), self.vm_jit("vm2"), self.vm_jit("vm3")
        want1 = "Configured" if when == "after" else "NotConfigured"
        t.ok(j1.get("state") == want1, f"{when}: vm1 is {want1}", j1)
        t.ok(j2.get("state") == "NotConfigured", f"{when}: vm2 is NotConfigured", j2)
        t.ok(j3.get("state") == "Unsupported" and
             "missing network security group" in j3.get("reason", ""),
             f"{when}: vm3 (no enforcement point) is Unsupported, missing network security "
             "group", j3)
        t.ok(j1.get("enforcementPointHealthy") is True and
             j2.get("enforcementPointHealthy") is True,
             f"{when}: vm1 and vm2 see their enforcement point healthy", j1, j2)
        if when == "after":
            t.ok(j1.get("policy", "").lower() == self.pol().lower(),
                 "after: vm1 names its policy", j1)
            ports = [p["number"] for p in j1.get("connection", {}).get("ports", [])]
            t.ok(sorted(ports) == [22, 7000], "after: vm1's JIT ports are 22 and 7000", j1)
        st, body, _ = self.api("GET", f"{self.rgp}/providers/Microsoft.Compute/virtualMachines",
                               None)
        states = {v["name"]: v["properties"].get("jit", {}).get("state")
                  for v in (body or {}).get("value", [])}
        t.ok(states == {"vm1": want1, "vm2": "NotConfigured", "vm3": "Unsupported"},
             f"{when}: the VM list agrees", states)
        ep = self.ep() or {}
        props = ep.get("properties", {})
        status = props.get("status", {})
        gw_addrs = {GW_CP_ADDR} | {LINKS[k][2] for k in LINKS}
        t.ok(status.get("healthy") is True and
             status.get("capabilities", {}).get("nftables") is True and
             props.get("inSync") is True,
             f"{when}: the gateway reports healthy, nftables true, in sync", props)
        t.ok(gw_addrs <= set(status.get("addresses", [])),
             f"{when}: the gateway reports its own addresses", status.get("addresses"))

    def policy(self):
        prefixes = ["10.90.0.0/16", "fd90::/16"]
        return {"kind": "Basic", "properties": {"virtualMachines": [{
            "id": self.vm_id("vm1"), "ports": [
                {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefixes": prefixes,
                 "maxRequestAccessDuration": "PT1H"},
                {"number": 7000, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                 "maxRequestAccessDuration": "PT1H"}]}]}}

    def scenario1_lock(self):
        t = self.tap
        t.diag("scenario 1: both VMs reachable through the gateway; JIT on vm1 only")
        for ns in ("cl", "ot"):
            for vm, a4, a6 in (("vm1", VM1_4, VM1_6), ("vm2", VM2_4, VM2_6)):
                t.ok(self.ssh(ns, a4) == vm and self.ssh(ns, a6) == vm,
                     f"before: ssh from {ns} to {vm} works (IPv4 and IPv6)")
        st, body, _ = self.api("PUT", self.pol(), self.policy())
        t.ok(st in (200, 201), "enable JIT on vm1 (22, 7000): PUT policy", st, body)
        t.ok(self.wait_in_sync() is not None, "the gateway applied the policy (inSync)")
        t.ok(self.ssh("cl", VM1_4) is None, "locked: ssh from client to vm1 is dropped")
        t.ok(self.ssh("ot", VM1_4) is None, "locked: ssh from other to vm1 is dropped")
        t.ok(self.reach(("cl", VM1_6, 22), ("ot", VM1_6, 22)) == [False, False],
             "locked: vm1:22 over IPv6 is dropped from client and other")
        t.ok(self.reach(("cl", VM1_4, 7000), ("cl", VM1_6, 7000)) == [False, False],
             "locked: vm1:7000 is dropped (IPv4 and IPv6)")
        t.ok(self.ssh("cl", VM2_4) == "vm2" and self.ssh("ot", VM2_4) == "vm2",
             "the destination key matters: ssh to vm2 still works from client and other")
        t.ok(self.ssh("cl", VM2_6) == "vm2" and self.ssh("ot", VM2_6) == "vm2",
             "and over IPv6")
        t.ok(all(self.reach(("cl", VM1_4, 8080), ("ot", VM1_4, 8080), ("cl", VM1_6, 8080),
                            ("ot", VM1_6, 8080))),
             "other ports of vm1 are unaffected: TCP 8080 from client and other, v4 and v6")
        self.check_table("locked")

    def scenario2_grant(self):
        t = self.tap
        t.diag("scenario 2: initiate vm1:22 for the client's address for 8 s")
        end = self.opens_quickly("IPv4 grant", "cl", VM1_4, 22, "vm1", [(22, CL4)], 8)
        # Everything below must fit in the grant's 7 whole seconds: read the table first,
        # and probe what should be dropped side by side.
        tbl = self.check_table("grant", grants4=[(CL4, VM1_4, "tcp", 22)])
        timeouts = [to for _, to in (tbl or {}).get("grants4", [])]
        t.ok(len(timeouts) == 1 and timeouts[0] is not None and 0 < timeouts[0] <= 8,
             "grant: the element carries a kernel timeout within the 8 s", timeouts)
        t.ok(self.ssh("cl", VM1_4) == "vm1", "grant: ssh from client reaches vm1")
        dropped = self.reach(("ot", VM1_4, 22), ("cl", VM1_6, 22), ("cl", VM1_4, 7000),
                             ("ot", VM2_4, 22), ("cl", VM2_4, 22))
        t.ok(not dropped[0], "grant: vm1:22 from other is still dropped")
        t.ok(not dropped[1], "grant: vm1:22 over IPv6 from client is dropped (IPv4 grant)")
        t.ok(not dropped[2], "grant: vm1:7000 from client is still dropped")
        t.ok(dropped[3] and dropped[4],
             "grant: vm2's lock state is unchanged (22 reachable from client and other)")
        self.closes_on_time("IPv4 grant end", "cl", VM1_4, 22, end)
        t.ok(self.ssh("cl", VM1_4) is None, "after end: ssh from client to vm1 is dropped again")
        t.ok(self.ssh("ot", VM2_4) == "vm2", "after end: vm2 still reachable")
        self.check_table("after the grant")

    def scenario3_agent_killed(self):
        t = self.tap
        t.diag("scenario 3: kill -9 the gateway agent during a grant; "
               "a newer request while it is dead")
        st, _, _, end = self.initiate("vm1", [(22, CL4), (7000, CL4)], 10)
        t.ok(st == 202, "initiate vm1:22 (10 s) and vm1:7000 (10 s) for client")
        t.ok(self.wait_in_sync() is not None and self.tcp("cl", VM1_4, 22), "grant: 22 open")
        # A longer grant on 7000 that becomes stale: superseded while the agent is dead.
        st, _, _, _ = self.initiate("vm1", [(7000, CL4)], 120)
        t.ok(st == 202 and self.wait_in_sync() is not None and self.tcp("cl", VM1_4, 7000),
             "a 120 s grant on vm1:7000 is applied")
        self.kill_agent(signal.SIGKILL)
        r = self.reach(("cl", VM1_4, 22), ("ot", VM1_4, 22), ("ot", VM2_4, 22))
        t.ok(r[0], "gateway agent killed (-9): the grant stays in force")
        t.ok(not r[1] and r[2], "agent dead: vm1 still locked for other, vm2 still open")
        st, _, _, stale_end = self.initiate("vm1", [(7000, CL4)], 3)
        t.ok(st == 202, "while the agent is dead, a newer 3 s request supersedes the 120 s one")
        self.closes_on_time("agent dead", "cl", VM1_4, 22, end)
        time.sleep(max(0.0, stale_end + 0.5 - time.time()))
        t.ok(self.tcp("cl", VM1_4, 7000),
             "with no agent the superseded 120 s element is still in the kernel (stale)")
        tbl = self.table() or {}
        t.ok(self.keys(tbl, "grants4") == [(CL4, VM1_4, "tcp", 7000)],
             "the stale element is the only grant left in gw's table", tbl.get("grants4"))
        mark = self.log_mark()
        t0 = time.monotonic()
        self.start_agent()
        m = self.wait_log(r"event=applied version=\d+ source=server", mark, 15)
        if m is not None:
            t.diag(f"restart to reconciled apply: {time.monotonic() - t0:.2f} s")
        t.ok(m is not None, "restart (no --kind): the agent reconciles with jitgated's state",
             self.agent_text()[mark:])
        t.ok(re.search(r"event=nftables_ok kind=gateway", self.agent_text()[mark:]) is not None,
             "restart: the kind is the enrollment's (gateway), not the default host",
             self.agent_text()[mark:])
        t.ok(not self.tcp("cl", VM1_4, 7000), "restart: the stale grant on vm1:7000 is gone")
        self.check_table("after agent restart")
        t.ok(self.wait_in_sync() is not None, "restart: in sync again")
        t.ok(self.ssh("ot", VM2_4) == "vm2" and self.ssh("cl", VM1_4) is None,
             "restart: vm2 open, vm1:22 locked")

    def scenario4_ipv6(self):
        t = self.tap
        t.diag("scenario 4: IPv6 through the gateway (grants6: source . destination . "
               "protocol . port)")
        end = self.opens_quickly("IPv6 grant", "cl", VM1_6, 22, "vm1", [(22, CL6)], 8)
        self.check_table("IPv6 grant", grants6=[(CL6, VM1_6, "tcp", 22)])
        t.ok(self.ssh("cl", VM1_6) == "vm1", "IPv6 grant: ssh from client over IPv6 reaches vm1")
        r = self.reach(("ot", VM1_6, 22), ("cl", VM1_4, 22), ("ot", VM2_6, 22))
        t.ok(not r[0], "IPv6 grant: vm1:22 from other over IPv6 is dropped")
        t.ok(not r[1], "IPv6 grant: vm1:22 over IPv4 from client is dropped (IPv6 grant)")
        t.ok(r[2], "IPv6 grant: vm2 unchanged over IPv6")
        self.closes_on_time("IPv6 grant end", "cl", VM1_6, 22, end)
        t.ok(self.ssh("cl", VM1_6) is None, "after end: ssh over IPv6 to vm1 is dropped again")

        t.diag("scenario 4b: a /64 prefix grant and a '*' source through the gateway")
        st1, b1, _, end = self.initiate("vm1", [(22, "fd90:1::/64")], 20)
        st2, b2, _, _ = self.initiate("vm1", [(7000, "*")], 20)
        t.ok(st1 == 202 and st2 == 202, "initiate vm1:22 from fd90:1::/64 and vm1:7000 from *",
             b1, b2)
        t.ok(self.wait_in_sync() is not None, "applied")
        r = self.reach(("cl", VM1_6, 22), ("ot", VM1_6, 22), ("cl", VM1_4, 7000),
                       ("ot", VM1_4, 7000), ("ot", VM1_6, 7000))
        t.ok(r[0] and not r[1], "/64: vm1:22 over IPv6 from client works, from other it is "
             "dropped", r[:2])
        t.ok(all(r[2:]), "'*': vm1:7000 from client and other, v4 and v6", r[2:])
        self.check_table("prefix and '*'",
                         grants4=[("0.0.0.0/0", VM1_4, "tcp", 7000)],
                         grants6=[("::/0", VM1_6, "tcp", 7000),
                                  ("fd90:1::/64", VM1_6, "tcp", 22)])
        self.closes_on_time("prefix grant end", "cl", VM1_6, 22, end)
        # The two grants were applied apart: each closes by its end, not at the same instant.
        time.sleep(max(0.0, end + 0.5 - time.time()))
        t.ok(self.reach(("ot", VM1_4, 7000), ("cl", VM1_6, 7000)) == [False, False],
             "after end: vm1:7000 is dropped again")
        self.check_table("after the prefix grants")

    def scenario6_cross_vm(self):
        """(6) security finding 1 (docs/security.md): a principal with write and initiate on
        vm1 only gives vm1 vm2's addresses, then initiates on vm1, to reach vm2:22 whose
        policy allows only 10.9.9.0/24."""
        t, srv = self.tap, self.srv
        t.diag("scenario 6 (security finding 1): taking another VM's address behind the "
               "gateway")
        body = self.policy()
        body["properties"]["virtualMachines"].append({"id": self.vm_id("vm2"), "ports": [
            {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "10.9.9.0/24",
             "maxRequestAccessDuration": "PT1H"}]})
        st, b, _ = self.api("PUT", self.pol(), body)
        t.ok(st == 200 and self.wait_in_sync() is not None,
             "vm2 joins the policy, port 22 only from 10.9.9.0/24", st, b)
        t.ok(self.reach(("cl", VM2_4, 22), ("cl", VM2_6, 22)) == [False, False],
             "vm2:22 is locked for the client")
        rid = str(uuid.uuid4())
        vm1 = self.vm_id("vm1")
        st1, _, _ = srv.request("PUT", f"/providers/Microsoft.Authorization/roleDefinitions/{rid}",
                                {"properties": {"roleName": "vm1 operator", "permissions": [
                                    {"actions": ["Microsoft.Compute/virtualMachines/read",
                                                 "Microsoft.Compute/virtualMachines/write",
                                                 "Microsoft.Security/locations/"
                                                 "jitNetworkAccessPolicies/read",
                                                 "Microsoft.Security/locations/"
                                                 "jitNetworkAccessPolicies/initiate/action"]}],
                                    "assignableScopes": [vm1]}})
        st2, _, _ = srv.request("PUT", "/providers/Jitgate/principals/mallory", {})
        st3, _, _ = srv.request("PUT", f"{vm1}/providers/Microsoft.Authorization/roleAssignments/"
                                f"{uuid.uuid4()}", {"properties": {"roleDefinitionId": rid,
                                                                   "principalId": "mallory"}})
        st4, tok, _ = srv.request("POST", "/providers/Jitgate/principals/mallory/tokens",
                                  {"name": "m"})
        t.ok((st1, st2, st3, st4) == (201, 201, 201, 201),
             "mallory: a custom role at vm1 with VM write, read and initiate",
             (st1, st2, st3, st4))
        tok = (tok or {}).get("token")
        taken = {"properties": {"osType": "Linux", "addresses": [VM2_4, VM2_6],
                                "enforcementPoint": self.ep_id()}}
        st, b, _ = srv.request("PUT", vm1, taken, token=tok)
        t.ok(st == 403, "the attack: mallory giving vm1 vm2's addresses is refused (403: "
             "the join action on the gateway)", st, b)
        st, b, _ = srv.request("PUT", vm1, taken)
        t.ok(st == 409 and "vm2" in (b or {}).get("error", {}).get("message", ""),
             "nobody can: an Owner gets 409 naming vm2", st, b)
        st, b, _ = srv.request("GET", vm1)
        t.ok(st == 200 and b["properties"]["addresses"] == [VM1_4, VM1_6],
             "vm1 keeps its own addresses", b)
        end = time.time() + 30
        st, b, _ = srv.request("POST", self.pol() + "/initiate", {"virtualMachines": [
            {"id": vm1, "ports": [{"number": 22, "endTimeUtc": nh.iso(end),
                                   "allowedSourceAddressPrefix": CL4}]}]}, token=tok)
        t.ok(st == 202, "mallory initiates on vm1 for the client's address", st, b)
        t.ok(self.wait_in_sync() is not None, "the gateway applied it")
        r = self.reach(("cl", VM2_4, 22), ("cl", VM1_4, 22))
        t.ok(not r[0], "a real connection from the client to vm2:22 is still dropped")
        t.ok(r[1], "vm1:22 opens for the client (mallory's own grant)")
        tbl = self.table() or {}
        t.ok(self.keys(tbl, "grants4") == [(CL4, VM1_4, "tcp", 22)],
             "the gateway's only grant is for vm1's address", tbl.get("grants4"))
        st, b, _ = self.api("POST", self.pol() + "/revoke", {"virtualMachines": [
            {"id": vm1, "ports": [{"number": 22}]}]})
        t.ok(st == 200 and self.wait_in_sync() is not None and
             not self.reach(("cl", VM1_4, 22))[0], "revoked: vm1:22 locked again", st, b)

    def finish(self):
        t = self.tap
        t.diag("the end: SIGTERM keeps the gateway's table, --uninstall removes it")
        rc = self.kill_agent(signal.SIGTERM)
        t.ok(rc == 0, "SIGTERM: the gateway agent exits cleanly", rc)
        t.ok(self.table() is not None and not self.tcp("ot", VM1_4, 22),
             "after the agent stopped, the table stays and vm1:22 stays locked")
        r = self.net.run("gw", self.agent_bin, "--uninstall")
        t.ok(r.returncode == 0, "--uninstall in gw succeeds", r.stderr)
        t.ok(self.table() is None, "--uninstall: table inet jitgate is gone from gw")
        t.ok(self.ssh("ot", VM1_4) == "vm1", "--uninstall: ssh from other to vm1 works again")
        ruleset = self.net.run("gw", "nft", "list", "ruleset").stdout
        t.ok(ruleset.strip() == "", "nothing is left in gw's ruleset", ruleset)
        rc = self.srv.stop()
        t.ok(rc == 0, "SIGTERM: jitgated exits cleanly", rc)
        # In a sanitizer build (-Db_sanitize=address,undefined) reports land in the logs.
        bad = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")
        logs = {"agent.log": self.agent_text(), "jitgated.log": self.srv.log()}
        t.ok(not any(bad.search(v) for v in logs.values()),
             "no sanitizer report in the agent's or jitgated's log",
             *[f"{k}: {line}" for k, v in logs.items() for line in v.splitlines()
               if bad.search(line)])


def scenarios(e2e):
    e2e.enroll()
    e2e.register_vms()
    e2e.scenario5_states("before")
    e2e.scenario1_lock()
    e2e.scenario5_states("after")
    e2e.scenario2_grant()
    e2e.scenario3_agent_killed()
    e2e.scenario4_ipv6()
    e2e.scenario5_states("after")
    e2e.scenario6_cross_vm()
    e2e.finish()


def latency_summary(tap, e2e):
    if e2e is not None:
        for what, latency in e2e.latencies:
            tap.diag(f"latency summary: {what}: {latency * 1000:.0f} ms")


def main():
    host_before = []
    tap, rc = nh.main("usage: test_gateway_e2e.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft", "ssh", "ssh-keygen", "unshare", "mount", "sysctl"),
                      Net, E2E, scenarios, before=lambda: host_before.append(host_view()),
                      after_teardown=latency_summary)
    host_after = host_view()
    tap.ok(host_after == host_before[0] and not any(n.startswith(f"jgw{os.getpid()}-")
                                                    for n in os.listdir("/run/netns")),
           "the host's own firewall, links and forwarding are as they were; no namespace left",
           host_before[0], host_after)
    print(f"1..{tap.n}", flush=True)
    return 0 if tap.failed == 0 and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
