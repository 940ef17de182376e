#!/bin/bash
# tests/kernel/watch-ipsec.sh - encrypted peers that move with no DNS at all
# (issue 20): both offices `encryption = ipsec`, `gatewayctl watch` on both,
# Brooklyn with `wan_address = auto` and `gateway = auto`, Manhattan's file
# naming Brooklyn's OLD address. Brooklyn's ISP moves it (old address removed,
# new one added, default route back):
#   - charon carries the move inside the IKE_SA (MOBIKE), Manhattan's watcher
#     hears charon's ike-update and moves the tunnel's remote, the nftables peer
#     sets, the xfrm block policies and the IKE connection; Brooklyn's follows
#     its own WAN; traffic flows again within a few seconds (measured);
#   - both tunnels show the new addresses; only ESP crosses the internet; a
#     forged plain IPIP packet from the new and from the old address reaches
#     nothing; the watcher logs the move; status (text, JSON) shows the peer's
#     current endpoint and that it came from IKE; a plain `up` of the unchanged
#     file keeps it (no changes);
#   - once with Brooklyn as the IKE_SA's initiator (it sends the MOBIKE update),
#     once as its responder (it sends its new address list, Manhattan updates);
#   - a connection that is not ours (loaded by hand, the same identities, from a
#     third address of Brooklyn's) comes up: nothing moves.
#
#   tests/vm/run -- tests/kernel/all.sh watch-ipsec
set -eu
# shellcheck source=tests/kernel/lib/lib.sh
. "$(dirname "$0")/lib/lib.sh"
t_need_ipip
# shellcheck source=tests/kernel/lib/gw.sh
. "$(dirname "$0")/lib/gw.sh"
# shellcheck source=tests/kernel/lib/lib-ipsec.sh
. "$(dirname "$0")/lib/lib-ipsec.sh"
ipsec_need
# shellcheck source=tests/kernel/lib/lib-gwipsec.sh
. "$(dirname "$0")/lib/lib-gwipsec.sh"

ipsec_lab
udp_counter_add m-app $PORT_M
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
tcp_server

OLD=$LAB_B_GW_PUB	# 172.17.2.10
NEW=172.17.2.11
NEW2=172.17.2.9
THIRD=172.17.2.12
PSK=$(psk_file shared)
M=$(site_m manhattan "psk_file = $PSK")
B=$(site_b brooklyn-fixed 0 "psk_file = $PSK")
B=$(sed 's|^wan_address = .*|wan_address = auto|; s|^gateway = .*|gateway = auto|' "$B" | site_file brooklyn)
expect_grep "Manhattan's file names Brooklyn's old address" "^endpoint = $OLD\$" "$(cat "$M")"

# the watchers, in each gateway's namespace and /run (its charon), logging to
# files; $! is the watcher itself (lab_gw_spawn), so that SIGTERM reaches it
watch_bg() { # GW FILE
	mkdir -p "$T_TMP/run-$1" "$T_TMP/lib-$1"
	lab_gw_spawn "$1" env -u JOURNAL_STREAM GATEWAYCTL_RUNDIR="$T_TMP/run-$1" GATEWAYCTL_LIBDIR="$T_TMP/lib-$1" \
		"$GWCTL" watch "$2" >>"$T_TMP/watch-$1.log" 2>&1
}
watch_bg m-gw "$M"
WM=$!
watch_bg b-gw "$B"
WB=$!
T_PIDS="$T_PIDS $WM $WB"
# shellcheck disable=SC2317 # called by trap
stop_watchers() { kill "$WM" "$WB" 2>/dev/null || true; wait "$WM" "$WB" 2>/dev/null || true; }
trap 'stop_watchers; ipsec_cleanup' EXIT

tunnels() { # GW: its tunnel's "remote A local B"
	local t=gw-brooklyn
	[ "$1" = b-gw ] && t=gw-manhattan
	lab_exec "$1" ip -d link show "$t" 2>/dev/null | grep -o 'remote [0-9.]* local [0-9.]*' || true
}
wait_for 30 sh -c "ip netns exec $(lab_ns m-gw) ip link show gw-brooklyn && ip netns exec $(lab_ns b-gw) ip link show gw-manhattan" \
	>/dev/null 2>&1 || fail "both watchers brought their site up"
