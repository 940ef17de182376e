#!/bin/bash
# tests/kernel/ipsec-more.sh - more of issue 11 (`encryption = ipsec`), beside ipsec.sh:
#
#   tests/vm/run -- tests/kernel/all.sh ipsec-more
#
#   - forged relay frames: IPIP sent from the internet router with Brooklyn's endpoint
#     as source, carrying a relay frame from a made-up sender, makes Manhattan's relay
#     broadcast it with encryption = none (the baseline: the check can fail) and makes
#     no broadcast with ipsec, while a genuine broadcast from Brooklyn's LAN still
#     arrives, through ESP only;
#   - a key change: both sites' key files get a new equal key, the site files stay;
#     `up` on each reloads the key and authenticates again (charon's log), the SAs
#     come back with new SPIs, traffic flows, status says established;
#   - charon refuses a changed site file (public keys, its pem plugin left out: it
#     cannot parse the private key): up fails naming charon, and the previous state
#     stays exactly (kernel, xfrm states and policies, charon's connections) and
#     keeps passing traffic;
#   - status reasons: the peer's charon stopped -> "no answer from the peer"; the peer
#     configured by hand with other proposals -> "no proposal chosen"; exit 1, text
#     and --json;
#   - charon without the plugin that does x25519 (openssl left out): it would load
#     the connection and fail at every negotiation, so up asks charon what it can do
#     first and refuses, naming charon and the fix, with nothing changed.
#
# Manhattan's charon runs without the pem plugin (a PSK needs none of it) until the
# last part, which restarts it without openssl.
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

CONN_M=gatewayctl-manhattan_brooklyn
NO_PEM='charon {
    plugins {
        pem {
            load = no
        }
    }
}'
NO_OPENSSL='charon {
    plugins {
        openssl {
            load = no
        }
    }
}'
FAKE_SENDER=192.168.2.66 # a made-up sender in Brooklyn's network
RELAY_PORT=6799          # the port sites/*.ini relay
FRAME_PORT=6798          # the relay's transport port (default)

ipsec_lab
lab_charon_start m-gw "$IPSEC_CHARON_CONF
$NO_PEM"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"

# on m-app: broadcasts to the relayed port, from the made-up sender and from b-ws
lab_exec m-app nft -f - <<EOF
table ip t_relay {
	counter forged {}
	counter genuine {}
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		ip daddr 192.168.1.255 udp dport $RELAY_PORT ip saddr $FAKE_SENDER counter name forged
		ip daddr 192.168.1.255 udp dport $RELAY_PORT ip saddr $LAB_B_WS counter name genuine
	}
}
EOF
bcast_count() { # forged|genuine
	lab_exec m-app nft list counter ip t_relay "$1" |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}
bcast_above() { [ "$(bcast_count "$1")" -gt "$2" ]; } # forged|genuine N

# COUNT IPIP packets from NS, outer OSRC -> ODST, each carrying UDP ISRC:6798 ->
# IDST:6798 holding one well-formed relay frame (docs/relay.md, version 1): "broadcast
# from ORIG port 5555 to port PORT", a different datagram id each
forge_frame() { # NS OSRC ODST ISRC IDST ORIG PORT COUNT
	lab_exec "$1" python3 -c '
import socket, struct, sys, time

def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload

osrc, odst, isrc, idst, orig, port, fport, count = sys.argv[1:9]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(int(count)):
    data = b"forged relay frame %d" % i
    frame = struct.pack("!HBBIHHIHH", 0x6772, 1, 1, struct.unpack("!I", socket.inet_aton(orig))[0],
                        5555, int(port), 0x47000 + i, len(data), 0) + data
    udp = struct.pack("!HHHH", int(fport), int(fport), 8 + len(frame), 0) + frame
    s.sendto(ipv4(osrc, odst, 4, ipv4(isrc, idst, 17, udp, 0x4700 + i), 0x4800 + i), (odst, 0))
    time.sleep(0.05)
' "$2" "$3" "$4" "$5" "$6" "$7" "$FRAME_PORT" "$8"
}

# one broadcast from b-ws to Brooklyn's LAN on the relayed port
genuine_bcast() {
	lab_exec b-ws python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind((sys.argv[1], 5555))
s.sendto(b"a genuine broadcast from b-ws", ("192.168.2.255", int(sys.argv[2])))
' "$LAB_B_WS" "$RELAY_PORT"
}

