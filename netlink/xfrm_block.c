/* xfrm_block.c - xfrm policies over NETLINK_XFRM: gatewayctl's block
 * policies built, the kernel's policies read, one deleted exactly */
#include "xfrm_block.h"
#include "xfrm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void block_pol(struct xfrm_pol *p, uint8_t family, uint8_t proto, uint8_t dir, uint32_t mark_v,
		      uint32_t priority)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->src_len = p->dst_len = family == AF_INET6 ? 128 : 32;
	p->proto = proto;
	p->dir = dir;
	p->action = XFRM_POLICY_BLOCK;
	p->type = XFRM_POLICY_TYPE_MAIN;
	p->priority = priority;
	p->mark_v = mark_v;
	p->mark_m = XFRM_BLOCK_MARK;
}

void xfrm_block_pol(struct xfrm_pol *p, uint32_t local, uint32_t remote, uint8_t proto, uint8_t dir,
		    uint32_t mark_v, uint32_t priority)
{
	block_pol(p, AF_INET, proto, dir, mark_v, priority);
	p->src = dir == XFRM_POLICY_OUT ? local : remote;
	p->dst = dir == XFRM_POLICY_OUT ? remote : local;
}

void xfrm_block_pol6(struct xfrm_pol *p, const uint8_t local[16], const uint8_t remote[16], uint8_t proto,
		     uint8_t dir, uint32_t mark_v, uint32_t priority)
{
	block_pol(p, AF_INET6, proto, dir, mark_v, priority);
	memcpy(p->src6, dir == XFRM_POLICY_OUT ? local : remote, 16);
	memcpy(p->dst6, dir == XFRM_POLICY_OUT ? remote : local, 16);
}

bool xfrm_block_shape(const struct xfrm_pol *p, uint32_t *priority)
{
	unsigned host = p->family == AF_INET6 ? 128 : p->family == AF_INET ? 32 : 0;

	if (!host || p->src_len != host || p->dst_len != host ||
	    (p->proto != IPPROTO_IPIP && p->proto != IPPROTO_IPV6) ||
	    (p->dir != XFRM_POLICY_IN && p->dir != XFRM_POLICY_OUT) || p->action != XFRM_POLICY_BLOCK ||
	    p->type != XFRM_POLICY_TYPE_MAIN || p->mark_m != XFRM_BLOCK_MARK ||
	    (p->mark_v != 0 && p->mark_v != XFRM_BLOCK_MARK) || p->if_id || p->ifindex || p->n_tmpl ||
	    (p->priority & 0xffff0000u) != XFRM_BLOCK_PRIO_BASE)
		return false;
	if (priority)
		*priority = p->priority;
	return true;
}

bool xfrm_pol_same(const struct xfrm_pol *a, const struct xfrm_pol *b)
{
	return a->family == b->family && a->src == b->src && a->dst == b->dst &&
	       !memcmp(a->src6, b->src6, 16) && !memcmp(a->dst6, b->dst6, 16) && a->src_len == b->src_len &&
	       a->dst_len == b->dst_len && a->proto == b->proto && a->dir == b->dir &&
	       a->action == b->action && a->type == b->type && a->priority == b->priority &&
	       a->mark_v == b->mark_v && a->mark_m == b->mark_m && a->if_id == b->if_id &&
	       a->ifindex == b->ifindex && a->n_tmpl == b->n_tmpl;
}

static void put_selector(struct xfrm_selector *sel, const struct xfrm_pol *p)
{
	memset(sel, 0, sizeof(*sel));
	if (p->family == AF_INET6) {
		memcpy(&sel->saddr.a6, p->src6, 16);
		memcpy(&sel->daddr.a6, p->dst6, 16);
	} else {
		sel->saddr.a4 = htonl(p->src);
		sel->daddr.a4 = htonl(p->dst);
	}
	sel->prefixlen_s = p->src_len;
	sel->prefixlen_d = p->dst_len;
	sel->proto = p->proto;
	sel->family = p->family == AF_INET6 ? AF_INET6 : AF_INET;
	sel->ifindex = p->ifindex;
}

static void put_mark(struct nlmsghdr *nlh, const struct xfrm_pol *p)
{
	struct xfrm_mark m = { .v = p->mark_v, .m = p->mark_m };

	if (m.v || m.m)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	if (p->if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, p->if_id);
}

