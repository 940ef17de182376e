/* test_vici.c - the VICI client: message encoding and parsing, bad input,
 * the transport against a scripted server (timeouts, broken answers), the
 * connection message. The tests against a real charon are in test_vici_cmd.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vici.h"

/* The encoding example of strongSwan's vici README */
static const uint8_t readme_example[] = {
	3, 4, 'k', 'e', 'y', '1', 0, 6, 'v', 'a', 'l', 'u', 'e', '1',
	1, 8, 's', 'e', 'c', 't', 'i', 'o', 'n', '1',
	1, 11, 's', 'u', 'b', '-', 's', 'e', 'c', 't', 'i', 'o', 'n',
	3, 4, 'k', 'e', 'y', '2', 0, 6, 'v', 'a', 'l', 'u', 'e', '2',
	2,
	4, 5, 'l', 'i', 's', 't', '1',
	5, 0, 5, 'i', 't', 'e', 'm', '1',
	5, 0, 5, 'i', 't', 'e', 'm', '2',
	6,
	2,
};

static void build_readme(struct vici_msg *m)
{
	vici_msg_init(m);
	vici_kv_str(m, "key1", "value1");
	vici_begin(m, "section1");
	vici_begin(m, "sub-section");
	vici_kv_str(m, "key2", "value2");
	vici_end(m);
	vici_list(m, "list1");
	vici_item_str(m, "item1");
	vici_item_str(m, "item2");
	vici_list_end(m);
	vici_end(m);
}

static void test_readme_example_encodes(void **state)
{
	struct vici_msg m;

	(void)state;
	build_readme(&m);
	assert_int_equal(vici_msg_check(&m), 0);
	assert_int_equal(m.len, sizeof(readme_example));
	assert_memory_equal(m.buf, readme_example, sizeof(readme_example));
	vici_msg_free(&m);
}

static void test_readme_example_parses(void **state)
{
	struct vici_node *root;
	const struct vici_node *s1, *sub, *l, *i;

	(void)state;
	assert_int_equal(vici_parse(readme_example, sizeof(readme_example), &root, NULL, 0), 0);
	assert_string_equal(vici_str(root, "key1"), "value1");
	s1 = vici_find(root, "section1");
	assert_non_null(s1);
	assert_int_equal(s1->kind, VICI_NODE_SECTION);
	sub = vici_find(s1, "sub-section");
	assert_non_null(sub);
	assert_string_equal(vici_str(sub, "key2"), "value2");
	assert_null(vici_str(s1, "key2"));	/* not inherited */
	l = vici_find(s1, "list1");
	assert_non_null(l);
	assert_int_equal(l->kind, VICI_NODE_LIST);
	i = l->first;
	assert_string_equal(vici_node_str(i), "item1");
	assert_string_equal(vici_node_str(i->next), "item2");
	assert_null(i->next->next);
	assert_null(vici_str(root, "section1"));	/* a section is no string */
	vici_free(root);
}

/* What parses encodes back to exactly the same bytes. */
static void assert_round_trip(const uint8_t *buf, size_t len)
{
	struct vici_node *root;
	struct vici_msg m;
	char why[160];

	assert_int_equal(vici_parse(buf, len, &root, why, sizeof(why)), 0);
	vici_msg_init(&m);
	vici_encode_tree(&m, root);
	assert_int_equal(vici_msg_check(&m), 0);
	assert_int_equal(m.len, len);
	if (len)
		assert_memory_equal(m.buf, buf, len);
	vici_msg_free(&m);
	vici_free(root);
}

static void test_round_trip_edges(void **state)
{
	static uint8_t big[65535];
	char name255[256];
	const uint8_t binary[] = { 0, 1, 2, 0xff, 0 };
	struct vici_msg m;
	struct vici_node *root;
	const struct vici_node *n;

	(void)state;
	memset(name255, 'n', 255);
	name255[255] = '\0';
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	vici_msg_init(&m);
	vici_kv(&m, "", "", 0);			/* empty name and value */
	vici_kv(&m, name255, big, sizeof(big));	/* the longest name and value */
	vici_kv(&m, "bin", binary, sizeof(binary));
	vici_list(&m, "empty");
	vici_list_end(&m);
	vici_begin(&m, "");
	vici_end(&m);
	for (int d = 0; d < VICI_DEPTH_MAX; d++)
		vici_begin(&m, "deep");
	vici_list(&m, "l");
	vici_item(&m, binary, sizeof(binary));
	vici_item(&m, "", 0);
	vici_list_end(&m);
	for (int d = 0; d < VICI_DEPTH_MAX; d++)
		vici_end(&m);
	assert_int_equal(vici_msg_check(&m), 0);
	assert_round_trip(m.buf, m.len);

	assert_int_equal(vici_parse(m.buf, m.len, &root, NULL, 0), 0);
	n = vici_find(root, name255);
	assert_non_null(n);
	assert_int_equal(n->len, sizeof(big));
	assert_memory_equal(n->value, big, sizeof(big));
	assert_int_equal(n->value[n->len], 0);	/* NUL after the bytes */
	n = vici_find(root, "bin");
	assert_int_equal(n->len, sizeof(binary));
	assert_null(vici_node_str(n));		/* holds NUL bytes: no string */
	assert_non_null(vici_find(root, "empty"));
	assert_null(vici_find(root, "empty")->first);
	vici_free(root);
	vici_msg_free(&m);

	assert_round_trip(NULL, 0);		/* the empty message */
	assert_round_trip(readme_example, sizeof(readme_example));
}

