/* fuzz_state.c - libFuzzer target: the state file (state.c). Any input parses
 * (lines not understood are passed over); what it gives, written out and read
 * again, is written out the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const void *data, size_t size, struct state *st)
{
	FILE *f;

	state_init(st, "fuzz");
	if (!size)
		return;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	state_parse(f, st);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state p, q;	/* 10 KB each: not on the stack */
	size_t len1 = 0, len2 = 0;
	char *one, *two;

	parse(data, size, &p);
	one = state_format(&p, &len1);
	if (!one)
		abort();
	parse(one, len1, &q);
	two = state_format(&q, &len2);
	if (!two || len1 != len2 || memcmp(one, two, len1) || state_empty(&p) != state_empty(&q))
		abort();
	free(one);
	free(two);
	return 0;
}
