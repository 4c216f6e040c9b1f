"""N agents' long polls parked on one jitgated over TLS (make bench): jitgated's RSS and
threads while they wait, a legitimate GET's latency meanwhile, and the time from one
policy change until every poll has its answer. The agents share one credential and come
from N loopback addresses (60 per /24, under the per-caller limit).

Usage: longpoll.py BUILD_DIR [N]    (a benchmark: nothing is asserted)
"""
import asyncio, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from jitgated_harness import Server
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
srv = Server(os.path.join(sys.argv[1], "src", "server", "jitgated")).start()
try:
    st, subs, _ = srv.request("GET", "/subscriptions")
    sub = subs["value"][0]["subscriptionId"]
    rg = f"/subscriptions/{sub}/resourceGroups/b"
    srv.request("PUT", rg, {"location": "westeurope"})
    st, tok, _ = srv.request("POST", f"{rg}/providers/Jitgate/enrollmentTokens", {"validFor": "PT10M"})
    st, e, _ = srv.request("POST", "/agent/v1/enroll", {"enrollmentToken": tok["token"], "name": "ep1", "kind": "host",
        "vm": {"name": "vm1", "osType": "Linux", "addresses": ["10.0.0.4"]}}, token=None, api_version=None)
    cred = e["credential"]
    st, ds, _ = srv.request("GET", "/agent/v1/desired-state", token=cred, api_version=None)
    v = ds["version"]
    ctx = srv.ssl
    got = []
    async def poll(i):
        src = f"127.0.{1 + i // 60}.{1 + i % 60}"
        r, w = await asyncio.open_connection("127.0.0.1", srv.port, ssl=ctx, server_hostname="127.0.0.1", local_addr=(src, 0))
        w.write(f"GET /agent/v1/desired-state?version={v}&wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {cred}\r\n\r\n".encode())
        await w.drain()
        line = await r.readline()
        got.append(time.monotonic())
        w.close()
    async def main():
        tasks = []
        for i in range(N):
            tasks.append(asyncio.create_task(poll(i)))
            if i % 200 == 199: await asyncio.sleep(0.05)
        await asyncio.sleep(3)
        rss = [l for l in open(f"/proc/{srv.proc.pid}/status") if l.startswith(("VmRSS", "Threads"))]
        print(f"{N} long polls parked: jitgated", " ".join(x.split()[0] + x.split()[1] + ("kB" if x.startswith("VmRSS") else "") for x in rss), f"(answered before the change: {len(got)})")
        lat = []
        for _ in range(20):
            t = time.monotonic()
            await asyncio.get_event_loop().run_in_executor(None, lambda: srv.request("GET", rg))
            lat.append(time.monotonic() - t)
        lat.sort()
        print("a legitimate GET meanwhile: p50 %.1f ms, max %.1f ms (20 requests)" % (lat[10] * 1000, lat[-1] * 1000))
        pol = f"{rg}/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default"
        t0 = time.monotonic()
        await asyncio.get_event_loop().run_in_executor(None, lambda: srv.request("PUT", pol, {"properties": {"virtualMachines": [
            {"id": f"{rg}/providers/Microsoft.Compute/virtualMachines/vm1", "ports": [{"number": 22, "protocol": "TCP", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"}]}]}}))
        await asyncio.wait(tasks, timeout=25)
        print("one policy change reached %d of %d polls in %.2f s (client: one Python asyncio process on the same cores)" % (len(got), N, max(got) - t0 if got else -1))
    asyncio.run(main())
finally:
    srv.cleanup()
