/* probe.h - three ICMP echoes to a peer gateway's LAN address through its
 * tunnel, from our lan_address (probe.c): `status --probe` and the Prometheus
 * output (metrics.c) */
#ifndef GATEWAYCTL_PROBE_H
#define GATEWAYCTL_PROBE_H

#include "config.h"

struct probe {
	int sent, received;
	double min, avg, max;	/* ms */
	char error[128];	/* why no probe could be sent ("" when it was) */
};

/* Probe peer P of site S: what was sent and answered, the round trips, or
 * ERROR when no probe could be sent. A ping socket where the system allows
 * it, else a raw one (CAP_NET_RAW). Takes up to 1.6 s. */
void probe_peer(const struct site *s, const struct peer *p, struct probe *pr);

#endif
