/* nft.h - gatewayctl's nftables table, built and read with libnftnl */
#ifndef GATEWAYCTL_NFT_H
#define GATEWAYCTL_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#include "nlsock.h"

/* Every table gatewayctl owns is "gatewayctl-SITE" in family ip (and, for a
 * site with IPv6, in family ip6 beside it), and carries the comment
 * NFT_OWNER_COMMENT_PREFIX "SITE" in its user data. */
#define NFT_TABLE_PREFIX "gatewayctl-"
#define NFT_OWNER_COMMENT_PREFIX "managed by gatewayctl: site "

struct nft_net {
	uint32_t addr;		/* host byte order */
	uint8_t len;
};

struct nft_net6 {
	struct in6_addr addr;
	uint8_t len;
};

/* What the table must contain. IPv4 addresses in host byte order. */
struct nft_spec {
	const char *site;		/* table is NFT_TABLE_PREFIX site */
	const char *lan;		/* LAN interface: SNAT applies leaving through it */
	uint32_t lan_addr;		/* SNAT target */
	uint32_t lan_broadcast;		/* not SNATed to (the relay's rebroadcasts); 0: none */
	const struct nft_net *masq;	/* networks to SNAT (may overlap-free, any count) */
	size_t n_masq;
	const char (*tunnels)[16];	/* gatewayctl's tunnel interface names */
	size_t n_tunnels;
	const uint32_t *endpoints;	/* peer public addresses allowed to send IPIP */
	size_t n_endpoints;
	uint32_t wan_addr;		/* our public address: IPIP to it from others is dropped */
	bool mss_clamp;
	const uint32_t *ipsec;		/* endpoints of the peers with encryption = ipsec */
	size_t n_ipsec;
	/* a netmap: the LAN (netmap_lan/netmap_len) appears to the peers as netmap_to/netmap_len */
	uint32_t netmap_lan, netmap_to;
	uint8_t netmap_len;		/* 0: no netmap */
	/* IPv6 (issue 22) */
	bool sit;			/* some tunnels are sit (mode any): the ip table
					 * takes protocol 41 from @endpoints as well */
	bool v6;			/* the ip6 table (nft6.c) exists beside the ip one */
	struct in6_addr lan_addr6;	/* SNAT66 target */
	const struct nft_net6 *masq6;	/* IPv6 networks to SNAT66 (any count) */
	size_t n_masq6;
	const struct in6_addr *endpoints6;	/* peers' IPv6 endpoints allowed to send 4in6, 6in6 */
	size_t n_endpoints6;
	struct in6_addr wan_addr6;	/* our IPv6 public address: 4in6/6in6 to it from others
					 * dropped; :: none */
	const struct in6_addr *ipsec6;	/* IPv6 endpoints of the peers with encryption = ipsec */
	size_t n_ipsec6;
};

