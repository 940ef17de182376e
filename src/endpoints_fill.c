/* endpoints_fill.c - endpoints_fill(): a site's names resolved (all at once)
 * and its auto addresses read, checked, then written into the site (endpoints.h) */
#include "endpoints.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayctl.h"
#include "nlsock.h"
#include "resolve.h"
#include "rtnl.h"
#include "state.h"

/* a peer's endpoint as chosen: the address (IPv4, or IPv6 for a peer with
 * endpoint_v6), and for an encrypted one the file's choice an address IKE
 * found stands for (0 otherwise) */
struct pick {
	uint32_t addr, base;
	uint8_t addr6[16], base6[16];
};

struct job {
	struct peer *p;
	size_t e;		/* p->eps[e] is the name */
	struct resolved res;
	bool done;
};

static void job_done(const char *name, const struct resolved *res, void *arg)
{
	struct job *j = arg;

	(void)name;
	j->res = *res;
	j->done = true;
}

/* Every job's name looked up in parallel; each ends (answer, error, timeout). */
static void resolve_all(struct job *jobs, size_t n)
{
	struct resolver *r;
	char why[160];
	int rc = resolver_new(&r, why, sizeof(why));
	size_t left = n;

	for (size_t i = 0; i < n; i++)
		if (rc < 0 || resolver_start_af(r, jobs[i].p->eps[jobs[i].e].name,
						jobs[i].p->endpoint_v6 ? AF_INET6 : AF_INET, job_done, &jobs[i]) < 0) {
			jobs[i].res.status = rc < 0 ? rc : -ENOMEM;
			snprintf(jobs[i].res.error, sizeof(jobs[i].res.error), "%s", rc < 0 ? why : "out of memory");
			jobs[i].done = true;
		}
	while (rc == 0) {
		struct pollfd pfd[16];
		int np, t;

		left = 0;
		for (size_t i = 0; i < n; i++)
			left += !jobs[i].done;
		if (!left)
			break;
		np = resolver_pollfds(r, pfd, 16);
		t = resolver_timeout_ms(r);
		if (poll(pfd, (nfds_t)np, t < 0 ? RESOLVE_TIMEOUT_MS : t) < 0 && errno != EINTR)
			break;
		resolver_process(r, pfd, np);
	}
	if (rc == 0)
		resolver_free(r);	/* cancels what is left: -ECANCELED */
}

/* The address the last up recorded for peer NAME (0: none) and its TTL: the
 * file's choice (an address IKE found instead stands for it: recorded_ike);
 * an IPv6 one into A6 (:: when none) */
static uint32_t recorded(const struct state *st, const char *name, unsigned *ttl, uint8_t a6[16])
{
	memset(a6, 0, 16);
	for (int i = 0; i < st->n_endpoints; i++)
		if (!strcmp(st->endpoints[i].peer, name)) {
			*ttl = st->endpoints[i].ttl;
			if (st->endpoints[i].v6)
				memcpy(a6, ip6_zero(st->endpoints[i].ike_base6) ? st->endpoints[i].addr6 :
				       st->endpoints[i].ike_base6, 16);
			return st->endpoints[i].ike_base ? st->endpoints[i].ike_base : st->endpoints[i].addr;
		}
	return 0;
}

/* Where IKE found peer NAME instead of the file's choice: its state line
 * with `ike` (IPv4 or IPv6), or NULL */
static const struct state_endpoint *recorded_ike(const struct state *st, const char *name)
{
	for (int i = 0; i < st->n_endpoints; i++)
		if (!strcmp(st->endpoints[i].peer, name) &&
		    (st->endpoints[i].v6 ? !ip6_zero(st->endpoints[i].ike_base6) : st->endpoints[i].ike_base != 0))
			return &st->endpoints[i];
	return NULL;
}

/* The names to look up: every named item with RESOLVE; none with RECORDED:
 * status never waits for DNS (a named peer takes the address the state file
 * has, or stays unresolved, endpoint 0: "not resolved yet"). */
static size_t list_jobs(struct site *s, enum ep_dns how, struct job *jobs)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_peers; i++) {
		struct peer *p = &s->peers[i];

		if (how == EP_DNS_RECORDED && p->endpoint_named)
			continue;
		/* a name resolved already (by the watcher) is not looked up again */
		for (size_t e = 0; e < p->n_eps; e++)
			if (p->eps[e].name && !p->eps[e].n_addrs)
				jobs[n++] = (struct job){ .p = p, .e = e };
	}
	return n;
}

