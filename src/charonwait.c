/* charonwait.c - wait, with a bound, until charon answers on its VICI socket */
#include "charonwait.h"
#include "gatewayctl.h"
#include "ipsec.h"
#include "vici.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

unsigned charon_wait_limit(FILE *err)
{
	const char *e = getenv("GATEWAYCTL_CHARON_WAIT");
	char *end;
	unsigned long v;

	if (!e || !*e)
		return CHARON_WAIT_DEFAULT;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (errno || *end || *e < '0' || *e > '9' || v > CHARON_WAIT_MAX) {
		fprintf(err, "%s up: GATEWAYCTL_CHARON_WAIT=%s is not a whole number of seconds from 0 to %d; "
			"waiting %d s\n", prog, e, CHARON_WAIT_MAX, CHARON_WAIT_DEFAULT);
		return CHARON_WAIT_DEFAULT;
	}
	return (unsigned)v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* charon answers a version request (its socket file exists earlier) */
static int answers(char *why, size_t len)
{
	struct vici v;
	struct vici_version ver;
	int r = vici_open(&v, ipsec_socket());

	if (r == 0) {
		r = vici_version(&v, &ver);
		if (r < 0)
			snprintf(why, len, "%s", v.err);
		vici_close(&v);
	} else {
		snprintf(why, len, "%s", v.err);
	}
	return r;
}

int charon_wait(const struct site *s, FILE *out, FILE *err)
{
	unsigned limit = charon_wait_limit(err);
	double start = now();
	char why[sizeof(((struct vici *)0)->err)] = "";
	bool said = false;

	if (!ipsec_site_uses(s))
		return 0;
	while (answers(why, sizeof(why)) < 0) {
		struct timespec pause = { 0, 250 * 1000 * 1000 };

		if (now() - start >= limit) {
			fprintf(err, "%s up: site %s: charon did not answer at %s within %u s: %s\n", prog,
				s->name, ipsec_socket(), limit, why[0] ? why : "no answer");
			return -ETIMEDOUT;
		}
		if (!said) {
			fprintf(out, "site %s: waiting up to %u s for charon (strongSwan) at %s\n", s->name, limit,
				ipsec_socket());
			fflush(out);
			said = true;
		}
		nanosleep(&pause, NULL);
	}
	if (said)
		fprintf(out, "site %s: charon answers after %.1f s\n", s->name, now() - start);
	return 0;
}
