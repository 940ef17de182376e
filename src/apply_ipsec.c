/* apply_ipsec.c - the IPsec step backend: a plan's STEP_IPSEC_LOAD and
 * STEP_IPSEC_UNLOAD carried out through charon's VICI socket, undone on a
 * rollback, committed (the record and the kept keys written, the new
 * connections initiated). Like rtnetlink's and nftables' steps in apply.c,
 * the run's state (the VICI session, the records and keys before and after)
 * lives in the apply context (struct apply's ipsec), nowhere else. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "gatewayctl.h"
#include "ipsec.h"
#include "ipsec_keys.h"
#include "keys.h"
#include "model.h"
#include "state.h"

enum { DID_PSK = 1, DID_CONN = 2 };

static void did(struct apply *a, const struct step *st, unsigned char what)
{
	if (a->ipsec.did)
		a->ipsec.did[st - a->plan->steps] |= what;
}

static bool done_what(struct apply *a, const struct step *st, unsigned char what)
{
	return !a->ipsec.did || (a->ipsec.did[st - a->plan->steps] & what);
}

static int send_hex(struct vici *v, const char *hex)
{
	struct vici_msg m;
	uint8_t *buf;
	size_t len;
	int r;

	if ((r = ipsec_unhex(hex, &buf, &len)) < 0)
		return r;
	vici_msg_init(&m);
	m.buf = buf;
	m.len = m.cap = len;
	r = vici_call_checked(v, "load-conn", &m, NULL);
	vici_msg_free(&m);
	return r;
}

/* Give charon peer P's PSK under the id CONN (replacing one of that id); the
 * key goes into KEYS too. 0, or -errno with the reason in WHY. */
