#!/bin/sh
# Installs this folder's node_modules (playwright-core, which drives Debian's chromium, and
# axe-core) exactly as pinned in package-lock.json, with `npm ci`. Idempotent: nothing to
# do when node_modules was installed from the current package.json + package-lock.json.
# Used by `make test`; needs node >= 18 and npm (scripts/deps.sh test installs them, and
# chromium). playwright-core downloads no browser: the tests launch /usr/bin/chromium.
set -eu
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "browser/install.sh: node and npm are needed (sh scripts/deps.sh test)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "browser/install.sh: node >= 18 is needed, found $(node --version)" >&2
	exit 1
fi

stamp=node_modules/.jitgate-installed
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -f node_modules/playwright-core/package.json ] && [ -f node_modules/axe-core/axe.min.js ]; then
	exit 0
fi

PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
