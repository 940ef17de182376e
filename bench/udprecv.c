/* bench/udprecv.c - counting receiver for the relay benchmark.
 *
 *   udprecv -p PORT [-t MAX_SECONDS] [-i IDLE_SECONDS] [-R RUN] [-f READYFILE]
 *
 * Binds 0.0.0.0:PORT (broadcasts too) and counts the sender's datagrams of run RUN
 * with recvmmsg until IDLE_SECONDS (default 1) pass without one after the first,
 * or MAX_SECONDS (default 30) in all. Prints one line:
 * "received N unique U dup D other O seconds S rate R" (S: first to last datagram). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define BATCH 64
#define BUFLEN 2048
#define SEQ_BITS (1u << 27)	/* 128 Mi sequence numbers, 16 MiB of bitmap */

int main(int argc, char **argv)
{
	long port = 0, run = 1;
	double maxs = 30, idle = 1;
	const char *ready = NULL;
	int c;

	while ((c = getopt(argc, argv, "p:t:i:R:f:")) != -1) {
		switch (c) {
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 't': maxs = strtod(optarg, NULL); break;
		case 'i': idle = strtod(optarg, NULL); break;
		case 'R': run = strtol(optarg, NULL, 10); break;
		case 'f': ready = optarg; break;
		default:
			fprintf(stderr, "usage: udprecv -p PORT [-t MAX_SECONDS] [-i IDLE_SECONDS] [-R RUN] [-f READYFILE]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535) { fprintf(stderr, "udprecv: bad port\n"); return 2; }

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) { perror("socket"); return 1; }
	int one = 1, sz = 16 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { perror("bind"); return 1; }

	uint8_t *seen = calloc(SEQ_BITS / 8, 1);
	if (!seen) { perror("calloc"); return 1; }
	static char buf[BATCH][BUFLEN];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];

	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f) { fputs("READY\n", f); fclose(f); }
	}
	unsigned long long got = 0, uniq = 0, dup = 0, other = 0;
	double start = now_s(), first = 0, last = 0;
	for (;;) {
		double t = now_s();
		double left = got ? last + idle - t : start + maxs - t;
		if (start + maxs - t < left) left = start + maxs - t;
		if (left <= 0) break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR) { perror("poll"); return 1; }
		if (pr <= 0) continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = BUFLEN;
			memset(&msg[i].msg_hdr, 0, sizeof(msg[i].msg_hdr));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, msg, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) continue;
			perror("recvmmsg");
			return 1;
		}
		last = now_s();
		if (!got) first = last;
		for (int i = 0; i < n; i++) {
			struct bench_hdr h;
			if (msg[i].msg_len < sizeof(h)) { other++; continue; }
			memcpy(&h, buf[i], sizeof(h));
			if (h.magic != BENCH_MAGIC || h.run != (uint32_t)run || h.seq >= SEQ_BITS) { other++; continue; }
			got++;
			if (seen[h.seq / 8] & (1u << (h.seq % 8))) {
				dup++;
			} else {
				seen[h.seq / 8] |= (uint8_t)(1u << (h.seq % 8));
				uniq++;
			}
		}
	}
	double span = last - first;
	printf("received %llu unique %llu dup %llu other %llu seconds %.3f rate %.0f\n",
	       got, uniq, dup, other, span, span > 0 ? (double)uniq / span : 0.0);
	return 0;
}
