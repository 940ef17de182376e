/* vici_cmd.c - the VICI commands gatewayctl uses (see vici.h) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vici.h"

const char *const VICI_IKE_PROPOSALS[] = {
	"aes256gcm16-prfsha384-x25519", "chacha20poly1305-prfsha256-x25519", NULL,
};
const char *const VICI_ESP_PROPOSALS[] = {
	"aes256gcm16-x25519", "chacha20poly1305-x25519", NULL,
};

/* RFC 8410: SubjectPublicKeyInfo of an Ed25519 key = this prefix + 32 bytes */
static const uint8_t spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};


static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* ---- version ------------------------------------------------------------- */

int vici_version(struct vici *v, struct vici_version *out)
{
	struct vici_node *r;
	int ret = vici_call(v, "version", NULL, NULL, NULL, NULL, 0, &r);

	memset(out, 0, sizeof(*out));
	if (ret < 0)
		return ret;
	if (!vici_str(r, "daemon") || !vici_str(r, "version")) {
		vici_free(r);
		return vici_set_err(v, -EPROTO, "charon's answer to `version` lacks daemon or version");
	}
	copy(out->daemon, sizeof(out->daemon), vici_str(r, "daemon"));
	copy(out->version, sizeof(out->version), vici_str(r, "version"));
	copy(out->sysname, sizeof(out->sysname), vici_str(r, "sysname"));
	copy(out->release, sizeof(out->release), vici_str(r, "release"));
	copy(out->machine, sizeof(out->machine), vici_str(r, "machine"));
	vici_free(r);
	return 0;
}

/* ---- connections ------------------------------------------------------------ */

