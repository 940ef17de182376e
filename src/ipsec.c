/* ipsec.c - the peers with `encryption = ipsec`: one IKEv2 connection each in
 * charon, `gatewayctl-SITE_PEER`, protecting IP protocol 4 between the two
 * endpoints in transport mode (RFC 3884). gatewayctl only configures charon
 * through VICI; charon negotiates, the kernel does ESP.
 *
 * What gatewayctl loaded is recorded in RUNDIR/private/SITE.ipsec: per
 * connection its exact load-conn message and the SHA-256 of its key material.
 * A connection is unchanged when charon has it and the record equals what the
 * file asks now: then nothing is sent and the SAs stay as they are. The
 * recorded messages also let a rollback put back a replaced connection.
 */
#define _GNU_SOURCE
#include "ipsec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayctl.h"
#include "ipsec_keys.h"
#include "keys.h"
#include "state.h"

const char *ipsec_socket(void)
{
	const char *p = getenv("GATEWAYCTL_VICI");

	return p && *p ? p : VICI_SOCKET_DEFAULT;
}

const char *ipsec_hint(int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		return "start strongSwan's IKE daemon: `systemctl start strongswan` (Debian: apt install "
		       "charon-systemd), or `ipsec start`; it must answer on its VICI socket";
	case -EACCES:
	case -EPERM:
		return "talking to charon needs root";
	case -ETIMEDOUT:
		return "charon did not answer in time: check it with `swanctl --stats`";
	case -EREMOTEIO:
		return "charon refused the configuration: its reason is above; check its log "
		       "(journalctl -u strongswan)";
	}
	return NULL;
}

/* ---- the record ---------------------------------------------------------------- */

void ipsec_record_free(struct ipsec_record *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->conns[i].msg_hex);
	free(r->conns);
	memset(r, 0, sizeof(*r));
}

const struct ipsec_record_conn *ipsec_record_find(const struct ipsec_record *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->conns[i].name, name))
			return &r->conns[i];
	return NULL;
}

/* gcc 12's -fanalyzer loses track of a pointer stored into an element of a
 * realloc'd array and reports the strdup below as leaked; record_free frees
 * every element's msg_hex (checked by the ASan unit and kernel tests). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
int ipsec_record_add(struct ipsec_record *r, const char *name, const char *msg_hex, const char *key_hash)
{
	struct ipsec_record_conn *c = realloc(r->conns, (r->n + 1) * sizeof(*c));

	if (!c)
		return -ENOMEM;
	r->conns = c;
	c = &r->conns[r->n];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->key_hash, sizeof(c->key_hash), "%s", key_hash);
	c->msg_hex = strdup(msg_hex);
	if (!c->msg_hex)
		return -ENOMEM;
	r->n++;
	return 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

int ipsec_record_read(const char *site, struct ipsec_record *r)
{
	char name[SITE_NAME_MAX + 8], *line = NULL;
	size_t cap = 0;
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "%s.ipsec", site);
	f = state_fopen(true, name);
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) > 0) {
		char conn[VICI_NAME_MAX + 1], hash[65], *msg;
		int off = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "conn %100s %64s %n", conn, hash, &off) == 2 && off > 0) {
			msg = line + off;
			if (strlen(hash) == 64 && *msg && strspn(msg, "0123456789abcdef") == strlen(msg))
				ipsec_record_add(r, conn, msg, hash);
		} else if (sscanf(line, "key %40s", r->keyid) != 1) {
			/* unknown line: ignored */
		}
	}
	free(line);
	fclose(f);
	return 0;
}

int ipsec_record_write(const char *site, const struct ipsec_record *r)
{
	char name[SITE_NAME_MAX + 8], *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	snprintf(name, sizeof(name), "%s.ipsec", site);
	if (r->n == 0 && !r->keyid[0])
		return state_remove_file(true, name);
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "# gatewayctl: the IKE connections loaded into charon for site %s\n", site);
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "conn %s %s %s\n", r->conns[i].name, r->conns[i].key_hash, r->conns[i].msg_hex);
	if (r->keyid[0])
		fprintf(f, "key %s\n", r->keyid);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	ret = state_write_file(true, name, text, len, 0600);
	free(text);
	return ret;
}

/* ---- reading what charon has ----------------------------------------------------- */

