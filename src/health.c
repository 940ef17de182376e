/* health.c - a site's health, judged once for status and its Prometheus
 * output: gather (kernel, plan, pending change, IPsec, probes), then every
 * fault as a reason with its fix. */
#define _GNU_SOURCE
#include "endpoints.h"
#include "health.h"

#include <errno.h>
#include <linux/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayctl.h"
#include "ipsec.h"
#include "preflight.h"
#include "state.h"

__attribute__((format(printf, 3, 4)))
static void reason(struct health *h, const char *fix, const char *fmt, ...)
{
	struct health_reason *r = realloc(h->reasons, (h->n_reasons + 1) * sizeof(*h->reasons));
	va_list ap;

	if (!r) {
		h->lost = true;
		return;
	}
	h->reasons = r;
	r = &h->reasons[h->n_reasons++];
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	snprintf(r->fix, sizeof(r->fix), "%s", fix ? fix : "");
}

/* The fix of the last reason (when there is one). */
static void last_fix(struct health *h, const char *fix)
{
	if (h->n_reasons)
		snprintf(h->reasons[h->n_reasons - 1].fix, sizeof(h->reasons[0].fix), "%s", fix);
}

/* Preflight's findings (what up would refuse for) as reasons; how many. A
 * "  hint: ..." line is the fix of the finding above it. */
static int preflight_reasons(struct health *h, const struct site *s)
{
	char *text = NULL, *line, *next;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int n;

	if (!m)
		return 0;
	n = preflight(s, &h->live, m);
	fclose(m);
	for (line = text; line && *line; line = next) {
		const char *msg = strstr(line, ": error: ");

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "  hint: ", 8) && h->n_reasons)
			last_fix(h, line + 8);
		else
			reason(h, NULL, "up would refuse: %s", msg ? msg + 9 : line);
	}
	free(text);
	return n;
}

/* Whether anything of the site is in the kernel: its state, table, tunnels or relay. */
static bool site_is_up(const struct site *s, const struct live *live)
{
	struct state st;

	if (live->nft.present || live->relay_pid || (state_read(s->name, &st) == 0 && !state_empty(&st)))
		return true;
	for (size_t i = 0; i < live->n_links; i++)
		if (model_owns_link(s, &live->links[i], NULL))
			return true;
	return false;
}

const char *health_up_fix(const struct site *s, char *fix, size_t len)
{
	char word[200];

	shell_word(s->path, word, sizeof(word));
	snprintf(fix, len, "%s up %s", prog, word);
	return fix;
}

/* Drift: every step up would take, with that step as the fix. */
static void drift_reasons(struct health *h, const struct site *s)
{
	for (size_t i = 0; h->up && i < h->plan.n; i++) {
		const struct step *st = &h->plan.steps[i];
		size_t len = strcspn(st->text, "\n");
		char fix[300];

		snprintf(fix, sizeof(fix), "%.*s%s", (int)len, st->text, st->text[len] ? " (...)" : "");
		if (st->kind == STEP_IPSEC_LOAD)
			/* the step's text is swanctl.conf: the fix is up */
			snprintf(fix, sizeof(fix), "gatewayctl up %.150s (or systemctl reload gatewayctl@%s, "
				 "which follows strongSwan's reloads)", s->path, s->name);
		reason(h, fix, "%s", st->why[0] ? st->why : st->text);
	}
}

static bool ipsec_missing(const struct site *s, const struct live *live, size_t i)
{
	return s->peers[i].encryption == ENC_IPSEC && live->ipsec.peers && live->ipsec.peers[i].loaded &&
	       !ipsec_installed_child(live->ipsec.peers[i].sa);
}

/* IPsec: a peer whose connection is loaded but has no SA is asked for now,
 * which tells charon's reason when it cannot be established. */
static void ipsec_reasons(struct health *h, const struct site *s)
{
	char (*fix)[300] = calloc(s->n_peers ? s->n_peers : 1, sizeof(*fix));
	bool *failed = calloc(s->n_peers ? s->n_peers : 1, sizeof(*failed)), again = false;

	h->ipsec_why = calloc(s->n_peers ? s->n_peers : 1, sizeof(*h->ipsec_why));
	if (!fix || !failed || !h->ipsec_why) {
		h->lost = true;
		goto out;
	}
	if (h->live.ipsec.wanted && !h->live.ipsec.reachable && ipsec_site_uses(s))
		reason(h, ipsec_hint(-ENOENT), "%s", h->live.ipsec.error);
	if (!h->live.ipsec.reachable)
		goto out;
	for (size_t i = 0; i < s->n_peers; i++) {
		char name[VICI_NAME_MAX + 1];

		if (!ipsec_missing(s, &h->live, i))
			continue;
		ipsec_conn_name(s, &s->peers[i], name, sizeof(name));
		if (ipsec_diagnose(name, 5000, h->ipsec_why[i], sizeof(h->ipsec_why[i]), fix[i], sizeof(fix[i])) == 0)
			again = true;
		else
			failed[i] = true;
	}
	if (again) {
		ipsec_live_free(&h->live.ipsec);
		ipsec_live_read(s, &h->live.ipsec);
	}
	for (size_t i = 0; i < s->n_peers; i++)
		if (ipsec_missing(s, &h->live, i))
			reason(h, fix[i], "peer %s: IPsec not established: %s", s->peers[i].name,
			       failed[i] ? h->ipsec_why[i] : "charon is still negotiating");
out:
	free(fix);
	free(failed);
}

/* Whether a probe of peer P can tell anything about the peer and the path:
 * our own tunnel must be there and up. If not, why in PR->error. */
