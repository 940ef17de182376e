/* rtnl_batch.c - what every rtnetlink file shares (rtnl_priv.h): the batch
 * of requests and its flush, the pieces of a request, the attribute parsers
 * and the growable arrays the dumps fill. It uses no other rtnl file: rtnl.c
 * (links, IPv4), rtnl_tun.c (sit, ip6tnl) and rtnl6.c (IPv6) are built on it
 * (no cycle, tests/build.sh). */
#include "rtnl.h"
#include "rtnl_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------------ */
/* The batch                                                                */
/* ------------------------------------------------------------------------ */

/* Per sendmsg: at most this many requests, at most this many bytes. */
#define CHUNK_MSGS 64
#define CHUNK_BYTES 32768
/* Room reserved for one message: the largest we build is well under 600 bytes
 * (name < 16, alias < 256, a few fixed-size attributes). */
#define MSG_ROOM 1024

/* MSG_UNKNOWN: sent, but its ack never came (the answer was lost): it may
 * have been applied, so rtnl_applied() says yes and a rollback undoes it. */
enum msg_state { MSG_PENDING, MSG_OK, MSG_FAILED, MSG_UNKNOWN };

struct msg {
	size_t off;		/* offset of its nlmsghdr in buf */
	uint32_t op;		/* index of the request (public index) it belongs to */
	long dep;		/* message that must succeed before this one is sent, -1 */
	int state;		/* enum msg_state */
};

struct op {
	size_t first;		/* its first message; SIZE_MAX if it has none */
	size_t nmsg;
};

struct rtnl_batch {
	char *buf;
	size_t len, cap;
	struct msg *msgs;
	size_t nmsg, msg_cap;
	struct op *ops;
	size_t nop, op_cap;
	/* First error found while queuing (bad argument, out of memory):
	 * rtnl_flush() reports it and sends nothing. */
	int err;
	size_t err_op;
	char err_text[96];
	uint32_t base;		/* seq of message 0 during a flush */
};

void rt_fail(struct rtnl_batch *b, size_t op, int err, const char *text)
{
	if (b->err)
		return;
	b->err = err;
	b->err_op = op;
	snprintf(b->err_text, sizeof(b->err_text), "%s", text);
}

/* gcc 12's -fanalyzer follows the arrays through the (void **) that rt_grow()
 * takes and loses them: it reports a double free in the realloc below and a
 * NULL b->ops in rt_op_begin() after a successful rt_grow(), on paths where the
 * array was allocated once. ASan (unit and kernel tests) and the rtnl fuzzer
 * exercise both functions; the two warnings are silenced here only. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-double-free"
#pragma GCC diagnostic ignored "-Wanalyzer-null-dereference"
#endif
static bool rt_grow(void **p, size_t *cap, size_t need, size_t elsize, size_t first)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap : first;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elsize)
			return false;
		ncap *= 2;
	}
	np = *p ? realloc(*p, ncap * elsize) : malloc(ncap * elsize);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

struct rtnl_batch *rtnl_batch_new(void)
{
	return calloc(1, sizeof(struct rtnl_batch));
}

void rtnl_batch_free(struct rtnl_batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->msgs);
	free(b->ops);
	free(b);
}

void rtnl_batch_reset(struct rtnl_batch *b)
{
	b->len = 0;
	b->nmsg = 0;
	b->nop = 0;
	b->err = 0;
	b->err_op = 0;
	b->err_text[0] = '\0';
}

size_t rtnl_batch_count(const struct rtnl_batch *b)
{
	return b->nop;
}

/* Start a new request (public index). Returns false when out of memory. */
bool rt_op_begin(struct rtnl_batch *b)
{
	if (!rt_grow((void **)&b->ops, &b->op_cap, b->nop + 1, sizeof(*b->ops), 64)) {
		rt_fail(b, b->nop, -ENOMEM, "out of memory");
		return false;
	}
	b->ops[b->nop].first = SIZE_MAX;
	b->ops[b->nop].nmsg = 0;
	b->nop++;
	return true;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

size_t rt_cur_op(const struct rtnl_batch *b)
{
	return b->nop - 1;
}

/*
 * Append a message to the current request, built in place at the end of the
 * buffer; finish it with rt_msg_end(). DEP: index of a message that must have
 * succeeded before this one is sent (-1: none). NULL when out of memory.
 */
struct nlmsghdr *rt_msg_begin(struct rtnl_batch *b, uint16_t type, uint16_t flags, long dep)
{
	struct nlmsghdr *nlh;
	struct msg *m;
	struct op *op = &b->ops[rt_cur_op(b)];

	if (!rt_grow((void **)&b->buf, &b->cap, b->len + MSG_ROOM, 1, 16384) ||
	    !rt_grow((void **)&b->msgs, &b->msg_cap, b->nmsg + 1, sizeof(*b->msgs), 64)) {
		rt_fail(b, rt_cur_op(b), -ENOMEM, "out of memory");
		return NULL;
	}
	memset(b->buf + b->len, 0, MSG_ROOM);
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m = &b->msgs[b->nmsg];
	m->off = b->len;
	m->op = (uint32_t)rt_cur_op(b);
	m->dep = dep;
	m->state = MSG_PENDING;
	if (op->nmsg == 0)
		op->first = b->nmsg;
	op->nmsg++;
	return nlh;
}

/* Returns the index of the message just finished. */
long rt_msg_end(struct rtnl_batch *b, struct nlmsghdr *nlh)
{
	b->len += MNL_ALIGN(nlh->nlmsg_len);
	return (long)b->nmsg++;
}

struct ifinfomsg *rt_put_ifinfo(struct nlmsghdr *nlh, int ifindex)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

bool rt_check_name(struct rtnl_batch *b, const char *name)
{
	if (!name || !name[0] || strlen(name) >= IFNAMSIZ) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "invalid interface name");
		return false;
	}
	return true;
}

