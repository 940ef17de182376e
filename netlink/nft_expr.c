/* nft_expr.c - the pieces gatewayctl's nftables rules are made of, shared by
 * nft.c (the table), nft_netmap.c (the netmap's rules) and nft_txn.c: the
 * table's sets and chains, the expressions (libnftnl), a new rule, a comment
 * in an object's user data, and the nft commands' text (one command quoted
 * for a shell). It uses no other file: the files built on it use each
 * other one way only (no cycle, tests/build.sh).
 */
#include "nft_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

/* nft's data type numbers (nftables' enum datatypes), stored in the set so
 * that `nft list` shows the elements as addresses and interface names. */
#define NFT_DTYPE_IPADDR 7
#define NFT_DTYPE_IP6ADDR 8
#define NFT_DTYPE_IFNAME 41
/* nft's byte order tags for NFTNL_UDATA_SET_KEYBYTEORDER. */
#define NFT_BYTEORDER_HOST 1
#define NFT_BYTEORDER_BIG 2

/* --- the table's sets and chains ---------------------------------------- */

const struct set_def nft_set_defs[N_SETS] = {
	[SET_MASQ] = { "masq", NFT_SET_INTERVAL, NFT_DTYPE_IPADDR, 4, NFT_BYTEORDER_BIG, "ipv4_addr" },
	[SET_TUNNELS] = { "tunnels", 0, NFT_DTYPE_IFNAME, IFNAMSZ, NFT_BYTEORDER_HOST, "ifname" },
	[SET_ENDPOINTS] = { "endpoints", 0, NFT_DTYPE_IPADDR, 4, NFT_BYTEORDER_BIG, "ipv4_addr" },
	[SET_IPSEC] = { "encrypted", 0, NFT_DTYPE_IPADDR, 4, NFT_BYTEORDER_BIG, "ipv4_addr" },
};

const struct set_def nft_set_defs6[N_SETS] = {
	[SET_MASQ] = { "masq", NFT_SET_INTERVAL, NFT_DTYPE_IP6ADDR, 16, NFT_BYTEORDER_BIG, "ipv6_addr" },
	[SET_TUNNELS] = { "tunnels", 0, NFT_DTYPE_IFNAME, IFNAMSZ, NFT_BYTEORDER_HOST, "ifname" },
	[SET_ENDPOINTS] = { "endpoints", 0, NFT_DTYPE_IP6ADDR, 16, NFT_BYTEORDER_BIG, "ipv6_addr" },
	[SET_IPSEC] = { "encrypted", 0, NFT_DTYPE_IP6ADDR, 16, NFT_BYTEORDER_BIG, "ipv6_addr" },
};

const struct set_def *nft_set_def(uint32_t family, int set)
{
	return family == NFPROTO_IPV6 ? &nft_set_defs6[set] : &nft_set_defs[set];
}

const struct chain_def nft_chain_defs[N_CHAINS] = {
	[CH_POSTROUTING] = { "postrouting", "nat", NF_INET_POST_ROUTING, "postrouting", 100 },
	[CH_FORWARD] = { "forward", "filter", NF_INET_FORWARD, "forward", -150 },
	[CH_INPUT] = { "input", "filter", NF_INET_LOCAL_IN, "input", 0 },
	[CH_OUTPUT] = { "output", "filter", NF_INET_LOCAL_OUT, "output", 0 },
	[CH_PREROUTING] = { "prerouting", "filter", NF_INET_PRE_ROUTING, "prerouting", -150 },
	[CH_DSTNAT] = { "dstnat", "nat", NF_INET_PRE_ROUTING, "prerouting", -100 },	/* netmap only */
};

/* --- expressions, rules ------------------------------------------------ */

void put_be32(uint8_t *p, uint32_t v)
{
	uint32_t be = htonl(v);

	memcpy(p, &be, 4);
}

struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name, int *oom)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e) {
		*oom = 1;
		return NULL;
	}
	nftnl_rule_add_expr(r, e);
	return e;
}

void x_meta(struct nftnl_rule *r, uint32_t key, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "meta", oom);

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

void x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "payload", oom);

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

void x_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "cmp", oom);

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

void x_lookup(struct nftnl_rule *r, int set, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "lookup", oom);

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nft_set_defs[set].name);
	/* the ip6 table's sets have their own ids in a transaction that
	 * builds both tables (the same as its NEWSET's, nft_txn.c) */
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID,
			   nft_set_id(nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), set));
}