/* Names and identities: letters, digits, '-', '_' and '.', 1 to VICI_NAME_MAX. */
static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > VICI_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static bool addr_ok(const char *s)
{
	unsigned char buf[16];

	return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static bool proposals_ok(const char *const *p)
{
	if (!p || !*p)
		return false;
	for (; *p; p++) {
		const char *s = *p;

		if (!*s || strlen(s) > 200)
			return false;
		for (; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
				return false;
	}
	return true;
}

static void list_of(struct vici_msg *m, const char *name, const char *const *items)
{
	vici_list(m, name);
	for (; *items; items++)
		vici_item_str(m, *items);
	vici_list_end(m);
}

/* The child's traffic selectors: the IKE address (dynamic) with each protocol
 * of PROTOCOLS (0-terminated; none: 4) */
static void child_ts(struct vici_msg *m, const char *name, const uint8_t *protocols)
{
	vici_list(m, name);
	if (!protocols[0])
		vici_item_str(m, "dynamic[4]");
	for (size_t i = 0; i < VICI_PROTOCOLS_MAX && protocols[i]; i++) {
		char ts[16];

		snprintf(ts, sizeof(ts), "dynamic[%u]", protocols[i]);
		vici_item_str(m, ts);
	}
	vici_list_end(m);
}

static void one_item(struct vici_msg *m, const char *name, const void *value, size_t len)
{
	vici_list(m, name);
	vici_item(m, value, len);
	vici_list_end(m);
}

static void auth_section(struct vici_msg *m, const char *section, const struct vici_conn_spec *s,
			 const char *id, const uint8_t pub[32])
{
	vici_begin(m, section);
	vici_kv_str(m, "auth", s->auth == VICI_AUTH_PSK ? "psk" : "pubkey");
	vici_kv_str(m, "id", id);
	if (s->auth == VICI_AUTH_PUBKEY) {
		uint8_t der[sizeof(spki_prefix) + 32];

		memcpy(der, spki_prefix, sizeof(spki_prefix));
		memcpy(der + sizeof(spki_prefix), pub, 32);
		one_item(m, "pubkeys", der, sizeof(der));
	}
	vici_end(m);
}

static const char *start_name(enum vici_start a)
{
	switch (a) {
	case VICI_START_NONE: return "none";
	case VICI_START_TRAP: return "trap";
	case VICI_START_START: return "start";
	case VICI_START_TRAP_START: return "trap|start";
	}
	return NULL;
}

static const char *close_name(enum vici_close a)
{
	switch (a) {
	case VICI_CLOSE_NONE: return "none";
	case VICI_CLOSE_TRAP: return "trap";
	case VICI_CLOSE_START: return "start";
	}
	return NULL;
}

#define WHY(...) do { if (why) snprintf(why, whylen, __VA_ARGS__); return -EINVAL; } while (0)

int vici_conn_msg(const struct vici_conn_spec *s, struct vici_msg *m, char *why, size_t whylen)
{
	const char *const *ike = s->ike_proposals ? s->ike_proposals : VICI_IKE_PROPOSALS;
	const char *const *esp = s->esp_proposals ? s->esp_proposals : VICI_ESP_PROPOSALS;

	if (!name_ok(s->name))
		WHY("connection name `%s`: use 1 to %d letters, digits, `-`, `_` or `.`",
		    s->name ? s->name : "", VICI_NAME_MAX);
	if (!name_ok(s->local_id) || !name_ok(s->remote_id))
		WHY("identities `%s` and `%s`: use 1 to %d letters, digits, `-`, `_` or `.`",
		    s->local_id ? s->local_id : "", s->remote_id ? s->remote_id : "", VICI_NAME_MAX);
	if (s->local_addr && !addr_ok(s->local_addr))
		WHY("local address `%s` is not an IP address", s->local_addr);
	if (!addr_ok(s->remote_addr))
		WHY("remote address `%s` is not an IP address", s->remote_addr ? s->remote_addr : "");
	if (s->auth != VICI_AUTH_PSK && s->auth != VICI_AUTH_PUBKEY)
		WHY("unknown authentication %d", (int)s->auth);
	if (!start_name(s->start_action) || !close_name(s->close_action))
		WHY("unknown start or close action");
	if (!proposals_ok(ike) || !proposals_ok(esp))
		WHY("a proposal list is empty or holds something else than [a-z0-9-_]");

	vici_begin(m, s->name);
	vici_kv_str(m, "version", "2");
	/* IKE carries address changes (RFC 4555): charon's default, said here
	 * because the watcher relies on it (docs/DESIGN.md, "Moving peers") */
	vici_kv_str(m, "mobike", "yes");
	vici_list(m, "local_addrs");
	vici_item_str(m, s->local_addr ? s->local_addr : "%any");
	vici_list_end(m);
	vici_list(m, "remote_addrs");
	vici_item_str(m, s->remote_addr);
	vici_list_end(m);
	list_of(m, "proposals", ike);
	vici_kv_fmt(m, "dpd_delay", "%us", s->dpd_delay ? s->dpd_delay : 30);
	if (s->ike_rekey_time)
		vici_kv_fmt(m, "rekey_time", "%us", s->ike_rekey_time);
	vici_kv_str(m, "encap", s->encap ? "yes" : "no");
	vici_kv_str(m, "keyingtries", "0");
	auth_section(m, "local", s, s->local_id, s->local_pubkey);
	auth_section(m, "remote", s, s->remote_id, s->remote_pubkey);
	vici_begin(m, "children");
	vici_begin(m, s->name);
	vici_kv_str(m, "mode", "transport");
	child_ts(m, "local_ts", s->protocols);
	child_ts(m, "remote_ts", s->protocols);
	list_of(m, "esp_proposals", esp);
	if (s->child_rekey_time)
		vici_kv_fmt(m, "rekey_time", "%us", s->child_rekey_time);
	vici_kv_str(m, "start_action", start_name(s->start_action));
	vici_kv_str(m, "dpd_action", "restart");
	vici_kv_str(m, "close_action", close_name(s->close_action));
	vici_end(m);
	vici_end(m);
	vici_end(m);
	if (vici_msg_check(m) < 0)
		WHY("cannot build the message: %s", strerror(-vici_msg_check(m)));
	return 0;
}

int vici_load_conn(struct vici *v, const struct vici_conn_spec *spec)
{
	struct vici_msg m;
	char why[200];
	int ret;

	vici_msg_init(&m);
	ret = vici_conn_msg(spec, &m, why, sizeof(why));
	if (ret < 0) {
		vici_msg_free(&m);
		return vici_set_err(v, ret, "%s", why);
	}
	ret = vici_call_checked(v, "load-conn", &m, NULL);
	vici_msg_free(&m);
	return ret;
}

/* A command with one key NAME = VALUE, success = yes/no; "not found" errors give -ENOENT. */
static int simple(struct vici *v, const char *cmd, const char *key, const char *value)
{
	struct vici_msg m;
	int ret;

	vici_msg_init(&m);
	vici_kv_str(&m, key, value);
	ret = vici_call_checked(v, cmd, &m, NULL);
	vici_msg_free(&m);
	if (ret == -EREMOTEIO && strstr(v->err, "not found"))
		ret = -ENOENT;
	return ret;
}

int vici_unload_conn(struct vici *v, const char *name)
{
	if (!name || !*name || strlen(name) > 255)
		return vici_set_err(v, -EINVAL, "bad connection name");
	return simple(v, "unload-conn", "name", name);
}

void vici_strv_free(char **sv)
{
	for (size_t i = 0; sv && sv[i]; i++)
		free(sv[i]);
	free(sv);
}

/* The items of list NAME in the response to CMD as strings. */
static int get_list(struct vici *v, const char *cmd, const char *name, char ***out, size_t *n)
{
	struct vici_node *r;
	const struct vici_node *l;
	size_t count = 0, i = 0;
	char **sv;
	int ret = vici_call_checked(v, cmd, NULL, &r);

	*out = NULL;
	*n = 0;
	if (ret < 0)
		return ret;
	l = vici_find(r, name);
	if (l && l->kind != VICI_NODE_LIST) {
		vici_free(r);
		return vici_set_err(v, -EPROTO, "charon's answer to `%s`: `%s` is not a list", cmd, name);
	}
	for (const struct vici_node *it = l ? l->first : NULL; it; it = it->next)
		count++;
	sv = calloc(count + 1, sizeof(*sv));
	if (!sv) {
		vici_free(r);
		return vici_set_err(v, -ENOMEM, "out of memory");
	}
	for (const struct vici_node *it = l ? l->first : NULL; it; it = it->next) {
		const char *s = vici_node_str(it);

		if (!s) {
			vici_strv_free(sv);
			vici_free(r);
			return vici_set_err(v, -EPROTO, "charon's answer to `%s`: an item holds a NUL byte", cmd);
		}
		sv[i] = strdup(s);
		if (!sv[i++]) {
			vici_strv_free(sv);
			vici_free(r);
			return vici_set_err(v, -ENOMEM, "out of memory");
		}
	}
	vici_free(r);
	*out = sv;
	*n = count;
	return 0;
}

int vici_get_conns(struct vici *v, char ***names, size_t *n)
{
	return get_list(v, "get-conns", "conns", names, n);
}

/* ---- algorithms -------------------------------------------------------------- */

int vici_get_algorithms(struct vici *v, char ***names, size_t *n)
{
	struct vici_node *r;
	size_t count = 0, i = 0;
	char **sv;
	int ret = vici_call_checked(v, "get-algorithms", NULL, &r);

	*names = NULL;
	*n = 0;
	if (ret < 0)
		return ret;
	for (const struct vici_node *sec = r->first; sec; sec = sec->next)
		for (const struct vici_node *a = sec->kind == VICI_NODE_SECTION ? sec->first : NULL; a; a = a->next)
			count += a->kind == VICI_NODE_VALUE;
	sv = calloc(count + 1, sizeof(*sv));
	if (!sv) {
		vici_free(r);
		return vici_set_err(v, -ENOMEM, "out of memory");
	}
	for (const struct vici_node *sec = r->first; sec; sec = sec->next)
		for (const struct vici_node *a = sec->kind == VICI_NODE_SECTION ? sec->first : NULL; a; a = a->next) {
			if (a->kind != VICI_NODE_VALUE)
				continue;
			if (asprintf(&sv[i], "%s/%s", sec->name, a->name) < 0) {
				sv[i] = NULL;
				vici_strv_free(sv);
				vici_free(r);
				return vici_set_err(v, -ENOMEM, "out of memory");
			}
			i++;
		}
	vici_free(r);
	*names = sv;
	*n = count;
	return 0;
}

/* ---- credentials ------------------------------------------------------------ */

int vici_load_shared(struct vici *v, const char *id, const void *key, size_t len,
		     const char *const *owners)
{
	struct vici_msg m;
	int ret;

	if (!id || !*id || strlen(id) > 255 || !key || len == 0 || len > 65535 || !owners || !*owners)
		return vici_set_err(v, -EINVAL, "load-shared wants an id, a key and its owners");
	if ((ret = vici_peer_root(v)) < 0)
		return ret;
	vici_msg_init(&m);
	vici_kv_str(&m, "id", id);
	vici_kv_str(&m, "type", "IKE");
	vici_kv(&m, "data", key, len);
	list_of(&m, "owners", owners);
	ret = vici_call_checked(v, "load-shared", &m, NULL);
	vici_msg_free(&m);	/* wipes the key */
	return ret;
}

int vici_unload_shared(struct vici *v, const char *id)
{
	if (!id || !*id || strlen(id) > 255)
		return vici_set_err(v, -EINVAL, "bad shared key id");
	return simple(v, "unload-shared", "id", id);
}

int vici_get_shared(struct vici *v, char ***ids, size_t *n)
{
	return get_list(v, "get-shared", "keys", ids, n);
}

int vici_load_key(struct vici *v, const void *der, size_t len, char keyid[41])
{
	struct vici_msg m;
	struct vici_node *r;
	const char *id;
	int ret;

	if (keyid)
		keyid[0] = '\0';
	if (!der || len == 0 || len > 65535)
		return vici_set_err(v, -EINVAL, "load-key wants the key");
	if ((ret = vici_peer_root(v)) < 0)
		return ret;
	vici_msg_init(&m);
	vici_kv_str(&m, "type", "ed25519");
	vici_kv(&m, "data", der, len);
	ret = vici_call_checked(v, "load-key", &m, &r);
	vici_msg_free(&m);	/* wipes the key */
	if (ret < 0)
		return ret;
	id = vici_str(r, "id");
	if (keyid && id) {
		if (strlen(id) != 40) {
			vici_free(r);
			return vici_set_err(v, -EPROTO, "charon's key id `%s` is not 40 hex digits", id);
		}
		memcpy(keyid, id, 41);
	}
	vici_free(r);
	return 0;
}

int vici_unload_key(struct vici *v, const char *keyid)
{
	if (!keyid || !*keyid || strlen(keyid) > 255)
		return vici_set_err(v, -EINVAL, "bad key id");
	return simple(v, "unload-key", "id", keyid);
}

int vici_get_keys(struct vici *v, char ***keyids, size_t *n)
{
	return get_list(v, "get-keys", "keys", keyids, n);
}

/* ---- initiate, terminate ------------------------------------------------------- */

/* Keep charon's control-log lines in v->log, the last ones when they overflow. */
static int collect_log(const char *event, const struct vici_node *msg, void *arg)
{
	struct vici *v = arg;
	const char *line = vici_str(msg, "msg");
	size_t have = strlen(v->log), add;

	(void)event;
	if (!line)
		return 0;
	add = strlen(line) + 1;
	if (add >= sizeof(v->log))
		return 0;
	while (have + add >= sizeof(v->log)) {
		char *nl = strchr(v->log, '\n');
		size_t cut = nl ? (size_t)(nl - v->log) + 1 : have;

		memmove(v->log, v->log + cut, have - cut + 1);
		have -= cut;
	}
	memcpy(v->log + have, line, add - 1);
	v->log[have + add - 1] = '\n';
	v->log[have + add] = '\0';
	return 0;
}

/* charon's log lines that say why an SA failed, most telling first */
static const char *const reasons[] = {
	"AUTHENTICATION_FAILED", "authentication of", "NO_PROPOSAL_CHOSEN", "no proposal",
	"no IKE config found", "TS_UNACCEPTABLE", "giving up after", "no private key found",
	"no shared key found", "unable to", "failed", "error", NULL,
};

/* The log line that best explains a failure, copied to OUT. */
static void pick_reason(const char *log, char *out, size_t size)
{
	out[0] = '\0';
	for (const char *const *r = reasons; *r; r++) {
		const char *line = NULL;

		/* the last line holding it */
		for (const char *p = log; (p = strstr(p, *r)); p++)
			line = p;
		if (line) {
			const char *start = line, *end = strchr(line, '\n');

			while (start > log && start[-1] != '\n')
				start--;
			snprintf(out, size, "%.*s", (int)(end ? end - start : (long)strlen(start)), start);
			return;
		}
	}
}

int vici_initiate(struct vici *v, const char *child, int timeout_ms)
{
	struct vici_msg m;
	struct vici_node *r;
	char reason[300];
	int ret, wait_ms;

	v->log[0] = '\0';
	if (!child || !*child || strlen(child) > 255 || timeout_ms < -1)
		return vici_set_err(v, -EINVAL, "initiate wants a child name and a timeout");
	vici_msg_init(&m);
	vici_kv_str(&m, "child", child);
	vici_kv_str(&m, "ike", child);
	vici_kv_fmt(&m, "timeout", "%d", timeout_ms);
	vici_kv_str(&m, "loglevel", "1");
	/* charon answers by itself after TIMEOUT_MS: give it a margin */
	wait_ms = (timeout_ms > 0 ? timeout_ms : 0) + v->timeout_ms;
	ret = vici_call(v, "initiate", &m, "control-log", collect_log, v, wait_ms, &r);
	vici_msg_free(&m);
	if (ret < 0)
		return ret;
	if (!vici_yes(r, "success") && strstr(v->log, "due to existing duplicate")) {
		/* charon refuses a second CHILD_SA with the same selectors: the SA is up */
		ret = vici_set_err(v, -EALREADY, "`%s` is established already", child);
	} else if (!vici_yes(r, "success")) {
		const char *msg = vici_str(r, "errmsg");

		pick_reason(v->log, reason, sizeof(reason));
		ret = vici_set_err(v, strstr(msg ? msg : "", "not established after") ? -ETIMEDOUT :
			      strstr(msg ? msg : "", "not found") ? -ENOENT : -EREMOTEIO,
			      "charon could not establish `%s`: %s%s%s", child,
			      msg && *msg ? msg : "(no reason given)", *reason ? "; " : "", reason);
	}
	vici_free(r);
	return ret;
}

int vici_terminate(struct vici *v, const char *ike, int timeout_ms)
{
	struct vici_msg m;
	struct vici_node *r;
	uint64_t matches = 0;
	int ret, wait_ms;

	v->log[0] = '\0';
	if (!ike || !*ike || strlen(ike) > 255 || timeout_ms < -1)
		return vici_set_err(v, -EINVAL, "terminate wants a connection name and a timeout");
	vici_msg_init(&m);
	vici_kv_str(&m, "ike", ike);
	vici_kv_fmt(&m, "timeout", "%d", timeout_ms);
	vici_kv_str(&m, "force", "yes");
	vici_kv_str(&m, "loglevel", "1");
	wait_ms = (timeout_ms > 0 ? timeout_ms : 0) + v->timeout_ms;
	ret = vici_call(v, "terminate", &m, "control-log", collect_log, v, wait_ms, &r);
	vici_msg_free(&m);
	if (ret < 0)
		return ret;
	vici_u64(r, "matches", &matches);
	if (!vici_yes(r, "success")) {
		const char *msg = vici_str(r, "errmsg");

		ret = vici_set_err(v, matches == 0 ? -ENOENT : -EREMOTEIO, "charon could not terminate `%s`: %s",
			      ike, msg && *msg ? msg : "(no reason given)");
	}
	vici_free(r);
	return ret;
}

int vici_rekey(struct vici *v, const char *ike, bool reauth)
{
	struct vici_msg m;
	struct vici_node *r;
	uint64_t matches = 0;
	int ret;

	if (!ike || !*ike || strlen(ike) > 255)
		return vici_set_err(v, -EINVAL, "rekey wants a connection name");
	vici_msg_init(&m);
	vici_kv_str(&m, "ike", ike);
	if (reauth)
		vici_kv_str(&m, "reauth", "yes");
	ret = vici_call(v, "rekey", &m, NULL, NULL, NULL, 0, &r);
	vici_msg_free(&m);
	if (ret < 0)
		return ret;
	vici_u64(r, "matches", &matches);
	if (!vici_yes(r, "success")) {
		const char *msg = vici_str(r, "errmsg");

		ret = vici_set_err(v, matches == 0 ? -ENOENT : -EREMOTEIO, "charon could not %s `%s`: %s",
			      reauth ? "reauthenticate" : "rekey", ike, msg && *msg ? msg : "(no reason given)");
	}
	vici_free(r);
	return ret;
}

/* ---- list-sas ----------------------------------------------------------------------- */

static void str_of(const struct vici_node *sec, const char *key, char *dst, size_t size)
{
	copy(dst, size, vici_str(sec, key));
}

static unsigned uint_of(const struct vici_node *sec, const char *key)
{
	uint64_t x = 0;

	return vici_u64(sec, key, &x) == 0 && x <= UINT32_MAX ? (unsigned)x : 0;
}

static uint64_t u64_of(const struct vici_node *sec, const char *key)
{
	uint64_t x = 0;

	return vici_u64(sec, key, &x) == 0 ? x : 0;
}

static int64_t secs_of(const struct vici_node *sec, const char *key)
{
	uint64_t x;

	return vici_u64(sec, key, &x) == 0 && x <= INT64_MAX ? (int64_t)x : -1;
}

static uint32_t spi_of(const struct vici_node *sec, const char *key)
{
	const char *s = vici_str(sec, key);
	uint32_t x = 0;
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 8)
		return 0;
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
			*s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;

		if (d < 0)
			return 0;
		x = x << 4 | (uint32_t)d;
	}
	return x;
}