static int load_psk(struct vici *v, const struct site *s, const struct peer *p, const char *conn,
		    const uint8_t *key, size_t len, struct ipsec_keys *keys, char *why, size_t whylen)
{
	const char *owners[3] = { s->name, p->name, NULL };
	int r = vici_load_shared(v, conn, key, len, owners);

	if (r < 0) {
		snprintf(why, whylen, "charon: %.500s", v->err);
		return r;
	}
	if (keys && ipsec_keys_set(keys, conn, key, len) < 0) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int load_one(struct apply *a, struct step *st)
{
	const struct site *s = a->site;
	const struct peer *p = st->peer;
	char hash[65], why[1024], *hex;
	struct vici_msg m;
	int r;

	vici_msg_init(&m);
	r = ipsec_conn_message(s, p, &m, hash, why, sizeof(why));
	if (r < 0) {
		apply_report_failure(a, st, r, NULL, why);
		vici_msg_free(&m);
		return r;
	}
	hex = ipsec_hex(m.buf, m.len);
	if (!hex) {
		vici_msg_free(&m);
		return -ENOMEM;
	}
	/* a new connection is the site's from now on, even when an undo fails */
	if (!st->value) {
		if (ipsec_record_add(&a->ipsec.intent, st->conn, hex, hash) < 0) {
			free(hex);
			vici_msg_free(&m);
			return -ENOMEM;
		}
		ipsec_record_write(s->name, &a->ipsec.intent);
		a->ipsec.intent_written = true;
	}
	/* from the first change on, a failure is undone */
	st->done = true;
	if (p->auth == AUTH_PSK) {
		uint8_t key[KEY_FILE_MAX];
		size_t len = 0;

		r = ipsec_key_psk(st->conn, p, key, sizeof(key), &len, why, sizeof(why));
		if (r == 0) {
			did(a, st, DID_PSK);
			r = load_psk(&a->ipsec.v, s, p, st->conn, key, len, &a->ipsec.next_keys, why, sizeof(why));
		}
		key_wipe(key, sizeof(key));
	}
	if (r == 0) {
		did(a, st, DID_CONN);
		r = vici_call_checked(&a->ipsec.v, "load-conn", &m, NULL);
		if (r < 0)
			snprintf(why, sizeof(why), "charon refused the connection: %s", a->ipsec.v.err);
	}
	vici_msg_free(&m);
	if (r < 0) {
		const char *hint = ipsec_hint(r);

		apply_report_failure(a, st, r, NULL, why);
		if (hint)
			fprintf(a->err, "  hint: %s\n", hint);
		free(hex);
		return r;
	}
	/* a changed key is used only from the next authentication: reauthenticate
	 * now, so that `up` with a new key really puts it in use */
	if (st->value) {
		const struct ipsec_record_conn *old = ipsec_record_find(&a->live->ipsec.record, st->conn);

		if (old && strcmp(old->key_hash, hash)) {
			r = vici_rekey(&a->ipsec.v, st->conn, true);
			if (r < 0 && r != -ENOENT)
				fprintf(a->err, "%s: site %s: note: charon could not reauthenticate %s with the new "
					"key yet: %s\n", a->cmd, s->name, st->conn, a->ipsec.v.err);
		}
	}
	r = ipsec_record_add(&a->ipsec.next, st->conn, hex, hash);
	free(hex);
	return r;
}

static int unload_one(struct apply *a, struct step *st)
{
	int r;

	st->done = true;
	r = vici_unload_conn(&a->ipsec.v, st->conn);
	if (r < 0 && r != -ENOENT) {
		apply_report_failure(a, st, r, NULL, a->ipsec.v.err);
		return r;
	}
	r = vici_terminate(&a->ipsec.v, st->conn, 10000);
	if (r < 0 && r != -ENOENT) {
		apply_report_failure(a, st, r, NULL, a->ipsec.v.err);
		return r;
	}
	return 0;
}

/* The site's private key: charon gets it when it lacks it (after a restart,
 * `swanctl --load-all`) or when the file holds another one; the old one goes
 * at commit. ST: the step failures are reported on. */
static int load_private(struct apply *a, struct step *st)
{
	const struct site *s = a->site;
	uint8_t seed[KEY_LEN], pub[KEY_LEN], der[KEY_PKCS8_LEN];
	char why[1024], keyid[41] = "", **keys = NULL;
	size_t n = 0;
	int r;

	r = ipsec_key_private(s, seed, why, sizeof(why));
	if (r == 0 && (key_public(seed, pub) < 0 || key_charon_id(pub, keyid) < 0)) {
		snprintf(why, sizeof(why), "%.900s: OpenSSL cannot derive the public key", s->private_key);
		r = -EIO;
	}
	if (r == 0 && (r = vici_get_keys(&a->ipsec.v, &keys, &n)) < 0)
		snprintf(why, sizeof(why), "charon: %s", a->ipsec.v.err);
	if (r == 0 && !ipsec_list_has(keys, keyid)) {
		char got[41] = "";

		key_pkcs8(seed, der);
		st->done = true;
		r = vici_load_key(&a->ipsec.v, der, sizeof(der), got);
		if (r < 0)
			snprintf(why, sizeof(why), "charon refused `load-key`: %s", a->ipsec.v.err);
		else
			a->ipsec.key_loaded = true;
	}
	vici_strv_free(keys);
	if (r == 0) {
		snprintf(a->ipsec.keyid, sizeof(a->ipsec.keyid), "%s", keyid);
		r = ipsec_keys_set(&a->ipsec.next_keys, IPSEC_KEY_PRIVATE, seed, KEY_LEN);
	}
	key_wipe(seed, sizeof(seed));
	key_wipe(der, sizeof(der));
	if (r < 0 && r != -ENOMEM) {
		const char *hint = ipsec_hint(r);

		apply_report_failure(a, st, r, NULL, why);
		if (hint)
			fprintf(a->err, "  hint: %s\n", hint);
	}
	return r;
}

int apply_ipsec(struct apply *a)
{
	const struct ipsec_live *l = &a->live->ipsec;
	struct step *first_pub = NULL;
	bool any = false;
	int r = 0;

	for (size_t i = 0; i < a->plan->n; i++) {
		struct step *st = &a->plan->steps[i];

		any |= st->kind == STEP_IPSEC_LOAD || st->kind == STEP_IPSEC_UNLOAD;
		if (st->kind == STEP_IPSEC_LOAD && st->peer->auth == AUTH_PUBKEY && !first_pub)
			first_pub = st;
	}
	if (!any)
		return 0;
	memset(&a->ipsec.next, 0, sizeof(a->ipsec.next));
	memset(&a->ipsec.intent, 0, sizeof(a->ipsec.intent));
	a->ipsec.keyid[0] = '\0';
	a->ipsec.did = calloc(a->plan->n, 1);
	if (!a->ipsec.did)
		return -ENOMEM;
	if ((r = ipsec_session_open(&a->ipsec)) < 0) {
		for (size_t i = 0; i < a->plan->n; i++)
			if (a->plan->steps[i].kind == STEP_IPSEC_LOAD || a->plan->steps[i].kind == STEP_IPSEC_UNLOAD) {
				apply_report_failure(a, &a->plan->steps[i], r, NULL, a->ipsec.v.err);
				break;
			}
		fprintf(a->err, "  hint: %s\n", ipsec_hint(r) ? ipsec_hint(r) : "check charon");
		return r;
	}
	if (ipsec_keys_load(a->site->name, &a->ipsec.prev_keys) < 0)
		fprintf(a->err, "%s: site %s: warning: cannot read the keys loaded before from %s; a failed change "
			"cannot put a changed key back\n", a->cmd, a->site->name, state_private_dir());
	/* the connections that stay as they are keep their record and key */
	for (size_t k = 0; k < l->record.n; k++) {
		const struct ipsec_record_conn *rc = &l->record.conns[k];
		const struct ipsec_key *key = ipsec_keys_find(&a->ipsec.prev_keys, rc->name);
		bool touched = false;

		if (ipsec_record_add(&a->ipsec.intent, rc->name, rc->msg_hex, rc->key_hash) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < a->plan->n; i++) {
			const struct step *st = &a->plan->steps[i];

			if ((st->kind == STEP_IPSEC_LOAD || st->kind == STEP_IPSEC_UNLOAD) && !strcmp(st->conn, rc->name))
				touched = true;
		}
		if (touched)
			continue;
		if (ipsec_record_add(&a->ipsec.next, rc->name, rc->msg_hex, rc->key_hash) < 0 ||
		    (key && ipsec_keys_set(&a->ipsec.next_keys, key->name, key->data, key->len) < 0))
			return -ENOMEM;
	}
	snprintf(a->ipsec.intent.keyid, sizeof(a->ipsec.intent.keyid), "%s", l->record.keyid);
	if (ipsec_uses_pubkey(a->site)) {
		const struct ipsec_key *old = ipsec_keys_find(&a->ipsec.prev_keys, IPSEC_KEY_PRIVATE);

		/* kept as it is until a step loads it */
		snprintf(a->ipsec.keyid, sizeof(a->ipsec.keyid), "%s", l->record.keyid);
		if (old && ipsec_keys_set(&a->ipsec.next_keys, old->name, old->data, old->len) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < a->plan->n; i++)
		if (a->plan->steps[i].kind == STEP_IPSEC_LOAD) {
			char why[1024];

			if ((r = ipsec_charon_can_negotiate(&a->ipsec.v, why, sizeof(why))) < 0) {
				apply_report_failure(a, &a->plan->steps[i], r, NULL, why);
				fprintf(a->err, "  hint: load the charon plugin that provides it (Debian: openssl, in "
					"package libstrongswan; see /etc/strongswan.d/charon/openssl.conf and any "
					"`charon { load = ... }` in strongswan.conf), restart charon; `swanctl "
					"--list-algs` shows what it has\n");
				return r;
			}
			break;
		}
	if (first_pub)
		r = load_private(a, first_pub);
	for (size_t i = 0; i < a->plan->n && r == 0; i++)
		if (a->plan->steps[i].kind == STEP_IPSEC_LOAD)
			r = load_one(a, &a->plan->steps[i]);
	for (size_t i = 0; i < a->plan->n && r == 0; i++)
		if (a->plan->steps[i].kind == STEP_IPSEC_UNLOAD)
			r = unload_one(a, &a->plan->steps[i]);
	return r;
}

/* Put back the PSK charon had for CONN before this run: 1 when it differs from
 * the one this run loaded, 0 when they are the same, or -EIO said on A->err. */
static int restore_psk(struct apply *a, struct step *st, const struct ipsec_record_conn *old)
{
	const struct ipsec_key *key = ipsec_keys_find(&a->ipsec.prev_keys, st->conn);
	char hash[65] = "", why[600];
	struct vici_msg m;
	bool changed;

	vici_msg_init(&m);
	changed = ipsec_conn_message(a->site, st->peer, &m, hash, why, sizeof(why)) < 0 ||
		  strcmp(hash, old->key_hash);
	vici_msg_free(&m);
	if (key) {
		if (load_psk(&a->ipsec.v, a->site, st->peer, st->conn, key->data, key->len, NULL, why, sizeof(why)) < 0) {
			fprintf(a->err, "  cannot put back the previous key of %s: %s\n", st->conn, why);
			return -EIO;
		}
		return changed;
	}
	/* not kept (an older gatewayctl loaded it): fine when it did not change */
	if (changed) {
		fprintf(a->err, "  cannot put back the previous key of %s: it is not kept in %s; charon holds the "
			"new one\n", st->conn, state_private_dir());
		return -EIO;
	}
	return 0;
}

int apply_ipsec_undo(struct apply *a, struct step *st)
{
	const struct ipsec_record_conn *old = ipsec_record_find(&a->live->ipsec.record, st->conn);
	int r, changed;

	if (!a->ipsec.open && ipsec_session_open(&a->ipsec) < 0) {
		fprintf(a->err, "  cannot undo %s: %s\n", st->conn, a->ipsec.v.err);
		return -EIO;
	}
	if (st->kind == STEP_IPSEC_LOAD && !st->value) {
		/* new: remove it, and its key */
		r = vici_unload_conn(&a->ipsec.v, st->conn);
		if (r == -ENOENT)
			r = 0;
		vici_terminate(&a->ipsec.v, st->conn, 5000);
		if (r == 0 && st->peer && st->peer->auth == AUTH_PSK) {
			r = vici_unload_shared(&a->ipsec.v, st->conn);
			if (r == -ENOENT)
				r = 0;
		}
		if (r < 0) {
			fprintf(a->err, "  cannot remove IKE connection %s and its key again: %s\n", st->conn, a->ipsec.v.err);
			return -EIO;
		}
		return 0;
	}
	/* replaced or unloaded: put back what gatewayctl had loaded */
	if (!old) {
		fprintf(a->err, "  cannot put back IKE connection %s: no record of it\n", st->conn);
		return -EIO;
	}
	changed = st->kind == STEP_IPSEC_LOAD && done_what(a, st, DID_PSK) ? restore_psk(a, st, old) : 0;
	if (changed < 0)
		return -EIO;
	if (st->kind == STEP_IPSEC_UNLOAD || done_what(a, st, DID_CONN)) {
		r = send_hex(&a->ipsec.v, old->msg_hex);
		if (r < 0) {
			fprintf(a->err, "  cannot put back IKE connection %s: %s\n", st->conn, a->ipsec.v.err);
			return -EIO;
		}
	}
	/* the SA may have authenticated with the new key meanwhile */
	if (changed > 0)
		vici_rekey(&a->ipsec.v, st->conn, true);
	return 0;
}

void apply_ipsec_commit(struct apply *a)
{
	bool any = false;

	for (size_t i = 0; i < a->plan->n; i++)
		any |= a->plan->steps[i].kind == STEP_IPSEC_LOAD || a->plan->steps[i].kind == STEP_IPSEC_UNLOAD;
	if (!any || !a->ipsec.open) {
		ipsec_session_close(&a->ipsec);
		return;
	}
	for (size_t i = 0; i < a->plan->n; i++) {
		const struct step *st = &a->plan->steps[i];

		if (st->kind == STEP_IPSEC_UNLOAD) {
			int r = vici_unload_shared(&a->ipsec.v, st->conn);

			if (r < 0 && r != -ENOENT)
				fprintf(a->err, "%s: site %s: warning: the shared key %s stays loaded in charon: %s\n",
					a->cmd, a->site->name, st->conn, a->ipsec.v.err);
		}
	}
	/* the private key: the old one goes when another replaced it or no peer
	 * authenticates by public key any more */
	{
		const char *old = a->live->ipsec.record.keyid;

		if (!ipsec_uses_pubkey(a->site))
			a->ipsec.keyid[0] = '\0';
		if (old[0] && strcmp(old, a->ipsec.keyid)) {
			int r = vici_unload_key(&a->ipsec.v, old);

			if (r < 0 && r != -ENOENT)
				fprintf(a->err, "%s: site %s: warning: the old private key %s stays loaded in charon: %s\n",
					a->cmd, a->site->name, old, a->ipsec.v.err);
		}
	}
	snprintf(a->ipsec.next.keyid, sizeof(a->ipsec.next.keyid), "%s", a->ipsec.keyid);
	if (ipsec_record_write(a->site->name, &a->ipsec.next) < 0)
		fprintf(a->err, "%s: site %s: warning: cannot write the IPsec record in %s\n", a->cmd,
			a->site->name, state_private_dir());
	if (ipsec_keys_store(a->site->name, &a->ipsec.next_keys) < 0)
		fprintf(a->err, "%s: site %s: warning: cannot keep the keys loaded in %s: a rollback of a later "
			"change cannot put them back\n", a->cmd, a->site->name, state_private_dir());
	/* charon initiates on traffic too (trap policies); ask it now, without waiting */
	for (size_t i = 0; i < a->plan->n; i++) {
		const struct step *st = &a->plan->steps[i];

		if (st->kind == STEP_IPSEC_LOAD && vici_initiate(&a->ipsec.v, st->conn, -1) < 0)
			fprintf(a->err, "%s: site %s: note: charon did not start %s yet: %s\n", a->cmd,
				a->site->name, st->conn, a->ipsec.v.err);
	}
	ipsec_session_close(&a->ipsec);
}

int apply_ipsec_release(struct apply *a)
{
	int failures = 0;
	bool left = false;

	if (a->ipsec.open && a->ipsec.key_loaded) {
		int r = vici_unload_key(&a->ipsec.v, a->ipsec.keyid);

		if (r < 0 && r != -ENOENT) {
			fprintf(a->err, "  cannot unload the private key %s loaded meanwhile: %s\n", a->ipsec.keyid, a->ipsec.v.err);
			failures++;
		}
	}
	for (size_t i = 0; i < a->plan->n; i++) {
		const struct step *st = &a->plan->steps[i];

		left |= (st->kind == STEP_IPSEC_LOAD || st->kind == STEP_IPSEC_UNLOAD) && st->done;
	}
	/* the record as before, but owning the connections left behind */
	if (a->ipsec.intent_written)
		ipsec_record_write(a->site->name, left ? &a->ipsec.intent : &a->live->ipsec.record);
	ipsec_session_close(&a->ipsec);
	return failures;
}

