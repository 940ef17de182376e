/* addr.c - IPv4 addresses and networks, interface names */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

uint32_t net4_mask(uint8_t len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

uint32_t net4_broadcast(struct net4 n)
{
	return (n.addr & net4_mask(n.len)) | ~net4_mask(n.len);
}

bool net4_contains(struct net4 n, uint32_t addr)
{
	return ((addr ^ n.addr) & net4_mask(n.len)) == 0;
}

bool net4_overlap(struct net4 a, struct net4 b)
{
	uint8_t len = a.len < b.len ? a.len : b.len;

	return ((a.addr ^ b.addr) & net4_mask(len)) == 0;
}

const char *ip4_str(uint32_t a, char *dst)
{
	snprintf(dst, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return dst;
}

const char *net4_str(struct net4 n, char *dst)
{
	char ip[16];

	snprintf(dst, 20, "%s/%u", ip4_str(n.addr, ip), (unsigned)(n.len & 63));
	return dst;
}

/* A decimal number without sign or leading zeros, at most MAX. */
static const char *parse_dec(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return NULL;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return NULL;
	}
	*out = v;
	return p;
}

/* Strict dotted quad: four decimal parts 0-255, no leading zeros (inet_aton
 * would read "010" as octal and "10.1" as 10.0.0.1). */
static const char *parse_quad(const char *s, uint32_t *addr)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		unsigned part;

		s = parse_dec(s, 255, &part);
		if (!s)
			return NULL;
		a = a << 8 | part;
		if (i < 3 && *s++ != '.')
			return NULL;
	}
	*addr = a;
	return s;
}

int parse_ip4(const char *s, uint32_t *addr)
{
	const char *end = parse_quad(s, addr);

	return end && *end == '\0' ? 0 : -1;
}

int parse_net4(const char *s, struct net4 *n)
{
	const char *end = parse_quad(s, &n->addr);
	unsigned len;

	if (!end || *end != '/')
		return -1;
	end = parse_dec(end + 1, 32, &len);
	if (!end || *end != '\0')
		return -1;
	n->len = (uint8_t)len;
	return 0;
}

/* What the kernel accepts as a name (dev_valid_name), printable ASCII only. */
bool ifname_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '/' || *s == ':')
			return false;
	return true;
}

bool ip4_unicast(uint32_t a)
{
	return a != 0 && (a >> 24) != 127 && (a >> 28) != 14 && (a >> 28) != 15 && (a >> 24) != 0;
}

bool dns_name_valid(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool letter = false;

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c == '.') {
			/* a label: 1..63, no '-' at either end */
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-') {
			letter |= !isdigit((unsigned char)c);
			label++;
		} else {
			return false;
		}
	}
	return letter;
}