static bool probe_path(const struct site *s, const struct peer *p, const struct live *live, struct probe *pr,
		       bool up)
{
	const struct link_info *l = live_link(live, p->tunnel);

	memset(pr, 0, sizeof(*pr));
	if (!up)
		snprintf(pr->error, sizeof(pr->error), "site %s is not up", s->name);
	else if (!l || !model_owns_link(s, l, NULL))
		snprintf(pr->error, sizeof(pr->error), "our own tunnel %s is missing on this gateway", p->tunnel);
	else if (!(l->flags & IFF_UP))
		snprintf(pr->error, sizeof(pr->error), "our own tunnel %s is down", p->tunnel);
	else
		return true;
	return false;
}

static void probe_reasons(struct health *h, const struct site *s)
{
	char ip[16], fix[240];

	h->probes = calloc(s->n_peers ? s->n_peers : 1, sizeof(*h->probes));
	h->probed = calloc(s->n_peers ? s->n_peers : 1, sizeof(*h->probed));
	if (!h->probes || !h->probed) {
		h->lost = true;
		return;
	}
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		struct probe *pr = &h->probes[i];

		if (!probe_path(s, p, &h->live, pr, h->up)) {
			if (h->up)
				reason(h, health_up_fix(s, fix, sizeof(fix)), "peer %s: not probed: %s", p->name,
				       pr->error);
			continue;
		}
		probe_peer(s, p, pr);
		h->probed[i] = true;
		if (pr->error[0])
			reason(h, NULL, "probe of peer %s: %s", p->name, pr->error);
		else if (pr->received == 0)
			reason(h, "check the peer gateway and the path between the sites",
			       "peer %s: no answer from %s through %s (%d sent)", p->name,
			       ip4_str(p->lan_address, ip), p->tunnel, pr->sent);
	}
}

/* `gateway = auto` with no default route on the WAN: a reason among the
 * others (endpoints_fill judged the rest as if the file named no gateway),
 * not the end of status. Anything else endpoints_fill refuses stops status
 * (on ERR). */
static int fill(struct nl *rt, struct site *s, struct health *h, FILE *err)
{
	char *text = NULL, fix[300], what[300];
	const char *msg;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int r;

	if (!m)
		return endpoints_fill(s, rt, EP_DNS_RECORDED, err);
	r = endpoints_fill(s, rt, EP_DNS_RECORDED, m);
	fclose(m);
	if (r == ENDPOINTS_NO_GATEWAY) {
		/* its one line, "FILE:LINE: error: WHAT; FIX": the WHAT, with our own fix */
		msg = text ? strstr(text, ": error: ") : NULL;
		snprintf(what, sizeof(what), "%s", msg ? msg + 9 : "`gateway = auto`: the WAN has no default route");
		what[strcspn(what, ";\n")] = '\0';
		snprintf(fix, sizeof(fix), "wait for the WAN's default route (DHCP, PPPoE), or write the gateway's "
			 "address in %.150s:%d", s->path, s->line_gateway);
		reason(h, fix, "%s", what);
		r = 0;
	} else if (r < 0 && text) {
		fputs(text, err);
	}
	free(text);
	return r;
}

int health_read(struct nl *rt, struct nl *nf, struct site *s, bool probe, struct health *h, FILE *err)
{
	memset(h, 0, sizeof(*h));
	/* endpoint names: the addresses up recorded; auto: as the WAN has it now */
	if (fill(rt, s, h, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_peers; i++) {
		char ep[300];

		if (s->peers[i].endpoint_named && !s->peers[i].endpoint)
			reason(h, "`up` or the watcher resolves it (status never waits for DNS)",
			       "peer %s: endpoint %s", s->peers[i].name, endpoints_describe(&s->peers[i], ep, sizeof(ep)));
	}
	if (live_read(rt, nf, s, &h->plan, &h->live, err) < 0) {
		plan_free(&h->plan);
		return -1;
	}
	plan_build(&h->plan, s, &h->live);
	/* what up would refuse for, as up says it */
	h->refusals = preflight_reasons(h, s);
	h->up = site_is_up(s, &h->live);
	if (!h->up) {
		/* nothing of the site in the kernel: one fix, not one per missing piece */
		char fix[240], text[300];

		health_up_fix(s, fix, sizeof(fix));
		snprintf(text, sizeof(text), "%s%s", fix, h->refusals ? " (once the above is fixed)" : "");
		reason(h, NULL, "site %s is not up: nothing of it is in the kernel", s->name);
		last_fix(h, text);
	}
	drift_reasons(h, s);
	ipsec_reasons(h, s);
	/* a change made by up --confirm: shown; a problem only when nothing will end it */
	h->have_pending = pending_view(s->name, &h->pending) == 0;
	if (h->have_pending && h->pending.problem[0])
		reason(h, h->pending.fix, "%s", h->pending.problem);
	/* (a relay that is not running, or with other settings, is drift above) */
	if (probe)
		probe_reasons(h, s);
	/* gatewayctl watch's probes (peerwatch.h): a peer down is a fault */
	h->have_watch = peerwatch_load(s->name, &h->watch) == 0;
	for (size_t i = 0; h->have_watch && i < s->n_peers; i++) {
		char why[300];

		if (peerwatch_down(&h->watch, s->peers[i].name, why, sizeof(why)))
			reason(h, "check the peer gateway and the path between the sites", "%s", why);
	}
	return 0;
}

void health_free(struct health *h)
{
	free(h->reasons);
	free(h->probes);
	free(h->probed);
	free(h->ipsec_why);
	if (h->have_watch)
		pw_file_free(&h->watch);
	live_free(&h->live);
	plan_free(&h->plan);
	memset(h, 0, sizeof(*h));
}
