#!/usr/bin/env python3
"""jitgated migrate --from sqlite:PATH --to postgresql://... (issue 13): an installation
made on SQLite through the API (inventory, a policy and its requests, principals, tokens,
a custom role and an assignment, an enrollment token, JIT settings, an audit chain) is
copied into an empty PostgreSQL database; jitgated on it answers the same, the same
tokens work, new rows get new ids, the chain verifies with every entry; a second copy
into the now non-empty database is refused and changes nothing.

Runs under pg_cluster.py (the run's throwaway cluster); skips otherwise.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jitgated_harness import Server, Tap, expect  # noqa: E402

LOC = "westeurope"
tap = Tap()


class Ctx:
    pass


def populate(srv):
    st, body, _ = srv.request("GET", "/subscriptions")
    sub = body["value"][0]["subscriptionId"]
    rg = f"/subscriptions/{sub}/resourceGroups/rg-mig"
    expect(srv.request("PUT", rg, {"location": LOC})[0] == 201)
    vms = []
    for i in range(3):
        vm = f"{rg}/providers/Microsoft.Compute/virtualMachines/Vm{i}"
        expect(srv.request("PUT", vm, {"properties": {"osType": "Linux"}})[0] == 201)
        vms.append(vm)
    pol = f"{rg}/providers/Microsoft.Security/locations/{LOC}/jitNetworkAccessPolicies/default"
    st, body, _ = srv.request("PUT", pol, {"kind": "Basic", "properties": {"virtualMachines": [
        {"id": vm, "ports": [{"number": 22, "protocol": "TCP",
                              "allowedSourceAddressPrefixes": ["10.0.0.0/8", "192.0.2.0/24"],
                              "maxRequestAccessDuration": "PT3H"}]} for vm in vms]}})
    expect(st in (200, 201), st, body)
    for i in range(3):
        st, body, _ = srv.request("POST", pol + "/initiate", {"virtualMachines": [{
            "id": vms[0], "ports": [{"number": 22, "endTimeUtc": "2099-01-01T00:00:00Z",
                                     "allowedSourceAddressPrefix": f"10.1.0.{i + 1}"}]}],
            "justification": f"INC-{i}"})
        # The end is past the policy's maximum: refused, and audited as such.
        expect(st == 400, st, body)
    import time
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    for i in range(3):
        st, body, _ = srv.request("POST", pol + "/initiate", {"virtualMachines": [{
            "id": vms[0], "ports": [{"number": 22, "endTimeUtc": end,
                                     "allowedSourceAddressPrefix": f"10.1.0.{i + 1}"}]}],
            "justification": f"INC-{i}"})
        expect(st == 202, st, body)
    return sub, rg, pol


def cli(c, *args):
    return subprocess.run([c.binary, *args], capture_output=True, text=True, timeout=120)


@tap.test
def a_whole_installation_moves_and_verifies(c):
    src = Server(c.binary).start()
    c.servers.append(src)
    sub, rg, pol = populate(src)
    # A principal with a token, a custom role and an assignment, JIT settings, enrollment.
    st, p, _ = src.request("PUT", "/providers/Jitgate/principals/alice", {"properties": {}})
    expect(st in (200, 201), st, p)
    st, tok, _ = src.request("POST", "/providers/Jitgate/principals/alice/tokens",
                             {"name": "laptop", "validFor": "P30D"})
    expect(st in (200, 201), st, tok)
    st, ra, _ = src.request("PUT", f"{rg}/providers/Microsoft.Authorization/roleAssignments/"
                            "2f3c4d5e-0000-4000-8000-000000000001",
                            {"properties": {"roleDefinitionId": "Reader",
                                            "principalId": "alice"}})
    expect(st in (200, 201), st, ra)
    st, et, _ = src.request("POST", f"{rg}/providers/Jitgate/enrollmentTokens",
                            {"validFor": "PT10M"})
    expect(st == 201, st, et)
    before_pol = src.request("GET", pol)[1]
    before_log = src.request("GET", "/providers/Jitgate/auditLogs", query={"top": 1000})[1]
    st, v, _ = src.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True, v)
    n_entries = v["entries"]
    expect(src.stop() == 0)

    import pg_cluster
    db = pg_cluster.Database().create()
    c.dbs.append(db)
    key = os.path.join(src.state_dir, "audit.key")
    r = cli(c, "migrate", "--from", "sqlite:" + os.path.join(src.state_dir, "jitgate.db"),
            "--to", db.uri, "--store-password-file", db.passfile, "--audit-key", key)
    expect(r.returncode == 0, r.stdout, r.stderr)
    expect(f"({n_entries} entries)" in r.stdout, r.stdout)

    # The same state dir (TLS, admin token) on the PostgreSQL store.
    dst = Server(c.binary, state_dir=src.state_dir,
                 extra_args=["--store", db.uri, "--store-password-file", db.passfile])
    c.servers.append(dst)
    dst.start()
    after_pol = dst.request("GET", pol)[1]
    expect(after_pol == before_pol, "the policy and its requests read the same",
           before_pol, after_pol)
    after_log = dst.request("GET", "/providers/Jitgate/auditLogs", query={"top": 1000})[1]
    expect(all(e in after_log["value"] for e in before_log["value"]),
           "every audit entry is there, as it was")
    st, who, _ = dst.request("GET", "/providers/Jitgate/whoami", token=tok["token"])
    expect(st == 200 and "alice" in str(who), "alice's token still works", st, who)
    expect(dst.request("GET", rg, token=tok["token"])[0] == 200, "with her role")
    st, p2, _ = dst.request("PUT", "/providers/Jitgate/principals/bob", {"properties": {}})
    expect(st in (200, 201), "a new principal gets a new id", st, p2)
    st, v, _ = dst.request("GET", "/providers/Jitgate/auditLogs/verify")
    expect(st == 200 and v["verified"] is True and v["entries"] > n_entries, v)
    dst.stop()

    # Into a database that now holds an installation: refused, nothing changed.
    count = db.psql("SELECT COUNT(*) FROM audit").strip()
    r = cli(c, "migrate", "--from", "sqlite:" + os.path.join(src.state_dir, "jitgate.db"),
            "--to", db.uri, "--store-password-file", db.passfile, "--audit-key", key)
    expect(r.returncode == 1 and "already holds" in r.stderr, r.stdout, r.stderr)
    expect(db.psql("SELECT COUNT(*) FROM audit").strip() == count, "nothing was copied")
    # And the wrong way round is a usage error.
    r = cli(c, "migrate", "--from", db.uri, "--to", db.uri, "--audit-key", key)
    expect(r.returncode == 1 and "SQLite" in r.stderr, r.stderr)


def setup():
    if os.environ.get("JITGATE_TEST_STORE") != "pg":
        print("1..0 # SKIP needs a PostgreSQL cluster: run under pg_cluster.py (make test)")
        sys.exit(0)
    c = Ctx()
    c.binary = os.path.abspath(sys.argv[1])
    c.servers, c.dbs = [], []
    # The source is SQLite: the harness's servers here are not on the cluster.
    os.environ.pop("JITGATE_TEST_STORE")
    return c


def teardown(c):
    if c is None:
        return
    for s in c.servers:
        s.stop()
    for d in c.dbs:
        d.drop()


if __name__ == "__main__":
    sys.exit(tap.run(setup, teardown))
