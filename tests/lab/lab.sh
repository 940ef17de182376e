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
# DAD or router solicitations in captures), unless LAB_IPV6=1: then it is on
# (without router advertisements or DAD) and the LANs are dual-stack, Manhattan
# 2001:db8:1::/64 (m-app ::5, m-gw ::126), Brooklyn 2001:db8:2::/64 (b-gw ::126,
# b-ws ::3, routed to Manhattan's /64 via b-gw); m-app has no IPv6 route beyond
# its /64 (the legacy server); the internet stays IPv4 only, unless LAB_WAN6=1
# (which implies LAB_IPV6=1): then the internet is IPv6 only, no IPv4 on the WANs
# (issue 22, tunnels over IPv6; sites/ipv6-wan):
#
#               m-gw ─eth1──────────── eth-m─ inet ─eth-b ────────────eth1─ b-gw
#   2001:db8:ffff:1::12/64   ::1, fe80::1       ::1, fe80::1   2001:db8:ffff:2::10/64
#
# each gateway's IPv6 default route goes via fe80::1 on eth1 (the site files'
# gateway); inet forwards IPv6 and drops traffic to the LANs' /64s (table
# "ip6 lab_internet"), as the IPv4 internet drops private addresses.
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
# lab_up --nat   Brooklyn behind a NAT router (combines with --bare, which then leaves
#                b-gw bare; b-nat is always configured):
#
#       b-gw ─eth1──── eth0─ b-nat ─eth1──── eth-b─ inet
#       10.0.2.10/24   10.0.2.1    172.17.2.10/28    .2.14
#
#                b-gw's WAN address is private (10.0.2.10, default via 10.0.2.1);
#                b-nat holds Brooklyn's public address 172.17.2.10 (the endpoint
#                Manhattan knows), forwards, and (nft table "ip lab_nat") masquerades
#                everything leaving eth1 from 10.0.2.0/24 and forwards to b-gw what
#                arrives for 172.17.2.10 as UDP 500, UDP 4500 or IP protocol 4 (DNAT:
#                Manhattan can start IKE, and a forged IPIP packet reaches b-gw, so
#                that b-gw's IPsec policy, not the NAT, is what has to stop it).
#                Anything else to 172.17.2.10 ends at b-nat. A packet leaving b-gw
#                keeps its source port when that port is free on b-nat (UDP 500 and
#                4500 do), so IKE's NAT detection sees the changed address.
# lab_down       removes every namespace of this prefix, killing processes left in
#                them; idempotent; lab_up calls it first
# lab_exec NAME CMD...   lab_ns NAME   lab_shell NAME   lab_list
# lab_add_host NAME LAN ADDR/PLEN [GATEWAY]   e.g. lab_add_host m-nas m-lan 192.168.1.7/24
#
# One strongSwan charon per gateway (IPsec, issue 11). Each gateway GW (m-gw, b-gw)
# gets a mount namespace of its own, held open by a "sleep infinity" in GW's network
# namespace, in which two directories of $LAB_STATE/<namespace>/ (LAB_STATE defaults
# to /run/gwlab) are bound over the usual paths:
#     DIR/run     -> /run           charon.vici, charon.pid, charon.log, strongswan.conf
#     DIR/swanctl -> /etc/swanctl   swanctl.conf and credential directories (empty)
# so charon's default socket /run/charon.vici is GW's own, and `swanctl`, gatewayctl
# or any VICI client run with lab_gw_exec talks to GW's charon. /sys in there is GW's
# (ip netns exec); /run/netns is not visible in there. nsenter takes the holder's root
# directory too (--root): in the test VM every process runs chrooted into the shared
# root, and entering a mount namespace alone would land in the initramfs.
# lab_gw_dir GW          prints DIR (created, with the holder, on first use)
# lab_gw_exec GW CMD...  CMD in GW's network namespace and its private mount
#                        namespace (nsenter), in the caller's working directory;
#                        works whether charon runs or not
# lab_charon_start GW [TEXT]   starts /usr/lib/ipsec/charon there with
#                        STRONGSWAN_CONF=/run/strongswan.conf: the packaged
#                        configuration plus a file log /run/charon.log (DIR/run/
#                        charon.log outside: cfg, ike, chd, knl, net, enc at level 2,
#                        the rest at 1) plus TEXT, strongswan.conf syntax appended
#                        last (e.g. 'charon { retransmit_tries = 1 }'); waits until
#                        `swanctl --stats` answers (up to LAB_CHARON_WAIT seconds,
#                        default 30). charon's own stdout/stderr: DIR/run/charon.out.
# lab_charon_stop GW [SIGNAL]  TERM by default (charon removes its SAs and policies);
#                        KILL leaves the kernel's IPsec state behind, as a crash does.
#                        Waits until it has gone. Idempotent.
# lab_charon_pid GW      charon's pid, status 1 when it does not run
# lab_down kills the holders and charons with everything else in the namespaces and
# removes $LAB_STATE/$LAB_PREFIX*.

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
# lab_up --nat: b-gw's private WAN address and the NAT router's inside
LAB_B_GW_NAT_WAN=10.0.2.10
LAB_B_NAT_IN=10.0.2.1
LAB_B_NAT_NET=10.0.2.0/24
# the namespaces lab_up creates (--nat adds b-nat)
LAB_NAMES="m-lan b-lan m-app m-gw inet b-gw b-ws"
# with LAB_IPV6=1 (IPv6 on in every namespace), the LANs are dual-stack:
LAB_M_NET6=2001:db8:1::/64
LAB_B_NET6=2001:db8:2::/64
LAB_M_APP6=2001:db8:1::5
LAB_M_GW_LAN6=2001:db8:1::126
LAB_B_GW_LAN6=2001:db8:2::126
LAB_B_WS6=2001:db8:2::3
# with LAB_WAN6=1, the IPv6-only internet
LAB_M_GW_PUB6=2001:db8:ffff:1::12
LAB_INET_M6=2001:db8:ffff:1::1
LAB_B_GW_PUB6=2001:db8:ffff:2::10
LAB_INET_B6=2001:db8:ffff:2::1
LAB_WAN6_GW=fe80::1
}
LAB_STATE=${LAB_STATE:-/run/gwlab}