struct nlmsghdr *xfrm_pol_new_msg(void *buf, uint32_t seq, const struct xfrm_pol *p)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct xfrm_userpolicy_info info;

	nlh->nlmsg_type = XFRM_MSG_NEWPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = seq;
	memset(&info, 0, sizeof(info));
	put_selector(&info.sel, p);
	info.lft.soft_byte_limit = info.lft.hard_byte_limit = XFRM_INF;
	info.lft.soft_packet_limit = info.lft.hard_packet_limit = XFRM_INF;
	info.priority = p->priority;
	info.dir = p->dir;
	info.action = p->action;
	info.share = XFRM_SHARE_ANY;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(info)), &info, sizeof(info));
	put_mark(nlh, p);
	return nlh;
}

struct nlmsghdr *xfrm_pol_del_msg(void *buf, uint32_t seq, const struct xfrm_pol *p)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct xfrm_userpolicy_id id;

	nlh->nlmsg_type = XFRM_MSG_DELPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	memset(&id, 0, sizeof(id));
	/* by index the kernel still checks the direction and the mark */
	if (p->index)
		id.index = p->index;
	else
		put_selector(&id.sel, p);
	id.dir = p->dir;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(id)), &id, sizeof(id));
	put_mark(nlh, p);
	if (p->type != XFRM_POLICY_TYPE_MAIN) {
		struct xfrm_userpolicy_type t = { .type = p->type };

		mnl_attr_put(nlh, XFRMA_POLICY_TYPE, sizeof(t), &t);
	}
	return nlh;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	struct xfrm_pol *p = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case XFRMA_MARK:
		if (len >= sizeof(struct xfrm_mark)) {
			struct xfrm_mark m;

			memcpy(&m, mnl_attr_get_payload(a), sizeof(m));
			p->mark_v = m.v;
			p->mark_m = m.m;
		}
		break;
	case XFRMA_TMPL:
		p->n_tmpl = len / sizeof(struct xfrm_user_tmpl);
		break;
	case XFRMA_POLICY_TYPE:
		if (len >= 1)
			p->type = *(const uint8_t *)mnl_attr_get_payload(a);
		break;
	case XFRMA_IF_ID:
		if (len >= sizeof(uint32_t))
			memcpy(&p->if_id, mnl_attr_get_payload(a), sizeof(uint32_t));
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

int xfrm_pol_parse(const struct nlmsghdr *nlh, struct xfrm_pol *p)
{
	struct xfrm_userpolicy_info info;

	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(info)))
		return 0;
	/* netlink aligns messages to 4 bytes, the structure has 8-byte members: copy it */
	memcpy(&info, NLMSG_DATA(nlh), sizeof(info));
	if (info.sel.family != AF_INET && info.sel.family != AF_INET6)
		return 0;
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)info.sel.family;
	if (p->family == AF_INET6) {
		memcpy(p->src6, &info.sel.saddr.a6, 16);
		memcpy(p->dst6, &info.sel.daddr.a6, 16);
	} else {
		p->src = ntohl(info.sel.saddr.a4);
		p->dst = ntohl(info.sel.daddr.a4);
	}
	p->src_len = info.sel.prefixlen_s;
	p->dst_len = info.sel.prefixlen_d;
	p->proto = info.sel.proto;
	p->ifindex = info.sel.ifindex;
	p->dir = info.dir;
	p->action = info.action;
	p->priority = info.priority;
	p->index = info.index;
	p->type = XFRM_POLICY_TYPE_MAIN;
	if (nlh->nlmsg_len > NLMSG_LENGTH(MNL_ALIGN(sizeof(info))) &&
	    mnl_attr_parse(nlh, sizeof(info), attr_cb, p) < 0)
		return 0;
	return 1;
}

static int parse_pol(const struct nlmsghdr *nlh, void *out)
{
	return xfrm_pol_parse(nlh, out);
}

int xfrm_pols(struct nl *nl, struct xfrm_pol **v, size_t *n)
{
	void *p;
	int r = xfrm_dump(nl, XFRM_MSG_GETPOLICY, parse_pol, sizeof(**v), &p, n);

	*v = p;
	return r;
}

int xfrm_pol_add(struct nl *nl, const struct xfrm_pol *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = xfrm_pol_new_msg(buf, nl_seq(nl), p);

	return nl_talk(nl, nlh, nlh->nlmsg_len, NULL, NULL);
}

int xfrm_pol_del(struct nl *nl, const struct xfrm_pol *p)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = xfrm_pol_del_msg(buf, nl_seq(nl), p);

	return nl_talk(nl, nlh, nlh->nlmsg_len, NULL, NULL);
}
