#!/bin/sh
# jitgated on PostgreSQL beside SQLite (GET and initiate throughput) and the cross-replica
# long-poll wake-up latency, on a throwaway PostgreSQL cluster (bench/pg_bench.py).
set -eu
build=$1
here=$(dirname "$0")
python3 "$here/../tests/integration/pg_cluster.py" python3 "$here/pg_bench.py" "$build"
