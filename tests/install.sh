#!/bin/bash
# `make install` honours PREFIX and DESTDIR and installs what README says; the
# systemd unit passes `systemd-analyze verify`; the man pages render without
# warnings; every command answers --help.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
check() { # MSG CMD...
	local msg=$1
	shift
	if "$@" >/dev/null 2>"$tmp/err"; then
		pass=$((pass + 1)); echo "ok - $msg"
	else
		fail=$((fail + 1)); echo "FAIL - $msg"; sed 's/^/    /' "$tmp/err"
	fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
check "make install PREFIX=/usr DESTDIR=..." make -s install PREFIX=/usr DESTDIR="$dest"
for f in usr/sbin/gatewayctl usr/share/man/man8/gatewayctl.8 usr/share/man/man5/gatewayctl.ini.5 \
	lib/systemd/system/gatewayctl@.service etc/iproute2/rt_protos.d/gatewayctl.conf \
	etc/gatewayctl/site.ini.example; do
	check "installed $f" test -s "$dest/$f"
done
check "the binary is executable" test -x "$dest/usr/sbin/gatewayctl"
check "the unit runs /usr/sbin/gatewayctl" grep -q '^ExecStart=/usr/sbin/gatewayctl up --boot /etc/gatewayctl/%i.ini$' \
	"$dest/lib/systemd/system/gatewayctl@.service"
# ordering (issue 18): after nftables and strongSwan, and following their reloads
unit=$dest/lib/systemd/system/gatewayctl@.service
unit_has() { # KEY VALUE: some KEY= line of the unit lists VALUE
	grep "^$1=" "$unit" | tr ' =' '\n\n' | grep -qx "$2"
}
check "the unit starts after nftables.service" unit_has After nftables.service
check "the unit starts after strongswan.service (charon-systemd)" unit_has After strongswan.service
check "the unit starts after strongswan-starter.service" unit_has After strongswan-starter.service
check "a stop or restart of nftables.service reaches the unit (PartOf)" unit_has PartOf nftables.service
check "an nftables reload (flush ruleset) re-applies the site" unit_has ReloadPropagatedFrom nftables.service
check "a strongSwan reload (swanctl --load-all) re-applies the site" unit_has ReloadPropagatedFrom strongswan.service
check "the unit's reload is up FILE" grep -q '^ExecReload=/usr/sbin/gatewayctl up /etc/gatewayctl/%i.ini$' "$unit"
check "the start timeout leaves room for up --boot's 90 s wait for charon" \
	sh -c "t=\$(sed -n 's/^TimeoutStartSec=//p' '$unit'); test -n \"\$t\" && test \"\$t\" -gt 90"
if command -v systemd-analyze >/dev/null; then
	# verify the installed unit, its binary looked up inside DESTDIR
	sed "s|/usr/sbin/|$dest/usr/sbin/|" "$dest/lib/systemd/system/gatewayctl@.service" \
		>"$tmp/gatewayctl@manhattan.service"
	check "systemd-analyze verify gatewayctl@manhattan.service" \
		systemd-analyze verify --man=no "$tmp/gatewayctl@manhattan.service"
fi
# the watcher's unit (issue 20): runs watch, leaves the site and the relay at stop
wunit=$dest/lib/systemd/system/gatewayctl-watch@.service
check "installed the watcher's unit" test -s "$wunit"
check "the watcher's unit runs watch" grep -q '^ExecStart=/usr/sbin/gatewayctl watch /etc/gatewayctl/%i.ini$' "$wunit"
check "the watcher's unit starts after nftables and strongSwan" sh -c "grep '^After=' '$wunit' | grep -q nftables.service && grep '^After=' '$wunit' | grep -q strongswan.service"
check "the watcher's stop signals only the watcher (KillMode=process)" grep -qx 'KillMode=process' "$wunit"
check "the watcher's unit does not stop gatewayctl@ (its ExecStop is down: the site would drop)" \
	sh -c '! grep -q "^Conflicts=" "$1"' sh "$wunit"
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/sbin/|$dest/usr/sbin/|" "$wunit" >"$tmp/gatewayctl-watch@manhattan.service"
	check "systemd-analyze verify gatewayctl-watch@manhattan.service" \
		systemd-analyze verify --man=no "$tmp/gatewayctl-watch@manhattan.service"
fi
check "the template site file is valid" ./gatewayctl check templates/site.ini.example
check "make uninstall removes it all" sh -c "make -s uninstall PREFIX=/usr DESTDIR='$dest' && ! find '$dest' -type f | grep -q ."
for m in docs/gatewayctl.8 docs/gatewayctl.ini.5; do
	check "$m renders without warnings" sh -c "groff -man -ww -z '$m' 2>&1 | { ! grep -q .; }"
done
for c in check plan up down confirm rollback watch; do
	check "gatewayctl $c --help" sh -c "./gatewayctl $c --help | grep -q '^Usage: gatewayctl $c'"
done
check "gatewayctl --version" sh -c "./gatewayctl --version | grep -q '^gatewayctl [0-9]'"
check "gatewayctl help lists the commands" sh -c "./gatewayctl help | grep -q '^  up '"
check "an unknown command exits 2" sh -c "./gatewayctl frobnicate 2>/dev/null; test \$? = 2"
check "check without a file exits 2" sh -c "./gatewayctl check 2>/dev/null; test \$? = 2"
check "check sites/*.ini is silent and exits 0" sh -c "test -z \"\$(./gatewayctl check sites/*.ini 2>&1)\""
check "plan as an unprivileged user prints the tunnel, route and SNAT" sh -c \
	"setpriv --reuid=65534 --regid=65534 --clear-groups ./gatewayctl plan sites/manhattan.ini > '$tmp/plan' &&
	 grep -q '^ip link add name gw-brooklyn' '$tmp/plan' && grep -q '^ip route add 192.168.2.0/24 dev gw-brooklyn' '$tmp/plan' &&
	 grep -q 'snat to 192.168.1.126' '$tmp/plan'"
# a site file name with a line break or a quote: the relay's plan line stays one
# line, a shell word that names the file
mkdir -m 755 "$tmp/names"
nl_name="$tmp/names/$(printf "it's\nodd.ini")"
cp sites/manhattan.ini "$nl_name"
check "plan: a file name with a line break and a quote stays one shell word on one line" bash -c \
	"./gatewayctl plan --full \"\$1\" > '$tmp/plan-nl' && line=\$(grep '^gatewayctl relay -f ' '$tmp/plan-nl') &&
	 eval \"set -- \$(echo \"\$line\" | sed 's/^gatewayctl relay -f //; s/ --daemon .*//')\" && test \"\$1\" = \"\$0\"" \
	"$nl_name" "$nl_name"
echo "install: $pass passed, $fail failed"
[ $fail = 0 ]
