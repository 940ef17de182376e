/* probe.c - three ICMP echoes to a peer gateway's LAN address through its
 * tunnel (see probe.h): `status --probe`, the Prometheus output, and next the
 * watcher and `up --confirm --probe` */
#define _GNU_SOURCE
#include "probe.h"
#include "probeset.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Three ICMP echoes from lan_address to the peer gateway's LAN address, which
 * gatewayctl's routes send through the tunnel. A ping socket where the system
 * allows it, else a raw one (CAP_NET_RAW). */
void probe_peer(const struct site *s, const struct peer *p, struct probe *pr)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(s->lan_address.addr) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(p->lan_address) };
	double sent_at[3] = { 0 };
	bool raw = false, got[3] = { false };
	uint16_t ident = (uint16_t)getpid();
	int fd;

	memset(pr, 0, sizeof(*pr));
	if (!p->lan_address) {
		snprintf(pr->error, sizeof(pr->error), "no lan_address for peer %s in the file", p->name);
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0) {
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		raw = true;
	}
	if (fd < 0) {
		snprintf(pr->error, sizeof(pr->error), "cannot open an ICMP socket: %s", strerror(errno));
		return;
	}
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		snprintf(pr->error, sizeof(pr->error), "cannot bind to %s: %s", "lan_address", strerror(errno));
		close(fd);
		return;
	}
	pr->min = 1e9;
	for (int i = 0; i < 3; i++) {
		struct icmphdr h = { .type = ICMP_ECHO, .un.echo.id = htons(ident), .un.echo.sequence = htons((uint16_t)i) };

		h.checksum = icmp_checksum(&h, sizeof(h));
		sent_at[i] = now_ms();
		if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&dst, sizeof(dst)) == (ssize_t)sizeof(h))
			pr->sent++;
		/* wait up to 300 ms for answers before the next */
		double until = now_ms() + (i == 2 ? 1000 : 300);

		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			double left = until - now_ms();
			char buf[256];
			ssize_t n;
			const struct icmphdr *r;

			if (left <= 0 || poll(&pfd, 1, (int)left + 1) <= 0)
				break;
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				continue;
			r = (const struct icmphdr *)buf;
			if (raw) { /* a raw socket delivers the IP header too */
				size_t hl = (size_t)(buf[0] & 15) * 4;

				if ((size_t)n < hl + sizeof(*r))
					continue;
				r = (const struct icmphdr *)(buf + hl);
				if (ntohs(r->un.echo.id) != ident)
					continue;
			} else if ((size_t)n < sizeof(*r)) {
				continue;
			}
			if (r->type != ICMP_ECHOREPLY)
				continue;
			unsigned seq = ntohs(r->un.echo.sequence);

			if (seq < 3 && !got[seq]) {
				double rtt = now_ms() - sent_at[seq];

				got[seq] = true;
				pr->received++;
				pr->avg += rtt;
				if (rtt < pr->min)
					pr->min = rtt;
				if (rtt > pr->max)
					pr->max = rtt;
			}
		}
	}
	if (pr->received)
		pr->avg /= pr->received;
	else
		pr->min = 0;
	close(fd);
}
