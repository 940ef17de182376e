/* test_pending.c - the files of `up --confirm` (issue 12): the pending
 * record's text, the persistent directory's checks, the watcher's identity. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "pending.h"
#include "proc.h"
#include "state.h"

static char dir[] = "/tmp/gwctl-test-pending.XXXXXX";
static char libdir[300];
static int n_case;

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); _exit(1); } } while (0)

/* pending.c caches its directory: each case in a child process of its own */
static void in_child(void (*fn)(void))
{
	pid_t pid;
	int status;

	snprintf(libdir, sizeof(libdir), "%s/lib%d", dir, n_case++);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("GATEWAYCTL_LIBDIR", libdir, 1);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void sample(struct pending *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->site, "manhattan");
	strcpy(p->id, "0123456789abcdef0123456789abcdef");
	strcpy(p->file, "/etc/gatewayctl/manhattan.ini");
	p->seconds = 120;
	p->applied = 1796000000;
	p->deadline = 1796000120;
	p->deadline_boot_ms = 123456789;
	proc_boot_id(p->boot_id);
	p->watcher_pid = 4242;
	p->watcher_start = 987654;
	p->was_up = true;
}

static void test_round_trip(void **state)
{
	struct pending p, q;
	size_t len;
	char *text;

	(void)state;
	sample(&p);
	p.failed_at = 1796000125;
	strcpy(p.failure, "step 3 of 7 failed: ip link add ...; kernel: File exists");
	text = pending_format(&p, &len);
	assert_non_null(text);
	assert_int_equal(pending_parse(text, len, &q), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	free(text);
	/* a line break in a path cannot end its line early */
	strcpy(p.file, "/etc/gate\nwayctl/x.ini");
	text = pending_format(&p, &len);
	assert_non_null(text);
	assert_int_equal(pending_parse(text, len, &q), 0);
	assert_string_equal(q.file, "/etc/gate?wayctl/x.ini");
	free(text);
}

static void expect_bad(const char *text)
{
	struct pending p;

	if (pending_parse(text, strlen(text), &p) != -EINVAL)
		fail_msg("accepted: %s", text);
}

#define GOOD_TAIL "deadline_boot_ms 5\nboot_id 01234567-89ab-cdef-0123-456789abcdef\nwas_up 1\n"

static void test_bad_records(void **state)
{
	struct pending p;
	const char *good = "site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL;
	char nul[] = "site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "file a\0b\n";
	char *longline;

	(void)state;
	assert_int_equal(pending_parse(good, strlen(good), &p), 0);
	assert_true(p.was_up);
	/* unknown keys (a newer version) are ignored; comments and blank lines too */
	{
		const char *t = "# x\n\nsite m\nnew_key whatever\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL;

		assert_int_equal(pending_parse(t, strlen(t), &p), 0);
	}
	expect_bad("");
	expect_bad("site m\n" GOOD_TAIL);					/* no id */
	expect_bad("site m\nid 0123456789ABCDEF0123456789abcdef\n" GOOD_TAIL);	/* not lower-case hex */
	expect_bad("site m\nid 0123456789abcdef0123456789abcde\n" GOOD_TAIL);	/* 31 digits */
	expect_bad("site m/x\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL);	/* bad site name */
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "was_up 2\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "watcher_pid -1\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "watcher_pid 99999999999\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "seconds 86401\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "deadline 12x\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "deadline_boot_ms 99999999999999999999999\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "nospace\n");
	assert_int_equal(pending_parse(nul, sizeof(nul) - 1, &p), -EINVAL);
	longline = malloc(10000);
	assert_non_null(longline);
	snprintf(longline, 10000, "site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "file /%0*d\n", 5000, 0);
	expect_bad(longline);
	free(longline);
}

/* --probe (issue 20): the flag, our address and the peers waited for go
 * through the text; a record without them (an older gatewayctl's) is a change
 * without --probe; a bad peer line makes the record garbled. */
static void test_probe_record(void **state)
{
	const char *head = "site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL;
	struct pending p, q;
	char text[400];
	size_t len;
	char *t;

	(void)state;
	sample(&p);
	p.started = true;
	p.probe.on = true;
	p.probe.from = 0xc0a8017e;
	p.probe.n = 2;
	strcpy(p.probe.peers[0].name, "brooklyn");
	p.probe.peers[0].addr = 0xc0a8027e;
	strcpy(p.probe.peers[1].name, "queens");
	p.probe.peers[1].addr = 0xc0a8037e;
	p.probe.peers[1].answered = true;
	t = pending_format(&p, &len);
	assert_non_null(t);
	assert_non_null(strstr(t, "\nprobe 1\nprobe_from 192.168.1.126\nprobe_peer brooklyn 192.168.2.126 0\n"
				 "probe_peer queens 192.168.3.126 1\n"));
	assert_int_equal(pending_parse(t, len, &q), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	free(t);
	/* an older record: no probe, not started */
	assert_int_equal(pending_parse(head, strlen(head), &q), 0);
	assert_false(q.probe.on);
	assert_false(q.started);
	assert_int_equal(q.probe.n, 0);
	/* --probe with no peer that answered */
	snprintf(text, sizeof(text), "%sprobe 1\nprobe_from 10.0.0.1\n", head);
	assert_int_equal(pending_parse(text, strlen(text), &q), 0);
	assert_true(q.probe.on);
	assert_int_equal(q.probe.n, 0);
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "probe 2\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "probe_from 10.0.0.256\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "probe_peer b 10.0.0.1\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "probe_peer b 10.0.0.1 2\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "probe_peer b/c 10.0.0.1 0\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "probe_peer b x 0\n");
	expect_bad("site m\nid 0123456789abcdef0123456789abcdef\n" GOOD_TAIL "started 0\n");
	/* more peers than a record holds */
	{
		size_t cap = 200 + (PENDING_PROBE_MAX + 1) * 32, o;
		char *many = malloc(cap);

		assert_non_null(many);
		o = (size_t)snprintf(many, cap, "%s", head);
		for (int i = 0; i <= PENDING_PROBE_MAX; i++)
			o += (size_t)snprintf(many + o, cap - o, "probe_peer p%d 10.0.0.1 0\n", i);
		expect_bad(many);
		free(many);
	}
}

/* The directory: created 0700; files 0600, written by rename; a record that
 * is a planted link is not followed; an unsafe directory is refused. */
static void lib_layout(void)
{
	struct pending p, q;
	struct stat st;
	char path[600], victim[600], buf[1000] = "";
	int fd;

	sample(&p);
	CHECK(pending_read("manhattan", &q) == -ENOENT);
	CHECK(pending_write(&p) == 0);
	CHECK(stat(libdir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	snprintf(path, sizeof(path), "%s/manhattan.pending", libdir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(pending_read("manhattan", &q) == 0 && !memcmp(&p, &q, sizeof(p)));
	CHECK(pending_clear("manhattan") == 0 && pending_read("manhattan", &q) == -ENOENT);
	/* a record naming another site is garbled, not believed */
	strcpy(p.site, "brooklyn");
	CHECK(pending_write(&p) == 0);
	snprintf(path, sizeof(path), "%s/brooklyn.pending", libdir);
	{
		char to[600];

		snprintf(to, sizeof(to), "%s/manhattan.pending", libdir);
		CHECK(rename(path, to) == 0);
	}
	CHECK(pending_read("manhattan", &q) == -EINVAL && !strcmp(q.site, "manhattan") && !q.id[0]);
	CHECK(pending_clear("manhattan") == 0);
	/* a planted link (to a valid record) is neither read through nor written through */
	strcpy(p.site, "manhattan");
	{
		size_t len;
		char *text = pending_format(&p, &len);

		CHECK(text);
		snprintf(victim, sizeof(victim), "%s/victim", dir);
		fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
		close(fd);
		free(text);
	}
	snprintf(path, sizeof(path), "%s/manhattan.pending", libdir);
	CHECK(symlink(victim, path) == 0);
	CHECK(pending_read("manhattan", &q) == -ELOOP);
	p.seconds = 7;
	CHECK(pending_write(&p) == 0); /* replaces the link itself */
	fd = open(victim, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	CHECK(!strstr(buf, "seconds 7"));
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(victim);
}

static void test_lib_layout(void **state)
{
	(void)state;
	in_child(lib_layout);
}

static void lib_unsafe(void)
{
	struct pending p;

	CHECK(mkdir(libdir, 0777) == 0 && chmod(libdir, 0777) == 0);
	sample(&p);
	CHECK(pending_write(&p) < 0);
	CHECK(strstr(lib_strerror(-EACCES), "may be written by others than root"));
}

static void lib_symlinked(void)
{
	char real[600];
	struct pending p;

	snprintf(real, sizeof(real), "%s.real", libdir);
	CHECK(mkdir(real, 0700) == 0 && symlink(real, libdir) == 0);
	sample(&p);
	CHECK(pending_write(&p) < 0);
	CHECK(strstr(lib_strerror(-EACCES), "not a directory"));
}

static void test_lib_unsafe(void **state)
{
	(void)state;
	in_child(lib_unsafe);
	in_child(lib_symlinked);
}

/* The watcher is known by pid, start time and boot: a live process with
 * those is alive; a zombie, another start time or another boot is not; stop
 * ends it. */
static void test_watcher_identity(void **state)
{
	struct pending p;
	pid_t child;
	int status;
	char st = 0;

	(void)state;
	sample(&p);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	p.watcher_pid = child;
	assert_int_equal(proc_stat(child, &p.watcher_start, &st), 0);
	assert_true(pending_watcher_alive(&p));
	p.watcher_start++;
	assert_false(pending_watcher_alive(&p));
	p.watcher_start--;
	memcpy(p.boot_id, "00000000", 8);
	assert_false(pending_watcher_alive(&p));
	proc_boot_id(p.boot_id);
	/* another start time: stop leaves the process alone */
	p.watcher_start++;
	assert_int_equal(pending_stop_watcher(&p), 0);
	assert_int_equal(waitpid(child, &status, WNOHANG), 0);
	p.watcher_start--;
	assert_int_equal(pending_stop_watcher(&p), 0);
	/* now a zombie until reaped: not alive */
	assert_false(pending_watcher_alive(&p));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_false(pending_watcher_alive(&p));
}

static void test_remaining(void **state)
{
	struct pending p;

	(void)state;
	sample(&p);
	p.deadline_boot_ms = boottime_ms() + 87000;
	assert_true(pending_remaining(&p) == 87 || pending_remaining(&p) == 86);
	p.deadline_boot_ms = boottime_ms() - 5000;
	assert_true(pending_remaining(&p) <= -4);
	/* another boot: the wall clock deadline */
	memcpy(p.boot_id, "00000000", 8);
	p.deadline = (int64_t)time(NULL) + 30;
	assert_true(pending_remaining(&p) >= 29 && pending_remaining(&p) <= 30);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_probe_record),
		cmocka_unit_test(test_lib_layout),
		cmocka_unit_test(test_lib_unsafe),
		cmocka_unit_test(test_watcher_identity),
		cmocka_unit_test(test_remaining),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
