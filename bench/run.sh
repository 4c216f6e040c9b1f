#!/bin/sh
# make bench: every benchmark of bench/, one after the other. Figures only; nothing fails
# on a number.
set -eu
build=$1
here=$(dirname "$0")
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	sh "$b" "$build"
	echo
done
