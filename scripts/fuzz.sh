#!/bin/sh
# Runs every libFuzzer target of a fuzz build for a bounded time over its corpus.
#
# Each target starts from its seed corpus, tests/fuzz/corpus/<target>/, and keeps
# what it finds in $build/corpus-<target>/, so coverage accumulates over runs
# without touching the tree. Afterwards the inputs that add coverage over the seed
# corpus are left in $build/new-<target>/, and $keep of them (default 5, spread over
# their sizes) are copied into the seed corpus while it holds fewer than $max files
# (default 60): seeds are replayed by `make test`, so they stay few.
# A crash leaves its input in $build/crashes/ and fails the run.
#
# usage: fuzz.sh BUILD SECONDS [KEEP [MAX]]
set -eu
build=$1
seconds=$2
keep=${3:-5}
max=${4:-60}
dict_dir=tests/fuzz
# UBSan only reports and goes on unless told to stop; a report is a finding.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS
mkdir -p "$build/crashes"
rc=0
for bin in "$build"/tests/fuzz/fuzz_*; do
	# Meson keeps each target's objects in a fuzz_<name>.p/ directory beside it.
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	corpus=tests/fuzz/corpus/$name
	work="$build/corpus-$name"
	new="$build/new-$name"
	log="$build/fuzz-$name.log"
	mkdir -p "$work"
	set -- -max_total_time="$seconds" -max_len=65536 -timeout=10 \
		-artifact_prefix="$build/crashes/$name-" -print_final_stats=1
	# A target's own dictionary, tests/fuzz/<target>.dict, else JSON's for a JSON parser.
	if [ -f "$dict_dir/$name.dict" ]; then
		set -- "$@" -dict="$dict_dir/$name.dict"
	else
		case $name in
		*_json) set -- "$@" -dict="$dict_dir/json.dict" ;;
		esac
	fi
	echo "fuzz: $name for ${seconds}s"
	if ! "$bin" "$@" "$work" "$corpus" 2>"$log"; then
		echo "fuzz: $name FAILED, see $log and $build/crashes/"
		rc=1
	fi
	grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz: $name /" || true

	# What adds coverage over the seeds: merge the work corpus into a copy of them.
	rm -rf "$new" "$new.tmp"
	mkdir -p "$new" "$new.tmp"
	cp "$corpus"/* "$new.tmp"/
	if ! "$bin" -merge=1 "$new.tmp" "$work" >"$build/merge-$name.log" 2>&1; then
		echo "fuzz: $name: merge failed, see $build/merge-$name.log"
		rm -rf "$new.tmp"
		rc=1
		continue
	fi
	for f in "$new.tmp"/*; do
		[ -e "$corpus/${f##*/}" ] || mv "$f" "$new"/
	done
	rm -rf "$new.tmp"
	found=$(find "$new" -type f | wc -l)
	room=$((max - $(find "$corpus" -type f | wc -l)))
	[ "$room" -lt "$keep" ] && n=$room || n=$keep
	added=0
	if [ "$n" -gt 0 ] && [ "$found" -gt 0 ]; then
		# Spread over the sizes: the smallest are often one odd byte, the largest noise.
		for f in $(ls -Sr "$new" | awk -v n="$n" -v t="$found" '
			BEGIN { for (i = 0; i < n && i < t; i++)
				pick[int((2 * i + 1) * t / (2 * n)) + 1] = 1 }
			NR in pick'); do
			cp "$new/$f" "$corpus/$f"
			added=$((added + 1))
		done
	fi
	echo "fuzz: $name: $found inputs add coverage (in $new), $added copied to $corpus"
done
exit $rc
