#!/bin/bash
# bench/relay.sh - relay benchmark (issue 7, parts 2 and 3), in the lab (tests/lab/lab.sh).
# Run as root where the kernel can make ipip links (bench/run starts it through
# tests/vm/run). Needs build/bench/{udpsend,udprecv,plainrelay} (make -C bench).
#
#   bench/relay.sh [--quick] [--seconds S] [--sizes "64 512 1400"] [--no-callgrind]
#
# Path: m-app (192.168.1.5) broadcasts to 192.168.1.255:6799 -> relay on m-gw ->
# through the IPIP tunnel -> relay on b-gw -> broadcast 192.168.2.255:6799 -> b-ws
# (192.168.2.3) counts. Three ways, side by side for each payload size:
#   limit  no relay: m-app sends unicast straight to b-ws:6799 through the tunnel
#   plain  build/bench/plainrelay on both gateways (one recvfrom + one sendto each)
#   gwctl  gatewayctl's relay, started by `gatewayctl up` (rate limit set out of the way)
# The sender offers as much as it can for S seconds; the rate is what b-ws received
# (unique datagrams over first-to-last). Then: loss at 80% of gatewayctl's 64-byte rate,
# the relays' resident memory, and gatewayctl relay's instructions per datagram
# (valgrind --tool=callgrind, counters zeroed after a warm-up, dumped after a fixed count).
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/.." && pwd -P)
cd "$root"
GWCTL=${GWCTL:-$root/gatewayctl}
B=$root/build/bench
secs=3
sizes="64 512 1400"
callgrind=1
cg_count=${BENCH_CG_COUNT:-300}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) secs=1; sizes="64 1400"; callgrind=0; shift ;;
	--seconds) secs=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--no-callgrind) callgrind=0; shift ;;
	*) echo "relay.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

[ "$(id -u)" = 0 ] || { echo "relay.sh: needs root" >&2; exit 77; }
for p in udpsend udprecv plainrelay; do
	[ -x "$B/$p" ] || { echo "relay.sh: no $B/$p (make -C bench)" >&2; exit 2; }
done

LAB_PREFIX=gwb-relay-
# shellcheck source=tests/lab/lab.sh
. "$root/tests/lab/lab.sh"

tmp=$(mktemp -d /tmp/gwbench-relay.XXXXXX)
chmod 755 "$tmp"
PIDS=''
cleanup() {
	set +e
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for ns in m-gw b-gw; do
		[ -e "/run/netns/$(lab_ns "$ns")" ] &&
			lab_exec "$ns" env GATEWAYCTL_RUNDIR="$tmp/run-$ns" "$GWCTL" down >/dev/null 2>&1
	done
	lab_down
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log() { echo "# $*" >&2; }
gw() { # NS ARGS...
	local ns=$1
	shift
	mkdir -p "$tmp/run-$ns"
	lab_exec "$ns" env GATEWAYCTL_RUNDIR="$tmp/run-$ns" "$GWCTL" "$@"
}

# site files: the reference offices without [relay] (tunnels only), and with a relay
# whose token bucket does not limit the benchmark
for s in manhattan brooklyn; do
	sed '/^\[relay\]/,$d' "sites/$s.ini" >"$tmp/$s-norelay.ini"
	peer=$([ $s = manhattan ] && echo brooklyn || echo manhattan)
	{
		sed '/^\[relay\]/,$d' "sites/$s.ini"
		printf '[relay]\nports = 6799\npeers = %s\nrate = 1000000\nburst = 1000000\n' "$peer"
	} >"$tmp/$s-relay.ini"
	chmod 644 "$tmp/$s-norelay.ini" "$tmp/$s-relay.ini"
	"$GWCTL" check "$tmp/$s-relay.ini"
done

log "relay: lab up"
lab_up
lab_exec m-app ip route add 192.168.2.0/24 via 192.168.1.126
gw m-gw up "$tmp/manhattan-norelay.ini" >/dev/null
gw b-gw up "$tmp/brooklyn-norelay.ini" >/dev/null
lab_exec b-ws ping -n -q -c 1 -W 2 192.168.1.5 >/dev/null || lab_exec b-ws ping -n -q -c 1 -W 2 192.168.1.5 >/dev/null ||
	{ echo "relay.sh: no path through the tunnel (b-ws cannot ping m-app)" >&2; exit 1; }

RUN=0
# measure NAME LEN DST [RATE] [SECONDS]: b-ws receives on 6799, m-app sends to DST:6799;
# prints "NAME LEN sent S recv U dup D rate R loss L"
measure() {
	local name=$1 len=$2 dst=$3 rate=${4:-0} t=${5:-$secs} s r
	RUN=$((RUN + 1))
	rm -f "$tmp/ready"
	lab_exec b-ws "$B/udprecv" -p 6799 -R $RUN -t $((t * 3 + 20)) -i 1 -f "$tmp/ready" >"$tmp/recv.out" &
	local rp=$!
	local i
	for i in $(seq 50); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
	s=$(lab_exec m-app "$B/udpsend" -s 192.168.1.5 -d "$dst" -p 6799 -l "$len" -t "$t" -r "$rate" -R $RUN)
	wait $rp || true
	r=$(cat "$tmp/recv.out")
	# sent N seconds S rate R errors E / received N unique U dup D other O seconds S rate R
	awk -v name="$name" -v len="$len" -v s="$s" -v r="$r" 'BEGIN {
		split(s, a, " "); split(r, b, " ")
		loss = a[2] > 0 ? (a[2] - b[4]) * 100 / a[2] : 0
		printf "RES %s %d sent %d offered %d recv %d dup %d rate %d loss %.3f\n", name, len, a[2], a[6], b[4], b[6], b[12], loss
	}'
}