static void test_builder_misuse(void **state)
{
	char name256[257];
	static uint8_t big[65536];
	struct vici_msg m;

	(void)state;
	memset(name256, 'x', 256);
	name256[256] = '\0';

#define MISUSE(calls, want) do { vici_msg_init(&m); calls; \
	assert_int_equal(vici_msg_check(&m), want); vici_msg_free(&m); } while (0)
	MISUSE(vici_kv_str(&m, name256, "v"), -EINVAL);
	MISUSE(vici_kv(&m, "k", big, sizeof(big)), -EINVAL);
	MISUSE(vici_begin(&m, name256), -EINVAL);
	MISUSE(vici_end(&m), -EINVAL);
	MISUSE(vici_list_end(&m), -EINVAL);
	MISUSE(vici_item_str(&m, "i"), -EINVAL);
	MISUSE((vici_list(&m, "l"), vici_kv_str(&m, "k", "v")), -EINVAL);
	MISUSE((vici_list(&m, "l"), vici_list(&m, "l2")), -EINVAL);
	MISUSE((vici_list(&m, "l"), vici_begin(&m, "s")), -EINVAL);
	MISUSE((vici_list(&m, "l"), vici_end(&m)), -EINVAL);
	MISUSE(vici_begin(&m, "open"), -EINVAL);
	MISUSE(vici_list(&m, "open"), -EINVAL);
	MISUSE(vici_kv_str(&m, "k", NULL), -EINVAL);
	MISUSE(vici_kv(&m, "k", NULL, 3), -EINVAL);
	MISUSE(for (int d = 0; d <= VICI_DEPTH_MAX; d++) vici_begin(&m, "d"), -EINVAL);
	/* beyond a packet: 9 values of 64 KiB */
	MISUSE(for (int i = 0; i < 9; i++) vici_kv(&m, "k", big, 65535), -EMSGSIZE);
	/* the first error stays, later calls do nothing */
	vici_msg_init(&m);
	vici_end(&m);
	vici_kv_str(&m, "k", "v");
	assert_int_equal(m.len, 0);
	assert_int_equal(vici_msg_check(&m), -EINVAL);
	vici_msg_free(&m);
#undef MISUSE
}

static int parse_bytes(const uint8_t *buf, size_t len, char *why)
{
	struct vici_node *root;
	int ret = vici_parse(buf, len, &root, why, 160);

	if (ret == 0) {
		assert_round_trip(buf, len);
		vici_free(root);
	}
	return ret;
}

/* Every prefix of a valid message either fails cleanly or is itself a valid
 * message (cut between complete top-level elements). */
static void test_truncations(void **state)
{
	struct vici_msg m;
	char why[160];
	size_t valid = 0;

	(void)state;
	build_readme(&m);
	vici_kv(&m, "bin", "\0\1\2", 3);
	for (size_t len = 0; len <= m.len; len++) {
		int ret = parse_bytes(m.buf, len, why);

		if (ret == 0)
			valid++;
		else
			assert_int_equal(ret, -EPROTO);
	}
	/* empty, after key1, whole readme, whole with bin */
	assert_int_equal(valid, 4);
	vici_msg_free(&m);
}

static void test_malicious(void **state)
{
	char why[160];
	uint8_t deep[2 * (VICI_DEPTH_MAX + 1) + 1 + VICI_DEPTH_MAX + 1];
	size_t n = 0;

	(void)state;
#define BAD(...) do { const uint8_t b[] = { __VA_ARGS__ }; \
	assert_int_equal(parse_bytes(b, sizeof(b), why), -EPROTO); } while (0)
#define GOOD(...) do { const uint8_t b[] = { __VA_ARGS__ }; \
	assert_int_equal(parse_bytes(b, sizeof(b), why), 0); } while (0)
	BAD(0);					/* no element type 0 */
	BAD(7);
	BAD(255);
	BAD(3);					/* name length missing */
	BAD(3, 5, 'a', 'b');			/* name runs past the end */
	BAD(3, 1, 'a');				/* value length missing */
	BAD(3, 1, 'a', 0);			/* half a value length */
	BAD(3, 1, 'a', 0, 3, 'x');		/* value runs past the end */
	BAD(3, 1, 'a', 0xff, 0xff, 'x');	/* 65535 claimed, 1 there */
	BAD(3, 2, 'a', 0, 0, 0);		/* NUL in a name */
	BAD(1, 1, 's');				/* section not closed */
	BAD(2);					/* end without section */
	BAD(1, 1, 's', 2, 2);
	BAD(4, 1, 'l');				/* list not closed */
	BAD(6);					/* list end without list */
	BAD(5, 0, 0);				/* item outside a list */
	BAD(4, 1, 'l', 4, 1, 'm', 6, 6);	/* nested list */
	BAD(4, 1, 'l', 3, 1, 'k', 0, 0, 6);	/* key/value in a list */
	BAD(4, 1, 'l', 1, 1, 's', 2, 6);	/* section in a list */
	BAD(4, 1, 'l', 2, 6);			/* section end in a list */
	BAD(1, 1, 's', 4, 1, 'l', 2);		/* section closed with its list open */
	GOOD(1, 0, 2);				/* empty section name */
	GOOD(4, 1, 'l', 5, 0, 0, 6);		/* empty item */
	GOOD(3, 1, 'a', 0, 0, 3, 1, 'a', 0, 0);	/* duplicate keys are kept */
	/* nesting: VICI_DEPTH_MAX sections parse, one more does not */
	for (int d = 0; d < VICI_DEPTH_MAX; d++) {
		deep[n++] = 1;
		deep[n++] = 0;
	}
	for (int d = 0; d < VICI_DEPTH_MAX; d++)
		deep[n++] = 2;
	assert_int_equal(parse_bytes(deep, n, why), 0);
	n = 0;
	for (int d = 0; d <= VICI_DEPTH_MAX; d++) {
		deep[n++] = 1;
		deep[n++] = 0;
	}
	for (int d = 0; d <= VICI_DEPTH_MAX; d++)
		deep[n++] = 2;
	assert_int_equal(parse_bytes(deep, n, why), -EPROTO);
	assert_non_null(strstr(why, "deeper"));
	/* longer than a packet */
	{
		uint8_t *huge = calloc(1, VICI_PACKET_MAX + 1);
		struct vici_node *root;

		assert_non_null(huge);
		assert_int_equal(vici_parse(huge, VICI_PACKET_MAX + 1, &root, why, sizeof(why)), -EPROTO);
		assert_null(root);
		free(huge);
	}
#undef BAD
#undef GOOD
}

