/* ipsecmove.c - the "ike" source of the watcher: peers that IKE (MOBIKE) found
 * at another address, followed through the engine (ipsecmove.h) */
#define _GNU_SOURCE
#include "ipsecmove.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "endpoints.h"
#include "ipsec.h"
#include "ipsec_conn.h"
#include "proc.h"
#include "state.h"
#include "watch.h"

#define MOVES_MAX 16

struct ike_move {
	char peer[SITE_NAME_MAX + 1];
	uint32_t addr;
	bool v6;		/* an IPv6 peer's move: addr6 */
	uint8_t addr6[16];
};

struct ike_source {
	const struct watch *w;
	struct wl *loop;
	struct vici v;			/* registered for the events; fd -1: not connected */
	struct vici_stream s;
	struct ike_peer *peers;
	size_t n;
	struct ike_move moves[MOVES_MAX];
	size_t n_moves;
	uint64_t retry_at;		/* connect then (mono ms) */
	char said[300];			/* the last problem logged (logged once) */
};

/* one per watcher process, for its whole life */
static struct ike_source ike = { .v = { .fd = -1 } };

/* The address of event E for peer P, of P's family, into ADDR or ADDR6:
 * 0, or -1 with WHY */
static int judge_addr(const struct ike_peer *p, const struct vici_ike_event *e, uint32_t *addr, uint8_t addr6[16],
		      char *why, size_t len)
{
	bool is4 = parse_ip4(e->remote_host, addr) == 0;
	bool is6 = !is4 && parse_ip6(e->remote_host, addr6) == 0;

	if (!is4 && !is6) {
		snprintf(why, len, "the address `%s` is neither IPv4 nor IPv6", e->remote_host);
		return -1;
	}
	if (is6 != p->v6) {
		snprintf(why, len, "the address `%s` is %s, peer %s's endpoint is %s: a tunnel does not change "
			 "family", e->remote_host, is6 ? "IPv6" : "IPv4", p->name, p->v6 ? "IPv6" : "IPv4");
		return -1;
	}
	return 0;
}

int ikemove_judge(const struct ike_peer *peers, size_t n, const struct vici_ike_event *e, uint32_t *addr,
		  uint8_t addr6[16], char *why, size_t len)
{
	size_t i;

	why[0] = '\0';
	for (i = 0; i < n && strcmp(peers[i].conn, e->conn); i++)
		;
	if (i == n || e->kind == VICI_IKE_DOWN)
		return -1;	/* not ours, or an SA going away: nothing to follow */
	if (strcmp(e->state, "ESTABLISHED")) {
		snprintf(why, len, "its IKE_SA is %s, not established", e->state[0] ? e->state : "in no state");
		return -1;
	}
	if (strcmp(e->remote_id, peers[i].name)) {
		snprintf(why, len, "the IKE_SA authenticated `%s`, not `%s`", e->remote_id, peers[i].name);
		return -1;
	}
	*addr = 0;
	memset(addr6, 0, 16);
	if (judge_addr(&peers[i], e, addr, addr6, why, len) < 0)
		return -1;
	if (peers[i].v6 ? ip6_equal(addr6, peers[i].endpoint6) : *addr == peers[i].endpoint)
		return -1;	/* where we have it: nothing to do */
	return (int)i;
}

void ikemove_record(struct state *st, const struct peer *p, uint32_t addr)
{
	struct state_endpoint *e = state_endpoint(st, p->name);
	uint32_t base;

	if (!e)
		return;
	base = e->ike_base ? e->ike_base : e->addr;
	if (!base)
		base = p->endpoint;	/* a new entry: the address the file chose */
	e->addr = addr;
	e->ike_base = addr == base ? 0 : base;
}

void ikemove_record6(struct state *st, const struct peer *p, const uint8_t addr6[16])
{
	struct state_endpoint *e = state_endpoint(st, p->name);
	uint8_t base[16];

	if (!e)
		return;
	memcpy(base, !ip6_zero(e->ike_base6) ? e->ike_base6 : e->v6 ? e->addr6 : p->endpoint6, 16);
	if (ip6_zero(base))
		memcpy(base, p->endpoint6, 16);	/* a new entry: the address the file chose */
	e->v6 = true;
	e->addr = e->ike_base = 0;
	memcpy(e->addr6, addr6, 16);
	if (ip6_equal(addr6, base))
		memset(e->ike_base6, 0, 16);
	else
		memcpy(e->ike_base6, base, 16);
}

/* ---- the events ------------------------------------------------------------ */

