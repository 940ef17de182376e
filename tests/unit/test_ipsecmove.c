/* test_ipsecmove.c - which IKE events move a peer (only our own connection,
 * established, with the peer's identity, at another address of the peer's
 * family, IPv4 or IPv6), and how a
 * move is recorded in the state (the file's choice it stands for kept, a peer
 * back home loses its `ike`); the state file keeps it. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipsecmove.h"
#include "state.h"

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct ike_peer peers[] = {
	{ .name = "queens", .conn = "gatewayctl-manhattan_queens", .endpoint = A(172, 18, 3, 10) },
	{ .name = "brooklyn", .conn = "gatewayctl-manhattan_brooklyn", .endpoint = A(172, 17, 2, 10) },
	/* an IPv6 peer (ip6tnl): 2001:db8:2::10 */
	{ .name = "bronx", .conn = "gatewayctl-manhattan_bronx", .v6 = true,
	  .endpoint6 = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0x10 } },
};

static struct vici_ike_event ev(enum vici_ike_kind kind, const char *conn, const char *state, const char *id,
				const char *remote)
{
	struct vici_ike_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	snprintf(e.conn, sizeof(e.conn), "%s", conn);
	snprintf(e.state, sizeof(e.state), "%s", state);
	snprintf(e.remote_id, sizeof(e.remote_id), "%s", id);
	snprintf(e.remote_host, sizeof(e.remote_host), "%s", remote);
	return e;
}

static uint8_t judged6[16];	/* the IPv6 address of the last judge() */

static int judge(struct vici_ike_event e, uint32_t *addr, char *why)
{
	return ikemove_judge(peers, 3, &e, addr, judged6, why, 200);
}

static void assert_ip6(const uint8_t a[16], const char *text)
{
	uint8_t want[16];

	assert_int_equal(parse_ip6(text, want), 0);
	assert_memory_equal(a, want, 16);
}

static void test_judge_moves(void **state)
{
	uint32_t addr = 0;
	char why[200];

	(void)state;
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "172.17.2.11"), &addr, why), 1);
	assert_int_equal(addr, A(172, 17, 2, 11));
	/* an SA established (or listed) at another address */
	assert_int_equal(judge(ev(VICI_IKE_UP, "gatewayctl-manhattan_queens", "ESTABLISHED", "queens",
				  "10.9.9.9"), &addr, why), 0);
	assert_int_equal(judge(ev(VICI_IKE_LISTED, "gatewayctl-manhattan_queens", "ESTABLISHED", "queens",
				  "10.9.9.9"), &addr, why), 0);
}

static void test_judge_refuses(void **state)
{
	uint32_t addr = 0;
	char why[200];

	(void)state;
	/* another connection (not ours, or another site's), silently */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "foreign", "ESTABLISHED", "brooklyn", "172.17.2.11"), &addr,
			       why), -1);
	assert_string_equal(why, "");
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-queens_brooklyn", "ESTABLISHED", "brooklyn",
				  "172.17.2.11"), &addr, why), -1);
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn2", "ESTABLISHED", "brooklyn",
				  "172.17.2.11"), &addr, why), -1);
	/* ours, but not established: not authenticated */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "CONNECTING", "brooklyn",
				  "172.17.2.11"), &addr, why), -1);
	assert_non_null(strstr(why, "CONNECTING, not established"));
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "", "brooklyn",
				  "172.17.2.11"), &addr, why), -1);
	/* another identity */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "queens",
				  "172.17.2.11"), &addr, why), -1);
	assert_non_null(strstr(why, "authenticated `queens`, not `brooklyn`"));
	/* an IPv4 peer at an IPv6 address: a tunnel does not change family */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "2001:db8::1"), &addr, why), -1);
	assert_non_null(strstr(why, "`2001:db8::1` is IPv6, peer brooklyn's endpoint is IPv4"));
	/* not an address at all */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "%any"), &addr, why), -1);
	assert_non_null(strstr(why, "neither IPv4 nor IPv6"));
	/* where we have it already, or going down: nothing */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "172.17.2.10"), &addr, why), -1);
	assert_string_equal(why, "");
	assert_int_equal(judge(ev(VICI_IKE_DOWN, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "172.17.2.11"), &addr, why), -1);
}

