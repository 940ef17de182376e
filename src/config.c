/* config.c - load and validate a site file
 *
 * Values come from iniparser. Beside it runs a light scan of the file's lines,
 * because iniparser knows no line numbers, merges duplicate keys and sections
 * silently, and fails as a whole on some input (see docs/DESIGN.md).
 */
#define _GNU_SOURCE
#include "config.h"
#include "config6.h"
#include "confighint.h"
#include "gatewayctl.h"
#include "keys.h"
#include "netmap.h"
#include "netref.h"
#include "gatewayctl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iniparser/iniparser.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1 << 20)
#define MAX_PEERS 4096
#define MAX_NETWORKS 64
#define MAX_ERRORS 20		/* shown of a file's errors; then how many more */

enum sec_kind { SEC_SITE, SEC_PEER, SEC_RELAY, SEC_UNKNOWN };

struct key_def {
	enum sec_kind kind;
	const char *key;
	bool required;
};

static const struct key_def keys[] = {
	{ SEC_SITE, "name", true },
	{ SEC_SITE, "lan", true },
	{ SEC_SITE, "lan_address", true },
	{ SEC_SITE, "wan", true },
	{ SEC_SITE, "wan_address", true },
	{ SEC_SITE, "gateway", false },
	{ SEC_SITE, "manage_interfaces", false },
	{ SEC_SITE, "forwarding", false },
	{ SEC_SITE, "mss_clamp", false },
	{ SEC_SITE, "private_key", false },
	{ SEC_SITE, "public_address", false },
	{ SEC_SITE, "probe_interval", false },
	{ SEC_SITE, "netmap", false },
	{ SEC_PEER, "endpoint", true },
	{ SEC_PEER, "networks", true },
	{ SEC_PEER, "masquerade", false },
	{ SEC_PEER, "tunnel", false },
	{ SEC_PEER, "ttl", false },
	{ SEC_PEER, "mtu", false },
	{ SEC_PEER, "lan_address", false },
	{ SEC_PEER, "encryption", false },
	{ SEC_PEER, "psk_file", false },
	{ SEC_PEER, "public_key", false },
	{ SEC_RELAY, "ports", true },
	{ SEC_RELAY, "peers", false },
	{ SEC_RELAY, "transport_port", false },
	{ SEC_RELAY, "rate", false },
	{ SEC_RELAY, "burst", false },
	{ SEC_RELAY, "preserve_source", false },
	{ SEC_RELAY, "user", false },
};

struct section {
	char name[128];		/* as iniparser keys it: trimmed, lowercased */
	char written[128];	/* as the file writes it, for messages */
	enum sec_kind kind;
	int line;
	size_t first_ent, n_ents;	/* its keys: ents[first_ent ...], in file order */
	long dup_of;		/* an earlier section of the same name, or -1 */
};

struct entry {
	size_t sec;		/* index into sections */
	char key[64];
	int line;
};

struct diag {
	int line;
	size_t order;
	char *text;
};

struct loader {
	const char *path;
	struct section *secs;
	size_t n_secs;
	struct entry *ents;
	size_t n_ents;
	struct diag *diags;
	size_t n_diags;
	bool fatal;		/* iniparser cannot load this file */
	int *dup_lines;		/* lines of duplicate keys, hidden from iniparser */
	size_t n_dup_lines;
	bool wan4, wan6;	/* wan_address has an item of that family (valid or not) */
	bool lan6;		/* lan_address has an IPv6 item (valid or not), or is missing */
	bool have_seed;		/* this site's private key, read: peers' keys are compared */
	uint8_t seed[KEY_LEN], own_pub[KEY_LEN];
	dictionary *dict;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = p ? realloc(p, n ? n : 1) : malloc(n ? n : 1);

	if (!q) {
		fprintf(stderr, "gatewayctl: out of memory\n");
		exit(1);
	}
	return q;
}

/* Room for element N of an array of N elements of SIZE bytes: it grows by
 * doubling (when N is 0 or a power of two), so a file of thousands of sections
 * or keys costs O(n) copies, not O(n^2) (64 s under ASan for 5000 peers). */
static void *grow(void *p, size_t n, size_t size)
{
	if (n & (n - 1))
		return p;
	return xrealloc(p, (n ? 2 * n : 1) * size);
}

__attribute__((format(printf, 3, 4)))
static void error_at(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text)
		return;
	ld->diags = grow(ld->diags, ld->n_diags, sizeof(*ld->diags));
	ld->diags[ld->n_diags] = (struct diag){ line, ld->n_diags, text };
	ld->n_diags++;
}