static void test_numbers_and_strings(void **state)
{
	struct vici_msg m;
	struct vici_node *root;
	uint64_t x = 42;

	(void)state;
	vici_msg_init(&m);
	vici_kv_str(&m, "n", "123");
	vici_kv_str(&m, "max", "18446744073709551615");
	vici_kv_str(&m, "over", "18446744073709551616");
	vici_kv_str(&m, "neg", "-1");
	vici_kv_str(&m, "empty", "");
	vici_kv_str(&m, "hex", "12a");
	vici_kv(&m, "nul", "1\0002", 3);
	vici_kv_str(&m, "y", "yes");
	vici_kv_str(&m, "n2", "no");
	vici_list(&m, "list");
	vici_list_end(&m);
	assert_int_equal(vici_parse(m.buf, m.len, &root, NULL, 0), 0);
	assert_int_equal(vici_u64(root, "n", &x), 0);
	assert_int_equal(x, 123);
	assert_int_equal(vici_u64(root, "max", &x), 0);
	assert_true(x == UINT64_MAX);
	assert_int_equal(vici_u64(root, "over", &x), -EINVAL);
	assert_int_equal(vici_u64(root, "neg", &x), -EINVAL);
	assert_int_equal(vici_u64(root, "empty", &x), -EINVAL);
	assert_int_equal(vici_u64(root, "hex", &x), -EINVAL);
	assert_int_equal(vici_u64(root, "nul", &x), -EINVAL);
	assert_int_equal(vici_u64(root, "list", &x), -EINVAL);
	assert_int_equal(vici_u64(root, "absent", &x), -ENOENT);
	assert_true(x == UINT64_MAX);		/* untouched by failures */
	assert_null(vici_str(root, "nul"));
	assert_null(vici_str(root, "list"));
	assert_true(vici_yes(root, "y"));
	assert_false(vici_yes(root, "n2"));
	assert_false(vici_yes(root, "absent"));
	assert_null(vici_find(NULL, "x"));
	vici_free(root);
	vici_msg_free(&m);
}

static void test_packet_split(void **state)
{
	uint8_t type;
	char name[256];
	const uint8_t *msg;
	size_t mlen;
	const uint8_t event[] = { 7, 3, 'a', 'b', 'c', 3, 1, 'k', 0, 0 };
	const uint8_t resp[] = { 1, 3, 1, 'k', 0, 0 };
	const uint8_t bad_name[] = { 7, 9, 'a' };
	const uint8_t nul_name[] = { 0, 2, 'a', 0 };
	const uint8_t bad_type[] = { 8 };
	const uint8_t no_name[] = { 3 };

	(void)state;
	assert_int_equal(vici_packet_split(event, sizeof(event), &type, name, &msg, &mlen), 0);
	assert_int_equal(type, VICI_EVENT);
	assert_string_equal(name, "abc");
	assert_ptr_equal(msg, event + 5);
	assert_int_equal(mlen, 5);
	assert_int_equal(vici_packet_split(resp, sizeof(resp), &type, name, &msg, &mlen), 0);
	assert_int_equal(type, VICI_CMD_RESPONSE);
	assert_string_equal(name, "");
	assert_int_equal(mlen, 5);
	assert_int_equal(vici_packet_split(bad_name, sizeof(bad_name), &type, name, &msg, &mlen), -EPROTO);
	assert_int_equal(vici_packet_split(nul_name, sizeof(nul_name), &type, name, &msg, &mlen), -EPROTO);
	assert_int_equal(vici_packet_split(bad_type, sizeof(bad_type), &type, name, &msg, &mlen), -EPROTO);
	assert_int_equal(vici_packet_split(no_name, sizeof(no_name), &type, name, &msg, &mlen), -EPROTO);
	assert_int_equal(vici_packet_split(event, 0, &type, name, &msg, &mlen), -EPROTO);
}

static void test_print(void **state)
{
	struct vici_msg m;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	static const char *const secret[] = { "data", NULL };

	(void)state;
	vici_msg_init(&m);
	vici_begin(&m, "conn");
	vici_kv_str(&m, "version", "2");
	vici_list(&m, "proposals");
	vici_item_str(&m, "a");
	vici_item_str(&m, "b");
	vici_list_end(&m);
	vici_kv(&m, "blob", "\x30\x2a\x00", 3);
	vici_kv_str(&m, "data", "the key");
	vici_end(&m);
	assert_int_equal(vici_msg_print(&m, f, secret), 0);
	fclose(f);
	assert_string_equal(text, "conn {\n    version = 2\n    proposals = a, b\n"
			    "    blob = <3 bytes>\n    data = <secret>\n}\n");
	free(text);
	vici_msg_free(&m);
}

/* ---- the connection message ---------------------------------------------- */

static const struct vici_conn_spec base_spec = {
	.name = "gatewayctl-manhattan-brooklyn",
	.local_addr = "172.16.1.12",
	.remote_addr = "172.17.2.10",
	.local_id = "manhattan",
	.remote_id = "brooklyn",
	.auth = VICI_AUTH_PSK,
	.start_action = VICI_START_TRAP,
	.close_action = VICI_CLOSE_NONE,
};

static struct vici_node *conn_tree(const struct vici_conn_spec *s)
{
	struct vici_msg m;
	struct vici_node *root;
	char why[200];

	vici_msg_init(&m);
	assert_int_equal(vici_conn_msg(s, &m, why, sizeof(why)), 0);
	assert_int_equal(vici_parse(m.buf, m.len, &root, NULL, 0), 0);
	vici_msg_free(&m);
	return root;
}

static void assert_list(const struct vici_node *sec, const char *name, const char *const *want)
{
	const struct vici_node *l = vici_find(sec, name), *i;

	assert_non_null(l);
	assert_int_equal(l->kind, VICI_NODE_LIST);
	for (i = l->first; *want; want++, i = i->next) {
		assert_non_null(i);
		assert_string_equal(vici_node_str(i), *want);
	}
	assert_null(i);
}

static void test_conn_msg_psk(void **state)
{
	struct vici_node *root = conn_tree(&base_spec);
	const struct vici_node *c = vici_find(root, "gatewayctl-manhattan-brooklyn"), *ch;
	static const char *const ike[] = { "aes256gcm16-prfsha384-x25519", "chacha20poly1305-prfsha256-x25519", NULL };
	static const char *const esp[] = { "aes256gcm16-x25519", "chacha20poly1305-x25519", NULL };
	static const char *const dyn[] = { "dynamic[4]", NULL };
	static const char *const local[] = { "172.16.1.12", NULL };
	static const char *const remote[] = { "172.17.2.10", NULL };

	(void)state;
	assert_non_null(c);
	assert_null(c->next);			/* one connection, nothing else */
	assert_string_equal(vici_str(c, "version"), "2");
	assert_string_equal(vici_str(c, "mobike"), "yes");	/* the watcher follows its moves */
	assert_list(c, "local_addrs", local);
	assert_list(c, "remote_addrs", remote);
	assert_list(c, "proposals", ike);
	assert_string_equal(vici_str(c, "dpd_delay"), "30s");
	assert_string_equal(vici_str(c, "encap"), "no");
	assert_null(vici_find(c, "rekey_time"));	/* charon's default */
	assert_string_equal(vici_str(vici_find(c, "local"), "auth"), "psk");
	assert_string_equal(vici_str(vici_find(c, "local"), "id"), "manhattan");
	assert_null(vici_find(vici_find(c, "local"), "pubkeys"));
	assert_string_equal(vici_str(vici_find(c, "remote"), "id"), "brooklyn");
	ch = vici_find(vici_find(c, "children"), "gatewayctl-manhattan-brooklyn");
	assert_non_null(ch);
	assert_string_equal(vici_str(ch, "mode"), "transport");
	assert_list(ch, "local_ts", dyn);
	assert_list(ch, "remote_ts", dyn);
	assert_list(ch, "esp_proposals", esp);
	assert_string_equal(vici_str(ch, "start_action"), "trap");
	assert_string_equal(vici_str(ch, "dpd_action"), "restart");
	assert_string_equal(vici_str(ch, "close_action"), "none");
	vici_free(root);
}