static void child_from(const struct vici_node *sec, struct vici_child_sa *c)
{
	memset(c, 0, sizeof(*c));
	/* the section is named NAME-UNIQUEID; `name` holds the configuration's name */
	copy(c->name, sizeof(c->name), vici_str(sec, "name") ? vici_str(sec, "name") : sec->name);
	c->uniqueid = uint_of(sec, "uniqueid");
	c->reqid = uint_of(sec, "reqid");
	str_of(sec, "state", c->state, sizeof(c->state));
	str_of(sec, "mode", c->mode, sizeof(c->mode));
	str_of(sec, "protocol", c->protocol, sizeof(c->protocol));
	c->encap = vici_yes(sec, "encap");
	c->spi_in = spi_of(sec, "spi-in");
	c->spi_out = spi_of(sec, "spi-out");
	str_of(sec, "encr-alg", c->encr_alg, sizeof(c->encr_alg));
	c->encr_keysize = uint_of(sec, "encr-keysize");
	str_of(sec, "dh-group", c->dh_group, sizeof(c->dh_group));
	c->bytes_in = u64_of(sec, "bytes-in");
	c->packets_in = u64_of(sec, "packets-in");
	c->bytes_out = u64_of(sec, "bytes-out");
	c->packets_out = u64_of(sec, "packets-out");
	c->install_time = secs_of(sec, "install-time");
	c->rekey_time = secs_of(sec, "rekey-time");
	c->life_time = secs_of(sec, "life-time");
}

