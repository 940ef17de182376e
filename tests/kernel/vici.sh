#!/bin/bash
# tests/kernel/vici.sh - gatewayctl's VICI client (netlink/vici*.c) against real charons.
#
# Two scratch network namespaces joined by a veth pair (192.0.2.1 and .2), one
# charon in each, each in a mount namespace of its own with a private /run (so its
# /run/charon.vici is its own), then build/test/test_vici_cmd with their sockets.
# swanctl, ip xfrm and pki are the witnesses. On a kernel without XFRM (this
# machine's) charon still runs and the configuration tests run; the SA tests need
# XFRM and ESP: tests/vm/run -- tests/kernel/all.sh vici
#   V=1: show charon's logs at the end
. "$(dirname "$0")/lib/lib.sh"

bin=build/test/test_vici_cmd
[ -x "$bin" ] || t_skip "$bin is missing: make test-build"
charon=/usr/lib/ipsec/charon
[ -x "$charon" ] && command -v swanctl >/dev/null && command -v pki >/dev/null ||
	t_skip "strongSwan's charon, swanctl and pki are not installed (make deps)"

dir=$(mktemp -d /tmp/gwt-vici.XXXXXX)
ns_a=${LAB_PREFIX}a
ns_b=${LAB_PREFIX}b
pids=''

# shellcheck disable=SC2317 # called by trap
cleanup() {
	local pid
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_b" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo "$T_NAME: interrupted" >&2; exit 130' INT TERM HUP

for ns in "$ns_a" "$ns_b"; do
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns" || t_skip "cannot create a network namespace"
	ip -n "$ns" link set lo up
done
ip -n "$ns_a" link add veth0 type veth peer name veth0 netns "$ns_b"
ip -n "$ns_a" addr add 192.0.2.1/24 dev veth0
ip -n "$ns_b" addr add 192.0.2.2/24 dev veth0
ip -n "$ns_a" link set veth0 up
ip -n "$ns_b" link set veth0 up

# XFRM and ESP: modules on Debian's kernels (loaded on demand too, but the
# netlink family must exist before charon starts)
modprobe -q xfrm_user 2>/dev/null
modprobe -q esp4 2>/dev/null
# can the kernel hold an ESP SA? (this machine's kernel has XFRM netlink but no ESP)
xfrm=0
if ip -n "$ns_a" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode transport \
	aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223 128 \
	2>/dev/null; then
	xfrm=1
	ip -n "$ns_a" xfrm state flush
fi

start_charon() { # SIDE NS
	local d=$dir/$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
		charon {
			load_modular = yes
			plugins {
				include /etc/strongswan.d/charon/*.conf
			}
			filelog {
				log {
					path = /run/charon.log
					time_format = %T
					default = 1
					ike = 2
					knl = 2
					cfg = 2
					flush_line = yes
				}
			}
			syslog {
				daemon {
					default = -1
				}
			}
		}
		include /etc/strongswan.d/*.conf
	EOF
	# shellcheck disable=SC2016 # expanded by the inner sh
	ip netns exec "$2" unshare -m --propagation private sh -c \
		'mount --bind "$1" /run && exec env STRONGSWAN_CONF="$1/strongswan.conf" "$2" --use-syslog' \
		sh "$d" "$charon" >"$d/stderr" 2>&1 &
	pids="$pids $!"
	# the socket appears before charon accepts on it
	if ! wait_for 20 swanctl --stats --uri "unix://$d/charon.vici"; then
		fail "charon $1 did not start"
		t_note <"$d/stderr"
		t_done
	fi
}
start_charon a "$ns_a"
start_charon b "$ns_b"
ok "two charons in scratch namespaces (ESP SAs: $([ $xfrm = 1 ] && echo yes || echo 'no, SA tests skipped'))"

export TEST_VICI_A=$dir/a/charon.vici TEST_VICI_B=$dir/b/charon.vici
export TEST_VICI_A_NS=$ns_a TEST_VICI_B_NS=$ns_b
export TEST_VICI_A_ADDR=192.0.2.1 TEST_VICI_B_ADDR=192.0.2.2
export TEST_VICI_XFRM=$xfrm TEST_VICI_DIR=$dir
"$bin" >"$dir/out" 2>&1
rc=$?

# cmocka's lines become ok/fail lines (its own summary is not repeated)
name='' details=''
while IFS= read -r line; do
	case $line in
	'[ RUN      ] '*) name=${line#*] } details='' ;;
	'[       OK ] '*) [ -n "$name" ] && ok "vici: $name"; name='' ;;
	'[  SKIPPED ] '*) [ -n "$name" ] && echo "skip - vici: $name"; name='' ;;
	'[  FAILED  ] '*)
		if [ -n "$name" ]; then
			fail "vici: $name"
			printf '%s\n' "$details" | t_note
		fi
		name=''
		;;
	measured:*) echo "# $line" ;;
	*) [ -n "$name" ] && details="$details$line"$'\n' ;;
	esac
done <"$dir/out"
if [ $rc != 0 ]; then
	[ "$T_FAIL" = 0 ] && fail "test_vici_cmd exited with $rc"
	echo "# its output:"
	t_note <"$dir/out"
fi
# nothing of ours may outlive the tests in either charon
for side in a b; do
	left=$(swanctl --list-conns --uri "unix://$dir/$side/charon.vici" 2>/dev/null | grep -c gatewayctl)
	expect_eq "$left" 0 "charon $side: no gatewayctl connection left"
done
if [ "$T_FAIL" != 0 ] || [ "${V:-0}" = 1 ]; then
	for side in a b; do
		echo "# charon $side log (last lines):"
		tail -n 60 "$dir/$side/charon.log" | t_note
	done
fi
t_done