static void test_judge6(void **state)
{
	uint32_t addr = 1;
	char why[200];

	(void)state;
	/* an IPv6 peer moves within IPv6 */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_bronx", "ESTABLISHED", "bronx",
				  "2001:db8:2::11"), &addr, why), 2);
	assert_ip6(judged6, "2001:db8:2::11");
	assert_int_equal(addr, 0);
	assert_int_equal(judge(ev(VICI_IKE_LISTED, "gatewayctl-manhattan_bronx", "ESTABLISHED", "bronx",
				  "2001:db8:9::1"), &addr, why), 2);
	assert_ip6(judged6, "2001:db8:9::1");
	/* where we have it (written another way): nothing, silently */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_bronx", "ESTABLISHED", "bronx",
				  "2001:0db8:2:0::10"), &addr, why), -1);
	assert_string_equal(why, "");
	/* an IPv6 peer at an IPv4 address: refused, said */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_bronx", "ESTABLISHED", "bronx",
				  "172.17.2.11"), &addr, why), -1);
	assert_non_null(strstr(why, "`172.17.2.11` is IPv4, peer bronx's endpoint is IPv6"));
	/* the same checks as IPv4's: established, the peer's identity */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_bronx", "CONNECTING", "bronx",
				  "2001:db8:2::11"), &addr, why), -1);
	assert_non_null(strstr(why, "not established"));
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_bronx", "ESTABLISHED", "brooklyn",
				  "2001:db8:2::11"), &addr, why), -1);
	assert_non_null(strstr(why, "authenticated `brooklyn`, not `bronx`"));
	assert_int_equal(judge(ev(VICI_IKE_DOWN, "gatewayctl-manhattan_bronx", "ESTABLISHED", "bronx",
				  "2001:db8:2::11"), &addr, why), -1);
}

/* An IPv6 peer's move: `endpoint bronx ADDR6 TTL ike BASE6`, kept by the file */
static void test_record6(void **state)
{
	struct state st;
	struct peer p;
	char *text;
	size_t len;
	uint8_t a[16];

	(void)state;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "bronx");
	p.endpoint_v6 = true;
	parse_ip6("2001:db8:2::10", p.endpoint6);
	state_init(&st, "manhattan");
	snprintf(st.file, sizeof(st.file), "/etc/gatewayctl/manhattan.ini");
	/* a fixed endpoint: a new IPv6 line, the file's address as base */
	parse_ip6("2001:db8:2::11", a);
	ikemove_record6(&st, &p, a);
	assert_int_equal(st.n_endpoints, 1);
	assert_true(st.endpoints[0].v6);
	assert_int_equal(st.endpoints[0].addr, 0);
	assert_int_equal(st.endpoints[0].ike_base, 0);
	assert_ip6(st.endpoints[0].addr6, "2001:db8:2::11");
	assert_ip6(st.endpoints[0].ike_base6, "2001:db8:2::10");
	/* moved again: the base stays the file's */
	parse_ip6("2001:db8:2::12", a);
	ikemove_record6(&st, &p, a);
	assert_ip6(st.endpoints[0].addr6, "2001:db8:2::12");
	assert_ip6(st.endpoints[0].ike_base6, "2001:db8:2::10");
	text = state_format(&st, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nendpoint bronx 2001:db8:2::12 0 ike 2001:db8:2::10\n"));
	free(text);
	/* the state file keeps it */
	assert_int_equal(state_write(&st), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(state_read("manhattan", &st), 0);
	assert_int_equal(st.n_endpoints, 1);
	assert_true(st.endpoints[0].v6);
	assert_ip6(st.endpoints[0].addr6, "2001:db8:2::12");
	assert_ip6(st.endpoints[0].ike_base6, "2001:db8:2::10");
	/* back home: no ike any more, the line an IPv6 one as before */
	parse_ip6("2001:db8:2::10", a);
	ikemove_record6(&st, &p, a);
	assert_ip6(st.endpoints[0].addr6, "2001:db8:2::10");
	assert_true(ip6_zero(st.endpoints[0].ike_base6));
	text = state_format(&st, &len);
	assert_non_null(strstr(text, "\nendpoint bronx 2001:db8:2::10 0\n"));
	free(text);
	/* a named peer's IPv6 line (the AAAA in use, TTL 60): that address is the base */
	st.endpoints[0].ttl = 60;
	memset(p.endpoint6, 0, 16);
	parse_ip6("2001:db8:2::20", a);
	ikemove_record6(&st, &p, a);
	assert_ip6(st.endpoints[0].ike_base6, "2001:db8:2::10");
	assert_int_equal(st.endpoints[0].ttl, 60);
	state_init(&st, "manhattan");
	assert_int_equal(state_write(&st), 0);
}

/* Lines that mix the families are not read: an IPv6 base on an IPv4 line, an
 * IPv4 base on an IPv6 one, an IPv6 base that is :: */
static void test_read_mixed(void **state)
{
	static const char *bad[] = {
		"endpoint bronx 2001:db8:2::12 0 ike 172.17.2.10\n",
		"endpoint brooklyn 172.17.2.11 0 ike 2001:db8:2::10\n",
		"endpoint bronx 2001:db8:2::12 0 ike ::\n",
	};
	struct state st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");

		state_init(&st, "manhattan");
		state_parse(f, &st);
		fclose(f);
		assert_int_equal(st.n_endpoints, 0);
	}
}

