/* nft_txn.c - gatewayctl's nftables table replaced or deleted in one
 * transaction (a batch of messages, each step named for the error it may
 * get): what nft.c builds from a spec, after nftread.c says whether the table
 * there is ours.
 *
 * Everything goes through the shared socket layer (nlsock.c); NL must be a
 * NETLINK_NETFILTER socket. The table is always replaced in one transaction
 * (see nft_table_replace).
 */
#include "nft.h"
#include "nft_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#define ELEMS_PER_MSG 256	/* set elements per NEWSETELEM message */
#define MSG_ROOM 65536		/* room reserved for any one message */

static int table_setter(void *o, uint16_t a, const void *d, uint32_t l)
{
	return nftnl_table_set_data(o, a, d, l);
}

static struct nftnl_table *new_table(uint32_t family, const char *name, const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return NULL;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	if (comment && set_comment_udata(table_setter, t, NFTNL_TABLE_USERDATA,
					 NFTNL_UDATA_TABLE_COMMENT, comment) < 0) {
		nftnl_table_free(t);
		return NULL;
	}
	return t;
}

static struct nftnl_set *new_set(const struct want *w, int set, bool full)
{
	const struct set_def *d = nft_set_def(w->family, set);
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, w->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, w->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, nft_set_id(w->family, set));
	if (!full)
		return s;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->dtype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->klen);
	struct nftnl_udata_buf *ub = nftnl_udata_buf_alloc(64);
	if (!ub || !nftnl_udata_put_u32(ub, NFTNL_UDATA_SET_KEYBYTEORDER, d->byteorder) ||
	    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ub),
			       nftnl_udata_buf_len(ub)) < 0) {
		if (ub)
			nftnl_udata_buf_free(ub);
		nftnl_set_free(s);
		return NULL;
	}
	nftnl_udata_buf_free(ub);
	return s;
}

static struct nftnl_set_elem *new_elem(const struct elem *e)
{
	struct nftnl_set_elem *se = nftnl_set_elem_alloc();

	if (!se)
		return NULL;
	nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, e->key, e->klen);
	if (e->end)
		nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	if (e->open) {
		/* What nft does for a range up to the last address: it then lists
		 * the element as a prefix, not as an unterminated range. */
		struct nftnl_udata_buf *ub = nftnl_udata_buf_alloc(16);

		if (!ub || !nftnl_udata_put_u32(ub, NFTNL_UDATA_SET_ELEM_FLAGS,
						NFTNL_SET_ELEM_F_INTERVAL_OPEN) ||
		    nftnl_set_elem_set(se, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ub),
				       nftnl_udata_buf_len(ub)) < 0) {
			if (ub)
				nftnl_udata_buf_free(ub);
			nftnl_set_elem_free(se);
			return NULL;
		}
		nftnl_udata_buf_free(ub);
	}
	return se;
}

