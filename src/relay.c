/* relay.c - `gatewayctl relay`: the UDP broadcast relay daemon (docs/relay.md).
 *
 * LAN broadcasts on the relayed ports go, framed, to every relay peer through
 * its tunnel; frames from peers are rebroadcast on the LAN. One process, one
 * epoll loop, recvmmsg/sendmmsg batches, every buffer allocated at start. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "frame.h"
#include "gatewayctl.h"
#include "relay.h"
#include "relay_priv.h"
#include "state.h"

#define BATCH 32		/* datagrams per recvmmsg */
#define RECV_BUF 65536		/* per datagram: any UDP payload fits */
#define SEND_MAX 64		/* frames per sendmmsg to peers */
#define LSEND_MAX 128		/* packets (IP fragments) per sendmmsg on the LAN */
#define REASM_SLOTS 16
#define REASM_TIMEOUT_MS 2000
#define RESOLVE_MS 2000		/* re-read tunnel ifindexes and the LAN MTU */
#define MISS_RESOLVE_MS 200	/* at most this often on a frame from the wrong ifindex */
#define SOCK_BUF (4 << 20)
#define RAW_TTL 64

struct rpeer {
	const struct peer *p;
	uint32_t addr;			/* its lan_address, host order */
	int ifindex;			/* of its tunnel, 0 = absent */
	struct sockaddr_in sa;		/* lan_address:transport */
	struct rs_peer *st;
	struct bucket *buckets;		/* per port, for rebroadcasts */
};

struct smeta {
	struct rpeer *peer;
	uint16_t pi;			/* port index */
	bool last;			/* the datagram's last frame or fragment */
};

struct relay {
	struct site site;
	bool site_loaded, debug, daemon;
	int ready_fd;
	char err[512];

	int lan_ifindex, lan_mtu;
	uint32_t lan_addr, lan_mask, lan_net, lan_bcast;
	size_t n_ports;
	int lan_fd[RELAY_PORTS_MAX];
	int tr_fd, raw_fd, sig_fd, ep_fd, pid_fd, ioctl_fd;
	uint8_t port_idx[65536];	/* port -> index + 1 */
	struct bucket port_bucket[RELAY_PORTS_MAX];
	struct rpeer *peers;
	size_t n_peers;
	struct rs_map stats;
	struct reasm reasm;
	uint32_t next_id;
	uint16_t ip_id;
	uint64_t now_ns, last_resolve_ms, last_miss_ms;
	bool stop;

	/* receive batch, shared by every socket */
	uint8_t *rbuf;
	struct mmsghdr rmsg[BATCH];
	struct iovec riov[BATCH];
	struct sockaddr_in rname[BATCH];
	union { char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } rctl[BATCH];

	/* frames to peers */
	struct mmsghdr smsg[SEND_MAX];
	struct iovec siov[SEND_MAX][2];
	uint8_t shdr[SEND_MAX][FRAME_HDR_LEN];
	union { char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } sctl[SEND_MAX];
	struct smeta smeta[SEND_MAX];
	size_t n_send;

	/* rebroadcasts (raw IP packets) on the LAN */
	struct mmsghdr lmsg[LSEND_MAX];
	struct iovec liov[LSEND_MAX][3];
	uint8_t lhdr[LSEND_MAX][28];	/* IP header + UDP header (first fragment) */
	struct smeta lmeta[LSEND_MAX];
	size_t n_lsend;
	struct sockaddr_in bcast_sa;
};

/* --- logging ------------------------------------------------------------------------ */

static bool log_syslog;

static void rlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rlog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "%s relay: ", prog);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

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

static const char *ipstr(uint32_t a, char *b)
{
	return ip4_str(a, b);
}

/* --- time ------------------------------------------------------------------------------ */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- set-up ----------------------------------------------------------------------------- */

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static void big_buffers(int fd)
{
	/* as root: beyond rmem_max/wmem_max; a burst of large datagrams must not drop */
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCK_BUF) < 0)
		set_int(fd, SOL_SOCKET, SO_RCVBUF, SOCK_BUF);
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCK_BUF) < 0)
		set_int(fd, SOL_SOCKET, SO_SNDBUF, SOCK_BUF);
}

