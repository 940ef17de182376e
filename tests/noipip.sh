#!/bin/bash
# tests/noipip.sh - on a kernel that cannot create ipip links (this
# machine's: run it directly, not in the VM), up refuses with the kernel's
# message and the hint to load the module, and changes nothing.
#
#   tests/noipip.sh
set -eu
. "$(dirname "$0")/kernel/lib/lib.sh"
. "$(dirname "$0")/kernel/lib/gw.sh"
probe=gwt-noipip-probe-$$
ip netns add "$probe" || t_skip "cannot create a network namespace"
if ip -n "$probe" link add gwtprobe type ipip local 192.0.2.1 remote 192.0.2.2 2>/dev/null; then
	ip netns del "$probe"
	t_skip "this kernel has ipip: nothing to test here"
fi
ip netns del "$probe"
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

before=$(snap m-gw)
rc=0
out=$(gw m-gw up sites/manhattan.ini 2>&1) || rc=$?
expect_eq "$rc" 1 "up on a kernel without ipip exits 1"
expect_grep "... names the failed step" 'failed: ip link add name gw-brooklyn' "$out"
expect_grep "... quotes the kernel's extended-ack message" 'kernel: Unknown device type' "$out"
expect_grep "... with the hint to load the module" 'hint: .*modprobe ipip' "$out"
expect_grep "... and says it rolled back" 'rolled back; the kernel is as it was before' "$out"
expect_same "... and the kernel is as before (forwarding included)" "$before" "$(snap m-gw)"
expect_eq "$(find "$(gw_rundir m-gw)" -name '*.state' | wc -l)" 0 "... and no state file is left"
t_done
