#!/bin/sh
# Requests per second of jitgated's API: GET policy and POST initiate, over HTTPS with
# keep-alive, from 1 and 4 client threads. Starts its own jitgated on a temporary state
# dir and a free port; leaves nothing behind.
set -eu
build=$1
seconds=${BENCH_SECONDS:-5}
dir=$(mktemp -d /tmp/jitgate-bench.XXXXXX)
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
root=""
[ "$(id -u)" -eq 0 ] && root=--allow-root
# --initiate-limit 0: this measures throughput, not the per-principal rate limit.
"$build/src/server/jitgated" --state-dir "$dir" --listen 127.0.0.1:0 --log-level warn $root \
	--initiate-limit 0 \
	2>"$dir/log" &
pid=$!
# The listening line is logged at info; wait for the token and find the port with ss.
for _ in $(seq 100); do
	[ -f "$dir/admin.token" ] && port=$(ss -ltnpH 2>/dev/null | grep "pid=$pid," |
		sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' | head -1) && [ -n "$port" ] && break
	sleep 0.1
done
[ -n "${port:-}" ] || { echo "bench: jitgated did not start"; cat "$dir/log"; exit 1; }
url=https://127.0.0.1:$port
ca=$dir/tls/cert.pem
tok=$dir/admin.token
api() { curl -sf --cacert "$ca" -H "Authorization: Bearer $(cat "$tok")" \
	-H "Content-Type: application/json" -X "$1" "$url$2?api-version=2020-01-01" ${3:+-d "$3"}; }
sub=$(api GET /subscriptions | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"][0]["subscriptionId"])')
rg=/subscriptions/$sub/resourceGroups/bench
api PUT "$rg" '{"location":"westeurope"}' >/dev/null
api PUT "$rg/providers/Microsoft.Compute/virtualMachines/vm1" \
	'{"properties":{"osType":"Linux","addresses":["10.0.0.4"]}}' >/dev/null
pol=$rg/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default
api PUT "$pol" "{\"properties\":{\"virtualMachines\":[{\"id\":\"$rg/providers/Microsoft.Compute/virtualMachines/vm1\",\"ports\":[{\"number\":22,\"protocol\":\"TCP\",\"allowedSourceAddressPrefix\":\"*\",\"maxRequestAccessDuration\":\"PT3H\"}]}]}}" >/dev/null
end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"virtualMachines":[{"id":"%s","ports":[{"number":22,"endTimeUtc":"%s","allowedSourceAddressPrefix":"10.1.2.3"}]}]}' \
	"$rg/providers/Microsoft.Compute/virtualMachines/vm1" "$end" >"$dir/initiate.json"
echo "== jitgated API ($(nproc) cores; ${seconds}s per row; client and server share the machine)"
for t in 1 4; do
	"$build/bench/api_bench" "$url" "$ca" "$tok" "$pol?api-version=2020-01-01" GET - "$t" "$seconds" |
		sed "s/^/threads=$t /"
	"$build/bench/api_bench" "$url" "$ca" "$tok" "$pol/initiate?api-version=2020-01-01" POST \
		"$dir/initiate.json" "$t" "$seconds" | sed "s/^/threads=$t /"
done
# The framework's ceiling, same run, same client, same certificate: bare libmicrohttpd with
# jitgated's daemon options answering GET policy's own body (bench/mhd_bare.c). The client
# is not the bottleneck when the bare server's rate is well above jitgated's with the
# same client threads.
api GET "$pol" >"$dir/policy.json"
"$build/bench/mhd_bare" "$ca" "$dir/tls/key.pem" "$dir/policy.json" >"$dir/bare.out" 2>&1 &
bare=$!
for _ in $(seq 100); do
	bport=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$dir/bare.out") && [ -n "$bport" ] && break
	sleep 0.1
done
echo "== GET policy: jitgated vs bare libmicrohttpd (same options, fixed body; ${seconds}s per row)"
for t in 1 4; do
	j=$("$build/bench/api_bench" "$url" "$ca" "$tok" "$pol?api-version=2020-01-01" GET - "$t" \
		"$seconds")
	b=$("$build/bench/api_bench" "https://127.0.0.1:$bport" "$ca" "$tok" \
		"$pol?api-version=2020-01-01" GET - "$t" "$seconds")
	echo "threads=$t jitgated $j"
	echo "threads=$t bare     $b"
	echo "$j $b" | awk -v t="$t" '{for (i = 1; i <= NF; i++) if ($i == "req/s,") r[++n] = $(i - 1); printf "threads=%s jitgated/bare = %.2f\n", t, r[1] / r[2]}'
done
kill "$bare" 2>/dev/null && wait "$bare" 2>/dev/null || true
# A Prometheus scrape against the GET policy next to it, same run, same client: the
# ratio says what /metrics costs in units of an ordinary read (docs/metrics.md).
echo "== GET /metrics beside GET policy (1 thread; ${seconds}s each, interleaved twice)"
ratios=""
for round in 1 2; do
	m=$("$build/bench/api_bench" "$url" "$ca" "$tok" "/metrics" GET - 1 "$seconds")
	p=$("$build/bench/api_bench" "$url" "$ca" "$tok" "$pol?api-version=2020-01-01" GET - 1 \
		"$seconds")
	echo "$m"
	echo "$p"
	ratios="$ratios $(echo "$m $p" | awk '{for (i = 1; i <= NF; i++) if ($i == "req/s,") r[++n] = $(i - 1); printf "%.2f", r[2] / r[1]}')"
done
echo "metrics scrape costs GET policy x:$ratios (policy req/s / metrics req/s, per round)"
