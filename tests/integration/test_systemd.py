#!/usr/bin/env python3
"""jitgated under systemd's protocols, for real, without systemd: the test is the service
manager's other end.

  - Type=notify: READY=1 arrives on $NOTIFY_SOCKET only once the store is open and the
    listener answers; STOPPING=1 on SIGTERM.
  - The watchdog ($WATCHDOG_USEC, $WATCHDOG_PID) pings only while its health check passes:
    when every connection slot is taken (the listener cannot serve anyone) the pings stop
    and STATUS= says why; they resume once it serves again.
  - The soft limit on open files is raised to the hard one.
  - Socket activation ($LISTEN_FDS, $LISTEN_PID, fd 3): jitgated serves the socket it was
    given, not --listen.
  - Logs reach the journal exactly once: with $JOURNAL_STREAM naming stderr, each event
    arrives once over journald's native protocol with structured fields and stderr stays
    empty; with a $JOURNAL_STREAM that names something else, stderr only. (Needs root: a
    journal socket is bound at /run/systemd/journal/socket inside a private mount
    namespace with a tmpfs /run, so the host's journal is never touched.)

Usage: test_systemd.py PATH/TO/jitgated    (speaks TAP)
"""
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Skip, Tap, expect  # noqa: E402

tap = Tap()
HERE = os.path.abspath(__file__)


class Ctx:
    pass


def start(c, env_extra, args=(), stderr_path=None, pass_fds=(), prefix="", nofile=None):
    """jitgated through sh, so that $$ (LISTEN_PID, WATCHDOG_PID) is its own pid."""
    state = tempfile.mkdtemp(prefix="jitgated-sd-", dir=c.tmp)
    log = stderr_path or os.path.join(state, "log")
    argv = [c.binary, "--state-dir", state, "--listen", "127.0.0.1:0"] + list(args)
    if os.geteuid() == 0:
        argv.append("--allow-root")
    env = {k: v for k, v in os.environ.items() if k not in (
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
        "LISTEN_FDNAMES", "JOURNAL_STREAM")}
    env.update(env_extra)

    def limits():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

    f = open(log, "ab")
    p = subprocess.Popen(["sh", "-c", prefix + 'exec "$@"', "sh"] + argv, env=env,
                         stdout=f, stderr=f, pass_fds=pass_fds, preexec_fn=limits)
    f.close()
    return p, state, log


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def wait_port(log, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in read(log).splitlines():
            if "event=listening" in line:
                return int(line.split(" port=")[1].split()[0])
        time.sleep(0.05)
    raise AssertionError("jitgated did not log event=listening:\n" + read(log))


def healthz(state, port, timeout=5):
    ctx = ssl.create_default_context(cafile=os.path.join(state, "tls", "cert.pem"))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx,
                                timeout=timeout) as r:
        return r.status, json.loads(r.read())


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