static int lan_mtu(struct relay *R)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", R->site.lan);
	if (ioctl(R->ioctl_fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu < 68)
		return R->lan_mtu ? R->lan_mtu : 1500;
	return ifr.ifr_mtu;
}

/* Tunnel ifindexes (tunnels may be recreated by up) and the LAN MTU. */
static void resolve(struct relay *R, uint64_t now_ms)
{
	for (size_t i = 0; i < R->n_peers; i++) {
		int idx = (int)if_nametoindex(R->peers[i].p->tunnel);

		if (idx != R->peers[i].ifindex && R->debug)
			rlog(LOG_DEBUG, "peer %s: tunnel %s is now ifindex %d", R->peers[i].p->name,
			     R->peers[i].p->tunnel, idx);
		R->peers[i].ifindex = idx;
	}
	R->lan_mtu = lan_mtu(R);
	R->last_resolve_ms = now_ms;
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
	big_buffers(fd);
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
	big_buffers(fd);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return fail(R, e, "cannot bind the transport port %s:%u", ipstr(R->lan_addr, ip),
			    R->site.relay.transport);
	}
	R->tr_fd = fd;
	return 0;
}

static int open_raw(struct relay *R)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return fail(R, errno, "raw socket (preserve_source needs CAP_NET_RAW)");
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
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCK_BUF) < 0)
		set_int(fd, SOL_SOCKET, SO_SNDBUF, SOCK_BUF);
	R->raw_fd = fd;
	return 0;
}

static int write_pidfile(struct relay *R)
{
	char path[4200], buf[32];
	int fd, n;

	if (state_dirfd(true, true) < 0)
		return fail(R, EACCES, "%s", state_dir_error());
	relay_pid_path(R->site.name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return fail(R, errno, "cannot open %s", path);
	/* readers (relay_running) take a shared lock for a moment: retry for a
	 * second before concluding that another relay holds it */
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		int e = errno;

		if (e == EWOULDBLOCK && tries < 100) {
			usleep(10000);
			continue;
		}
		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		close(fd);
		if (e != EWOULDBLOCK)
			return fail(R, e, "cannot lock %s", path);
		fail(R, 0, "the relay of site %s already runs (pid %s)", R->site.name, buf);
		return -EEXIST;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		int e = errno;

		close(fd);
		return fail(R, e, "cannot write %s", path);
	}
	R->pid_fd = fd;
	return 0;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = 40;
		fclose(f);
	}
	return n;
}

/* Become USER, keeping CAP_NET_RAW (permitted and effective) when KEEP_RAW,
 * nothing otherwise; no way back (bounding set, no_new_privs). */
