/* site_ipv6.c - the IPv6 items the engine does not apply yet (issue 22):
 * plan and up refuse a site file with one of them (and so the watcher and
 * rollback), never applying it in half; check accepts the file. Applied:
 * IPv6 networks of peers reached over IPv4 (sit), tunnels over an IPv6 WAN
 * to a peer's IPv6 endpoint (ip6tnl, 4in6 and 6in6), IPsec for both
 * (protocols 4 and 41, over IPv4 or IPv6), their routes, forwarding, the ip6
 * table, manage_interfaces' IPv6 addresses and default route, a list of
 * IPv6 endpoints and names looked up as IPv6 (failover, the watcher). */
#include "site.h"

static int refuse(const struct site *s, const char *cmd, FILE *err, int line, const char *what)
{
	fprintf(err, "%s: error: %s:%d: %s: this build does not apply it yet: nothing changed\n", cmd, s->path,
		line, what);
	return -1;
}

int site_ipv6_unsupported(const struct site *s, const char *cmd, FILE *err)
{
	bool networks6 = false;

	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		networks6 |= p->n_networks6 > 0;
	}
	if (networks6 && !s->lan_address6.len)
		return refuse(s, cmd, err, s->line_lan_address,
			      "peers' IPv6 networks without an IPv6 lan_address (their routes' src)");
	return 0;
}