# wait_for counts tries of 0.1 s, and a try in a namespace takes about half a second
# under TCG: this one keeps to wall-clock SECONDS
wait_until() { # SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# both relays listen: Manhattan's transport socket, Brooklyn's LAN socket
relays_ready() {
	lab_exec m-gw ss -Hlun "src $LAB_M_GW_LAN:$FRAME_PORT" | grep -q . &&
		lab_exec b-gw ss -Hlun "sport = :$RELAY_PORT" | grep -q .
}

# what IPsec dropped on m-gw: gatewayctl's ipsec-in rule plus the kernel's XfrmIn* counters
ipsec_drops() {
	local rule
	rule=$(lab_exec m-gw nft list chain ip gatewayctl-manhattan input 2>/dev/null |
		awk '/comment "ipsec-in"/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
	echo $((${rule:-0} + $(xfrm_in_errors m-gw)))
}

# the IKE SPIs of GW's SAs (swanctl --list-sas), sorted
ike_spis() { # GW
	sw "$1" --list-sas 2>/dev/null | awk '/ESTABLISHED, IKEv2/ { print $5, $6 }' | sort | tr '\n' ' '
}

# the ESP SPIs now in GW are non-empty and share none with OLD
all_new_spis() { # GW OLD
	local now s
	now=$(spis "$1")
	[ -n "$now" ] || return 1
	for s in $2; do
		case " $now " in *" $s "*) return 1 ;; esac
	done
}

# everything of GW's that a refused up must leave as it was: kernel (snap without counter
# values), xfrm states' SPIs, xfrm policies, charon's connections
everything() { # GW
	snap_nocount "$1"
	echo "# xfrm state SPIs"
	spis "$1"
	echo
	echo "# xfrm policies"
	lab_exec "$1" ip xfrm policy
	echo "# charon's connections"
	sw "$1" --list-conns 2>&1
}

# --- forged relay frames: with encryption = none they are broadcast -------------------
section "relay, encryption = none: a forged frame makes a broadcast"
out=$(igw m-gw up sites/manhattan.ini 2>&1) || { fail "plain up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up sites/brooklyn.ini 2>&1) || { fail "plain up brooklyn"; t_note <<<"$out"; }
wait_until 20 relays_ready || fail "plain: the relays listen"
before=$(bcast_count forged)
forge_frame inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$LAB_B_GW_LAN" "$LAB_M_GW_LAN" "$FAKE_SENDER" "$RELAY_PORT" 3
if wait_until 5 bcast_above forged "$before"; then
	ok "encryption = none: a forged relay frame from inet is broadcast on the Manhattan LAN ($(bcast_count forged) seen)"
else
	fail "encryption = none: a forged relay frame from inet is broadcast on the Manhattan LAN (the forgery must work, or the ipsec check below proves nothing)"
fi

section "relay, encryption = ipsec: no forged broadcast, genuine ones arrive"
KM=$(psk_file manhattan-key)
KB=$T_TMP/keys/brooklyn-key
cp -p "$KM" "$KB"
M=$(site_m m-psk "psk_file = $KM")
B=$(site_b b-psk 0 "psk_file = $KB")
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan (ipsec, relay)" || { fail "up manhattan (ipsec, relay)"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn (ipsec, relay)" || { fail "up brooklyn (ipsec, relay)"; t_note <<<"$out"; }
wait_established m-gw manhattan 40 && ok "ipsec: established" || fail "ipsec: established"
wait_until 20 relays_ready || fail "ipsec: the relays listen"
before=$(bcast_count forged)
drops=$(ipsec_drops)
forge_frame inet "$LAB_B_GW_PUB" "$LAB_M_GW_PUB" "$LAB_B_GW_LAN" "$LAB_M_GW_LAN" "$FAKE_SENDER" "$RELAY_PORT" 3
sleep 2
expect_eq "$(bcast_count forged)" "$before" "encryption = ipsec: the forged relay frames make no broadcast on the Manhattan LAN"
expect_ok "... they reached m-gw and IPsec dropped them ($drops -> $(ipsec_drops))" test "$(ipsec_drops)" -ge $((drops + 3))
before=$(bcast_count genuine)
cap_start relay inet eth-m
genuine_bcast
wait_until 10 bcast_above genuine "$before" || true
cap_stop relay
expect_eq "$(bcast_count genuine)" $((before + 1)) "a genuine broadcast from b-ws arrives on the Manhattan LAN, once"
sum=$(cap_summary relay)
expect_ok "... through ESP only: no IP protocol 4, no LAN address on inet ($sum)" \
	test "$(kv esp "$sum")" -gt 0 -a "$(kv ipip "$sum")" = 0 -a "$(kv inner "$sum")" = 0

# --- a key change -------------------------------------------------------------------------
section "key change: new equal keys in both key files, site files unchanged"
expect_ping b-ws "$LAB_M_APP" "before the change: b-ws pings m-app"
old_m=$(spis m-gw)
old_b=$(spis b-gw)
old_ike=$(ike_spis m-gw)
auths=$(grep -c "authentication of 'brooklyn' with pre-shared key successful" "$(charon_log m-gw)" || true)
(umask 077 && head -c 32 /dev/urandom | base64 >"$T_TMP/keys/new")
cat "$T_TMP/keys/new" >"$KM"
cat "$T_TMP/keys/new" >"$KB"
out=$(igw m-gw up "$M" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 0 "up manhattan with the new key"
if grep -q 'no changes' <<<"$out"; then fail "... sees the key change"; t_note <<<"$out"; else ok "... sees the key change"; fi
out=$(igw b-gw up "$B" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 0 "up brooklyn with the new key"
if wait_until 60 all_new_spis m-gw "$old_m" && wait_until 20 all_new_spis b-gw "$old_b"; then
	ok "the SAs are established again with new SPIs (m-gw: $old_m-> $(spis m-gw); b-gw: $old_b-> $(spis b-gw))"
else
	fail "the SAs are established again with new SPIs"
	{ echo "m-gw: $old_m -> $(spis m-gw)"; echo "b-gw: $old_b -> $(spis b-gw)"; sw m-gw --list-sas; } | t_note
fi
wait_established m-gw manhattan 30 || true
new_ike=$(ike_spis m-gw)
expect_ok "... a new IKE_SA ($old_ike-> $new_ike)" test -n "$new_ike" -a "$new_ike" != "$old_ike"
now=$(grep -c "authentication of 'brooklyn' with pre-shared key successful" "$(charon_log m-gw)" || true)
expect_ok "... authenticated again after the change (charon's log: $auths -> $now)" test "$now" -gt "$auths"
expect_ping b-ws "$LAB_M_APP" "new key: b-ws pings m-app"
expect_ping m-app "$LAB_B_WS" "new key: m-app pings b-ws"
for gs in m-gw:manhattan b-gw:brooklyn; do
	out=$(igw "${gs%%:*}" status "${gs#*:}" 2>&1) && rc=0 || rc=$?
	expect_eq "$rc" 0 "new key: status ${gs#*:} exits 0"
	expect_grep "... and shows the SA established" 'ipsec +established' "$out"
done

# --- plan's swanctl.conf fragment is the connection up loads --------------------------------
section "plan: the swanctl.conf fragment, its key put in, is what charon gets from up"
conns_before=$(sw m-gw --list-conns --raw)
igw m-gw plan --full "$M" 2>/dev/null | awk -v key="$(tr -d '\n' <"$KM")" '
	/^(connections|secrets) \{$/ { inblk = 1; depth = 0 }
	inblk { sub(/secret = <[^>]*>/, "secret = \"" key "\""); print
		depth += gsub(/\{/, "{"); depth -= gsub(/\}/, "}"); if (depth == 0) inblk = 0 }' >"$T_TMP/plan-swanctl.conf"
expect_ok "plan --full prints a connections and a secrets block" \
	grep -q '^secrets {' "$T_TMP/plan-swanctl.conf"
expect_eq "$(grep -c "$(head -c 12 "$KM")" <(igw m-gw plan --full "$M" 2>&1))" 0 "... never the key itself"
out=$(sw m-gw --load-conns --file "$T_TMP/plan-swanctl.conf" 2>&1; sw m-gw --load-creds --noprompt --file "$T_TMP/plan-swanctl.conf" 2>&1)
expect_grep "swanctl loads plan's connection" 'successfully loaded 1 connections' "$out"
expect_grep "... and its secret" "loaded ike secret 'ike-$CONN_M'" "$out"
expect_same "charon's connection is the same as the one up loaded (swanctl --list-conns --raw)" \
	"$conns_before" "$(sw m-gw --list-conns --raw)"
# swanctl --load-creds unloads the keys VICI loaded that its file does not name:
# gatewayctl's shared key went (charon holds swanctl's copy, ike-...), up puts it back
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "up afterwards: charon lacks gatewayctl's key, loaded again" \
	"charon lacks the key of IKE connection $CONN_M" "$out"
out=$(igw m-gw up "$M" 2>&1) || true
expect_grep "... then no changes" 'no changes' "$out"

# --- charon refuses a changed site file: the previous state stays -----------------------------
section "charon refuses a changed site file (public keys, no pem plugin): nothing changes"
(umask 077 && "$GWCTL" genkey >"$T_TMP/keys/m.key" && "$GWCTL" genkey >"$T_TMP/keys/b.key")
BPUB=$("$GWCTL" pubkey <"$T_TMP/keys/b.key")
MP=$(site_m m-pub "public_key = $BPUB")
sed -i "s|^mss_clamp = yes$|&\\nprivate_key = $T_TMP/keys/m.key|" "$MP"
before=$(everything m-gw)
out=$(igw m-gw up "$MP" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "up with a site file charon refuses fails"
expect_grep "... naming charon and what it refused" 'charon refused .load-key.' "$out"
expect_grep "... with the fix" 'hint: .*charon' "$out"
expect_same "... and the kernel, the xfrm states and policies and charon's connections are as before" \
	"$before" "$(everything m-gw)"
expect_ping b-ws "$LAB_M_APP" "the previous tunnel still passes traffic: b-ws pings m-app"
expect_ping m-app "$LAB_B_WS" "... and m-app pings b-ws"

# --- status reasons -------------------------------------------------------------------------
section "status: the peer's charon stopped -> no answer"
lab_charon_stop b-gw # TERM: it deletes its SAs at Manhattan on the way out
wait_until 10 sh -c "! ip netns exec $(lab_ns m-gw) ip xfrm state | grep -q ." || true
sw m-gw --terminate --ike "$CONN_M" --force --timeout 2 >/dev/null 2>&1 || true
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "no answer: status exits 1"
expect_grep "... saying no answer from the peer" 'IPsec not established: no answer from the peer' "$out"
expect_grep "... and what to check" 'fix: .*runs charon.*UDP 500 and 4500' "$out"
out=$(igw m-gw status --json manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "no answer: status --json exits 1"
expect_grep "... its reason: no answer from the peer" '"established": false, "reason": "no answer from the peer' "$out"

section "status: the peer configured by hand with other proposals -> no proposal chosen"
igw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn (charon stopped)"
lab_charon_start b-gw "$IPSEC_CHARON_CONF" || fail "charon starts again in b-gw"
IPSEC_PSK="\"$(cat "$KM")\"" IPSEC_IKE=aes128-sha256-modp2048 IPSEC_START=none hand_swanctl b-gw psk
hand_ipip b-gw 1432 || fail "b-gw's tunnel by hand"
out=$(sw b-gw --load-all 2>&1) || { fail "swanctl --load-all on b-gw"; t_note <<<"$out"; }
sw m-gw --terminate --ike "$CONN_M" --force --timeout 2 >/dev/null 2>&1 || true
out=$(igw m-gw status manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "no proposal chosen: status exits 1"
expect_grep "... saying no proposal chosen" 'IPsec not established: no proposal chosen' "$out"
expect_grep "... and that the peer may accept none of gatewayctl's proposals" \
	"fix: .*accepts none of gatewayctl's proposals \\(IKE aes256gcm16" "$out"
out=$(igw m-gw status --json manhattan 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "no proposal chosen: status --json exits 1"
expect_grep "... its reason: no proposal chosen" '"established": false, "reason": "no proposal chosen' "$out"
expect_grep "... with the peer's refusal as charon logged it" 'no proposal chosen: .*NO_PROPOSAL_CHOSEN' "$out"

# --- charon without x25519: up refuses before changing anything -------------------------------
section "charon without the plugin that does x25519 (openssl): up refuses, nothing changes"
lab_charon_stop m-gw
lab_charon_start m-gw "$IPSEC_CHARON_CONF
$NO_OPENSSL" || fail "charon without openssl starts in m-gw"
expect_eq "$(sw m-gw --list-algs 2>/dev/null | grep -c CURVE_25519)" 0 "this charon has no CURVE_25519 (swanctl --list-algs)"
before=$(everything m-gw)
out=$(igw m-gw up "$M" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "up fails"
expect_grep "... naming charon and what it lacks" 'charon cannot negotiate .*CURVE_25519' "$out"
expect_grep "... and the fix" 'hint: load the charon plugin .*openssl' "$out"
expect_same "... and the kernel, the xfrm states and policies and charon's connections are as before" \
	"$before" "$(everything m-gw)"

t_done