/* what netmap.c and config6.c report */
static void report_at(void *ld, int line, const char *msg)
{
	error_at(ld, line, "%s", msg);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void trim(char **s, char **end)
{
	while (*s < *end && isspace((unsigned char)**s))
		(*s)++;
	while (*end > *s && isspace((unsigned char)(*end)[-1]))
		(*end)--;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static const char *suggest_key(enum sec_kind kind, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t d;

		if (keys[i].kind != kind)
			continue;
		d = edit_distance(key, keys[i].key);
		/* "address" for "lan_address": a suffix is a good hint too */
		if (strlen(key) >= 3 && strstr(keys[i].key, key))
			d = d < 2 ? d : 2;
		if (d < best_d) {
			best_d = d;
			best = keys[i].key;
		}
	}
	return best;
}

static const char *kind_name(enum sec_kind k)
{
	return k == SEC_SITE ? "[site]" : k == SEC_PEER ? "[peer NAME]" : "[relay]";
}

bool site_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SITE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* ---- the line scan ---------------------------------------------------- */

static void scan_section(struct loader *ld, int line, char *p, char *end)
{
	struct section sec = { .line = line, .kind = SEC_UNKNOWN, .first_ent = ld->n_ents, .dup_of = -1 };
	char *close = memchr(p, ']', (size_t)(end - p));
	char *n = p + 1, *ne = close ? close : end;
	bool broken = false;

	/* A broken header is said once; its keys still belong to the section it
	 * names (not to the section above it), so that nothing cascades. */
	if (!close) {
		error_at(ld, line, "section header lacks its closing `]`");
		ld->fatal = broken = true;
	} else if (close + 1 != end) {
		error_at(ld, line, "text after the section header `%.*s`; put comments on a line of their own",
			 (int)(close + 1 - p), p);
		ld->fatal = broken = true;
	}
	trim(&n, &ne);
	if ((size_t)(ne - n) >= sizeof(sec.name)) {
		if (!broken)
			error_at(ld, line, "section name too long");
		ld->fatal = broken = true;
		ne = n + sizeof(sec.name) - 1;
	}
	memcpy(sec.written, n, (size_t)(ne - n));
	sec.written[ne - n] = '\0';
	memcpy(sec.name, n, (size_t)(ne - n));
	sec.name[ne - n] = '\0';
	lower(sec.name);
	if (strchr(sec.name, ':')) {
		if (!broken)
			error_at(ld, line, "section name `%s` contains `:`", sec.written);
		ld->fatal = broken = true;
	}
	if (!strcmp(sec.name, "site"))
		sec.kind = SEC_SITE;
	else if (!strcmp(sec.name, "relay"))
		sec.kind = SEC_RELAY;
	else if (!strncmp(sec.name, "peer", 4) && (sec.name[4] == '\0' || isspace((unsigned char)sec.name[4]))) {
		char *name = sec.name + 4;

		while (isspace((unsigned char)*name))
			name++;
		sec.kind = SEC_PEER;
		if (!*name)
			error_at(ld, line, "a peer section needs a name: `[peer NAME]`");
		else if (!site_name_valid(name))
			error_at(ld, line, "peer name `%s` is invalid: use letters, digits and `-`, at most %d",
				 sec.written + (name - sec.name), SITE_NAME_MAX);
	} else if (!broken) {
		const char *hint = edit_distance(sec.name, "site") <= 2 ? "site" :
				   edit_distance(sec.name, "relay") <= 2 ? "relay" :
				   !strncmp(sec.name, "peers", 5) || edit_distance(sec.name, "peer") <= 1 ? "peer NAME" : NULL;

		if (hint)
			error_at(ld, line, "unknown section `[%s]`; did you mean `[%s]`?", sec.written, hint);
		else
			error_at(ld, line, "unknown section `[%s]`; sections are [site], [peer NAME] and [relay]",
				 sec.written);
	}
	for (size_t i = 0; i < ld->n_secs; i++) {
		if (!strcmp(ld->secs[i].name, sec.name)) {
			if (!broken)
				error_at(ld, line, "duplicate section `[%s]` (first at line %d); merge the two",
					 sec.written, ld->secs[i].line);
			sec.dup_of = (long)i;
			break;
		}
	}
	ld->secs = grow(ld->secs, ld->n_secs, sizeof(*ld->secs));
	ld->secs[ld->n_secs++] = sec;
}

static void scan_key(struct loader *ld, int line, char *p, char *end)
{
	char *eq = memchr(p, '=', (size_t)(end - p));
	char *k = p, *ke, written[64];
	struct entry ent = { .line = line };
	struct section *sec;

	if (!eq) {
		error_at(ld, line, "expected `key = value`, `[section]` or a comment");
		ld->fatal = true;
		return;
	}
	if (end[-1] == '\\') {
		error_at(ld, line, "a line may not end with `\\` (no continuation lines)");
		ld->fatal = true;
		return;
	}
	ke = eq;
	trim(&k, &ke);
	if (k == ke) {
		error_at(ld, line, "a value without a key");
		ld->fatal = true;
		return;
	}
	if ((size_t)(ke - k) >= sizeof(ent.key)) {
		error_at(ld, line, "unknown key `%.*s...`", 20, k);
		return;
	}
	memcpy(ent.key, k, (size_t)(ke - k));
	ent.key[ke - k] = '\0';
	memcpy(written, ent.key, sizeof(written));
	lower(ent.key);
	if (ld->n_secs == 0) {
		error_at(ld, line, "key `%s` before any section; start with `[site]`", ent.key);
		ld->fatal = true;
		return;
	}
	ent.sec = ld->n_secs - 1;
	sec = &ld->secs[ent.sec];
	if (sec->kind != SEC_UNKNOWN) {
		bool known = false;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (keys[i].kind == sec->kind && !strcmp(keys[i].key, ent.key))
				known = true;
		if (!known) {
			const char *hint = suggest_key(sec->kind, ent.key);

			if (hint)
				error_at(ld, line, "unknown key `%s` in %s; did you mean `%s`?",
					 written, kind_name(sec->kind), hint);
			else
				error_at(ld, line, "unknown key `%s` in %s (see gatewayctl.ini(5))",
					 written, kind_name(sec->kind));
		}
	}
	/* Duplicates: in the same section, or in an earlier section of that name
	 * (iniparser merges both silently, the last value winning). A section's
	 * keys are contiguous in ents[]; earlier ones of the name come first. */
	{
		long chain[64];
		int n_chain = 0;

		for (long k = sec->dup_of; k >= 0 && n_chain < 64; k = ld->secs[k].dup_of)
			chain[n_chain++] = k;
		for (;;) {	/* the earlier sections of the name, then this one */
			const struct section *c = n_chain > 0 ? &ld->secs[chain[--n_chain]] : sec;

			for (size_t i = c->first_ent; i < c->first_ent + c->n_ents; i++) {
				if (!strcmp(ld->ents[i].key, ent.key)) {
					/* the first is the one used (and checked): iniparser
					 * is not shown the later ones */
					error_at(ld, line, "duplicate key `%s` (first at line %d, whose value is the "
						 "one used); keep one", written, ld->ents[i].line);
					ld->dup_lines = grow(ld->dup_lines, ld->n_dup_lines, sizeof(int));
					ld->dup_lines[ld->n_dup_lines++] = line;
					return;
				}
			}
			if (c == sec)
				break;
		}
	}
	ld->ents = grow(ld->ents, ld->n_ents, sizeof(*ld->ents));
	ld->ents[ld->n_ents++] = ent;
	sec->n_ents++;
}

static void scan(struct loader *ld, char *buf, size_t len)
{
	int line = 0;
	char *p = buf, *bufend = buf + len;
	bool content = false;

	while (p < bufend) {
		char *nl = memchr(p, '\n', (size_t)(bufend - p));
		char *end = nl ? nl : bufend;
		char *s = p, *e = end;

		line++;
		if (memchr(p, '\0', (size_t)(end - p))) {
			error_at(ld, line, "NUL byte in the line; is this a text file?");
			ld->fatal = true;
		} else if (end - p > MAX_LINE) {
			error_at(ld, line, "line too long (%td characters, at most %d)", end - p, MAX_LINE);
			ld->fatal = true;
		} else {
			trim(&s, &e);
			if (s == e || *s == ';' || *s == '#') {
				/* blank or comment */
			} else {
				content = true;
				if (*s == '[')
					scan_section(ld, line, s, e);
				else
					scan_key(ld, line, s, e);
			}
		}
		p = end + 1;
	}
	if (!content && ld->n_diags == 0) {
		error_at(ld, 1, "empty site file: it needs at least [site] and one [peer NAME]");
		ld->fatal = true;
	}
}

/* ---- values ------------------------------------------------------------ */

static const struct entry *find(struct loader *ld, size_t sec, const char *key)
{
	const struct section *s = &ld->secs[sec];

	for (size_t i = s->first_ent; i < s->first_ent + s->n_ents; i++)
		if (!strcmp(ld->ents[i].key, key))
			return &ld->ents[i];
	return NULL;
}

/* The value of KEY in section SEC, from iniparser; *LINE gets the key's line,
 * or the section's line when the key is absent. */
static const char *value(struct loader *ld, size_t sec, const char *key, int *line)
{
	const struct entry *e = find(ld, sec, key);
	char full[256];

	*line = ld->secs[sec].line;
	if (!e)
		return NULL;
	*line = e->line;
	/* Always "section:key": asking iniparser for a bare section is CVE-2023-33461. */
	snprintf(full, sizeof(full), "%s:%s", ld->secs[sec].name, key);
	return iniparser_getstring(ld->dict, full, "");
}

static int line_of(struct loader *ld, size_t sec, const char *key)
{
	int line;

	value(ld, sec, key, &line);
	return line;
}

static bool required(struct loader *ld, size_t sec, const char *key, const char **v, int *line)
{
	*v = value(ld, sec, key, line);
	if (!*v) {
		error_at(ld, *line, "[%s] lacks the required key `%s`", ld->secs[sec].written, key);
		return false;
	}
	if (!**v) {
		error_at(ld, *line, "`%s` is empty", key);
		return false;
	}
	return true;
}

static void get_bool(struct loader *ld, size_t sec, const char *key, bool def, bool *out)
{
	int line;
	const char *v = value(ld, sec, key, &line);
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

	*out = def;
	if (!v)
		return;
	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return;
		}
	}
	error_at(ld, line, "`%s = %s`: not a boolean; use yes or no", key, v);
}

