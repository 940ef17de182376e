#!/bin/bash
# tests/kernel/audit.sh - the audit log: every change `up` and `down` make is one
# syslog line (ident gatewayctl, facility authpriv) naming the site, who (uid,
# SUDO_USER) and the equivalent command, exactly the step text `plan` prints; a
# failed, rolled-back `up` logs the failure and no change; control characters in
# a file name cannot split or forge a line.
#
# syslog(3) writes to /dev/log. The test runs in a private mount namespace with a
# tmpfs over /dev (the real entries linked into it) whose /dev/log is a listener
# of its own: nothing reaches the machine's log, nothing of /dev changes outside.
#
#   tests/vm/run -- tests/kernel/audit.sh
set -eu
if [ -z "${AUDIT_PRIVATE_NS:-}" ] && [ "$(id -u)" = 0 ]; then
	AUDIT_PRIVATE_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
command -v strace >/dev/null || t_skip "strace is missing (make deps)"
lab_setup
# the real /dev stays reachable under OLDDEV while a tmpfs covers /dev; it is
# unmounted before anything is removed, and OLDDEV only ever rmdir'd
OLDDEV=$(mktemp -d /tmp/gwt-audit-dev.XXXXXX)
audit_cleanup() {
	umount -l /dev 2>/dev/null || true
	umount -R -l "$OLDDEV" 2>/dev/null || true
	rmdir "$OLDDEV" 2>/dev/null || true
}
trap 'audit_cleanup; t_cleanup; gw_cleanup' EXIT

# --- a /dev/log of the test's own
LOG=$T_TMP/syslog.txt
: >"$LOG"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
out = open(sys.argv[2], "ab", buffering=0)
while True:
    d = s.recv(65536)
    # one datagram, one line: a line break inside one would show as \n
    out.write(d.rstrip(b"\n").replace(b"\n", b"\\n") + b"\n")
' "$T_TMP/log.sock" "$LOG" &
T_PIDS="$T_PIDS $!"
wait_for 5 test -S "$T_TMP/log.sock" || fail "the log listener started"
mount --rbind /dev "$OLDDEV"
mount -t tmpfs -o mode=755 tmpfs /dev
for e in "$OLDDEV"/* "$OLDDEV"/.[!.]*; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	ln -s "$e" "/dev/${e##*/}"
done
ln -s "$T_TMP/log.sock" /dev/log
logger -t gatewayctl-audit-test "listener check" 2>/dev/null || true
wait_for 5 grep -q "listener check" "$LOG" || fail "logger reaches the test's /dev/log"

# lines of gatewayctl's own (not the relay's, not logger's) since mark N
log_since() { # N
	tail -n +"$(($1 + 1))" "$LOG" | grep -E '^<[0-9]+>.* gatewayctl\[[0-9]+\]: ' | sed -E 's/^<([0-9]+)>.* gatewayctl\[[0-9]+\]: /<\1> /' || true
}
mark() { wc -l <"$LOG"; }

# the steps of a plan, one line each (the "# why" comments start a step; a step's
# lines joined with "; ", as the audit log writes them)
plan_steps() {
	awk '/^# / { if (s != "") print s; s = ""; next } { s = (s == "" ? $0 : s "; " $0) } END { if (s != "") print s }'
}

M=$PWD/sites/manhattan.ini
before=$(snap m-gw)

# --- up: one line per step, the plan's text, who
steps=$(gw m-gw plan "$M" | plan_steps)
n_steps=$(printf '%s\n' "$steps" | grep -c .)
m=$(mark)
out=$(SUDO_USER=alice gw m-gw up "$M" 2>&1) || fail "up manhattan: $out"
sleep 0.2
got=$(log_since "$m")
expect_eq "$(printf '%s\n' "$got" | grep -c '^<85> up site=manhattan ')" "$n_steps" \
	"up: one authpriv.notice line per step ($n_steps)"
missing=0
while IFS= read -r s; do
	if ! grep -qxF "<85> up site=manhattan uid=0 user=root sudo_user=alice: $s" <<<"$got"; then
		missing=$((missing + 1))
		echo "not logged: $s" | t_note
	fi
done <<<"$steps"
expect_eq "$missing" 0 "up: each line is 'up site=manhattan uid=0 user=root sudo_user=alice: ' + the step as plan prints it"
expect_grep "up: the nftables step is one line" '^<85> up site=manhattan .*: nft .add table ip gatewayctl-manhattan.; nft .delete table' "$got"

m=$(mark)
gw m-gw up "$M" >/dev/null 2>&1 || fail "up again"
sleep 0.2
expect_eq "$(log_since "$m")" "" "up with nothing to change logs nothing"