static int drop_privileges(struct relay *R, bool keep_raw)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	const char *user = R->site.relay.user;
	struct passwd *pw;
	int last = last_cap();

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return fail(R, errno ? errno : ENOENT, "user %s", user);
	for (int c = 0; c <= last; c++)
		if (!(keep_raw && c == CAP_NET_RAW) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(R, errno, "dropping capability %d from the bounding set", c);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(R, errno, "PR_SET_KEEPCAPS");
	if (setgroups(0, NULL) < 0)
		return fail(R, errno, "setgroups");
	if (setgid(pw->pw_gid) < 0)
		return fail(R, errno, "setgid %u", (unsigned)pw->pw_gid);
	if (setuid(pw->pw_uid) < 0)
		return fail(R, errno, "setuid %u (%s)", (unsigned)pw->pw_uid, user);
	memset(data, 0, sizeof(data));
	if (keep_raw) {
		data[CAP_NET_RAW / 32].permitted = 1u << (CAP_NET_RAW % 32);
		data[CAP_NET_RAW / 32].effective = 1u << (CAP_NET_RAW % 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(R, errno, "capset");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(R, errno, "prctl");
	if (pw->pw_uid != 0 && setuid(0) == 0)
		return fail(R, EPERM, "could become root again after dropping privileges");
	return 0;
}

static int setup(struct relay *R)
{
	struct site *s = &R->site;
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	size_t np = 0;
	int r;

	if (!s->relay.enabled || !s->relay.n_ports)
		return fail(R, EINVAL, "%s has no [relay] section", s->path);
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
		p->buckets = calloc(R->n_ports, sizeof(*p->buckets));
		if (!p->buckets)
			return fail(R, ENOMEM, "memory");
	}
	R->rbuf = malloc((size_t)BATCH * RECV_BUF);
	if (!R->rbuf || reasm_init(&R->reasm, REASM_SLOTS, REASM_TIMEOUT_MS) < 0)
		return fail(R, ENOMEM, "memory");
	R->bcast_sa.sin_family = AF_INET;
	R->bcast_sa.sin_addr.s_addr = htonl(R->lan_bcast);

	/* the lock first: a second relay of the site says so, not "address in use" */
	if ((r = write_pidfile(R)) < 0)
		return r;
	R->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (R->ioctl_fd < 0)
		return fail(R, errno, "socket");
	for (size_t i = 0; i < R->n_ports; i++)
		if ((r = open_lan(R, s->relay.ports[i], &R->lan_fd[i])) < 0)
			return r;
	if ((r = open_transport(R)) < 0)
		return r;
	if (s->relay.preserve_source && (r = open_raw(R)) < 0)
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
	ev.data.u32 = 1000;
	if (epoll_ctl(R->ep_fd, EPOLL_CTL_ADD, R->tr_fd, &ev) < 0)
		return fail(R, errno, "epoll_ctl");
	ev.data.u32 = 1001;
	if (epoll_ctl(R->ep_fd, EPOLL_CTL_ADD, R->sig_fd, &ev) < 0)
		return fail(R, errno, "epoll_ctl");

	if ((r = relay_stats_create(s->name, R->n_ports, R->n_peers, &R->stats)) < 0)
		return fail(R, -r, "cannot create the stats file in %s", state_dir());
	R->stats.hdr->pid = getpid();
	R->stats.hdr->started = time(NULL);
	R->stats.hdr->config_hash = relay_config_hash(s);
	for (size_t i = 0; i < R->n_ports; i++)
		R->stats.ports[i].port = s->relay.ports[i];
	for (size_t i = 0; i < R->n_peers; i++) {
		R->peers[i].st = &R->stats.peers[i];
		snprintf(R->peers[i].st->name, sizeof(R->peers[i].st->name), "%s", R->peers[i].p->name);
	}
	R->now_ns = mono_ns();
	for (size_t i = 0; i < R->n_ports; i++)
		bucket_init(&R->port_bucket[i], s->relay.burst, R->now_ns);
	for (size_t i = 0; i < R->n_peers; i++)
		for (size_t j = 0; j < R->n_ports; j++)
			bucket_init(&R->peers[i].buckets[j], s->relay.burst, R->now_ns);
	{
		uint32_t seed = (uint32_t)(R->now_ns ^ (uint64_t)getpid() << 16);

		R->next_id = seed;
		R->ip_id = (uint16_t)(seed >> 7);
	}
	resolve(R, R->now_ns / 1000000);

	if ((r = drop_privileges(R, s->relay.preserve_source)) < 0)
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

/* --- sending ------------------------------------------------------------------------------- */

static void wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	poll(&p, 1, 20);
}

/* Send MSG[0..N) on FD; ON_DONE(i, ok) for each. A full socket buffer is waited for
 * briefly (a burst is not a reason to drop); any other error drops that message. */
static void send_all(struct relay *R, int fd, struct mmsghdr *msg, size_t n,
		     void (*done)(struct relay *R, size_t i, int err))
{
	size_t i = 0;
	int waits = 0;

	while (i < n) {
		int r = sendmmsg(fd, msg + i, (unsigned)(n - i), MSG_DONTWAIT);

		if (r > 0) {
			for (int k = 0; k < r; k++)
				done(R, i + (size_t)k, 0);
			i += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && waits < 50) {
			waits++;
			wait_writable(fd);
			continue;
		}
		done(R, i, r < 0 ? errno : EIO);
		i++;
	}
}

static void frame_done(struct relay *R, size_t i, int err)
{
	struct smeta *m = &R->smeta[i];

	if (err) {
		m->peer->st->dropped[DROP_SEND_ERROR]++;
		if (err == ENODEV || err == ENXIO)
			R->last_resolve_ms = 0;	/* the tunnel was re-created: look it up again */
		if (R->debug) {
			char ip[16];

			rlog(LOG_DEBUG, "frame to %s (%s): %s", m->peer->p->name, ipstr(m->peer->addr, ip),
			     strerror(err));
		}
		return;
	}
	m->peer->st->sent++;
	if (m->last)
		R->stats.ports[m->pi].relayed++;
}

static void flush_frames(struct relay *R)
{
	if (R->n_send)
		send_all(R, R->tr_fd, R->smsg, R->n_send, frame_done);
	R->n_send = 0;
}

static void lan_done(struct relay *R, size_t i, int err)
{
	struct smeta *m = &R->lmeta[i];

	if (err) {
		R->stats.ports[m->pi].dropped[DROP_SEND_ERROR]++;
		if (err == EMSGSIZE)
			R->last_resolve_ms = 0;	/* the MTU changed: re-read it */
		if (R->debug)
			rlog(LOG_DEBUG, "rebroadcast on %s: %s", R->site.lan, strerror(err));
		return;
	}
	if (m->last)
		R->stats.ports[m->pi].rebroadcast++;
}

static void flush_lan(struct relay *R)
{
	if (R->n_lsend)
		send_all(R, R->raw_fd, R->lmsg, R->n_lsend, lan_done);
	R->n_lsend = 0;
}

static void queue_frames(struct relay *R, struct rpeer *peer, uint16_t pi, const uint8_t *data,
			 size_t len, uint32_t src, uint16_t sport, uint16_t dport, uint32_t id)
{
	unsigned n = frame_count(len);

	/* Frames leave through the peer's tunnel and nowhere else: with the tunnel
	 * gone they are dropped here, never sent along another route. */
	if (peer->ifindex <= 0) {
		peer->st->dropped[DROP_SEND_ERROR] += n;
		R->last_resolve_ms = 0;
		return;
	}
	for (unsigned f = 0; f < n; f++) {
		struct frame_hdr h = { .hops = 1, .src_addr = src, .src_port = sport, .dst_port = dport,
				       .id = id, .total = (uint16_t)len };
		size_t off, flen, m;

		if (R->n_send == SEND_MAX)
			flush_frames(R);
		m = R->n_send++;
		frame_fragment(len, f, &off, &flen);
		h.offset = (uint16_t)off;
		frame_encode(R->shdr[m], &h);
		R->siov[m][0].iov_base = R->shdr[m];
		R->siov[m][0].iov_len = FRAME_HDR_LEN;
		R->siov[m][1].iov_base = (void *)(data + off);
		R->siov[m][1].iov_len = flen;
		R->smsg[m].msg_hdr = (struct msghdr){
			.msg_name = &peer->sa, .msg_namelen = sizeof(peer->sa),
			.msg_iov = R->siov[m], .msg_iovlen = 2,
			.msg_control = R->sctl[m].buf, .msg_controllen = sizeof(R->sctl[m].buf),
		};
		{
			struct cmsghdr *c = CMSG_FIRSTHDR(&R->smsg[m].msg_hdr);
			struct in_pktinfo pi = { .ipi_ifindex = peer->ifindex };

			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
		R->smeta[m] = (struct smeta){ .peer = peer, .pi = pi, .last = f + 1 == n };
	}
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Rebroadcast DATA on the LAN as SRC:SPORT -> LAN broadcast:DPORT, as raw IP
 * packets, fragmented to the LAN's MTU. */
static void queue_raw(struct relay *R, uint16_t pi, const uint8_t *data, size_t len,
		      uint32_t src, uint16_t sport, uint16_t dport)
{
	size_t total = 8 + len, fmax = ((size_t)R->lan_mtu - 20) & ~(size_t)7, off;
	uint8_t udp[8];
	uint16_t id = ++R->ip_id;

	if (!id)
		id = ++R->ip_id;
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)total);
	put16(udp + 6, 0);
	put16(udp + 6, udp4_checksum(src, R->lan_bcast, udp, 8, data, len));
	for (off = 0; off < total; off += fmax) {
		size_t flen = total - off < fmax ? total - off : fmax, m;
		bool more = off + flen < total;
		uint8_t *ip;
		struct iovec *iov;

		if (R->n_lsend == LSEND_MAX)
			flush_lan(R);
		m = R->n_lsend++;
		ip = R->lhdr[m];
		iov = R->liov[m];
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(20 + flen));
		put16(ip + 4, id);
		put16(ip + 6, (uint16_t)((off / 8) | (more ? IP_MF : 0)));
		ip[8] = RAW_TTL;
		ip[9] = IPPROTO_UDP;
		put16(ip + 10, 0);	/* the kernel fills in the header checksum */
		put32(ip + 12, src);
		put32(ip + 16, R->lan_bcast);
		iov[0].iov_base = ip;
		iov[0].iov_len = 20;
		if (off == 0) {
			memcpy(ip + 20, udp, 8);
			iov[1].iov_base = ip + 20;
			iov[1].iov_len = 8;
			iov[2].iov_base = (void *)data;
			iov[2].iov_len = flen - 8;
		} else {
			iov[1].iov_base = (void *)(data + off - 8);
			iov[1].iov_len = flen;
		}
		R->lmsg[m].msg_hdr = (struct msghdr){
			.msg_name = &R->bcast_sa, .msg_namelen = sizeof(R->bcast_sa),
			.msg_iov = iov, .msg_iovlen = off == 0 ? 3 : 2,
		};
		R->lmeta[m] = (struct smeta){ .pi = pi, .last = !more };
	}
}

