#!/bin/sh
# make run: the whole of jitgate on this machine, without touching its own firewall or sshd.
#
#   jitgated      control plane, state in STATE_DIR/jitgated (SQLite, TLS, admin.token)
#   demo VM       a network namespace "jitgate-demo" (10.203.0.2) running its own sshd
#                 and a jitgate-agent that enforces inside that namespace only
#   you           the host side of a veth link (10.203.0.1): the "client"
#
# JIT is enabled on the demo VM (port 22 locked), then it prints what to type next.
# Ctrl-C (or SIGINT, SIGTERM, SIGHUP to this script: 'make stop') stops everything and
# removes the namespace; so does any of its programs exiting. One at a time: a second one
# is refused while the first runs. Without root, only jitgated runs.
set -eu

lockfile() {
	if [ "$(id -u)" -eq 0 ]; then
		echo "/run/jitgate-run${JITGATE_DEMO_NS:+-$JITGATE_DEMO_NS}.lock"
	else
		echo "${XDG_RUNTIME_DIR:-/tmp}/jitgate-run-$(id -u).lock"
	fi
}

# run.sh --stop (make stop): signals the running demo and waits until it has cleaned up.
if [ "${1:-}" = --stop ]; then
	lock=$(lockfile)
	pid=$(cat "$lock" 2>/dev/null || true)
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "run: no 'make run' is running" >&2
		exit 1
	fi
	kill -TERM "$pid"
	exec 9<>"$lock"
	if ! flock -w 30 9; then
		echo "run: pid $pid did not stop within 30 s" >&2
		exit 1
	fi
	echo "run: stopped pid $pid"
	exit 0
fi

build=${1:?usage: run.sh BUILD_DIR STATE_DIR | run.sh --stop}
state=${2:?usage: run.sh BUILD_DIR STATE_DIR}
# The demo's namespace, /24 and host-side link; tests that run this script give their own
# (JITGATE_DEMO_NS, JITGATE_DEMO_NET, e.g. 10.205.7, JITGATE_DEMO_LINK), so that they never
# meet a user's demo or each other.
ns=${JITGATE_DEMO_NS:-jitgate-demo}
net=${JITGATE_DEMO_NET:-10.203.0}
veth=${JITGATE_DEMO_LINK:-jg-demo0}
host_ip=$net.1
vm_ip=$net.2
port=${JITGATE_PORT:-8443}

jitgated=$build/src/server/jitgated
agent=$build/src/agent/jitgate-agent
cli=$build/src/cli/jitgate
mkdir -p "$state"
state=$(cd "$state" && pwd)
demo=$state/demo
pids=""

say() { printf '%s\n' "run: $*"; }
die() { say "$*" >&2; exit 1; }

root=0
[ "$(id -u)" -eq 0 ] && root=1

# Every program used here, so that a missing one is named instead of a timeout.
need() { # package, program...
	pkg=$1
	shift
	for prog in "$@"; do
		command -v "$prog" >/dev/null 2>&1 && continue
		die "missing program '$prog' (Debian package $pkg): as root, 'make run' installs" \
			"it, or: sh scripts/deps.sh run"
	done
}
need curl curl
need python3 python3
need coreutils realpath
need util-linux flock
for prog in "$jitgated" "$cli"; do
	[ -x "$prog" ] || die "$prog is not built: run 'make' (or 'make run') first"
done
if [ "$root" -eq 1 ]; then
	need iproute2 ip
	need nftables nft
	need openssh-client ssh-keygen ssh
	[ -x /usr/sbin/sshd ] || die "missing program '/usr/sbin/sshd' (Debian package" \
		"openssh-server): as root, 'make run' installs it, or: sh scripts/deps.sh run"
	[ -x "$agent" ] || die "$agent is not built: run 'make' first"
fi

# One demo at a time: the namespace, its address and the port are fixed. The lock file
# holds the running one's pid ('make stop' signals it); it is not passed to the programs
# started here, so a demo killed hard (SIGKILL) leaves a stale file, not a held lock.
lock=$(lockfile)
exec 9<>"$lock"
if ! flock -n 9; then
	other=$(cat "$lock" 2>/dev/null || true)
	die "another 'make run' is running${other:+ (pid $other)}; stop it first ('make stop'," \
		"or Ctrl-C in its terminal)"
