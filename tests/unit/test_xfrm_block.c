/* test_xfrm_block.c - netlink/xfrm_block.c: the NEWPOLICY/DELPOLICY messages
 * it builds, its parser (on built messages, cut and garbled ones), and, as
 * root in a private network namespace where the kernel has xfrm, the real
 * thing: the block policies of a dual-stack peer over IPv4 and of one over
 * IPv6 (4 and 41, eight each) added, found, kept apart from an unmarked
 * policy of the same selector (charon's), deleted exactly by index,
 * with `ip xfrm policy` as the witness. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "config.h"
#include "model.h"
#include "xfrm_block.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static bool in_netns;

static char *capture(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *out = calloc(1, 65536);
	size_t n = 0, r;

	assert_non_null(out);
	while (f && (r = fread(out + n, 1, 65535 - n, f)) > 0)
		n += r;
	if (f)
		pclose(f);
	return out;
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- messages ------------------------------------------------------------ */

static void test_new_msg(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xfrm_pol p, q;
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_info info;

	(void)state;
	xfrm_block_pol(&p, IP4(172, 16, 1, 12), IP4(172, 17, 2, 10), IPPROTO_IPIP, XFRM_POLICY_OUT,
		       XFRM_BLOCK_MARK, XFRM_BLOCK_PRIO_BASE | 0x1234);
	nlh = xfrm_pol_new_msg(buf, 7, &p);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_NEWPOLICY);
	assert_int_equal(nlh->nlmsg_seq, 7);
	assert_true(nlh->nlmsg_flags & NLM_F_EXCL);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	memcpy(&info, NLMSG_DATA(nlh), sizeof(info));
	assert_int_equal(info.sel.family, AF_INET);
	assert_int_equal(ntohl(info.sel.saddr.a4), IP4(172, 16, 1, 12));
	assert_int_equal(ntohl(info.sel.daddr.a4), IP4(172, 17, 2, 10));
	assert_int_equal(info.sel.prefixlen_s, 32);
	assert_int_equal(info.sel.prefixlen_d, 32);
	assert_int_equal(info.sel.proto, IPPROTO_IPIP);
	assert_int_equal(info.dir, XFRM_POLICY_OUT);
	assert_int_equal(info.action, XFRM_POLICY_BLOCK);
	assert_int_equal(info.priority, XFRM_BLOCK_PRIO_BASE | 0x1234);
	assert_true(info.lft.hard_byte_limit == XFRM_INF && info.lft.hard_packet_limit == XFRM_INF);
	/* the kernel answers a dump with the same layout: the parser reads it back */
	nlh->nlmsg_flags = NLM_F_MULTI;
	assert_int_equal(xfrm_pol_parse(nlh, &q), 1);
	assert_true(xfrm_pol_same(&p, &q));
	assert_true(xfrm_block_shape(&q, NULL));
	/* the mark is what keeps it apart from charon's: it is in the message */
	assert_int_equal(q.mark_v, XFRM_BLOCK_MARK);
	assert_int_equal(q.mark_m, XFRM_BLOCK_MARK);
}

static const uint8_t WAN6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, [15] = 0x12 };
static const uint8_t PEER6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, [15] = 0x10 };

/* an IPv6 policy (a peer over an IPv6 underlay): 16-byte addresses, /128,
 * next header 41, read back the same; deleted by selector in that family */
static void test_msg6(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xfrm_pol p, q;
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_info info;
	struct xfrm_userpolicy_id id;

	(void)state;
	xfrm_block_pol6(&p, WAN6, PEER6, IPPROTO_IPV6, XFRM_POLICY_IN, 0, XFRM_BLOCK_PRIO_BASE | 7);
	nlh = xfrm_pol_new_msg(buf, 3, &p);
	memcpy(&info, NLMSG_DATA(nlh), sizeof(info));
	assert_int_equal(info.sel.family, AF_INET6);
	assert_memory_equal(&info.sel.saddr.a6, PEER6, 16);	/* in: from the peer */
	assert_memory_equal(&info.sel.daddr.a6, WAN6, 16);
	assert_int_equal(info.sel.prefixlen_s, 128);
	assert_int_equal(info.sel.prefixlen_d, 128);
	assert_int_equal(info.sel.proto, IPPROTO_IPV6);
	assert_int_equal(info.dir, XFRM_POLICY_IN);
	nlh->nlmsg_flags = NLM_F_MULTI;
	assert_int_equal(xfrm_pol_parse(nlh, &q), 1);
	assert_int_equal(q.family, AF_INET6);
	assert_true(xfrm_pol_same(&p, &q));
	assert_true(xfrm_block_shape(&q, NULL));
	/* the same selector in the other family is another policy */
	xfrm_block_pol(&q, 1, 2, IPPROTO_IPV6, XFRM_POLICY_IN, 0, XFRM_BLOCK_PRIO_BASE | 7);
	assert_false(xfrm_pol_same(&p, &q));
	nlh = xfrm_pol_del_msg(buf, 4, &p);
	memcpy(&id, NLMSG_DATA(nlh), sizeof(id));
	assert_int_equal(id.sel.family, AF_INET6);
	assert_memory_equal(&id.sel.saddr.a6, PEER6, 16);
	assert_int_equal(id.sel.prefixlen_d, 128);
}

