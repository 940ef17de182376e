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
extern const struct set_def nft_set_defs[N_SETS];

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

/* What the spec builds. */
struct want {
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

/* Building rules (nft_expr.c): expressions appended to R; *OOM set when out of memory. */
void put_be32(uint8_t *p, uint32_t v);
struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name, int *oom);
void x_meta(struct nftnl_rule *r, uint32_t key, int *oom);
void x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, int *oom);
void x_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len, int *oom);
void x_lookup(struct nftnl_rule *r, int set, int *oom);
void x_counter(struct nftnl_rule *r, int *oom);
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
/* The netmap's rules as nft commands (nothing without a netmap). */
void nft_netmap_print(struct printer *p, const struct nft_spec *spec);

int nft_want_build(const struct nft_spec *spec, struct want *w);	/* 0 or -errno */
void nft_want_free(struct want *w);
/* NFT_TABLE_PREFIX SITE into BUF; -EINVAL (no site), -ENAMETOOLONG */
int nft_table_name(const char *site, char *buf, size_t len);
int nft_cmp_elem(const void *a, const void *b);
/* Sort and drop exact duplicates; the new count. */
size_t nft_sort_elems(struct elem *e, size_t n);

/* Whether libnftnl may parse NLH, a NEWTABLE, NEWCHAIN, NEWSET, NEWSETELEM
 * or NEWRULE message (nftcheck.c): every attribute of the size and shape the
 * uapi header gives it, expressions only those gatewayctl's rules use. */
struct nlmsghdr;
bool nft_msg_ok(const struct nlmsghdr *nlh);

/* What the kernel says of table gatewayctl-SITE. */
struct tinfo {
	bool present;		/* a table ip of that name exists */
	bool ours;		/* ... and carries our comment, for SITE */
	uint32_t flags;		/* its NFTNL_TABLE_FLAGS */
	uint32_t gen;		/* the ruleset generation this was read in */
};
/* Read it (a consistent read: see nftread.c). 0 or -errno. */
int nft_find_table(struct nl *nl, const char *site, struct tinfo *ti);

#endif
