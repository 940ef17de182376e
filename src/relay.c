/* relay.c - `gatewayctl relay`: the UDP broadcast relay daemon (docs/relay.md).
 *
 * LAN broadcasts on the relayed ports go, framed, to every relay peer through
 * its tunnel; frames from peers are rebroadcast on the LAN (relay_io.c). One
 * process, one epoll loop that never waits on a send, every socket opened as
 * root before all privileges go. This file: the command, set-up, the loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "gatewayctl.h"
#include "relay_daemon.h"
#include "state.h"

#define CONFIG_MAX (16 << 20)	/* bytes read from --config-fd at most */
#define LOCK_WAIT_MS 2000	/* for the start lock; then on without it */

/* --- failures ---------------------------------------------------------------------- */

static int fail(struct relay *R, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct relay *R, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(R->err, sizeof(R->err), fmt, ap);
	va_end(ap);
	n = strlen(R->err);
	if (err && n < sizeof(R->err))
		snprintf(R->err + n, sizeof(R->err) - n, ": %s", strerror(err));
	return -(err ? err : EINVAL);
}

/* --- sockets ----------------------------------------------------------------------------- */

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static void buffers(int fd, int rcv, int snd)
{
	/* as root: beyond rmem_max/wmem_max */
	if (rcv && set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcv) < 0)
		set_int(fd, SOL_SOCKET, SO_RCVBUF, rcv);
	if (snd && set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd) < 0)
		set_int(fd, SOL_SOCKET, SO_SNDBUF, snd);
}

static int open_lan(struct relay *R, uint16_t port, int *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(R, errno, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, R->site.lan, (socklen_t)strlen(R->site.lan)) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "port %u: SO_BINDTODEVICE %s", port, R->site.lan);
	}
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 || set_int(fd, SOL_SOCKET, SO_BROADCAST, 1) < 0 ||
	    set_int(fd, IPPROTO_IP, IP_PKTINFO, 1) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "port %u: setsockopt", port);
	}
	buffers(fd, RECV_SOCK_BUF, RAW_SEND_BUF);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "cannot listen on UDP port %u on %s", port, R->site.lan);
	}
	*out = fd;
	return 0;
}

static int open_transport(struct relay *R)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(R->site.relay.transport),
		.sin_addr.s_addr = htonl(R->lan_addr),
	};
	char ip[16];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(R, errno, "socket");
	if (set_int(fd, IPPROTO_IP, IP_PKTINFO, 1) < 0 ||
	    set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "transport socket: setsockopt");
	}
	/* a modest send buffer: beyond it frames wait in the peers' queues, where
	 * they are bounded, fairly served and counted when dropped */
	buffers(fd, RECV_SOCK_BUF, TR_SEND_BUF);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "cannot bind the transport port %s:%u", ip4_str(R->lan_addr, ip),
			    R->site.relay.transport);
	}
	R->tr_fd = fd;
	return 0;
}

static int open_raw(struct relay *R)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return fail(R, errno, "raw socket (preserve_source needs CAP_NET_RAW to start)");
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, R->site.lan, (socklen_t)strlen(R->site.lan)) < 0 ||
	    set_int(fd, SOL_SOCKET, SO_BROADCAST, 1) < 0 || set_int(fd, IPPROTO_IP, IP_HDRINCL, 1) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "raw socket: setsockopt");
	}
#ifdef IP_NODEFRAG
	/* our own fragments must not be reassembled by netfilter before they leave */
	set_int(fd, IPPROTO_IP, IP_NODEFRAG, 1);
#endif
	buffers(fd, 0, RAW_SEND_BUF);
	R->raw_fd = fd;
	return 0;
}

/* --- privileges ----------------------------------------------------------------------------- */

static int last_cap(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC), n = 40;

	if (fd >= 0) {
		ssize_t k = read(fd, buf, sizeof(buf) - 1);

		if (k > 0) {
			buf[k] = 0;
			n = atoi(buf);
		}
		close(fd);
	}
	return n >= 0 && n <= 63 ? n : 63;
}

/* [relay] user: never root, nor group root (check refuses them already; this
 * is the daemon's own second line). */
