/* fuzz_crosscheck.c - libFuzzer target: the cross-site check (src/crosscheck.c)
 * on up to four site files cut out of arbitrary bytes at lines "===". Every
 * file that loads takes part; whatever they say, the check returns, never
 * crashes or leaks. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crosscheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct site sites[4];
	size_t n = 0, tried = 0;
	const char *p = (const char *)data, *end = p + size;
	char name[16];

	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	while (p <= end && tried < 4) {
		const char *cut = memmem(p, (size_t)(end - p), "\n===\n", 5);
		const char *stop = cut ? cut + 1 : end;

		snprintf(name, sizeof(name), "f%zu.ini", tried++);
		if (config_parse(p, (size_t)(stop - p), name, &sites[n], sink) == 0)
			n++;
		if (!cut)
			break;
		p = cut + 5;
	}
	if (n) {
		struct crosscheck_result r = crosscheck(sites, n, n < tried, sink);

		(void)r;
	}
	for (size_t i = 0; i < n; i++)
		config_free(&sites[i]);
	return 0;
}
