# shellcheck shell=bash
# tests/kernel/lib/lib-gwipsec.sh - gatewayctl with `encryption = ipsec` in the lab: what
# tests/kernel/ipsec.sh and ipsec-nat.sh share. Source after lib.sh, gw.sh and
# lib-ipsec.sh.
#
#   igw GW ARGS...            gatewayctl in GW's network namespace and its private
#                             /run (so the default /run/charon.vici is GW's charon)
#   psk_file NAME             a fresh 0600 PSK file; prints its path
#   site_m NAME KEYLINE...    sites/manhattan.ini with encryption = ipsec + KEYLINEs
#   site_b NAME NAT KEYLINE...  the same for Brooklyn; NAT=1: its WAN behind b-nat
#   tcp_server / expect_tcp NS DST MSG / traffic LABEL    ping and 100 kB TCP both ways
#   wait_established GW SITE SECONDS    status --json says established
#   spis GW / ours_in_charon GW         ESP SPIs; gatewayctl- connections in charon
#   prove_protected LABEL esp|udp4500   capture on inet during traffic + a forgery
#   cap_summary6 NAME                   cap_summary with the LANs' IPv6 addresses as inner too
#   prove_closed LABEL NAME             the test's no_pings LABEL under captures on both of
#                                       inet's links; nothing of the tunnel in clear (IPv6, issue 22)

IPSEC_CHARON_CONF='charon {
    retransmit_tries = 3
    retransmit_timeout = 2
    retransmit_base = 1.4
}'
PORT_M=7001
head -c 100000 /dev/urandom >"$T_TMP/data"
DATA_SUM=$(sha256sum <"$T_TMP/data")
mkdir -p -m 0700 "$T_TMP/keys"

# gatewayctl in GW's network namespace AND its private /run (its own charon)
igw() { # GW ARGS...
	local ns=$1
	shift
	mkdir -p "$T_TMP/run-$ns"
	lab_gw_exec "$ns" env GATEWAYCTL_RUNDIR="$T_TMP/run-$ns" "$GWCTL" "$@"
}

section() { echo "# [${SECONDS}s] $*"; }

kv() { # KEY "k=v k=v...": the value
	local kv
	for kv in $2; do
		[ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return 0; }
	done
	echo "?"
}

psk_file() { # NAME: a fresh 0600 key file of 32 random bytes in base64
	(umask 077 && head -c 32 /dev/urandom | base64 >"$T_TMP/keys/$1")
	echo "$T_TMP/keys/$1"
}

# the site files: the reference offices with encryption = ipsec and KEYLINES
# (written into each [peer] section); NAT=1 puts Brooklyn's WAN behind the router
# (public_address: the router's address, Manhattan's endpoint for Brooklyn)
site_m() { # NAME KEYLINES...
	local name=$1
	shift
	sed "s|^networks = 192.168.2.0/24$|&\\nencryption = ipsec$(printf '\\n%s' "$@")|" sites/manhattan.ini |
		site_file "$name"
}
site_b() { # NAME NAT KEYLINES...
	local name=$1 nat=$2
	shift 2
	sed "s|^networks = 192.168.1.0/24$|&\\nencryption = ipsec$(printf '\\n%s' "$@")|" sites/brooklyn.ini |
		if [ "$nat" = 1 ]; then
			sed "s|^wan_address = .*|wan_address = $LAB_B_GW_NAT_WAN/24\\npublic_address = $LAB_B_GW_PUB|; s|^gateway = .*|gateway = $LAB_B_NAT_IN|"
		else
			cat
		fi | site_file "$name"
}

tcp_server() {
	t_bg m-app socat TCP4-LISTEN:7777,bind=$LAB_M_APP,reuseaddr,fork SYSTEM:sha256sum
	t_bg b-ws socat TCP4-LISTEN:7777,bind=$LAB_B_WS,reuseaddr,fork SYSTEM:sha256sum
	wait_for 5 lab_exec m-app sh -c 'ss -Htln "sport = :7777" | grep -q .' || fail "m-app: TCP server"
	wait_for 5 lab_exec b-ws sh -c 'ss -Htln "sport = :7777" | grep -q .' || fail "b-ws: TCP server"
}

expect_tcp() { # NS DST MSG
	local got
	got=$(lab_exec "$1" socat -t 15 -T 20 - "TCP4:$2:7777,connect-timeout=5" <"$T_TMP/data" 2>&1) || true
	expect_eq "$got" "$DATA_SUM" "$3"
}