expect_ping b-ws "$LAB_M_APP" "before the move: b-ws pings m-app (Brooklyn's charon initiates)"
wait_established m-gw manhattan 20 || fail "the IKE_SA is established"
traffic "before the move"
echo "# b-gw's IKE_SA: $(sw b-gw --list-sas 2>/dev/null | grep -m1 'gatewayctl-brooklyn_manhattan')"

# the move: Brooklyn's ISP takes OLD away, gives it TO, the default route back;
# then traffic must flow again with nothing but IKE telling Manhattan
move_brooklyn() { # FROM TO LABEL
	local from=$1 to=$2 label=$3 t0 t1 took
	both_moved() {
		[ "$(tunnels b-gw)" = "remote $LAB_M_GW_PUB local $to" ] &&
			[ "$(tunnels m-gw)" = "remote $to local $LAB_M_GW_PUB" ]
	}
	section "$label: Brooklyn moves from $from to $to"
	local lm lb
	lm=$(wc -l <"$(charon_log m-gw)") lb=$(wc -l <"$(charon_log b-gw)")
	# pings every 0.2 s through the move, timestamped: when traffic flows again
	lab_exec b-ws ping -D -n -i 0.2 -W 1 -c 150 "$LAB_M_APP" >"$T_TMP/ping-$to.log" 2>&1 &
	local pinger=$!
	sleep 1
	echo "# $(date +%T.%N | cut -c1-12) the move starts"
	t0=${EPOCHREALTIME/./}
	lab_exec b-gw ip addr del "$from/28" dev eth1
	lab_exec b-gw ip addr add "$to/28" brd 172.17.2.15 dev eth1
	lab_exec b-gw ip route add default via 172.17.2.14
	if wait_for 20 both_moved; then
		t1=${EPOCHREALTIME/./}
		ok "$label: both tunnels moved to $to, $(( (t1 - t0) / 1000 )) ms after the ISP's change"
	else
		fail "$label: both tunnels moved to $to"
		{ echo "b-gw: $(tunnels b-gw)"; echo "m-gw: $(tunnels m-gw)"; tail -20 "$T_TMP/watch-m-gw.log"
		  tail -20 "$T_TMP/watch-b-gw.log"; sw m-gw --list-sas; } 2>&1 | t_note
		# the rest would fail too, each after its timeouts
		kill "$pinger" 2>/dev/null || true
		wait "$pinger" 2>/dev/null || true
		t_done
	fi
	# time from the move to the first answer to a ping sent after it (the
	# pinger's -D stamps: seconds since the epoch, microseconds)
	wait_for 15 sh -c "grep -q 'bytes from' '$T_TMP/ping-$to.log' && [ \$(grep -c 'bytes from' '$T_TMP/ping-$to.log') -gt 5 ]" || true
	kill "$pinger" 2>/dev/null || true
	wait "$pinger" 2>/dev/null || true
	# (the first answer after the move that follows a lost one: the outage's end)
	took=$(awk -v t0="$t0" '/bytes from/ { gsub(/[\[\]]/, "", $1); t = $1 * 1000000 - t0
		seq = $0; sub(/.*icmp_seq=/, "", seq); seq += 0; got[seq] = 1
		if (t > 0 && !((seq - 1) in got)) { printf "%d\n", t / 1000; exit } }' "$T_TMP/ping-$to.log")
	if [ -n "$took" ] && [ "$took" -le 10000 ]; then
		ok "$label: traffic flows again $took ms after the move (goal: a few seconds)"
	else
		fail "$label: traffic flows again within 10 s of the move (${took:-never} ms)"
		tail -5 "$T_TMP/ping-$to.log" | t_note
	fi
	echo "# measured: $label: address move to traffic: ${took:-never} ms"
	# what the charons did meanwhile (the seconds a move takes are theirs)
	for gw in b-gw m-gw; do
		[ $gw = m-gw ] && n=$lm || n=$lb
		tail -n +"$((n + 1))" "$(charon_log $gw)" |
			grep -E 'MOBIKE|roam|path|no route|retransmit|SAD' | grep -v 'no address found' |
			head -25 | sed "s/^/# $gw charon: /"
	done
	grep -E 'IKE|repair' "$T_TMP/watch-b-gw.log" | tail -4 | cut -c1-200 | sed 's/^/# b-gw watch: /'
	grep -E 'IKE|repair' "$T_TMP/watch-m-gw.log" | tail -3 | cut -c1-200 | sed 's/^/# m-gw watch: /'
	traffic "$label, after the move"
	expect_grep "$label: m-gw's nftables peer set holds $to" "elements = \\{ ${to//./\\.} \\}" \
		"$(lab_exec m-gw nft list set ip gatewayctl-manhattan endpoints)"
	expect_grep "$label: ... and its encrypted peers' set" "elements = \\{ ${to//./\\.} \\}" \
		"$(lab_exec m-gw nft list set ip gatewayctl-manhattan encrypted)"
	expect_eq "$(lab_exec m-gw ip xfrm policy list src "$to/32" dst "$LAB_M_GW_PUB/32" proto 4 dir in |
		grep -c 'action block' || true)" 2 "$label: m-gw's xfrm block policies cover $to (in, both marks)"
	if lab_exec m-gw ip xfrm policy list | grep -q "${from//./\\.}/32"; then
		fail "$label: no xfrm policy of m-gw names $from any more"
		lab_exec m-gw ip xfrm policy list | t_note
	else
		ok "$label: no xfrm policy of m-gw names $from any more"
	fi
	expect_grep "$label: charon's connection on m-gw goes to $to" "remote: +${to//./\\.}\$" \
		"$(sw m-gw --list-conns 2>/dev/null | grep -A2 '^gatewayctl-manhattan_brooklyn' || true)"
	expect_grep "$label: m-gw's watcher logged the move, saying IKE" \
		"IKE: peer brooklyn moved: its IKE_SA gatewayctl-manhattan_brooklyn \\(authenticated as brooklyn\\) is at $to now \\(was $from\\)" \
		"$(cat "$T_TMP/watch-m-gw.log")"
	expect_grep "$label: ... and repaired through the engine" "repaired .*IKE found peer brooklyn at $to" \
		"$(cat "$T_TMP/watch-m-gw.log")"
	out=$(igw m-gw status manhattan 2>&1) || true
	expect_grep "$label: status shows the peer's current endpoint, from IKE" \
		"peer brooklyn \\(endpoint $to \\(from IKE: the peer moved there from $OLD\\)\\)" "$out"
	out=$(igw m-gw status --json manhattan 2>&1) || true
	expect_grep "$label: status --json: the endpoint, its source, the file's address" \
		"\"endpoint\": \"$to\", \"endpoint_source\": \"ike\", \"endpoint_file\": \"$OLD\"" "$out"
	# only ESP on the wire, forgeries from the new and the old address reach nothing
	prove_protected "$label" esp
	before=$(udp_counter m-app)
	forge_ipip inet "$to" "$LAB_M_GW_PUB" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 3
	sleep 0.5
	expect_eq "$(udp_counter m-app)" "$before" "$label: forged plain IPIP from the new address $to reaches nothing"
	forge_ipip inet "$from" "$LAB_M_GW_PUB" "$LAB_B_WS" "$LAB_M_APP" $PORT_M 3
	sleep 0.5
	expect_eq "$(udp_counter m-app)" "$before" "$label: ... nor from the old address $from"
}

