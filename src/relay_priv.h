/* relay_priv.h - what the relay daemon (relay.c) and its control side
 * (relayctl.c) share: file names and the stats file's layout (docs/relay.md). */
#ifndef GATEWAYCTL_RELAY_PRIV_H
#define GATEWAYCTL_RELAY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

#define RELAY_STATS_MAGIC 0x53525747u	/* "GWRS" read as a little-endian u32 */
#define RELAY_STATS_VERSION 1
#define RELAY_PEER_NAME_LEN 40

/* All fields host byte order, 8-byte aligned; the file is
 * header | port records | peer records | other drops (u64 x n_reasons). */
struct rs_header {
	uint32_t magic, version;
	uint32_t header_size;	/* sizeof(struct rs_header) = 64 */
	uint32_t n_ports, n_peers;
	uint32_t n_reasons;	/* drop reasons per record (DROP_REASONS of the writer) */
	uint32_t port_size, peer_size;	/* bytes per record */
	int64_t pid;
	int64_t started;	/* unix time */
	uint64_t config_hash;
	uint64_t start_ticks;	/* the relay's start time, /proc/PID/stat field 22 (0: unknown) */
};

struct rs_port {
	uint32_t port, reserved;
	uint64_t received, relayed, rebroadcast;
	uint64_t dropped[DROP_REASONS];
};

struct rs_peer {
	char name[RELAY_PEER_NAME_LEN];
	uint64_t sent, received;
	uint64_t dropped[DROP_REASONS];
};

struct rs_map {
	void *base;
	size_t size;
	struct rs_header *hdr;
	struct rs_port *ports;
	struct rs_peer *peers;
	uint64_t *other;
};

/* The files: RUNDIR/ns-COOKIE/private/SITE.relay.pid and .lock (0600, root
 * only), RUNDIR/ns-COOKIE/SITE.relay.stats (0644). Names within their
 * directory (state_open), and full paths for messages. */
void relay_file_name(const char *site, const char *kind, char *buf, size_t len);
void relay_pid_path(const char *site, char *buf, size_t len);
void relay_stats_path(const char *site, char *buf, size_t len);

/* The pid file says which process is the relay, in lines:
 *   PID
 *   START   its start time in clock ticks after boot (/proc/PID/stat field 22)
 *   BOOT    /proc/sys/kernel/random/boot_id
 * A process is taken for the relay only if its pid, start time and boot match,
 * its executable is this program and its command is `relay`. */
struct relay_id {
	pid_t pid;
	uint64_t start;
	char boot[40];
};
/* Write the calling process's identity as SITE's relay (atomically). 0 or -errno. */
int relay_write_pidfile(const char *site);
/* Take SITE's start lock (private/SITE.relay.lock), waiting at most WAIT_MS for
 * whoever holds it. The fd (close releases), -EWOULDBLOCK after the wait, or -errno. */
int relay_lock(const char *site, int wait_ms);


/* The counters file's contents (LEN bytes at BUF) into *ST. 0 or -EBADMSG
 * (-ENOMEM); nothing to free on failure. */
int relay_parse_stats(const uint8_t *buf, size_t len, struct relay_stats *st);

/* Create SITE's stats file afresh for N_PORTS ports and N_PEERS peers, sized and
 * zeroed, and map it shared and writable. 0 or -errno. */
int relay_stats_create(const char *site, size_t n_ports, size_t n_peers, struct rs_map *m);
void relay_stats_unmap(struct rs_map *m);

#endif
