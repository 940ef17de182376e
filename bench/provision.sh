#!/bin/bash
# bench/provision.sh - provisioning benchmark (issue 7, part 1). Run as root where the
# kernel can make ipip links (bench/run starts it through tests/vm/run).
#
#   bench/provision.sh [--quick] [--reps R] [--n "1 10 100 1000"] [--no-a] [--out FILE]
#
# For each N, a site with N peers (two networks each) is set up in a scratch network
# namespace (eth0, eth1: veth pairs with addresses and a default route) three ways,
# side by side, R times each, interleaved:
#   gwctl  ./gatewayctl up, up again (unchanged), status, down
#   a      a shell script with one ip/nft/sysctl command per object (the article,
#          wg-quick): ip link add/set up per tunnel, ip route add and nft add rule
#          per network; down: ip link del per tunnel, nft delete table
#   b      the standard tools' best batch path: one `ip -batch` file and one `nft -f`
#          file with sets (the same table shape as gatewayctl's)
# "status" of a and b is what an operator would run instead: ip -d -s link, ip route,
# nft list table. The median time of each operation is printed, with ratios and
# time per peer. Raw lines "RAW N METHOD OP SECONDS" go to --out (default stdout).
# --no-a: skip script a (bench/hub.sh: the N = 1000 targets against b only).
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
GWCTL=${GWCTL:-$root/gatewayctl}
NS=gwbench-prov-$$
reps=3
ns_list="1 10 100 1000"
quick=0
no_a=0
out=''
# (a) spawns about 6 processes per peer (0.65 s per peer in the VM): one run from
# a_one_rep peers on, and above a_full_max peers only the last a_tail peers are run
# per object (on top of the others loaded in bulk); a's total is then estimated
a_one_rep=100
a_full_max=100
a_tail=100

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	--reps) reps=$2; shift 2 ;;
	--n) ns_list=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--no-a) no_a=1; shift ;;
	--run) break ;;
	*) echo "provision.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ $quick = 1 ]; then
	reps=2
	ns_list="1 10 100"
	a_one_rep=10
	a_full_max=1
	a_tail=5
fi

[ "$(id -u)" = 0 ] || { echo "provision.sh: needs root" >&2; exit 77; }
[ -x "$GWCTL" ] || { echo "provision.sh: no $GWCTL (make gatewayctl)" >&2; exit 2; }

LAN_ADDR=192.168.1.126
WAN_ADDR=198.51.100.2
WAN_GW=198.51.100.1