bool ipsec_list_has(char **list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* Whether charon's connection C is the one peer P of S asks for: the same
 * name, addresses, identities, authentication and a transport-mode child (what
 * list-conns shows; the rest is in the record's exact message). */
static bool conn_matches(const struct vici_conn_info *c, const struct site *s, const struct peer *p,
			 const char *name)
{
	char local[IP6_STRLEN], remote[IP6_STRLEN];
	const char *auth = p->auth == AUTH_PSK ? "pre-shared key" : "public key";

	ipsec_addrs(s, p, local, remote);
	return !strcmp(c->local_addr, local) && !strcmp(c->remote_addr, remote) && !strcmp(c->local_id, s->name) &&
	       !strcmp(c->remote_id, p->name) && !strcmp(c->local_auth, auth) && !strcmp(c->remote_auth, auth) &&
	       c->n_children == 1 && !strcmp(c->child, name) && !strcmp(c->child_mode, "TRANSPORT");
}

/* The id charon gives the site's private key (the SHA-1 of its public key):
 * "" when the site has none or it cannot be read here. */
static void site_keyid(const struct site *s, char keyid[41])
{
	uint8_t seed[KEY_LEN], pub[KEY_LEN];
	char why[600];

	keyid[0] = '\0';
	if (!s->private_key[0] || s->private_key_unread)
		return;
	if (ipsec_key_private(s, seed, why, sizeof(why)) == 0 && key_public(seed, pub) == 0 &&
	    key_charon_id(pub, keyid) == 0)
		keyid[40] = '\0';
	else
		keyid[0] = '\0';
	key_wipe(seed, sizeof(seed));
}


static int add_stale(struct ipsec_live *l, const char *name)
{
	void *q = realloc(l->stale, (l->n_stale + 1) * sizeof(*l->stale));

	if (!q)
		return -ENOMEM;
	l->stale = q;
	snprintf(l->stale[l->n_stale++], sizeof(*l->stale), "%s", name);
	return 0;
}

int ipsec_live_read(const struct site *s, struct ipsec_live *l)
{
	struct vici v;
	struct vici_version ver;
	struct vici_conn_info *conns = NULL;
	char **shared = NULL, **keys = NULL;
	size_t n_conns = 0, n_shared = 0, n_keys = 0;
	int r = 0;

	memset(l, 0, sizeof(*l));
	ipsec_record_read(s->name, &l->record);
	l->wanted = ipsec_site_uses(s) || l->record.n || l->record.keyid[0];
	if (!l->wanted)
		return 0;
	l->peers = calloc(s->n_peers ? s->n_peers : 1, sizeof(*l->peers));
	if (!l->peers)
		return -ENOMEM;
	r = vici_open(&v, ipsec_socket());
	if (r < 0) {
		snprintf(l->error, sizeof(l->error), "charon (strongSwan's IKE daemon) is not reachable at %s: %s",
			 ipsec_socket(), strerror(-r));
		return 0;
	}
	if ((r = vici_version(&v, &ver)) < 0 || (r = vici_list_conns(&v, NULL, &conns, &n_conns)) < 0 ||
	    (r = vici_get_shared(&v, &shared, &n_shared)) < 0 || (r = vici_get_keys(&v, &keys, &n_keys)) < 0 ||
	    (r = vici_list_sas(&v, NULL, &l->sas, &l->n_sas)) < 0) {
		snprintf(l->error, sizeof(l->error), "charon at %s: %s", ipsec_socket(), v.err);
		free(conns);
		vici_strv_free(shared);
		vici_strv_free(keys);
		vici_close(&v);
		return 0;
	}
	vici_close(&v);
	l->reachable = true;
	snprintf(l->daemon, sizeof(l->daemon), "%s %s", ver.daemon, ver.version);
	/* the site's private key: the one the file names, else the recorded one */
	if (ipsec_uses_pubkey(s))
		site_keyid(s, l->keyid);
	l->key_loaded = ipsec_list_has(keys, l->keyid[0] ? l->keyid : l->record.keyid);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		struct ipsec_peer_live *pl = &l->peers[i];
		const struct ipsec_record_conn *rc;
		const struct vici_conn_info *c;
		char name[VICI_NAME_MAX + 1];

		ipsec_conn_name(s, p, name, sizeof(name));
		c = vici_conn_find(conns, n_conns, name);
		rc = ipsec_record_find(&l->record, name);
		pl->loaded = c != NULL;
		pl->foreign = c && !rc;
		for (size_t k = 0; k < l->n_sas; k++)
			if (!strcmp(l->sas[k].name, name) && !strcmp(l->sas[k].state, "ESTABLISHED"))
				pl->sa = &l->sas[k];
		if (p->encryption != ENC_IPSEC)
			continue;
		pl->key_loaded = p->auth == AUTH_PSK ? ipsec_list_has(shared, name) : l->key_loaded;
		if (c && rc && conn_matches(c, s, p, name)) {
			struct vici_msg m;
			char hash[65], why[600];

			vici_msg_init(&m);
			if (ipsec_conn_message(s, p, &m, hash, why, sizeof(why)) == 0) {
				char *hex = ipsec_hex(m.buf, m.len);

				pl->conn_same = hex && !strcmp(hex, rc->msg_hex) && !strcmp(hash, rc->key_hash);
				free(hex);
			}
			vici_msg_free(&m);
		}
		pl->same = pl->conn_same && pl->key_loaded &&
			   (p->auth == AUTH_PSK || !l->keyid[0] || !strcmp(l->keyid, l->record.keyid));
	}
	/* recorded connections that no ipsec peer asks for now (of a removed peer,
	 * or of the old name "gatewayctl-SITE-PEER"), still in charon and still the
	 * site's (its local identity: an old name may have been another site's) */
	for (size_t k = 0; k < l->record.n && r == 0; k++) {
		const char *name = l->record.conns[k].name;
		const struct vici_conn_info *c = vici_conn_find(conns, n_conns, name);
		bool wanted = false;

		for (size_t i = 0; i < s->n_peers; i++) {
			char want[VICI_NAME_MAX + 1];

			ipsec_conn_name(s, &s->peers[i], want, sizeof(want));
			if (s->peers[i].encryption == ENC_IPSEC && !strcmp(want, name))
				wanted = true;
		}
		if (!wanted && c && !strcmp(c->local_id, s->name))
			r = add_stale(l, name);
	}
	free(conns);
	vici_strv_free(shared);
	vici_strv_free(keys);
	return r;
}

int ipsec_preflight(const struct site *s, const struct ipsec_live *l, FILE *err)
{
	int errors = 0;

	for (size_t i = 0; l->reachable && l->peers && i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];
		char name[VICI_NAME_MAX + 1];

		if (p->encryption != ENC_IPSEC || !l->peers[i].foreign)
			continue;
		ipsec_conn_name(s, p, name, sizeof(name));
		fprintf(err, "%s:%d: error: peer %s: charon holds an IKE connection named %s that gatewayctl did "
			"not load for site %s (it is not in %s/%s.ipsec): it is left alone; remove it "
			"(swanctl --unload-conn %s, and from swanctl.conf) if it is a leftover, or rename it\n",
			s->path, p->line, p->name, name, s->name, state_private_dir(), s->name, name);
		errors++;
	}
	return errors;
}

