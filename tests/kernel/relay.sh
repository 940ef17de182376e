#!/bin/bash
# tests/kernel/relay.sh - the broadcast relay (issues 5 and 10) in the lab: every size
# arrives once and intact with the sender's address, non-peers never reach the LAN,
# both ways on two ports without echo or duplicates, the rate limit; and its
# hardening: no capability left, no inherited descriptor, root-only pid and lock
# files, never a signal to a process that is not the relay, the validated site
# bytes (never the file again), budgets in bytes fair between senders, sends that
# never block, SIGTERM answered at once under load, nothing left after stopping.
#
#   tests/vm/run -- tests/kernel/all.sh relay
#   TEST_RELAY_PARTS="load" tests/vm/run -- tests/kernel/all.sh relay   (some parts only:
#   basic twoports rate identity load end; the set-up always runs)
set -eu
. "$(dirname "$0")/lib/lib.sh"
. "$(dirname "$0")/lib/gw.sh"
t_need_ipip
lab_setup
trap 't_cleanup; gw_cleanup' EXIT

PARTS=${TEST_RELAY_PARTS:-basic twoports rate identity load end}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

lab_add_host m-obs m-lan 192.168.1.9/24
lab_add_host b-obs b-lan 192.168.2.9/24
lab_add_host b-evil b-lan 192.168.2.66/24
lab_exec m-app ip route add 192.168.2.0/24 via 192.168.1.126

# --- helpers ---------------------------------------------------------------------------

# udp_recv NS PORT SECONDS OUT [COUNT]: in the background, one line per datagram received
# on PORT (any address): "SRC SPORT LEN SHA256-PREFIX"; the file ends with "END" after
# SECONDS, or after COUNT datagrams when given
udp_recv() {
	local ns=$1 port=$2 secs=$3 out=$4 count=${5:-0}
	lab_exec "$ns" python3 -c '
import hashlib, socket, sys, time
port, secs, count = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("0.0.0.0", port))
end = time.time() + secs
out = open(sys.argv[3], "w", buffering=1)
out.write("READY\n")
while True:
    left = end - time.time()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        d, a = s.recvfrom(70000)
    except socket.timeout:
        break
    out.write("%s %d %d %s\n" % (a[0], a[1], len(d), hashlib.sha256(d).hexdigest()[:16]))
    count -= 1
    if count == 0:
        break
out.write("END\n")
' "$port" "$secs" "$out" "$count" &
	T_PIDS="$T_PIDS $!"
	wait_for 10 grep -q READY "$out" || true
}

# udp_send NS SRC SPORT DST DPORT SIZE COUNT [TAG] [INTERVAL]: COUNT datagrams of SIZE bytes
# (contents depend on TAG and the index); prints "SRC SPORT LEN SHA" of each
udp_send() {
	lab_exec "$1" python3 -c '
import hashlib, socket, sys, time
src, sport, dst, dport, size, count, tag, gap = sys.argv[1:9]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
s.bind((src, int(sport)))
for i in range(int(count)):
    seed = ("%s-%s-%d" % (tag, size, i)).encode()
    d = b""
    while len(d) < int(size):
        seed = hashlib.sha256(seed).digest()
        d += seed
    d = d[:int(size)]
    while True:
        try:
            s.sendto(d, (dst, int(dport)))
            break
        except BlockingIOError:
            time.sleep(0.001)
    print("%s %s %d %s" % (src, sport, len(d), hashlib.sha256(d).hexdigest()[:16]))
    if float(gap):
        time.sleep(float(gap))
' "$2" "$3" "$4" "$5" "$6" "$7" "${8:-x}" "${9:-0}"
}

# flood NS SRC SPORT DST DPORT SIZE RATE SECONDS: datagrams of SIZE bytes at up to RATE/s
# (as fast as it can when it cannot keep up), for SECONDS; prints how many it sent. At the
# lowest priority: the senders stand for other machines, here they share the one CPU.
flood() {
	lab_exec "$1" nice -n 19 python3 -c '
import socket, sys, time
src, sport, dst, dport, size, rate, secs = sys.argv[1:8]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind((src, int(sport)))
d, gap, n = bytes(int(size)), 1.0 / float(rate), 0
start = time.monotonic()
end = start + float(secs)
while True:
    now = time.monotonic()
    if now >= end:
        break
    try:
        s.sendto(d, (dst, int(dport)))
        n += 1
    except (BlockingIOError, OSError):
        time.sleep(0.001)
    due = start + n * gap
    if due > now:
        time.sleep(due - now)
print(n)
' "$2" "$3" "$4" "$5" "$6" "$7" "$8"
}