static void say_once(struct ike_source *k, int prio, const char *text)
{
	if (!strcmp(k->said, text))
		return;
	snprintf(k->said, sizeof(k->said), "%s", text);
	watch_log(k->w, prio, "%s", text);
}

static void want_move(struct ike_source *k, const struct ike_peer *p, const struct vici_ike_event *e,
		      uint32_t addr, const uint8_t addr6[16])
{
	char a[IP6_STRLEN], old[IP6_STRLEN], why[200];
	size_t i;

	for (i = 0; i < k->n_moves && strcmp(k->moves[i].peer, p->name); i++)
		;
	if (i == MOVES_MAX)
		return;
	if (i == k->n_moves)
		k->n_moves++;
	snprintf(k->moves[i].peer, sizeof(k->moves[i].peer), "%s", p->name);
	k->moves[i].addr = addr;
	k->moves[i].v6 = p->v6;
	memcpy(k->moves[i].addr6, addr6, 16);
	if (p->v6) {
		ip6_str(addr6, a);
		ip6_str(p->endpoint6, old);
	} else {
		ip4_str(addr, a);
		ip4_str(p->endpoint, old);
	}
	watch_log(k->w, LOG_NOTICE, "IKE: peer %s moved: its IKE_SA %s (authenticated as %s) is at %s now (was %s): "
		  "moving its tunnel there", p->name, e->conn, e->remote_id, a, old);
	snprintf(why, sizeof(why), "IKE found peer %s at %s", p->name, a);
	if (k->loop)
		wl_request(k->loop, why, false);
}

static int on_event(const char *event, const struct vici_node *msg, void *arg)
{
	struct ike_source *k = arg;
	struct vici_ike_event e;
	char why[200], text[400];
	uint32_t addr;
	uint8_t addr6[16];
	int i;

	if (vici_ike_event_parse(event, msg, &e) < 0)
		return 0;
	i = ikemove_judge(k->peers, k->n, &e, &addr, addr6, why, sizeof(why));
	if (i >= 0) {
		want_move(k, &k->peers[i], &e, addr, addr6);
	} else if (why[0]) {
		snprintf(text, sizeof(text), "IKE: %s event of %s at %s ignored: %s", event, e.conn, e.remote_host, why);
		say_once(k, LOG_WARNING, text);
	}
	return 0;
}

/* The SAs charon has now, on a connection of their own (moves made while the
 * watcher was not listening). */
static void list_sas(struct ike_source *k)
{
	struct vici v;
	struct vici_msg m;

	if (vici_open(&v, ipsec_socket()) < 0)
		return;
	vici_msg_init(&m);
	vici_kv_str(&m, "noblock", "yes");
	vici_call(&v, "list-sas", &m, "list-sa", on_event, k, 0, NULL);
	vici_msg_free(&m);
	vici_close(&v);
}

static void disconnect(struct ike_source *k)
{
	vici_close(&k->v);
	vici_stream_free(&k->s);
}

static void connect_charon(struct ike_source *k, uint64_t now)
{
	char text[900];

	if (vici_open(&k->v, ipsec_socket()) < 0 || vici_register(&k->v, "ike-update") < 0 ||
	    vici_register(&k->v, "ike-updown") < 0) {
		snprintf(text, sizeof(text), "IKE: cannot follow the peers' moves: %s; trying again every %d s", k->v.err,
			 IKEMOVE_RETRY_MS / 1000);
		say_once(k, LOG_WARNING, text);
		disconnect(k);
		k->retry_at = now + IKEMOVE_RETRY_MS;
		return;
	}
	if (k->said[0])
		say_once(k, LOG_NOTICE, "IKE: following the peers' moves (charon's events)");
	list_sas(k);
}

/* ---- the loop's callbacks ---------------------------------------------------- */

static size_t ike_fds(void *ctx, struct pollfd *out, size_t max)
{
	struct ike_source *k = ctx;

	if (k->v.fd < 0 || !max)
		return 0;
	out[0] = (struct pollfd){ .fd = k->v.fd, .events = POLLIN };
	return 1;
}

static uint64_t ike_deadline(void *ctx)
{
	struct ike_source *k = ctx;

	return k->n && k->v.fd < 0 ? k->retry_at : WL_NEVER;
}

