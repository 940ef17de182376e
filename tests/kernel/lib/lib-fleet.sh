# tests/kernel/lib/lib-fleet.sh - the lab and helpers of the Ansible fleet tests
# (fleet.sh; issue 13). Four sites a b c d: each a gateway
# namespace (X-gw, its own GATEWAYCTL_RUNDIR and /etc) and a LAN host (X-host);
# the gateways' WANs meet in a router (inet) that, like the internet, drops
# private destinations. ansible-playbook (the machine's ansible-core) reaches
# each gateway through the local connection with its Python wrapped in
# `ip netns exec X-gw`. Source it after `set -eu`.
#
# Where the controller runs: in the VM, ansible-playbook on an emulated CPU takes
# minutes a play. Started through `tests/vm/host-call --serve DIR tests/vm/run
# ...` (tests/run-all does), the test has a bridge to the host
# (GATEWAYCTL_FLEET_BRIDGE=DIR, shared with the VM): ansible-playbook runs on the
# host (tests/vm/host-call) and its modules, through the gateways' Python
# interpreter tests/vm/guest-exec, in the gateways' namespaces here. The role is
# the same, its modules run against the same gateways; only the controller moves.
# GATEWAYCTL_FLEET_CONTROLLER=vm keeps it here even with a bridge.
t_need_ipip
command -v ansible-playbook >/dev/null || t_skip "no ansible-playbook (apt-get install ansible-core)"

SITES="a b c d"
ROOT=$PWD
BRIDGE=''
if [ -n "${GATEWAYCTL_FLEET_BRIDGE:-}" ] && [ "${GATEWAYCTL_FLEET_CONTROLLER:-host}" != vm ]; then
	BRIDGE=$GATEWAYCTL_FLEET_BRIDGE
	[ -d "$BRIDGE/h" ] || t_skip "GATEWAYCTL_FLEET_BRIDGE=$BRIDGE: no bridge there (tests/vm/host-call --serve)"
fi

fleet_down() {
	local ns
	for ns in $(ip netns list | awk '{ print $1 }' | grep "^$LAB_PREFIX" || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}
fleet_exit() {
	fleet_down
	gw_cleanup
	if [ -n "$BRIDGE" ]; then touch "$BRIDGE/g/stop"; fi
}
trap fleet_exit EXIT
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
	# what the controller reads or writes: here, or on the bridge when it runs on the host
	CTL_DIR=$T_TMP
	if [ -n "$BRIDGE" ]; then
		CTL_DIR=$BRIDGE/$T_NAME
		rm -rf "$CTL_DIR"
		rm -f "$BRIDGE/g/stop"
		"$ROOT/tests/vm/guest-exec" --serve "$BRIDGE" &
		echo "# the controller runs on the host (GATEWAYCTL_FLEET_BRIDGE=$BRIDGE)"
	else
		echo "# the controller runs here"
	fi
	mkdir -p "$CTL_DIR/home"
}

# the Python interpreter of gateway X-gw, as the controller starts it; with a
# cache of the modules' compiled code (tests/vm/pycache/usercustomize.py: the
# compilation was half of each module run)
fleet_python() { # SITE
	local py
	py="ip netns exec $(lab_ns "$1-gw") env PYTHONPATH=$ROOT/tests/vm/pycache /usr/bin/python3"
	if [ -n "$BRIDGE" ]; then
		echo "$ROOT/tests/vm/guest-exec $BRIDGE $py"
	else
		echo "$py"
	fi
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
				          ansible_python_interpreter: "$(fleet_python "$s")"
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
	} >"$CTL_DIR/inventory.yml"
}

# play NAME [ARGS...]: ansible-playbook on the example playbook; output in
# $T_TMP/NAME.out, status in $PLAY_RC
play() {
	local name=$1
	shift
	PLAY_RC=0
	echo "# play $name $* ($(date +%T))" >&2
	local -a on_host=()
	[ -z "$BRIDGE" ] || on_host=("$ROOT/tests/vm/host-call" "$BRIDGE")
	# the remote temporary directory (~root/.ansible/tmp otherwise) in CTL_DIR:
	# the copy module in the VM reads what the controller put there, and the
	# VM's view of the host's / (an overlay on 9p) may never see a directory
	# the host creates after the boot
	"${on_host[@]}" env HOME="$CTL_DIR/home" ANSIBLE_REMOTE_TMP="$CTL_DIR/tmp" ANSIBLE_ROLES_PATH="$ROOT/contrib/ansible/roles" ANSIBLE_PIPELINING=1 \
		ANSIBLE_NOCOLOR=1 ANSIBLE_FORKS=8 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
		ansible-playbook -i "$CTL_DIR/inventory.yml" -e gatewayctl_play_hosts=gatewayctl \
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

