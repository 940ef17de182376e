/* vici.h - a client for strongSwan's VICI protocol: charon's control socket.
 *
 * The wire format (strongSwan's src/libcharon/plugins/vici/README.md):
 *   a packet = u32 length (big endian, excluding itself, at most 512 KiB),
 *              u8 type, [u8 name length, name] for the named types, message;
 *   a message = elements: SECTION_START name, SECTION_END, KEY_VALUE name value,
 *              LIST_START name, LIST_ITEM value, LIST_END, where a name is an
 *              u8 length and bytes, a value an u16 length (big endian) and bytes.
 * One command at a time per connection; streamed commands (list-sas,
 * initiate) send events before their response.
 *
 * Every call returns 0 or -errno and, on failure, leaves a human-readable
 * message in vici->err (charon's own `errmsg` when it gave one). Errors:
 *   -ENOENT, -ECONNREFUSED, -EACCES  charon is not reachable (vici_open)
 *   -ETIMEDOUT    charon did not answer within the timeout (the connection is
 *                 then closed: later calls fail with -ENOTCONN)
 *   -EREMOTEIO    charon refused: `success = no`, its errmsg in vici->err
 *   -ENOENT       (unload/terminate) charon has no such connection, key or SA
 *   -EOPNOTSUPP   charon does not know the command (CMD_UNKNOWN)
 *   -EPROTO       charon's answer does not follow the format
 *   -EINVAL       a bad argument (nothing was sent)
 */
#ifndef GATEWAYCTL_VICI_H
#define GATEWAYCTL_VICI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VICI_SOCKET_DEFAULT "/run/charon.vici"
#define VICI_TIMEOUT_MS 10000		/* the default limit of one command */
#define VICI_PACKET_MAX (512 * 1024)	/* charon's limit of a packet */
#define VICI_DEPTH_MAX 32		/* nested sections accepted in a message */
#define VICI_NAME_MAX 100	/* connection, child and identity names */
#define VICI_PROTOCOLS_MAX 4	/* IP protocols of one child's traffic selectors */

/* Packet types */
enum {
	VICI_CMD_REQUEST = 0, VICI_CMD_RESPONSE = 1, VICI_CMD_UNKNOWN = 2,
	VICI_EVENT_REGISTER = 3, VICI_EVENT_UNREGISTER = 4, VICI_EVENT_CONFIRM = 5,
	VICI_EVENT_UNKNOWN = 6, VICI_EVENT = 7,
};
/* Message element types */
enum {
	VICI_SECTION_START = 1, VICI_SECTION_END = 2, VICI_KEY_VALUE = 3,
	VICI_LIST_START = 4, VICI_LIST_ITEM = 5, VICI_LIST_END = 6,
};

/* ---- building a message ------------------------------------------------ */

/* Calls append elements; the first misuse (a name over 255 bytes, a value
 * over 65535, an END without its START, a key inside a list...) or allocation
 * failure is kept in err and makes every later call a no-op. */
struct vici_msg {
	uint8_t *buf;
	size_t len, cap;
	unsigned depth;		/* open sections */
	bool in_list;
	int err;		/* 0, -EINVAL or -ENOMEM */
};

