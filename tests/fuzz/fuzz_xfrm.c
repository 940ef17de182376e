/* fuzz_xfrm.c - libFuzzer target: the kernel's SA dump as `down` reads it
 * (netlink/xfrm.c) and its policy dump as block.c reads it
 * (netlink/xfrm_block.c), arbitrary bytes taken as a stream of netlink messages. */
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xfrm.h"
#include "xfrm_block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* aligned copy: netlink messages are 4-byte aligned in a receive buffer */
	uint32_t *buf = malloc(size + 4);
	const struct nlmsghdr *nlh;
	size_t left = size;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* walked as libmnl does: a message's aligned length never exceeds what is left */
	for (nlh = (const struct nlmsghdr *)buf; left >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	     nlh->nlmsg_len <= left;) {
		struct xfrm_sa sa;
		struct xfrm_pol pol;
		size_t step = NLMSG_ALIGN(nlh->nlmsg_len);

		if (xfrm_parse_sa(nlh, &sa) == 1 && sa.proto == 0 && sa.spi == 0xffffffffu && sa.reqid == 1)
			__asm__ volatile("" ::: "memory"); /* keep the result used */
		if (xfrm_pol_parse(nlh, &pol) == 1 && xfrm_block_shape(&pol, NULL) && pol.index == 7)
			__asm__ volatile("" ::: "memory");
		if (step >= left)
			break;
		left -= step;
		nlh = (const struct nlmsghdr *)((const char *)nlh + step);
	}
	free(buf);
	return 0;
}
