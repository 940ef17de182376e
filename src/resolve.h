/* resolve.h - peers known by DNS name: IPv4 (A) or IPv6 (AAAA) addresses and their TTL, looked up
 * asynchronously with c-ares and the system's resolver configuration
 * (/etc/resolv.conf, /etc/hosts), so that a long-running watcher never blocks
 * on DNS. GATEWAYCTL_DNS_SERVERS ("IP[:PORT],...") names other servers (the
 * lab's, or an administrator's own), like dig's @server. */
#ifndef GATEWAYCTL_RESOLVE_H
#define GATEWAYCTL_RESOLVE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVE_MAX_ADDRS 8
/* A record's TTL as the watcher uses it: at least 5 s, at most an hour. */
#define RESOLVE_TTL_MIN 5
#define RESOLVE_TTL_MAX 3600
/* A name that doesn't answer in this many milliseconds has failed (one try). */
#define RESOLVE_TIMEOUT_MS 5000

struct resolved {
	int status;			/* 0, or -ENOENT (no such name), -ENODATA (no
					 * address of the family), -ETIMEDOUT, -ECONNREFUSED, -EIO */
	char error[160];		/* what went wrong, for the user ("" when fine) */
	int family;			/* AF_INET: ADDR; AF_INET6: ADDR6 */
	uint32_t addr[RESOLVE_MAX_ADDRS];	/* host byte order, in the DNS's order */
	uint8_t addr6[RESOLVE_MAX_ADDRS][16];	/* network byte order, in the DNS's order */
	size_t n;
	unsigned ttl;			/* seconds, clamped to RESOLVE_TTL_MIN..MAX */
};

typedef void (*resolve_cb)(const char *name, const struct resolved *res, void *arg);

struct resolver;

/* A resolver with the system's configuration. 0 or -errno (ERR says why). */
int resolver_new(struct resolver **r, char *err, size_t len);
void resolver_free(struct resolver *r);

/* Look NAME up (IPv4). CB runs later, from resolver_process (or from
 * resolver_free, with -ECANCELED). NAME is copied. 0 or -ENOMEM. */
int resolver_start(struct resolver *r, const char *name, resolve_cb cb, void *arg);
/* The same for FAMILY's addresses: AF_INET (A) or AF_INET6 (AAAA). */
int resolver_start_af(struct resolver *r, const char *name, int family, resolve_cb cb, void *arg);

/* For poll(2): the resolver's sockets into PFD (at most MAX); their number. */
int resolver_pollfds(struct resolver *r, struct pollfd *pfd, int max);
/* Milliseconds until the resolver must run again (a retry or a timeout), -1 when idle. */
int resolver_timeout_ms(struct resolver *r);
/* Handle what poll found on PFD[0..N) and what timed out. */
void resolver_process(struct resolver *r, const struct pollfd *pfd, int n);

/* Look NAME up and wait for the answer (for plan and up): 0 or the status above. */
int resolve_now(const char *name, struct resolved *res);
int resolve_now_af(const char *name, int family, struct resolved *res);

#endif
