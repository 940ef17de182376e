#!/bin/bash
# tests/kernel/fleet.sh - the Ansible role (contrib/ansible) on four sites
# (issue 13). Each site is a gateway namespace (X-gw, its own GATEWAYCTL_RUNDIR
# and /etc) and a LAN host (X-host), the gateways' WANs meet in a router (inet)
# that, like the internet, drops private destinations. ansible-playbook (the
# machine's ansible-core) reaches each gateway through the local connection with
# its Python wrapped in `ip netns exec X-gw`.
#
#   tests/vm/run --timeout 3600 -- tests/kernel/fleet.sh
#   FLEET_STOP=mesh|hub: stop after that part
#
# Proves: a full mesh and a hub with spokes come up and every LAN host pings
# every other site's (through the hub for spokes); a second run reports 0
# changed and changes no kernel state; a typo in the inventory fails in the
# check before any gateway is touched; changing one site's LAN changes exactly
# the gateways that peer with it; --check --diff shows diffs and plans and
# changes nothing.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw.sh"
t_need_ipip
command -v ansible-playbook >/dev/null || t_skip "no ansible-playbook (apt-get install ansible-core)"

SITES="a b c d"
ROOT=$PWD

fleet_down() {
	local ns
	for ns in $(ip netns list | awk '{ print $1 }' | grep "^$LAB_PREFIX" || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}
trap 'fleet_down; gw_cleanup' EXIT
trap 'echo "$T_NAME: interrupted" >&2; exit 130' INT TERM HUP

# site number i (a=1...): LAN 192.168.i.0/24 (gateway .1, host .5), WAN
# 172.(16+i).0.2/24 behind inet's 172.(16+i).0.1
idx() { case $1 in a) echo 1 ;; b) echo 2 ;; c) echo 3 ;; d) echo 4 ;; esac; }

fleet_up() {
	local s i
	fleet_down
	_lab_newns inet
	_lab_sysctl inet net.ipv4.ip_forward=1
	lab_exec inet nft -f - <<-'EOF'
		table ip lab_internet {
			chain prerouting {
				type filter hook prerouting priority filter; policy accept;
				ip daddr { 10.0.0.0/8, 192.168.0.0/16 } counter drop comment "private destination"
			}
		}
	EOF
	for s in $SITES; do
		i=$(idx "$s")
		_lab_newns "$s-gw"
		_lab_newns "$s-host"
		_lab_wire "$s-gw" eth1 inet "eth-$s"
		_lab_wire "$s-gw" eth0 "$s-host" eth0
		lab_exec inet ip addr add "172.$((16 + i)).0.1/24" dev "eth-$s"
		lab_exec "$s-gw" ip addr add "172.$((16 + i)).0.2/24" dev eth1
		lab_exec "$s-gw" ip route add default via "172.$((16 + i)).0.1"
		lab_exec "$s-gw" ip addr add "192.168.$i.1/24" dev eth0
		lab_exec "$s-host" ip addr add "192.168.$i.5/24" dev eth0
		lab_exec "$s-host" ip route add default via "192.168.$i.1"
		mkdir -p "$T_TMP/$s/run"
	done
	mkdir -p "$T_TMP/home"
}

# inventory TOPOLOGY [SITE=LAN_ADDRESS...]: mesh (one group of all), hub (a is
# the hub of all), partial (a b c meshed, c d meshed); overrides of lan_address
inventory() {
	local topo=$1 s i lan
	shift
	{
		cat <<-EOF
			all:
			  vars:
			    gatewayctl_networks: [g1, g2]
			    gatewayctl_binary_src: $GWCTL
			    gatewayctl_control_bin: $GWCTL
			    ansible_connection: local
			    ansible_become: false
			  children:
			    gatewayctl:
			      hosts:
		EOF
		for s in $SITES; do
			i=$(idx "$s")
			lan=192.168.$i.1/24
			for o in "$@"; do [ "${o%%=*}" != "$s" ] || lan=${o#*=}; done
			cat <<-EOF
				        $s:
				          ansible_python_interpreter: "ip netns exec $(lab_ns "$s-gw") /usr/bin/python3"
				          gatewayctl_environment: {GATEWAYCTL_RUNDIR: $T_TMP/$s/run}
				          gatewayctl_bin: $T_TMP/$s/gatewayctl
				          gatewayctl_config_dir: $T_TMP/$s/etc
				          lan: eth0
				          lan_address: $lan
				          wan: eth1
				          wan_address: 172.$((16 + i)).0.2/24
				          gateway: 172.$((16 + i)).0.1
			EOF
			[ "$topo" != hub ] || [ "$s" != a ] || echo "          hub: true"
		done
		echo "      children:"
		case $topo in
		mesh) printf '        g1:\n          hosts: {a: {}, b: {}, c: {}, d: {}}\n' ;;
		hub) printf '        g1:\n          hosts: {a: {}, b: {}, c: {}, d: {}}\n' ;;
		partial) printf '        g1:\n          hosts: {a: {}, b: {}, c: {}}\n        g2:\n          hosts: {c: {}, d: {}}\n' ;;
		esac
	} >"$T_TMP/inventory.yml"
}

