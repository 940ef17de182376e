#!/bin/bash
# Every bad site file in tests/corpus/ must make `gatewayctl check` exit 2 and
# print the FILE:LINE: error: ... line of its .expect file, with no sanitizer
# report. A few cases that git cannot store (NUL bytes, modes, directories,
# an empty file) are made here in a scratch directory.
# Usage: tests/corpus.sh [GATEWAYCTL]   (default: build/test/gatewayctl)
set -u
cd "$(dirname "$0")/.."
bin=${1:-build/test/gatewayctl}
pass=0 fail=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=99

# The output must hold a line that starts "FILE:LINE: error: " and contains TEXT.
expect_error() { # FILE "LINE: error: TEXT"
	local f=$1 line=${2%%: error: *} text=${2#*: error: } out rc
	out=$("$bin" check "$f" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -F -- "$f${line:+:$line}: error: " <<<"$out" | grep -qF -- "$text" &&
		! grep -q 'Sanitizer\|runtime error' <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL corpus %s: exit %d, wanted 2 and "%s:%s: error: ...%s..."; got:\n%s\n' \
			"$f" "$rc" "$f" "$line" "$text" "$out"
	fi
}

for f in tests/corpus/*.ini; do
	expect_error "$f" "$(cat "${f%.ini}.expect")"
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
good=sites/manhattan.ini
printf '' >"$scratch/empty.ini"
expect_error "$scratch/empty.ini" "1: error: empty site file"
{ head -3 "$good"; printf 'lan_address = 192.168.1.126/24\0\n'; tail -n +4 "$good"; } >"$scratch/nul.ini"
expect_error "$scratch/nul.ini" "4: error: NUL byte"
cp "$good" "$scratch/world-writable.ini"; chmod 666 "$scratch/world-writable.ini"
expect_error "$scratch/world-writable.ini" ": error: writable by others than root"
mkdir "$scratch/dir.ini"
expect_error "$scratch/dir.ini" ": error: is a directory"
expect_error "$scratch/missing.ini" ": error: cannot open: No such file or directory"
if [ "$(id -u)" = 0 ]; then
	cp "$good" "$scratch/foreign-owner.ini"; chown 65534 "$scratch/foreign-owner.ini"
	expect_error "$scratch/foreign-owner.ini" ": error: writable by others than root"
fi
echo "corpus: $pass passed, $fail failed"
[ $fail -eq 0 ]