/* A decimal number MIN..MAX; "010" is 10 here, not 8 as iniparser would read it. */
static bool number(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*out = n;
	return true;
}

static void get_number(struct loader *ld, size_t sec, const char *key, long min, long max,
		       long def, long *out)
{
	int line;
	const char *v = value(ld, sec, key, &line);

	*out = def;
	if (v && !number(v, min, max, out))
		error_at(ld, line, "`%s = %s`: expected a whole number from %ld to %ld", key, v, min, max);
}

static bool get_ifname(struct loader *ld, size_t sec, const char *key, char *out)
{
	int line;
	const char *v;

	if (!required(ld, sec, key, &v, &line))
		return false;
	if (!ifname_valid(v)) {
		error_at(ld, line, "`%s = %s`: not a valid interface name (1 to %d characters, no `/`, `:` or spaces)",
			 key, v, IFNAME_MAX);
		return false;
	}
	strcpy(out, v);
	return true;
}

/* KEY = V at LINE, V the IPv4 item: a host address with its prefix, not the
 * network nor the broadcast address. */
static bool get_host_prefix(struct loader *ld, int line, const char *key, const char *v, struct net4 *out)
{
	char buf[20];

	if (parse_net4(v, out) < 0) {
		char hint[200];

		confighint_address(v, hint, sizeof(hint));
		error_at(ld, line, "`%s = %s`: expected an address with its prefix length, like 192.168.1.126/24%s",
			 key, v, hint);
		return false;
	}
	if (out->len == 0 || out->len > 30) {
		error_at(ld, line, "`%s = %s`: the prefix length must be 1 to 30", key, v);
		return false;
	}
	if ((out->addr & ~net4_mask(out->len)) == 0 || out->addr == net4_broadcast(*out)) {
		struct net4 net = { out->addr & net4_mask(out->len), out->len };

		error_at(ld, line, "`%s = %s`: that is the %s address of %s, not a host address", key, v,
			 (out->addr & ~net4_mask(out->len)) == 0 ? "network" : "broadcast", net4_str(net, buf));
		return false;
	}
	return true;
}

static bool unicast(uint32_t a)
{
	return ip4_unicast(a);
}

/* Split a comma-separated list in place: the count; -1 for an empty item
 * (*EMPTY: which, from 1), -2 for more than MAX items. */
static int split(char *s, char **items, int max, int *empty)
{
	int n = 0;

	for (char *tok = s;; ) {
		char *comma = strchr(tok, ',');
		char *b = tok, *e = comma ? comma : tok + strlen(tok);

		trim(&b, &e);
		if (b == e) {
			*empty = n + 1;
			return -1;
		}
		if (n == max)
			return -2;
		*e = '\0';
		items[n++] = b;
		if (!comma)
			break;
		tok = comma + 1;
	}
	return n;
}

/* The error for a list that split() refused: which item is empty, or too many. */
static void split_error(struct loader *ld, int line, const char *key, const char *v, int r, int empty, int max,
			const char *what)
{
	size_t len = strlen(v);

	if (r == -2)
		error_at(ld, line, "`%s`: more than %d %s", key, max, what);
	else if (!len)
		error_at(ld, line, "`%s` is empty", key);
	else
		error_at(ld, line, "`%s = %s`: an empty item (item %d, %s); remove the extra comma", key, v, empty,
			 v[len - 1] == ',' ? "after a trailing comma" : v[0] == ',' ? "before a leading comma" :
			 "between two commas");
}

/* KEY = V at LINE: one unicast IPv4 address (EXPECTED says what it is), in *OUT */
static bool get_unicast(struct loader *ld, int line, const char *key, const char *v, const char *expected,
			uint32_t *out)
{
	char hint[200];

	if (parse_ip4(v, out) < 0)
		error_at(ld, line, "`%s = %s`: expected %s%s", key, v, expected,
			 (confighint_address(v, hint, sizeof(hint)), hint));
	else if (!unicast(*out) || *out == 0xffffffffu)
		error_at(ld, line, "`%s = %s`: not a unicast address", key, v);
	else
		return true;
	return false;
}

/* ---- sections ---------------------------------------------------------- */

/* A key file that an unprivileged caller (check or plan as a user) may not
 * open: root's 0600 file, as it should be. Accepted with key_unread set, so
 * the caller can say its content was not checked; root reads every key. */
static bool unprivileged_denial(int r)
{
	return r == -EACCES && geteuid() != 0;
}

/* KEY's value in SEC, one address per family (config6.h), into V4 and V6
 * (LEN bytes each) and *LINE: false when absent (NEED: said), or refused (said). */
static bool get_families(struct loader *ld, size_t sec, const char *key, bool need, char *v4, char *v6, size_t len,
			 int *line)
{
	const char *v;

	v4[0] = v6[0] = '\0';
	if (need ? !required(ld, sec, key, &v, line) : !(v = value(ld, sec, key, line)))
		return false;
	return c6_split(&(struct c6){ report_at, ld }, *line, key, v, v4, v6, len);
}

/* lan_address, wan_address and gateway: an IPv4 and an IPv6 item each; the
 * LAN has IPv4, the WAN either family or both */
static void load_site_addresses(struct loader *ld, size_t sec, struct site *site, bool *wan_ok, bool *lan_ok)
{
	struct c6 c6 = { report_at, ld };
	char v4[MAX_LINE + 1], v6[MAX_LINE + 1], *v = v4;
	int line;

	ld->lan6 = true;
	if (get_families(ld, sec, "lan_address", true, v4, v6, sizeof(v4), &line)) {
		ld->lan6 = v6[0] != '\0';
		if (v6[0])
			c6_host_prefix(&c6, line, "lan_address", v6, &site->lan_address6);
		if (!v4[0])
			error_at(ld, line, "`lan_address = %s`: the LAN needs an IPv4 address too, like "
				 "`192.168.1.126/24, %s` (IPv6-only LANs are not supported)", v6, v6);
		else
			*lan_ok = get_host_prefix(ld, line, "lan_address", v4, &site->lan_address);
	}
	/* a wan_address missing or refused as a whole: neither family is missing */
	ld->wan4 = ld->wan6 = true;
	if (get_families(ld, sec, "wan_address", true, v4, v6, sizeof(v4), &line)) {
		ld->wan4 = v4[0] != '\0';
		ld->wan6 = v6[0] != '\0';
		/* auto: the WAN's own address at plan/up time (endpoints_fill checks it) */
		site->wan_auto = !strcasecmp(v4, "auto");
		if (site->wan_auto && v6[0])
			error_at(ld, line, "`wan_address`: `auto` reads the WAN's IPv4 address only; write both "
				 "addresses, or `auto` alone");
		else if (v6[0])
			c6_host_prefix(&c6, line, "wan_address", v6, &site->wan_address6);
		*wan_ok = v4[0] && !site->wan_auto && get_host_prefix(ld, line, "wan_address", v4, &site->wan_address);
	}
	if (*lan_ok && *wan_ok && net4_overlap(site->lan_address, site->wan_address))
		error_at(ld, line, "the WAN subnet overlaps the LAN subnet");
	get_families(ld, sec, "gateway", false, v4, v6, sizeof(v4), &line);
	site->line_gateway = line;
	site->gateway_auto = !strcasecmp(v4, "auto");
	if (site->gateway_auto && v6[0])
		error_at(ld, line, "`gateway`: `auto` reads the IPv4 default route only; write both gateways, "
			 "or `auto` alone");
	else if (v6[0])
		c6_gateway(&c6, line, v6, ld->wan6, site);
	if (v4[0] && !ld->wan4 && ld->wan6) {
		error_at(ld, line, "`gateway`: the IPv4 gateway `%s` needs an IPv4 `wan_address` (this site's "
			 "WAN is IPv6 only)", v4);
	} else if (v4[0] && !site->gateway_auto) {
		char buf[20];
		char hint[200];

		if (parse_ip4(v, &site->gateway) < 0)
			error_at(ld, line, "`gateway = %s`: expected an IPv4 address like 172.16.1.30%s", v,
				 (confighint_address(v, hint, sizeof(hint)), hint));
		else if (*wan_ok && (!net4_contains(site->wan_address, site->gateway) ||
				     site->gateway == site->wan_address.addr ||
				     site->gateway == net4_broadcast(site->wan_address) ||
				     (site->gateway & ~net4_mask(site->wan_address.len)) == 0)) {
			struct net4 net = { site->wan_address.addr & net4_mask(site->wan_address.len),
					    site->wan_address.len };

			error_at(ld, line, "`gateway = %s` is not a usable host of the WAN subnet %s", v,
				 net4_str(net, buf));
			site->gateway = 0;
		}
	}
}