/* the policies a peer needs: 4 per protocol of its tunnel, in its endpoint's family */
static void test_wanted(void **state)
{
	struct site s;
	struct peer peer;
	struct net6 net6 = { .len = 64 };
	struct xfrm_pol w[BLOCK_PER_PEER];
	unsigned proto41 = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&peer, 0, sizeof(peer));
	snprintf(s.name, sizeof(s.name), "manhattan");
	s.wan_address.addr = IP4(172, 16, 1, 12);
	memcpy(s.wan_address6.addr, WAN6, 16);
	s.wan_address6.len = 64;
	peer.endpoint = IP4(172, 17, 2, 10);
	peer.encryption = ENC_IPSEC;
	/* ipip: protocol 4 only, as before IPv6 */
	assert_int_equal(block_wanted(&s, &peer, w), 4);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(w[k].proto, IPPROTO_IPIP);
		assert_int_equal(w[k].family, AF_INET);
		assert_true(xfrm_block_shape(&w[k], NULL));
	}
	assert_int_equal(w[0].src, s.wan_address.addr);		/* out: from us */
	assert_int_equal(w[2].src, peer.endpoint);		/* in: from the peer */
	/* sit (IPv6 networks): 4 and 41, IPv4 selectors */
	peer.networks6 = &net6;
	peer.n_networks6 = 1;
	assert_int_equal(block_wanted(&s, &peer, w), 8);
	for (int k = 0; k < 8; k++) {
		assert_int_equal(w[k].family, AF_INET);
		assert_int_equal(w[k].dst_len, 32);
		assert_true(xfrm_block_shape(&w[k], NULL));
		proto41 += w[k].proto == IPPROTO_IPV6;
	}
	assert_int_equal(proto41, 4);
	for (int i = 0; i < 8; i++)		/* eight different policies */
		for (int k = i + 1; k < 8; k++)
			assert_false(xfrm_pol_same(&w[i], &w[k]));
	/* ip6tnl (an IPv6 endpoint): the same in IPv6, between the IPv6 WAN addresses */
	peer.endpoint_v6 = true;
	memcpy(peer.endpoint6, PEER6, 16);
	peer.endpoint = 0;
	assert_int_equal(block_wanted(&s, &peer, w), 8);
	for (int k = 0; k < 8; k++) {
		assert_int_equal(w[k].family, AF_INET6);
		assert_int_equal(w[k].src_len, 128);
		assert_memory_equal(w[k].dir == XFRM_POLICY_OUT ? w[k].src6 : w[k].dst6, WAN6, 16);
		assert_memory_equal(w[k].dir == XFRM_POLICY_OUT ? w[k].dst6 : w[k].src6, PEER6, 16);
		assert_true(xfrm_block_shape(&w[k], NULL));
	}
}

