#!/bin/bash
# The Debian package: `make deb` builds it, lintian finds nothing (no error, no
# warning), it holds what it must; then, in the throwaway VM (its / is an overlay
# on a tmpfs, so dpkg may install there): install, `gatewayctl --version`,
# `systemd-analyze verify` of the units, the completion and the route protocol
# name in use, nothing enabled; an upgrade to a rebuilt package (the changelog's
# version with its last number plus one, e.g. 0.2.0-1 then 0.2.1-1) keeps
# the admin's /etc/gatewayctl/*.ini and an edited conffile; remove, then purge,
# leave no file of the package behind (file lists before and after compared).
#
#   tests/package.sh               build on this machine, then the VM part
#   tests/package.sh --inside A B  the VM part alone (refuses to run outside the VM)
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
# the versions: the changelog's (A) and the rebuild's (B, last number plus one)
deb_a=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
ver_a=${deb_a%-*}
ver_b=${ver_a%.*}.$((${ver_a##*.} + 1))
deb_b=$ver_b-${deb_a##*-}
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { # MSG CMD...: CMD must succeed; its output shown when it does not
	local msg=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$msg"; else
		bad "$msg"
		printf '%s\n' "$out" | head -30 | sed 's/^/    /'
	fi
}
expect_eq() { # ACTUAL EXPECTED MSG
	if [ "$1" = "$2" ]; then ok "$3"; else
		bad "$3"
		printf 'expected: %s\nactual:   %s\n' "$2" "$1" | sed 's/^/    /'
	fi
}

# ---- inside the VM -------------------------------------------------------------------
inside() {
	local a=$1 b=$2 before after files
	# dpkg -i here changes /: only in the VM's throwaway root
	if [ "$(hostname)" != gwctl-vm ] || [ "$(findmnt -no FSTYPE /)" != overlay ]; then
		echo "package.sh --inside: not in the test VM (tests/vm/run): refusing to run dpkg here" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	# every place a package's files or its traces (dpkg, deb-systemd-helper) go
	listing() {
		find /etc /lib/systemd /usr/lib/systemd /usr/sbin /usr/share/man/man5 /usr/share/man/man8 \
			/usr/share/doc/gatewayctl /usr/share/bash-completion /var/lib/dpkg/info /var/lib/systemd \
			2>/dev/null | LC_ALL=C sort
	}
	before=$(listing)
	if ip route show proto gatewayctl >/dev/null 2>&1; then
		echo "# the protocol name gatewayctl is known before installing (a make install on the host?)"
		known_before=1
	else
		known_before=0
	fi

	check "dpkg -i ${a##*/}" dpkg -i "$a"
	expect_eq "$(dpkg-query -W -f='${Status} ${Version}' gatewayctl 2>&1)" "install ok installed $deb_a" "dpkg: installed, $deb_a"
	expect_eq "$(command -v gatewayctl)" /usr/sbin/gatewayctl "gatewayctl is /usr/sbin/gatewayctl"
	expect_eq "$(gatewayctl --version 2>&1)" "gatewayctl $ver_a" "gatewayctl --version: the package's version"
	check "gatewayctl check of the example site file" gatewayctl check /etc/gatewayctl/site.ini.example
	check "systemd-analyze verify gatewayctl@manhattan.service (binary and man pages found)" \
		systemd-analyze verify gatewayctl@manhattan.service
	check "systemd-analyze verify gatewayctl-watch@manhattan.service" \
		systemd-analyze verify gatewayctl-watch@manhattan.service
	check "systemd-analyze verify gatewayctl-metrics.timer and .service" \
		systemd-analyze verify gatewayctl-metrics.timer gatewayctl-metrics.service
	check "man gatewayctl and man gatewayctl.ini find the pages" sh -c 'man -w gatewayctl && man -w 5 gatewayctl.ini'
	check "bash-completion loads the completion on demand" bash -c \
		'. /usr/share/bash-completion/bash_completion; _completion_loader gatewayctl; complete -p gatewayctl | grep -q "_gatewayctl gatewayctl$"'
	if [ $known_before = 0 ]; then
		check "ip route show proto gatewayctl: iproute2 knows the name now" ip route show proto gatewayctl
	fi
	expect_eq "$(find /etc/systemd -name '*gatewayctl*' 2>/dev/null)" "" "nothing enabled by installing"
	check "conffiles: the example site file and the protocol name" sh -c \
		"dpkg-query -W -f='\${Conffiles}' gatewayctl | grep -q '/etc/gatewayctl/site.ini.example' &&
		 dpkg-query -W -f='\${Conffiles}' gatewayctl | grep -q '/etc/iproute2/rt_protos.d/gatewayctl.conf'"
	files=$(dpkg -L gatewayctl)

	# the admin's files, an edited conffile, the timer enabled
	cp sites/manhattan.ini /etc/gatewayctl/manhattan.ini
	printf '[site]\nname = queens\n' >/etc/gatewayctl/queens.ini
	local sum_m sum_q
	sum_m=$(sha256sum </etc/gatewayctl/manhattan.ini)
	sum_q=$(sha256sum </etc/gatewayctl/queens.ini)
	echo "; edited by the admin" >>/etc/gatewayctl/site.ini.example
	check "systemctl enable gatewayctl-metrics.timer (offline: no systemd runs here)" \
		systemctl enable gatewayctl-metrics.timer
	check "... the timer is enabled" test -L /etc/systemd/system/timers.target.wants/gatewayctl-metrics.timer

	check "upgrade: dpkg -i ${b##*/}" dpkg -i --force-confdef --force-confold "$b"
	expect_eq "$(gatewayctl --version 2>&1)" "gatewayctl $ver_b" "upgrade: the new version runs"
	expect_eq "$(sha256sum </etc/gatewayctl/manhattan.ini)" "$sum_m" "upgrade: /etc/gatewayctl/manhattan.ini untouched"
	expect_eq "$(sha256sum </etc/gatewayctl/queens.ini)" "$sum_q" "upgrade: /etc/gatewayctl/queens.ini untouched"
	check "upgrade: the admin's edit of the example kept" grep -q '^; edited by the admin$' /etc/gatewayctl/site.ini.example
	check "upgrade: the timer still enabled" test -L /etc/systemd/system/timers.target.wants/gatewayctl-metrics.timer

	check "dpkg -r gatewayctl" dpkg -r gatewayctl
	check "remove: the binary is gone" test ! -e /usr/sbin/gatewayctl
	check "remove: the units and the completion are gone" sh -c \
		'! ls /lib/systemd/system/gatewayctl* /usr/share/bash-completion/completions/gatewayctl 2>/dev/null | grep -q .'
	check "remove: conffiles stay until purge" test -f /etc/iproute2/rt_protos.d/gatewayctl.conf
	check "remove: the admin's site files stay" sh -c 'test -f /etc/gatewayctl/manhattan.ini && test -f /etc/gatewayctl/queens.ini'

	check "dpkg -P gatewayctl" dpkg -P gatewayctl
	expect_eq "$(dpkg-query -W -f='${Status}' gatewayctl 2>&1 | grep -c installed)" 0 "purge: dpkg knows it no more"
	local left='' f
	while IFS= read -r f; do
		[ -n "$f" ] && [ -f "$f" ] && left="$left $f"
	done <<<"$files"
	expect_eq "$left" "" "purge: no file the package listed remains"
	check "purge: the admin's site files stay" sh -c 'test -f /etc/gatewayctl/manhattan.ini && test -f /etc/gatewayctl/queens.ini'
	after=$(listing)
	expect_eq "$(LC_ALL=C comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | tr '\n' ' ')" \
		"/etc/gatewayctl /etc/gatewayctl/manhattan.ini /etc/gatewayctl/queens.ini " \
		"purge: the file lists before install and after purge differ by the admin's site files only"
	expect_eq "$(LC_ALL=C comm -23 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | tr '\n' ' ')" "" \
		"purge: nothing that was there before is gone"
	echo "package-vm: $pass passed, $fail failed"
	[ $fail = 0 ]
}

if [ "${1:-}" = --inside ]; then
	inside "$2" "$3"
	exit
fi

# ---- on this machine: build, lintian, contents -----------------------------------------
for t in dpkg-buildpackage lintian dh; do
	if ! command -v $t >/dev/null; then
		echo "SKIP - $t is missing (make deps: devscripts, lintian, debhelper)"
		echo "package: 0 passed, 0 failed, 1 skipped"
		exit 77
	fi
done
tmp=$(mktemp -d /tmp/gwt-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

if make -s deb >"$tmp/build-a.log" 2>&1 && [ -f build/deb/gatewayctl_${deb_a}_amd64.deb ]; then
	ok "make deb builds build/deb/gatewayctl_${deb_a}_amd64.deb"
else
	bad "make deb builds build/deb/gatewayctl_${deb_a}_amd64.deb"
	tail -30 "$tmp/build-a.log" | sed 's/^/    /'
	echo "package: $pass passed, $fail failed"
	exit 1
fi
A=$tmp/gatewayctl_${deb_a}_amd64.deb
cp build/deb/gatewayctl_${deb_a}_amd64.deb "$A"
# lintian as an unprivileged user (it warns about root), on the whole upload
chmod -R o+rX build/deb
if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$tmp" TMPDIR="$tmp" \
	lintian --fail-on error,warning build/deb/gatewayctl_${deb_a}_amd64.changes 2>&1) && [ -z "$out" ]; then
	ok "lintian: no error, no warning (overrides: debian/gatewayctl.lintian-overrides)"
else
	bad "lintian: no error, no warning"
	printf '%s\n' "$out" | head -30 | sed 's/^/    /'
fi
contents=$(dpkg-deb -c "$A" | awk '{ print $6 }' | sed 's|^\./|/|')
for f in /usr/sbin/gatewayctl /usr/share/man/man8/gatewayctl.8.gz /usr/share/man/man5/gatewayctl.ini.5.gz \
	/lib/systemd/system/gatewayctl@.service /lib/systemd/system/gatewayctl-watch@.service \
	/lib/systemd/system/gatewayctl-metrics.service \
	/lib/systemd/system/gatewayctl-metrics.timer /etc/iproute2/rt_protos.d/gatewayctl.conf \
	/usr/share/bash-completion/completions/gatewayctl /etc/gatewayctl/site.ini.example \
	/usr/share/doc/gatewayctl/examples/gatewayctl.rules.yml /usr/share/doc/gatewayctl/copyright; do
	if grep -qxF "$f" <<<"$contents"; then ok "the package holds $f"; else bad "the package holds $f"; fi
done
for m in man8/gatewayctl.8 man5/gatewayctl.ini.5; do
	th=$(dpkg-deb --fsys-tarfile "$A" | tar -xOf - "./usr/share/man/$m.gz" | zcat | head -n 1)
	case $th in *"\"gatewayctl $ver_a\""*) ok "$m's .TH says gatewayctl $ver_a" ;;
	*) bad "$m's .TH says gatewayctl $ver_a: $th" ;; esac
done
depends=$(dpkg-deb -f "$A" Depends)
for lib in libmnl0 libnftnl11 libiniparser1 libssl3; do
	if grep -q "\b$lib\b" <<<"$depends"; then ok "Depends (shlibs): $lib"; else bad "Depends (shlibs): $lib ($depends)"; fi
done
if grep -q 'strongswan-swanctl' <<<"$(dpkg-deb -f "$A" Recommends)"; then ok "Recommends: strongSwan (IPsec)"; else bad "Recommends: strongSwan"; fi

# the same, rebuilt as $deb_b: the upgrade. The copy of the first build's tree
# is built again without a clean (-nc; without debhelper's stamp, so every step
# runs): make rebuilds what prints the version and links (the Makefile's
# dependency on debian/changelog, which tests/build.sh checks), not all of it
# (5 s of CPU instead of 22); debian/rules' test says the new version.
cp -a build/deb/src "$tmp/src-b"
rm -f "$tmp/src-b/debian/debhelper-build-stamp" "$tmp/src-b"/debian/*.debhelper.log
{
	printf 'gatewayctl (%s) unstable; urgency=medium\n\n  * Rebuilt by tests/package.sh: the upgrade test.\n\n' "$deb_b"
	printf ' -- %s  %s\n\n' "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -n 1)" "$(date -R)"
	cat debian/changelog
} >"$tmp/src-b/debian/changelog"
if (cd "$tmp/src-b" && dpkg-buildpackage -us -uc -b -nc) >"$tmp/build-b.log" 2>&1; then
	ok "the rebuild as $deb_b"
else
	bad "the rebuild as $deb_b"
	tail -30 "$tmp/build-b.log" | sed 's/^/    /'
fi
B=$tmp/gatewayctl_${deb_b}_amd64.deb

# install, upgrade, remove, purge: only ever in the VM
GATEWAYCTL_FORCE_VM=1 tests/vm/run --timeout 900 -- tests/package.sh --inside "$A" "$B"
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || bad "the VM part ran (tests/vm/run exit $rc)"
echo "package: $pass passed, $fail failed"
[ $fail = 0 ] && [ $rc = 0 ]
