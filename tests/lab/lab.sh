# shellcheck shell=bash
# tests/lab/lab.sh - the article's two offices and the internet between them, built
# in network namespaces. Source it from bash (as root); see tests/README.
#
#   Manhattan LAN 192.168.1.0/24          "internet"             Brooklyn LAN 192.168.2.0/24
#
#   m-app ─eth0─┐                                                      ┌─eth0─ b-ws
#   .1.5        │ m-lan (bridge br0)                  b-lan (bridge br0)│ .2.3
#               └─eth0─ m-gw ─eth1──── eth-m─ inet ─eth-b ────eth1─ b-gw ─eth0─┘
#                .1.126      172.16.1.12   .1.30     .2.14   172.17.2.10    .2.126
#                            /27                             /28
#
# Every namespace is named $LAB_PREFIX<name> (default prefix "gwl-", so "gwl-m-gw"):
# use another prefix for runs in parallel. Each LAN is a namespace holding a bridge
# (br0) with one veth port per host, named after the host; lab_add_host puts more
# hosts on it. Links are created inside the namespaces: nothing is created in, or
# routed through, the caller's own namespace. IPv6 is off in every namespace (no
# DAD or router solicitations in captures).
#
# inet forwards and, like the real internet, drops traffic to 10.0.0.0/8 and
# 192.168.0.0/16 (nft table "ip lab_internet"; the gateways' public addresses are in
# 172.16.0.0/12, so that block is not dropped). It drops them on arrival, silently
# (prerouting, before routing: no ICMP back). Counter: lab_exec inet nft list ruleset.
#
# lab_up         the article's basic configuration: gateways get their LAN and public
#                addresses and a default route via inet; ip_forward is 0 on both
#                gateways (gatewayctl or the article's commands turn it on)
# lab_up --bare  gateways get nothing but their links, up (for manage_interfaces=yes)
# lab_down       removes every namespace of this prefix, killing processes left in
#                them; idempotent; lab_up calls it first
# lab_exec NAME CMD...   lab_ns NAME   lab_shell NAME   lab_list
# lab_add_host NAME LAN ADDR/PLEN [GATEWAY]   e.g. lab_add_host m-nas m-lan 192.168.1.7/24

LAB_PREFIX=${LAB_PREFIX:-gwl-}

# addresses, for the tests that source this file
# shellcheck disable=SC2034
{
LAB_M_NET=192.168.1.0/24
LAB_B_NET=192.168.2.0/24
LAB_M_APP=192.168.1.5
LAB_M_GW_LAN=192.168.1.126
LAB_M_GW_PUB=172.16.1.12
LAB_INET_M=172.16.1.30
LAB_INET_B=172.17.2.14
LAB_B_GW_PUB=172.17.2.10
LAB_B_GW_LAN=192.168.2.126
LAB_B_WS=192.168.2.3
# the namespaces lab_up creates
LAB_NAMES="m-lan b-lan m-app m-gw inet b-gw b-ws"
}

lab_ns() {
	printf '%s%s\n' "$LAB_PREFIX" "$1"
}

