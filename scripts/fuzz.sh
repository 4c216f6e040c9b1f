#!/bin/sh
# Runs every libFuzzer target of a fuzz build for a bounded time over its corpus.
# New interesting inputs are merged into tests/fuzz/corpus/<target>/; a crash
# leaves its input in $build/crashes/ and fails the run.
set -eu
build=$1
seconds=$2
mkdir -p "$build/crashes"
rc=0
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	corpus=tests/fuzz/corpus/$name
	work="$build/corpus-$name"
	mkdir -p "$work"
	echo "fuzz: $name for ${seconds}s"
	if ! "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
		-artifact_prefix="$build/crashes/$name-" -print_final_stats=1 \
		"$work" "$corpus" 2>"$build/fuzz-$name.log"; then
		echo "fuzz: $name FAILED, see $build/fuzz-$name.log and $build/crashes/"
		rc=1
	fi
	grep -E '^stat::number_of_executed_units' "$build/fuzz-$name.log" | sed "s/^/fuzz: $name /" || true
	# Keep the corpus small: merge only inputs that add coverage.
	"$bin" -merge=1 "$corpus" "$work" >/dev/null 2>&1 || true
done
exit $rc