/* a tunnel carrying IPv6 too: one traffic selector per protocol, each side;
 * IKE over IPv6: the addresses as given */
static void test_conn_msg_protocols(void **state)
{
	struct vici_conn_spec s = base_spec;
	struct vici_node *root;
	const struct vici_node *ch;
	static const char *const dyn[] = { "dynamic[4]", "dynamic[41]", NULL };
	static const char *const local[] = { "2001:db8:a::12", NULL };
	static const char *const remote[] = { "2001:db8:b::10", NULL };

	(void)state;
	s.protocols[0] = 4;
	s.protocols[1] = 41;
	s.local_addr = local[0];
	s.remote_addr = remote[0];
	root = conn_tree(&s);
	assert_list(vici_find(root, s.name), "local_addrs", local);
	assert_list(vici_find(root, s.name), "remote_addrs", remote);
	ch = vici_find(vici_find(vici_find(root, s.name), "children"), s.name);
	assert_string_equal(vici_str(ch, "mode"), "transport");
	assert_list(ch, "local_ts", dyn);
	assert_list(ch, "remote_ts", dyn);
	vici_free(root);
}

static void test_conn_msg_pubkey(void **state)
{
	struct vici_conn_spec s = base_spec;
	struct vici_node *root;
	const struct vici_node *c, *l;
	static const uint8_t prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	static const char *const one[] = { "aes256gcm16-x25519", NULL };

	(void)state;
	s.auth = VICI_AUTH_PUBKEY;
	memset(s.local_pubkey, 0x11, 32);
	memset(s.remote_pubkey, 0x22, 32);
	s.local_addr = NULL;
	s.dpd_delay = 10;
	s.ike_rekey_time = 3600;
	s.child_rekey_time = 600;
	s.encap = true;
	s.start_action = VICI_START_TRAP_START;
	s.close_action = VICI_CLOSE_START;
	s.esp_proposals = one;
	root = conn_tree(&s);
	c = vici_find(root, s.name);
	assert_string_equal(vici_node_str(vici_find(c, "local_addrs")->first), "%any");
	assert_string_equal(vici_str(c, "dpd_delay"), "10s");
	assert_string_equal(vici_str(c, "rekey_time"), "3600s");
	assert_string_equal(vici_str(c, "encap"), "yes");
	assert_string_equal(vici_str(vici_find(c, "remote"), "auth"), "pubkey");
	/* RFC 8410 SubjectPublicKeyInfo of each side's key */
	l = vici_find(vici_find(c, "remote"), "pubkeys");
	assert_non_null(l);
	assert_int_equal(l->first->len, 44);
	assert_memory_equal(l->first->value, prefix, 12);
	assert_int_equal(l->first->value[12], 0x22);
	assert_int_equal(l->first->value[43], 0x22);
	l = vici_find(vici_find(c, "local"), "pubkeys");
	assert_int_equal(l->first->value[43], 0x11);
	c = vici_find(vici_find(c, "children"), s.name);
	assert_string_equal(vici_str(c, "rekey_time"), "600s");
	assert_string_equal(vici_str(c, "start_action"), "trap|start");
	assert_string_equal(vici_str(c, "close_action"), "start");
	assert_list(c, "esp_proposals", one);
	vici_free(root);
}

static void test_conn_msg_refuses(void **state)
{
	static const char *const empty[] = { NULL };
	static const char *const bad[] = { "aes256gcm16 x25519", NULL };
	char long_name[VICI_NAME_MAX + 2];
	struct vici_conn_spec s;
	struct vici_msg m;
	char why[200];

	(void)state;
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
#define REFUSE(field, value) do { s = base_spec; s.field = value; vici_msg_init(&m); \
	assert_int_equal(vici_conn_msg(&s, &m, why, sizeof(why)), -EINVAL); \
	assert_true(why[0] != '\0'); vici_msg_free(&m); } while (0)
	REFUSE(name, NULL);
	REFUSE(name, "");
	REFUSE(name, "has space");
	REFUSE(name, "quote\"");
	REFUSE(name, long_name);
	REFUSE(local_id, "a=b");
	REFUSE(remote_id, NULL);
	REFUSE(remote_id, "x y");
	REFUSE(local_addr, "172.16.1.300");
	REFUSE(local_addr, "");
	REFUSE(remote_addr, NULL);
	REFUSE(remote_addr, "brooklyn.example");
	REFUSE(ike_proposals, empty);
	REFUSE(esp_proposals, bad);
	REFUSE(auth, (enum vici_auth)7);
	REFUSE(start_action, (enum vici_start)9);
	REFUSE(close_action, (enum vici_close)9);
#undef REFUSE
	s = base_spec;
	s.remote_addr = "2001:db8::1";		/* IPv6 is fine */
	vici_msg_init(&m);
	assert_int_equal(vici_conn_msg(&s, &m, why, sizeof(why)), 0);
	vici_msg_free(&m);
}

/* ---- list-sa events ---------------------------------------------------------- */