# --- phase A: no relay, and the plain relay ------------------------------------------------------
for len in $sizes; do
	log "relay: $len bytes: no-relay limit, plain relay"
	measure limit "$len" 192.168.2.3 | tee -a "$tmp/res"
	# ip netns exec execs the relay: $! is its pid
	ip netns exec "$(lab_ns m-gw)" "$B/plainrelay" 6799 192.168.2.126 6797 2>>"$tmp/plain.log" &
	pm=$!
	ip netns exec "$(lab_ns b-gw)" "$B/plainrelay" 6797 192.168.2.255 6799 2>>"$tmp/plain.log" &
	pb=$!
	PIDS="$PIDS $pm $pb"
	sleep 0.3
	measure plain "$len" 192.168.1.255 | tee -a "$tmp/res"
	for p in $pm $pb; do
		awk -v p="$p" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { printf "MEM plain %s rss_kib %d hwm_kib %d\n", p, r, h }' "/proc/$p/status" >>"$tmp/res"
	done
	kill $pm $pb 2>/dev/null || true
	wait $pm $pb 2>/dev/null || true
done

# --- phase B: gatewayctl's relay, started by up ----------------------------------------------------
relay_pid() { # NS SITE (RUNDIR/ns-COOKIE/private/SITE.relay.pid: the pid is its first line)
	local f p
	f=$(ls "$tmp/run-$1"/ns-*/private/"$2.relay.pid" 2>/dev/null | head -n 1)
	[ -n "$f" ] && [ -s "$f" ] || return 1
	p=$(head -n 1 "$f")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}
gw_ok=1
if ! gw m-gw up "$tmp/manhattan-relay.ini" >"$tmp/up-m.log" 2>&1 || ! gw b-gw up "$tmp/brooklyn-relay.ini" >"$tmp/up-b.log" 2>&1; then
	gw_ok=0
	echo "relay.sh: gatewayctl up with a [relay] section failed:" >&2
	cat "$tmp/up-m.log" "$tmp/up-b.log" >&2
fi
for i in $(seq 50); do
	relay_pid m-gw manhattan >/dev/null && relay_pid b-gw brooklyn >/dev/null && break
	sleep 0.1
done
if [ $gw_ok = 1 ] && ! { relay_pid m-gw manhattan >/dev/null && relay_pid b-gw brooklyn >/dev/null; }; then
	gw_ok=0
	echo "relay.sh: gatewayctl's relay does not run after up (no live pid in RUNDIR/ns-COOKIE/private/SITE.relay.pid)" >&2
