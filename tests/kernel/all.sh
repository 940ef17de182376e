#!/bin/bash
# tests/kernel/all.sh - the kernel tests, one after the other (in one VM boot when
# run through tests/vm/run). Every tests/kernel/*.sh is a test (helpers live in
# tests/kernel/lib/); each prints its own "N passed, N failed"; a skipped script
# prints "NAME: 0 passed, 0 failed, 1 skipped".
#
#   tests/vm/run -- tests/kernel/all.sh [NAME...]     the named tests, or all of them
#   GATEWAYCTL_KERNEL_ONLY="NAME..."    only these (when no NAME is given)
#   GATEWAYCTL_KERNEL_SKIP="NAME..."    all but these (e.g. tests run elsewhere)
#   tests/kernel/all.sh --list          the names it would run, one a line
#   tests/kernel/all.sh --queue DIR     take tests from DIR/todo (files NNNN-NAME,
#                                       in name order) until none is left, each
#                                       claimed by renaming it into DIR/taken: two
#                                       VMs sharing DIR (tests/vm/run's
#                                       GATEWAYCTL_VM_SHARE) split one list
set -u
cd "$(dirname "$0")/../.."

# in_words WORD "LIST": is WORD one of LIST's words?
in_words() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

list=0 queue=''
if [ "${1:-}" = --list ]; then list=1; shift; fi
if [ "${1:-}" = --queue ]; then queue=${2:?--queue DIR}; shift 2; fi
names=("$@")
if [ ${#names[@]} = 0 ]; then
	for f in tests/kernel/*.sh; do
		n=$(basename "$f" .sh)
		[ "$n" = all ] && continue
		if [ -n "${GATEWAYCTL_KERNEL_ONLY:-}" ] && ! in_words "$n" "$GATEWAYCTL_KERNEL_ONLY"; then continue; fi
		in_words "$n" "${GATEWAYCTL_KERNEL_SKIP:-}" && continue
		names+=("$n")
	done
fi
if [ $list = 1 ]; then
	[ ${#names[@]} = 0 ] || printf '%s\n' "${names[@]}"
	exit 0
fi

# the machine's idle time (all CPUs) in 1/100 s
_idle() { awk '$1 == "cpu" { print $5 + $6; exit }' /proc/stat; }

# run_one NAME: run tests/kernel/NAME.sh with its banner; status 1 on failure
run_one() {
	local f=$1 name start rc idle0
	[ -f "$f" ] || f=tests/kernel/$f.sh
	name=$(basename "$f" .sh)
	echo "=== $name"
	start=$(date +%s)
	idle0=$(_idle)
	if [ -f "$f" ]; then
		bash "$f"
		rc=$?
	else
		echo "FAIL - no kernel test $f"
		rc=2
	fi
	# how long the CPU had nothing to do (waits, sleeps): time a faster CPU would not save
	echo "# $name: $(($(date +%s) - start)) s, idle $((($(_idle) - idle0) / 100)) s"
	echo "=== $name: exit $rc, $(($(date +%s) - start)) s"
	if [ $rc = 77 ]; then
		echo "$name: 0 passed, 0 failed, 1 skipped"
		return 0
	fi
	[ $rc = 0 ]
}

status=0
if [ -n "$queue" ]; then
	# in the VM, a queue not shared with the host (9p) would sit in the VM's own
	# overlay: every lane would run every test
	if [ "$(findmnt -no FSTYPE --target "$queue" 2>/dev/null)" = overlay ]; then
		echo "all.sh: the queue $queue is not shared with the host (GATEWAYCTL_VM_SHARE)" >&2
		exit 2
	fi
	while :; do
		next=''
		for f in "$queue"/todo/*; do
			[ -e "$f" ] || break
			if mv "$f" "$queue/taken/" 2>/dev/null; then
				next=${f##*/}
				next=${next#*-}
				break
			fi
		done
		[ -n "$next" ] || break
		run_one "$next" || status=1
	done
	exit $status
fi
for n in "${names[@]}"; do
	run_one "$n" || status=1
done
exit $status
