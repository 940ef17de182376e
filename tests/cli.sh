#!/bin/bash
# The command line as a newcomer meets it: unknown commands and help topics,
# option errors that name the option given (every command's options come from
# its table: src/cmdopt.c), `up --confirm 30`, site names for
# up and plan, "no site NAME here", check of one file given twice, and (as root,
# in a network namespace of its own: the machine's network is never touched)
# plan and status running up's preflight checks. Exit codes and messages.
#   tests/cli.sh [BINARY]     (default ./gatewayctl)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-./gatewayctl}")
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
export GATEWAYCTL_RUNDIR=$tmp/run GATEWAYCTL_LIBDIR=$tmp/lib NO_COLOR=1
mkdir -m 755 "$tmp/run" "$tmp/lib"

# run ARGS...: $out (stdout and stderr) and $rc of gatewayctl ARGS
run() { out=$("$bin" "$@" 2>&1); rc=$?; }
# expect MSG RC REGEX [NOT-REGEX]: the last run exited RC, its output matches REGEX (and not NOT-REGEX)
expect() {
	local msg=$1 want=$2 re=$3 not=${4:-}
	if [ "$rc" != "$want" ]; then
		bad "$msg (exit $rc, not $want): $out"
	elif ! grep -Eq -- "$re" <<<"$out"; then
		bad "$msg (no /$re/ in: $out)"
	elif [ -n "$not" ] && grep -Eq -- "$not" <<<"$out"; then
		bad "$msg (/$not/ in: $out)"
	else
		ok "$msg"
	fi
}

# --- commands and help -------------------------------------------------------
run chek
expect "an unknown command exits 2 with a did-you-mean" 2 'unknown command `chek`; did you mean `check`\?'
run stauts
expect "... a transposition too" 2 'did you mean `status`\?'
run xyzzy
expect "... and none when nothing is close" 2 'unknown command `xyzzy`$' 'did you mean'
run help bogus
expect "help UNKNOWN exits 2, not the general help with 0" 2 'no help for unknown command `bogus`' '^Usage:'
run help chek
expect "help with a typo: did you mean" 2 'did you mean `check`\?'
run help up
expect "help up is up's help" 0 '^Usage: gatewayctl up '
run
expect "no command: usage, exit 2" 2 '^Usage: gatewayctl COMMAND'

# --- status's options ----------------------------------------------------------
run status --json --prometheus
expect "status --json --prometheus: the conflict, not --output" 2 '--json and --prometheus do not go together' 'output'
run status --prometheus --output
expect "status --prometheus --output: the file is missing" 2 '--output needs a file name' 'unknown option'
run status --prometheus --output=
expect "... --output= too" 2 '--output needs a file name'
run status --prometheus --output --json
expect "... an option is not taken for the file" 2 '--output needs a file name'
run status --output "$tmp/m.prom"
expect "status --output without --prometheus" 2 '--output goes with --prometheus'
run status --jsn
expect "status --jsn: the option given is named" 2 'unknown option `--jsn`'

# --- up's and plan's arguments ---------------------------------------------------
run up a.ini b.ini
expect "up with two files names both" 2 'one site at a time: `a.ini` and `b.ini`'
run up --confirm 0 sites/manhattan.ini
expect "up --confirm 0: the range" 2 '--confirm SECONDS wants a whole number of seconds from 1 to'
run up nosuchsite
expect "up NAME of no site here: no site NAME here" 2 'no site nosuchsite here \(no site is up here\)' 'state file|\.state'
run plan nosuchsite
expect "plan NAME of no site here: the same" 2 'gatewayctl plan: no site nosuchsite here' 'state file|\.state'
run check sites/manhattan.ini sites/manhattan.ini
expect "check of one file twice: said, checked once, exit 0" 0 'sites/manhattan.ini given twice; checked once' 'also the name of'
run check sites/manhattan.ini sites/../sites/manhattan.ini
expect "... also by another path to it" 0 'sites/../sites/manhattan.ini is sites/manhattan.ini again' 'also'

# --- check, watch, relay, genkey, pubkey: their options from a table too ---------------
for c in check watch relay genkey pubkey; do
	run "$c" --help
	expect "$c --help: its usage, exit 0" 0 "^Usage: (umask 077; )?gatewayctl $c "
	run "$c" --bogus
	expect "$c --bogus: the option given is named" 2 'unknown option `--bogus`'
done
run check
expect "check without a file" 2 'check: no site file given'
run check sites/manhattan.ini sites/brooklyn.ini sites/manhattan.ini sites/brooklyn.ini sites/manhattan.ini \
	sites/brooklyn.ini sites/manhattan.ini sites/brooklyn.ini sites/manhattan.ini
