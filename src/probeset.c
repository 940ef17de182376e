/* probeset.c - ICMP echoes to many peers from one socket (see probeset.h).
 *
 * Every echo carries a sequence number of its own; a ring of the last
 * PROBESET_RING sent remembers which target each went to and when, so that an
 * answer is credited only when it comes from the address the echo went to. */
#define _GNU_SOURCE
#include "probeset.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint16_t icmp_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

int probeset_open(struct probeset *ps, uint32_t src, char *err, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(src) };
	char ip[16];
	int r;

	memset(ps, 0, sizeof(*ps));
	if (getrandom(&ps->ident, sizeof(ps->ident), GRND_NONBLOCK) != (ssize_t)sizeof(ps->ident))
		ps->ident = (uint16_t)getpid();
	ps->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
	if (ps->fd < 0) {
		ps->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
		ps->raw = true;
	}
	if (ps->fd < 0) {
		r = -errno;
		snprintf(err, len, "cannot open an ICMP socket: %s", strerror(-r));
		return r;
	}
	if (bind(ps->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(err, len, "cannot send from %s (our lan_address): %s",
			 inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip)) ? ip : "?", strerror(-r));
		close(ps->fd);
		ps->fd = -1;
		return r;
	}
	return 0;
}

void probeset_close(struct probeset *ps)
{
	if (ps->fd >= 0)
		close(ps->fd);
	ps->fd = -1;
}

int probeset_send(struct probeset *ps, struct probe_target *t, size_t n, size_t i)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct icmphdr h = { .type = ICMP_ECHO };
	uint16_t seq = ps->seq++;

	if (i >= n)
		return -EINVAL;
	dst.sin_addr.s_addr = htonl(t[i].addr);
	h.un.echo.id = htons(ps->ident);
	h.un.echo.sequence = htons(seq);
	h.checksum = icmp_checksum(&h, sizeof(h));
	ps->ring[seq % PROBESET_RING].live = false;
	t[i].sent++;
	if (sendto(ps->fd, &h, sizeof(h), MSG_DONTWAIT, (struct sockaddr *)&dst, sizeof(dst)) != (ssize_t)sizeof(h))
		return -errno;
	ps->ring[seq % PROBESET_RING].sent_us = now_us();
	ps->ring[seq % PROBESET_RING].target = i;
	ps->ring[seq % PROBESET_RING].live = true;
	return 0;
}

int probe_reply_parse(const uint8_t *buf, size_t len, bool raw, uint32_t from, uint32_t *src, uint16_t *id,
		      uint16_t *seq)
{
	const uint8_t *icmp = buf;
	size_t left = len;

	*src = from;
	if (raw) { /* the IP header first: its source is the answer's */
		size_t hl;

		if (len < 20 || (buf[0] >> 4) != 4)
			return -1;
		hl = (size_t)(buf[0] & 15) * 4;
		if (hl < 20 || len < hl)
			return -1;
		*src = (uint32_t)buf[12] << 24 | (uint32_t)buf[13] << 16 | (uint32_t)buf[14] << 8 | buf[15];
		icmp = buf + hl;
		left = len - hl;
	}
	if (left < 8 || icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0)
		return -1;
	*id = (uint16_t)(icmp[4] << 8 | icmp[5]);
	*seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
	return 0;
}

int probeset_read(struct probeset *ps, struct probe_target *t, size_t n)
{
	int matched = 0;

	for (;;) {
		uint8_t buf[512];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		uint32_t src;
		uint16_t id, seq;
		ssize_t got = recvfrom(ps->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		if (flen < sizeof(from) || from.sin_family != AF_INET)
			continue;
		if (probe_reply_parse(buf, (size_t)got, ps->raw, ntohl(from.sin_addr.s_addr), &src, &id, &seq) < 0)
			continue;
		/* a ping socket's echoes carry the kernel's id and only theirs come back */
		if (ps->raw && id != ps->ident)
			continue;
		if (!ps->ring[seq % PROBESET_RING].live || ps->ring[seq % PROBESET_RING].target >= n)
			continue;
		struct probe_target *pt = &t[ps->ring[seq % PROBESET_RING].target];

		if (pt->addr != src)
			continue;
		ps->ring[seq % PROBESET_RING].live = false;
		pt->received++;
		pt->rtt_ms = (double)(now_us() - ps->ring[seq % PROBESET_RING].sent_us) / 1000.0;
		pt->answered_ms = mono_ms();
		matched++;
	}
	return matched;
}

/* How many of T answered since START (mono ms). */
static size_t answered_since(const struct probe_target *t, size_t n, uint64_t start)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += t[i].answered_ms >= start && t[i].answered_ms;
	return k;
}

size_t probeset_round(struct probeset *ps, struct probe_target *t, size_t n, int echoes, int spacing_ms,
		      int wait_ms)
{
	uint64_t start = mono_ms(), next = start, until = 0;
	int sent = 0;

	if (n == 0)
		return 0;
	for (;;) {
		struct pollfd pfd = { .fd = ps->fd, .events = POLLIN };
		uint64_t now = mono_ms(), wake;

		if (sent < echoes && now >= next) {
			for (size_t i = 0; i < n; i++)
				if (!(t[i].answered_ms >= start && t[i].answered_ms))
					probeset_send(ps, t, n, i);
			sent++;
			next = now + (uint64_t)spacing_ms;
			if (sent == echoes)
				until = now + (uint64_t)wait_ms;
		}
		if (answered_since(t, n, start) == n || (sent == echoes && now >= until))
			break;
		wake = sent < echoes ? next : until;
		if (poll(&pfd, 1, wake > now ? (int)(wake - now) : 0) > 0)
			probeset_read(ps, t, n);
	}
	return answered_since(t, n, start);
}
