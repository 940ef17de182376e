/* relay_io.c - the relay's data path (docs/relay.md): LAN broadcasts become
 * frames to every peer, frames from peers become rebroadcasts on the LAN.
 * Budgets in datagrams and bytes, fair between senders; nothing here ever
 * waits: a full socket leaves frames in the peer's bounded queue, and a full
 * queue (or LAN socket) drops and counts. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <syslog.h>

#include "relay_daemon.h"
#include "netmap.h"

static const char *ipstr(uint32_t a, char *b)
{
	return ip4_str(a, b);
}

/* --- interfaces ------------------------------------------------------------------------- */

static int ifindex_of(struct relay *R, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(R->tr_fd, SIOCGIFINDEX, &ifr) < 0)
		return 0;
	return ifr.ifr_ifindex;
}

static int lan_mtu(struct relay *R)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", R->site.lan);
	if (ioctl(R->tr_fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu < 68)
		return R->lan_mtu ? R->lan_mtu : 1500;
	return ifr.ifr_mtu;
}

/* Tunnel ifindexes (tunnels may be recreated by up) and the LAN MTU. */
void relay_resolve(struct relay *R, uint64_t now_ms)
{
	for (size_t i = 0; i < R->n_peers; i++) {
		int idx = ifindex_of(R, R->peers[i].p->tunnel);

		if (idx != R->peers[i].ifindex && R->debug)
			rlog(LOG_DEBUG, "peer %s: tunnel %s is now ifindex %d", R->peers[i].p->name,
			     R->peers[i].p->tunnel, idx);
		R->peers[i].ifindex = idx;
	}
	R->lan_mtu = lan_mtu(R);
	R->last_resolve_ms = now_ms;
}

/* --- frames to peers -------------------------------------------------------------------- */

static void set_out(struct relay *R, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = EV_TRANSPORT };

	if (R->tr_out != on && epoll_ctl(R->ep_fd, EPOLL_CTL_MOD, R->tr_fd, &ev) == 0)
		R->tr_out = on;
}

/* The socket took no more (ERR): go on when it is writable again, or after a
 * moment (ENOBUFS says nothing about when). */
static void congested(struct relay *R, int err)
{
	if (!R->queued) {
		set_out(R, false);
		return;
	}
	if (err == EAGAIN) {
		R->retry_ns = 0;
		set_out(R, true);
	} else {
		set_out(R, false);
		R->retry_ns = mono_ns() + RETRY_NS;
	}
}

