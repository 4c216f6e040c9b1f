#!/bin/sh
# make run: the whole of jitgate on this machine, without touching its own firewall or sshd.
#
#   jitgated      control plane, state in STATE_DIR/jitgated (SQLite, TLS, admin.token)
#   demo VM       a network namespace "jitgate-demo" (10.203.0.2) running its own sshd
#                 and a jitgate-agent that enforces inside that namespace only
#   you           the host side of a veth link (10.203.0.1): the "client"
#
# JIT is enabled on the demo VM (port 22 locked), then it prints what to type next.
# Ctrl-C stops everything and removes the namespace. Without root, only jitgated runs.
set -eu

build=${1:?usage: run.sh BUILD_DIR STATE_DIR}
state=${2:?usage: run.sh BUILD_DIR STATE_DIR}
ns=jitgate-demo
host_ip=10.203.0.1
vm_ip=10.203.0.2
port=${JITGATE_PORT:-8443}

jitgated=$build/src/server/jitgated
agent=$build/src/agent/jitgate-agent
cli=$build/src/cli/jitgate
mkdir -p "$state"
state=$(cd "$state" && pwd)
demo=$state/demo
pids=""

say() { printf '%s\n' "run: $*"; }

cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	if [ "$(id -u)" -eq 0 ] && ip netns list 2>/dev/null | grep -qw "$ns"; then
		# Deleting the namespace takes its veth, its sshd's socket and its nftables table.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	fi
	ip link del jg-demo0 2>/dev/null || true
	say "stopped; state kept in $state (delete it to start afresh)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # seconds, description, command...
	limit=$1 what=$2
	shift 2
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt $((limit * 10)) ]; then
			say "timed out waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

root=0
[ "$(id -u)" -eq 0 ] && root=1
listen=127.0.0.1
[ "$root" -eq 1 ] && listen=$host_ip

if [ "$root" -eq 1 ]; then
	# A leftover from an earlier run that was killed hard.
	ip netns del "$ns" 2>/dev/null || true
	ip link del jg-demo0 2>/dev/null || true
	ip netns add "$ns"
	ip link add jg-demo0 type veth peer name eth0 netns "$ns"
	ip addr add "$host_ip/24" dev jg-demo0
	ip link set jg-demo0 up
	ip -n "$ns" addr add "$vm_ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
fi

# jitgated. As root it needs --allow-root; a real deployment runs it as its own user
# (packaging/systemd/jitgated.service).
allow=""
[ "$root" -eq 1 ] && allow=--allow-root
"$jitgated" --state-dir "$state/jitgated" --listen "$listen:$port" --tls-name "$host_ip" \
	$allow 2>>"$state/jitgated.log" &
pids="$pids $!"
token=$state/jitgated/admin.token
ca=$state/jitgated/tls/cert.pem
server=https://$listen:$port
wait_for 20 "jitgated (see $state/jitgated.log)" \
	curl -sf --cacert "$ca" "$server/healthz"
say "jitgated is up at $server (log: $state/jitgated.log)"

JITGATE_TOKEN=$(cat "$token")
export JITGATE_SERVER="$server" JITGATE_TOKEN JITGATE_CA="$ca"
if [ "$root" -ne 1 ]; then
	say "not root: no demo namespace (it needs CAP_NET_ADMIN). jitgated alone is running."
	say "try: JITGATE_SERVER=$server JITGATE_TOKEN=\$(cat $token) JITGATE_CA=$ca $cli vm list"
	say "Ctrl-C stops it."
	wait
	exit 0
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
ip netns exec "$ns" /usr/sbin/sshd -D -f "$demo/sshd_config" -E "$demo/sshd.log" &
pids="$pids $!"

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
	2>>"$state/agent.log" &
pids="$pids $!"
wait_for 30 "the agent to enroll (see $state/agent.log)" \
	sh -c "'$cli' -o json vm show demo-vm -g demo | grep -q enforcementPoint"
rm -f "$demo/enroll.token"

"$cli" jit enable demo-vm -g demo >/dev/null
wait_for 30 "the agent to lock port 22 (see $state/agent.log)" \
	sh -c "ip netns exec '$ns' nft list table inet jitgate | grep -q 22"

# A profile for the commands below, unless the user has one already.
profile=${XDG_CONFIG_HOME:-$HOME/.config}/jitgate/config
prefix=""
if [ ! -f "$profile" ] || grep -q "$server" "$profile" 2>/dev/null; then
	"$cli" login --server "$server" --token-file "$token" --ca "$ca" >/dev/null
else
	prefix="JITGATE_SERVER=$server JITGATE_TOKEN=\$(cat $token) JITGATE_CA=$ca "
fi
rel=$(realpath --relative-to="$PWD" "$cli" 2>/dev/null || echo "$cli")
key=$(realpath --relative-to="$PWD" "$demo/id_ed25519" 2>/dev/null || echo "$demo/id_ed25519")

cat <<EOF

  jitgate is running: jitgated at $server, and a demo VM "demo-vm" ($vm_ip) whose
  SSH port is now locked by JIT. Try, in another terminal:

    ${prefix}$rel vm list
    ${prefix}$rel request demo-vm -g demo --port 22 --for 2m --wait
    ssh -i $key -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no root@$vm_ip

  Before the request, ssh times out; after it, it connects; two minutes later the
  kernel closes the port again (even if you stop jitgated). The admin (Owner) token is
  $token; logs are in $state/*.log.

  Ctrl-C stops everything and removes the demo namespace.
EOF
wait
