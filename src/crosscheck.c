/* crosscheck.c - several site files checked as one network
 *
 * Each file alone was validated by config_load. Here, for every peer that names
 * another site of the set, the two files must describe the same tunnel:
 *   - the endpoint is the other's wan_address, or its public_address (behind NAT)
 *     (one of them, for a list; a DNS name or a site with `wan_address = auto`
 *     cannot be checked without the network: a warning says so);
 *   - the networks include the other's LAN, and nothing the other cannot
 *     deliver: its LAN, or a network it routes on to another of its peers
 *     (a hub carries its spokes' LANs);
 *   - the peer's lan_address, when given, is the other's;
 *   - the other names this site as a peer too (else it drops our packets);
 *   - encryption agrees, and so does the key: PSK files of equal content, or a
 *     public_key that is the other's private key's;
 *   - relaying peers relay with each other, on the same ports and transport.
 * Site names and public addresses must be unique in the set. A peer whose site
 * is not in the set is a warning. Everything is O((sites + peers) log n).
 */
#define _GNU_SOURCE
#include "crosscheck.h"
#include "crosscheck_netmap.h"
#include "crosscheck6.h"
#include "netmap.h"
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct diag {
	size_t file;
	int line;
	size_t order;
	bool warning;
	char *text;
};

/* the public key of a site's private_key file, computed once */
struct pubkey {
	int state;		/* 0 not yet, 1 known, -errno could not */
	uint8_t key[KEY_LEN];
	char why[300];
};

struct xc {
	const struct site *sites;
	size_t n;
	size_t *by_name;		/* site indexes sorted by name */
	const struct peer ***peers;	/* per site: its peers sorted by name */
	struct pubkey *pub;
	struct diag *d;
	size_t nd, cap;
	bool oom;
	struct crosscheck_result res;
	struct net4 *used;		/* every network of the set, once a netmap is suggested */
	size_t n_used;
	struct xc6 x6;			/* the IPv6 half (crosscheck6.c) */
};

__attribute__((format(printf, 5, 6)))
static void say(struct xc *x, size_t file, int line, bool warning, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (warning)
		x->res.warnings++;
	else
		x->res.errors++;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text || (x->nd == x->cap && !(x->d = reallocarray(x->d, x->cap = x->cap ? 2 * x->cap : 64,
								  sizeof(*x->d))))) {
		free(text);
		x->oom = true;
		return;
	}
	x->d[x->nd] = (struct diag){ file, line > 0 ? line : 1, x->nd, warning, text };
	x->nd++;
}

/* what crosscheck6.c reports */
static void say6(void *x, size_t file, int line, bool warning, const char *msg)
{
	say(x, file, line, warning, "%s", msg);
}

#define ERROR(x, f, l, ...) say(x, f, l, false, __VA_ARGS__)
#define WARN(x, f, l, ...) say(x, f, l, true, __VA_ARGS__)

/* ---- lines that struct site does not keep ------------------------------ */

/*
 * The line of KEY in the section named SECTION ("site", "relay", "peer NAME",
 * lowercase) of S's text; KEY NULL: the section header's line. The file has
 * passed config_load, so its structure is sane. Falls back to the header,
 * then to line 1.
 */
static int text_line(const struct site *s, const char *section, const char *key)
{
	const char *p = s->text, *end = s->text + s->text_len;
	int line = 0, header = 0;
	bool in = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *b = p;

		line++;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b < e && *b == '[') {
			const char *nb = b + 1, *ne = memchr(b, ']', (size_t)(e - b));
			size_t len = strlen(section);

			if (!ne)
				ne = e;
			while (nb < ne && isspace((unsigned char)*nb))
				nb++;
			while (ne > nb && isspace((unsigned char)ne[-1]))
				ne--;
			/* "[peer  NAME]": whitespace inside is any run of blanks */
			in = false;
			if (!strncmp(section, "peer ", 5)) {
				const char *q = nb + 4;

				if (ne - nb > 4 && !strncasecmp(nb, "peer", 4) && isspace((unsigned char)*q)) {
					while (q < ne && isspace((unsigned char)*q))
						q++;
					in = (size_t)(ne - q) == len - 5 && !strncasecmp(q, section + 5, len - 5);
				}
			} else {
				in = (size_t)(ne - nb) == len && !strncasecmp(nb, section, len);
			}
			if (in) {
				header = line;
				if (!key)
					return line;
			}
		} else if (in && key && b < e && *b != ';' && *b != '#') {
			size_t klen = strlen(key);
			const char *q = b + klen;

			if ((size_t)(e - b) > klen && !strncasecmp(b, key, klen)) {
				while (q < e && isspace((unsigned char)*q))
					q++;
				if (q < e && *q == '=')
					return line;
			}
		}
		p = e == end ? end : (nl ? nl + 1 : end);
	}
	return header ? header : 1;
}

