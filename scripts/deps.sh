#!/bin/sh
# Installs the Debian packages that the named purposes need (see scripts/packages.txt),
# only those missing, so that it is quiet and quick when everything is present.
#
# openssh-server is for the demo's and the tests' own sshds, each in a network namespace:
# it is installed without starting the host's sshd (a policy-rc.d says no while it is
# installed) and its units are disabled afterwards, so that the host's port 22 stays as it
# was. An openssh-server that is already installed is left alone.
set -eu
here=$(dirname "$0")
want=""
for purpose in "$@"; do
	pkgs=$(sed -n "s/^$purpose:[[:space:]]*//p" "$here/packages.txt")
	if [ -z "$pkgs" ]; then
		echo "deps.sh: unknown purpose '$purpose' (see scripts/packages.txt)" >&2
		exit 2
	fi
	want="$want $pkgs"
done
missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
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

sshd=0
others=""
for p in $missing; do
	if [ "$p" = openssh-server ]; then sshd=1; else others="$others $p"; fi
done

echo "deps.sh: installing$missing (from the Debian archive)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ -n "$others" ]; then
	apt-get install -y -qq --no-install-recommends $others >/dev/null
fi
[ "$sshd" -eq 0 ] && exit 0

# The host's sshd: not started now, not enabled for the next boot.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	trap 'rm -f "$policy"' EXIT
	trap 'exit 130' INT TERM HUP
	printf '#!/bin/sh\n# deps.sh: no service starts while openssh-server installs\nexit 101\n' \
		>"$policy"
	chmod 755 "$policy"
	made_policy=1
fi
apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
if command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper disable ssh.service ssh.socket >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null 2>&1; then
	update-rc.d ssh disable >/dev/null 2>&1 || true
fi
if [ "$made_policy" -eq 1 ]; then
	rm -f "$policy"
	trap - EXIT
fi
echo "deps.sh: openssh-server installed for jitgate's own sshds; the host's sshd was not" \
	"started or enabled (to use it: systemctl enable --now ssh)"
