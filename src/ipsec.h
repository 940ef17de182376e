/* ipsec.h - IPIP inside IPsec transport mode: what gatewayctl asks of charon
 * (strongSwan's IKE daemon) for the peers with `encryption = ipsec`, through
 * its VICI socket (netlink/vici.h). See docs/DESIGN.md, "IPsec". */
#ifndef GATEWAYCTL_IPSEC_H
#define GATEWAYCTL_IPSEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "vici.h"

#define IPSEC_PREFIX "gatewayctl-"
/* ESP transport-mode overhead the tunnel MTU leaves room for: ESP header 8, IV 8,
 * ICV 16, padding and trailer up to 5, and 8 of UDP when NAT traversal
 * encapsulates ESP (AES-GCM and ChaCha20-Poly1305 alike), rounded up. */
#define IPSEC_OVERHEAD 48

/* The VICI socket: $GATEWAYCTL_VICI or charon's default /run/charon.vici. */
const char *ipsec_socket(void);
bool ipsec_site_uses(const struct site *s);
/* "gatewayctl-SITE_PEER": the connection, its child and its shared key's id.
 * Site and peer names hold letters, digits and '-' only (site_name_valid), so
 * the '_' tells where the site ends: two (site, peer) pairs never share a name.
 * (Before, "gatewayctl-SITE-PEER" made a/b-c and a-b/c one name; such
 * connections, found in the record, are replaced on the next up.) */
void ipsec_conn_name(const struct site *s, const struct peer *p, char *out, size_t len);

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

/* The load-conn message of peer P, and the SHA-256 of its key material (hex).
 * 0, or -errno with the reason in WHY (a key file that cannot be read). */
int ipsec_conn_message(const struct site *s, const struct peer *p, struct vici_msg *m,
		       char key_hash[65], char *why, size_t whylen);
/* `plan`'s text for peer P: the swanctl.conf equivalent, never the key. malloc'd. */
char *ipsec_plan_text(const struct site *s, const struct peer *p);

struct plan;
struct apply;
/* Carry out the plan's IPsec steps (loads, then unloads); on failure report
 * it on A->err and return -errno (the caller rolls back). */
int ipsec_apply(struct apply *a);
struct step;
/* Undo step ST: 0, or -EIO when it could not be undone (said on A->err):
 * the rollback then failed, and says so. */
int ipsec_undo(struct apply *a, struct step *st);
/* After every step succeeded: forget the stale shared keys, write the record,
 * ask charon to initiate the new connections (not waiting for them). */
void ipsec_commit(struct apply *a);
/* After a rollback: unload a private key this run loaded, keep in the record
 * what could not be undone, close what ipsec_apply opened. The number of
 * changes that could not be undone (said on A->err). */
int ipsec_release(struct apply *a);

/* `down` (ipsec_down.c). Plan: a step per connection of SITE that charon
 * holds (names from the record and from the site file S, which may be NULL;
 * one whose local identity is another site's is left alone, said on NOTES),
 * one for the site's private key; when charon is gone with what it held, one
 * that forgets the record. 0, or -errno when charon holds something of the
 * record and cannot be asked (said on ERR). */
struct plan;
int ipsec_plan_down(const char *site, const struct site *s, struct plan *plan, FILE *notes, FILE *err);
/* Run PLAN's IPsec steps: each connection unloaded, its SAs terminated, its
 * key unloaded; the private key; ESP states charon lost track of meanwhile.
 * Each change on OUT (counted in *CHANGES), each failure on ERR: 0 or -EIO. */
int ipsec_remove(const char *site, const struct plan *plan, FILE *out, FILE *err, int *changes);
/* After a down that removed everything: the record and the kept keys go. */
void ipsec_forget(const char *site);

/* `status`: ask charon to establish CONN now (up to TIMEOUT_MS) and, when it
 * cannot, why (charon's reason) and what to do. 0 when it is established. */
int ipsec_diagnose(const char *conn, int timeout_ms, char *reason, size_t len, char *fix, size_t fixlen);

/* The first installed CHILD_SA of SA (NULL: none, or SA is NULL). */
const struct vici_child_sa *ipsec_installed_child(const struct vici_ike_sa *sa);

/* A short text for a failed VICI call, with the fix. */
const char *ipsec_hint(int err);

#endif
