/* ipsec_down.c - `down`'s IPsec part: which of the site's connections and
 * keys charon holds (planned, so that `down --dry-run` shows them), then
 * unloading them, and the ESP states of CHILD_SAs charon lost track of. Only
 * what is the site's: never a connection whose local identity is another's. */
#include "ipsec_down.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayctl.h"
#include "ipsec.h"
#include "ipsec_keys.h"
#include "model.h"
#include "xfrm.h"

typedef char conn_name[VICI_NAME_MAX + 1];

static int add_name(conn_name **names, size_t *n, const char *name)
{
	void *q;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*names)[i], name))
			return 0;
	q = realloc(*names, (*n + 1) * sizeof(**names));
	if (!q)
		return -ENOMEM;
	*names = q;
	snprintf((*names)[(*n)++], sizeof(**names), "%s", name);
	return 0;
}

/* Every name the site may have used: the record's and the file's. */
static void candidate_names(const struct ipsec_record *rec, const struct site *s, conn_name **names, size_t *n)
{
	for (size_t i = 0; i < rec->n; i++)
		add_name(names, n, rec->conns[i].name);
	for (size_t i = 0; s && i < s->n_peers; i++) {
		char name[VICI_NAME_MAX + 1];

		if (s->peers[i].encryption != ENC_IPSEC)
			continue;
		ipsec_conn_name(s, &s->peers[i], name, sizeof(name));
		add_name(names, n, name);
	}
}

/* Keep the names charon holds that are the site's: listed with the site's
 * local identity, or (not listed) recorded under a new-style name with their
 * key still in charon. A connection of another identity is said on NOTES. When
 * charon cannot list them, every name stays (unloading one it lacks is fine). */
static void keep_ours(struct vici *v, const char *site, const struct ipsec_record *rec, conn_name *names,
		      size_t *n, FILE *notes)
{
	struct vici_conn_info *conns = NULL;
	char **shared = NULL;
	size_t n_conns = 0, n_shared = 0, kept = 0;
	bool have_shared;

	if (vici_list_conns(v, NULL, &conns, &n_conns) < 0)
		return;
	have_shared = vici_get_shared(v, &shared, &n_shared) == 0;
	for (size_t i = 0; i < *n; i++) {
		const struct vici_conn_info *c = vici_conn_find(conns, n_conns, names[i]);
		bool recorded = ipsec_record_find(rec, names[i]) != NULL;
		bool legacy = !strchr(names[i] + strlen(IPSEC_PREFIX), '_');

		if (c && strcmp(c->local_id, site)) {
			fprintf(notes, "# IKE connection %s is not site %s's (its identity is %s): left alone\n",
				names[i], site, c->local_id);
			continue;
		}
		if (!c && (legacy || !recorded || (have_shared && !ipsec_list_has(shared, names[i]))))
			continue;
		if (kept != i)
			memcpy(names[kept], names[i], sizeof(*names));
		kept++;
	}
	*n = kept;
	free(conns);
	vici_strv_free(shared);
}

/* The site's private key, when charon holds it (or cannot tell). */
static bool key_held(struct vici *v, const char *keyid)
{
	char **keys = NULL;
	size_t n = 0;
	bool held;

	if (!keyid[0])
		return false;
	if (vici_get_keys(v, &keys, &n) < 0)
		return true;
	held = ipsec_list_has(keys, keyid);
	vici_strv_free(keys);
	return held;
}

int ipsec_plan_down(const char *site, const struct site *s, struct plan *plan, FILE *notes, FILE *err)
{
	struct ipsec_record rec;
	conn_name *names = NULL;
	size_t n = 0;
	struct vici v;
	int r = 0;

	ipsec_record_read(site, &rec);
	candidate_names(&rec, s, &names, &n);
	if (n == 0 && !rec.keyid[0])
		goto out;
	r = vici_open(&v, ipsec_socket());
	if (r < 0) {
		bool recorded = rec.n || rec.keyid[0];

		/* charon keeps what it was given in memory only: gone with it */
		if ((r == -ENOENT || r == -ECONNREFUSED) && recorded)
			plan_add_step(plan, STEP_IPSEC_FORGET, "# charon is not running (%s): gatewayctl's IKE "
				      "connections went with it", ipsec_socket());
		else if (recorded)
			fprintf(err, "%s down: site %s: cannot remove gatewayctl's IKE connections: charon is not "
				"reachable at %s: %s\n  hint: %s\n", prog, site, ipsec_socket(), strerror(-r),
				ipsec_hint(r));
		/* (charon absent and nothing recorded: nothing of ours there) */
		r = recorded && r != -ENOENT && r != -ECONNREFUSED ? r : 0;
		goto out;
	}
	keep_ours(&v, site, &rec, names, &n, notes);
	for (size_t i = 0; i < n; i++)
		snprintf(plan_add_step(plan, STEP_IPSEC_UNLOAD, "swanctl --terminate --ike %s; unload connection "
				       "and key %s", names[i], names[i])->conn, VICI_NAME_MAX + 1, "%s", names[i]);
	if (key_held(&v, rec.keyid))
		snprintf(plan_add_step(plan, STEP_IPSEC_KEY_UNLOAD, "unload private key %s", rec.keyid)->conn,
			 VICI_NAME_MAX + 1, "%s", rec.keyid);
	vici_close(&v);
out:
	free(names);
	ipsec_record_free(&rec);
	return r;
}

/* ---- running the plan ---- */

/* A CHILD_SA's reqid and endpoints: its ESP states, should charon lose them. */
struct leftover {
	uint32_t reqid, local, remote;
};

static bool step_is_ipsec(const struct step *st)
{
	return st->kind == STEP_IPSEC_UNLOAD || st->kind == STEP_IPSEC_KEY_UNLOAD || st->kind == STEP_IPSEC_FORGET;
}