/* preserve_source = no: from the relayed port's own socket, i.e. lan_address:DPORT */
static void send_plain(struct relay *R, uint16_t pi, const uint8_t *data, size_t len, uint16_t dport)
{
	struct sockaddr_in sa = R->bcast_sa;

	sa.sin_port = htons(dport);
	if (sendto(R->lan_fd[pi], data, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EAGAIN || errno == ENOBUFS) {
			wait_writable(R->lan_fd[pi]);
			if (sendto(R->lan_fd[pi], data, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) >= 0)
				goto ok;
		}
		R->stats.ports[pi].dropped[DROP_SEND_ERROR]++;
		return;
	}
ok:
	R->stats.ports[pi].rebroadcast++;
}

/* --- receiving --------------------------------------------------------------------------- */

static int recv_batch(struct relay *R, int fd)
{
	int n;

	for (size_t i = 0; i < BATCH; i++) {
		R->rmsg[i].msg_hdr.msg_namelen = sizeof(R->rname[i]);
		R->rmsg[i].msg_hdr.msg_controllen = sizeof(R->rctl[i].buf);
		R->rmsg[i].msg_hdr.msg_flags = 0;
	}
	do
		n = recvmmsg(fd, R->rmsg, BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN)
		rlog(LOG_WARNING, "recvmmsg: %s", strerror(errno));
	R->now_ns = mono_ns();
	return n;
}

