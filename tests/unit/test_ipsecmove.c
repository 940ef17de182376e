/* test_ipsecmove.c - which IKE events move a peer (only our own connection,
 * established, with the peer's identity, at another IPv4 address), and how a
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
	{ "queens", "gatewayctl-manhattan_queens", A(172, 18, 3, 10) },
	{ "brooklyn", "gatewayctl-manhattan_brooklyn", A(172, 17, 2, 10) },
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

static int judge(struct vici_ike_event e, uint32_t *addr, char *why)
{
	return ikemove_judge(peers, 2, &e, addr, why, 200);
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
	/* an address that is not IPv4 */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "2001:db8::1"), &addr, why), -1);
	assert_non_null(strstr(why, "not IPv4"));
	/* where we have it already, or going down: nothing */
	assert_int_equal(judge(ev(VICI_IKE_UPDATE, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "172.17.2.10"), &addr, why), -1);
	assert_string_equal(why, "");
	assert_int_equal(judge(ev(VICI_IKE_DOWN, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn",
				  "172.17.2.11"), &addr, why), -1);
}

static void test_record(void **state)
{
	struct state st;
	struct peer p;
	char dir[] = "/tmp/gwt-ikemove.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("GATEWAYCTL_RUNDIR", dir, 1);
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
	unsetenv("GATEWAYCTL_RUNDIR");
	{
		char cmd[100];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_moves),
		cmocka_unit_test(test_judge_refuses),
		cmocka_unit_test(test_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