# --- generated files ----------------------------------------------------------------
# peer i (0-based): endpoint 198.18.(i/250).(i%250+1), networks 10.(i/250).(i%250).0/24
# and 172.(16+i/250).(i%250).0/24: no overlap with each other, the LAN or the WAN.
gen_files() { # N DIR [K] (awk: no process per peer)
	mkdir -p "$2"
	awk -v n="$1" -v d="$2" -v k="${3:-0}" -v lan="$LAN_ADDR" -v wan="$WAN_ADDR" -v gw="$WAN_GW" '
	function ep(i) { return sprintf("198.18.%d.%d", int(i / 250), i % 250 + 1) }
	function n1(i) { return sprintf("10.%d.%d.0/24", int(i / 250), i % 250) }
	function n2(i) { return sprintf("172.%d.%d.0/24", 16 + int(i / 250), i % 250) }
	BEGIN {
		f = d "/site.ini"
		printf "[site]\nname = bench\nlan = eth0\nlan_address = %s/24\nwan = eth1\nwan_address = %s/24\ngateway = %s\n", lan, wan, gw > f
		for (i = 0; i < n; i++) printf "\n[peer p%d]\nendpoint = %s\nnetworks = %s, %s\n", i, ep(i), n1(i), n2(i) > f
		close(f)

		# (a) one command per object; with k > 0 only the last k peers are run that
		# way (a-up.sh), on top of the first n-k loaded in bulk (a-pre.*)
		lo = (k > 0 && k < n) ? n - k : 0
		f = d "/a-up.sh"
		print "set -e\nsysctl -qw net.ipv4.ip_forward=1" > f
		if (!lo) {
			print "nft add table ip bench" > f
			print "nft add chain ip bench postrouting \"{ type nat hook postrouting priority srcnat; }\"" > f
		}
		for (i = lo; i < n; i++) {
			t = "gw-p" i
			printf "ip link add %s type ipip local %s remote %s ttl 64\n", t, wan, ep(i) > f
			printf "ip link set %s up\n", t > f
			printf "ip route add %s dev %s src %s\n", n1(i), t, lan > f
			printf "ip route add %s dev %s src %s\n", n2(i), t, lan > f
			printf "nft add rule ip bench postrouting oifname eth0 ip saddr %s snat to %s\n", n1(i), lan > f
			printf "nft add rule ip bench postrouting oifname eth0 ip saddr %s snat to %s\n", n2(i), lan > f
		}
		close(f)
		f = d "/a-down.sh"
		print "set -e" > f
		for (i = lo; i < n; i++) printf "ip link del gw-p%d\n", i > f
		if (!lo) print "nft delete table ip bench\nsysctl -qw net.ipv4.ip_forward=0" > f
		close(f)
		f = d "/a-pre.ip"; g = d "/a-pre.nft"; h = d "/a-pre-down.ip"
		printf "" > f; printf "" > h
		print "table ip bench {\n  chain postrouting { type nat hook postrouting priority srcnat;" > g
		for (i = 0; i < lo; i++) {
			printf "link add gw-p%d type ipip local %s remote %s ttl 64\nlink set gw-p%d up\n", i, wan, ep(i), i > f
			printf "route add %s dev gw-p%d src %s\nroute add %s dev gw-p%d src %s\n", n1(i), i, lan, n2(i), i, lan > f
			printf "    oifname eth0 ip saddr %s snat to %s\n    oifname eth0 ip saddr %s snat to %s\n", n1(i), lan, n2(i), lan > g
			printf "link del gw-p%d\n", i > h
		}
		print "  }\n}" > g
		close(f); close(g); close(h)

		f = d "/b-up.ip"
		for (i = 0; i < n; i++) printf "link add gw-p%d type ipip local %s remote %s ttl 64\n", i, wan, ep(i) > f
		for (i = 0; i < n; i++) printf "link set gw-p%d up\n", i > f
		for (i = 0; i < n; i++) printf "route add %s dev gw-p%d src %s\nroute add %s dev gw-p%d src %s\n", n1(i), i, lan, n2(i), i, lan > f
		close(f)
		f = d "/b-down.ip"
		for (i = 0; i < n; i++) printf "link del gw-p%d\n", i > f
		close(f)

		f = d "/b-up.nft"
		print "table ip bench {" > f
		printf "  set masq { type ipv4_addr; flags interval; elements = { " > f
		for (i = 0; i < n; i++) printf "%s%s, %s", (i ? ", " : ""), n1(i), n2(i) > f
		print " }; }" > f
		printf "  set tunnels { type ifname; elements = { " > f
		for (i = 0; i < n; i++) printf "%s\"gw-p%d\"", (i ? ", " : ""), i > f
		print " }; }" > f
		printf "  set endpoints { type ipv4_addr; elements = { " > f
		for (i = 0; i < n; i++) printf "%s%s", (i ? ", " : ""), ep(i) > f
		print " }; }" > f
		print "  chain postrouting { type nat hook postrouting priority srcnat;" > f
		printf "    oifname \"eth0\" ip saddr @masq counter snat to %s; }\n", lan > f
		print "  chain forward { type filter hook forward priority mangle;" > f
		print "    oifname @tunnels tcp flags syn counter tcp option maxseg size set rt mtu; }" > f
		print "  chain input { type filter hook input priority filter;" > f
		print "    ip protocol 4 ip saddr @endpoints counter accept" > f
		printf "    ip protocol 4 ip daddr %s counter drop; }\n}\n", wan > f
		close(f)
	}'
	chmod 644 "$2/site.ini"
}