/*
 * The table always holds the four sets (masq: ipv4_addr, flags interval;
 * tunnels: ifname; endpoints, encrypted: ipv4_addr), possibly empty, and the five
 * base chains (policy accept). The rules, each with a fixed name stored as the
 * rule's comment so that status can find its counter:
 *   chain postrouting (nat, hook postrouting, priority 100):
 *     "snat"      oifname LAN ip saddr @masq ip daddr != LAN_BROADCAST counter snat to LAN_ADDR      (if n_masq)
 *   chain forward (filter, hook forward, priority -150):
 *     "mss-clamp" oifname @tunnels tcp flags syn counter tcp option maxseg size set rt mtu
 *                                                      (if mss_clamp and n_tunnels)
 *   chain input (filter, hook input, priority 0):
 *     "ipsec-in"   ip protocol 4 ip saddr @encrypted meta secpath missing counter drop   (if n_ipsec)
 *     "ipsec-6in4-in" ip protocol 41 ip saddr @encrypted meta secpath missing counter drop
 *                                                                  (if n_ipsec and sit)
 *     "ike-other"  ip daddr WAN_ADDR udp dport 500 ip saddr != @encrypted counter drop   (if n_ipsec
 *     "esp-other"  ip daddr WAN_ADDR ip protocol esp ip saddr != @encrypted counter drop  and wan_addr;
 *                  UDP 4500 stays open to all: MOBIKE updates of peers that moved)
 *     "ipip-peers" ip protocol 4 ip saddr @endpoints counter accept   (if n_endpoints)
 *     "ipip-other" ip protocol 4 ip daddr WAN_ADDR counter drop (if n_endpoints and wan_addr)
 *     "6in4-peers" ip protocol 41 ip saddr @endpoints counter accept   (if sit and n_endpoints)
 *     "6in4-other" ip protocol 41 ip daddr WAN_ADDR counter drop  (if sit, n_endpoints and wan_addr)
 *   chain output (filter, hook output, priority 0):
 *     "ipsec-out"  ip protocol 4 ip daddr @encrypted rt ipsec missing counter drop       (if n_ipsec)
 *     "ipsec-6in4-out" ip protocol 41 ip daddr @encrypted rt ipsec missing counter drop
 *                                                                  (if n_ipsec and sit)
 *   chain prerouting (filter, hook prerouting, priority -150):
 *     "src-check"  iifname @tunnels fib saddr . iif oif missing counter drop       (if n_tunnels)
 * and with a netmap (netmap_len), host for host (NF_NAT_RANGE_NETMAP):
 *   chain postrouting:
 *     "netmap-out" oifname @tunnels ip saddr LAN/LEN counter snat ip prefix to MAP/LEN
 *   chain dstnat (nat, hook prerouting, priority -100; only with a netmap):
 *     "netmap-in"  iifname @tunnels ip daddr MAP/LEN counter dnat ip prefix to LAN/LEN
 * With v6, the table ip6 of the same name, in the same transaction, holds the
 * same four sets (masq, endpoints, encrypted: ipv6_addr; tunnels: ifname)
 * and the chains but dstnat, with the rules:
 *   postrouting: "snat6"      oifname LAN ip6 saddr @masq counter snat ip6 to LAN_ADDR6 (if n_masq6)
 *   forward:     "mss-clamp6" oifname @tunnels tcp flags syn counter tcp option maxseg size set rt mtu
 *                                                      (if mss_clamp and n_tunnels)
 *   input:       "ipsec-4in6-in" meta l4proto 4 ip6 saddr @encrypted meta secpath missing counter drop
 *                "ipsec-6in6-in" meta l4proto 41 ip6 saddr @encrypted meta secpath missing counter drop
 *                                                                  (if n_ipsec6)
 *                "ike-other6" ip6 daddr WAN_ADDR6 udp dport 500 ip6 saddr != @encrypted counter drop
 *                "esp-other6" ip6 daddr WAN_ADDR6 meta l4proto esp ip6 saddr != @encrypted counter drop
 *                                                  (if n_ipsec6 and wan_addr6; UDP 4500 open, as in ip)
 *                "4in6-peers" meta l4proto 4 ip6 saddr @endpoints counter accept   (if n_endpoints6)
 *                "6in6-peers" meta l4proto 41 ip6 saddr @endpoints counter accept
 *                "4in6-other" meta l4proto 4 ip6 daddr WAN_ADDR6 counter drop   (if n_endpoints6
 *                "6in6-other" meta l4proto 41 ip6 daddr WAN_ADDR6 counter drop   and wan_addr6)
 *   output:      "ipsec-4in6-out" meta l4proto 4 ip6 daddr @encrypted rt ipsec missing counter drop
 *                "ipsec-6in6-out" meta l4proto 41 ip6 daddr @encrypted rt ipsec missing counter drop
 *                                                                  (if n_ipsec6)
 *   prerouting:  "src-check6" iifname @tunnels fib saddr . iif oif missing counter drop (if n_tunnels)
 * (meta l4proto: the protocol after any extension header, e.g. the
 * encapsulation limit option an ip6tnl adds by default.) Without v6, the
 * replacing transaction deletes an ip6 table of ours left from before.
 * src-check drops what comes out of a tunnel with a source that is not routed
 * back into that same tunnel, i.e. not one of that peer's networks: a peer (or
 * anyone forging a plain peer's endpoint) cannot pose as our LAN or another peer.
 * The ipsec rules keep the tunnels of encrypted peers closed whatever charon
 * does: tunnel packets (IPIP; 6in4 with sit) from such a peer that ESP did not
 * carry, and to it that no IPsec policy takes, are dropped (charon stopping
 * removes its policies).
 * masq networks are masked to their prefix length, sorted, and exact
 * duplicates dropped; overlapping networks make the kernel refuse the
 * transaction ("adding elements ... to set masq: File exists (networks overlap?)").
 * Like nft, the interval set also holds an end element at 0.0.0.0 when the
 * first network does not start there.
 *
 * NL must be a NETLINK_NETFILTER socket (nl_open(nl, NETLINK_NETFILTER)).
 */

