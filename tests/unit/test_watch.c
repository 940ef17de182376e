/* test_watch.c - `gatewayctl watch` without root: the loop's sources,
 * debounce and backoff (watchloop.c), which kernel events concern a site
 * (watchsrc.c), the state file's text (watchstate.c). */
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
#include <linux/netfilter/nf_tables.h>
#include <cmocka.h>

#include "config.h"
#include "gatewayctl.h"
#include "proc.h"
#include "rtnl.h"
#include "watch.h"
#include "watchloop.h"
#include "watchstate.h"

/* ---- the loop ---------------------------------------------------------- */

struct counts {
	int repairs, ready, stop_after;
	enum wl_result result;
	char last_why[1024];
	int pipe[2];
};

static enum wl_result count_repair(struct wl *l, void *ctx, const char *why)
{
	struct counts *c = ctx;

	c->repairs++;
	snprintf(c->last_why, sizeof(c->last_why), "%s", why);
	if (c->repairs >= c->stop_after)
		wl_stop(l);
	return c->result;
}

static size_t pipe_fds(void *ctx, struct pollfd *out, size_t max)
{
	struct counts *c = ctx;

	assert_true(max >= 1);
	out[0] = (struct pollfd){ .fd = c->pipe[0], .events = POLLIN };
	return 1;
}

/* every byte on the pipe is an event asking for a repair */
static void pipe_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct counts *c = ctx;
	char buf[64];
	ssize_t got;

	(void)now;
	assert_int_equal(n, 1);
	assert_true(fds[0].revents & POLLIN);
	c->ready++;
	got = read(c->pipe[0], buf, sizeof(buf));
	for (ssize_t i = 0; i < got; i++) {
		char why[32];

		snprintf(why, sizeof(why), "event %c", buf[i]);
		wl_request(l, why, false);
	}
}

static void test_burst_one_repair(void **state)
{
	struct counts c = { .stop_after = 1, .result = WL_DONE };
	struct wl l;

	(void)state;
	assert_int_equal(pipe(c.pipe), 0);
	wl_init(&l, count_repair, &c);
	assert_int_equal(wl_add(&l, &(struct wl_source){ .name = "pipe", .ctx = &c, .fds = pipe_fds,
						   .ready = pipe_ready }), 0);
	/* a burst: three events in one read, one more the same */
	assert_int_equal(write(c.pipe[1], "abca", 4), 4);
	assert_int_equal(wl_run(&l), 0);
	assert_int_equal(c.repairs, 1);
	assert_string_equal(c.last_why, "event a; event b; event c");
	assert_int_equal(l.backoff_ms, 0);
	assert_true(l.repair_at == WL_NEVER);
	assert_int_equal(l.asked_at, 0);
	close(c.pipe[0]);
	close(c.pipe[1]);
}

static enum wl_result never_called(struct wl *l, void *ctx, const char *why)
{
	(void)l;
	(void)ctx;
	(void)why;
	fail();
	return WL_DONE;
}

static void test_timeout(void **state)
{
	struct wl l;

	(void)state;
	assert_int_equal(wl_timeout(WL_NEVER, 5), -1);	/* nothing scheduled: sleep for good */
	assert_int_equal(wl_timeout(5, 10), 0);
	assert_int_equal(wl_timeout(10, 10), 0);
	assert_int_equal(wl_timeout(1010, 10), 1000);
	assert_int_equal(wl_timeout(UINT64_MAX - 1, 0), 2147483647);
	wl_init(&l, never_called, NULL);
	assert_true(l.repair_at == WL_NEVER);
	for (int i = 0; i < WL_MAX_SOURCES; i++)
		assert_int_equal(wl_add(&l, &(struct wl_source){ .name = "x" }), 0);
	assert_int_equal(wl_add(&l, &(struct wl_source){ .name = "one too many" }), -ENOSPC);
}

/* run the loop until its repair ran once more (the next one forced due now) */
static void run_once(struct wl *l, struct counts *c)
{
	c->stop_after = c->repairs + 1;
	l->stop = false;
	l->repair_at = 0;
	assert_int_equal(wl_run(l), 0);
}

