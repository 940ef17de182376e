/* test_relay.c - the relay's control side: config hash, counters file, pidfile */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "relay.h"
#include "relay_priv.h"

static char dir[] = "/tmp/gwctl-test-relay.XXXXXX";

static const char *const site_text =
	"[site]\n"
	"name = manhattan\n"
	"lan = eth0\n"
	"lan_address = 192.168.1.126/24\n"
	"wan = eth1\n"
	"wan_address = 172.16.1.12/27\n"
	"gateway = 172.16.1.30\n"
	"\n"
	"[peer brooklyn]\n"
	"endpoint = 172.17.2.10\n"
	"networks = 192.168.2.0/24\n"
	"lan_address = 192.168.2.126\n"
	"\n"
	"[relay]\n"
	"ports = 6799, 6800\n";

static void load(const char *text, struct site *s)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/site.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(config_load(path, s, stderr), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	setenv("GATEWAYCTL_RUNDIR", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_config_hash(void **state)
{
	struct site a, b;
	uint64_t h;

	(void)state;
	load(site_text, &a);
	load(site_text, &b);
	h = relay_config_hash(&a);
	assert_true(h == relay_config_hash(&b));
	/* each setting the relay depends on changes it */
	b.relay.rate++;
	assert_true(h != relay_config_hash(&b));
	b.relay.rate--;
	b.relay.ports[1] = 6801;
	assert_true(h != relay_config_hash(&b));
	b.relay.ports[1] = 6800;
	b.relay.preserve_source = !b.relay.preserve_source;
	assert_true(h != relay_config_hash(&b));
	b.relay.preserve_source = !b.relay.preserve_source;
	b.peers[0].lan_address++;
	assert_true(h != relay_config_hash(&b));
	b.peers[0].lan_address--;
	b.peers[0].relay = false;
	assert_true(h != relay_config_hash(&b));
	b.peers[0].relay = true;
	/* what the relay does not depend on does not */
	b.peers[0].ttl = 7;
	b.mss_clamp = !b.mss_clamp;
	assert_true(h == relay_config_hash(&b));
	config_free(&a);
	config_free(&b);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int d = 0; d < DROP_REASONS; d++) {
		const char *n = relay_drop_name((enum relay_drop)d);

		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (int e = 0; e < d; e++)
			assert_string_not_equal(n, relay_drop_name((enum relay_drop)e));
	}
	assert_string_equal(relay_drop_name(DROP_RATE), "rate");
	assert_string_equal(relay_drop_name(DROP_REASONS), "?");
}

static void test_stats_round_trip(void **state)
{
	struct rs_map m;
	struct relay_stats st;

	(void)state;
	assert_int_equal(relay_read_stats("nosuch", &st), -ENOENT);
	assert_int_equal(relay_stats_create("manhattan", 2, 1, &m), 0);
	m.hdr->pid = 4242;
	m.hdr->started = 1700000000;
	m.hdr->config_hash = 0x1122334455667788ull;
	m.ports[0].port = 6799;
	m.ports[1].port = 6800;
	m.ports[1].received = 10;
	m.ports[1].relayed = 9;
	m.ports[1].rebroadcast = 8;
	m.ports[1].dropped[DROP_RATE] = 1;
	snprintf(m.peers[0].name, sizeof(m.peers[0].name), "brooklyn");
	m.peers[0].sent = 5;
	m.peers[0].received = 6;
	m.peers[0].dropped[DROP_WRONG_TUNNEL] = 3;
	m.other[DROP_UNKNOWN_PEER] = 7;
	/* the reader sees the mapping's stores without any sync */
	assert_int_equal(relay_read_stats("manhattan", &st), 0);
	assert_int_equal(st.pid, 4242);
	assert_int_equal(st.started, 1700000000);
	assert_true(st.config_hash == 0x1122334455667788ull);
	assert_int_equal(st.n_ports, 2);
	assert_int_equal(st.ports[0].port, 6799);
	assert_int_equal(st.ports[1].port, 6800);
	assert_int_equal(st.ports[1].received, 10);
	assert_int_equal(st.ports[1].relayed, 9);
	assert_int_equal(st.ports[1].rebroadcast, 8);
	assert_int_equal(st.ports[1].dropped[DROP_RATE], 1);
	assert_int_equal(st.n_peers, 1);
	assert_string_equal(st.peers[0].name, "brooklyn");
	assert_int_equal(st.peers[0].sent, 5);
	assert_int_equal(st.peers[0].received, 6);
	assert_int_equal(st.peers[0].dropped[DROP_WRONG_TUNNEL], 3);
	assert_int_equal(st.dropped_other[DROP_UNKNOWN_PEER], 7);
	relay_stats_free(&st);
	m.ports[0].received = 99;
	assert_int_equal(relay_read_stats("manhattan", &st), 0);
	assert_int_equal(st.ports[0].received, 99);
	relay_stats_free(&st);
	relay_stats_unmap(&m);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_stats_garbage(void **state)
{
	char path[300];
	struct relay_stats st;
	struct rs_map m;
	uint8_t junk[512];

	(void)state;
	relay_stats_path("junk", path, sizeof(path));
	write_file(path, "", 0);
	assert_int_equal(relay_read_stats("junk", &st), -EBADMSG);
	memset(junk, 0xff, sizeof(junk));
	write_file(path, junk, sizeof(junk));
	assert_int_equal(relay_read_stats("junk", &st), -EBADMSG);
	/* a valid header that claims more records than the file holds */
	assert_int_equal(relay_stats_create("junk", 1, 1, &m), 0);
	m.hdr->n_peers = 1000;
	assert_int_equal(relay_read_stats("junk", &st), -EBADMSG);
	m.hdr->n_peers = 1;
	m.hdr->version = 99;
	assert_int_equal(relay_read_stats("junk", &st), -EBADMSG);
	m.hdr->version = RELAY_STATS_VERSION;
	assert_int_equal(relay_read_stats("junk", &st), 0);
	relay_stats_free(&st);
	relay_stats_unmap(&m);
}

static void test_running_and_stale(void **state)
{
	char path[300];
	int p[2], fd;
	pid_t child;
	char c;
	time_t started;
	uint64_t hash;
	struct rs_map m;

	(void)state;
	assert_int_equal(relay_running("brooklyn", NULL, NULL), 0);	/* no pidfile */
	relay_pid_path("brooklyn", path, sizeof(path));
	write_file(path, "12345\n", 6);
	assert_int_equal(relay_running("brooklyn", NULL, NULL), 0);	/* nobody holds the lock: stale */
	assert_int_equal(relay_stop("brooklyn"), 0);	/* removes the stale file, kills nothing */
	assert_int_equal(access(path, F_OK), -1);

	/* a child that holds the lock like the daemon */
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char buf[32];
		int n;

		fd = open(path, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		if (write(fd, buf, (size_t)n) != n || write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(relay_stats_create("brooklyn", 1, 0, &m), 0);
	m.hdr->pid = child;
	m.hdr->started = 1234;
	m.hdr->config_hash = 99;
	assert_int_equal(relay_running("brooklyn", &started, &hash), child);
	assert_int_equal(started, 1234);
	assert_int_equal(hash, 99);
	relay_stats_unmap(&m);
	/* SIGKILL: the lock goes with the process; the pidfile stays, stale */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(relay_running("brooklyn", &started, &hash), 0);
	assert_int_equal(started, 0);
}

static void test_stop_terminates(void **state)
{
	char path[300];
	int p[2], fd;
	pid_t child;
	char c;
	int status;

	(void)state;
	relay_pid_path("queens", path, sizeof(path));
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char buf[32];
		int n;

		fd = open(path, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		if (write(fd, buf, (size_t)n) != n || write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(relay_running("queens", NULL, NULL), child);
	/* relay_stop polls the lock, which the zombie no longer holds */
	assert_int_equal(relay_stop("queens"), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(relay_running("queens", NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_hash),
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_stats_round_trip),
		cmocka_unit_test(test_stats_garbage),
		cmocka_unit_test(test_running_and_stale),
		cmocka_unit_test(test_stop_terminates),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
