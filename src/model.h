/* model.h - what a site file asks of the kernel, compared with what it has:
 * the list of steps that `plan` prints and `up` applies. */
#ifndef GATEWAYCTL_MODEL_H
#define GATEWAYCTL_MODEL_H

#include "block.h"
#include "config.h"
#include "ipsec.h"
#include "nft.h"
#include "rtnl.h"
#include "rtnl6.h"
#include "rtnl_tun.h"

/* The kernel as it is, as far as a site is concerned. */
struct live {
	struct link_info *links;
	size_t n_links;
	struct addr_info *addrs;
	size_t n_addrs;
	struct route_info *routes;
	size_t n_routes;
	struct addr6_info *addrs6;	/* IPv6 (read for a site with IPv6) */
	size_t n_addrs6;
	struct route6_info *routes6;	/* IPv6, main table, sorted by destination */
	size_t n_routes6;
	uint32_t ip_forward;
	uint32_t ip6_forward;		/* net.ipv6.conf.all.forwarding */
	uint32_t wan_accept_ra;		/* net.ipv6.conf.WAN.accept_ra (0: unread, a WAN without IPv6) */
	uint32_t rp_filter_all, rp_filter_default;
	uint32_t *peer_rp_filter;	/* per peer: its tunnel's own rp_filter (0 if absent) */
	int nft_match;		/* 1 table equals the wanted one, 0 differs or absent */
	int relay_pid;		/* the site's running relay, 0 if none */
	uint64_t relay_hash;	/* the settings it runs with (relay_config_hash) */
	bool nft_present;
	struct nft_state nft;	/* presence and rule counters (status shows them) */
	struct ipsec_live ipsec;	/* charon's view of the site's ipsec peers */
	struct block_live block;	/* the site's xfrm block policies (block.h) */
};

enum step_kind {
	STEP_ADDR_ADD,		/* manage_interfaces: LAN/WAN address (v6: addr6, no DAD) */
	STEP_LINK_UP,		/* manage_interfaces: LAN/WAN link up */
	STEP_FORWARDING,	/* net.ipv4.ip_forward = 1 (v6: net.ipv6.conf.all.forwarding) */
	STEP_ACCEPT_RA,		/* net.ipv6.conf.WAN.accept_ra 1 -> 2, before IPv6 forwarding */
	STEP_TUNNEL_DEL,	/* a tunnel of ours that the file no longer names */
	STEP_TUNNEL_ADD,
	STEP_TUNNEL_CHANGE,	/* exists, but local/remote/ttl/pmtudisc/mtu/up differ */
	STEP_RP_FILTER,		/* loosen a strict rp_filter on a tunnel */
	STEP_ROUTE_DEL,		/* a stale route of ours, or a bogus host route (v6: route6) */
	STEP_ROUTE_ADD,		/* to a peer network, or a default route (v6: route6) */
	STEP_NFT_REPLACE,
	STEP_NFT_DELETE,
	STEP_RELAY_START,
	STEP_RELAY_STOP,
	STEP_IPSEC_LOAD,	/* load (or replace) a peer's IKE connection and its key */
	STEP_IPSEC_UNLOAD,	/* one of ours that no ipsec peer asks for any more */
	STEP_BLOCK_ADD,		/* an ipsec peer's xfrm block policies (protocols 4, 41) */
	STEP_BLOCK_DEL,		/* one of ours that no ipsec peer asks for any more */
	/* down only (plan_down.c, run by apply_removal) */
	STEP_ADDR_DEL,		/* an address the state file says up assigned */
	STEP_LINK_DOWN,		/* a link the state file says up brought up */
	STEP_IPSEC_KEY_UNLOAD,	/* the site's private key in charon (its id in conn) */
	STEP_IPSEC_FORGET,	/* charon is gone, and what it held with it: forget the record */
};

