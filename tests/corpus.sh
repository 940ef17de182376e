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
# RULES (a .expect file's further lines): "!TEXT", TEXT appears nowhere in the
# output; "errors N", exactly N lines say ": error: ".
expect_error() { # FILE "LINE: error: TEXT" [RULES]
	local f=$1 line=${2%%: error: *} text=${2#*: error: } rules=${3:-} out rc r ok=1
	out=$("$bin" check "$f" 2>&1)
	rc=$?
	while IFS= read -r r; do
		case $r in
		'!'*) ! grep -qF -- "${r#!}" <<<"$out" || ok=0 ;;
		'errors '*) [ "$(grep -c ': error: ' <<<"$out")" = "${r#errors }" ] || ok=0 ;;
		esac
	done <<<"$rules"
	if [ $rc -eq 2 ] && [ $ok = 1 ] && grep -F -- "$f${line:+:$line}: error: " <<<"$out" | grep -qF -- "$text" &&
		! grep -q 'Sanitizer\|runtime error' <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL corpus %s: exit %d, wanted 2 and "%s:%s: error: ...%s..."%s; got:\n%s\n' \
			"$f" "$rc" "$f" "$line" "$text" "${rules:+ and $rules}" "$out"
	fi
}

for f in tests/corpus/*.ini; do
	expect_error "$f" "$(head -n 1 "${f%.ini}.expect")" "$(tail -n +2 "${f%.ini}.expect")"
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
# issue 10: more peers than the limit: an error at the first extra peer's line, no crash
python3 - "$scratch/many-peers.ini" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("[site]\nname = hub\nlan = eth0\nlan_address = 192.168.1.126/24\n"
            "wan = eth1\nwan_address = 172.16.1.12/27\n")
    for i in range(5000):
        f.write("[peer p%d]\nendpoint = 10.%d.%d.1\nnetworks = 10.%d.%d.0/24\n\n"
                % (i, 100 + i // 250, i % 250, i // 250, i % 250))
PY
expect_error "$scratch/many-peers.ini" "16391: error: peer p4096 is one too many: a site has at most 4096 peers"
# the relay never runs as root, nor with group 0
for u in root 0; do
	sed "s/^ports = 6799$/ports = 6799\nuser = $u/" "$good" >"$scratch/relay-user-$u.ini"
	grep -q "^user = $u" "$scratch/relay-user-$u.ini" || echo "corpus: sites/manhattan.ini has no relay ports line?"
	expect_error "$scratch/relay-user-$u.ini" "26: error: \`user = $u\`: the relay must not run as root"
done
# a site file in a directory others may write could be swapped between check and use
mkdir -m 0777 "$scratch/open"
cp "$good" "$scratch/open/site.ini"
expect_error "$scratch/open/site.ini" ": error: the directory $scratch/open may be written by others than root"
# a UTF-8 byte-order mark (Windows editors) is no error
{ printf '\357\273\277'; cat "$good"; } >"$scratch/bom.ini"
if out=$("$bin" check "$scratch/bom.ini" 2>&1) && [ -z "$out" ]; then
	pass=$((pass + 1))
else
	fail=$((fail + 1)); echo "FAIL corpus: a file starting with a byte-order mark is refused: $out"
fi
# issue 11: encryption = ipsec and its keys, each refusal at its line
mkdir -m 0700 "$scratch/keys"
(umask 077 && head -c 32 /dev/urandom | base64 >"$scratch/keys/psk" && printf 'short-key\n' >"$scratch/keys/short")
(umask 022 && head -c 32 /dev/urandom | base64 >"$scratch/keys/open")
ipsec_site() { # NAME PEERLINES... (after line 17, networks =): prints the path
	local f="$scratch/$1.ini"
	shift
	{ head -n 17 "$good"; printf '%s\n' "$@"; tail -n +18 "$good"; } >"$f"
	echo "$f"
}
[ "$(sed -n 17p "$good")" = "networks = 192.168.2.0/24" ] || echo "corpus: line 17 of $good is not networks ="
expect_error "$(ipsec_site ipsec-no-key 'encryption = ipsec')" "18: error: peer brooklyn: \`encryption = ipsec\` needs a key"
expect_error "$(ipsec_site ipsec-both 'encryption = ipsec' "psk_file = $scratch/keys/psk" "public_key = $(head -c 32 /dev/zero | base64)")" \
	"20: error: peer brooklyn has both \`psk_file\` (line 19) and \`public_key\`"
expect_error "$(ipsec_site ipsec-missing 'encryption = ipsec' "psk_file = $scratch/keys/none")" "19: error: \`psk_file = $scratch/keys/none\`: "
expect_error "$(ipsec_site ipsec-open 'encryption = ipsec' "psk_file = $scratch/keys/open")" "19: error: \`psk_file = $scratch/keys/open\`: "
expect_error "$(ipsec_site ipsec-short 'encryption = ipsec' "psk_file = $scratch/keys/short")" "19: error: \`psk_file = $scratch/keys/short\`: "
expect_error "$(ipsec_site ipsec-bad-pub 'encryption = ipsec' 'public_key = c2hvcnQ=')" "19: error: \`public_key = c2hvcnQ=\`: expected the base64 of a 32-byte Ed25519 public key"
expect_error "$(ipsec_site ipsec-psk-plain "psk_file = $scratch/keys/psk")" "18: error: \`psk_file\` is for \`encryption = ipsec\`"
expect_error "$(ipsec_site ipsec-pub-plain "public_key = $(head -c 32 /dev/zero | base64)")" "18: error: \`public_key\` is for \`encryption = ipsec\`"
expect_error "$(ipsec_site ipsec-pub-no-private 'encryption = ipsec' "public_key = $(head -c 32 /dev/zero | base64)")" \
	"19: error: peer brooklyn is authenticated by public key, so this gateway needs its own"
expect_error "$(ipsec_site ipsec-bad-mode 'encryption = wireguard')" "18: error: \`encryption = wireguard\`: expected none or ipsec"
f=$(ipsec_site ipsec-good 'encryption = ipsec' "psk_file = $scratch/keys/psk")
if out=$("$bin" check "$f" 2>&1) && [ -z "$out" ]; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL corpus: a valid ipsec site file is refused: $out"; fi
# issue 21: a file that is not text gets one error, not one a line
python3 - "$scratch" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/binary-nul.ini", "wb") as f:          # like an executable: NULs on many lines
    f.write(b"".join(b"\x7fELF\x02\x01\x00\x00" + bytes([i % 256]) * 20 + b"\n" for i in range(300)))
with open(d + "/binary-noise.ini", "wb") as f:        # no NUL, but control bytes and invalid UTF-8
    f.write(b"".join(bytes([1 + (i * 7) % 8, 0x80 + i % 64, 0xff, 0x41]) + b"\n" for i in range(400)))
with open("sites/manhattan.ini", encoding="utf-8") as src, open(d + "/utf16.ini", "wb") as f:
    f.write(src.read().encode("utf-16"))              # Notepad's "Unicode"
PY
expect_error "$scratch/binary-nul.ini" "1: error: not a text file (640 NUL bytes); is this the site file?" "errors 1"
expect_error "$scratch/binary-noise.ini" "1: error: not a text file (" "errors 1"
expect_error "$scratch/utf16.ini" "1: error: not a text file (UTF-16 text: save it as UTF-8)" "errors 1"
# issue 21: a peer's public_key that is this site's own public key, or its private key (never echoed)
(umask 077 && "$bin" genkey >"$scratch/keys/own")
own_pub=$("$bin" pubkey <"$scratch/keys/own")
own_seed=$(cat "$scratch/keys/own")
ipsec_own() { # NAME PUBLIC_KEY: the file, with private_key in [site]
	local f
	f=$(ipsec_site "$1" 'encryption = ipsec' "public_key = $2")
	sed -i "s|^gateway = |private_key = $scratch/keys/own\ngateway = |" "$f"
	echo "$f"
}
expect_error "$(ipsec_own ipsec-own-pub "$own_pub")" "20: error: peer brooklyn: \`public_key\` is this site's own public key"
expect_error "$(ipsec_own ipsec-own-private "$own_seed")" "20: error: peer brooklyn: \`public_key\` is this site's private key" \
	"!$own_seed"
echo "corpus: $pass passed, $fail failed"
[ $fail -eq 0 ]
