#!/bin/sh
# Installs the Debian packages that the named purposes need (see scripts/packages.txt),
# only those missing, so that it is quiet and quick when everything is present.
set -eu
here=$(dirname "$0")
want=""
for purpose in "$@"; do
	pkgs=$(sed -n "s/^$purpose:[[:space:]]*//p" "$here/packages.txt")
	if [ -z "$pkgs" ]; then
		echo "deps.sh: unknown purpose '$purpose'" >&2
		exit 2
	fi
	want="$want $pkgs"
done
missing=""
for p in $want; do
	# nodejs from another repository (e.g. nodesource) also brings npm; accept any node >= 18.
	if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
	if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
