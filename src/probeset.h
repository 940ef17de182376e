/* probeset.h - ICMP echoes to many peer gateways at once from one socket
 * (probeset.c): `up --confirm --probe` before the change and in its watcher,
 * and the long-running watcher's periodic probes. Nothing here blocks except
 * probeset_round(); the rest is send, then read whatever poll() says arrived. */
#ifndef GATEWAYCTL_PROBESET_H
#define GATEWAYCTL_PROBESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One peer to probe: its LAN address and what came back. */
struct probe_target {
	uint32_t addr;		/* host byte order */
	unsigned sent, received;	/* echoes since the last probeset_reset */
	double rtt_ms;		/* the last answer's round trip */
	uint64_t answered_ms;	/* mono_ms() of the last answer (0: none) */
};

#define PROBESET_RING 256	/* echoes in flight at most (per socket) */

struct probeset {
	int fd;
	bool raw;		/* a raw socket (no ping socket allowed): replies carry the IP header */
	uint16_t ident;		/* the echo id (a ping socket's is the kernel's) */
	uint16_t seq;
	struct { uint64_t sent_us; size_t target; bool live; } ring[PROBESET_RING];
};

/* A socket bound to SRC (host byte order): a ping socket where the system
 * allows it, else a raw one (CAP_NET_RAW). 0, or -errno with why in ERR. */
int probeset_open(struct probeset *ps, uint32_t src, char *err, size_t len);
void probeset_close(struct probeset *ps);
/* Send one echo to targets[I] (counted in its sent). 0 or -errno. */
int probeset_send(struct probeset *ps, struct probe_target *t, size_t n, size_t i);
/* Read every reply waiting on the socket (non-blocking) and credit the
 * targets: the number of answers matched. */
int probeset_read(struct probeset *ps, struct probe_target *t, size_t n);
/* Blocking, for short-lived callers: ECHOES echoes to every target SPACING_MS
 * apart, then wait up to WAIT_MS for the last answers (returns earlier once
 * every target answered since the start). The number of targets that answered. */
size_t probeset_round(struct probeset *ps, struct probe_target *t, size_t n, int echoes, int spacing_ms,
		      int wait_ms);

/* The Internet checksum of LEN bytes at DATA, in network byte order. */
uint16_t icmp_checksum(const void *data, size_t len);

/* The pure part (unit tests, fuzzing): an echo reply in BUF (with its IP
 * header when RAW) into its source (host order), id and sequence. 0, or -1
 * when it is no echo reply. */
int probe_reply_parse(const uint8_t *buf, size_t len, bool raw, uint32_t from, uint32_t *src, uint16_t *id,
		      uint16_t *seq);

#endif