struct step {
	enum step_kind kind;
	char *text;		/* the equivalent ip/nft/sysctl command(s), malloc'd */
	char why[320];		/* for drift: what is wrong now; "" when creating from nothing */
	const struct peer *peer;	/* NULL for site-wide steps */
	char ifname[IFNAME_MAX + 1];
	int ifindex;		/* 0 when the link does not exist yet */
	struct route_info route;
	bool v6;		/* STEP_ROUTE_*: route6; STEP_ADDR_*: addr6; STEP_FORWARDING: IPv6's */
	struct route6_info route6;
	uint32_t addr, brd;
	uint8_t plen;
	struct in6_addr addr6;	/* STEP_ADDR_ADD/DEL with v6 (plen its prefix length) */
	uint32_t value, old_value;
	struct link_info old;	/* STEP_TUNNEL_CHANGE/DEL: the link as it was, for rollback */
	char conn[VICI_NAME_MAX + 1];	/* STEP_IPSEC_*: the connection's name */
	struct xfrm_pol pol;	/* STEP_BLOCK_DEL: the policy to delete */
	bool done;		/* applied (for rollback) */
};

struct plan {
	struct step *steps;
	size_t n, cap;
	struct nft_spec nft;	/* the wanted table, built from the site */
	/* lookups, so that planning stays O(n log n) in peers, links and routes */
	const struct peer **by_name, **by_tunnel;	/* the site's peers, sorted */
	const struct link_info **by_ifindex;		/* the live links, sorted */
	size_t n_by_ifindex;
	struct nft_net *masq;
	char (*tunnels)[16];
	uint32_t *endpoints;
	uint32_t *ipsec;	/* endpoints of the encrypted peers */
	struct nft_net6 *masq6;
	struct in6_addr *endpoints6;
	struct in6_addr *ipsec6;	/* IPv6 endpoints of the encrypted peers */
};

/* A peer's tunnel (model_tun.c): ipip for an IPv4-only peer, sit in mode any
 * for one with IPv6 networks over IPv4, ip6tnl in mode any over IPv6. */
enum tun_kind { TUN_IPIP, TUN_SIT, TUN_IP6TNL };
enum tun_kind model_tunnel_kind(const struct peer *p);
const char *model_kind_name(enum tun_kind k);
/* Whether a link of KIND may be one of our tunnels (ipip, sit, ip6tnl). */
bool model_tunnel_link_kind(const char *kind);
/* The MTU a peer's tunnel gets: the configured one, or the WAN's MTU less
 * the outer header (20, ip6tnl 40) and IPsec's overhead. */
unsigned model_tunnel_mtu(const struct site *s, const struct peer *p, const struct live *live);
/* "ip link VERB ..." and its alias line, of P's tunnel */
void model_tunnel_text(char *buf, size_t len, const char *verb, const struct site *s, const struct peer *p,
		       unsigned mtu);
/* Why L, a tunnel of ours, differs from what P asks ("" when it does not). */
void model_tunnel_drift(const struct site *s, const struct peer *p, const struct link_info *l, unsigned mtu,
			char *out, size_t len);
/* The netlink spec of P's tunnel (sit, ip6tnl; ipip's fields too). */
void model_tun_spec(const struct site *s, const struct peer *p, const char *name, unsigned mtu,
		    const char *alias, struct tun_spec *spec);

/* IPv6 (model6.c): whether the site has any; the nft spec's IPv6 part; the
 * IPv6 routes into the tunnels and forwarding, as steps. */
bool model_site_v6(const struct site *s);
void plan_init_spec6(struct plan *plan, const struct site *s);
void plan_routes6(struct plan *plan, const struct site *s, const struct live *live);
void plan_forwarding6(struct plan *plan, const struct site *s, const struct live *live);
/* manage_interfaces: IPv6 address A on link IFNAME (L as read, NULL if absent),
 * added without DAD; the IPv6 default route via gateway6. */
void plan_addr6(struct plan *plan, const struct live *live, const struct link_info *l, const char *ifname,
		struct net6 a);
void plan_default_route6(struct plan *plan, const struct site *s, const struct live *live);
/* Whether gatewayctl's IPv6 route to N through tunnel L (with source SRC) is there. */
bool live_route6_present(const struct live *live, const struct link_info *l, struct net6 n, const uint8_t src[16]);
/* Every live IPv6 route to exactly DST/LEN (*COUNT, adjacent), NULL if none. */
const struct route6_info *live_routes6(const struct live *live, const uint8_t dst[16], uint8_t len, size_t *count);