move_brooklyn "$OLD" "$NEW" "initiator moves"
expect_grep "Manhattan's file still names the old address" "^endpoint = $OLD\$" "$(cat "$M")"
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "a plain up of the unchanged file keeps the address IKE found: no changes" 'no changes' "$out"
expect_eq "$(tunnels m-gw)" "remote $NEW local $LAB_M_GW_PUB" "... the tunnel stays at $NEW"

# --- the responder moves: the SAs torn down, Manhattan initiates this time
section "Manhattan initiates a new IKE_SA"
sw m-gw --terminate --ike gatewayctl-manhattan_brooklyn >/dev/null 2>&1 || true
sleep 1
expect_ping m-app "$LAB_B_WS" "m-app pings b-ws (Manhattan's charon initiates)"
wait_established m-gw manhattan 20 || fail "the new IKE_SA is established"
move_brooklyn "$NEW" "$NEW2" "responder moves"

# --- not ours: a connection loaded by hand in both charons, the same identities
# (so the same key), from a third address of Brooklyn's, comes up: it moves nothing
section "a foreign connection"
lab_exec b-gw ip addr add "$THIRD/28" dev eth1
foreign_conf() { # LOCAL REMOTE EXTRA LOCAL_ID REMOTE_ID: a swanctl.conf with connection "foreign"
	cat <<-EOF
		connections {
		    foreign {
		        version = 2
		        local_addrs = $1
		        remote_addrs = $2
		        $3
		        proposals = aes256gcm16-prfsha384-x25519
		        local {
		            auth = psk
		            id = $4
		        }
		        remote {
		            auth = psk
		            id = $5
		        }
		        children {
		            foreign {
		                mode = transport
		                local_ts = dynamic[udp/9999]
		                remote_ts = dynamic[udp/9999]
		                esp_proposals = aes256gcm16-x25519
		            }
		        }
		    }
		}
	EOF
}
foreign_conf "$LAB_M_GW_PUB" "$THIRD" "" manhattan brooklyn >"$T_TMP/foreign-m.conf"
# (to UDP 4500 from 4500: port 500 is closed to addresses that are no peer's)
foreign_conf "$THIRD" "$LAB_M_GW_PUB" "local_port = 4500
		        remote_port = 4500" brooklyn manhattan >"$T_TMP/foreign-b.conf"