# --- inside the scratch namespace: the timed runs ---------------------------------------
if [ "${1:-}" = --run ]; then
	# --run N DIR REPS REPS_A K: prints "RAW N METHOD OP SECONDS" lines (K > 0: script a
	# runs per object for the last K peers only, on top of N-K loaded in bulk: "a~")
	n=$2 d=$3 r=$4 ra=$5 k=$6
	export GATEWAYCTL_RUNDIR=$d/run
	mkdir -p "$GATEWAYCTL_RUNDIR"
	t0=0
	tick() { t0=$EPOCHREALTIME; }
	tock() { # METHOD OP
		local t1=$EPOCHREALTIME
		awk -v n="$n" -v m="$1" -v o="$2" -v a="$t0" -v b="$t1" 'BEGIN { printf "RAW %d %s %s %.6f\n", n, m, o, b - a }'
	}
	must() { # what the step did wrong goes to stderr; the bench stops
		if ! "$@" >"$d/last.out" 2>&1; then
			echo "provision.sh: N=$n: failed: $*" >&2
			tail -n 20 "$d/last.out" >&2
			exit 1
		fi
	}
	std_status() { ip -d -s link show type ipip && ip route show && nft list table ip bench; }
	# warm the page cache (binaries and libraries come over 9p in the VM)
	must "$GWCTL" check "$d/site.ini"
	must sh -c 'ip link show; ip -batch /dev/null; nft list ruleset; sysctl -n net.ipv4.ip_forward'
	am=a
	[ "$k" -gt 0 ] && am=a~
	for ((rep = 0; rep < r; rep++)); do
		tick; must "$GWCTL" up "$d/site.ini"; tock gwctl up
		tick; must "$GWCTL" up "$d/site.ini"; tock gwctl up-unchanged
		grep -q 'no changes' "$d/last.out" || { echo "provision.sh: N=$n: second up was not 'no changes':" >&2; cat "$d/last.out" >&2; exit 1; }
		tick; must "$GWCTL" status "$d/site.ini"; tock gwctl status
		tick; must "$GWCTL" down "$d/site.ini"; tock gwctl down

		if [ "$rep" -lt "$ra" ]; then
			if [ "$k" -gt 0 ]; then must sh -c "ip -batch '$d/a-pre.ip' && nft -f '$d/a-pre.nft'"; fi
			tick; must bash "$d/a-up.sh"; tock $am up
			tick; must std_status; tock $am status
			tick; must bash "$d/a-down.sh"; tock $am down
			if [ "$k" -gt 0 ]; then must sh -c "ip -batch '$d/a-pre-down.ip' && nft delete table ip bench && sysctl -qw net.ipv4.ip_forward=0"; fi
		fi

		tick; must sh -c "sysctl -qw net.ipv4.ip_forward=1 && ip -batch '$d/b-up.ip' && nft -f '$d/b-up.nft'"; tock b up
		tick; must std_status; tock b status
		tick; must sh -c "ip -batch '$d/b-down.ip' && nft delete table ip bench && sysctl -qw net.ipv4.ip_forward=0"; tock b down
	done
	exit 0
fi

# --- outer: namespaces, files, report ------------------------------------------------------
tmp=$(mktemp -d /tmp/gwbench-prov.XXXXXX)
cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

raw=$tmp/raw.txt
: >"$raw"
for n in $ns_list; do
	d=$tmp/n$n
	k=0
	if [ "$n" -gt "$a_full_max" ]; then k=$a_tail; fi
	gen_files "$n" "$d" "$k"
	if ! "$GWCTL" check "$d/site.ini"; then
		echo "provision.sh: generated site file for N=$n does not pass check" >&2
		exit 1
	fi
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth0 type veth peer name eth0p
	ip -n "$NS" link add eth1 type veth peer name eth1p
	for l in eth0 eth0p eth1 eth1p; do ip -n "$NS" link set "$l" up; done
	ip -n "$NS" addr add $LAN_ADDR/24 dev eth0
	ip -n "$NS" addr add $WAN_ADDR/24 dev eth1
	ip -n "$NS" route add default via $WAN_GW
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=0
	ra=$reps
	if [ "$n" -ge "$a_one_rep" ]; then ra=1; fi
	if [ $no_a = 1 ]; then ra=0; fi
	echo "# provisioning N=$n: $reps runs (script a: $ra$([ "$k" = 0 ] || [ "$ra" = 0 ] || echo ", per object for the last $k peers only"))" >&2
	ip netns exec "$NS" "$here/provision.sh" --run "$n" "$d" "$reps" "$ra" "$k" >>"$raw" || exit 1
	ip netns del "$NS"
