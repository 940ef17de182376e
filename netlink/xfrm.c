/* xfrm.c - reading and deleting the kernel's IPsec SAs over NETLINK_XFRM */
#include "xfrm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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

/* A dump's answers, parsed one by one into an array of elements of SIZE. */
struct dump_list {
	int (*parse)(const struct nlmsghdr *nlh, void *out);
	size_t size;
	char *v;
	size_t n, cap;
	int err;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_list *l = data;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * l->size);

		if (!p) {
			l->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		l->v = p;
		l->cap = cap;
	}
	if (l->parse(nlh, l->v + l->n * l->size) == 1)
		l->n++;
	return MNL_CB_OK;
}

static void dump_reset(void *data)
{
	((struct dump_list *)data)->n = 0;
}

int xfrm_dump(struct nl *nl, uint16_t type, int (*parse)(const struct nlmsghdr *nlh, void *out),
	      size_t size, void **v, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *req = mnl_nlmsg_put_header(buf);
	struct dump_list l = { .parse = parse, .size = size };
	int r;

	req->nlmsg_type = type;
	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req->nlmsg_seq = nl_seq(nl);
	r = nl_dump_stable(nl, req, dump_cb, dump_reset, &l);
	if (r == 0 && l.err)
		r = l.err;
	if (r < 0) {
		free(l.v);
		*v = NULL;
		*n = 0;
		return r;
	}
	*v = l.v;
	*n = l.n;
	return 0;
}

static int parse_sa(const struct nlmsghdr *nlh, void *out)
{
	return xfrm_parse_sa(nlh, out);
}

int xfrm_sas(struct nl *nl, struct xfrm_sa **sas, size_t *n)
{
	void *v;
	int r = xfrm_dump(nl, XFRM_MSG_GETSA, parse_sa, sizeof(**sas), &v, n);

	*sas = v;
	return r;
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
