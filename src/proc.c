/* proc.c - see proc.h. */
#define _GNU_SOURCE
#include "proc.h"

#include "gatewayctl.h"

#include <dirent.h>
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int proc_read_small(int dirfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t have = 0;

	if (fd < 0)
		return -errno;
	while (have + 1 < len) {
		ssize_t n = read(fd, buf + have, len - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	if (len)
		buf[have] = 0;
	return (int)have;
}

int proc_stat(pid_t pid, uint64_t *start_ticks, char *state)
{
	char path[64], buf[1024], *p, *end;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = proc_read_small(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (n == 0)
		return -ESRCH;
	/* "PID (COMM) STATE PPID ...": COMM may hold anything, so from its last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EBADMSG;
	if (state)
		*state = p[2];
	p++;
	/* field 3 (state) is the first after ')': starttime is field 22 */
	for (int field = 3; field < 22; field++) {
		p += strspn(p, " ");
		p += strcspn(p, " ");
		if (!*p)
			return -EBADMSG;
	}
	errno = 0;
	*start_ticks = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EBADMSG;
	return 0;
}

void proc_boot_id(char id[37])
{
	char buf[64];
	int n = proc_read_small(AT_FDCWD, "/proc/sys/kernel/random/boot_id", buf, sizeof(buf));

	buf[n > 0 ? strcspn(buf, "\n") : 0] = 0;
	if (strlen(buf) != 36)
		buf[0] = 0;
	memcpy(id, buf, 37);
}

/* Close every descriptor in [FIRST, LAST]. */
static int close_between(unsigned first, unsigned last)
{
	DIR *d;
	struct dirent *e;

	if (first > last)
		return 0;
	if (syscall(SYS_close_range, first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	/* before Linux 5.9: what /proc says is open */
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		unsigned long fd = strtoul(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd < first || fd > last || (int)fd == dirfd(d))
			continue;
		close((int)fd);
	}
	closedir(d);
	return 0;
}

int close_fds_from(unsigned first)
{
	return close_between(first, ~0u);
}

int close_fds_except(const int *keep, size_t n)
{
	unsigned next = 3;
	int sorted[8];

	if (n > 8)
		return -EINVAL;
	memcpy(sorted, keep, n * sizeof(*keep));
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			int t = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		int r;

		if (sorted[i] < (int)next)
			continue;
		if ((r = close_between(next, (unsigned)sorted[i] - 1)) < 0)
			return r;
		next = (unsigned)sorted[i] + 1;
	}
	return close_between(next, ~0u);
}

int proc_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int proc_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) < 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t boottime_ms(void)
{
	return clock_ms(CLOCK_BOOTTIME);
}

/* declared in gatewayctl.h: every command that changes the kernel asks */
bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

void boottime_sleep_until(uint64_t target_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(target_ms / 1000), .tv_nsec = (long)(target_ms % 1000) * 1000000 };
	int r;

	while ((r = clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &ts, NULL)) == EINTR)
		;
	if (r == 0)
		return;
	/* a kernel without CLOCK_BOOTTIME timers: relative sleeps */
	for (uint64_t now; (now = boottime_ms()) < target_ms;) {
		struct timespec rel = { .tv_sec = (time_t)((target_ms - now) / 1000),
					.tv_nsec = (long)((target_ms - now) % 1000) * 1000000 };

		nanosleep(&rel, NULL);
	}
}