fi
if [ $gw_ok = 1 ]; then
	for len in $sizes; do
		log "relay: $len bytes: gatewayctl relay"
		measure gwctl "$len" 192.168.1.255 | tee -a "$tmp/res"
	done
	max64=$(awk '$1 == "RES" && $2 == "gwctl" && $3 == 64 { print $13 }' "$tmp/res")
	if [ -n "$max64" ] && [ "$max64" -gt 0 ]; then
		r80=$((max64 * 8 / 10))
		log "relay: loss at 80% of the 64-byte maximum ($r80/s)"
		measure gwctl80 64 192.168.1.255 "$r80" $((secs * 2)) | tee -a "$tmp/res"
	fi
	for s in m-gw:manhattan b-gw:brooklyn; do
		p=$(relay_pid "${s%%:*}" "${s#*:}")
		awk -v p="$p" -v s="${s#*:}" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { printf "MEM gwctl-%s %s rss_kib %d hwm_kib %d\n", s, p, r, h }' "/proc/$p/status" >>"$tmp/res"
	done
	cat "$tmp"/run-m-gw/ns-*/manhattan.relay.stats >/dev/null 2>&1 || true
fi

# --- phase C: instructions per datagram (callgrind) ---------------------------------------------------
# Two runs of both relays under callgrind, relaying cg_small and cg_small + cg_count
# datagrams; the difference of the totals (written at exit), divided by the difference
# of the counts, is the cost per datagram without start-up and shutdown.
# (callgrind_control cannot reach the relay once it has dropped its privileges.)
cg_small=50
if [ $gw_ok = 1 ] && [ $callgrind = 1 ] && command -v valgrind >/dev/null; then
	log "relay: callgrind: $cg_small and $((cg_small + cg_count)) datagrams of 64 bytes"
	for s in m-gw:manhattan b-gw:brooklyn; do
		p=$(relay_pid "${s%%:*}" "${s#*:}") && kill "$p"
	done
	sleep 1
	mkdir -p "$tmp/cg"
	chmod 777 "$tmp/cg"
	for cnt in $cg_small $((cg_small + cg_count)); do
		for s in m-gw:manhattan b-gw:brooklyn; do
			ns=${s%%:*} site=${s#*:}
			# callgrind creates its output file at start (as root, mode 600) and writes it
			# at exit, by then as the relay's unprivileged user: make it writable first
			install -m 666 /dev/null "$tmp/cg/$site.$cnt.out"
			# ip netns exec execs valgrind, which keeps the pid: $! is the relay's
			ip netns exec "$(lab_ns "$ns")" env GATEWAYCTL_RUNDIR="$tmp/run-$ns" \
				valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/$site.$cnt.out" \
				"$GWCTL" relay -f "$tmp/$site-relay.ini" >"$tmp/cg/$site.$cnt.log" 2>&1 &
			PIDS="$PIDS $!"
			eval "cgpid_$site=$!"
		done
		for i in $(seq 600); do
			relay_pid m-gw manhattan >/dev/null && relay_pid b-gw brooklyn >/dev/null && break
			sleep 0.1
		done
		if ! { relay_pid m-gw manhattan >/dev/null && relay_pid b-gw brooklyn >/dev/null; }; then
			echo "relay.sh: gatewayctl relay did not start under valgrind within 60 s:" >&2
			tail -n 5 "$tmp/cg/"*.log >&2
			break
		fi
		measure "cg$cnt" 64 192.168.1.255 100 $(((cnt + 99) / 100)) >>"$tmp/res"
		# shellcheck disable=SC2154 # set by eval
		kill "$cgpid_manhattan" "$cgpid_brooklyn" 2>/dev/null || true
		wait "$cgpid_manhattan" "$cgpid_brooklyn" 2>/dev/null || true
		for site in manhattan brooklyn; do
			ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg/$site.$cnt.out" 2>/dev/null || true)
			got=$(awk -v c="cg$cnt" '$1 == "RES" && $2 == c { print $9 }' "$tmp/res")
			echo "CG $site $cnt ${got:-0} ${ir:-0}" >>"$tmp/res"
			if [ -z "$ir" ]; then
				echo "relay.sh: no callgrind totals for $site ($cnt):" >&2
				ls -la "$tmp/cg" >&2
				tail -n 8 "$tmp/cg/$site.$cnt.log" >&2
			fi
		done
		log "relay: callgrind run with $cnt: $(grep "^CG .* $cnt " "$tmp/res" | tr '\n' ' ')"
	done
fi

# --- report ---------------------------------------------------------------------------------------
echo
awk -v secs="$secs" -v gwok="$gw_ok" '
	$1 == "RES" { rate[$2, $3] = $13; loss[$2, $3] = $15; sent[$2, $3] = $5; off[$2, $3] = $7; if (!($3 in seen) && $2 != "gwctl80" && $2 !~ /^cg/) { seen[$3] = 1; sz[++n] = $3 } }
	$1 == "RES" && $2 == "gwctl80" { l80 = $15; r80 = $7; s80 = $5; g80 = $9 }
	$1 == "MEM" { mem[++nm] = $0 }
	$1 == "CG" { cg[++nc] = $0 }
	function r(x) { return x == "" ? "-" : x }
	function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
	END {
		printf "Relay: datagrams/s received by b-ws end to end (offered for %d s at full speed by m-app)\n\n", secs
		printf "| %7s | %10s | %10s | %10s | %12s | %12s | %12s |\n", "payload", "no relay", "plain", "gatewayctl", "gwctl/plain", "gwctl/limit", "plain/limit"
		printf "|--------:|-----------:|-----------:|-----------:|-------------:|-------------:|-------------:|\n"
		for (i = 1; i <= n; i++) {
			s = sz[i]
			printf "| %7d | %10s | %10s | %10s | %12s | %12s | %12s |\n", s, r(rate["limit", s]), r(rate["plain", s]), r(rate["gwctl", s]),
				ratio(rate["gwctl", s], rate["plain", s]), ratio(rate["gwctl", s], rate["limit", s]), ratio(rate["plain", s], rate["limit", s])
		}
		printf "\nOffered (sent/s) and loss (%% of sent not received):\n\n"
		for (i = 1; i <= n; i++) { s = sz[i]
			printf "  %4d B: limit offered %s loss %s%%; plain offered %s loss %s%%; gatewayctl offered %s loss %s%%\n", s,
				r(off["limit", s]), r(loss["limit", s]), r(off["plain", s]), r(loss["plain", s]), r(off["gwctl", s]), r(loss["gwctl", s]) }
		if (s80 != "") printf "\nLoss at 80%% of the relay maximum (64 B, %s/s offered, %s sent, %s received): %s%%\n", r80, s80, g80, l80
		print "\nResident memory (KiB):"
		for (i = 1; i <= nm; i++) { split(mem[i], m, " "); printf "  %-18s pid %-6s VmRSS %6d  VmHWM %6d\n", m[2], m[3], m[5], m[7]; if (m[2] ~ /^gwctl/ && m[5] > maxrss) maxrss = m[5] }
		# CG SITE COUNT RECEIVED IR: per site, two runs
		for (i = 1; i <= nc; i++) { split(cg[i], c, " "); site = c[2]
			if (!(site in n1)) { n1[site] = c[4]; i1[site] = c[5]; sites[++ns] = site } else { n2[site] = c[4]; i2[site] = c[5] } }
		if (ns) print "\nInstructions per datagram (callgrind; difference of two runs, so start-up and exit cancel out):"
		for (i = 1; i <= ns; i++) { site = sites[i]
			if (n2[site] > n1[site] && i2[site] > i1[site]) {
				per = (i2[site] - i1[site]) / (n2[site] - n1[site]); tot += per
				printf "  relay %-10s %d vs %d datagrams delivered, %d vs %d Ir: %.0f instructions per datagram\n", site, n1[site], n2[site], i1[site], i2[site], per
			} else printf "  relay %-10s no usable counts\n", site
		}
		if (tot) printf "  both relays together (LAN in, frame out; frame in, rebroadcast): %.0f instructions per datagram end to end\n", tot
		print "\nTargets"
		if (!gwok) print "  gatewayctl relay: NOT MEASURED (see the error above)"
		else {
			a = rate["gwctl", 64]; p = rate["plain", 64]; l = rate["limit", 64]
			printf "  64 B: at least 3x the plain relay: %sx: %s\n", ratio(a, p), (p > 0 && a / p >= 3 ? "MET" : "MISSED")
			printf "  64 B: at least 50%% of the no-relay limit: %.0f%%: %s\n", (l > 0 ? a * 100 / l : 0), (l > 0 && a / l >= 0.5 ? "MET" : "MISSED")
			if (l80 != "") printf "  under 0.1%% loss at 80%% of the maximum: %s%%: %s\n", l80, (l80 + 0 < 0.1 ? "MET" : "MISSED")
			if (maxrss) printf "  resident memory under 4 MiB: %d KiB: %s\n", maxrss, (maxrss < 4096 ? "MET" : "MISSED")
		}
	}
' "$tmp/res"