void ipsec_live_free(struct ipsec_live *l)
{
	vici_sas_free(l->sas, l->n_sas);
	free(l->peers);
	free(l->stale);
	ipsec_record_free(&l->record);
	memset(l, 0, sizeof(*l));
}

/* ---- one run's session ------------------------------------------------------------- */

int ipsec_session_open(struct ipsec_session *ss)
{
	int r;

	if (ss->open)
		return 0;
	r = vici_open(&ss->v, ipsec_socket());
	if (r < 0) {
		snprintf(ss->v.err, sizeof(ss->v.err), "charon (strongSwan's IKE daemon) is not reachable at %s: %s",
			 ipsec_socket(), strerror(-r));
		return r;
	}
	ss->open = true;
	return 0;
}

void ipsec_session_close(struct ipsec_session *ss)
{
	if (ss->open)
		vici_close(&ss->v);
	ss->open = false;
	ipsec_record_free(&ss->next);
	ipsec_record_free(&ss->intent);
	ipsec_keys_free(&ss->prev_keys);
	ipsec_keys_free(&ss->next_keys);
	free(ss->did);
	memset(ss, 0, sizeof(*ss));
}

/* charon accepts a connection whose algorithms none of its plugins provides,
 * and fails only when it negotiates ("configured DH group CURVE_25519 not
 * supported"). So ask it first what it can do: gatewayctl's proposals
 * (VICI_IKE_PROPOSALS, VICI_ESP_PROPOSALS) need Curve25519 (IKE and PFS) and,
 * for IKE, AES-256-GCM with PRF SHA-384 or ChaCha20-Poly1305 with PRF SHA-256.
 * 0, or -EPROTONOSUPPORT with what lacks in WHY. A charon too old to list its
 * algorithms is not asked. */
