/* test_relayctl.c - the relay's control side (relayctl.c): config hash, counters file, who the
 * relay is (pid file, identity checks), stopping it, descriptors */
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
#include "proc.h"
#include "relay_priv.h"
#include "state.h"

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
	/* others may look in (the counters file is for everybody), not write */
	chmod(dir, 0755);
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

/* --- who the relay is: pid file, identity, stopping ----------------------------------- */

static char *self_exe;

/* "gatewayctl relay SITE FD [stubborn]": what test children run (see main): like
 * the daemon, write the pid file, say so on FD, wait for signals. */
static int child_main(int argc, char **argv)
{
	int fd = atoi(argv[3]);

	if (argc > 4 && !strcmp(argv[4], "stubborn"))
		signal(SIGTERM, SIG_IGN);
	if (relay_write_pidfile(argv[2]) < 0 || write(fd, "x", 1) != 1)
		return 1;
	close(fd);
	for (;;)
		pause();
}

/* a child running this test program as `relay SITE`: it wrote its pid file */
static pid_t spawn_relay(const char *site, bool stubborn)
{
	int p[2];
	char fd[16], c;
	pid_t child;

	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		snprintf(fd, sizeof(fd), "%d", p[1]);
		execl(self_exe, "gatewayctl", "relay", site, fd, stubborn ? "stubborn" : NULL, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return child;
}

/* an unrelated process: sleep */
static pid_t spawn_sleep(void)
{
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	/* until it is sleep, not a copy of us */
	for (int i = 0; i < 500; i++) {
		char path[64], buf[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)child);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		if (!strncmp(buf, "sleep", 5))
			break;
		usleep(2000);
	}
	return child;
}

static bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* a pid file saying PID started at START */
static void fake_pidfile(const char *site, pid_t pid, uint64_t start, mode_t mode)
{
	char path[300], text[128], boot[64] = "";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	int n;

	if (f) {
		if (!fgets(boot, sizeof(boot), f))
			boot[0] = 0;
		fclose(f);
	}
	boot[strcspn(boot, "\n")] = 0;
	assert_true(state_dirfd(true, true) >= 0);
	n = snprintf(text, sizeof(text), "%d\n%llu\n%s\n", (int)pid, (unsigned long long)start, boot);
	relay_pid_path(site, path, sizeof(path));
	unlink(path);
	write_file(path, text, (size_t)n);
	chmod(path, mode);
}

static uint64_t ticks_of(pid_t pid)
{
	uint64_t t = 0;

	assert_int_equal(proc_stat(pid, &t, NULL), 0);
	return t;
}