# frame_send NS SRC DST DPORT ORIG_SRC PORT: one well-formed relay frame
frame_send() {
	lab_exec "$1" python3 -c '
import socket, struct, sys
src, dst, dport, osrc, port = sys.argv[1:6]
payload = b"forged"
hdr = struct.pack("!HBBIHHIHH", 0x6772, 1, 1, struct.unpack("!I", socket.inet_aton(osrc))[0],
                  5555, int(port), 77, len(payload), 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind((src, 0))
s.sendto(hdr + payload, (dst, int(dport)))
' "$2" "$3" "$4" "$5" "$6"
}

# where gatewayctl keeps each gateway's state (computed once: a python start each)
mkdir -p "$(gw_rundir m-gw)" "$(gw_rundir b-gw)"
SD_m_gw=$(gw_statedir m-gw)
SD_b_gw=$(gw_statedir b-gw)
statedir() { if [ "$1" = m-gw ]; then echo "$SD_m_gw"; else echo "$SD_b_gw"; fi; }
privdir() { echo "$(statedir "$1")/private"; }
pidfile() { echo "$(privdir "$1")/$2.relay.pid"; }

# relay_stats NS SITE: the counters file as text, one "KEY VALUE" per line
relay_stats() {
	python3 - "$(statedir "$1")/$2.relay.stats" <<-'EOF'
		import struct, sys
		names = ["not-broadcast", "not-from-lan", "rate", "bad-frame", "unknown-peer", "wrong-tunnel",
		         "unknown-port", "hops", "send-error", "too-big", "reassembly", "queue-full"]
		b = open(sys.argv[1], "rb").read()
		(magic, ver, hsize, nports, npeers, nr, psize, qsize, pid, started, chash, ticks) = struct.unpack_from("<8IqqQQ", b, 0)
		print("pid", pid)
		print("start_ticks", ticks)
		off = hsize
		def drops(prefix, o):
		    for i in range(nr):
		        v = struct.unpack_from("<Q", b, o + 8 * i)[0]
		        if v:
		            print("%s.%s %d" % (prefix, names[i] if i < len(names) else i, v))
		for _ in range(nports):
		    port, _, rcv, rel, reb = struct.unpack_from("<IIQQQ", b, off)
		    print("port%d.received %d\nport%d.relayed %d\nport%d.rebroadcast %d" % (port, rcv, port, rel, port, reb))
		    drops("port%d.dropped" % port, off + 32)
		    off += psize
		for _ in range(npeers):
		    name = b[off:off + 40].split(b"\0")[0].decode()
		    sent, rcv = struct.unpack_from("<QQ", b, off + 40)
		    print("%s.sent %d\n%s.received %d" % (name, sent, name, rcv))
		    drops("%s.dropped" % name, off + 56)
		    off += qsize
		drops("other.dropped", off)
	EOF
}

stat_of() { # NS SITE KEY
	relay_stats "$1" "$2" 2>/dev/null | awk -v k="$3" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

# proc_state PID: "STATE STARTTIME" from /proc/PID/stat (fields 3 and 22)
proc_state() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $1, $20 }'
}

# relay_pid NS SITE: the relay's pid, checked independently of gatewayctl the way it
# checks it: the pid file's process exists, is not a zombie, started when the file says
relay_pid() {
	local f pid='' start='' st
	f=$(pidfile "$1" "$2")
	[ -s "$f" ] || return 0
	{ read -r pid; read -r start; } <"$f" || true
	[ -n "$pid" ] || return 0
	st=$(proc_state "$pid")
	if [ -n "$st" ] && [ "${st% *}" != Z ] && [ "${st#* }" = "$start" ]; then echo "$pid"; fi
}
relay_up() { [ -n "$(relay_pid "$1" "$2")" ]; }

# start_relay NS FILE SITE [quiet]: unless one runs, `relay -d` in the foreground
# (quiet: without -d, whose line per datagram would slow a flood down)
start_relay() {
	local ns=$1 file=$2 site=$3 args=(-d)
	if relay_up "$ns" "$site"; then return 0; fi
	if [ "${4:-}" = quiet ]; then args=(); fi
	lab_exec "$ns" env GATEWAYCTL_RUNDIR="$(gw_rundir "$ns")" ASAN_OPTIONS=detect_leaks=0 \
		"$GWCTL" relay "${args[@]}" -f "$file" >>"$T_TMP/relay-$ns.log" 2>&1 &
	T_PIDS="$T_PIDS $!"
	wait_for 20 relay_up "$ns" "$site"
}

stop_relay() { # NS SITE
	local pid i
	pid=$(relay_pid "$1" "$2")
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		relay_up "$1" "$2" || return 0
		sleep 0.1
	done
	fail "the relay of $2 (pid $pid) stops on SIGTERM"
	{
		grep -E '^(State|SigBlk|SigPnd|ShdPnd)' "/proc/$pid/status"
		echo "wchan: $(cat "/proc/$pid/wchan" 2>/dev/null)"
		cat "/proc/$pid/stack" 2>/dev/null
		grep -c 'signal 15' "$T_TMP/relay-$1.log"
	} 2>&1 | t_note
	kill -9 "$pid" 2>/dev/null || true
	wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" || true
	return 1
}

# expect_lines MSG FILE EXPECTED: each line of EXPECTED occurs exactly once in FILE,
# and FILE holds no other datagram
expect_lines() {
	local msg=$1 file=$2 expected=$3 got
	got=$(grep -v -e '^READY$' -e '^END$' "$file" | sort)
	if [ "$got" = "$(printf '%s\n' "$expected" | sort)" ]; then
		ok "$msg"
	else
		fail "$msg"
		printf '%s\n' "$expected" | sort >"$T_TMP/expected.txt"
		printf '%s\n' "$got" >"$T_TMP/got.txt"
		diff "$T_TMP/expected.txt" "$T_TMP/got.txt" | head -20 | t_note
	fi
}

