/* confighint.c - hints for a site file's likely mistakes (confighint.h) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "confighint.h"

/* Length of the valid UTF-8 sequence at P (at most N bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool confighint_binary(const char *buf, size_t len, char *why, size_t len_why)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t nul = 0, bad = 0;

	if (len >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff))) {
		snprintf(why, len_why, "UTF-16 text: save it as UTF-8");
		return true;
	}

	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);

		if (n == 0) {
			bad++;
			i++;
			continue;
		}
		if (p[i] == 0)
			nul++;
		else if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f) && !strchr("\t\n\r\f\v", p[i]))
			bad++;
		i += n;
	}
	/* a stray NUL or two in a text file is said at its line (config.c) */
	if (nul > 2 || (bad + nul) * 10 > len) {
		if (nul)
			snprintf(why, len_why, "%zu NUL byte%s", nul, nul == 1 ? "" : "s");
		else
			snprintf(why, len_why, "%zu of its %zu bytes are neither printable nor UTF-8", bad, len);
		return true;
	}
	return false;
}

/* The prefix length of dotted netmask M, or -1 when its ones are not contiguous. */
static int mask_len(uint32_t m)
{
	int len = 0;

	while (len < 32 && (m & (0x80000000u >> len)))
		len++;
	return len == 32 || (m & (0xffffffffu >> len)) == 0 ? len : -1;
}

/* A dotted quad with leading zeros allowed, each part 0..255: into *A; the
 * rest of S after it, or NULL. *ZEROS: whether any part had a leading zero. */
static const char *loose_quad(const char *s, uint32_t *a, bool *zeros)
{
	*a = 0;
	*zeros = false;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		if (part && *s++ != '.')
			return NULL;
		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			*zeros = true;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255 || (*s >= '0' && *s <= '9'))
			return NULL;
		*a = *a << 8 | v;
	}
	return s;
}

void confighint_address(const char *v, char *hint, size_t len)
{
	uint32_t addr, mask;
	bool zeros, mask_zeros;
	const char *rest = loose_quad(v, &addr, &zeros), *mask_end;
	char a[16];
	int plen;

	hint[0] = '\0';
	if (!rest)
		return;
	ip4_str(addr, a);
	if (*rest == '\0') {
		if (zeros)
			snprintf(hint, len, "; did you mean `%s`? (no leading zeros: elsewhere 010 reads as octal 8)", a);
		return;
	}
	if (*rest != '/')
		return;
	mask_end = loose_quad(rest + 1, &mask, &mask_zeros);
	if (mask_end && *mask_end == '\0') {
		plen = mask_len(mask);
		if (plen < 0)
			snprintf(hint, len, "; `%s` is not a netmask (its ones are not contiguous): give the prefix "
				 "length, like %s/24", rest + 1, a);
		else
			snprintf(hint, len, "; did you mean `%s/%d`? (the prefix length, not the netmask)", a, plen);
		return;
	}
	if (zeros) {
		const char *p = rest + 1;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p > rest + 1 && *p == '\0' && p - rest <= 3)
			snprintf(hint, len, "; did you mean `%s%s`? (no leading zeros: elsewhere 010 reads as octal 8)",
				 a, rest);
	}
}