/* Looking up (live.c): the plan's tables of peers by name and tunnel and of
 * live links by index; a live link by index; a peer by name, by tunnel. */
void plan_index(struct plan *plan, const struct site *s, const struct live *live);
/* calloc that never returns NULL (out of memory: a message, exit 1) */
void *live_xcalloc(size_t n, size_t size);
const struct link_info *live_link_index(const struct plan *plan, int ifindex);
const struct peer *peer_named(const struct plan *plan, const struct site *s, const char *name);
const struct peer *peer_of_tunnel(const struct plan *plan, const struct site *s, const char *tunnel);
/* Whether L is a tunnel of site S: by its alias, or, without one, by its link
 * group and a name that is one of S's tunnels (an up interrupted between
 * creating the link and setting its alias). *PEER (may be NULL): the peer. */
bool model_owns_link(const struct site *s, const struct link_info *l, const char **peer);
/* The alias that marks a tunnel as ours. */
void model_alias(const struct site *s, const struct peer *p, char *out, size_t len);

/* Build the steps that take LIVE (NULL: a kernel with nothing of ours) to
 * what SITE asks for. */
void plan_build(struct plan *plan, const struct site *site, const struct live *live);
void plan_free(struct plan *plan);
void plan_print(const struct plan *plan, FILE *out);
/* A new step of PLAN (its text printf-like, malloc'd), and its why. */
__attribute__((format(printf, 3, 4)))
struct step *plan_add_step(struct plan *plan, enum step_kind kind, const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
void step_why(struct step *st, const char *fmt, ...);

/* down's plan (plan_down.c): the steps that remove what gatewayctl created for
 * site NAME, from what the kernel, the state file, charon and the site's file
 * (CONF, or the one the state file records; NULL: none) tell, in down's order:
 * the relay, the nftables table, the tunnels, IPsec, the xfrm block policies,
 * the default route, addresses, links, forwarding. LIVE gets the links, routes
 * and addresses read (apply_removal needs them). Notes (a connection left
 * alone, charon gone) go to NOTES. The number of things that could not be read
 * (each said on ERR; what they hide is missing from the plan). */
int plan_down(struct nl *rt, struct nl *nf, const char *name, const struct site *conf, struct plan *plan,
	      struct live *live, FILE *notes, FILE *err);

/* Read the kernel state relevant to SITE. 0 or -errno (with a message on ERR). */
int live_read(struct nl *rt, struct nl *nf, const struct site *site, struct plan *plan,
	      struct live *live, FILE *err);
void live_free(struct live *live);
/* Sort links by name and routes by destination, as plan_build expects. */
void live_index(struct live *live);
const struct link_info *live_link(const struct live *live, const char *name);
/* The live link of index IFINDEX (a scan: for a few routes, not a plan's
 * lookups), NULL if none; whether it is of a tunnel kind (ipip, sit, ip6tnl):
 * a route out of it to an endpoint is a bogus host route. */
const struct link_info *live_link_at(const struct live *live, int ifindex);
bool live_tunnel_at(const struct live *live, int ifindex);
/* Every live route to exactly DST/LEN (*COUNT of them, adjacent), NULL if none. */
const struct route_info *live_routes(const struct live *live, uint32_t dst, uint8_t len, size_t *count);

/* Whether gatewayctl's route to N through tunnel L (with source SRC) is there. */
bool live_route_present(const struct live *live, const struct link_info *l, struct net4 n, uint32_t src);
/* A host route to P's endpoint (/32, or /128 for an IPv6 one) whose device
 * is a tunnel (ipip, sit, ip6tnl): the bogus host route. */
bool live_bogus_route(const struct live *live, const struct peer *p);
bool live_bogus_route6(const struct live *live, const uint8_t endpoint6[16]);
/* A tunnel link's underlay ends as text (IPv4, or IPv6 for an ip6tnl), into
 * LOCAL and REMOTE of IP6_STRLEN. */
void model_link_ends(const struct link_info *l, char *local, char *remote);

#endif