static void build_list_sa(struct vici_msg *m)
{
	vici_msg_init(m);
	vici_begin(m, "gatewayctl-m-b");
	vici_kv_str(m, "uniqueid", "7");
	vici_kv_str(m, "version", "2");
	vici_kv_str(m, "state", "ESTABLISHED");
	vici_kv_str(m, "local-host", "172.16.1.12");
	vici_kv_str(m, "remote-host", "172.17.2.10");
	vici_kv_str(m, "local-id", "manhattan");
	vici_kv_str(m, "remote-id", "brooklyn");
	vici_kv_str(m, "initiator", "yes");
	vici_kv_str(m, "nat-remote", "yes");
	vici_kv_str(m, "nat-any", "yes");
	vici_kv_str(m, "encr-alg", "AES_GCM_16");
	vici_kv_str(m, "encr-keysize", "256");
	vici_kv_str(m, "prf-alg", "PRF_HMAC_SHA2_384");
	vici_kv_str(m, "dh-group", "CURVE_25519");
	vici_kv_str(m, "established", "12");
	vici_kv_str(m, "rekey-time", "13000");
	vici_list(m, "tasks-queued");
	vici_list_end(m);
	vici_begin(m, "child-sas");
	vici_begin(m, "gatewayctl-m-b-3");
	vici_kv_str(m, "name", "gatewayctl-m-b");
	vici_kv_str(m, "uniqueid", "3");
	vici_kv_str(m, "reqid", "1");
	vici_kv_str(m, "state", "INSTALLED");
	vici_kv_str(m, "mode", "TRANSPORT");
	vici_kv_str(m, "protocol", "ESP");
	vici_kv_str(m, "encap", "yes");
	vici_kv_str(m, "spi-in", "c0ffee01");
	vici_kv_str(m, "spi-out", "0000beef");
	vici_kv_str(m, "encr-alg", "AES_GCM_16");
	vici_kv_str(m, "encr-keysize", "256");
	vici_kv_str(m, "dh-group", "CURVE_25519");
	vici_kv_str(m, "bytes-in", "123456789012");
	vici_kv_str(m, "packets-in", "99");
	vici_kv_str(m, "bytes-out", "5");
	vici_kv_str(m, "packets-out", "1");
	vici_kv_str(m, "rekey-time", "3000");
	vici_kv_str(m, "life-time", "3500");
	vici_kv_str(m, "install-time", "12");
	vici_end(m);
	vici_end(m);
	vici_end(m);
	assert_int_equal(vici_msg_check(m), 0);
}

static void test_list_sa_event(void **state)
{
	struct vici_msg m;
	struct vici_node *root;
	struct vici_ike_sa *sas = NULL;
	size_t n = 0;
	const struct vici_child_sa *c;

	(void)state;
	build_list_sa(&m);
	assert_int_equal(vici_parse(m.buf, m.len, &root, NULL, 0), 0);
	assert_int_equal(vici_sas_from_event(root, &sas, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sas[0].name, "gatewayctl-m-b");
	assert_int_equal(sas[0].uniqueid, 7);
	assert_string_equal(sas[0].state, "ESTABLISHED");
	assert_string_equal(sas[0].remote_host, "172.17.2.10");
	assert_string_equal(sas[0].remote_id, "brooklyn");
	assert_true(sas[0].initiator);
	assert_false(sas[0].nat_local);
	assert_true(sas[0].nat_remote);
	assert_true(sas[0].nat_any);
	assert_string_equal(sas[0].encr_alg, "AES_GCM_16");
	assert_int_equal(sas[0].encr_keysize, 256);
	assert_string_equal(sas[0].dh_group, "CURVE_25519");
	assert_int_equal(sas[0].established, 12);
	assert_int_equal(sas[0].rekey_time, 13000);
	assert_int_equal(sas[0].n_children, 1);
	c = &sas[0].children[0];
	assert_string_equal(c->name, "gatewayctl-m-b");
	assert_int_equal(c->uniqueid, 3);
	assert_string_equal(c->state, "INSTALLED");
	assert_string_equal(c->mode, "TRANSPORT");
	assert_true(c->encap);
	assert_int_equal(c->spi_in, 0xc0ffee01);
	assert_int_equal(c->spi_out, 0xbeef);
	assert_true(c->bytes_in == 123456789012ULL);
	assert_int_equal(c->packets_in, 99);
	assert_int_equal(c->bytes_out, 5);
	assert_int_equal(c->install_time, 12);
	assert_int_equal(c->rekey_time, 3000);
	assert_int_equal(c->life_time, 3500);
	/* a second event appends */
	assert_int_equal(vici_sas_from_event(root, &sas, &n), 0);
	assert_int_equal(n, 2);
	vici_sas_free(sas, n);
	vici_free(root);
	vici_msg_free(&m);
}

static void test_list_sa_event_odd(void **state)
{
	struct vici_msg m;
	struct vici_node *root;
	struct vici_ike_sa *sas = NULL;
	size_t n = 0;

	(void)state;
	/* a connecting SA: no times, no children; bad numbers read as absent/0 */
	vici_msg_init(&m);
	vici_kv_str(&m, "stray", "value");
	vici_begin(&m, "c");
	vici_kv_str(&m, "state", "CONNECTING");
	vici_kv_str(&m, "uniqueid", "99999999999999999999");
	vici_kv_str(&m, "encr-keysize", "x");
	vici_begin(&m, "child-sas");
	vici_begin(&m, "k");
	vici_kv_str(&m, "spi-in", "123456789");	/* 9 hex digits */
	vici_kv_str(&m, "spi-out", "xyz");
	vici_end(&m);
	vici_end(&m);
	vici_end(&m);
	assert_int_equal(vici_parse(m.buf, m.len, &root, NULL, 0), 0);
	assert_int_equal(vici_sas_from_event(root, &sas, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sas[0].uniqueid, 0);
	assert_int_equal(sas[0].encr_keysize, 0);
	assert_int_equal(sas[0].established, -1);
	assert_int_equal(sas[0].rekey_time, -1);
	assert_int_equal(sas[0].n_children, 1);
	assert_string_equal(sas[0].children[0].name, "k");	/* no `name`: the section's */
	assert_int_equal(sas[0].children[0].spi_in, 0);
	assert_int_equal(sas[0].children[0].spi_out, 0);
	vici_sas_free(sas, n);
	vici_free(root);
	vici_msg_free(&m);

	/* child-sas that is not a section */
	vici_msg_init(&m);
	vici_begin(&m, "c");
	vici_kv_str(&m, "child-sas", "oops");
	vici_end(&m);
	assert_int_equal(vici_parse(m.buf, m.len, &root, NULL, 0), 0);
	sas = NULL;
	n = 0;
	assert_int_equal(vici_sas_from_event(root, &sas, &n), -EPROTO);
	assert_int_equal(n, 0);
	vici_sas_free(sas, n);
	vici_free(root);
	vici_msg_free(&m);
}

/* ---- the transport, against a scripted server -------------------------------- */

static char sock_path[108];

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one packet into BUF (at most SIZE); its length, or -1. */
static ssize_t srv_read(int fd, uint8_t *buf, size_t size)
{
	uint8_t h[4];
	size_t n;

	if (read_full(fd, h, 4) < 0)
		return -1;
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n > size || read_full(fd, buf, n) < 0)
		return -1;
	return (ssize_t)n;
}

static void srv_send(int fd, uint8_t type, const char *name, const struct vici_msg *m)
{
	size_t nlen = name ? strlen(name) : 0, len = 1 + (name ? 1 + nlen : 0) + (m ? m->len : 0);
	uint8_t h[6] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
			 type, (uint8_t)nlen };

	if (write(fd, h, name ? 6 : 5) < 0 || (name && write(fd, name, nlen) < 0) ||
	    (m && m->len && write(fd, m->buf, m->len) < 0))
		_exit(3);
}

