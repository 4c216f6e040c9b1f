#!/usr/bin/env python3
"""The README's first five minutes, for real: `make run`'s script starts jitgated, a demo VM
namespace with sshd and an agent, enables JIT; then exactly the three commands it prints are
run (list VMs, request access with --wait, ssh), and the port is seen to close on time.

Usage: test_make_run.py BUILD_DIR    (speaks TAP; needs root: skips otherwise)
Uses a temporary state dir and config home; the script removes its namespace on exit.
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
    print("1..6", flush=True)
    tmp = tempfile.mkdtemp(prefix="jitgate-run-test-")
    state = os.path.join(tmp, "state")
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "config"), HOME=tmp,
               JITGATE_PORT=os.environ.get("JITGATE_TEST_RUN_PORT", "18643"))
    log = open(os.path.join(tmp, "run.out"), "w+")
    proc = subprocess.Popen(["sh", os.path.join(ROOT, "scripts", "run.sh"), build, state],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    failed = 0
    n = 0

    def check(ok, name, detail=""):
        nonlocal failed, n
        n += 1
        print(f"{'ok' if ok else 'not ok'} {n} - {name}", flush=True)
        if not ok:
            failed += 1
            for line in str(detail).splitlines()[-30:]:
                print("# " + line)

    def output():
        log.seek(0)
        return log.read()

    try:
        deadline = time.time() + 90
        while time.time() < deadline and "Ctrl-C stops everything" not in output():
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        out = output()
        check("Ctrl-C stops everything" in out, "make run starts and prints the next steps", out)
        cmds = [l.strip() for l in out.splitlines()
                if re.match(r"    (\S*jitgate |ssh )", l)]
        if len(cmds) != 3:
            check(False, "three commands printed", out)
            failed += 4
            return 1
        vm_list, request, ssh = cmds
        # The console URL it prints serves the console (sign-in with the printed token).
        m = re.search(r"The web console: (https://\S+/)", out)
        page = subprocess.run(["curl", "-sS", "-i", "--cacert",
                               os.path.join(state, "jitgated", "tls", "cert.pem"), m.group(1)],
                              capture_output=True, text=True, timeout=20).stdout if m else ""
        check(m is not None and page.startswith("HTTP/1.1 200") and
              "<title>jitgate console</title>" in page and
              "require-trusted-types-for" in page, "make run prints the web console's URL, "
              "which serves the console", out + page[:400])

        def run(cmd, timeout=60):
            argv = shlex.split(cmd)
            if argv[0] == "ssh":
                argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3"] + argv[1:] + ["true"]
            return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=timeout)

        r = run(vm_list)
        check(r.returncode == 0 and "demo-vm" in r.stdout and "Configured" in r.stdout,
              "jitgate vm list shows the demo VM Configured", r.stdout + r.stderr)
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
    finally:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        if "jitgate-demo" in ns:
            subprocess.run(["ip", "netns", "del", "jitgate-demo"])
            print("# the namespace was left behind")
            failed += 1
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
