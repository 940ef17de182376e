#!/bin/bash
# tests/ansible/example.sh - the role's example (contrib/ansible: three offices)
# without gateways: ansible-playbook --check --diff with the local connection,
# only the configuration part (--tags gatewayctl_config). The role derives the
# peers, renders every site file on the control node, and `gatewayctl check`
# passes them as one network; the diff shows Manhattan's file as README.md
# says. Then a broken inventory (a hub too many) is refused.
# Usage: tests/ansible/example.sh [GATEWAYCTL]   (default: build/test/gatewayctl)
set -u
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-build/test/gatewayctl}")
pass=0 fail=0
command -v ansible-playbook >/dev/null || { echo "ansible-example: 0 passed, 0 failed, 1 skipped (no ansible-playbook)"; exit 0; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -m 700 "$scratch/psk" "$scratch/home"
for p in brooklyn_queens manhattan_queens; do (umask 077; head -c 32 /dev/urandom | base64 >"$scratch/psk/$p.psk"); done

ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

run() { # OUT EXTRA...
	local out=$1
	shift
	HOME=$scratch/home ANSIBLE_NOCOLOR=1 ANSIBLE_ROLES_PATH=contrib/ansible/roles ANSIBLE_LOCALHOST_WARNING=0 \
		ansible-playbook -i contrib/ansible/inventory/offices.yml contrib/ansible/site.yml --check --diff \
		--tags gatewayctl_config -e ansible_connection=local -e ansible_become=false \
		-e "gatewayctl_binary_src=$bin gatewayctl_control_bin=$bin gatewayctl_psk_src_dir=$scratch/psk" \
		-e "ansible_python_interpreter=$(command -v python3)" "$@" >"$out" 2>&1
}

run "$scratch/ok.out"
rc=$?
if [ $rc = 0 ] && grep -q 'TASK \[gatewayctl : gatewayctl check, every site file of the network at once' "$scratch/ok.out"; then
	ok "the example's three site files pass gatewayctl check as one network"
else
	bad "the example: exit $rc"; tail -30 "$scratch/ok.out"
fi
# Manhattan's file, from the diff of its template task
m=$(python3 - "$scratch/ok.out" <<'PY'
import sys
lines, block, out = open(sys.argv[1]).read().split("\n"), None, ""
for l in lines:
    if l.startswith("+++ after:") and "site.ini.j2" in l:
        block = []
    elif block is not None and l.startswith(("changed: [", "ok: [")):
        if "[manhattan]" in l:
            out = "\n".join(block)
        block = None
    elif block is not None and l.startswith("+"):
        block.append(l[1:])
print("\n".join(x for x in out.split("\n") if x and not x.startswith(";")))
PY
)
want=$(sed -n '/^```ini$/,/^```$/p' contrib/ansible/README.md | sed '1d;$d' | sed '/^$/d')
if [ -n "$m" ] && [ "$m" = "$want" ]; then
	ok "manhattan.ini is the file README.md shows"
else
	bad "manhattan.ini differs from README.md's:"; diff <(echo "$want") <(echo "$m") | head -30
fi
if ! grep -q "$(head -c 20 "$scratch/psk/manhattan_queens.psk")" "$scratch/ok.out"; then ok "no PSK in the output"; else bad "a PSK shows in the output"; fi

# two hubs in one group: refused before anything
run "$scratch/hubs.out" -e '{"hub": true}'
if [ $? != 0 ] && grep -q 'has 3 hubs' "$scratch/hubs.out"; then ok "two hubs in a group: refused"; else bad "two hubs: $(tail -5 "$scratch/hubs.out")"; fi
echo "ansible-example: $pass passed, $fail failed"
[ $fail = 0 ]