static void srv_ok(int fd, const char *errmsg)
{
	struct vici_msg m;

	vici_msg_init(&m);
	vici_kv_str(&m, "success", errmsg ? "no" : "yes");
	if (errmsg)
		vici_kv_str(&m, "errmsg", errmsg);
	srv_send(fd, VICI_CMD_RESPONSE, NULL, &m);
	vici_msg_free(&m);
}

enum script {
	S_SILENT, S_CLOSE, S_HUGE, S_UNKNOWN_THEN_OK, S_EVENTS, S_EVENT_UNKNOWN, S_MALFORMED,
	S_REFUSE, S_DRIP, S_BAD_TYPE, S_NO_ACCEPT, S_ALGORITHMS,
};

static void serve(int cfd, enum script s)
{
	uint8_t buf[4096];
	ssize_t n;
	struct vici_msg m;

	switch (s) {
	case S_SILENT:
		srv_read(cfd, buf, sizeof(buf));
		sleep(10);
		break;
	case S_CLOSE:
		srv_read(cfd, buf, sizeof(buf));
		break;
	case S_HUGE: {
		const uint8_t h[5] = { 0x00, 0x10, 0x00, 0x00, 1 };	/* 1 MiB claimed */

		srv_read(cfd, buf, sizeof(buf));
		if (write(cfd, h, sizeof(h)) < 0)
			_exit(3);
		sleep(10);
		break;
	}
	case S_UNKNOWN_THEN_OK:
		srv_read(cfd, buf, sizeof(buf));
		srv_send(cfd, VICI_CMD_UNKNOWN, NULL, NULL);
		srv_read(cfd, buf, sizeof(buf));
		srv_ok(cfd, NULL);
		break;
	case S_EVENTS:
		/* register, command, unregister; events around them */
		n = srv_read(cfd, buf, sizeof(buf));
		if (n < 9 || buf[0] != VICI_EVENT_REGISTER || memcmp(buf + 2, "list-sa", 7))
			_exit(4);
		srv_send(cfd, VICI_EVENT_CONFIRM, NULL, NULL);
		n = srv_read(cfd, buf, sizeof(buf));
		if (n < 10 || buf[0] != VICI_CMD_REQUEST || memcmp(buf + 2, "list-sas", 8))
			_exit(5);
		build_list_sa(&m);
		srv_send(cfd, VICI_EVENT, "list-sa", &m);
		srv_send(cfd, VICI_EVENT, "other-event", &m);
		srv_send(cfd, VICI_EVENT, "list-sa", &m);
		vici_msg_free(&m);
		srv_send(cfd, VICI_CMD_RESPONSE, NULL, NULL);
		n = srv_read(cfd, buf, sizeof(buf));
		if (n < 1 || buf[0] != VICI_EVENT_UNREGISTER)
			_exit(6);
		build_list_sa(&m);
		srv_send(cfd, VICI_EVENT, "list-sa", &m);	/* late: dropped */
		vici_msg_free(&m);
		srv_send(cfd, VICI_EVENT_CONFIRM, NULL, NULL);
		break;
	case S_EVENT_UNKNOWN:
		srv_read(cfd, buf, sizeof(buf));
		srv_send(cfd, VICI_EVENT_UNKNOWN, NULL, NULL);
		break;
	case S_MALFORMED: {
		const uint8_t p[] = { 0, 0, 0, 4, VICI_CMD_RESPONSE, 3, 9, 'x' };

		srv_read(cfd, buf, sizeof(buf));
		if (write(cfd, p, sizeof(p)) < 0)
			_exit(3);
		break;
	}
	case S_REFUSE:
		srv_read(cfd, buf, sizeof(buf));
		srv_ok(cfd, "invalid value for: proposals, config discarded");
		break;
	case S_DRIP: {
		struct vici_msg r;
		uint8_t out[64];
		size_t len;

		srv_read(cfd, buf, sizeof(buf));
		vici_msg_init(&r);
		vici_kv_str(&r, "daemon", "charon");
		vici_kv_str(&r, "version", "5.9.8");
		len = 1 + r.len;
		out[0] = out[1] = out[2] = 0;
		out[3] = (uint8_t)len;
		out[4] = VICI_CMD_RESPONSE;
		memcpy(out + 5, r.buf, r.len);
		for (size_t i = 0; i < 4 + len; i++) {
			if (write(cfd, out + i, 1) < 0)
				_exit(3);
			usleep(5000);
		}
		vici_msg_free(&r);
		break;
	}
	case S_BAD_TYPE:
		srv_read(cfd, buf, sizeof(buf));
		srv_send(cfd, VICI_EVENT_CONFIRM, NULL, NULL);
		break;
	case S_NO_ACCEPT:
		break;
	case S_ALGORITHMS:
		/* get-algorithms as strongSwan 5.9 answers it (abridged), then an
		 * older charon that does not know the command */
		n = srv_read(cfd, buf, sizeof(buf));
		if (n < 16 || buf[0] != VICI_CMD_REQUEST || memcmp(buf + 2, "get-algorithms", 14))
			_exit(4);
		vici_msg_init(&m);
		vici_begin(&m, "aead");
		vici_kv_str(&m, "AES_GCM_16", "aesni");
		vici_kv_str(&m, "CHACHA20_POLY1305", "openssl");
		vici_end(&m);
		vici_kv_str(&m, "stray", "a key outside any section");
		vici_begin(&m, "prf");
		vici_end(&m);
		vici_begin(&m, "dh");
		vici_kv_str(&m, "CURVE_25519", "openssl");
		vici_end(&m);
		srv_send(cfd, VICI_CMD_RESPONSE, NULL, &m);
		vici_msg_free(&m);
		srv_read(cfd, buf, sizeof(buf));
		srv_send(cfd, VICI_CMD_UNKNOWN, NULL, NULL);
		break;
	}
}