static struct nftnl_chain *new_chain(const struct want *w, int chain)
{
	const struct chain_def *d = &nft_chain_defs[chain];
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, w->family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, w->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

/* ------------------------------------------------------------------------ */
/* The transaction: a growing buffer of messages, each step named            */

struct step {
	uint32_t seq;
	char what[80];
};

struct batch {
	char *buf;
	size_t len, cap;
	struct step *steps;
	size_t nsteps, capsteps;
	int err;
};

static char *batch_room(struct batch *b)
{
	if (b->err)
		return NULL;
	if (b->cap - b->len < MSG_ROOM) {
		size_t cap = b->cap ? b->cap * 2 : 4 * MSG_ROOM;
		char *p;

		while (cap - b->len < MSG_ROOM)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		/* zeroed: libnftnl leaves some padding bytes unwritten */
		memset(p + b->len, 0, cap - b->len);
		b->buf = p;
		b->cap = cap;
	}
	return b->buf + b->len;
}

static void batch_advance(struct batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Start a command message of FAMILY, with its own sequence number and
 * NLM_F_ACK; the step's name says "(ip6)" for that family. */
static struct nlmsghdr *batch_cmd(struct batch *b, struct nl *nl, uint32_t family, uint16_t type,
				  uint16_t flags, const char *fmt, ...)
{
	char *p = batch_room(b);
	struct step *s;
	va_list ap;

	if (!p)
		return NULL;
	if (b->nsteps == b->capsteps) {
		size_t cap = b->capsteps ? b->capsteps * 2 : 32;
		struct step *ns = realloc(b->steps, cap * sizeof(*ns));

		if (!ns) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->steps = ns;
		b->capsteps = cap;
	}
	s = &b->steps[b->nsteps++];
	s->seq = nl_seq(nl);
	va_start(ap, fmt);
	vsnprintf(s->what, sizeof(s->what) - 8, fmt, ap);
	va_end(ap);
	if (family == NFPROTO_IPV6)
		strcat(s->what, " (ip6)");
	return nftnl_nlmsg_build_hdr(p, type, (uint16_t)family, flags | NLM_F_ACK, s->seq);
}

static void batch_free(struct batch *b)
{
	free(b->buf);
	free(b->steps);
	memset(b, 0, sizeof(*b));
}

static const char *batch_step(const struct batch *b, uint32_t seq)
{
	size_t i;

	for (i = 0; i < b->nsteps; i++)
		if (b->steps[i].seq == seq)
			return b->steps[i].what;
	return "nftables transaction";
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Send the whole batch and wait for every ack. A big batch needs a send
 * buffer as big as itself (one sendmsg, one transaction). */
static int batch_send(struct batch *b, struct nl *nl, char *err, size_t errlen)
{
	int ret;

	if (b->len > 128 * 1024 && nl->sock) {
		int fd = mnl_socket_get_fd(nl->sock), sz = (int)(b->len + 4096);

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	ret = nl_talk(nl, b->buf, b->len, NULL, NULL);
	if (ret < 0) {
		const char *what = batch_step(b, nl->err_seq);
		bool overlap = strstr(what, "to set masq") && (ret == -EEXIST || ret == -ENOTEMPTY);

		seterr(err, errlen, "%s: %s%s", what, nl_strerror(nl),
		       overlap ? " (networks overlap?)" : "");
	}
	return ret;
}

static void batch_begin(struct batch *b, struct nl *nl)
{
	char *p = batch_room(b);

	if (p)
		batch_advance(b, nftnl_batch_begin(p, nl_seq(nl)));
}

static void batch_end(struct batch *b, struct nl *nl)
{
	char *p = batch_room(b);

	if (p)
		batch_advance(b, nftnl_batch_end(p, nl_seq(nl)));
}

/* ------------------------------------------------------------------------ */
/* Replacing, deleting                                                       */

static void add_table_msgs(struct batch *b, struct nl *nl, const struct want *w)
{
	struct nftnl_table *bare = new_table(w->family, w->table, NULL);
	struct nftnl_table *full = new_table(w->family, w->table, w->comment);
	struct nlmsghdr *nlh;

	if (!bare || !full) {
		b->err = -ENOMEM;
		goto out;
	}
	/* Create it if absent (no EXCL: an existing table is left as is)... */
	nlh = batch_cmd(b, nl, w->family, NFT_MSG_NEWTABLE, NLM_F_CREATE, "creating table %s", w->table);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, bare);
	batch_advance(b, nlh);
	/* ... so that deleting it cannot fail ... */
	nlh = batch_cmd(b, nl, w->family, NFT_MSG_DELTABLE, 0, "deleting old table %s", w->table);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, bare);
	batch_advance(b, nlh);
	/* ... and the new one starts empty. */
	nlh = batch_cmd(b, nl, w->family, NFT_MSG_NEWTABLE, NLM_F_CREATE, "creating table %s", w->table);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, full);
	batch_advance(b, nlh);
out:
	if (bare)
		nftnl_table_free(bare);
	if (full)
		nftnl_table_free(full);
}

static void add_set_msgs(struct batch *b, struct nl *nl, const struct want *w, int set)
{
	struct nftnl_set *s = new_set(w, set, true);
	struct nlmsghdr *nlh;
	size_t i, j;

	if (!s) {
		b->err = -ENOMEM;
		return;
	}
	nlh = batch_cmd(b, nl, w->family, NFT_MSG_NEWSET, NLM_F_CREATE, "adding set %s", nft_set_defs[set].name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		batch_advance(b, nlh);
	}
	nftnl_set_free(s);

	for (i = 0; i < w->nel[set] && !b->err; i += ELEMS_PER_MSG) {
		size_t n = w->nel[set] - i < ELEMS_PER_MSG ? w->nel[set] - i : ELEMS_PER_MSG;

		s = new_set(w, set, false);
		if (!s) {
			b->err = -ENOMEM;
			return;
		}
		for (j = i; j < i + n; j++) {
			struct nftnl_set_elem *se = new_elem(&w->el[set][j]);

			if (!se) {
				b->err = -ENOMEM;
				break;
			}
			nftnl_set_elem_add(s, se);
		}
		if (!b->err) {
			nlh = batch_cmd(b, nl, w->family, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
					"adding elements %zu-%zu of %zu to set %s", i + 1, i + n,
					w->nel[set], nft_set_defs[set].name);
			if (nlh) {
				nftnl_set_elems_nlmsg_build_payload(nlh, s);
				batch_advance(b, nlh);
			}
		}
		nftnl_set_free(s);
	}
}

static void add_chain_msgs(struct batch *b, struct nl *nl, const struct want *w, int ch)
{
	struct nftnl_chain *c = new_chain(w, ch);
	struct nlmsghdr *nlh;

	if (!c) {
		b->err = -ENOMEM;
		return;
	}
	nlh = batch_cmd(b, nl, w->family, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "adding chain %s",
			nft_chain_defs[ch].name);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_advance(b, nlh);
	}
	nftnl_chain_free(c);
}

/* Everything W's table holds: the table (created, deleted, created anew:
 * whatever was there goes), its sets and their elements, chains, rules. */
