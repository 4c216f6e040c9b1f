#!/bin/sh
# repo_alone.sh SOURCE_DIR: the repository stands alone. No file refers to what lies
# beside it (../shared, the sibling checkout the project started from); the Azure
# contract the tests read is inside it. TAP on stdout.
set -u
src=${1:?usage: repo_alone.sh SOURCE_DIR}
echo "1..2"
hits=$(grep -rIn --exclude-dir=.git --exclude-dir='build*' --exclude-dir=node_modules \
	--exclude-dir=.state --exclude=repo_alone.sh -e '\.\./shared' -e '/work/shared' \
	"$src" 2>/dev/null || true)
if [ -z "$hits" ]; then
	echo "ok 1 - nothing refers to ../shared"
else
	echo "not ok 1 - nothing refers to ../shared"
	printf '%s\n' "$hits" | head -n 20 | sed 's/^/# /'
fi
spec=$src/tests/data/azure-jit-spec
if [ -s "$spec/jitNetworkAccessPolicies.json" ] && [ -s "$spec/README.md" ] &&
	grep -q "Azure/azure-rest-api-specs" "$spec/README.md" &&
	[ -n "$(ls "$spec/examples" 2>/dev/null)" ]; then
	echo "ok 2 - the Azure spec and examples are in tests/data, their source named"
else
	echo "not ok 2 - the Azure spec and examples are in tests/data, their source named"
fi
