# shellcheck shell=bash
# tests/kernel/lib/lib-ipsec.sh - the two offices joined by hand with IPIP inside IPsec
# transport mode (strongSwan's charon, one per gateway: tests/lab/lab.sh), for the
# kernel tests and bench/ipsec.sh. Source after lib.sh.
#
#   ipsec_need                       skip (77) without charon, swanctl, pki or xfrm
#   ipsec_lab [--nat]                lab_up (plus a route on m-app back to Brooklyn's
#                                    LAN, no SNAT: inner addresses stay visible), and
#                                    lab_down + scratch removal at exit
#   hand_ipip GW [MTU]               GW's side of the tunnel with ip: link ipip0 (local
#                                    = GW's WAN address, remote = the peer's endpoint,
#                                    ttl 64), GW's LAN address on it, a route for the
#                                    peer's LAN, ip_forward=1; MTU default 1480
#   hand_swanctl GW AUTH             GW's /etc/swanctl/swanctl.conf (AUTH psk|pubkey)
#                                    for connection "gw-PEER"; settings from variables:
#                                    IPSEC_ESP (esp_proposals), IPSEC_IKE (proposals),
#                                    IPSEC_START (start_action), IPSEC_PSK (the secret,
#                                    0s<base64> or text), IPSEC_EXTRA (lines added to the
#                                    connection)
#   hand_keys                        an Ed25519 key per gateway (pki), each gateway's own
#                                    in swanctl/private/, both public keys in swanctl/pubkey/
#   ipsec_up GW...                   lab_charon_start + swanctl --load-all per GW
#   ipsec_initiate GW                swanctl --initiate --child ipip; prints the seconds taken
#   sw GW ARGS...                    swanctl ARGS in GW's charon (Debian's swanctl always
#                                    complains about plugins it cannot find: filtered)
#   charon_log GW                    the path of GW's charon log
#   cap_start NAME NS IF / cap_stop NAME    tcpdump -w $T_TMP/NAME.pcap in the background
#   cap_summary NAME                 one line: "esp=N udp500=N udp4500=N ipip=N other=N
#                                    inner=N" (inner: packets holding one of the LAN
#                                    hosts' addresses anywhere past the outer header)
#   forge_ipip NS OUTER_SRC OUTER_DST INNER_SRC INNER_DST PORT [COUNT]
#                                    plain IPIP packets carrying UDP to PORT, from NS
#   udp_counter_add NS PORT / udp_counter NS   count UDP to PORT arriving in NS
#
# The site names are the IKE identities (manhattan, brooklyn), the key material is
# made here; nothing is read from or written to the machine's own /etc.

IPSEC_PSK=${IPSEC_PSK:-0s$(head -c 32 /dev/urandom | base64)}
IPSEC_ESP=${IPSEC_ESP:-aes256gcm16-x25519,chacha20poly1305-x25519}
IPSEC_IKE=${IPSEC_IKE:-aes256gcm16-prfsha256-x25519}
IPSEC_START=${IPSEC_START:-trap|start}
IPSEC_EXTRA=${IPSEC_EXTRA:-}
T_TMP=${T_TMP:-$(mktemp -d "/tmp/gwt-$T_NAME.XXXXXX")}
_IPSEC_NAT=0

ipsec_need() {
	local t ns="gwt-xfrm-$$"
	for t in swanctl pki tcpdump socat python3 nsenter unshare; do
		command -v "$t" >/dev/null || t_skip "'$t' is missing (make deps)"
	done
	[ -x /usr/lib/ipsec/charon ] || t_skip "no /usr/lib/ipsec/charon (strongswan-charon)"
	ip netns add "$ns" || t_skip "cannot create a network namespace"
	if ! ip -n "$ns" xfrm state list >/dev/null 2>&1; then
		ip netns del "$ns"
		t_skip "this kernel has no xfrm (IPsec): run it with tests/vm/run -- $0"
	fi
	ip netns del "$ns"
}

# shellcheck disable=SC2317 # called by trap
ipsec_cleanup() {
	t_cleanup
	rm -rf "$T_TMP"
}

