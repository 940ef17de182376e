#!/bin/bash
# tests/kernel/ipsec-keys.sh - issue 18, part A: charon holds exactly the site's
# keys, connection names no two sites share, rollbacks that cover keys.
#
#   tests/vm/run -- tests/kernel/all.sh ipsec-keys
#
#   - names: site a with peer b-c and site a-b with peer c (one name before) come up
#     side by side on one gateway, each with its connection and key; down of one
#     leaves the other's;
#   - a connection of the site's name that charon holds but gatewayctl did not load is
#     never replaced: up refuses, names it, changes nothing;
#   - a wrong PSK written into the same key file and applied with up --confirm: the
#     rollback at the deadline puts the old key back, traffic flows again;
#   - down keeps IPsec (connection and key) when a tunnel cannot be deleted;
#   - public keys: charon restarted empty -> the next up loads key and connection,
#     traffic flows; swanctl --load-all (which drops what VICI loaded) -> likewise; a
#     new private key is loaded and the old one unloaded; a failed up leaves no key;
#     down removes the key.
# charon's own view comes from vici-list.py (VICI, no gatewayctl code).
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

VICI_LIST=$(dirname "$0")/lib/vici-list.py
CONN_M=gatewayctl-manhattan_brooklyn

# what GW's charon holds: conns (NAME LOCAL_ID REMOTE_ID), shared, keys
vl() { # GW conns|shared|keys
	python3 "$VICI_LIST" "$LAB_STATE/$(lab_ns "$1")/run/charon.vici" "$2" | sort | tr '\n' ' ' | sed 's/ $//'
}

# charon's id of a public key (base64): the SHA-1 of the raw key
keyid_of() { # PUB
	base64 -d <<<"$1" | sha1sum | cut -d' ' -f1
}

run_rc() { # CMD...: its exit status in $rc, its output in $out
	rc=0
	out=$("$@" 2>&1) || rc=$?
}

ipsec_lab
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
lab_charon_start b-gw "$IPSEC_CHARON_CONF"
tcp_server

# --- names -------------------------------------------------------------------------------
section "names: site a / peer b-c and site a-b / peer c on one gateway"
lab_exec m-gw ip addr add 172.16.1.13/27 dev eth1
K1=$(psk_file a-key)
K2=$(psk_file ab-key)
site_two() { # NAME SITE WAN PEER NET KEY
	site_file "$1" <<-EOF
		[site]
		name = $2
		lan = eth0
		lan_address = 192.168.1.126/24
		wan = eth1
		wan_address = $3/27
		manage_interfaces = no

		[peer $4]
		endpoint = $LAB_B_GW_PUB
		networks = $5
		encryption = ipsec
		psk_file = $6
	EOF
}
SA=$(site_two a a 172.16.1.12 b-c 10.91.0.0/24 "$K1")
SAB=$(site_two a-b a-b 172.16.1.13 c 10.92.0.0/24 "$K2")
out=$(igw m-gw plan "$SA" 2>&1) || true
expect_grep "plan shows the new name" "swanctl --load-all   # IKE connection gatewayctl-a_b-c " "$out"
out=$(igw m-gw up "$SA" 2>&1) && ok "up a" || { fail "up a"; t_note <<<"$out"; }
out=$(igw m-gw up "$SAB" 2>&1) && ok "up a-b" || { fail "up a-b"; t_note <<<"$out"; }
expect_eq "$(vl m-gw conns)" "gatewayctl-a-b_c a-b c gatewayctl-a_b-c a b-c" \
	"charon holds both connections, each with its site's identities"
