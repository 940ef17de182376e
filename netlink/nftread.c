/* nftread.c - gatewayctl's nftables table read back: the dumps, parsed one
 * message at a time into a struct nft_dump, and what they say (is the table
 * there and ours, its counters, does it equal a spec).
 *
 * A read is consistent: the ruleset generation is asked before and after the
 * dumps (NFT_MSG_GETGEN), and everything is read again when it moved in
 * between or a dump was interrupted (NLM_F_DUMP_INTR), up to NFT_READ_TRIES
 * times. NL must be a NETLINK_NETFILTER socket.
 */
#include "nft.h"
#include "nft_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#define NFT_READ_TRIES 10

/* ------------------------------------------------------------------------ */
/* User data: attributes of a type byte, a length byte and that many bytes   */

const char *nft_udata_comment(const void *udata, size_t len)
{
	const uint8_t *p = udata;
	const char *comment = NULL;
	size_t pos = 0;

	if (!udata)
		return NULL;
	while (pos < len) {
		size_t alen;

		if (len - pos < 2)
			return NULL;	/* a header cut short */
		alen = p[pos + 1];
		if (alen > len - pos - 2)
			return NULL;	/* a value longer than what is left */
		if (p[pos] == NFTNL_UDATA_TABLE_COMMENT) {
			/* one string, its NUL the last byte and the only one */
			if (comment || alen == 0 || strnlen((const char *)p + pos + 2, alen) != alen - 1)
				return NULL;
			comment = (const char *)p + pos + 2;
		}
		pos += 2 + alen;
	}
	return comment;
}

