#!/usr/bin/env python3
"""agent_latency.py: from the user's action to the first TCP connect that gets through,
jitgate and fwknop side by side on the same probe.

Usage: agent_latency.py BUILD_DIR   (BENCH_RUNS, default 50; BENCH_FWKNOP_RUNS, default 30)

jitgate: the network of tests/integration/test_agent_e2e.py (its Net class, reused):
jitgated in a "cp" namespace, jitgate-agent and a TCP server on port 8022 in "vm", a
"client" namespace. fwknop 2.6.10 (Debian's fwknop-server and fwknop-client): two
namespaces of its own, fwknopd (Debian's defaults but for its interface, run directory and
a 1 s access timeout) guarding the same kind of TCP server with iptables inside its
namespace, fwknop sending the SPA packet from the other.

The probe is the same for both: a client in the client namespace connecting every ~2 ms
(each attempt gives up after 2 ms, since a dropped SYN would wait a second for its
retransmission), started before the action; it reports the wall-clock time of the first
connect that succeeds. Then access is revoked (jitgate) or times out (fwknop), and the
probe waits until the port is closed again. Measured, each over its runs:
- jitgate request --wait: from the `jitgate request ... --wait` process start to the
  connect (the CLI configured by environment, its CA file given);
- jitgate, from the server's 202: an initiate sent by this script, from its 202 to the
  connect (a time below zero: the port opened before the 202 reached the caller);
- jitgate whoami: a CLI run, start to exit (one HTTPS request);
- fwknop: from the SPA packet (the moment the fwknop client exited, after sending it:
  this favours fwknop slightly) to the connect.
Then the ratio of the medians. Nothing touches the host's own network or firewall;
everything is torn down at the end. A benchmark: nothing is asserted.

Also: agent_latency.py --prober HOST PORT (in the client namespace) reads "open" or
"closed" lines and answers each with the time the port became so.
"""
import datetime as dt
import os
import platform
import re
import shutil
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
            ok = attempt(0.002 if want == "open" else 0.05)
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


def stats_row(name, v):
    return (f"  {name:42} {statistics.median(v):8.1f} {pct(v, 0.9):8.1f} "
            f"{pct(v, 0.99):8.1f} {min(v):8.1f} {max(v):8.1f}")


class Prober:
    """The probe loop in namespace ns against host:port."""

    def __init__(self, ns, host, port):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
                                   os.path.abspath(__file__), "--prober", host, str(port)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def start(self, what):
        self.p.stdin.write(what + "\n")
        self.p.stdin.flush()

    def result(self):
        return float(self.p.stdout.readline())

    def ask(self, what):
        self.start(what)
        return self.result()

    def kill(self):
        self.p.kill()


FWKNOPD_CONF = """PCAP_INTF eth0;
FWKNOP_RUN_DIR {run};
"""
ACCESS_CONF = """SOURCE ANY
KEY_BASE64 {key}
HMAC_KEY_BASE64 {hmac}
FW_ACCESS_TIMEOUT 1
"""
FW_SRV, FW_CL = "10.86.0.1", "10.86.0.2"


