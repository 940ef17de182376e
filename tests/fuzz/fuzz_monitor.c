/* fuzz_monitor.c - libFuzzer target: notification datagrams as the kernel
 * could send them to `gatewayctl watch` (netlink/monitor.c). The first byte
 * picks the bus (even: rtnetlink, odd: nfnetlink), the rest is the datagram.
 * Seeds (seeds/monitor.gen): the real rtnetlink and nftables messages of the
 * rtnl and nft seeds, which notifications share. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <sys/socket.h>

#include "monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		abort();	/* not terminated */
}

static void check(const struct mon_event *ev, void *arg)
{
	(void)arg;
	if (ev->kind == MON_LINK) {
		check_str(ev->link.name, sizeof(ev->link.name));
		check_str(ev->link.kind, sizeof(ev->link.kind));
		check_str(ev->link.alias, sizeof(ev->link.alias));
	} else if (ev->kind == MON_NFT) {
		check_str(ev->nft.table, sizeof(ev->nft.table));
	} else if (ev->kind == MON_NETCONF) {
		if (ev->netconf.forwarding < -1 || ev->netconf.forwarding > 1 ||
		    (ev->netconf.family != AF_INET && ev->netconf.family != AF_INET6))
			abort();
	} else if (ev->kind == MON_ROUTE6) {
		if (ev->route6.dst_len > 128 || ev->route6.table != 254)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* an aligned copy, exactly as long as the input: reads past it are caught */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	mon_parse(data[0] & 1 ? NETLINK_NETFILTER : NETLINK_ROUTE, copy, size - 1, check, NULL);
	free(copy);
	return 0;
}
