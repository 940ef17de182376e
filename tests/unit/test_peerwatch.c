/* test_peerwatch.c - the watcher's periodic probes (peerwatch.c): a peer's
 * state, RTT and loss as probes end; the probes file's text and its refusals;
 * a failover recorded before its repair (peerfailover.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "peerwatch.h"
#include "state.h"

static void test_account(void **state)
{
	struct pw_peer p = { .name = "brooklyn" };

	(void)state;
	assert_int_equal(p.state, PW_UNKNOWN);
	assert_true(pw_account(&p, true, 2.0, 100));	/* unknown -> up */
	assert_int_equal(p.state, PW_UP);
	assert_int_equal(p.since, 100);
	assert_false(pw_account(&p, true, 4.0, 110));
	assert_true(p.rtt_ms == 4.0);
	assert_true(p.rtt_avg_ms == 3.0);
	/* one loss: still up (a single lost echo is no outage) */
	assert_false(pw_account(&p, false, 0, 120));
	assert_int_equal(p.state, PW_UP);
	assert_true(p.rtt_avg_ms == 3.0);
	/* the second in a row: down, once */
	assert_true(pw_account(&p, false, 0, 130));
	assert_int_equal(p.state, PW_DOWN);
	assert_int_equal(p.since, 130);
	assert_false(pw_account(&p, false, 0, 140));
	assert_int_equal(p.misses, 3);
	assert_true(pw_loss(&p) == 3.0 / 5.0);
	/* an answer: up again */
	assert_true(pw_account(&p, true, 1.0, 150));
	assert_int_equal(p.state, PW_UP);
	assert_int_equal(p.misses, 0);
	/* the history keeps the last PW_HISTORY: ten answers wipe the losses out */
	for (int i = 0; i < PW_HISTORY; i++)
		pw_account(&p, true, 1.0, 160 + i);
	assert_int_equal(p.n_history, PW_HISTORY);
	assert_true(pw_loss(&p) == 0.0);
	assert_true(p.rtt_avg_ms == 1.0);
	/* a peer never probed: no loss to speak of */
	memset(&p, 0, sizeof(p));
	assert_true(pw_loss(&p) == 0.0);
}

static void test_file_round_trip(void **state)
{
	struct pw_peer peers[2] = { { .name = "brooklyn", .addr = 0xc0a8027e }, { .name = "queens", .addr = 0xc0a8037e } };
	struct peerwatch pw = { .site = "manhattan", .p = peers, .n = 2, .interval_ms = 10000 };
	struct pw_file f;
	size_t len;
	char *text;

	(void)state;
	pw_account(&peers[0], true, 0.412, 1796000000);
	peers[0].sent = 1;
	peers[0].received = 1;
	pw_account(&peers[1], false, 0, 1796000000);
	pw_account(&peers[1], false, 0, 1796000010);
	text = peerwatch_format(&pw, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "\npeer brooklyn 192.168.2.126 up 1796000000 0.412 0.412 0.000 1 1 1\n"));
	assert_non_null(strstr(text, "\npeer queens 192.168.3.126 down 1796000010 0.000 0.000 1.000 2 0 0\n"));
	assert_int_equal(peerwatch_parse(text, len, &f), 0);
	assert_int_equal(f.pid, getpid());
	assert_int_equal(f.interval, 10);
	assert_int_equal(f.n, 2);
	assert_string_equal(pw_file_peer(&f, "queens")->name, "queens");
	assert_int_equal(pw_file_peer(&f, "queens")->state, PW_DOWN);
	assert_true(pw_file_peer(&f, "brooklyn")->rtt_ms == 0.412);
	assert_null(pw_file_peer(&f, "bronx"));
	pw_file_free(&f);
	free(text);
}

static void expect_bad(const char *text)
{
	struct pw_file f;

	if (peerwatch_parse(text, strlen(text), &f) != -EINVAL)
		fail_msg("accepted: %s", text);
}