ipsec_lab() { # [--nat]
	trap ipsec_cleanup EXIT
	trap 'echo "$T_NAME: interrupted" >&2; exit 130' INT TERM HUP
	_IPSEC_NAT=0
	[ "${1:-}" = --nat ] && _IPSEC_NAT=1
	if ! lab_up "$@"; then
		fail "lab_up $*"
		t_done
	fi
	lab_exec m-app ip route add "$LAB_B_NET" via "$LAB_M_GW_LAN"
}

# the facts of each side: me peer local remote lan-address peer-net
_ipsec_side() { # GW
	local bwan=$LAB_B_GW_PUB
	[ "$_IPSEC_NAT" = 1 ] && bwan=$LAB_B_GW_NAT_WAN
	case $1 in
	m-gw) echo "manhattan brooklyn $LAB_M_GW_PUB $LAB_B_GW_PUB $LAB_M_GW_LAN $LAB_B_NET" ;;
	b-gw) echo "brooklyn manhattan $bwan $LAB_M_GW_PUB $LAB_B_GW_LAN $LAB_M_NET" ;;
	*) echo "lib-ipsec: no gateway $1" >&2; return 1 ;;
	esac
}

hand_ipip() { # GW [MTU]
	local gw=$1 mtu=${2:-1480} me peer l r lan net
	read -r me peer l r lan net <<<"$(_ipsec_side "$gw")"
	lab_exec "$gw" ip link add ipip0 type ipip local "$l" remote "$r" ttl 64
	lab_exec "$gw" ip link set ipip0 mtu "$mtu" up
	lab_exec "$gw" ip addr add "$lan/32" dev ipip0
	lab_exec "$gw" ip route add "$net" dev ipip0
	lab_exec "$gw" sysctl -qw net.ipv4.ip_forward=1
}

hand_swanctl() { # GW psk|pubkey
	local gw=$1 auth=$2 me peer l r lan net d
	read -r me peer l r lan net <<<"$(_ipsec_side "$gw")"
	d=$(lab_gw_dir "$gw") || return 1
	{
		cat <<-EOF
			connections {
			    gw-$peer {
			        version = 2
			        local_addrs = $l
			        remote_addrs = $r
			        proposals = $IPSEC_IKE
			        dpd_delay = 10s
			        $IPSEC_EXTRA
			        local {
			            auth = $auth
			            id = $me
		EOF
		[ "$auth" = pubkey ] && echo "            pubkeys = $me.pem"
		cat <<-EOF
			        }
			        remote {
			            auth = $auth
			            id = $peer
		EOF
		[ "$auth" = pubkey ] && echo "            pubkeys = $peer.pem"
		cat <<-EOF
			        }
			        children {
			            ipip {
			                mode = transport
			                local_ts = dynamic[4]
			                remote_ts = dynamic[4]
			                esp_proposals = $IPSEC_ESP
			                start_action = $IPSEC_START
			                dpd_action = restart
			            }
			        }
			    }
			}
		EOF
		if [ "$auth" = psk ]; then
			cat <<-EOF
				secrets {
				    ike-$peer {
				        id-$me = $me
				        id-$peer = $peer
				        secret = $IPSEC_PSK
				    }
				}
			EOF
		fi
	} >"$d/swanctl/swanctl.conf"
}

hand_keys() {
	local gw me peer l r lan net d
	for gw in m-gw b-gw; do
		read -r me peer l r lan net <<<"$(_ipsec_side "$gw")"
		d=$(lab_gw_dir "$gw") || return 1
		(umask 077 && pki --gen --type ed25519 --outform pem >"$d/swanctl/private/$me.pem" 2>/dev/null)
		pki --pub --in "$d/swanctl/private/$me.pem" --outform pem >"$d/swanctl/pubkey/$me.pem" 2>/dev/null
	done
	cp "$(lab_gw_dir m-gw)/swanctl/pubkey/manhattan.pem" "$(lab_gw_dir b-gw)/swanctl/pubkey/"
	cp "$(lab_gw_dir b-gw)/swanctl/pubkey/brooklyn.pem" "$(lab_gw_dir m-gw)/swanctl/pubkey/"
}

