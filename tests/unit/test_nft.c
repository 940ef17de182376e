/* test_nft.c - netlink/nft*.c against the kernel, in a private network namespace.
 *
 * Runs as root only: main() moves the process into a new network namespace
 * (unshare(CLONE_NEWNET)) before any test runs, so the host's ruleset is never
 * touched. Without root, or when the namespace cannot be made, or when the
 * `nft` witness is missing, every test is reported as skipped.
 * The `nft` and `ip` commands serve as independent witnesses and for setup.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"

static bool skip_all;
static const char *skip_why = "";
static struct nl nl;

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* ---- helpers ----------------------------------------------------------- */

/* Run a shell command; return its output (malloc'd) and exit status. */
static char *run(int *status, const char *fmt, ...)
{
	char *cmd = NULL, *buf = NULL;
	size_t len = 0, cap = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	st = pclose(p);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (status)
		*status = st;
	else if (st != 0)
		fail_msg("command failed (%d): %s\n%s", st, cmd, buf);
	free(cmd);
	return buf;
}

/* Run a command that must succeed, ignore its output. */
#define sh(...) free(run(NULL, __VA_ARGS__))

/* Run a shell script fed on standard input; exit status. */
static int sh_script(const char *script)
{
	FILE *p = popen("sh -e 2>&1", "w");
	int st;

	assert_non_null(p);
	fputs(script, p);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The handle of the rule carrying COMMENT in CHAIN of TABLE of FAMILY, from `nft -a`. */
static unsigned rule_handle_in(const char *family, const char *table, const char *chain, const char *comment)
{
	char *out = run(NULL, "nft -a list chain %s %s %s", family, table, chain), *line, *save = NULL;
	char want[64];
	unsigned h = 0;

	snprintf(want, sizeof(want), "comment \"%s\"", comment);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *hp = strstr(line, "# handle ");

		if (strstr(line, want) && hp)
			h = (unsigned)strtoul(hp + 9, NULL, 10);
	}
	free(out);
	assert_int_not_equal(h, 0);
	return h;
}

static unsigned rule_handle(const char *table, const char *chain, const char *comment)
{
	return rule_handle_in("ip", table, chain, comment);
}

/* ... of Manhattan's ip6 table */
static unsigned rule_handle6(const char *chain, const char *comment)
{
	return rule_handle_in("ip6", "gatewayctl-manhattan", chain, comment);
}


/* Create table ip NAME whose user data is exactly the LEN bytes at UDATA
 * (any bytes: the kernel stores them as they are), with libnftnl and libmnl
 * directly, as any other program could. */
static void table_with_udata(const char *name, const void *udata, uint32_t len)
{
	char buf[4096], ans[8192];
	struct mnl_socket *s = mnl_socket_open(NETLINK_NETFILTER);
	struct nftnl_table *t = nftnl_table_alloc();
	struct mnl_nlmsg_batch *b;
	struct nlmsghdr *nlh;
	const struct nlmsgerr *e;
	uint32_t seq = 1000;
	ssize_t n;

	assert_non_null(s);
	assert_non_null(t);
	assert_int_equal(mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID), 0);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	assert_int_equal(nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, udata, len), 0);
	b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWTABLE, NFPROTO_IPV4,
				    NLM_F_CREATE | NLM_F_ACK, seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	mnl_nlmsg_batch_next(b);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	assert_true(mnl_socket_sendto(s, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) > 0);
	n = mnl_socket_recvfrom(s, ans, sizeof(ans));
	assert_true(n >= (ssize_t)(sizeof(*nlh) + sizeof(*e)));
	nlh = (struct nlmsghdr *)ans;
	assert_int_equal(nlh->nlmsg_type, NLMSG_ERROR);
	e = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(e->error, 0);
	mnl_nlmsg_batch_stop(b);
	nftnl_table_free(t);
	mnl_socket_close(s);
}

struct named {
	const char *name;
	int n;
};

static int count_table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct named *w = data;

	assert_non_null(t);
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), w->name) == 0)
		w->n++;
	nftnl_table_free(t);
	return MNL_CB_OK;
}

/* How many tables called NAME exist (any family), read with libnftnl
 * directly: `nft list` itself misreads (and crashes on) some user data. */
static int tables_named(const char *name)
{
	char buf[16384];
	struct mnl_socket *s = mnl_socket_open(NETLINK_NETFILTER);
	struct named w = { name, 0 };
	struct nlmsghdr *nlh;
	ssize_t n;
	int r = MNL_CB_OK;

	assert_non_null(s);
	assert_int_equal(mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID), 0);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NLM_F_DUMP, 77);
	assert_true(mnl_socket_sendto(s, nlh, nlh->nlmsg_len) > 0);
	while (r > MNL_CB_STOP && (n = mnl_socket_recvfrom(s, buf, sizeof(buf))) > 0)
		r = mnl_cb_run(buf, (size_t)n, 77, mnl_socket_get_portid(s), count_table_cb, &w);
	assert_int_equal(r, MNL_CB_STOP);
	mnl_socket_close(s);
	return w.n;
}

static const char tunnels[][16] = { "gw-brooklyn", "gw-queens" };
static const uint32_t endpoints[] = { IP4(172, 17, 2, 10), IP4(198, 51, 100, 7) };
static const struct nft_net nets[] = {
	{ IP4(192, 168, 2, 0), 24 }, { IP4(172, 17, 2, 10), 32 }, { IP4(10, 20, 0, 0), 16 },
};

/* Manhattan, as in the article, plus a second peer. */
static struct nft_spec manhattan(void)
{
	struct nft_spec s = {
		.site = "manhattan",
		.lan = "eth0",
		.lan_addr = IP4(192, 168, 1, 126),
		.masq = nets,
		.n_masq = 3,
		.tunnels = tunnels,
		.n_tunnels = 2,
		.endpoints = endpoints,
		.n_endpoints = 2,
		.wan_addr = IP4(172, 16, 1, 12),
		.mss_clamp = true,
	};
	return s;
}

static void replace_ok(const struct nft_spec *s)
{
	char err[512] = "x";
	int ret = nft_table_replace(&nl, s, err, sizeof(err));

	if (ret != 0)
		fail_msg("nft_table_replace: %d %s", ret, err);
	assert_string_equal(err, "");
}

