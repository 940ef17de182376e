/* rtnl.h - links, addresses, routes and IPv4 settings over rtnetlink (libmnl) */
#ifndef GATEWAYCTL_RTNL_H
#define GATEWAYCTL_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "nlsock.h"

/* Route protocol number that marks gatewayctl's routes (rt_protos.d name "gatewayctl"). */
#define RTPROT_GATEWAYCTL 203
/* Tunnel links carry the alias RTNL_ALIAS_PREFIX "SITE/PEER", and the link
 * group RTNL_LINK_GROUP from their creation on. */
#define RTNL_ALIAS_PREFIX "gatewayctl:"
#define RTNL_LINK_GROUP 203

/* All addresses in host byte order. */

struct link_info {
	int ifindex;
	char name[16];
	char kind[16];		/* IFLA_INFO_KIND, "" for none (physical, loopback) */
	char alias[128];	/* IFLA_IFALIAS, "" if none */
	unsigned flags;		/* IFF_* */
	unsigned mtu;
	int link;		/* IFLA_LINK (ipip: underlying device, 0 if none) */
	uint32_t group;		/* IFLA_GROUP */
	uint32_t rp_filter;	/* the link's own net.ipv4.conf.DEV.rp_filter */
	/* tunnels only (ipip, sit, ip6tnl: rtnl_tun.h) */
	uint32_t local, remote;	/* ipip, sit: the IPv4 underlay's endpoints */
	uint8_t ttl, pmtudisc;	/* (ip6tnl: ttl is the hop limit) */
	uint8_t proto;		/* sit, ip6tnl: IFLA_IPTUN_PROTO, 0 = mode any */
	uint8_t encap_limit;	/* ip6tnl */
	uint32_t tun_flags;	/* sit: IFLA_IPTUN_FLAGS (u16); ip6tnl: IP6_TNL_F_* */
	struct in6_addr local6, remote6;	/* ip6tnl: the IPv6 underlay's endpoints */
	/* IFLA_STATS64 */
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors,
		rx_dropped, tx_dropped;
};

struct addr_info {
	int ifindex;
	uint32_t local;		/* IFA_LOCAL */
	uint32_t peer;		/* IFA_ADDRESS (differs from local on point-to-point) */
	uint32_t broadcast;	/* 0 if none */
	uint8_t prefixlen;
	uint32_t flags;		/* IFA_F_* (IFA_F_SECONDARY...) */
};

struct route_info {
	uint32_t dst;
	uint8_t dst_len;
	uint8_t protocol, scope, type;
	uint32_t table;
	int oif;		/* 0 if none */
	uint32_t gateway;	/* 0 if none */
	uint32_t prefsrc;	/* 0 if none */
};

struct ipip_spec {
	const char *name;
	const char *alias;	/* RTNL_ALIAS_PREFIX "site/peer" */
	uint32_t local, remote;
	uint8_t ttl;		/* non-zero forces DF */
	bool pmtudisc;
	unsigned mtu;		/* 0: kernel default */
	uint32_t group;		/* link group set at creation, 0: default */
};

/* Requests are queued into a batch and sent together with rtnl_flush():
 * each request is acked on its own; the first failure is reported with its
 * index in the batch, so the caller can say which step failed and undo the
 * steps before it. */
struct rtnl_batch;

struct rtnl_batch *rtnl_batch_new(void);	/* NULL when out of memory */
void rtnl_batch_free(struct rtnl_batch *b);
/* Forget every queued request (keeps the memory): the batch can be reused. */
void rtnl_batch_reset(struct rtnl_batch *b);
/* Number of requests queued: each rtnl_add_* / rtnl_set_* / rtnl_del_* call
 * below is one request, and its index is rtnl_batch_count() before the call. */
size_t rtnl_batch_count(const struct rtnl_batch *b);

/*
 * CREATE|EXCL, link left down. The kernel ignores IFLA_IFALIAS when it creates
 * a link, so a non-empty alias costs a second message (RTM_NEWLINK by name)
 * that is sent only after the creation was acked. Both count as one request:
 * if the alias step fails, FAILED is this request's index but
 * rtnl_applied() is true for it (the link exists: undo it).
 */
void rtnl_add_ipip(struct rtnl_batch *b, const struct ipip_spec *spec);
/* Change an existing ipip link in place: endpoints, ttl, pmtudisc, mtu
 * (if non-zero), alias (if non-NULL) and up/down; spec->name is unused. */
void rtnl_change_ipip(struct rtnl_batch *b, int ifindex, const struct ipip_spec *spec, bool up);
void rtnl_set_link(struct rtnl_batch *b, int ifindex, bool up, unsigned mtu /* 0: keep */);
/* "" or NULL clears the alias */
void rtnl_set_alias(struct rtnl_batch *b, int ifindex, const char *alias);
void rtnl_del_link(struct rtnl_batch *b, int ifindex);
/* IFA_LOCAL = IFA_ADDRESS = LOCAL (no peer address); BROADCAST 0: none */
void rtnl_add_addr(struct rtnl_batch *b, int ifindex, uint32_t local, uint8_t prefixlen,
		   uint32_t broadcast);
