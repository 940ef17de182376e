/* bench/udpsend.c - UDP load generator for the relay benchmark.
 *
 *   udpsend -d DST -p PORT [-s SRC] [-l LEN] [-t SECONDS | -n COUNT] [-r RATE] [-R RUN]
 *
 * Sends datagrams of LEN bytes (default 64, at least 16) to DST:PORT (broadcast
 * allowed), numbered from 0, with sendmmsg in batches: as fast as possible, or paced
 * at RATE datagrams per second. Stops after SECONDS (default 2) or COUNT datagrams.
 * Prints one line: "sent N seconds S rate R errors E". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define BATCH 32
#define MAXLEN 65507

static void usage(void)
{
	fprintf(stderr, "usage: udpsend -d DST -p PORT [-s SRC] [-l LEN] [-t SECONDS | -n COUNT] [-r RATE] [-R RUN]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dst = NULL, *src = NULL;
	long port = 0, len = 64, run = 1;
	double secs = 2, rate = 0;
	unsigned long long count = 0;
	int c;

	while ((c = getopt(argc, argv, "d:p:s:l:t:n:r:R:")) != -1) {
		switch (c) {
		case 'd': dst = optarg; break;
		case 's': src = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'l': len = strtol(optarg, NULL, 10); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'R': run = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!dst || port <= 0 || port > 65535 || len < (long)sizeof(struct bench_hdr) || len > MAXLEN)
		usage();

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) { perror("socket"); return 1; }
	int one = 1, sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	if (src) {
		if (inet_pton(AF_INET, src, &sa.sin_addr) != 1) usage();
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { perror("bind"); return 1; }
	}
	struct sockaddr_in da = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, dst, &da.sin_addr) != 1) usage();

	static char buf[BATCH][MAXLEN];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	memset(msg, 0, sizeof(msg));
	for (int i = 0; i < BATCH; i++) {
		memset(buf[i], 0xa5, (size_t)len);
		iov[i].iov_base = buf[i];
		iov[i].iov_len = (size_t)len;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &da;
		msg[i].msg_hdr.msg_namelen = sizeof(da);
	}

	unsigned long long seq = 0, errors = 0;
	double t0 = now_s(), t = t0;
	for (;;) {
		t = now_s();
		if (count ? seq >= count : t - t0 >= secs)
			break;
		unsigned n = BATCH;
		if (rate > 0) {
			double due = (t - t0) * rate + 1;
			if ((double)seq >= due) {
				usleep(200);
				continue;
			}
			if (due - (double)seq < n) n = (unsigned)(due - (double)seq);
			if (n == 0) n = 1;
		}
		if (count && count - seq < n) n = (unsigned)(count - seq);
		for (unsigned i = 0; i < n; i++) {
			struct bench_hdr h = { BENCH_MAGIC, (uint32_t)run, seq + i };
			memcpy(buf[i], &h, sizeof(h));
		}
		int r = sendmmsg(fd, msg, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == ENOMEM || errno == ECONNREFUSED) {
				errors++;
				continue;
			}
			perror("sendmmsg");
			return 1;
		}
		seq += (unsigned)r;
	}
	double el = t - t0;
	printf("sent %llu seconds %.3f rate %.0f errors %llu\n", seq, el, el > 0 ? (double)seq / el : 0.0, errors);
	return 0;
}
