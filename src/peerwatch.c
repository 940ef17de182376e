/* peerwatch.c - the long-running watcher's periodic probes (see peerwatch.h).
 *
 * A round every probe_interval: the echo of the previous round that got no
 * answer counts as lost, then a new echo goes to every peer. Answers are read
 * whenever the socket is readable and count at once. So a peer that stops
 * answering right after an answered probe misses the next two (each known one
 * interval after it was sent): it is down at most 3 intervals later. Nothing
 * blocks: one socket, sendto with MSG_DONTWAIT, reads when poll says so. */
#define _GNU_SOURCE
#include "peerwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "proc.h"
#include "state.h"

bool pw_account(struct pw_peer *p, bool answered, double rtt_ms, int64_t now)
{
	enum pw_state was = p->state;
	double sum = 0;
	unsigned k = 0;

	p->history = (uint16_t)((p->history << 1 | (answered ? 1 : 0)) & ((1u << PW_HISTORY) - 1));
	if (p->n_history < PW_HISTORY)
		p->n_history++;
	memmove(p->rtts + 1, p->rtts, sizeof(p->rtts) - sizeof(p->rtts[0]));
	p->rtts[0] = answered ? rtt_ms : 0;
	for (unsigned i = 0; i < p->n_history; i++)
		if (p->history >> i & 1) {
			sum += p->rtts[i];
			k++;
		}
	p->rtt_avg_ms = k ? sum / k : 0;
	if (answered) {
		p->rtt_ms = rtt_ms;
		p->misses = 0;
		p->state = PW_UP;
	} else if (++p->misses >= PW_DOWN_AFTER) {
		p->state = PW_DOWN;
	}
	if (p->state != was)
		p->since = now;
	return p->state != was;
}

/* The peers of SITE with a lan_address into fresh arrays, keeping the
 * history of those OLD had by the same name and address. */
static int build(struct peerwatch *pw, const struct site *site, const struct pw_peer *old, size_t n_old)
{
	size_t n = 0;

	pw->p = calloc(site->n_peers ? site->n_peers : 1, sizeof(*pw->p));
	pw->t = calloc(site->n_peers ? site->n_peers : 1, sizeof(*pw->t));
	if (!pw->p || !pw->t)
		return -ENOMEM;
	for (size_t i = 0; i < site->n_peers; i++) {
		const struct peer *sp = &site->peers[i];

		if (!sp->lan_address)
			continue;
		for (size_t j = 0; j < n_old; j++)
			if (!strcmp(old[j].name, sp->name) && old[j].addr == sp->lan_address &&
			    old[j].endpoint == sp->endpoint && !memcmp(old[j].endpoint6, sp->endpoint6, 16))
				pw->p[n] = old[j];
		snprintf(pw->p[n].name, sizeof(pw->p[n].name), "%s", sp->name);
		pw->p[n].addr = sp->lan_address;
		pw->p[n].endpoint = sp->endpoint;
		memcpy(pw->p[n].endpoint6, sp->endpoint6, 16);
		pw_choices(&pw->p[n], sp);
		pw->t[n].addr = sp->lan_address;
		pw->p[n].awaiting = false;
		n++;
	}
	pw->n = n;
	pw->interval_ms = (uint64_t)site->probe_interval * 1000;
	return 0;
}

void peerwatch_init(struct peerwatch *pw, const char *name)
{
	memset(pw, 0, sizeof(*pw));
	pw->ps.fd = -1;
	snprintf(pw->site, sizeof(pw->site), "%s", name);
	pw->next_ms = mono_ms();
}

int peerwatch_reload(struct peerwatch *pw, const struct site *site)
{
	struct pw_peer *old = pw->p;
	size_t n_old = pw->n;
	uint64_t was = pw->interval_ms;
	int r;

	free(pw->t);
	pw->p = NULL;
	pw->t = NULL;
	pw->n = 0;
	if (pw->from != site->lan_address.addr) /* another source address: a new socket */
		probeset_close(&pw->ps);
	pw->from = site->lan_address.addr;
	r = build(pw, site, old, n_old);
	free(old);
	if (r < 0)
		return r;
	if (pw->interval_ms != was) /* a new interval counts from now */
		pw->next_ms = mono_ms();
	return 0;
}

void peerwatch_clear(struct peerwatch *pw)
{
	char name[SITE_NAME_MAX + 16];

	free(pw->p);
	free(pw->t);
	pw->p = NULL;
	pw->t = NULL;
	pw->n = 0;
	if (pw->site[0]) {
		snprintf(name, sizeof(name), "%s.probes", pw->site);
		state_remove_file(false, name);
	}
}

void peerwatch_free(struct peerwatch *pw)
{
	probeset_close(&pw->ps);
	peerwatch_clear(pw);
}