static bool same_pick(const struct peer *a, const struct pick *pa, const struct peer *b, const struct pick *pb)
{
	if (a->endpoint_v6 != b->endpoint_v6)
		return false;
	return a->endpoint_v6 ? !ip6_zero(pa->addr6) && ip6_equal(pa->addr6, pb->addr6) : pa->addr == pb->addr;
}

/* Two peers with one address in use (one of them named): a collision */
static int check_unique(const struct site *s, const struct pick *chosen, FILE *err)
{
	char b[IP6_STRLEN];
	int bad = 0;

	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		if (!p->endpoint_named)
			continue;
		for (size_t k = 0; k < s->n_peers; k++)
			if (k != i && same_pick(p, &chosen[i], &s->peers[k], &chosen[k]) &&
			    (k < i || !s->peers[k].endpoint_named))
				bad = fprintf(err, "%s:%d: error: peer %s's endpoint resolves to %s, the endpoint of "
					      "peer %s (line %d) too: two tunnels cannot share it\n", s->path,
					      p->endpoint_line, p->name, p->endpoint_v6 ? ip6_str(chosen[i].addr6, b) :
					      ip4_str(chosen[i].addr, b), s->peers[k].name, s->peers[k].endpoint_line);
	}
	return bad ? -1 : 0;
}

/* The jobs' answers checked against VIEW (the site with its auto address). */
static int check_jobs(const struct site *view, struct job *jobs, size_t n, FILE *err)
{
	int bad = 0;
	char why[300];
	struct endpoint_item scratch;

	for (size_t i = 0; i < n; i++) {
		struct peer copy = *jobs[i].p;
		const char *name = jobs[i].p->eps[jobs[i].e].name;

		/* endpoints_take on a scratch item: the site stays as it is */
		scratch = copy.eps[jobs[i].e];
		copy.eps = &scratch;
		if (endpoints_take(view, &copy, 0, &jobs[i].res, why, sizeof(why)) < 0)
			bad = fprintf(err, "%s:%d: error: peer %s: endpoint %s: %s%s\n", view->path,
				      jobs[i].p->endpoint_line, jobs[i].p->name, name, why,
				      jobs[i].res.status < 0 ? "; check the name and the DNS servers "
							       "(/etc/resolv.conf)" : "");
	}
	return bad ? -1 : 0;
}

/* Everything known and checked: into the site (BASES: see choose_all). */
static void commit(struct site *s, struct job *jobs, size_t n, const struct state *st, enum ep_dns how,
		   const struct pick *chosen)
{
	char why[8];

	for (size_t i = 0; i < n; i++)
		endpoints_take(s, jobs[i].p, jobs[i].e, &jobs[i].res, why, sizeof(why));
	for (size_t i = 0; i < s->n_peers; i++) {
		struct peer *p = &s->peers[i];
		unsigned ttl = 0;
		uint8_t a6[16];
		uint32_t a = recorded(st, p->name, &ttl, a6);
		bool known = p->endpoint_v6 ? !ip6_zero(a6) : a != 0;

		/* status: a recorded address goes with the peer's first name */
		for (size_t e = 0; how == EP_DNS_RECORDED && known && p->endpoint_named && e < p->n_eps; e++)
			if (p->eps[e].name && !p->eps[e].n_addrs) {
				p->eps[e].addrs[0] = a;
				memcpy(p->eps[e].addrs6[0], a6, 16);
				p->eps[e].n_addrs = 1;
				p->eps[e].ttl = ttl;
				break;
			}
		if (p->endpoint_v6) {
			memcpy(p->endpoint6, chosen[i].addr6, 16);
			memcpy(p->endpoint_ike6, chosen[i].base6, 16);
			continue;
		}
		p->endpoint = chosen[i].addr;
		p->endpoint_ike = chosen[i].base;
	}
}

/* Peer P's choice from the file (its names' answers as they would be taken)
 * into OUT (addr, or addr6 for a peer with endpoint_v6) */