struct nft_counter {
	char rule[32];			/* the rule's name, as above */
	uint64_t packets, bytes;
};

struct nft_state {
	bool present;			/* the ip table exists and carries our comment */
	bool foreign;			/* a table of that name (ip or ip6) exists WITHOUT our comment */
	bool present6;			/* the ip6 table exists and carries our comment */
	struct nft_counter counters[48];	/* the ip table's, then the ip6 table's */
	size_t n_counters;
};

/* Every read below is consistent: made of dumps of one ruleset generation
 * (asked before and after), all read again when it moved meanwhile or a dump
 * was interrupted; after 10 tries -EAGAIN, nl->err_msg says so. */

/* Returns 1 when the live table equals SPEC exactly (sets, chains, rules;
 * counter values and handles ignored), 0 when it differs or is absent,
 * -errno on error (nl->err_msg tells why). */
int nft_table_matches(struct nl *nl, const struct nft_spec *spec);

/* Replace the table with SPEC in one transaction (created when absent):
 * NEWTABLE, DELTABLE, NEWTABLE, sets, elements, chains, rules, all in one
 * batch, so that the old table stays untouched when anything fails.
 * Refuses (-EEXIST) a same-named table that lacks our comment. 0 or -errno;
 * on error ERR names the failing step, e.g. "adding rule snat: <why>". */
int nft_table_replace(struct nl *nl, const struct nft_spec *spec, char *err, size_t errlen);

/* Delete the tables (ip, ip6) of SITE that exist and are ours, in one
 * transaction; 0 also when absent. A same-named table without our comment
 * (either family) is left alone, and so is ours then: -EEXIST, ERR says so. */
int nft_table_delete(struct nl *nl, const char *site, char *err, size_t errlen);

/* Read the table of SITE: presence and counters (one per rule present, in
 * the kernel's order). 0 or -errno. */
int nft_table_read(struct nl *nl, const char *site, struct nft_state *st);

/* Names of all sites that have a gatewayctl table. *SITES is malloc'd
 * (an array of n strings of 33 bytes). 0 or -errno. */
int nft_list_sites(struct nl *nl, char (**sites)[33], size_t *n);

/*
 * The read-back, one message at a time (what the functions above do with the
 * kernel's answers; the fuzzer drives it). A struct nft_dump collects the
 * objects of table NFT_TABLE_PREFIX SITE (chains, sets, their elements,
 * rules, of families ip and ip6) or, made with SITE NULL, the tables of
 * families ip and ip6; nft_dump_cb (an
 * mnl_cb_t) takes NEWGEN, NEWTABLE, NEWCHAIN, NEWSET, NEWSETELEM and
 * NEWRULE messages and ignores anything else. Then:
 *   nft_dump_state    as nft_table_read (0 or -errno)
 *   nft_dump_matches  as nft_table_matches (1, 0, -errno); it zeroes the
 *                     counters of the rules it compares: read the state first
 *   nft_dump_sites    as nft_list_sites
 */
struct nft_dump;
struct nft_dump *nft_dump_new(const char *site);	/* NULL and errno: bad site, no memory */
void nft_dump_free(struct nft_dump *d);
struct nlmsghdr;
int nft_dump_cb(const struct nlmsghdr *nlh, void *dump);
int nft_dump_state(const struct nft_dump *d, struct nft_state *st);
int nft_dump_matches(struct nft_dump *d, const struct nft_spec *spec);
int nft_dump_sites(const struct nft_dump *d, char (**sites)[33], size_t *n);

/* The comment in nftables user data (table or rule: attributes of a type
 * byte, a length byte and that many bytes of value): the value of the one
 * attribute of type 0, a NUL-terminated string. NULL when there is none, or
 * when the data does not parse to its last byte (an attribute that claims
 * more bytes than remain, a header cut short), or the comment is not one
 * string (no NUL at its end, a NUL before, two comments). Reads nothing
 * outside UDATA[0..LEN). */
const char *nft_udata_comment(const void *udata, size_t len);

/* Print, one per line, the nft commands that do what nft_table_replace does
 * (the text plan shows): "add table", "delete table" (whatever was there
 * goes), then the table built anew. Each is quoted for a POSIX shell:
 *   nft 'add rule ip gatewayctl-SITE postrouting oifname "eth0" ...'
 * Long element lists are split over several "add element" lines. */
void nft_spec_print(const struct nft_spec *spec, FILE *out);

#endif
