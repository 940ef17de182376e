#!/bin/bash
# The bash completion (contrib/completion/gatewayctl.bash), driven the way bash
# drives it: COMP_WORDS and COMP_CWORD set, _gatewayctl called, COMPREPLY read.
# Commands and options as gatewayctl's help lists them, site files (here and in
# the configuration directory), the sites that are up (state files in a scratch
# run directory), file names with spaces, and the time a completion takes.
#   tests/completion.sh [BINARY]     (default ./gatewayctl)
set -u
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-./gatewayctl}")
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

# gatewayctl as the shell finds it, a scratch configuration and run directory
mkdir -p "$tmp/bin" "$tmp/etc" "$tmp/run/ns-4096/private" "$tmp/run/ns-8192" "$tmp/cwd/sub" "$tmp/cwd/other"
ln -s "$bin" "$tmp/bin/gatewayctl"
PATH=$tmp/bin:$PATH
export GATEWAYCTL_RUNDIR=$tmp/run GATEWAYCTL_CONFDIR=$tmp/etc
touch "$tmp/etc/manhattan.ini" "$tmp/etc/brooklyn.ini" "$tmp/etc/README"
touch "$tmp/run/ns-4096/manhattan.state" "$tmp/run/ns-8192/queens.state" "$tmp/run/ns-4096/private/x.relay.pid"
touch "$tmp/cwd/local.ini" "$tmp/cwd/notes.txt" "$tmp/cwd/my site.ini" "$tmp/cwd/sub/deep.ini"
# shellcheck source=contrib/completion/gatewayctl.bash
. contrib/completion/gatewayctl.bash
cd "$tmp/cwd" || exit 1

# complete WORD...: the last word is the one being completed; prints COMPREPLY sorted, one a line
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_gatewayctl
	[ ${#COMPREPLY[@]} = 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}
expect() { # MSG EXPECTED(lines) WORD...
	local msg=$1 want=$2 got
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then ok "$msg"; else
		bad "$msg"
		printf 'words:    %s\nexpected: %s\ngot:      %s\n' "$*" "${want//$'\n'/ | }" "${got//$'\n'/ | }" | sed 's/^/    /'
	fi
}
lines() { printf '%s\n' "$@"; }

expect "the commands, from gatewayctl help" "$(lines check confirm down genkey help plan pubkey relay rollback status up watch)" gatewayctl ''
expect "a command's prefix" "status" gatewayctl st
expect "the program's options" "$(lines --help --version)" gatewayctl -
expect "status's options, from status --help" "$(lines --help --json --output --probe --prometheus)" gatewayctl status --
expect "up's options" "$(lines --boot --confirm --help --probe --verbose -v)" gatewayctl up -
expect "relay's options" "$(lines --config-fd --config-name --daemon --debug --file --help --ready-fd -d -f)" gatewayctl relay -
expect "up: site files here, directories, and those of the configuration directory" \
	"$(lines "$tmp/etc/brooklyn.ini" "$tmp/etc/manhattan.ini" "local.ini" "my site.ini" other sub)" gatewayctl up ''
expect "up man: the site's file in the configuration directory" "$tmp/etc/manhattan.ini" gatewayctl up man
expect "watch man: a site file too" "$tmp/etc/manhattan.ini" gatewayctl watch man
expect "plan sub/: *.ini below a directory" "sub/deep.ini" gatewayctl plan sub/
expect "check: a file name with a space is one word" "my site.ini" gatewayctl check my
expect "check takes several files" "local.ini" gatewayctl check "my site.ini" lo
expect "up takes one file" "" gatewayctl up local.ini ''
expect "up -v: the file still" "local.ini" gatewayctl up -v lo
expect "down: the sites that are up (state files of every namespace)" "$(lines manhattan queens)" gatewayctl down ''
expect "status q: queens" "queens" gatewayctl status q
expect "status --json: sites after an option" "$(lines manhattan queens)" gatewayctl status --json ''
expect "status ./: a site file by path" "./local.ini" gatewayctl status ./lo
expect "status --output: any file" "notes.txt" gatewayctl status --prometheus --output no
expect "status takes one site" "" gatewayctl status manhattan ''
expect "relay -f: site files" "local.ini" gatewayctl relay -f lo
expect "help: the commands" "$(lines plan pubkey)" gatewayctl help p
expect "genkey takes nothing" "" gatewayctl genkey ''
expect "an unknown command takes a site (rollback, confirm...)" "manhattan" gatewayctl rollback man
rm -rf "$tmp/run"
expect "no run directory: no site, no error" "" gatewayctl down ''

# fast enough to press TAB on: 50 completions of each kind. Measured in CPU time
# (this shell's and its children's), not wall time, which a busy machine (two
# test VMs beside this) stretches at random; a slow completion (a command
# run per word, a search of the disk) costs far more than 250 ms of CPU (about 50 today).
# `times` runs in this shell (in a subshell it would count the subshell's); FILE's
# CPU time in ms
cpu_ms() { tr 'ms' '  ' <"$1" | awk '{ t += $1 * 60 + $2 + $3 * 60 + $4 } END { printf "%d\n", t * 1000 }'; }
times >"$tmp/times0"
for _ in $(seq 50); do complete_words gatewayctl status -- >/dev/null; complete_words gatewayctl down '' >/dev/null; done
times >"$tmp/times1"
per=$((($(cpu_ms "$tmp/times1") - $(cpu_ms "$tmp/times0")) / 100))
if [ $per -lt 250 ]; then ok "a completion takes under 250 ms of CPU ($per ms)"; else bad "a completion takes under 250 ms of CPU ($per ms)"; fi

echo "completion: $pass passed, $fail failed"
[ $fail = 0 ]
