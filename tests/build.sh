#!/bin/bash
# tests/build.sh - the build's own promises (issue 19), no root needed:
#   - netlink/ builds alone, with -Inetlink only, and an include of src/ there is a
#     build error;
#   - the version is written once, in debian/changelog: the Makefile, debian/rules
#     and the man page sources hold none; the binary's --version, its metrics'
#     build_info and the installed man pages' .TH all say the changelog's;
#   - header dependencies are per object (-MMD -MP): touching a header rebuilds the
#     objects that include it and no other, a deleted header breaks no build, a new
#     version in the changelog rebuilds what prints it (no stale object);
#   - tests/run-all runs only the unit test binaries whose source exists;
#   - no cycle between the files of src/ and netlink/ (a file that uses a function
#     or variable of another, which through others uses one of its own), but the
#     few known ones listed below; and no function over 100 lines.
# The scratch builds happen in a copy of the tree (the checkout is never touched);
# it starts from the checkout's objects, so run `make gatewayctl` first.
#
#   tests/build.sh
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
note() { sed 's/^/    /'; }
expect_eq() { # ACTUAL EXPECTED MSG
	if [ "$1" = "$2" ]; then ok "$3"; else
		bad "$3"
		printf 'expected: %s\nactual:   %s\n' "$2" "$1" | note
	fi
}

tmp=$(mktemp -d /tmp/gwt-build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pkgflags=$(pkg-config --cflags libmnl libnftnl libcrypto 2>/dev/null)

# --- the version: one place ----------------------------------------------------------
# what the changelog says, read two independent ways
v_sed=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
if command -v dpkg-parsechangelog >/dev/null; then
	v_deb=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
	expect_eq "$v_deb" "$v_sed" "dpkg-parsechangelog reads the version this script reads ($v_sed)"
fi
version=${v_sed%-*}
case $version in
[0-9]*.[0-9]*) ok "debian/changelog's first entry holds a version ($version)" ;;
*) bad "debian/changelog's first entry holds a version (got '$version')" ;;
esac
expect_eq "$(make -s --no-print-directory -f Makefile -f - print-version <<<'print-version: ; @echo $(VERSION)')" \
	"$version" "the Makefile's VERSION is the changelog's"
