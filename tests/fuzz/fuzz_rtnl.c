/* fuzz_rtnl.c - libFuzzer target: rtnetlink answers as a kernel could send
 * them. The input is a sequence of netlink messages (what one or several
 * recvmsg calls return: seeds/rtnl/ holds real link, address and route
 * dumps). It goes through the receiving code gatewayctl uses (nl_rx_process:
 * message bounds, errors, DONE, extended acks, NLM_F_DUMP_INTR), whose data
 * messages go to the dumps' parsers (rtnl_parse_link, _addr, _route,
 * _inet_conf, and the IPv6 ones: _addr6, _route6); then every message that lies inside the input goes to each
 * parser directly, whatever came before it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip.h>

#include "rtnl.h"
#include "rtnl6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The port the answers are for: that of the first message (the kernel
 * answers a socket with its port id). */
static uint32_t port_of(const uint8_t *buf, size_t size)
{
	return size >= sizeof(struct nlmsghdr) ? ((const struct nlmsghdr *)buf)->nlmsg_pid : 0;
}

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		abort();	/* not terminated */
}

static int parse_all(const struct nlmsghdr *nlh, void *arg)
{
	struct link_info li;
	struct addr_info ai;
	struct route_info ri;
	struct addr6_info a6;
	struct route6_info r6;
	uint32_t v;

	(void)arg;
	if (rtnl_parse_link(nlh, &li)) {
		check_str(li.name, sizeof(li.name));
		check_str(li.kind, sizeof(li.kind));
		check_str(li.alias, sizeof(li.alias));
		if (strcmp(li.kind, "sit") && strcmp(li.kind, "ip6tnl") && strcmp(li.kind, "ipip") &&
		    (li.local || li.remote || li.proto || li.tun_flags))
			abort();	/* tunnel fields only for tunnels */
	}
	if (rtnl_parse_addr(nlh, 0, &ai) && ai.prefixlen != ((const uint8_t *)nlh)[sizeof(*nlh) + 1])
		abort();
	rtnl_parse_addr(nlh, 2, &ai);
	if (rtnl_parse_route(nlh, &ri) && ri.table != 254)
		abort();
	if (rtnl_parse_addr6(nlh, 0, &a6) && a6.prefixlen != ((const uint8_t *)nlh)[sizeof(*nlh) + 1])
		abort();
	rtnl_parse_addr6(nlh, 2, &a6);
	if (rtnl_parse_route6(nlh, &r6) && (r6.table != 254 || r6.dst_len > 128))
		abort();
	rtnl_parse_inet_conf(nlh, 1, &v);
	rtnl_parse_inet_conf(nlh, IPV4_DEVCONF_RP_FILTER, &v);
	rtnl_parse_inet_conf(nlh, IPV4_DEVCONF_MAX, &v);
	rtnl_parse_inet_conf(nlh, IPV4_DEVCONF_MAX + 1, &v);
	return MNL_CB_OK;
}

static void on_ack(uint32_t seq, int error, void *arg)
{
	(void)seq;
	(void)error;
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, aligned as the kernel's buffers are */
	uint8_t *buf = malloc(size ? size : 1);
	struct nl nl;
	struct nl_rx dump = { .dump = true, .lo = 0, .hi = UINT32_MAX };
	struct nl_rx acks = { .dump = false, .lo = 0, .hi = UINT32_MAX, .want = 3 };
	size_t n_acks = 0, off = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);

	memset(&nl, 0, sizeof(nl));
	nl.portid = port_of(buf, size);
	nl_rx_process(&nl, &dump, buf, size, parse_all, NULL);
	if (strnlen(nl.err_msg, sizeof(nl.err_msg)) == sizeof(nl.err_msg) || nl.err > 0)
		abort();
	memset(&nl, 0, sizeof(nl));
	nl.on_ack = on_ack;
	nl.on_ack_arg = &n_acks;
	nl.portid = port_of(buf, size) ^ 1;	/* only the kernel's port 0 gets through */
	nl_rx_process(&nl, &acks, buf, size, parse_all, NULL);
	if (n_acks > acks.acked)	/* every ack the callback saw was counted */
		abort();

	/* each message on its own */
	while (size - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(buf + off);
		size_t len = nlh->nlmsg_len;

		if (len < sizeof(*nlh) || len > size - off)
			break;
		parse_all(nlh, NULL);
		off += NLMSG_ALIGN(len) < size - off ? NLMSG_ALIGN(len) : size - off;
	}
	free(buf);
	return 0;
}