traffic() { # LABEL
	expect_ping b-ws "$LAB_M_APP" "$1: b-ws pings m-app"
	expect_ping m-app "$LAB_B_WS" "$1: m-app pings b-ws"
	expect_tcp b-ws "$LAB_M_APP" "$1: TCP b-ws -> m-app, 100 kB intact"
	expect_tcp m-app "$LAB_B_WS" "$1: TCP m-app -> b-ws, 100 kB intact"
}

wait_established() { # GW SITE SECONDS: status --json says every ipsec peer is established
	local tries=$(($3 * 2))
	until igw "$1" status --json "$2" 2>/dev/null | grep -q '"established": true'; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
		sleep 0.5
	done
}

spis() { # GW: the SPIs of the kernel's ESP states, sorted
	lab_exec "$1" ip xfrm state | awk '$1 == "proto" && $2 == "esp" { print $4 }' | sort | tr '\n' ' '
}

ours_in_charon() { # GW: our connections charon lists
	sw "$1" --list-conns 2>/dev/null | grep -c '^gatewayctl-' || true
}

# capture on inet during TRAFFIC; CARRIER esp or udp4500
prove_protected() { # LABEL CARRIER
	local label=$1 carrier=$2 sum before
	cap_start "$label" inet eth-m
	traffic "$label"
	cap_stop "$label"
	sum=$(cap_summary "$label")
	t_log "$label capture: $sum"
	if [ "$carrier" = esp ]; then
		expect_ok "$label: inet saw ESP ($sum)" test "$(kv esp "$sum")" -gt 0
	else
		expect_eq "$(kv esp "$sum")" 0 "$label: no bare ESP on inet behind NAT ($sum)"
		expect_ok "$label: inet saw UDP 4500 ($sum)" test "$(kv udp4500 "$sum")" -gt 0
	fi
	expect_eq "$(kv ipip "$sum")" 0 "$label: inet saw no IP protocol 4"
	expect_eq "$(kv inner "$sum")" 0 "$label: no LAN address in any packet on inet"
	before=$(udp_counter m-app)
	forge_ipip inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 3
	sleep 0.5
	expect_eq "$(udp_counter m-app)" "$before" "$label: forged IPIP from inet does not reach m-app"
}


# no ESP state left in GW (shown, with charon's SAs, when there is)
expect_no_xfrm_state() { # GW MSG
	local n
	n=$(lab_exec "$1" ip xfrm state | grep -c . || true)
	if [ "$n" = 0 ]; then
		ok "$2"
	else
		fail "$2"
		{ lab_exec "$1" ip xfrm state; sw "$1" --list-sas; sw "$1" --list-conns; } 2>&1 | head -40 | t_note
	fi
}

# the pcap summary with both families' LAN addresses counted as inner
cap_summary6() { # NAME
	python3 "$(dirname "${BASH_SOURCE[0]}")/pcap-summary.py" "$T_TMP/$1.pcap" "$LAB_M_APP" "$LAB_B_WS" \
		"$LAB_M_GW_LAN" "$LAB_B_GW_LAN" "$LAB_M_APP6" "$LAB_B_WS6" "$LAB_M_GW_LAN6" "$LAB_B_GW_LAN6"
}

# the test's no_pings LABEL (its pings of both families, each failing) under
# captures on both of the internet router's links: no protocol (IPv6: next
# header) 4 or 41 in clear, no LAN address of either family
prove_closed() { # LABEL NAME
	local m b
	cap_start "$2-m" inet eth-m
	cap_start "$2-b" inet eth-b
	no_pings "$1"
	cap_stop "$2-m"
	cap_stop "$2-b"
	m=$(cap_summary6 "$2-m")
	b=$(cap_summary6 "$2-b")
	t_log "$1: eth-m $m; eth-b $b"
	expect_eq "$(kv ipip "$m")/$(kv ipip "$b")" 0/0 "$1: no protocol 4 in clear ($m / $b)"
	expect_eq "$(kv sit "$m")/$(kv sit "$b")" 0/0 "$1: no protocol 41 in clear"
	expect_eq "$(kv inner "$m")/$(kv inner "$b")" 0/0 "$1: no LAN address of either family on the internet"
}