/* The CHILD_SAs of the connections to unload, before charon forgets them. */
static size_t list_leftovers(struct vici *v, const struct plan *plan, struct leftover *left, size_t max)
{
	struct vici_ike_sa *sas = NULL;
	size_t n_sas = 0, n = 0;

	if (vici_list_sas(v, NULL, &sas, &n_sas) < 0)
		return 0;
	for (size_t k = 0; k < n_sas; k++) {
		bool ours = false;

		for (size_t i = 0; i < plan->n; i++)
			ours |= plan->steps[i].kind == STEP_IPSEC_UNLOAD && !strcmp(sas[k].name, plan->steps[i].conn);
		for (size_t c = 0; ours && c < sas[k].n_children && n < max; c++) {
			struct in_addr la, ra;

			if (inet_pton(AF_INET, sas[k].local_host, &la) != 1 ||
			    inet_pton(AF_INET, sas[k].remote_host, &ra) != 1)
				continue;
			left[n++] = (struct leftover){ sas[k].children[c].reqid, ntohl(la.s_addr), ntohl(ra.s_addr) };
		}
	}
	vici_sas_free(sas, n_sas);
	return n;
}

/* Unload connection NAME first (a peer that initiates again meanwhile finds
 * none here), then end its SAs (unloading leaves them), then its key. The
 * number of failures (said on ERR); what is already gone is no failure. */
static int unload_conn(struct vici *v, const char *name, FILE *err)
{
	int r, failures = 0;

	if ((r = vici_unload_conn(v, name)) < 0 && r != -ENOENT) {
		fprintf(err, "%s down: unload IKE connection %s: %s\n", prog, name, v->err);
		failures++;
	}
	if ((r = vici_terminate(v, name, 10000)) < 0 && r != -ENOENT) {
		fprintf(err, "%s down: terminate IKE SA %s: %s\n", prog, name, v->err);
		failures++;
	}
	if ((r = vici_unload_shared(v, name)) < 0 && r != -ENOENT && r != -EREMOTEIO) {
		fprintf(err, "%s down: unload shared key %s: %s\n", prog, name, v->err);
		failures++;
	}
	return failures;
}

/* ESP states of the CHILD_SAs that charon lost track of (a CHILD_SA the peer
 * negotiated while the IKE_SA was being terminated). */
static void delete_leftovers(const struct leftover *left, size_t n_left, FILE *out, int *changes)
{
	struct xfrm_sa *ks = NULL;
	size_t n_ks = 0;
	struct nl x;

	if (!n_left || nl_open(&x, NETLINK_XFRM) < 0)
		return;
	if (xfrm_sas(&x, &ks, &n_ks) < 0)
		n_ks = 0;
	for (size_t k = 0; k < n_ks; k++)
		for (size_t j = 0; j < n_left; j++) {
			const struct leftover *lo = &left[j];
			char a[16], b[16];

			if (ks[k].reqid != lo->reqid || !((ks[k].src == lo->local && ks[k].dst == lo->remote) ||
							  (ks[k].src == lo->remote && ks[k].dst == lo->local)))
				continue;
			if (xfrm_del_sa(&x, &ks[k]) == 0) {
				fprintf(out, "ip xfrm state delete src %s dst %s proto esp spi 0x%08x   "
					"# of a CHILD_SA of gatewayctl's\n", ip4_str(ks[k].src, a), ip4_str(ks[k].dst, b),
					ks[k].spi);
				(*changes)++;
			}
			break;
		}
	free(ks);
	nl_close(&x);
}

int ipsec_remove(const char *site, const struct plan *plan, FILE *out, FILE *err, int *changes)
{
	struct leftover left[64];
	size_t n_left = 0;
	struct vici v;
	int r, failures = 0;
	bool any = false;

	for (size_t i = 0; i < plan->n; i++) {
		any |= plan->steps[i].kind == STEP_IPSEC_UNLOAD || plan->steps[i].kind == STEP_IPSEC_KEY_UNLOAD;
		if (plan->steps[i].kind == STEP_IPSEC_FORGET) {
			fprintf(out, "%s\n", plan->steps[i].text);
			(*changes)++;
		}
	}
	if (!any)
		return 0;
	if ((r = vici_open(&v, ipsec_socket())) < 0) {
		fprintf(err, "%s down: site %s: cannot remove gatewayctl's IKE connections: charon is not "
			"reachable at %s: %s\n  hint: %s\n", prog, site, ipsec_socket(), strerror(-r), ipsec_hint(r));
		return r;
	}
	n_left = list_leftovers(&v, plan, left, sizeof(left) / sizeof(left[0]));
	for (size_t i = 0; i < plan->n; i++) {
		const struct step *st = &plan->steps[i];
		int f = 0;

		if (!step_is_ipsec(st) || st->kind == STEP_IPSEC_FORGET)
			continue;
		if (st->kind == STEP_IPSEC_UNLOAD) {
			f = unload_conn(&v, st->conn, err);
		} else if ((r = vici_unload_key(&v, st->conn)) < 0 && r != -ENOENT && r != -EREMOTEIO) {
			fprintf(err, "%s down: unload private key %s: %s\n", prog, st->conn, v.err);
			f = 1;
		}
		if (!f) {
			fprintf(out, "%s\n", st->text);
			(*changes)++;
		}
		failures += f;
	}
	vici_close(&v);
	delete_leftovers(left, n_left, out, changes);
	return failures ? -EIO : 0;
}

void ipsec_forget(const char *site)
{
	struct ipsec_record rec = { 0 };

	ipsec_record_write(site, &rec);
	ipsec_keys_forget(site);
}