static void load_site(struct loader *ld, size_t sec, struct site *site, bool *wan_ok, bool *lan_ok)
{
	int line;
	long num;
	const char *v;

	if (required(ld, sec, "name", &v, &line)) {
		if (!site_name_valid(v))
			error_at(ld, line, "`name = %s`: use letters, digits and `-`, at most %d", v, SITE_NAME_MAX);
		else
			strcpy(site->name, v);
	}
	get_ifname(ld, sec, "lan", site->lan);
	site->line_lan = line_of(ld, sec, "lan");
	get_ifname(ld, sec, "wan", site->wan);
	site->line_wan = line_of(ld, sec, "wan");
	site->line_lan_address = line_of(ld, sec, "lan_address");
	site->line_wan_address = line_of(ld, sec, "wan_address");
	if (site->lan[0] && !strcmp(site->lan, site->wan))
		error_at(ld, (value(ld, sec, "wan", &line), line),
			 "`wan` and `lan` are both `%s`; they must be two interfaces", site->wan);
	load_site_addresses(ld, sec, site, wan_ok, lan_ok);
	v = value(ld, sec, "public_address", &line);
	site->line_public_address = line;
	if (v && strchr(v, ':'))
		error_at(ld, line, "`public_address = %s`: public_address is an IPv4 NAT's address; an IPv6 "
			 "WAN is reached at its wan_address", v);
	else if (v && !get_unicast(ld, line, "public_address", v,
			      "the IPv4 address its peers reach this gateway at (its NAT router's public address)",
			      &site->public_address))
		site->public_address = 0;
	if ((v = value(ld, sec, "netmap", &site->line_netmap))) {
		char why[200];

		if (netmap_parse(v, &site->netmap, why, sizeof(why)) < 0) {
			error_at(ld, site->line_netmap, "`netmap = %s`: %s", v, why);
			site->netmap.len = 0;
		}
	}
	get_bool(ld, sec, "manage_interfaces", false, &site->manage_interfaces);
	get_bool(ld, sec, "forwarding", true, &site->forwarding);
	get_bool(ld, sec, "mss_clamp", true, &site->mss_clamp);
	/* the watcher's probes of the peers (probe_interval = 0: none) */
	site->probe_interval = PROBE_INTERVAL_DEFAULT;
	if ((v = value(ld, sec, "probe_interval", &line)) && !number(v, 0, PROBE_INTERVAL_MAX, &num))
		error_at(ld, line, "`probe_interval = %s`: expected seconds from 1 to %d, or 0 for no periodic probes", v,
			 PROBE_INTERVAL_MAX);
	else if (v)
		site->probe_interval = (int)num;
	v = value(ld, sec, "private_key", &line);
	site->private_key_line = line;
	site->private_key_given = v != NULL;
	if (v) {
		char why[600];
		uint8_t seed[KEY_LEN];
		int r = 0;

		if (v[0] != '/')
			error_at(ld, line, "`private_key = %s`: give the key file's absolute path", v);
		else if ((r = key_private_read(v, seed, why, sizeof(why))) < 0 && !unprivileged_denial(r))
			error_at(ld, line, "`private_key = %s`: %s", v, why);
		else {
			/* kept until the peers' public keys are compared with it */
			if (r == 0 && key_public(seed, ld->own_pub) == 0) {
				memcpy(ld->seed, seed, sizeof(ld->seed));
				ld->have_seed = true;
			}
			snprintf(site->private_key, sizeof(site->private_key), "%s", v);
			site->private_key_unread = r < 0;
		}
		key_wipe(seed, sizeof(seed));
	}
}

/* encryption, and the key it needs: exactly one of psk_file and public_key */
static void load_peer_ipsec(struct loader *ld, size_t sec, struct peer *p)
{
	const char *v, *psk, *pub;
	int line, psk_line, pub_line;
	char why[600];

	v = value(ld, sec, "encryption", &line);
	p->encryption_line = line;
	p->encryption = ENC_NONE;
	if (v) {
		if (!strcasecmp(v, "ipsec"))
			p->encryption = ENC_IPSEC;
		else if (strcasecmp(v, "none"))
			error_at(ld, line, "`encryption = %s`: expected none or ipsec", v);
	}
	psk = value(ld, sec, "psk_file", &psk_line);
	pub = value(ld, sec, "public_key", &pub_line);
	if (p->encryption != ENC_IPSEC) {
		if (psk)
			error_at(ld, psk_line, "`psk_file` is for `encryption = ipsec`; peer %s is not encrypted "
				 "(add `encryption = ipsec`, or remove the key)", p->name);
		if (pub)
			error_at(ld, pub_line, "`public_key` is for `encryption = ipsec`; peer %s is not encrypted "
				 "(add `encryption = ipsec`, or remove the key)", p->name);
		return;
	}
	if (psk && pub) {
		error_at(ld, pub_line, "peer %s has both `psk_file` (line %d) and `public_key`: choose one way "
			 "to authenticate", p->name, psk_line);
		return;
	}
	if (!psk && !pub) {
		error_at(ld, line, "peer %s: `encryption = ipsec` needs a key: `psk_file = PATH` (the same "
			 "pre-shared key on both sites) or `public_key = BASE64` (the peer's `gatewayctl pubkey`)",
			 p->name);
		return;
	}
	if (psk) {
		uint8_t key[KEY_FILE_MAX];
		size_t len;
		int r = 0;

		p->key_line = psk_line;
		p->auth = AUTH_PSK;
		if (psk[0] != '/')
			error_at(ld, psk_line, "`psk_file = %s`: give the key file's absolute path", psk);
		else if ((r = key_psk_read(psk, key, sizeof(key), &len, why, sizeof(why))) < 0 &&
			 !unprivileged_denial(r))
			error_at(ld, psk_line, "`psk_file = %s`: %s", psk, why);
		else {
			snprintf(p->psk_file, sizeof(p->psk_file), "%s", psk);
			p->key_unread = r < 0;
		}
		key_wipe(key, sizeof(key));
	} else {
		p->key_line = pub_line;
		p->auth = AUTH_PUBKEY;
		/* the base64 of an Ed25519 PKCS#8 private key starts so: never echoed */
		if (!strncmp(pub, "MC4CAQAwBQYDK2VwBCIEI", 21))
			error_at(ld, pub_line, "peer %s: `public_key` holds a private key (PKCS#8), which must never "
				 "be in a site file: remove it, and give the peer's public key (`gatewayctl pubkey` "
				 "on the peer)", p->name);
		else if (key_b64_decode(pub, p->public_key) < 0)
			error_at(ld, pub_line, "`public_key = %s`: expected the base64 of a 32-byte Ed25519 public "
				 "key (44 characters, what `gatewayctl pubkey` prints)", pub);
	}
}