# Is IPv6 on in the lab? (LAB_IPV6=1, or LAB_WAN6=1 which implies it)
_lab_v6() {
	[ "${LAB_IPV6:-0}" != 0 ] || [ "${LAB_WAN6:-0}" != 0 ]
}

lab_ns() {
	printf '%s%s\n' "$LAB_PREFIX" "$1"
}

# (no $(lab_ns): a subshell is a fork, tens of milliseconds in the VM, and the
# tests run thousands of commands in the lab)
lab_exec() {
	local ns=$LAB_PREFIX$1
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
	if [ -d "$LAB_STATE" ]; then
		for ns in "$LAB_STATE/$LAB_PREFIX"*; do
			[ -d "$ns" ] && _lab_owns "${ns##*/}" && rm -rf "$ns"
		done
	fi
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
	# one sysctl process (a process costs tens of milliseconds in the VM)
	local -a kv=(net.ipv4.ip_forward=0)
	if [ -e /proc/sys/net/ipv6 ] && ! _lab_v6; then
		kv+=(net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1)
	fi
	if [ -n "${LAB_RP_FILTER:-}" ]; then
		kv+=("net.ipv4.conf.all.rp_filter=$LAB_RP_FILTER" "net.ipv4.conf.default.rp_filter=$LAB_RP_FILTER")
	fi
	_lab_sysctl "$1" "${kv[@]}"
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

# lab_up's commands, collected and then run by a few `ip -batch` processes (a
# process costs tens of milliseconds in the VM; lab_up ran sixty): the
# namespaces, then each namespace's sysctls, then every link from here (veth
# pairs and bridges made in their namespaces, in the order the helpers above
# would make them: the same interface indexes), then each namespace's own
# commands in order (links up, bridge ports, addresses, routes)
_lab_bq() { # NAME|- LINE: a line for NAME's batch (-: the links' batch)
	_LAB_BQ[$1]+="$2"$'\n'
}
_lab_bwire() { # NAME1 IF1 NAME2 IF2
	_lab_bq - "link add $2 netns $LAB_PREFIX$1 type veth peer name $4 netns $LAB_PREFIX$3"
	_lab_bq "$1" "link set $2 up"
	_lab_bq "$3" "link set $4 up"
}
_lab_bjoin() { # HOST IF LAN
	_lab_bwire "$1" "$2" "$3" "$1"
	_lab_bq "$3" "link set $1 master br0"
}

lab_up() (
	set -eu
	bare=0 nat=0
	for opt in "$@"; do
		case $opt in
		--bare) bare=1 ;;
		--nat) nat=1 ;;
		*) echo "lab_up: unknown option $opt" >&2; exit 2 ;;
		esac
	done
	[ "$(id -u)" = 0 ] || { echo "lab_up: needs root" >&2; exit 1; }
	wan6=0
	if [ "${LAB_WAN6:-0}" != 0 ]; then
		[ $nat = 0 ] || { echo "lab_up: --nat has no IPv6-only variant (LAB_WAN6)" >&2; exit 2; }
		wan6=1 LAB_IPV6=1
	fi
	lab_down

	names=$LAB_NAMES
	[ $nat = 0 ] || names="$names b-nat"
	declare -A _LAB_BQ=()
	kv=(net.ipv4.ip_forward=0)
	if [ -e /proc/sys/net/ipv6 ] && ! _lab_v6; then
		kv+=(net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1)
	elif [ -e /proc/sys/net/ipv6 ]; then
		# IPv6 on, but quiet: no router advertisements taken, no DAD wait
		kv+=(net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0)
	fi
	if [ -n "${LAB_RP_FILTER:-}" ]; then
		kv+=("net.ipv4.conf.all.rp_filter=$LAB_RP_FILTER" "net.ipv4.conf.default.rp_filter=$LAB_RP_FILTER")
	fi
	order="m-lan b-lan"
	for n in $names; do
		case $n in *-lan) ;; *) order="$order $n" ;; esac
	done
	for n in $order; do
		_lab_bq "$n" "link set lo up"
	done
	for n in m-lan b-lan; do
		_lab_bq - "link add br0 netns $LAB_PREFIX$n type bridge stp_state 0 mcast_snooping 0"
		_lab_bq "$n" "link set br0 up"
	done
	_lab_bjoin m-app eth0 m-lan
	_lab_bjoin m-gw eth0 m-lan
	_lab_bjoin b-gw eth0 b-lan
	_lab_bjoin b-ws eth0 b-lan
	_lab_bwire m-gw eth1 inet eth-m
	if [ $nat = 0 ]; then
		_lab_bwire b-gw eth1 inet eth-b
	else
		_lab_bwire b-gw eth1 b-nat eth0
		_lab_bwire b-nat eth1 inet eth-b
		_lab_bq b-nat "addr add $LAB_B_NAT_IN/24 dev eth0"
		_lab_bq b-nat "addr add $LAB_B_GW_PUB/28 brd 172.17.2.15 dev eth1"
		_lab_bq b-nat "route add default via $LAB_INET_B"
	fi
	_lab_bq m-app "addr add $LAB_M_APP/24 dev eth0"
	if [ "${LAB_IPV6:-0}" != 0 ]; then
		# dual-stack LANs (issue 22); the server knows only its own /64
		# (ip -batch takes no -6: the addresses tell the family)
		_lab_bq m-app "addr add $LAB_M_APP6/64 dev eth0 nodad"
		_lab_bq b-ws "addr add $LAB_B_WS6/64 dev eth0 nodad"
		_lab_bq b-ws "route add $LAB_M_NET6 via $LAB_B_GW_LAN6"
		if [ $bare = 0 ]; then
			_lab_bq m-gw "addr add $LAB_M_GW_LAN6/64 dev eth0 nodad"
			_lab_bq b-gw "addr add $LAB_B_GW_LAN6/64 dev eth0 nodad"
		fi
	fi
	_lab_bq b-ws "addr add $LAB_B_WS/24 dev eth0"
	_lab_bq b-ws "route add $LAB_M_NET via $LAB_B_GW_LAN"
	if [ $wan6 = 1 ]; then
		# the IPv6-only internet: each side's /64, and fe80::1 as the gateways' router
		_lab_bq inet "addr add $LAB_INET_M6/64 dev eth-m nodad"
		_lab_bq inet "addr add $LAB_WAN6_GW/64 dev eth-m nodad"
		_lab_bq inet "addr add $LAB_INET_B6/64 dev eth-b nodad"
		_lab_bq inet "addr add $LAB_WAN6_GW/64 dev eth-b nodad"
		if [ $bare = 0 ]; then
			_lab_bq m-gw "addr add $LAB_M_GW_LAN/24 dev eth0"
			_lab_bq m-gw "addr add $LAB_M_GW_PUB6/64 dev eth1 nodad"
			_lab_bq m-gw "route add default via $LAB_WAN6_GW dev eth1"
			_lab_bq b-gw "addr add $LAB_B_GW_LAN/24 dev eth0"
			_lab_bq b-gw "addr add $LAB_B_GW_PUB6/64 dev eth1 nodad"
			_lab_bq b-gw "route add default via $LAB_WAN6_GW dev eth1"
		fi
	else
		_lab_bq inet "addr add $LAB_INET_M/27 brd 172.16.1.31 dev eth-m"
		_lab_bq inet "addr add $LAB_INET_B/28 brd 172.17.2.15 dev eth-b"
	fi
	if [ $bare = 0 ] && [ $wan6 = 0 ]; then
		_lab_bq m-gw "addr add $LAB_M_GW_LAN/24 dev eth0"
		_lab_bq m-gw "addr add $LAB_M_GW_PUB/27 brd 172.16.1.31 dev eth1"
		_lab_bq m-gw "route add default via $LAB_INET_M"
		_lab_bq b-gw "addr add $LAB_B_GW_LAN/24 dev eth0"
		if [ $nat = 0 ]; then
			_lab_bq b-gw "addr add $LAB_B_GW_PUB/28 brd 172.17.2.15 dev eth1"
			_lab_bq b-gw "route add default via $LAB_INET_B"
		else
			_lab_bq b-gw "addr add $LAB_B_GW_NAT_WAN/24 dev eth1"
			_lab_bq b-gw "route add default via $LAB_B_NAT_IN"
		fi
	fi

	for n in $order; do echo "netns add $LAB_PREFIX$n"; done | ip -batch -
	for n in $order; do _lab_sysctl "$n" "${kv[@]}"; done
	printf '%s' "${_LAB_BQ[-]}" | ip -batch -
	for n in $order; do
		printf '%s' "${_LAB_BQ[$n]}" | ip -n "$LAB_PREFIX$n" -batch -
	done

	_lab_sysctl inet net.ipv4.ip_forward=1
	if [ $wan6 = 1 ]; then
		_lab_sysctl inet net.ipv6.conf.all.forwarding=1
		ip netns exec "$(lab_ns inet)" nft -f - <<-EOF
			table ip6 lab_internet {
				chain prerouting {
					type filter hook prerouting priority filter; policy accept;
					ip6 daddr { $LAB_M_NET6, $LAB_B_NET6 } counter drop comment "private destination"
				}
			}
		EOF
	fi
	ip netns exec "$(lab_ns inet)" nft -f - <<-'EOF'
		table ip lab_internet {
			chain prerouting {
				type filter hook prerouting priority filter; policy accept;
				ip daddr { 10.0.0.0/8, 192.168.0.0/16 } counter drop comment "private destination"
			}
		}
	EOF
	[ $nat = 0 ] || _lab_nat_router
)

