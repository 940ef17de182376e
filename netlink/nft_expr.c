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
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)set + 1);
}

void x_counter(struct nftnl_rule *r, int *oom)
{
	add_expr(r, "counter", oom);
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
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, w->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, nft_chain_defs[chain].name);
	w->rule[w->nrules] = r;
	w->rule_name[w->nrules] = name;
	w->rule_chain[w->nrules] = chain;
	w->nrules++;
	return r;
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
		fprintf(c->f, "%s ip ", verb);
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