static int resolve_user(struct relay *R)
{
	const char *user = R->site.relay.user;
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return fail(R, errno ? errno : ENOENT, "user %s", user);
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return fail(R, EPERM, "user %s has uid %u, gid %u: the relay never runs as root or group root", user,
			    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	R->uid = pw->pw_uid;
	R->gid = pw->pw_gid;
	return 0;
}

/* Become [relay] user with no capability at all, no way back: bounding set and
 * ambient set emptied, no supplementary groups, no_new_privs. The sockets were
 * opened before; the kernel checked CAP_NET_RAW (raw socket) and
 * CAP_NET_ADMIN (buffer sizes) when they were made, not when they are used. */
static int drop_privileges(struct relay *R)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int last = last_cap();

	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(R, errno, "dropping capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(R, errno, "clearing the ambient capabilities");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail(R, errno, "PR_SET_KEEPCAPS");
	if (setgroups(0, NULL) < 0)
		return fail(R, errno, "setgroups");
	if (setresgid(R->gid, R->gid, R->gid) < 0)
		return fail(R, errno, "setgid %u", (unsigned)R->gid);
	if (setresuid(R->uid, R->uid, R->uid) < 0)
		return fail(R, errno, "setuid %u (%s)", (unsigned)R->uid, R->site.relay.user);
	/* leaving uid 0 cleared permitted and effective; inheritable too, now */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(R, errno, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(R, errno, "PR_SET_NO_NEW_PRIVS");

	/* and check, never assume */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != R->uid || eu != R->uid ||
	    su != R->uid || rg != R->gid || eg != R->gid || sg != R->gid)
		return fail(R, EPERM, "uids or gids are not all %u/%u after the drop", (unsigned)R->uid,
			    (unsigned)R->gid);
	memset(data, 0xff, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0 || data[0].effective || data[0].permitted || data[0].inheritable ||
	    data[1].effective || data[1].permitted || data[1].inheritable)
		return fail(R, EPERM, "capabilities left after the drop");
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
			return fail(R, EPERM, "capability %d left in the bounding set", c);
	if (setuid(0) == 0 || setgid(0) == 0 || seteuid(0) == 0)
		return fail(R, EPERM, "could become root again after dropping privileges");
	return 0;
}

/* --- set-up --------------------------------------------------------------------------------- */

static int setup_peers(struct relay *R)
{
	struct site *s = &R->site;
	size_t np = 0, slots;

	for (size_t i = 0; i < s->n_peers; i++)
		np += s->peers[i].relay;
	R->peers = calloc(np ? np : 1, sizeof(*R->peers));
	if (!R->peers)
		return fail(R, ENOMEM, "memory");
	for (size_t i = 0; i < s->n_peers; i++) {
		struct rpeer *p;

		if (!s->peers[i].relay)
			continue;
		p = &R->peers[R->n_peers++];
		p->p = &s->peers[i];
		p->addr = s->peers[i].lan_address;
		p->sa.sin_family = AF_INET;
		p->sa.sin_port = htons(s->relay.transport);
		p->sa.sin_addr.s_addr = htonl(p->addr);
	}
	R->buckets = calloc((R->n_peers ? R->n_peers : 1) * R->n_ports, sizeof(*R->buckets));
	if (!R->buckets)
		return fail(R, ENOMEM, "memory");
	for (size_t i = 0; i < R->n_peers; i++)
		R->peers[i].buckets = R->buckets + i * R->n_ports;
	/* room for every peer's quota, within bounds */
	slots = R->n_peers * REASM_PER_PEER;
	slots = slots < REASM_MIN_SLOTS ? REASM_MIN_SLOTS : slots > REASM_MAX_SLOTS ? REASM_MAX_SLOTS : slots;
	R->rbuf = malloc((size_t)BATCH * RECV_BUF);
	if (!R->rbuf || reasm_init(&R->reasm, slots, REASM_TIMEOUT_MS) < 0)
		return fail(R, ENOMEM, "memory");
	R->reasm.per_peer = REASM_PER_PEER;
	return 0;
}

/* Sockets, under the start lock: a relay of this site already running is
 * named, not reported as "address in use"; the pid file is written only once
 * the transport port is ours, so a second relay never overwrites it. */
static int open_all(struct relay *R)
{
	struct site *s = &R->site;
	int lock, r;
	pid_t other;

	lock = relay_lock(s->name, LOCK_WAIT_MS);
	if (lock == -EWOULDBLOCK) {
		/* somebody else holds it (nothing of ours holds it for long) */
		rlog(LOG_WARNING, "the start lock of site %s is held elsewhere: going on without it", s->name);
	} else if (lock < 0) {
		return fail(R, -lock, "cannot lock %s/%s.relay.lock (%s)", state_private_dir(), s->name,
			    state_dir_error());
	}
	if ((other = relay_running(s->name, NULL, NULL)) > 0 && other != getpid()) {
		fail(R, 0, "the relay of site %s already runs (pid %d)", s->name, (int)other);
		r = -EEXIST;
		goto out;
	}
	if ((r = open_transport(R)) < 0)
		goto out;
	for (size_t i = 0; i < R->n_ports; i++)
		if ((r = open_lan(R, s->relay.ports[i], &R->lan_fd[i])) < 0)
			goto out;
	if (s->relay.preserve_source && (r = open_raw(R)) < 0)
		goto out;
	if ((r = relay_stats_create(s->name, R->n_ports, R->n_peers, &R->stats)) < 0) {
		r = fail(R, -r, "cannot create the stats file in %s", state_dir());
		goto out;
	}
	if ((r = relay_write_pidfile(s->name)) < 0)
		r = fail(R, -r, "cannot write the pid file in %s", state_private_dir());
out:
	if (lock >= 0)
		close(lock);
	return r;
}

static int setup(struct relay *R)
{
	struct site *s = &R->site;
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	uint64_t start_ticks = 0;
	int r;

	if (!s->relay.enabled || !s->relay.n_ports)
		return fail(R, EINVAL, "%s has no [relay] section", s->path);
	if ((r = resolve_user(R)) < 0)
		return r;
	R->lan_addr = s->lan_address.addr;
	R->lan_mask = net4_mask(s->lan_address.len);
	R->lan_net = R->lan_addr & R->lan_mask;
	R->lan_bcast = net4_broadcast(s->lan_address);
	R->lan_ifindex = (int)if_nametoindex(s->lan);
	if (!R->lan_ifindex)
		return fail(R, errno, "LAN interface %s", s->lan);
	R->n_ports = s->relay.n_ports;
	for (size_t i = 0; i < R->n_ports; i++)
		R->port_idx[s->relay.ports[i]] = (uint8_t)(i + 1);
	if ((r = setup_peers(R)) < 0)
		return r;
	R->bcast_sa.sin_family = AF_INET;
	R->bcast_sa.sin_addr.s_addr = htonl(R->lan_bcast);

	r = open_all(R);
	state_close_dirs();	/* no handle on root's directories survives the drop */
	if (r < 0)
		return r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	R->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	R->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (R->sig_fd < 0 || R->ep_fd < 0)
		return fail(R, errno, "signalfd/epoll");
	for (size_t i = 0; i < R->n_ports; i++) {
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(R->ep_fd, EPOLL_CTL_ADD, R->lan_fd[i], &ev) < 0)
			return fail(R, errno, "epoll_ctl");
	}
	ev.data.u32 = EV_TRANSPORT;
	if (epoll_ctl(R->ep_fd, EPOLL_CTL_ADD, R->tr_fd, &ev) < 0)
		return fail(R, errno, "epoll_ctl");
	ev.data.u32 = EV_SIGNAL;
	if (epoll_ctl(R->ep_fd, EPOLL_CTL_ADD, R->sig_fd, &ev) < 0)
		return fail(R, errno, "epoll_ctl");

	proc_stat(getpid(), &start_ticks, NULL);
	R->stats.hdr->pid = getpid();
	R->stats.hdr->started = time(NULL);
	R->stats.hdr->config_hash = relay_config_hash(s);
	R->stats.hdr->start_ticks = start_ticks;
	for (size_t i = 0; i < R->n_ports; i++)
		R->stats.ports[i].port = s->relay.ports[i];
	for (size_t i = 0; i < R->n_peers; i++) {
		R->peers[i].st = &R->stats.peers[i];
		snprintf(R->peers[i].st->name, sizeof(R->peers[i].st->name), "%s", R->peers[i].p->name);
	}
	R->now_ns = mono_ns();
	limits_init(&R->lim, s->relay.rate, s->relay.burst);
	for (size_t i = 0; i < R->n_ports; i++)
		fair_init(&R->port_fair[i], &R->lim, R->now_ns);
	for (size_t i = 0; i < R->n_peers; i++)
		for (size_t j = 0; j < R->n_ports; j++)
			tbucket_init(&R->peers[i].buckets[j], &R->lim, 1, R->now_ns);
	{
		uint32_t seed = (uint32_t)(R->now_ns ^ (uint64_t)getpid() << 16);

		R->next_id = seed;
		R->ip_id = (uint16_t)(seed >> 7);
	}
	relay_resolve(R, R->now_ns / 1000000);

	if ((r = drop_privileges(R)) < 0)
		return r;

	/* the receive batch: fixed buffers, re-armed before each call */
	for (size_t i = 0; i < BATCH; i++) {
		R->riov[i].iov_base = R->rbuf + i * RECV_BUF;
		R->riov[i].iov_len = RECV_BUF;
		R->rmsg[i].msg_hdr.msg_iov = &R->riov[i];
		R->rmsg[i].msg_hdr.msg_iovlen = 1;
		R->rmsg[i].msg_hdr.msg_name = &R->rname[i];
		R->rmsg[i].msg_hdr.msg_control = R->rctl[i].buf;
	}
	return 0;
}

