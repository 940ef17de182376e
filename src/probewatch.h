/* probewatch.h - `up --confirm --probe`: the probes before the change (in
 * up's process) and the watcher's probes through it (probewatch.c). */
#ifndef GATEWAYCTL_PROBEWATCH_H
#define GATEWAYCTL_PROBEWATCH_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "pending.h"

/* Before the change: probe every peer of SITE (the new configuration) that has
 * a lan_address, in parallel, through what is in force now, from SITE's
 * lan_address; those that answer go into PP. Says on OUT which answered (and
 * that the change will wait for a human when none did). 0, or -1 with the
 * reason on ERR (more answered than a record holds). */
int probe_before_change(const struct site *site, struct pending_probe *pp, FILE *out, FILE *err);

/* The watcher of change ID of SITE, until *TARGET (CLOCK_BOOTTIME ms, moved
 * along with the record's deadline): once the change is applied, one echo a
 * second to each peer of its record that has not answered yet. 1 as soon as
 * all of them answered through the change, 0 at the deadline, when the change
 * is not made with --probe, or when its record is gone or another's (the
 * caller then looks again under the site's lock). */
int probewatch_wait(const char *site, const char *id, unsigned long long *target);

/* Confirm P (the site's lock held) because its probes answered: what
 * `confirm` does, with a syslog line that says so. 0 or -1. */
int probewatch_confirm(struct pending *p);

#endif