static bool pktinfo(struct msghdr *mh, uint32_t *dst, int *ifindex)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*dst = ntohl(pi.ipi_addr.s_addr);
			*ifindex = pi.ipi_ifindex;
			return true;
		}
	return false;
}

static void debug_lan(struct relay *R, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		      size_t len, const char *what)
{
	char a[16], b[16];

	(void)R;
	rlog(LOG_DEBUG, "lan %s:%u -> %s:%u (%zu bytes): %s", ipstr(src, a), sport, ipstr(dst, b), dport,
	     len, what);
}

/* Broadcasts from the LAN on port index PI. Returns the batch size (0: drained). */
static int on_lan(struct relay *R, uint16_t pi)
{
	uint16_t port = R->site.relay.ports[pi];
	struct rs_port *ps = &R->stats.ports[pi];
	int n = recv_batch(R, R->lan_fd[pi]);

	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &R->rmsg[i].msg_hdr;
		uint32_t src = ntohl(R->rname[i].sin_addr.s_addr), dst = 0;
		uint16_t sport = ntohs(R->rname[i].sin_port);
		size_t len = R->rmsg[i].msg_len;
		int ifindex = 0, why = -1;

		if (!pktinfo(mh, &dst, &ifindex))
			why = DROP_NOT_FROM_LAN;
		else if (mh->msg_flags & MSG_TRUNC)
			why = DROP_TOO_BIG;
		else if (dst != R->lan_bcast && dst != 0xffffffffu)
			why = DROP_NOT_BROADCAST;
		else if (ifindex != R->lan_ifindex || (src & R->lan_mask) != R->lan_net || src == R->lan_addr ||
			 src == R->lan_net || src == R->lan_bcast)
			why = DROP_NOT_FROM_LAN;
		else {
			ps->received++;
			if (!bucket_take(&R->port_bucket[pi], R->site.relay.rate, R->site.relay.burst, R->now_ns))
				why = DROP_RATE;
		}
		if (why >= 0) {
			ps->dropped[why]++;
			if (R->debug)
				debug_lan(R, src, sport, dst, port, len, relay_drop_name((enum relay_drop)why));
			continue;
		}
		{
			uint32_t id = R->next_id++;

			for (size_t p = 0; p < R->n_peers; p++)
				queue_frames(R, &R->peers[p], pi, R->riov[i].iov_base, len, src, sport, port, id);
		}
		if (R->debug)
			debug_lan(R, src, sport, dst, port, len, "relayed");
	}
	/* the frames point into the receive buffers: out before the next batch */
	flush_frames(R);
	return n > 0 ? n : 0;
}