show_logs() {
	local f
	for f in "$T_TMP"/relay-*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last lines)"
		tail -n 30 "$f"
	done | t_note
}

# fd_kinds PID NS: one word per open descriptor of PID, sorted: devnull, signalfd,
# eventpoll, udp, raw, unix, netlink (sockets looked up by inode in the tables of
# PID's network namespace), or "other:TARGET"
fd_kinds() {
	local pid=$1 fd t ino
	for fd in /proc/"$pid"/fd/*; do
		t=$(readlink "$fd" 2>/dev/null) || continue
		case $t in
		*/dev/null) # (seen from another mount namespace, with a prefix)
			if [ "$(stat -L -c '%F %t:%T' "$fd")" = "character special file 1:3" ]; then echo devnull; else echo "other:$t"; fi ;;
		'anon_inode:[signalfd]') echo signalfd ;;
		'anon_inode:[eventpoll]') echo eventpoll ;;
		socket:*)
			ino=${t#socket:[}
			ino=${ino%]}
			if awk -v i="$ino" 'NR > 1 && $10 == i { f = 1 } END { exit !f }' "/proc/$pid/net/udp"; then echo udp
			elif awk -v i="$ino" 'NR > 1 && $10 == i { f = 1 } END { exit !f }' "/proc/$pid/net/raw"; then echo raw
			elif awk -v i="$ino" 'NR > 1 && $NF == i { f = 1 } END { exit !f }' "/proc/$pid/net/netlink"; then echo netlink
			elif awk -v i="$ino" 'NR > 1 && $7 == i { f = 1 } END { exit !f }' "/proc/$pid/net/unix"; then echo unix
			else echo "other:$t"; fi ;;
		*) echo "other:$t" ;;
		esac
	done | sort | tr '\n' ' '
}

# sigterm_ms PID: send SIGTERM and print the milliseconds until the process is gone
# (waited on through a pidfd: no polling granularity; real-time priority, so that the
# measurement does not wait for the CPU); 99999 if it is not within 10 s
sigterm_ms() {
	chrt -f 10 python3 -c '
import os, select, signal, sys, time
pid = int(sys.argv[1])
fd = os.pidfd_open(pid)
t = time.monotonic()
os.kill(pid, signal.SIGTERM)
r, _, _ = select.select([fd], [], [], 10)
print(int((time.monotonic() - t) * 1000) if r else 99999)
' "$1"
}

# the site files, copies: one of them is overwritten while its relay runs
M=$(site_file manhattan <sites/manhattan.ini)
B=$(site_file brooklyn <sites/brooklyn.ini)

# --- set-up: up starts the relays ---------------------------------------------------------
# Manhattan's `up` runs under strace (-f: the relay it starts too), Brooklyn's with a file
# descriptor the calling shell opened on /etc/shadow: neither may reach the relay.
# (LeakSanitizer cannot work under ptrace)
lab_exec m-gw strace -f -q -o "$T_TMP/up-m.trace" -e trace=open,openat,execve \
	env GATEWAYCTL_RUNDIR="$(gw_rundir m-gw)" ASAN_OPTIONS=detect_leaks=0 "$GWCTL" up "$M" >"$T_TMP/up-m.log" 2>&1 &
strace_pid=$!
T_PIDS="$T_PIDS $strace_pid"
up_pid_line() { head -n 1 "$T_TMP/up-m.trace" 2>/dev/null | awk '{ print $1 }'; }
up_done() {
	local p
	p=$(up_pid_line)
	[ -n "$p" ] && grep -qE "^$p +\+\+\+ exited" "$T_TMP/up-m.trace"
}
wait_for 120 up_done || true
up_pid=$(up_pid_line)
if grep -qE "^$up_pid +\+\+\+ exited with 0 \+\+\+" "$T_TMP/up-m.trace"; then ok "up manhattan (under strace)"
else fail "up manhattan (under strace)"; t_note <"$T_TMP/up-m.log"; fi
kill "$strace_pid" 2>/dev/null || true # detaches from the relay, which goes on
wait "$strace_pid" 2>/dev/null || true
# shellcheck disable=SC2016
expect_ok "up brooklyn (with /etc/shadow open on descriptor 7)" \
	bash -c 'exec 7</etc/shadow; exec "$@"' _ ip netns exec "$(lab_ns b-gw)" \
	env GATEWAYCTL_RUNDIR="$(gw_rundir b-gw)" "$GWCTL" up "$B"
if wait_for 10 relay_up m-gw manhattan && relay_up b-gw brooklyn; then
	ok "up started the relays (relay_start: sockets open, privileges dropped, pid file written)"
else
	fail "up started the relays"
	show_logs
fi
pid_m=$(relay_pid m-gw manhattan)
pid_b=$(relay_pid b-gw brooklyn)

