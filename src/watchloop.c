/* watchloop.c - the event loop of `gatewayctl watch` (see watchloop.h) */
#include "watchloop.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "proc.h"

void wl_init(struct wl *l, enum wl_result (*repair)(struct wl *, void *, const char *), void *ctx)
{
	memset(l, 0, sizeof(*l));
	l->repair = repair;
	l->repair_ctx = ctx;
	l->repair_at = WL_NEVER;
}

int wl_add(struct wl *l, const struct wl_source *s)
{
	if (l->n_src >= WL_MAX_SOURCES)
		return -ENOSPC;
	l->src[l->n_src++] = *s;
	return 0;
}

/* Add WHY to the reasons of the next repair, once ("; "-joined, cut when long). */
static void add_why(struct wl *l, const char *why)
{
	size_t have = strlen(l->why), n = strlen(why);

	if (!n || strstr(l->why, why))
		return;
	if (have + n + 3 >= sizeof(l->why)) {
		if (have + 6 < sizeof(l->why) && !strstr(l->why, "; ..."))
			strcat(l->why, "; ...");
		return;
	}
	if (have)
		strcat(l->why, "; ");
	strcat(l->why, why);
}

void wl_request(struct wl *l, const char *why, bool urgent)
{
	uint64_t now = mono_ms(), at = urgent ? now : now + WL_DEBOUNCE_MS;

	add_why(l, why);
	if (!l->asked_at)
		l->asked_at = now;
	if (urgent)
		l->backoff_ms = 0;
	else if (l->backoff_ms && l->repair_at != WL_NEVER)
		return;		/* a failing repair: wait for its retry */
	if (at < l->repair_at)
		l->repair_at = at;
}

void wl_stop(struct wl *l)
{
	l->stop = true;
}

int wl_prepare(struct wl *l, struct site *site, char *why, size_t len)
{
	for (size_t i = 0; i < l->n_src; i++)
		if (l->src[i].prepare && l->src[i].prepare(l->src[i].ctx, site, why, len) < 0)
			return -1;
	return 0;
}

void wl_after(struct wl *l, const struct site *site, int result)
{
	for (size_t i = 0; i < l->n_src; i++)
		if (l->src[i].after)
			l->src[i].after(l->src[i].ctx, site, result);
}

int wl_timeout(uint64_t deadline, uint64_t now)
{
	if (deadline == WL_NEVER)
		return -1;
	if (deadline <= now)
		return 0;
	/* rounded up: a wake-up a little early would only poll again */
	return deadline - now >= INT_MAX ? INT_MAX : (int)(deadline - now);
}

static void run_repair(struct wl *l)
{
	uint64_t now;
	char why[sizeof(l->why)];
	enum wl_result r;

	memcpy(why, l->why, sizeof(why));
	l->why[0] = '\0';
	l->repair_at = WL_NEVER;
	r = l->repair(l, l->repair_ctx, why[0] ? why : "a check");
	now = mono_ms();
	if (r != WL_BUSY)
		l->asked_at = 0;
	if (r == WL_DONE) {
		l->backoff_ms = 0;
	} else if (r == WL_BUSY) {
		add_why(l, why);
		l->repair_at = now + WL_BUSY_RETRY_MS;
	} else {
		l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : WL_BACKOFF_MIN_MS;
		if (l->backoff_ms > WL_BACKOFF_MAX_MS)
			l->backoff_ms = WL_BACKOFF_MAX_MS;
		add_why(l, why);
		l->repair_at = now + l->backoff_ms;
	}
}

/* Collect every source's pollfds (source I's: COUNT[I] from FIRST[I]) and the
 * nearest deadline. */
static size_t gather(struct wl *l, struct pollfd *pfd, size_t *first, size_t *count, uint64_t *deadline)
{
	size_t n = 0;

	*deadline = l->repair_at;
	for (size_t i = 0; i < l->n_src; i++) {
		const struct wl_source *s = &l->src[i];
		size_t k = s->fds ? s->fds(s->ctx, pfd + n, WL_MAX_FDS - n) : 0;

		if (k > WL_MAX_FDS - n)
			k = WL_MAX_FDS - n;
		first[i] = n;
		count[i] = k;
		for (size_t j = 0; j < k; j++)
			pfd[n + j].revents = 0;
		n += k;
		if (s->deadline) {
			uint64_t d = s->deadline(s->ctx);

			if (d < *deadline)
				*deadline = d;
		}
	}
	return n;
}

int wl_run(struct wl *l)
{
	struct pollfd pfd[WL_MAX_FDS];
	size_t first[WL_MAX_SOURCES], count[WL_MAX_SOURCES];

	while (!l->stop) {
		uint64_t deadline, now;
		size_t n = gather(l, pfd, first, count, &deadline);
		int r = poll(pfd, n, wl_timeout(deadline, mono_ms()));

		if (r < 0 && errno != EINTR)
			return -errno;
		l->wakeups++;
		now = mono_ms();
		for (size_t i = 0; i < l->n_src && !l->stop; i++) {
			const struct wl_source *s = &l->src[i];
			bool due = s->deadline && s->deadline(s->ctx) <= now, seen = false;

			for (size_t j = first[i]; j < first[i] + count[i] && r > 0; j++)
				seen |= pfd[j].revents != 0;
			if ((seen || due) && s->ready)
				s->ready(l, s->ctx, pfd + first[i], count[i], now);
		}
		if (!l->stop && l->repair_at <= mono_ms())
			run_repair(l);
	}
	return 0;
}