static void frame_sent(struct relay *R, const struct smeta *m, int err)
{
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

/* Keep frame M (header IOV[0], payload IOV[1]) in its peer's queue: a copy, the
 * receive buffers are reused. A full queue drops it (counted). */
static void enqueue(struct relay *R, const struct smeta *m, const struct iovec *iov)
{
	struct rpeer *p = m->peer;
	struct pqueue *q = &p->queue;
	size_t len = iov[0].iov_len + iov[1].iov_len;
	struct qframe *f = NULL;

	if (q->n < PQ_FRAMES && q->bytes + len <= PQ_BYTES && R->queued_bytes + len <= QUEUE_BYTES_MAX)
		f = malloc(sizeof(*f) + len);
	if (!f) {
		p->st->dropped[DROP_QUEUE_FULL]++;
		if (R->debug)
			rlog(LOG_DEBUG, "frame to %s: queue full (%u frames, %zu bytes)", p->p->name, q->n, q->bytes);
		return;
	}
	f->pi = m->pi;
	f->last = m->last;
	f->len = (uint32_t)len;
	memcpy(f->data, iov[0].iov_base, iov[0].iov_len);
	memcpy(f->data + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
	q->q[(q->head + q->n) % PQ_FRAMES] = f;
	q->n++;
	q->bytes += len;
	R->queued++;
	R->queued_bytes += len;
}

static void pop(struct relay *R, struct rpeer *p)
{
	struct pqueue *q = &p->queue;
	struct qframe *f = q->q[q->head];

	q->q[q->head] = NULL;
	q->head = (q->head + 1) % PQ_FRAMES;
	q->n--;
	q->bytes -= f->len;
	R->queued--;
	R->queued_bytes -= f->len;
	free(f);
}

void relay_queues_free(struct relay *R)
{
	for (size_t i = 0; i < R->n_peers; i++)
		while (R->peers[i].queue.n)
			pop(R, &R->peers[i]);
}

static void pin_to_tunnel(struct msghdr *mh, union pktinfo_buf *ctl, int ifindex)
{
	struct cmsghdr *c;
	struct in_pktinfo pi = { .ipi_ifindex = ifindex };

	mh->msg_control = ctl->buf;
	mh->msg_controllen = sizeof(ctl->buf);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}

void relay_drain(struct relay *R)
{
	uint64_t start = mono_ns();

	R->retry_ns = 0;
	/* a peer whose tunnel is gone: its frames never take another route */
	for (size_t k = 0; k < R->n_peers; k++) {
		struct rpeer *p = &R->peers[k];

		if (p->queue.n && p->ifindex <= 0) {
			p->st->dropped[DROP_SEND_ERROR] += p->queue.n;
			while (p->queue.n)
				pop(R, p);
			R->last_resolve_ms = 0;
		}
	}
	while (R->queued) {
		size_t n = 0, i = 0;
		bool more = true;

		/* round robin: one frame per peer and turn, the first peer changing */
		for (size_t k = 0; k < R->n_peers; k++)
			R->peers[k].queue.taken = 0;
		while (n < SEND_MAX && more) {
			more = false;
			for (size_t k = 0; k < R->n_peers && n < SEND_MAX; k++) {
				struct rpeer *p = &R->peers[(R->rr + k) % R->n_peers];
				struct pqueue *q = &p->queue;
				struct qframe *f;

				if (q->taken == q->n)
					continue;
				f = q->q[(q->head + q->taken) % PQ_FRAMES];
				q->taken++;
				more = true;
				R->siov[n][0] = (struct iovec){ .iov_base = f->data, .iov_len = f->len };
				R->smsg[n].msg_hdr = (struct msghdr){
					.msg_name = &p->sa, .msg_namelen = sizeof(p->sa),
					.msg_iov = R->siov[n], .msg_iovlen = 1,
				};
				pin_to_tunnel(&R->smsg[n].msg_hdr, &R->sctl[n], p->ifindex);
				R->smeta[n] = (struct smeta){ .peer = p, .pi = f->pi, .last = f->last, .qf = f };
				n++;
			}
		}
		R->rr = R->n_peers ? (R->rr + 1) % R->n_peers : 0;
		/* each peer's frames in the batch are in its queue's order, so what
		 * was sent (or failed) is always at the head of its queue */
		while (i < n) {
			int r = sendmmsg(R->tr_fd, R->smsg + i, (unsigned)(n - i), MSG_DONTWAIT);

			if (r > 0) {
				for (int k = 0; k < r; k++, i++) {
					frame_sent(R, &R->smeta[i], 0);
					pop(R, R->smeta[i].peer);
				}
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
				congested(R, errno);
				return;
			}
			frame_sent(R, &R->smeta[i], r < 0 ? errno : EIO);
			pop(R, R->smeta[i].peer);
			i++;
		}
		if (R->queued && mono_ns() - start >= SLICE_NS) {
			congested(R, EAGAIN);	/* the socket is writable: the loop comes back at once */
			return;
		}
	}
	set_out(R, false);
}

/* Send the frames built in smsg; what the socket does not take waits in the
 * peers' queues. */
static void flush_frames(struct relay *R)
{
	size_t i = 0, n = R->n_send;

	R->n_send = 0;
	if (!n)
		return;
	if (R->queued) {
		/* others are waiting: behind them, in turn */
		for (i = 0; i < n; i++)
			enqueue(R, &R->smeta[i], R->siov[i]);
		relay_drain(R);
		return;
	}
	while (i < n) {
		int r = sendmmsg(R->tr_fd, R->smsg + i, (unsigned)(n - i), MSG_DONTWAIT);

		if (r > 0) {
			for (int k = 0; k < r; k++)
				frame_sent(R, &R->smeta[i + (size_t)k], 0);
			i += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			int e = errno;

			for (; i < n; i++)
				enqueue(R, &R->smeta[i], R->siov[i]);
			congested(R, e);
			return;
		}
		frame_sent(R, &R->smeta[i], r < 0 ? errno : EIO);
		i++;
	}
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
		};
		pin_to_tunnel(&R->smsg[m].msg_hdr, &R->sctl[m], peer->ifindex);
		R->smeta[m] = (struct smeta){ .peer = peer, .pi = pi, .last = f + 1 == n };
	}
}

