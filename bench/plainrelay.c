/* bench/plainrelay.c - the article's relay design, for comparison: one recvfrom and
 * one sendto per datagram, nothing else (no filtering, no counters, no framing).
 *
 *   plainrelay LISTEN_PORT DST_ADDR DST_PORT
 *
 * Receives on 0.0.0.0:LISTEN_PORT (broadcasts too) and sends each datagram's payload
 * to DST_ADDR:DST_PORT (a peer gateway through the tunnel, or the LAN's broadcast
 * address). Two instances make the path: LAN -> gateway A -> gateway B -> LAN.
 * Stops on SIGTERM or SIGINT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: plainrelay LISTEN_PORT DST_ADDR DST_PORT\n");
		return 2;
	}
	long lport = strtol(argv[1], NULL, 10), dport = strtol(argv[3], NULL, 10);
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons((uint16_t)lport) };
	struct sockaddr_in da = { .sin_family = AF_INET, .sin_port = htons((uint16_t)dport) };
	if (lport <= 0 || lport > 65535 || dport <= 0 || dport > 65535 ||
	    inet_pton(AF_INET, argv[2], &da.sin_addr) != 1) {
		fprintf(stderr, "plainrelay: bad arguments\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) { perror("socket"); return 1; }
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&la, sizeof(la)) < 0) { perror("bind"); return 1; }

	static char buf[65536];
	unsigned long long relayed = 0, errors = 0;
	while (!stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR) continue;
			perror("recvfrom");
			return 1;
		}
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&da, sizeof(da)) < 0)
			errors++;
		else
			relayed++;
	}
	fprintf(stderr, "plainrelay: %llu relayed, %llu send errors\n", relayed, errors);
	return 0;
}