expect "check takes more than 8 files (none refused as too many)" 0 'sites/brooklyn.ini given twice' 'too many'
run check -- sites/manhattan.ini
expect "check -- FILE: -- ends the options" 0 '^$'
run check -- -x.ini
expect "... a file after -- is a file, even with a leading -" 2 '^-x.ini: error: ' 'unknown option'
run watch a.ini b.ini
expect "watch with two files names both" 2 'one site at a time: `a.ini` and `b.ini`'
run relay
expect "relay without a site" 2 'give the site as -f FILE or --config-fd N'
run relay -f
expect "relay -f without a file" 2 '--file needs a site file'
run relay -f a.ini --config-fd 3
expect "relay -f and --config-fd" 2 'give the site as -f FILE or --config-fd N \(one of them\)'
run relay --config-fd x
expect "relay --config-fd x: not a descriptor" 2 '--config-fd needs a descriptor number: `x`'
run genkey extra
expect "genkey takes no argument" 2 'genkey: unexpected argument `extra`'
run pubkey extra
expect "pubkey takes no argument" 2 'pubkey: unexpected argument `extra`'

# --- as root, in a namespace of its own: preflight in plan and status ----------------
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
	echo "skip - not root, or no network namespace: the rest needs one"
	skip=$((skip + 1))
	echo "cli: $pass passed, $fail failed, $skip skipped"
	[ $fail = 0 ]
	exit
fi
# inns CMD...: CMD in this test's namespace (kept alive by a sleeping process)
unshare -n sleep 600 &
nspid=$!
sleep 0.2
inns() { nsenter -t "$nspid" -n "$@"; }
trap 'kill $nspid; rm -rf "$tmp"' EXIT
inrun() { out=$(inns "$bin" "$@" 2>&1); rc=$?; }
site=$(realpath sites/manhattan.ini)

inrun up --confirm 30 "$site"
expect "up --confirm 30 FILE takes 30 as seconds (and reaches up's checks)" 1 'interface `eth0` \(lan\) does not exist' 'one site'
inrun up --confirm=30 "$site"
expect "up --confirm=30 FILE the same" 1 'interface `eth0` \(lan\) does not exist'
inrun plan "$site"
expect "plan with the interfaces missing: up's errors, nothing planned, exit 1" 1 \
	'manhattan.ini:6: error: interface `eth0` \(lan\) does not exist.*' '^(ip|nft) '
inrun plan --full "$site"
expect "plan --full: the missing interfaces said, no MTU assumed silently" 0 \
	'warning: interface `eth1` \(wan\) does not exist on this machine' 'assuming eth1 has MTU 1500'
grep -q '^# mtu auto: eth1 does not exist on this machine; assuming MTU 1500$' <<<"$out" &&
	ok "... the MTU line says eth1 does not exist" || bad "... the MTU line: $out"
inns ip link add eth0 type veth peer name lan-peer
inns ip link add eth1 mtu 9000 type veth peer name wan-peer
inrun plan --full "$site"
expect "plan --full: the tunnel's MTU follows the WAN link's" 0 '^# mtu auto: eth1 has MTU 9000$'
grep -q 'ip link add name gw-brooklyn mtu 8980 ' <<<"$out" && ok "... 8980 for the tunnel" || bad "... the tunnel's MTU: $out"
inrun plan "$site"
expect "plan: interfaces down and without their addresses, as up says" 1 \
	'`eth0` does not carry 192.168.1.126/24 \(lan_address\)' '^ip address add'
inns ip address add 192.168.1.126/24 dev eth0
inns ip address add 172.16.1.12/27 dev eth1
inns ip link set eth0 up
inns ip link set eth1 up
inns ip link set lan-peer up
inns ip link set wan-peer up
inrun plan "$site"
expect "plan once the checks pass: the commands" 0 '^ip link add name gw-brooklyn ' 'error'
inrun status "$site"
expect "status FILE of a site not up: NOT UP" 1 '^site manhattan: NOT UP'
fixes=$(grep -c 'fix:' <<<"$out")
[ "$fixes" = 1 ] && grep -q "fix: gatewayctl up $site\$" <<<"$out" && ok "... with one fix: gatewayctl up FILE" ||
	bad "... $fixes fixes: $out"
inrun status --probe "$site"
expect "status --probe of a site not up: no blame on the peer or the path" 1 'probe +site manhattan is not up' \
	'the peer gateway and the path'
inrun status --json "$site"
expect "status --json: the same single reason" 1 '"problem": "site manhattan is not up: nothing of it is in the kernel"'

# a site that was up here: its state file names its file
cookie=$(inns python3 -c 'import socket; s = socket.socket(); print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))')
mkdir -p -m 755 "$tmp/run/ns-$cookie"
printf '# gatewayctl\nfile %s\n' "$site" >"$tmp/run/ns-$cookie/manhattan.state"
inrun plan manhattan
expect "plan SITE: the file its last up recorded" 0 '^ip link add name gw-brooklyn '
inrun status nosuchsite
expect "status NAME of no site here: the sites that are" 1 'no site nosuchsite here \(the site here: manhattan\)' 'state file|\.state'
inrun status --prometheus nosuchsite
expect "status --prometheus NAME: the same" 1 'no site nosuchsite here' 'state file|\.state'
inns ip address del 192.168.1.126/24 dev eth0
inrun up manhattan
expect "up SITE: the recorded file, its checks" 1 "$site:7: error: \`eth0\` does not carry"

echo "cli: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