static void test_del_msg(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xfrm_pol p;
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_id id;
	const struct nlattr *a;
	bool mark = false;

	(void)state;
	xfrm_block_pol(&p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), IPPROTO_IPIP, XFRM_POLICY_IN, 0,
		       XFRM_BLOCK_PRIO_BASE);
	p.index = 4242;
	nlh = xfrm_pol_del_msg(buf, 9, &p);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_DELPOLICY);
	memcpy(&id, NLMSG_DATA(nlh), sizeof(id));
	assert_int_equal(id.index, 4242);
	assert_int_equal(id.dir, XFRM_POLICY_IN);
	mnl_attr_for_each(a, nlh, sizeof(id)) {
		if (mnl_attr_get_type(a) == XFRMA_MARK) {
			struct xfrm_mark m;

			memcpy(&m, mnl_attr_get_payload(a), sizeof(m));
			assert_int_equal(m.v, 0);
			assert_int_equal(m.m, XFRM_BLOCK_MARK);
			mark = true;
		}
	}
	assert_true(mark);
	/* without an index: by selector (the in policy: from the peer to us) */
	p.index = 0;
	nlh = xfrm_pol_del_msg(buf, 10, &p);
	memcpy(&id, NLMSG_DATA(nlh), sizeof(id));
	assert_int_equal(id.index, 0);
	assert_int_equal(ntohl(id.sel.saddr.a4), IP4(10, 0, 0, 2));
	assert_int_equal(ntohl(id.sel.daddr.a4), IP4(10, 0, 0, 1));
	assert_int_equal(id.sel.proto, IPPROTO_IPIP);
}

static void test_parse_bad(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xfrm_pol p, q;
	struct nlmsghdr *nlh;
	uint32_t len;

	(void)state;
	xfrm_block_pol(&p, IP4(1, 2, 3, 4), IP4(5, 6, 7, 8), IPPROTO_IPIP, XFRM_POLICY_OUT, 0,
		       XFRM_BLOCK_PRIO_BASE);
	nlh = xfrm_pol_new_msg(buf, 1, &p);
	len = nlh->nlmsg_len;
	/* cut anywhere: never a read past the end (ASan), never a wrong policy */
	for (uint32_t cut = 0; cut < len; cut++) {
		nlh->nlmsg_len = cut;
		if (xfrm_pol_parse(nlh, &q) == 1)
			assert_true(cut >= NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_info)));
	}
	nlh->nlmsg_len = len;
	/* another family than IPv4 and IPv6: skipped */
	((struct xfrm_userpolicy_info *)NLMSG_DATA(nlh))->sel.family = AF_PACKET;
	assert_int_equal(xfrm_pol_parse(nlh, &q), 0);
	/* another message type: skipped */
	nlh = xfrm_pol_new_msg(buf, 1, &p);
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	assert_int_equal(xfrm_pol_parse(nlh, &q), 0);
}

