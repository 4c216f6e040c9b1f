#!/usr/bin/env python3
"""The real Azure client against a real jitgated: @azure/arm-security 5 drives all seven
JIT operations (tests/integration/azure-sdk/jit_sdk_test.mjs) with its endpoint pointed at
jitgated, signed in by @azure/identity's ClientSecretCredential (tenant "adfs",
authorityHost jitgated) with client secrets made here: an Owner service principal's for six
of them, for initiate one of a principal holding only the JIT Network Access Requester
role, and a Reader's that the test revokes to see its cached access token refused.

Usage: test_azure_sdk.py PATH/TO/jitgated    (passes the SDK test's TAP through)
Skips (TAP) when node or the SDK's node_modules are missing: `make test` installs them.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jitgated_harness import Server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "azure-sdk")


def skip(why):
    print(f"1..0 # SKIP {why}")
    return 0


def main():
    if subprocess.run(["sh", "-c", "command -v node"], capture_output=True).returncode != 0:
        return skip("node is not installed (make test installs it)")
    if not os.path.exists(os.path.join(SDK, "node_modules", "@azure", "arm-security")):
        return skip("the Azure SDK is not installed (sh tests/integration/azure-sdk/install.sh)")
    srv = Server(sys.argv[1]).start()
    try:
        st, subs, _ = srv.request("GET", "/subscriptions")
        sub = subs["value"][0]["subscriptionId"]
        rg, loc = "sdk-rg", "westeurope"
        rgp = f"/subscriptions/{sub}/resourceGroups/{rg}"
        srv.request("PUT", rgp, {"location": loc})
        vm_ids = []
        for i, name in enumerate(("sdk-vm1", "sdk-vm2")):
            vid = f"{rgp}/providers/Microsoft.Compute/virtualMachines/{name}"
            st, _, _ = srv.request("PUT", vid, {"properties": {"osType": "Linux",
                                   "addresses": [f"10.20.0.{i + 4}"]}})
            assert st in (200, 201), st
            vm_ids.append(vid)
        # initiate goes through a principal holding only the JIT requester role on the group.
        st, _, _ = srv.request("PUT", "/providers/Jitgate/principals/sdk-requester",
                               {"properties": {"kind": "User"}})
        assert st in (200, 201), st
        st, a, _ = srv.request("PUT", f"{rgp}/providers/Microsoft.Authorization/roleAssignments/"
                               "0b7f2b1e-2f6c-4f3a-9f7e-1c2d3e4f5a6b", {"properties": {
                                   "roleDefinitionId": "JIT Network Access Requester",
                                   "principalId": "sdk-requester"}})
        assert st in (200, 201), (st, a)
        secrets = {}
        # The Owner at / (it revokes the Reader's secret), the Reader in the subscription.
        for name, role, scope, guid in (
                ("sdk-owner", "Owner", "", "0b7f2b1e-2f6c-4f3a-9f7e-1c2d3e4f5a01"),
                ("sdk-reader", "Reader", f"/subscriptions/{sub}",
                 "0b7f2b1e-2f6c-4f3a-9f7e-1c2d3e4f5a02"),
                ("sdk-requester", None, None, None)):
            if role:
                st, p, _ = srv.request("PUT", f"/providers/Jitgate/principals/{name}",
                                       {"properties": {"kind": "ServicePrincipal"}})
                assert st in (200, 201), (st, p)
                st, a, _ = srv.request("PUT", f"{scope}/providers/"
                                       f"Microsoft.Authorization/roleAssignments/{guid}",
                                       {"properties": {"roleDefinitionId": role,
                                                       "principalId": name}})
                assert st in (200, 201), (st, a)
            st, sec, _ = srv.request("POST", f"/providers/Jitgate/principals/{name}/clientSecrets",
                                     {"name": "sdk test", "validFor": "P1D"})
            assert st == 201, (st, sec)
            secrets[name] = sec
        env = dict(os.environ,
                   NODE_EXTRA_CA_CERTS=os.path.join(srv.state_dir, "tls", "cert.pem"),
                   JITGATE_URL=srv.url,
                   JITGATE_CLIENT_ID="sdk-owner",
                   JITGATE_CLIENT_SECRET=secrets["sdk-owner"]["secret"],
                   JITGATE_INITIATE_CLIENT_ID=secrets["sdk-requester"]["clientId"],
                   JITGATE_INITIATE_CLIENT_SECRET=secrets["sdk-requester"]["secret"],
                   JITGATE_REVOKE_CLIENT_ID="sdk-reader",
                   JITGATE_REVOKE_CLIENT_SECRET=secrets["sdk-reader"]["secret"],
                   JITGATE_REVOKE_SECRET_ID=secrets["sdk-reader"]["id"],
                   JITGATE_SUBSCRIPTION=sub, JITGATE_RG=rg, JITGATE_LOCATION=loc,
                   JITGATE_VM_ID=",".join(vm_ids), JITGATE_EXPECT_REQUESTOR="sdk-requester")
        rc = subprocess.run(["node", os.path.join(SDK, "jit_sdk_test.mjs")], env=env).returncode
        if rc != 0:
            print("# jitgated log:")
            for line in srv.log().splitlines()[-40:]:
                print("# " + line)
        return rc
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main())