lit=$(grep -nE '^[[:space:]]*VERSION[[:space:]]*[:?]?=[[:space:]]*[0-9]|VERSION=[0-9]' Makefile debian/rules)
expect_eq "$lit" "" "neither the Makefile nor debian/rules writes a version number"
lit=$(grep -n '^\.TH' docs/*.[58] | grep -v '"gatewayctl @VERSION@"')
expect_eq "$lit" "" "the man page sources' .TH lines carry the @VERSION@ placeholder, no number"
if [ -x ./gatewayctl ]; then
	expect_eq "$(./gatewayctl --version)" "gatewayctl $version" "gatewayctl --version says $version"
	m=$(env GATEWAYCTL_RUNDIR="$tmp/run" GATEWAYCTL_LIBDIR="$tmp/lib" unshare -rn ./gatewayctl status --prometheus 2>/dev/null |
		grep '^gatewayctl_build_info')
	if [ -n "$m" ] || unshare -rn true 2>/dev/null; then
		expect_eq "$m" "gatewayctl_build_info{version=\"$version\"} 1" "the metrics' build_info says $version"
	else
		echo "# no user namespaces here: the metrics' build_info not checked"
	fi
else
	bad "./gatewayctl is built (make gatewayctl)"
fi
if make -s install DESTDIR="$tmp/inst" PREFIX=/usr >"$tmp/install.log" 2>&1; then
	th=$(head -qn 1 "$tmp"/inst/usr/share/man/man8/gatewayctl.8 "$tmp"/inst/usr/share/man/man5/gatewayctl.ini.5 |
		grep -c "\"gatewayctl $version\"")
	expect_eq "$th" 2 "make install: both man pages' .TH say gatewayctl $version"
else
	bad "make install DESTDIR=..."
	note <"$tmp/install.log"
fi

# --- netlink/ alone --------------------------------------------------------------------
mkdir -p "$tmp/nl"
cp netlink/*.c netlink/*.h "$tmp/nl/"
out=$(cd "$tmp/nl" && for f in *.c; do
	# shellcheck disable=SC2086 # pkg-config's words
	cc -std=gnu11 -Wall -Wextra -Werror -I. $pkgflags -c -o "${f%.c}.o" "$f" 2>&1 || echo "$f: failed"
done)
expect_eq "$out" "" "netlink/ builds alone: its $(find "$tmp/nl" -name '*.c' | wc -l) files with only their own headers"
# and the boundary bites: a netlink file including a header of src/ does not build
# with the Makefile's flags for netlink/
nl_first=$(find netlink -name '*.c' | sort | head -n 1)
mkdir -p "$tmp/bound"
cp -a Makefile src netlink debian "$tmp/bound/"
sed -i '1i #include "config.h"' "$tmp/bound/$nl_first"
if (cd "$tmp/bound" && make -s "${nl_first%.c}.o") >"$tmp/bound.log" 2>&1; then
	bad "an include of src/config.h in $nl_first is a build error"
else
	if grep -q 'config.h' "$tmp/bound.log"; then
		ok "an include of src/config.h in $nl_first is a build error"
	else
		bad "an include of src/config.h in $nl_first fails for that reason"
		note <"$tmp/bound.log"
	fi
fi

# --- header dependencies and stale objects, in a copy of the built tree ----------------
t=$tmp/tree
mkdir -p "$t"
cp -a Makefile src netlink debian "$t/"
[ -x gatewayctl ] && cp -a gatewayctl "$t/"
rebuilt() { # TARGET: the objects make would rebuild, sorted
	(cd "$t" && make -n "$1" 2>&1) | grep -o ' -o [^ ]*\.o' | sed 's/ -o //' | LC_ALL=C sort | tr '\n' ' '
}
if (cd "$t" && make -s -j2 gatewayctl) >"$tmp/tree.log" 2>&1; then
	ok "a copy of the tree builds"
else
	bad "a copy of the tree builds"
	tail -20 "$tmp/tree.log" | note
fi
expect_eq "$(rebuilt gatewayctl)" "" "once built, nothing is rebuilt"
# a header: exactly the objects that include it (directly or not), as the compiler says
h=netlink/nlsock.h
want=$(cd "$t" && grep -l "^[^:]*$h\b\|[ /]$h\b" src/*.d netlink/*.d 2>/dev/null | sed 's/\.d$/.o/' | LC_ALL=C sort | tr '\n' ' ')
n_all=$(find "$t/src" "$t/netlink" -name '*.o' | wc -l)
n_want=$(wc -w <<<"$want")
touch "$t/$h"
got=$(rebuilt gatewayctl)
if [ -n "$want" ] && [ "$got" = "$want" ] && [ "$n_want" -lt "$n_all" ]; then
	ok "touching $h rebuilds the $n_want objects that include it, not all $n_all"
else
	bad "touching $h rebuilds the objects that include it, not all $n_all"
	printf 'expected: %s\nactual:   %s\n' "$want" "$got" | note
fi
(cd "$t" && make -s gatewayctl) >/dev/null 2>&1
# an unused header deleted (-MP): no "No rule to make target"
printf '#define GWT_UNUSED 1\n' >"$t/src/gwt_unused.h"
sed -i '1i #include "gwt_unused.h"' "$t/src/util.c"
(cd "$t" && make -s gatewayctl) >/dev/null 2>&1
rm "$t/src/gwt_unused.h"
sed -i '1d' "$t/src/util.c"
if (cd "$t" && make -s gatewayctl) >"$tmp/mp.log" 2>&1; then
	ok "a header removed with its include: the build goes on (-MP)"
else
	bad "a header removed with its include: the build goes on (-MP)"
	tail -5 "$tmp/mp.log" | note
fi
# a new version: what prints it is rebuilt, and the binary says so
{
	printf 'gatewayctl (9.8.7-1) unstable; urgency=medium\n\n  * tests/build.sh\n\n'
	printf ' -- t <t@example.org>  Mon, 30 Nov 2026 08:19:33 +0000\n\n'
	cat debian/changelog
} >"$t/debian/changelog"
if (cd "$t" && make -s gatewayctl) >"$tmp/v.log" 2>&1; then
	expect_eq "$("$t/gatewayctl" --version)" "gatewayctl 9.8.7" "a new changelog entry: make rebuilds, --version says 9.8.7 (no stale object)"
else
	bad "a new changelog entry: make rebuilds"
	tail -10 "$tmp/v.log" | note
fi

# --- rooms: who uses whom, from the objects' symbols -------------------------------------
# edges DIR: "A B" when DIR/{src,netlink}/A.o uses a function or variable B.o defines
edges() {
	local o
	for o in "$1"/src/*.o "$1"/netlink/*.o; do
		nm --defined-only -g "$o" | awk -v m="$(basename "$o" .o)" 'NF == 3 && $2 ~ /[TDBRC]/ { print $3, m }'
	done | LC_ALL=C sort -k1,1 >"$tmp/defs"
	for o in "$1"/src/*.o "$1"/netlink/*.o; do
		nm -u "$o" | awk -v m="$(basename "$o" .o)" '{ print $2, m }'
	done | LC_ALL=C sort -k1,1 >"$tmp/uses"
	LC_ALL=C join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | LC_ALL=C sort -u
}
# loops DIR: the files in a cycle, "" when none (issue 19: none is left)
loops() {
	edges "$1" | tsort 2>&1 >/dev/null | sed -n 's/^tsort: \([A-Za-z0-9_]*\)$/\1/p' |
		LC_ALL=C sort -u | tr '\n' ' '
}
expect_eq "$(loops "$t")" "" "no cycle between the files of src/ and netlink/"
# and the check bites: ipsec_conn.c (used by model.c) calling plan_build (model.c)
cp "$t/src/ipsec_conn.c" "$tmp/ipsec_conn.c.orig"
printf '\n#include "model.h"\nvoid gwt_cycle(void);\nvoid gwt_cycle(void) { plan_build(NULL, NULL, NULL); }\n' >>"$t/src/ipsec_conn.c"
if (cd "$t" && make -s src/ipsec_conn.o) >"$tmp/cycle.log" 2>&1; then
	got=$(loops "$t")
	if [[ " $got" == *" ipsec_conn "* && " $got" == *" model "* ]]; then
		ok "a cycle made on purpose (ipsec_conn -> model -> ipsec_conn) is found: ${got% }"
	else
		bad "a cycle made on purpose (ipsec_conn -> model -> ipsec_conn) is found (got '$got')"
	fi
else
	bad "a copy of ipsec_conn.c calling plan_build builds"
	tail -5 "$tmp/cycle.log" | note
fi
cp "$tmp/ipsec_conn.c.orig" "$t/src/ipsec_conn.c"
(cd "$t" && make -s gatewayctl) >/dev/null 2>&1

# --- no function over 100 lines (from its opening brace to its closing one) ---------------
long=$(awk 'FNR == 1 { start = 0 }
	/^[A-Za-z_].*\(/ { sig = $0 }
	/^\{$/ { start = FNR; name = sig }
	/^\}$/ && start { n = FNR - start + 1; if (n > 100) printf "%s:%d: %s: %d lines\n", FILENAME, start, name, n; start = 0 }' \
	src/*.c netlink/*.c)
expect_eq "$long" "" "no function in src/ or netlink/ is over 100 lines"

# --- tests/run-all runs no stale unit test binary ----------------------------------------
r=$tmp/ra
mkdir -p "$r/tests/unit" "$r/build/test"
cp tests/run-all "$r/tests/"
printf 'int main(void) { return 0; }\n' >"$r/tests/unit/test_here.c"
printf '#!/bin/sh\necho "[  PASSED  ] 1 test(s)."\n' >"$r/build/test/test_here"
printf '#!/bin/sh\necho "[  FAILED  ] 1 test(s)."\nexit 1\n' >"$r/build/test/test_gone"
chmod +x "$r/build/test/test_here" "$r/build/test/test_gone"
out=$("$r/tests/run-all" unit 2>&1)
expect_eq "$(tail -n 1 <<<"$out")" "1 passed, 0 failed, 0 skipped" \
	"run-all unit: runs build/test/test_here (its source exists), not the stale test_gone"

echo "build: $pass passed, $fail failed"
[ "$fail" = 0 ]