static int peer_line(const struct site *s, const struct peer *p, const char *key, int known)
{
	char sec[SITE_NAME_MAX + 8];

	if (known > 0 && known != p->line)
		return known;
	snprintf(sec, sizeof(sec), "peer %s", p->name);
	return text_line(s, sec, key);
}

/* ---- lookups ------------------------------------------------------------ */

static const struct site *sort_sites;

static int by_name_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_sites[i].name, sort_sites[j].name);

	return c ? c : (i > j) - (i < j);
}

/* the address a site's peers reach it at: its NAT's public_address, else its wan_address */
static uint32_t reached_at(const struct site *s)
{
	return s->public_address ? s->public_address : s->wan_address.addr;
}

static int reached_line(const struct site *s)
{
	return s->public_address ? s->line_public_address : s->line_wan_address;
}

static const char *reached_key(const struct site *s)
{
	return s->public_address ? "public_address" : "wan_address";
}

static int by_wan_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	uint32_t x = reached_at(&sort_sites[i]), y = reached_at(&sort_sites[j]);

	return x != y ? (x > y) - (x < y) : (i > j) - (i < j);
}

static int peer_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct peer *const *)a)->name, (*(const struct peer *const *)b)->name);
}

/* The first site (in the order given) named NAME: its index, or SIZE_MAX. */
static size_t site_named(const struct xc *x, const char *name)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(x->sites[x->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->n && !strcmp(x->sites[x->by_name[lo]].name, name) ? x->by_name[lo] : SIZE_MAX;
}

static const struct peer *peer_named(const struct xc *x, size_t site, const char *name)
{
	const struct peer *const *v = x->peers[site];
	size_t lo = 0, hi = x->sites[site].n_peers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->sites[site].n_peers && !strcmp(v[lo]->name, name) ? v[lo] : NULL;
}

/* N lies inside M */
static bool inside(struct net4 n, struct net4 m)
{
	return n.len >= m.len && net4_contains(m, n.addr);
}

/* ---- the checks --------------------------------------------------------- */

static void check_unique(struct xc *x)
{
	size_t *by_wan = calloc(x->n ? x->n : 1, sizeof(*by_wan));
	char ip[16];

	for (size_t k = 1; k < x->n; k++) {
		const struct site *a = &x->sites[x->by_name[k - 1]], *b = &x->sites[x->by_name[k]];

		if (!strcmp(a->name, b->name))
			ERROR(x, x->by_name[k], text_line(b, "site", "name"),
			      "site name `%s` is also the name of %s:%d; every site of a network needs its own",
			      b->name, a->path, text_line(a, "site", "name"));
	}
	if (!by_wan) {
		x->oom = true;
		return;
	}
	for (size_t k = 0; k < x->n; k++)
		by_wan[k] = k;
	sort_sites = x->sites;
	qsort(by_wan, x->n, sizeof(*by_wan), by_wan_cmp);
	for (size_t k = 1; k < x->n; k++) {
		const struct site *a = &x->sites[by_wan[k - 1]], *b = &x->sites[by_wan[k]];

		if (reached_at(a) && reached_at(a) == reached_at(b)) /* 0: auto */
			ERROR(x, by_wan[k], reached_line(b), "%s %s of site %s is also that of site %s (%s:%d)",
			      reached_key(b), ip4_str(reached_at(b), ip), b->name, a->name, a->path,
			      reached_line(a));
	}
	free(by_wan);
}

/* A's peer P reaches site B at one of its endpoints. A DNS name is not
 * resolved here (plan and up do it), nor is the address of a site with
 * `wan_address = auto`: what cannot be checked is said as a warning. */
static void check_endpoint(struct xc *x, size_t ia, const struct peer *p, const struct site *b)
{
	const struct endpoint_item *name = NULL;
	char s1[20], s2[20];

	for (size_t e = 0; e < p->n_eps; e++) {
		if (!p->eps[e].name && p->eps[e].addr == reached_at(b) && reached_at(b))
			return;
		if (p->eps[e].name && !name)
			name = &p->eps[e];
	}
	if (!reached_at(b)) {
		if (!name)
			WARN(x, ia, p->endpoint_line, "peer %s: endpoint %s not checked: site %s takes its "
			     "address from its WAN interface (`wan_address = auto`, %s:%d); a DNS name follows it, "
			     "a fixed address may not", p->name, ip4_str(p->endpoint, s1), b->name, b->path,
			     b->line_wan_address);
	} else if (name) {
		WARN(x, ia, p->endpoint_line, "peer %s: endpoint %s is a DNS name, not resolved by check: it "
		     "must resolve to %s, the %s of site %s (%s:%d); `gatewayctl plan` resolves it", p->name,
		     name->name, ip4_str(reached_at(b), s2), reached_key(b), b->name, b->path, reached_line(b));
	} else if (b->public_address) {
		ERROR(x, ia, p->endpoint_line, "peer %s: endpoint %s is not the %s of site %s, %s (%s:%d)",
		      p->name, ip4_str(p->endpoint, s1), reached_key(b), b->name, ip4_str(reached_at(b), s2),
		      b->path, reached_line(b));
	} else {
		ERROR(x, ia, p->endpoint_line,
		      "peer %s: endpoint %s is not the wan_address of site %s, %s (%s:%d); if site %s is "
		      "behind NAT at %s, say so in its [site]: `public_address = %s`", p->name,
		      ip4_str(p->endpoint, s1), b->name, ip4_str(b->wan_address.addr, s2), b->path,
		      b->line_wan_address, b->name, s1, s1);
	}
}

/* A and B, numbered alike, without a netmap on both: said once per pair
 * (at the peer's networks, in the file of the site first in the list); true
 * when so, and the networks are then not compared */
static bool check_clash(struct xc *x, size_t ia, const struct peer *p, size_t ib, const struct peer *q)
{
	char *msg = NULL;

	if (!net4_overlap(netmap_lan(&x->sites[ia]), netmap_lan(&x->sites[ib])) ||
	    (x->sites[ia].netmap.len && x->sites[ib].netmap.len))
		return false;
	if (!x->used && !(x->used = xc_netmap_used(x->sites, x->n, &x->n_used)))
		x->oom = true;
	if ((ia < ib || !q) && xc_netmap_clash(&x->sites[ia], &x->sites[ib], x->used, x->n_used, &msg)) {
		if (msg)
			ERROR(x, ia, p->networks_line, "peer %s: %s", p->name, msg);
		else
			x->oom = true;
		free(msg);
	}
	return true;
}

/* A's view of B: where it sends, what it routes to B */
static void check_direction(struct xc *x, size_t ia, const struct peer *p, size_t ib, const struct peer *q)
{
	const struct site *a = &x->sites[ia], *b = &x->sites[ib];
	struct net4 lan = netmap_seen(b);
	bool covered = false;
	char s1[20], s2[20];

	if (!xc6_endpoint(&x->x6, ia, p, ib))
		check_endpoint(x, ia, p, b);
	xc6_direction(&x->x6, ia, p, ib);
	if (!q)
		ERROR(x, ia, p->line,
		      "peer %s: site %s (%s) has no [peer %s], so it would drop this gateway's tunnel packets",
		      p->name, b->name, b->path, a->name);
	if (check_clash(x, ia, p, ib, q))
		return;
	if (p->lan_address && p->lan_address != netmap_out(b, b->lan_address.addr))
		ERROR(x, ia, p->lan_address_line,
		      "peer %s: lan_address %s is not the lan_address of site %s, %s (%s:%d%s)", p->name,
		      ip4_str(p->lan_address, s1), b->name, ip4_str(netmap_out(b, b->lan_address.addr), s2),
		      b->path, b->line_lan_address, b->netmap.len ? ", as its netmap shows it" : "");
	for (size_t k = 0; k < p->n_networks; k++) {
		struct net4 n = p->networks[k];
		bool ok = inside(n, lan);

		covered |= inside(lan, n);
		/* a network B does not own must be one B routes on to another peer */
		for (size_t j = 0; !ok && j < b->n_peers; j++) {
			const struct peer *o = &b->peers[j];

			if (!strcmp(o->name, a->name))
				continue;
			for (size_t m = 0; !ok && m < o->n_networks; m++)
				ok = inside(n, o->networks[m]);
		}
		if (!ok)
			ERROR(x, ia, p->networks_line,
			      "peer %s: network %s is not inside the %s of site %s, %s (%s:%d), nor routed by %s "
			      "to another of its peers: %s would send it out by its default route", p->name,
			      net4_str(n, s1), b->netmap.len ? "netmap" : "LAN", b->name, net4_str(lan, s2), b->path,
			      b->netmap.len ? b->line_netmap : b->line_lan_address, b->name, b->name);
	}
	if (!covered)
		ERROR(x, ia, p->networks_line,
		      "peer %s: networks leave out the %s of site %s, %s (%s:%d)", p->name,
		      b->netmap.len ? "netmap" : "LAN", b->name, net4_str(lan, s1), b->path,
		      b->netmap.len ? b->line_netmap : b->line_lan_address);
}

static const struct pubkey *site_pubkey(struct xc *x, size_t i)
{
	struct pubkey *k = &x->pub[i];

	if (!k->state) {
		int r = key_public_of_file(x->sites[i].private_key, k->key, k->why, sizeof(k->why));

		k->state = r < 0 ? r : 1;
	}
	return k;
}

static bool privilege_problem(int r)
{
	return (r == -EACCES || r == -EPERM) && geteuid() != 0;
}

/* A names B by public key: it must be B's private key's */
static void check_pubkey(struct xc *x, size_t ia, const struct peer *p, size_t ib)
{
	const struct site *a = &x->sites[ia], *b = &x->sites[ib];
	const struct pubkey *k;
	char b64[KEY_B64_LEN + 1];

	if (!b->private_key[0])
		return; /* B's own check says it lacks one */
	k = site_pubkey(x, ib);
	if (k->state < 0 && privilege_problem(k->state))
		WARN(x, ia, p->key_line,
		     "peer %s: public_key could not be compared with the private_key of site %s (%s:%d): %s; "
		     "run the check as root to compare keys", p->name, b->name, b->path, b->private_key_line,
		     k->why);
	else if (k->state < 0)
		ERROR(x, ia, p->key_line, "peer %s: the private_key of site %s (%s:%d) cannot be read: %s",
		      p->name, b->name, b->path, b->private_key_line, k->why);
	else if (memcmp(k->key, p->public_key, KEY_LEN)) {
		key_b64(k->key, b64);
		ERROR(x, ia, p->key_line,
		      "peer %s: public_key is not that of site %s's private_key (%s:%d), which is %s", p->name,
		      b->name, b->path, b->private_key_line, b64);
	}
	(void)a;
}

static bool same_secret(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	uint8_t diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

static void check_psk(struct xc *x, size_t ia, const struct peer *p, size_t ib, const struct peer *q)
{
	const struct site *b = &x->sites[ib];
	static uint8_t ka[KEY_FILE_MAX], kb[KEY_FILE_MAX];
	size_t la = 0, lb = 0;
	char why[600] = "";
	int r = 0;
	const char *unread = NULL;

	if (p->psk_file[0] && q->psk_file[0] && !strcmp(p->psk_file, q->psk_file))
		return; /* one file for both */
	if (!p->psk_file[0] || (r = key_psk_read(p->psk_file, ka, sizeof(ka), &la, why, sizeof(why))) < 0)
		unread = p->psk_file;
	else if (!q->psk_file[0] || (r = key_psk_read(q->psk_file, kb, sizeof(kb), &lb, why, sizeof(why))) < 0)
		unread = q->psk_file;
	if (!unread && !same_secret(ka, la, kb, lb))
		ERROR(x, ia, p->key_line,
		      "peer %s: psk_file %s does not hold the same key as site %s's psk_file %s (%s:%d)",
		      p->name, p->psk_file, b->name, q->psk_file, b->path, q->key_line);
	else if (unread && (!*unread || privilege_problem(r)))
		WARN(x, ia, p->key_line,
		     "peer %s: psk_file could not be compared with site %s's (%s:%d): %s; run the check as "
		     "root to compare keys", p->name, b->name, b->path, q->key_line,
		     *unread ? why : "the key file was not read");
	else if (unread)
		ERROR(x, ia, p->key_line, "peer %s: psk_file cannot be compared with site %s's (%s:%d): %s",
		      p->name, b->name, b->path, q->key_line, why);
	key_wipe(ka, la);
	key_wipe(kb, lb);
}

static const char *enc_name(enum encryption e)
{
	return e == ENC_IPSEC ? "ipsec" : "none";
}

static void ports_str(const struct relay_conf *r, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n_ports && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%u", i ? ", " : "", r->ports[i]);
}

static bool same_ports(const struct relay_conf *a, const struct relay_conf *b)
{
	if (a->n_ports != b->n_ports)
		return false;
	for (size_t i = 0; i < a->n_ports; i++) {
		bool found = false;

		for (size_t j = 0; j < b->n_ports; j++)
			found |= a->ports[i] == b->ports[j];
		if (!found)
			return false;
	}
	return true;
}

/* Relaying is a pair's business: reported once, at the side that relays. */
static void check_relay(struct xc *x, size_t ia, const struct peer *p, size_t ib, const struct peer *q)
{
	const struct site *a = &x->sites[ia], *b = &x->sites[ib];
	bool ra = a->relay.enabled && p->relay, rb = b->relay.enabled && q->relay;
	char pa[RELAY_PORTS_MAX * 7], pb[RELAY_PORTS_MAX * 7];

	if (ra && !rb) {
		ERROR(x, ia, text_line(a, "relay", "peers"),
		      "relay: broadcasts go to peer %s, but site %s (%s:%d) %s, so they are dropped there",
		      p->name, b->name, b->path, b->relay.enabled ? text_line(b, "relay", "peers") : q->line,
		      b->relay.enabled ? "leaves this site out of its [relay] peers" : "has no [relay] section");
		return;
	}
	if (rb && !ra) {
		ERROR(x, ib, text_line(b, "relay", "peers"),
		      "relay: broadcasts go to peer %s, but site %s (%s:%d) %s, so they are dropped there",
		      q->name, a->name, a->path, a->relay.enabled ? text_line(a, "relay", "peers") : p->line,
		      a->relay.enabled ? "leaves this site out of its [relay] peers" : "has no [relay] section");
		return;
	}
	if (!ra)
		return;
	if (!same_ports(&a->relay, &b->relay)) {
		ports_str(&a->relay, pa, sizeof(pa));
		ports_str(&b->relay, pb, sizeof(pb));
		ERROR(x, ia, text_line(a, "relay", "ports"),
		      "relay: ports %s differ from those of peer %s, %s (%s:%d)", pa, b->name, pb, b->path,
		      text_line(b, "relay", "ports"));
	}
	if (a->relay.transport != b->relay.transport)
		ERROR(x, ia, text_line(a, "relay", "transport_port"),
		      "relay: transport_port %u differs from that of peer %s, %u (%s:%d)", a->relay.transport,
		      b->name, b->relay.transport, b->path, text_line(b, "relay", "transport_port"));
}

/* What the pair must agree on, checked once per pair (IA < IB). */
static void check_pair(struct xc *x, size_t ia, const struct peer *p, size_t ib, const struct peer *q)
{
	const struct site *b = &x->sites[ib];

	if (p->encryption != q->encryption) {
		ERROR(x, ia, peer_line(&x->sites[ia], p, "encryption", p->encryption_line),
		      "peer %s: encryption = %s, but site %s says encryption = %s (%s:%d)", p->name,
		      enc_name(p->encryption), b->name, enc_name(q->encryption), b->path,
		      peer_line(b, q, "encryption", q->encryption_line));
	} else if (p->encryption == ENC_IPSEC && p->auth != q->auth) {
		ERROR(x, ia, p->key_line,
		      "peer %s: authenticated by %s here, by %s in site %s (%s:%d); use the same on both sides",
		      p->name, p->auth == AUTH_PSK ? "psk_file" : "public_key",
		      q->auth == AUTH_PSK ? "psk_file" : "public_key", b->name, b->path, q->key_line);
	} else if (p->encryption == ENC_IPSEC && p->auth == AUTH_PSK) {
		check_psk(x, ia, p, ib, q);
	} else if (p->encryption == ENC_IPSEC && p->auth == AUTH_PUBKEY) {
		check_pubkey(x, ia, p, ib);
		check_pubkey(x, ib, q, ia);
	}
	check_relay(x, ia, p, ib, q);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

struct crosscheck_result crosscheck(const struct site *sites, size_t n, bool incomplete, FILE *err)
{
	struct xc x = { .sites = sites, .n = n };
	const struct peer **all;

	size_t total = 0, off = 0;

	for (size_t i = 0; i < n; i++)
		total += sites[i].n_peers;
	x.x6 = (struct xc6){ sites, n, say6, &x };
	x.by_name = calloc(n ? n : 1, sizeof(*x.by_name));
	x.peers = calloc(n ? n : 1, sizeof(*x.peers));
	x.pub = calloc(n ? n : 1, sizeof(*x.pub));
	all = calloc(total ? total : 1, sizeof(*all));
	if (!x.by_name || !x.peers || !x.pub || !all)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		x.by_name[i] = i;
		x.peers[i] = all + off;
		for (size_t k = 0; k < sites[i].n_peers; k++)
			all[off++] = &sites[i].peers[k];
		qsort(x.peers[i], sites[i].n_peers, sizeof(**x.peers), peer_cmp);
	}
	sort_sites = sites;
	qsort(x.by_name, n, sizeof(*x.by_name), by_name_cmp);
	check_unique(&x);
	xc6_unique(&x.x6);

	for (size_t ia = 0; ia < n; ia++) {
		const struct site *a = &sites[ia];

		for (size_t k = 0; k < a->n_peers; k++) {
			const struct peer *p = &a->peers[k], *q;
			size_t ib = site_named(&x, p->name);

			if (ib == SIZE_MAX) {
				if (!incomplete)
					WARN(&x, ia, p->line, "peer %s: no file of site %s among those checked, so "
					     "its side of the tunnel was not compared", p->name, p->name);
				continue;
			}
			if (ib == ia) {
				ERROR(&x, ia, p->line, "peer %s is this site itself", p->name);
				continue;
			}
			q = peer_named(&x, ib, a->name);
			check_direction(&x, ia, p, ib, q);
			if (q && ia < ib)
				check_pair(&x, ia, p, ib, q);
		}
	}
	goto out;
oom:
	x.oom = true;
out:
	if (x.nd)
		qsort(x.d, x.nd, sizeof(*x.d), diag_cmp);
	for (size_t i = 0; i < x.nd; i++) {
		fprintf(err, "%s:%d: %s: %s\n", sites[x.d[i].file].path, x.d[i].line,
			x.d[i].warning ? "warning" : "error", x.d[i].text);
		free(x.d[i].text);
	}
	if (x.oom) {
		fprintf(err, "%s: error: out of memory in the cross-site check\n", n ? sites[0].path : "check");
		x.res.errors++;
	}
	free(x.d);
	free(x.used);
	free(all);
	free(x.peers);
	free(x.by_name);
	if (x.pub)
		for (size_t i = 0; i < n; i++)
			key_wipe(&x.pub[i], sizeof(x.pub[i]));
	free(x.pub);
	return x.res;
}
