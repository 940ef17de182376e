/* pending.h - safe remote changes (`up --confirm`): the last confirmed
 * configuration, the record of a change waiting for `confirm`, and the watcher
 * that rolls it back at its deadline. See pending.c for the files and
 * watcher.c for the process. */
#ifndef GATEWAYCTL_PENDING_H
#define GATEWAYCTL_PENDING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "libdir.h"

#define CONFIRM_DEFAULT_SECONDS 120
#define CONFIRM_MAX_SECONDS 86400

/* ---- the last confirmed configuration: LIBDIR/SITE.confirmed.ini ---- */

void confirmed_path(const char *site, char *buf, size_t len);
bool confirmed_exists(const char *site);
/* Keep SITE's validated bytes as the confirmed configuration. 0 or -errno. */
int confirmed_keep(const struct site *site);
int confirmed_forget(const char *site);
/* Parse the confirmed copy (its path in messages). 0, -ENOENT, or -EINVAL with
 * the errors on ERR. */
int confirmed_load(const char *site_name, struct site *site, FILE *err);

/* ---- the pending change: LIBDIR/SITE.pending and LIBDIR/SITE.pending.ini ---- */

/* `up --confirm --probe`: the peers that answered before the change, which
 * confirm it by answering through it (watcher.c, probewatch.c) */
#define PENDING_PROBE_MAX 128
struct pending_probe {
	bool on;			/* --probe was given */
	uint32_t from;			/* our lan_address (host order) */
	size_t n;
	struct {
		char name[SITE_NAME_MAX + 1];
		uint32_t addr;		/* its lan_address (host order) */
		bool answered;		/* through the change */
	} peers[PENDING_PROBE_MAX];
};

struct pending {
	char site[SITE_NAME_MAX + 1];
	char id[33];			/* 128 random bits in hex: which change this is */
	char file[4096];		/* the site file `up --confirm` applied */
	unsigned seconds;		/* as given to --confirm */
	int64_t applied;		/* wall clock (s): when it was applied */
	int64_t deadline;		/* wall clock (s): for people */
	uint64_t deadline_boot_ms;	/* CLOCK_BOOTTIME (ms): what the watcher waits for */
	char boot_id[37];		/* /proc/sys/kernel/random/boot_id at the time */
	pid_t watcher_pid;
	uint64_t watcher_start;		/* its start time (/proc/PID/stat field 22) */
	bool was_up;			/* the site was up before: roll back to the confirmed copy */
	int64_t failed_at;		/* a rollback that failed (0: none) ... */
	char failure[1024];		/* ... and why, on one line */
	bool started;			/* the change is applied (pending_started) */
	struct pending_probe probe;	/* records without it: off */
};

/* 0 (a change is pending), -ENOENT (none), -EINVAL (the record is garbled: P
 * then holds what could be read, was_up from the confirmed copy), or -errno. */
int pending_read(const char *site, struct pending *p);
int pending_write(const struct pending *p);
/* `confirm`: the unconfirmed bytes become the confirmed copy (a rename). */
int pending_promote(const char *site);
/* Keep the change P of SITE (its lock held): the unconfirmed bytes become the
 * confirmed copy, the record goes, syslog says so with HOW appended ("" or
 * " by probe: ..."). What `confirm` does, and the watcher on its probes'
 * answers. 0, or -1 with the reason on ERR (CMD names who speaks). */
int pending_confirm(const char *site, const struct pending *p, const char *cmd, const char *how, FILE *err);
/* `confirm`/`rollback` ARG: the site ARG names (a name or a site file), its lock
 * taken (*LOCK) and its pending change read into P (also when garbled). 0, or
 * the exit status to return, the reason printed ("no change is pending": 1). */
int pending_command_start(const char *cmd, const char *arg, char name[SITE_NAME_MAX + 1], int *lock,
			  struct pending *p);
/* Remove the record and the unconfirmed bytes. */
int pending_clear(const char *site);
/* The record as text, and back (what pending_read/write use). */
int pending_parse(const char *text, size_t len, struct pending *p);
char *pending_format(const struct pending *p, size_t *len);

/* Seconds left until the deadline (negative once past; 0 on another boot). */
long long pending_remaining(const struct pending *p);

/* Whether the process P names is our watcher: the same boot, the same pid and
 * start time, and not a zombie. */
bool pending_watcher_alive(const struct pending *p);
/* Stop it: a pidfd opened on the pid, its start time checked again through it,
 * then SIGTERM (SIGKILL after 2 s). 0 also when it is already gone. */
int pending_stop_watcher(const struct pending *p);

/* "up"/"down" refused while P is pending: what, until when, and how to end it. */
void pending_refuse(const struct pending *p, const char *cmd, FILE *err);

/* For status: the line to show, and a problem (empty when none) with its fix. */
struct pending_view {
	char line[1600];	/* may go on over a second, indented line */
	char problem[1300];
	char fix[160];
	struct pending p;
	bool alive;
	long long remaining;
};
/* 0 and *V filled when a change of SITE is pending, -ENOENT when none (or
 * when the caller may not read LIBDIR: only root sees pending changes). */
int pending_view(const char *site, struct pending_view *v);
/* The "pending" member of status --json (null when V is NULL). */
void pending_json(FILE *f, const struct pending_view *v);

/* ---- `up --confirm` (watcher.c) ---- */

/* Called by `up --confirm` once it knows it will change the kernel, before any
 * change: records the pending change (the bytes of SITE, whether it was up,
 * PROBE: what --probe found before the change, or NULL), starts the watcher. 0, or -1 with the reason on ERR (nothing changed). */
struct live;
int pending_begin(const struct site *site, const struct live *live, unsigned seconds,
		  const struct pending_probe *probe, struct pending *p, FILE *err);
/* After the change was applied: the deadline counts from now. */
int pending_started(struct pending *p);
/* The change failed (and was undone): forget it and stop the watcher. */
void pending_abort(struct pending *p);

/* Roll P back now, the site's lock held: `up` of the confirmed copy (through
 * the same all-or-nothing code) when the site was up before, `down` when it was
 * not. Success clears the pending files; failure records itself in P's file.
 * WHY says who ("its deadline passed", ...) for the messages; OUT and ERR get
 * them, syslog a line either way. 0 or -1. */
int pending_rollback(struct pending *p, const char *why, FILE *out, FILE *err);

/* (The watcher process, watcher_main: commands.h.) */

#endif
