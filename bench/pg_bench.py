#!/usr/bin/env python3
"""make bench (bench/pg.sh): jitgated on PostgreSQL beside SQLite, in the same run.

  - GET policy and POST initiate throughput (bench/api_bench, keep-alive, 4 threads) on
    each store, and the PostgreSQL/SQLite ratio;
  - the wake-up latency of an agent's long poll: from sending an initiate to replica A to
    the return of the long poll parked on replica B (pg_notify), p50/p99 over N changes,
    beside the same with the long poll on A itself (the in-process wake-up) as reference.

Runs under tests/integration/pg_cluster.py (bench/pg.sh); prints figures only.
"""
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import pg_cluster  # noqa: E402
from jitgated_harness import Server  # noqa: E402

LOC = "westeurope"


def setup_policy(srv):
    sub = srv.request("GET", "/subscriptions")[1]["value"][0]["subscriptionId"]
    rg = f"/subscriptions/{sub}/resourceGroups/bench"
    srv.request("PUT", rg, {"location": LOC})
    vm = f"{rg}/providers/Microsoft.Compute/virtualMachines/vm1"
    srv.request("PUT", vm, {"properties": {"osType": "Linux", "addresses": ["10.0.0.4"]}})
    pol = f"{rg}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    srv.request("PUT", pol, {"properties": {"virtualMachines": [{"id": vm, "ports": [
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT3H"}]}]}})
    return rg, vm, pol


def throughput(build, srv, pol, vm, seconds, tmp):
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    body = os.path.join(tmp, "initiate.json")
    with open(body, "w") as f:
        f.write('{"virtualMachines":[{"id":"%s","ports":[{"number":22,"endTimeUtc":"%s",'
                '"allowedSourceAddressPrefix":"10.1.2.3"}]}]}' % (vm, end))
    ca = os.path.join(srv.state_dir, "tls", "cert.pem")
    tok = os.path.join(srv.state_dir, "admin.token")
    out = {}
    for what, path, method, data in (("GET policy", pol, "GET", "-"),
                                     ("POST initiate", pol + "/initiate", "POST", body)):
        r = subprocess.run([os.path.join(build, "bench", "api_bench"), srv.url, ca, tok,
                            path + "?api-version=2020-01-01", method, data, "4", str(seconds)],
                           capture_output=True, text=True, timeout=seconds * 4 + 60)
        line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip()
        out[what] = line
    return out


def rps(line):
    words = line.replace(",", " ").split()
    for i, word in enumerate(words):
        if word == "req/s" and i > 0:
            return float(words[i - 1])
    return None


def enroll(a, rg):
    st, tok, _ = a.request("POST", f"{rg}/providers/Jitgate/enrollmentTokens", {"validFor": "PT10M"})
    st, body, _ = a.request("POST", "/agent/v1/enroll", {
        "enrollmentToken": tok["token"], "name": "bench-ep", "kind": "host",
        "vm": {"name": "vm-ep", "osType": "Linux", "addresses": ["10.0.0.9"]}},
        token=None, api_version=None)
    if st != 200:
        raise RuntimeError(f"enroll: {st} {body}")
    return body["credential"], body["vm"]


def wakeups(a, b, cred, vm, pol, n):
    """Seconds from sending an initiate to A to the return of B's long poll, n times."""
    ds = b.request("GET", "/agent/v1/desired-state", token=cred, api_version=None)[1]
    version = ds["version"]
    a.request("PUT", pol, {"properties": {"virtualMachines": [{"id": vm, "ports": [
        {"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
         "maxRequestAccessDuration": "PT3H"}]}]}})
    lat = []
    for i in range(n):
        version = b.request("GET", "/agent/v1/desired-state", token=cred, api_version=None)[1]["version"]
        done = {}

        def poll():
            st, ds, _ = b.request("GET", "/agent/v1/desired-state", token=cred, api_version=None,
                                  query={"version": version, "wait": 20}, timeout=40)
            done["t"] = time.monotonic()
            done["v"] = ds["version"] if st == 200 else None

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.15)                     # parked
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        t0 = time.monotonic()
        st, _, _ = a.request("POST", pol + "/initiate", {"virtualMachines": [{"id": vm, "ports": [
            {"number": 22, "endTimeUtc": end, "allowedSourceAddressPrefix": f"10.2.{i // 250}.{i % 250}"}]}]})
        t.join(30)
        if st == 202 and "t" in done and done["v"] != version:
            lat.append(done["t"] - t0)
    return lat


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    build = os.path.abspath(sys.argv[1])
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    n = int(os.environ.get("BENCH_WAKEUPS", "50"))
    jitgated = os.path.join(build, "src", "server", "jitgated")
    servers, dbs = [], []
    try:
        os.environ.pop("JITGATE_TEST_STORE", None)
        lite = Server(jitgated, extra_args=["--initiate-limit", "0"])
        os.environ["JITGATE_TEST_STORE"] = "pg"
        pg = Server(jitgated, extra_args=["--initiate-limit", "0"])
        os.environ.pop("JITGATE_TEST_STORE")
        servers += [lite, pg]
        for s in servers:
            s.start()
        print(f"== jitgated on PostgreSQL beside SQLite ({os.cpu_count()} cores, {seconds}s "
              "per row, 4 client threads; client, server and database share the machine)")
        res = {}
        for name, s in (("sqlite", lite), ("postgresql", pg)):
            rg, vm, pol = setup_policy(s)
            res[name] = throughput(build, s, pol, vm, seconds, s.state_dir)
        for what in ("GET policy", "POST initiate"):
            a, b = rps(res["sqlite"][what]), rps(res["postgresql"][what])
            ratio = f"{b / a:.2f}" if a and b else "n/a"
            print(f"{what:14s} sqlite: {res['sqlite'][what]}")
            print(f"{what:14s} postgresql: {res['postgresql'][what]}  (postgresql/sqlite {ratio})")
        # Replica B on the same database as pg (A).
        b = Server(jitgated, extra_args=["--initiate-limit", "0"])
        b.pg = pg.pg
        with open(os.path.join(b.state_dir, "admin.token"), "w") as f:
            f.write(pg.admin_token)
        with open(os.path.join(pg.state_dir, "audit.key"), "rb") as f, \
                open(os.path.join(b.state_dir, "audit.key"), "wb") as g:
            g.write(f.read())
        os.chmod(os.path.join(b.state_dir, "audit.key"), 0o600)
        servers.append(b)
        b.start()
        rg = f"/subscriptions/{pg.request('GET', '/subscriptions')[1]['value'][0]['subscriptionId']}/resourceGroups/bench"
        cred, vm = enroll(pg, rg)
        pol = f"{rg}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/ep"
        same = wakeups(pg, pg, cred, vm, pol, n)
        cross = wakeups(pg, b, cred, vm, pol, n)
        fmt = lambda xs: (f"p50 {pct(xs, 50) * 1000:.1f} ms, p99 {pct(xs, 99) * 1000:.1f} ms "  # noqa: E731
                          f"(n={len(xs)})") if xs else "no samples"
        print(f"long-poll wake-up, same replica:   {fmt(same)}")
        print(f"long-poll wake-up, across replicas (pg_notify): {fmt(cross)}")
        if same and cross:
            print(f"cross/same p50 ratio {statistics.median(cross) / statistics.median(same):.2f}")
    finally:
        for s in servers:
            s.stop()
        for s in servers:
            if s.pg is not None:
                s.pg.drop()
                break


if __name__ == "__main__":
    main()