/* --- the loop --------------------------------------------------------------------------------- */

static void on_signal(struct relay *R)
{
	struct signalfd_siginfo si;

	while (read(R->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			continue;	/* settings change through `up`, which restarts the relay */
		rlog(LOG_INFO, "signal %u: stopping", si.ssi_signo);
		R->stop = true;
	}
}

static bool slice_over(uint64_t start)
{
	return mono_ns() - start >= SLICE_NS;
}

/* Each turn: signals first, then the sockets, but for at most SLICE_NS of work;
 * epoll is level-triggered, so what is left is back at once, behind the signals.
 * The sockets' order rotates, so that a busy one cannot always go first. */
static void run(struct relay *R)
{
	struct epoll_event ev[RELAY_PORTS_MAX + 2];
	unsigned turn = 0;

	while (!R->stop) {
		int timeout = 1000, n;
		uint64_t start, now_ms;

		if (R->retry_ns) {
			uint64_t now = mono_ns();

			timeout = R->retry_ns > now ? (int)((R->retry_ns - now) / 1000000) + 1 : 0;
		}
		n = epoll_wait(R->ep_fd, ev, RELAY_PORTS_MAX + 2, timeout);
		if (n < 0 && errno != EINTR) {
			rlog(LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		start = mono_ns();
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == EV_SIGNAL)
				on_signal(R);
		if (R->stop)
			break;
		turn++;
		for (int j = 0; j < n && !slice_over(start); j++) {
			struct epoll_event *e = &ev[(j + (int)turn) % n];
			uint32_t k = e->data.u32;

			if (k == EV_SIGNAL)
				continue;
			if (k == EV_TRANSPORT) {
				if (e->events & EPOLLOUT)
					relay_drain(R);
				if (e->events & EPOLLIN)
					while (relay_on_transport(R) == BATCH && !slice_over(start))
						;
			} else {
				while (relay_on_lan(R, (uint16_t)k) == BATCH && !slice_over(start))
					;
			}
		}
		if (R->retry_ns && mono_ns() >= R->retry_ns)
			relay_drain(R);
		now_ms = mono_ns() / 1000000;
		if (now_ms - R->last_resolve_ms >= RESOLVE_MS) {
			relay_resolve(R, now_ms);
			reasm_expire(&R->reasm, now_ms);
			R->stats.other[DROP_REASSEMBLY] = R->reasm.timed_out + R->reasm.evicted;
		}
	}
}

static void teardown(struct relay *R)
{
	int fds[] = { R->tr_fd, R->raw_fd, R->sig_fd, R->ep_fd, R->config_fd };

	for (size_t i = 0; i < R->n_ports; i++)
		if (R->lan_fd[i] >= 0)
			close(R->lan_fd[i]);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	relay_queues_free(R);
	relay_stats_unmap(&R->stats);
	reasm_free(&R->reasm);
	free(R->buckets);
	free(R->peers);
	free(R->rbuf);
	if (R->site_loaded)
		config_free(&R->site);
}

/* --- the command ------------------------------------------------------------------------ */

static void relay_about(FILE *out)
{
	fputs("The UDP broadcast relay of the site in FILE, in the foreground (`up` starts it\n"
	      "detached). Broadcasts from LAN hosts to the [relay] ports go to every relay\n"
	      "peer through its tunnel; frames from peers are rebroadcast on the LAN.\n"
	      "Logs to stderr. Stops on SIGTERM or SIGINT. Needs root to start; then runs as\n"
	      "[relay] user with no capability at all.\n", out);
}

enum { OPT_FILE = 1, OPT_DEBUG, OPT_CONFIG_FD, OPT_CONFIG_NAME, OPT_DAEMON, OPT_READY_FD };
static const struct cmdopt relay_opts[] = {
	{ OPT_FILE, "--file", "-f", CMDOPT_VALUE, "FILE", "a site file", "the site file" },
	{ OPT_DEBUG, "--debug", "-d", CMDOPT_FLAG, NULL, NULL, "one line per datagram: from, to, what was done" },
	{ OPT_CONFIG_FD, "--config-fd", NULL, CMDOPT_VALUE, "N", "a descriptor number",
	  "the site file's bytes from descriptor N instead (what\n`up` uses: the exact bytes it validated)" },
	{ OPT_CONFIG_NAME, "--config-name", NULL, CMDOPT_VALUE, "NAME", "a file name",
	  "the file's name in messages (with --config-fd)" },
	{ OPT_DAEMON, "--daemon", NULL, CMDOPT_FLAG, NULL, NULL, "detach, log to syslog (what `up` uses)" },
	{ OPT_READY_FD, "--ready-fd", NULL, CMDOPT_VALUE, "N", "a descriptor number",
	  "write \"0 PID\" or \"ERRNO message\" to N once started" },
	{ 0 }
};
static const struct cmdspec relay_spec = {
	.name = "relay", .usage = "[-d] -f FILE", .about = relay_about, .opts = relay_opts, .max_operands = 1,
};

/* A descriptor number given to option NAME into *FD: 0, or EXIT_USAGE said. */
static int fd_arg(const char *name, const char *text, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > 65535)
		return usage_error("relay", "%s needs a descriptor number: `%s`", name, text);
	*fd = (int)v;
	return 0;
}

/* The relay's command line into R and *FILE: -1 to go on, or the exit
 * status (--help shown, or bad usage said). */
static int relay_args(struct relay *R, int argc, char **argv, const char **file)
{
	struct cmdline cl;
	int r;

	if ((r = cmdopt_parse(&relay_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	*file = cl.value[OPT_FILE];
	if (cl.n_operands && *file)
		return usage_error("relay", "unexpected argument `%s`", cl.operands[0]);
	if (cl.n_operands)
		*file = cl.operands[0];
	R->debug = cl.given[OPT_DEBUG];
	R->daemon = cl.given[OPT_DAEMON];
	R->config_name = cl.value[OPT_CONFIG_NAME];
	if ((cl.value[OPT_READY_FD] && fd_arg("--ready-fd", cl.value[OPT_READY_FD], &R->ready_fd)) ||
	    (cl.value[OPT_CONFIG_FD] && fd_arg("--config-fd", cl.value[OPT_CONFIG_FD], &R->config_fd)))
		return EXIT_USAGE;
	if (!*file == (R->config_fd < 0))
		return usage_error("relay", "give the site as -f FILE or --config-fd N (one of them)");
	return -1;
}

/* tell whoever started the daemon how it went: "0 PID" or "ERRNO message" */
static void report_ready(struct relay *R, int code)
{
	if (R->ready_fd < 0)
		return;
	if (code)
		dprintf(R->ready_fd, "%d %s\n", -code, R->err);
	else
		dprintf(R->ready_fd, "0 %ld\n", (long)getpid());
	close(R->ready_fd);
	R->ready_fd = -1;
}

static void detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return;		/* run attached rather than not at all */
	if (pid > 0)
		_exit(0);
	setsid();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	umask(022);
	openlog("gatewayctl-relay", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	rlog_syslog = true;
}

/* The site file's bytes from FD (a sealed memory file from `up`), then FD closed. */
static int read_config_fd(struct relay *R, char **text, size_t *len)
{
	size_t have = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return fail(R, ENOMEM, "memory");
	for (;;) {
		ssize_t n;

		if (have == cap) {
			char *b = cap >= CONFIG_MAX ? NULL : realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				return fail(R, EFBIG, "--config-fd %d: more than %d bytes", R->config_fd, CONFIG_MAX);
			}
			buf = b;
			cap *= 2;
		}
		n = pread(R->config_fd, buf + have, cap - have, (off_t)have);
		if (n < 0 && errno == ESPIPE)
			n = read(R->config_fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return fail(R, e, "--config-fd %d", R->config_fd);
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(R->config_fd);
	R->config_fd = -1;
	*text = buf;
	*len = have;
	return 0;
}

static int load_config(struct relay *R, const char *file)
{
	char *errs = NULL, *text = NULL;
	size_t elen = 0, tlen = 0;
	FILE *mem = NULL;
	int r;

	if (!file && (r = read_config_fd(R, &text, &tlen)) < 0)
		return r;
	/* detached, the messages go to the ready pipe: collect them */
	if (R->daemon)
		mem = open_memstream(&errs, &elen);
	if (file)
		r = config_load(file, &R->site, mem ? mem : stderr);
	else
		r = config_parse(text, tlen, R->config_name ? R->config_name : "(site file from up)", &R->site,
				 mem ? mem : stderr);
	free(text);
	if (mem)
		fclose(mem);
	if (r < 0) {
		if (errs)
			errs[strcspn(errs, "\n")] = 0;
		fail(R, 0, "%s", errs && *errs ? errs : "invalid site file");
		free(errs);
		return -EINVAL;
	}
	free(errs);
	R->site_loaded = true;
	return 0;
}

int relay_main(int argc, char **argv)
{
	static struct relay relay;	/* large: not on the stack */
	struct relay *R = &relay;
	const char *file = NULL;
	int r;

	memset(R, 0, sizeof(*R));
	R->ready_fd = R->config_fd = -1;
	if ((r = relay_args(R, argc, argv, &file)) >= 0)
		return r;
	if (R->ready_fd >= 0 && fcntl(R->ready_fd, F_GETFD) < 0)
		R->ready_fd = -1;
	if (R->config_fd >= 0 && fcntl(R->config_fd, F_GETFD) < 0)
		return usage_error("relay", "--config-fd %d: not an open descriptor", R->config_fd);
	/* whatever the caller left open is not ours: only stdio and the two we
	 * were given stay, and those two never cross another exec */
	{
		int keep[2] = { R->ready_fd, R->config_fd };

		if (close_fds_except(keep, 2) < 0)
			return EXIT_FAIL;
		for (int i = 0; i < 2; i++)
			if (keep[i] >= 0)
				fcntl(keep[i], F_SETFD, FD_CLOEXEC);
	}
	for (size_t i = 0; i < RELAY_PORTS_MAX; i++)
		R->lan_fd[i] = -1;
	R->tr_fd = R->raw_fd = R->sig_fd = R->ep_fd = -1;
	if (R->daemon)
		detach();

	if (load_config(R, file) < 0) {
		report_ready(R, -EINVAL);
		rlog(LOG_ERR, "%s", R->err);
		teardown(R);
		return EXIT_USAGE;
	}
	if (chdir("/") < 0)
		rlog(LOG_WARNING, "chdir /: %s", strerror(errno));
	r = setup(R);
	if (r < 0) {
		rlog(LOG_ERR, "%s", R->err);
		report_ready(R, r);
		teardown(R);
		return EXIT_FAIL;
	}
	{
		char ip[16];

		rlog(LOG_INFO, "site %s: relaying %zu port%s with %zu peer%s, transport %s:%u, as %s, no capabilities",
		     R->site.name, R->n_ports, R->n_ports == 1 ? "" : "s", R->n_peers, R->n_peers == 1 ? "" : "s",
		     ip4_str(R->lan_addr, ip), R->site.relay.transport, R->site.relay.user);
	}
	report_ready(R, 0);
	run(R);
	rlog(LOG_INFO, "stopped");
	teardown(R);
	return EXIT_OK;
}