void x_lookup_inv(struct nftnl_rule *r, int set, int *oom)
{
	x_lookup(r, set, oom);
	if (!*oom) {
		struct nftnl_expr *e = NULL;
		struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);

		/* the lookup just added is the rule's last expression */
		for (struct nftnl_expr *x = it ? nftnl_expr_iter_next(it) : NULL; x; x = nftnl_expr_iter_next(it))
			e = x;
		if (it)
			nftnl_expr_iter_destroy(it);
		if (e)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
		else
			*oom = 1;
	}
}

/* A one-byte boolean in register 1 (meta secpath, rt ipsec) is 0: "missing". */
static void x_missing(struct nftnl_rule *r, int *oom)
{
	uint8_t zero = 0;

	x_cmp(r, NFT_CMP_EQ, &zero, 1, oom);
}

void x_secpath_missing(struct nftnl_rule *r, int *oom)
{
	x_meta(r, NFT_META_SECPATH, oom);
	x_missing(r, oom);
}

void x_rt_ipsec_missing(struct nftnl_rule *r, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "rt", oom);

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_KEY, NFT_RT_XFRM);
	}
	x_missing(r, oom);
}

void x_udp_dport(struct nftnl_rule *r, uint16_t port, int *oom)
{
	uint8_t udp = IPPROTO_UDP, p[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	x_meta(r, NFT_META_L4PROTO, oom);
	x_cmp(r, NFT_CMP_EQ, &udp, 1, oom);
	x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, oom);
	x_cmp(r, NFT_CMP_EQ, p, 2, oom);
}

void x_counter(struct nftnl_rule *r, int *oom)
{
	add_expr(r, "counter", oom);
}

void x_verdict(struct nftnl_rule *r, uint32_t verdict, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "immediate", oom);

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
}

void x_oifname(struct nftnl_rule *r, const char *name, int *oom)
{
	char buf[IFNAMSZ] = { 0 };

	memcpy(buf, name, strnlen(name, IFNAMSZ));
	x_meta(r, NFT_META_OIFNAME, oom);
	x_cmp(r, NFT_CMP_EQ, buf, sizeof(buf), oom);
}

void x_snat_to(struct nftnl_rule *r, uint32_t family, const void *addr, uint32_t len, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "immediate", oom);

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, addr, len);
	}
	e = add_expr(r, "nat", oom);
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	}
}

/* tcp flags syn counter tcp option maxseg size set rt mtu */
static void x_mss_clamp(struct nftnl_rule *r, int *oom)
{
	uint8_t tcp = IPPROTO_TCP, syn = 0x02, zero = 0;
	struct nftnl_expr *e;

	x_meta(r, NFT_META_L4PROTO, oom);
	x_cmp(r, NFT_CMP_EQ, &tcp, 1, oom);
	x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, oom);
	e = add_expr(r, "bitwise", oom);
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &syn, 1);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	}
	x_cmp(r, NFT_CMP_NEQ, &zero, 1, oom);
	x_counter(r, oom);
	e = add_expr(r, "rt", oom);
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_DREG, NFT_REG_1);
	}
	e = add_expr(r, "byteorder", oom);
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	}
	e = add_expr(r, "exthdr", oom);
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
		nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, 2 /* TCPOPT_MAXSEG */);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
	}
}

/* fib saddr . iif oif missing: no route back to the source through the
 * interface the packet came in by (what nft generates: the presence flag,
 * then the 4-byte result compared with 0) */
static void x_fib_oif_missing(struct nftnl_rule *r, int *oom)
{
	struct nftnl_expr *e = add_expr(r, "fib", oom);
	uint32_t zero = 0;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT);
	}
	x_cmp(r, NFT_CMP_EQ, &zero, sizeof(zero), oom);
}

/* A rule on the tunnels (SET_TUNNELS): the MSS clamp (forward), or the source
 * check (prerouting): a packet out of a tunnel whose source is not routed back
 * into that tunnel (not the peer's networks) is spoofed, dropped */
int nft_rule_tunnels(struct want *w, int chain, const char *name, int *oom)
{
	struct nftnl_rule *r = new_rule(w, chain, name);

	if (!r)
		return -ENOMEM;
	if (chain == CH_FORWARD) {
		x_meta(r, NFT_META_OIFNAME, oom);
		x_lookup(r, SET_TUNNELS, oom);
		x_mss_clamp(r, oom);
		return 0;
	}
	x_meta(r, NFT_META_IIFNAME, oom);
	x_lookup(r, SET_TUNNELS, oom);
	x_fib_oif_missing(r, oom);
	x_counter(r, oom);
	x_verdict(r, NF_DROP, oom);
	return 0;
}

