#!/usr/bin/env python3
"""enforcer_print.py: the enforcer's transaction, checked offline (no root, no kernel).

  enforcer_print.py PATH/TO/jitgate-enforce        (TAP on stdout)

Runs `jitgate-enforce print STATE NOW` and reads the libnftables JSON it would send:
- merging: random overlapping grants (nested prefixes, duplicates, different ends) become
  single-address elements (hash sets grants4/6) and prefix elements that never overlap
  (interval sets nets4/6, as the kernel's pipapo needs), and give every address the
  longest timeout of the grants covering it, which is what a grant means;
- timeouts: min(end - now, secondsRemaining), expired grants skipped;
- shapes: '*' source and protocol, a gateway's destination keys, closeEstablished sets.
"""
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile

VM = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
      "/providers/Microsoft.Compute/virtualMachines/vm1")
NOW = 1_800_000_000  # fixed "now" for the tool, seconds since the epoch

tool = None
n = 0
failed = 0


def utc(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def check(cond, desc, detail=None):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {desc}")
    else:
        failed += 1
        print(f"not ok {n} - {desc}")
        if detail:
            for line in str(detail).splitlines()[:20]:
                print(f"# {line}")


def grant(source, seconds, remaining=None, mapped=None):
    g = {"source": source, "endTimeUtc": utc(NOW + seconds),
         "secondsRemaining": seconds if remaining is None else remaining}
    if mapped is not None:
        g["mappedPort"] = mapped
    return g


def rule(port, proto, grants, close=False, dests=("10.0.0.4",)):
    return {"vm": VM, "destinations": list(dests), "number": port, "protocol": proto,
            "closeEstablished": close, "grants": grants}


def transaction(rules, kind="host"):
    state = {"version": 1, "enforcementPoint": "ep", "kind": kind,
             "generatedAtUtc": utc(NOW), "rules": rules}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(state, f)
        path = f.name
    try:
        out = subprocess.run([tool, "print", path, utc(NOW)], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(path)
    return json.loads(out)["nftables"]


def elements(tx, set_name):
    """The elements added to set_name, as (fields, timeout) with prefixes as networks."""
    out = []
    for c in tx:
        e = c.get("add", {}).get("element")
        if e is None or e["name"] != set_name:
            continue
        for el in e["elem"]:
            timeout = None
            if "elem" in el:
                timeout = el["elem"]["timeout"]
                el = el["elem"]["val"]
            fields = []
            for v in el["concat"]:
                if isinstance(v, dict) and "prefix" in v:
                    fields.append(ipaddress.ip_network(
                        f'{v["prefix"]["addr"]}/{v["prefix"]["len"]}'))
                elif isinstance(v, str):
                    fields.append(ipaddress.ip_network(v))
                else:
                    fields.append(v)
            out.append((tuple(fields), timeout))
    return out


def grant_elements(tx, fam):
    """Both sets of grants of a family: single addresses and prefixes."""
    return elements(tx, f"grants{fam}") + elements(tx, f"nets{fam}")


def set_names(tx):
    return sorted(c["add"]["set"]["name"] for c in tx if "set" in c.get("add", {}))


def merge_case(rng, v6):
    """Random nested grants inside one /16 (or /112), and the expected timeout per address."""
    base = ipaddress.ip_network("fd00::/112" if v6 else "10.9.0.0/16")
    width = base.max_prefixlen
    grants = []
    for _ in range(rng.randint(1, 12)):
        plen = rng.randint(base.prefixlen, width)
        addr = int(base.network_address) + rng.randrange(base.num_addresses)
        net = ipaddress.ip_network((addr, plen), strict=False)
        secs = rng.choice([30, 60, 60, 120, 300, 3600])
        grants.append((net, secs))
        if rng.random() < 0.2:  # the same prefix again with another end
            grants.append((net, rng.choice([30, 600])))
    return base, grants


def check_merge(seed):
    rng = random.Random(seed)
    v6 = seed % 3 == 2
    base, grants = merge_case(rng, v6)
    tx = transaction([rule(22, "TCP", [grant(str(net), s) for net, s in grants])])
    fam = 6 if v6 else 4
    hosts = [(f[0], t) for f, t in elements(tx, f"grants{fam}")]
    nets = [(f[0], t) for f, t in elements(tx, f"nets{fam}")]
    problems = [f"{a} is not a single address" for a, _ in hosts
                if a.prefixlen != a.max_prefixlen]
    problems += [f"{a} is a single address in the interval set" for a, _ in nets
                 if a.prefixlen == a.max_prefixlen]
    # no two elements of the interval set overlap; a hash set element is unique anyway
    ordered = sorted(nets, key=lambda x: (int(x[0].network_address), x[0].prefixlen))
    for (a, _), (b, _) in zip(ordered, ordered[1:]):
        if a.overlaps(b):
            problems.append(f"{a} overlaps {b}")
    # every address gets the longest covering grant (sampled, plus each grant's edges)
    samples = [rng.randrange(base.num_addresses) + int(base.network_address)
               for _ in range(400)]
    for net, _ in grants:
        samples += [int(net.network_address), int(net.broadcast_address)]
    for a in samples:
        ip = ipaddress.ip_address(a)
        want = max((s for net, s in grants if ip in net), default=None)
        got = [t for net, t in nets + hosts if ip in net]
        if (want is None and got) or (want is not None and (not got or max(got) != want)):
            problems.append(f"{ip}: want {want}, elements give {got}")
            break
    check(not problems, f"merge seed {seed}: {len(grants)} grants -> {len(hosts)} + "
          f"{len(nets)} elements, "
          f"no overlap, longest timeout wins", "\n".join(
              [f"grant {net} {s}s" for net, s in grants] + problems))


def main():
    global tool
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("1..0 # SKIP usage: enforcer_print.py PATH/TO/jitgate-enforce")
        return 0
    tool = sys.argv[1]

    for seed in range(60):
        check_merge(seed)

    # a longer-lived prefix inside a shorter /24 is carved out: the /24 becomes the
    # 4 blocks around the /28
    tx = transaction([rule(22, "TCP", [grant("10.1.0.0/24", 60), grant("10.1.0.16/28", 600)])])
    els = elements(tx, "nets4")
    check(len(els) == 5 and ((ipaddress.ip_network("10.1.0.16/28"), 6, 22), 600) in els,
          "carve: 10.1.0.16/28 (600 s) inside 10.1.0.0/24 (60 s) gives 5 elements", els)
    # ... and a shorter one inside a longer one disappears
    tx = transaction([rule(22, "TCP", [grant("10.1.0.0/24", 600), grant("10.1.0.16/28", 60)])])
    check(elements(tx, "nets4") == [((ipaddress.ip_network("10.1.0.0/24"), 6, 22), 600)],
          "subsume: a shorter prefix grant inside a longer one adds nothing",
          elements(tx, "nets4"))
    # a single address is a hash set element, whatever prefixes cover it
    tx = transaction([rule(22, "TCP", [grant("10.1.0.0/24", 60), grant("10.1.0.5", 600)])])
    check(elements(tx, "grants4") == [((ipaddress.ip_network("10.1.0.5/32"), 6, 22), 600)] and
          elements(tx, "nets4") == [((ipaddress.ip_network("10.1.0.0/24"), 6, 22), 60)],
          "an address grant goes to grants4, a prefix to nets4, each with its own timeout",
          (elements(tx, "grants4"), elements(tx, "nets4")))

    # timeouts: min(end - now, secondsRemaining); nothing left -> skipped
    tx = transaction([rule(22, "TCP", [grant("10.0.0.1", 300, remaining=100),
                                       grant("10.0.0.2", 100, remaining=300),
                                       grant("10.0.0.3", 0, remaining=0),
                                       grant("10.0.0.4", -5, remaining=10)])])
    got = sorted((str(f[0]), t) for f, t in elements(tx, "grants4"))
    check(got == [("10.0.0.1/32", 100), ("10.0.0.2/32", 100)],
          "timeouts: min(end - now, secondsRemaining); ended grants are skipped", got)

    # '*' source and '*' protocol: both families, both protocols
    tx = transaction([rule(53, "*", [grant("*", 60)])])
    g4 = sorted((str(f[0]), f[1], f[2]) for f, _ in grant_elements(tx, 4))
    g6 = sorted((str(f[0]), f[1], f[2]) for f, _ in grant_elements(tx, 6))
    check(g4 == [("0.0.0.0/0", 6, 53), ("0.0.0.0/0", 17, 53)] and
          g6 == [("::/0", 6, 53), ("::/0", 17, 53)],
          "'*': 0.0.0.0/0 and ::/0, TCP and UDP", (g4, g6))
    locked = sorted(f for f, _ in elements(tx, "locked"))
    check(locked == [(6, 53), (17, 53)], "'*' protocol locks TCP and UDP", locked)

    # closeEstablished: a key is closing if any rule for it says so; duplicates merge
    tx = transaction([rule(22, "TCP", [], close=False), rule(22, "*", [], close=True),
                      rule(3389, "TCP", [])])
    check(sorted(f for f, _ in elements(tx, "locked")) == [(6, 22), (6, 3389), (17, 22)] and
          sorted(f for f, _ in elements(tx, "closing")) == [(6, 22), (17, 22)],
          "locked keys merge; closing if any rule for the key has closeEstablished")

    # the host shape
    check(set_names(tx) == ["closing", "grants4", "grants6", "locked", "nets4", "nets6"],
          "host: sets locked, closing, grants4, grants6, nets4, nets6", set_names(tx))
    flags = {c["add"]["set"]["name"]: c["add"]["set"].get("flags", [])
             for c in tx if "set" in c.get("add", {})}
    check(flags == {"locked": [], "closing": [], "grants4": ["timeout"],
                    "grants6": ["timeout"], "nets4": ["interval", "timeout"],
                    "nets6": ["interval", "timeout"]},
          "no plain interval (rbtree) set: hash sets, and interval sets of concatenations",
          flags)
    chains = [c["add"]["chain"] for c in tx if "chain" in c.get("add", {})]
    check(len(chains) == 1 and chains[0]["hook"] == "input" and chains[0]["policy"] == "accept",
          "host: one input base chain, policy accept", chains)
    verbs = [next(iter(c)) + " " + next(iter(next(iter(c.values())))) for c in tx[1:4]]
    check(verbs == ["add table", "delete table", "add table"],
          "the transaction starts by replacing the whole table", verbs)
    names = {next(iter(next(iter(c.values())).values())).get("name")
             for c in tx[1:4]} | {next(iter(next(iter(c.values())).values())).get("table")
                                  for c in tx[4:]}
    check(names - {None} == {"jitgate"}, "every command names table jitgate and no other",
          names)

    # the gateway shape: destinations lead every key, per family; grants pair by family
    dests = ("192.168.1.10", "fd00::10", "192.168.1.11")
    tx = transaction([rule(22, "TCP", [grant("10.1.0.0/24", 60),
                                       grant("2001:db8::/48", 60, mapped=50022)],
                           dests=dests)], kind="gateway")
    check(set_names(tx) == ["closing4", "closing6", "grants4", "grants6", "locked4",
                            "locked6", "nets4", "nets6"], "gateway: sets per family",
          set_names(tx))
    chains = [c["add"]["chain"] for c in tx if "chain" in c.get("add", {})]
    check(len(chains) == 1 and chains[0]["hook"] == "forward", "gateway: a forward chain",
          chains)
    g4 = sorted((str(f[0]), str(f[1]), f[2], f[3], t) for f, t in grant_elements(tx, 4))
    check(g4 == [("10.1.0.0/24", "192.168.1.10/32", 6, 22, 60),
                 ("10.1.0.0/24", "192.168.1.11/32", 6, 22, 60)],
          "gateway: IPv4 grants keyed by source . destination . protocol . port", g4)
    g6 = sorted((str(f[0]), str(f[1]), t) for f, t in grant_elements(tx, 6))
    check(g6 == [("2001:db8::/48", "fd00::10/128", 60)],
          "gateway: IPv6 grants pair with IPv6 destinations only", g6)
    tx2 = transaction([rule(22, "TCP", [grant("*", 30)], dests=dests)], kind="gateway")
    g4 = sorted((str(f[0]), str(f[1])) for f, _ in grant_elements(tx2, 4))
    g6 = sorted((str(f[0]), str(f[1])) for f, _ in grant_elements(tx2, 6))
    check(g4 == [("0.0.0.0/0", "192.168.1.10/32"), ("0.0.0.0/0", "192.168.1.11/32")] and
          g6 == [("::/0", "fd00::10/128")],
          "gateway: '*' pairs each family with that family's destinations", (g4, g6))
    locked = sorted((str(f[0]), f[1], f[2]) for f, _ in elements(tx, "locked4"))
    check(locked == [("192.168.1.10/32", 6, 22), ("192.168.1.11/32", 6, 22)],
          "gateway: locked keys are destination . protocol . port", locked)

    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
