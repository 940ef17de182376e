#!/bin/bash
# tests/kernel/dumpintr.sh - plan and status read the kernel right while its
# lists change under them. With the two offices up, a loop in the Manhattan
# gateway keeps adding and deleting links that are none of gatewayctl's (with
# an address and a route each) and rules of an unrelated nftables table; many
# links already there make every link dump take several datagrams. Meanwhile
# `plan` must say "no changes" and `status` "healthy" every time.
#
# Each run goes through strace, which decodes the answers: a dump the kernel
# flagged as interrupted (NLM_F_DUMP_INTR) must have been made again (one
# more RTM_GETLINK/GETADDR/GETROUTE request), and a run whose nftables reads
# saw the generation move asks it more than twice per read. The test fails if
# the load never interrupted a dump: it would prove nothing.
#
#   tests/vm/run -- tests/kernel/all.sh dumpintr
#   TEST_RUNS=N (20 plan and 20 status runs), TEST_PADS=N (40 veth pairs)
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
command -v strace >/dev/null || t_skip "no strace"
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

M=$PWD/sites/manhattan.ini
B=$PWD/sites/brooklyn.ini
RUNS=${TEST_RUNS:-20}
PADS=${TEST_PADS:-40}

gw m-gw up "$M" >/dev/null 2>&1 || fail "up manhattan"
gw b-gw up "$B" >/dev/null 2>&1 || fail "up brooklyn"
out=$(gw m-gw plan "$M" 2>&1) || true
expect_grep "plan after up, before the load: no changes" '^# no changes' "$out"

# --- links, addresses and routes that are none of gatewayctl's
{
	for i in $(seq 1 "$PADS"); do
		echo "link add pad$i type veth peer name pad${i}p"
		echo "link set pad$i up"
		echo "link set pad${i}p up"
		echo "addr add 10.99.$i.1/24 dev pad$i"
	done
} >"$T_TMP/pads.ip"
lab_exec m-gw ip -batch "$T_TMP/pads.ip"
lab_exec m-gw nft -f - <<-'EOF'
	table ip noise {
		chain c {
			counter
		}
	}
EOF
# a burst of churn: a link comes with an address and a route, and goes (5
# times), a rule comes and goes; then a pause (changes come in bursts)
for i in $(seq 1 5); do
	cat <<-'EOF'
		link add churn0 type veth peer name churn1
		link set churn0 up
		link set churn1 up
		addr add 10.98.0.1/24 dev churn0
		route add 10.97.0.0/16 dev churn0
		link del churn0
	EOF
done >"$T_TMP/churn.ip"
printf 'add rule ip noise c counter\nflush chain ip noise c\n' >"$T_TMP/churn.nft"
cat >"$T_TMP/churn.sh" <<-EOF
	while [ ! -e "$T_TMP/stop" ]; do
		ip -force -batch "$T_TMP/churn.ip" >/dev/null 2>&1
		nft -f "$T_TMP/churn.nft" >/dev/null 2>&1
		sleep 0.05
	done
EOF
# run N CMD...: gatewayctl CMD in m-gw under strace (trace in $T_TMP/st.N)
run() {
	local n=$1
	shift
	# (LeakSanitizer cannot work under ptrace)
	lab_exec m-gw env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -f -qq -e trace=sendto,recvmsg -s 4 -o "$T_TMP/st.$n" "$GWCTL" "$@" 2>&1
}