static struct rpeer *peer_by_addr(struct relay *R, uint32_t addr)
{
	for (size_t i = 0; i < R->n_peers; i++)
		if (R->peers[i].addr == addr)
			return &R->peers[i];
	return NULL;
}

static bool in_peer_networks(const struct peer *p, uint32_t a)
{
	for (size_t i = 0; i < p->n_networks; i++)
		if (net4_contains(p->networks[i], a))
			return true;
	return false;
}

static void debug_peer(struct relay *R, struct rpeer *peer, uint32_t from, size_t len, const char *what)
{
	char a[16];

	(void)R;
	rlog(LOG_DEBUG, "frame from %s (%s, %zu bytes): %s", ipstr(from, a), peer ? peer->p->name : "no peer",
	     len, what);
}

/* Frames from peers. Returns the batch size (0: drained). */
static int on_transport(struct relay *R)
{
	int n = recv_batch(R, R->tr_fd);
	uint64_t now_ms = R->now_ns / 1000000;

	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &R->rmsg[i].msg_hdr;
		uint32_t from = ntohl(R->rname[i].sin_addr.s_addr), dst = 0;
		size_t len = R->rmsg[i].msg_len, plen = 0, dlen = 0;
		struct rpeer *peer = peer_by_addr(R, from);
		const uint8_t *payload, *data;
		struct frame_hdr h;
		int ifindex = 0, why = -1, r;
		uint16_t pi = 0;

		if (!peer) {
			R->stats.other[DROP_UNKNOWN_PEER]++;
			if (R->debug)
				debug_peer(R, NULL, from, len, "unknown-peer");
			continue;
		}
		pktinfo(mh, &dst, &ifindex);
		if (ifindex != peer->ifindex && now_ms - R->last_miss_ms >= MISS_RESOLVE_MS) {
			/* the tunnel may have been recreated: look again, not too often */
			R->last_miss_ms = now_ms;
			resolve(R, now_ms);
		}
		if (mh->msg_flags & MSG_TRUNC)
			why = DROP_TOO_BIG;
		else if (!ifindex || ifindex != peer->ifindex)
			why = DROP_WRONG_TUNNEL;
		else if (frame_parse(R->riov[i].iov_base, len, &h, &payload, &plen) != FRAME_OK)
			why = DROP_BAD_FRAME;
		else if (h.hops < 1)
			why = DROP_HOPS;
		else if (!(pi = R->port_idx[h.dst_port]))
			why = DROP_UNKNOWN_PORT;
		else if (!in_peer_networks(peer->p, h.src_addr) || net4_contains(R->site.lan_address, h.src_addr))
			why = DROP_BAD_FRAME;	/* a source the peer cannot speak for: loops, spoofing */
		if (why >= 0) {
			peer->st->dropped[why]++;
			if (R->debug)
				debug_peer(R, peer, from, len, relay_drop_name((enum relay_drop)why));
			continue;
		}
		pi--;
		peer->st->received++;
		r = reasm_add(&R->reasm, peer->addr, &h, payload, plen, now_ms, &data, &dlen);
		if (r == REASM_PENDING)
			continue;
		if (r < 0) {
			peer->st->dropped[DROP_BAD_FRAME]++;
			if (R->debug)
				debug_peer(R, peer, from, len, r == REASM_DUPLICATE ? "bad-frame (duplicate fragment)"
										   : "bad-frame (inconsistent fragments)");
			continue;
		}
		if (!bucket_take(&peer->buckets[pi], R->site.relay.rate, R->site.relay.burst, R->now_ns)) {
			peer->st->dropped[DROP_RATE]++;
			if (R->debug)
				debug_peer(R, peer, from, len, "rate");
			continue;
		}
		if (R->debug) {
			char a[16], b[16], what[96];

			snprintf(what, sizeof(what), "rebroadcast %s:%u -> %s:%u, %zu bytes", ipstr(h.src_addr, a),
				 h.src_port, ipstr(R->lan_bcast, b), h.dst_port, dlen);
			debug_peer(R, peer, from, len, what);
		}
		if (R->raw_fd < 0) {
			send_plain(R, pi, data, dlen, h.dst_port);
			continue;
		}
		queue_raw(R, pi, data, dlen, h.src_addr, h.src_port, h.dst_port);
		/* a reassembled datagram lives in its slot only until the next fragment */
		if (data < R->rbuf || data >= R->rbuf + (size_t)BATCH * RECV_BUF)
			flush_lan(R);
	}
	flush_lan(R);
	R->stats.other[DROP_REASSEMBLY] = R->reasm.timed_out + R->reasm.evicted;
	return n > 0 ? n : 0;
}

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

