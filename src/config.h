/* config.h - the site file: what it holds once loaded and validated. */
#ifndef GATEWAYCTL_CONFIG_H
#define GATEWAYCTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SITE_NAME_MAX 32
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define MAX_LINE 1000 /* iniparser 4.1 fails on lines of 1024 and more */

/* An IPv4 address or network; addresses are kept in host byte order. */
struct net4 {
	uint32_t addr;
	uint8_t len;
};

/*
 * IPv6 (issue 22): every IPv6 field sits BESIDE its IPv4 field, never instead
 * of it, so code that knows only IPv4 reads the site as before. A key that
 * takes one address per family (`lan_address = 192.168.1.126/24,
 * 2001:db8:1::126/64`) fills the IPv4 field from its IPv4 item and the "6"
 * field from its IPv6 item. IPv6 addresses are in network byte order (as in
 * struct in6_addr, in netlink attributes and on the wire). A net6 of length 0
 * is "not given" (a valid item has a length of 1 to 128); a single address
 * (uint8_t [16]) of all zeros (::) is "not given" (:: is never accepted).
 * The helpers are in addr6.c.
 */
struct net6 {
	uint8_t addr[16];
	uint8_t len;
};
#define IP6_STRLEN 46		/* "ffff:...", as INET6_ADDRSTRLEN, with its NUL */
#define NET6_STRLEN 50		/* and "/128" */

/* One item of `endpoint = A, B, ...` as written: an address, or a DNS name
 * that endpoints_fill() (endpoints.h) resolves before planning. */
#define PEER_ENDPOINTS_MAX 8
#define DNS_NAME_MAX 253
#define ENDPOINT_ADDRS_MAX 8	/* addresses kept of one name (RESOLVE_MAX_ADDRS) */
struct endpoint_item {
	char *name;		/* the DNS name (malloc'd), NULL for an address */
	uint32_t addr;		/* the IPv4 address written (NULL name, !ipv6) */
	bool ipv6;		/* the address written is IPv6: addr6 (addr 0) */
	uint8_t addr6[16];
	/* a name, once resolved: its addresses in the DNS's order, and their TTL;
	 * a peer's with endpoint_v6 (AAAA) in addrs6 */
	uint32_t addrs[ENDPOINT_ADDRS_MAX];
	uint8_t addrs6[ENDPOINT_ADDRS_MAX][16];
	size_t n_addrs;
	unsigned ttl;
};

enum encryption { ENC_NONE, ENC_IPSEC };
enum ipsec_auth { AUTH_NONE, AUTH_PSK, AUTH_PUBKEY };

struct peer {
	char name[SITE_NAME_MAX + 1];
	int line;		/* line of the [peer NAME] header */
	int endpoint_line, networks_line;
	uint32_t endpoint;	/* public address of the peer gateway in use: the first
				 * address written, or (names) what endpoints_fill chose;
				 * 0 while a name is not resolved */
	uint32_t endpoint_ike;	/* nonzero: ENDPOINT is where IKE (MOBIKE) found the peer,
				 * in place of this address, the file's choice
				 * (endpoints_fill, from the state; the watcher) */
	uint8_t endpoint_ike6[16];	/* the same for ENDPOINT6 (endpoint_v6); :: none */
	struct endpoint_item *eps;	/* `endpoint` as written (malloc'd) */
	size_t n_eps;
	bool endpoint_named;	/* some item is a DNS name */
	struct net4 *networks;	/* private networks behind it: the IPv4 ones */
	size_t n_networks;
	struct net6 *networks6;	/* ... and the IPv6 ones of the same `networks` */
	size_t n_networks6;
	/* An IPv6 endpoint (issue 22): endpoint_v6 set, the address in endpoint6,
	 * endpoint 0; the tunnel then runs over the IPv6 WAN (ip6tnl), and the
	 * site has a wan_address6. All of a peer's endpoint items are of one
	 * family; a DNS name is resolved to IPv4 (A), or to IPv6 (AAAA) when the
	 * site's WAN is IPv6 only (endpoint_v6 then; endpoint6 :: while it is
	 * not resolved). */
	bool endpoint_v6;
	uint8_t endpoint6[16];
	bool masquerade;
	char tunnel[IFNAME_MAX + 1];
	int tunnel_line;	/* of `tunnel =`, or the header's when derived */
	int ttl;		/* 1..255 */
	int mtu;		/* 0 = auto: the WAN link's MTU - 20 */
	bool relay;		/* named by [relay] peers (or all peers) */
	uint32_t lan_address;	/* the peer gateway's LAN address (0 = not given) */
	uint8_t lan_address6[16];	/* its IPv6 LAN address (:: = not given) */
	int lan_address_line;
	enum encryption encryption;	/* none: plain IPIP; ipsec: IPIP in ESP transport mode */
	int encryption_line;
	enum ipsec_auth auth;
	int key_line;			/* line of psk_file or public_key */
	char psk_file[4096];		/* AUTH_PSK: absolute path of the key file */
	bool key_unread;		/* psk_file not readable by this (unprivileged) caller */
	uint8_t public_key[32];		/* AUTH_PUBKEY: the peer's raw Ed25519 key */
};

#define PROBE_INTERVAL_DEFAULT 10
#define PROBE_INTERVAL_MAX 3600

#define RELAY_PORTS_MAX 64
#define RELAY_DEFAULT_TRANSPORT 6798
#define RELAY_DEFAULT_RATE 1000	/* datagrams per second per port */
#define RELAY_DEFAULT_BURST 200

