#!/usr/bin/env python3
"""What a replicated control plane does when things break (issue 13), each on a
PostgreSQL cluster of this test's own (pg_cluster.Cluster), so it may stop, kill and
promote without disturbing the other tests:

  - the database goes away: requests get 503 in Azure's error shape with a Retry-After,
    a write in flight leaves nothing behind, and the replica reconnects by itself;
  - a replica is killed with SIGKILL in the middle of initiates: every request it
    answered 202 is stored once, with one audit entry, nothing is stored twice, and the
    audit chain verifies (through the other replica);
  - the primary dies and a streaming standby is promoted (pg_ctl promote): a replica on a
    multi-host URI (target_session_attrs=read-write) goes on with the promoted one, with
    everything committed before.

Needs the PostgreSQL server binaries; skips otherwise.
"""
import concurrent.futures
import os
import signal
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pg_cluster  # noqa: E402
from jitgated_harness import Server, Tap, expect, expect_error  # noqa: E402

LOC = "westeurope"
tap = Tap()


class Ctx:
    def __init__(self, binary):
        self.binary = binary
        self.clusters = []
        self.servers = []

    def cluster(self):
        c = pg_cluster.Cluster().init().start().make_role()
        self.clusters.append(c)
        return c

    def server(self, uri, passfile, state_dir=None):
        srv = Server(self.binary, state_dir=state_dir,
                     extra_args=["--store", uri, "--store-password-file", passfile])
        self.servers.append(srv)
        return srv


def make_db(c, name="jitgate"):
    c.psql(f"CREATE DATABASE {name} OWNER jitgate")
    return f"postgresql://jitgate@{c.host}:{c.port}/{name}"


def group(srv, name):
    st, body, _ = srv.request("GET", "/subscriptions")
    expect(st == 200, st, body)
    sub = body["value"][0]["subscriptionId"]
    rg = f"/subscriptions/{sub}/resourceGroups/{name}"
    return sub, rg


def wait_ok(srv, path, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = srv.request("GET", path)
            if last[0] == 200:
                return last
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"{path} did not come back: {last}")


@tap.test
def database_down_is_503_with_retry_after_and_reconnects(c):
    pg = c.cluster()
    srv = c.server(make_db(pg), pg.passfile).start()
    sub, rg = group(srv, "rg-down")
    expect(srv.request("PUT", rg, {"location": LOC})[0] == 201)
    pg.stop("immediate")
    st, body, hd = srv.request("GET", "/subscriptions")
    err = expect_error((st, body, hd), 503, "ServiceUnavailable")
    expect("retry" in err["message"].lower(), err)
    expect(int(hd.get("Retry-After", "0")) > 0, "a Retry-After header", hd)
    # What a load balancer's health check sees: this replica is out of the pool.
    st, body, _ = srv.request("GET", "/healthz", token=None, api_version=None)
    expect(st == 503, "GET /healthz fails while the database is away", st, body)
    # A write while the database is away: refused, and nothing of it lands later.
    st, body, hd = srv.request("PUT", f"/subscriptions/{sub}/resourceGroups/rg-lost",
                               {"location": LOC})
    expect_error((st, body, hd), 503, "ServiceUnavailable")
    pg.start()
    wait_ok(srv, "/subscriptions")
    expect(srv.request("GET", "/healthz", token=None, api_version=None)[0] == 200)
    expect(srv.request("GET", rg)[0] == 200, "what was committed before is there")
    expect_error(srv.request("GET", f"/subscriptions/{sub}/resourceGroups/rg-lost"), 404)
    st, v, _ = srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True, v)
    expect(pg_password(pg) not in srv.log(), "the store password is not in the log")


def pg_password(pg):
    with open(pg.passfile) as f:
        return f.read().strip()


def setup_policy(srv, sub, rg):
    expect(srv.request("PUT", rg, {"location": LOC})[0] == 201)
    vm = f"{rg}/providers/Microsoft.Compute/virtualMachines/vm1"
    expect(srv.request("PUT", vm, {"properties": {"osType": "Linux"}})[0] == 201)
    pol = f"{rg}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    st, body, _ = srv.request("PUT", pol, {"kind": "Basic", "properties": {"virtualMachines": [{
        "id": vm, "ports": [{"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*",
                             "maxRequestAccessDuration": "PT3H"}]}]}})
    expect(st in (200, 201), st, body)
    return vm, pol