static const char *table_comment(const struct nftnl_table *t)
{
	uint32_t len = 0;
	const void *d;

	if (!nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
		return NULL;
	d = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
	return nft_udata_comment(d, len);
}

/* (NFTNL_UDATA_RULE_COMMENT is type 0 too) */
static const char *rule_comment(const struct nftnl_rule *r)
{
	uint32_t len = 0;
	const void *d;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return NULL;
	d = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	return nft_udata_comment(d, len);
}

static bool comment_is_ours(const char *comment, const char *site)
{
	size_t n = strlen(NFT_OWNER_COMMENT_PREFIX);

	return comment && strncmp(comment, NFT_OWNER_COMMENT_PREFIX, n) == 0 &&
	       strcmp(comment + n, site) == 0;
}

/* ------------------------------------------------------------------------ */
/* The dump: every object of the table, as libnftnl parsed it                */

struct ptrs {
	void **p;
	size_t n, cap;
};

struct elems {
	struct elem *e;
	size_t n, cap;
};

/* What came of one family's table (0: ip, 1: ip6). */
struct fam {
	struct ptrs tables, chains, sets, rules;
	struct elems el[N_SETS];	/* the elements of our sets, by set */
	bool bad;			/* an object of the table that did not parse,
					 * an element we cannot represent */
	bool bad_table;			/* a table message that did not parse */
};

struct nft_dump {
	char site[TABLE_NAME_MAX];
	char table[TABLE_NAME_MAX];	/* "" when reading every table */
	struct fam f[2];
	bool has_gen;
	uint32_t gen;			/* NFTA_GEN_ID of the last NEWGEN */
};

static void fr_table(void *p) { nftnl_table_free(p); }
static void fr_chain(void *p) { nftnl_chain_free(p); }
static void fr_set(void *p) { nftnl_set_free(p); }
static void fr_rule(void *p) { nftnl_rule_free(p); }

static void ptrs_free(struct ptrs *v, void (*fr)(void *))
{
	size_t i;

	for (i = 0; i < v->n; i++)
		fr(v->p[i]);
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* Keeps X (frees it when out of memory). MNL_CB_OK or MNL_CB_ERROR. */
static int ptrs_add(struct ptrs *v, void *x, void (*fr)(void *))
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **np = realloc(v->p, cap * sizeof(*np));

		if (!np) {
			fr(x);
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		v->p = np;
		v->cap = cap;
	}
	v->p[v->n++] = x;
	return MNL_CB_OK;
}

static void dump_reset(struct nft_dump *d)
{
	for (int f = 0; f < 2; f++) {
		struct fam *fm = &d->f[f];

		ptrs_free(&fm->tables, fr_table);
		ptrs_free(&fm->chains, fr_chain);
		ptrs_free(&fm->sets, fr_set);
		ptrs_free(&fm->rules, fr_rule);
		for (size_t i = 0; i < N_SETS; i++) {
			free(fm->el[i].e);
			memset(&fm->el[i], 0, sizeof(fm->el[i]));
		}
		fm->bad = false;
		fm->bad_table = false;
	}
	d->has_gen = false;
	d->gen = 0;
}

struct nft_dump *nft_dump_new(const char *site)
{
	struct nft_dump *d;
	int r = 0;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (site) {
		r = nft_table_name(site, d->table, sizeof(d->table));
		snprintf(d->site, sizeof(d->site), "%s", site);
	}
	if (r < 0) {
		free(d);
		errno = -r;
		return NULL;
	}
	return d;
}

void nft_dump_free(struct nft_dump *d)
{
	if (!d)
		return;
	dump_reset(d);
	free(d);
}

static int find_def(const char *name, bool chain)
{
	int i;

	if (!name)
		return -1;
	for (i = 0; i < (chain ? N_CHAINS : N_SETS); i++)
		if (strcmp(name, chain ? nft_chain_defs[i].name : nft_set_defs[i].name) == 0)
			return i;
	return -1;
}

/* The family's index in d->f: 0 ip, 1 ip6, -1 any other. */
static int fam_of(uint32_t family)
{
	return family == NFPROTO_IPV4 ? 0 : family == NFPROTO_IPV6 ? 1 : -1;
}

static uint32_t family_of(int f)
{
	return f ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/* An object of the table we read, of family F (any table when reading every table). */
static bool in_table(const struct nft_dump *d, int f, const char *table, uint32_t family)
{
	return family == family_of(f) && table && (!d->table[0] || strcmp(table, d->table) == 0);
}

/* The NUL-terminated string attribute TYPE of the message, NULL if none. */
static const char *msg_str(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *a;
	const char *s = NULL;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == type)
			s = mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 ? mnl_attr_get_str(a) : NULL;
	return s;
}

static int parse_gen(const struct nlmsghdr *nlh, struct nft_dump *d)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_GEN_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			d->gen = ntohl(mnl_attr_get_u32(a));
			d->has_gen = true;
		}
	}
	return MNL_CB_OK;
}

/* Each of these keeps the object or frees it; a message of our table that
 * libnftnl cannot parse makes the dump bad (then it does not match). */
static int parse_table(const struct nlmsghdr *nlh, struct nft_dump *d, int f)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_table_nlmsg_parse(nlh, t) < 0) {
		d->f[f].bad_table = true;
		nftnl_table_free(t);
		return MNL_CB_OK;
	}
	if (!in_table(d, f, nftnl_table_get_str(t, NFTNL_TABLE_NAME),
		      nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY))) {
		nftnl_table_free(t);
		return MNL_CB_OK;
	}
	return ptrs_add(&d->f[f].tables, t, fr_table);
}

static int parse_chain(const struct nlmsghdr *nlh, struct nft_dump *d, int f)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    !in_table(d, f, nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE),
		      nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY))) {
		d->f[f].bad = true;
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	return ptrs_add(&d->f[f].chains, c, fr_chain);
}

static int parse_set(const struct nlmsghdr *nlh, struct nft_dump *d, int f)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_nlmsg_parse(nlh, s) < 0 ||
	    !in_table(d, f, nftnl_set_get_str(s, NFTNL_SET_TABLE),
		      nftnl_set_get_u32(s, NFTNL_SET_FAMILY))) {
		d->f[f].bad = true;
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	return ptrs_add(&d->f[f].sets, s, fr_set);
}

