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

#include <ctype.h>
#include <linux/netlink.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "gatewayctl.h"
#include "ipsec_keys.h"
#include "keys.h"
#include "model.h"
#include "state.h"

const char *ipsec_socket(void)
{
	const char *p = getenv("GATEWAYCTL_VICI");

	return p && *p ? p : VICI_SOCKET_DEFAULT;
}

bool ipsec_site_uses(const struct site *s)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].encryption == ENC_IPSEC)
			return true;
	return false;
}

void ipsec_conn_name(const struct site *s, const struct peer *p, char *out, size_t len)
{
	snprintf(out, len, IPSEC_PREFIX "%s_%s", s->name, p->name);
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

/* ---- hex, hashes ------------------------------------------------------------ */

static char *hex_of(const uint8_t *p, size_t len)
{
	char *s = malloc(len * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[len * 2] = '\0';
	return s;
}

static int unhex(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2)
		return -EINVAL;
	*out = malloc(n / 2 + 1);
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(*out);
			*out = NULL;
			return -EINVAL;
		}
		(*out)[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t md[32];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
	return 0;
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
static int record_add(struct ipsec_record *r, const char *name, const char *msg_hex, const char *key_hash)
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
				record_add(r, conn, msg, hash);
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

/* ---- the connection of a peer ---------------------------------------------------- */

int ipsec_conn_message(const struct site *s, const struct peer *p, struct vici_msg *m,
		       char key_hash[65], char *why, size_t whylen)
{
	char name[VICI_NAME_MAX + 1], local[16], remote[16];
	struct vici_conn_spec spec = { 0 };
	uint8_t key[KEY_FILE_MAX];
	size_t len = 0;
	int ret;

	ipsec_conn_name(s, p, name, sizeof(name));
	spec.name = name;
	spec.local_addr = ip4_str(s->wan_address.addr, local);
	spec.remote_addr = ip4_str(p->endpoint, remote);
	spec.local_id = s->name;
	spec.remote_id = p->name;
	spec.start_action = VICI_START_TRAP;
	spec.close_action = VICI_CLOSE_TRAP;
	if (p->auth == AUTH_PSK) {
		spec.auth = VICI_AUTH_PSK;
		ret = ipsec_key_psk(name, p, key, sizeof(key), &len, why, whylen);
	} else {
		uint8_t seed[KEY_LEN];

		spec.auth = VICI_AUTH_PUBKEY;
		memcpy(spec.remote_pubkey, p->public_key, KEY_LEN);
		ret = ipsec_key_private(s, seed, why, whylen);
		if (ret == 0)
			ret = key_public(seed, spec.local_pubkey);
		memcpy(key, seed, KEY_LEN);
		len = KEY_LEN;
		key_wipe(seed, sizeof(seed));
	}
	if (ret == 0 && sha256_hex(key, len, key_hash) < 0) {
		snprintf(why, whylen, "cannot hash the key");
		ret = -EIO;
	}
	key_wipe(key, sizeof(key));
	if (ret < 0)
		return ret;
	return vici_conn_msg(&spec, m, why, whylen);
}

char *ipsec_plan_text(const struct site *s, const struct peer *p)
{
	static const char *const secret[] = { "data", NULL };
	char hash[65], why[600], name[VICI_NAME_MAX + 1], *text = NULL;
	struct vici_msg m;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	ipsec_conn_name(s, p, name, sizeof(name));
	vici_msg_init(&m);
	fprintf(f, "swanctl --load-all   # IKE connection %s (swanctl.conf):\n", name);
	if (ipsec_conn_message(s, p, &m, hash, why, sizeof(why)) < 0) {
		fprintf(f, "#   (cannot build it: %s)\n", why);
	} else {
		fprintf(f, "connections {\n");
		vici_msg_print(&m, f, secret);
		fprintf(f, "}\n");
	}
	if (p->auth == AUTH_PSK)
		fprintf(f, "secrets {\n    ike-%s {\n        id-1 = %s\n        id-2 = %s\n"
			"        secret = <the key in %s>\n    }\n}\n", name, s->name, p->name, p->psk_file);
	else
		fprintf(f, "# private key: %s (loaded with load-key)\n", s->private_key);
	vici_msg_free(&m);
	fclose(f);
	/* drop the final newline: plan adds its own */
	if (text && len && text[len - 1] == '\n')
		text[len - 1] = '\0';
	return text;
}

/* ---- reading what charon has ----------------------------------------------------- */

static bool in_list(char **list, const char *name)
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
	char local[16], remote[16];
	const char *auth = p->auth == AUTH_PSK ? "pre-shared key" : "public key";

	return !strcmp(c->local_addr, ip4_str(s->wan_address.addr, local)) &&
	       !strcmp(c->remote_addr, ip4_str(p->endpoint, remote)) && !strcmp(c->local_id, s->name) &&
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

static bool uses_pubkey(const struct site *s)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].encryption == ENC_IPSEC && s->peers[i].auth == AUTH_PUBKEY)
			return true;
	return false;
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
	if (uses_pubkey(s))
		site_keyid(s, l->keyid);
	l->key_loaded = in_list(keys, l->keyid[0] ? l->keyid : l->record.keyid);
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
		pl->key_loaded = p->auth == AUTH_PSK ? in_list(shared, name) : l->key_loaded;
		if (c && rc && conn_matches(c, s, p, name)) {
			struct vici_msg m;
			char hash[65], why[600];

			vici_msg_init(&m);
			if (ipsec_conn_message(s, p, &m, hash, why, sizeof(why)) == 0) {
				char *hex = hex_of(m.buf, m.len);

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

/* ---- applying ------------------------------------------------------------------ */

/* What one `up` run keeps between ipsec_apply, the undos and ipsec_commit. */
static struct {
	struct vici v;
	bool open;
	struct ipsec_record next;	/* the record after this run */
	struct ipsec_record intent;	/* the record before it, plus the new connections */
	bool intent_written;
	struct ipsec_keys prev_keys;	/* the key material charon got before this run ... */
	struct ipsec_keys next_keys;	/* ... and after it */
	char keyid[41];			/* the site's private key after this run ("" none) */
	bool key_loaded;		/* this run loaded it into charon */
	unsigned char *did;		/* per plan step: what was sent (DID_*) */
} run;

enum { DID_PSK = 1, DID_CONN = 2 };

static void did(struct apply *a, const struct step *st, unsigned char what)
{
	if (run.did)
		run.did[st - a->plan->steps] |= what;
}

static bool done_what(struct apply *a, const struct step *st, unsigned char what)
{
	return !run.did || (run.did[st - a->plan->steps] & what);
}

static int run_open(struct apply *a)
{
	int r;

	if (run.open)
		return 0;
	r = vici_open(&run.v, ipsec_socket());
	if (r < 0) {
		snprintf(run.v.err, sizeof(run.v.err), "charon (strongSwan's IKE daemon) is not reachable at %s: %s",
			 ipsec_socket(), strerror(-r));
		return r;
	}
	(void)a;
	run.open = true;
	return 0;
}

static void run_close(void)
{
	if (run.open)
		vici_close(&run.v);
	run.open = false;
	ipsec_record_free(&run.next);
	ipsec_record_free(&run.intent);
	ipsec_keys_free(&run.prev_keys);
	ipsec_keys_free(&run.next_keys);
	run.intent_written = false;
	run.key_loaded = false;
	free(run.did);
	run.did = NULL;
}

static int send_hex(struct vici *v, const char *hex)
{
	struct vici_msg m;
	uint8_t *buf;
	size_t len;
	int r;

	if ((r = unhex(hex, &buf, &len)) < 0)
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
static int load_psk(const struct site *s, const struct peer *p, const char *conn, const uint8_t *key,
		    size_t len, struct ipsec_keys *keys, char *why, size_t whylen)
{
	const char *owners[3] = { s->name, p->name, NULL };
	int r = vici_load_shared(&run.v, conn, key, len, owners);

	if (r < 0) {
		snprintf(why, whylen, "charon: %.500s", run.v.err);
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
	hex = hex_of(m.buf, m.len);
	if (!hex) {
		vici_msg_free(&m);
		return -ENOMEM;
	}
	/* a new connection is the site's from now on, even when an undo fails */
	if (!st->value) {
		if (record_add(&run.intent, st->conn, hex, hash) < 0) {
			free(hex);
			vici_msg_free(&m);
			return -ENOMEM;
		}
		ipsec_record_write(s->name, &run.intent);
		run.intent_written = true;
	}
	/* from the first change on, a failure is undone */
	st->done = true;
	if (p->auth == AUTH_PSK) {
		uint8_t key[KEY_FILE_MAX];
		size_t len = 0;

		r = ipsec_key_psk(st->conn, p, key, sizeof(key), &len, why, sizeof(why));
		if (r == 0) {
			did(a, st, DID_PSK);
			r = load_psk(s, p, st->conn, key, len, &run.next_keys, why, sizeof(why));
		}
		key_wipe(key, sizeof(key));
	}
	if (r == 0) {
		did(a, st, DID_CONN);
		r = vici_call_checked(&run.v, "load-conn", &m, NULL);
		if (r < 0)
			snprintf(why, sizeof(why), "charon refused the connection: %s", run.v.err);
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
			r = vici_rekey(&run.v, st->conn, true);
			if (r < 0 && r != -ENOENT)
				fprintf(a->err, "%s: site %s: note: charon could not reauthenticate %s with the new "
					"key yet: %s\n", a->cmd, s->name, st->conn, run.v.err);
		}
	}
	r = record_add(&run.next, st->conn, hex, hash);
	free(hex);
	return r;
}

static int unload_one(struct apply *a, struct step *st)
{
	int r;

	st->done = true;
	r = vici_unload_conn(&run.v, st->conn);
	if (r < 0 && r != -ENOENT) {
		apply_report_failure(a, st, r, NULL, run.v.err);
		return r;
	}
	r = vici_terminate(&run.v, st->conn, 10000);
	if (r < 0 && r != -ENOENT) {
		apply_report_failure(a, st, r, NULL, run.v.err);
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
	if (r == 0 && (r = vici_get_keys(&run.v, &keys, &n)) < 0)
		snprintf(why, sizeof(why), "charon: %s", run.v.err);
	if (r == 0 && !in_list(keys, keyid)) {
		char got[41] = "";

		key_pkcs8(seed, der);
		st->done = true;
		r = vici_load_key(&run.v, der, sizeof(der), got);
		if (r < 0)
			snprintf(why, sizeof(why), "charon refused `load-key`: %s", run.v.err);
		else
			run.key_loaded = true;
	}
	vici_strv_free(keys);
	if (r == 0) {
		snprintf(run.keyid, sizeof(run.keyid), "%s", keyid);
		r = ipsec_keys_set(&run.next_keys, IPSEC_KEY_PRIVATE, seed, KEY_LEN);
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

static bool has_alg(char **algs, const char *name)
{
	for (size_t i = 0; algs && algs[i]; i++)
		if (!strcmp(algs[i], name))
			return true;
	return false;
}

/* charon accepts a connection whose algorithms none of its plugins provides,
 * and fails only when it negotiates ("configured DH group CURVE_25519 not
 * supported"). So ask it first what it can do: gatewayctl's proposals
 * (VICI_IKE_PROPOSALS, VICI_ESP_PROPOSALS) need Curve25519 (IKE and PFS) and,
 * for IKE, AES-256-GCM with PRF SHA-384 or ChaCha20-Poly1305 with PRF SHA-256.
 * 0, or -EPROTONOSUPPORT with what lacks in WHY. A charon too old to list its
 * algorithms is not asked. */
static int charon_can_negotiate(struct vici *v, char *why, size_t whylen)
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
	x25519 = has_alg(algs, "dh/CURVE_25519") || has_alg(algs, "ke/CURVE_25519");
	aes = has_alg(algs, "aead/AES_GCM_16") && has_alg(algs, "prf/PRF_HMAC_SHA2_384");
	chacha = has_alg(algs, "aead/CHACHA20_POLY1305") && has_alg(algs, "prf/PRF_HMAC_SHA2_256");
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

int ipsec_apply(struct apply *a)
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
	memset(&run.next, 0, sizeof(run.next));
	memset(&run.intent, 0, sizeof(run.intent));
	run.keyid[0] = '\0';
	run.did = calloc(a->plan->n, 1);
	if (!run.did)
		return -ENOMEM;
	if ((r = run_open(a)) < 0) {
		for (size_t i = 0; i < a->plan->n; i++)
			if (a->plan->steps[i].kind == STEP_IPSEC_LOAD || a->plan->steps[i].kind == STEP_IPSEC_UNLOAD) {
				apply_report_failure(a, &a->plan->steps[i], r, NULL, run.v.err);
				break;
			}
		fprintf(a->err, "  hint: %s\n", ipsec_hint(r) ? ipsec_hint(r) : "check charon");
		return r;
	}
	if (ipsec_keys_load(a->site->name, &run.prev_keys) < 0)
		fprintf(a->err, "%s: site %s: warning: cannot read the keys loaded before from %s; a failed change "
			"cannot put a changed key back\n", a->cmd, a->site->name, state_private_dir());
	/* the connections that stay as they are keep their record and key */
	for (size_t k = 0; k < l->record.n; k++) {
		const struct ipsec_record_conn *rc = &l->record.conns[k];
		const struct ipsec_key *key = ipsec_keys_find(&run.prev_keys, rc->name);
		bool touched = false;

		if (record_add(&run.intent, rc->name, rc->msg_hex, rc->key_hash) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < a->plan->n; i++) {
			const struct step *st = &a->plan->steps[i];

			if ((st->kind == STEP_IPSEC_LOAD || st->kind == STEP_IPSEC_UNLOAD) && !strcmp(st->conn, rc->name))
				touched = true;
		}
		if (touched)
			continue;
		if (record_add(&run.next, rc->name, rc->msg_hex, rc->key_hash) < 0 ||
		    (key && ipsec_keys_set(&run.next_keys, key->name, key->data, key->len) < 0))
			return -ENOMEM;
	}
	snprintf(run.intent.keyid, sizeof(run.intent.keyid), "%s", l->record.keyid);
	if (uses_pubkey(a->site)) {
		const struct ipsec_key *old = ipsec_keys_find(&run.prev_keys, IPSEC_KEY_PRIVATE);

		/* kept as it is until a step loads it */
		snprintf(run.keyid, sizeof(run.keyid), "%s", l->record.keyid);
		if (old && ipsec_keys_set(&run.next_keys, old->name, old->data, old->len) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < a->plan->n; i++)
		if (a->plan->steps[i].kind == STEP_IPSEC_LOAD) {
			char why[1024];

			if ((r = charon_can_negotiate(&run.v, why, sizeof(why))) < 0) {
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
	const struct ipsec_key *key = ipsec_keys_find(&run.prev_keys, st->conn);
	char hash[65] = "", why[600];
	struct vici_msg m;
	bool changed;

	vici_msg_init(&m);
	changed = ipsec_conn_message(a->site, st->peer, &m, hash, why, sizeof(why)) < 0 ||
		  strcmp(hash, old->key_hash);
	vici_msg_free(&m);
	if (key) {
		if (load_psk(a->site, st->peer, st->conn, key->data, key->len, NULL, why, sizeof(why)) < 0) {
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

int ipsec_undo(struct apply *a, struct step *st)
{
	const struct ipsec_record_conn *old = ipsec_record_find(&a->live->ipsec.record, st->conn);
	int r, changed;

	if (!run.open && run_open(a) < 0) {
		fprintf(a->err, "  cannot undo %s: %s\n", st->conn, run.v.err);
		return -EIO;
	}
	if (st->kind == STEP_IPSEC_LOAD && !st->value) {
		/* new: remove it, and its key */
		r = vici_unload_conn(&run.v, st->conn);
		if (r == -ENOENT)
			r = 0;
		vici_terminate(&run.v, st->conn, 5000);
		if (r == 0 && st->peer && st->peer->auth == AUTH_PSK) {
			r = vici_unload_shared(&run.v, st->conn);
			if (r == -ENOENT)
				r = 0;
		}
		if (r < 0) {
			fprintf(a->err, "  cannot remove IKE connection %s and its key again: %s\n", st->conn, run.v.err);
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
		r = send_hex(&run.v, old->msg_hex);
		if (r < 0) {
			fprintf(a->err, "  cannot put back IKE connection %s: %s\n", st->conn, run.v.err);
			return -EIO;
		}
	}
	/* the SA may have authenticated with the new key meanwhile */
	if (changed > 0)
		vici_rekey(&run.v, st->conn, true);
	return 0;
}

void ipsec_commit(struct apply *a)
{
	bool any = false;

	for (size_t i = 0; i < a->plan->n; i++)
		any |= a->plan->steps[i].kind == STEP_IPSEC_LOAD || a->plan->steps[i].kind == STEP_IPSEC_UNLOAD;
	if (!any || !run.open) {
		run_close();
		return;
	}
	for (size_t i = 0; i < a->plan->n; i++) {
		const struct step *st = &a->plan->steps[i];

		if (st->kind == STEP_IPSEC_UNLOAD) {
			int r = vici_unload_shared(&run.v, st->conn);

			if (r < 0 && r != -ENOENT)
				fprintf(a->err, "%s: site %s: warning: the shared key %s stays loaded in charon: %s\n",
					a->cmd, a->site->name, st->conn, run.v.err);
		}
	}
	/* the private key: the old one goes when another replaced it or no peer
	 * authenticates by public key any more */
	{
		const char *old = a->live->ipsec.record.keyid;

		if (!uses_pubkey(a->site))
			run.keyid[0] = '\0';
		if (old[0] && strcmp(old, run.keyid)) {
			int r = vici_unload_key(&run.v, old);

			if (r < 0 && r != -ENOENT)
				fprintf(a->err, "%s: site %s: warning: the old private key %s stays loaded in charon: %s\n",
					a->cmd, a->site->name, old, run.v.err);
		}
	}
	snprintf(run.next.keyid, sizeof(run.next.keyid), "%s", run.keyid);
	if (ipsec_record_write(a->site->name, &run.next) < 0)
		fprintf(a->err, "%s: site %s: warning: cannot write the IPsec record in %s\n", a->cmd,
			a->site->name, state_private_dir());
	if (ipsec_keys_store(a->site->name, &run.next_keys) < 0)
		fprintf(a->err, "%s: site %s: warning: cannot keep the keys loaded in %s: a rollback of a later "
			"change cannot put them back\n", a->cmd, a->site->name, state_private_dir());
	/* charon initiates on traffic too (trap policies); ask it now, without waiting */
	for (size_t i = 0; i < a->plan->n; i++) {
		const struct step *st = &a->plan->steps[i];

		if (st->kind == STEP_IPSEC_LOAD && vici_initiate(&run.v, st->conn, -1) < 0)
			fprintf(a->err, "%s: site %s: note: charon did not start %s yet: %s\n", a->cmd,
				a->site->name, st->conn, run.v.err);
	}
	run_close();
}

int ipsec_release(struct apply *a)
{
	int failures = 0;
	bool left = false;

	if (run.open && run.key_loaded) {
		int r = vici_unload_key(&run.v, run.keyid);

		if (r < 0 && r != -ENOENT) {
			fprintf(a->err, "  cannot unload the private key %s loaded meanwhile: %s\n", run.keyid, run.v.err);
			failures++;
		}
	}
	for (size_t i = 0; i < a->plan->n; i++) {
		const struct step *st = &a->plan->steps[i];

		left |= (st->kind == STEP_IPSEC_LOAD || st->kind == STEP_IPSEC_UNLOAD) && st->done;
	}
	/* the record as before, but owning the connections left behind */
	if (run.intent_written)
		ipsec_record_write(a->site->name, left ? &run.intent : &a->live->ipsec.record);
	run_close();
	return failures;
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

