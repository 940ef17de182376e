/* ipsec.h - IPIP inside IPsec transport mode: what gatewayctl asks of charon
 * (strongSwan's IKE daemon) for the peers with `encryption = ipsec`, through
 * its VICI socket (netlink/vici.h). See docs/DESIGN.md, "IPsec".
 * Here: the record, what charon holds of a site, up's check, one run's
 * session, status's diagnosis. Built on ipsec_conn.h (the connections, from
 * the site file alone); used by model (planning), apply_ipsec.c (the step
 * backend), ipsec_down.c. It knows no steps, plans or apply contexts. */
#ifndef GATEWAYCTL_IPSEC_H
#define GATEWAYCTL_IPSEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "ipsec_conn.h"
#include "ipsec_keys.h"
#include "vici.h"

/* The VICI socket: $GATEWAYCTL_VICI or charon's default /run/charon.vici. */
const char *ipsec_socket(void);
/* Whether LIST (NULL-terminated, may be NULL) holds NAME. */
bool ipsec_list_has(char **list, const char *name);

/* One peer's connection as gatewayctl loaded it last (RUNDIR/private/SITE.ipsec). */
struct ipsec_record_conn {
	char name[VICI_NAME_MAX + 1];
	char *msg_hex;		/* the load-conn message, hex */
	char key_hash[65];	/* SHA-256 of the key material, hex */
};
struct ipsec_record {
	struct ipsec_record_conn *conns;
	size_t n;
	char keyid[41];		/* the private key loaded for the site ("" none) */
};
/* The record of SITE (empty when none): 0 or -errno. Written back (removed
 * when empty), freed, searched by connection name. */
int ipsec_record_read(const char *site, struct ipsec_record *r);
int ipsec_record_write(const char *site, const struct ipsec_record *r);
void ipsec_record_free(struct ipsec_record *r);
/* Add a connection to R. 0 or -ENOMEM. */
int ipsec_record_add(struct ipsec_record *r, const char *name, const char *msg_hex, const char *key_hash);
const struct ipsec_record_conn *ipsec_record_find(const struct ipsec_record *r, const char *name);

struct ipsec_peer_live {
	bool loaded;		/* charon has a connection of this name */
	bool foreign;		/* ... that the site's record does not own: up refuses */
	bool conn_same;		/* ... ours, as the file asks now (record and charon agree) */
	bool key_loaded;	/* charon holds the peer's key (PSK, or the site's private key) */
	bool same;		/* conn_same and key_loaded: nothing to do */
	const struct vici_ike_sa *sa;	/* its established IKE_SA, NULL if none */
};

struct ipsec_live {
	bool wanted;		/* the site has ipsec peers or a record */
	bool reachable;		/* charon answered */
	char error[800];	/* why not */
	char daemon[80];	/* "charon 5.9.8" */
	struct vici_ike_sa *sas;	/* every IKE_SA of our connections */
	size_t n_sas;
	struct ipsec_peer_live *peers;	/* per site peer, in the site's order */
	char (*stale)[VICI_NAME_MAX + 1];	/* our connections that no peer asks for any more */
	size_t n_stale;
	struct ipsec_record record;
	char keyid[41];		/* the site's private key's id in charon ("" none or unreadable) */
	bool key_loaded;	/* charon holds it */
};

/* Read what charon has of SITE's (nothing is asked when the site has no ipsec
 * peer and no record). An unreachable charon is no error here: reachable is
 * false and error says why. -ENOMEM only. */
int ipsec_live_read(const struct site *s, struct ipsec_live *l);
void ipsec_live_free(struct ipsec_live *l);

/* up's check before any change: a connection of one of S's names that charon
 * holds and the record does not own (loaded by hand, or by something else) is
 * never replaced. The number of such problems, each said on ERR. */
int ipsec_preflight(const struct site *s, const struct ipsec_live *l, FILE *err);

/* One `up` run's session with charon, kept in the apply context (struct
 * apply's ipsec) between the IPsec steps, their undos and the commit
 * (apply_ipsec.c). All zero before the run; ipsec_session_close frees it. */
struct ipsec_session {
	struct vici v;
	bool open;
	struct ipsec_record next;	/* the record after this run */
	struct ipsec_record intent;	/* the record before it, plus the new connections */
	bool intent_written;
	struct ipsec_keys prev_keys;	/* the key material charon got before this run ... */
	struct ipsec_keys next_keys;	/* ... and after it */
	char keyid[41];			/* the site's private key after this run ("" none) */
	bool key_loaded;		/* this run loaded it into charon */
	unsigned char *did;		/* per plan step: what was sent (apply_ipsec.c's DID_*) */
};
/* Connect to charon unless connected: 0, or -errno with the reason in SS->v.err. */
int ipsec_session_open(struct ipsec_session *ss);
/* Disconnect, free, and zero the session for the next run. */
void ipsec_session_close(struct ipsec_session *ss);
/* Whether charon can negotiate gatewayctl's proposals: 0, or -errno with
 * what it lacks (or why it cannot be asked) in WHY. */
int ipsec_charon_can_negotiate(struct vici *v, char *why, size_t whylen);

/* `status`: ask charon to establish CONN now (up to TIMEOUT_MS) and, when it
 * cannot, why (charon's reason) and what to do. 0 when it is established. */
int ipsec_diagnose(const char *conn, int timeout_ms, char *reason, size_t len, char *fix, size_t fixlen);

/* The first installed CHILD_SA of SA (NULL: none, or SA is NULL). */
const struct vici_child_sa *ipsec_installed_child(const struct vici_ike_sa *sa);

/* A short text for a failed VICI call, with the fix. */
const char *ipsec_hint(int err);

#endif
