/* probewatch.c - `up --confirm --probe` (see probewatch.h).
 *
 * Before the change, up probes the peers of the new configuration through the
 * one in force; the names of those that answered go into the pending record.
 * The watcher (watcher.c) starts probing them once the record says the change
 * is applied (`started`), one echo a second to each that has not answered yet,
 * and confirms the change as soon as all of them answered: an answer proves the
 * route, the tunnel and the peer's way back work in the new configuration. */
#define _GNU_SOURCE
#include "probewatch.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gatewayctl.h"
#include "probeset.h"
#include "proc.h"
#include "state.h"

#define BEFORE_ECHOES 3
#define BEFORE_SPACING_MS 200
#define BEFORE_WAIT_MS 1000
#define ROUND_MS 1000
#define NAP_MS 250

int probe_before_change(const struct site *site, struct pending_probe *pp, FILE *out, FILE *err)
{
	struct probe_target *t = calloc(site->n_peers ? site->n_peers : 1, sizeof(*t));
	size_t *idx = calloc(site->n_peers ? site->n_peers : 1, sizeof(*idx));
	struct probeset ps;
	char msg[200], ip[16];
	size_t n = 0, answered = 0;
	int ret = 0;

	memset(pp, 0, sizeof(*pp));
	pp->on = true;
	pp->from = site->lan_address.addr;
	if (!t || !idx) {
		fprintf(err, "%s up: out of memory\n", prog);
		free(t);
		free(idx);
		return -1;
	}
	for (size_t i = 0; i < site->n_peers; i++)
		if (site->peers[i].lan_address) {
			t[n].addr = site->peers[i].lan_address;
			idx[n++] = i;
		}
	if (n == 0) {
		fprintf(out, "--probe: no peer has a lan_address: nothing to probe; the change waits for "
			"`%s confirm %s`\n", prog, site->name);
		goto out;
	}
	if (probeset_open(&ps, site->lan_address.addr, msg, sizeof(msg)) < 0) {
		fprintf(out, "--probe: cannot probe the peers before the change: %s; the change waits for "
			"`%s confirm %s`\n", msg, prog, site->name);
		goto out;
	}
	answered = probeset_round(&ps, t, n, BEFORE_ECHOES, BEFORE_SPACING_MS, BEFORE_WAIT_MS);
	probeset_close(&ps);
	if (answered > PENDING_PROBE_MAX) {
		fprintf(err, "%s up: --probe: %zu peers answered, and a change can wait for %d at most: use "
			"`--confirm` alone and `%s confirm %s`\n", prog, answered, PENDING_PROBE_MAX, prog, site->name);
		ret = -1;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct peer *p = &site->peers[idx[k]];

		if (!t[k].answered_ms) {
			fprintf(out, "--probe: peer %s (%s) did not answer before the change: not waited for\n", p->name,
				ip4_str(p->lan_address, ip));
			continue;
		}
		snprintf(pp->peers[pp->n].name, sizeof(pp->peers[pp->n].name), "%s", p->name);
		pp->peers[pp->n++].addr = p->lan_address;
		fprintf(out, "--probe: peer %s (%s) answered before the change (%.1f ms)\n", p->name,
			ip4_str(p->lan_address, ip), t[k].rtt_ms);
	}
	if (!pp->n)
		fprintf(out, "--probe: no peer answered before the change: it is not confirmed by probe, it waits for "
			"`%s confirm %s`\n", prog, site->name);
out:
	free(t);
	free(idx);
	return ret;
}

/* Mark in the record of change ID which peers answered (for status). */
static void record_answers(const char *site, const char *id, const bool *done, size_t n)
{
	struct pending p;
	int lock = state_lock(site);

	if (lock < 0)
		return;
	if (pending_read(site, &p) == 0 && !strcmp(p.id, id) && !p.failed_at && p.probe.n == n) {
		for (size_t i = 0; i < n; i++)
			p.probe.peers[i].answered = done[i];
		pending_write(&p);
	}
	lib_dir_close();
	close(lock);
	state_close_dirs();
}

