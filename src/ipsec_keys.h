/* ipsec_keys.h - the key material a site put into charon, kept so that a
 * rollback can put the previous key back (a changed PSK file under
 * `up --confirm`: the file no longer holds the old key, charon must get it).
 *
 *   RUNDIR/private/SITE.keys      what the last successful `up` loaded (0600)
 *   LIBDIR/SITE.pending.keys      its copy while a change is pending (0600):
 *                                 `pending_rollback` loads these instead of the
 *                                 files, even after a reboot
 *
 * One line per key: "psk CONNECTION HEX" (a peer's PSK, by connection name)
 * or "private HEX" (the site's Ed25519 seed). Every buffer that held a key is
 * wiped before it is freed; a removed file is overwritten first. */
#ifndef GATEWAYCTL_IPSEC_KEYS_H
#define GATEWAYCTL_IPSEC_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keys.h"

#define IPSEC_KEY_PRIVATE "private"	/* the entry of the site's private key */

struct ipsec_key {
	char name[104];		/* a connection's name, or IPSEC_KEY_PRIVATE */
	uint8_t *data;
	size_t len;
};

struct ipsec_keys {
	struct ipsec_key *k;
	size_t n;
};

const struct ipsec_key *ipsec_keys_find(const struct ipsec_keys *k, const char *name);
/* Add or replace NAME's key. 0 or -ENOMEM. */
int ipsec_keys_set(struct ipsec_keys *k, const char *name, const uint8_t *data, size_t len);
void ipsec_keys_free(struct ipsec_keys *k);	/* wipes */
/* The text of the file, and back (lines that do not parse are skipped). */
char *ipsec_keys_format(const struct ipsec_keys *k, size_t *len);
int ipsec_keys_parse(const char *text, size_t len, struct ipsec_keys *k);

/* RUNDIR/private/SITE.keys: absent reads as empty. 0 or -errno. Writing an
 * empty set removes the file. */
int ipsec_keys_load(const char *site, struct ipsec_keys *k);
int ipsec_keys_store(const char *site, const struct ipsec_keys *k);
int ipsec_keys_forget(const char *site);

/* `up --confirm`, before any change: copy SITE.keys to LIBDIR/SITE.pending.keys
 * (or remove a stale one when there is none). 0 or -errno. */
int ipsec_keys_pending_begin(const char *site);
/* The rollback: the keys of LIBDIR/SITE.pending.keys are used instead of the
 * key files until ipsec_keys_pending_end. 0 (also when there is none) or -errno. */
int ipsec_keys_pending_use(const char *site);
void ipsec_keys_pending_end(void);
/* Overwrite and remove LIBDIR/SITE.pending.keys. 0 or -errno. */
int ipsec_keys_pending_clear(const char *site);

/* The key material of peer P's PSK (the rollback's copy when one is in use,
 * else P's psk_file): 0, or -errno with the reason in WHY. */
int ipsec_key_psk(const char *conn, const struct peer *p, uint8_t *buf, size_t cap, size_t *len,
		  char *why, size_t whylen);
/* The site's private key, likewise. */
int ipsec_key_private(const struct site *s, uint8_t seed[KEY_LEN], char *why, size_t whylen);

#endif
