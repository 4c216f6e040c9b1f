#!/usr/bin/env python3
"""What the namespace end-to-end tests (test_agent_e2e.py, test_gateway_e2e.py) share.

What it sets up, for a test that describes its own topology (a `Net` subclass naming its
namespaces and building its veth links) and its own scenarios (an `E2E` subclass):

  - network namespaces "<prefix><pid>-<name>", each with lo up, and a temporary directory
    (0755) for keys, configs and logs;
  - jitgated in the "cp" namespace on 0.0.0.0:8443 with a TLS name, a state dir in the
    temporary directory, and this process moved into "cp" (setns) to talk to it, plus a
    resource group to work in;
  - a throwaway OpenSSH: host and client ed25519 keys, an sshd_config, and sshd started in
    a namespace inside a private mount namespace (a tmpfs /run for /run/sshd);
  - the agent's process, log and state dir, enrollment tokens, the API helpers
    (enforcement point, in sync, initiate), TCP connects and probe loops run inside the
    namespaces, and table inet jitgate read back with `nft -j`;
  - TAP output (`Tap`, `skip_all`) and `main`, which checks the prerequisites, runs the
    scenarios and always tears down.

It never touches the host's own firewall, routes, forwarding or sshd: every interface is
created inside a test namespace (peers moved straight into another one), every nftables
rule, route and sysctl is set with `ip netns exec`, and sshd's /run is a tmpfs in its own
mount namespace. Everything is torn down on success, on failure (an exception is a
"not ok"), and on SIGINT, SIGTERM and SIGHUP (turned into SystemExit so that `finally`
runs): every process left in the namespaces is killed, the namespaces are deleted and the
temporary directory is removed. Without root, ip netns, nftables or OpenSSH a test prints
"1..0 # SKIP ..." and exits 0.

Also, run inside a client namespace:
  netns_harness.py --probe open|closed tcp|udp HOST PORT SECONDS
loops until a connect succeeds (open) or gets no answer (closed) and prints that attempt's
wall-clock time (after "ready" once the first attempt failed);
  netns_harness.py --connect tcp|udp HOST PORT SECONDS
tries once (exit 0 when it connected / got the echo back).
"""
import ctypes
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.abspath(__file__)
PROBE = [sys.executable, os.path.join(HERE, "netprobe.py")]
CLONE_NEWNET = 0x40000000
LOC = "westeurope"
PORT = 8443


# ---- the probe loop (runs inside a namespace) ------------------------------------------

def probe_once(kind, host, port, secs):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    if kind == "tcp":
        try:
            with socket.create_connection((host, port), timeout=secs):
                return True
        except OSError:
            return False
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(secs)
    try:
        s.sendto(b"ping", (host, port))
        return s.recvfrom(64)[0] == b"ping"
    except OSError:
        return False
    finally:
        s.close()


def probe_main(argv):
    want, kind, host, port, secs = argv[0], argv[1], argv[2], int(argv[3]), float(argv[4])
    deadline = time.time() + secs
    # A dropped SYN is retransmitted only after a second: short attempts, many of them.
    attempt = 0.05 if want == "open" else 0.3
    ready = False
    while time.time() < deadline:
        t0 = time.time()
        ok = probe_once(kind, host, port, attempt)
        if want == "open" and ok:
            print(f"{time.time():.6f}", flush=True)
            return 0
        if want == "closed" and not ok:
            print(f"{t0:.6f}", flush=True)
            return 0
        if not ready:
            # The caller may now start what should open the port.
            print("ready", flush=True)
            ready = True
        time.sleep(0.02 if want == "open" else 0.1)
    return 1


def connect_argv(kind, addr, port, secs):
    """The command line of one connect (see --connect), to run inside a namespace."""
    return [sys.executable, HARNESS, "--connect", kind, addr, str(port), str(secs)]


# ---- TAP ---------------------------------------------------------------------------

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.t0 = time.monotonic()

    def ok(self, cond, desc, *details):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {desc}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {desc}", flush=True)
            for d in details:
                for line in str(d).splitlines()[-40:]:
                    print(f"#   {line}")
        return bool(cond)

    def diag(self, msg):
        print(f"# [{time.monotonic() - self.t0:5.1f}s] {msg}", flush=True)