/* matches LOCAL/PREFIXLEN as added by rtnl_add_addr (a point-to-point address
 * whose peer differs from LOCAL is not matched) */
void rtnl_del_addr(struct rtnl_batch *b, int ifindex, uint32_t local, uint8_t prefixlen);
/* CREATE|EXCL; table r->table, 0 = main; protocol as given; scope link when
 * gateway == 0, else universe; type unicast; RTA_DST only when dst_len > 0;
 * RTA_OIF, RTA_GATEWAY, RTA_PREFSRC when non-zero. r->scope and r->type are
 * ignored. */
void rtnl_add_route(struct rtnl_batch *b, const struct route_info *r);
/* The kernel deletes the first route of table (0 = main) matching dst/dst_len
 * and every other non-zero field: protocol, type, oif, gateway, prefsrc (any
 * scope). So protocol = RTPROT_GATEWAYCTL deletes only gatewayctl's route
 * (-ESRCH if the prefix belongs to someone else). */
void rtnl_del_route(struct rtnl_batch *b, const struct route_info *r);
/* per-device IPv4 config (IFLA_INET_CONF index, e.g. IPV4_DEVCONF_RP_FILTER);
 * sets the value only: unlike a write to /proc/sys/.../forwarding, setting
 * IPV4_DEVCONF_FORWARDING this way does not disable LRO on the device. */
void rtnl_set_inet_conf(struct rtnl_batch *b, int ifindex, int conf, uint32_t value);

/* Send everything queued (in chunks small enough for the socket), wait for
 * every ack. Returns 0, or the first failure as -errno with *FAILED (may be
 * NULL) set to its index in the batch; nl->err_msg holds the kernel's
 * extended-ack message. No chunk is sent after a failed one, but requests
 * after the failed one in the same chunk (up to 64 requests or 32 KiB) have
 * been applied: rtnl_applied(b, i) tells whether request i was acked as done,
 * so the caller undoes exactly those. A bad argument (name too long, prefix
 * > 32...) or lack of memory while queuing is reported here, before anything
 * is sent: -EINVAL / -ENOMEM, FAILED at that request, err_msg says what.
 * Sequence numbers are taken from nl->seq (one per message). A flush may be
 * repeated: it sends the whole batch again. Uses and restores nl->on_ack. */
int rtnl_flush(struct nl *nl, struct rtnl_batch *b, size_t *failed);
bool rtnl_applied(const struct rtnl_batch *b, size_t i);

/* Dumps; 0 or -errno; results malloc'd (NULL when none), caller frees. */
int rtnl_links(struct nl *nl, struct link_info **out, size_t *n);
int rtnl_link_by_name(struct nl *nl, const char *name, struct link_info *out); /* -ENODEV */
/* IPv4 only; a non-existent IFINDEX gives -ENODEV */
int rtnl_addrs(struct nl *nl, int ifindex /* 0 = all */, struct addr_info **out, size_t *n);
/* IPv4, table main, every protocol and type, no cached/cloned entries.
 * Multipath routes come with oif = gateway = 0. */
int rtnl_routes(struct nl *nl, struct route_info **out, size_t *n);
/* -ENODEV for no such link, -ENODATA when it has no IPv4 settings */
int rtnl_inet_conf(struct nl *nl, int ifindex, int conf, uint32_t *value);

/* The parsers of the dumps' answers, one message at a time (what the dumps
 * above use; the fuzzer drives them). Each fills *OUT (zeroed first) and
 * returns true for a message it keeps: rtnl_parse_link an RTM_NEWLINK;
 * rtnl_parse_addr an IPv4 RTM_NEWADDR of IFINDEX (0 = any); rtnl_parse_route
 * an IPv4 RTM_NEWROUTE of table main that is not a cached clone;
 * rtnl_parse_inet_conf the IPv4 setting CONF of an RTM_NEWLINK. They read
 * nothing outside NLH's nlmsg_len bytes (which the caller has checked). */
bool rtnl_parse_link(const struct nlmsghdr *nlh, struct link_info *out);
bool rtnl_parse_addr(const struct nlmsghdr *nlh, int ifindex, struct addr_info *out);
bool rtnl_parse_route(const struct nlmsghdr *nlh, struct route_info *out);
bool rtnl_parse_inet_conf(const struct nlmsghdr *nlh, int conf, uint32_t *value);

/* Whether this kernel can create an ipip link: creates and deletes a scratch
 * link "gwctl-prXXXXXXX" (remote in 192.0.2.0/24) in the current namespace.
 * 0 if it can, -EOPNOTSUPP if the kind is unknown (nl->err_msg holds the
 * kernel's "Unknown device type"), other -errno (-EPERM...) otherwise. */
int rtnl_probe_ipip(struct nl *nl);

/* /proc/sys/net/ipv4/ip_forward and conf/all/rp_filter and friends: plain
 * decimal, 0 or -errno (-EINVAL if the file does not hold one number). */
int sysctl_read_u32(const char *path, uint32_t *v);
int sysctl_write_u32(const char *path, uint32_t v);

#endif