static int setup(void **state)
{
	(void)state;
	if (skip_all)
		return 0;
	sh("nft flush ruleset");
	assert_int_equal(nl_open(&nl, NETLINK_NETFILTER), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (skip_all)
		return 0;
	nl_close(&nl);
	return 0;
}

#define SKIP_IF_NEEDED() do { if (skip_all) { print_message("skipped: %s\n", skip_why); skip(); } } while (0)

/* ---- tests --------------------------------------------------------------- */

static void test_replace_creates(void **state)
{
	struct nft_spec s = manhattan();
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);

	out = run(NULL, "nft list table ip gatewayctl-manhattan");
	assert_non_null(strstr(out, "comment \"managed by gatewayctl: site manhattan\""));
	assert_non_null(strstr(out, "type nat hook postrouting priority srcnat; policy accept;"));
	assert_non_null(strstr(out, "type filter hook forward priority mangle; policy accept;"));
	assert_non_null(strstr(out, "type filter hook input priority filter; policy accept;"));
	assert_non_null(strstr(out, "oifname \"eth0\" ip saddr @masq counter packets 0 bytes 0 "
				    "snat to 192.168.1.126 comment \"snat\""));
	assert_non_null(strstr(out, "oifname @tunnels tcp flags syn counter packets 0 bytes 0 "
				    "tcp option maxseg size set rt mtu comment \"mss-clamp\""));
	assert_non_null(strstr(out, "ip protocol ipencap ip saddr @endpoints counter packets 0 "
				    "bytes 0 accept comment \"ipip-peers\""));
	assert_non_null(strstr(out, "ip protocol ipencap ip daddr 172.16.1.12 counter packets 0 "
				    "bytes 0 drop comment \"ipip-other\""));
	assert_non_null(strstr(out, "type filter hook prerouting priority mangle; policy accept;"));
	assert_non_null(strstr(out, "iifname @tunnels fib saddr . iif oif missing counter packets 0 "
				    "bytes 0 drop comment \"src-check\""));
	assert_non_null(strstr(out, "10.20.0.0/16"));
	assert_non_null(strstr(out, "172.17.2.10"));
	assert_non_null(strstr(out, "192.168.2.0/24"));
	assert_non_null(strstr(out, "\"gw-brooklyn\""));
	assert_non_null(strstr(out, "198.51.100.7"));
	assert_null(strstr(out, "flags owner"));
	free(out);

	out = run(NULL, "nft -j list ruleset");
	assert_non_null(strstr(out, "\"name\": \"gatewayctl-manhattan\""));
	assert_int_equal(count(out, "\"rule\":"), 5);
	assert_non_null(strstr(out, "\"comment\": \"snat\""));
	assert_non_null(strstr(out, "\"comment\": \"ipip-other\""));
	free(out);
}

static void test_replace_twice(void **state)
{
	struct nft_spec s = manhattan();
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	out = run(NULL, "nft -j list ruleset");
	assert_int_equal(count(out, "\"rule\":"), 5);
	assert_int_equal(count(out, "\"table\": {"), 1);
	free(out);
}

static void test_rule_deleted_by_hand(void **state)
{
	struct nft_spec s = manhattan();
	const char *rules[][2] = { { "postrouting", "snat" }, { "forward", "mss-clamp" },
				   { "input", "ipip-peers" }, { "input", "ipip-other" },
				   { "prerouting", "src-check" } };

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		replace_ok(&s);
		assert_int_equal(nft_table_matches(&nl, &s), 1);
		sh("nft delete rule ip gatewayctl-manhattan %s handle %u", rules[i][0],
		   rule_handle("gatewayctl-manhattan", rules[i][0], rules[i][1]));
		assert_int_equal(nft_table_matches(&nl, &s), 0);
	}
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
}