struct relay_conf {
	bool enabled;		/* a [relay] section exists */
	uint16_t ports[RELAY_PORTS_MAX];
	size_t n_ports;
	uint16_t transport;	/* UDP port the relays talk to each other on */
	unsigned rate;		/* token bucket: datagrams per second per port */
	unsigned burst;
	bool preserve_source;
	char user[33];		/* unprivileged user the daemon runs as */
};

struct site {
	char path[4096];
	char name[SITE_NAME_MAX + 1];
	char lan[IFNAME_MAX + 1];
	struct net4 lan_address;	/* host address + prefix length (always given) */
	struct net6 lan_address6;	/* the LAN's IPv6 address and prefix (len 0: none) */
	char wan[IFNAME_MAX + 1];
	struct net4 wan_address;	/* wan_auto: 0 until endpoints_fill; len 0 and
					 * !wan_auto: an IPv6-only WAN (wan_address6) */
	struct net6 wan_address6;	/* the WAN's IPv6 address and prefix (len 0: none) */
	uint32_t gateway;		/* 0 = none (gateway_auto: until endpoints_fill) */
	uint8_t gateway6[16];		/* the IPv6 default route's (:: = none); may be
					 * link-local (fe80::/10, via the WAN) */
	bool wan_auto, gateway_auto;	/* `wan_address = auto`, `gateway = auto` */
	bool endpoints_chosen;		/* a watcher set the peers' endpoints already:
					 * endpoints_fill keeps them (see endpoints.h) */
	int line_gateway;
	uint32_t public_address;	/* behind NAT: the NAT's address its peers use (0 = wan_address) */
	int line_public_address;
	struct net4 netmap;		/* the prefix peers see this LAN under (len 0: none; netmap.h) */
	int line_netmap;
	bool manage_interfaces;
	bool forwarding;
	bool mss_clamp;
	int probe_interval;		/* s between the watcher's probes of each peer (0: none) */
	char private_key[4096];		/* this gateway's Ed25519 key file ("" = none) */
	bool private_key_given;
	bool private_key_unread;	/* not readable by this (unprivileged) caller */
	int private_key_line;
	struct peer *peers;
	size_t n_peers;
	struct relay_conf relay;
	int line_lan, line_wan, line_lan_address, line_wan_address; /* for messages */
	char *text;			/* the exact bytes that were validated (BOM removed) */
	size_t text_len;
};

/*
 * Load and validate FILE. Every error is printed to ERR as
 * "FILE:LINE: error: ..." (all of them, not only the first). Returns 0 and
 * fills *SITE when the file is valid, -1 otherwise (SITE then holds nothing
 * that needs freeing).
 */
int config_load(const char *path, struct site *site, FILE *err);
/*
 * The same from bytes in memory (PATH only names them in messages): what the
 * relay daemon and the fuzzer use. config_load reads the file exactly once,
 * after checking it and every directory above it, and parses those bytes.
 */
int config_parse(const char *text, size_t len, const char *path, struct site *site, FILE *err);
void config_free(struct site *site);

/* Helpers shared with the rest of the program. */
uint32_t net4_mask(uint8_t len);
uint32_t net4_broadcast(struct net4 n);
bool net4_contains(struct net4 n, uint32_t addr);
bool net4_overlap(struct net4 a, struct net4 b);
/* "a.b.c.d" into DST (at least 16 bytes); "a.b.c.d/len" into at least 20. */
const char *ip4_str(uint32_t addr, char *dst);
const char *net4_str(struct net4 n, char *dst);
int parse_ip4(const char *s, uint32_t *addr);
int parse_net4(const char *s, struct net4 *n);
bool ifname_valid(const char *s);
/* not 0/8, 127/8, multicast, 240/4 nor the broadcast address */
bool ip4_unicast(uint32_t a);
/* a DNS host name as RFC 1123 has it: labels of letters, digits and '-' (not
 * at either end), 1 to 63 characters, at most 253 in all, an optional final
 * '.'; a name of digits and dots only is not one (an address's typo) */
bool dns_name_valid(const char *s);
/* letters, digits and '-', 1 to SITE_NAME_MAX: site and peer names */
bool site_name_valid(const char *s);

/* IPv6 helpers (addr6.c); addresses in network byte order. */
void net6_mask(uint8_t len, uint8_t mask[16]);
struct net6 net6_network(struct net6 n);	/* the host bits cleared */
bool net6_host_bits(struct net6 n);		/* some bit past len is set */
bool net6_contains(struct net6 n, const uint8_t addr[16]);
bool net6_overlap(struct net6 a, struct net6 b);
bool net6_inside(struct net6 n, struct net6 m);	/* N lies inside M */
bool ip6_zero(const uint8_t a[16]);		/* :: (a field "not given") */
bool ip6_equal(const uint8_t a[16], const uint8_t b[16]);
bool ip6_link_local(const uint8_t a[16]);	/* fe80::/10 */
/* not ::, ::1, multicast (ff00::/8), link-local (fe80::/10) nor IPv4-mapped
 * (::ffff:0:0/96): what may be a WAN or LAN address or an endpoint */
bool ip6_unicast(const uint8_t a[16]);
/* "2001:db8::1" (RFC 5952) into DST of IP6_STRLEN; with "/len" into NET6_STRLEN */
const char *ip6_str(const uint8_t a[16], char *dst);
const char *net6_str(struct net6 n, char *dst);
/* an IPv6 address (no zone `%eth0`, no brackets); "addr/len", len 0..128. 0 or -1 */
int parse_ip6(const char *s, uint8_t addr[16]);
int parse_net6(const char *s, struct net6 *n);
/* Whether S has an IPv6 item anywhere (*LINE: the first one's line) */
bool site_has_ipv6(const struct site *s, int *line);

#endif
