#!/usr/bin/env python3
"""Security finding 2 over IPv6 (docs/security.md): connections are counted per /64.

Usage: test_security_netns.py PATH/TO/jitgated    (speaks TAP; needs root and ip netns)

A network namespace of its own ("jsec<pid>"), with lo up and addresses fd00:64::1..6 and
fd00:65::1 on it, runs jitgated on [fd00:64::ff]:8443. From inside it, idle sockets (no
TLS bytes) from five addresses of fd00:64::/64 are held open: the /64 is one caller, so
together they keep at most 8 (per exact address they would keep 40); a client of another
/64 is then served. The namespace, jitgated and the state directory are removed on
success, failure and signals; nothing touches the host's network.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NS = f"jsec{os.getpid()}"
PORT = 8443
CLIENT = r'''
import socket, ssl, sys, time, select
port, cafile = int(sys.argv[1]), sys.argv[2]
socks = []
for i in range(1, 6):
    for _ in range(10):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind((f"fd00:64::{i}", 0))
        try:
            s.connect(("fd00:64::ff", port))
            socks.append(s)
        except OSError:
            s.close()
time.sleep(1)
alive = 0
for s in socks:
    r, _, _ = select.select([s], [], [], 0)
    alive += not r
print("alive", alive)
ctx = ssl.create_default_context(cafile=cafile)
raw = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
raw.settimeout(8)
raw.bind(("fd00:65::1", 0))
raw.connect(("fd00:64::ff", port))
tls = ctx.wrap_socket(raw, server_hostname="fd00:64::ff")
tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: [fd00:64::ff]\r\nConnection: close\r\n\r\n")
print("client", tls.recv(64).split(b"\r\n")[0].decode())
'''


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), check=check, capture_output=True, text=True)


def main():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("1..0 # SKIP needs root and ip netns")
        return 0
    jitgated = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="jitgate-sec-netns.")
    proc = None
    n = 0
    failed = 0

    def ok(cond, desc, *details):
        nonlocal n, failed
        n += 1
        print(("ok" if cond else "not ok") + f" {n} - {desc}", flush=True)
        if not cond:
            failed += 1
            for d in details:
                print("# " + str(d).replace("\n", "\n# "))

    def stop(*_):
        raise SystemExit(1)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        ip("netns", "add", NS)
        ip("-n", NS, "link", "set", "lo", "up")
        for a in ["fd00:64::ff"] + [f"fd00:64::{i}" for i in range(1, 7)] + ["fd00:65::1"]:
            ip("-n", NS, "addr", "add", f"{a}/64", "dev", "lo", "nodad")
        state = os.path.join(tmp, "state")
        os.mkdir(state, 0o700)
        log = open(os.path.join(tmp, "jitgated.log"), "wb")
        proc = subprocess.Popen(["ip", "netns", "exec", NS, jitgated, "--state-dir", state,
                                 "--listen", f"[fd00:64::ff]:{PORT}", "--allow-root",
                                 "--tls-name", "fd00:64::ff"], stdout=log, stderr=log)
        deadline = time.time() + 20
        text = ""
        while time.time() < deadline and "event=listening" not in text:
            time.sleep(0.1)
            text = open(os.path.join(tmp, "jitgated.log"), errors="replace").read()
        ok("event=listening" in text, "jitgated listens on fd00:64::ff in its namespace", text)
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c", CLIENT, str(PORT),
                            os.path.join(state, "tls", "cert.pem")],
                           capture_output=True, text=True, timeout=60)
        out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
        alive = int(out.get("alive", "-1"))
        ok(0 < alive <= 8, "idle sockets from five addresses of one /64: at most 8 kept "
           "(one caller)", r.stdout, r.stderr)
        ok(out.get("client") == "HTTP/1.1 200 OK", "a client of another /64 is served",
           r.stdout, r.stderr)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in ip("netns", "pids", NS, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "del", NS, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    ok(NS not in os.listdir("/run/netns") if os.path.isdir("/run/netns") else True,
       "the namespace is gone")
    print(f"1..{n}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