/* Sleep NAP_MS, or until TARGET when sooner. */
static void nap(unsigned long long target)
{
	uint64_t now = boottime_ms();

	boottime_sleep_until(now + NAP_MS < target ? now + NAP_MS : target);
}

/* One round: an echo to each peer not DONE yet, answers read until a second
 * passed or TARGET. Marks DONE; the number of peers done. */
static size_t probe_round(struct probeset *ps, struct probe_target *t, bool *done, size_t n,
			  unsigned long long target)
{
	uint64_t end = boottime_ms() + ROUND_MS, now;
	size_t k = 0;

	if (end > target)
		end = target;
	for (size_t i = 0; i < n; i++)
		if (!done[i])
			probeset_send(ps, t, n, i);
	while ((now = boottime_ms()) < end) {
		struct pollfd pfd = { .fd = ps->fd, .events = POLLIN };

		if (poll(&pfd, 1, (int)(end - now)) > 0)
			probeset_read(ps, t, n);
		k = 0;
		for (size_t i = 0; i < n; i++)
			k += done[i] = done[i] || t[i].received > 0;
		if (k == n)
			break;
	}
	return k;
}

int probewatch_wait(const char *site, const char *id, unsigned long long *target)
{
	struct probe_target t[PENDING_PROBE_MAX];
	bool done[PENDING_PROBE_MAX], seen = false;
	struct probeset ps = { .fd = -1 };
	struct pending p;
	size_t n = 0, shown = 0;
	int ret = 0;

	while (boottime_ms() < *target) {
		int r = pending_read(site, &p);

		lib_dir_close(); /* nothing held while it waits */

		if (r == -ENOENT && !seen) { /* up has not written it yet */
			nap(*target);
			continue;
		}
		if (r < 0 || strcmp(p.id, id) || p.failed_at)
			break;
		seen = true;
		if (!p.probe.on || (p.started && !p.probe.n)) {
			boottime_sleep_until(*target);
			break;
		}
		if (!p.started) {
			nap(*target);
			continue;
		}
		*target = p.deadline_boot_ms;
		if (ps.fd < 0) {
			char msg[200];

			if (probeset_open(&ps, p.probe.from, msg, sizeof(msg)) < 0) {
				syslog(LOG_ERR, "site %s: cannot probe the peers through the pending change: %s; it "
				       "rolls back at its deadline unless confirmed", site, msg);
				boottime_sleep_until(*target);
				break;
			}
			n = p.probe.n;
			memset(t, 0, sizeof(t));
			for (size_t i = 0; i < n; i++) {
				t[i].addr = p.probe.peers[i].addr;
				done[i] = p.probe.peers[i].answered;
			}
		}
		size_t k = probe_round(&ps, t, done, n, *target);

		if (k == n) {
			ret = 1;
			break;
		}
		if (k != shown) {
			record_answers(site, id, done, n);
			shown = k;
		}
	}
	probeset_close(&ps);
	return ret;
}

int probewatch_confirm(struct pending *p)
{
	char how[700], cmd[64];
	size_t o;
	long long after = (long long)time(NULL) - (long long)p->applied;

	o = (size_t)snprintf(how, sizeof(how), " by probe, %lld s after it was applied: ", after < 0 ? 0 : after);
	for (size_t i = 0; i < p->probe.n && o < sizeof(how); i++) {
		p->probe.peers[i].answered = true;
		o += (size_t)snprintf(how + o, sizeof(how) - o, "%s%s", i ? ", " : "", p->probe.peers[i].name);
	}
	if (o < sizeof(how))
		snprintf(how + o, sizeof(how) - o, " answered through it");
	snprintf(cmd, sizeof(cmd), "%s confirm --watcher", prog);
	return pending_confirm(p->site, p, cmd, how, stderr);
}
