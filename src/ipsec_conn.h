/* ipsec_conn.h - what gatewayctl asks of charon for one `encryption = ipsec`
 * peer, built from the site file alone (no charon, no kernel; unit-tested in
 * tests/unit/test_ipsec.c): the connection's name, its load-conn message,
 * `plan`'s swanctl.conf text. The rest of IPsec builds on this (ipsec.h). */
#ifndef GATEWAYCTL_IPSEC_CONN_H
#define GATEWAYCTL_IPSEC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "vici.h"

#define IPSEC_PREFIX "gatewayctl-"
/* ESP transport-mode overhead the tunnel MTU leaves room for: ESP header 8, IV 8,
 * ICV 16, padding and trailer up to 5, and 8 of UDP when NAT traversal
 * encapsulates ESP (AES-GCM and ChaCha20-Poly1305 alike), rounded up. */
#define IPSEC_OVERHEAD 48

/* Whether S has peers with `encryption = ipsec`; ... one of them with auth = pubkey. */
bool ipsec_site_uses(const struct site *s);
bool ipsec_uses_pubkey(const struct site *s);
/* The IP protocols (next headers over IPv6) peer P's tunnel sends between the
 * endpoints, which its IPsec covers (transport-mode traffic selectors, block
 * policies, nftables rules): 4, and 41 when the tunnel carries IPv6 too (a
 * sit or ip6tnl in mode any: model_tunnel_kind). The count, 1 or 2. */
#define IPSEC_PROTOCOLS_MAX 2
size_t ipsec_protocols(const struct peer *p, uint8_t out[IPSEC_PROTOCOLS_MAX]);

/* The IKE addresses of peer P's connection: S's WAN address and P's endpoint,
 * of the endpoint's family (IPv6 for an ip6tnl; NAT-T only ever applies over
 * IPv4). */
void ipsec_addrs(const struct site *s, const struct peer *p, char local[IP6_STRLEN], char remote[IP6_STRLEN]);

/* "gatewayctl-SITE_PEER": the connection, its child and its shared key's id.
 * Site and peer names hold letters, digits and '-' only (site_name_valid), so
 * the '_' tells where the site ends: two (site, peer) pairs never share a name.
 * (Before, "gatewayctl-SITE-PEER" made a/b-c and a-b/c one name; such
 * connections, found in the record, are replaced on the next up.) */
void ipsec_conn_name(const struct site *s, const struct peer *p, char *out, size_t len);

/* The load-conn message of peer P, and the SHA-256 of its key material (hex).
 * 0, or -errno with the reason in WHY (a key file that cannot be read). */
int ipsec_conn_message(const struct site *s, const struct peer *p, struct vici_msg *m,
		       char key_hash[65], char *why, size_t whylen);
/* `plan`'s text for peer P: the swanctl.conf equivalent, never the key. malloc'd. */
char *ipsec_plan_text(const struct site *s, const struct peer *p);

/* LEN bytes as lowercase hex (malloc'd, NULL: no memory), and back (*OUT
 * malloc'd): 0, -EINVAL (not hex) or -ENOMEM. */
char *ipsec_hex(const uint8_t *p, size_t len);
int ipsec_unhex(const char *s, uint8_t **out, size_t *len);

#endif