# b-nat: Brooklyn's NAT router (lab_up --nat), public side eth1, b-gw behind eth0
# (its addresses and route: in lab_up's batch)
_lab_nat_router() {
	local ns
	ns=$(lab_ns b-nat)
	_lab_sysctl b-nat net.ipv4.ip_forward=1
	ip netns exec "$ns" nft -f - <<-EOF
		table ip lab_nat {
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "eth1" ip daddr $LAB_B_GW_PUB udp dport { 500, 4500 } counter dnat to $LAB_B_GW_NAT_WAN comment "IKE and NAT-T to b-gw"
				iifname "eth1" ip daddr $LAB_B_GW_PUB ip protocol 4 counter dnat to $LAB_B_GW_NAT_WAN comment "IPIP to b-gw"
			}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "eth1" ip saddr $LAB_B_NAT_NET counter masquerade
			}
		}
	EOF
}

# --- one charon per gateway ------------------------------------------------------------

lab_gw_dir() { # GW: the gateway's state directory; its mount namespace holder runs
	local gw=${1:?lab_gw_dir GW} d ns pid tries
	ns=$(lab_ns "$gw")
	d=$LAB_STATE/$ns
	if pid=$(_lab_holder "$gw"); then
		echo "$d"
		return 0
	fi
	[ -e "/run/netns/$ns" ] || { echo "lab: no namespace $ns (lab_up first)" >&2; return 1; }
	mkdir -p "$d/run" "$d/swanctl"
	for sub in conf.d x509 x509ca x509aa x509ocsp x509crl x509ac pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
		mkdir -p "$d/swanctl/$sub"
	done
	chmod 700 "$d/swanctl/private" "$d/swanctl/rsa" "$d/swanctl/ecdsa" "$d/swanctl/bliss" "$d/swanctl/pkcs8"
	rm -f "$d/run/.lab-holder"
	# every step execs the next (ip, unshare, sh, sleep): $! is the holder's pid
	# shellcheck disable=SC2016 # $1 and $$ are the inner shell's
	ip netns exec "$ns" unshare --mount --propagation private sh -c \
		'mount --bind "$1/swanctl" /etc/swanctl && mount --bind "$1/run" /run &&
		 echo $$ >/run/.lab-holder && exec sleep infinity' sh "$d" </dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$d/holder.pid"
	tries=100
	while [ "$(cat "$d/run/.lab-holder" 2>/dev/null)" != "$pid" ]; do
		tries=$((tries - 1))
		if [ $tries = 0 ] || ! _lab_alive "$pid"; then
			echo "lab: the mount namespace holder for $gw did not start" >&2
			kill "$pid" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	echo "$d"
}