static int ike_from(const struct vici_node *sec, struct vici_ike_sa *s)
{
	const struct vici_node *children = vici_find(sec, "child-sas");
	size_t count = 0;

	memset(s, 0, sizeof(*s));
	copy(s->name, sizeof(s->name), sec->name);
	s->uniqueid = uint_of(sec, "uniqueid");
	str_of(sec, "state", s->state, sizeof(s->state));
	str_of(sec, "local-host", s->local_host, sizeof(s->local_host));
	str_of(sec, "remote-host", s->remote_host, sizeof(s->remote_host));
	str_of(sec, "local-id", s->local_id, sizeof(s->local_id));
	str_of(sec, "remote-id", s->remote_id, sizeof(s->remote_id));
	s->initiator = vici_yes(sec, "initiator");
	s->nat_local = vici_yes(sec, "nat-local");
	s->nat_remote = vici_yes(sec, "nat-remote");
	s->nat_any = vici_yes(sec, "nat-any");
	str_of(sec, "encr-alg", s->encr_alg, sizeof(s->encr_alg));
	s->encr_keysize = uint_of(sec, "encr-keysize");
	str_of(sec, "prf-alg", s->prf_alg, sizeof(s->prf_alg));
	str_of(sec, "dh-group", s->dh_group, sizeof(s->dh_group));
	s->established = secs_of(sec, "established");
	s->rekey_time = secs_of(sec, "rekey-time");
	if (children && children->kind != VICI_NODE_SECTION)
		return -EPROTO;
	for (const struct vici_node *c = children ? children->first : NULL; c; c = c->next)
		if (c->kind == VICI_NODE_SECTION)
			count++;
	if (!count)
		return 0;
	s->children = calloc(count, sizeof(*s->children));
	if (!s->children)
		return -ENOMEM;
	for (const struct vici_node *c = children->first; c; c = c->next)
		if (c->kind == VICI_NODE_SECTION)
			child_from(c, &s->children[s->n_children++]);
	return 0;
}