lab_exec() {
	local ns
	ns=$(lab_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

lab_shell() {
	local ns
	ns=$(lab_ns "${1:?lab_shell NAME}")
	[ -e "/run/netns/$ns" ] || { echo "lab: no namespace $ns (lab up first)" >&2; return 1; }
	ip netns exec "$ns" env LAB_NS="$ns" PS1="[$1] \\w# " bash --norc -i
}

# Is this namespace name one of this prefix's lab namespaces? ("inet" or "m-x"/"b-x"
# with no further dash, so that prefix "gwl-" never claims "gwl-2-m-gw".)
_lab_owns() {
	local rest=${1#"$LAB_PREFIX"}
	[ "$rest" != "$1" ] || return 1
	case $rest in
	inet) return 0 ;;
	[mb]-*) [[ ${rest#?-} != *-* && -n ${rest#?-} ]] ;;
	*) return 1 ;;
	esac
}

lab_list() {
	local ns
	ip netns list 2>/dev/null | while read -r ns _; do
		_lab_owns "$ns" && echo "$ns"
	done
	return 0
}

lab_down() {
	local ns pid
	for ns in $(lab_list); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = "$$" ] || [ "$pid" = "${BASHPID:-}" ] || kill "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	return 0
}

_lab_sysctl() { # NAME key=value...
	local ns=$1
	shift
	ip netns exec "$(lab_ns "$ns")" sysctl -qw "$@" >/dev/null
}

_lab_newns() { # NAME
	local ns
	ns=$(lab_ns "$1")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	if [ -e /proc/sys/net/ipv6 ]; then
		_lab_sysctl "$1" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	fi
	_lab_sysctl "$1" net.ipv4.ip_forward=0
	if [ -n "${LAB_RP_FILTER:-}" ]; then
		_lab_sysctl "$1" "net.ipv4.conf.all.rp_filter=$LAB_RP_FILTER" \
			"net.ipv4.conf.default.rp_filter=$LAB_RP_FILTER"
	fi
}

_lab_wire() { # NAME1 IF1 NAME2 IF2: a veth pair between two namespaces, both ends up
	ip -n "$(lab_ns "$1")" link add "$2" type veth peer name "$4" netns "$(lab_ns "$3")"
	ip -n "$(lab_ns "$1")" link set "$2" up
	ip -n "$(lab_ns "$3")" link set "$4" up
}

_lab_lan() { # NAME: a namespace holding bridge br0
	_lab_newns "$1"
	ip -n "$(lab_ns "$1")" link add br0 type bridge stp_state 0 mcast_snooping 0
	ip -n "$(lab_ns "$1")" link set br0 up
}

_lab_join() { # HOST IF LAN: HOST's IF becomes a port of LAN's bridge (port named HOST)
	_lab_wire "$1" "$2" "$3" "$1"
	ip -n "$(lab_ns "$3")" link set "$1" master br0
}

# lab_add_host NAME LAN ADDR/PLEN [GATEWAY]: one more host on a LAN (eth0)
lab_add_host() (
	set -eu
	name=$1 lan=$2 addr=$3 gw=${4:-}
	_lab_owns "$(lab_ns "$name")" || { echo "lab: host names look like m-x or b-x" >&2; exit 1; }
	_lab_newns "$name"
	_lab_join "$name" eth0 "$lan"
	ip -n "$(lab_ns "$name")" addr add "$addr" dev eth0
	if [ -n "$gw" ]; then ip -n "$(lab_ns "$name")" route add default via "$gw"; fi
)

lab_up() (
	set -eu
	bare=0
	case ${1:-} in
	--bare) bare=1 ;;
	'') ;;
	*) echo "lab_up: unknown option $1" >&2; exit 2 ;;
	esac
	[ "$(id -u)" = 0 ] || { echo "lab_up: needs root" >&2; exit 1; }
	lab_down

	_lab_lan m-lan
	_lab_lan b-lan
	for n in $LAB_NAMES; do
		case $n in *-lan) ;; *) _lab_newns "$n" ;; esac
	done
	_lab_join m-app eth0 m-lan
	_lab_join m-gw eth0 m-lan
	_lab_join b-gw eth0 b-lan
	_lab_join b-ws eth0 b-lan
	_lab_wire m-gw eth1 inet eth-m
	_lab_wire b-gw eth1 inet eth-b

	ip -n "$(lab_ns m-app)" addr add $LAB_M_APP/24 dev eth0
	ip -n "$(lab_ns b-ws)" addr add $LAB_B_WS/24 dev eth0
	ip -n "$(lab_ns b-ws)" route add $LAB_M_NET via $LAB_B_GW_LAN

	ip -n "$(lab_ns inet)" addr add $LAB_INET_M/27 brd 172.16.1.31 dev eth-m
	ip -n "$(lab_ns inet)" addr add $LAB_INET_B/28 brd 172.17.2.15 dev eth-b
	_lab_sysctl inet net.ipv4.ip_forward=1
	ip netns exec "$(lab_ns inet)" nft -f - <<-'EOF'
		table ip lab_internet {
			chain prerouting {
				type filter hook prerouting priority filter; policy accept;
				ip daddr { 10.0.0.0/8, 192.168.0.0/16 } counter drop comment "private destination"
			}
		}
	EOF

	if [ $bare = 0 ]; then
		ip -n "$(lab_ns m-gw)" addr add $LAB_M_GW_LAN/24 dev eth0
		ip -n "$(lab_ns m-gw)" addr add $LAB_M_GW_PUB/27 brd 172.16.1.31 dev eth1
		ip -n "$(lab_ns m-gw)" route add default via $LAB_INET_M
		ip -n "$(lab_ns b-gw)" addr add $LAB_B_GW_LAN/24 dev eth0
		ip -n "$(lab_ns b-gw)" addr add $LAB_B_GW_PUB/28 brd 172.17.2.15 dev eth1
		ip -n "$(lab_ns b-gw)" route add default via $LAB_INET_B
	fi
)
