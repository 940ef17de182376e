#!/bin/bash
# The installed binary is hardened like Debian's packages: PIE, full RELRO (a
# GNU_RELRO segment and BIND_NOW), stack protector, _FORTIFY_SOURCE (the *_chk
# variants of libc calls), no executable stack. Read with readelf, an independent witness.
# Usage: tests/hardening.sh [BINARY]   (default: ./gatewayctl)
set -u
cd "$(dirname "$0")/.."
bin=${1:-./gatewayctl}
pass=0 fail=0
check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL hardening: $what"; fi
}
[ -x "$bin" ] || { echo "hardening: no binary $bin (make first)"; echo "hardening: 0 passed, 1 failed"; exit 1; }
hdr=$(readelf -h "$bin") dyn=$(readelf -d "$bin") seg=$(readelf -lW "$bin") syms=$(readelf --dyn-syms -W "$bin")
check "position-independent executable (ELF type DYN, flag PIE)" \
	bash -c 'grep -q "Type: *DYN" <<<"$1" && grep -q "FLAGS_1.*PIE" <<<"$2"' _ "$hdr" "$dyn"
check "RELRO segment" grep -q GNU_RELRO <<<"$seg"
check "BIND_NOW (full RELRO)" bash -c 'grep -Eq "\(FLAGS\).*BIND_NOW|FLAGS_1.*NOW" <<<"$1"' _ "$dyn"
check "stack protector (__stack_chk_fail)" grep -q __stack_chk_fail <<<"$syms"
check "_FORTIFY_SOURCE (__*_chk functions)" grep -Eq ' __[a-z]+_chk' <<<"$syms"
check "non-executable stack" bash -c 'grep GNU_STACK <<<"$1" | grep -qv RWE' _ "$seg"
echo "hardening: $pass passed, $fail failed"
[ $fail = 0 ]