sw() { # GW ARGS...
	local gw=$1 rc=0
	shift
	lab_gw_exec "$gw" swanctl "$@" >"$T_TMP/sw.out" 2>&1 || rc=$?
	grep -v "^plugin '.*': failed to load" "$T_TMP/sw.out"
	return $rc
}

charon_log() { # GW
	echo "$LAB_STATE/$(lab_ns "$1")/run/charon.log"
}

ipsec_up() { # GW...
	local gw
	for gw in "$@"; do
		lab_charon_start "$gw" "${IPSEC_CHARON_CONF:-}" || return 1
		sw "$gw" --load-all >"$T_TMP/load.out" || { cat "$T_TMP/load.out" >&2; return 1; }
	done
}

ipsec_initiate() { # GW: prints the seconds the handshake took; status of swanctl
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	sw "$1" --initiate --child ipip --timeout 30 >"$T_TMP/initiate.out" || rc=$?
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
	return $rc
}

# --- packets ------------------------------------------------------------------------

declare -A _IPSEC_CAP
cap_start() { # NAME NS IF
	local f="$T_TMP/$1.pcap" tries=50
	rm -f "$f"
	# -Z root: tcpdump would otherwise drop to its own user before opening the file.
	# --immediate-mode: without it packets wait in the capture ring for up to a second,
	# and those of the last second are lost when tcpdump is stopped.
	# ip netns exec execs tcpdump: $! is tcpdump's pid (a function would be a subshell)
	ip netns exec "$(lab_ns "$2")" tcpdump -Z root -U --immediate-mode -n -s 0 -i "$3" -w "$f" \
		</dev/null >/dev/null 2>"$T_TMP/$1.tcpdump" &
	_IPSEC_CAP[$1]=$!
	T_PIDS="$T_PIDS $!"
	until grep -q 'listening on' "$T_TMP/$1.tcpdump" 2>/dev/null; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || { echo "tcpdump did not start" >&2; return 1; }
		sleep 0.1
	done
}

cap_stop() { # NAME
	local pid=${_IPSEC_CAP[$1]:-}
	[ -n "$pid" ] || return 0
	local tries=50
	sleep 0.5
	kill -INT "$pid" 2>/dev/null
	while _lab_alive "$pid"; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || kill -KILL "$pid" 2>/dev/null
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	_IPSEC_CAP[$1]=''
}

cap_summary() { # NAME
	python3 "$(dirname "${BASH_SOURCE[0]}")/pcap-summary.py" "$T_TMP/$1.pcap" \
		"$LAB_M_APP" "$LAB_B_WS" "$LAB_M_GW_LAN" "$LAB_B_GW_LAN"
}

forge_ipip() { # NS OUTER_SRC OUTER_DST INNER_SRC INNER_DST PORT [COUNT]
	local ns=$1
	shift
	lab_exec "$ns" python3 "$(dirname "${BASH_SOURCE[0]}")/forge-ipip.py" "$@"
}

udp_counter_add() { # NS PORT
	lab_exec "$1" nft -f - <<-EOF
		table ip t_forged {
			counter seen {}
			chain prerouting {
				type filter hook prerouting priority raw; policy accept;
				udp dport $2 counter name seen
			}
		}
	EOF
}

udp_counter() { # NS
	lab_exec "$1" nft list counter ip t_forged seen |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

# one xfrm counter of NS (/proc/net/xfrm_stat), e.g. XfrmInStateProtoError: ESP packets
# whose integrity check failed
xfrm_stat() { # NS NAME
	# shellcheck disable=SC2016 # awk's fields
	lab_exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/xfrm_stat
}

# the sum of the xfrm error counters of NS (/proc/net/xfrm_stat) whose name starts with In
xfrm_in_errors() { # NS
	# shellcheck disable=SC2016 # awk's fields
	lab_exec "$1" awk '$1 ~ /^XfrmIn/ { n += $2 } END { print n + 0 }' /proc/net/xfrm_stat
}