def fwknop_bench(runs, tmp):
    """fwknop in two namespaces of its own: SPA packet -> first connect, in ms."""
    for c in ("fwknopd", "fwknop", "iptables"):
        if shutil.which(c) is None:
            return None, f"{c} is not installed (Debian fwknop-server, fwknop-client, iptables)"
    ident = f"jgf{os.getpid()}"
    srv, cl = f"{ident}-s", f"{ident}-c"
    made, procs, probe = [], [], None
    try:
        for ns in (srv, cl):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            made.append(ns)
        sh = lambda ns, *a: subprocess.run(["ip", "netns", "exec", ns, *a],  # noqa: E731
                                           check=True, capture_output=True)
        sh(srv, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
           "netns", cl)
        sh(srv, "ip", "addr", "add", f"{FW_SRV}/24", "dev", "eth0")
        sh(cl, "ip", "addr", "add", f"{FW_CL}/24", "dev", "eth0")
        for ns in (srv, cl):
            sh(ns, "ip", "link", "set", "eth0", "up")
            sh(ns, "ip", "link", "set", "lo", "up")
        keys = subprocess.run(["fwknop", "--key-gen", "--rc-file", os.path.join(tmp, "gen.rc")],
                              check=True, capture_output=True, text=True).stdout
        key = re.search(r"KEY_BASE64:\s*(\S+)", keys).group(1)
        hmac = re.search(r"HMAC_KEY_BASE64:\s*(\S+)", keys).group(1)
        run_dir = os.path.join(tmp, "fwknop-run")
        os.makedirs(run_dir, mode=0o700)
        conf, access, rc = (os.path.join(tmp, n) for n in ("fwknopd.conf", "access.conf",
                                                            "fwknop.rc"))
        for path, text in ((conf, FWKNOPD_CONF.format(run=run_dir)),
                           (access, ACCESS_CONF.format(key=key, hmac=hmac)), (rc, "")):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
        sh(srv, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
        log = open(os.path.join(tmp, "fwknopd.log"), "ab")
        procs.append(subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, PROBE[1],
                                       "serve-tcp", str(PORT)], stdout=log, stderr=log))
        procs.append(subprocess.Popen(["ip", "netns", "exec", srv, "fwknopd", "-c", conf,
                                       "-a", access, "-f", "-i", "eth0"],
                                      stdout=log, stderr=log))
        time.sleep(1.5)
        probe = Prober(cl, FW_SRV, PORT)
        probe.ask("closed")
        spa = ["ip", "netns", "exec", cl, "fwknop", "--rc-file", rc, "-A", f"tcp/{PORT}",
               "-a", FW_CL, "-D", FW_SRV, "--key-base64-rijndael", key,
               "--key-base64-hmac", hmac, "--use-hmac"]
        out = []
        for _ in range(runs):
            probe.start("open")
            time.sleep(0.03)  # the prober is trying, and being dropped
            r = subprocess.run(spa, capture_output=True)
            t_spa = time.time()
            if r.returncode != 0:
                return None, f"fwknop failed: {r.stderr.decode(errors='replace').strip()}"
            out.append((probe.result() - t_spa) * 1e3)
            probe.ask("closed")
        return out, None
    finally:
        if probe is not None:
            probe.kill()
        for p in procs:
            p.kill()
        for ns in made:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.2)
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main():
    build = os.path.abspath(sys.argv[1])
    runs = int(os.environ.get("BENCH_RUNS", "50"))
    fw_runs = int(os.environ.get("BENCH_FWKNOP_RUNS", "30"))
    jitgated = os.path.join(build, "src", "server", "jitgated")
    agent_bin = os.path.join(build, "src", "agent", "jitgate-agent")
    cli = os.path.join(build, "src", "cli", "jitgate")
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
                                 "--initiate-limit", "0"])
        os.makedirs(srv.state_dir, mode=0o700)
        srv.start()
        sub = srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
        rgp = f"/subscriptions/{sub}/resourceGroups/bench"
        srv.request("PUT", rgp, {"location": LOC})
        tok = srv.request("POST", f"{rgp}/providers/Jitgate/enrollmentTokens", {})[1]["token"]
        token_file = os.path.join(net.tmp, "token")
        with open(token_file, "w") as f:
            f.write(tok)
        ca = os.path.join(srv.state_dir, "tls", "cert.pem")
        # As root the agent's processes become --user (nobody here).
        agent = net.popen("vm", [agent_bin, "--server", f"https://{CP_ADDR}:8443", "--ca",
                                 ca, "--state-dir", os.path.join(net.tmp, "agent"),
                                 "--user", "nobody", "--enroll-token", token_file,
                                 "--vm-name", "vm1", "--address", VM4], "agent.log")
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
        probe = Prober(net.ns["cl"], VM4, PORT)
        probe.ask("closed")
        with open(os.path.join(srv.state_dir, "admin.token")) as f:
            admin = f.read().strip()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": net.tmp,
               "JITGATE_SERVER": f"https://127.0.0.1:8443", "JITGATE_TOKEN": admin,
               "JITGATE_CA": ca, "JITGATE_SUBSCRIPTION": sub}
        request = [cli, "request", "vm1", "-g", "bench", "--port", str(PORT), "--source", CL4,
                   "--for", "10m", "--wait"]
        revoke = {"virtualMachines": [{"id": vm, "ports": [
            {"number": PORT, "allowedSourceAddressPrefix": CL4}]}]}
        from_start, cli_total, from_202, from_send, round_trip = [], [], [], [], []
        for i in range(runs):
            # jitgate request --wait, process start -> open
            probe.start("open")
            time.sleep(0.03)  # the prober is trying, and being dropped
            t_start = time.time()
            r = subprocess.run(request, env=env, capture_output=True, text=True)
            t_exit = time.time()
            if r.returncode != 0:
                raise RuntimeError(f"jitgate request: {r.returncode}: {r.stderr.strip()}")
            t_open = probe.result()
            from_start.append((t_open - t_start) * 1e3)
            cli_total.append((t_exit - t_start) * 1e3)
            if srv.request("POST", pol + "/revoke", revoke)[0] != 200:
                raise RuntimeError("revoke failed")
            probe.ask("closed")
            # an initiate from here: its 202 -> open
            probe.start("open")
            time.sleep(0.03)
            body = {"virtualMachines": [{"id": vm, "ports": [
                {"number": PORT, "endTimeUtc": iso(time.time() + 600),
                 "allowedSourceAddressPrefix": CL4}]}]}
            t_send = time.time()
            st, _, _ = srv.request("POST", pol + "/initiate", body)
            t_202 = time.time()
            if st != 202:
                raise RuntimeError(f"initiate: {st}")
            t_open = probe.result()
            from_202.append((t_open - t_202) * 1e3)
            from_send.append((t_open - t_send) * 1e3)
            round_trip.append((t_202 - t_send) * 1e3)
            if srv.request("POST", pol + "/revoke", revoke)[0] != 200:
                raise RuntimeError("revoke failed")
            probe.ask("closed")
        probe.kill()
        probe = None
        whoami = []
        for _ in range(runs):
            t0 = time.time()
            r = subprocess.run([cli, "whoami"], env=env, capture_output=True)
            whoami.append((time.time() - t0) * 1e3)
            if r.returncode != 0:
                raise RuntimeError(f"jitgate whoami: {r.returncode}")
        fw, fw_why = fwknop_bench(fw_runs, net.tmp)

        load = os.getloadavg()
        print(f"open path: the user's action -> first TCP connect, same probe (a SYN every "
              f"~2 ms)")
        print(f"  machine: {os.cpu_count()} CPUs, {platform.release()}, "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"  {'ms':42} {'p50':>8} {'p90':>8} {'p99':>8} {'min':>8} {'max':>8}")
        print(stats_row(f"jitgate request --wait start ({runs})", from_start))
        print(stats_row("  (the CLI's own run, start to exit)", cli_total))
        print(stats_row(f"jitgate whoami, start to exit ({runs})", whoami))
        print(stats_row(f"jitgate from the server's 202 ({runs})", from_202))
        print(stats_row("  from sending the initiate", from_send))
        print(stats_row("  initiate round trip (202)", round_trip))
        if fw is None:
            print(f"  fwknop: skipped: {fw_why}")
        else:
            print(stats_row(f"fwknop 2.6.10 from the SPA packet ({fw_runs})", fw))
            m = statistics.median(fw)
            print(f"  ratio of medians: fwknop / jitgate request --wait = "
                  f"{m / statistics.median(from_start):.1f}x; fwknop / jitgate from the 202 = "
                  f"{m / max(statistics.median(from_202), 0.001):.1f}x")
        print("  (probe granularity ~2 ms; a negative time means the port opened before the "
              "202 arrived; fwknopd polls its capture every 0.1 s by default, "
              "PCAP_LOOP_SLEEP)")
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
