#!/bin/bash
# tests/fuzz/run.sh - every libFuzzer target tests/fuzz/fuzz_NAME.c, built by
# `make fuzz-build` (clang, -fsanitize=fuzzer,address,undefined, linked with the
# whole program but main.c), then for each target:
#   1. replay every file of tests/fuzz/regress/NAME/ (crashes found earlier, fixed);
#   2. fuzz for SECONDS from a corpus seeded by tests/fuzz/seeds/NAME/ (files) and
#      tests/fuzz/seeds/NAME.gen DIR (a program that writes seeds into DIR).
#   tests/fuzz/run.sh [SECONDS [NAME...]]   (default 25, or $FUZZ_SECONDS; all targets)
# One line per target; last line "fuzz: N passed, N failed". A crash is kept in
# build/fuzz/NAME/crash-*: copy it into tests/fuzz/regress/NAME/ with the fix.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-25}}
shift || true
out=build/fuzz
mkdir -p "$out"
pass=0 fail=0
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; targets+=("${t%.c}"); done
fi
if ! make -s -j"$(nproc 2>/dev/null || echo 2)" fuzz-build >"$out/build.log" 2>&1; then
	cat "$out/build.log"
	echo "fuzz: building the targets failed (make deps installs clang and libclang-rt-14-dev)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
for t in "${targets[@]}"; do
	bin=$out/fuzz_$t dir=$out/$t
	mkdir -p "$dir/corpus"
	[ -d "tests/fuzz/seeds/$t" ] && cp -r "tests/fuzz/seeds/$t/." "$dir/corpus/"
	[ -x "tests/fuzz/seeds/$t.gen" ] && "tests/fuzz/seeds/$t.gen" "$dir/corpus"
	ok=1
	regress=(tests/fuzz/regress/"$t"/*)
	if [ -e "${regress[0]}" ]; then
		if ! "$bin" -runs=1 "${regress[@]}" >"$dir/regress.log" 2>&1; then
			ok=0
			tail -n 30 "$dir/regress.log"
			echo "fuzz: $t: a regression input crashes again (log: $dir/regress.log)"
		fi
	else
		regress=()
	fi
	if [ $ok = 1 ]; then
		"$bin" -max_total_time="$secs" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$dir/" -print_final_stats=1 "$dir/corpus" >"$dir/fuzz.log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -n 1)
		if [ $rc = 0 ]; then
			echo "fuzz: $t: ${#regress[@]} regression inputs replayed, ${runs:-?} runs in ${secs} s"
		else
			ok=0
			tail -n 30 "$dir/fuzz.log"
			echo "fuzz: $t: crashed (log: $dir/fuzz.log; input: $dir/crash-*)"
		fi
	fi
	if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail = 0 ]
