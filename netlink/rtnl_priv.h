/* rtnl_priv.h - what the rtnetlink files share (rtnl_batch.c defines it, but rtnl_parse_tun):
 * the pieces a request is built of inside a batch, the attribute parsers and
 * the growable arrays the dumps fill; not for use outside netlink/. */
#ifndef GATEWAYCTL_RTNL_PRIV_H
#define GATEWAYCTL_RTNL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/rtnetlink.h>

#include "nlsock.h"
#include "rtnl.h"

/* Record the batch's first error (a bad argument, no memory) at request OP:
 * rtnl_flush() reports it and sends nothing. */
void rt_fail(struct rtnl_batch *b, size_t op, int err, const char *text);
/* Start a new request (public index); false when out of memory. */
bool rt_op_begin(struct rtnl_batch *b);
/* The request being built. */
size_t rt_cur_op(const struct rtnl_batch *b);
/* Append a message to the current request, built in place; finish it with
 * rt_msg_end() (which returns its index). DEP: a message that must have
 * succeeded before this one is sent, -1 none. NULL when out of memory. */
struct nlmsghdr *rt_msg_begin(struct rtnl_batch *b, uint16_t type, uint16_t flags, long dep);
long rt_msg_end(struct rtnl_batch *b, struct nlmsghdr *nlh);
struct ifinfomsg *rt_put_ifinfo(struct nlmsghdr *nlh, int ifindex);
/* false (and the batch failed) for a bad interface name / too long an alias */
bool rt_check_name(struct rtnl_batch *b, const char *name);
bool rt_check_alias(struct rtnl_batch *b, const char *alias);
/* IFLA_IFALIAS without its NUL; an empty payload clears the alias. */
void rt_put_alias(struct nlmsghdr *nlh, const char *alias);

/* The attributes after HDRLEN bytes of NLH (or inside NEST) into TB[0..MAX]
 * (zeroed first; unknown types above MAX ignored). */
void rt_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, unsigned max);
void rt_parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max);
/* An attribute's value, DFLT (0) when absent or too short. */
uint32_t rt_get_u32(const struct nlattr *a, uint32_t dflt);
uint8_t rt_get_u8(const struct nlattr *a, uint8_t dflt);
uint32_t rt_get_in_addr(const struct nlattr *a);	/* host order */
/* A string attribute into DST (SIZE bytes, always terminated), "" when absent. */
void rt_get_str(const struct nlattr *a, char *dst, size_t size);

/* A growable array of results. */
struct rt_vec {
	void *p;
	size_t n, cap, elsize;
};
void *rt_vec_push(struct rt_vec *v);	/* a zeroed new element; NULL and errno when out of memory */
void rt_vec_reset(void *v);		/* forget the elements (keep the memory): a dump starts again */
/* What a dump returns: on error frees and gives NULL/0; RET */
int rt_vec_finish(int ret, struct rt_vec *v, void **out, size_t *n);
/* A request header in BUF (zeroed by the caller) with the next sequence number. */
struct nlmsghdr *rt_dump_req(char *buf, struct nl *nl, uint16_t type, uint16_t flags);

/* The header of an RTM_NEWADDR of FAMILY (and of IFINDEX, 0 = any), its
 * attributes in TB[0..IFA_MAX]; NULL for any other message. */
const struct ifaddrmsg *rt_addr_head(const struct nlmsghdr *nlh, uint8_t family, int ifindex,
				     const struct nlattr **tb);
/* The header of an RTM_NEWROUTE of FAMILY of table main (*TABLE) that is not
 * a cached clone, its attributes in TB[0..RTA_MAX]; NULL for any other. */
const struct rtmsg *rt_route_head(const struct nlmsghdr *nlh, uint8_t family, const struct nlattr **tb,
				  uint32_t *table);

/* The dumps: every IPv4 or IPv6 (FAMILY) address of IFINDEX (0 = all), or
 * every route of table main (none yet: an empty list), each message that
 * PARSE(nlh, ifindex, element) keeps an element of ELSIZE bytes. *OUT
 * malloc'd (NULL when none); 0 or -errno. */
int rt_dump_addrs(struct nl *nl, uint8_t family, int ifindex, size_t elsize,
		  bool (*parse)(const struct nlmsghdr *, int, void *), void **out, size_t *n);
int rt_dump_routes(struct nl *nl, uint8_t family, size_t elsize,
		   bool (*parse)(const struct nlmsghdr *, int, void *), void **out, size_t *n);

/* A tunnel link of any kind: its name, alias, mtu (0: the kernel's), group
 * (0: none), and its IFLA_LINKINFO put by PUT_INFO(nlh, SPEC).
 * rt_add_tunnel: CREATE|EXCL, left down, the alias a second message sent once
 * the creation was acked (one request); rt_change_tunnel: in place, up or down,
 * the alias when non-NULL (name and group unused). */
struct rt_tunnel {
	const char *name, *alias;
	unsigned mtu;
	uint32_t group;
	void (*put_info)(struct nlmsghdr *nlh, const void *spec);
	const void *spec;
};
void rt_add_tunnel(struct rtnl_batch *b, const struct rt_tunnel *t);
void rt_change_tunnel(struct rtnl_batch *b, int ifindex, const struct rt_tunnel *t, bool up);

/* rtnl_tun.c: the IFLA_INFO_DATA of a tunnel of KIND ("ipip", "sit",
 * "ip6tnl"; any other is left alone) into LI's tunnel fields. */
void rtnl_parse_tun(const char *kind, const struct nlattr *data, struct link_info *li);

#endif
