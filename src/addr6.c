/* addr6.c - IPv6 addresses and networks (config.h), network byte order */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void net6_mask(uint8_t len, uint8_t mask[16])
{
	if (len > 128)
		len = 128;
	memset(mask, 0, 16);
	memset(mask, 0xff, len / 8);
	if (len % 8)
		mask[len / 8] = (uint8_t)(0xff << (8 - len % 8));
}

struct net6 net6_network(struct net6 n)
{
	uint8_t mask[16];

	net6_mask(n.len, mask);
	for (int i = 0; i < 16; i++)
		n.addr[i] &= mask[i];
	return n;
}

bool net6_host_bits(struct net6 n)
{
	return memcmp(net6_network(n).addr, n.addr, 16) != 0;
}

/* the first LEN bits of A and B are the same */
static bool prefix_equal(const uint8_t a[16], const uint8_t b[16], uint8_t len)
{
	uint8_t mask[16];

	net6_mask(len, mask);
	for (int i = 0; i < 16; i++)
		if ((a[i] ^ b[i]) & mask[i])
			return false;
	return true;
}

bool net6_contains(struct net6 n, const uint8_t addr[16])
{
	return prefix_equal(n.addr, addr, n.len);
}

bool net6_overlap(struct net6 a, struct net6 b)
{
	return prefix_equal(a.addr, b.addr, a.len < b.len ? a.len : b.len);
}

bool net6_inside(struct net6 n, struct net6 m)
{
	return n.len >= m.len && net6_contains(m, n.addr);
}

bool ip6_zero(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

bool ip6_equal(const uint8_t a[16], const uint8_t b[16])
{
	return !memcmp(a, b, 16);
}

bool ip6_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

bool ip6_unicast(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff }, zero[15];

	if (!memcmp(a, zero, 15) && a[15] <= 1)	/* :: and ::1 */
		return false;
	return a[0] != 0xff && !ip6_link_local(a) && memcmp(a, mapped, 12);
}

const char *ip6_str(const uint8_t a[16], char *dst)
{
	if (!inet_ntop(AF_INET6, a, dst, IP6_STRLEN))
		snprintf(dst, IP6_STRLEN, "?");
	return dst;
}

const char *net6_str(struct net6 n, char *dst)
{
	char ip[IP6_STRLEN];

	snprintf(dst, NET6_STRLEN, "%s/%u", ip6_str(n.addr, ip), (unsigned)(n.len & 255));
	return dst;
}

int parse_ip6(const char *s, uint8_t addr[16])
{
	/* inet_pton takes neither a zone (%eth0) nor brackets, nor more than
	 * four hex digits a group; a dotted IPv4 tail (::ffff:1.2.3.4) it does */
	if (!strchr(s, ':') || strlen(s) >= IP6_STRLEN)
		return -1;
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

int parse_net6(const char *s, struct net6 *n)
{
	const char *slash = strchr(s, '/');
	char ip[IP6_STRLEN];
	unsigned len = 0;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1])
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	/* decimal, no sign nor leading zero, at most 128 */
	if (slash[1] == '0' && slash[2])
		return -1;
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		len = len * 10 + (unsigned)(*p - '0');
		if (len > 128)
			return -1;
	}
	if (parse_ip6(ip, n->addr) < 0)
		return -1;
	n->len = (uint8_t)len;
	return 0;
}

static void first(int *line, int l)
{
	if (l > 0 && (*line == 0 || l < *line))
		*line = l;
}

bool site_has_ipv6(const struct site *s, int *line)
{
	int l = 0;

	if (s->lan_address6.len)
		first(&l, s->line_lan_address);
	if (s->wan_address6.len)
		first(&l, s->line_wan_address);
	if (!ip6_zero(s->gateway6))
		first(&l, s->line_gateway);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		if (p->n_networks6)
			first(&l, p->networks_line);
		if (p->endpoint_v6)
			first(&l, p->endpoint_line);
		if (!ip6_zero(p->lan_address6))
			first(&l, p->lan_address_line);
	}
	if (line)
		*line = l;
	return l > 0;
}
