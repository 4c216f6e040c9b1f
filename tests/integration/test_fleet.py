#!/usr/bin/env python3
"""A replicated control plane (issue 13): three jitgated replicas on one PostgreSQL
database and a real jitgate-agent, in network namespaces.

    cp  10.88.0.11, .12, .13 : replicas 1, 2 and 3 (one certificate, one database)
    vm  10.88.0.2 (to cp), 10.88.1.1 (to cl): the agent, TCP servers on 7022 and 7023
    cl  10.88.1.2: the client

JIT is enabled through replica 1, access initiated through replica 2, and the agent, which
polls replica 3 first (--server URL,URL,URL), opens the port for a real TCP connect from
the client: replica 2's commit woke the long poll parked on replica 3 (pg_notify). Then
replica 3 is killed with SIGKILL and a second initiate (through replica 1) still reaches
the port: the agent moved to another replica. The audit chain verifies at the end.

Runs under pg_cluster.py (the store must be PostgreSQL; the replicas reach it over its
Unix socket, which crosses network namespaces); needs root, skips otherwise.
"""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netns_harness as nh  # noqa: E402
from netns_harness import PROBE  # noqa: E402

RG = "rg-fleet"
REPLICAS = ["10.88.0.11", "10.88.0.12", "10.88.0.13"]
VM_CP_ADDR = "10.88.0.2"
VM4, CL4 = "10.88.1.1", "10.88.1.2"
APP, APP2 = 7022, 7023


class Net(nh.Net):
    NAMES = ("cp", "vm", "cl")
    PREFIX = "jgf"
    TMP_PREFIX = "jitgate-fleet."

    def links(self):
        cp, cl = self.ns["cp"], self.ns["cl"]
        steps = [
            ("vm", "ip", "link", "add", "cp0", "type", "veth", "peer", "name", "vm0", "netns", cp),
            ("vm", "ip", "link", "add", "cl0", "type", "veth", "peer", "name", "eth0", "netns", cl),
            ("vm", "ip", "addr", "add", f"{VM_CP_ADDR}/24", "dev", "cp0"),
            ("vm", "ip", "addr", "add", f"{VM4}/24", "dev", "cl0"),
            ("cl", "ip", "addr", "add", f"{CL4}/24", "dev", "eth0"),
        ] + [("cp", "ip", "addr", "add", f"{a}/24", "dev", "vm0") for a in REPLICAS]
        for ns, *cmd in steps:
            self.run(ns, *cmd, check=True)
        for ns, dev in (("cp", "vm0"), ("vm", "cp0"), ("vm", "cl0"), ("cl", "eth0")):
            self.run(ns, "ip", "link", "set", dev, "up", check=True)


