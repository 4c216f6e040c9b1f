#!/bin/sh
# Installs this folder's node_modules (the Azure SDK client used by jit_sdk_test.mjs) exactly
# as pinned in package-lock.json, with `npm ci`. Idempotent: when node_modules was already
# installed from the current package.json + package-lock.json it does nothing.
# Used by `make test`; needs node >= 18 and npm (scripts/deps.sh test installs them).
set -eu
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "azure-sdk/install.sh: node and npm are needed (sh scripts/deps.sh test)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "azure-sdk/install.sh: node >= 18 is needed, found $(node --version)" >&2
	exit 1
fi

stamp=node_modules/.jitgate-installed
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -f node_modules/@azure/arm-security/package.json ]; then
	exit 0
fi

npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
