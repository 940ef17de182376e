#!/bin/bash
# The cross-site check (gatewayctl check A.ini B.ini ...): every case in
# tests/crosscheck/cases/NAME/ is a set of site files checked together, in a
# scratch copy, as `gatewayctl check *.ini` from inside the case directory.
#   expect   "exit N" and the diagnostics it must print, one per line:
#            "FILE:LINE: error: TEXT" or "FILE:LINE: warning: TEXT" (TEXT: a part
#            of the message). No other error or warning may appear. Without
#            "exit": 2 when an error is expected, else 0.
#   keys     key files made in the scratch KEYS directory (mode 0600):
#            "psk NAME CONTENT" or "priv NAME" (gatewayctl genkey); the site
#            files say @KEYS@ for that directory and @PUB:NAME@ for the public
#            key of private key NAME.
# Then generated networks (tests/crosscheck/gen-mesh.py): a mesh and a hub of
# 30 sites with PSKs pass, and one changed line in one file is found.
# Usage: tests/crosscheck.sh [GATEWAYCTL]   (default: build/test/gatewayctl)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/test/gatewayctl}")
pass=0 fail=0 skip=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=99
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"

ok() { pass=$((pass + 1)); [ -z "${V:-}" ] || echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

# make_keys CASEDIR KEYDIR: the key files of the case's `keys`
make_keys() {
	local kind name content
	mkdir -p -m 700 "$2"
	[ -f "$1/keys" ] || return 0
	while read -r kind name content; do
		case $kind in
		psk) (umask 077; printf '%s\n' "$content" >"$2/$name") ;;
		priv) (umask 077; "$bin" genkey >"$2/$name") ;;
		esac
	done <"$1/keys"
}

# subst FILE KEYDIR: @KEYS@ and @PUB:NAME@ in place
subst() {
	local f=$1 keys=$2 name pub
	sed -i "s|@KEYS@|$keys|g" "$f"
	for name in $(grep -o '@PUB:[^@]*@' "$f" | sort -u | sed 's/^@PUB://; s/@$//'); do
		pub=$("$bin" pubkey <"$keys/$name") || { echo "cannot make the public key of $name"; return 1; }
		sed -i "s|@PUB:$name@|$pub|g" "$f"
	done
}

# check_output NAME RC OUT EXPECTFILE
check_output() {
	local name=$1 rc=$2 out=$3 expect=$4 want_rc="" line n_want=0 n_got file_line text
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		if [[ $line =~ ^exit\ ([0-9]+)$ ]]; then want_rc=${BASH_REMATCH[1]}; continue; fi
		n_want=$((n_want + 1))
		if [[ $line =~ ^([^ ]+:[0-9]+:\ (error|warning):\ )(.*)$ ]]; then
			file_line=${BASH_REMATCH[1]} text=${BASH_REMATCH[3]}
		else
			bad "$name: bad expect line: $line"; return
		fi
		[ -n "$want_rc" ] || { [[ $file_line == *": error: " ]] && want_rc=2; }
		if ! grep -F -- "$file_line" <<<"$out" | grep -qF -- "$text"; then
			bad "$name: no \"$file_line...$text...\" in:"$'\n'"$out"; return
		fi
	done <"$expect"
	want_rc=${want_rc:-0}
	n_got=$(grep -cE '^[^ ]+:[0-9]+: (error|warning): ' <<<"$out")
	if [ "$rc" != "$want_rc" ]; then
		bad "$name: exit $rc, wanted $want_rc; output:"$'\n'"$out"
	elif [ "$n_got" != "$n_want" ]; then
		bad "$name: $n_got diagnostics, wanted $n_want:"$'\n'"$out"
	elif grep -q 'Sanitizer\|runtime error' <<<"$out"; then
		bad "$name: sanitizer report:"$'\n'"$out"
	else
		ok "$name"
	fi
}

