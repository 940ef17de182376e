/* test_xfrm_block.c - netlink/xfrm_block.c: the NEWPOLICY/DELPOLICY messages
 * it builds, its parser (on built messages, cut and garbled ones), and, as
 * root in a private network namespace where the kernel has xfrm, the real
 * thing: the four block policies of a peer added, found, kept apart from an
 * unmarked policy of the same selector (charon's), deleted exactly by index,
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
	xfrm_block_pol(&p, IP4(172, 16, 1, 12), IP4(172, 17, 2, 10), XFRM_POLICY_OUT, XFRM_BLOCK_MARK,
		       XFRM_BLOCK_PRIO_BASE | 0x1234);
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

static void test_del_msg(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xfrm_pol p;
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_id id;
	const struct nlattr *a;
	bool mark = false;

	(void)state;
	xfrm_block_pol(&p, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), XFRM_POLICY_IN, 0, XFRM_BLOCK_PRIO_BASE);
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
	xfrm_block_pol(&p, IP4(1, 2, 3, 4), IP4(5, 6, 7, 8), XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	nlh = xfrm_pol_new_msg(buf, 1, &p);
	len = nlh->nlmsg_len;
	/* cut anywhere: never a read past the end (ASan), never a wrong policy */
	for (uint32_t cut = 0; cut < len; cut++) {
		nlh->nlmsg_len = cut;
		if (xfrm_pol_parse(nlh, &q) == 1)
			assert_true(cut >= NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_info)));
	}
	nlh->nlmsg_len = len;
	/* another family: skipped */
	((struct xfrm_userpolicy_info *)NLMSG_DATA(nlh))->sel.family = AF_INET6;
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
	xfrm_block_pol(&p, 1, 2, XFRM_POLICY_OUT, 0, block_priority("manhattan"));
	assert_true(xfrm_block_shape(&p, &prio));
	assert_int_equal(prio, block_priority("manhattan"));
	assert_int_equal(prio & 0xffff0000u, XFRM_BLOCK_PRIO_BASE);
	assert_int_not_equal(block_priority("manhattan"), block_priority("brooklyn"));
	p.action = XFRM_POLICY_ALLOW;		/* an allow policy is never ours */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, XFRM_POLICY_OUT, 0, 1000);	/* charon's range */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	p.mark_m = 0;				/* unmarked: charon's kind */
	assert_false(xfrm_block_shape(&p, NULL));
	xfrm_block_pol(&p, 1, 2, XFRM_POLICY_OUT, 0, XFRM_BLOCK_PRIO_BASE);
	p.n_tmpl = 1;				/* with a transform: not a block */
	assert_false(xfrm_block_shape(&p, NULL));
}

/* ---- the kernel ---------------------------------------------------------- */

static void test_kernel(void **state)
{
	struct site s;
	struct peer peer;
	struct xfrm_pol w[BLOCK_PER_PEER], *all = NULL, charon;
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
	memset(&peer, 0, sizeof(peer));
	snprintf(s.name, sizeof(s.name), "manhattan");
	s.wan_address.addr = IP4(172, 16, 1, 12);
	s.wan_address.len = 27;
	peer.endpoint = IP4(172, 17, 2, 10);
	peer.encryption = ENC_IPSEC;
	s.peers = &peer;
	s.n_peers = 1;
	/* charon's transport-mode policy for the same traffic: same selector, no mark */
	xfrm_block_pol(&charon, s.wan_address.addr, peer.endpoint, XFRM_POLICY_OUT, 0, 2000);
	charon.action = XFRM_POLICY_ALLOW;
	charon.mark_m = 0;
	assert_int_equal(xfrm_pol_add(&x, &charon), 0);
	block_wanted(&s, &peer, w);
	for (int k = 0; k < BLOCK_PER_PEER; k++)
		assert_int_equal(xfrm_pol_add(&x, &w[k]), 0);
	/* a second add of the same is refused, not a duplicate */
	assert_int_equal(xfrm_pol_add(&x, &w[0]), -EEXIST);
	out = capture("ip xfrm policy list proto 4");
	assert_int_equal(count_lines(out, "action block"), 4);
	assert_int_equal(count_lines(out, "mark 0x800000/0x800000"), 2);
	assert_int_equal(count_lines(out, "mark 0/0x800000"), 2);
	free(out);
	assert_int_equal(xfrm_pols(&x, &all, &n), 0);
	for (size_t i = 0; i < n; i++) {
		uint32_t prio;

		if (xfrm_block_shape(&all[i], &prio) && prio == block_priority("manhattan")) {
			mine++;
			assert_int_not_equal(all[i].index, 0);
		}
	}
	assert_int_equal(mine, 4);
	free(all);
	/* another site's down takes nothing of ours; ours takes all four and not charon's */
	null = fopen("/dev/null", "w");
	assert_int_equal(block_plan_down("brooklyn", &pb, stderr), 0);
	assert_int_equal(pb.n, 0);
	assert_int_equal(block_remove(&pb, null, stderr, &changes), 0);
	assert_int_equal(changes, 0);
	assert_int_equal(block_plan_down("manhattan", &pm, stderr), 0);
	assert_int_equal(pm.n, 4);
	/* planning changes nothing */
	out = capture("ip xfrm policy list proto 4");
	assert_int_equal(count_lines(out, "action block"), 4);
	free(out);
	assert_int_equal(block_remove(&pm, null, stderr, &changes), 0);
	assert_int_equal(changes, 4);
	plan_free(&pb);
	plan_free(&pm);
	fclose(null);
	out = capture("ip xfrm policy list proto 4");
	assert_int_equal(count_lines(out, "action block"), 0);
	assert_int_equal(count_lines(out, "priority 2000"), 1);
	free(out);
	assert_int_equal(xfrm_pol_del(&x, &w[0]), -ENOENT);
	nl_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_msg),
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