static void test_backoff(void **state)
{
	struct counts c = { .result = WL_FAILED };
	uint64_t expect = WL_BACKOFF_MIN_MS, at;
	struct wl l;

	(void)state;
	wl_init(&l, count_repair, &c);
	wl_request(&l, "first", false);
	for (int i = 0; i < 10; i++) {
		run_once(&l, &c);
		assert_int_equal(l.backoff_ms, expect);
		at = l.repair_at;
		assert_true(at >= mono_ms() + expect - 50 && at <= mono_ms() + expect);
		/* the reason is kept for the retry */
		assert_string_equal(c.last_why, "first");
		/* an event while backing off waits for the retry */
		wl_request(&l, "first", false);
		assert_true(l.repair_at == at);
		expect = expect * 2 > WL_BACKOFF_MAX_MS ? WL_BACKOFF_MAX_MS : expect * 2;
	}
	assert_int_equal(l.backoff_ms, WL_BACKOFF_MAX_MS);
	/* an urgent request (SIGHUP) does not wait */
	wl_request(&l, "SIGHUP", true);
	assert_int_equal(l.backoff_ms, 0);
	assert_true(l.repair_at <= mono_ms());
	/* success ends the backoff */
	c.result = WL_DONE;
	run_once(&l, &c);
	assert_string_equal(c.last_why, "first; SIGHUP");
	assert_int_equal(l.backoff_ms, 0);
	assert_true(l.repair_at == WL_NEVER);
}

static void test_busy(void **state)
{
	struct counts c = { .result = WL_BUSY };
	struct wl l;
	uint64_t asked;

	(void)state;
	wl_init(&l, count_repair, &c);
	wl_request(&l, "route deleted", false);
	asked = l.asked_at;
	run_once(&l, &c);
	/* the lock was taken: again soon, not a failure, the first event's time kept */
	assert_int_equal(l.backoff_ms, 0);
	assert_true(l.repair_at <= mono_ms() + WL_BUSY_RETRY_MS);
	assert_true(l.repair_at + 50 >= mono_ms() + WL_BUSY_RETRY_MS);
	assert_int_equal(l.asked_at, asked);
	c.result = WL_DONE;
	run_once(&l, &c);
	assert_string_equal(c.last_why, "route deleted");
}

/* a source's deadline wakes the loop without any descriptor */
struct timer {
	uint64_t at;
	int fired;
};

static uint64_t timer_deadline(void *ctx)
{
	return ((struct timer *)ctx)->at;
}

static void timer_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct timer *t = ctx;

	(void)fds;
	assert_int_equal(n, 0);
	assert_true(now >= t->at);
	t->fired++;
	t->at = WL_NEVER;
	wl_stop(l);
}

static void test_deadline_source(void **state)
{
	struct timer t = { .at = mono_ms() + 30 };
	struct wl l;
	uint64_t t0 = mono_ms();

	(void)state;
	wl_init(&l, never_called, NULL);
	wl_add(&l, &(struct wl_source){ .name = "timer", .ctx = &t, .deadline = timer_deadline, .ready = timer_ready });
	assert_int_equal(wl_run(&l), 0);
	assert_int_equal(t.fired, 1);
	assert_true(mono_ms() - t0 >= 30);
	assert_true(l.wakeups <= 2);
}

/* ---- which events are the site's ------------------------------------------ */

static const char site_text[] =
	"[site]\nname = manhattan\nlan = eth0\nlan_address = 192.168.1.126/24\nwan = eth1\n"
	"wan_address = 172.16.1.12/27\ngateway = 172.16.1.30\n"
	"[peer brooklyn]\nendpoint = 172.17.2.10\nnetworks = 192.168.2.0/24\ntunnel = gw-brooklyn\n"
	"[peer queens]\nendpoint = 172.18.3.10\nnetworks = 192.168.3.0/24\n";

static struct mon_event link_ev(const char *name, bool removed)
{
	struct mon_event ev = { .kind = MON_LINK, .removed = removed };

	snprintf(ev.link.name, sizeof(ev.link.name), "%s", name);
	return ev;
}

static struct mon_event route_ev(uint32_t dst, uint8_t len, uint8_t proto)
{
	return (struct mon_event){ .kind = MON_ROUTE, .removed = true,
				   .route = { .dst = dst, .dst_len = len, .protocol = proto } };
}

static struct mon_event nft_ev(const char *table, uint16_t msg)
{
	struct mon_event ev = { .kind = MON_NFT, .nft = { .msg = msg, .family = 2 } };

