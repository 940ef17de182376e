/* crosscheck_netmap.c - two peer sites whose LANs overlap: only a netmap on
 * both joins them (netmap.h); the cross-site check says so, with free prefixes */
#define _GNU_SOURCE
#include "crosscheck_netmap.h"
#include "netmap.h"

#include <stdio.h>
#include <stdlib.h>

static void push(struct net4 *v, size_t *n, struct net4 x)
{
	if (x.len)
		v[(*n)++] = (struct net4){ x.addr & net4_mask(x.len), x.len };
}

struct net4 *xc_netmap_used(const struct site *sites, size_t n, size_t *n_used)
{
	size_t total = 0;
	struct net4 *v;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sites[i].n_peers; k++)
			total += sites[i].peers[k].n_networks;
	total += 3 * n;
	v = calloc(total ? total : 1, sizeof(*v));
	*n_used = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		push(v, n_used, sites[i].lan_address);
		push(v, n_used, sites[i].netmap);
		push(v, n_used, sites[i].wan_address);
		for (size_t k = 0; k < sites[i].n_peers; k++)
			for (size_t m = 0; m < sites[i].peers[k].n_networks; m++)
				push(v, n_used, sites[i].peers[k].networks[m]);
	}
	return v;
}

bool xc_netmap_clash(const struct site *a, const struct site *b, const struct net4 *used, size_t n_used,
		     char **msg)
{
	struct net4 la = netmap_lan(a), lb = netmap_lan(b), f[2];
	char s1[20], s2[20], f1[20], f2[20], hint[300] = "";

	if (!net4_overlap(la, lb) || (a->netmap.len && b->netmap.len))
		return false;
	if (!a->netmap.len && !b->netmap.len) {
		/* two free prefixes of each one's length, distinct */
		if (netmap_free(used, n_used, la.len, &f[0], 1) == 1) {
			struct net4 *u = malloc((n_used + 1) * sizeof(*u));

			if (u) {
				for (size_t i = 0; i < n_used; i++)
					u[i] = used[i];
				u[n_used] = f[0];
				if (netmap_free(u, n_used + 1, lb.len, &f[1], 1) == 1)
					snprintf(hint, sizeof(hint), ", e.g. `netmap = %s` for site %s and `netmap = %s` for site %s",
						 net4_str(f[0], f1), a->name, net4_str(f[1], f2), b->name);
				free(u);
			}
		}
	} else {
		const struct site *s = a->netmap.len ? b : a;

		if (netmap_free(used, n_used, netmap_lan(s).len, f, 1) == 1)
			snprintf(hint, sizeof(hint), ", e.g. `netmap = %s` for site %s", net4_str(f[0], f1), s->name);
	}
	if (asprintf(msg, "the LANs of site %s, %s (%s:%d), and site %s, %s (%s:%d), overlap: set `netmap` on %s "
		 "(a free prefix of the LAN's length) and name the other's map in `networks`%s",
		 a->name, net4_str(la, s1), a->path, a->line_lan_address, b->name, net4_str(lb, s2), b->path,
		 b->line_lan_address, a->netmap.len ? b->name : b->netmap.len ? a->name : "both", hint) < 0)
		*msg = NULL;
	return true;
}