static void test_file_refused(void **state)
{
	struct pw_file f;
	const char *good = "pid 1\ninterval 10\npeer b 10.0.0.1 up 5 1.0 1.0 0.0 3 3 3\nnew_key x\n";

	(void)state;
	assert_int_equal(peerwatch_parse(good, strlen(good), &f), 0);
	pw_file_free(&f);
	expect_bad("");						/* no pid */
	expect_bad("pid x\n");
	expect_bad("pid 1\ninterval 3601\n");
	expect_bad("pid 1\npeer b/c 10.0.0.1 up 5 1.0 1.0 0.0 3 3 3\n");
	expect_bad("pid 1\npeer b 10.0.0 up 5 1.0 1.0 0.0 3 3 3\n");
	expect_bad("pid 1\npeer b 10.0.0.1 sideways 5 1.0 1.0 0.0 3 3 3\n");
	expect_bad("pid 1\npeer b 10.0.0.1 up 5 nan 1.0 0.0 3 3 3\n");
	expect_bad("pid 1\npeer b 10.0.0.1 up 5 1.0 1.0 1.5 3 3 3\n");	/* loss over 1 */
	expect_bad("pid 1\npeer b 10.0.0.1 up 5 1.0 1.0 0.0 11 3 3\n");	/* more than the history */
	expect_bad("pid 1\npeer b 10.0.0.1 up 5 1.0 1.0 0.0 3 3 3 extra\n");
	expect_bad("pid 1\npeer b 10.0.0.1 up\n");
	expect_bad("pid 1\nnospace\n");
}

/* failover: the choices in order, the one after the endpoint in use, round the list */
static void test_next_choice(void **state)
{
	struct endpoint_item eps[2] = { { .addr = 0xac11020b }, { .name = "b.example", .addrs = { 0xac11020a, 0xac11020c },
								 .n_addrs = 2 } };
	struct peer sp = { .eps = eps, .n_eps = 2 };
	struct pw_peer p = { .name = "b" };

	(void)state;
	pw_choices(&p, &sp);
	assert_int_equal(p.n_choices, 3);
	p.endpoint = 0xac11020b;
	assert_int_equal(pw_next_choice(&p), 0xac11020a);
	p.endpoint = 0xac11020c;
	assert_int_equal(pw_next_choice(&p), 0xac11020b);	/* round the list */
	p.endpoint = 0x01020304;				/* not among them: the first */
	assert_int_equal(pw_next_choice(&p), 0xac11020b);
	sp.n_eps = 1;						/* one address: nothing to fail over to */
	pw_choices(&p, &sp);
	assert_int_equal(pw_next_choice(&p), 0);
}

/* the same over IPv6 (issue 22): a list of IPv6 addresses and a name's AAAA */
static void test_next_choice_ipv6(void **state)
{
	struct endpoint_item eps[2] = { { .ipv6 = true }, { .name = "b.example", .n_addrs = 2 } };
	struct peer sp = { .eps = eps, .n_eps = 2, .endpoint_v6 = true };
	struct pw_peer p = { .name = "b" };
	uint8_t next[16];

	(void)state;
	parse_ip6("2001:db8::b", eps[0].addr6);
	parse_ip6("2001:db8::a", eps[1].addrs6[0]);
	parse_ip6("2001:db8::c", eps[1].addrs6[1]);
	pw_choices(&p, &sp);
	assert_int_equal(p.n_choices, 3);
	assert_true(p.v6);
	assert_int_equal(pw_next_choice(&p), 0);	/* no IPv4 choice */
	memcpy(p.endpoint6, eps[0].addr6, 16);
	assert_true(pw_next_choice6(&p, next));
	assert_memory_equal(next, eps[1].addrs6[0], 16);
	memcpy(p.endpoint6, eps[1].addrs6[1], 16);
	assert_true(pw_next_choice6(&p, next));
	assert_memory_equal(next, eps[0].addr6, 16);	/* round the list */
	sp.n_eps = 1;
	pw_choices(&p, &sp);
	assert_false(pw_next_choice6(&p, next));
}