sw m-gw --load-conns --file "$T_TMP/foreign-m.conf" >/dev/null 2>&1 || fail "foreign connection loaded on m-gw"
sw b-gw --load-conns --file "$T_TMP/foreign-b.conf" >/dev/null 2>&1 || fail "foreign connection loaded on b-gw"
state_before=$(cat "$(gw_statedir m-gw)/manhattan.state")
out=$(sw b-gw --initiate --ike foreign 2>&1) || true
if sw m-gw --list-sas 2>/dev/null | grep -q "foreign.*ESTABLISHED"; then
	ok "the foreign IKE_SA is established on m-gw (from $THIRD, authenticated as brooklyn)"
else
	fail "the foreign IKE_SA is established on m-gw"
	{ printf '%s\n' "$out" | tail -5; grep -E 'foreign|172\.17\.2\.12' "$(charon_log m-gw)" | tail -15; } | t_note
fi
sleep 2
expect_eq "$(tunnels m-gw)" "remote $NEW2 local $LAB_M_GW_PUB" "the foreign SA moved nothing: m-gw's tunnel stays at $NEW2"
expect_eq "$(cat "$(gw_statedir m-gw)/manhattan.state")" "$state_before" "... nor the state file"
if grep -q "is at $THIRD now" "$T_TMP/watch-m-gw.log"; then
	fail "... and the watcher never took $THIRD"
else
	ok "... and the watcher never took $THIRD"
fi
expect_ping b-ws "$LAB_M_APP" "... traffic flows"
sw b-gw --terminate --ike foreign >/dev/null 2>&1 || true

# --- the watchers end (SIGTERM); the sites stay
stop_watchers
if lab_exec m-gw sh -c 'ps -eo args 2>/dev/null || true' | grep -q "[w]atch $M"; then
	fail "SIGTERM: m-gw's watcher has ended"
else
	ok "SIGTERM: m-gw's watcher has ended"
fi
expect_eq "$(tunnels m-gw)" "remote $NEW2 local $LAB_M_GW_PUB" "SIGTERM: m-gw's site stays as it is"
out=$(igw m-gw down manhattan 2>&1) || { fail "down manhattan"; t_note <<<"$out"; }
out=$(igw b-gw down brooklyn 2>&1) || { fail "down brooklyn"; t_note <<<"$out"; }
t_done