int vici_sas_from_event(const struct vici_node *msg, struct vici_ike_sa **sas, size_t *n)
{
	for (const struct vici_node *sec = msg ? msg->first : NULL; sec; sec = sec->next) {
		struct vici_ike_sa *grown;
		int ret;

		if (sec->kind != VICI_NODE_SECTION)
			continue;
		grown = realloc(*sas, (*n + 1) * sizeof(**sas));
		if (!grown)
			return -ENOMEM;
		*sas = grown;
		ret = ike_from(sec, &grown[*n]);
		if (ret < 0) {
			free(grown[*n].children);
			return ret;
		}
		(*n)++;
	}
	return 0;
}

struct sa_list {
	struct vici_ike_sa *sas;
	size_t n;
};

/* more IKE_SAs than any gateway has: a charon gone mad */
#define SAS_MAX 100000

static int on_sa(const char *event, const struct vici_node *msg, void *arg)
{
	struct sa_list *l = arg;

	(void)event;
	if (l->n >= SAS_MAX)
		return -E2BIG;
	return vici_sas_from_event(msg, &l->sas, &l->n);
}

void vici_sas_free(struct vici_ike_sa *sas, size_t n)
{
	for (size_t i = 0; sas && i < n; i++)
		free(sas[i].children);
	free(sas);
}

int vici_list_sas(struct vici *v, const char *ike, struct vici_ike_sa **sas, size_t *n)
{
	struct sa_list l = { 0 };
	struct vici_msg m;
	int ret;

	*sas = NULL;
	*n = 0;
	vici_msg_init(&m);
	if (ike)
		vici_kv_str(&m, "ike", ike);
	ret = vici_call(v, "list-sas", &m, "list-sa", on_sa, &l, 0, NULL);
	vici_msg_free(&m);
	if (ret < 0) {
		if (!v->err[0])		/* on_sa failed */
			vici_set_err(v, ret, ret == -ENOMEM ? "out of memory listing the SAs" :
				ret == -E2BIG ? "charon lists more than 100000 IKE_SAs" :
				"charon's `list-sa` event is not laid out as documented");
		vici_sas_free(l.sas, l.n);
		return ret;
	}
	*sas = l.sas;
	*n = l.n;
	return 0;
}
