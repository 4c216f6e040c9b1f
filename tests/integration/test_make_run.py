#!/usr/bin/env python3
"""The README's first five minutes, for real: `make run` starts jitgated, a demo VM namespace
with sshd and an agent, enables JIT; then exactly the commands it prints are run (the PATH
line, list VMs, request access with --wait, ssh), and the port is seen to close on time.
Also: a second `make run` is refused and leaves the first alone; `make run` started in the
background (SIGINT ignored, as a non-interactive shell does) still stops on SIGINT; when its
jitgated dies it says so and stops; `make stop` stops it.

Usage: test_make_run.py BUILD_DIR    (speaks TAP; needs root: skips otherwise)
Uses temporary state dirs and config home; the script removes its namespace on exit.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# Its own namespace, /24 and link (PID-based), so that it never meets a user's make run
# (jitgate-demo, 10.203.0.0/24) or another run of this test.
NS = f"jgr{os.getpid()}"
NET = f"10.205.{os.getpid() % 250 + 1}"
LINK = f"jgr{os.getpid() % 1000000}h"


def ns_exists():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return any(line.split()[0] == NS for line in out.splitlines() if line.strip())


class Run:
    """One make run (or scripts/run.sh), its output in a file."""

    def __init__(self, tmp, name, argv, env, ignore_int=False):
        self.path = os.path.join(tmp, name + ".out")
        self.log = open(self.path, "w+")

        def pre():
            if ignore_int:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=pre)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self, limit=120):
        deadline = time.time() + limit
        while time.time() < deadline and "Ctrl-C stops everything" not in self.output():
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        return "Ctrl-C stops everything" in self.output()

    def children(self, name):
        """PIDs of this run's processes called name (its descendants only)."""
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], capture_output=True,
                             text=True).stdout
        rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
        tree, found = {self.proc.pid}, True
        while found:
            found = False
            for pid, ppid, _ in rows:
                if int(ppid) in tree and int(pid) not in tree:
                    tree.add(int(pid))
                    found = True
        return [int(pid) for pid, _, comm in rows if int(pid) in tree and comm == name]

    def stop(self, sig=signal.SIGINT):
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def readme_tour(build, state, port):
    """The README's tour, every shell block from "A short tour" to "Deploying", as a
    script: as written, but for where this test keeps the state (.state), its port (8443)
    and its /24 (10.203.0), and the az lines when the Azure CLI is missing. A line whose
    comment says "refused" must fail."""
    text = open(os.path.join(ROOT, "README.md")).read()
    part = text[text.index("## A short tour"):text.index("## Deploying")]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", part, re.S):
        lines += block.replace("\\\n", " ").splitlines()
    out = ["set -e"]
    for line in lines:
        line = line.replace('$PWD/build/src/cli', os.path.join(build, "src", "cli"))
        line = line.replace(".state/", state + "/").replace(":8443", f":{port}")
        line = line.replace("10.203.0.", NET + ".")
        cmd = line.split("  #")[0].strip() if "  #" in line else line
        if not cmd or cmd.startswith("#"):
            continue
        if re.match(r"(export REQUESTS_CA_BUNDLE|az )", cmd) and shutil.which("az") is None:
            out.append(f": skipped, no az: {cmd}")
        elif "refused" in line:
            out.append(f"if {cmd}; then echo 'TOUR: not refused: {cmd}'; exit 1; fi")
        else:
            out.append(cmd)
    return "\n".join(out) + "\n"