# --- the site file: handed over as checked bytes, never read again by path -----------------
relay_pids=$(awk -v up="$up_pid" '$1 != up { print $1 }' "$T_TMP/up-m.trace" | sort -u | tr '\n' ' ')
openers=$(grep -E 'open(at)?\(' "$T_TMP/up-m.trace" | grep -F "\"$M\"" | awk '{ print $1 }' | sort -u | tr '\n' ' ')
expect_eq "$openers" "$up_pid " "strace: the site file is opened by up itself, never by the relay (relay processes: $relay_pids)"
expect_ok "the relay was started with --config-fd (its command line)" \
	sh -c "tr '\\0' ' ' </proc/$pid_m/cmdline | grep -q -- '--config-fd'"
# the file changes on disk: the relay goes on with what was validated
cp "$M" "$T_TMP/manhattan.saved"
printf '[site]\nname = manhattan\n[relay]\nports = 7000\nuser = root\n' >"$M"

# --- privileges: nothing left ---------------------------------------------------------------
for s in m-gw:$pid_m b-gw:$pid_b; do
	ns=${s%%:*} pid=${s#*:}
	nobody=$(id -u nobody) nogroup=$(id -g nobody)
	expect_eq "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" "$nobody $nobody $nobody $nobody" \
		"$ns: the relay runs as nobody (real, effective, saved, fs uid)"
	expect_eq "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" "$nogroup $nogroup $nogroup $nogroup" \
		"$ns: ... and its group (real, effective, saved, fs gid)"
	expect_eq "$(awk '/^Groups:/ { print $2 }' "/proc/$pid/status")" "" "$ns: ... no supplementary group"
	expect_eq "$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ { printf "%s%s ", $1, $2 }' "/proc/$pid/status")" \
		"CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000 " \
		"$ns: no capability in any set (preserve_source needs none once the raw socket is open)"
	expect_eq "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")" 1 "$ns: no_new_privs is set"
done
# inside the relay itself (gdb calls into the process): a packet socket, or root, is refused
out=$(timeout 120 gdb -q -nx -p "$pid_b" -batch -iex 'set debuginfod enabled off' -ex 'print (int)socket(17, 3, 768)' \
	-ex 'print *(int *)((long (*)(void))__errno_location)()' \
	-ex 'print (int)setuid(0)' -ex 'print (int)socket(2, 3, 255)' 2>&1 | grep -E '^\$[0-9]+ = ' | awk '{ print $3 }' | tr '\n' ' ') || true
expect_eq "$out" "-1 1 -1 -1 " "in the relay: socket(AF_PACKET) fails with EPERM, setuid(0) and a new raw socket fail too"
expect_ok "... and the relay goes on after the debugger left" relay_up b-gw brooklyn