int set_comment_udata(int (*setter)(void *, uint16_t, const void *, uint32_t),
			     void *obj, uint16_t attr, uint8_t type, const char *text)
{
	struct nftnl_udata_buf *ub = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
	int ret = -ENOMEM;

	if (!ub)
		return -ENOMEM;
	if (nftnl_udata_put_strz(ub, type, text) &&
	    setter(obj, attr, nftnl_udata_buf_data(ub), nftnl_udata_buf_len(ub)) == 0)
		ret = 0;
	nftnl_udata_buf_free(ub);
	return ret;
}

struct nftnl_rule *new_rule(struct want *w, int chain, const char *name)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, w->family ? w->family : NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, w->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, nft_chain_defs[chain].name);
	w->rule[w->nrules] = r;
	w->rule_name[w->nrules] = name;
	w->rule_chain[w->nrules] = chain;
	w->nrules++;
	return r;
}

uint32_t nft_set_id(uint32_t family, int set)
{
	return (uint32_t)set + 1 + (family == NFPROTO_IPV6 ? N_SETS : 0);
}

/* --- what a spec builds: the pieces both tables share -------------------- */

int nft_cmp_elem(const void *a, const void *b)
{
	const struct elem *x = a, *y = b;
	int c;

	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	c = memcmp(x->key, y->key, x->klen);
	if (c)
		return c;
	/* At the same address, the end of one interval comes before the start
	 * of the next: the kernel checks overlaps in the order it is given. */
	return (int)y->end - (int)x->end;
}

/* Sort and drop exact duplicates: the kernel keeps one of each. */
size_t nft_sort_elems(struct elem *e, size_t n)
{
	size_t i, k = 0;

	if (n == 0)
		return 0;
	qsort(e, n, sizeof(*e), nft_cmp_elem);
	for (i = 1; i < n; i++)
		if (nft_cmp_elem(&e[k], &e[i]) != 0)
			e[++k] = e[i];
	return k + 1;
}

int nft_table_name(const char *site, char *buf, size_t len)
{
	int n;

	if (!site || !*site)
		return -EINVAL;
	n = snprintf(buf, len, "%s%s", NFT_TABLE_PREFIX, site);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void nft_want_free(struct want *w)
{
	size_t i;

	for (i = 0; i < N_SETS; i++)
		free(w->el[i]);
	for (i = 0; i < w->nrules; i++)
		nftnl_rule_free(w->rule[i]);
	memset(w, 0, sizeof(*w));
}

int nft_want_init(struct want *w, const char *site, uint32_t family, bool dstnat)
{
	int ret = nft_table_name(site, w->table, sizeof(w->table));

	if (ret < 0)
		return ret;
	w->family = family;
	snprintf(w->comment, sizeof(w->comment), "%s%s", NFT_OWNER_COMMENT_PREFIX, site);
	for (int i = 0; i < N_CHAINS; i++)
		w->chain_on[i] = i != CH_DSTNAT || dstnat;
	return 0;
}

int nft_addr_elems(struct want *w, int set, const void *addrs, size_t n, size_t klen)
{
	w->el[set] = calloc(n + 1, sizeof(struct elem));
	if (!w->el[set])
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct elem *e = &w->el[set][i];

		e->klen = (uint8_t)klen;
		if (klen == 4)
			put_be32(e->key, ((const uint32_t *)addrs)[i]);
		else
			memcpy(e->key, (const uint8_t *)addrs + i * klen, klen);
	}
	w->nel[set] = nft_sort_elems(w->el[set], n);
	return 0;
}

int nft_tunnel_elems(struct want *w, const struct nft_spec *spec)
{
	w->el[SET_TUNNELS] = calloc(spec->n_tunnels + 1, sizeof(struct elem));
	if (!w->el[SET_TUNNELS])
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_tunnels; i++) {
		struct elem *e = &w->el[SET_TUNNELS][i];

		e->klen = IFNAMSZ;
		memcpy(e->key, spec->tunnels[i], strnlen(spec->tunnels[i], IFNAMSZ));
	}
	w->nel[SET_TUNNELS] = nft_sort_elems(w->el[SET_TUNNELS], spec->n_tunnels);
	return 0;
}