done
if [ -n "$out" ]; then cp "$raw" "$out"; fi

# the report: medians
echo "# gatewayctl: $GWCTL; reps: $reps; N: $ns_list"
awk -v tail="$a_tail" -v fullmax="$a_full_max" '
	$1 == "RAW" { k = $2 " " $3 " " $4; v[k, ++c[k]] = $5; if (!($2 in seen)) { seen[$2] = 1; ns[++nn] = $2 } }
	function med(k,   i, j, t, m, a) {
		m = c[k]; if (!m) return -1
		for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	# script a at N: measured, or estimated from its last `tail` peers (flag est[n])
	function amed(n, op,   x) {
		x = med(n " a " op); if (x >= 0) return x
		x = med(n " a~ " op); if (x < 0) return -1
		est[n] = 1
		return (op == "status") ? x : x * n / tail
	}
	function ms(x) { return x < 0 ? "-" : sprintf("%.1f", x * 1000) }
	function ratio(x, y) { return (x <= 0 || y <= 0) ? "-" : sprintf("%.1fx", y / x) }
	END {
		print "Provisioning: median wall time (ms); ratio = other / gatewayctl (> 1: gatewayctl is faster)"
		print ""
		printf "| %5s | %-12s | %10s | %12s | %10s | %8s | %8s |\n", "N", "operation", "gatewayctl", "a: per-obj", "b: batch", "vs a", "vs b"
		printf "|------:|--------------|-----------:|-------------:|-----------:|---------:|---------:|\n"
		for (i = 1; i <= nn; i++) {
			n = ns[i]
			split("up up-unchanged status down", ops, " ")
			for (o = 1; o <= 4; o++) {
				op = ops[o]
				g = med(n " gwctl " op)
				a = (op == "up-unchanged") ? -1 : amed(n, op)
				b = (op == "up-unchanged") ? -1 : med(n " b " op)
				as = ms(a); if (a >= 0 && est[n] && op != "status") as = "~" as
				printf "| %5d | %-12s | %10s | %12s | %10s | %8s | %8s |\n", n, op, ms(g), as, ms(b), ratio(g, a), ratio(g, b)
			}
		}
		for (i = 1; i <= nn; i++) if (est[ns[i]]) { printf "\n~ estimated: at N=%d script a ran per object for the last %d peers only (on top of %d loaded in bulk); shown: that time x N/%d (the per-peer cost of a is flat: one process per object)\n", ns[i], tail, ns[i] - tail, tail; break }
		print ""
		print "Linearity: time per peer (ms/peer) at each N, and the marginal cost per added peer from the previous N"
		print ""
		printf "| %5s | %-6s | %9s | %12s | %10s | %14s | %15s |\n", "N", "method", "up/peer", "up marginal", "down/peer", "down marginal", "unch. up/peer"
		printf "|------:|--------|----------:|-------------:|-----------:|---------------:|----------------:|\n"
		split("gwctl a b", mm, " ")
		for (mi = 1; mi <= 3; mi++) {
			m = mm[mi]; pn = 0; pu = 0; pd = 0
			for (i = 1; i <= nn; i++) {
				n = ns[i]
				if (m == "a") { u = amed(n, "up"); dn = amed(n, "down") } else { u = med(n " " m " up"); dn = med(n " " m " down") }
				uu = med(n " " m " up-unchanged")
				if (u < 0) continue
				printf "| %5d | %-6s | %9.3f | %12s | %10s | %14s | %15s |\n", n, m (m == "a" && est[n] ? "~" : ""), u * 1000 / n,
					pn ? sprintf("%.3f", (u - pu) * 1000 / (n - pn)) : "-",
					dn < 0 ? "-" : sprintf("%.3f", dn * 1000 / n),
					(pn && dn >= 0) ? sprintf("%.3f", (dn - pd) * 1000 / (n - pn)) : "-",
					uu < 0 ? "-" : sprintf("%.3f", uu * 1000 / n)
				pn = n; pu = u; pd = dn
			}
		}
		print ""
		print "Targets"
		g = med("100 gwctl up"); a = amed(100, "up")
		if (g > 0 && a > 0) printf "  up at N=100 at least 20x faster than a: %.1fx%s: %s\n", a / g, est[100] ? " (a estimated)" : "", (a / g >= 20 ? "MET" : "MISSED")
		worst = 1e9; wn = ""
		for (i = 1; i <= nn; i++) {
			n = ns[i]
			split("up status down", o2, " ")
			for (o = 1; o <= 3; o++) {
				g = med(n " gwctl " o2[o]); b = med(n " b " o2[o])
				if (g > 0 && b > 0 && b / g < worst) { worst = b / g; wn = "N=" n " " o2[o] }
			}
		}
		if (wn != "") printf "  no slower than b at every N (up, status, down): worst b/gatewayctl %.2fx (%s): %s\n", worst, wn, (worst >= 1 ? "MET" : "MISSED")
		# linearity: marginal cost per peer over consecutive N from 10 on (below, fixed
		# costs dominate); judged when there are two such intervals (N = 10, 100, 1000)
		if (nn >= 3 && ns[nn - 2] >= 10) {
			hi = ns[nn]; mid = ns[nn - 1]; lo = ns[nn - 2]
			m1 = (med(mid " gwctl up") - med(lo " gwctl up")) / (mid - lo)
			m2 = (med(hi " gwctl up") - med(mid " gwctl up")) / (hi - mid)
			printf "  linear in N: marginal up cost per peer %.3f ms (N=%d..%d), %.3f ms (N=%d..%d), ratio %.2f: %s\n", m1 * 1000, lo, mid, m2 * 1000, mid, hi, m2 / m1, (m2 / m1 <= 2 ? "MET (no growth beyond noise)" : "MISSED (cost per peer grows)")
			d1 = (med(mid " gwctl down") - med(lo " gwctl down")) / (mid - lo)
			d2 = (med(hi " gwctl down") - med(mid " gwctl down")) / (hi - mid)
			printf "                 marginal down cost per peer %.3f ms, %.3f ms, ratio %.2f\n", d1 * 1000, d2 * 1000, d2 / d1
		} else print "  linear in N: not judged (needs N = 10, 100 and 1000: the full run)"
		# issue 13, a hub with 1000 spokes: against b at the largest N
		hi = ns[nn]
		split("status down up", o3, " "); split("2 5 1.5", want, " ")
		for (o = 1; o <= 3; o++) {
			g = med(hi " gwctl " o3[o]); b = med(hi " b " o3[o])
			if (g > 0 && b > 0) printf "  %s at N=%d at least %sx faster than b: %.2fx (%.0f ms vs %.0f ms): %s%s\n", o3[o], hi, want[o], b / g, g * 1000, b * 1000, (b / g >= want[o] ? "MET" : "MISSED"), (hi < 1000 ? " (the target is at N=1000)" : "")
		}
		hi = ns[nn]; uu = med(hi " gwctl up-unchanged"); st = med(hi " gwctl status")
		if (uu > 0 && st > 0) printf "  unchanged up <= status at N=%d: %.1f ms vs %.1f ms: %s%s\n", hi, uu * 1000, st * 1000, (uu <= st ? "MET" : "MISSED"), (hi < 1000 ? " (the target is at N=1000: full run)" : "")
	}
' "$raw"
