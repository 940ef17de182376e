/* live.c - looking things up in a site, its plan and the kernel as read:
 * links by name and index, peers by name and tunnel, routes by destination,
 * whose link a tunnel is (model.c, model_tun.c, model6.c and the readers of
 * the kernel use these; they use nothing of those). */
#include "model.h"
#include "gatewayctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *live_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		exit(1);
	}
	return p;
}

void model_alias(const struct site *s, const struct peer *p, char *out, size_t len)
{
	snprintf(out, len, RTNL_ALIAS_PREFIX "%s/%s", s->name, p->name);
}

static int link_cmp(const void *a, const void *b)
{
	return strcmp(((const struct link_info *)a)->name, ((const struct link_info *)b)->name);
}

const struct link_info *live_link(const struct live *live, const char *name)
{
	struct link_info key = { .ifindex = 0 };

	if (!live || !live->n_links)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, live->links, live->n_links, sizeof(key), link_cmp);
}

const struct link_info *live_link_at(const struct live *live, int ifindex)
{
	for (size_t k = 0; live && k < live->n_links; k++)
		if (live->links[k].ifindex == ifindex)
			return &live->links[k];
	return NULL;
}

bool live_tunnel_at(const struct live *live, int ifindex)
{
	const struct link_info *l = live_link_at(live, ifindex);

	return l && model_tunnel_link_kind(l->kind);
}

static int by_ifindex_cmp(const void *a, const void *b)
{
	int x = (*(const struct link_info *const *)a)->ifindex, y = (*(const struct link_info *const *)b)->ifindex;

	return (x > y) - (x < y);
}

static int peer_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct peer *const *)a)->name, (*(const struct peer *const *)b)->name);
}

static int peer_tunnel_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct peer *const *)a)->tunnel, (*(const struct peer *const *)b)->tunnel);
}

/* The plan's lookup tables: peers by name and tunnel, live links by ifindex. */
void plan_index(struct plan *plan, const struct site *s, const struct live *live)
{
	free(plan->by_name);
	free(plan->by_tunnel);
	free(plan->by_ifindex);
	plan->by_name = live_xcalloc(s->n_peers, sizeof(*plan->by_name));
	plan->by_tunnel = live_xcalloc(s->n_peers, sizeof(*plan->by_tunnel));
	for (size_t i = 0; i < s->n_peers; i++)
		plan->by_name[i] = plan->by_tunnel[i] = &s->peers[i];
	if (s->n_peers) {
		qsort(plan->by_name, s->n_peers, sizeof(*plan->by_name), peer_name_cmp);
		qsort(plan->by_tunnel, s->n_peers, sizeof(*plan->by_tunnel), peer_tunnel_cmp);
	}
	plan->n_by_ifindex = live ? live->n_links : 0;
	plan->by_ifindex = live_xcalloc(plan->n_by_ifindex, sizeof(*plan->by_ifindex));
	for (size_t i = 0; i < plan->n_by_ifindex; i++)
		plan->by_ifindex[i] = &live->links[i];
	if (plan->n_by_ifindex)
		qsort(plan->by_ifindex, plan->n_by_ifindex, sizeof(*plan->by_ifindex), by_ifindex_cmp);
}

const struct link_info *live_link_index(const struct plan *plan, int ifindex)
{
	struct link_info key = { .ifindex = ifindex };
	const struct link_info *kp = &key, *const *r;

	if (!plan->n_by_ifindex)
		return NULL;
	r = bsearch(&kp, plan->by_ifindex, plan->n_by_ifindex, sizeof(*plan->by_ifindex), by_ifindex_cmp);
	return r ? *r : NULL;
}

const struct peer *peer_named(const struct plan *plan, const struct site *s, const char *name)
{
	struct peer key;
	const struct peer *kp = &key, *const *r;

	if (!s->n_peers || strlen(name) >= sizeof(key.name))
		return NULL;
	strcpy(key.name, name);
	r = bsearch(&kp, plan->by_name, s->n_peers, sizeof(*plan->by_name), peer_name_cmp);
	return r ? *r : NULL;
}

