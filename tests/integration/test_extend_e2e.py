#!/usr/bin/env python3
"""
Extending running access (issue 20), for real: jitgated, an enrolled jitgate-agent and
sshd in network namespaces (test_agent_e2e.py's topology and harness). An ssh session is
open on a closeEstablishedOnExpiry port (so the end of its grant would cut it); the grant
is extended before its first end time; the session must survive past that end, new logins
must still work, and revoking afterwards must cut it (so the session would have been cut,
had the extension not re-timed the grant). An extension of access that is not running is
refused and changes nothing.

Needs root, ip, nft, ssh and sshd; skips itself ("1..0 # SKIP") otherwise. Every
namespace, rule and daemon is its own and is torn down, also on failure.
"""
import datetime as dt
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns_harness as nh  # noqa: E402
import test_agent_e2e as e2e_mod  # noqa: E402
from test_agent_e2e import CL4, VM4  # noqa: E402


def parse_iso(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class Net(e2e_mod.Net):
    PREFIX = "jgx"
    TMP_PREFIX = "jitgate-extend."


class Extend(e2e_mod.E2E):
    JUSTIFICATION = "extend-e2e"

    def extend(self, ports, seconds):
        end = time.time() + seconds
        body = {"virtualMachines": [{"id": self.vm_id(), "ports": [
            {"number": n, "endTimeUtc": nh.iso(end), "allowedSourceAddressPrefix": src}
            for n, src in ports]}], "justification": "more time"}
        st, resp, _ = self.api("POST", self.pol() + "/extend", body)
        return st, resp, end

    def requests(self):
        st, body, _ = self.api("GET", self.pol())
        return body["properties"].get("requests", []) if st == 200 else None

    def scenario_extend(self):
        t = self.tap
        st, body, _ = self.api("PUT", self.pol(), self.policy())
        t.ok(st in (200, 201) and self.wait_in_sync() is not None,
             "enable JIT (2222 closes established sessions at expiry)", st, body)
        t.ok(not self.ssh("cl", VM4, 2222), "locked: ssh on 2222 from client is dropped")

        t.diag("nothing running: an extension is refused and changes nothing")
        before = self.requests()
        st, body, _ = self.extend([(2222, CL4)], 30)
        t.ok(st == 409 and body["error"]["code"] == "Conflict" and
             "no active access to port 2222" in body["error"]["message"],
             "extend without running access: 409 Conflict saying so", st, body)
        t.ok(self.requests() == before, "the refused extension recorded no request")
        t.ok(not self.ssh("cl", VM4, 2222), "and opened nothing")

        t.diag("a grant of 8 s with an ssh session, extended to 30 s before it ends")
        st, body, _, first_end = self.initiate([(2222, CL4)], 8)
        t.ok(st == 202 and self.wait_in_sync() is not None, "initiate 2222 for 8 s", st, body)
        sess, ticks = self.session(2222, "extended")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.count(ticks) == 0:
            time.sleep(0.1)
        t.ok(self.count(ticks) > 0, "the ssh session on 2222 is up")
        st, body, new_end = self.extend([(2222, CL4)], 30)
        t.ok(st == 202, "extend answers 202", st, body)
        port = body["virtualMachines"][0]["ports"][0] if st == 202 else {}
        got_end = parse_iso(port["endTimeUtc"]) if "endTimeUtc" in port else 0
        t.ok(abs(got_end - new_end) < 2, "the new request ends at the extended time", port)
        t.ok(time.time() < first_end - 1 and self.wait_in_sync() is not None,
             "the agent applied the extension before the first end time")
        reqs = self.requests()
        old = [r for r in reqs if r.get("justification") == "extend-e2e"]
        t.ok(old and old[0]["virtualMachines"][0]["ports"][0].get("statusReason") ==
             "NewerRequestInitiated", "the running request is superseded by the extension", old)

        time.sleep(max(0.0, first_end + 5 - time.time()))
        a = self.count(ticks)
        time.sleep(2)
        t.ok(sess.poll() is None and self.count(ticks) > a,
             "5 s past the first end time the ssh session is still up and ticking")
        t.ok(self.ssh("cl", VM4, 2222), "past the first end time new logins on 2222 work")

        t.diag("control: revoking cuts the session (closeEstablishedOnExpiry)")
        st, body, _ = self.api("POST", self.pol() + "/revoke", {"virtualMachines": [
            {"id": self.vm_id(), "ports": [{"number": 2222, "allowedSourceAddressPrefix": CL4}]}]})
        t.ok(st == 200 and body.get("revokedPorts") == 1, "revoke 2222", st, body)
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and sess.poll() is None:
            time.sleep(0.2)
        t.ok(sess.poll() is not None, "after the revoke the session is cut")
        if sess.poll() is None:
            sess.kill()
        sess.wait()


def scenarios(e):
    e.enroll()
    e.scenario_extend()


def main():
    tap, rc = nh.main("usage: test_extend_e2e.py PATH/TO/jitgated PATH/TO/jitgate-agent",
                      ("ip", "nft", "ssh", "ssh-keygen", "unshare", "mount"), Net, Extend,
                      scenarios)
    print(f"1..{tap.n}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