static void test_files_private(void **state)
{
	char path[400], priv[300];
	struct stat st;
	int fd, fd2;

	(void)state;
	assert_int_equal(relay_write_pidfile("bronx"), 0);
	relay_pid_path("bronx", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(priv, sizeof(priv), "%s", state_private_dir());
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	fd = relay_lock("bronx", 0);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/bronx.relay.lock", priv);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* held: a second taker gives up after its wait */
	assert_int_equal(relay_lock("bronx", 30), -EWOULDBLOCK);
	close(fd);
	fd2 = relay_lock("bronx", 0);
	assert_true(fd2 >= 0);
	close(fd2);
	/* the pid file is ours: it names this process (not a relay: not running) */
	assert_int_equal(relay_running("bronx", NULL, NULL), 0);
}

static void test_running_and_stale(void **state)
{
	char path[300];
	pid_t child;
	time_t started;
	uint64_t hash;
	struct rs_map m;
	int fd;

	(void)state;
	assert_int_equal(relay_running("brooklyn", NULL, NULL), 0);	/* no pid file */
	relay_pid_path("brooklyn", path, sizeof(path));
	fake_pidfile("brooklyn", 999999, 12345, 0600);
	assert_int_equal(relay_running("brooklyn", NULL, NULL), 0);	/* nobody has that pid: stale */
	assert_int_equal(relay_stop("brooklyn"), 0);	/* removes the stale file, kills nothing */
	assert_int_equal(access(path, F_OK), -1);

	child = spawn_relay("brooklyn", false);
	assert_int_equal(relay_stats_create("brooklyn", 1, 0, &m), 0);
	m.hdr->pid = child;
	m.hdr->started = 1234;
	m.hdr->config_hash = 99;
	assert_int_equal(relay_running("brooklyn", &started, &hash), child);
	assert_int_equal(started, 1234);
	assert_int_equal(hash, 99);
	relay_stats_unmap(&m);

	/* somebody else holding a lock on the files changes nothing (it used to
	 * mean "a relay runs") */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(relay_running("brooklyn", NULL, NULL), child);

	/* SIGKILL: the pid file stays, stale, even with the lock held elsewhere */
	reap(child);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(relay_running("brooklyn", &started, &hash), 0);
	assert_int_equal(started, 0);
	assert_int_equal(relay_stop("brooklyn"), 0);	/* at once: no waiting on anybody's lock */
	assert_int_equal(access(path, F_OK), -1);
	close(fd);
}

/* a pid file naming a live process that is not the relay: never signalled */
static void test_never_signals_others(void **state)
{
	char path[300];
	pid_t sl, child;

	(void)state;
	relay_pid_path("queens", path, sizeof(path));
	sl = spawn_sleep();
	/* even with its true start time */
	fake_pidfile("queens", sl, ticks_of(sl), 0600);
	assert_int_equal(relay_running("queens", NULL, NULL), 0);
	assert_int_equal(relay_stop("queens"), 0);
	assert_true(alive(sl));
	assert_int_equal(access(path, F_OK), -1);	/* a file naming no relay is stale */

	/* the relay's pid reused by another process: the start time differs */
	child = spawn_relay("queens", false);
	fake_pidfile("queens", child, ticks_of(child) + 1, 0600);
	assert_int_equal(relay_running("queens", NULL, NULL), 0);
	assert_int_equal(relay_stop("queens"), 0);
	assert_true(alive(child));

	/* a pid file that others could have written is not believed */
	fake_pidfile("queens", child, ticks_of(child), 0644);
	assert_int_equal(relay_running("queens", NULL, NULL), 0);
	fake_pidfile("queens", child, ticks_of(child), 0600);
	assert_int_equal(relay_running("queens", NULL, NULL), child);
	reap(child);
	reap(sl);
}

static void test_stop_terminates(void **state)
{
	char path[300];
	pid_t child;
	int status;

	(void)state;
	relay_pid_path("queens", path, sizeof(path));
	child = spawn_relay("queens", false);
	assert_int_equal(relay_running("queens", NULL, NULL), child);
	/* relay_stop waits on a pidfd: a zombie child counts as ended */
	assert_int_equal(relay_stop("queens"), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(relay_running("queens", NULL, NULL), 0);

	/* one that ignores SIGTERM gets SIGKILL after 3 s */
	child = spawn_relay("queens", true);
	assert_int_equal(relay_stop("queens"), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Callers that cannot read the private directory (status as a user) learn the
 * relay from the counters file, checked alike. */
static void test_running_unprivileged(void **state)
{
	pid_t child, viewer, sl;
	struct rs_map m;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip();
	child = spawn_relay("harlem", false);
	sl = spawn_sleep();
	assert_int_equal(relay_stats_create("harlem", 1, 0, &m), 0);
	m.hdr->pid = child;
	m.hdr->start_ticks = ticks_of(child);
	for (int round = 0; round < 2; round++) {
		viewer = fork();
		assert_true(viewer >= 0);
		if (viewer == 0) {
			if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
				_exit(3);
			/* the pid file is out of reach ... */
			if (relay_stop("harlem") != -EACCES)
				_exit(4);
			_exit(relay_running("harlem", NULL, NULL) == (round ? 0 : child) ? 0 : 5);
		}
		assert_int_equal(waitpid(viewer, &status, 0), viewer);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		/* ... and a counters file naming another process names no relay */
		m.hdr->pid = sl;
		m.hdr->start_ticks = ticks_of(sl);
	}
	relay_stats_unmap(&m);
	reap(child);
	reap(sl);
}

/* close_fds_except leaves stdio and what it keeps, nothing else */
static void test_close_fds(void **state)
{
	pid_t child;
	int status;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY),
		    c = open("/dev/null", O_RDONLY), d = dup2(a, 200), keep[2] = { c, 300 };

		if (a < 3 || b < 0 || c < 0 || d != 200)
			_exit(2);
		if (close_fds_except(keep, 2) < 0)
			_exit(3);
		if (fcntl(a, F_GETFD) >= 0 || fcntl(b, F_GETFD) >= 0 || fcntl(200, F_GETFD) >= 0)
			_exit(4);
		if (fcntl(c, F_GETFD) < 0 || fcntl(0, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0)
			_exit(5);
		if (close_fds_from(3) < 0 || fcntl(c, F_GETFD) >= 0)
			_exit(6);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_hash),
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_stats_round_trip),
		cmocka_unit_test(test_stats_garbage),
		cmocka_unit_test(test_files_private),
		cmocka_unit_test(test_running_and_stale),
		cmocka_unit_test(test_never_signals_others),
		cmocka_unit_test(test_stop_terminates),
		cmocka_unit_test(test_running_unprivileged),
		cmocka_unit_test(test_close_fds),
	};

	if (argc >= 4 && !strcmp(argv[1], "relay"))
		return child_main(argc, argv);
	self_exe = realpath("/proc/self/exe", NULL);

	return cmocka_run_group_tests(tests, setup, teardown);
}