/* `endpoint = A[, B...]` at LINE: addresses and DNS names (checked for syntax
 * only; endpoints_fill resolves them). p->endpoint is the first address
 * written, 0 when the list starts with a name. */
static void load_endpoints(struct loader *ld, int line, const char *v, struct peer *p)
{
	char *items[PEER_ENDPOINTS_MAX + 1], *copy = strdup(v);
	int n, empty = 0;

	n = copy ? split(copy, items, PEER_ENDPOINTS_MAX, &empty) : -2;
	if (n < 0) {
		split_error(ld, line, "endpoint", v, n, empty, PEER_ENDPOINTS_MAX, "endpoints");
		free(copy);
		return;
	}
	p->eps = xrealloc(NULL, (size_t)n * sizeof(*p->eps));
	memset(p->eps, 0, (size_t)n * sizeof(*p->eps));
	for (int i = 0; i < n; i++) {
		struct endpoint_item *e = &p->eps[p->n_eps];
		const char *it = items[i];

		if (strchr(it, ':')) {
			p->n_eps += c6_endpoint_item(&(struct c6){ report_at, ld }, line, it, e);
			continue;
		}
		if (strspn(it, "0123456789.") == strlen(it) || !dns_name_valid(it)) {
			size_t len = strlen(it) - (it[strlen(it) - 1] == '.');

			if (strspn(it, "0123456789.") != strlen(it) && len > DNS_NAME_MAX)
				error_at(ld, line, "`endpoint`: the name `%.40s...` is longer than %d characters",
					 it, DNS_NAME_MAX);
			else if (strspn(it, "0123456789.") != strlen(it))
				error_at(ld, line, "`endpoint`: `%s` is neither an IPv4 address nor a DNS name "
					 "(labels of letters, digits and `-`, 1 to 63 characters each, not starting or "
					 "ending with `-`, separated by dots)", it);
			else if (get_unicast(ld, line, "endpoint", it, "the peer gateway's public IPv4 address "
					     "or DNS name", &e->addr))
				p->n_eps++;
			continue;
		}
		e->name = xrealloc(NULL, strlen(it) + 1);
		strcpy(e->name, it);
		p->n_eps++;
		p->endpoint_named = true;
	}
	for (size_t i = 1; i < p->n_eps; i++)
		for (size_t k = 0; k < i; k++) {
			const struct endpoint_item *a = &p->eps[k], *b = &p->eps[i];

			if (!a->name != !b->name || a->ipv6 || b->ipv6 ||
			    (a->name ? strcasecmp(a->name, b->name) : a->addr != b->addr))
				continue;
			error_at(ld, line, "`endpoint = %s`: item %zu repeats item %zu; list each address or "
					 "name once", v, i + 1, k + 1);
			break;
		}
	c6_endpoint_family(&(struct c6){ report_at, ld }, v, !ld->wan4 && ld->wan6, p);
	if (p->n_eps && !p->eps[0].name)
		p->endpoint = p->eps[0].addr;
	free(copy);
}

/* A peer's `networks = A, B...`: each a network of at most /8, no host bits,
 * no overlap with one listed before it. */
static void load_peer_networks(struct loader *ld, int line, const char *v, struct peer *p)
{
	char *items[MAX_NETWORKS + 1], *copy = strdup(v);
	int n, empty = 0;

	n = copy ? split(copy, items, MAX_NETWORKS, &empty) : -2;
	if (n < 0) {
		split_error(ld, line, "networks", v, n, empty, MAX_NETWORKS, "networks");
		free(copy);
		return;
	}
	p->networks = xrealloc(NULL, (size_t)n * sizeof(*p->networks));
	p->networks6 = xrealloc(NULL, (size_t)n * sizeof(*p->networks6));
	for (int i = 0; i < n; i++) {
		struct net4 net;
		char buf[20];

		if (strchr(items[i], ':')) {
			c6_network(&(struct c6){ report_at, ld }, line, items[i], p);
			continue;
		}
		if (parse_net4(items[i], &net) < 0) {
			char hint[200];

			confighint_address(items[i], hint, sizeof(hint));
			error_at(ld, line, "`%s` in `networks`: expected a network like 192.168.2.0/24%s",
				 items[i], hint);
			continue;
		}
		if (net.addr & ~net4_mask(net.len)) {
			struct net4 fixed = { net.addr & net4_mask(net.len), net.len };

			error_at(ld, line, "`%s` in `networks` has host bits set; did you mean `%s`?",
				 items[i], net4_str(fixed, buf));
			continue;
		}
		if (net.len < 8) {
			error_at(ld, line, "`%s` in `networks` is wider than a /8; that would route most of the internet into the tunnel",
				 items[i]);
			continue;
		}
		for (size_t j = 0; j < p->n_networks; j++)
			if (net4_overlap(p->networks[j], net)) {
				error_at(ld, line, "`%s` in `networks` overlaps `%s` listed before it",
					 items[i], net4_str(p->networks[j], buf));
				goto next;
			}
		p->networks[p->n_networks++] = net;
next:;
	}
	free(copy);
}

/* `tunnel =`, or gw-NAME when that fits an interface name. */
static void load_peer_tunnel(struct loader *ld, size_t sec, struct peer *p)
{
	int line;
	const char *v = value(ld, sec, "tunnel", &line);

	p->tunnel_line = line;
	if (v) {
		if (!ifname_valid(v))
			error_at(ld, line, "`tunnel = %s`: not a valid interface name (1 to %d characters, no `/`, `:` or spaces)",
				 v, IFNAME_MAX);
		else
			strcpy(p->tunnel, v);
	} else if (strlen(p->name) + 3 <= IFNAME_MAX) {
		memcpy(p->tunnel, "gw-", 3);
		memcpy(p->tunnel + 3, p->name, strlen(p->name) + 1);
	} else if (p->name[0]) {
		error_at(ld, p->line, "the tunnel name `gw-%s` derived from the peer's name is longer than %d characters; set `tunnel =`",
			 p->name, IFNAME_MAX);
	}
}

/* The peer gateway's `lan_address`, inside its networks (what probes ping). */
static void load_peer_lan_address(struct loader *ld, size_t sec, struct peer *p)
{
	int line;
	char hint[200], v[MAX_LINE + 1], v6[MAX_LINE + 1];
	bool inside = false, given = get_families(ld, sec, "lan_address", false, v, v6, sizeof(v), &line);

	p->lan_address_line = line;
	if (given && v6[0]) {
		const char *nets = value(ld, sec, "networks", &(int){ 0 });

		c6_peer_lan_address(&(struct c6){ report_at, ld }, line, v6, nets && strchr(nets, ':'), p);
	}
	if (!given || !v[0])
		return;
	if (parse_ip4(v, &p->lan_address) < 0) {
		confighint_address(v, hint, sizeof(hint));
		error_at(ld, line, "`lan_address = %s`: expected the peer gateway's LAN address, like 192.168.2.126%s",
			 v, hint);
		return;
	}
	for (size_t k = 0; k < p->n_networks; k++)
		inside |= net4_contains(p->networks[k], p->lan_address);
	if (!inside && (p->n_networks || p->n_networks6))
		error_at(ld, line, "`lan_address = %s` is not inside the peer's networks", v);
}

