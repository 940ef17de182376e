/* siteclash.c - a WAN address shared by two sites on one gateway */
#include "siteclash.h"
#include "endpoints.h"
#include "gatewayctl.h"
#include "state.h"

#include <stdlib.h>
#include <string.h>

int siteclash_check(const struct site *s, FILE *err)
{
	char (*sites)[SITE_NAME_MAX + 1] = NULL, ip[IP6_STRLEN];
	size_t n = 0;
	int clashes = 0;
	FILE *quiet;

	if (state_sites(&sites, &n) < 0)
		return 0;	/* no state here: no other site */
	quiet = fopen("/dev/null", "we");
	for (size_t i = 0; quiet && i < n; i++) {
		struct state st;
		struct site other;

		if (!strcmp(sites[i], s->name) || state_read(sites[i], &st) < 0 || !st.file[0])
			continue;
		/* its file as it is now (a file gone or broken: nothing to compare) */
		if (config_load(st.file, &other, quiet) < 0)
			continue;
		/* its automatic WAN address is the one its WAN has now */
		if (other.wan_auto && endpoints_fill(&other, NULL, EP_DNS_RECORDED, quiet) < 0) {
			config_free(&other);
			continue;
		}
		/* either family's (an IPv6-only WAN has no IPv4 address: wan_address 0) */
		ip[0] = '\0';
		if (strcmp(other.name, sites[i]))
			;	/* a state file of another name: not that site's */
		else if (s->wan_address.addr && other.wan_address.addr == s->wan_address.addr)
			ip4_str(s->wan_address.addr, ip);
		else if (s->wan_address6.len && other.wan_address6.len &&
			 ip6_equal(other.wan_address6.addr, s->wan_address6.addr))
			ip6_str(s->wan_address6.addr, ip);
		if (ip[0]) {
			fprintf(err, "%s:%d: error: wan_address %s is also the WAN address of site %s (%s:%d), "
				"which is up on this gateway: two sites with one WAN address drop each other's "
				"IKE, ESP and IPIP; give each site its own address, or make them one site\n",
				s->path, s->line_wan_address, ip, other.name, st.file, other.line_wan_address);
			clashes++;
		}
		config_free(&other);
	}
	if (quiet)
		fclose(quiet);
	free(sites);
	return clashes;
}
