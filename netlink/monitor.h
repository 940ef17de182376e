/* monitor.h - the kernel's notifications, for a process that keeps the
 * network as it should be (gatewayctl watch): links, IPv4 and IPv6 addresses,
 * routes and forwarding settings (rtnetlink groups), and nftables changes
 * (NFNLGRP_NFTABLES). Nothing here knows about sites: the caller decides which
 * events concern it. */
#ifndef GATEWAYCTL_MONITOR_H
#define GATEWAYCTL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtnl.h"
#include "rtnl6.h"

enum mon_kind {
	MON_LINK,	/* .link: created, changed (flags, address) or (removed) deleted */
	MON_ADDR,	/* .addr */
	MON_ROUTE,	/* .route (main table, not cloned) */
	MON_NETCONF,	/* .netconf: a forwarding setting (of .netconf.family) changed */
	MON_NFT,	/* .nft: a table, chain, rule, set, element or object changed */
	MON_LOST,	/* the kernel dropped notifications (socket full): read everything again */
	MON_ADDR6,	/* .addr6 */
	MON_ROUTE6,	/* .route6 (main table, not cloned) */
};

struct mon_event {
	enum mon_kind kind;
	bool removed;		/* RTM_DEL*, NFT_MSG_DEL* */
	union {
		struct link_info link;
		struct addr_info addr;
		struct route_info route;
		struct addr6_info addr6;
		struct route6_info route6;
		struct {
			int family;	/* AF_INET (net.ipv4.conf) or AF_INET6 (net.ipv6.conf) */
			int ifindex;	/* MON_NETCONF_ALL (-1), MON_NETCONF_DEFAULT (-2) or a link */
			int forwarding;	/* 0, 1, or -1 when the message does not say */
		} netconf;
		struct {
			uint16_t msg;	/* NFT_MSG_* */
			uint8_t family;	/* NFPROTO_* */
			char table[64];	/* "" for generation messages */
		} nft;
	};
};

#define MON_NETCONF_ALL (-1)
#define MON_NETCONF_DEFAULT (-2)

typedef void (*mon_cb)(const struct mon_event *ev, void *arg);

struct mon {
	int rt_fd, nf_fd;	/* non-blocking, close-on-exec; -1 when closed */
};

/* Subscribe to the groups above, in the caller's network namespace, with
 * receive buffers large enough for a burst (SO_RCVBUFFORCE where allowed).
 * 0 or -errno (nothing left open). */
int mon_open(struct mon *m);
void mon_close(struct mon *m);

/* Read every datagram waiting on FD (one of M's) and hand each event that
 * parses to CB. The number of events, or -errno; an overrun (ENOBUFS) is a
 * MON_LOST event, not an error. */
int mon_read(struct mon *m, int fd, mon_cb cb, void *arg);

/* The events in the datagram BUF[0..LEN) received from NETLINK_ROUTE or
 * NETLINK_NETFILTER (BUS). Never reads outside the buffer; what does not
 * parse is skipped. The number of events. (For mon_read, the fuzzer and the
 * unit tests.) */
int mon_parse(int bus, const void *buf, size_t len, mon_cb cb, void *arg);

#endif
