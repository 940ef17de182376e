/* nft_priv.h - what nft.c (building, transactions) and nftread.c (reading
 * back, comparing) share; not for use outside netlink/. */
#ifndef GATEWAYCTL_NFT_PRIV_H
#define GATEWAYCTL_NFT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libnftnl/rule.h>

#include "nft.h"

#define IFNAMSZ 16
#define TABLE_NAME_MAX 64	/* NFT_TABLE_PREFIX + a site name of up to 32 */

enum { SET_MASQ, SET_TUNNELS, SET_ENDPOINTS, SET_IPSEC, N_SETS };
enum { CH_POSTROUTING, CH_FORWARD, CH_INPUT, CH_OUTPUT, CH_PREROUTING, N_CHAINS };
#define MAX_RULES 12

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
};

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
