/* watchrepair.c - one repair of `gatewayctl watch`: with the site's lock held,
 * read which configuration is current (what up, up --confirm, confirm and
 * rollback last set), let the sources adjust it, and apply it through the
 * engine (site_up: all or nothing, only what gatewayctl owns). Logged to
 * syslog when it changed something or when its outcome changed; recorded in
 * RUNDIR/SITE.watch for status. */
#define _GNU_SOURCE
#include "watch.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "endpoints.h"
#include "gatewayctl.h"
#include "pending.h"
#include "proc.h"
#include "relay.h"
#include "sitearg.h"
#include "state.h"
#include "site.h"

/* What load_current found. */
enum current { CUR_SITE, CUR_DOWN, CUR_HELD, CUR_ERROR };

/* TEXT as one line; the engine's messages start with the command: said once already */
static void watch_line(const char *text, char *out, size_t len)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s watch: ", prog);
	one_line(text, prefix, out, len);
}

/* The pending change's unconfirmed bytes, as the site to keep. */
static enum current load_pending(struct watch *w, const struct pending *p, struct site *site, FILE *err)
{
	char name[SITE_NAME_MAX + 16], *buf;
	size_t len;
	int r;

	snprintf(name, sizeof(name), "%s.pending.ini", w->name);
	if ((r = lib_read_file(name, &buf, &len)) < 0) {
		fprintf(err, "cannot read the pending change %s/%s: %s", lib_dir(), name, lib_strerror(r));
		return CUR_ERROR;
	}
	r = config_parse(buf, len, p->file, site, err);
	free(buf);
	if (r < 0)
		return CUR_ERROR;
	snprintf(w->ws.watching, sizeof(w->ws.watching), "pending change from %.120s", p->file);
	return CUR_SITE;
}

/* The file given on the command line (start, SIGHUP), unless a change is
 * pending: then that stays what is kept. */
static enum current load_arg(struct watch *w, struct site *site, FILE *err)
{
	char path[4096] = "";

	if (sitearg_file("watch", w->arg, path, sizeof(path)) < 0) {
		fprintf(err, "cannot find the file of site %s", w->arg);
		return CUR_ERROR;
	}
	if (config_load(path[0] ? path : w->arg, site, err) < 0)
		return CUR_ERROR;
	if (strcmp(site->name, w->name)) {
		fprintf(err, "%s now names site %s, not %s", site->path, site->name, w->name);
		config_free(site);
		return CUR_ERROR;
	}
	snprintf(w->ws.watching, sizeof(w->ws.watching), "file %.140s", site->path);
	return CUR_SITE;
}

/* A pending change whose rollback watcher is gone (the machine restarted, or
 * it was killed) would never be rolled back: roll it back now, as `up --boot`
 * does, and say so. The pending record is read again into P: R of that. */
static int roll_back_orphan(struct watch *w, struct pending *p)
{
	char *text = NULL, line[700];
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int r;

	if (!m)
		return pending_read(w->name, p);
	r = pending_rollback(p, "it was never confirmed and its watcher is gone", m, m);
	fclose(m);
	watch_line(text ? text : "", line, sizeof(line));
	watch_log(w, r == 0 ? LOG_WARNING : LOG_ERR, "a pending change (from %s) whose watcher is gone: %s: %s", p->file,
		  r == 0 ? "rolled back" : "its rollback FAILED", line);
	free(text);
	return pending_read(w->name, p);
}

/* Which configuration is current, loaded into SITE (CUR_SITE); or why none. */
static enum current load_current(struct watch *w, struct site *site, bool *from_arg, FILE *err)
{
	struct pending p;
	struct state st;
	int r;

