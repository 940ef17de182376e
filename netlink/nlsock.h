/* nlsock.h - one netlink socket with extended acks, shared by rtnl.c and nft.c */
#ifndef GATEWAYCTL_NLSOCK_H
#define GATEWAYCTL_NLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#define NL_DUMP_BUFSIZE 32768

struct nl {
	struct mnl_socket *sock;
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

/* Open a socket on BUS (NETLINK_ROUTE, NETLINK_NETFILTER). 0 or -errno. */
int nl_open(struct nl *nl, int bus);
void nl_close(struct nl *nl);

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
 * inside DONE, as for nl_talk().
 */
int nl_dump(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* "kernel message" or strerror(-err) when the kernel gave none. */
const char *nl_strerror(const struct nl *nl);

#endif
