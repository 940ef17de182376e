/* peerwatch.h - the long-running watcher's periodic probes of the peers
 * (peerwatch.c): every probe_interval an ICMP echo to each peer's lan_address
 * through its tunnel from our lan_address, from one non-blocking socket
 * (probeset.h); RTT and loss over the last PW_HISTORY probes; a peer that
 * stops answering is logged once and shown down within 3 intervals.
 *
 * It plugs into `gatewayctl watch`'s loop (watchloop.h) as a source:
 *
 *   peerwatch_init(&pw, site_name);
 *   wl_add(loop, &(struct wl_source){ .name = "probe", .ctx = &pw,
 *          .fds = peerwatch_fds, .deadline = peerwatch_deadline,
 *          .ready = peerwatch_ready, .after = peerwatch_after });
 *
 * What it finds goes to RUNDIR/SITE.probes (replaced atomically after every
 * round, removed by peerwatch_free), which `status` and the metrics read:
 * peerwatch_load(), peerwatch_print(), peerwatch_json(). */
#ifndef GATEWAYCTL_PEERWATCH_H
#define GATEWAYCTL_PEERWATCH_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "probeset.h"

#define PW_HISTORY 10		/* probes RTT and loss are counted over */
#define PW_DOWN_AFTER 2		/* unanswered in a row: down (seen within 3 intervals) */
#define PW_CHOICES 16		/* endpoints a peer may fail over between */

enum pw_state { PW_UNKNOWN, PW_UP, PW_DOWN };

struct pw_peer {
	char name[SITE_NAME_MAX + 1];
	uint32_t addr;		/* its lan_address (host order) */
	uint32_t endpoint;	/* the tunnel's remote when probed: another one starts afresh */
	uint8_t endpoint6[16];	/* ... an IPv6 endpoint's (issue 22; :: for an IPv4 one) */
	uint16_t history;	/* bit 0: the newest probe answered, ... */
	unsigned n_history;	/* probes in HISTORY (up to PW_HISTORY) */
	unsigned misses;	/* unanswered in a row */
	double rtt_ms;		/* the last answer's round trip */
	double rtt_avg_ms;	/* mean of the answered ones among the last PW_HISTORY */
	double rtts[PW_HISTORY];	/* their round trips, newest first (0: none) */
	enum pw_state state;
	int64_t since;		/* wall clock (s) of the last change of state */
	bool awaiting;		/* the current round's echo has not been answered yet */
	uint64_t sent, received;
	/* its endpoint's choices (a list, a name's addresses), in endpoints_choose()'s order */
	uint32_t choices[PW_CHOICES];
	uint8_t choices6[PW_CHOICES][16];	/* an IPv6 endpoint's (with v6) */
	unsigned n_choices;
	bool v6;
	uint32_t failover_to;	/* the next choice, to record before the next repair (0: none) */
	uint8_t failover_to6[16];	/* an IPv6 one (:: none) */
};

struct peerwatch {
	char site[SITE_NAME_MAX + 1];
	uint32_t from;			/* our lan_address */
	struct probeset ps;		/* ps.fd -1: closed */
	struct probe_target *t;		/* one per peer, as P */
	struct pw_peer *p;
	size_t n;
	uint64_t interval_ms;		/* 0: no probes */
	uint64_t next_ms;		/* mono_ms() of the next round */
	char error[200];		/* why no probe can be sent ("" when they can) */
	bool error_logged;
	/* a peer changed state (PW_UP/PW_DOWN) */
	void (*on_change)(void *ctx, const struct pw_peer *p);
	void *change_ctx;
	struct wl *loop;		/* the watch's loop (set by peerwatch_ready): failover repairs */
};

/* For site NAME, no peers yet: peerwatch_reload() (the loop's after hook,
 * after each repair) gives them, the first round follows at once. The socket
 * opens at the first round (the LAN address may come later). */
void peerwatch_init(struct peerwatch *pw, const char *name);
/* A new configuration (SIGHUP, a pending change, a rollback, a moved
 * endpoint): a peer keeps its history when its name, lan_address and endpoint
 * are the same; otherwise it starts afresh (PW_UNKNOWN). 0 or -ENOMEM.
 *
 * Endpoint failover (peerfailover.c: `endpoint = A, B`, or a name with several
 * addresses): a peer that goes down gets its next choice as failover_to and a
 * repair is asked for; the prepare hook (the site's lock held) records that
 * choice as the peer's endpoint in use (state.h), so the repair's
 * endpoints_fill() keeps it and moves the tunnel there; the reload after it
 * starts the peer afresh, and if it stays unanswered twice more, the next
 * one, round the list. */
