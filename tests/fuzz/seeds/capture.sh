#!/bin/bash
# tests/fuzz/seeds/capture.sh - the netlink fuzzers' seeds, recorded from real
# kernel answers by tests/fuzz/capture.c (see there for what each file holds).
#
#   tests/fuzz/seeds/capture.sh nft     gatewayctl's table, made by the product's
#                                       own code in a scratch network namespace of
#                                       this machine -> tests/fuzz/seeds/nft/
#   tests/fuzz/seeds/capture.sh rtnl    the Manhattan gateway of the two-office lab
#                                       after `gatewayctl up` (ipip links: in the VM
#                                       when this kernel has no ipip) -> tests/fuzz/seeds/rtnl/
#   tests/fuzz/seeds/capture.sh rtnl6   IPv6 addresses and routes (a LAN address, a
#                                       route with src through an ip6tnl and a sit
#                                       where the kernel has them) in a scratch
#                                       namespace of this machine -> addrs6, routes6,
#                                       links6 in tests/fuzz/seeds/rtnl/
# Root only. The files are small and committed; run this again only when the
# parsers learn new messages.
set -eu
cd "$(dirname "$0")/../../.."
out=build/fuzz/capture
mkdir -p "$out"

build() {
	cc -std=gnu11 -O1 -g -Wall -Wextra -Werror -Isrc -Inetlink -o "$out/capture" \
		tests/fuzz/capture.c netlink/*.c -lmnl -lnftnl
}

case ${1:-} in
nft)
	build
	rm -rf tests/fuzz/seeds/nft
	mkdir -p tests/fuzz/seeds/nft
	unshare -n "$out/capture" nft tests/fuzz/seeds/nft
	ls -l tests/fuzz/seeds/nft
	;;
rtnl)
	build
	[ -x gatewayctl ] || make gatewayctl
	rm -rf tests/fuzz/seeds/rtnl
	mkdir -p tests/fuzz/seeds/rtnl
	# the guest's writes vanish: the files come back as a tar on stdout
	tests/vm/run -- tests/fuzz/seeds/capture.sh rtnl-in-lab | base64 -d | tar -x -C tests/fuzz/seeds/rtnl
	ls -l tests/fuzz/seeds/rtnl
	;;
rtnl6)
	build
	tmp=$(mktemp -d)
	unshare -n sh -ec '
		ip link set lo up
		ip link add v0 type veth peer name v1
		ip link set v0 up && ip link set v1 up
		ip -6 addr add 2001:db8:1::126/64 dev v0 nodad
		ip -6 addr add 2001:db8:ff::1/64 dev v1 nodad
		dev=v0
		if ip link add gw6 type ip6tnl mode any local 2001:db8:ff::1 remote 2001:db8:ff::2 encaplimit none 2>/dev/null; then
			ip link set gw6 up && dev=gw6
		fi
		ip link add gw4 type sit mode any local 192.0.2.1 remote 192.0.2.2 2>/dev/null || true
		ip -6 route add 2001:db8:2::/64 dev $dev src 2001:db8:1::126 proto 203
		"$1" rtnl6 "$2"' sh "$out/capture" "$tmp"
	cp "$tmp/addrs6" "$tmp/routes6" "$tmp/links6" tests/fuzz/seeds/rtnl/
	rm -rf "$tmp"
	ls -l tests/fuzz/seeds/rtnl
	;;
rtnl-in-lab)
	T_NAME=capture
	LAB_PREFIX=gwt-capture-
	# shellcheck source=tests/lab/lab.sh
	. tests/lab/lab.sh
	lab_up >/dev/null 2>&1
	trap 'lab_down >/dev/null 2>&1; rm -rf "$tmp"' EXIT
	tmp=$(mktemp -d)
	for gw in m-gw b-gw; do
		site=sites/manhattan.ini
		[ $gw = b-gw ] && site=sites/brooklyn.ini
		mkdir -p "$tmp/run-$gw"
		lab_exec $gw env GATEWAYCTL_RUNDIR="$tmp/run-$gw" ./gatewayctl up $site >/dev/null 2>&1
	done
	mkdir "$tmp/seeds"
	lab_exec m-gw "$out/capture" rtnl "$tmp/seeds" >&2
	tar -c -C "$tmp/seeds" . | base64
	;;
*)
	sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0"
	exit 2
	;;
esac