/* A failover is recorded in the state before the repair that applies it; a
 * state that cannot be written fails that repair (with why) and keeps the
 * failover pending for its retry, instead of repairing as if nothing moved. */
static void test_prepare_records(void **state)
{
	char dir[] = "/tmp/gwt-pwprep.XXXXXX", why[300] = "", cmd[100];
	struct pw_peer p = { .name = "brooklyn", .endpoint = 0xac11020b, .failover_to = 0xac11020a };
	struct peerwatch pw = { .site = "manhattan", .p = &p, .n = 1 };
	struct site site = { .name = "manhattan" };
	struct state st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("GATEWAYCTL_RUNDIR", dir, 1);
	state_init(&st, "manhattan");	/* an up site's state */
	snprintf(st.file, sizeof(st.file), "/etc/gatewayctl/manhattan.ini");
	assert_int_equal(state_write(&st), 0);
	/* a state directory anyone may write to: refused, the failover waits */
	assert_int_equal(strncmp(state_dir(), dir, strlen(dir)), 0);
	assert_int_equal(chmod(state_dir(), 0777), 0);
	state_close_dirs();	/* opened again, checked again */
	assert_int_equal(peerwatch_prepare(&pw, &site, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot record the peers' next endpoints in the state file of site manhattan"));
	assert_int_equal(p.failover_to, 0xac11020a);
	/* the retry, the directory mended: recorded, no longer pending */
	assert_int_equal(chmod(state_dir(), 0755), 0);
	state_close_dirs();
	assert_int_equal(peerwatch_prepare(&pw, &site, why, sizeof(why)), 0);
	assert_int_equal(p.failover_to, 0);
	assert_int_equal(state_read("manhattan", &st), 0);
	assert_int_equal(st.n_endpoints, 1);
	assert_string_equal(st.endpoints[0].peer, "brooklyn");
	assert_int_equal(st.endpoints[0].addr, 0xac11020a);
	assert_false(st.endpoints[0].v6);
	/* an IPv6 failover: recorded as an IPv6 address */
	p.v6 = true;
	parse_ip6("2001:db8:ffff:2::13", p.failover_to6);
	assert_int_equal(peerwatch_prepare(&pw, &site, why, sizeof(why)), 0);
	assert_true(ip6_zero(p.failover_to6));
	assert_int_equal(state_read("manhattan", &st), 0);
	assert_true(st.endpoints[0].v6);
	assert_int_equal(st.endpoints[0].addr6[15], 0x13);
	/* nothing pending: the state is not touched */
	assert_int_equal(chmod(state_dir(), 0777), 0);
	state_close_dirs();
	assert_int_equal(peerwatch_prepare(&pw, &site, why, sizeof(why)), 0);
	state_close_dirs();
	unsetenv("GATEWAYCTL_RUNDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* a reload keeps a peer's history while its endpoint stays; an IPv6
 * endpoint that moves starts it afresh, as an IPv4 one does (issue 22) */
static void test_reload_ipv6_endpoint(void **state)
{
	struct peerwatch pw;
	struct site site;

	(void)state;
	assert_int_equal(config_load("sites/ipv6-wan/manhattan.ini", &site, stderr), 0);
	peerwatch_init(&pw, "manhattan");
	assert_int_equal(peerwatch_reload(&pw, &site), 0);
	assert_int_equal(pw.n, 1);
	pw.p[0].n_history = 3;
	assert_int_equal(peerwatch_reload(&pw, &site), 0);
	assert_int_equal(pw.p[0].n_history, 3);
	site.peers[0].endpoint6[15] ^= 1;
	assert_int_equal(peerwatch_reload(&pw, &site), 0);
	assert_int_equal(pw.p[0].n_history, 0);
	pw.site[0] = '\0';	/* (no probes file to remove) */
	peerwatch_free(&pw);
	config_free(&site);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_refused),
		cmocka_unit_test(test_next_choice),
		cmocka_unit_test(test_next_choice_ipv6),
		cmocka_unit_test(test_reload_ipv6_endpoint),
		cmocka_unit_test(test_prepare_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
