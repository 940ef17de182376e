#!/bin/bash
# tests/kernel/all.sh - every kernel test script, one after the other (in one VM
# boot when run through tests/vm/run). Each prints its own "N passed, N failed";
# a skipped script prints "NAME: 0 passed, 0 failed, 1 skipped".
#   tests/vm/run -- tests/kernel/all.sh [NAME...]
set -u
cd "$(dirname "$0")/../.."
scripts=("$@")
if [ ${#scripts[@]} = 0 ]; then
	for f in tests/kernel/*.sh; do
		case ${f##*/} in lib.sh | lib-*.sh | gw.sh | all.sh | noipip.sh) continue ;; esac
		# GATEWAYCTL_KERNEL_SKIP="NAME...": scripts run elsewhere (tests/run-all runs
		# the long fleet test in a second VM, in parallel)
		case " ${GATEWAYCTL_KERNEL_SKIP:-} " in *" $(basename "$f" .sh) "*) continue ;; esac
		scripts+=("$f")
	done
fi
status=0
for f in "${scripts[@]}"; do
	[ -f "$f" ] || f=tests/kernel/$f.sh
	name=$(basename "$f" .sh)
	echo "=== $name"
	start=$(date +%s)
	bash "$f"
	rc=$?
	echo "=== $name: exit $rc, $(($(date +%s) - start)) s"
	if [ $rc = 77 ]; then
		echo "$name: 0 passed, 0 failed, 1 skipped"
	elif [ $rc != 0 ]; then
		status=1
	fi
done
exit $status
