/* nft_priv.h - what nft.c (building, printing), nft_expr.c (the rules'
 * pieces), nft_netmap.c (the netmap's rules), nft_txn.c (transactions) and
 * nftread.c (reading back, comparing) share; not for use outside netlink/. */
#ifndef GATEWAYCTL_NFT_PRIV_H
#define GATEWAYCTL_NFT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libnftnl/rule.h>

#include "nft.h"

#define IFNAMSZ 16
#define TABLE_NAME_MAX 64	/* NFT_TABLE_PREFIX + a site name of up to 32 */

enum { SET_MASQ, SET_TUNNELS, SET_ENDPOINTS, SET_IPSEC, N_SETS };
enum { CH_POSTROUTING, CH_FORWARD, CH_INPUT, CH_OUTPUT, CH_PREROUTING, CH_DSTNAT, N_CHAINS };
#define MAX_RULES 16

struct set_def {
	const char *name;
	uint32_t flags;
	uint32_t dtype;
	uint32_t klen;
	uint32_t byteorder;
	const char *nft_type;
};
extern const struct set_def nft_set_defs[N_SETS];	/* family ip */
extern const struct set_def nft_set_defs6[N_SETS];	/* family ip6: the same names */
/* The definition of SET in a table of FAMILY (NFPROTO_IPV4, NFPROTO_IPV6). */
const struct set_def *nft_set_def(uint32_t family, int set);

struct chain_def {
	const char *name;
	const char *type;
	uint32_t hook;
	const char *hook_name;
	int32_t prio;
};
extern const struct chain_def nft_chain_defs[N_CHAINS];

/* One set element as the kernel stores it. */
struct elem {
	uint8_t key[IFNAMSZ];
	uint8_t klen;
	uint8_t end;		/* NFT_SET_ELEM_INTERVAL_END */
	uint8_t open;		/* interval start without an end (to the top) */
};

/* What the spec builds: one table, of family ip or ip6. */
struct want {
	uint32_t family;		/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	char table[TABLE_NAME_MAX];
	char comment[128];
	struct elem *el[N_SETS];
	size_t nel[N_SETS];
	struct nftnl_rule *rule[MAX_RULES];
	const char *rule_name[MAX_RULES];
	int rule_chain[MAX_RULES];
	size_t nrules;
	bool chain_on[N_CHAINS];	/* the chains the table holds (dstnat: with a netmap) */
};

/* Whether the table of SPEC holds chain CH (all but dstnat always). */
bool nft_chain_used(const struct nft_spec *spec, int ch);

/* Building rules (nft_expr.c): expressions appended to R; *OOM set when out
 * of memory. x_lookup refers to the set of the rule's own family. */
void put_be32(uint8_t *p, uint32_t v);
struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name, int *oom);
void x_meta(struct nftnl_rule *r, uint32_t key, int *oom);
void x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, int *oom);
void x_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len, int *oom);
void x_lookup(struct nftnl_rule *r, int set, int *oom);
/* saddr != @SET (the lookup inverted) */
void x_lookup_inv(struct nftnl_rule *r, int set, int *oom);
/* meta secpath missing (no IPsec took it in); rt ipsec missing (no IPsec
 * policy takes it out) */
void x_secpath_missing(struct nftnl_rule *r, int *oom);
void x_rt_ipsec_missing(struct nftnl_rule *r, int *oom);
/* meta l4proto udp udp dport PORT */
void x_udp_dport(struct nftnl_rule *r, uint16_t port, int *oom);
void x_counter(struct nftnl_rule *r, int *oom);
void x_verdict(struct nftnl_rule *r, uint32_t verdict, int *oom);
/* oifname "NAME" */
void x_oifname(struct nftnl_rule *r, const char *name, int *oom);
/* snat (FAMILY: NFPROTO_IPV4 or _IPV6) to ADDR, LEN bytes in network order */
void x_snat_to(struct nftnl_rule *r, uint32_t family, const void *addr, uint32_t len, int *oom);
/* A rule on the tunnels (either family): in CH_FORWARD the MSS clamp
 * "oifname @tunnels tcp flags syn counter tcp option maxseg size set rt mtu",
 * in CH_PREROUTING the source check "iifname @tunnels fib saddr . iif oif
 * missing counter drop"; named NAME. 0 or -ENOMEM. */
int nft_rule_tunnels(struct want *w, int chain, const char *name, int *oom);
/* A new rule named NAME (its comment) appended to chain CHAIN of W. */
struct nftnl_rule *new_rule(struct want *w, int chain, const char *name);
/* TEXT as comment TYPE in the user data ATTR of OBJ, given to SETTER (a
 * wrapper of nftnl_rule_set_data, nftnl_table_set_data). 0 or -ENOMEM. */