expect_eq "$(vl m-gw shared)" "gatewayctl-a-b_c gatewayctl-a_b-c" "... and both keys"
out=$(igw m-gw up "$SA" 2>&1) || true
expect_grep "up a again: no changes (a-b's connection did not replace a's)" 'no changes' "$out"
out=$(igw m-gw down a 2>&1) && ok "down a" || { fail "down a"; t_note <<<"$out"; }
expect_eq "$(vl m-gw conns)" "gatewayctl-a-b_c a-b c" "down a leaves a-b's connection"
expect_eq "$(vl m-gw shared)" "gatewayctl-a-b_c" "... and a-b's key"
out=$(igw m-gw down a-b 2>&1) || { fail "down a-b"; t_note <<<"$out"; }
expect_eq "$(vl m-gw conns)$(vl m-gw shared)" "" "down a-b: nothing of either left in charon"
lab_exec m-gw ip addr del 172.16.1.13/27 dev eth1

# --- a same-named connection gatewayctl did not load -------------------------------------
section "a connection named $CONN_M that gatewayctl did not load: up refuses"
PSK=$(psk_file shared)
M=$(site_m m-psk "psk_file = $PSK")
B=$(site_b b-psk 0 "psk_file = $PSK")
lab_gw_exec m-gw sh -c 'cat >/etc/swanctl/swanctl.conf' <<EOF
connections {
    $CONN_M {
        remote_addrs = 198.51.100.9
        local {
            auth = psk
            id = somebody-else
        }
        remote {
            auth = psk
        }
        children {
            $CONN_M {
                mode = tunnel
                remote_ts = 10.99.0.0/16
            }
        }
    }
}
EOF
out=$(sw m-gw --load-conns 2>&1) || { fail "swanctl loads the foreign connection"; t_note <<<"$out"; }
before=$(snap m-gw)
run_rc igw m-gw up "$M"
expect_eq "$rc" 1 "up manhattan fails"
expect_grep "... naming the connection and why" \
	"charon holds an IKE connection named $CONN_M that gatewayctl did not load for site manhattan" "$out"
expect_same "... and changes nothing" "$before" "$(snap m-gw)"
expect_eq "$(vl m-gw conns)" "$CONN_M somebody-else -" "... the foreign connection stays as it was"
expect_eq "$(vl m-gw shared)" "" "... and no key was loaded"
lab_gw_exec m-gw sh -c ': >/etc/swanctl/swanctl.conf'
sw m-gw --load-conns >/dev/null 2>&1 || true

# --- a wrong PSK under up --confirm is rolled back ---------------------------------------
section "PSK: up, established, traffic"
out=$(igw m-gw up "$M" 2>&1) && ok "up manhattan" || { fail "up manhattan"; t_note <<<"$out"; }
out=$(igw b-gw up "$B" 2>&1) && ok "up brooklyn" || { fail "up brooklyn"; t_note <<<"$out"; }
wait_established m-gw manhattan 40 && ok "established" || fail "established"
expect_ping b-ws "$LAB_M_APP" "PSK: b-ws pings m-app"
KEYS=$(gw_privdir m-gw)/manhattan.keys
expect_eq "$(stat -c %a "$KEYS" 2>&1)" 600 "the keys charon got are kept root-only ($KEYS)"

section "a wrong PSK in the same file, up --confirm=8, not confirmed: rolled back"
GOOD=$(cat "$PSK")
cp -p "$PSK" "$T_TMP/keys/shared.good"
PSK_B=$T_TMP/keys/shared-b
cp -p "$PSK" "$PSK_B"
B=$(site_b b-psk 0 "psk_file = $PSK_B") # Brooklyn keeps the good key
(umask 077 && head -c 32 /dev/urandom | base64 >"$PSK")
out=$(igw m-gw up --confirm=8 "$M" 2>&1) && ok "up --confirm=8 with the wrong key" ||
	{ fail "up --confirm=8 with the wrong key"; t_note <<<"$out"; }
expect_grep "... applies a change (the key)" 'change pending: rolls back in 8 s' "$out"
expect_ok "... keeping the keys in force before it" test -s "$GATEWAYCTL_LIBDIR/manhattan.pending.keys"
if wait_for 40 test ! -e "$GATEWAYCTL_LIBDIR/manhattan.pending"; then
	ok "the watcher rolled the change back"
