#!/usr/bin/env python3
"""The real Azure client against a real jitgated: @azure/arm-security 5 drives all seven
JIT operations (tests/integration/azure-sdk/jit_sdk_test.mjs) with its endpoint pointed at
jitgated and a credential returning a jitgate token: the Owner's for six of them, and for
initiate the token of a principal holding only the JIT Network Access Requester role.

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
        st, tok, _ = srv.request("POST", "/providers/Jitgate/principals/sdk-requester/tokens",
                                 {"name": "sdk test"})
        assert st == 201, (st, tok)
        env = dict(os.environ,
                   JITGATE_INITIATE_TOKEN=tok["token"],
                   NODE_EXTRA_CA_CERTS=os.path.join(srv.state_dir, "tls", "cert.pem"),
                   JITGATE_URL=srv.url,
                   JITGATE_TOKEN=os.path.join(srv.state_dir, "admin.token"),
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