# --- descriptors: only its own ----------------------------------------------------------------
# ports 6799: LAN socket (udp), transport (udp), raw (preserve_source), signalfd, epoll,
# stdio on /dev/null; the syslog socket (unix) only where /dev/log exists
for s in m-gw:$pid_m b-gw:$pid_b; do
	ns=${s%%:*} pid=${s#*:}
	kinds=$(fd_kinds "$pid")
	expect_eq "${kinds/unix /}" "devnull devnull devnull eventpoll raw signalfd udp udp " \
		"$ns: the relay's descriptors are its own: no netlink socket of up, nothing the shell had open"
done

# --- the files: root's alone ---------------------------------------------------------------------
for ns in m-gw b-gw; do
	site=manhattan
	[ $ns = b-gw ] && site=brooklyn
	expect_eq "$(stat -c '%a %U' "$(privdir $ns)")" "700 root" "$ns: the private run directory is 0700 root"
	expect_eq "$(stat -c '%a %U' "$(pidfile $ns $site)") $(stat -c '%a %U' "$(privdir $ns)/$site.relay.lock")" \
		"600 root 600 root" "$ns: pid and lock files are 0600 root"
	expect_fail "$ns: nobody cannot read the pid file" setpriv --reuid=65534 --regid=65534 --clear-groups cat "$(pidfile $ns $site)"
	expect_fail "$ns: nobody cannot lock the lock file" \
		setpriv --reuid=65534 --regid=65534 --clear-groups flock -n "$(privdir $ns)/$site.relay.lock" true
done

# --- basic: every size, to both broadcast addresses, with the changed file on disk ---------------
if part basic; then
sizes="1 1472 1473 8000 65507"
for dst in 192.168.1.255 255.255.255.255; do
	udp_recv b-ws 6799 40 "$T_TMP/ws-$dst.txt" 5
	expected=''
	for size in $sizes; do
		expected+=$(udp_send m-app 192.168.1.5 5555 "$dst" 6799 "$size" 1 "$dst")$'\n'
		sleep 0.2
	done
	wait_for 40 grep -q END "$T_TMP/ws-$dst.txt" || true
	expect_lines "to $dst:6799: b-ws gets each size ($sizes) exactly once, intact, from 192.168.1.5:5555" \
		"$T_TMP/ws-$dst.txt" "${expected%$'\n'}"
done
[ "$T_FAIL" = 0 ] || show_logs
expect_eq "$(relay_pid m-gw manhattan)" "$pid_m" "the file on disk changed (port 7000, user root): Manhattan's relay goes on"
expect_eq "$(relay_stats m-gw manhattan | awk '/^port[0-9]+\.relayed/ { printf "%s ", $0 }')" "port6799.relayed 10 " \
	"... relaying port 6799 as validated (10 datagrams), not the file's new port"
fi
cp "$T_TMP/manhattan.saved" "$M"

# --- the tunnel goes away and comes back: the relays survive and carry on ----------------------
if part basic; then
lab_exec m-gw ip link del gw-brooklyn
lab_exec b-gw ip link del gw-manhattan
udp_send m-app 192.168.1.5 5556 192.168.1.255 6799 100 1 gone >/dev/null
sleep 1
expect_eq "$(relay_pid m-gw manhattan)" "$pid_m" "with the tunnels gone, Manhattan's relay keeps running"
expect_ok "... and counts the frame it could not send (never along another route)" test "$(stat_of m-gw manhattan brooklyn.dropped.send-error)" -ge 1
expect_ok "up re-creates Manhattan's tunnel" gw m-gw up "$M"
expect_ok "up re-creates Brooklyn's tunnel" gw b-gw up "$B"
expect_eq "$(relay_pid b-gw brooklyn)" "$pid_b" "... without restarting Brooklyn's relay"
udp_recv b-ws 6799 20 "$T_TMP/ws-back.txt" 1
expected=$(udp_send m-app 192.168.1.5 5557 192.168.1.255 6799 300 1 back)
wait_for 20 grep -q END "$T_TMP/ws-back.txt" || true
expect_lines "with the tunnels back, a broadcast crosses again, once" "$T_TMP/ws-back.txt" "$expected"

# --- unicast and non-peers never reach the Brooklyn LAN ------------------------------------------
udp_recv b-ws 6799 6 "$T_TMP/ws-nonpeer.txt"
udp_recv b-obs 6798 6 "$T_TMP/obs-nonpeer.txt"
other_before=$(stat_of b-gw brooklyn other.dropped.unknown-peer)
wrong_before=$(stat_of b-gw brooklyn manhattan.dropped.wrong-tunnel)
for dst in 172.17.2.10 192.168.2.126 192.168.2.255; do
	for port in 6799 6798; do
		udp_send inet 172.17.2.14 0 "$dst" "$port" 100 1 inet >/dev/null 2>&1 || true
		frame_send inet 172.17.2.14 "$dst" "$port" 192.168.1.5 6799 2>/dev/null || true
	done
done
# a LAN host (not a peer), and one forging the peer's address but not through the tunnel
frame_send b-ws 192.168.2.3 192.168.2.126 6798 192.168.1.5 6799 || true
lab_exec b-evil ip addr add 192.168.1.126/32 dev eth0
frame_send b-evil 192.168.1.126 192.168.2.126 6798 192.168.1.5 6799 || true
# a Manhattan host (through the tunnel, but not the peer's relay)
frame_send m-app 192.168.1.5 192.168.2.126 6798 192.168.1.5 6799 || true
# a unicast to the relayed port, from the LAN
udp_send b-obs 192.168.2.9 5556 192.168.2.126 6799 10 1 uni >/dev/null
wait_for 10 grep -q END "$T_TMP/ws-nonpeer.txt" || true
expect_lines "nothing from the internet router, LAN hosts or forged frames reaches b-ws" "$T_TMP/ws-nonpeer.txt" ''
got=$(stat_of b-gw brooklyn other.dropped.unknown-peer)
if [ "$got" -ge $((other_before + 2)) ]; then ok "frames from non-peers are counted as unknown-peer ($got)"
else fail "frames from non-peers are counted as unknown-peer (before $other_before, now $got)"; relay_stats b-gw brooklyn | t_note; fi
got=$(stat_of b-gw brooklyn manhattan.dropped.wrong-tunnel)
if [ "$got" -ge $((wrong_before + 1)) ]; then ok "a frame from the peer's address off its tunnel is counted as wrong-tunnel ($got)"
else
	# strict rp_filter may drop it in the kernel first: still never relayed
	echo "# wrong-tunnel count $got (rp_filter may have dropped it before the relay)"
	ok "a frame from the peer's address off its tunnel is not relayed"
fi
expect_eq "$(stat_of b-gw brooklyn port6799.dropped.not-broadcast)" 1 "the unicast to 6799 is counted as not-broadcast"
lab_exec b-evil ip addr del 192.168.1.126/32 dev eth0
fi

# --- both ways, two ports: a burst stays a burst, no echo, no duplicates -------------------------
if part twoports; then
stop_relay m-gw manhattan || true
stop_relay b-gw brooklyn || true
M2=$(sed 's/^ports = .*/ports = 6799, 6800/' "$M" | site_file manhattan2)
B2=$(sed 's/^ports = .*/ports = 6799, 6800/' "$B" | site_file brooklyn2)
r1=0 r2=0
start_relay m-gw "$M2" manhattan || r1=1
start_relay b-gw "$B2" brooklyn || r2=1
if [ $r1 = 0 ] && [ $r2 = 0 ]; then ok "relays restarted on ports 6799, 6800"
else fail "relays restarted on ports 6799, 6800"; show_logs; fi
N=100
for port in 6799 6800; do
	udp_recv m-obs "$port" 30 "$T_TMP/mobs-$port.txt" $((2 * N))
	udp_recv b-obs "$port" 30 "$T_TMP/bobs-$port.txt" $((2 * N))
	# the two directions at the same time
	udp_send m-app 192.168.1.5 5001 192.168.1.255 "$port" 200 $N "m$port" >"$T_TMP/sent-m-$port.txt" &
	sender=$!
	udp_send b-ws 192.168.2.3 5002 192.168.2.255 "$port" 300 $N "b$port" >"$T_TMP/sent-b-$port.txt"
	wait "$sender" || true
	wait_for 30 grep -q END "$T_TMP/mobs-$port.txt" || true
	wait_for 30 grep -q END "$T_TMP/bobs-$port.txt" || true
	sleep 0.5
	both=$(cat "$T_TMP/sent-m-$port.txt" "$T_TMP/sent-b-$port.txt")
	expect_lines "port $port: m-obs sees each of the $N+$N datagrams once (no echo of its own LAN's)" "$T_TMP/mobs-$port.txt" "$both"
	expect_lines "port $port: b-obs sees each of the $N+$N datagrams once (no echo of its own LAN's)" "$T_TMP/bobs-$port.txt" "$both"
done
expect_eq "$(stat_of m-gw manhattan port6800.relayed)" $N "manhattan counts $N relayed on 6800"
expect_eq "$(stat_of m-gw manhattan port6800.rebroadcast)" $N "manhattan counts $N rebroadcast on 6800"
fi

# --- rate limit under a flood ------------------------------------------------------------------
if part rate; then
stop_relay m-gw manhattan || true
stop_relay b-gw brooklyn || true
M3=$(sed 's/^ports = .*/ports = 6799\nrate = 50\nburst = 10/' "$M" | site_file manhattan3)
B3=$(sed 's/^ports = .*/ports = 6799\nrate = 50\nburst = 10/' "$B" | site_file brooklyn3)
r1=0 r2=0
start_relay m-gw "$M3" manhattan || r1=1
start_relay b-gw "$B3" brooklyn || r2=1
[ $r1 = 0 ] && [ $r2 = 0 ] || { fail "relays with rate 50/s burst 10"; show_logs; }
udp_recv b-ws 6799 30 "$T_TMP/ws-flood.txt" # long enough for a slow (emulated) flood
start=$(date +%s%N)
udp_send m-app 192.168.1.5 5003 192.168.1.255 6799 64 2000 flood >/dev/null
elapsed=$((($(date +%s%N) - start) / 1000000))
sleep 1.5 # tokens refill
last=$(udp_send m-app 192.168.1.5 5003 192.168.1.255 6799 64 1 after)
wait_for 15 grep -qF "$last" "$T_TMP/ws-flood.txt" || true
got=$(grep -vc -e READY -e END "$T_TMP/ws-flood.txt" || true)
limit=$((10 + 50 * elapsed / 1000 + 10))
if [ "$got" -ge 10 ] && [ "$got" -le "$limit" ]; then ok "a flood of 2000 in $elapsed ms: $got pass (at most $limit)"
else fail "a flood of 2000 in $elapsed ms: $got pass (expected 10..$limit)"; fi
if grep -qF "$last" "$T_TMP/ws-flood.txt"; then ok "after the flood a datagram passes again"
else fail "after the flood a datagram passes again"; show_logs; fi
drops=$(stat_of m-gw manhattan port6799.dropped.rate)
if [ "$drops" -ge 1000 ]; then ok "rate drops are counted ($drops)"; else fail "rate drops are counted ($drops)"; fi
fi

# --- who the relay is: a lock held elsewhere, a pid file naming another process ------------------
if part identity; then
stop_relay m-gw manhattan || true
stop_relay b-gw brooklyn || true
expect_ok "up manhattan starts its relay" gw m-gw up "$M"
wait_for 10 relay_up m-gw manhattan || true
pid=$(relay_pid m-gw manhattan)
# root's other processes holding the pid file's and the lock's flock (it used to mean "alive")
hold_lock() { # FILE: a process of root's holding an exclusive flock on FILE
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)' "$1" >"$T_TMP/lock-$2.txt" &
	T_PIDS="$T_PIDS $!"
	lockers="$lockers $!"
	wait_for 10 grep -q locked "$T_TMP/lock-$2.txt" || true
}
lockers=''
hold_lock "$(pidfile m-gw manhattan)" pid
hold_lock "$(privdir m-gw)/manhattan.relay.lock" lock
kill -9 "$pid"
wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" || true
expect_eq "$(gw m-gw status "$M" 2>&1 | awk '$1 == "relay" { print $2, $3 }')" "NOT RUNNING" \
	"killed relay, its files locked by another process: status says it does not run"