const struct peer *peer_of_tunnel(const struct plan *plan, const struct site *s, const char *tunnel)
{
	struct peer key;
	const struct peer *kp = &key, *const *r;

	if (!s->n_peers || strlen(tunnel) >= sizeof(key.tunnel))
		return NULL;
	strcpy(key.tunnel, tunnel);
	r = bsearch(&kp, plan->by_tunnel, s->n_peers, sizeof(*plan->by_tunnel), peer_tunnel_cmp);
	return r ? *r : NULL;
}

static int route_cmp(const void *a, const void *b)
{
	const struct route_info *x = a, *y = b;

	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	return (int)x->dst_len - (int)y->dst_len;
}

/* Every route to exactly DST/LEN (there may be several: other metrics, tables) */
const struct route_info *live_routes(const struct live *live, uint32_t dst, uint8_t len,
				     size_t *count)
{
	struct route_info key = { .dst = dst, .dst_len = len };
	const struct route_info *r;

	*count = 0;
	if (!live || !live->n_routes)
		return NULL;
	r = bsearch(&key, live->routes, live->n_routes, sizeof(key), route_cmp);
	if (!r)
		return NULL;
	while (r > live->routes && route_cmp(r - 1, &key) == 0)
		r--;
	while (r + *count < live->routes + live->n_routes && route_cmp(r + *count, &key) == 0)
		(*count)++;
	return r;
}

bool model_tunnel_link_kind(const char *kind)
{
	return !strcmp(kind, "ipip") || !strcmp(kind, "sit") || !strcmp(kind, "ip6tnl");
}

/* Whether L is a tunnel of site S: by its alias, or, without alias, by its
 * link group and a name that is one of S's tunnels (an up interrupted between
 * creating the link and setting its alias). *PEER gets the peer's name. */
bool model_owns_link(const struct site *s, const struct link_info *l, const char **peer)
{
	size_t pre = strlen(RTNL_ALIAS_PREFIX), n = strlen(s->name);

	if (!l->alias[0] && l->group == RTNL_LINK_GROUP && model_tunnel_link_kind(l->kind)) {
		for (size_t i = 0; i < s->n_peers; i++)
			if (!strcmp(s->peers[i].tunnel, l->name)) {
				if (peer)
					*peer = s->peers[i].name;
				return true;
			}
		return false;
	}
	if (strncmp(l->alias, RTNL_ALIAS_PREFIX, pre) || strncmp(l->alias + pre, s->name, n) ||
	    l->alias[pre + n] != '/')
		return false;
	if (peer)
		*peer = l->alias + pre + n + 1;
	return true;
}

static int route6_cmp(const void *a, const void *b)
{
	const struct route6_info *x = a, *y = b;
	int c = memcmp(&x->dst, &y->dst, sizeof(x->dst));

	return c ? c : (int)x->dst_len - (int)y->dst_len;
}

const struct route6_info *live_routes6(const struct live *live, const uint8_t dst[16], uint8_t len, size_t *count)
{
	struct route6_info key = { .dst_len = len };
	const struct route6_info *r;

	*count = 0;
	if (!live || !live->n_routes6)
		return NULL;
	memcpy(&key.dst, dst, 16);
	r = bsearch(&key, live->routes6, live->n_routes6, sizeof(key), route6_cmp);
	if (!r)
		return NULL;
	while (r > live->routes6 && route6_cmp(r - 1, &key) == 0)
		r--;
	while (r + *count < live->routes6 + live->n_routes6 && route6_cmp(r + *count, &key) == 0)
		(*count)++;
	return r;
}

void live_index(struct live *live)
{
	if (live->n_links)
		qsort(live->links, live->n_links, sizeof(*live->links), link_cmp);
	if (live->n_routes)
		qsort(live->routes, live->n_routes, sizeof(*live->routes), route_cmp);
	if (live->n_routes6)
		qsort(live->routes6, live->n_routes6, sizeof(*live->routes6), route6_cmp);
}