for dir in tests/crosscheck/cases/*/; do
	name=$(basename "$dir")
	work=$scratch/$name
	cp -r "$dir" "$work"
	chmod 755 "$work"
	make_keys "$dir" "$scratch/keys-$name"
	for f in "$work"/*.ini; do subst "$f" "$scratch/keys-$name" || bad "$name: keys"; done
	out=$(cd "$work" && "$bin" check *.ini 2>&1)
	check_output "$name" $? "$out" "$dir/expect"
done

# Without privileges: a key file the caller may not read (root's, 0600) is a
# warning, "not checked" / "not compared", never an error. (Root makes the files.)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	work=$scratch/unprivileged
	cp -r tests/crosscheck/cases/psk-differ "$work"
	chmod 755 "$work"
	make_keys "$work" "$scratch/keys-unpriv"
	chmod 755 "$scratch/keys-unpriv"
	for f in "$work"/*.ini; do subst "$f" "$scratch/keys-unpriv"; chmod 644 "$f"; done
	la=$(grep -n '^psk_file' "$work/a.ini" | cut -d: -f1)
	lb=$(grep -n '^psk_file' "$work/b.ini" | cut -d: -f1)
	out=$(cd "$work" && setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" check a.ini 2>&1)
	printf 'exit 0\na.ini:%d: warning: psk_file %s/a.psk cannot be read as uid 65534; its owner, mode and content were not checked\n' \
		"$la" "$scratch/keys-unpriv" >"$scratch/unpriv1.expect"
	check_output "unprivileged, one file" $? "$out" "$scratch/unpriv1.expect"
	out=$(cd "$work" && setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" check a.ini b.ini 2>&1)
	{
		printf 'exit 0\n'
		cat "$scratch/unpriv1.expect" | tail -n 1
		printf 'b.ini:%d: warning: psk_file %s/b.psk cannot be read as uid 65534\n' "$lb" "$scratch/keys-unpriv"
		printf 'a.ini:%d: warning: peer b: psk_file could not be compared with site b'"'"'s (b.ini:%d)\n' "$la" "$lb"
	} >"$scratch/unpriv.expect"
	check_output "unprivileged, two files" $? "$out" "$scratch/unpriv.expect"
	# as root the same files are compared: they differ
	out=$(cd "$work" && "$bin" check a.ini b.ini 2>&1)
	expect_rc=$?
	if [ $expect_rc = 2 ] && grep -q 'error: .*psk' <<<"$out"; then ok "... and as root the differing keys are an error"
	else bad "as root: exit $expect_rc: $out"; fi
fi

# Generated networks: 30 sites, a mesh and a hub with spokes, PSKs and relays;
# and both again dual-stack over an IPv6-only internet (issue 22).
gen=tests/crosscheck/gen-mesh.py
for kind in mesh hub mesh6 hub6; do
	d=$scratch/gen-$kind
	python3 $gen 30 "$d" --psk "$d-keys" --relay $([ ${kind%6} = hub ] && echo --hub) \
		$([ ${kind%6} != $kind ] && echo --ipv6)
	out=$("$bin" check "$d"/*.ini 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then ok "generated $kind of 30 sites"; else bad "generated $kind: exit $rc: $out"; fi
done
# one wrong endpoint in s7's view of s12: one error, at that line, naming s12.ini
d=$scratch/gen-mesh
line=$(grep -n '^\[peer s12\]' "$d/s7.ini" | cut -d: -f1)
sed -i "$((line + 1))s/^endpoint = .*/endpoint = 198.18.12.3/" "$d/s7.ini"
out=$("$bin" check "$d"/*.ini 2>&1)
rc=$?
printf 's7.ini:%d: error: peer s12: endpoint 198.18.12.3 is not the wan_address of site s12, 198.18.12.2 (%s/s12.ini:6)\n' \
	$((line + 1)) "$d" >"$scratch/gen.expect"
check_output "generated mesh, one endpoint changed" $rc "$(sed "s|^$d/||" <<<"$out")" "$scratch/gen.expect"

# the same in IPv6: s7's view of s12, its IPv6 endpoint, and its IPv6 network narrowed
d=$scratch/gen-mesh6
line=$(grep -n '^\[peer s12\]' "$d/s7.ini" | cut -d: -f1)
sed -i "$((line + 1))s/^endpoint = .*/endpoint = 2001:db8:0:c::3/; $((line + 2))s|fd00:0:c::/64|fd00:0:c::/65|" "$d/s7.ini"
out=$("$bin" check "$d"/*.ini 2>&1)
rc=$?
{
	printf 's7.ini:%d: error: peer s12: endpoint 2001:db8:0:c::3 is not the IPv6 wan_address of site s12, 2001:db8:0:c::2 (%s/s12.ini:6)\n' \
		$((line + 1)) "$d"
	printf 's7.ini:%d: error: peer s12: networks leave out the IPv6 LAN of site s12, fd00:0:c::/64 (%s/s12.ini:4)\n' \
		$((line + 2)) "$d"
} >"$scratch/gen6.expect"
check_output "generated IPv6 mesh, one endpoint and one network changed" $rc "$(sed "s|^$d/||" <<<"$out")" "$scratch/gen6.expect"

echo "crosscheck: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
