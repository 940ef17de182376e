#!/bin/bash
# Every example site file that the documentation shows must pass `gatewayctl
# check`: the ```ini blocks of README.md, the .nf/.fi and .EX/.EE blocks of
# docs/*.5 and docs/*.8 that hold a section header, and templates/*.example.
# A block with [site] is checked as it is; a fragment ([peer ...] or [relay]
# alone) is merged into sites/manhattan.ini, its keys replacing or joining
# those of the section of the same name. Key files the examples name
# (psk_file, private_key) are made in a scratch directory, mode 0600, and a
# fragment's public_key gets a private_key in [site]. An example that names a
# file of sites/ (as ini(5)'s EXAMPLE does) must equal it byte for byte.
#   tests/examples.sh [BINARY]     (default ./gatewayctl)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-./gatewayctl}")
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -m 700 "$tmp/keys"
(umask 077 && head -c 32 /dev/urandom | base64 >"$tmp/keys/psk" && "$bin" genkey >"$tmp/keys/private") ||
	{ echo "examples: cannot make the scratch keys"; exit 1; }

# Extract: one file per example in $tmp/ex (NNN.ini), its origin in NNN.from,
# the file of sites/ it claims to be (if any) in NNN.same.
python3 - "$tmp" README.md docs/*.5 docs/*.8 templates/*.example <<'PY'
import os, re, sys

out, files = sys.argv[1], sys.argv[2:]
os.makedirs(out + "/ex")
header = re.compile(r"^\s*\[(site|peer\s+[^\]]*|relay)\]\s*$", re.I)
n = 0

def unroff(line):
    line = re.sub(r"\\f[BIRP]", "", line)
    line = line.replace("\\-", "-").replace("\\e", "\\").replace("\\(bu", "*").replace("\\&", "")
    return line

def emit(origin, lines, same=None):
    global n
    if not any(header.match(l) for l in lines):
        return
    n += 1
    base = "%s/ex/%03d" % (out, n)
    with open(base + ".ini", "w") as f:
        f.write("".join(l + "\n" for l in lines))
    with open(base + ".from", "w") as f:
        f.write(origin)
    if same:
        with open(base + ".same", "w") as f:
            f.write(same)

for path in files:
    text = open(path, encoding="utf-8").read().split("\n")
    if path.endswith(".md"):
        block = None
        for i, line in enumerate(text, 1):
            if block is None and re.match(r"^```ini\s*$", line):
                block, start = [], i + 1
            elif block is not None and line.startswith("```"):
                emit("%s:%d" % (path, start), block)
                block = None
            elif block is not None:
                block.append(line)
    elif re.search(r"\.[1-9]$", path):
        block = None
        for i, line in enumerate(text, 1):
            if block is None and line.strip() in (".nf", ".EX"):
                block, start = [], i + 1
                # "(sites/NAME.ini)" in the lines just before: the example is that file
                before = " ".join(unroff(l) for l in text[max(0, i - 5):i - 1])
                m = re.search(r"\b(sites/[A-Za-z0-9_-]+\.ini)\b", before)
                same = m.group(1) if m else None
            elif block is not None and line.strip() in (".fi", ".EE"):
                emit("%s:%d" % (path, start), block, same)
                block = None
            elif block is not None:
                if line.startswith(".") or line.startswith("'"):
                    continue
                block.append(unroff(line))
    else:
        emit(path, text[:-1] if text and text[-1] == "" else text)
PY
[ -d "$tmp/ex" ] || { echo "examples: extraction failed"; exit 1; }

# merge FRAGMENT: sites/manhattan.ini with the fragment's sections merged in
merge() {
	python3 - sites/manhattan.ini "$1" <<'PY'
import re, sys

def parse(path):
    secs, order, cur = {}, [], None
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        m = re.match(r"^\[(.+)\]$", s)
        if m:
            cur = m.group(1).strip().lower()
            if cur not in secs:
                secs[cur] = []
                order.append(cur)
        elif cur is not None and s and s[0] not in ";#" and "=" in s:
            secs[cur].append((s.split("=", 1)[0].strip().lower(), line.rstrip("\n")))
    return secs, order

base, order = parse(sys.argv[1])
frag, forder = parse(sys.argv[2])
for name in forder:
    if name not in base:
        base[name] = []
        order.append(name)
    for key, line in frag[name]:
        base[name] = [(k, l) for k, l in base[name] if k != key] + [(key, line)]
for name in order:
    print("[%s]" % name)
    for _, line in base[name]:
        print(line)
    print()
PY
}

examples=0
for f in "$tmp"/ex/*.ini; do
	from=$(cat "${f%.ini}.from")
	examples=$((examples + 1))
	if [ -f "${f%.ini}.same" ]; then
		same=$(cat "${f%.ini}.same")
		if cmp -s "$f" "$same"; then
			pass=$((pass + 1)); echo "ok - $from is $same exactly"
		else
			fail=$((fail + 1)); echo "FAIL - $from says it is $same, but differs:"
			diff "$same" "$f" | head -20
		fi
	fi
	if ! grep -qi '^\[site\]' "$f"; then
		merge "$f" >"${f%.ini}.merged" && mv "${f%.ini}.merged" "$f"
	fi
	# the examples' key files, made here; a public key needs our private key
	sed -i -E "s|^(\s*psk_file\s*=\s*).*|\1$tmp/keys/psk|; s|^(\s*private_key\s*=\s*).*|\1$tmp/keys/private|" "$f"
	if grep -qiE '^\s*public_key\s*=' "$f" && ! grep -qiE '^\s*private_key\s*=' "$f"; then
		sed -i -E "0,/^\[site\]/s||[site]\nprivate_key = $tmp/keys/private|" "$f"
	fi
	chmod 644 "$f"
	if out=$("$bin" check "$f" 2>&1) && [ -z "$out" ]; then
		pass=$((pass + 1)); echo "ok - $from passes check"
	else
		fail=$((fail + 1)); echo "FAIL - $from does not pass check:"
		printf '%s\n' "$out" | sed "s|$f|$from (as checked)|"
		sed 's/^/    | /' "$f"
	fi
done
# the extraction itself: README's site file, ini(5)'s EXAMPLE and the template at least
for want in README.md: docs/gatewayctl.ini.5: templates/site.ini.example; do
	if grep -qF "$want" "$tmp"/ex/*.from; then pass=$((pass + 1)); echo "ok - an example found in ${want%:}"
	else fail=$((fail + 1)); echo "FAIL - no example found in ${want%:}"; fi
done
echo "# $examples example site files"
echo "examples: $pass passed, $fail failed"
[ $fail = 0 ]
