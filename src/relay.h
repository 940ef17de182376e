/* relay.h - the UDP broadcast relay: the daemon, and how up/down/status drive it */
#ifndef GATEWAYCTL_RELAY_H
#define GATEWAYCTL_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"

/* (`gatewayctl relay -f FILE [-d]`, relay_main in commands.h: the daemon in the
 * foreground, -d: diagnostics per datagram on stderr. `up` starts it detached
 * with --daemon, handing it the validated site file's bytes in a sealed memory
 * file, --config-fd.) */

/* Start the relay of SITE detached, with the bytes site->text (never the file
 * again). Returns once it has opened its sockets and dropped its privileges
 * (0), or failed (-errno, with a one-line reason in MSG). */
int relay_start(const struct site *site, char *msg, size_t len);

/* Stop the relay of SITE: SIGTERM through a pidfd, then SIGKILL after a few
 * seconds; only a process proven to be the relay is ever signalled (see
 * relay_priv.h, struct relay_id). 0 also when none runs. */
int relay_stop(const char *site_name);

/* The pid of SITE's running relay, 0 if none (a stale pid file, or one naming
 * a process that is not the relay, counts as none). Callers that cannot read
 * the root-only pid file get what the counters file says, checked the same way
 * but for the executable. *STARTED (may be NULL) receives its start time.
 * *CONFIG_HASH (may be NULL) the hash of the relay settings it runs with
 * (relay_config_hash). */
pid_t relay_running(const char *site_name, time_t *started, uint64_t *config_hash);

/* A hash of everything in SITE that the relay's behaviour depends on; up
 * restarts a running relay whose hash differs. */
uint64_t relay_config_hash(const struct site *site);

/* Counters the relay keeps (in RUNDIR/SITE.relay.stats, see docs). */
enum relay_drop {
	DROP_NOT_BROADCAST,	/* LAN datagram to a unicast address */
	DROP_NOT_FROM_LAN,	/* source outside the LAN subnet, or the gateway itself */
	DROP_RATE,		/* over budget (datagrams or bytes, the sender's fair share) */
	DROP_BAD_FRAME,		/* malformed or unknown version */
	DROP_UNKNOWN_PEER,	/* frame from an address that is no relay peer */
	DROP_WRONG_TUNNEL,	/* frame from a peer, but not through its tunnel */
	DROP_UNKNOWN_PORT,	/* frame for a port this site does not relay */
	DROP_HOPS,		/* hop count exhausted */
	DROP_SEND_ERROR,	/* sending failed (peer or tunnel gone) */
	DROP_TOO_BIG,		/* would not fit: never silently truncated */
	DROP_REASSEMBLY,	/* half of a split datagram whose other half never came (timeout, eviction) */
	DROP_QUEUE_FULL,	/* a send queue (a peer's, the LAN socket's) was full: dropped, never waited for */
	DROP_REASONS
};
const char *relay_drop_name(enum relay_drop d);

struct relay_port_stats {
	uint16_t port;
	uint64_t received;	/* broadcasts received from the LAN */
	uint64_t relayed;	/* frames sent to peers (one per peer) */
	uint64_t rebroadcast;	/* frames from peers broadcast on the LAN */
	uint64_t dropped[DROP_REASONS];
};

struct relay_peer_stats {
	char name[SITE_NAME_MAX + 1];
	uint64_t sent, received;	/* frames */
	uint64_t dropped[DROP_REASONS];
};

struct relay_stats {
	pid_t pid;
	time_t started;
	uint64_t start_ticks;	/* its start time in clock ticks after boot (0: unknown) */
	uint64_t config_hash;
	struct relay_port_stats ports[RELAY_PORTS_MAX];
	size_t n_ports;
	struct relay_peer_stats *peers;	/* malloc'd */
	size_t n_peers;
	uint64_t dropped_other[DROP_REASONS];	/* frames not attributable to a peer or port */
};

/* Read SITE's counters. 0, -ENOENT when there are none, or -errno. */
int relay_read_stats(const char *site_name, struct relay_stats *st);
void relay_stats_free(struct relay_stats *st);

#endif