def main():
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("1..0 # SKIP make run's demo namespace needs root")
        return 0
    if shutil.which("ip") is None or shutil.which("sshd") is None and not os.path.exists(
            "/usr/sbin/sshd"):
        print("1..0 # SKIP iproute2 or openssh-server missing")
        return 0
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("1..0 # SKIP network namespaces unavailable")
        return 0
    print("1..14", flush=True)
    tmp = tempfile.mkdtemp(prefix="jitgate-run-test-")
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "config"), HOME=tmp,
               JITGATE_PORT=os.environ.get("JITGATE_TEST_RUN_PORT", "18643"))
    env.pop("JITGATE_PROFILE", None)
    env.update(JITGATE_DEMO_NS=NS, JITGATE_DEMO_NET=NET, JITGATE_DEMO_LINK=LINK)
    failed = 0
    n = 0
    runs = []

    def check(ok, name, detail=""):
        nonlocal failed, n
        n += 1
        print(f"{'ok' if ok else 'not ok'} {n} - {name}", flush=True)
        if not ok:
            failed += 1
            for line in str(detail).splitlines()[-30:]:
                print("# " + line)
        return ok

    def script(name, state, **kw):
        r = Run(tmp, name, ["sh", os.path.join(ROOT, "scripts", "run.sh"), build,
                            os.path.join(tmp, state)], env, **kw)
        runs.append(r)
        return r

    try:
        # A missing program is named, with its package, before anything is set up.
        nocurl = os.path.join(tmp, "bin-without-curl")
        os.mkdir(nocurl)
        for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            for f in os.listdir(d) if os.path.isdir(d) else []:
                dst = os.path.join(nocurl, f)
                if f != "curl" and not os.path.lexists(dst):
                    os.symlink(os.path.join(d, f), dst)
        r = subprocess.run(["/bin/sh", os.path.join(ROOT, "scripts", "run.sh"), build,
                            os.path.join(tmp, "state-nocurl")], cwd=ROOT,
                           env=dict(env, PATH=nocurl), capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 1 and "missing program 'curl' (Debian package curl)" in r.stderr
              and not ns_exists(), "a missing curl is named", r.stdout + r.stderr)

        # As the README says: make run; here in the background, SIGINT ignored.
        a = Run(tmp, "a", ["make", "-C", ROOT, "--no-print-directory", "run", "BUILD=" + build,
                           "STATE_DIR=" + os.path.join(tmp, "state")], env, ignore_int=True)
        runs.append(a)
        ready = a.wait_ready()
        out = a.output()
        check(ready, "make run starts and prints the next steps", out)
        lines = [l.strip() for l in out.splitlines() if l.startswith("    ")]
        exports = [l for l in lines if l.startswith("export PATH=")]
        cmds = [l for l in lines if re.match(r"(jitgate |ssh )", l)]
        if not ready or len(cmds) != 3 or len(exports) != 1:
            check(False, "a PATH line and three commands printed", out)
            return 1
        path = shlex.split(exports[0].split("#")[0])[1].split("=", 1)[1]
        env["PATH"] = path.replace("$PATH", os.environ["PATH"])
        vm_list, request, ssh = cmds
        check("-o ConnectTimeout=5" in ssh, "the ssh command gives up after 5 s", ssh)
        # The console URL it prints serves the console (sign-in with the printed token).
        m = re.search(r"The web console: (https://\S+/)", out)
        page = subprocess.run(["curl", "-sS", "-i", "--cacert",
                               os.path.join(tmp, "state", "jitgated", "tls", "cert.pem"),
                               m.group(1)], capture_output=True, text=True,
                              timeout=20).stdout if m else ""
        check(m is not None and page.startswith("HTTP/1.1 200") and
              "<title>jitgate console</title>" in page and
              "require-trusted-types-for" in page, "make run prints the web console's URL, "
              "which serves the console", out + page[:400])

        def run(cmd, timeout=60):
            argv = shlex.split(cmd)
            if argv[0] == "ssh":
                argv = ["ssh", "-o", "BatchMode=yes"] + argv[1:] + ["true"]
            return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=timeout)

        r = run(vm_list)
        check(r.returncode == 0 and "demo-vm" in r.stdout and "Configured" in r.stdout,
              "jitgate (on the printed PATH) vm list shows the demo VM Configured",
              r.stdout + r.stderr)

        # A second one is refused, and the first keeps running untouched.
        b = script("b", "state-b")
        try:
            b.proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        m = re.search(r"another 'make run' is running \(pid (\d+)\)", b.output())
        check(b.proc.returncode == 1 and m is not None, "a second make run is refused",
              b.output())
        check(ns_exists() and run(vm_list).returncode == 0 and a.proc.poll() is None,
              "the first one is untouched", b.output())

        r = run(ssh, timeout=20)
        check(r.returncode != 0, "before a request, ssh cannot connect", r.stdout + r.stderr)
        request = request.replace("--for 2m", "--for 8s")
        r = run(request)
        t_granted = time.time()
        check(r.returncode == 0 and "applied" in r.stderr, "jitgate request --wait", r.stderr)
        r = run(ssh, timeout=20)
        ok_open = r.returncode == 0
        # The grant ends 8 s after the request; poll until the port is closed again.
        closed_at = None
        while time.time() < t_granted + 40:
            if run(ssh, timeout=20).returncode != 0:
                closed_at = time.time()
                break
            time.sleep(1)
        check(ok_open and closed_at is not None,
              f"ssh connects, then the port closes on time ({(closed_at or 0) - t_granted:.1f} s)",
              r.stdout + r.stderr)

        # SIGINT reaches it although it was started with SIGINT ignored.
        os.killpg(a.proc.pid, signal.SIGINT)
        try:
            a.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        check(a.proc.poll() is not None and "stopped; state kept" in a.output() and
              not ns_exists(), "SIGINT stops a background make run and removes the namespace",
              a.output())

        # Its jitgated dying stops it, saying so.
        c = script("c", "state")
        ok = c.wait_ready()
        pids = c.children("jitgated")
        if ok and len(pids) == 1:
            os.kill(pids[0], signal.SIGKILL)
            try:
                c.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        check(ok and len(pids) == 1 and c.proc.poll() == 1 and
              f"jitgated (pid {pids[0]}) exited" in c.output() and not ns_exists(),
              "when jitgated dies, make run says so and stops", c.output())

        # Every command of the README's tour, against the demo, as written.
        d = script("d", "state")
        ok = d.wait_ready()
        tour = readme_tour(build, os.path.join(tmp, "state"), env["JITGATE_PORT"])
        work = os.path.join(tmp, "tour")
        os.mkdir(work)
        r = subprocess.run(["sh", "-x", "-c", tour], cwd=work, env=env, capture_output=True,
                           text=True, timeout=240, stdin=subprocess.DEVNULL) if ok else None
        check(ok and r.returncode == 0, "the README's tour runs as written",
              d.output() if not ok else tour + r.stdout[-3000:] + r.stderr[-6000:])

        # make stop.
        r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "stop"], env=env,
                           capture_output=True, text=True, timeout=60)
        try:
            d.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        check(ok and r.returncode == 0 and f"stopped pid {d.proc.pid}" in r.stdout and
              d.proc.poll() is not None and not ns_exists(), "make stop stops it",
              r.stdout + r.stderr + d.output())
    finally:
        for r in runs:
            r.stop()
        if ns_exists():
            subprocess.run(["ip", "netns", "del", NS])
            print("# the namespace was left behind")
            failed += 1
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
