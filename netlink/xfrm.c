/* xfrm.c - reading and deleting the kernel's IPsec SAs over NETLINK_XFRM */
#include "xfrm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct sa_list {
	struct xfrm_sa *v;
	size_t n, cap;
	int err;
};

int xfrm_parse_sa(const struct nlmsghdr *nlh, struct xfrm_sa *sa)
{
	struct xfrm_usersa_info info;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(info)))
		return 0;
	/* netlink aligns messages to 4 bytes, the structure wants 8: copy it */
	memcpy(&info, NLMSG_DATA(nlh), sizeof(info));
	if (info.family != AF_INET)
		return 0;
	memset(sa, 0, sizeof(*sa));
	sa->src = ntohl(info.saddr.a4);
	sa->dst = ntohl(info.id.daddr.a4);
	sa->spi = ntohl(info.id.spi);
	sa->proto = info.id.proto;
	sa->reqid = info.reqid;
	return 1;
}

static int sa_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sa_list *l = data;
	struct xfrm_sa sa;

	if (xfrm_parse_sa(nlh, &sa) != 1)
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (!p) {
			l->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = sa;
	return MNL_CB_OK;
}

static void sa_reset(void *data)
{
	((struct sa_list *)data)->n = 0;
}

int xfrm_sas(struct nl *nl, struct xfrm_sa **sas, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *req = mnl_nlmsg_put_header(buf);
	struct sa_list l = { 0 };
	int r;

	req->nlmsg_type = XFRM_MSG_GETSA;
	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req->nlmsg_seq = nl_seq(nl);
	r = nl_dump_stable(nl, req, sa_cb, sa_reset, &l);
	if (r == 0 && l.err)
		r = l.err;
	if (r < 0) {
		free(l.v);
		*sas = NULL;
		*n = 0;
		return r;
	}
	*sas = l.v;
	*n = l.n;
	return 0;
}

int xfrm_del_sa(struct nl *nl, const struct xfrm_sa *sa)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *req = mnl_nlmsg_put_header(buf);
	struct xfrm_usersa_id *id;
	xfrm_address_t src = { 0 };

	req->nlmsg_type = XFRM_MSG_DELSA;
	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = nl_seq(nl);
	id = mnl_nlmsg_put_extra_header(req, sizeof(*id));
	id->daddr.a4 = htonl(sa->dst);
	id->spi = htonl(sa->spi);
	id->family = AF_INET;
	id->proto = sa->proto;
	src.a4 = htonl(sa->src);
	mnl_attr_put(req, XFRMA_SRCADDR, sizeof(src), &src);
	return nl_talk(nl, req, req->nlmsg_len, NULL, NULL);
}
