/* nlsock.h - one netlink socket with extended acks, shared by rtnl.c and nft.c */
#ifndef GATEWAYCTL_NLSOCK_H
#define GATEWAYCTL_NLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#define NL_DUMP_BUFSIZE 32768
/* Interrupted dumps in a row before nl_dump_stable() gives up. */
#define NL_DUMP_TRIES 10

struct nl {
	struct mnl_socket *sock;	/* NULL after a failed reopen */
	int bus;
	uint32_t portid;
	uint32_t seq;		/* next sequence number to hand out */
	/* The first error of the last nl_talk(): */
	int err;		/* negative errno, 0 if none */
	uint32_t err_seq;	/* sequence number of the request that failed */
	uint32_t err_off;	/* NLMSGERR_ATTR_OFFS, 0 if absent */
	char err_msg[256];	/* the kernel's extended-ack message, "" if none */
	bool sent;		/* the last nl_talk() got its request to the kernel */
	/* Optional: called for every ack (ERROR 0 = success) nl_talk() reads. */
	void (*on_ack)(uint32_t seq, int error, void *arg);
	void *on_ack_arg;
};

/* Open a socket on BUS (NETLINK_ROUTE, NETLINK_NETFILTER), close-on-exec.
 * 0 or -errno. */
int nl_open(struct nl *nl, int bus);
void nl_close(struct nl *nl);
/* A fresh socket on the same bus in place of the old one (sequence numbers,
 * callbacks and the last error kept): what is left of an abandoned dump
 * goes with the old socket. 0 or -errno (then nl->sock is NULL and every
 * request fails until a reopen works). */
int nl_reopen(struct nl *nl);

/* Next sequence number; every request gets its own. */
static inline uint32_t nl_seq(struct nl *nl) { return nl->seq++; }

/*
 * Send LEN bytes at BUF: one or several netlink messages. Waits for the answer
 * to every message that has NLM_F_ACK or NLM_F_DUMP set: an ack (or error) for
 * the former, NLMSG_DONE for the latter; data messages go to CB (may be NULL).
 * Returns 0 when everything succeeded, else the first error as -errno and
 * fills nl->err* (the kernel's message included). A request that
 * is never answered within a few seconds fails with -ETIMEDOUT.
 */
int nl_talk(struct nl *nl, const void *buf, size_t len, mnl_cb_t cb, void *data);

/*
 * Send the dump request REQ (NLM_F_DUMP, its own sequence number) and pass
 * every answer to CB until NLMSG_DONE. Errors, also those the kernel puts
 * inside DONE, as for nl_talk(). -EINTR when the kernel flagged the dump as
 * interrupted (NLM_F_DUMP_INTR: what it lists changed while the dump ran, so
 * objects may be missing or doubled): every answer was read, but the whole
 * dump must be done again. A dump left unfinished (timeout, receive error)
 * costs the socket: it is replaced by a fresh one (nl_reopen), and so is a
 * socket the kernel finds still busy with an earlier dump (-EBUSY).
 */
int nl_dump(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data);

/*
 * nl_dump() again, with a new sequence number and after a short pause that
 * doubles each time, as long as the kernel flags the dump as interrupted;
 * RESET(DATA) (may be NULL) forgets what CB collected before every try.
 * After NL_DUMP_TRIES interrupted dumps in a row:
 * -EAGAIN, and nl->err_msg says that the kernel's objects kept changing.
 */
int nl_dump_stable(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb,
		   void (*reset)(void *data), void *data);

/* The pause before try TRIES (1, 2 ...) of a read that the kernel's changes
 * interrupted (they come in bursts: let this one pass): 1 ms, doubling, at
 * most 64 ms; about 0.3 s over NL_DUMP_TRIES tries. */
void nl_backoff(int tries);

/*
 * Receiving, one buffer at a time (what nl_talk and nl_dump do with every
 * datagram; exported for the fuzzer). RX says what is awaited: the answers to
 * the messages with sequence numbers lo..hi, `want` acks or, for a dump, its
 * NLMSG_DONE. Messages of other sequence numbers or ports are skipped; data
 * messages go to CB (until the first error); errors and extended acks are
 * recorded in nl->err*. Never reads outside BUF[0..LEN).
 */
struct nl_rx {
	bool dump;
	uint32_t lo, hi;
	size_t want, acked;
	bool done;		/* NLMSG_DONE, or an error ending the dump, came */
	bool intr;		/* an answer carried NLM_F_DUMP_INTR */
};
void nl_rx_process(struct nl *nl, struct nl_rx *rx, const void *buf, size_t len,
		   mnl_cb_t cb, void *data);

/* "kernel message" or strerror(-err) when the kernel gave none. */
const char *nl_strerror(const struct nl *nl);

#endif