	snprintf(ev.nft.table, sizeof(ev.nft.table), "%s", table);
	return ev;
}

static void test_events(void **state)
{
	struct watch w = { .name = "manhattan" };
	struct site site;
	struct mon_event ev;
	char why[160];

	(void)state;
	assert_int_equal(config_parse(site_text, sizeof(site_text) - 1, "m.ini", &site, stderr), 0);
	watch_interest(&w, &site);
	ev = link_ev("gw-brooklyn", true);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	assert_string_equal(why, "link gw-brooklyn deleted");
	ev = link_ev("gw-queens", false);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = link_ev("eth1", false);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = link_ev("foreign0", true);
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = route_ev(0xc0a80200, 24, RTPROT_GATEWAYCTL);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	assert_string_equal(why, "route 192.168.2.0/24 deleted");
	ev = route_ev(0x0a630000, 16, 4);	/* a foreign route */
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = route_ev(0xac11020a, 32, 4);	/* the bogus host route to an endpoint */
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = route_ev(0xac110209, 32, 4);
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = nft_ev("gatewayctl-manhattan", NFT_MSG_DELTABLE);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = nft_ev("gatewayctl-manhattanx", NFT_MSG_DELTABLE);
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = nft_ev("nat", NFT_MSG_DELRULE);
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = nft_ev("", NFT_MSG_NEWGEN);	/* every batch ends with one: not ours */
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = (struct mon_event){ .kind = MON_NETCONF,
				 .netconf = { .family = AF_INET6, .ifindex = MON_NETCONF_ALL, .forwarding = 0 } };
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));	/* IPv6's too (issue 22) */
	assert_string_equal(why, "IPv6 forwarding turned off");
	ev = (struct mon_event){ .kind = MON_ROUTE6, .removed = true, .route6 = { .protocol = RTPROT_GATEWAYCTL } };
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev.route6.protocol = 2;	/* RTPROT_KERNEL */
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = (struct mon_event){ .kind = MON_NETCONF,
				 .netconf = { .family = AF_INET, .ifindex = MON_NETCONF_ALL, .forwarding = 0 } };
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	assert_string_equal(why, "forwarding turned off");
	ev = (struct mon_event){ .kind = MON_LOST };
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	/* the site down: only our table's return (the next up) counts */
	watch_interest(&w, NULL);
	ev = link_ev("gw-brooklyn", false);
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = route_ev(0xc0a80200, 24, 4);
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	ev = nft_ev("gatewayctl-manhattan", NFT_MSG_NEWTABLE);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	watch_free(&w);
	config_free(&site);
}

/* a peer over IPv6 (issue 22): a /128 host route to its endpoint (a bogus
 * route into a tunnel, or one taking the underlay away) is ours */
static void test_events_ipv6_endpoint(void **state)
{
	struct watch w = { .name = "manhattan" };
	struct site site;
	struct mon_event ev = { .kind = MON_ROUTE6, .route6 = { .dst_len = 128, .protocol = 3 } };
	char why[160];

	(void)state;
	assert_int_equal(config_load("sites/ipv6-wan/manhattan.ini", &site, stderr), 0);
	watch_interest(&w, &site);
	assert_int_equal(w.n_endpoints6, 1);
	assert_int_equal(w.n_endpoints, 0);
	memcpy(&ev.route6.dst, site.peers[0].endpoint6, 16);
	assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
	assert_string_equal(why, "a host route to peer endpoint 2001:db8:ffff:2::10");
	ev.route6.dst.s6_addr[15] ^= 1;		/* another host's */
	assert_false(watch_event_ours(&w, &ev, why, sizeof(why)));
	watch_free(&w);
	config_free(&site);
}

/* the lists follow the configuration: one peer, then three (ASan watches the sizes) */
static void test_interest_grows(void **state)
{
	static const char head[] = "[site]\nname = manhattan\nlan = eth0\nlan_address = 192.168.1.126/24\n"
				   "wan = eth1\nwan_address = 172.16.1.12/27\n";
	struct watch w = { .name = "manhattan" };
	char text[1024], why[160];
	struct mon_event ev;

	(void)state;
	for (int peers = 1; peers <= 3; peers += 2) {
		struct site site;
		size_t n = (size_t)snprintf(text, sizeof(text), "%s", head);

		for (int i = 0; i < peers; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "[peer p%d]\nendpoint = 172.18.%d.10\n"
					      "networks = 10.%d.0.0/16\n", i, i, i);
		assert_int_equal(config_parse(text, n, "m.ini", &site, stderr), 0);
		watch_interest(&w, &site);
		assert_int_equal(w.n_names, (size_t)peers + 2);
		ev = link_ev(peers == 3 ? "gw-p2" : "gw-p0", true);
		assert_true(watch_event_ours(&w, &ev, why, sizeof(why)));
		config_free(&site);
	}
	watch_free(&w);
}