bool peerwatch_reset_peer(struct peerwatch *pw, const char *peer)
{
	for (size_t i = 0; i < pw->n; i++)
		if (!strcmp(pw->p[i].name, peer)) {
			struct pw_peer keep = pw->p[i];

			memset(&pw->p[i], 0, sizeof(pw->p[i]));
			memcpy(pw->p[i].name, keep.name, sizeof(keep.name));
			pw->p[i].addr = keep.addr;
			pw->p[i].endpoint = keep.endpoint;
			memcpy(pw->p[i].endpoint6, keep.endpoint6, 16);
			pw->p[i].sent = keep.sent;
			pw->p[i].received = keep.received;
			return true;
		}
	return false;
}

enum pw_state peerwatch_state(const struct peerwatch *pw, const char *peer)
{
	for (size_t i = 0; i < pw->n; i++)
		if (!strcmp(pw->p[i].name, peer))
			return pw->p[i].state;
	return PW_UNKNOWN;
}

/* A state change: one syslog line, and the failover hook. */
static void changed(struct peerwatch *pw, struct pw_peer *p)
{
	char ip[16];

	if (p->state == PW_DOWN)
		syslog(LOG_WARNING, "site %s: peer %s (%s) stopped answering probes: %u unanswered in a row, every %llu s",
		       pw->site, p->name, ip4_str(p->addr, ip), p->misses, (unsigned long long)(pw->interval_ms / 1000));
	else
		syslog(LOG_NOTICE, "site %s: peer %s (%s) answers probes (rtt %.2f ms)", pw->site, p->name,
		       ip4_str(p->addr, ip), p->rtt_ms);
	if (pw->on_change)
		pw->on_change(pw->change_ctx, p);
	if (p->state == PW_DOWN)
		pw_failover(pw, p);
}

/* Write the file (errors are for status to notice: an old file then) */
static void save(const struct peerwatch *pw)
{
	char name[SITE_NAME_MAX + 16], *text;
	size_t len;

	text = peerwatch_format(pw, &len);
	if (!text)
		return;
	snprintf(name, sizeof(name), "%s.probes", pw->site);
	state_write_file(false, name, text, len, 0644);
	free(text);
}

/* The round due now: the unanswered echoes of the last one are lost, then new ones. */
static void round_start(struct peerwatch *pw, uint64_t now)
{
	int64_t wall = (int64_t)time(NULL);

	pw->next_ms = now + pw->interval_ms;
	if (pw->ps.fd < 0) {
		if (probeset_open(&pw->ps, pw->from, pw->error, sizeof(pw->error)) < 0) {
			if (!pw->error_logged)
				syslog(LOG_ERR, "site %s: cannot probe the peers: %s", pw->site, pw->error);
			pw->error_logged = true;
			save(pw);
			return;
		}
		pw->error[0] = '\0';
		pw->error_logged = false;
	}
	for (size_t i = 0; i < pw->n; i++) {
		struct pw_peer *p = &pw->p[i];

		if (p->awaiting && pw_account(p, false, 0, wall))
			changed(pw, p);
		pw->t[i].received = 0;
		p->awaiting = probeset_send(&pw->ps, pw->t, pw->n, i) == 0;
		p->sent++;
		/* a send refused at once (no route: our tunnel is gone) is a loss too */
		if (!p->awaiting && pw_account(p, false, 0, wall))
			changed(pw, p);
	}
	save(pw);
}

/* Answers on the socket: each counts once, at once. */
static void answers(struct peerwatch *pw)
{
	int64_t wall = (int64_t)time(NULL);
	bool any = false;

	if (probeset_read(&pw->ps, pw->t, pw->n) <= 0)
		return;
	for (size_t i = 0; i < pw->n; i++) {
		struct pw_peer *p = &pw->p[i];

		if (!p->awaiting || !pw->t[i].received)
			continue;
		p->awaiting = false;
		p->received++;
		any = true;
		if (pw_account(p, true, pw->t[i].rtt_ms, wall))
			changed(pw, p);
	}
	if (any)
		save(pw);
}

size_t peerwatch_fds(void *ctx, struct pollfd *out, size_t max)
{
	struct peerwatch *pw = ctx;

	if (pw->ps.fd < 0 || max < 1 || !pw->interval_ms)
		return 0;
	out[0] = (struct pollfd){ .fd = pw->ps.fd, .events = POLLIN };
	return 1;
}

uint64_t peerwatch_deadline(void *ctx)
{
	struct peerwatch *pw = ctx;

	return pw->interval_ms && pw->n ? pw->next_ms : UINT64_MAX;
}

void peerwatch_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct peerwatch *pw = ctx;

	pw->loop = l;
	if (n && (fds[0].revents & POLLIN))
		answers(pw);
	if (pw->interval_ms && pw->n && now >= pw->next_ms)
		round_start(pw, now);
}

void peerwatch_after(void *ctx, const struct site *site, int result)
{
	(void)result;
	peerwatch_reload(ctx, site);
}