def skip_all(reason):
    print(f"1..0 # SKIP {reason}", flush=True)
    sys.exit(0)


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


# ---- namespaces ------------------------------------------------------------------------

class Net:
    """Namespaces NAMES (named PREFIX + pid + "-" + name), their processes, and teardown.
    A subclass sets NAMES, PREFIX and TMP_PREFIX and builds its links in links()."""

    NAMES = ()
    PREFIX = "jg"
    TMP_PREFIX = "jitgate-e2e."

    def __init__(self):
        ident = f"{self.PREFIX}{os.getpid()}"
        self.ns = {k: f"{ident}-{k}" for k in self.NAMES}
        self.created = []
        self.home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.tmp = tempfile.mkdtemp(prefix=self.TMP_PREFIX)
        os.chmod(self.tmp, 0o755)

    def run(self, ns, *cmd, timeout=30, check=False, input=None):
        """cmd inside namespace ns (ns None: where this process is)."""
        argv = (["ip", "netns", "exec", self.ns[ns]] if ns else []) + [str(c) for c in cmd]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def popen(self, ns, cmd, log, **kw):
        f = open(os.path.join(self.tmp, log), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns]] + [str(c) for c in cmd],
                             stdin=subprocess.DEVNULL, stdout=f, stderr=f, **kw)
        f.close()
        return p

    def setns(self, fd):
        if self.libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))

    def enter(self, ns):
        fd = os.open(f"/run/netns/{self.ns[ns]}", os.O_RDONLY)
        try:
            self.setns(fd)
        finally:
            os.close(fd)

    def build(self):
        """Makes the namespaces and links; a reason to skip if namespaces do not work."""
        for k in self.NAMES:
            r = self.run(None, "ip", "netns", "add", self.ns[k])
            if r.returncode != 0:
                return f"ip netns add does not work here: {r.stderr.strip()}"
            self.created.append(self.ns[k])
            self.run(k, "ip", "link", "set", "lo", "up", check=True)
        self.links()
        return None

    def links(self):
        raise NotImplementedError

    def teardown(self):
        try:
            self.setns(self.home_fd)
        except OSError:
            pass
        # Every process in these namespaces was started by this script.
        for name in self.created:
            r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in r.stdout.split():
                if int(pid) != os.getpid():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
        time.sleep(0.2)
        for name in self.created:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.created = []
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- the test's common half ------------------------------------------------------------

SSHD_CONFIG = """{ports}ListenAddress 0.0.0.0
ListenAddress ::
HostKey {tmp}/hostkey
PidFile {pidfile}
AuthorizedKeysFile {tmp}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
UseDNS no
LogLevel ERROR
"""