static void file_choice(const struct site *s, const struct peer *p, const struct job *jobs, size_t n,
			const struct state *st, enum ep_dns how, struct pick *out)
{
	struct endpoint_item items[PEER_ENDPOINTS_MAX];
	struct peer view = *p;
	unsigned ttl;
	uint8_t keep6[16];
	uint32_t keep = recorded(st, p->name, &ttl, keep6);

	if (s->endpoints_chosen) {
		keep = p->endpoint;
		memcpy(keep6, p->endpoint6, 16);
	}
	out->addr = p->endpoint;
	memcpy(out->addr6, p->endpoint6, 16);
	if (!p->endpoint_named && p->n_eps < 2)
		return;
	if (how == EP_DNS_RECORDED && (p->endpoint_v6 ? !ip6_zero(keep6) : keep != 0) && p->endpoint_named &&
	    !s->endpoints_chosen) {
		out->addr = keep;
		memcpy(out->addr6, keep6, 16);
		return;
	}
	memcpy(items, p->eps, p->n_eps * sizeof(*items));
	view.eps = items;
	for (size_t j = 0; j < n; j++)
		if (jobs[j].p == p && jobs[j].res.status == 0) {
			struct endpoint_item *it = &items[jobs[j].e];

			it->n_addrs = jobs[j].res.n < ENDPOINT_ADDRS_MAX ? jobs[j].res.n : ENDPOINT_ADDRS_MAX;
			memcpy(it->addrs, jobs[j].res.addr, it->n_addrs * sizeof(uint32_t));
			memcpy(it->addrs6, jobs[j].res.addr6, it->n_addrs * 16);
		}
	if (p->endpoint_v6)
		endpoints_choose6(&view, keep6, out->addr6);
	else
		out->addr = endpoints_choose(&view, keep);
}

/* The choice of every peer, into CHOSEN: the file's, or for an encrypted peer
 * the address IKE found it at instead, while the file still chooses what that
 * address stands for (then that one in base or base6; 0 or :: otherwise). */
static void choose_all(const struct site *s, const struct job *jobs, size_t n, const struct state *st,
		       enum ep_dns how, struct pick *chosen)
{
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		const struct state_endpoint *ike = recorded_ike(st, p->name);
		struct pick *c = &chosen[i];

		file_choice(s, p, jobs, n, st, how, c);
		c->base = 0;
		memset(c->base6, 0, 16);
		if (!ike || p->encryption != ENC_IPSEC || ike->v6 != p->endpoint_v6)
			continue;
		if (!p->endpoint_v6 && c->addr == ike->ike_base) {
			c->addr = ike->addr;
			c->base = ike->ike_base;
		} else if (p->endpoint_v6 && ip6_equal(c->addr6, ike->ike_base6)) {
			memcpy(c->addr6, ike->addr6, 16);
			memcpy(c->base6, ike->ike_base6, 16);
		}
	}
}

/* `wan_address = auto` and `gateway = auto` of S from the kernel, into ADDR and
 * GW; errors on ERR at their lines. 0, -1, or ENDPOINTS_NO_GATEWAY when all
 * but the gateway was read (the WAN has no default route: *GW stays). */
static int read_auto(const struct site *s, struct nl *rt, struct net4 *addr, uint32_t *gw, FILE *err)
{
	struct link_info wan;
	struct addr_info *a = NULL;
	struct route_info *r = NULL;
	size_t na = 0, nr = 0;
	char why[120];
	int ret = 0, line = s->wan_auto ? s->line_wan_address : s->line_gateway;
	const char *key = s->wan_auto ? "wan_address" : "gateway";

	if ((ret = rtnl_link_by_name(rt, s->wan, &wan)) < 0) {
		fprintf(err, "%s:%d: error: `%s = auto`: cannot read the WAN interface `%s`: %s\n", s->path, line, key,
			s->wan, ret == -ENODEV ? "no such interface on this gateway" : strerror(-ret));
		return -1;
	}
	if ((s->wan_auto && (ret = rtnl_addrs(rt, wan.ifindex, &a, &na)) < 0) ||
	    (s->gateway_auto && (ret = rtnl_routes(rt, &r, &nr)) < 0)) {
		fprintf(err, "%s:%d: error: `%s = auto`: cannot read %s's addresses and routes: %s\n", s->path, line,
			key, s->wan, strerror(-ret));
		ret = -1;
	} else if (s->wan_auto && endpoints_wan_auto(wan.ifindex, a, na, NULL, 0, addr, NULL, why, sizeof(why))) {
		fprintf(err, "%s:%d: error: `wan_address = auto`: the WAN interface %s: %s yet; wait for its "
			"address (DHCP, PPPoE) or write it here\n", s->path, s->line_wan_address, s->wan, why);
		ret = -1;
	} else if (s->gateway_auto && endpoints_wan_auto(wan.ifindex, NULL, 0, r, nr, NULL, gw, why, sizeof(why))) {
		fprintf(err, "%s:%d: error: `gateway = auto`: the WAN interface %s: %s; wait for it (DHCP, "
			"PPPoE) or write the gateway's address here\n", s->path, s->line_gateway, s->wan, why);
		ret = ENDPOINTS_NO_GATEWAY;
	}
	free(a);
	free(r);
	return ret;
}

