#!/bin/bash
# tests/fuzz/run.sh - build the libFuzzer target for the relay's frame parser and
# reassembly (clang -fsanitize=fuzzer,address,undefined) and run it for a bounded time.
#   tests/fuzz/run.sh [SECONDS]     (default 30, or $FUZZ_SECONDS)
# Last line: "fuzz: N passed, N failed". Crashes are kept in build/fuzz/crash-*.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-30}}
out=build/fuzz
mkdir -p "$out/corpus"
cc=''
for c in clang-14 clang; do
	if command -v "$c" >/dev/null; then cc=$c; break; fi
done
if [ -z "$cc" ]; then
	echo "fuzz: no clang (make deps installs clang and libclang-rt-14-dev)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
if ! "$cc" -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Isrc -o "$out/fuzz_frame" tests/fuzz/fuzz_frame.c src/frame.c; then
	echo "fuzz: building the target failed"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
# seeds: valid frames, whole and split, so that the fuzzer starts from the format
python3 - "$out/corpus" <<'PY'
import os, struct, sys
d = sys.argv[1]
def frame(total, off, n, hops=1, ident=7):
    return struct.pack("!HBBIHHIHH", 0x6772, 1, hops, 0xc0a80105, 5555, 6799, ident, total, off) + bytes(range(256)) * (n // 256) + bytes(n % 256)
def rec(step, f):
    return struct.pack("!BH", step, len(f)) + f
seeds = {
    "whole": rec(1, frame(10, 0, 10)),
    "empty": rec(1, frame(0, 0, 0)),
    "split": rec(1, frame(600, 0, 300)) + rec(1, frame(600, 300, 300)),
    "reverse": rec(1, frame(600, 300, 300)) + rec(1, frame(600, 0, 300)),
    "dup": rec(1, frame(600, 0, 300)) + rec(0, frame(600, 0, 300)) + rec(1, frame(600, 300, 300)),
    "expire": rec(1, frame(600, 0, 300)) + rec(255, frame(600, 300, 300)),
    "many": b"".join(rec(2, frame(1000, 0, 10, ident=i)) for i in range(8)),
}
for name, data in seeds.items():
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)
PY
log=$out/fuzz.log
"$out/fuzz_frame" -max_total_time="$secs" -max_len=70000 -timeout=10 -rss_limit_mb=1024 \
	-artifact_prefix="$out/" -print_final_stats=1 "$out/corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
echo "fuzz: frame parser + reassembly, ${runs:-?} runs in ${secs} s (log: $log)"
if [ $rc = 0 ]; then
	echo "fuzz: 1 passed, 0 failed"
else
	tail -n 30 "$log"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