static int parse_rule(const struct nlmsghdr *nlh, struct nft_dump *d, int f)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    !in_table(d, f, nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
		      nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY))) {
		d->f[f].bad = true;
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	return ptrs_add(&d->f[f].rules, r, fr_rule);
}

static bool elem_push(struct elems *a, const struct elem *e)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct elem *ne = realloc(a->e, cap * sizeof(*ne));

		if (!ne)
			return false;
		a->e = ne;
		a->cap = cap;
	}
	a->e[a->n++] = *e;
	return true;
}

/* The elements of one of our sets, each as struct elem. */
static int parse_elems(const struct nlmsghdr *nlh, struct nft_dump *d, int f)
{
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *se;
	struct nftnl_set *s;
	int set, ret = MNL_CB_OK;

	s = nftnl_set_alloc();
	if (!s) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		d->f[f].bad = true;
		return MNL_CB_OK;
	}
	set = find_def(nftnl_set_get_str(s, NFTNL_SET_NAME), false);
	if (set < 0 || !in_table(d, f, nftnl_set_get_str(s, NFTNL_SET_TABLE),
				 nftnl_set_get_u32(s, NFTNL_SET_FAMILY))) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	it = nftnl_set_elems_iter_create(s);
	if (!it) {
		nftnl_set_free(s);
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	/* (_next returns the current element, then moves on) */
	while ((se = nftnl_set_elems_iter_next(it))) {
		uint32_t klen = 0, flags = 0;
		const void *key = nftnl_set_elem_get(se, NFTNL_SET_ELEM_KEY, &klen);
		struct elem e;

		if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_FLAGS))
			flags = nftnl_set_elem_get_u32(se, NFTNL_SET_ELEM_FLAGS);
		if (!key || klen == 0 || klen > IFNAMSZ ||
		    (flags & ~(uint32_t)NFT_SET_ELEM_INTERVAL_END) ||
		    nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_DATA) ||
		    nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_KEY_END)) {
			d->f[f].bad = true;
			continue;
		}
		memset(&e, 0, sizeof(e));
		memcpy(e.key, key, klen);
		e.klen = (uint8_t)klen;
		e.end = (flags & NFT_SET_ELEM_INTERVAL_END) ? 1 : 0;
		if (!elem_push(&d->f[f].el[set], &e)) {
			errno = ENOMEM;
			ret = MNL_CB_ERROR;
			break;
		}
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return ret;
}

int nft_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct nft_dump *d = data;
	uint8_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	const char *table;
	int f;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return MNL_CB_OK;
	if (type == NFT_MSG_NEWGEN)
		return parse_gen(nlh, d);
	if (type != NFT_MSG_NEWTABLE && type != NFT_MSG_NEWCHAIN && type != NFT_MSG_NEWSET &&
	    type != NFT_MSG_NEWSETELEM && type != NFT_MSG_NEWRULE)
		return MNL_CB_OK;
	/* Only objects of family ip or ip6 and of our table (every table when
	 * listing tables) reach libnftnl: the table's name is attribute 1 of
	 * each (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE,
	 * NFTA_SET_ELEM_LIST_TABLE, NFTA_RULE_TABLE). */
	f = fam_of(nfg->nfgen_family);
	if (f < 0 || (type != NFT_MSG_NEWTABLE && !d->table[0]))
		return MNL_CB_OK;
	table = msg_str(nlh, 1);
	if (!table) {
		/* nameless: it may be ours, we cannot tell */
		if (type == NFT_MSG_NEWTABLE)
			d->f[f].bad_table = true;
		else
			d->f[f].bad = true;
		return MNL_CB_OK;
	}
	if (d->table[0] && strcmp(table, d->table) != 0)
		return MNL_CB_OK;
	/* what libnftnl would choke on (exit, NULL, overreads) never gets to it */
	if (!nft_msg_ok(nlh)) {
		if (type == NFT_MSG_NEWTABLE)
			d->f[f].bad_table = true;
		else
			d->f[f].bad = true;
		return MNL_CB_OK;
	}
	switch (type) {
	case NFT_MSG_NEWTABLE:
		return parse_table(nlh, d, f);
	case NFT_MSG_NEWCHAIN:
		return parse_chain(nlh, d, f);
	case NFT_MSG_NEWSET:
		return parse_set(nlh, d, f);
	case NFT_MSG_NEWSETELEM:
		return parse_elems(nlh, d, f);
	default:
		return parse_rule(nlh, d, f);
	}
}