else
	fail "the watcher rolled the change back"
fi
expect_ok "... and removed the kept keys" test ! -e "$GATEWAYCTL_LIBDIR/manhattan.pending.keys"
if wait_established m-gw manhattan 60; then
	ok "after the rollback the SA is established again (the old key is back)"
else
	fail "after the rollback the SA is established again (the old key is back)"
	{ igw m-gw status manhattan; tail -20 "$(charon_log m-gw)"; } 2>&1 | t_note
fi
sleep 5 # the rollback's reauthentication and the peer's own attempts settle
traffic "after the rollback"
cp -p "$T_TMP/keys/shared.good" "$PSK"
[ "$(cat "$PSK")" = "$GOOD" ] || fail "the good key file restored"

# --- down with a tunnel that cannot be deleted --------------------------------------------
section "down with a tunnel it cannot delete keeps IPsec"
# lo marked as a tunnel of site manhattan: down tries to delete it and cannot
lab_exec m-gw ip link set lo alias "gatewayctl:manhattan/lo"
run_rc igw m-gw down manhattan
expect_eq "$rc" 1 "down fails (lo cannot be deleted)"
expect_grep "... and says IPsec stays" 'IPsec stays .*tunnel could not be removed' "$out"
expect_eq "$(vl m-gw conns)" "$CONN_M manhattan brooklyn" "... the connection stays in charon"
expect_eq "$(vl m-gw shared)" "$CONN_M" "... and its key"
lab_exec m-gw ip link set lo alias ""
out=$(igw m-gw down manhattan 2>&1) && ok "down again once lo is no tunnel" || { fail "down again"; t_note <<<"$out"; }
expect_eq "$(vl m-gw conns)$(vl m-gw shared)" "" "... removes the connection and the key"
expect_ok "... and the kept keys" test ! -e "$KEYS"
igw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn"

# --- public keys ----------------------------------------------------------------------------
section "public keys: up, established"
(umask 077 && "$GWCTL" genkey >"$T_TMP/keys/m.key" && "$GWCTL" genkey >"$T_TMP/keys/b.key" &&
	"$GWCTL" genkey >"$T_TMP/keys/m2.key")
MPUB=$("$GWCTL" pubkey <"$T_TMP/keys/m.key")
M2PUB=$("$GWCTL" pubkey <"$T_TMP/keys/m2.key")
BPUB=$("$GWCTL" pubkey <"$T_TMP/keys/b.key")
pub_m() { # NAME KEYFILE
	site_m "$1" "public_key = $BPUB" | xargs sed -i "s|^mss_clamp = yes$|&\\nprivate_key = $2|"
	echo "$T_TMP/$1.ini"
}
pub_b() { # NAME PEER_PUB
	site_b "$1" 0 "public_key = $2" | xargs sed -i "s|^mss_clamp = yes$|&\\nprivate_key = $T_TMP/keys/b.key|"
	echo "$T_TMP/$1.ini"
}
MP=$(pub_m m-pub "$T_TMP/keys/m.key")
BP=$(pub_b b-pub "$MPUB")
out=$(igw m-gw up "$MP" 2>&1) && ok "up manhattan (public keys)" || { fail "up manhattan (public keys)"; t_note <<<"$out"; }
out=$(igw b-gw up "$BP" 2>&1) && ok "up brooklyn (public keys)" || { fail "up brooklyn (public keys)"; t_note <<<"$out"; }
wait_established m-gw manhattan 40 && ok "public keys: established" || fail "public keys: established"
expect_eq "$(vl m-gw keys)" "$(keyid_of "$MPUB")" "charon holds Manhattan's private key, only it"

