#!/usr/bin/env python3
"""jitgate end to end: jitgated, jitgate-agent, nftables and a real OpenSSH, in namespaces.

Usage: test_agent_e2e.py PATH/TO/jitgated PATH/TO/jitgate-agent      (TAP on stdout)

Four network namespaces joined by veth pairs:

  cp  10.89.0.1 ---- 10.89.0.2  vm  10.89.1.1 fd89:1::1 ---- client 10.89.1.2 fd89:1::2
  jitgated :8443                |   10.89.2.1 fd89:2::1 ---- other  10.89.2.2 fd89:2::2
  (and this script)             sshd :22 :2222, jitgate-agent, TCP 8080 (never locked),
                                UDP 5300, TCP+UDP 7000, and a user's own nftables table

This script moves itself into "cp" (setns) after building the network, so it talks to
jitgated over loopback there; the agent reaches jitgated through the cp-vm link with
TLS verification against jitgated's self-signed CA. Nothing touches the host's own
network, firewall or sshd: every interface, rule and daemon lives in these namespaces
(sshd also in a private mount namespace), and all of it is torn down on success,
failure and signals. Without root, ip netns, nftables, OpenSSH or python3 the whole
file is skipped ("1..0 # SKIP ...").

The scenarios are issue 4's: (1) locking, (2) a grant for one source, on time and
quickly, (3) kill -9 of the agent and of jitgated during a grant, then reconcile,
(4) prefix, IPv6, UDP and "*" grants, (5) established sessions at expiry, with and
without closeEstablishedOnExpiry, (6) a user's table left exactly as it was.
Timings (202 -> first connect, close vs end time) are printed as TAP comments.

The namespaces, jitgated in "cp", sshd, the probe loops, TAP and the teardown are
netns_harness.py's (shared with test_gateway_e2e.py); this file holds the topology and the
scenarios.
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns_harness as nh  # noqa: E402
from netns_harness import PROBE  # noqa: E402

RG = "rg-e2e"
CP_ADDR = "10.89.0.1"
VM_CP_ADDR = "10.89.0.2"
VM4, VM6 = "10.89.1.1", "fd89:1::1"          # the VM as the client sees it
VM4_OT, VM6_OT = "10.89.2.1", "fd89:2::1"    # the VM as "other" sees it
CL4, CL6 = "10.89.1.2", "fd89:1::2"
OT4, OT6 = "10.89.2.2", "fd89:2::2"


# ---- namespaces ------------------------------------------------------------------------

class Net(nh.Net):
    """The four namespaces, their processes, and teardown."""

    NAMES = ("cp", "vm", "cl", "ot")
    PREFIX = "jga"
    TMP_PREFIX = "jitgate-e2e."

    def links(self):
        vm, cp, cl, ot = self.ns["vm"], self.ns["cp"], self.ns["cl"], self.ns["ot"]
        steps = [
            ("vm", "ip", "link", "add", "cp0", "type", "veth", "peer", "name", "vm0", "netns", cp),
            ("vm", "ip", "link", "add", "cl0", "type", "veth", "peer", "name", "eth0", "netns", cl),
            ("vm", "ip", "link", "add", "ot0", "type", "veth", "peer", "name", "eth0", "netns", ot),
            ("cp", "ip", "addr", "add", f"{CP_ADDR}/24", "dev", "vm0"),
            ("vm", "ip", "addr", "add", f"{VM_CP_ADDR}/24", "dev", "cp0"),
            ("vm", "ip", "addr", "add", f"{VM4}/24", "dev", "cl0"),
            ("vm", "ip", "addr", "add", f"{VM6}/64", "dev", "cl0", "nodad"),
            ("vm", "ip", "addr", "add", f"{VM4_OT}/24", "dev", "ot0"),
            ("vm", "ip", "addr", "add", f"{VM6_OT}/64", "dev", "ot0", "nodad"),
            ("cl", "ip", "addr", "add", f"{CL4}/24", "dev", "eth0"),
            ("cl", "ip", "addr", "add", f"{CL6}/64", "dev", "eth0", "nodad"),
            ("ot", "ip", "addr", "add", f"{OT4}/24", "dev", "eth0"),
            ("ot", "ip", "addr", "add", f"{OT6}/64", "dev", "eth0", "nodad"),
        ]
        for ns, *cmd in steps:
            self.run(ns, *cmd, check=True)
        for ns, dev in (("cp", "vm0"), ("vm", "cp0"), ("vm", "cl0"), ("vm", "ot0"), ("cl", "eth0"),
                        ("ot", "eth0")):
            self.run(ns, "ip", "link", "set", dev, "up", check=True)


# ---- the test ------------------------------------------------------------------------------

class E2E(nh.E2E):
    RG = RG
    CP_ADDR = CP_ADDR
    AGENT_NS = "vm"
    EP_NAME = "ep-vm1"
    JUSTIFICATION = "e2e"
    TCP_SECS = 2
    LOGS = ("agent.log", "jitgated/jitgated.log", "sshd.log")

    # -- helpers: processes --

    def start_agent(self, token_file=None):
        cmd = self.agent_argv() + ["--vm-name", "vm1", "--name", "ep-vm1",
                                   "--log-level", "debug"]
        for a in (VM4, VM4_OT, VM6, VM6_OT):
            cmd += ["--address", a]
        if token_file:
            cmd += ["--enroll-token", token_file]
        self.agent = self.net.popen("vm", cmd, "agent.log")

    # -- helpers: API --

    def vm_id(self):
        return f"{self.rgp}/providers/Microsoft.Compute/virtualMachines/vm1"

    def initiate(self, ports, seconds):
        """ports: [(number, source)]; returns (status, body, wall time of the 202, end)."""
        return self.initiate_vm(self.vm_id(), ports, seconds)

    # -- helpers: traffic --

    def ssh(self, ns, addr, port=22):
        r = self.net.run(ns, *self.ssh_argv(addr, port), "true", timeout=20)
        return r.returncode == 0

    def udp(self, ns, addr, port, secs=1.5):
        return self.net.run(ns, *PROBE, "udp", addr, port, secs).returncode == 0

    # -- helpers: the table, read-only --

    def check_table(self, what, grants4=(), grants6=()):
        """The table matches the policy's locked ports and exactly these grant keys."""
        t = self.table()
        if not self.tap.ok(t is not None, f"{what}: table inet jitgate exists"):
            return
        locked = [("tcp", 22), ("tcp", 2222), ("tcp", 7000), ("udp", 5300), ("udp", 7000)]
        self.tap.ok(self.keys(t, "locked") == sorted(locked),
                    f"{what}: locked set is exactly the policy's ports", t.get("locked"))
        self.tap.ok(self.keys(t, "closing") == [("tcp", 2222)],
                    f"{what}: closing set is exactly the closeEstablishedOnExpiry port",
                    t.get("closing"))
        self.tap.ok(self.grant_keys(t, 4) == sorted(grants4),
                    f"{what}: IPv4 grants are exactly the live ones", self.grant_keys(t, 4))
        self.tap.ok(self.grant_keys(t, 6) == sorted(grants6),
                    f"{what}: IPv6 grants are exactly the live ones", self.grant_keys(t, 6))

    def usertable(self):
        return self.net.run("vm", "nft", "list", "table", "inet", "usertable").stdout

    # -- setup --

    def setup(self):
        net = self.net
        self.make_ssh_keys()
        self.start_sshd("vm", "sshd_config", (22, 2222), f"{self.tmp}/sshd.pid", "sshd.log")
        for p in (8080, 7000):
            net.popen("vm", PROBE + ["serve-tcp", p], "servers.log")
        for p in (5300, 7000):
            net.popen("vm", PROBE + ["serve-udp", p], "servers.log")
        # The user's own table: there before jitgate, to stay exactly as it is.
        net.run("vm", "nft", "-f", "-", check=True, input="""table inet usertable {
	set blocked {
		type ipv4_addr
		elements = { 192.0.2.7, 198.51.100.9 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @blocked drop
		tcp dport 2200 drop
	}
}
""")
        self.usertable_before = self.usertable()

        self.start_jitgated()
        self.wait_up(lambda: (self.ssh("cl", VM4) and self.tcp("cl", VM4, 8080) and
                              self.udp("cl", VM4, 5300)),
                     "sshd or the test servers did not come up")

    # -- scenarios --

    def enroll(self):
        t = self.tap
        t.diag("enrollment: the agent trades a one-time token for its credential")
        self.enroll_token, token_file = self.enrollment_token()
        self.start_agent(token_file)
        ep = self.wait_in_sync()
        t.ok(ep is not None, "the agent enrolls, applies and reports (inSync)", self.agent_text())
        if ep is None:
            raise RuntimeError("the agent did not come up")
        status = ep["properties"]["status"]
        t.ok(status.get("healthy") is True and status["capabilities"].get("nftables") is True,
             "status: healthy, capabilities.nftables true", status)
        t.ok(status.get("os", "").startswith("Linux "), "status: the OS from uname", status)
        t.ok(VM4 in status.get("addresses", []) and VM6 in status.get("addresses", []),
             "status: this machine's addresses", status)
        st, vm, _ = self.api("GET", self.vm_id())
        t.ok(st == 200 and vm["properties"]["enforcementPoint"] == ep["id"] and
             sorted(vm["properties"]["addresses"]) == sorted([VM4, VM4_OT, VM6, VM6_OT]),
             "the agent registered its VM with the given addresses", vm)
        mode = lambda p: os.stat(p).st_mode & 0o777  # noqa: E731
        t.ok(mode(self.agent_dir) == 0o700, "state dir is 0700", oct(mode(self.agent_dir)))
        cred_path = os.path.join(self.agent_dir, "credential")
        t.ok(mode(cred_path) == 0o600, "credential file is 0600", oct(mode(cred_path)))
        with open(cred_path) as f:
            self.credential = f.read().strip()
        t.ok(self.credential.startswith("jgt_"), "the credential is an agent token")
        logs = self.agent_text() + self.srv.log()
        t.ok(self.enroll_token not in logs and self.credential not in logs,
             "neither the enrollment token nor the credential is in any log")
        caps = self.agent_status()
        net_admin = 1 << 12
        t.ok(int(caps["CapEff"], 16) == net_admin and int(caps["CapPrm"], 16) == net_admin and
             int(caps["CapBnd"], 16) == net_admin and int(caps["CapInh"], 16) == 0 and
             int(caps["CapAmb"], 16) == 0 and caps["NoNewPrivs"].strip() == "1",
             "the running agent holds CAP_NET_ADMIN only, bounding set too, no_new_privs",
             {k: caps[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb",
                                            "NoNewPrivs")})
        self.privsep_boundary()

    def privsep_boundary(self):
        """Issue 18 and finding 10 of issue 11: the process that parses the network's bytes
        runs as a non-root user with no capabilities and a seccomp filter; the enforcer,
        which keeps CAP_NET_ADMIN, is not root either and holds no TCP socket."""
        t = self.tap
        nobody = 65534
        enforcer = self.agent_status()
        kids = self.agent_children()
        t.ok(len(kids) == 1, "the agent runs as two processes: enforcer and network process",
             kids)
        if len(kids) != 1:
            return
        net = self.agent_status(kids[0])
        ids = lambda st, k: [int(x) for x in st[k].split()]  # noqa: E731
        t.ok(ids(net, "Uid") == [nobody] * 4 and ids(net, "Gid") == [nobody] * 4,
             "network process: every uid and gid is --user's, not root", net["Uid"], net["Gid"])
        t.ok(all(int(net[k], 16) == 0 for k in ("CapEff", "CapPrm", "CapInh", "CapAmb")),
             "network process: no capabilities at all",
             {k: net[k].strip() for k in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd")})
        t.ok(net["Seccomp"].strip() == "2" and net["NoNewPrivs"].strip() == "1",
             "network process: seccomp filter mode (2) and no_new_privs",
             net["Seccomp"].strip(), net["NoNewPrivs"].strip())
        t.ok(ids(enforcer, "Uid") == [nobody] * 4 and enforcer["Seccomp"].strip() == "2",
             "enforcer: not root either, and filtered", enforcer["Uid"], enforcer["Seccomp"])
        t.ok(self.tcp_sockets(kids[0]) >= 1 and self.tcp_sockets(self.agent.pid) == 0,
             "the network process holds the connection to jitgated; the enforcer no TCP socket",
             self.tcp_sockets(kids[0]), self.tcp_sockets(self.agent.pid))

    def policy(self):
        prefixes = ["10.89.0.0/16", "fd89::/16"]
        port = lambda n, proto, **kw: dict({  # noqa: E731
            "number": n, "protocol": proto, "allowedSourceAddressPrefixes": prefixes,
            "maxRequestAccessDuration": "PT1H"}, **kw)
        return {"kind": "Basic", "properties": {"virtualMachines": [{
            "id": self.vm_id(), "ports": [
                port(22, "TCP"), port(2222, "TCP", closeEstablishedOnExpiry=True),
                port(5300, "UDP"), port(7000, "*")]}]}}

    def scenario1_lock(self):
        t = self.tap
        t.diag("scenario 1: before JIT everything is reachable; enabling JIT locks the ports")
        t.ok(self.ssh("cl", VM4), "before: ssh from client works")
        t.ok(self.ssh("ot", VM4_OT), "before: ssh from other works")
        t.ok(self.ssh("cl", VM6), "before: ssh over IPv6 from client works")
        st, body, _ = self.api("PUT", self.pol(), self.policy())
        t.ok(st in (200, 201), "enable JIT: PUT policy", st, body)
        ports = {p["number"]: p for p in body["properties"]["virtualMachines"][0]["ports"]}
        t.ok(ports[2222].get("closeEstablishedOnExpiry") is True and
             "closeEstablishedOnExpiry" not in ports[22],
             "the policy keeps closeEstablishedOnExpiry (written only when true)", ports)
        t.ok(self.wait_in_sync() is not None, "the agent applied the policy (inSync)")
        t.ok(not self.ssh("cl", VM4), "locked: ssh from client is dropped")
        t.ok(not self.ssh("ot", VM4_OT), "locked: ssh from other is dropped")
        t.ok(not self.ssh("cl", VM6), "locked: ssh over IPv6 from client is dropped")
        t.ok(not self.ssh("ot", VM6_OT), "locked: ssh over IPv6 from other is dropped")
        t.ok(not self.udp("cl", VM4, 5300), "locked: UDP 5300 is dropped")
        t.ok(not self.tcp("cl", VM4, 7000), "locked: '*' port 7000 drops TCP")
        t.ok(self.tcp("cl", VM4, 8080), "other ports are unaffected: TCP 8080 from client")
        t.ok(self.tcp("ot", VM6_OT, 8080), "other ports are unaffected: TCP 8080 from other (IPv6)")
        self.check_table("locked")

    def scenario2_grant(self):
        t = self.tap
        t.diag("scenario 2: initiate for the client's address for 10 s")
        opener = self.prober("cl", "open", "tcp", VM4, 22, 15)
        t.ok(self.prober_ready(opener), "before the initiate the client's connects are dropped")
        st, body, t202, end = self.initiate([(22, CL4)], 10)
        t.ok(st == 202, "initiate answers 202", st, body)
        opened = self.prober_result(opener, 20)
        latency = None if opened is None else opened - t202
        if latency is not None:
            t.diag("latency from the 202 to the first TCP connect from client: "
                   f"{latency * 1000:.0f} ms")
        t.ok(latency is not None and latency <= 1.0,
             "reachable from client within a second of the 202", latency)
        t.ok(self.ssh("cl", VM4), "grant: ssh from client works")
        t.ok(not self.ssh("ot", VM4_OT), "grant: ssh from other is still dropped")
        t.ok(not self.ssh("cl", VM6), "grant: ssh over IPv6 from client is dropped (IPv4 grant)")
        self.closes_on_time("grant end", "cl", VM4, 22, end)
        t.ok(not self.ssh("cl", VM4), "after end: ssh from client is dropped again")

    def scenario3_agent_killed(self):
        t = self.tap
        t.diag("scenario 3a: kill -9 the agent during a grant; a newer request while it is dead")
        st, _, _, end = self.initiate([(22, CL4), (7000, CL4)], 10)
        t.ok(st == 202, "initiate 22 (10 s) and 7000 (10 s) for client")
        t.ok(self.wait_in_sync() is not None and self.tcp("cl", VM4, 22), "grant: 22 open")
        # A longer grant on 7000 that will become stale: superseded while the agent is dead.
        st, _, _, _ = self.initiate([(7000, CL4)], 120)
        t.ok(st == 202 and self.wait_in_sync() is not None and self.tcp("cl", VM4, 7000),
             "a 120 s grant on 7000 is applied")
        self.kill_agent(signal.SIGKILL)
        t.ok(self.tcp("cl", VM4, 22), "agent killed (-9): the grant stays in force")
        st, _, _, stale_end = self.initiate([(7000, CL4)], 3)
        t.ok(st == 202, "while the agent is dead, a newer 3 s request supersedes the 120 s one")
        self.closes_on_time("agent dead", "cl", VM4, 22, end)
        time.sleep(max(0.0, stale_end + 0.5 - time.time()))
        t.ok(self.tcp("cl", VM4, 7000),
             "with no agent the superseded 120 s element is still in the kernel (stale)")
        mark = self.log_mark()
        self.start_agent()
        t.ok(self.wait_log(r"event=applied version=\d+ source=server", mark, 15) is not None,
             "restart: the agent reconciles with jitgated's desired state",
             self.agent_text()[mark:])
        t.ok(not self.tcp("cl", VM4, 7000), "restart: the stale grant on 7000 is gone")
        self.check_table("after agent restart")
        t.ok(self.wait_in_sync() is not None, "restart: in sync again")

    def scenario3_jitgated_killed(self):
        t = self.tap
        t.diag("scenario 3b: kill -9 jitgated during a grant (and restart the agent meanwhile)")
        st, _, _, end = self.initiate([(22, CL4)], 12)
        t.ok(st == 202 and self.wait_in_sync() is not None and self.tcp("cl", VM4, 22),
             "grant: 22 open for client")
        self.srv.stop(sig=signal.SIGKILL)
        t.ok(self.tcp("cl", VM4, 22), "jitgated killed (-9): the grant stays in force")
        self.kill_agent(signal.SIGKILL)
        mark = self.log_mark()
        self.start_agent()
        m = self.wait_log(r"event=applied version=\d+ source=saved", mark, 10)
        t.ok(m is not None, "agent restarted with jitgated down: it re-applies its saved state",
             self.agent_text()[mark:])
        t.ok(self.wait_log(r"event=server_unreachable", mark, 10) is not None,
             "the agent reports jitgated unreachable and backs off")
        tbl = self.table() or {}
        timeouts = [to for k, to in tbl.get("grants4", []) if k == (CL4, "tcp", 22)]
        left = end - time.time()
        t.ok(len(timeouts) == 1 and timeouts[0] <= left + 1,
             "the saved grant's kernel timeout is recomputed from its end time",
             timeouts, f"{left:.1f} s left")
        t.ok(self.tcp("cl", VM4, 22), "the grant still works after the offline re-apply")
        self.closes_on_time("jitgated dead", "cl", VM4, 22, end)
        mark = self.log_mark()
        self.srv.start()
        t.ok(self.wait_log(r"event=applied version=\d+ source=server", mark, 45) is not None,
             "jitgated restarted: the agent reconnects and reconciles", self.agent_text()[mark:])
        self.check_table("after jitgated restart")
        t.ok(self.wait_in_sync() is not None, "jitgated restarted: in sync again")
        backoffs = re.findall(r"retry_in=([0-9.]+)s", self.agent_text())
        t.ok(all(float(b) <= 30.0 for b in backoffs), "backoff never exceeds 30 s", backoffs)

    def scenario4_shapes(self):
        t = self.tap
        t.diag("scenario 4: a /24 grant, an IPv6 grant, a UDP port and protocol '*'")
        st1, b1, _, end = self.initiate([(22, "10.89.1.0/24"), (5300, CL4), (7000, CL4)], 25)
        st2, b2, _, _ = self.initiate([(22, CL6)], 25)
        t.ok(st1 == 202 and st2 == 202, "initiate: 22 from 10.89.1.0/24 and from fd89:1::2, "
             "5300/UDP and 7000/* from client", b1, b2)
        t.ok(self.wait_in_sync() is not None, "applied")
        t.ok(self.ssh("cl", VM4), "/24: ssh from client (10.89.1.2) works")
        t.ok(not self.ssh("ot", VM4_OT), "/24: ssh from other (10.89.2.2) is dropped")
        t.ok(self.ssh("cl", VM6), "IPv6: ssh from client over IPv6 works")
        t.ok(not self.ssh("ot", VM6_OT), "IPv6: ssh from other over IPv6 is dropped")
        t.ok(self.udp("cl", VM4, 5300), "UDP: echo on 5300 from client works")
        t.ok(not self.udp("ot", VM4_OT, 5300), "UDP: echo on 5300 from other is dropped")
        t.ok(self.tcp("cl", VM4, 7000), "'*': TCP 7000 from client works")
        t.ok(self.udp("cl", VM4, 7000), "'*': UDP 7000 from client works")
        t.ok(not self.tcp("ot", VM4_OT, 7000), "'*': TCP 7000 from other is dropped")
        t.ok(not self.udp("ot", VM4_OT, 7000), "'*': UDP 7000 from other is dropped")
        self.check_table("shapes", grants4=[("10.89.1.0/24", "tcp", 22), (CL4, "udp", 5300),
                                            (CL4, "tcp", 7000), (CL4, "udp", 7000)],
                         grants6=[(CL6, "tcp", 22)])
        self.closes_on_time("shapes end (IPv6)", "cl", VM6, 22, end)
        t.ok(not self.ssh("cl", VM4) and not self.udp("cl", VM4, 5300) and
             not self.tcp("cl", VM4, 7000), "after end: all of them are dropped again")

    def session(self, port, name):
        ticks = os.path.join(self.tmp, f"ticks.{name}")
        f = open(ticks, "wb")
        argv = ["ip", "netns", "exec", self.net.ns["cl"]] + self.ssh_argv(
            VM4, port, ("-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3")) + \
            ["while :; do echo tick; sleep 0.5; done"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.DEVNULL)
        f.close()
        return p, ticks

    @staticmethod
    def count(path):
        with open(path, "rb") as f:
            return f.read().count(b"tick")

    def scenario5_established(self):
        t = self.tap
        t.diag("scenario 5: established sessions at expiry (22 survives, 2222 is cut)")
        st, _, _, end = self.initiate([(22, CL4), (2222, CL4)], 8)
        t.ok(st == 202 and self.wait_in_sync() is not None, "initiate 22 and 2222 for 8 s")
        keep, keep_ticks = self.session(22, "keep")
        cut, cut_ticks = self.session(2222, "cut")
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and (self.count(keep_ticks) == 0 or
                                               self.count(cut_ticks) == 0):
            time.sleep(0.1)
        t.ok(self.count(keep_ticks) > 0 and self.count(cut_ticks) > 0, "both ssh sessions are up")
        self.closes_on_time("sessions' grant end", "cl", VM4, 22, end)
        t.ok(not self.ssh("cl", VM4, 2222), "new logins on 2222 are refused too")
        a = self.count(keep_ticks)
        time.sleep(4)
        t.ok(self.count(keep_ticks) > a and keep.poll() is None,
             "default: the established session on 22 survives expiry (still ticking)")
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and cut.poll() is None:
            time.sleep(0.2)
        t.ok(cut.poll() is not None, "closeEstablishedOnExpiry: the session on 2222 is cut")
        c = self.count(cut_ticks)
        time.sleep(1.5)
        t.ok(self.count(cut_ticks) == c, "closeEstablishedOnExpiry: no more output on 2222")
        for p in (keep, cut):
            if p.poll() is None:
                p.kill()
            p.wait()

    def scenario6_user_table(self):
        t = self.tap
        t.diag("scenario 6 and the end: SIGTERM keeps the table, --uninstall removes it")
        rc = self.kill_agent(signal.SIGTERM)
        t.ok(rc == 0, "SIGTERM: the agent exits cleanly", rc)
        t.ok(self.table() is not None and not self.ssh("ot", VM4_OT),
             "after the agent stopped, table inet jitgate stays and 22 stays locked")
        t.ok(self.usertable() == self.usertable_before,
             "the user's table is byte-identical after everything",
             self.usertable_before, self.usertable())
        r = self.net.run("vm", self.agent_bin, "--uninstall")
        t.ok(r.returncode == 0, "--uninstall succeeds", r.stderr)
        t.ok(self.table() is None, "--uninstall: table inet jitgate is gone")
        t.ok(self.ssh("ot", VM4_OT), "--uninstall: ssh from other works again")
        ruleset = self.net.run("vm", "nft", "list", "ruleset").stdout
        t.ok(ruleset == self.usertable_before, "the user's table is all that is left", ruleset)


def scenarios(e2e):
    e2e.enroll()
    e2e.scenario1_lock()
    e2e.scenario2_grant()
    e2e.scenario3_agent_killed()
    e2e.scenario3_jitgated_killed()
    e2e.scenario4_shapes()
    e2e.scenario5_established()
    e2e.scenario6_user_table()


def main():
    tap, rc = nh.main("usage: test_agent_e2e.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft", "ssh", "ssh-keygen", "unshare", "mount"), Net, E2E, scenarios)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