/* ------------------------------------------------------------------------ */
/* What the dump says                                                        */

/* What the dump says of the site's table of family index F. */
static void table_info(const struct nft_dump *d, int f, struct tinfo *ti)
{
	const struct fam *fm = &d->f[f];
	size_t i;

	memset(ti, 0, sizeof(*ti));
	ti->gen = d->gen;
	for (i = 0; d->table[0] && i < fm->tables.n; i++) {
		const char *tn = nftnl_table_get_str(fm->tables.p[i], NFTNL_TABLE_NAME);
		bool ours;

		if (!tn || strcmp(tn, d->table) != 0)
			continue;
		/* (one table of a name; if the kernel said two, both must be ours) */
		ours = comment_is_ours(table_comment(fm->tables.p[i]), d->site);
		ti->ours = ti->present ? ti->ours && ours : ours;
		ti->present = true;
		ti->flags = nftnl_table_is_set(fm->tables.p[i], NFTNL_TABLE_FLAGS) ?
			    nftnl_table_get_u32(fm->tables.p[i], NFTNL_TABLE_FLAGS) : 0;
	}
	/* a table we could not read may be it: never take it for ours */
	if (d->table[0] && fm->bad_table) {
		ti->present = true;
		ti->ours = false;
	}
}

/* The counters of the named rules of family index F, appended to ST. */
static int add_counters(const struct fam *fm, struct nft_state *st)
{
	for (size_t k = 0; k < fm->rules.n; k++) {
		const char *c = rule_comment(fm->rules.p[k]);
		struct nftnl_expr_iter *it;
		struct nftnl_expr *e;

		if (!c || strlen(c) >= sizeof(st->counters[0].rule) ||
		    st->n_counters >= sizeof(st->counters) / sizeof(st->counters[0]))
			continue;
		it = nftnl_expr_iter_create(fm->rules.p[k]);
		if (!it)
			return -ENOMEM;
		while ((e = nftnl_expr_iter_next(it))) {
			const char *en = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
			struct nft_counter *ctr;

			if (!en || strcmp(en, "counter") != 0)
				continue;
			ctr = &st->counters[st->n_counters++];
			snprintf(ctr->rule, sizeof(ctr->rule), "%s", c);
			ctr->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
			ctr->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
			break;
		}
		nftnl_expr_iter_destroy(it);
	}
	return 0;
}

int nft_dump_state(const struct nft_dump *d, struct nft_state *st)
{
	struct tinfo ti, ti6;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	table_info(d, 0, &ti);
	table_info(d, 1, &ti6);
	st->present = ti.present && ti.ours;
	st->present6 = ti6.present && ti6.ours;
	st->foreign = (ti.present && !ti.ours) || (ti6.present && !ti6.ours);
	if (st->present)
		ret = add_counters(&d->f[0], st);
	if (ret == 0 && st->present6)
		ret = add_counters(&d->f[1], st);
	return ret;
}