class E2E:
    """A subclass sets RG, AGENT_NS (where the agent and its table live), EP_NAME,
    JUSTIFICATION, TCP_SECS, LOGS and WATCH_MUST_START_OPEN, and writes the scenarios."""

    RG = "rg-e2e"
    AGENT_NS = "vm"
    EP_NAME = "ep"
    JUSTIFICATION = "e2e"
    TCP_SECS = 2
    LOGS = ("agent.log", "jitgated/jitgated.log")
    # closes_on_time: a TAP point that the port was still open when the watch began.
    WATCH_MUST_START_OPEN = False
    # More jitgated options (e.g. a test that initiates faster than the default limit).
    JITGATED_ARGS = ()

    def __init__(self, tap, net, jitgated, agent):
        self.tap, self.net = tap, net
        self.jitgated, self.agent_bin = jitgated, agent
        self.tmp = net.tmp
        self.agent = None
        self.agent_dir = os.path.join(self.tmp, "agent")
        self.agent_log = os.path.join(self.tmp, "agent.log")
        self.srv = None

    # -- helpers: processes --

    def agent_argv(self):
        """The agent's command line up to its own options: server, CA, state dir, debug.
        As root the agent's processes become --user (nobody here)."""
        argv = [self.agent_bin, "--server", f"https://{self.CP_ADDR}:{PORT}",
                "--ca", os.path.join(self.srv.state_dir, "tls", "cert.pem"),
                "--state-dir", self.agent_dir]
        if os.geteuid() == 0:
            argv += ["--user", "nobody"]
        return argv

    def kill_agent(self, sig=signal.SIGKILL, timeout=10):
        if self.agent is None:
            return None
        if self.agent.poll() is None:
            self.agent.send_signal(sig)
        try:
            rc = self.agent.wait(timeout)
        except subprocess.TimeoutExpired:
            self.agent.kill()
            rc = self.agent.wait()
        self.agent = None
        return rc

    def agent_text(self):
        try:
            with open(self.agent_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, since, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.agent_text()[since:])
            if m:
                return m
            time.sleep(0.1)
        return None

    def log_mark(self):
        return len(self.agent_text())

    def agent_status(self, pid=None):
        """/proc/PID/status of the running agent (or of pid) as {field: value}."""
        with open(f"/proc/{pid or self.agent.pid}/status") as f:
            return dict(line.split(":", 1) for line in f if ":" in line)

    def agent_children(self):
        """The agent's child processes (its network process), by PID."""
        kids = []
        for tid in os.listdir(f"/proc/{self.agent.pid}/task"):
            with open(f"/proc/{self.agent.pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
        return kids

    @staticmethod
    def tcp_sockets(pid):
        """How many TCP sockets (IPv4 or IPv6) process pid holds."""
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        n = 0
        for table in ("tcp", "tcp6"):
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                n += sum(1 for line in f if line.split()[9] in inodes)
        return n

    # -- helpers: API --

    def api(self, method, path, body=None):
        return self.srv.request(method, path, body)

    def ep_id(self):
        return f"{self.rgp}/providers/Jitgate/enforcementPoints/{self.EP_NAME}"

    def pol(self):
        return (f"{self.rgp}/providers/Microsoft.Security/locations/{LOC}"
                "/jitNetworkAccessPolicies/default")

    def ep(self):
        st, body, _ = self.api("GET", self.ep_id())
        return body if st == 200 else None

    def wait_in_sync(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ep = self.ep()
            if ep and ep["properties"]["inSync"] and "status" in ep["properties"]:
                return ep
            time.sleep(0.1)
        return None

    def initiate_vm(self, vm_id, ports, seconds):
        """ports: [(number, source)]; returns (status, body, wall time of the 202, end)."""
        end = time.time() + seconds
        body = {"virtualMachines": [{"id": vm_id, "ports": [
            {"number": n, "endTimeUtc": iso(end), "allowedSourceAddressPrefix": src}
            for n, src in ports]}], "justification": self.JUSTIFICATION}
        st, resp, _ = self.api("POST", self.pol() + "/initiate", body)
        return st, resp, time.time(), end

    def enrollment_token(self):
        """An Owner makes a one-time enrollment token (a TAP point); returns (token, file)."""
        st, tok, _ = self.api("POST", f"{self.rgp}/providers/Jitgate/enrollmentTokens",
                              {"validFor": "PT10M"})
        self.tap.ok(st == 201, "an Owner makes an enrollment token", st, tok)
        token_file = os.path.join(self.tmp, "enroll.token")
        with open(token_file, "w") as f:
            f.write(tok["token"] + "\n")
        os.chmod(token_file, 0o600)
        return tok["token"], token_file

    # -- helpers: traffic --

    def ssh_argv(self, addr, port=22, extra=()):
        return ["ssh", "-F", "/dev/null", "-i", os.path.join(self.tmp, "clientkey"),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=2", "-p", str(port), *extra, f"root@{addr}"]

    def tcp(self, ns, addr, port, secs=None):
        """A TCP connect (any server: sshd answers no "hello")."""
        secs = self.TCP_SECS if secs is None else secs
        return self.net.run(ns, *connect_argv("tcp", addr, port, secs)).returncode == 0

    def prober(self, ns, want, kind, addr, port, secs):
        """A probe loop in namespace ns (see --probe); read it with prober_result."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns[ns], sys.executable, HARNESS,
             "--probe", want, kind, addr, str(port), str(secs)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    @staticmethod
    def prober_ready(p):
        """Waits for the prober's first failed attempt; False if the port was open already."""
        return p.stdout.readline().strip() == "ready"

    @staticmethod
    def prober_result(p, timeout):
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return None
        lines = [x for x in out.split() if x != "ready"]
        return float(lines[-1]) if p.returncode == 0 and lines else None

    def closes_on_time(self, what, ns, addr, port, end, kind="tcp"):
        """Waits for the port to close; checks it closed within [end - 2 s, end + 1.5 s]."""
        p = self.prober(ns, "closed", kind, addr, port, max(5.0, end - time.time() + 15))
        # The watch must start while the port is open, or it measures nothing.
        if self.WATCH_MUST_START_OPEN and not self.tap.ok(
                self.prober_ready(p), f"{what}: still open when the watch begins "
                f"({end - time.time():.1f} s before the end time)"):
            self.prober_result(p, 5)
            return False
        closed = self.prober_result(p, max(10.0, end - time.time() + 25))
        if closed is None:
            return self.tap.ok(False, f"{what}: the port closes at the end time (it never did)")
        delta = closed - end
        self.tap.diag(f"{what}: closed {delta:+.2f} s from the end time")
        # The kernel's timeout is whole seconds rounded down: early by < 1 s, never late.
        return self.tap.ok(-2.0 <= delta <= 1.5,
                           f"{what}: the port closes on time ({delta:+.2f} s from endTimeUtc)")

    # -- helpers: the table, read-only --

    def table(self):
        """table inet jitgate in AGENT_NS: {set name: [(key tuple, timeout)]},
        "_chains": [(name, hook)]; None if there is no such table."""
        r = self.net.run(self.AGENT_NS, "nft", "-j", "list", "table", "inet", "jitgate")
        if r.returncode != 0:
            return None
        sets = {"_chains": []}
        for o in json.loads(r.stdout)["nftables"]:
            if "chain" in o:
                sets["_chains"].append((o["chain"]["name"], o["chain"].get("hook")))
            s = o.get("set")
            if not s:
                continue
            elems = []
            for e in s.get("elem", []):
                timeout = None
                if isinstance(e, dict) and "elem" in e:
                    timeout = e["elem"].get("timeout")
                    e = e["elem"]["val"]
                parts = []
                for v in e["concat"] if isinstance(e, dict) and "concat" in e else [e]:
                    if isinstance(v, dict) and "prefix" in v:
                        v = f"{v['prefix']['addr']}/{v['prefix']['len']}"
                    parts.append(v)
                elems.append((tuple(parts), timeout))
            sets[s["name"]] = elems
        return sets

    @staticmethod
    def keys(sets, name):
        return sorted(k for k, _ in sets.get(name, []))

    @staticmethod
    def grant_keys(sets, fam):
        """The grant keys of a family: single addresses (hash set grantsN) and prefixes
        (interval set netsN); each set holds only its own kind."""
        hosts = [k for k, _ in sets.get(f"grants{fam}", [])]
        nets = [k for k, _ in sets.get(f"nets{fam}", [])]
        if any("/" in str(k[0]) for k in hosts) or any("/" not in str(k[0]) for k in nets):
            return ["a prefix in a hash set or an address in an interval set", hosts, nets]
        return sorted(hosts + nets)

    # -- setup --

    def make_ssh_keys(self):
        """A host key, a client key, and the client key as the only authorized key."""
        ssh_keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        subprocess.run(ssh_keygen + ["-f", os.path.join(self.tmp, "hostkey")], check=True)
        subprocess.run(ssh_keygen + ["-f", os.path.join(self.tmp, "clientkey")], check=True)
        shutil.copy(os.path.join(self.tmp, "clientkey.pub"),
                    os.path.join(self.tmp, "authorized_keys"))

    def start_sshd(self, ns, config, ports, pidfile, log, vm_name=None):
        """Writes an sshd_config for ports and starts sshd in ns. sshd wants /run/sshd: a
        tmpfs /run in a private mount namespace, nothing on the host. With vm_name,
        /run/vm-name there lets an ssh session say which VM it reached."""
        cfg = os.path.join(self.tmp, config)
        with open(cfg, "w") as f:
            f.write(SSHD_CONFIG.format(ports="".join(f"Port {p}\n" for p in ports),
                                       tmp=self.tmp, pidfile=pidfile))
        name = 'echo "$2" > /run/vm-name && ' if vm_name else ""
        self.net.popen(ns, ["unshare", "-m", "--propagation", "private", "sh", "-c",
                            'mount -t tmpfs jitgate-e2e /run && mkdir -m 0755 /run/sshd && '
                            + name + 'exec /usr/sbin/sshd -D -e -f "$1"', "sh", cfg]
                       + ([vm_name] if vm_name else []), log)

    def start_jitgated(self):
        """jitgated in "cp", this process with it; a resource group RG to work in."""
        # Imported here: the probe loops that run this file need none of it.
        sys.path.insert(0, HERE)
        from jitgated_harness import Server
        self.net.enter("cp")
        self.srv = Server(self.jitgated, state_dir=os.path.join(self.tmp, "jitgated"),
                          extra_args=["--listen", f"0.0.0.0:{PORT}", "--tls-name", self.CP_ADDR,
                                      *self.JITGATED_ARGS])
        os.makedirs(self.srv.state_dir, mode=0o700, exist_ok=True)
        self.srv.start()
        st, body, _ = self.api("GET", "/subscriptions")
        self.sub = body["value"][0]["subscriptionId"]
        self.rgp = f"/subscriptions/{self.sub}/resourceGroups/{self.RG}"
        st, _, _ = self.api("PUT", self.rgp, {"location": LOC})
        if st not in (200, 201):
            raise RuntimeError(f"cannot create the resource group: {st}")

    @staticmethod
    def wait_up(ready, what):
        """Waits up to 15 s for ready() (sshd and the test servers answering)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.3)
        raise RuntimeError(what)

    def show_logs(self):
        for name in self.LOGS:
            path = os.path.join(self.tmp, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()[-30:]
                for line in lines:
                    print(f"# {name}: {line}")


# ---- the run ---------------------------------------------------------------------------

def main(usage, tools, make_net, make_e2e, scenarios, before=None, after_teardown=None):
    """Checks the prerequisites (skipping the file without them), builds make_net() and
    runs scenarios(e2e) on make_e2e(tap, net, jitgated, agent) after its setup(); always
    tears down. before() runs once the prerequisites hold, after_teardown(tap, e2e)
    after the teardown. Returns (tap, rc): rc 0 when the scenarios ran to the end."""
    if len(sys.argv) != 3:
        skip_all(usage)
    jitgated, agent = (os.path.abspath(a) for a in sys.argv[1:3])
    if os.geteuid() != 0:
        skip_all("needs root for network namespaces and nftables")
    for c in tools:
        if shutil.which(c) is None:
            skip_all(f"{c} is not installed")
    if not os.access("/usr/sbin/sshd", os.X_OK):
        skip_all("OpenSSH server (/usr/sbin/sshd) is not installed")
    for b in (jitgated, agent):
        if not os.access(b, os.X_OK):
            skip_all(f"{b} is not built")

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    if before is not None:
        before()
    net = make_net()
    tap = Tap()
    e2e = None
    rc = 1
    try:
        why = net.build()
        if why:
            net.teardown()
            skip_all(why)
        r = net.run(make_e2e.AGENT_NS, "nft", "list", "ruleset")
        if r.returncode != 0:
            net.teardown()
            skip_all(f"nftables does not work in a namespace here: {r.stderr.strip()}")
        e2e = make_e2e(tap, net, jitgated, agent)
        e2e.setup()
        scenarios(e2e)
        rc = 0 if tap.failed == 0 else 1
    except SystemExit:
        raise
    except Exception:
        tap.ok(False, "the scenarios ran to the end", traceback.format_exc())
        print("Bail out! an unexpected error stopped the run", flush=True)
    finally:
        if e2e is not None and (tap.failed or rc):
            e2e.show_logs()
        if e2e is not None:
            e2e.kill_agent()
            if e2e.srv is not None:
                e2e.srv.stop(sig=signal.SIGKILL)
        net.teardown()
        if after_teardown is not None:
            after_teardown(tap, e2e)
    return tap, rc


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        sys.exit(probe_main(sys.argv[2:]))
    if len(sys.argv) == 6 and sys.argv[1] == "--connect":
        sys.exit(0 if probe_once(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                                 float(sys.argv[5])) else 1)
    print(__doc__.strip(), file=sys.stderr)
    sys.exit(2)