void vici_msg_init(struct vici_msg *m);
void vici_msg_free(struct vici_msg *m);
void vici_begin(struct vici_msg *m, const char *section);
void vici_end(struct vici_msg *m);
void vici_kv(struct vici_msg *m, const char *key, const void *value, size_t len);
void vici_kv_str(struct vici_msg *m, const char *key, const char *value);
void vici_kv_fmt(struct vici_msg *m, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vici_list(struct vici_msg *m, const char *name);
void vici_item(struct vici_msg *m, const void *value, size_t len);
void vici_item_str(struct vici_msg *m, const char *value);
void vici_list_end(struct vici_msg *m);
/* 0 when M is complete (every section and list closed), else -EINVAL/-ENOMEM. */
int vici_msg_check(const struct vici_msg *m);

/* ---- parsing a message into a tree -------------------------------------- */

enum vici_kind { VICI_NODE_SECTION, VICI_NODE_VALUE, VICI_NODE_LIST, VICI_NODE_ITEM };

struct vici_node {
	enum vici_kind kind;
	const char *name;	/* NUL-terminated; "" for the root and list items */
	const uint8_t *value;	/* VALUE, ITEM: LEN bytes, followed by a NUL */
	size_t len;
	struct vici_node *first;	/* SECTION: its elements; LIST: its items */
	struct vici_node *next;		/* the next element of the same parent */
};

/*
 * Parse the LEN bytes at BUF (a message: no packet header) into a tree whose
 * root is a SECTION named "". Every length is checked against the input;
 * names must not contain NUL bytes; sections nest at most VICI_DEPTH_MAX
 * deep; lists hold items only and do not nest. 0 and *ROOT (one allocation:
 * free with vici_free), or -EPROTO with the reason in WHY (may be NULL) or
 * -ENOMEM. Duplicate keys are kept; lookups find the first.
 */
int vici_parse(const void *buf, size_t len, struct vici_node **root, char *why, size_t whylen);
void vici_free(struct vici_node *root);

/* The first element of section SEC named NAME, or NULL. */
const struct vici_node *vici_find(const struct vici_node *sec, const char *name);
/* The value of key NAME in SEC as a string: NULL when absent, not a key/value
 * or when it holds a NUL byte. */
const char *vici_str(const struct vici_node *sec, const char *name);
/* Key NAME as a decimal number: 0, or -ENOENT (absent) or -EINVAL (not a number). */
int vici_u64(const struct vici_node *sec, const char *name, uint64_t *out);
/* Whether key NAME is "yes". */
bool vici_yes(const struct vici_node *sec, const char *name);
/* The string value of an item or key/value node, NULL if it holds a NUL byte. */
const char *vici_node_str(const struct vici_node *n);

/* Append the elements of section ROOT to M (the inverse of vici_parse). */
void vici_encode_tree(struct vici_msg *m, const struct vici_node *root);
/* Print M in swanctl.conf syntax (sections, `key = value`, lists joined by
 * commas); values that are not printable text show as `<N bytes>`, and keys
 * named in SECRET (NULL-terminated, may be NULL) as `<secret>`. 0 or -errno. */
int vici_msg_print(const struct vici_msg *m, FILE *out, const char *const *secret);

/* Split one packet (without its 4-byte length) into type, name and message. 0 or -EPROTO. */
int vici_packet_split(const uint8_t *pkt, size_t len, uint8_t *type, char name[256],
		      const uint8_t **msg, size_t *msglen);

/* ---- the connection ------------------------------------------------------ */

struct vici {
	int fd;			/* -1 when closed */
	int timeout_ms;		/* limit of each command; VICI_TIMEOUT_MS after vici_open */
	char path[108];
	char err[768];		/* what went wrong in the last failed call */
	char log[2048];		/* initiate/terminate: charon's control-log lines, last ones kept */
};

/* Say in v->err what went wrong (printf FMT) and return RET: for the commands
 * built on vici_call (vici_cmd.c) as for vici.c itself. */
int vici_set_err(struct vici *v, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Connect to charon at PATH (NULL: VICI_SOCKET_DEFAULT). 0 or -errno. */
int vici_open(struct vici *v, const char *path);
void vici_close(struct vici *v);
/* Whether the process at the other end of V's socket is root's (SO_PEERCRED):
 * keys are sent to nobody else (a socket path another user could have put in
 * place of charon's). 0, or -EPERM with the peer's uid in v->err. */
int vici_peer_root(struct vici *v);

/* An event handler: EVENT is its name, MSG its message. Return 0, or -errno to
 * fail the call (the remaining answer is still read). */
typedef int (*vici_event_fn)(const char *event, const struct vici_node *msg, void *arg);

/*
 * Send command CMD with message REQ (NULL: empty), wait for its response and
 * return it in *RESP (may be NULL; else free it with vici_free). With EVENT,
 * register for that event first, pass each one to FN until the response
 * comes, then unregister. TIMEOUT_MS: 0 means v->timeout_ms. The response's
 * `success = no` is not an error here (see vici_call_checked).
 */
int vici_call(struct vici *v, const char *cmd, const struct vici_msg *req,
	      const char *event, vici_event_fn fn, void *arg, int timeout_ms,
	      struct vici_node **resp);
/* vici_call without events, where `success = no` becomes -EREMOTEIO with
 * charon's errmsg in v->err. */
int vici_call_checked(struct vici *v, const char *cmd, const struct vici_msg *req,
		      struct vici_node **resp);

/* ---- events (vici_events.c): charon telling what happens, as it happens ---- */

/* Register V's connection for EVENT ("ike-update"), waiting up to v->timeout_ms
 * for charon's confirmation: 0, -EOPNOTSUPP (charon does not know the event)
 * or -errno. The events then arrive on v->fd between commands: a connection
 * registered for events is for reading them (vici_stream_read), not for
 * commands. */
int vici_register(struct vici *v, const char *event);

/* The bytes of an event connection not yet split into packets. */
struct vici_stream {
	uint8_t *buf;
	size_t len, cap;
};
void vici_stream_free(struct vici_stream *s);
/* LEN bytes received: every complete packet is taken off S; each event's
 * message parsed and passed to FN(name, message, ARG) (FN's result is
 * ignored); other packets (confirmations) and messages that do not parse are
 * skipped. 0, -EPROTO (a packet longer than VICI_PACKET_MAX or of length 0:
 * the stream is out of step, drop the connection) or -ENOMEM. */
int vici_stream_feed(struct vici_stream *s, const uint8_t *data, size_t len, vici_event_fn fn, void *arg);
/* Read what V's socket holds now, never waiting, and feed it: 0, -ECONNRESET
 * (charon closed the connection), -EPROTO, -ENOMEM or -errno. */
int vici_stream_read(struct vici *v, struct vici_stream *s, vici_event_fn fn, void *arg);

/* What an IKE event says about one IKE_SA: "ike-update" (its addresses are
 * about to change: the new ones at the top, the SA as it was in a section
 * named after its connection), "ike-updown" (established: `up = yes`, or
 * gone), "list-sa" (one SA of list-sas). */
enum vici_ike_kind { VICI_IKE_UPDATE, VICI_IKE_UP, VICI_IKE_DOWN, VICI_IKE_LISTED };
struct vici_ike_event {
	enum vici_ike_kind kind;
	char conn[VICI_NAME_MAX + 1];		/* the connection (section) name */
	char state[32];				/* "ESTABLISHED", "CONNECTING", ... */
	char local_id[VICI_NAME_MAX + 1], remote_id[VICI_NAME_MAX + 1];
	char local_host[64], remote_host[64];	/* where the SA is (update: will be) */
	char old_remote_host[64];		/* update: where it was; else = remote_host */
};
/* Read event EVENT's message MSG into *OUT. 0; -ENOENT: not an IKE event;
 * -EPROTO: not the shape described (no SA section, a name or value too long or
 * holding a NUL): such an event tells nothing. */
int vici_ike_event_parse(const char *event, const struct vici_node *msg, struct vici_ike_event *out);

/* ---- commands --------------------------------------------------------------- */

struct vici_version {
	char daemon[32], version[32], sysname[32], release[96], machine[32];
};
int vici_version(struct vici *v, struct vici_version *out);

enum vici_auth { VICI_AUTH_PSK, VICI_AUTH_PUBKEY };
enum vici_start { VICI_START_NONE, VICI_START_TRAP, VICI_START_START, VICI_START_TRAP_START };
enum vici_close { VICI_CLOSE_NONE, VICI_CLOSE_TRAP, VICI_CLOSE_START };


/* One gatewayctl connection: an IKEv2 SA and one CHILD_SA of the same name in
 * transport mode that protects IP protocol 4 between the two addresses. */
struct vici_conn_spec {
	const char *name;		/* "gatewayctl-SITE_PEER" */
	const char *local_addr;		/* this gateway's WAN address; NULL: %any */
	const char *remote_addr;	/* the peer's endpoint */
	const char *local_id;		/* the site's name */
	const char *remote_id;		/* the peer's name */
	enum vici_auth auth;
	uint8_t local_pubkey[32];	/* VICI_AUTH_PUBKEY: raw Ed25519 public keys */
	uint8_t remote_pubkey[32];
	unsigned dpd_delay;		/* seconds; 0: 30 */
	unsigned ike_rekey_time;	/* seconds; 0: charon's default (4 h) */
	unsigned child_rekey_time;	/* seconds; 0: charon's default (1 h) */
	bool encap;			/* force ESP in UDP even without NAT */
	/* The IP protocols (IPv6: next headers) the transport-mode child covers
	 * between the two addresses, one traffic selector each (`dynamic[N]`),
	 * 0-terminated; none: 4 only (IPIP). {4, 41}: a sit or ip6tnl in mode any. */
	uint8_t protocols[VICI_PROTOCOLS_MAX + 1];
	enum vici_start start_action;
	enum vici_close close_action;
	const char *const *ike_proposals;	/* NULL-terminated; NULL: VICI_IKE_PROPOSALS */
	const char *const *esp_proposals;	/* NULL: VICI_ESP_PROPOSALS */
};

extern const char *const VICI_IKE_PROPOSALS[];	/* aes256gcm16-prfsha384-x25519, chacha20poly1305-prfsha256-x25519 */
extern const char *const VICI_ESP_PROPOSALS[];	/* aes256gcm16-x25519, chacha20poly1305-x25519 */

/* The load-conn message for SPEC (M initialised by the caller). 0 or -EINVAL
 * with the reason in WHY (a name, address or proposal that is not valid). */
int vici_conn_msg(const struct vici_conn_spec *spec, struct vici_msg *m, char *why, size_t whylen);
/* Load (add or replace) the connection. An unchanged one is kept as it is. */
int vici_load_conn(struct vici *v, const struct vici_conn_spec *spec);
int vici_unload_conn(struct vici *v, const char *name);
/* The names of the connections loaded over VICI (by anyone): *NAMES is a
 * NULL-terminated array, free it with vici_strv_free. */
int vici_get_conns(struct vici *v, char ***names, size_t *n);
void vici_strv_free(char **v);

/* One connection as list-conns shows it: what tells whose it is. */
struct vici_conn_info {
	char name[VICI_NAME_MAX + 1];
	char local_addr[64], remote_addr[64];	/* the first of local_addrs, remote_addrs */
	char local_id[VICI_NAME_MAX + 1], remote_id[VICI_NAME_MAX + 1];	/* of the first round */
	char local_auth[32], remote_auth[32];	/* its class: "pre-shared key", "public key" */
	char child[VICI_NAME_MAX + 1];		/* the first CHILD_SA config ... */
	char child_mode[16];			/* ... and its mode, "TRANSPORT" */
	size_t n_children;
};
/* The connections charon holds (all, or the one named IKE): *CONNS, free() it. */
int vici_list_conns(struct vici *v, const char *ike, struct vici_conn_info **conns, size_t *n);
/* Append the connections of one list-conn event MSG (for the fuzzer and tests). */
int vici_conns_from_event(const struct vici_node *msg, struct vici_conn_info **conns, size_t *n);
const struct vici_conn_info *vici_conn_find(const struct vici_conn_info *conns, size_t n, const char *name);

/* The algorithms charon's plugins provide (command get-algorithms), one
 * "SECTION/NAME" string each as charon names them, e.g. "aead/AES_GCM_16",
 * "prf/PRF_HMAC_SHA2_384", "dh/CURVE_25519" ("ke/..." from strongSwan 6):
 * *NAMES is NULL-terminated, free it with vici_strv_free. -EOPNOTSUPP from a
 * charon too old to tell. */
int vici_get_algorithms(struct vici *v, char ***names, size_t *n);

/* An IKE pre-shared key, unique ID ID (for unload), for the identities OWNERS
 * (NULL-terminated, e.g. both site names). */
int vici_load_shared(struct vici *v, const char *id, const void *key, size_t len,
		     const char *const *owners);
int vici_unload_shared(struct vici *v, const char *id);
/* The unique IDs of the shared keys loaded with one. */
int vici_get_shared(struct vici *v, char ***ids, size_t *n);

/* An Ed25519 private key (PKCS#8 DER). KEYID (41 bytes, may be NULL) gets
 * charon's ID for it: the hex SHA-1 of the raw public key, for unload. */
int vici_load_key(struct vici *v, const void *der, size_t len, char keyid[41]);
int vici_unload_key(struct vici *v, const char *keyid);
int vici_get_keys(struct vici *v, char ***keyids, size_t *n);

/*
 * Initiate CHILD (its IKE_SA with it) and wait up to TIMEOUT_MS for charon's
 * result (-1: do not wait). On failure v->err holds charon's errmsg and the
 * reason its log gave (e.g. "received AUTHENTICATION_FAILED notify error"),
 * v->log the log lines. -ETIMEDOUT: not established within TIMEOUT_MS (charon
 * keeps trying); -EALREADY: established already (charon then keeps the SA and
 * refuses a duplicate); -ENOENT: no such connection.
 */
int vici_initiate(struct vici *v, const char *child, int timeout_ms);
/* Queue a rekeying of the IKE_SA(s) of connection IKE (charon answers at once;
 * the exchange follows). REAUTH: a new IKE_SA, authenticated again (with the
 * credentials loaded now: a changed key takes effect); plain IKE rekeying
 * does not authenticate again. -ENOENT when there is no such SA. */
int vici_rekey(struct vici *v, const char *ike, bool reauth);
/* Terminate the IKE_SA(s) of connection IKE. -ENOENT when there is none. */
int vici_terminate(struct vici *v, const char *ike, int timeout_ms);

struct vici_child_sa {
	char name[VICI_NAME_MAX + 1];
	unsigned uniqueid, reqid;
	char state[24], mode[16], protocol[8];
	bool encap;
	uint32_t spi_in, spi_out;
	char encr_alg[32], dh_group[32];
	unsigned encr_keysize;
	uint64_t bytes_in, packets_in, bytes_out, packets_out;
	int64_t install_time, rekey_time, life_time;	/* seconds; -1 when absent */
};

struct vici_ike_sa {
	char name[VICI_NAME_MAX + 1];
	unsigned uniqueid;
	char state[24];
	char local_host[64], remote_host[64];
	char local_id[VICI_NAME_MAX + 1], remote_id[VICI_NAME_MAX + 1];
	bool initiator, nat_local, nat_remote, nat_any;
	char encr_alg[32], prf_alg[32], dh_group[32];
	unsigned encr_keysize;
	int64_t established, rekey_time;	/* seconds; -1 when absent */
	struct vici_child_sa *children;
	size_t n_children;
};

/* The IKE_SAs (all, or those of connection IKE) and their CHILD_SAs.
 * Free with vici_sas_free. */
int vici_list_sas(struct vici *v, const char *ike, struct vici_ike_sa **sas, size_t *n);
void vici_sas_free(struct vici_ike_sa *sas, size_t n);
/* Append the IKE_SAs of one list-sa event MSG to *SAS and *N (the parse that
 * vici_list_sas does, exposed for the fuzzer). 0, -EPROTO or -ENOMEM. */
int vici_sas_from_event(const struct vici_node *msg, struct vici_ike_sa **sas, size_t *n);

#endif