class Fleet(nh.E2E):
    RG = RG
    CP_ADDR = REPLICAS[0]
    AGENT_NS = "vm"
    EP_NAME = "ep-fleet"
    JUSTIFICATION = "fleet"
    LOGS = ("agent.log", "r1/jitgated.log", "r2/jitgated.log", "r3/jitgated.log")

    def replica(self, i, cert=None):
        from jitgated_harness import Server
        d = os.path.join(self.tmp, f"r{i + 1}")
        os.makedirs(d, mode=0o700, exist_ok=True)
        args = ["--listen", f"{REPLICAS[i]}:{nh.PORT}"]
        if cert is None:
            args += [a for r in REPLICAS for a in ("--tls-name", r)]
        else:
            # One certificate for the fleet, as behind a load balancer.
            args += ["--tls-cert", cert[0], "--tls-key", cert[1]]
            shutil.copy(os.path.join(self.tmp, "r1", "pg-database"), d)
            shutil.copy(os.path.join(self.tmp, "r1", "admin.token"), d)
            # One audit key for the fleet: every replica MACs the one chain with it.
            shutil.copy(os.path.join(self.tmp, "r1", "audit.key"), d)
            os.makedirs(os.path.join(d, "tls"), exist_ok=True)
            shutil.copy(cert[0], os.path.join(d, "tls", "cert.pem"))
        srv = Server(self.jitgated, state_dir=d, extra_args=args)
        srv.host = REPLICAS[i]
        return srv

    def setup(self):
        import jitgated_harness
        self.net.enter("cp")
        # The harness's requests go to 127.0.0.1: point each server at its own address.
        jitgated_harness.Server.url = property(lambda s: f"https://{s.host}:{nh.PORT}")
        self.reps = [self.replica(0).start()]
        tls = os.path.join(self.tmp, "r1", "tls")
        cert = (os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem"))
        self.reps += [self.replica(1, cert).start(), self.replica(2, cert).start()]
        self.srv = self.reps[0]
        st, body, _ = self.srv.request("GET", "/subscriptions")
        self.sub = body["value"][0]["subscriptionId"]
        self.rgp = f"/subscriptions/{self.sub}/resourceGroups/{self.RG}"
        st, _, _ = self.srv.request("PUT", self.rgp, {"location": nh.LOC})
        if st not in (200, 201):
            raise RuntimeError(f"cannot create the resource group: {st}")
        for p in (APP, APP2):
            self.net.popen("vm", PROBE + ["serve-tcp", p], "servers.log")
        self.wait_up(lambda: self.tcp("cl", VM4, APP) and self.tcp("cl", VM4, APP2),
                     "the test servers did not come up")

    def agent_argv(self):
        # Replica 3 first: the agent's long poll parks there.
        servers = ",".join(f"https://{a}:{nh.PORT}" for a in (REPLICAS[2], REPLICAS[0],
                                                                REPLICAS[1]))
        argv = [self.agent_bin, "--server", servers,
                "--ca", os.path.join(self.tmp, "r1", "tls", "cert.pem"),
                "--state-dir", self.agent_dir]
        if os.geteuid() == 0:
            argv += ["--user", "nobody"]       # the network process's user (privsep)
        return argv

    def vm_id(self):
        return f"{self.rgp}/providers/Microsoft.Compute/virtualMachines/vm1"

    def via(self, i, method, path, body=None):
        return self.reps[i].request(method, path, body)

    def polls(self, i):
        return self.reps[i].log().count("path=/agent/v1/desired-state")

    def opens(self, replica, port, what):
        """Initiates port through replica; the client's connect opens (seconds)."""
        t = self.tap
        opener = self.prober("cl", "open", "tcp", VM4, port, 40)
        t.ok(self.prober_ready(opener), f"{what}: before the initiate the port is dropped")
        end = time.time() + 600
        body = {"virtualMachines": [{"id": self.vm_id(), "ports": [
            {"number": port, "endTimeUtc": nh.iso(end), "allowedSourceAddressPrefix": CL4}]}],
            "justification": self.JUSTIFICATION}
        st, resp, _ = self.via(replica, "POST", self.pol() + "/initiate", body)
        t202 = time.time()
        t.ok(st == 202, f"{what}: initiate through replica {replica + 1} answers 202", st, resp)
        opened = self.prober_result(opener, 45)
        t.ok(opened is not None, f"{what}: a real TCP connect from the client succeeds")
        return None if opened is None else opened - t202

    def run(self):
        t = self.tap
        _, token_file = self.enrollment_token()
        self.agent = self.net.popen("vm", self.agent_argv() + [
            "--vm-name", "vm1", "--name", self.EP_NAME, "--address", VM4,
            "--enroll-token", token_file, "--log-level", "debug"], "agent.log")
        ep = self.wait_in_sync(30)
        t.ok(ep is not None, "the agent enrolls through replica 3 and reports", self.agent_text())
        if ep is None:
            raise RuntimeError("the agent did not come up")
        policy = {"kind": "Basic", "properties": {"virtualMachines": [{
            "id": self.vm_id(), "ports": [{"number": p, "protocol": "TCP",
                                           "allowedSourceAddressPrefix": "10.88.0.0/16",
                                           "maxRequestAccessDuration": "PT1H"}
                                          for p in (APP, APP2)]}]}}
        st, body, _ = self.via(0, "PUT", self.pol(), policy)
        t.ok(st in (200, 201), "enable JIT through replica 1", st, body)
        deadline = time.time() + 30
        while time.time() < deadline and self.tcp("cl", VM4, APP, 1):
            time.sleep(0.2)
        t.ok(not self.tcp("cl", VM4, APP) and not self.tcp("cl", VM4, APP2),
             "the ports are locked (the agent on replica 3 heard it)")
        before = [self.polls(i) for i in range(3)]
        t.ok(before[2] > 0 and before[0] == 0 and before[1] == 0,
             "the agent's long polls park on replica 3 only", before)
        took = self.opens(1, APP, "replica 2")
        if took is not None:
            t.diag(f"initiate through replica 2 to the connect via replica 3: {took * 1000:.0f} ms")
        # Well under the 15 s safety poll: the notification carried it.
        t.ok(took is not None and took < 5.0,
             "replica 2's commit woke the long poll on replica 3", took)

        t.diag("replica 3 killed with SIGKILL")
        self.reps[2].stop(sig=signal.SIGKILL)
        took = self.opens(0, APP2, "after the kill")
        if took is not None:
            t.diag(f"initiate through replica 1 to the connect after the failover: "
                   f"{took * 1000:.0f} ms")
        after = [self.polls(i) for i in range(2)]
        t.ok(after[0] + after[1] > 0, "the agent moved to another replica", after)
        st, v, _ = self.via(1, "GET", "/providers/Jitgate/auditLogs/verify")
        t.ok(st == 200 and v.get("verified") is True, "the audit chain verifies", v)

    def teardown_db(self):
        for r in getattr(self, "reps", []):
            r.stop(sig=signal.SIGKILL)
        if getattr(self, "reps", None) and self.reps[0].pg is not None:
            self.reps[0].pg.drop()


def scenarios(e2e):
    try:
        e2e.run()
    finally:
        e2e.teardown_db()


def main():
    if os.environ.get("JITGATE_TEST_STORE") != "pg":
        nh.skip_all("replicas need the PostgreSQL store: run under pg_cluster.py (make test)")
    tap, rc = nh.main("usage: test_fleet.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft"), Net, Fleet, scenarios)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