# what one trace says: "<interrupted rtnetlink dumps> <rtnetlink dump requests>
# <nftables reads>" (a read: one GETTABLE dump)
count() { # FILE
	python3 - "$1" <<-'PY'
		import re, sys
		req, intr = {}, set()
		for line in open(sys.argv[1], errors="replace"):
		    m = re.search(r"(sendto|recvmsg)\((\d+), .*?nlmsg_type=([A-Za-z_<0-9|]+), nlmsg_flags=([A-Z_|]+), nlmsg_seq=(\d+)", line)
		    if not m:
		        continue
		    call, fd, typ, flags, seq = m.groups()
		    key = (fd, int(seq))
		    if call == "sendto" and "NLM_F_DUMP" in flags:
		        req[key] = typ
		    elif call == "recvmsg" and "NLM_F_DUMP_INTR" in flags:
		        intr.add(key)
		rt = {k: t for k, t in req.items() if t.startswith("RTM_GET")}
		n_intr = len([k for k in intr if k in rt])
		reads = len([t for t in req.values() if t.endswith("NFT_MSG_GETTABLE")])
		print(n_intr, len(rt), reads)
	PY
}

# the same without any load: how many dumps plan and status make
declare -A base_reqs base_reads
for cmd in plan status; do
	run "$cmd.base" "$cmd" "$M" >/dev/null || true
	read -r intr reqs reads < <(count "$T_TMP/st.$cmd.base")
	base_reqs[$cmd]=$reqs
	base_reads[$cmd]=$reads
	t_log "$cmd without load: $reqs rtnetlink dumps ($intr interrupted), $reads nftables reads"
done

t_bg m-gw bash "$T_TMP/churn.sh"
churn=$!

bad_plan=0 bad_status=0 intr_total=0 retried=0 unretried=0 gen_retries=0
for i in $(seq 1 "$RUNS"); do
	for cmd in plan status; do
		rc=0
		out=$(run "$cmd.$i" "$cmd" "$M") || rc=$?
		if [ "$cmd" = plan ] && ! grep -q '^# no changes' <<<"$out"; then
			bad_plan=$((bad_plan + 1))
			[ $bad_plan -le 2 ] && { echo "plan run $i:"; printf '%s\n' "$out" | head -20; } | t_note
		fi
		if [ "$cmd" = status ] && { [ $rc != 0 ] || ! grep -q '^site manhattan: healthy' <<<"$out"; }; then
			bad_status=$((bad_status + 1))
			[ $bad_status -le 2 ] && { echo "status run $i (exit $rc):"; printf '%s\n' "$out" | head -20; } | t_note
		fi
		read -r intr reqs reads < <(count "$T_TMP/st.$cmd.$i")
		intr_total=$((intr_total + intr))
		# each interrupted dump made once more, nothing else
		if [ "$reqs" != $((base_reqs[$cmd] + intr)) ]; then
			unretried=$((unretried + 1))
			[ $unretried -le 2 ] && echo "$cmd run $i: $intr interrupted dumps, $reqs dump requests (${base_reqs[$cmd]} without load)" | t_note
		elif [ "$intr" -gt 0 ]; then
			retried=$((retried + 1))
		fi
		[ "$reads" -gt "${base_reads[$cmd]}" ] && gen_retries=$((gen_retries + 1))
		rm -f "$T_TMP/st.$cmd.$i"
	done
done
touch "$T_TMP/stop"
wait "$churn" || true

expect_eq "$bad_plan" 0 "plan said \"no changes\" in all $RUNS runs under the load"
expect_eq "$bad_status" 0 "status said \"healthy\" in all $RUNS runs under the load"
echo "# $intr_total interrupted dumps in $((2 * RUNS)) runs; $retried runs repeated theirs; $gen_retries runs read nftables again (generation moved)"
if [ "$intr_total" -gt 0 ]; then ok "the load interrupted dumps ($intr_total)"; else fail "the load interrupted dumps (none seen: the test proves nothing)"; fi
expect_eq "$unretried" 0 "every interrupted dump was made again, and nothing else"

# --- the load gone, nothing left behind by the retries
out=$(gw m-gw plan "$M" 2>&1) || true
expect_grep "plan after the load: no changes" '^# no changes' "$out"
gw m-gw down "$M" >/dev/null 2>&1 || fail "down manhattan"
gw b-gw down "$B" >/dev/null 2>&1 || fail "down brooklyn"
t_done