int nft_dump_sites(const struct nft_dump *d, char (**sites)[33], size_t *n)
{
	size_t plen = strlen(NFT_TABLE_PREFIX), i, k;
	size_t total = d->f[0].tables.n + d->f[1].tables.n;
	char (*out)[33] = NULL;

	*sites = NULL;
	*n = 0;
	if (total) {
		out = calloc(total, sizeof(*out));
		if (!out)
			return -ENOMEM;
	}
	for (i = 0; i < total; i++) {
		const struct ptrs *t = i < d->f[0].tables.n ? &d->f[0].tables : &d->f[1].tables;
		size_t at = i < d->f[0].tables.n ? i : i - d->f[0].tables.n;
		const char *tn = nftnl_table_get_str(t->p[at], NFTNL_TABLE_NAME);
		const char *site;

		if (!tn || strncmp(tn, NFT_TABLE_PREFIX, plen) != 0)
			continue;
		site = tn + plen;
		if (!*site || strlen(site) >= sizeof(out[0]) ||
		    !comment_is_ours(table_comment(t->p[at]), site))
			continue;
		for (k = 0; k < *n && strcmp(out[k], site) != 0; k++)
			;
		if (k == *n)	/* once, when it has both tables */
			snprintf(out[(*n)++], sizeof(out[0]), "%s", site);
	}
	if (*n == 0) {
		free(out);
		out = NULL;
	}
	*sites = out;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Comparing with a spec                                                     */

/* Fill in the defaults the kernel reports back although nobody sent them
 * (libnftnl has no way to unset an expression's attribute, so both the
 * wanted and the live rule get them): lookup flags 0; nat addr_max = addr_min
 * and the flag NF_NAT_RANGE_MAP_IPS when an address register is given. */
static int normalize_exprs(struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	if (!it)
		return -ENOMEM;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (!name)
			continue;
		if (strcmp(name, "lookup") == 0 && !nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS))
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
		if (strcmp(name, "nat") == 0 && nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN)) {
			uint32_t flags = 0;

			if (!nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MAX))
				nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX,
						   nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN));
			if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS))
				flags = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FLAGS);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags | NF_NAT_RANGE_MAP_IPS);
		}
	}
	nftnl_expr_iter_destroy(it);
	return 0;
}

/* A rule as text, without what changes by itself (handles, positions,
 * counter values). Malloc'd. */
static char *rule_text(struct nftnl_rule *r, bool live)
{
	size_t size = 2048;
	char *buf = NULL;

	if (live) {
		struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
		struct nftnl_expr *e;

		if (!it)
			return NULL;
		while ((e = nftnl_expr_iter_next(it))) {
			const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

			if (name && strcmp(name, "counter") == 0) {
				nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
				nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
			}
		}
		nftnl_expr_iter_destroy(it);
		nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
		nftnl_rule_unset(r, NFTNL_RULE_POSITION);
	}
	if (normalize_exprs(r) < 0)
		return NULL;
	for (;;) {
		char *nb = realloc(buf, size);
		int n;

		if (!nb) {
			free(buf);
			return NULL;
		}
		buf = nb;
		n = nftnl_rule_snprintf(buf, size, r, NFTNL_OUTPUT_DEFAULT, 0);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < size)
			return buf;
		size = (size_t)n + 1;
	}
}

static bool chain_equal(const struct nftnl_chain *live, int ch)
{
	const struct chain_def *d = &nft_chain_defs[ch];

	return nftnl_chain_is_set(live, NFTNL_CHAIN_TYPE) &&
	       strcmp(nftnl_chain_get_str(live, NFTNL_CHAIN_TYPE), d->type) == 0 &&
	       nftnl_chain_is_set(live, NFTNL_CHAIN_HOOKNUM) &&
	       nftnl_chain_get_u32(live, NFTNL_CHAIN_HOOKNUM) == d->hook &&
	       nftnl_chain_is_set(live, NFTNL_CHAIN_PRIO) &&
	       nftnl_chain_get_s32(live, NFTNL_CHAIN_PRIO) == d->prio &&
	       (!nftnl_chain_is_set(live, NFTNL_CHAIN_POLICY) ||
		nftnl_chain_get_u32(live, NFTNL_CHAIN_POLICY) == NF_ACCEPT) &&
	       !nftnl_chain_is_set(live, NFTNL_CHAIN_DEV) &&
	       !nftnl_chain_is_set(live, NFTNL_CHAIN_DEVICES);
}