int ipsec_charon_can_negotiate(struct vici *v, char *why, size_t whylen)
{
	char **algs = NULL;
	size_t n = 0;
	bool x25519, aes, chacha;
	int r = vici_get_algorithms(v, &algs, &n);

	if (r == -EOPNOTSUPP)
		return 0;
	if (r < 0) {
		snprintf(why, whylen, "charon: %s", v->err);
		return r;
	}
	x25519 = ipsec_list_has(algs, "dh/CURVE_25519") || ipsec_list_has(algs, "ke/CURVE_25519");
	aes = ipsec_list_has(algs, "aead/AES_GCM_16") && ipsec_list_has(algs, "prf/PRF_HMAC_SHA2_384");
	chacha = ipsec_list_has(algs, "aead/CHACHA20_POLY1305") && ipsec_list_has(algs, "prf/PRF_HMAC_SHA2_256");
	vici_strv_free(algs);
	if (x25519 && (aes || chacha))
		return 0;
	snprintf(why, whylen, "charon cannot negotiate gatewayctl's proposals (IKE %s, %s; ESP %s, %s): "
		 "none of its plugins provides %s%s%s", VICI_IKE_PROPOSALS[0], VICI_IKE_PROPOSALS[1],
		 VICI_ESP_PROPOSALS[0], VICI_ESP_PROPOSALS[1], x25519 ? "" : "CURVE_25519 (x25519)",
		 !x25519 && !(aes || chacha) ? " nor " : "",
		 aes || chacha ? "" : "AES_GCM_16 with PRF_HMAC_SHA2_384 or CHACHA20_POLY1305 with PRF_HMAC_SHA2_256");
	return -EPROTONOSUPPORT;
}


const struct vici_child_sa *ipsec_installed_child(const struct vici_ike_sa *sa)
{
	for (size_t i = 0; sa && i < sa->n_children; i++)
		if (!strcmp(sa->children[i].state, "INSTALLED"))
			return &sa->children[i];
	return NULL;
}

/* ---- status ---------------------------------------------------------------------- */

int ipsec_diagnose(const char *conn, int timeout_ms, char *reason, size_t len, char *fix, size_t fixlen)
{
	struct vici v;
	int r = vici_open(&v, ipsec_socket());

	if (r < 0) {
		snprintf(reason, len, "charon is not reachable at %s: %s", ipsec_socket(), strerror(-r));
		snprintf(fix, fixlen, "%s", ipsec_hint(r) ? ipsec_hint(r) : "");
		return r;
	}
	r = vici_initiate(&v, conn, timeout_ms);
	if (r == 0) {
		vici_close(&v);
		return 0;
	}
	/* charon's words, then what to do about them */
	if (strstr(v.err, "AUTHENTICATION_FAILED") || strstr(v.err, "authentication") ||
	    strstr(v.log, "AUTHENTICATION_FAILED") || strstr(v.log, "authentication of")) {
		snprintf(reason, len, "authentication failed: %s", v.err);
		snprintf(fix, fixlen, "check the key: both sites' psk_file must hold the same key, or each "
			 "public_key must be the other site's `gatewayctl pubkey`");
	} else if (strstr(v.err, "NO_PROPOSAL_CHOSEN") || strstr(v.log, "NO_PROPOSAL_CHOSEN")) {
		snprintf(reason, len, "no proposal chosen: %s", v.err);
		snprintf(fix, fixlen, "the peer has no matching connection, or accepts none of gatewayctl's "
			 "proposals (IKE %s, %s): run `gatewayctl up` there, with `encryption = ipsec` for this "
			 "site, or let the peer's charon accept these", VICI_IKE_PROPOSALS[0], VICI_IKE_PROPOSALS[1]);
	} else if (r == -ETIMEDOUT || strstr(v.err, "retransmit") || strstr(v.log, "retransmit") ||
		   strstr(v.log, "giving up")) {
		snprintf(reason, len, "no answer from the peer: %s", v.err);
		snprintf(fix, fixlen, "check that the peer gateway runs charon and `gatewayctl up`, and that "
			 "UDP 500 and 4500 reach it");
	} else {
		snprintf(reason, len, "%s", v.err);
		snprintf(fix, fixlen, "see charon's log (journalctl -u strongswan)");
	}
	vici_close(&v);
	return r;
}

