# bash completion for gatewayctl(8)                          -*- shell-script -*-
#
# Commands and their options come from gatewayctl's own help (`gatewayctl help`,
# `gatewayctl COMMAND --help`), so they never fall behind the program. Site
# files: *.ini under what is typed, and /etc/gatewayctl/NAME*.ini for a bare
# NAME (`gatewayctl up man<TAB>` gives /etc/gatewayctl/manhattan.ini). Sites
# that are up (down, status and commands taking a site): the state files
# gatewayctl keeps, RUNDIR/ns-*/SITE.state (RUNDIR: $GATEWAYCTL_RUNDIR or
# /run/gatewayctl, readable without root). Nothing else is run: no root, no
# netlink, no charon; one short run of gatewayctl per TAB.

# site names with a state file (one per line, sorted, once)
_gatewayctl_sites() {
	local f n
	for f in "${GATEWAYCTL_RUNDIR:-/run/gatewayctl}"/ns-*/*.state; do
		[ -f "$f" ] || continue
		n=${f##*/}
		printf '%s\n' "${n%.state}"
	done | sort -u
}

# site files for CUR: directories and *.ini below it; for a bare word also
# /etc/gatewayctl/WORD*.ini
_gatewayctl_files() {
	local cur=$1 f
	compgen -d -- "$cur"
	compgen -f -X '!*.ini' -- "$cur"
	if [[ $cur != */* && $cur != .* && $cur != \~* ]]; then
		for f in "${GATEWAYCTL_CONFDIR:-/etc/gatewayctl}/$cur"*.ini; do
			[ -f "$f" ] && printf '%s\n' "$f"
		done
	fi
}

# the options a command's --help mentions
_gatewayctl_options() { # PROG CMD
	"$1" "$2" --help 2>/dev/null | grep -oE -- '(^|[][ ,|])--?[a-zA-Z][a-zA-Z0-9-]*' |
		sed -E 's/^[][ ,|]//' | sort -u
	printf '%s\n' --help
}

_gatewayctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]} cmd='' i words=() args=0
	local IFS=$'\n'

	# the command: the first word after the program that is not an option;
	# args: the words after it that are neither options nor their arguments
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-f | --file | --output) i=$((i + 1)) ;;
		-*) ;;
		*) if [ -z "$cmd" ]; then cmd=${COMP_WORDS[i]}; else args=$((args + 1)); fi ;;
		esac
	done
	# gatewayctl in PATH when the word typed is not a runnable path
	command -v "$prog" >/dev/null 2>&1 || prog=gatewayctl

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			words=(--help --version)
		else
			words=($("$prog" help 2>/dev/null | sed -nE 's/^  ([a-z][a-z0-9-]*) .*/\1/p'))
		fi
		COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
		return 0
	fi

	# arguments of options
	case $prev in
	--output)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	-f | --file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(_gatewayctl_files "$cur"))
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_gatewayctl_options "$prog" "$cmd")" -- "$cur"))
		return 0
	fi

	case $cmd in
	check)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(_gatewayctl_files "$cur"))
		;;
	plan | up | watch)
		[ $args = 0 ] || return 0
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(_gatewayctl_files "$cur"))
		;;
	help)
		COMPREPLY=($(compgen -W "$("$prog" help 2>/dev/null | sed -nE 's/^  ([a-z][a-z0-9-]*) .*/\1/p')" -- "$cur"))
		;;
	relay | genkey | pubkey)
		COMPREPLY=()
		;;
	*) # down, status, and any command that takes a site: the sites that are up,
		# or a file once the word looks like a path; one site
		[ $args = 0 ] || return 0
		if [[ $cur == */* || $cur == .* || $cur == \~* ]]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(_gatewayctl_files "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_gatewayctl_sites)" -- "$cur"))
		fi
		;;
	esac
	return 0
}
complete -F _gatewayctl gatewayctl