bool rt_check_alias(struct rtnl_batch *b, const char *alias)
{
	if (alias && strlen(alias) >= IFALIASZ) {
		rt_fail(b, rt_cur_op(b), -EINVAL, "interface alias too long");
		return false;
	}
	return true;
}

/* IFLA_IFALIAS without its NUL; an empty payload clears the alias. */
void rt_put_alias(struct nlmsghdr *nlh, const char *alias)
{
	mnl_attr_put(nlh, IFLA_IFALIAS, strlen(alias), alias);
}

/* ------------------------------------------------------------------------ */
/* Flushing                                                                 */
/* ------------------------------------------------------------------------ */

static void flush_on_ack(uint32_t seq, int error, void *arg)
{
	struct rtnl_batch *b = arg;
	uint32_t i = seq - b->base;

	if (i < b->nmsg)
		b->msgs[i].state = error ? MSG_FAILED : MSG_OK;
}

static void set_local_error(struct nl *nl, int err, const char *text)
{
	nl->err = err;
	nl->err_seq = 0;
	nl->err_off = 0;
	snprintf(nl->err_msg, sizeof(nl->err_msg), "%s", text ? text : "");
}

int rtnl_flush(struct nl *nl, struct rtnl_batch *b, size_t *failed)
{
	void (*saved_cb)(uint32_t, int, void *) = nl->on_ack;
	void *saved_arg = nl->on_ack_arg;
	size_t i, start;
	int ret = 0;

	for (i = 0; i < b->nmsg; i++)
		b->msgs[i].state = MSG_PENDING;
	if (b->err) {
		set_local_error(nl, b->err, b->err_text);
		if (failed)
			*failed = b->err_op;
		return b->err;
	}
	if (b->nmsg == 0) {
		set_local_error(nl, 0, NULL);
		return 0;
	}

	/* Sequence numbers base + i: no wrap inside one flush, 0 unused. */
	b->base = nl->seq;
	if (b->base == 0 || b->base > UINT32_MAX - b->nmsg)
		b->base = 1;
	nl->seq = b->base + (uint32_t)b->nmsg;
	for (i = 0; i < b->nmsg; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + b->msgs[i].off);

		nlh->nlmsg_seq = b->base + (uint32_t)i;
		nlh->nlmsg_pid = 0;
	}

	nl->on_ack = flush_on_ack;
	nl->on_ack_arg = b;
	for (start = 0; start < b->nmsg; start = i) {
		size_t bytes = 0;

		for (i = start; i < b->nmsg && i - start < CHUNK_MSGS; i++) {
			const struct msg *m = &b->msgs[i];
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)(b->buf + m->off);
			size_t mlen = MNL_ALIGN(nlh->nlmsg_len);

			if (i > start && bytes + mlen > CHUNK_BYTES)
				break;
			/* A dependent message waits for its parent's ack. */
			if (i > start && m->dep >= 0 && (size_t)m->dep >= start)
				break;
			bytes += mlen;
		}
		/* A parent that failed stops the flush before its dependants
		 * are sent, so this only guards against misuse. */
		if (b->msgs[start].dep >= 0 && b->msgs[b->msgs[start].dep].state != MSG_OK) {
			set_local_error(nl, -ECANCELED, "an earlier step failed");
			b->msgs[start].state = MSG_FAILED;
			ret = -ECANCELED;
			if (failed)
				*failed = b->msgs[start].op;
			break;
		}
		ret = nl_talk(nl, b->buf + b->msgs[start].off, bytes, NULL, NULL);
		if (ret < 0) {
			size_t bad = b->nmsg;

			if (nl->sent)
				for (size_t k = start; k < i; k++)
					if (b->msgs[k].state == MSG_PENDING)
						b->msgs[k].state = MSG_UNKNOWN;
			uint32_t k = nl->err_seq - b->base;

			if (k >= start && k < i && b->msgs[k].state != MSG_OK)
				bad = k;
			else
				for (k = (uint32_t)start; k < i; k++)
					if (b->msgs[k].state != MSG_OK && b->msgs[k].state != MSG_UNKNOWN) {
						bad = k;
						break;
					}
			if (bad == b->nmsg)	/* cannot happen: an error means a failed message */
				bad = start;
			if (failed)
				*failed = b->msgs[bad].op;
			break;
		}
	}
	nl->on_ack = saved_cb;
	nl->on_ack_arg = saved_arg;
	return ret;
}