	*from_arg = false;
	memset(site, 0, sizeof(*site));
	r = pending_read(w->name, &p);
	if (r == 0 && !p.failed_at && !pending_watcher_alive(&p))
		r = roll_back_orphan(w, &p);
	if (r == 0 && !p.failed_at) {
		if (w->apply_arg)	/* like up: refused while a change is pending */
			watch_log(w, LOG_NOTICE, "a change is pending (from %s): %s is not applied; the pending "
				  "change is kept until `%s confirm` or `%s rollback`", p.file, w->arg, prog, prog);
		w->apply_arg = false;
		return load_pending(w, &p, site, err);
	}
	if (r == 0 || r == -EINVAL) {
		fprintf(err, "a pending change's rollback failed or its record is garbled: nothing is repaired "
			"until `%s confirm %s` or `%s rollback %s`", prog, w->name, prog, w->name);
		snprintf(w->ws.watching, sizeof(w->ws.watching), "nothing (a pending change needs a person)");
		return CUR_HELD;
	}
	if (r != -ENOENT) {
		fprintf(err, "cannot read the pending change in %s: %s", lib_dir(), lib_strerror(r));
		return CUR_ERROR;
	}
	if (w->apply_arg) {
		*from_arg = true;
		return load_arg(w, site, err);
	}
	if (state_read(w->name, &st) < 0)
		state_init(&st, w->name);
	r = confirmed_load(w->name, site, err);
	if (r == 0) {
		/* the state keeps naming the administrator's file, not the copy */
		if (st.file[0])
			snprintf(site->path, sizeof(site->path), "%s", st.file);
		snprintf(w->ws.watching, sizeof(w->ws.watching), "last confirmed configuration");
		return CUR_SITE;
	}
	if (r != -ENOENT)
		return CUR_ERROR;
	if (st.file[0]) {
		if (config_load(st.file, site, err) < 0)
			return CUR_ERROR;
		snprintf(w->ws.watching, sizeof(w->ws.watching), "file %.140s", st.file);
		return CUR_SITE;
	}
	snprintf(w->ws.watching, sizeof(w->ws.watching), "nothing (the site is down)");
	return CUR_DOWN;
}

/* The "# why" lines site_up printed before each step, joined: what it repaired. */
static void whys(const char *out, char *dst, size_t len)
{
	size_t o = 0;

	dst[0] = '\0';
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t n = strcspn(l, "\n");

		if (n < 3 || strncmp(l, "# ", 2))
			continue;
		o += (size_t)snprintf(dst + o, o < len ? len - o : 0, "%s%.*s", o ? "; " : "", (int)(n - 2), l + 2);
		if (o >= len)
			break;
	}
	if (!dst[0])
		snprintf(dst, len, "the site was brought up");
}

/* Apply SITE, output and errors collected; the number of changes or -1. */
static int apply_site(struct watch *w, struct site *site, char **out, char **err)
{
	size_t olen = 0, elen = 0;
	FILE *mo = open_memstream(out, &olen), *me = open_memstream(err, &elen);
	char cmd[64], why[600];
	int r = -1;

	if (!mo || !me) {
		if (mo)
			fclose(mo);
		if (me)
			fclose(me);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "%s watch", prog);
	if (wl_prepare(&w->loop, site, why, sizeof(why)) < 0) {
		fprintf(me, "%s", why);
	} else {
		struct site_up_opts o = { .cmd = cmd, .out = mo, .err = me };

		r = site_up(site, &o);
	}
	fclose(mo);
	fclose(me);
	return r;
}

static void record(struct watch *w)
{
	int r = watchstate_write(w->name, &w->ws);

	if (r < 0 && !strstr(w->last_log, "state file"))
		watch_log(w, LOG_WARNING, "cannot write its state file in %s: %s", state_dir(), strerror(-r));
}

/* The outcome of one run: counters, the state file, the log (once per change
 * of outcome). */
static enum wl_result report(struct watch *w, int r, const char *why, const char *out, const char *err,
			     uint64_t took)
{
	char what[600], line[600];

	w->ws.checks++;
	if (r < 0) {
		watch_line(err && *err ? err : "no reason given", line, sizeof(line));
		w->ws.failures++;
		w->fail_streak++;
		snprintf(w->ws.last_error, sizeof(w->ws.last_error), "%s", line);
		w->ws.backoff_ms = w->loop.backoff_ms ? w->loop.backoff_ms * 2 : WL_BACKOFF_MIN_MS;
		if (w->ws.backoff_ms > WL_BACKOFF_MAX_MS)
			w->ws.backoff_ms = WL_BACKOFF_MAX_MS;
		if (!w->ws.failing_since)
			w->ws.failing_since = (int64_t)time(NULL);
		if (strcmp(w->last_log, line)) {
			watch_log(w, LOG_WARNING, "repair FAILED (%s): %s; retrying in %llu s, then less and less often "
				  "(up to every %d s); logged again when this changes", why, line,
				  (unsigned long long)w->ws.backoff_ms / 1000, WL_BACKOFF_MAX_MS / 1000);
			snprintf(w->last_log, sizeof(w->last_log), "%s", line);
		}
		record(w);
		return WL_FAILED;
	}
	if (w->ws.failing_since)
		watch_log(w, LOG_NOTICE, "repair works again after %lu failed tr%s", w->fail_streak,
			  w->fail_streak == 1 ? "y" : "ies");
	w->fail_streak = 0;
	w->ws.failing_since = 0;
	w->ws.backoff_ms = 0;
	w->ws.last_error[0] = '\0';
	w->last_log[0] = '\0';
	if (r > 0) {
		whys(out, what, sizeof(what));
		w->ws.repairs++;
		w->ws.last_repair = (int64_t)time(NULL);
		snprintf(w->ws.last_what, sizeof(w->ws.last_what), "%s", what);
		watch_log(w, LOG_NOTICE, "repaired %llu ms after the first event (%s): %d change%s: %s",
			  (unsigned long long)took, why, r, r == 1 ? "" : "s", what);
	}
	record(w);
	return WL_DONE;
}

