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