/* A server on sock_path running script S for one client; its pid. */
static pid_t fake_charon(enum script s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	assert_true(fd >= 0);
	snprintf(sock_path, sizeof(sock_path), "/tmp/gwt-vici-%d.sock", (int)getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd;

		if (s == S_NO_ACCEPT) {
			sleep(10);
			_exit(0);
		}
		cfd = accept(fd, NULL, NULL);
		if (cfd < 0)
			_exit(2);
		serve(cfd, s);
		close(cfd);
		_exit(0);
	}
	close(fd);
	return pid;
}

/* Stop the server (KILL) or wait for it to finish its script; its exit
 * status (0 = its script ran as expected). */
static int stop(pid_t pid, bool kill_it)
{
	int st = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	unlink(sock_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int reap(pid_t pid)
{
	return stop(pid, true);
}

static int finish(pid_t pid)
{
	return stop(pid, false);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_open_errors(void **state)
{
	struct vici v;
	int fd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	assert_int_equal(vici_open(&v, "/nonexistent/charon.vici"), -ENOENT);
	assert_non_null(strstr(v.err, "is it running"));
	assert_int_equal(v.fd, -1);
	/* a socket file nobody listens on: a charon that died */
	snprintf(sock_path, sizeof(sock_path), "/tmp/gwt-vici-dead-%d.sock", (int)getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(vici_open(&v, sock_path), -ECONNREFUSED);
	assert_non_null(strstr(v.err, sock_path));
	unlink(sock_path);
	/* calls on a closed connection */
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, NULL), -ENOTCONN);
	{
		char path[200];

		memset(path, 'p', sizeof(path) - 1);
		path[sizeof(path) - 1] = '\0';
		assert_int_equal(vici_open(&v, path), -EINVAL);
	}
}

/* A charon that reads the request and never answers: the call gives up at
 * the timeout and the connection is closed. */
static void test_hung_charon_times_out(void **state)
{
	pid_t pid = fake_charon(S_SILENT);
	struct vici v;
	int64_t t0;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 300;
	t0 = ms_now();
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, NULL), -ETIMEDOUT);
	assert_in_range(ms_now() - t0, 250, 2000);
	assert_non_null(strstr(v.err, "did not answer `version`"));
	assert_int_equal(v.fd, -1);
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, NULL), -ENOTCONN);
	reap(pid);
}

/* A charon that never accepts: the kernel queues the connection, the request
 * fits in the socket buffer, and the answer never comes: a timeout too. */
static void test_not_accepting_times_out(void **state)
{
	pid_t pid = fake_charon(S_NO_ACCEPT);
	struct vici v;
	struct vici_version ver;
	int64_t t0;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 300;
	t0 = ms_now();
	assert_int_equal(vici_version(&v, &ver), -ETIMEDOUT);
	assert_in_range(ms_now() - t0, 250, 2000);
	vici_close(&v);
	reap(pid);
}

static void test_charon_closes(void **state)
{
	pid_t pid = fake_charon(S_CLOSE);
	struct vici v;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, NULL), -ECONNRESET);
	assert_non_null(strstr(v.err, "closed the connection"));
	assert_int_equal(finish(pid), 0);
}

static void test_huge_length_refused(void **state)
{
	pid_t pid = fake_charon(S_HUGE);
	struct vici v;
	int64_t t0 = ms_now();

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 3000;
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, NULL), -EPROTO);
	assert_true(ms_now() - t0 < 1500);	/* refused at once, not read */
	assert_int_equal(v.fd, -1);
	reap(pid);
}

static void test_unknown_command(void **state)
{
	pid_t pid = fake_charon(S_UNKNOWN_THEN_OK);
	struct vici v;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_call(&v, "no-such", NULL, NULL, NULL, NULL, 0, NULL), -EOPNOTSUPP);
	assert_non_null(strstr(v.err, "no-such"));
	/* the connection stays usable */
	assert_int_equal(vici_call_checked(&v, "stats", NULL, NULL), 0);
	vici_close(&v);
	assert_int_equal(finish(pid), 0);
}

static void test_streamed_events(void **state)
{
	pid_t pid = fake_charon(S_EVENTS);
	struct vici v;
	struct vici_ike_sa *sas;
	size_t n;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_list_sas(&v, NULL, &sas, &n), 0);
	assert_int_equal(n, 2);			/* two list-sa events, not the other one */
	assert_string_equal(sas[1].children[0].name, "gatewayctl-m-b");
	vici_sas_free(sas, n);
	vici_close(&v);
	assert_int_equal(finish(pid), 0);
}

static void test_event_unknown(void **state)
{
	pid_t pid = fake_charon(S_EVENT_UNKNOWN);
	struct vici v;
	struct vici_ike_sa *sas;
	size_t n;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_list_sas(&v, NULL, &sas, &n), -EOPNOTSUPP);
	assert_null(sas);
	vici_close(&v);
	reap(pid);
}

static void test_malformed_answer(void **state)
{
	pid_t pid = fake_charon(S_MALFORMED);
	struct vici v;
	struct vici_node *r = (struct vici_node *)&r;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, &r), -EPROTO);
	assert_null(r);
	assert_non_null(strstr(v.err, "malformed"));
	vici_close(&v);
	reap(pid);
}

static void test_refusal_message(void **state)
{
	pid_t pid = fake_charon(S_REFUSE);
	struct vici v;
	struct vici_conn_spec s = base_spec;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_load_conn(&v, &s), -EREMOTEIO);
	assert_string_equal(v.err, "charon refused `load-conn`: invalid value for: proposals, config discarded");
	vici_close(&v);
	reap(pid);
}

