# shellcheck shell=bash
# tests/vm/lib-bridge.sh - commands across the test VM's wall, through files in a
# directory both sides see (tests/vm/run's GATEWAYCTL_VM_SHARE: 9p without cache,
# so a rename on one side is seen at once on the other). Sourced by
# tests/vm/host-call and tests/vm/guest-exec.
#
# One request is one directory QDIR/NAME: the caller writes argv (NUL-separated)
# and stdin into QDIR/.new.NAME and renames it to QDIR/q.NAME (so it appears
# whole); the server renames it to QDIR/w.NAME (so it runs once), runs it and
# writes out, err and at last rc (by a rename); the caller prints out and err,
# removes the directory and exits with rc.

# a sleep without a process (forks cost milliseconds in an emulated CPU)
_bridge_nap() { # SECONDS
	if [ -z "${_BRIDGE_NAP_FD:-}" ]; then
		local f
		f=$(mktemp -u "${TMPDIR:-/tmp}/bridge-nap.XXXXXX")
		mkfifo "$f"
		exec {_BRIDGE_NAP_FD}<>"$f"
		rm -f "$f"
	fi
	read -r -t "$1" -u "$_BRIDGE_NAP_FD" _ || true
}

# bridge_call QDIR ARGV...: run ARGV where QDIR's server runs; stdin, stdout,
# stderr and the exit status are ARGV's. 125 when no answer came within
# GATEWAYCTL_BRIDGE_TIMEOUT seconds (default 3600).
bridge_call() {
	local q=$1 name new wait=0 limit=${GATEWAYCTL_BRIDGE_TIMEOUT:-3600} rc
	shift
	name=${HOSTNAME:-h}.$$.$RANDOM$RANDOM
	new=$q/.new.$name
	mkdir "$new" || return 125
	printf '%s\0' "$@" >"$new/argv"
	cat >"$new/stdin"
	mv "$new" "$q/q.$name"
	SECONDS=0
	until [ -e "$q/w.$name/rc" ]; do
		if [ "$SECONDS" -ge "$limit" ]; then
			echo "bridge: no answer to '$*' from $q in $limit s" >&2
			rm -rf "$q/q.$name" "$q/w.$name"
			return 125
		fi
		# quick at first (module runs take tenths of seconds), then calmer
		if [ $wait -lt 40 ]; then _bridge_nap 0.02; else _bridge_nap 0.1; fi
		wait=$((wait + 1))
	done
	cat "$q/w.$name/out"
	cat "$q/w.$name/err" >&2
	rc=$(cat "$q/w.$name/rc")
	rm -rf "$q/w.$name"
	return "$rc"
}

# _bridge_run QDIR/w.NAME FILTER: run one request (in the background, by the server)
_bridge_run() {
	local w=$1 filter=$2 rc=0
	local -a argv=()
	mapfile -d '' -t argv <"$w/argv"
	if [ ${#argv[@]} = 0 ] || ! "$filter" "${argv[@]}"; then
		echo "bridge: refused: ${argv[*]}" >"$w/err"
		: >"$w/out"
		rc=126
	else
		local t0=${EPOCHREALTIME:-}
		"${argv[@]}" <"$w/stdin" >"$w/out" 2>"$w/err" || rc=$?
		# GATEWAYCTL_BRIDGE_LOG=FILE: each request's start, microseconds, status and
		# (for an Ansible module) the module's name
		[ -z "${GATEWAYCTL_BRIDGE_LOG:-}" ] ||
			echo "$t0 $(( ${EPOCHREALTIME/./} - ${t0/./} )) $rc $(grep -a -o -m1 'ansible\.modules\.[a-z_]*' "$w/stdin" | head -1) ${argv[*]: -1}" >>"$GATEWAYCTL_BRIDGE_LOG"
	fi
	echo "$rc" >"$w/rc.tmp"
	mv "$w/rc.tmp" "$w/rc"
}

# bridge_serve QDIR FILTER: run every request that appears in QDIR, each in the
# background, while QDIR/stop does not exist; FILTER ARGV... says whether ARGV may run
bridge_serve() {
	local q=$1 filter=$2 r name idle=0
	mkdir -p "$q"
	while [ ! -e "$q/stop" ]; do
		for r in "$q"/q.*; do
			[ -d "$r" ] || continue
			name=${r##*/q.}
			mv "$r" "$q/w.$name" 2>/dev/null || continue
			_bridge_run "$q/w.$name" "$filter" &
			idle=0
		done
		if [ $idle -lt 100 ]; then _bridge_nap 0.02; else _bridge_nap 0.1; fi
		idle=$((idle + 1))
	done
	wait
}