t0=$(date +%s%N)
expect_ok "up restarts it all the same (the start lock held elsewhere is waited for 2 s, no more)" gw m-gw up "$M"
up_ms=$((($(date +%s%N) - t0) / 1000000))
new=$(relay_pid m-gw manhattan)
if [ -n "$new" ] && [ "$new" != "$pid" ]; then ok "a new relay runs (pid $new, up took $up_ms ms)"
else fail "a new relay runs (pid '$new', old $pid)"; fi
t0=$(date +%s%N)
expect_ok "down with the files locked elsewhere" gw m-gw down "$M"
down_ms=$((($(date +%s%N) - t0) / 1000000))
if ! relay_up m-gw manhattan && [ "$down_ms" -lt 5000 ]; then ok "down stopped the relay without waiting on the lock ($down_ms ms)"
else fail "down stopped the relay without waiting on the lock ($down_ms ms; running: $(relay_pid m-gw manhattan))"; fi
expect_eq "$(lab_exec m-gw ss -Huanp | grep -c gatewayctl || true)" 0 "... and no relay socket is left"
for p in $lockers; do kill "$p" 2>/dev/null || true; done

# a pid file naming another live process, with its true start time: never signalled
lab_exec m-gw sleep 600 &
sleeper=$!
T_PIDS="$T_PIDS $sleeper"
wait_for 5 grep -q '^sleep' "/proc/$sleeper/comm" || true
forge() { # a pid file naming sleep, as root writes it
	printf '%s\n%s\n%s\n' "$sleeper" "$(proc_state "$sleeper" | awk '{ print $2 }')" \
		"$(cat /proc/sys/kernel/random/boot_id)" >"$(pidfile m-gw manhattan)"
	chmod 600 "$(pidfile m-gw manhattan)"
}
forge
expect_eq "$(gw m-gw status "$M" 2>&1 | awk '$1 == "relay" { print $2, $3 }')" "NOT RUNNING" \
	"a pid file naming sleep: status does not take sleep for the relay"