/* A run that found nothing to apply: the site is down, or held. */
static enum wl_result report_idle(struct watch *w, enum current c, const char *err)
{
	char line[600];

	watch_line(c == CUR_DOWN ? "the site is down (`gatewayctl down` ran, or no up yet): nothing to keep until "
				 "the next up" : err, line, sizeof(line));
	if (strcmp(w->last_log, line)) {
		watch_log(w, c == CUR_DOWN ? LOG_NOTICE : LOG_WARNING, "%s", line);
		snprintf(w->last_log, sizeof(w->last_log), "%s", line);
	}
	w->ws.checks++;
	w->ws.failing_since = 0;
	w->ws.backoff_ms = 0;
	record(w);
	return WL_DONE;
}

enum wl_result watch_repair(struct wl *l, void *ctx, const char *why)
{
	struct watch *w = ctx;
	uint64_t t0 = mono_ms();
	char *out = NULL, *err = NULL;
	size_t elen = 0;
	FILE *me;
	struct site site;
	enum current c;
	enum wl_result res;
	bool from_arg;
	int lock = state_trylock(w->name), r = -1, k;

	if (lock == -EWOULDBLOCK)
		return WL_BUSY;
	if (lock < 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "cannot take the site's lock in %s: %s", state_private_dir(), strerror(-lock));
		return report(w, -1, why, NULL, msg, 0);
	}
	if (!(me = open_memstream(&err, &elen))) {
		close(lock);
		return WL_FAILED;
	}
	c = load_current(w, &site, &from_arg, me);
	fclose(me);
	if (c == CUR_SITE) {
		free(err);
		err = NULL;
		r = apply_site(w, &site, &out, &err);
		if (r >= 0 && from_arg && (k = confirmed_keep(&site)) < 0) {
			free(err);
			if (asprintf(&err, "the site is up, but its confirmed copy cannot be kept in %s: %s", lib_dir(),
				     lib_strerror(k)) < 0)
				err = NULL;
			r = -1;
		}
		if (r >= 0)
			w->apply_arg = false;
		w->auto_wait = r < 0 && endpoints_auto_missing(&site);
	}
	/* (what could not be read keeps the events that concern the last one read) */
	if (c == CUR_SITE || c == CUR_DOWN)
		watch_interest(w, c == CUR_SITE ? &site : NULL);
	if (c == CUR_DOWN) /* nothing to probe */
		peerwatch_clear(&w->pw);
	watch_relay_rearm(w);
	if (c == CUR_SITE)
		wl_after(&w->loop, &site, r);
	close(lock);
	if (c == CUR_SITE)
		config_free(&site);
	if (c == CUR_DOWN || c == CUR_HELD)
		res = report_idle(w, c, err);
	else if (c == CUR_ERROR && from_arg) {
		/* a broken file on SIGHUP: said once, the current configuration kept */
		w->apply_arg = false;
		report_idle(w, CUR_HELD, err);
		wl_request(&w->loop, "the file could not be used: keeping the current configuration", true);
		res = WL_DONE;
	} else
		res = report(w, r, why, out, err, mono_ms() - (l->asked_at ? l->asked_at : t0));
	free(out);
	free(err);
	malloc_trim(0);		/* the kernel's dumps are freed: give their pages back while idle */
	return res;
}
