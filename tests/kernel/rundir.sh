#!/bin/bash
# tests/kernel/rundir.sh - the run directory (issue 10, items 10 and 11):
#  - two gateways in two network namespaces sharing the DEFAULT run directory
#    (/run/gatewayctl, no GATEWAYCTL_RUNDIR) each see only their own site:
#    `status` without arguments is healthy, `down` restores forwarding;
#  - a run directory others may write, or a symbolic link planted in it, never
#    makes root write through it.
# The default directory is a tmpfs mounted in a private mount namespace of this
# script, so the machine's own /run/gatewayctl is never touched.
#
#   tests/vm/run -- tests/kernel/all.sh rundir
set -eu
if [ -z "${RUNDIR_TEST_PRIVATE:-}" ]; then
	export RUNDIR_TEST_PRIVATE=1
	exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
made_dir=0
if [ ! -d /run/gatewayctl ]; then mkdir /run/gatewayctl; made_dir=1; fi
mount -t tmpfs -o mode=0755 gatewayctl-test /run/gatewayctl
lab_setup
cleanup() {
	t_cleanup
	gw_cleanup
	umount /run/gatewayctl 2>/dev/null || true
	if [ $made_dir = 1 ]; then rmdir /run/gatewayctl 2>/dev/null || true; fi
}
trap cleanup EXIT

M=sites/manhattan.ini
B=sites/brooklyn.ini
# gatewayctl with the default run directory
dgw() { # NS ARGS...
	local ns=$1
	shift
	lab_exec "$ns" env -u GATEWAYCTL_RUNDIR "$GWCTL" "$@"
}

before_m=$(snap m-gw)
out=$(dgw m-gw up "$M" 2>&1) && ok "up manhattan (default run directory)" || { fail "up manhattan"; printf '%s\n' "$out" | t_note; }
out=$(dgw b-gw up "$B" 2>&1) && ok "up brooklyn (same directory, other namespace)" || { fail "up brooklyn"; printf '%s\n' "$out" | t_note; }
expect_ping b-ws 192.168.1.5 "the offices talk"

cm=$(netns_cookie m-gw) cb=$(netns_cookie b-gw)
expect_eq "$(ls /run/gatewayctl/ns-"$cm"/ 2>&1 | grep -c '\.state$')" 1 "manhattan's state is in the directory of m-gw's namespace"
expect_grep "... which holds manhattan only" '^manhattan.state$' "$(ls /run/gatewayctl/ns-"$cm"/)"
expect_grep "brooklyn's state is in the directory of b-gw's namespace" '^brooklyn.state$' "$(ls /run/gatewayctl/ns-"$cb"/)"

out=$(dgw m-gw status 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 0 "status without arguments in m-gw is healthy"
expect_grep "... and reports manhattan" 'manhattan' "$out"
if grep -q brooklyn <<<"$(grep -v 'peer\|gw-brooklyn\|192.168.2' <<<"$out")"; then
	fail "... and not the other namespace's site"
	printf '%s\n' "$out" | t_note
else
	ok "... and not the other namespace's site"
fi
out=$(dgw m-gw status --json 2>&1) || true
expect_eq "$(python3 -c 'import json,sys; print(",".join(s["site"] for s in json.load(sys.stdin)["sites"]))' <<<"$out" 2>&1)" \
	manhattan "status --json lists exactly the sites of the namespace"

out=$(dgw m-gw down manhattan 2>&1) && ok "down manhattan" || { fail "down manhattan"; printf '%s\n' "$out" | t_note; }
expect_eq "$(lab_exec m-gw sysctl -n net.ipv4.ip_forward)" 0 "down restores forwarding although another namespace's site runs"
expect_same "m-gw is exactly as before" "$before_m" "$(snap m-gw)"
expect_eq "$(lab_exec b-gw sysctl -n net.ipv4.ip_forward)" 1 "b-gw's forwarding is untouched"
out=$(dgw b-gw status brooklyn 2>&1) && ok "brooklyn is still healthy" || { fail "brooklyn is still healthy"; printf '%s\n' "$out" | t_note; }
dgw b-gw down brooklyn >/dev/null 2>&1 || fail "down brooklyn"

# --- an unsafe run directory is refused, and changes nothing
before_m=$(snap m-gw)
mkdir -m 0777 "$T_TMP/open"
chmod 0777 "$T_TMP/open"
out=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$T_TMP/open" "$GWCTL" up "$M" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 1 "up refuses a run directory others may write"
expect_grep "... and says why" "$T_TMP/open may be written by others than root" "$out"
expect_same "... having changed nothing" "$before_m" "$(snap m-gw)"

# --- a symbolic link planted in the run directory is not followed
run=$(gw_rundir m-gw)
mkdir -p "$(gw_statedir m-gw)"
echo precious >"$T_TMP/victim"
ln -s "$T_TMP/victim" "$(gw_statedir m-gw)/manhattan.state.tmp"
ln -s "$T_TMP/victim" "$(gw_statedir m-gw)/manhattan.state"
ln -s "$T_TMP/victim" "$run/manhattan.state.tmp" # where gatewayctl 0.1 wrote it
out=$(gw m-gw up "$M" 2>&1) || true
expect_eq "$(cat "$T_TMP/victim")" precious "a link planted as the state file is not written through"
gw m-gw down manhattan >/dev/null 2>&1 || true
expect_eq "$(cat "$T_TMP/victim")" precious "... by down either"
[ -n "$run" ]

t_done
