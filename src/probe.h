/* probe.h - `status --probe`: three ICMP echoes to a peer gateway's LAN address
 * through its tunnel (status.c), shared with the Prometheus output (metrics.c) */
#ifndef GATEWAYCTL_PROBE_H
#define GATEWAYCTL_PROBE_H

#include "config.h"

struct probe {
	int sent, received;
	double min, avg, max;	/* ms */
	char error[128];	/* why no probe could be sent ("" when it was) */
};

void status_probe(const struct site *s, const struct peer *p, struct probe *pr);

#endif
