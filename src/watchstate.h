/* watchstate.h - what a running `gatewayctl watch` tells `status` and the
 * metrics: RUNDIR/SITE.watch, replaced atomically after every repair attempt
 * and removed when the watcher exits. A file left by a watcher that died
 * (another pid, start time or boot) shows as "not running". */
#ifndef GATEWAYCTL_WATCHSTATE_H
#define GATEWAYCTL_WATCHSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct watch_state {
	pid_t pid;
	uint64_t start_ticks;	/* /proc/PID/stat field 22 */
	char boot_id[37];
	int64_t started;	/* wall clock (s) */
	uint64_t checks;	/* repair runs, whether or not they changed anything */
	uint64_t repairs;	/* runs that changed something */
	uint64_t failures;	/* runs that failed */
	int64_t last_repair;	/* wall clock (s) of the last change, 0: none yet */
	char last_what[600];	/* what it changed and why, one line */
	int64_t failing_since;	/* wall clock (s); 0: the last run succeeded */
	char last_error[600];	/* why the last failed run failed, one line */
	uint64_t backoff_ms;	/* the wait before the next try while failing */
	char watching[160];	/* which configuration: "confirmed copy", "pending change ...", "site down" */
};

/* The text of the file, and back. watchstate_parse: 0, or -EINVAL (garbled;
 * never reads outside TEXT[0..LEN)). */
char *watchstate_format(const struct watch_state *ws, size_t *len);
int watchstate_parse(const char *text, size_t len, struct watch_state *ws);

/* 0 or -errno. */
int watchstate_write(const char *site, const struct watch_state *ws);
/* 0, -ENOENT (no watcher ever ran, or it exited), -EINVAL or -errno. */
int watchstate_read(const char *site, struct watch_state *ws);
void watchstate_remove(const char *site);
/* Whether WS's process is that watcher: same boot, pid and start time. */
bool watchstate_alive(const struct watch_state *ws);

/* For status: "  watch: running (pid 123, since 20:31:05), 3 repairs, last at
 * 20:40:12: ..." (nothing when no watcher ever ran for SITE). */
void watchstate_print(FILE *f, const char *site);
/* The "watch" member of status --json: null, or an object. */
void watchstate_json(FILE *f, const char *site);

#endif