static void load_peer(struct loader *ld, size_t sec, struct peer *p)
{
	const char *name = ld->secs[sec].name + 4;
	const char *v;
	int line;
	long num;

	while (isspace((unsigned char)*name))
		name++;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = ld->secs[sec].line;
	p->endpoint_line = p->networks_line = p->line;
	if (required(ld, sec, "endpoint", &v, &line)) {
		p->endpoint_line = line;
		load_endpoints(ld, line, v, p);
	}
	if (required(ld, sec, "networks", &v, &line)) {
		p->networks_line = line;
		load_peer_networks(ld, line, v, p);
	}
	get_bool(ld, sec, "masquerade", true, &p->masquerade);
	load_peer_tunnel(ld, sec, p);
	get_number(ld, sec, "ttl", 1, 255, 64, &num);
	p->ttl = (int)num;
	load_peer_lan_address(ld, sec, p);
	load_peer_ipsec(ld, sec, p);
	v = value(ld, sec, "mtu", &line);
	p->mtu = 0;
	if (v && strcasecmp(v, "auto")) {
		if (!number(v, 576, 65515, &num))
			error_at(ld, line, "`mtu = %s`: expected auto or a whole number from 576 to 65515", v);
		else
			p->mtu = (int)num;
	}
}

static void load_relay(struct loader *ld, size_t sec, struct site *site)
{
	struct relay_conf *r = &site->relay;
	char *items[RELAY_PORTS_MAX + 1], *copy;
	const char *v;
	int line, n, empty = 0;
	long num;

	r->enabled = true;
	if (required(ld, sec, "ports", &v, &line)) {
		copy = strdup(v);
		n = copy ? split(copy, items, RELAY_PORTS_MAX, &empty) : -2;
		if (n < 0)
			split_error(ld, line, "ports", v, n, empty, RELAY_PORTS_MAX, "ports");
		for (int i = 0; i < n; i++) {
			if (!number(items[i], 1, 65535, &num)) {
				error_at(ld, line, "`%s` in `ports`: expected a UDP port from 1 to 65535", items[i]);
				continue;
			}
			for (size_t j = 0; j < r->n_ports; j++)
				if (r->ports[j] == num) {
					error_at(ld, line, "port %ld is listed twice in `ports`", num);
					goto next;
				}
			r->ports[r->n_ports++] = (uint16_t)num;
next:;
		}
		free(copy);
	}
	get_number(ld, sec, "transport_port", 1, 65535, RELAY_DEFAULT_TRANSPORT, &num);
	r->transport = (uint16_t)num;
	for (size_t j = 0; j < r->n_ports; j++)
		if (r->ports[j] == r->transport) {
			value(ld, sec, "transport_port", &line);
			error_at(ld, line, "port %u is both a relayed port and the relays' transport_port", r->transport);
		}
	get_number(ld, sec, "rate", 1, 1000000, RELAY_DEFAULT_RATE, &num);
	r->rate = (unsigned)num;
	get_number(ld, sec, "burst", 1, 1000000, RELAY_DEFAULT_BURST, &num);
	r->burst = (unsigned)num;
	get_bool(ld, sec, "preserve_source", true, &r->preserve_source);
	v = value(ld, sec, "user", &line);
	snprintf(r->user, sizeof(r->user), "%s", "nobody");
	if (v) {
		bool ok = *v && strlen(v) < sizeof(r->user);

		for (const char *c = v; ok && *c; c++)
			ok = isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.';
		if (!ok) {
			error_at(ld, line, "`user = %s`: not a valid user name", v);
		} else {
			struct passwd *pw = getpwnam(v);

			/* the daemon must end up without any privilege: uid or gid 0 is root's */
			if (!strcmp(v, "root") || strspn(v, "0") == strlen(v) || (pw && (pw->pw_uid == 0 || pw->pw_gid == 0)))
				error_at(ld, line, "`user = %s`: the relay must not run as root or with group 0; "
					 "use an unprivileged account such as `nobody`", v);
			else
				strcpy(r->user, v);
		}
	}
	/* peers: resolved once all peers are known */
	for (size_t i = 0; i < site->n_peers; i++)
		site->peers[i].relay = true;
	v = value(ld, sec, "peers", &line);
	if (v) {
		char *names[MAX_PEERS];

		for (size_t i = 0; i < site->n_peers; i++)
			site->peers[i].relay = false;
		copy = strdup(v);
		n = copy ? split(copy, names, MAX_PEERS, &empty) : -2;
		if (n < 0)
			split_error(ld, line, "peers", v, n, empty, MAX_PEERS, "peers");
		for (int i = 0; i < n; i++) {
			bool found = false;

			lower(names[i]);
			for (size_t j = 0; j < site->n_peers; j++)
				if (!strcmp(site->peers[j].name, names[i])) {
					site->peers[j].relay = found = true;
				}
			if (!found)
				error_at(ld, line, "`peers`: no section [peer %s] in this file", names[i]);
		}
		free(copy);
	}
	for (size_t i = 0; i < site->n_peers; i++)
		if (site->peers[i].relay && !site->peers[i].lan_address)
			error_at(ld, site->peers[i].line, "peer %s relays broadcasts: set its `lan_address` "
				 "(the peer gateway's address on its LAN), where relayed frames go%s",
				 site->peers[i].name, ip6_zero(site->peers[i].lan_address6) ? "" :
				 "; relayed broadcasts are IPv4: it needs an IPv4 address");
}

/* Relations between sections: overlaps, collisions, self-routing endpoints. */
/* Public keys need this gateway's private key. */
static void check_ipsec(struct loader *ld, const struct site *s)
{
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		if (p->encryption == ENC_IPSEC && p->auth == AUTH_PUBKEY && !s->private_key_given)
			error_at(ld, p->key_line, "peer %s is authenticated by public key, so this gateway needs "
				 "its own: `private_key = PATH` in [site] (make one with `gatewayctl genkey`)", p->name);
		if (p->encryption != ENC_IPSEC || p->auth != AUTH_PUBKEY || !ld->have_seed)
			continue;
		/* the key is not printed: it may be the private one */
		if (!memcmp(p->public_key, ld->own_pub, KEY_LEN))
			error_at(ld, p->key_line, "peer %s: `public_key` is this site's own public key (of "
				 "`private_key`); give the peer's: `gatewayctl pubkey` on the peer", p->name);
		else if (!memcmp(p->public_key, ld->seed, KEY_LEN))
			error_at(ld, p->key_line, "peer %s: `public_key` is this site's private key (the content "
				 "of `private_key`), which must never be in a site file: remove it, make a new "
				 "private key (`gatewayctl genkey`), and give the peer's public key here", p->name);
	}
}

struct peer_ref {
	const struct peer *p;
	uint32_t i;
};

