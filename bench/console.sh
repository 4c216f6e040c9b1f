#!/bin/sh
# The web console (make bench): its first load (bytes the browser fetches before the
# sign-in page is complete, gzip and plain) and the time to render the JIT VM access page
# with 1,000 configured VMs in Debian's chromium, against the time its API calls take in
# the same run. Starts its own jitgated on a temporary state dir; leaves nothing behind.
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/chromium ] || ! sh "$here/../tests/browser/install.sh"; then
	echo "== web console: skipped (needs chromium and tests/browser's npm packages)"
	exit 0
fi
dir=$(mktemp -d /tmp/jitgate-bench-console.XXXXXX)
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
root=""
[ "$(id -u)" -eq 0 ] && root=--allow-root
"$build/src/server/jitgated" --state-dir "$dir" --listen 127.0.0.1:0 $root 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do
	port=$(sed -n 's/.*event=listening .*port=\([0-9]*\).*/\1/p' "$dir/log" | head -1)
	[ -n "$port" ] && [ -f "$dir/admin.token" ] && break
	sleep 0.1
done
[ -n "${port:-}" ] || { echo "bench: jitgated did not start"; cat "$dir/log"; exit 1; }
echo "== web console ($(nproc) cores; chromium $(/usr/bin/chromium --version 2>/dev/null | sed -n 's/^Chromium \([0-9.]*\).*/\1/p'); browser and server share the machine)"
cd "$here/../tests/browser"
NODE_EXTRA_CA_CERTS=$dir/tls/cert.pem node "$here/console_bench.mjs" "https://127.0.0.1:$port" \
	"$dir/admin.token" "$dir/tls/cert.pem" "$(id -u)"