gw m-gw down "$M" >/dev/null 2>&1 || true
expect_ok "sleep was not signalled by down" kill -0 "$sleeper"
forge
expect_ok "up (the pid file names sleep)" gw m-gw up "$M"
expect_ok "sleep was not signalled by up" kill -0 "$sleeper"
wait_for 10 relay_up m-gw manhattan || true
new=$(relay_pid m-gw manhattan)
if [ -n "$new" ] && [ "$new" != "$sleeper" ]; then ok "up started a real relay (pid $new)"; else fail "up started a real relay (pid file: '$new')"; fi
kill "$sleeper" 2>/dev/null || true
fi

# --- a slow uplink under a flood: nothing blocks, SIGTERM answered at once, drops counted ----------
if part load; then
expect_ok "up manhattan" gw m-gw up "$M"
expect_ok "up brooklyn" gw b-gw up "$B"
# foreground relays (default settings: rate 1000/s, burst 200): their exit is measured
stop_relay m-gw manhattan || true
stop_relay b-gw brooklyn || true
r1=0 r2=0
start_relay m-gw "$M" manhattan quiet || r1=1
start_relay b-gw "$B" brooklyn quiet || r2=1
[ $r1 = 0 ] && [ $r2 = 0 ] || { fail "relays with the default settings"; show_logs; }
# 1 Mbit/s and a deep queue on Manhattan's uplink: the relay's socket fills up
lab_exec m-gw tc qdisc add dev eth1 root tbf rate 1mbit burst 32kbit limit 8mb
pid=$(relay_pid m-gw manhattan)
flood m-app 192.168.1.5 5010 192.168.1.255 6799 65000 2000 8 >"$T_TMP/flood-a.txt" &
fa=$!
flood m-obs 192.168.1.9 5011 192.168.1.255 6799 100 10 8 >"$T_TMP/flood-b.txt" &
fb=$!
sleep 5
qf=$(stat_of m-gw manhattan brooklyn.dropped.queue-full)
rd=$(stat_of m-gw manhattan port6799.dropped.rate)
sent=$(stat_of m-gw manhattan brooklyn.sent)
ms=$(sigterm_ms "$pid")
wait "$fa" "$fb" 2>/dev/null || true
echo "# flood: $(cat "$T_TMP/flood-a.txt") x 65000 bytes from 192.168.1.5, $(cat "$T_TMP/flood-b.txt") x 100 from .9; frames sent $sent, queue-full $qf, rate $rd; SIGTERM to exit $ms ms"
if [ "$ms" -le 100 ]; then ok "under the flood with the uplink full, the relay ends $ms ms after SIGTERM (at most 100 ms; was about a second)"
else fail "under the flood with the uplink full, the relay ends $ms ms after SIGTERM (at most 100 ms)"; show_logs; fi
if [ "$qf" -ge 1 ]; then ok "frames that found the peer's queue full are dropped and counted (queue-full $qf)"
else fail "frames that found the peer's queue full are dropped and counted (queue-full $qf, sent $sent)"; fi
if [ "$rd" -ge 1 ]; then ok "datagrams beyond the byte budget are dropped and counted (rate $rd)"
else fail "datagrams beyond the byte budget are dropped and counted (rate $rd)"; fi
out=$(gw m-gw status "$M" 2>&1) || true