static void test_rule_added_or_changed_by_hand(void **state)
{
	struct nft_spec s = manhattan();

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	sh("nft add rule ip gatewayctl-manhattan input counter");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	/* Inserted first: same rules but out of order. */
	sh("nft insert rule ip gatewayctl-manhattan input ip protocol 4 ip daddr 172.16.1.12 "
	   "counter drop comment '\"ipip-other\"'");
	sh("nft delete rule ip gatewayctl-manhattan input handle %u",
	   rule_handle("gatewayctl-manhattan", "input", "ipip-other") /* the last one */);
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	/* Same rule with another address. */
	sh("nft replace rule ip gatewayctl-manhattan postrouting handle %u oifname eth0 "
	   "ip saddr @masq counter snat to 192.168.1.127 comment '\"snat\"'",
	   rule_handle("gatewayctl-manhattan", "postrouting", "snat"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	/* Same rule without its comment. */
	sh("nft replace rule ip gatewayctl-manhattan postrouting handle %u oifname eth0 "
	   "ip saddr @masq counter snat to 192.168.1.126",
	   rule_handle("gatewayctl-manhattan", "postrouting", "snat"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
}

static void test_set_changed_by_hand(void **state)
{
	struct nft_spec s = manhattan();

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	sh("nft delete element ip gatewayctl-manhattan masq { 10.20.0.0/16 }");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft add element ip gatewayctl-manhattan masq { 10.30.0.0/16 }");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft delete element ip gatewayctl-manhattan endpoints { 198.51.100.7 }");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft add element ip gatewayctl-manhattan tunnels { \"gw-bronx\" }");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft add set ip gatewayctl-manhattan extra { type ipv4_addr\\; }");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
}

static void test_chain_and_table_changed_by_hand(void **state)
{
	struct nft_spec s = manhattan();

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	sh("nft flush chain ip gatewayctl-manhattan forward");
	sh("nft delete chain ip gatewayctl-manhattan forward");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft add chain ip gatewayctl-manhattan input "
	   "'{ type filter hook input priority 0; policy drop; }'");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft add chain ip gatewayctl-manhattan extra");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft add table ip gatewayctl-manhattan '{ flags dormant; }'");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	sh("nft delete table ip gatewayctl-manhattan");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
}

static void test_spec_changes(void **state)
{
	struct nft_spec a = manhattan(), b = manhattan();

	(void)state;
	SKIP_IF_NEEDED();
	b.lan_addr = IP4(192, 168, 1, 1);
	replace_ok(&a);
	assert_int_equal(nft_table_matches(&nl, &a), 1);
	assert_int_equal(nft_table_matches(&nl, &b), 0);
	b = a;
	b.mss_clamp = false;
	assert_int_equal(nft_table_matches(&nl, &b), 0);
	b = a;
	b.n_masq = 2;
	assert_int_equal(nft_table_matches(&nl, &b), 0);
	b = a;
	b.lan = "eth1";
	assert_int_equal(nft_table_matches(&nl, &b), 0);
	b = a;
	b.wan_addr = 0;		/* no ipip-other rule */
	assert_int_equal(nft_table_matches(&nl, &b), 0);
	replace_ok(&b);
	assert_int_equal(nft_table_matches(&nl, &b), 1);
	assert_int_equal(nft_table_matches(&nl, &a), 0);
}

static void test_empty_spec(void **state)
{
	struct nft_spec s = { .site = "empty", .lan = "eth0", .mss_clamp = true };
	struct nft_state st;
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	out = run(NULL, "nft -j list ruleset");
	assert_int_equal(count(out, "\"rule\":"), 0);
	assert_int_equal(count(out, "\"chain\":"), 5);
	assert_int_equal(count(out, "\"set\":"), 4);
	free(out);
	assert_int_equal(nft_table_read(&nl, "empty", &st), 0);
	assert_true(st.present);
	assert_int_equal(st.n_counters, 0);
}

/* Interval edge cases: the whole space, the last address, adjacent and
 * overlapping-free networks given with host bits and twice. */
static void test_interval_edges(void **state)
{
	static const struct nft_net all[] = { { 0, 0 } };
	static const struct nft_net top[] = { { IP4(255, 255, 255, 255), 32 }, { IP4(0, 0, 0, 0), 8 } };
	static const struct nft_net adj[] = { { IP4(10, 0, 1, 0), 24 }, { IP4(10, 0, 0, 77), 24 },
					      { IP4(10, 0, 1, 0), 24 }, { IP4(10, 0, 2, 0), 23 } };
	struct { const struct nft_net *n; size_t cnt; const char *shown; } cases[] = {
		{ all, 1, "0.0.0.0/0" },
		{ top, 2, "255.255.255.255" },
		{ adj, 4, "10.0.2.0/23" },
	};
	struct nft_spec s = manhattan();

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out;

		s.masq = cases[i].n;
		s.n_masq = cases[i].cnt;
		replace_ok(&s);
		assert_int_equal(nft_table_matches(&nl, &s), 1);
		out = run(NULL, "nft list set ip gatewayctl-manhattan masq");
		if (!strstr(out, cases[i].shown))
			fail_msg("case %zu: %s not in\n%s", i, cases[i].shown, out);
		free(out);
	}
	/* adjacent networks stay separate elements, as nft makes them */
	s.masq = adj;
	s.n_masq = 4;
	replace_ok(&s);
	char *out = run(NULL, "nft list set ip gatewayctl-manhattan masq");
	assert_non_null(strstr(out, "10.0.0.0/24, 10.0.1.0/24"));
	free(out);
}

static void test_counters(void **state)
{
	struct nft_spec s = manhattan();
	struct sockaddr_in to = { .sin_family = AF_INET }, from = { .sin_family = AF_INET };
	struct nft_state st;
	const char payload[40] = { 0x45 };
	size_t i;
	int fd;

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	assert_int_equal(nft_table_read(&nl, "manhattan", &st), 0);
	assert_true(st.present);
	assert_false(st.foreign);
	assert_int_equal(st.n_counters, 5);
	assert_string_equal(st.counters[4].rule, "src-check");
	assert_string_equal(st.counters[0].rule, "snat");
	assert_string_equal(st.counters[1].rule, "mss-clamp");
	assert_string_equal(st.counters[2].rule, "ipip-peers");
	assert_string_equal(st.counters[3].rule, "ipip-other");
	for (i = 0; i < st.n_counters; i++)
		assert_true(st.counters[i].packets == 0 && st.counters[i].bytes == 0);

	/* IPIP to our WAN address: once from a peer, twice from a stranger. */
	sh("ip link set lo up && ip addr add 172.16.1.12/32 dev lo && "
	   "ip addr add 172.17.2.10/32 dev lo && ip addr add 203.0.113.9/32 dev lo");
	to.sin_addr.s_addr = htonl(IP4(172, 16, 1, 12));
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_IPIP);
	assert_true(fd >= 0);
	from.sin_addr.s_addr = htonl(IP4(172, 17, 2, 10));
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(payload));
	close(fd);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_IPIP);
	assert_true(fd >= 0);
	from.sin_addr.s_addr = htonl(IP4(203, 0, 113, 9));
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
					sizeof(to)), (ssize_t)sizeof(payload));
	close(fd);

	assert_int_equal(nft_table_read(&nl, "manhattan", &st), 0);
	assert_int_equal(st.n_counters, 5);
	assert_string_equal(st.counters[2].rule, "ipip-peers");
	assert_int_equal(st.counters[2].packets, 1);
	assert_int_equal(st.counters[2].bytes, 20 + sizeof(payload));
	assert_string_equal(st.counters[3].rule, "ipip-other");
	assert_int_equal(st.counters[3].packets, 2);
	assert_int_equal(st.counters[3].bytes, 2 * (20 + sizeof(payload)));
	/* Counters never make a difference. */
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	sh("ip addr flush dev lo");
}