int set_comment_udata(int (*setter)(void *, uint16_t, const void *, uint32_t),
		      void *obj, uint16_t attr, uint8_t type, const char *text);

/* The netmap's rules (nft_netmap.c): "netmap-out" (postrouting) and
 * "netmap-in" (dstnat), when SPEC has a netmap. 0 or -ENOMEM. */
int nft_netmap_rules(const struct nft_spec *spec, struct want *w, int *oom);

/* Printing nft commands (nft_expr.c): one command built in memory, then printed quoted. */
struct cmd {
	const char *family;	/* "ip" (NULL) or "ip6" */
	char *text;
	size_t len;
	FILE *f;
};
/* What nft_spec_print prints into: the table's name, the output. */
struct printer {
	struct cmd c;
	char table[TABLE_NAME_MAX];
	FILE *out;
};
FILE *cmd_start(struct cmd *c, const char *table, const char *verb);
void cmd_end(struct cmd *c, FILE *out);
void put_addr(FILE *f, uint32_t a);
/* "add rule TABLE TEXT", one line. */
void nft_print_rule(struct printer *p, const char *text);
/* "add element TABLE NAME { ... }" lines of N elements, each printed by PUT. */
void nft_print_elements(struct printer *p, const char *name, size_t n,
			void (*put)(FILE *f, size_t i, const void *ctx), const void *ctx);
/* As the transaction does: whatever is there goes, then the table of SITE
 * and its sets are built anew (of p->c.family); then its chains (dstnat
 * when DSTNAT). */
void nft_print_skeleton(struct printer *p, const char *site);
void nft_print_chains(struct printer *p, bool dstnat);
/* The netmap's rules as nft commands (nothing without a netmap). */
void nft_netmap_print(struct printer *p, const struct nft_spec *spec);

int nft_want_build(const struct nft_spec *spec, struct want *w);	/* the ip table: 0 or -errno */
/* The ip6 table of SPEC (nft6.c; only for spec->v6): 0 or -errno. */
int nft_want_build6(const struct nft_spec *spec, struct want *w);
/* The ip6 table's nft commands (nft6.c; nothing without spec->v6). */
void nft6_print(const struct nft_spec *spec, FILE *out);
void nft_want_free(struct want *w);
/* (nft_expr.c) NFT_TABLE_PREFIX SITE into BUF; -EINVAL (no site), -ENAMETOOLONG */
int nft_table_name(const char *site, char *buf, size_t len);
int nft_cmp_elem(const void *a, const void *b);
/* Sort and drop exact duplicates; the new count. */
size_t nft_sort_elems(struct elem *e, size_t n);
/* The tunnels' names into W's set tunnels: 0 or -ENOMEM. */
int nft_tunnel_elems(struct want *w, const struct nft_spec *spec);
/* NFTA_SET_ID of SET in the table of FAMILY (unique in a transaction). */
uint32_t nft_set_id(uint32_t family, int set);
/* The table's name and comment, family and chains (all but dstnat: DSTNAT
 * says) in a zeroed W: 0, -EINVAL, -ENAMETOOLONG. */
int nft_want_init(struct want *w, const char *site, uint32_t family, bool dstnat);
/* The elements of the set of endpoints and the like: N addresses of KLEN
 * bytes at ADDRS (IPv4 ones in host order when KLEN is 4), sorted, no
 * duplicates, into W's set SET. 0 or -ENOMEM. */
int nft_addr_elems(struct want *w, int set, const void *addrs, size_t n, size_t klen);
/* The comment (its name) in every rule of W's: 0 or -ENOMEM. */
int nft_name_rules(struct want *w);

/* Whether libnftnl may parse NLH, a NEWTABLE, NEWCHAIN, NEWSET, NEWSETELEM
 * or NEWRULE message (nftcheck.c): every attribute of the size and shape the
 * uapi header gives it, expressions only those gatewayctl's rules use. */
struct nlmsghdr;
bool nft_msg_ok(const struct nlmsghdr *nlh);

/* What the kernel says of table gatewayctl-SITE of one family. */
struct tinfo {
	bool present;		/* a table of that name exists */
	bool ours;		/* ... and carries our comment, for SITE */
	uint32_t flags;		/* its NFTNL_TABLE_FLAGS */
	uint32_t gen;		/* the ruleset generation this was read in */
};
/* Read them, TI[0] the ip table, TI[1] the ip6 one (a consistent read: see
 * nftread.c). 0 or -errno. */
int nft_find_tables(struct nl *nl, const char *site, struct tinfo ti[2]);

#endif
