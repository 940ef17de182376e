/* metrics.h - `gatewayctl status --prometheus [--output FILE] [--probe] [SITE]`:
 * the sites' health and counters in Prometheus' text format (node_exporter's
 * textfile collector), written atomically to FILE when given. */
#ifndef GATEWAYCTL_METRICS_H
#define GATEWAYCTL_METRICS_H

#include <stdbool.h>

/* ARG: a site file or name, NULL for every site here. Exit status: 0 every
 * site read (whatever its health: that is in the metrics), 1 a site could not
 * be read (the rest is written) or no output at all, 2 bad usage or an invalid
 * site file (nothing written). */
int metrics_print(const char *arg, bool probe, const char *output);

#endif