static void test_absent(void **state)
{
	struct nft_spec s = manhattan();
	char err[256] = "x", (*sites)[33] = NULL;
	struct nft_state st;
	size_t n = 9;

	(void)state;
	SKIP_IF_NEEDED();
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	assert_int_equal(nft_table_read(&nl, "manhattan", &st), 0);
	assert_false(st.present);
	assert_false(st.foreign);
	assert_int_equal(nft_table_delete(&nl, "manhattan", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(nft_list_sites(&nl, &sites, &n), 0);
	assert_int_equal(n, 0);
	free(sites);
}

static const char foreign_nat[] =
	"table ip nat {\n"
	"  chain postrouting {\n"
	"    type nat hook postrouting priority srcnat; policy accept;\n"
	"    ip saddr 192.168.2.0/24 snat to 192.168.1.126 comment \"by hand\"\n"
	"  }\n"
	"}\n";

static void test_delete_only_ours(void **state)
{
	struct nft_spec s = manhattan(), b = manhattan();
	char err[256], (*sites)[33] = NULL, *out;
	size_t n = 0;
	FILE *f;

	(void)state;
	SKIP_IF_NEEDED();
	f = popen("nft -f -", "w");
	assert_non_null(f);
	fputs(foreign_nat, f);
	assert_int_equal(pclose(f), 0);
	b.site = "brooklyn";
	replace_ok(&s);
	replace_ok(&b);
	replace_ok(&s);

	assert_int_equal(nft_list_sites(&nl, &sites, &n), 0);
	assert_int_equal(n, 2);
	assert_true((!strcmp(sites[0], "manhattan") && !strcmp(sites[1], "brooklyn")) ||
		    (!strcmp(sites[1], "manhattan") && !strcmp(sites[0], "brooklyn")));
	free(sites);

	assert_int_equal(nft_table_delete(&nl, "manhattan", err, sizeof(err)), 0);
	assert_int_equal(nft_table_delete(&nl, "manhattan", err, sizeof(err)), 0);
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	assert_int_equal(nft_table_matches(&nl, &b), 1);
	out = run(NULL, "nft list ruleset");
	assert_null(strstr(out, "gatewayctl-manhattan"));
	assert_non_null(strstr(out, "gatewayctl-brooklyn"));
	assert_non_null(strstr(out, "table ip nat"));
	assert_non_null(strstr(out, "ip saddr 192.168.2.0/24 snat to 192.168.1.126 comment \"by hand\""));
	free(out);
	assert_int_equal(nft_table_delete(&nl, "brooklyn", err, sizeof(err)), 0);
	assert_int_equal(nft_list_sites(&nl, &sites, &n), 0);
	assert_int_equal(n, 0);
	free(sites);
	out = run(NULL, "nft list ruleset");
	assert_non_null(strstr(out, "comment \"by hand\""));
	free(out);
}

static void test_foreign_same_name(void **state)
{
	struct nft_spec s = manhattan();
	char err[512] = "", (*sites)[33] = NULL, *before, *after;
	struct nft_state st;
	size_t n = 0;

	(void)state;
	SKIP_IF_NEEDED();
	s.site = "x";
	sh("nft add table ip gatewayctl-x && nft add chain ip gatewayctl-x mine && "
	   "nft add rule ip gatewayctl-x mine counter accept && "
	   "nft add table ip gatewayctl-y '{ comment \"managed by gatewayctl: site x\"; }'");
	before = run(NULL, "nft list ruleset");

	assert_int_equal(nft_table_replace(&nl, &s, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "gatewayctl-x"));
	assert_non_null(strstr(err, "not gatewayctl's"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	assert_int_equal(nft_table_read(&nl, "x", &st), 0);
	assert_false(st.present);
	assert_true(st.foreign);
	err[0] = '\0';
	assert_int_equal(nft_table_delete(&nl, "x", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "gatewayctl-x"));
	/* gatewayctl-y carries the comment of another site: not a site either */
	assert_int_equal(nft_table_delete(&nl, "y", err, sizeof(err)), -EEXIST);
	assert_int_equal(nft_list_sites(&nl, &sites, &n), 0);
	assert_int_equal(n, 0);
	free(sites);

	after = run(NULL, "nft list ruleset");
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static struct nft_net *many_nets(size_t n)
{
	struct nft_net *v = calloc(n, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		/* /24s two apart, some /25s and /32s; no overlaps */
		v[i].addr = IP4(10, 0, 0, 0) + (uint32_t)i * 512;
		v[i].len = i % 7 == 0 ? 25 : i % 11 == 0 ? 32 : 24;
	}
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_many_networks(void **state)
{
	size_t sizes[] = { 1000, 6000 };
	struct nft_spec s = manhattan();

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t k = 0; k < 2; k++) {
		struct nft_net *v = many_nets(sizes[k]);
		double t0, t1;
		char *out;

		s.masq = v;
		s.n_masq = sizes[k];
		t0 = now();
		replace_ok(&s);
		t1 = now();
		assert_int_equal(nft_table_matches(&nl, &s), 1);
		print_message("%zu networks: replace %.3f s, matches %.3f s\n", sizes[k], t1 - t0,
			      now() - t1);
		assert_true(now() - t1 < 2.0);
		out = run(NULL, "nft -j list set ip gatewayctl-manhattan masq");
		/* every network listed, as a prefix (/32 as a plain address) */
		size_t prefixes = 0;
		for (size_t i = 0; i < sizes[k]; i++)
			prefixes += v[i].len != 32;
		assert_int_equal(count(out, "\"prefix\""), prefixes);
		free(out);
		sh("nft delete element ip gatewayctl-manhattan masq { 10.0.2.0/24 }");
		assert_int_equal(nft_table_matches(&nl, &s), 0);
		replace_ok(&s);
		assert_int_equal(nft_table_matches(&nl, &s), 1);
		free(v);
	}
}

static void test_failure_mapping(void **state)
{
	static const struct nft_net overlap[] = { { IP4(10, 0, 0, 0), 8 }, { IP4(10, 1, 0, 0), 16 } };
	struct nft_spec good = manhattan(), bad = manhattan();
	char err[512] = "", *before, *after;
	int ret;

	(void)state;
	SKIP_IF_NEEDED();
	bad.masq = overlap;
	bad.n_masq = 2;

	/* no table yet: nothing is created */
	ret = nft_table_replace(&nl, &bad, err, sizeof(err));
	assert_true(ret < 0);
	print_message("error: %d %s\n", ret, err);
	assert_non_null(strstr(err, "set masq"));
	assert_true(strncmp(err, "adding elements", 15) == 0);
	after = run(NULL, "nft list ruleset");
	assert_string_equal(after, "");
	free(after);

	/* a table in place: left exactly as it was */
	replace_ok(&good);
	sh("ip link set lo up && ip addr add 172.16.1.12/32 dev lo");
	{
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(IP4(172, 16, 1, 12)) };
		int fd = socket(AF_INET, SOCK_RAW, IPPROTO_IPIP);

		assert_true(fd >= 0);
		assert_true(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
		close(fd);
	}
	before = run(NULL, "nft -a list ruleset");
	assert_non_null(strstr(before, "counter packets 1 bytes 21 drop"));
	err[0] = '\0';
	assert_true(nft_table_replace(&nl, &bad, err, sizeof(err)) < 0);
	assert_true(strncmp(err, "adding elements", 15) == 0);
	after = run(NULL, "nft -a list ruleset");
	assert_string_equal(before, after);	/* counters and handles included */
	assert_int_equal(nft_table_matches(&nl, &good), 1);
	free(before);
	free(after);
	sh("ip addr flush dev lo");
}

/* The printed commands, run by a shell, build a table that matches; and the
 * same table as nft_table_replace builds. */
static void check_print(const struct nft_spec *s)
{
	char *script = NULL, *by_nft, *by_us;
	size_t len = 0;
	FILE *f = open_memstream(&script, &len);
	int st;

	assert_non_null(f);
	nft_spec_print(s, f);
	fclose(f);
	sh("nft flush ruleset");
	/* twice: the second run replaces the table the first one made */
	for (int i = 0; i < 2; i++) {
		st = sh_script(script);
		if (st != 0)
			fail_msg("printed commands failed (%d):\n%s", st, script);
		if (nft_table_matches(&nl, s) != 1)
			fail_msg("table from printed commands does not match:\n%s", script);
	}
	by_nft = run(NULL, "nft list ruleset");
	sh("nft flush ruleset");
	replace_ok(s);
	by_us = run(NULL, "nft list ruleset");
	assert_string_equal(by_nft, by_us);
	free(by_nft);
	free(by_us);
	free(script);
}

static void test_print_roundtrip(void **state)
{
	static const struct nft_net edge[] = { { IP4(255, 255, 255, 0), 24 }, { IP4(1, 2, 3, 4), 32 },
					       { IP4(10, 0, 0, 0), 8 } };
	static const struct nft_net all[] = { { 0, 0 } };
	static const char odd[][16] = { "it's", "gw-x" };
	struct nft_spec s = manhattan(), e = { .site = "empty", .lan = "eth0" };
	char *script = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	SKIP_IF_NEEDED();
	check_print(&s);
	check_print(&e);
	/* an encrypted peer: the fail-closed and IKE/ESP rules, in an output chain too */
	s.ipsec = endpoints;
	s.n_ipsec = 1;
	check_print(&s);
	s.wan_addr = 0;
	check_print(&s);
	s = manhattan();
	s.masq = edge;
	s.n_masq = 3;
	s.wan_addr = 0;
	check_print(&s);
	s.masq = all;
	s.n_masq = 1;
	s.mss_clamp = false;
	check_print(&s);
	s.tunnels = odd;	/* a quote for the shell */
	s.lan = "lan'0";
	s.mss_clamp = true;
	check_print(&s);

	/* a netmap: the prefix NAT rules and their dstnat chain */
	s = manhattan();
	s.netmap_lan = IP4(192, 168, 1, 0);
	s.netmap_to = IP4(10, 1, 1, 0);
	s.netmap_len = 24;
	check_print(&s);
	s.netmap_lan = IP4(192, 168, 0, 0);	/* not whole bytes: masked */
	s.netmap_to = IP4(10, 2, 0, 0);
	s.netmap_len = 23;
	check_print(&s);

	struct nft_net *v = many_nets(300);
	s = manhattan();
	s.masq = v;
	s.n_masq = 300;
	check_print(&s);
	free(v);

	s = manhattan();
	f = open_memstream(&script, &len);
	assert_non_null(f);
	nft_spec_print(&s, f);
	fclose(f);
	assert_non_null(strstr(script, "nft 'add rule ip gatewayctl-manhattan postrouting oifname "
				       "\"eth0\" ip saddr @masq counter snat to 192.168.1.126 "
				       "comment \"snat\"'\n"));
	free(script);
}

/* A netmap (issue 23): prefix SNAT into the tunnels, prefix DNAT out of them
 * in a nat chain at prerouting that only a site with a netmap has; the read-back
 * tells a table with another map, or none, from it. */
static void test_netmap(void **state)
{
	struct nft_spec s = manhattan(), other, none = manhattan();
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	s.netmap_lan = IP4(192, 168, 1, 0);
	s.netmap_to = IP4(10, 1, 1, 0);
	s.netmap_len = 24;
	other = s;
	other.netmap_to = IP4(10, 1, 2, 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	assert_int_equal(nft_table_matches(&nl, &other), 0);
	assert_int_equal(nft_table_matches(&nl, &none), 0);
	out = run(NULL, "nft list table ip gatewayctl-manhattan");
	assert_non_null(strstr(out, "oifname @tunnels ip saddr 192.168.1.0/24 counter packets 0 bytes 0 "
				    "snat prefix to 10.1.1.0/24 comment \"netmap-out\""));
	assert_non_null(strstr(out, "type nat hook prerouting priority dstnat; policy accept;"));
	assert_non_null(strstr(out, "iifname @tunnels ip daddr 10.1.1.0/24 counter packets 0 bytes 0 "
				    "dnat prefix to 192.168.1.0/24 comment \"netmap-in\""));
	free(out);
	/* back without the map: the dstnat chain goes */
	replace_ok(&none);
	assert_int_equal(nft_table_matches(&nl, &none), 1);
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	out = run(NULL, "nft list table ip gatewayctl-manhattan");
	assert_null(strstr(out, "dstnat"));
	free(out);
}

/* User data a table named like ours may carry: attributes (type u8, length
 * u8, value) whose lengths lie. The read-back walks only the bytes the
 * kernel returned, and a table whose user data does not parse is not ours:
 * present no, foreign yes, not listed, not deleted. */
static void test_crafted_udata(void **state)
{
	static const char owner[] = "managed by gatewayctl: site crafted";
	struct {
		const char *what;
		uint8_t data[80];
		uint32_t len;
	} cases[] = {
		{ "one comment claiming 200 bytes in 4", { 0, 200, 'a', 0 }, 4 },
		{ "a comment claiming 255 bytes in 2", { 0, 255 }, 2 },
		{ "a lone type byte", { 0 }, 1 },
		{ "the owner's comment, then a lone type byte", { 0 }, 0 },
		{ "the owner's comment, then a comment claiming 9 bytes in 2", { 0 }, 0 },
		{ "the owner's comment claiming one byte more than there is", { 0 }, 0 },
		{ "the owner's comment without its NUL", { 0 }, 0 },
	};
	size_t ol = sizeof(owner);	/* with its NUL */

	(void)state;
	SKIP_IF_NEEDED();
	/* the owner's comment as nft writes it, and broken variants after it */
	for (size_t i = 3; i < 7; i++) {
		cases[i].data[0] = 0;
		cases[i].data[1] = (uint8_t)ol;
		memcpy(cases[i].data + 2, owner, ol);
		cases[i].len = 2 + (uint32_t)ol;
	}
	cases[3].data[cases[3].len++] = 0;
	{
		static const uint8_t lying[] = { 0, 9, 'a', 'b' };

		memcpy(cases[4].data + cases[4].len, lying, sizeof(lying));
		cases[4].len += sizeof(lying);
	}
	cases[5].data[1] = (uint8_t)(ol + 1);
	cases[6].data[1] = (uint8_t)(ol - 1);
	cases[6].len--;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "", (*sites)[33] = NULL;
		struct nft_state st;
		size_t n = 9;

		print_message("case %zu: %s\n", i, cases[i].what);
		sh("nft flush ruleset");
		table_with_udata("gatewayctl-crafted", cases[i].data, cases[i].len);
		assert_int_equal(tables_named("gatewayctl-crafted"), 1);
		assert_int_equal(nft_table_read(&nl, "crafted", &st), 0);
		assert_false(st.present);
		assert_true(st.foreign);
		assert_int_equal(nft_list_sites(&nl, &sites, &n), 0);
		assert_int_equal(n, 0);
		free(sites);
		assert_int_equal(nft_table_delete(&nl, "crafted", err, sizeof(err)), -EEXIST);
		assert_non_null(strstr(err, "not gatewayctl's"));
		assert_int_equal(tables_named("gatewayctl-crafted"), 1);
		/* the command: no crash, the table left alone */
		if (access("build/test/gatewayctl", X_OK) == 0) {
			char *out;
			int rc;

			out = run(&rc, "d=$(mktemp -d) && GATEWAYCTL_RUNDIR=$d build/test/gatewayctl "
				  "down crafted 2>&1; rc=$?; rm -rf \"$d\"; exit $rc");
			if (rc > 1 || strstr(out, "Sanitizer"))
				fail_msg("gatewayctl down crafted: exit %d\n%s", rc, out);
			free(out);
			assert_int_equal(tables_named("gatewayctl-crafted"), 1);
		}
	}
	/* the well-formed comment alone is ours */
	sh("nft flush ruleset");
	{
		uint8_t good[64] = { 0, (uint8_t)ol };
		struct nft_state st;

		memcpy(good + 2, owner, ol);
		table_with_udata("gatewayctl-crafted", good, 2 + (uint32_t)ol);
		assert_int_equal(nft_table_read(&nl, "crafted", &st), 0);
		assert_true(st.present);
	}
}

/* The user-data walk on its own: every byte pattern, no kernel needed. */
static void test_udata_walk(void **state)
{
	static const struct {
		const char *what;
		uint8_t data[16];
		size_t len;
		const char *want;
	} cases[] = {
		{ "empty", { 0 }, 0, NULL },
		{ "a comment", { 0, 3, 'a', 'b', 0 }, 5, "ab" },
		{ "another attribute, then the comment", { 1, 1, 9, 0, 2, 'x', 0 }, 7, "x" },
		{ "the comment, then another attribute", { 0, 2, 'x', 0, 3, 0 }, 6, "x" },
		{ "a length past the end", { 0, 200, 'a', 0 }, 4, NULL },
		{ "a length one past the end", { 0, 3, 'a', 0 }, 4, NULL },
		{ "a lone type byte", { 0 }, 1, NULL },
		{ "a comment and a lone byte", { 0, 2, 'x', 0, 7 }, 5, NULL },
		{ "a comment without NUL", { 0, 2, 'x', 'y' }, 4, NULL },
		{ "a NUL inside", { 0, 3, 'x', 0, 0 }, 5, NULL },
		{ "two comments", { 0, 2, 'x', 0, 0, 2, 'y', 0 }, 8, NULL },
		{ "an empty comment attribute", { 0, 0 }, 2, NULL },
		{ "only another attribute", { 5, 1, 1 }, 3, NULL },
	};

	(void)state;
	assert_null(nft_udata_comment(NULL, 5));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* an exact-size copy: ASan sees any read past it */
		uint8_t *copy = malloc(cases[i].len ? cases[i].len : 1);
		const char *c;

		assert_non_null(copy);
		memcpy(copy, cases[i].data, cases[i].len);
		c = nft_udata_comment(copy, cases[i].len);
		if (cases[i].want == NULL ? c != NULL : c == NULL || strcmp(c, cases[i].want) != 0)
			fail_msg("%s: got %s", cases[i].what, c ? c : "(none)");
		free(copy);
	}
}


/* ---- IPv6 (issue 22): the ip6 table beside the ip one ------------------- */

static struct in6_addr in6(const char *text)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, text, &a), 1);
	return a;
}

/* Manhattan dual-stack: 2001:db8:1::/64 on its LAN, peers' IPv6 networks
 * SNAT66ed, one IPv6 endpoint (an ip6tnl peer), the IPv4 peers on sit. */
static struct nft_spec manhattan6(struct nft_net6 *masq6, struct in6_addr *ep6)
{
	struct nft_spec s = manhattan();

	masq6[0] = (struct nft_net6){ in6("2001:db8:2::"), 64 };
	masq6[1] = (struct nft_net6){ in6("2001:db8:3::7"), 128 };
	ep6[0] = in6("2001:db8:ff::2");
	s.sit = true;
	s.v6 = true;
	s.lan_addr6 = in6("2001:db8:1::126");
	s.masq6 = masq6;
	s.n_masq6 = 2;
	s.endpoints6 = ep6;
	s.n_endpoints6 = 1;
	s.wan_addr6 = in6("2001:db8:ff::1");
	return s;
}

static void test_v6_replace_creates(void **state)
{
	struct nft_net6 m6[2];
	struct in6_addr e6[1];
	struct nft_spec s = manhattan6(m6, e6), v4 = manhattan();
	struct nft_state st;
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&v4);
	assert_int_equal(nft_table_matches(&nl, &s), 0);	/* no ip6 table, no 6in4 rules yet */
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	assert_int_equal(nft_table_matches(&nl, &v4), 0);	/* v4 alone: the ip6 table is too much */
	out = run(NULL, "nft list table ip6 gatewayctl-manhattan");
	assert_non_null(strstr(out, "comment \"managed by gatewayctl: site manhattan\""));
	assert_non_null(strstr(out, "type ipv6_addr"));
	assert_non_null(strstr(out, "2001:db8:2::/64"));
	assert_non_null(strstr(out, "2001:db8:3::7"));
	assert_non_null(strstr(out, "oifname \"eth0\" ip6 saddr @masq counter packets 0 bytes 0 "
				    "snat to 2001:db8:1::126 comment \"snat6\""));
	assert_non_null(strstr(out, "oifname @tunnels tcp flags syn counter packets 0 bytes 0 "
				    "tcp option maxseg size set rt mtu comment \"mss-clamp6\""));
	assert_non_null(strstr(out, "meta l4proto ipencap ip6 saddr @endpoints counter packets 0 bytes 0 "
				    "accept comment \"4in6-peers\""));
	assert_non_null(strstr(out, "meta l4proto ipv6 ip6 saddr @endpoints counter packets 0 bytes 0 "
				    "accept comment \"6in6-peers\""));
	assert_non_null(strstr(out, "meta l4proto ipencap ip6 daddr 2001:db8:ff::1 counter packets 0 bytes 0 "
				    "drop comment \"4in6-other\""));
	assert_non_null(strstr(out, "meta l4proto ipv6 ip6 daddr 2001:db8:ff::1 counter packets 0 bytes 0 "
				    "drop comment \"6in6-other\""));
	assert_non_null(strstr(out, "iifname @tunnels fib saddr . iif oif missing counter packets 0 "
				    "bytes 0 drop comment \"src-check6\""));
	assert_non_null(strstr(out, "2001:db8:ff::2"));
	free(out);
	out = run(NULL, "nft list table ip gatewayctl-manhattan");
	assert_non_null(strstr(out, "ip protocol ipv6 ip saddr @endpoints counter packets 0 bytes 0 "
				    "accept comment \"6in4-peers\""));
	assert_non_null(strstr(out, "ip protocol ipv6 ip daddr 172.16.1.12 counter packets 0 bytes 0 "
				    "drop comment \"6in4-other\""));
	free(out);
	assert_int_equal(nft_table_read(&nl, "manhattan", &st), 0);
	assert_true(st.present && st.present6 && !st.foreign);
	assert_int_equal(st.n_counters, 7 + 7);
	assert_string_equal(st.counters[st.n_counters - 1].rule, "src-check6");
	/* back to IPv4 only: the ip6 table goes, in the same transaction */
	replace_ok(&v4);
	assert_int_equal(nft_table_matches(&nl, &v4), 1);
	assert_int_equal(tables_named("gatewayctl-manhattan"), 1);
	assert_int_equal(nft_table_read(&nl, "manhattan", &st), 0);
	assert_true(st.present && !st.present6);
}

