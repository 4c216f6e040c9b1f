#!/usr/bin/env python3
"""agent_latency.py: from an initiate's 202 to the first TCP connect that gets through.

Usage: agent_latency.py BUILD_DIR        (runs: BENCH_RUNS, default 100)

The network of tests/integration/test_agent_e2e.py (its Net class, reused): jitgated in
a "cp" namespace, jitgate-agent and a TCP server on port 8022 in "vm", a "client"
namespace. Each run: a prober in the client namespace starts connecting every ~10 ms
(each attempt gives up after 10 ms, since a dropped SYN would wait a second for its
retransmission); the initiate for the client's address is sent; the prober reports the
wall-clock time of its first connect; then the grant is revoked and the prober waits
until the port is closed again. Printed: p50/p90/p99/min/max over the runs, measured
from the 202 and from the moment the request was sent. A time below zero means the
agent had the port open before the 202 reached the caller. Nothing touches the host's
own network; everything is torn down at the end. A benchmark: nothing is asserted.

Also: agent_latency.py --prober HOST PORT (in the client namespace) reads "open" or
"closed" lines and answers each with the time the port became so.
"""
import datetime as dt
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 8022


def prober(host, port):
    def attempt(timeout):
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            return False

    for line in sys.stdin:
        want = line.strip()
        while True:
            t0 = time.time()
            ok = attempt(0.01 if want == "open" else 0.05)
            if want == "open" and ok:
                print(f"{time.time():.6f}", flush=True)
                break
            if want == "closed" and not ok:
                print(f"{t0:.6f}", flush=True)
                break
            if want == "closed":
                time.sleep(0.01)


if len(sys.argv) == 4 and sys.argv[1] == "--prober":
    prober(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)

sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from jitgated_harness import Server  # noqa: E402
from netns_harness import LOC, PROBE  # noqa: E402
from test_agent_e2e import CL4, CP_ADDR, VM4, Net  # noqa: E402


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(q * len(v) + 0.999999) - 1))]


def main():
    build = os.path.abspath(sys.argv[1])
    runs = int(os.environ.get("BENCH_RUNS", "100"))
    jitgated = os.path.join(build, "src", "server", "jitgated")
    agent_bin = os.path.join(build, "src", "agent", "jitgate-agent")
    if os.geteuid() != 0:
        print("agent latency: skipped: needs root (network namespaces, nftables)")
        return 0

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    net = Net()
    srv = agent = probe = None
    try:
        why = net.build()
        if why:
            print(f"agent latency: skipped: {why}")
            return 0
        net.popen("vm", PROBE + ["serve-tcp", PORT], "server.log")
        net.enter("cp")
        srv = Server(jitgated, state_dir=os.path.join(net.tmp, "jitgated"),
                     extra_args=["--listen", "0.0.0.0:8443", "--tls-name", CP_ADDR,
                                 "--initiate-limit", "0"])  # 100 runs in a row
        os.makedirs(srv.state_dir, mode=0o700)
        srv.start()
        sub = srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
        rgp = f"/subscriptions/{sub}/resourceGroups/bench"
        srv.request("PUT", rgp, {"location": LOC})
        tok = srv.request("POST", f"{rgp}/providers/Jitgate/enrollmentTokens", {})[1]["token"]
        token_file = os.path.join(net.tmp, "token")
        with open(token_file, "w") as f:
            f.write(tok)
        # As root the agent's processes become --user (nobody here).
        agent = net.popen("vm", [agent_bin, "--server", f"https://{CP_ADDR}:8443", "--ca",
                                 os.path.join(srv.state_dir, "tls", "cert.pem"), "--state-dir",
                                 os.path.join(net.tmp, "agent"), "--user", "nobody",
                                 "--enroll-token", token_file, "--vm-name", "vm1", "--address",
                                 VM4], "agent.log")
        vm = f"{rgp}/providers/Microsoft.Compute/virtualMachines/vm1"
        pol = f"{rgp}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
        ep = f"{rgp}/providers/Jitgate/enforcementPoints/vm1"

        def in_sync():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                st, body, _ = srv.request("GET", ep)
                if st == 200 and body["properties"]["inSync"]:
                    return
                time.sleep(0.05)
            raise RuntimeError("the agent did not apply in time")

        deadline = time.monotonic() + 20
        while srv.request("GET", ep)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        ports = [{"number": PORT, "protocol": "TCP", "allowedSourceAddressPrefix": "10.89.0.0/16",
                  "maxRequestAccessDuration": "PT1H"}]
        st, body, _ = srv.request("PUT", pol, {"properties": {"virtualMachines": [
            {"id": vm, "ports": ports}]}})
        if st not in (200, 201):
            raise RuntimeError(f"PUT policy: {st} {body}")
        in_sync()
        probe = subprocess.Popen(["ip", "netns", "exec", net.ns["cl"], sys.executable,
                                  os.path.abspath(__file__), "--prober", VM4, str(PORT)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def ask(what):
            probe.stdin.write(what + "\n")
            probe.stdin.flush()
            return float(probe.stdout.readline())

        ask("closed")
        from_202, from_send, round_trip = [], [], []
        for _ in range(runs):
            probe.stdin.write("open\n")
            probe.stdin.flush()
            time.sleep(0.03)  # the prober is trying, and being dropped
            body = {"virtualMachines": [{"id": vm, "ports": [
                {"number": PORT, "endTimeUtc": iso(time.time() + 600),
                 "allowedSourceAddressPrefix": CL4}]}]}
            t_send = time.time()
            st, _, _ = srv.request("POST", pol + "/initiate", body)
            t_202 = time.time()
            if st != 202:
                raise RuntimeError(f"initiate: {st}")
            t_open = float(probe.stdout.readline())
            from_202.append((t_open - t_202) * 1e3)
            from_send.append((t_open - t_send) * 1e3)
            round_trip.append((t_202 - t_send) * 1e3)
            revoke = {"virtualMachines": [{"id": vm, "ports": [
                {"number": PORT, "allowedSourceAddressPrefix": CL4}]}]}
            st, _, _ = srv.request("POST", pol + "/revoke", revoke)
            if st != 200:
                raise RuntimeError(f"revoke: {st}")
            ask("closed")

        load = os.getloadavg()
        print(f"agent: initiate -> first TCP connect from the client namespace ({runs} runs)")
        print(f"  machine: {os.cpu_count()} CPUs, {platform.release()}, "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"  {'ms':30} {'p50':>8} {'p90':>8} {'p99':>8} {'min':>8} {'max':>8}")
        for name, v in (("from the 202 response", from_202),
                        ("from sending the initiate", from_send),
                        ("initiate round trip (202)", round_trip)):
            print(f"  {name:30} {statistics.median(v):8.1f} {pct(v, 0.9):8.1f} "
                  f"{pct(v, 0.99):8.1f} {min(v):8.1f} {max(v):8.1f}")
        print("  (probe granularity ~10 ms: one connect attempt every ~10 ms; a negative "
              "time means the port opened before the 202 arrived)")
        return 0
    finally:
        if probe is not None:
            probe.kill()
        if agent is not None:
            agent.kill()
        if srv is not None:
            srv.stop(sig=signal.SIGKILL)
        net.teardown()


if __name__ == "__main__":
    sys.exit(main())