int peerwatch_reload(struct peerwatch *pw, const struct site *site);
/* No peers any more (the site was taken down): nothing probed, the file removed. */
void peerwatch_clear(struct peerwatch *pw);
/* Close, free, and remove the file. */
void peerwatch_free(struct peerwatch *pw);
/* Forget a peer's history (its endpoint moved: failover tries the next one).
 * false when no such peer is probed. */
bool peerwatch_reset_peer(struct peerwatch *pw, const char *peer);
/* Its state (PW_UNKNOWN also for a peer not probed). */
enum pw_state peerwatch_state(const struct peerwatch *pw, const char *peer);

/* The loop's source hooks (watchloop.h). */
struct wl;
size_t peerwatch_fds(void *ctx, struct pollfd *out, size_t max);
uint64_t peerwatch_deadline(void *ctx);
void peerwatch_ready(struct wl *l, void *ctx, const struct pollfd *fds, size_t n, uint64_t now);
void peerwatch_after(void *ctx, const struct site *site, int result);
int peerwatch_prepare(void *ctx, struct site *site, char *why, size_t len);

/* peerfailover.c: P's choices from site peer SP; the choice after P's
 * endpoint, round the list (0: it has no other); P just went down: its next
 * choice into failover_to and a repair asked (true), or nothing to try. */
void pw_choices(struct pw_peer *p, const struct peer *sp);
uint32_t pw_next_choice(const struct pw_peer *p);
/* The same for an IPv6 endpoint (P->v6), into OUT: false when it has no other. */
bool pw_next_choice6(const struct pw_peer *p, uint8_t out[16]);
/* Whether P has a failover choice waiting to be recorded (either family). */
bool pw_failover_pending(const struct pw_peer *p);
bool pw_failover(struct peerwatch *pw, struct pw_peer *p);

/* The pure part (unit tests): one probe of P ends, ANSWERED (in RTT_MS) or
 * not, at wall clock NOW. Returns true when P's state changed. */
bool pw_account(struct pw_peer *p, bool answered, double rtt_ms, int64_t now);
/* Share of the last probes left unanswered (0 when none yet). */
double pw_loss(const struct pw_peer *p);

/* ---- the file, for status and the metrics ---- */

struct pw_file {
	pid_t pid;
	uint64_t start;		/* the watcher's start time (/proc/PID/stat field 22) */
	char boot_id[37];
	unsigned interval;	/* s */
	int64_t written;	/* wall clock (s) */
	char error[200];
	size_t n;
	struct pw_file_peer {
		char name[SITE_NAME_MAX + 1];
		uint32_t addr;
		enum pw_state state;
		int64_t since;
		double rtt_ms, rtt_avg_ms, loss;
		unsigned n_history;
		uint64_t sent, received;
	} *peers;
};

char *peerwatch_format(const struct peerwatch *pw, size_t *len);
/* 0, or -EINVAL (garbled; reads nothing outside TEXT[0..LEN)), -ENOMEM. */
int peerwatch_parse(const char *text, size_t len, struct pw_file *f);
/* SITE's file, when a live watcher wrote it: 0, -ENOENT (none, or its writer
 * is gone), -EINVAL or -errno. pw_file_free() after 0. */
int peerwatch_load(const char *site, struct pw_file *f);
void pw_file_free(struct pw_file *f);
const struct pw_file_peer *pw_file_peer(const struct pw_file *f, const char *peer);
/* Whether PEER is down by F: true and a sentence in WHY. */
bool peerwatch_down(const struct pw_file *f, const char *peer, char *why, size_t len);
/* status: "    watch probes  up, rtt 0.41 ms (avg 0.40), loss 0% of the last 10, every 10 s" */
void peerwatch_print(FILE *out, const struct pw_file *f, const char *peer);
/* status --json: the "watch_probe" member's value (null when F has no such peer) */
void peerwatch_json(FILE *out, const struct pw_file *f, const char *peer);

#endif
