/* fuzz_site.c - libFuzzer target: the whole site-file loader (the line scan,
 * iniparser through the sealed memory file, every value and relation) on
 * arbitrary bytes. Valid or not, it must return 0 or -1, never crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct site site;

	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	if (config_parse((const char *)data, size, "fuzz.ini", &site, sink) == 0) {
		/* a file that loads is a site: at least one peer, each with a
		 * network (of either family), and IPv6 only where it is written */
		if (site.n_peers == 0 || !(site.peers[0].n_networks + site.peers[0].n_networks6))
			abort();
		if (site_has_ipv6(&site, NULL) && !memchr(data, ':', size))
			abort();
		config_free(&site);
	}
	return 0;
}
