/* test_proc.c - src/proc.c: who a process is (its /proc/PID/stat read even
 * when its name is made to confuse), the boot id, the clocks, descriptors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc.h"

/* A child named NAME, stopped in pause(); its pid. */
static pid_t named_child(const char *name)
{
	int pfd[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, name, 0, 0, 0);
		(void)!write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* The start time of a process whose name holds ") " and digits is its own,
 * the same as read through a plain name, and later than ours. */
static void test_stat_confusing_name(void **state)
{
	uint64_t mine, plain, odd;
	char st = 0;
	pid_t a = named_child("plain"), b = named_child(") R 1 2 3 4 (");

	(void)state;
	assert_int_equal(proc_stat(getpid(), &mine, NULL), 0);
	assert_int_equal(proc_stat(a, &plain, &st), 0);
	assert_true(st == 'S' || st == 'R');
	assert_int_equal(proc_stat(b, &odd, &st), 0);
	assert_true(st == 'S' || st == 'R');
	assert_true(plain >= mine);
	assert_true(odd >= plain);
	assert_true(odd - plain < 1000);
	/* a zombie says so */
	kill(a, SIGKILL);
	for (int i = 0; i < 200 && st != 'Z'; i++) {
		usleep(5000);
		assert_int_equal(proc_stat(a, &plain, &st), 0);
	}
	assert_int_equal(st, 'Z');
	reap(a);
	reap(b);
}

static void test_stat_gone(void **state)
{
	uint64_t t;
	pid_t pid = named_child("gone");

	(void)state;
	reap(pid);
	assert_int_equal(proc_stat(pid, &t, NULL), -ENOENT);
}

static void test_read_small_truncates(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(proc_read_small(AT_FDCWD, "/proc/self/status", buf, sizeof(buf)), 7);
	assert_int_equal(strlen(buf), 7);
	assert_int_equal(proc_read_small(AT_FDCWD, "/nonexistent/x", buf, sizeof(buf)), -ENOENT);
}

static void test_boot_id(void **state)
{
	char a[37], b[37];

	(void)state;
	proc_boot_id(a);
	proc_boot_id(b);
	assert_int_equal(strlen(a), 36);
	assert_string_equal(a, b);
	assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
}

static void test_clocks(void **state)
{
	uint64_t m0 = mono_ms(), b0 = boottime_ms();

	(void)state;
	usleep(20000);
	assert_true(mono_ms() >= m0 + 20);
	assert_true(boottime_ms() >= b0 + 20);
	assert_true(boottime_ms() >= mono_ms());
}

/* pidfds: a signal through one reaches the process it was opened on */
static void test_pidfd(void **state)
{
	pid_t pid = named_child("pidfd");
	int fd, status;

	(void)state;
	fd = proc_pidfd_open(pid);
	if (fd < 0 && errno == ENOSYS) {
		reap(pid);
		skip();
	}
	assert_true(fd >= 0);
	assert_int_equal(proc_pidfd_signal(fd, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* the process is gone: the pidfd does not reach another */
	assert_int_equal(proc_pidfd_signal(fd, SIGTERM), -1);
	assert_int_equal(errno, ESRCH);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_confusing_name),
		cmocka_unit_test(test_stat_gone),
		cmocka_unit_test(test_read_small_truncates),
		cmocka_unit_test(test_boot_id),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_pidfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
