/* state.h - what gatewayctl changed that carries no mark of its own
 * (the forwarding sysctl's old value, addresses it assigned, links it brought
 * up, the relay's pid), kept in RUNDIR/SITE.state; and the per-site lock. */
#ifndef GATEWAYCTL_STATE_H
#define GATEWAYCTL_STATE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define STATE_MAX_ITEMS 8
#define STATE_MAX_ENDPOINTS 64

struct state {
	char site[SITE_NAME_MAX + 1];
	char file[4096];		/* absolute path of the site file of the last up */
	int forwarding_was;		/* -1: gatewayctl did not change it */
	int forwarding6_was;		/* net.ipv6.conf.all.forwarding's, the same way */
	int accept_ra_was;		/* net.ipv6.conf.ACCEPT_RA_IFNAME.accept_ra's (the WAN's), -1 the same way */
	char accept_ra_ifname[IFNAME_MAX + 1];
	struct { char ifname[IFNAME_MAX + 1]; struct net4 addr; } addrs[STATE_MAX_ITEMS];
	int n_addrs;
	char links_up[STATE_MAX_ITEMS][IFNAME_MAX + 1];
	int n_links_up;
	struct { uint32_t gateway; char ifname[IFNAME_MAX + 1]; } default_route;	/* gateway 0: none */
	/* IPv6's, the same way (manage_interfaces with IPv6 addresses, gateway6) */
	struct { char ifname[IFNAME_MAX + 1]; struct net6 addr; } addrs6[STATE_MAX_ITEMS];
	int n_addrs6;
	struct { uint8_t gateway[16]; char ifname[IFNAME_MAX + 1]; } default_route6;	/* gateway ::: none */
	/* the address in use of the peers whose endpoint is a name or a list (with
	 * the name's TTL, 0 for a list of addresses): what status shows and what
	 * the next up keeps while it is still among the choices; and of the
	 * encrypted peers IKE found elsewhere (MOBIKE): ADDR is where IKE says the
	 * peer is, IKE_BASE the file's choice it stands for (kept while the file
	 * still chooses that address), 0 for the others */
	struct state_endpoint {
		char peer[SITE_NAME_MAX + 1];
		uint32_t addr;
		unsigned ttl;
		uint32_t ike_base;
		bool v6;		/* an IPv6 endpoint: ADDR6, IKE_BASE6 (ADDR, IKE_BASE 0) */
		uint8_t addr6[16];
		uint8_t ike_base6[16];	/* :: for none */
	} endpoints[STATE_MAX_ENDPOINTS];
	int n_endpoints;
};

/* The run directory of the caller's network namespace (see state.c for the
 * layout): RUNDIR/ns-COOKIE, RUNDIR = $GATEWAYCTL_RUNDIR or /run/gatewayctl.
 * state_private_dir() is its root-only subdirectory (locks, pid files). */
const char *state_dir(void);
const char *state_private_dir(void);

/* A checked descriptor of that directory (or of private/), created when CREATE;
 * owned by this module: do not close it. -1 with errno (ENOENT when absent) and
 * state_dir_error() telling why in a sentence. */
int state_dirfd(bool private_dir, bool create);
const char *state_dir_error(void);
/* Close those descriptors (the next call opens and checks them again): for a
 * process that drops its privileges and must keep no handle on the directories. */
void state_close_dirs(void);
/* openat(2) in it, always O_NOFOLLOW | O_CLOEXEC. */
int state_open(bool private_dir, const char *name, int flags, mode_t mode);
/* state_open(PRIVATE_DIR, NAME, O_RDONLY) as a stdio stream; NULL with errno
 * (ENOENT: no such file) */
FILE *state_fopen(bool private_dir, const char *name);
/* Replace NAME atomically (temporary file, fsync, rename) with DATA. 0 or -errno. */
int state_write_file(bool private_dir, const char *name, const void *data, size_t len, mode_t mode);
int state_remove_file(bool private_dir, const char *name);
/* The same two for any directory descriptor (pending.c's persistent directory). */
int state_write_at(int dfd, const char *name, const void *data, size_t len, mode_t mode);
/* Open directory NAME below AT (creating it with MODE when CREATE) and check it
 * as the run directory is checked: not a link, owned by root or us, writable by
 * nobody else. The fd, or -1 with state_dir_error() set (SHOWN names it). */
int state_check_dir(int at, const char *name, const char *shown, mode_t mode, bool create);

/* Take the site's lock, waiting for another gatewayctl working on it.
 * Returns the lock's fd (closing it releases), or -1 with a message on stderr. */
int state_lock(const char *site);
/* The same without waiting (a process that must stay responsive: watch):
 * the fd, -EWOULDBLOCK when another gatewayctl holds it, or -errno. */
int state_trylock(const char *site);

/* Read the site's state; an absent file gives an empty state. 0 or -errno. */
int state_read(const char *site, struct state *st);
/* The file's text, read from F into ST (state_init'ed): lines not understood
 * are passed over; and ST as that text (malloc'd, *LEN bytes; NULL: out of
 * memory). */
void state_parse(FILE *f, struct state *st);
char *state_format(const struct state *st, size_t *len);
/* Write it atomically, or remove the file when the state is empty. 0 or -errno. */
int state_write(const struct state *st);
bool state_empty(const struct state *st);
/* Read the site's state, let CHANGE(ST, ARG) edit it (returning how many
 * entries it changed) and write it back when it changed any. 0, or -1 with a
 * sentence in WHY naming WHAT was to be recorded. */
int state_update(const char *site, const char *what, size_t (*change)(struct state *st, void *arg), void *arg,
		 char *why, size_t len);
/* Peer PEER's endpoint entry in ST, added (zeroed, named) when it has none;
 * NULL when ST holds STATE_MAX_ENDPOINTS already */
struct state_endpoint *state_endpoint(struct state *st, const char *peer);
/* An address (IFNAME, A) or a link brought up, added to ST unless it holds
 * it already (nothing when full): an up that puts back an address of ours
 * deleted by hand, or a state file an older gatewayctl wrote with a line
 * twice, must not make down delete it twice and fail. */
void state_add_addr(struct state *st, const char *ifname, struct net4 a);
void state_add_addr6(struct state *st, const char *ifname, struct net6 a);
void state_add_link(struct state *st, const char *ifname);
void state_init(struct state *st, const char *site);

/* Every site that has a state file (names malloc'd, array of n). */
int state_sites(char (**sites)[SITE_NAME_MAX + 1], size_t *n);

#endif