static uint32_t set_u32(const struct nftnl_set *s, uint16_t attr)
{
	return nftnl_set_is_set(s, attr) ? nftnl_set_get_u32(s, attr) : 0;
}

static bool set_equal(const struct nftnl_set *live, uint32_t family, int set)
{
	const struct set_def *d = nft_set_def(family, set);

	return set_u32(live, NFTNL_SET_FLAGS) == d->flags &&
	       set_u32(live, NFTNL_SET_KEY_TYPE) == d->dtype &&
	       set_u32(live, NFTNL_SET_KEY_LEN) == d->klen &&
	       set_u32(live, NFTNL_SET_DATA_LEN) == 0 &&
	       set_u32(live, NFTNL_SET_TIMEOUT) == 0 &&
	       !nftnl_set_is_set(live, NFTNL_SET_OBJ_TYPE) &&
	       !nftnl_set_is_set(live, NFTNL_SET_EXPR);
}

/* 1 equal, 0 different, -errno */
static int compare_chains(const struct fam *d, const struct want *w)
{
	bool seen[N_CHAINS] = { false };
	size_t k, n = 0;
	int i;

	for (i = 0; i < N_CHAINS; i++)
		n += w->chain_on[i];
	if (d->chains.n != n)
		return 0;
	for (k = 0; k < d->chains.n; k++) {
		i = find_def(nftnl_chain_get_str(d->chains.p[k], NFTNL_CHAIN_NAME), true);
		if (i < 0 || !w->chain_on[i] || seen[i] || !chain_equal(d->chains.p[k], i))
			return 0;
		seen[i] = true;
	}
	return 1;
}

static int compare_sets(struct fam *d, const struct want *w)
{
	bool seen[N_SETS] = { false };
	size_t k;
	int i;

	if (d->sets.n != N_SETS)
		return 0;
	for (k = 0; k < d->sets.n; k++) {
		i = find_def(nftnl_set_get_str(d->sets.p[k], NFTNL_SET_NAME), false);
		if (i < 0 || seen[i] || !set_equal(d->sets.p[k], w->family, i))
			return 0;
		seen[i] = true;
	}
	for (i = 0; i < N_SETS; i++) {
		struct elems *a = &d->el[i];

		a->n = nft_sort_elems(a->e, a->n);
		if (a->n != w->nel[i])
			return 0;
		for (k = 0; k < a->n; k++)
			if (nft_cmp_elem(&a->e[k], &w->el[i][k]) != 0)
				return 0;
	}
	return 1;
}

static int compare_rules(struct fam *d, const struct want *w)
{
	size_t pos[N_CHAINS] = { 0 }, want_n[N_CHAINS] = { 0 };
	size_t order[N_CHAINS][MAX_RULES];
	size_t k;
	int ret = 1, i;

	for (k = 0; k < w->nrules; k++) {
		i = w->rule_chain[k];
		order[i][want_n[i]++] = k;
	}
	/* The kernel lists each chain's rules in order. */
	for (k = 0; ret == 1 && k < d->rules.n; k++) {
		char *live, *want;

		i = find_def(nftnl_rule_get_str(d->rules.p[k], NFTNL_RULE_CHAIN), true);
		if (i < 0 || pos[i] >= want_n[i])
			return 0;
		live = rule_text(d->rules.p[k], true);
		want = rule_text(w->rule[order[i][pos[i]++]], false);
		if (!live || !want)
			ret = -ENOMEM;
		else if (strcmp(live, want) != 0)
			ret = 0;
		free(live);
		free(want);
	}
	for (i = 0; ret == 1 && i < N_CHAINS; i++)
		if (pos[i] != want_n[i])
			ret = 0;
	return ret;
}