bool rtnl_applied(const struct rtnl_batch *b, size_t i)
{
	if (i >= b->nop || b->ops[i].nmsg == 0)
		return false;
	return b->msgs[b->ops[i].first].state == MSG_OK ||
	       b->msgs[b->ops[i].first].state == MSG_UNKNOWN;
}

/* ------------------------------------------------------------------------ */
/* Parsing helpers                                                          */
/* ------------------------------------------------------------------------ */

struct attr_table {
	const struct nlattr **tb;
	unsigned max;
};

static int table_cb(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type <= t->max)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

void rt_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
			const struct nlattr **tb, unsigned max)
{
	struct attr_table t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_parse(nlh, (unsigned)hdrlen, table_cb, &t);
}

void rt_parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max)
{
	struct attr_table t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_parse_nested(nest, table_cb, &t);
}

uint32_t rt_get_u32(const struct nlattr *a, uint32_t dflt)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(uint32_t))
		return dflt;
	return mnl_attr_get_u32(a);
}

uint8_t rt_get_u8(const struct nlattr *a, uint8_t dflt)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(uint8_t))
		return dflt;
	return mnl_attr_get_u8(a);
}

uint32_t rt_get_in_addr(const struct nlattr *a)
{
	return ntohl(rt_get_u32(a, 0));
}

void rt_get_str(const struct nlattr *a, char *dst, size_t size)
{
	size_t n = 0;

	if (a) {
		const char *s = mnl_attr_get_payload(a);
		size_t len = mnl_attr_get_payload_len(a);

		while (n < len && n < size - 1 && s[n])
			n++;
		memcpy(dst, s, n);
	}
	dst[n] = '\0';
}

void *rt_vec_push(struct rt_vec *v)
{
	void *el;

	if (!rt_grow(&v->p, &v->cap, v->n + 1, v->elsize, 16)) {
		errno = ENOMEM;
		return NULL;
	}
	el = (char *)v->p + v->n++ * v->elsize;
	memset(el, 0, v->elsize);
	return el;
}

/* Forget the elements (keep the memory): a dump starts again. */
void rt_vec_reset(void *v)
{
	((struct rt_vec *)v)->n = 0;
}

int rt_vec_finish(int ret, struct rt_vec *v, void **out, size_t *n)
{
	if (ret < 0) {
		free(v->p);
		*out = NULL;
		*n = 0;
		return ret;
	}
	*out = v->p;
	*n = v->n;
	return 0;
}

struct nlmsghdr *rt_dump_req(char *buf, struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = nl_seq(nl);
	return nlh;
}

/* A dump into a growable array: every message PARSE keeps is an element. */
struct rt_list {
	struct rt_vec v;
	int ifindex;
	bool (*parse)(const struct nlmsghdr *nlh, int ifindex, void *out);
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rt_list *l = data;
	void *p = rt_vec_push(&l->v);