static void test_algorithms(void **state)
{
	pid_t pid = fake_charon(S_ALGORITHMS);
	struct vici v;
	char **sv = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_get_algorithms(&v, &sv, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(sv[0], "aead/AES_GCM_16");
	assert_string_equal(sv[1], "aead/CHACHA20_POLY1305");
	assert_string_equal(sv[2], "dh/CURVE_25519");
	assert_null(sv[3]);
	vici_strv_free(sv);
	assert_int_equal(vici_get_algorithms(&v, &sv, &n), -EOPNOTSUPP);
	assert_null(sv);
	assert_int_equal(n, 0);
	vici_close(&v);
	assert_int_equal(finish(pid), 0);
}

static void test_answer_in_pieces(void **state)
{
	pid_t pid = fake_charon(S_DRIP);
	struct vici v;
	struct vici_version ver;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 3000;
	assert_int_equal(vici_version(&v, &ver), 0);
	assert_string_equal(ver.daemon, "charon");
	assert_string_equal(ver.version, "5.9.8");
	vici_close(&v);
	assert_int_equal(finish(pid), 0);
}

static void test_unexpected_packet(void **state)
{
	pid_t pid = fake_charon(S_BAD_TYPE);
	struct vici v;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 2000;
	assert_int_equal(vici_call(&v, "version", NULL, NULL, NULL, NULL, 0, NULL), -EPROTO);
	assert_int_equal(v.fd, -1);
	reap(pid);
}

/* A process that listens on the socket path as UID (when we are root; else as
 * ourselves): it answers every command with success and exits 7 as soon as a
 * packet holds the marker bytes of the key, 0 at the end of the stream. */
static pid_t listener_as(uid_t uid, const uint8_t *marker, size_t mlen)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	snprintf(sock_path, sizeof(sock_path), "/tmp/gwt-vici-peer-%d.sock", (int)getpid());
	unlink(sock_path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		uint8_t buf[8192];
		ssize_t n;
		int fd, cfd;

		close(ready[0]);
		if (geteuid() == 0 && uid != 0 && (setgid(65534) < 0 || setuid(uid) < 0))
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		strcpy(sa.sun_path, sock_path);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sock_path, 0777) < 0 ||
		    listen(fd, 1) < 0 || write(ready[1], "r", 1) != 1)
			_exit(2);
		cfd = accept(fd, NULL, NULL);
		if (cfd < 0)
			_exit(2);
		while ((n = srv_read(cfd, buf, sizeof(buf))) > 0) {
			if (memmem(buf, (size_t)n, marker, mlen))
				_exit(7);
			srv_ok(cfd, NULL);
		}
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

/* Keys go to root's charon only: a socket whose listener is another user's
 * (a path another user could have put in place of charon's) gets no key
 * (issue 18: SO_PEERCRED checked before load-shared and load-key). */
static void test_keys_only_to_root(void **state)
{
	static const uint8_t psk[] = "psk-marker-0123456789abcdef0123456789";
	static const char *const owners[] = { "a", "b", NULL };
	uint8_t der[48];
	struct vici v;
	pid_t pid;

	(void)state;
	memset(der, 0, sizeof(der));
	memcpy(der + 16, "der-marker-0123456789abcdef01234", 32);
	/* another user's listener: no key sent */
	pid = listener_as(65534, psk, 10);
	assert_int_equal(vici_open(&v, sock_path), 0);
	assert_int_equal(vici_load_shared(&v, "gatewayctl-a_b", psk, sizeof(psk) - 1, owners), -EPERM);
	assert_non_null(strstr(v.err, "not root"));
	vici_close(&v);
	assert_int_equal(finish(pid), 0);
	pid = listener_as(65534, der + 16, 10);
	assert_int_equal(vici_open(&v, sock_path), 0);
	assert_int_equal(vici_load_key(&v, der, sizeof(der), NULL), -EPERM);
	vici_close(&v);
	assert_int_equal(finish(pid), 0);
	/* root's listener (only root can run one): the key goes */
	if (geteuid() != 0)
		return;
	pid = listener_as(0, psk, 10);
	assert_int_equal(vici_open(&v, sock_path), 0);
	assert_int_equal(vici_load_shared(&v, "gatewayctl-a_b", psk, sizeof(psk) - 1, owners), -ECONNRESET);
	vici_close(&v);
	assert_int_equal(finish(pid), 7);
}

static void test_bad_arguments_send_nothing(void **state)
{
	pid_t pid = fake_charon(S_SILENT);
	struct vici v;
	struct vici_msg m;
	char **sv;
	size_t n;

	(void)state;
	assert_int_equal(vici_open(&v, sock_path), 0);
	v.timeout_ms = 300;
	vici_msg_init(&m);
	vici_begin(&m, "unclosed");
	assert_int_equal(vici_call(&v, "load-conn", &m, NULL, NULL, NULL, 0, NULL), -EINVAL);
	vici_msg_free(&m);
	assert_int_equal(vici_load_shared(&v, "id", "k", 1, NULL), -EINVAL);
	assert_int_equal(vici_load_key(&v, NULL, 0, NULL), -EINVAL);
	assert_int_equal(vici_unload_conn(&v, ""), -EINVAL);
	assert_int_equal(vici_initiate(&v, "c", -5), -EINVAL);
	/* still in step: nothing was sent, the next call is the one that hangs */
	assert_true(v.fd >= 0);
	assert_int_equal(vici_get_conns(&v, &sv, &n), -ETIMEDOUT);
	assert_null(sv);
	reap(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_example_encodes),
		cmocka_unit_test(test_readme_example_parses),
		cmocka_unit_test(test_round_trip_edges),
		cmocka_unit_test(test_builder_misuse),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_malicious),
		cmocka_unit_test(test_numbers_and_strings),
		cmocka_unit_test(test_packet_split),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_conn_msg_psk),
		cmocka_unit_test(test_conn_msg_pubkey),
		cmocka_unit_test(test_conn_msg_protocols),
		cmocka_unit_test(test_conn_msg_refuses),
		cmocka_unit_test(test_list_sa_event),
		cmocka_unit_test(test_list_sa_event_odd),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_hung_charon_times_out),
		cmocka_unit_test(test_not_accepting_times_out),
		cmocka_unit_test(test_charon_closes),
		cmocka_unit_test(test_huge_length_refused),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_streamed_events),
		cmocka_unit_test(test_event_unknown),
		cmocka_unit_test(test_malformed_answer),
		cmocka_unit_test(test_refusal_message),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_answer_in_pieces),
		cmocka_unit_test(test_unexpected_packet),
		cmocka_unit_test(test_bad_arguments_send_nothing),
		cmocka_unit_test(test_keys_only_to_root),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