/* ---- the state file -------------------------------------------------------- */

static void test_state_text(void **state)
{
	struct watch_state ws = { .pid = 4242, .start_ticks = 987654321, .started = 1796000000, .checks = 12,
				  .repairs = 3, .failures = 1, .last_repair = 1796000100, .backoff_ms = 4000 };
	struct watch_state back;
	char *text, bad[256];
	size_t len;

	(void)state;
	strcpy(ws.boot_id, "0f3c0b6e-1111-2222-3333-444455556666");
	strcpy(ws.last_what, "route 192.168.2.0/24 via gw-brooklyn is missing\nforged 1");
	strcpy(ws.watching, "last confirmed configuration");
	text = watchstate_format(&ws, &len);
	assert_non_null(text);
	assert_int_equal(watchstate_parse(text, len, &back), 0);
	assert_int_equal(back.pid, 4242);
	assert_int_equal(back.start_ticks, 987654321);
	assert_int_equal(back.repairs, 3);
	assert_int_equal(back.backoff_ms, 4000);
	/* a line break in a value cannot forge a field */
	assert_string_equal(back.last_what, "route 192.168.2.0/24 via gw-brooklyn is missing?forged 1");
	assert_string_equal(back.watching, "last confirmed configuration");
	assert_string_equal(back.boot_id, ws.boot_id);
	free(text);
	/* garbled: refused, never read outside the buffer */
	assert_int_equal(watchstate_parse("", 0, &back), -EINVAL);	/* no pid */
	assert_int_equal(watchstate_parse("pid x\n", 6, &back), -EINVAL);
	assert_int_equal(watchstate_parse("pid -3\n", 7, &back), -EINVAL);
	assert_int_equal(watchstate_parse("pid 3\nrepairs -1\n", 17, &back), -EINVAL);
	assert_int_equal(watchstate_parse("pid 3\nnospace\n", 14, &back), -EINVAL);
	assert_int_equal(watchstate_parse("pid 3\nfuture_key 1\n", 19, &back), 0);
	assert_int_equal(watchstate_parse("pid 3", 3, &back), -EINVAL);	/* cut: "pid" */
	memset(bad, 'a', sizeof(bad));
	memcpy(bad, "pid 3\nwatching ", 15);
	assert_int_equal(watchstate_parse(bad, sizeof(bad), &back), -EINVAL);	/* too long a value */
	/* our own process is alive; a made-up start time is not us */
	memset(&ws, 0, sizeof(ws));
	ws.pid = getpid();
	proc_stat(ws.pid, &ws.start_ticks, NULL);
	proc_boot_id(ws.boot_id);
	assert_true(watchstate_alive(&ws));
	ws.start_ticks++;
	assert_false(watchstate_alive(&ws));
}

/* the engine's messages as one log line (util.c's one_line) */
static void test_one_line(void **state)
{
	char out[64], small[8];

	(void)state;
	one_line("gatewayctl watch: step 2 of 5 failed\n  kernel: File exists\ngatewayctl watch: rolled back\n",
		 "gatewayctl watch: ", out, sizeof(out));
	assert_string_equal(out, "step 2 of 5 failed; kernel: File exists; rolled back");
	one_line("a\tb\x01" "c", NULL, out, sizeof(out));
	assert_string_equal(out, "a b c");
	one_line("gatewayctl watch: ", "gatewayctl watch: ", out, sizeof(out));
	assert_string_equal(out, "");
	one_line("0123456789", NULL, small, sizeof(small));
	assert_string_equal(small, "0123456");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_one_repair),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_deadline_source),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_events_ipv6_endpoint),
		cmocka_unit_test(test_interest_grows),
		cmocka_unit_test(test_state_text),
		cmocka_unit_test(test_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