static void test_v6_drift(void **state)
{
	static const char *const rules[][2] = { { "postrouting", "snat6" }, { "input", "6in6-other" },
						{ "prerouting", "src-check6" } };
	struct nft_net6 m6[2];
	struct in6_addr e6[1];
	struct nft_spec s = manhattan6(m6, e6);

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		replace_ok(&s);
		sh("nft delete rule ip6 gatewayctl-manhattan %s handle %u", rules[i][0],
		   rule_handle6(rules[i][0], rules[i][1]));
		assert_int_equal(nft_table_matches(&nl, &s), 0);
		replace_ok(&s);
		assert_int_equal(nft_table_matches(&nl, &s), 1);
	}
	sh("nft delete element ip6 gatewayctl-manhattan endpoints '{ 2001:db8:ff::2 }'");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft delete table ip6 gatewayctl-manhattan");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	/* the ip table's 6in4 rules are the site's too */
	sh("nft delete rule ip gatewayctl-manhattan input handle %u",
	   rule_handle("gatewayctl-manhattan", "input", "6in4-peers"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
}

/* Both tables go with the site; a same-named ip6 table not ours stops
 * replace and delete, and ours is left as it was. A transaction that fails
 * (overlapping IPv6 networks) leaves both tables as they were. */
static void test_v6_delete_and_foreign(void **state)
{
	struct nft_net6 m6[2], overlap[2];
	struct in6_addr e6[1];
	struct nft_spec s = manhattan6(m6, e6), bad;
	char err[512], *before, *after;

	(void)state;
	SKIP_IF_NEEDED();
	replace_ok(&s);
	bad = s;
	overlap[0] = (struct nft_net6){ in6("2001:db8:2::"), 48 };
	overlap[1] = (struct nft_net6){ in6("2001:db8:2:5::"), 64 };
	bad.masq6 = overlap;
	before = run(NULL, "nft -a list ruleset");
	assert_true(nft_table_replace(&nl, &bad, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "to set masq (ip6)"));
	after = run(NULL, "nft -a list ruleset");
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(nft_table_delete(&nl, "manhattan", err, sizeof(err)), 0);
	assert_int_equal(tables_named("gatewayctl-manhattan"), 0);
	assert_int_equal(nft_table_delete(&nl, "manhattan", err, sizeof(err)), 0);

	replace_ok(&s);
	sh("nft delete table ip6 gatewayctl-manhattan");
	sh("nft add table ip6 gatewayctl-manhattan");
	assert_int_equal(nft_table_replace(&nl, &s, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "table ip6 gatewayctl-manhattan exists but is not gatewayctl's"));
	assert_int_equal(nft_table_delete(&nl, "manhattan", err, sizeof(err)), -EEXIST);
	assert_int_equal(tables_named("gatewayctl-manhattan"), 2);
	struct nft_state st;
	assert_int_equal(nft_table_read(&nl, "manhattan", &st), 0);
	assert_true(st.present && st.foreign && !st.present6);
}

static void test_v6_print_roundtrip(void **state)
{
	struct nft_net6 m6[2], edge[4];
	struct in6_addr e6[2];
	struct nft_spec s = manhattan6(m6, e6);

	(void)state;
	SKIP_IF_NEEDED();
	check_print(&s);
	edge[0] = (struct nft_net6){ in6("ffff::"), 16 };		/* reaches the top: open */
	edge[1] = (struct nft_net6){ in6("2001:db8:9::1"), 48 };	/* host bits: masked */
	edge[2] = (struct nft_net6){ in6("2001:db8:9::"), 48 };		/* the same once masked */
	edge[3] = (struct nft_net6){ in6("::"), 8 };			/* starts at :: */
	s.masq6 = edge;
	s.n_masq6 = 4;
	e6[1] = e6[0];
	s.n_endpoints6 = 2;						/* a duplicate */
	check_print(&s);
	s.wan_addr6 = in6("::");
	s.mss_clamp = false;
	s.sit = false;
	check_print(&s);
	s.n_masq6 = 0;
	s.n_endpoints6 = 0;
	s.n_tunnels = 0;
	check_print(&s);
}

/* Encrypted peers with sit tunnels: their protocol 41 is kept closed like
 * their 4 (in without ESP, out without a policy); read back, drift, printed */
static void test_v6_ipsec(void **state)
{
	struct nft_net6 m6[2];
	struct in6_addr e6[1];
	struct nft_spec s = manhattan6(m6, e6), plain;
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	s.ipsec = endpoints;
	s.n_ipsec = 1;
	plain = s;
	plain.sit = false;
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	assert_int_equal(nft_table_matches(&nl, &plain), 0);	/* without sit: no 41 rules */
	out = run(NULL, "nft list table ip gatewayctl-manhattan");
	assert_non_null(strstr(out, "ip protocol ipencap ip saddr @encrypted meta ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-in\""));
	assert_non_null(strstr(out, "ip protocol ipv6 ip saddr @encrypted meta ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-6in4-in\""));
	assert_non_null(strstr(out, "ip protocol ipv6 ip daddr @encrypted rt ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-6in4-out\""));
	free(out);
	sh("nft delete rule ip gatewayctl-manhattan input handle %u",
	   rule_handle("gatewayctl-manhattan", "input", "ipsec-6in4-in"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft delete rule ip gatewayctl-manhattan output handle %u",
	   rule_handle("gatewayctl-manhattan", "output", "ipsec-6in4-out"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	check_print(&s);
	check_print(&plain);
}

/* An encrypted peer over IPv6 (ip6tnl): the ip6 table keeps its 4in6 and 6in6
 * closed and IKE/ESP to our IPv6 WAN address from anyone else out; the ip
 * table's set has no IPv6 endpoint in it */
static void test_v6_ipsec_over_ipv6(void **state)
{
	struct nft_net6 m6[2];
	struct in6_addr e6[1];
	struct nft_spec s = manhattan6(m6, e6), nowan;
	char *out;

	(void)state;
	SKIP_IF_NEEDED();
	s.ipsec6 = e6;
	s.n_ipsec6 = 1;
	replace_ok(&s);
	assert_int_equal(nft_table_matches(&nl, &s), 1);
	out = run(NULL, "nft list table ip6 gatewayctl-manhattan");
	assert_non_null(strstr(out, "elements = { 2001:db8:ff::2 }"));
	assert_non_null(strstr(out, "meta l4proto ipencap ip6 saddr @encrypted meta ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-4in6-in\""));
	assert_non_null(strstr(out, "meta l4proto ipv6 ip6 saddr @encrypted meta ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-6in6-in\""));
	assert_non_null(strstr(out, "ip6 daddr 2001:db8:ff::1 udp dport 500 ip6 saddr != @encrypted counter "
				    "packets 0 bytes 0 drop comment \"ike-other6\""));
	assert_non_null(strstr(out, "ip6 daddr 2001:db8:ff::1 meta l4proto esp ip6 saddr != @encrypted counter "
				    "packets 0 bytes 0 drop comment \"esp-other6\""));
	assert_non_null(strstr(out, "meta l4proto ipencap ip6 daddr @encrypted rt ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-4in6-out\""));
	assert_non_null(strstr(out, "meta l4proto ipv6 ip6 daddr @encrypted rt ipsec missing counter packets 0 "
				    "bytes 0 drop comment \"ipsec-6in6-out\""));
	/* before the rules that accept 4in6 from the peers */
	assert_true(strstr(out, "\"ipsec-4in6-in\"") < strstr(out, "\"4in6-peers\""));
	free(out);
	out = run(NULL, "nft list set ip gatewayctl-manhattan encrypted");
	assert_null(strstr(out, "elements"));
	free(out);
	sh("nft delete rule ip6 gatewayctl-manhattan output handle %u", rule_handle6("output", "ipsec-6in6-out"));
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	replace_ok(&s);
	sh("nft delete element ip6 gatewayctl-manhattan encrypted '{ 2001:db8:ff::2 }'");
	assert_int_equal(nft_table_matches(&nl, &s), 0);
	check_print(&s);
	nowan = s;
	nowan.wan_addr6 = in6("::");		/* no IPv6 WAN address: no IKE/ESP rules */
	check_print(&nowan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udata_walk),
		cmocka_unit_test_setup_teardown(test_replace_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_deleted_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_added_or_changed_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_changed_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_and_table_changed_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_only_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_same_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crafted_udata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_replace_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_drift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_delete_and_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_print_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_ipsec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_ipsec_over_ipv6, setup, teardown),
	};

	if (geteuid() != 0) {
		skip_all = true;
		skip_why = "needs root (a private network namespace)";
	} else if (unshare(CLONE_NEWNET) < 0) {
		skip_all = true;
		skip_why = "unshare(CLONE_NEWNET) failed";
	} else if (system("nft list ruleset >/dev/null 2>&1") != 0 ||
		   system("ip link show lo >/dev/null 2>&1") != 0) {
		skip_all = true;
		skip_why = "the nft and ip commands are needed as witnesses";
	}
	return cmocka_run_group_tests_name("nft", tests, NULL, NULL);
}