/* An automatic WAN address must not collide with what the file fixes. */
static int check_auto(const struct site *s, struct net4 wan, FILE *err)
{
	char b1[20], b2[20];
	struct net4 net = { wan.addr & net4_mask(wan.len), wan.len };
	int bad = 0;

	if (net4_overlap(net, s->lan_address))
		bad = fprintf(err, "%s:%d: error: `wan_address = auto`: %s's address %s overlaps the LAN subnet\n",
			      s->path, s->line_wan_address, s->wan, net4_str(wan, b1));
	if (s->netmap.len && net4_overlap(net, s->netmap))
		bad = fprintf(err, "%s:%d: error: `wan_address = auto`: %s's subnet %s overlaps the netmap %s "
			      "(line %d)\n", s->path, s->line_wan_address, s->wan, net4_str(net, b1),
			      net4_str(s->netmap, b2), s->line_netmap);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		for (size_t k = 0; k < p->n_networks; k++)
			if (net4_overlap(net, p->networks[k]))
				bad = fprintf(err, "%s:%d: error: `wan_address = auto`: %s's subnet %s overlaps network %s "
					      "of peer %s (line %d)\n", s->path, s->line_wan_address, s->wan,
					      net4_str(net, b1), net4_str(p->networks[k], b2), p->name, p->networks_line);
		for (size_t e = 0; e < p->n_eps; e++)
			if (!p->eps[e].name && p->eps[e].addr == wan.addr)
				bad = fprintf(err, "%s:%d: error: `wan_address = auto`: %s's address %s is the endpoint of "
					      "peer %s (line %d)\n", s->path, s->line_wan_address, s->wan,
					      net4_str(wan, b1), p->name, p->endpoint_line);
	}
	return bad ? -1 : 0;
}

static int fill(struct site *s, struct nl *rt, enum ep_dns how, FILE *err)
{
	struct site view = *s;	/* shallow: read only, never freed */
	struct state st;
	struct job *jobs;
	struct pick *chosen;
	size_t n_names = 0, n;
	int ret = 0, autos = 0;

	if (s->wan_auto || s->gateway_auto) {
		autos = read_auto(s, rt, &view.wan_address, &view.gateway, err);
		if (autos == -1 || (s->wan_auto && check_auto(s, view.wan_address, err) < 0))
			return -1;
	}
	if (state_read(s->name, &st) < 0)
		state_init(&st, s->name);
	for (size_t i = 0; i < s->n_peers; i++)
		for (size_t e = 0; e < s->peers[i].n_eps; e++)
			n_names += s->peers[i].eps[e].name != NULL;
	jobs = calloc(n_names ? n_names : 1, sizeof(*jobs));
	chosen = calloc(s->n_peers ? s->n_peers : 1, sizeof(*chosen));
	if (!jobs || !chosen) {
		fprintf(err, "%s: error: out of memory\n", s->path);
		free(jobs);
		free(chosen);
		return -1;
	}
	n = list_jobs(s, how, jobs);
	resolve_all(jobs, n);
	if (check_jobs(&view, jobs, n, err) < 0)
		ret = -1;
	if (ret == 0) {
		choose_all(s, jobs, n, &st, how, chosen);
		ret = check_unique(s, chosen, err);
	}
	if (ret == 0) {
		s->wan_address = view.wan_address;
		s->gateway = view.gateway;
		commit(s, jobs, n, &st, how, chosen);
	}
	free(jobs);
	free(chosen);
	return ret < 0 ? ret : autos;
}

bool endpoints_auto_missing(const struct site *s)
{
	struct net4 addr;
	uint32_t gw;
	struct nl rt;
	FILE *devnull;
	bool missing;

	if (!s->wan_auto && !s->gateway_auto)
		return false;
	if (nl_open(&rt, NETLINK_ROUTE) < 0)
		return false;
	devnull = fopen("/dev/null", "we");
	missing = devnull && read_auto(s, &rt, &addr, &gw, devnull) < 0;
	if (devnull)
		fclose(devnull);
	nl_close(&rt);
	return missing;
}

int endpoints_fill(struct site *s, struct nl *rt, enum ep_dns how, FILE *err)
{
	struct nl own;
	int r;

	if (!endpoints_dynamic(s))
		return 0;
	if (!rt && (s->wan_auto || s->gateway_auto)) {
		if ((r = nl_open(&own, NETLINK_ROUTE)) < 0) {
			fprintf(err, "%s:%d: error: `%s = auto`: cannot open rtnetlink: %s\n", s->path,
				s->wan_auto ? s->line_wan_address : s->line_gateway,
				s->wan_auto ? "wan_address" : "gateway", strerror(-r));
			return -1;
		}
		r = fill(s, &own, how, err);
		nl_close(&own);
		return r;
	}
	return fill(s, rt, how, err);
}
