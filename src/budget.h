/* budget.h - how much the relay lets through: token buckets that count datagrams
 * and bytes, and a port's budget shared fairly between the LAN hosts sending on
 * it. Pure functions, no I/O: time is passed in (CLOCK_MONOTONIC ns).
 * docs/relay.md, "Rate limits", says what the numbers mean. */
#ifndef GATEWAYCTL_BUDGET_H
#define GATEWAYCTL_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* [relay] rate and burst count datagrams; the byte budget is derived from them:
 * rate x BUDGET_DATAGRAM_BYTES bytes/s, depth burst x BUDGET_DATAGRAM_BYTES but
 * at least BUDGET_MIN_BYTE_BURST, so that a datagram of any size can pass. */
#define BUDGET_DATAGRAM_BYTES 1500u
#define BUDGET_MIN_BYTE_BURST 131072u

struct limits {
	uint64_t rate, burst;		/* datagrams per second, bucket depth */
	uint64_t byte_rate, byte_burst;	/* bytes per second, bucket depth */
};
void limits_init(struct limits *l, unsigned rate, unsigned burst);

/* A bucket in both units; credits are units x 1e9 (integer arithmetic only). */
struct tbucket {
	uint64_t dg, by;
	uint64_t last_ns;
};
/* Full, for a share of 1/DIV of L. */
void tbucket_init(struct tbucket *b, const struct limits *l, unsigned div, uint64_t now_ns);
/* Take one datagram of LEN bytes from a bucket refilled at 1/DIV of L's rates
 * (depth 1/DIV of L's, at least one datagram of any size). */
bool tbucket_take(struct tbucket *b, const struct limits *l, unsigned div, size_t len, uint64_t now_ns);

/* A port's budget, fair between senders: each sender seen in the last second
 * gets 1/N of it (its own bucket); beyond its share a sender may use only what
 * the others leave, while the port's bucket is more than half full. So a host
 * flooding the port cannot starve a host that stays within its share, and a
 * lone sender still gets the whole budget. Senders are kept in a table of
 * FAIR_SENDERS; when it is full of active senders, new ones share one bucket. */
#define FAIR_SENDERS 64
#define FAIR_ACTIVE_NS 1000000000ull	/* a sender counts as active this long */
#define FAIR_RECOUNT_NS 100000000ull	/* active senders recounted this often */

struct sender {
	uint32_t addr;
	bool used;
	uint64_t seen_ns;
	struct tbucket b;
};

struct fair {
	struct limits lim;
	struct tbucket total;
	struct sender senders[FAIR_SENDERS];
	struct sender others;	/* the senders that found no room in the table */
	unsigned active;	/* >= 1 */
	uint64_t counted_ns;
};

void fair_init(struct fair *f, const struct limits *l, uint64_t now_ns);
/* May ADDR send a datagram of LEN bytes now? (Takes its tokens if so.) */
bool fair_take(struct fair *f, uint32_t addr, size_t len, uint64_t now_ns);

#endif
