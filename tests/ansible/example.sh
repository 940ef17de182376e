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
trap '[ -n "${KEEP:-}" ] || rm -rf "$scratch"' EXIT
mkdir -m 700 "$scratch/psk" "$scratch/home"
# the modules' compiled code kept between the runs (tests/vm/pycache/usercustomize.py:
# an Ansible module is a zip of sources, compiled on every run; 10 % of this test's CPU)
export PYTHONPATH=$PWD/tests/vm/pycache GATEWAYCTL_PYCACHE=$scratch/pycache
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

# The configuration part for real (no --check), each gateway's /etc in the
# scratch directory: the PSK files 0600 in a 0700 directory, equal to the
# control node's, the three site files pass check as one network, and a
# second run changes nothing.
apply() { # OUT EXTRA...
	local out=$1
	shift
	HOME=$scratch/home ANSIBLE_NOCOLOR=1 ANSIBLE_ROLES_PATH=contrib/ansible/roles ANSIBLE_LOCALHOST_WARNING=0 \
		ansible-playbook -i "${INVENTORY:-contrib/ansible/inventory/offices.yml}" contrib/ansible/site.yml \
		--tags gatewayctl_config -e ansible_connection=local -e ansible_become=false \
		-e "gatewayctl_binary_src=$bin gatewayctl_control_bin=$bin" \
		-e "{\"gatewayctl_config_dir\": \"$scratch/$out.etc/{{ inventory_hostname }}\", \"gatewayctl_bin\": \"$scratch/$out.bin-{{ inventory_hostname }}\"}" \
		-e "ansible_python_interpreter=$(command -v python3)" "$@" >"$scratch/$out" 2>&1
}
recap_changed() { sed -nE 's/^[a-z]+ +: ok=[0-9]+ +changed=([0-9]+) .*/\1/p' "$1" | paste -sd+ | bc; }
check_written() { # NAME ETC
	local name=$1 etc=$2 bad_modes
	bad_modes=$(find "$etc" -name '*.psk' ! -perm 600; find "$etc" -type d -name psk ! -perm 700)
	if [ -z "$bad_modes" ] && [ "$(find "$etc" -name '*.psk' | wc -l)" = 4 ]; then
		ok "$name: four PSK files written, mode 0600 in 0700 directories"
	else bad "$name: PSK files: $(find "$etc" -name '*.psk' -printf '%p %m\n') $bad_modes"; fi
	if cmp -s "$etc/queens/psk/manhattan.psk" <(tr -d '\n' <"$scratch/psk/manhattan_queens.psk"; echo) &&
		cmp -s "$etc/manhattan/psk/queens.psk" "$etc/queens/psk/manhattan.psk"; then
		ok "$name: both ends of manhattan-queens hold the control node's key"
	else bad "$name: manhattan-queens keys differ from the control node's"; fi
	if out=$("$bin" check "$etc"/*/*.ini 2>&1); then ok "$name: the written site files pass check as one network"
	else bad "$name: check of the written files: $out"; fi
}
apply written -e "gatewayctl_psk_src_dir=$scratch/psk"
if [ $? = 0 ]; then ok "the configuration part writes the files"; else bad "configuration part: $(tail -20 "$scratch/written")"; fi
check_written "PSK files on the control node" "$scratch/written.etc"
apply written -e "gatewayctl_psk_src_dir=$scratch/psk"
n=$(recap_changed "$scratch/written")
if [ "$n" = 0 ]; then ok "a second run: 0 changed"; else bad "a second run: $n changed"; fi

# a key file of a peer that is gone is deleted on the next run; the others stay
(umask 077 && echo "an old key" >"$scratch/written.etc/manhattan/psk/bronx.psk")
apply written -e "gatewayctl_psk_src_dir=$scratch/psk"
if [ $? = 0 ] && [ ! -e "$scratch/written.etc/manhattan/psk/bronx.psk" ] &&
	[ -s "$scratch/written.etc/manhattan/psk/queens.psk" ]; then
	ok "a removed peer's PSK file is deleted, the current ones stay"
else bad "stale PSK: $(ls "$scratch/written.etc/manhattan/psk") $(grep -E 'fatal|FAIL' "$scratch/written" | head -3)"; fi

# an empty gatewayctl_psk_src_dir (keys would be read from /PAIR.psk), or one
# that is no directory: refused before anything is written
for v in "" "$scratch/psk/brooklyn_queens.psk"; do
	apply nosrc -e "gatewayctl_psk_src_dir=$v"
	rc=$?
	if [ $rc != 0 ] && grep -q "gatewayctl_psk_src_dir is $( [ -z "$v" ] && echo empty || echo "\`")" "$scratch/nosrc" &&
		[ ! -e "$scratch/nosrc.etc" ]; then
		ok "gatewayctl_psk_src_dir '${v:+a file}': refused with its reason, nothing written"
	else bad "gatewayctl_psk_src_dir '$v': exit $rc: $(grep -E 'fatal|msg' "$scratch/nosrc" | head -3)"; fi
	rm -rf "$scratch/nosrc.etc"
done

# the keys on the control node stay out of the checkout: the README's example
# writes them under ~, the example inventory reads them there, git ignores psk/
if grep -q '> ~/.gatewayctl/psk/brooklyn_queens.psk' contrib/ansible/README.md &&
	! grep -qE '> *psk/' contrib/ansible/README.md; then ok "README: the example's keys are written outside the checkout"
else bad "README: the example writes keys into the checkout"; fi
if grep -q 'gatewayctl_psk_src_dir: .*HOME.*/.gatewayctl/psk' contrib/ansible/inventory/offices.yml &&
	! grep -q 'gatewayctl_psk_src_dir: .*playbook_dir' contrib/ansible/inventory/offices.yml; then
	ok "the example inventory reads the keys from outside the checkout"
else bad "the example inventory reads keys from the checkout"; fi
if git check-ignore -q contrib/ansible/psk/brooklyn_queens.psk && git check-ignore -q contrib/ansible/x.psk; then
	ok "git ignores psk/ and *.psk under contrib/ansible"
else bad "git would track key files under contrib/ansible"; fi

# The same keys from Ansible Vault (gatewayctl_psks, encrypted strings)
printf 'a vault password for the test\n' >"$scratch/vault-pass"
{
	echo "gatewayctl_psks:"
	for p in brooklyn_queens manhattan_queens; do
		HOME=$scratch/home ansible-vault encrypt_string --vault-password-file "$scratch/vault-pass" \
			"$(cat "$scratch/psk/$p.psk")" --name "$p" 2>/dev/null | sed 's/^/  /'
		echo # encrypt_string ends without a newline
	done
} >"$scratch/vault.yml"
if ! grep -q "$(head -c 20 "$scratch/psk/manhattan_queens.psk")" "$scratch/vault.yml" && grep -q 'ANSIBLE_VAULT' "$scratch/vault.yml"; then
	ok "the vault file holds the keys encrypted"
else bad "vault file: $(head -5 "$scratch/vault.yml")"; fi
apply vault -e "@$scratch/vault.yml" --vault-password-file "$scratch/vault-pass"
if [ $? = 0 ]; then ok "the configuration part with keys from Ansible Vault"; else bad "vault run: $(tail -20 "$scratch/vault")"; fi
check_written "keys from Ansible Vault" "$scratch/vault.etc"
if ! grep -q "$(head -c 20 "$scratch/psk/manhattan_queens.psk")" "$scratch/written" "$scratch/vault"; then ok "no PSK in either run's output"
else bad "a PSK shows in a run's output"; fi
# A typo in the inventory (Brooklyn's LAN address typed inside Manhattan's LAN):
# the cross-site check on the control node stops the play before any task on a
# gateway; nothing is written.
sed '/^            brooklyn:/,/^            queens:/s|lan_address: 192.168.2.126/24|lan_address: 192.168.1.7/24|' \
	contrib/ansible/inventory/offices.yml >"$scratch/typo.yml"
if grep -q '192.168.1.7/24' "$scratch/typo.yml"; then ok "the typo inventory differs in Brooklyn's lan_address"
else bad "no typo made in $scratch/typo.yml"; fi
INVENTORY=$scratch/typo.yml apply typo -e "gatewayctl_psk_src_dir=$scratch/psk"
rc=$?
if [ $rc = 2 ] && grep -q 'Stop before any gateway is touched' "$scratch/typo"; then ok "a typo in the inventory fails the play in the cross-site check"
else bad "typo: exit $rc: $(grep -E 'fatal|error' "$scratch/typo" | head -5)"; fi
if grep -qE '(brooklyn|manhattan)\.ini:[0-9]+: error: .*overlap' "$scratch/typo"; then ok "... which names the file and line"
else bad "typo: no FILE:LINE error about the overlap: $(grep -E 'error' "$scratch/typo" | head -5)"; fi
if ! grep -qE 'TASK \[gatewayctl : (Install|Configuration directory|PSK|Site file|gatewayctl up)' "$scratch/typo" &&
	[ ! -e "$scratch/typo.etc" ] && [ ! -e "$scratch/typo.bin-manhattan" ]; then ok "... before any task on a gateway: nothing written"
else bad "typo: a gateway task ran or a file was written"; fi

# Two offices numbered alike (issue 23): both LANs 192.168.1.0/24, each with a
# `netmap`: the peers name each other's map and mapped address, the files pass
# check as one network.
cat >"$scratch/alike.yml" <<'EOF'
all:
  children:
    gatewayctl:
      children:
        offices:
          hosts:
            manhattan: {ansible_host: 172.16.1.12, lan: eth0, lan_address: 192.168.1.126/24, wan: eth1,
                        wan_address: 172.16.1.12/27, gateway: 172.16.1.30, netmap: 10.1.1.0/24}
            brooklyn: {ansible_host: 172.17.2.10, lan: eth0, lan_address: 192.168.1.126/24, wan: eth1,
                       wan_address: 172.17.2.10/28, gateway: 172.17.2.14, netmap: 10.2.1.0/24}
  vars:
    gatewayctl_networks: [offices]
EOF
INVENTORY=$scratch/alike.yml apply alike -e "gatewayctl_psk_src_dir=$scratch/psk"
rc=$?
m=$(find "$scratch/alike.etc/manhattan" -name '*.ini' 2>/dev/null | head -n 1)
if [ $rc = 0 ] && [ -n "$m" ] && grep -qx 'netmap = 10.1.1.0/24' "$m" && grep -qx 'networks = 10.2.1.0/24' "$m" &&
	grep -qx 'lan_address = 10.2.1.126' "$m"; then ok "netmap: Manhattan's file maps itself and names Brooklyn's map and mapped address"
else bad "netmap: exit $rc: $(cat "$m" 2>/dev/null; grep -E 'fatal|error' "$scratch/alike" | head -5)"; fi
if out=$("$bin" check "$scratch"/alike.etc/*/*.ini 2>&1); then ok "netmap: the two files pass check as one network"
else bad "netmap: check: $out"; fi

# IPv6 (issue 22): two dual-stack offices and one whose WAN is IPv6 only. The
# dual-stack pair tunnels over IPv4 and carries both LANs; Queens is reached
# over IPv6; the files pass check as one network.
cat >"$scratch/v6.yml" <<'EOF'
all:
  children:
    gatewayctl:
      children:
        offices:
          hosts:
            manhattan: {ansible_host: 172.16.1.12, lan: eth0, lan_address: "192.168.1.126/24, 2001:db8:1::126/64",
                        wan: eth1, wan_address: "172.16.1.12/27, 2001:db8:ffff:1::12/64", gateway: [172.16.1.30, "fe80::1"]}
            brooklyn: {ansible_host: 172.17.2.10, lan: eth0, lan_address: [192.168.2.126/24, "2001:db8:2::126/64"],
                       wan: eth1, wan_address: "172.17.2.10/28, 2001:db8:ffff:2::10/64"}
            queens: {ansible_host: "2001:db8:ffff:3::20", lan: eth0, lan_address: 192.168.3.1/24, wan: eth1,
                     wan_address: "2001:db8:ffff:3::20/64", gateway: "fe80::1"}
  vars:
    gatewayctl_networks: [offices]
EOF
INVENTORY=$scratch/v6.yml apply v6 -e "gatewayctl_psk_src_dir=$scratch/psk"
rc=$?
m=$(find "$scratch/v6.etc/manhattan" -name '*.ini' 2>/dev/null | head -n 1)
q=$(find "$scratch/v6.etc/queens" -name '*.ini' 2>/dev/null | head -n 1)
want='lan_address = 192.168.1.126/24, 2001:db8:1::126/64
wan_address = 172.16.1.12/27, 2001:db8:ffff:1::12/64
gateway = 172.16.1.30, fe80::1
[peer brooklyn]
endpoint = 172.17.2.10
networks = 192.168.2.0/24, 2001:db8:2::/64
lan_address = 192.168.2.126, 2001:db8:2::126
[peer queens]
endpoint = 2001:db8:ffff:3::20
networks = 192.168.3.0/24
lan_address = 192.168.3.1'
got=$(grep -E '^(lan_address|wan_address|gateway|endpoint|networks) =|^\[peer' "${m:-/dev/null}")
if [ $rc = 0 ] && [ "$got" = "$want" ]; then ok "IPv6: Manhattan's file has both families, Queens reached over IPv6"
else bad "IPv6: exit $rc:"; diff <(echo "$want") <(echo "$got") | head -20; grep -E 'fatal|error' "$scratch/v6" | head -5; fi
if grep -qx 'wan_address = 2001:db8:ffff:3::20/64' "${q:-/dev/null}" && grep -qx 'endpoint = 2001:db8:ffff:1::12' "${q:-/dev/null}"; then
	ok "IPv6: Queens' WAN is IPv6 only, and it reaches Manhattan over IPv6"
else bad "IPv6: queens' file: $(cat "${q:-/dev/null}")"; fi
if out=$("$bin" check "$scratch"/v6.etc/*/*.ini 2>&1); then ok "IPv6: the three files pass check as one network"
else bad "IPv6: check: $out"; fi
# Brooklyn without IPv6 on its WAN cannot reach Queens: refused by the filter
sed 's|wan_address: "172.17.2.10/28, 2001:db8:ffff:2::10/64"|wan_address: 172.17.2.10/28|' "$scratch/v6.yml" >"$scratch/v6bad.yml"
INVENTORY=$scratch/v6bad.yml apply v6bad -e "gatewayctl_psk_src_dir=$scratch/psk"
if [ $? != 0 ] && grep -q 'sites brooklyn and queens have no WAN address family in common' "$scratch/v6bad"; then
	ok "IPv6: two sites without a WAN family in common: refused"
else bad "IPv6: no common family: $(grep -E 'fatal|msg' "$scratch/v6bad" | head -3)"; fi

echo "ansible-example: $pass passed, $fail failed"
[ $fail = 0 ]
