#!/bin/sh
# Agents' long polls parked on one jitgated (bench/longpoll.py): RSS, a GET's latency, and
# how long one change takes to reach them all. BENCH_AGENTS (default 10000) polls.
set -eu
build=$1
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== ${BENCH_AGENTS:-10000} agents long-polling one jitgated over TLS ($(nproc) cores, client on the same machine)"
python3 "$(dirname "$0")/longpoll.py" "$build" "${BENCH_AGENTS:-10000}"