	if (!p)
		return MNL_CB_ERROR;
	if (!l->parse(nlh, l->ifindex, p))
		l->v.n--;	/* not one of ours: the slot is taken again */
	return MNL_CB_OK;
}

int rt_dump_addrs(struct nl *nl, uint8_t family, int ifindex, size_t elsize,
		  bool (*parse)(const struct nlmsghdr *, int, void *), void **out, size_t *n)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = rt_dump_req(buf, nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct rt_list l = { .v = { .elsize = elsize }, .ifindex = ifindex, .parse = parse };

	ifa->ifa_family = family;
	ifa->ifa_index = ifindex > 0 ? (unsigned)ifindex : 0;
	return rt_vec_finish(nl_dump_stable(nl, nlh, list_cb, rt_vec_reset, &l.v), &l.v, out, n);
}

int rt_dump_routes(struct nl *nl, uint8_t family, size_t elsize,
		   bool (*parse)(const struct nlmsghdr *, int, void *), void **out, size_t *n)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = rt_dump_req(buf, nl, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct rt_list l = { .v = { .elsize = elsize }, .parse = parse };
	int r;

	/* With strict checking the kernel filters by table; rtm_type and
	 * rtm_protocol stay 0 so that every type and protocol comes. */
	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_MAIN;
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	r = nl_dump_stable(nl, nlh, list_cb, rt_vec_reset, &l.v);
	/* a namespace without a single route has no main table yet */
	if (r == -ENOENT) {
		nl->err = 0;
		nl->err_msg[0] = '\0';
		r = 0;
	}
	return rt_vec_finish(r, &l.v, out, n);
}

/* The IFLA_LINKINFO of a tunnel, put by the caller's PUT_INFO(nlh, SPEC). */
void rt_add_tunnel(struct rtnl_batch *b, const struct rt_tunnel *t)
{
	struct nlmsghdr *nlh;
	long create;

	if (!rt_op_begin(b) || !rt_check_name(b, t->name) || !rt_check_alias(b, t->alias))
		return;
	nlh = rt_msg_begin(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, -1);
	if (!nlh)
		return;
	rt_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, t->name);
	if (t->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, t->mtu);
	/* the group, unlike the alias, is set in the creating request itself: a
	 * link whose creation was acked but whose alias never came (an up killed
	 * in between) is still recognisably gatewayctl's */
	if (t->group)
		mnl_attr_put_u32(nlh, IFLA_GROUP, t->group);
	t->put_info(nlh, t->spec);
	create = rt_msg_end(b, nlh);

	/* The kernel ignores IFLA_IFALIAS in a request that creates a link, so
	 * the alias is set by a second message, by name. It is sent only once
	 * the creation has been acked (else it could mark a foreign link that
	 * happens to have the name). */
	if (!t->alias || !t->alias[0])
		return;
	nlh = rt_msg_begin(b, RTM_NEWLINK, 0, create);
	if (!nlh)
		return;
	rt_put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, t->name);
	rt_put_alias(nlh, t->alias);
	rt_msg_end(b, nlh);
}

void rt_change_tunnel(struct rtnl_batch *b, int ifindex, const struct rt_tunnel *t, bool up)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!rt_op_begin(b) || !rt_check_alias(b, t->alias) ||
	    !(nlh = rt_msg_begin(b, RTM_NEWLINK, 0, -1)))
		return;
	ifi = rt_put_ifinfo(nlh, ifindex);
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	if (t->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, t->mtu);
	if (t->alias)
		rt_put_alias(nlh, t->alias);
	t->put_info(nlh, t->spec);
	rt_msg_end(b, nlh);
}

const struct ifaddrmsg *rt_addr_head(const struct nlmsghdr *nlh, uint8_t family, int ifindex,
				     const struct nlattr **tb)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return NULL;
	/* Also filtered here, for kernels without strict checking. */
	if (ifa->ifa_family != family || (ifindex && (int)ifa->ifa_index != ifindex))
		return NULL;
	rt_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX);
	return ifa;
}

const struct rtmsg *rt_route_head(const struct nlmsghdr *nlh, uint8_t family, const struct nlattr **tb,
				  uint32_t *table)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return NULL;
	if (rtm->rtm_family != family || (rtm->rtm_flags & RTM_F_CLONED))
		return NULL;
	rt_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	*table = rt_get_u32(tb[RTA_TABLE], rtm->rtm_table);
	return *table == RT_TABLE_MAIN ? rtm : NULL;
}
