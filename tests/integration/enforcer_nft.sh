#!/bin/bash
# enforcer_nft.sh: the nftables enforcer against real traffic, in network namespaces.
#
#   enforcer_nft.sh PATH/TO/jitgate-enforce        (TAP on stdout)
#
# Three namespaces joined by veth pairs:
#
#   client 10.77.1.2 fd77:1::2 ---- 10.77.1.1 fd77:1::1  vm  10.77.2.1 fd77:2::1 ---- other
#                                                        |                       10.77.2.2 fd77:2::2
#            a real OpenSSH sshd on :22 (generated host and client keys), TCP 8080 (never
#            locked), UDP 5300, TCP+UDP 7000, TCP 2200 (dropped by the user's own table)
#
# jitgate-enforce runs inside "vm" as a host enforcement point would; ssh and the probes
# run from "client" and "other". Nothing touches the host's own firewall or sshd: every
# command runs in one of these namespaces, sshd in a private mount namespace as well.
# Everything is torn down on success, failure and signals. Without root, ip netns,
# nftables, OpenSSH or python3 the whole file is skipped (TAP "1..0 # SKIP").
set -u

TOOL=${1:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PROBE="python3 $HERE/netprobe.py"
VMID=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/jit-test/providers/Microsoft.Compute/virtualMachines/vm1

n=0
failed=0
TMP=
NSES=

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { echo "# [${SECONDS}s] $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# check DESCRIPTION COMMAND...: one test point from a command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# wait_until SECONDS COMMAND...: polls until COMMAND succeeds; fails after the deadline.
wait_until() {
	local deadline=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}

cleanup() {
	local ns pids
	trap - EXIT INT TERM HUP
	# Every process in these namespaces was started by this script.
	for ns in $NSES; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# --- preconditions -----------------------------------------------------------------

[ -n "$TOOL" ] && [ -x "$TOOL" ] || skip_all "usage: $0 PATH/TO/jitgate-enforce"
TOOL=$(readlink -f "$TOOL")
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces and nftables"
for c in ip nft ssh ssh-keygen python3 unshare mount timeout; do
	command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
done
[ -x /usr/sbin/sshd ] || skip_all "OpenSSH server (/usr/sbin/sshd) is not installed"

ID=jgt$$
VM=$ID-vm
CL=$ID-client
OT=$ID-other
TMP=$(mktemp -d /tmp/jitgate-nft.XXXXXX) || skip_all "cannot create a temporary directory"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

for ns in $VM $CL $OT; do
	ip netns add "$ns" 2>"$TMP/netns.log" ||
		skip_all "ip netns add does not work here: $(head -n1 "$TMP/netns.log")"
	NSES="$NSES $ns"
	ip -n "$ns" link set lo up
done
ip netns exec "$VM" "$TOOL" probe >"$TMP/probe.log" 2>&1 ||
	skip_all "nftables cannot do what the enforcer needs: $(tail -n1 "$TMP/probe.log")"

# --- network -----------------------------------------------------------------------

setup_net() {
	ip -n "$VM" link add vcl type veth peer name eth0 netns "$CL" &&
	ip -n "$VM" link add vot type veth peer name eth0 netns "$OT" &&
	ip -n "$VM" addr add 10.77.1.1/24 dev vcl &&
	ip -n "$VM" addr add fd77:1::1/64 dev vcl nodad &&
	ip -n "$VM" addr add 10.77.2.1/24 dev vot &&
	ip -n "$VM" addr add fd77:2::1/64 dev vot nodad &&
	ip -n "$CL" addr add 10.77.1.2/24 dev eth0 &&
	ip -n "$CL" addr add fd77:1::2/64 dev eth0 nodad &&
	ip -n "$OT" addr add 10.77.2.2/24 dev eth0 &&
	ip -n "$OT" addr add fd77:2::2/64 dev eth0 nodad &&
	ip -n "$VM" link set vcl up && ip -n "$VM" link set vot up &&
	ip -n "$CL" link set eth0 up && ip -n "$OT" link set eth0 up
}

setup_sshd() {
	ssh-keygen -q -t ed25519 -N '' -C jitgate-test-host -f "$TMP/hostkey" &&
	ssh-keygen -q -t ed25519 -N '' -C jitgate-test-client -f "$TMP/clientkey" &&
	cp "$TMP/clientkey.pub" "$TMP/authorized_keys" || return 1
	cat >"$TMP/sshd_config" <<-EOF
		Port 22
		ListenAddress 0.0.0.0
		ListenAddress ::
		HostKey $TMP/hostkey
		PidFile $TMP/sshd.pid
		AuthorizedKeysFile $TMP/authorized_keys
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PermitRootLogin prohibit-password
		UseDNS no
		LogLevel ERROR
	EOF
	# sshd wants /run/sshd; a tmpfs /run in a private mount namespace gives it one
	# without creating anything on the host.
	ip netns exec "$VM" unshare -m --propagation private sh -c \
		'mount -t tmpfs jitgate-test /run && mkdir -m 0755 /run/sshd &&
		 exec /usr/sbin/sshd -D -e -f "$1"' sh "$TMP/sshd_config" \
		</dev/null >>"$TMP/sshd.log" 2>&1 &
	disown
}

# ssh_from NS ADDRESS [COMMAND]: a real login with the generated key. Fails on a dropped
# SYN after 2 s; the overall limit covers a login cut halfway (a closeEstablished grant
# ending mid-handshake), where ssh would wait for TCP to give up.
ssh_from() {
	local ns=$1 addr=$2
	shift 2
	timeout -k 2 10 ip netns exec "$ns" ssh -F /dev/null -i "$TMP/clientkey" -o IdentitiesOnly=yes \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o ConnectTimeout=2 "root@$addr" "${@:-true}" \
		</dev/null >/dev/null 2>>"$TMP/ssh.log"
}
no_ssh_from() { ! ssh_from "$@"; }
tcp_from() { ip netns exec "$1" $PROBE tcp "$2" "$3" 2; }
no_tcp_from() { ! tcp_from "$@"; }
udp_from() { ip netns exec "$1" $PROBE udp "$2" "$3" 1.5; }
no_udp_from() { ! udp_from "$@"; }

start_servers() {
	local p
	for p in 8080 7000 2200; do
		ip netns exec "$VM" $PROBE serve-tcp $p </dev/null >>"$TMP/servers.log" 2>&1 &
		disown
	done
	for p in 5300 7000; do
		ip netns exec "$VM" $PROBE serve-udp $p </dev/null >>"$TMP/servers.log" 2>&1 &
		disown
	done
}

# The user's own table, there before jitgate and to stay exactly as it is.
setup_usertable() {
	ip netns exec "$VM" nft -f - <<-'EOF'
		table inet usertable {
			set blocked {
				type ipv4_addr
				elements = { 192.0.2.7, 198.51.100.9 }
			}
			chain input {
				type filter hook input priority filter; policy accept;
				ip saddr @blocked drop
				tcp dport 2200 drop
			}
		}
	EOF
}

usertable() {
	ip netns exec "$VM" nft list ruleset |
		awk '/^table inet usertable /{p=1} p{print} p&&/^}/{exit}'
}

# --- desired states ----------------------------------------------------------------

utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# grant SOURCE SECONDS
grant() {
	printf '{"source":"%s","endTimeUtc":"%s","secondsRemaining":%d}' \
		"$1" "$(utc $(($(date +%s) + $2)))" "$2"
}

# rule PORT PROTOCOL CLOSE [GRANT...]
rule() {
	local port=$1 proto=$2 close=$3 grants
	shift 3
	grants=$(IFS=,; echo "$*")
	printf '{"vm":"%s","destinations":["10.77.1.1","fd77:1::1"],"number":%d,' "$VMID" "$port"
	printf '"protocol":"%s","closeEstablished":%s,"grants":[%s]}' "$proto" "$close" "$grants"
}

# state_file RULE...: writes a desired state, prints its path.
state_file() {
	local f rules version
	# Runs in $(...): the version counter lives in a file.
	version=$(($(cat "$TMP/version" 2>/dev/null || echo 0) + 1))
	echo "$version" >"$TMP/version"
	f=$TMP/state.$version.json
	rules=$(IFS=,; echo "$*")
	printf '{"version":%d,"enforcementPoint":"test-ep","kind":"host","generatedAtUtc":"%s",' \
		"$version" "$(utc "$(date +%s)")" >"$f"
	printf '"rules":[%s]}\n' "$rules" >>"$f"
	echo "$f"
}

apply_file() { ip netns exec "$VM" "$TOOL" apply "$1" >>"$TMP/apply.log" 2>&1; }

# apply RULE...: the locked ports of every scenario plus what a scenario adds.
apply() { apply_file "$(state_file "$@")"; }

jitgate_table() {
	ip netns exec "$VM" nft list table inet jitgate 2>/dev/null
}

# The table without its countdowns, which differ between two applies by design.
jitgate_table_untimed() {
	jitgate_table | sed -E 's/ timeout [0-9hms]+//; s/ expires [0-9hms]+//'
}

grant_in_set() { jitgate_table | grep -q "$1"; }
grant_gone() { ! grant_in_set "$1"; }
no_grants() {
	local s
	for s in grants4 grants6 nets4 nets6; do
		ip netns exec "$VM" nft list set inet jitgate $s | grep -q elements && return 1
	done
	return 0
}

show_logs() {
	local f
	for f in apply.log ssh.log sshd.log servers.log; do
		[ -s "$TMP/$f" ] && sed "s/^/# $f: /" "$TMP/$f" | tail -n 20
	done
}

# --- scenarios ---------------------------------------------------------------------

if ! setup_net; then
	echo "Bail out! cannot build the veth network"
	exit 1
fi
setup_usertable || { echo "Bail out! cannot create the user's table"; exit 1; }
USERTABLE_BEFORE=$(usertable)
setup_sshd || { echo "Bail out! cannot start sshd"; exit 1; }
start_servers
if ! wait_until 15 ssh_from "$CL" 10.77.1.1 || ! wait_until 10 tcp_from "$CL" 10.77.1.1 8080 ||
	! wait_until 10 udp_from "$CL" 10.77.1.1 5300; then
	show_logs
	echo "Bail out! sshd or the test servers did not come up"
	exit 1
fi

diag "before: no jitgate table"
check "before: ssh from client works" ssh_from "$CL" 10.77.1.1
check "before: ssh from other works" ssh_from "$OT" 10.77.2.1
check "before: ssh over IPv6 from client works" ssh_from "$CL" fd77:1::1

LOCKED_22="$(rule 22 TCP false)"
LOCKED_5300="$(rule 5300 UDP false)"
LOCKED_7000="$(rule 7000 '*' false)"
LOCKED_2200="$(rule 2200 TCP false)"

diag "locked: 22/TCP, 5300/UDP, 7000/*, 2200/TCP without grants"
check "locked: apply succeeds" apply "$LOCKED_22" "$LOCKED_5300" "$LOCKED_7000" "$LOCKED_2200"
check "locked: ssh from client is dropped" no_ssh_from "$CL" 10.77.1.1
check "locked: ssh from other is dropped" no_ssh_from "$OT" 10.77.2.1
check "locked: ssh over IPv6 is dropped" no_ssh_from "$CL" fd77:1::1
check "locked: UDP 5300 is dropped" no_udp_from "$CL" 10.77.1.1 5300
check "locked: '*' port 7000 drops TCP" no_tcp_from "$CL" 10.77.1.1 7000
check "locked: '*' port 7000 drops UDP" no_udp_from "$CL" 10.77.1.1 7000
check "locked: other ports are unaffected (TCP 8080 from client)" tcp_from "$CL" 10.77.1.1 8080
check "locked: other ports are unaffected (TCP 8080 from other, IPv6)" tcp_from "$OT" fd77:2::1 8080
check "locked: local processes still reach sshd over loopback" ssh_from "$VM" 127.0.0.1

diag "grant for the client's address, 6 s; the process that applied it is killed mid-grant"
f=$(state_file "$(rule 22 TCP false "$(grant 10.77.1.2 6)")" "$LOCKED_5300" "$LOCKED_7000")
# Stands in for an agent: applies, then would live on; SIGKILL ends it mid-grant.
ip netns exec "$VM" bash -c '"$0" apply "$1" >/dev/null && exec sleep 600' "$TOOL" "$f" &
agent=$!
check "grant: applied (element with its own kernel timeout)" \
	wait_until 5 grant_in_set '10.77.1.2 . tcp . 22 timeout [3-6]s'
kill -9 "$agent" 2>/dev/null
wait "$agent" 2>/dev/null
check "grant: the applying process is dead" eval '! kill -0 '"$agent"' 2>/dev/null'
check "grant: ssh from client works (ssh ... true)" ssh_from "$CL" 10.77.1.1
check "grant: ssh from other is dropped" no_ssh_from "$OT" 10.77.2.1
check "grant: ssh over IPv6 from client is dropped (the grant is IPv4)" \
	no_ssh_from "$CL" fd77:1::1
check "after end: the kernel closes port 22 with no agent running (within 20 s)" \
	wait_until 20 no_ssh_from "$CL" 10.77.1.1
check "after end: the element is gone" grant_gone '10.77.1.2 . tcp . 22'

diag "a /24 grant"
check "/24: apply succeeds" \
	apply "$(rule 22 TCP false "$(grant 10.77.1.0/24 120)")" "$LOCKED_5300" "$LOCKED_7000"
check "/24: ssh from client (10.77.1.2) works" ssh_from "$CL" 10.77.1.1
check "/24: ssh from other (10.77.2.2) is dropped" no_ssh_from "$OT" 10.77.2.1

diag "reconciliation: a state without the grant closes at once"
check "revoke: apply succeeds" apply "$LOCKED_22" "$LOCKED_5300" "$LOCKED_7000"
check "revoke: ssh from client is dropped immediately" no_ssh_from "$CL" 10.77.1.1
check "revoke: no grant element is left" no_grants

diag "IPv6 grant"
check "IPv6: apply succeeds" \
	apply "$(rule 22 TCP false "$(grant fd77:1::2 120)")" "$LOCKED_5300" "$LOCKED_7000"
check "IPv6: ssh from client over IPv6 works" ssh_from "$CL" fd77:1::1
check "IPv6: ssh from other over IPv6 is dropped" no_ssh_from "$OT" fd77:2::1
check "IPv6: ssh from client over IPv4 is dropped" no_ssh_from "$CL" 10.77.1.1

diag "UDP grant"
check "UDP: apply succeeds" \
	apply "$LOCKED_22" "$(rule 5300 UDP false "$(grant 10.77.1.2 120)")" "$LOCKED_7000"
check "UDP: echo on 5300 from client works" udp_from "$CL" 10.77.1.1 5300
check "UDP: echo on 5300 from other is dropped" no_udp_from "$OT" 10.77.2.1 5300
check "UDP: ssh from client is still dropped (the grant is for 5300/UDP)" \
	no_ssh_from "$CL" 10.77.1.1

diag "'*' protocol and '*' source"
check "'*' protocol: apply succeeds" \
	apply "$LOCKED_22" "$LOCKED_5300" "$(rule 7000 '*' false "$(grant 10.77.1.2 120)")"
check "'*' protocol: TCP 7000 from client works" tcp_from "$CL" 10.77.1.1 7000
check "'*' protocol: UDP 7000 from client works" udp_from "$CL" 10.77.1.1 7000
check "'*' protocol: TCP 7000 from other is dropped" no_tcp_from "$OT" 10.77.2.1 7000
check "'*' protocol: UDP 7000 from other is dropped" no_udp_from "$OT" 10.77.2.1 7000
check "'*' source: apply succeeds" \
	apply "$LOCKED_22" "$LOCKED_5300" "$(rule 7000 '*' false "$(grant '*' 120)")"
check "'*' source: TCP 7000 from other works" tcp_from "$OT" 10.77.2.1 7000
check "'*' source: UDP 7000 from other over IPv6 works" udp_from "$OT" fd77:2::1 7000

diag "a grant never opens what the user's own table drops"
check "user drop: apply a grant for 2200" \
	apply "$LOCKED_22" "$(rule 2200 TCP false "$(grant 10.77.1.2 120)")"
check "user drop: TCP 2200 from client stays dropped" no_tcp_from "$CL" 10.77.1.1 2200

# session SCENARIO CLOSE: a grant of 6 s and an ssh session that prints a tick every 0.5 s;
# returns once new logins are refused (the grant has ended). Sets $session.
session() {
	local ticks=$TMP/ticks.$1
	apply "$(rule 22 TCP "$2" "$(grant 10.77.1.2 6)")" || return 1
	ip netns exec "$CL" ssh -F /dev/null -i "$TMP/clientkey" -o IdentitiesOnly=yes \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o ConnectTimeout=2 -o ServerAliveInterval=1 \
		-o ServerAliveCountMax=3 root@10.77.1.1 \
		'while :; do echo tick; sleep 0.5; done' </dev/null >"$ticks" 2>>"$TMP/ssh.log" &
	session=$!
	wait_until 5 test -s "$ticks" || return 1
	wait_until 25 no_ssh_from "$CL" 10.77.1.1
}
ticks() { wc -l <"$TMP/ticks.$1"; }
ticking() {
	local a b
	a=$(ticks "$1")
	sleep 3
	b=$(ticks "$1")
	[ "$b" -gt "$a" ]
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! alive "$1"; }

diag "established sessions survive expiry by default"
check "survive: session up, grant ended" session survive false
check "survive: the session keeps ticking after the grant ended" ticking survive
check "survive: the ssh session is still connected" alive "$session"
kill "$session" 2>/dev/null
wait "$session" 2>/dev/null

diag "closeEstablished cuts them"
check "cut: session up, grant ended" session cut true
check "cut: the ssh session ends (keepalives go unanswered, within 25 s)" \
	wait_until 25 dead "$session"
kill "$session" 2>/dev/null
wait "$session" 2>/dev/null

diag "idempotence"
f=$(state_file "$(rule 22 TCP true "$(grant 10.77.1.0/24 300)" "$(grant 10.77.1.2 600)" \
	"$(grant fd77:1::/64 300)")" "$(rule 7000 '*' false "$(grant '*' 300)")" "$LOCKED_5300")
apply_file "$f"
first=$(jitgate_table_untimed)
check "idempotence: applying the same state again succeeds" apply_file "$f"
second=$(jitgate_table_untimed)
check "idempotence: the table is the same in content" test "$first" = "$second"
check "idempotence: the host grant inside the /24 is a hash set element of its own" \
	grant_in_set '10.77.1.2 . tcp . 22 timeout'
[ "$first" = "$second" ] || diff <(echo "$first") <(echo "$second") | sed 's/^/# /'

diag "remove"
check "remove: succeeds" ip netns exec "$VM" "$TOOL" remove
check "remove: table inet jitgate is gone" eval '! jitgate_table >/dev/null'
check "remove: ssh from other works again" ssh_from "$OT" 10.77.2.1
check "remove: removing again succeeds (idempotent)" ip netns exec "$VM" "$TOOL" remove

diag "the user's table"
USERTABLE_AFTER=$(usertable)
check "usertable: byte-identical after everything" test "$USERTABLE_BEFORE" = "$USERTABLE_AFTER"
check "usertable: it is all that is left in the ruleset" \
	test "$(ip netns exec "$VM" nft list ruleset)" = "$USERTABLE_AFTER"
if [ "$USERTABLE_BEFORE" != "$USERTABLE_AFTER" ]; then
	diff <(echo "$USERTABLE_BEFORE") <(echo "$USERTABLE_AFTER") | sed 's/^/# /'
fi

[ "$failed" -gt 0 ] && show_logs
echo "1..$n"
[ "$failed" -eq 0 ]