class Notify:
    """The service manager's end of $NOTIFY_SOCKET."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        self.got = []           # (monotonic time, message)

    def collect(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            self.s.settimeout(left)
            try:
                msg = self.s.recv(65536).decode()
            except socket.timeout:
                return
            self.got.append((time.monotonic(), msg))

    def wait_for(self, text, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, m in self.got:
                if text in m.split("\n"):
                    return t, m
            self.collect(min(0.2, max(0.01, end - time.monotonic())))
        return None

    def since(self, t0, text):
        return [m for t, m in self.got if t >= t0 and any(x.startswith(text)
                                                            for x in m.split("\n"))]


def setup():
    c = Ctx()
    c.binary = os.path.abspath(sys.argv[1])
    c.tmp = tempfile.mkdtemp(prefix="jitgate-systemd-test-")
    os.chmod(c.tmp, 0o755)
    c.procs = []
    return c


def teardown(c):
    if c is not None:
        for p in c.procs:
            stop(p)
        shutil.rmtree(c.tmp, ignore_errors=True)


@tap.test
def notify_ready_watchdog_and_stopping(c):
    n = Notify(c.tmp)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    soft = min(512, hard)
    # A 2 s watchdog: a check every second, each allowed a second (ASan, a loaded CI).
    p, state, log = start(c, {"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "2000000"},
                          prefix="WATCHDOG_PID=$$ ", nofile=(soft, hard))
    c.procs.append(p)
    ready = n.wait_for("READY=1", 20)
    expect(ready is not None, "no READY=1", n.got, read(log))
    # At READY the listener answers and the store reads (/healthz does a read).
    expect("event=listening" in read(log), "READY=1 before the listener", read(log))
    port = wait_port(log)
    expect(healthz(state, port) == (200, {"status": "ok"}))
    expect(f"STATUS=serving HTTPS on 127.0.0.1 port {port}" in ready[1], ready)
    # The soft limit on open files is the hard one now.
    with open(f"/proc/{p.pid}/limits") as f:
        line = [x for x in f if x.startswith("Max open files")][0].split()
    expect(line[3] == line[4] == str(hard), f"soft {line[3]}, hard {line[4]}, want {hard}")
    expect(hard == soft or "event=nofile_limit" in read(log), read(log))

    # Pings every half period while the health check passes.
    t0 = time.monotonic()
    n.collect(4)
    pings = n.since(t0, "WATCHDOG=1")
    expect(len(pings) >= 3, f"{len(pings)} pings in 4 s", n.got[-10:])

    # Every connection slot this address may have taken by idle TLS clients: nobody more
    # can be served from here, the check fails, the pings stop.
    hold = []
    tls = ssl.create_default_context(cafile=os.path.join(state, "tls", "cert.pem"))

    def grab(tries):
        for _ in range(tries):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                hold.append(tls.wrap_socket(s, server_hostname="127.0.0.1"))
            except OSError:
                return

    grab(300)
    t1 = time.monotonic()
    failed = None
    while failed is None and time.monotonic() < t1 + 12:
        # A slot the check itself held during the burst comes free after it: take it.
        grab(2)
        n.collect(0.2)
        failed = next((t for t, m in n.got if t >= t1 and
                       m.startswith("STATUS=health check failed")), None)
    expect(failed is not None, "the check did not fail while nothing could be served",
           len(hold), n.got[-12:], read(log)[-2000:])
    n.collect(3)
    late = [m for t, m in n.got if t > failed + 0.05 and "WATCHDOG=1" in m.split("\n")]
    expect(not late, "pings went on while the check failed", n.got[-12:])
    for s in hold:
        s.close()
    t2 = time.monotonic()
    n.collect(6)
    again = n.since(t2, "WATCHDOG=1")
    expect(again, "pings did not resume", n.got[-10:], read(log)[-2000:])
    expect("event=health_check_failed" in read(log) and
           "event=health_check_passed" in read(log), read(log)[-2000:])

    t3 = time.monotonic()
    rc = stop(p)
    n.collect(0.5)
    expect(rc == 0 and n.since(t3, "STOPPING=1"), rc, n.got[-5:])


@tap.test
def no_watchdog_pings_for_another_pid(c):
    # $WATCHDOG_PID names the service's main process; a child that inherits it must not
    # ping (sd_watchdog_enabled checks it).
    n = Notify(os.path.join(tempfile.mkdtemp(dir=c.tmp)))
    p, state, log = start(c, {"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "1000000",
                              "WATCHDOG_PID": "1"})
    c.procs.append(p)
    expect(n.wait_for("READY=1", 20) is not None, n.got, read(log))
    n.collect(2)
    expect(not [m for _, m in n.got if "WATCHDOG=1" in m.split("\n")], n.got)
    stop(p)


@tap.test
def socket_activation(c):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    port = ls.getsockname()[1]
    fd = ls.fileno()
    # --listen names a port nobody may use: the passed socket is served instead.
    p, state, log = start(c, {"LISTEN_FDS": "1"}, args=["--listen", "127.0.0.1:1"],
                          pass_fds=(fd,), prefix=f"export LISTEN_PID=$$; exec 3<&{fd}; ")
    c.procs.append(p)
    ls.close()
    got = wait_port(log)
    expect(got == port, f"serves {got}, was given {port}", read(log))
    expect("socket=systemd" in read(log), read(log))
    expect(healthz(state, port) == (200, {"status": "ok"}))
    stop(p)
    # Two sockets: refused with a reason (one ListenStream=).
    a, b = socket.socket(), socket.socket()
    for s in (a, b):
        s.bind(("127.0.0.1", 0))
        s.listen(1)
    p, state, log = start(c, {"LISTEN_FDS": "2"}, pass_fds=(a.fileno(), b.fileno()),
                          prefix=f"export LISTEN_PID=$$; exec 3<&{a.fileno()} 4<&{b.fileno()}; ")
    rc = p.wait(20)
    expect(rc == 1 and "passed 2 sockets" in read(log), rc, read(log))
    a.close()
    b.close()


# ---- the journal: run inside a private mount namespace (see --journal-inner) ----

def journal_fields(datagram):
    """journald's native protocol: KEY=VALUE\\n, or KEY\\n<le64 size><VALUE>\\n."""
    fields, i = [], 0
    while i < len(datagram):
        nl = datagram.index(b"\n", i)
        line = datagram[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            size = struct.unpack("<Q", datagram[nl + 1:nl + 9])[0]
            v = datagram[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields.append((k.decode(), v.decode("utf-8", "replace")))
    return fields


def journal_inner(binary, tmp):
    """In a private mount namespace: a journal socket of our own, jitgated twice."""
    subprocess.run(["mount", "-t", "tmpfs", "jitgate-test", "/run"], check=True)
    os.makedirs("/run/systemd/journal")
    js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    js.bind("/run/systemd/journal/socket")
    js.settimeout(0.2)
    c = Ctx()
    c.binary, c.tmp = binary, tmp
    out = {}
    for mode in ("matching", "other"):
        err_path = os.path.join(tmp, f"stderr-{mode}")
        open(err_path, "w").close()
        st = os.stat(err_path)
        stream = f"{st.st_dev}:{st.st_ino}" if mode == "matching" else f"{st.st_dev}:1"
        p, state, _ = start(c, {"JOURNAL_STREAM": stream}, stderr_path=err_path)
        entries = []
        deadline = time.time() + 20
        port = None
        while time.time() < deadline and port is None:
            try:
                entries.append(journal_fields(js.recv(1 << 20)))
            except socket.timeout:
                pass
            for e in entries + [[("MESSAGE", x)] for x in read(err_path).splitlines()]:
                msg = dict(e).get("MESSAGE", "")
                if "event=listening" in msg:
                    port = int(msg.split(" port=")[1].split()[0])
        for _ in range(3):
            healthz(state, port)
        # Two refused requests: each one request line and one audit entry (a failed
        # sign-in), to count.
        ctx = ssl.create_default_context(cafile=os.path.join(state, "tls", "cert.pem"))
        for _ in range(2):
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{port}/subscriptions?"
                                       "api-version=2020-01-01", context=ctx).close()
            except urllib.error.HTTPError as e:
                e.read()
        stop(p)
        end = time.time() + 1
        while time.time() < end:
            try:
                entries.append(journal_fields(js.recv(1 << 20)))
            except socket.timeout:
                pass
        out[mode] = {"journal": entries, "stderr": read(err_path)}
    print(json.dumps(out))
    return 0


@tap.test
def logs_reach_the_journal_exactly_once(c):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise Skip("needs root and unshare (a journal socket in a private mount namespace)")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, HERE,
                        "--journal-inner", c.binary, c.tmp], capture_output=True, text=True,
                       timeout=120)
    expect(r.returncode == 0, r.stdout[-2000:], r.stderr[-2000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    m = out["matching"]
    # Native: every event once in the journal, nothing on stderr.
    expect(m["stderr"] == "", "stderr is not empty under journald", m["stderr"][:2000])
    events = [dict(e) for e in m["journal"]]
    for e in events:
        expect(e.get("SYSLOG_IDENTIFIER") == "jitgated" and e.get("PRIORITY") in "34567" and
               "JITGATE_EVENT" in e and e["MESSAGE"].startswith("level=") and
               "CODE_FILE" not in e, e)
    names = [e["JITGATE_EVENT"] for e in events]
    expect(names.count("listening") == 1 and names.count("stopping") == 1, names)
    health = [e for e in events if e.get("JITGATE_PATH") == "/healthz"]
    expect(health == [], "a passing /healthz is not logged", health)
    listening = [e for e in events if e["JITGATE_EVENT"] == "listening"][0]
    expect(listening.get("JITGATE_ADDR") == "127.0.0.1" and listening.get("JITGATE_PORT"),
           listening)
    refused = [e for e in events if e["JITGATE_EVENT"] == "request"]
    expect(len(refused) == 2 and all(e.get("JITGATE_STATUS") == "401" and
                                     e.get("JITGATE_PATH") == "/subscriptions" and
                                     e.get("PRIORITY") == "6" for e in refused),
           "each refused request once, with its fields", refused)
    audits = [e for e in events if e["JITGATE_EVENT"] == "audit"]
    expect(len(audits) == 2 and all(e.get("JITGATE_HASH") and
                                    e.get("JITGATE_OPERATION") == "Jitgate/signIn/action"
                                    for e in audits), "each audit entry once", audits)
    # A $JOURNAL_STREAM that is not our stderr: stderr only, nothing to the journal.
    o = out["other"]
    expect(o["journal"] == [], "journal entries although stderr is not the journal",
           o["journal"][:3])
    lines = o["stderr"].splitlines()
    expect(sum("event=listening" in x for x in lines) == 1 and
           sum("event=stopping" in x for x in lines) == 1 and
           sum("event=request" in x for x in lines) == 2 and
           sum("event=audit " in x for x in lines) == 2, lines[:20])  # not audit_checkpoint


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--journal-inner":
        sys.exit(journal_inner(sys.argv[2], sys.argv[3]))
    sys.exit(tap.run(setup, teardown))
