#!/bin/sh
# The enforcement path, measured: from `jitgate request --wait`'s start and from an
# initiate's 202 to the first TCP connect through jitgate-agent, beside fwknop 2.6.10 from
# its SPA packet on the same probe (agent_latency.py, in network namespaces), and the cost
# of one more grant with 10, 1,000 and 100,000 present (enforcer_bench, in a private
# network namespace). Needs root; never touches the host's own network or firewall.
set -eu
build=$1
here=$(dirname "$0")
if [ "$(id -u)" -ne 0 ]; then
	echo "agent bench: skipped: needs root (network namespaces, nftables)"
	exit 0
fi
python3 "$here/agent_latency.py" "$build"
echo
"$build/bench/enforcer_bench"