static void run(struct relay *R)
{
	struct epoll_event ev[RELAY_PORTS_MAX + 2];

	while (!R->stop) {
		int n = epoll_wait(R->ep_fd, ev, RELAY_PORTS_MAX + 2, 1000);
		uint64_t now_ms;

		if (n < 0 && errno != EINTR) {
			rlog(LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint32_t k = ev[i].data.u32;

			if (k == 1001)
				on_signal(R);
			else if (k == 1000)
				for (int b = 0; b < 4 && on_transport(R) == BATCH; b++)
					;
			else
				for (int b = 0; b < 4 && on_lan(R, (uint16_t)k) == BATCH; b++)
					;
		}
		now_ms = mono_ns() / 1000000;
		if (now_ms - R->last_resolve_ms >= RESOLVE_MS) {
			resolve(R, now_ms);
			reasm_expire(&R->reasm, now_ms);
			R->stats.other[DROP_REASSEMBLY] = R->reasm.timed_out + R->reasm.evicted;
		}
	}
}

static void teardown(struct relay *R)
{
	for (size_t i = 0; i < R->n_ports; i++)
		if (R->lan_fd[i] >= 0)
			close(R->lan_fd[i]);
	int fds[] = { R->tr_fd, R->raw_fd, R->sig_fd, R->ep_fd, R->ioctl_fd, R->pid_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	relay_stats_unmap(&R->stats);
	reasm_free(&R->reasm);
	for (size_t i = 0; i < R->n_peers; i++)
		free(R->peers[i].buckets);
	free(R->peers);
	free(R->rbuf);
	if (R->site_loaded)
		config_free(&R->site);
}

/* --- the command ------------------------------------------------------------------------ */

static int relay_help(void)
{
	printf("Usage: %s relay [-d] -f FILE\n\n"
	       "The UDP broadcast relay of the site in FILE, in the foreground (`up` starts it\n"
	       "detached). Broadcasts from LAN hosts to the [relay] ports go to every relay\n"
	       "peer through its tunnel; frames from peers are rebroadcast on the LAN.\n"
	       "Logs to stderr. Stops on SIGTERM or SIGINT. Needs root to start; then runs as\n"
	       "[relay] user with CAP_NET_RAW only (none with preserve_source = no).\n\n"
	       "  -f, --file FILE   the site file\n"
	       "  -d, --debug       one line per datagram: from, to, what was done\n"
	       "  --daemon          detach, log to syslog (what `up` uses)\n", prog);
	return EXIT_OK;
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
	log_syslog = true;
}

int relay_main(int argc, char **argv)
{
	static struct relay relay;	/* large: not on the stack */
	struct relay *R = &relay;
	const char *file = NULL;
	int r;

	memset(R, 0, sizeof(*R));
	R->ready_fd = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (is_help(a))
			return relay_help();
		if (!strcmp(a, "-d") || !strcmp(a, "--debug"))
			R->debug = true;
		else if (!strcmp(a, "--daemon"))
			R->daemon = true;
		else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(a, "--ready-fd") && i + 1 < argc)
			R->ready_fd = atoi(argv[++i]);
		else if (a[0] != '-' && !file)
			file = a;
		else
			return usage_error("relay", "unexpected argument `%s`", a);
	}
	if (!file)
		return usage_error("relay", "no site file given (-f FILE)");
	if (R->ready_fd >= 0 && fcntl(R->ready_fd, F_SETFD, FD_CLOEXEC) < 0)
		R->ready_fd = -1;
	for (size_t i = 0; i < RELAY_PORTS_MAX; i++)
		R->lan_fd[i] = -1;
	R->tr_fd = R->raw_fd = R->sig_fd = R->ep_fd = R->pid_fd = R->ioctl_fd = -1;
	if (R->daemon)
		detach();

	{
		char *errs = NULL;
		size_t elen = 0;
		FILE *err = R->daemon ? open_memstream(&errs, &elen) : stderr;

		r = config_load(file, &R->site, err ? err : stderr);
		if (R->daemon && err)
			fclose(err);
		if (r < 0) {
			if (errs)
				errs[strcspn(errs, "\n")] = 0;
			fail(R, 0, "%s", errs && *errs ? errs : "invalid site file");
			free(errs);
			report_ready(R, -EINVAL);
			if (R->daemon)
				rlog(LOG_ERR, "%s", R->err);
			return EXIT_USAGE;
		}
		free(errs);
		R->site_loaded = true;
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

		rlog(LOG_INFO, "site %s: relaying %zu port%s with %zu peer%s, transport %s:%u, as %s%s",
		     R->site.name, R->n_ports, R->n_ports == 1 ? "" : "s", R->n_peers, R->n_peers == 1 ? "" : "s",
		     ipstr(R->lan_addr, ip), R->site.relay.transport, R->site.relay.user,
		     R->raw_fd >= 0 ? " (CAP_NET_RAW kept: source preserved)" : "");
	}
	report_ready(R, 0);
	run(R);
	rlog(LOG_INFO, "stopped");
	teardown(R);
	return EXIT_OK;
}