static void add_want_msgs(struct batch *b, struct nl *nl, const struct want *w)
{
	size_t i;

	add_table_msgs(b, nl, w);
	for (i = 0; i < N_SETS; i++)
		add_set_msgs(b, nl, w, (int)i);
	for (i = 0; i < N_CHAINS; i++)
		if (w->chain_on[i])
			add_chain_msgs(b, nl, w, (int)i);
	for (i = 0; i < w->nrules && !b->err; i++) {
		struct nlmsghdr *nlh = batch_cmd(b, nl, w->family, NFT_MSG_NEWRULE,
						 NLM_F_CREATE | NLM_F_APPEND, "adding rule %s",
						 w->rule_name[i]);
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, w->rule[i]);
			batch_advance(b, nlh);
		}
	}
}

/* DELTABLE of table NAME of FAMILY. */
static void del_table_msg(struct batch *b, struct nl *nl, uint32_t family, const char *name)
{
	struct nftnl_table *t = new_table(family, name, NULL);
	struct nlmsghdr *nlh;

	if (!t) {
		b->err = -ENOMEM;
		return;
	}
	nlh = batch_cmd(b, nl, family, NFT_MSG_DELTABLE, 0, "deleting table %s", name);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_advance(b, nlh);
	}
	nftnl_table_free(t);
}

/* -EEXIST (ERR says which) when a table of the site is not ours. */
static int refuse_foreign(const struct tinfo ti[2], const char *table, const char *site, const char *what,
			  char *err, size_t errlen)
{
	for (int f = 0; f < 2; f++)
		if (ti[f].present && !ti[f].ours) {
			seterr(err, errlen, "table %s %s exists but is not gatewayctl's (no comment \"%s%s\"): %s",
			       f ? "ip6" : "ip", table, NFT_OWNER_COMMENT_PREFIX, site, what);
			return -EEXIST;
		}
	return 0;
}

int nft_table_replace(struct nl *nl, const struct nft_spec *spec, char *err, size_t errlen)
{
	struct batch b = { 0 };
	struct tinfo ti[2];
	struct want w, w6 = { 0 };
	int ret;

	seterr(err, errlen, "%s", "");
	ret = nft_want_build(spec, &w);
	if (ret == 0 && spec->v6 && (ret = nft_want_build6(spec, &w6)) < 0)
		nft_want_free(&w);
	if (ret < 0) {
		seterr(err, errlen, "building table for site %s: %s", spec->site ? spec->site : "",
		       strerror(-ret));
		return ret;
	}
	ret = nft_find_tables(nl, spec->site, ti);
	if (ret < 0) {
		seterr(err, errlen, "listing nftables tables: %s", nl_strerror(nl));
		goto out;
	}
	ret = refuse_foreign(ti, w.table, spec->site, "refusing to replace it", err, errlen);
	if (ret < 0)
		goto out;
	batch_begin(&b, nl);
	add_want_msgs(&b, nl, &w);
	if (spec->v6)
		add_want_msgs(&b, nl, &w6);
	else if (ti[1].present)	/* an ip6 table of ours from before */
		del_table_msg(&b, nl, NFPROTO_IPV6, w.table);
	batch_end(&b, nl);
	if (b.err) {
		ret = b.err;
		seterr(err, errlen, "building nftables transaction: %s", strerror(-ret));
		goto out;
	}
	ret = batch_send(&b, nl, err, errlen);
out:
	batch_free(&b);
	nft_want_free(&w);
	if (spec->v6)
		nft_want_free(&w6);
	return ret;
}

int nft_table_delete(struct nl *nl, const char *site, char *err, size_t errlen)
{
	char name[TABLE_NAME_MAX];
	struct batch b = { 0 };
	struct tinfo ti[2];
	int ret;

	seterr(err, errlen, "%s", "");
	ret = nft_table_name(site, name, sizeof(name));
	if (ret < 0) {
		seterr(err, errlen, "bad site name");
		return ret;
	}
	ret = nft_find_tables(nl, site, ti);
	if (ret < 0) {
		seterr(err, errlen, "listing nftables tables: %s", nl_strerror(nl));
		return ret;
	}
	if (!ti[0].present && !ti[1].present)
		return 0;
	ret = refuse_foreign(ti, name, site, "leaving it alone", err, errlen);
	if (ret < 0)
		return ret;
	batch_begin(&b, nl);
	for (int f = 0; f < 2; f++)
		if (ti[f].present)
			del_table_msg(&b, nl, f ? NFPROTO_IPV6 : NFPROTO_IPV4, name);
	batch_end(&b, nl);
	if (b.err) {
		ret = b.err;
		seterr(err, errlen, "building nftables transaction: %s", strerror(-ret));
	} else {
		ret = batch_send(&b, nl, err, errlen);
		if (ret == -ENOENT) {	/* gone meanwhile */
			ret = 0;
			seterr(err, errlen, "%s", "");
		}
	}
	batch_free(&b);
	return ret;
}
