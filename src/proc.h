/* proc.h - the helper processes' common ground: who a process is (start time,
 * boot), descriptors closed before exec, pidfds, clocks. Used by the relay's
 * driver (relayctl.c), the relay (relay.c) and the rollback watcher
 * (watcher.c, pending.c). */
#ifndef GATEWAYCTL_PROC_H
#define GATEWAYCTL_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read at most LEN-1 bytes of PATH (relative to DIRFD) into BUF, NUL-terminated.
 * The byte count or -errno. */
int proc_read_small(int dirfd, const char *path, char *buf, size_t len);

/* PID's start time in clock ticks after boot (/proc/PID/stat field 22) and,
 * when STATE is not NULL, its state letter (field 3). 0, -errno or -EBADMSG. */
int proc_stat(pid_t pid, uint64_t *start_ticks, char *state);

/* The kernel's boot id (36 characters), "" when it cannot be read. */
void proc_boot_id(char id[37]);

/* Close every descriptor from FIRST up; every one above 2 but those in KEEP
 * (at most 8). 0 or -errno. */
int close_fds_from(unsigned first);
int close_fds_except(const int *keep, size_t n);

/* pidfd_open(2) and pidfd_send_signal(2): the descriptor or -1 (errno), 0 or -1. */
int proc_pidfd_open(pid_t pid);
int proc_pidfd_signal(int pidfd, int sig);

/* Milliseconds (nanoseconds) on CLOCK_MONOTONIC; on CLOCK_BOOTTIME (counts suspend). */
uint64_t mono_ms(void);
uint64_t mono_ns(void);
uint64_t boottime_ms(void);
/* Sleep until TARGET_MS on CLOCK_BOOTTIME (relative sleeps where the kernel has no such timers). */
void boottime_sleep_until(uint64_t target_ms);

#endif