_lab_holder() { # GW: the holder's pid, if it runs
	local d pid
	d=$LAB_STATE/$(lab_ns "$1")
	pid=$(cat "$d/holder.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "$d/run/.lab-holder" 2>/dev/null)" = "$pid" ] &&
		[ -e "/proc/$pid/ns/mnt" ] || return 1
	echo "$pid"
}

lab_gw_exec() { # GW CMD...
	local gw=${1:?lab_gw_exec GW CMD...} pid
	shift
	lab_gw_dir "$gw" >/dev/null || return 1
	pid=$(_lab_holder "$gw") || return 1
	nsenter --target "$pid" --mount --net --root --wd="$PWD" -- "$@"
}

# CMD in GW's namespaces and /run, in the background of the calling shell: $!
# is CMD itself (nsenter execs it), so that kill reaches it; `lab_gw_exec ... &`
# would give the pid of a subshell, and killing that leaves CMD running.
lab_gw_spawn() { # GW CMD...
	local gw=${1:?lab_gw_spawn GW CMD...} pid
	shift
	lab_gw_dir "$gw" >/dev/null || return 1
	pid=$(_lab_holder "$gw") || return 1
	nsenter --target "$pid" --mount --net --root --wd="$PWD" -- "$@" &
}

lab_charon_pid() { # GW
	local d pid
	d=$LAB_STATE/$(lab_ns "${1:?lab_charon_pid GW}")
	pid=$(cat "$d/charon.pid" 2>/dev/null) || return 1
	_lab_alive "$pid" || return 1
	# the pid is charon's only while it has not been reused
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = charon ] || return 1
	echo "$pid"
}