static void ike_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct ike_source *k = ctx;
	int r;

	k->loop = l;
	if (k->v.fd < 0) {
		if (k->n && now >= k->retry_at)
			connect_charon(k, now);
		return;
	}
	if (!n || !fds[0].revents)
		return;
	if ((r = vici_stream_read(&k->v, &k->s, on_event, k)) < 0) {
		char text[200];

		snprintf(text, sizeof(text), "IKE: charon's events stopped (%s): listening again in 1 s",
			 r == -ECONNRESET ? "charon closed the connection" : strerror(-r));
		say_once(k, LOG_WARNING, text);
		disconnect(k);
		k->retry_at = now + 1000;
	}
}

/* The moves heard: refused, or recorded in the state for the repair to apply */
/* Move M of an encrypted peer of SITE into ST, unless it is refused (said
 * once): 1 recorded, 0 not. */
struct ike_prepare_ctx {
	struct ike_source *k;
	const struct site *site;
};

/* Whether peer Q (not P) has M's address as its endpoint */
static bool taken_by(const struct peer *p, const struct peer *q, const struct ike_move *m)
{
	if (q == p || q->endpoint_v6 != m->v6)
		return false;
	return m->v6 ? ip6_equal(q->endpoint6, m->addr6) : q->endpoint == m->addr;
}

static int ike_record(struct ike_source *k, const struct site *site, struct state *st, const struct ike_move *m)
{
	const struct peer *p = NULL;
	char reason[200], a[IP6_STRLEN], text[400];
	bool taken = false;

	for (size_t j = 0; j < site->n_peers; j++)
		if (!strcmp(site->peers[j].name, m->peer) && site->peers[j].encryption == ENC_IPSEC)
			p = &site->peers[j];
	if (!p || p->endpoint_v6 != m->v6)
		return 0;	/* gone, or its family changed with the file: the event is stale */
	for (size_t j = 0; j < site->n_peers && !taken; j++)
		if (taken_by(p, &site->peers[j], m)) {
			snprintf(reason, sizeof(reason), "the endpoint of peer %s", site->peers[j].name);
			taken = true;
		}
	if (taken || (m->v6 ? endpoints_refused6(site, p, m->addr6, reason, sizeof(reason)) :
		      endpoints_refused(site, p, m->addr, reason, sizeof(reason)))) {
		snprintf(text, sizeof(text), "IKE: peer %s at %s: %s: refused, its tunnel stays", p->name,
			 m->v6 ? ip6_str(m->addr6, a) : ip4_str(m->addr, a), reason);
		say_once(k, LOG_WARNING, text);
		return 0;
	}
	if (m->v6)
		ikemove_record6(st, p, m->addr6);
	else
		ikemove_record(st, p, m->addr);
	return 1;
}

static size_t record_moves(struct state *st, void *arg)
{
	struct ike_prepare_ctx *c = arg;
	size_t n = 0;

	for (size_t i = 0; i < c->k->n_moves; i++)
		n += ike_record(c->k, c->site, st, &c->k->moves[i]);
	return n;
}

static int ike_prepare(void *ctx, struct site *site, char *why, size_t len)
{
	struct ike_source *k = ctx;
	struct ike_prepare_ctx c = { k, site };

	if (!k->n_moves)
		return 0;
	/* on failure the moves stay pending: the repair's retry records them */
	if (state_update(site->name, "the peers' new addresses (IKE)", record_moves, &c, why, len) < 0)
		return -1;
	k->n_moves = 0;
	return 0;
}

/* The site's encrypted peers as applied: what the events are judged against */
static void ike_after(void *ctx, const struct site *site, int result)
{
	struct ike_source *k = ctx;
	struct ike_peer *v;
	size_t n = 0;

	if (result < 0)
		return;
	v = calloc(site->n_peers ? site->n_peers : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < site->n_peers; i++) {
		const struct peer *p = &site->peers[i];

		if (p->encryption != ENC_IPSEC)
			continue;
		snprintf(v[n].name, sizeof(v[n].name), "%s", p->name);
		ipsec_conn_name(site, p, v[n].conn, sizeof(v[n].conn));
		v[n].v6 = p->endpoint_v6;
		memcpy(v[n].endpoint6, p->endpoint6, 16);
		v[n++].endpoint = p->endpoint;
	}
	free(k->peers);
	k->peers = v;
	k->n = n;
	if (!n)
		disconnect(k);	/* no encrypted peer: no events wanted */
}

int ikemove_source_add(const struct watch *w, struct wl *loop)
{
	ike.w = w;
	ike.loop = loop;
	return wl_add(loop, &(struct wl_source){ .name = "ike", .ctx = &ike, .fds = ike_fds,
						 .deadline = ike_deadline, .ready = ike_ready,
						 .prepare = ike_prepare, .after = ike_after });
}