static void test_record(void **state)
{
	struct state st;
	struct peer p;

	(void)state;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "brooklyn");
	p.endpoint = A(172, 17, 2, 10);
	state_init(&st, "manhattan");
	snprintf(st.file, sizeof(st.file), "/etc/gatewayctl/manhattan.ini");	/* an up site's */
	/* a fixed endpoint: a new line, the file's address as base */
	ikemove_record(&st, &p, A(172, 17, 2, 11));
	assert_int_equal(st.n_endpoints, 1);
	assert_int_equal(st.endpoints[0].addr, A(172, 17, 2, 11));
	assert_int_equal(st.endpoints[0].ike_base, A(172, 17, 2, 10));
	/* moved again: the base stays the file's */
	ikemove_record(&st, &p, A(172, 17, 2, 12));
	assert_int_equal(st.n_endpoints, 1);
	assert_int_equal(st.endpoints[0].addr, A(172, 17, 2, 12));
	assert_int_equal(st.endpoints[0].ike_base, A(172, 17, 2, 10));
	/* the state file keeps it */
	assert_int_equal(state_write(&st), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(state_read("manhattan", &st), 0);
	assert_int_equal(st.n_endpoints, 1);
	assert_string_equal(st.endpoints[0].peer, "brooklyn");
	assert_int_equal(st.endpoints[0].addr, A(172, 17, 2, 12));
	assert_int_equal(st.endpoints[0].ike_base, A(172, 17, 2, 10));
	/* back home: no ike any more */
	ikemove_record(&st, &p, A(172, 17, 2, 10));
	assert_int_equal(st.endpoints[0].addr, A(172, 17, 2, 10));
	assert_int_equal(st.endpoints[0].ike_base, 0);
	/* a named peer's line (the DNS's address in use): that address is the base */
	snprintf(st.endpoints[0].peer, sizeof(st.endpoints[0].peer), "queens");
	st.endpoints[0].addr = A(10, 1, 1, 1);
	st.endpoints[0].ttl = 60;
	snprintf(p.name, sizeof(p.name), "queens");
	p.endpoint = 0;
	ikemove_record(&st, &p, A(10, 1, 1, 2));
	assert_int_equal(st.endpoints[0].addr, A(10, 1, 1, 2));
	assert_int_equal(st.endpoints[0].ike_base, A(10, 1, 1, 1));
	assert_int_equal(st.endpoints[0].ttl, 60);
	assert_int_equal(state_write(&st), 0);
	assert_int_equal(state_read("manhattan", &st), 0);
	assert_int_equal(st.endpoints[0].ike_base, A(10, 1, 1, 1));
	/* a line without ike (an older gatewayctl's) still reads */
	st.endpoints[0].ike_base = 0;
	assert_int_equal(state_write(&st), 0);
	assert_int_equal(state_read("manhattan", &st), 0);
	assert_int_equal(st.n_endpoints, 1);
	assert_int_equal(st.endpoints[0].addr, A(10, 1, 1, 2));
	assert_int_equal(st.endpoints[0].ike_base, 0);
	state_init(&st, "manhattan");
	assert_int_equal(state_write(&st), 0);	/* empty: the file goes */
}

/* one run directory for the whole group (the state module keeps the first) */
static char rundir[] = "/tmp/gwt-ikemove.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(rundir))
		return -1;
	return setenv("GATEWAYCTL_RUNDIR", rundir, 1);
}

static int teardown(void **state)
{
	char cmd[100];

	(void)state;
	unsetenv("GATEWAYCTL_RUNDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_moves),
		cmocka_unit_test(test_judge_refuses),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_judge6),
		cmocka_unit_test(test_record6),
		cmocka_unit_test(test_read_mixed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