_lab_alive() { # PID: runs (a zombie does not)
	local st
	st=$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null) || return 1
	case $st in
	' '[A-WYa-z]*) return 0 ;; # not Z (zombie) nor X (dead)
	*) return 1 ;;
	esac
}

lab_charon_start() { # GW [TEXT]
	local gw=${1:?lab_charon_start GW [TEXT]} extra=${2:-} d pid tries
	d=$(lab_gw_dir "$gw") || return 1
	if lab_charon_pid "$gw" >/dev/null; then
		echo "lab: charon already runs for $gw" >&2
		return 1
	fi
	cat >"$d/run/strongswan.conf" <<-EOF
		# written by tests/lab/lab.sh for $(lab_ns "$gw"): the packaged configuration
		# plus a file log
		charon {
			load_modular = yes
			plugins {
				include /etc/strongswan.d/charon/*.conf
			}
		}
		include /etc/strongswan.d/*.conf
		charon {
			filelog {
				lab {
					path = /run/charon.log
					time_format = %H:%M:%S
					ike_name = yes
					append = yes
					flush_line = yes
					default = 1
					cfg = 2
					ike = 2
					chd = 2
					knl = 2
					net = 2
					enc = 1
				}
			}
		}
		$extra
	EOF
	rm -f "$d/run/charon.pid" "$d/run/charon.vici"
	pid=$(_lab_holder "$gw")
	nsenter --target "$pid" --mount --net --root --wd=/ -- \
		env STRONGSWAN_CONF=/run/strongswan.conf /usr/lib/ipsec/charon \
		</dev/null >>"$d/run/charon.out" 2>&1 &
	pid=$!
	echo "$pid" >"$d/charon.pid"
	# the socket file first (cheap to watch), then swanctl (a second of plugin
	# loading under TCG each time): the socket exists before charon accepts on it
	tries=$((${LAB_CHARON_WAIT:-30} * 10))
	until [ -S "$d/run/charon.vici" ] && lab_gw_exec "$gw" swanctl --stats >/dev/null 2>&1; do
		tries=$((tries - 1))
		if [ $tries -le 0 ] || ! _lab_alive "$pid"; then
			echo "lab: charon for $gw does not answer on /run/charon.vici; its output and log:" >&2
			tail -n 20 "$d/run/charon.out" "$d/run/charon.log" >&2 2>/dev/null
			kill "$pid" 2>/dev/null
			return 1
		fi
		if [ -S "$d/run/charon.vici" ]; then
			sleep 0.3
			tries=$((tries - 3))
		else
			sleep 0.1
		fi
	done
}

lab_charon_stop() { # GW [SIGNAL]
	local gw=${1:?lab_charon_stop GW [SIGNAL]} sig=${2:-TERM} pid tries=100
	pid=$(lab_charon_pid "$gw") || return 0
	kill -s "$sig" "$pid" 2>/dev/null || return 0
	while _lab_alive "$pid"; do
		tries=$((tries - 1))
		if [ $tries = 0 ]; then
			kill -s KILL "$pid" 2>/dev/null
			tries=50
		fi
		sleep 0.1
	done
}