# --- down: each change, with the command
m=$(mark)
down_out=$(gw m-gw down manhattan 2>&1) || fail "down manhattan"
sleep 0.2
got=$(log_since "$m")
n_down=$(printf '%s\n' "$down_out" | grep -vc '^site ')
expect_eq "$(printf '%s\n' "$got" | grep -c '^<85> down site=manhattan uid=0 user=root: ')" "$n_down" \
	"down: one line per change it printed ($n_down)"
expect_grep "down: the tunnel's deletion" '^<85> down site=manhattan uid=0 user=root: ip link delete gw-brooklyn$' "$got"
expect_grep "down: the table's deletion" '^<85> down site=manhattan uid=0 user=root: nft delete table ip gatewayctl-manhattan$' "$got"
expect_grep "down: the relay stopped" '^<85> down site=manhattan uid=0 user=root: kill [0-9]+ +# the relay of site manhattan$' "$got"
expect_grep "down: forwarding restored" '^<85> down site=manhattan uid=0 user=root: sysctl -w net.ipv4.ip_forward=0$' "$got"
expect_same "down left the kernel as before" "$before" "$(snap m-gw)"

m=$(mark)
gw m-gw down manhattan >/dev/null 2>&1 || fail "down again"
sleep 0.2
expect_eq "$(log_since "$m")" "" "down with nothing to remove logs nothing"

# --- a failed up is rolled back: the failure is logged, no change
n=1 found=0
while [ $n -le 60 ]; do
	m=$(mark)
	rc=0
	out=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS=detect_leaks=0:exitcode=99 \
		strace -qq -o /dev/null -e trace=recvmsg -e inject=recvmsg:error=ENOBUFS:when=$n "$GWCTL" up "$M" 2>&1) || rc=$?
	# a receive the tool retries (ENOBUFS on a dump is a lost
	# notification, not an error) lets up succeed: take it down and go on
	if [ $rc = 0 ]; then
		gw m-gw down manhattan >/dev/null 2>&1 || fail "down after a successful up (n=$n)"
		n=$((n + 1))
		continue
	fi
	if grep -q "rolled back" <<<"$out"; then
		found=1
		break
	fi
	n=$((n + 1))
done
sleep 0.2
got=$(log_since "$m")
if [ $found = 1 ] && [ "$(snap m-gw)" = "$before" ]; then
	ok "up failing at receive #$n is rolled back"
	expect_grep "the failure is logged as a warning (authpriv.warning)" \
		'^<84> up site=manhattan uid=0 user=root: FAILED: .*rolled back, nothing changed$' "$got"
	expect_eq "$(printf '%s\n' "$got" | grep -c '^<85>')" 0 "a rolled-back up logs no change"
else
	fail "an injected failure of up that rolls back (n=$n, exit $rc)"
	printf '%s\n' "$out" | t_note
fi
gw m-gw down manhattan >/dev/null 2>&1 || true

# --- a failed read of the xfrm policies fails up, changing nothing: unseen, a
# stale block policy of a former ipsec peer would silently block its tunnel.
# The receive to fail: the first after the NETLINK_XFRM socket's opening.
trace=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" strace -qq -o /dev/stdout \
	-e trace=socket,recvmsg "$GWCTL" up "$M" 2>/dev/null) || true
gw m-gw down manhattan >/dev/null 2>&1 || true
k=$(awk '/^recvmsg\(/ { n++ } /NETLINK_XFRM/ { print n + 1; exit }' <<<"$trace")
if [ -z "$k" ]; then
	fail "up reads the xfrm policies (no NETLINK_XFRM socket in its trace)"
else
	rc=0
	out=$(lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS=detect_leaks=0:exitcode=99 \
		strace -qq -o /dev/null -e trace=recvmsg -e inject=recvmsg:error=ENOBUFS:when=$k "$GWCTL" up "$M" 2>&1) || rc=$?
	expect_eq "$rc" 1 "up fails when the xfrm policies cannot be read (receive #$k)"
	expect_grep "... and says so" 'reading the xfrm policies: .*try again' "$out"
	expect_same "... changing nothing" "$before" "$(snap m-gw)"
fi
gw m-gw down manhattan >/dev/null 2>&1 || true

# --- control characters in the file name (a terminal escape, a tab): escaped
odd=$T_TMP/$'odd\e[31mname\t'.ini
cp "$M" "$odd"
m=$(mark)
gw m-gw up "$odd" >/dev/null 2>&1 || fail "up from a file whose name holds an escape and a tab"
sleep 0.2
got=$(log_since "$m")
expect_grep "the relay step names the file with \\x1b and \\x09 (one shell word)" "gatewayctl relay -f \\\$'.*/odd\\\\x1b\\[31mname\\\\x09\\.ini' --daemon" "$got"
if grep -q '\\n' <<<"$(tail -n +"$((m + 1))" "$LOG")"; then
	fail "no datagram holds a line break"
else
	ok "no datagram holds a line break"
fi
gw m-gw down manhattan >/dev/null 2>&1 || fail "down after the odd file"
t_done