/* Whether the table of W's family in D is W: 1, 0, -errno. */
static int family_matches(struct nft_dump *d, const struct want *w)
{
	int f = fam_of(w->family), ret;
	struct tinfo ti;

	table_info(d, f, &ti);
	if (strcmp(w->table, d->table) != 0)
		return -EINVAL;
	ret = ti.present && ti.ours && ti.flags == 0 && !d->f[f].bad;
	if (ret == 1)
		ret = compare_chains(&d->f[f], w);
	if (ret == 1)
		ret = compare_sets(&d->f[f], w);
	if (ret == 1)
		ret = compare_rules(&d->f[f], w);
	return ret;
}

int nft_dump_matches(struct nft_dump *d, const struct nft_spec *spec)
{
	struct tinfo ti6;
	struct want w;
	int ret;

	ret = nft_want_build(spec, &w);
	if (ret < 0)
		return ret;
	ret = family_matches(d, &w);
	nft_want_free(&w);
	if (ret != 1)
		return ret;
	if (!spec->v6) {
		/* an ip6 table of ours left from before is to go */
		table_info(d, 1, &ti6);
		return !(ti6.present && ti6.ours);
	}
	ret = nft_want_build6(spec, &w);
	if (ret < 0)
		return ret;
	ret = family_matches(d, &w);
	nft_want_free(&w);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Reading from the kernel                                                   */

enum what { READ_TABLES, READ_RULES, READ_ALL };

static int local_error(struct nl *nl, int err, const char *msg)
{
	nl->err = err;
	nl->err_seq = 0;
	nl->err_off = 0;
	snprintf(nl->err_msg, sizeof(nl->err_msg), "%s", msg);
	return err;
}

/* One dump request of FAMILY; what comes goes into D. */
static int dump_obj(struct nl *nl, uint16_t type, uint32_t family, const char *table, const char *set,
		    struct nft_dump *d)
{
	char buf[1024] = { 0 };
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)family, NLM_F_DUMP,
						    nl_seq(nl));

	if (type == NFT_MSG_GETSET || type == NFT_MSG_GETSETELEM) {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s)
			return local_error(nl, -ENOMEM, "out of memory");
		nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
		if (set) {
			nftnl_set_set_str(s, NFTNL_SET_NAME, set);
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
		} else {
			nftnl_set_nlmsg_build_payload(nlh, s);
		}
		nftnl_set_free(s);
	} else if (type == NFT_MSG_GETRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (!r)
			return local_error(nl, -ENOMEM, "out of memory");
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
	}
	return nl_dump(nl, nlh, nft_dump_cb, d);
}

/* The ruleset's generation now. */
static int get_gen(struct nl *nl, struct nft_dump *d, uint32_t *gen)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC,
						    NLM_F_ACK, nl_seq(nl));
	int r;

	d->has_gen = false;
	r = nl_talk(nl, nlh, nlh->nlmsg_len, nft_dump_cb, d);
	if (r < 0)
		return r;
	if (!d->has_gen)
		return local_error(nl, -EPROTO, "the kernel did not tell the ruleset generation");
	*gen = d->gen;
	return 0;
}

/* The dumps WHAT asks for of the table of family index F, once. */
static int read_family(struct nl *nl, struct nft_dump *d, enum what what, int f)
{
	uint32_t family = family_of(f);
	struct tinfo ti;
	size_t i;
	int r = 0;

	table_info(d, f, &ti);
	if (!ti.present || !ti.ours)
		return 0;
	if (what == READ_ALL) {
		r = dump_obj(nl, NFT_MSG_GETCHAIN, family, NULL, NULL, d);
		if (r == 0)
			r = dump_obj(nl, NFT_MSG_GETSET, family, d->table, NULL, d);
		for (i = 0; r == 0 && i < d->f[f].sets.n; i++) {
			const char *name = nftnl_set_get_str(d->f[f].sets.p[i], NFTNL_SET_NAME);

			if (find_def(name, false) >= 0)
				r = dump_obj(nl, NFT_MSG_GETSETELEM, family, d->table, name, d);
		}
	}
	if (r == 0)
		r = dump_obj(nl, NFT_MSG_GETRULE, family, d->table, NULL, d);
	return r;
}

