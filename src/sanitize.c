/* sanitize.c - control characters and invalid UTF-8 out of untrusted text */
#include "sanitize.h"

#include <stdint.h>

/* The length of the valid UTF-8 sequence at S (1-4), 0 when invalid; *CP gets
 * its code point. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;	/* a continuation byte, C0/C1 overlong leads, F5..FF */
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the terminating NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t sanitize_text(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t replaced = 0;

	while (*p) {
		uint32_t cp;
		size_t n = utf8_seq(p, &cp);

		if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			/* the whole sequence of a control, one byte of garbage */
			size_t k = n ? n : 1;

			for (size_t i = 0; i < k; i++)
				p[i] = '?';
			replaced += k;
			p += k;
			continue;
		}
		p += n;
	}
	return replaced;
}