section "charon restarted empty: the next up loads key and connection again"
lab_charon_stop m-gw
lab_charon_start m-gw "$IPSEC_CHARON_CONF"
expect_eq "$(vl m-gw keys)$(vl m-gw conns)" "" "the new charon holds nothing"
out=$(igw m-gw up "$MP" 2>&1) || { fail "up after the restart"; t_note <<<"$out"; }
expect_grep "up loads the connection again" "IKE connection $CONN_M is not loaded in charon" "$out"
expect_eq "$(vl m-gw keys)" "$(keyid_of "$MPUB")" "... and the private key"
if wait_established m-gw manhattan 60; then ok "established again"; else
	fail "established again"; tail -20 "$(charon_log m-gw)" | t_note; fi
expect_ping b-ws "$LAB_M_APP" "restarted: b-ws pings m-app"

section "swanctl --load-all drops what VICI loaded: the next up loads it again"
out=$(sw m-gw --load-all 2>&1) || { fail "swanctl --load-all"; t_note <<<"$out"; }
expect_eq "$(vl m-gw keys)$(vl m-gw conns)" "" "after swanctl --load-all charon holds nothing of ours"
out=$(igw m-gw up "$MP" 2>&1) || { fail "up after swanctl --load-all"; t_note <<<"$out"; }
expect_eq "$(vl m-gw keys)" "$(keyid_of "$MPUB")" "up loaded the private key again"
expect_eq "$(vl m-gw conns)" "$CONN_M manhattan brooklyn" "... and the connection"
if wait_established m-gw manhattan 60; then ok "established again"; else fail "established again"; fi
traffic "after swanctl --load-all"
out=$(igw m-gw up "$MP" 2>&1) || true
expect_grep "a second up: no changes" 'no changes' "$out"

section "a new private key: loaded, the old one unloaded"
MP2=$(pub_m m-pub2 "$T_TMP/keys/m2.key")
BP2=$(pub_b b-pub2 "$M2PUB")
out=$(igw m-gw up "$MP2" 2>&1) && ok "up manhattan with the new key" || { fail "up with the new key"; t_note <<<"$out"; }
expect_eq "$(vl m-gw keys)" "$(keyid_of "$M2PUB")" "charon holds the new key and not the old one"
out=$(igw b-gw up "$BP2" 2>&1) || { fail "up brooklyn with Manhattan's new public key"; t_note <<<"$out"; }
sw m-gw --terminate --ike "$CONN_M" --timeout 5 >/dev/null 2>&1 || true
if wait_established m-gw manhattan 60; then ok "established with the new key"; else fail "established with the new key"; fi
expect_ping b-ws "$LAB_M_APP" "new key: b-ws pings m-app"
expect_ping m-app "$LAB_B_WS" "new key: m-app pings b-ws"

section "a failed up leaves no key"
out=$(igw m-gw down manhattan 2>&1) || { fail "down manhattan"; t_note <<<"$out"; }
expect_eq "$(vl m-gw keys)$(vl m-gw conns)" "" "down removed the key and the connection"
expect_ok "... and the kept keys" test ! -e "$(gw_privdir m-gw)/manhattan.keys"
# a tunnel of the same endpoints made by hand: the kernel refuses ours, after IPsec
lab_exec m-gw ip link add hand0 type ipip local "$LAB_M_GW_PUB" remote "$LAB_B_GW_PUB"
run_rc igw m-gw up "$MP2"
expect_eq "$rc" 1 "up fails at the tunnel"
expect_grep "... and rolls back" 'rolled back' "$out"
expect_eq "$(vl m-gw keys)" "" "no private key left in charon"
expect_eq "$(vl m-gw conns)$(vl m-gw shared)" "" "no connection, no shared key"
lab_exec m-gw ip link del hand0
out=$(igw m-gw up "$MP2" 2>&1) && ok "up once the tunnel is free" || { fail "up once the tunnel is free"; t_note <<<"$out"; }
if wait_established m-gw manhattan 60; then ok "established"; else fail "established"; fi
traffic "the end"
out=$(igw m-gw down manhattan 2>&1) || fail "down manhattan at the end"
expect_eq "$(vl m-gw keys)$(vl m-gw conns)$(vl m-gw shared)" "" "down: charon holds nothing of Manhattan's"

t_done