/* The dumps WHAT asks for, once: the tables of every family, then what is
 * in the site's ip and ip6 tables. */
static int read_once(struct nl *nl, struct nft_dump *d, enum what what)
{
	int r;

	r = dump_obj(nl, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NULL, NULL, d);
	if (r < 0 || what == READ_TABLES || !d->table[0])
		return r;
	r = read_family(nl, d, what, 0);
	return r < 0 ? r : read_family(nl, d, what, 1);
}

/* Fill D with what WHAT asks for, all read in one ruleset generation. */
static int read_dump(struct nl *nl, struct nft_dump *d, enum what what)
{
	int tries, r;

	for (tries = 0; tries < NFT_READ_TRIES; tries++) {
		struct nl saved;
		uint32_t g0, g1;

		dump_reset(d);
		if (tries)
			nl_backoff(tries);
		r = get_gen(nl, d, &g0);
		if (r < 0)
			return r;
		r = read_once(nl, d, what);
		/* interrupted, or an object gone between two dumps: read again
		 * (the generation tells whether something changed) */
		if (r < 0 && r != -EINTR && r != -ENOENT)
			return r;
		saved = *nl;
		if (get_gen(nl, d, &g1) < 0)
			return nl->err;
		if (g0 == g1 && r == 0) {
			d->gen = g0;
			return 0;
		}
		if (g0 == g1 && r == -ENOENT) {
			/* nothing changed: a real error */
			nl->err = saved.err;
			nl->err_seq = saved.err_seq;
			nl->err_off = saved.err_off;
			memcpy(nl->err_msg, saved.err_msg, sizeof(nl->err_msg));
			return r;
		}
	}
	local_error(nl, -EAGAIN, "");
	snprintf(nl->err_msg, sizeof(nl->err_msg),
		 "the nftables ruleset kept changing while it was read (%d tries): try again",
		 NFT_READ_TRIES);
	return -EAGAIN;
}

static struct nft_dump *dump_for(const char *site, int *err)
{
	struct nft_dump *d = nft_dump_new(site);

	if (!d)
		*err = errno ? -errno : -ENOMEM;
	return d;
}

int nft_find_tables(struct nl *nl, const char *site, struct tinfo ti[2])
{
	struct nft_dump *d;
	int r = 0;

	memset(ti, 0, 2 * sizeof(*ti));
	if (!(d = dump_for(site, &r)))
		return r;
	r = read_dump(nl, d, READ_TABLES);
	if (r == 0) {
		table_info(d, 0, &ti[0]);
		table_info(d, 1, &ti[1]);
	}
	nft_dump_free(d);
	return r;
}

int nft_table_matches(struct nl *nl, const struct nft_spec *spec)
{
	struct nft_dump *d;
	int r = 0;

	if (!(d = dump_for(spec->site, &r)))
		return r;
	r = read_dump(nl, d, READ_ALL);
	if (r == 0)
		r = nft_dump_matches(d, spec);
	nft_dump_free(d);
	return r;
}

int nft_table_read(struct nl *nl, const char *site, struct nft_state *st)
{
	struct nft_dump *d;
	int r = 0;

	memset(st, 0, sizeof(*st));
	if (!(d = dump_for(site, &r)))
		return r;
	r = read_dump(nl, d, READ_RULES);
	if (r == 0)
		r = nft_dump_state(d, st);
	nft_dump_free(d);
	return r;
}

int nft_list_sites(struct nl *nl, char (**sites)[33], size_t *n)
{
	struct nft_dump *d;
	int r = 0;

	*sites = NULL;
	*n = 0;
	if (!(d = dump_for(NULL, &r)))
		return r;
	r = read_dump(nl, d, READ_TABLES);
	if (r == 0)
		r = nft_dump_sites(d, sites, n);
	nft_dump_free(d);
	return r;
}
