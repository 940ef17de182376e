/* step.c - a plan's steps, added one by one (model.c, plan_down.c, block.c,
 * the IPsec planners) with their text and, for drift, why. */
#define _GNU_SOURCE
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
struct step *plan_add_step(struct plan *plan, enum step_kind kind, const char *fmt, ...)
{
	struct step *st;
	va_list ap;

	if (plan->n == plan->cap) {
		plan->cap = plan->cap ? plan->cap * 2 : 16;
		plan->steps = realloc(plan->steps, plan->cap * sizeof(*plan->steps));
		if (!plan->steps) {
			fprintf(stderr, "gatewayctl: out of memory\n");
			exit(1);
		}
	}
	st = &plan->steps[plan->n++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	va_start(ap, fmt);
	if (vasprintf(&st->text, fmt, ap) < 0) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		exit(1);
	}
	va_end(ap);
	return st;
}

__attribute__((format(printf, 2, 3)))
void step_why(struct step *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}