static void test_shape(void **state)
{
	struct xfrm_pol p;
	uint32_t prio = 0;

	(void)state;
	xfrm_block_pol(&p, 1, 2, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, block_priority("manhattan"));
	assert_true(xfrm_block_shape(&p, &prio));
	assert_int_equal(prio, block_priority("manhattan"));
	assert_int_equal(prio & 0xffff0000u, XFRM_BLOCK_PRIO_BASE);
	assert_int_not_equal(block_priority("manhattan"), block_priority("brooklyn"));
	p.action = XFRM_POLICY_ALLOW;		/* an allow policy is never ours */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, 1000);	/* charon's range */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	p.mark_m = 0;				/* unmarked: charon's kind */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	p.n_tmpl = 1;				/* with a transform: not a block */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, IPPROTO_IPV6, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	assert_true(xfrm_block_shape(&p, NULL));	/* 6in4 of a sit */
	xfrm_block_pol(&p, 1, 2, IPPROTO_GRE, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	assert_false(xfrm_block_shape(&p, NULL));	/* another protocol: not ours */
	xfrm_block_pol6(&p, WAN6, PEER6, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	assert_true(xfrm_block_shape(&p, NULL));	/* 4in6 of an ip6tnl */
	p.dst_len = 64;					/* a network, not the peer's address */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	p.src_len = p.dst_len = 128;			/* IPv4 with IPv6 lengths */
	assert_false(xfrm_block_shape(&p, NULL));
}

/* ---- the kernel ---------------------------------------------------------- */

static void test_kernel(void **state)
{
	struct site s;
	struct peer peers[2];
	struct net6 net6 = { .len = 64 };
	struct xfrm_pol w[2][BLOCK_PER_PEER], *all = NULL, charon;
	size_t n = 0, mine = 0;
	struct nl x;
	char *out;
	int changes = 0;
	FILE *null;
	struct plan pb = { 0 }, pm = { 0 };

	(void)state;
	if (!in_netns)
		skip();
	if (nl_open(&x, NETLINK_XFRM) < 0 || xfrm_pols(&x, &all, &n) < 0) {
		fprintf(stderr, "test_xfrm_block: this kernel has no xfrm: kernel test skipped\n");
		skip();
	}
	free(all);
	memset(&s, 0, sizeof(s));
	memset(peers, 0, sizeof(peers));
	snprintf(s.name, sizeof(s.name), "manhattan");
	s.wan_address.addr = IP4(172, 16, 1, 12);
	s.wan_address.len = 27;
	memcpy(s.wan_address6.addr, WAN6, 16);
	s.wan_address6.len = 64;
	/* a dual-stack peer over IPv4 (sit: 4 and 41), one over IPv6 (ip6tnl) */
	peers[0].endpoint = IP4(172, 17, 2, 10);
	peers[0].networks6 = &net6;
	peers[0].n_networks6 = 1;
	peers[1].endpoint_v6 = true;
	memcpy(peers[1].endpoint6, PEER6, 16);
	peers[0].encryption = peers[1].encryption = ENC_IPSEC;
	s.peers = peers;
	s.n_peers = 2;
	/* charon's transport-mode policy for the same traffic: same selector, no mark */
	xfrm_block_pol(&charon, s.wan_address.addr, peers[0].endpoint, IPPROTO_IPIP, XFRM_POLICY_OUT, 0, 2000);
	charon.action = XFRM_POLICY_ALLOW;
	charon.mark_m = 0;
	assert_int_equal(xfrm_pol_add(&x, &charon), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(block_wanted(&s, &peers[i], w[i]), 8);
		for (int k = 0; k < 8; k++)
			assert_int_equal(xfrm_pol_add(&x, &w[i][k]), 0);
	}
	/* a second add of the same is refused, not a duplicate */
	assert_int_equal(xfrm_pol_add(&x, &w[0][0]), -EEXIST);
	assert_int_equal(xfrm_pol_add(&x, &w[1][5]), -EEXIST);
	for (int proto = 4; proto <= 41; proto += 37) {
		char cmd[64];

		for (int fam = 4; fam <= 6; fam += 2) {
			snprintf(cmd, sizeof(cmd), "ip -%d xfrm policy list proto %d", fam, proto);
			out = capture(cmd);
			assert_int_equal(count_lines(out, "action block"), 4);
			assert_int_equal(count_lines(out, "mark 0x800000/0x800000"), 2);
			assert_int_equal(count_lines(out, "mark 0/0x800000"), 2);
			free(out);
		}
	}
	assert_int_equal(xfrm_pols(&x, &all, &n), 0);
	for (size_t i = 0; i < n; i++) {
		uint32_t prio;

		if (xfrm_block_shape(&all[i], &prio) && prio == block_priority("manhattan")) {
			mine++;
			assert_int_not_equal(all[i].index, 0);
		}
	}
	assert_int_equal(mine, 16);
	free(all);
	/* another site's down takes nothing of ours; ours takes all 16 and not charon's */
	null = fopen("/dev/null", "w");
	assert_int_equal(block_plan_down("brooklyn", &pb, stderr), 0);
	assert_int_equal(pb.n, 0);
	assert_int_equal(block_remove(&pb, null, stderr, &changes), 0);
	assert_int_equal(changes, 0);
	assert_int_equal(block_plan_down("manhattan", &pm, stderr), 0);
	assert_int_equal(pm.n, 16);
	/* planning changes nothing */
	out = capture("ip xfrm policy list");
	assert_int_equal(count_lines(out, "action block"), 16);
	free(out);
	assert_int_equal(block_remove(&pm, null, stderr, &changes), 0);
	assert_int_equal(changes, 16);
	plan_free(&pb);
	plan_free(&pm);
	fclose(null);
	out = capture("ip xfrm policy list");
	assert_int_equal(count_lines(out, "action block"), 0);
	assert_int_equal(count_lines(out, "priority 2000"), 1);
	free(out);
	assert_int_equal(xfrm_pol_del(&x, &w[0][0]), -ENOENT);
	assert_int_equal(xfrm_pol_del(&x, &w[1][0]), -ENOENT);
	nl_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_msg),
		cmocka_unit_test(test_msg6),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_del_msg),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_kernel),
	};

	if (geteuid() != 0)
		fprintf(stderr, "test_xfrm_block: not root, kernel test skipped\n");
	else if (unshare(CLONE_NEWNET) < 0)
		fprintf(stderr, "test_xfrm_block: unshare(CLONE_NEWNET): %s, kernel test skipped\n",
			strerror(errno));
	else
		in_netns = true;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