/* --- rebroadcasts on the LAN -------------------------------------------------------------- */

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
	size_t i = 0, n = R->n_lsend;

	R->n_lsend = 0;
	while (i < n) {
		int r = sendmmsg(R->raw_fd, R->lmsg + i, (unsigned)(n - i), MSG_DONTWAIT);

		if (r > 0) {
			for (int k = 0; k < r; k++)
				lan_done(R, i + (size_t)k, 0);
			i += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			/* the LAN socket is full: the rest is dropped, not waited for
			 * (a datagram counted once, at its last fragment) */
			for (; i < n; i++)
				if (R->lmeta[i].last)
					R->stats.ports[R->lmeta[i].pi].dropped[DROP_QUEUE_FULL]++;
			return;
		}
		lan_done(R, i, r < 0 ? errno : EIO);
		i++;
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
	ssize_t r;

	sa.sin_port = htons(dport);
	do
		r = sendto(R->lan_fd[pi], data, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		R->stats.ports[pi].rebroadcast++;
	else if (errno == EAGAIN || errno == ENOBUFS)
		R->stats.ports[pi].dropped[DROP_QUEUE_FULL]++;
	else
		R->stats.ports[pi].dropped[DROP_SEND_ERROR]++;
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

static void debug_lan(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, size_t len, const char *what)
{
	char a[16], b[16];

	rlog(LOG_DEBUG, "lan %s:%u -> %s:%u (%zu bytes): %s", ipstr(src, a), sport, ipstr(dst, b), dport,
	     len, what);
}

int relay_on_lan(struct relay *R, uint16_t pi)
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
			if (!fair_take(&R->port_fair[pi], src, len, R->now_ns))
				why = DROP_RATE;
		}
		if (why >= 0) {
			ps->dropped[why]++;
			if (R->debug)
				debug_lan(src, sport, dst, port, len, relay_drop_name((enum relay_drop)why));
			continue;
		}
		{
			uint32_t id = R->next_id++;

			/* the sender as the peers know it: its mapped address with a netmap */
			for (size_t p = 0; p < R->n_peers; p++)
				queue_frames(R, &R->peers[p], pi, R->riov[i].iov_base, len, netmap_out(&R->site, src),
					     sport, port, id);
		}
		if (R->debug)
			debug_lan(src, sport, dst, port, len, "relayed");
	}
	/* the frames point into the receive buffers: out (or copied) before the next batch */
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

static void debug_peer(struct rpeer *peer, uint32_t from, size_t len, const char *what)
{
	char a[16];

	rlog(LOG_DEBUG, "frame from %s (%s, %zu bytes): %s", ipstr(from, a), peer ? peer->p->name : "no peer",
	     len, what);
}

int relay_on_transport(struct relay *R)
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
				debug_peer(NULL, from, len, "unknown-peer");
			continue;
		}
		pktinfo(mh, &dst, &ifindex);
		if (ifindex != peer->ifindex && now_ms - R->last_miss_ms >= MISS_RESOLVE_MS) {
			/* the tunnel may have been recreated: look again, not too often */
			R->last_miss_ms = now_ms;
			relay_resolve(R, now_ms);
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
				debug_peer(peer, from, len, relay_drop_name((enum relay_drop)why));
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
				debug_peer(peer, from, len, r == REASM_DUPLICATE ? "bad-frame (duplicate fragment)"
										 : "bad-frame (inconsistent fragments)");
			continue;
		}
		if (!tbucket_take(&peer->buckets[pi], &R->lim, 1, dlen, R->now_ns)) {
			peer->st->dropped[DROP_RATE]++;
			if (R->debug)
				debug_peer(peer, from, len, "rate");
			continue;
		}
		if (R->debug) {
			char a[16], b[16], what[96];

			snprintf(what, sizeof(what), "rebroadcast %s:%u -> %s:%u, %zu bytes", ipstr(h.src_addr, a),
				 h.src_port, ipstr(R->lan_bcast, b), h.dst_port, dlen);
			debug_peer(peer, from, len, what);
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