# play NAME [ARGS...]: ansible-playbook on the example playbook; output in
# $T_TMP/NAME.out, status in $PLAY_RC
play() {
	local name=$1
	shift
	PLAY_RC=0
	echo "# play $name $* ($(date +%T))" >&2
	HOME=$T_TMP/home ANSIBLE_ROLES_PATH=$ROOT/contrib/ansible/roles ANSIBLE_PIPELINING=1 \
		ANSIBLE_NOCOLOR=1 ANSIBLE_FORKS=8 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
		ansible-playbook -i "$T_TMP/inventory.yml" -e gatewayctl_play_hosts=gatewayctl \
		"$ROOT/contrib/ansible/site.yml" "$@" </dev/null 2>&1 | tee "$T_TMP/$name.out" |
		{ if [ "${V:-0}" = 1 ]; then cat >&2; else cat >/dev/null; fi; }
	PLAY_RC=${PIPESTATUS[0]}
	echo "# play $name: exit $PLAY_RC ($(date +%T))" >&2
}

# the hosts whose PLAY RECAP shows changed > 0, sorted, space-separated
changed_hosts() { # NAME
	sed -nE 's/^([a-z]+) +: ok=[0-9]+ +changed=([1-9][0-9]*) .*/\1/p' "$T_TMP/$1.out" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect_play() { # NAME MSG: the play succeeded
	if [ "$PLAY_RC" = 0 ]; then ok "$2"; else
		fail "$2 (exit $PLAY_RC)"
		grep -E 'FAILED|fatal|error|msg' "$T_TMP/$1.out" | head -40 | t_note
	fi
}

snap_all() { local s; for s in $SITES; do echo "## $s"; snap_nocount "$s-gw"; done; }
files_all() { local s; for s in $SITES; do echo "## $s"; cat "$T_TMP/$s/etc/"*.ini 2>/dev/null || true; done; }

# every LAN host pings every other site's LAN host
expect_all_pings() { # MSG
	local s o bad=''
	for s in $SITES; do
		for o in $SITES; do
			[ "$s" != "$o" ] || continue
			_t_ping "$s-host" "192.168.$(idx "$o").5" || bad="$bad $s->$o"
		done
	done
	if [ -z "$bad" ]; then ok "$1"; else fail "$1: no answer:$bad"; fi
}

fleet_up
ansible-playbook --version | head -1 | t_note

# --- full mesh ------------------------------------------------------------------------
inventory mesh
play mesh
expect_play mesh "full mesh of 4 sites: the playbook succeeds"
expect_eq "$(changed_hosts mesh)" "a b c d" "every gateway changed"
expect_grep "the role pinged the peers' LAN addresses" 'Ping every peer' "$(cat "$T_TMP/mesh.out")"
expect_eq "$(lab_exec b-gw ip -o link show type ipip | grep -c 'gw-[acd]')" 3 "b has a tunnel to each of a, c, d"
expect_all_pings "mesh: every LAN host pings every other site's LAN host"

after=$(snap_all)
play mesh-again
expect_play mesh-again "second run succeeds"
expect_eq "$(changed_hosts mesh-again)" "" "second run: 0 changed"
expect_grep "... and its recap says so for a" '^a +: ok=[0-9]+ +changed=0 ' "$(cat "$T_TMP/mesh-again.out")"
expect_same "second run changed no kernel state" "$after" "$(snap_all)"

[ "${FLEET_STOP:-}" != mesh ] || t_done

# --- a typo in the inventory: b's LAN typed as a's ---------------------------------
files_before=$(files_all)
inventory mesh b=192.168.1.7/24
play typo
expect_eq "$PLAY_RC" 2 "a typo in the inventory fails the play"
expect_grep "... in the cross-site check on the control node" 'Stop before any gateway is touched' \
	"$(grep -B2 'fatal' "$T_TMP/typo.out")"
expect_grep "... which names the file and line" 'a\.ini:[0-9]+: error: .*overlaps the LAN' "$(cat "$T_TMP/typo.out")"
expect_eq "$(grep -cE 'TASK \[gatewayctl : (Install|Site file|gatewayctl up)' "$T_TMP/typo.out" || true)" 0 \
	"... before any task on a gateway"
expect_same "the typo touched no kernel state" "$after" "$(snap_all)"
expect_same "... and no site file" "$files_before" "$(files_all)"

# --- hub and spokes: a is the hub ---------------------------------------------------
inventory hub
play hub
expect_play hub "hub and spokes: the playbook succeeds"
expect_eq "$(lab_exec b-gw ip -o link show type ipip | grep -c 'gw-')" 1 "spoke b has one tunnel left: to the hub"
expect_grep "... whose route carries the other spokes' LANs" '192.168.3.0/24 dev gw-a' "$(lab_exec b-gw ip route show)"
expect_all_pings "hub: every LAN host pings every other site's LAN host"
rx0=$(lab_exec a-gw cat /sys/class/net/gw-b/statistics/rx_packets)
tx0=$(lab_exec a-gw cat /sys/class/net/gw-c/statistics/tx_packets)
lab_exec b-host ping -n -q -c 5 -i 0.2 -W 1 192.168.3.5 >/dev/null 2>&1 || true
rx1=$(lab_exec a-gw cat /sys/class/net/gw-b/statistics/rx_packets)
tx1=$(lab_exec a-gw cat /sys/class/net/gw-c/statistics/tx_packets)
expect_ok "b-host -> c-host crosses the hub (in from gw-b, out to gw-c: $((rx1 - rx0)), $((tx1 - tx0)) packets)" \
	test $((rx1 - rx0)) -ge 5 -a $((tx1 - tx0)) -ge 5
[ "${FLEET_STOP:-}" != hub ] || t_done

# --- one site's LAN changes: exactly the gateways that peer with it change ----------
inventory partial
play partial
expect_play partial "partial mesh (a b c, c d)"
expect_eq "$(lab_exec d-gw ip -o link show type ipip | grep -c 'gw-')" 1 "d peers with c only"
lab_exec a-gw ip addr add 192.168.11.1/24 dev eth0
lab_exec a-host ip addr add 192.168.11.5/24 dev eth0
inventory partial a=192.168.11.1/24
after=$(snap_all)
files_before=$(files_all)
play lan-check --check --diff
expect_play lan-check "--check with a's new LAN"
expect_grep "--check --diff shows the new networks" '^\+networks = 192\.168\.11\.0/24' "$(cat "$T_TMP/lan-check.out")"
expect_grep "--check shows gatewayctl plan's route" 'ip route add 192\.168\.11\.0/24 dev gw-a' "$(cat "$T_TMP/lan-check.out")"
expect_same "--check changed no kernel state" "$after" "$(snap_all)"
expect_same "... and no site file" "$files_before" "$(files_all)"
d_before=$(snap_nocount d-gw)
play lan
expect_play lan "the playbook with a's new LAN"
expect_eq "$(changed_hosts lan)" "a b c" "exactly a and its peers b and c changed"
expect_same "d's kernel state is untouched" "$d_before" "$(snap_nocount d-gw)"
expect_ping b-host 192.168.11.5 "b's LAN host reaches a's new LAN"
expect_ping c-host 192.168.11.5 "c's LAN host reaches a's new LAN"

for s in $SITES; do
	out=$(lab_exec "$s-gw" env GATEWAYCTL_RUNDIR="$T_TMP/$s/run" "$GWCTL" down 2>&1) || fail "down $s: $out"
done
t_done