static int by_endpoint(const void *a, const void *b)
{
	const struct peer_ref *x = a, *y = b;

	if (x->p->endpoint != y->p->endpoint)
		return x->p->endpoint < y->p->endpoint ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static int by_tunnel(const void *a, const void *b)
{
	const struct peer_ref *x = a, *y = b;
	int c = strcmp(x->p->tunnel, y->p->tunnel);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

static void cross_check(struct loader *ld, struct site *s, bool lan_ok, bool wan_ok)
{
	char b1[20], b2[20];
	struct net4 lan = s->lan_address;
	struct net_ref *nets;
	struct peer_ref *by_ep, *by_tun;
	const struct net_ref **found;
	size_t n_nets = 0, n_found;

	for (size_t i = 0; i < s->n_peers; i++)
		n_nets += s->peers[i].n_networks;
	nets = xrealloc(NULL, (n_nets ? n_nets : 1) * sizeof(*nets));
	found = xrealloc(NULL, (n_nets ? n_nets : 1) * sizeof(*found));
	by_ep = xrealloc(NULL, (s->n_peers ? s->n_peers : 1) * sizeof(*by_ep));
	by_tun = xrealloc(NULL, (s->n_peers ? s->n_peers : 1) * sizeof(*by_tun));
	n_nets = 0;
	for (size_t i = 0; i < s->n_peers; i++) {
		by_ep[i] = by_tun[i] = (struct peer_ref){ &s->peers[i], (uint32_t)i };
		for (size_t k = 0; k < s->peers[i].n_networks; k++)
			nets[n_nets++] = (struct net_ref){ s->peers[i].networks[k], (uint32_t)i, (uint32_t)k };
	}
	qsort(nets, n_nets, sizeof(*nets), net_ref_cmp);
	qsort(by_ep, s->n_peers, sizeof(*by_ep), by_endpoint);
	qsort(by_tun, s->n_peers, sizeof(*by_tun), by_tunnel);

	for (size_t i = 0; i < s->n_peers; i++) {
		struct peer *p = &s->peers[i];
		int eline = p->endpoint_line, nline = p->networks_line;

		for (size_t e = 0; e < p->n_eps; e++) {
			uint32_t a = p->eps[e].addr;

			if (p->eps[e].name || p->eps[e].ipv6)
				continue;
			if (lan_ok && net4_contains(lan, a))
				error_at(ld, eline, "endpoint %s is inside the LAN %s; the peer gateway must be reached over the WAN",
					 ip4_str(a, b1), net4_str((struct net4){ lan.addr & net4_mask(lan.len), lan.len }, b2));
			if (wan_ok && a == s->wan_address.addr)
				error_at(ld, eline, "endpoint %s is this gateway's own wan_address", ip4_str(a, b1));
			n_found = net_matches(nets, n_nets, (struct net4){ a, 32 }, true, found, n_nets);
			for (size_t f = 0; f < n_found; f++)
				error_at(ld, eline, "endpoint %s is inside the tunnelled network %s of peer %s; the tunnel would route into itself",
					 ip4_str(a, b1), net4_str(found[f]->net, b2), s->peers[found[f]->peer].name);
		}
		for (size_t k = 0; k < p->n_networks; k++) {
			struct net4 n = p->networks[k];

			if (lan_ok && net4_overlap(n, lan))
				error_at(ld, nline, "network %s overlaps the LAN (%s)%s", net4_str(n, b1),
					 net4_str((struct net4){ lan.addr & net4_mask(lan.len), lan.len }, b2),
					 s->netmap.len || n.len < lan.len ? "" : "; if the peer's office uses the same range, set `netmap` "
					 "on both sites and name the peer's map here (gatewayctl.ini(5), NETMAP)");
			if (wan_ok && net4_overlap(n, s->wan_address))
				error_at(ld, nline, "network %s overlaps the WAN subnet (%s)", net4_str(n, b1),
					 net4_str((struct net4){ s->wan_address.addr & net4_mask(s->wan_address.len),
								 s->wan_address.len }, b2));
			n_found = net_matches(nets, n_nets, n, false, found, n_nets);
			for (size_t f = 0; f < n_found; f++)
				if (found[f]->peer < i)
					error_at(ld, nline, "network %s overlaps %s of peer %s", net4_str(n, b1),
						 net4_str(found[f]->net, b2), s->peers[found[f]->peer].name);
		}
		if (p->tunnel[0]) {
			if (!strcmp(p->tunnel, s->lan) || !strcmp(p->tunnel, s->wan))
				error_at(ld, p->tunnel_line, "peer %s: tunnel name `%s` is the %s interface", p->name,
					 p->tunnel, !strcmp(p->tunnel, s->lan) ? "LAN" : "WAN");
			if (!strcmp(p->tunnel, "tunl0"))
				error_at(ld, p->tunnel_line, "peer %s: `tunl0` is the kernel's fallback device; choose another tunnel name",
					 p->name);
		}
		if (s->name[0] && !strcasecmp(p->name, s->name))
			error_at(ld, p->line, "peer %s has this site's own name (`name = %s`): a site is not its own "
				 "peer; is this section meant for another site's file?", p->name, s->name);
	}
	/* equal endpoints and tunnel names: adjacent once sorted; every earlier
	 * peer with the same one is named at the later peer's line */
	for (size_t a = 0, b; a < s->n_peers; a = b) {
		for (b = a + 1; b < s->n_peers && by_ep[b].p->endpoint == by_ep[a].p->endpoint; b++)
			for (size_t j = a; j < b && by_ep[a].p->endpoint; j++)
				error_at(ld, by_ep[b].p->endpoint_line, "peers %s and %s have the same endpoint %s",
					 by_ep[j].p->name, by_ep[b].p->name, ip4_str(by_ep[b].p->endpoint, b1));
	}
	for (size_t a = 0, b; a < s->n_peers; a = b) {
		for (b = a + 1; b < s->n_peers && !strcmp(by_tun[b].p->tunnel, by_tun[a].p->tunnel); b++)
			for (size_t j = a; j < b && by_tun[a].p->tunnel[0]; j++)
				error_at(ld, by_tun[b].p->tunnel_line, "peers %s and %s both use the tunnel name `%s`",
					 by_tun[j].p->name, by_tun[b].p->name, by_tun[b].p->tunnel);
	}
	free(nets);
	free(found);
	free(by_ep);
	free(by_tun);
}

/* ---- loading ----------------------------------------------------------- */

static int iniparser_errors_ignored(const char *fmt, ...)
{
	(void)fmt; /* our own scan reports the same problems with line numbers */
	return 0;
}

/* Every directory from REAL's parent up to / must be safe (path_unsafe_dir). */
static int check_ancestors(const char *real, const char *shown, FILE *err)
{
	char dir[4096];
	struct stat st;

	if (path_unsafe_dir(real, dir, sizeof(dir), &st)) {
		fprintf(err, "%s: error: the directory %s may be written by others than root "
			"(mode %04o, owner %u, group %u), so the file could be swapped; keep site files "
			"in a directory only root can write, e.g. /etc/gatewayctl\n",
			shown, dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
		return -1;
	}
	return 0;
}

/* Read the file once: the bytes checked here are the bytes parsed. */
static int read_file(const char *path, char **buf, size_t *len, FILE *err)
{
	struct stat st;
	char *real = realpath(path, NULL);
	int fd;
	ssize_t n;

	if (!real) {
		fprintf(err, "%s: error: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (check_ancestors(real, path, err) < 0) {
		free(real);
		return -1;
	}
	/* the resolved path, without following a link swapped in since */
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	free(real);
	if (fd < 0) {
		fprintf(err, "%s: error: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(err, "%s: error: %s\n", path,
			S_ISDIR(st.st_mode) ? "is a directory; give the site file itself" : "not a regular file");
		close(fd);
		return -1;
	}
	if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		fprintf(err, "%s: error: writable by others than root (mode %04o, owner %u, group %u); "
			"it decides this gateway's routing: chown root and chmod 644 it\n",
			path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
		close(fd);
		return -1;
	}
	if (st.st_size > MAX_FILE_SIZE) {
		fprintf(err, "%s: error: too large (%lld bytes, at most %d)\n", path, (long long)st.st_size,
			MAX_FILE_SIZE);
		close(fd);
		return -1;
	}
	*buf = xrealloc(NULL, (size_t)st.st_size + 1);
	*len = 0;
	/* never more than fstat said: a file growing meanwhile is cut, not overrun */
	while (*len < (size_t)st.st_size && (n = read(fd, *buf + *len, (size_t)st.st_size - *len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(err, "%s: error: cannot read: %s\n", path, strerror(errno));
			free(*buf);
			close(fd);
			return -1;
		}
		*len += (size_t)n;
	}
	(*buf)[*len] = '\0';
	close(fd);
	return 0;
}

/* A copy of TEXT where the LINES (ascending) are comments: the duplicate keys
 * after the first, which iniparser would otherwise let win. */
static char *hide_lines(const char *text, size_t len, const int *lines, size_t n)
{
	char *c = xrealloc(NULL, len + 1);
	size_t k = 0;
	int line = 1;

	memcpy(c, text, len);
	c[len] = '\0';
	for (size_t i = 0; i < len && k < n; line++) {
		size_t at = i;

		while (at < len && (c[at] == ' ' || c[at] == '\t'))
			at++;
		if (line == lines[k]) {
			if (at < len && c[at] != '\n')
				c[at] = ';';
			k++;
		}
		while (i < len && c[i] != '\n')
			i++;
		i++;
	}
	return c;
}

/* iniparser 4.1 reads only by path: give it the checked bytes through a sealed
 * memory file, never the site file's path again. */
static dictionary *ini_from_memory(const char *buf, size_t len)
{
	char path[64];
	dictionary *d = NULL;
	int fd = memfd_create("gatewayctl-site", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return NULL;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	d = iniparser_load(path);
out:
	close(fd);
	return d;
}

int config_load(const char *path, struct site *site, FILE *err)
{
	char *buf;
	size_t len;
	int r;

	memset(site, 0, sizeof(*site));
	if (read_file(path, &buf, &len, err) < 0)
		return -1;
	r = config_parse(buf, len, path, site, err);
	free(buf);
	return r;
}

/* The file's bytes into SITE->text (without a byte-order mark), scanned line
 * by line, then handed to iniparser with duplicate keys hidden. */
static void load_text(struct loader *ld, const char *text, size_t len, struct site *site)
{
	char why[100], *buf;

	/* a UTF-8 byte-order mark, as Windows editors write it, is not content */
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
		text += 3;
		len -= 3;
	}
	site->text = xrealloc(NULL, len + 1);
	memcpy(site->text, text, len);
	site->text[len] = '\0';
	site->text_len = len;
	if (confighint_binary(site->text, len, why, sizeof(why))) {
		/* one error, not one a line */
		error_at(ld, 1, "not a text file (%s); is this the site file?", why);
		ld->fatal = true;
		return;
	}
	buf = xrealloc(NULL, len + 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	scan(ld, buf, len);
	free(buf);
	if (!ld->fatal) {
		char *shown = hide_lines(site->text, site->text_len, ld->dup_lines, ld->n_dup_lines);

		iniparser_set_error_callback(iniparser_errors_ignored);
		ld->dict = ini_from_memory(shown, site->text_len);
		free(shown);
		if (!ld->dict) {
			error_at(ld, 1, "iniparser cannot load the file");
			ld->fatal = true;
		}
	}
}

/* [site], every valid [peer NAME] up to MAX_PEERS, [relay], then the checks
 * across them. */

static void load_sections(struct loader *ld, struct site *site)
{
	size_t site_sec = 0, relay_sec = 0, n_valid = 0;
	int n_site = 0;
	bool lan_ok = false, wan_ok = false;

	for (size_t i = 0; i < ld->n_secs; i++) {
		if (ld->secs[i].kind == SEC_SITE && !n_site++)
			site_sec = i;
		if (ld->secs[i].kind == SEC_RELAY)
			relay_sec = i + 1;
		if (ld->secs[i].kind == SEC_PEER && site_name_valid(ld->secs[i].name + 4 + strspn(ld->secs[i].name + 4, " \t")))
			n_valid++;
	}
	if (n_valid > MAX_PEERS)
		n_valid = MAX_PEERS;
	site->peers = xrealloc(NULL, n_valid * sizeof(*site->peers));
	memset(site->peers, 0, n_valid * sizeof(*site->peers));
	site->n_peers = 0;
	if (n_site == 0)
		error_at(ld, 1, "no [site] section: the file must start by describing this gateway");
	else
		load_site(ld, site_sec, site, &wan_ok, &lan_ok);
	for (size_t i = 0; i < ld->n_secs; i++) {
		const char *nm = ld->secs[i].name + 4 + strspn(ld->secs[i].name + 4, " \t");

		if (ld->secs[i].kind != SEC_PEER || !site_name_valid(nm) || ld->secs[i].dup_of >= 0)
			continue; /* a duplicate section is already reported */
		if (site->n_peers == n_valid) {
			error_at(ld, ld->secs[i].line, "peer %s is one too many: a site has at most %d peers",
				 nm, MAX_PEERS);
			break;
		}
		load_peer(ld, i, &site->peers[site->n_peers++]);
	}
	if (n_site && site->n_peers == 0)
		error_at(ld, ld->secs[site_sec].line, "no [peer NAME] section: a gateway needs at least one peer");
	if (relay_sec)
		load_relay(ld, relay_sec - 1, site);
	cross_check(ld, site, lan_ok, wan_ok);
	netmap_check(site, lan_ok, wan_ok, report_at, ld);
	c6_check(&(struct c6){ report_at, ld }, site, ld->wan4, ld->wan6, ld->lan6);
	check_ipsec(ld, site);
}

/* Print the errors in line order, the first MAX_ERRORS of them, and free them. */
static void report_errors(struct loader *ld, const char *path, FILE *err)
{
	if (ld->n_diags)
		qsort(ld->diags, ld->n_diags, sizeof(*ld->diags), diag_cmp);
	/* the first errors: more would bury them (and a wrong file has thousands) */
	for (size_t i = 0; i < ld->n_diags; i++) {
		if (i < MAX_ERRORS)
			fprintf(err, "%s:%d: error: %s\n", path, ld->diags[i].line, ld->diags[i].text);
		free(ld->diags[i].text);
	}
	if (ld->n_diags > MAX_ERRORS)
		fprintf(err, "%s: error: %zu more errors not shown; fix the ones above first\n", path,
			ld->n_diags - MAX_ERRORS);
}

int config_parse(const char *text, size_t text_len, const char *path, struct site *site, FILE *err)
{
	struct loader ld = { .path = path };

	memset(site, 0, sizeof(*site));
	snprintf(site->path, sizeof(site->path), "%s", path);
	load_text(&ld, text, text_len, site);
	if (!ld.fatal)
		load_sections(&ld, site);
	if (ld.dict)
		iniparser_freedict(ld.dict);
	report_errors(&ld, path, err);
	free(ld.diags);
	free(ld.secs);
	free(ld.ents);
	free(ld.dup_lines);
	key_wipe(ld.seed, sizeof(ld.seed));
	if (ld.n_diags) {
		config_free(site);
		return -1;
	}
	return 0;
}

void config_free(struct site *site)
{
	free(site->text);
	site->text = NULL;
	site->text_len = 0;
	for (size_t i = 0; i < site->n_peers; i++) {
		free(site->peers[i].networks);
		free(site->peers[i].networks6);
		for (size_t k = 0; k < site->peers[i].n_eps; k++)
			free(site->peers[i].eps[k].name);
		free(site->peers[i].eps);
	}
	free(site->peers);
	site->peers = NULL;
	site->n_peers = 0;
}