fi
if [ "$root" -eq 1 ] && [ -n "$(ip netns pids "$ns" 2>/dev/null || true)" ]; then
	die "the namespace $ns exists with programs running in it (another 'make run', or one" \
		"killed hard?): stop them, or 'ip netns pids $ns | xargs kill; ip netns del $ns'"
fi
echo $$ >"$lock"

cleanup() {
	trap - EXIT INT TERM HUP
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	if [ "$root" -eq 1 ] && ip netns list 2>/dev/null | grep -qw "$ns"; then
		# Deleting the namespace takes its veth, its sshd's socket and its nftables table.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	fi
	[ "$root" -eq 1 ] && ip link del "$veth" 2>/dev/null || true
	: >"$lock"
	say "stopped; state kept in $state (delete it to start afresh)"
}
trap cleanup EXIT
# Stopping is what these ask for: done, once cleaned up (make says nothing more).
trap 'exit 0' INT TERM HUP

# The programs started here, by name, so that one exiting is said and stops the demo.
names=""
started() { # name, pid, log
	pids="$pids $2"
	names="$names $1:$2:$3"
}
check_alive() {
	for e in $names; do
		name=${e%%:*} rest=${e#*:}
		pid=${rest%%:*} log=${rest#*:}
		kill -0 "$pid" 2>/dev/null && continue
		say "$name (pid $pid) exited; the end of $log:" >&2
		tail -n 5 "$log" 2>/dev/null | sed 's/^/    /' >&2
		return 1
	done
}

wait_for() { # seconds, description, command...
	limit=$1 what=$2
	shift 2
	i=0
	while ! "$@" >/dev/null 2>&1; do
		check_alive || die "stopping: it was needed for $what"
		i=$((i + 1))
		if [ "$i" -gt $((limit * 10)) ]; then
			die "timed out waiting for $what"
		fi
		sleep 0.1
	done
}

listen=127.0.0.1
[ "$root" -eq 1 ] && listen=$host_ip

if [ "$root" -eq 1 ]; then
	# A leftover (without programs) from an earlier run that was killed hard.
	ip netns del "$ns" 2>/dev/null || true
	ip link del "$veth" 2>/dev/null || true
	ip netns add "$ns"
	ip link add "$veth" type veth peer name eth0 netns "$ns"
	ip addr add "$host_ip/24" dev "$veth"
	ip link set "$veth" up
	ip -n "$ns" addr add "$vm_ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
fi

# jitgated. As root it needs --allow-root; a real deployment runs it as its own user
# (packaging/systemd/jitgated.service).
allow=""
[ "$root" -eq 1 ] && allow=--allow-root
server=https://$listen:$port
# Something else on that port would answer the readiness check in jitgated's stead.
rc=0
curl -s -k --max-time 3 -o /dev/null "$server/" 2>/dev/null || rc=$?
[ "$rc" -eq 7 ] || [ "$rc" -eq 28 ] ||
	die "something already listens on $listen:$port; stop it, or use JITGATE_PORT=N make run"
"$jitgated" --state-dir "$state/jitgated" --listen "$listen:$port" --tls-name "$host_ip" \
	$allow 9>&- 2>>"$state/jitgated.log" &
started jitgated $! "$state/jitgated.log"
token=$state/jitgated/admin.token
ca=$state/jitgated/tls/cert.pem
wait_for 20 "jitgated to answer at $server (log: $state/jitgated.log)" \
	curl -sf --cacert "$ca" "$server/healthz"
check_alive || die "stopping"
say "jitgated is up at $server (log: $state/jitgated.log)"

JITGATE_TOKEN=$(cat "$token")
export JITGATE_SERVER="$server" JITGATE_TOKEN JITGATE_CA="$ca"
if [ "$root" -ne 1 ]; then
	say "not root: no demo namespace (it needs CAP_NET_ADMIN). jitgated alone is running."
	say "try: JITGATE_SERVER=$server JITGATE_TOKEN=\$(cat $token) JITGATE_CA=$ca $cli vm list"
	say "Ctrl-C (or 'make stop') stops it."
	while check_alive; do sleep 1; done
	exit 1
fi

# The demo VM's sshd: its own config, host key and authorized key; nothing of the host's.
mkdir -p "$demo" /run/sshd
chmod 700 "$demo"
[ -f "$demo/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C jitgate-demo -f "$demo/id_ed25519"
[ -f "$demo/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$demo/host_ed25519"
cp "$demo/id_ed25519.pub" "$demo/authorized_keys"
cat >"$demo/sshd_config" <<EOF
ListenAddress $vm_ip
Port 22
HostKey $demo/host_ed25519
AuthorizedKeysFile $demo/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PidFile $demo/sshd.pid
EOF
ip netns exec "$ns" /usr/sbin/sshd -D -f "$demo/sshd_config" -E "$demo/sshd.log" 9>&- &
started sshd $! "$demo/sshd.log"

# Enroll the demo VM's agent: a one-time token for resource group "demo".
sub=$(curl -sf --cacert "$ca" \
	-H "Authorization: Bearer $(cat "$token")" "$server/subscriptions?api-version=2020-01-01" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["value"][0]["subscriptionId"])')
curl -sf --cacert "$ca" -H "Authorization: Bearer $(cat "$token")" -H 'Content-Type: application/json' \
	-X PUT -d '{"location":"local"}' \
	"$server/subscriptions/$sub/resourceGroups/demo?api-version=2020-01-01" >/dev/null
if [ ! -f "$demo/agent/credential" ]; then
	"$cli" agent enroll-token -g demo -o json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >"$demo/enroll.token"
	chmod 600 "$demo/enroll.token"
	enroll="--enroll-token $demo/enroll.token"
else
	enroll=""
fi
# The agent starts as root and both its processes become nobody (a real host has a
# jitgate-agent user, the agent's default --user).
ip netns exec "$ns" "$agent" --server "$server" --ca "$ca" --state-dir "$demo/agent" \
	--user nobody $enroll \
	--kind host --name demo-vm --vm-name demo-vm --os linux --address "$vm_ip" \
	9>&- 2>>"$state/agent.log" &
started jitgate-agent $! "$state/agent.log"
wait_for 30 "the agent to enroll (see $state/agent.log)" \
	sh -c "'$cli' -o json vm show demo-vm -g demo | grep -q enforcementPoint"
rm -f "$demo/enroll.token"

"$cli" jit enable demo-vm -g demo >/dev/null
wait_for 30 "the agent to lock port 22 (see $state/agent.log)" \
	sh -c "ip netns exec '$ns' nft list table inet jitgate | grep -q 22"

# A profile for the commands below: the default one, unless the user has one for another
# server already; then a named one, "demo".
profile=${XDG_CONFIG_HOME:-$HOME/.config}/jitgate/config
use_profile=""
if [ -f "$profile" ] && ! grep -q "server = $server\$" "$profile" 2>/dev/null; then
	use_profile=demo
	"$cli" login --profile demo --server "$server" --token-file "$token" --ca "$ca" >/dev/null
else
	"$cli" login --server "$server" --token-file "$token" --ca "$ca" >/dev/null
fi
bindir=$(cd "$(dirname "$cli")" && pwd)
key=$(realpath --relative-to="$PWD" "$demo/id_ed25519" 2>/dev/null || echo "$demo/id_ed25519")
case "$key" in ../*) key=$demo/id_ed25519 ;; esac
path_line=""
[ "$(command -v jitgate 2>/dev/null || true)" = "$bindir/jitgate" ] ||
	path_line="export PATH=\"$bindir:\$PATH\"    # or: make install"
profile_line=""
[ -z "$use_profile" ] ||
	profile_line="export JITGATE_PROFILE=demo    # your own default profile is left alone"

cat <<EOF

  jitgate is running: jitgated at $server, and a demo VM "demo-vm" ($vm_ip) whose
  SSH port is now locked by JIT. Try, in another terminal:

${path_line:+    $path_line
}${profile_line:+    $profile_line
}    jitgate vm list
    jitgate request demo-vm -g demo --port 22 --for 2m --wait
    ssh -i $key -o ConnectTimeout=5 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no root@$vm_ip

  Before the request, ssh times out (after 5 s); after it, it connects; two minutes
  later the kernel closes the port again (even if you stop jitgated). The admin
  (Owner) token is $token, the server's certificate $ca;
  logs are in $state/*.log.

  The web console: $server/
  (sign in with the token in $token; the certificate is jitgated's self-signed
  $ca, which the browser asks you to accept once).

  Ctrl-C stops everything and removes the demo namespace ('make stop' from another
  terminal, or SIGTERM/SIGINT/SIGHUP to pid $$, does the same).
EOF
# Until a signal, or one of the programs exiting (said, and everything is stopped).
while check_alive; do sleep 1; done
die "stopping: the demo needs all of jitgated, its agent and its sshd"