static int rule_setter(void *o, uint16_t a, const void *d, uint32_t l)
{
	return nftnl_rule_set_data(o, a, d, l);
}

int nft_name_rules(struct want *w)
{
	for (size_t i = 0; i < w->nrules; i++)
		if (set_comment_udata(rule_setter, w->rule[i], NFTNL_RULE_USERDATA, NFTNL_UDATA_RULE_COMMENT,
				      w->rule_name[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* --- nft commands' text ------------------------------------------------ */

/* One command, single-quoted for a POSIX shell. */
static void print_cmd(FILE *out, const char *cmd)
{
	const char *p;

	fputs("nft '", out);
	for (p = cmd; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", out);
		else
			fputc(*p, out);
	}
	fputs("'\n", out);
}

/* An nft identifier as is, anything else double-quoted. */
static void put_ident(FILE *f, const char *s)
{
	const char *p;
	bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_';

	for (p = s; plain && *p; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("_-./", *p);
	if (plain)
		fputs(s, f);
	else
		fprintf(f, "\"%s\"", s);
}

void put_addr(FILE *f, uint32_t a)
{
	fprintf(f, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}


FILE *cmd_start(struct cmd *c, const char *table, const char *verb)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	if (c->f) {
		fprintf(c->f, "%s %s ", verb, c->family ? c->family : "ip");
		put_ident(c->f, table);
	}
	return c->f;
}

void cmd_end(struct cmd *c, FILE *out)
{
	if (!c->f)
		return;
	fclose(c->f);
	print_cmd(out, c->text);
	free(c->text);
}

#define PRINT_ELEMS_PER_LINE 64

/* "add rule TABLE TEXT", one line. */
void nft_print_rule(struct printer *p, const char *text)
{
	FILE *f = cmd_start(&p->c, p->table, "add rule");

	if (!f)
		return;
	fputs(text, f);
	cmd_end(&p->c, p->out);
}

void nft_print_elements(struct printer *p, const char *name, size_t n,
			void (*put)(FILE *f, size_t i, const void *ctx), const void *ctx)
{
	for (size_t i = 0; i < n; i += PRINT_ELEMS_PER_LINE) {
		FILE *f = cmd_start(&p->c, p->table, "add element");

		if (!f)
			continue;
		fprintf(f, " %s { ", name);
		for (size_t j = i; j < n && j < i + PRINT_ELEMS_PER_LINE; j++) {
			if (j > i)
				fputs(", ", f);
			put(f, j, ctx);
		}
		fputs(" }", f);
		cmd_end(&p->c, p->out);
	}
}

/* As the transaction does: whatever is there goes, then the table, its sets
 * and chains are built anew. */
void nft_print_skeleton(struct printer *p, const char *site)
{
	FILE *f;

	if (cmd_start(&p->c, p->table, "add table"))
		cmd_end(&p->c, p->out);
	if (cmd_start(&p->c, p->table, "delete table"))
		cmd_end(&p->c, p->out);
	if ((f = cmd_start(&p->c, p->table, "add table"))) {
		fprintf(f, " { comment \"%s%s\"; }", NFT_OWNER_COMMENT_PREFIX, site);
		cmd_end(&p->c, p->out);
	}
	for (size_t i = 0; i < N_SETS; i++) {
		if (!(f = cmd_start(&p->c, p->table, "add set")))
			continue;
		const struct set_def *d = nft_set_def(p->c.family ? NFPROTO_IPV6 : NFPROTO_IPV4, (int)i);

		fprintf(f, " %s { type %s;%s }", d->name, d->nft_type,
			d->flags & NFT_SET_INTERVAL ? " flags interval;" : "");
		cmd_end(&p->c, p->out);
	}
}

void nft_print_chains(struct printer *p, bool dstnat)
{
	for (size_t i = 0; i < N_CHAINS; i++) {
		FILE *f = (i != CH_DSTNAT || dstnat) ? cmd_start(&p->c, p->table, "add chain") : NULL;

		if (!f)
			continue;
		fprintf(f, " %s { type %s hook %s priority %d; policy accept; }", nft_chain_defs[i].name,
			nft_chain_defs[i].type, nft_chain_defs[i].hook_name, (int)nft_chain_defs[i].prio);
		cmd_end(&p->c, p->out);
	}
}