@tap.test
def kill_9_in_the_middle_of_initiates_loses_and_duplicates_nothing(c):
    pg = c.cluster()
    uri = make_db(pg)
    a = c.server(uri, pg.passfile)
    a.extra_args += ["--initiate-limit", "0"]
    a.start()
    sub, rg = group(a, "rg-kill")
    vm, pol = setup_policy(a, sub, rg)
    b = c.server(uri, pg.passfile)
    # Replica b shares the database; it needs an admin token too: the same one.
    for name in ("admin.token", "audit.key"):   # one audit key for the replicas' one chain
        with open(os.path.join(a.state_dir, name), "rb") as f, \
                open(os.path.join(b.state_dir, name), "wb") as g:
            g.write(f.read())
        os.chmod(os.path.join(b.state_dir, name), 0o600)
    b.start()
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    tags = [f"kill-{i}-{uuid.uuid4().hex[:6]}" for i in range(200)]

    def initiate(tag):
        i = tags.index(tag)
        body = {"virtualMachines": [{"id": vm, "ports": [{
            "number": 22, "endTimeUtc": end,
            "allowedSourceAddressPrefix": f"10.{i // 250}.{i % 250}.1"}]}],
            "justification": tag}
        try:
            return tag, a.request("POST", pol + "/initiate", body, timeout=10)[0]
        except Exception:
            return tag, None

    answered = {}
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(initiate, t) for t in tags]
        # Kill it once some have landed, with more in flight.
        deadline = time.time() + 30
        while time.time() < deadline and sum(f.done() for f in futs) < 40:
            time.sleep(0.01)
        a.proc.send_signal(signal.SIGKILL)
        for f in futs:
            tag, st = f.result()
            answered[tag] = st
    a.proc.wait()
    a.proc = None
    ok = {t for t, st in answered.items() if st == 202}
    expect(20 <= len(ok) < len(tags), "the kill came in the middle", len(ok))
    # Through the survivor: the policy's requests and the audit log.
    st, p, _ = b.request("GET", pol)
    expect(st == 200, st, p)
    stored = [r.get("justification") for r in p["properties"]["requests"]]
    st, log, _ = b.request("GET", "/providers/Jitgate/auditLogs", query={
        "operation": "Microsoft.Security/locations/jitNetworkAccessPolicies/initiate/action",
        "top": 1000})
    expect(st == 200, st, log)
    audited = [e["details"].get("justification") for e in log["value"]
               if e["result"] == "Succeeded" and isinstance(e.get("details"), dict)]
    rows = c_sql(pg, "SELECT justification FROM requests")
    expect(len(rows) == len(set(rows)), "no request is stored twice", len(rows))
    expect(ok <= set(rows), "every request answered 202 is stored", sorted(ok - set(rows)))
    expect(len(audited) == len(set(audited)), "no audit entry twice")
    expect(set(rows) == set(a_ for a_ in audited if a_), "one audit entry per stored request",
           sorted(set(rows) ^ set(audited)))
    expect(len(stored) > 0)
    st, v, _ = b.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True, v)


def c_sql(pg, q, db="jitgate"):
    out = pg.psql(q, db=db)
    return [line for line in out.split("\n") if line]


@tap.test
def promoted_standby_takes_over_on_a_multi_host_uri(c):
    primary = c.cluster()
    make_db(primary)
    standby = primary.standby()
    c.clusters.append(standby)
    uri = (f"postgresql://jitgate@{primary.host}:{primary.port},{standby.host}:{standby.port}"
           "/jitgate?target_session_attrs=read-write")
    srv = c.server(uri, primary.passfile).start()
    sub, rg = group(srv, "rg-before")
    expect(srv.request("PUT", rg, {"location": LOC})[0] == 201)
    # Wait until the standby has replayed it, then lose the primary and promote.
    deadline = time.time() + 20
    while time.time() < deadline and not c_sql(
            standby, "SELECT 1 FROM resource_groups WHERE key LIKE '%/rg-before'"):
        time.sleep(0.2)
    primary.stop("immediate")
    standby.promote()
    wait_ok(srv, rg, timeout=40)
    st, body, _ = srv.request("PUT", f"/subscriptions/{sub}/resourceGroups/rg-after",
                              {"location": LOC})
    expect(st == 201, "writes go on on the promoted standby", st, body)
    expect(c_sql(standby, "SELECT 1 FROM resource_groups WHERE key LIKE '%/rg-after'"),
           "the write is on the promoted standby")
    st, v, _ = srv.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True, v)


def setup():
    why = pg_cluster.available()
    if why:
        print(f"1..0 # SKIP {why}")
        sys.exit(0)
    # The clusters here are this test's own: no database on the run's shared one.
    os.environ.pop("JITGATE_TEST_STORE", None)
    return Ctx(os.path.abspath(sys.argv[1]))


def teardown(c):
    if c is None:
        return
    for s in c.servers:
        s.cleanup()
    for cl in c.clusters:
        cl.destroy()


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