# fairness: a budget the uplink can carry (rate 20 -> 30 kB/s), one host flooding with
# 65000-byte datagrams, another sending 100 bytes 10 times a second: it gets them all through
stop_relay b-gw brooklyn || true
# (a new qdisc: what the first one still holds is dropped, not delivered now)
lab_exec m-gw tc qdisc del dev eth1 root
lab_exec m-gw tc qdisc add dev eth1 root tbf rate 1mbit burst 32kbit limit 400kb
M4=$(sed 's/^ports = .*/ports = 6799\nrate = 20\nburst = 20/' "$M" | site_file manhattan4)
r1=0 r2=0
start_relay m-gw "$M4" manhattan quiet || r1=1
start_relay b-gw "$B" brooklyn quiet || r2=1
[ $r1 = 0 ] && [ $r2 = 0 ] || { fail "relays for the fairness test"; show_logs; }
udp_errors() { # NS: UDP datagrams the kernel dropped for a full receive buffer
	lab_exec "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp
}
rcvbuf_m=$(udp_errors m-gw) rcvbuf_b=$(udp_errors b-gw) rcvbuf_ws=$(udp_errors b-ws)
udp_recv b-ws 6799 25 "$T_TMP/ws-fair.txt"
flood m-app 192.168.1.5 5012 192.168.1.255 6799 65000 2000 10 >"$T_TMP/flood-a2.txt" &
fa=$!
flood m-obs 192.168.1.9 5013 192.168.1.255 6799 100 10 10 >"$T_TMP/flood-b2.txt"
wait "$fa" 2>/dev/null || true
wait_for 20 grep -q END "$T_TMP/ws-fair.txt" || true
b_sent=$(cat "$T_TMP/flood-b2.txt")
b_got=$(awk '$1 == "192.168.1.9" && $2 == 5013' "$T_TMP/ws-fair.txt" | wc -l)
a_got=$(awk '$1 == "192.168.1.5" && $2 == 5012' "$T_TMP/ws-fair.txt" | wc -l)
echo "# fairness: 192.168.1.5 sent $(cat "$T_TMP/flood-a2.txt") x 65000 bytes, $a_got arrived; 192.168.1.9 sent $b_sent x 100, $b_got arrived; rate drops $(stat_of m-gw manhattan port6799.dropped.rate)"
if [ "$b_sent" -ge 50 ] && [ "$b_got" -ge $((b_sent * 9 / 10)) ] && [ "$b_got" -le "$b_sent" ]; then ok "the modest sender gets its share through the flood ($b_got of $b_sent)"
else
	fail "the modest sender gets its share through the flood ($b_got of $b_sent)"
	{
		echo "receive buffer overflows: m-gw $(($(udp_errors m-gw) - rcvbuf_m)), b-gw $(($(udp_errors b-gw) - rcvbuf_b)), b-ws $(($(udp_errors b-ws) - rcvbuf_ws))"
		echo "manhattan:"
		relay_stats m-gw manhattan
		echo "brooklyn:"
		relay_stats b-gw brooklyn
		lab_exec m-gw tc -s qdisc show dev eth1
	} | t_note
	show_logs
fi
if [ "$a_got" -ge 1 ]; then ok "the flooding sender gets the rest ($a_got datagrams of 65000 bytes in 10 s)"
else fail "the flooding sender gets the rest ($a_got)"; fi
lab_exec m-gw tc qdisc del dev eth1 root 2>/dev/null || true
stop_relay m-gw manhattan || true
stop_relay b-gw brooklyn || true
fi

# --- SIGKILL: the pid file is stale; up restarts; down leaves nothing ------------------------------
if part end; then
expect_ok "up manhattan" gw m-gw up "$M"
expect_ok "up brooklyn" gw b-gw up "$B"
wait_for 10 relay_up m-gw manhattan || true
pid=$(relay_pid m-gw manhattan)
kill -9 "$pid"
wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" || true
if relay_up m-gw manhattan; then fail "after SIGKILL the relay is gone (stale pid file)"
else ok "after SIGKILL the relay is gone (stale pid file)"; fi
out=$(gw m-gw up "$M" 2>&1) || true
if wait_for 10 relay_up m-gw manhattan && [ "$(relay_pid m-gw manhattan)" != "$pid" ]; then
	ok "up restarts the killed relay"
else
	fail "up restarts the killed relay"
	printf '%s\n' "$out" | t_note
fi
expect_ok "down brooklyn" gw b-gw down "$B"
expect_ok "down manhattan" gw m-gw down "$M"
fi
gw b-gw down "$B" >/dev/null 2>&1 || true
gw m-gw down "$M" >/dev/null 2>&1 || true
if relay_up m-gw manhattan || relay_up b-gw brooklyn; then fail "no relay runs any more"; else ok "no relay runs any more"; fi
expect_eq "$(lab_exec m-gw ss -Huanp | grep -c gatewayctl || true)" 0 "no relay socket left in m-gw"
expect_eq "$(lab_exec b-gw ss -Huanp | grep -c gatewayctl || true)" 0 "no relay socket left in b-gw"
for ns in m-gw b-gw; do
	expect_eq "$(for p in $(ip netns pids "$(lab_ns $ns)"); do cat "/proc/$p/comm"; done | grep -c gatewayctl || true)" 0 "no relay process left in $ns"
done
[ "$T_FAIL" = 0 ] || show_logs
t_done
