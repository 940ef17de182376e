/* test_ipsec.c - what ipsec.c and ipsec_conn.c decide without charon (issues
 * 18, 19): connection names that no two (site, peer) pairs share, a peer's
 * load-conn message and `plan`'s swanctl.conf text built from the site file
 * alone, charon's list-conn event read back, the kept key material's file,
 * up's refusal of a same-named connection that the site does not own. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ipsec.h"
#include "ipsec_conn.h"
#include "ipsec_keys.h"
#include "vici.h"

static void name_of(const char *site, const char *peer, char *out, size_t len)
{
	struct site s;
	struct peer p;

	memset(&s, 0, sizeof(s));
	memset(&p, 0, sizeof(p));
	snprintf(s.name, sizeof(s.name), "%s", site);
	snprintf(p.name, sizeof(p.name), "%s", peer);
	ipsec_conn_name(&s, &p, out, len);
}

/* The issue's example: site a with peer b-c, site a-b with peer c. */
static void test_names_issue_example(void **state)
{
	char one[VICI_NAME_MAX + 1], two[VICI_NAME_MAX + 1];

	(void)state;
	name_of("a", "b-c", one, sizeof(one));
	name_of("a-b", "c", two, sizeof(two));
	assert_string_equal(one, "gatewayctl-a_b-c");
	assert_string_equal(two, "gatewayctl-a-b_c");
	assert_string_not_equal(one, two);
	name_of("manhattan", "brooklyn", one, sizeof(one));
	assert_string_equal(one, "gatewayctl-manhattan_brooklyn");
}

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Every pair of names up to 4 characters over "a", "-" and "1" that
 * site_name_valid accepts: all names distinct, and each one tells its pair. */
static void test_names_unambiguous(void **state)
{
	static const char alpha[] = "a-1";
	char (*valid)[8] = calloc(200, sizeof(*valid));
	char (*names)[VICI_NAME_MAX + 1];
	size_t nv = 0, nn = 0;

	(void)state;
	assert_non_null(valid);
	for (int len = 1; len <= 4; len++) {
		int total = 1;

		for (int i = 0; i < len; i++)
			total *= 3;
		for (int k = 0; k < total; k++) {
			char w[8];
			int x = k;

			for (int i = 0; i < len; i++, x /= 3)
				w[i] = alpha[x % 3];
			w[len] = '\0';
			if (site_name_valid(w))
				snprintf(valid[nv++], sizeof(*valid), "%s", w);
		}
	}
	assert_int_equal(nv, 120);
	names = calloc(nv * nv, sizeof(*names));
	assert_non_null(names);
	for (size_t i = 0; i < nv; i++)
		for (size_t j = 0; j < nv; j++) {
			char *us;

			name_of(valid[i], valid[j], names[nn], sizeof(*names));
			/* the one '_' splits it back into the pair */
			us = strchr(names[nn], '_');
			assert_non_null(us);
			assert_null(strchr(us + 1, '_'));
			assert_int_equal((size_t)(us - names[nn]) - strlen(IPSEC_PREFIX), strlen(valid[i]));
			assert_string_equal(us + 1, valid[j]);
			nn++;
		}
	qsort(names, nn, sizeof(*names), cmp);
	for (size_t i = 1; i < nn; i++)
		assert_string_not_equal(names[i - 1], names[i]);
	/* names that could hold the separator are refused */
	assert_false(site_name_valid("a_b"));
	assert_false(site_name_valid("_"));
	free(names);
	free(valid);
}

/* list-conns as strongSwan 5.9.8 sends it (swanctl --list-conns --raw of a
 * connection loaded by swanctl), read back */
static void test_list_conn_event(void **state)
{
	struct vici_msg m;
	struct vici_node *root;
	struct vici_conn_info *conns = NULL;
	size_t n = 0;
	char why[200];

	(void)state;
	vici_msg_init(&m);
	vici_begin(&m, "gatewayctl-a_b-c");
	vici_list(&m, "local_addrs");
	vici_item_str(&m, "10.0.0.1");
	vici_list_end(&m);
	vici_list(&m, "remote_addrs");
	vici_item_str(&m, "10.0.0.2");
	vici_list_end(&m);
	vici_kv_str(&m, "version", "IKEv2");
	vici_begin(&m, "local-1");
	vici_kv_str(&m, "id", "a");
	vici_kv_str(&m, "class", "pre-shared key");
	vici_list(&m, "groups");
	vici_list_end(&m);
	vici_end(&m);
	vici_begin(&m, "remote-1");
	vici_kv_str(&m, "id", "b-c");
	vici_kv_str(&m, "class", "pre-shared key");
	vici_end(&m);
	vici_begin(&m, "children");
	vici_begin(&m, "gatewayctl-a_b-c");
	vici_kv_str(&m, "mode", "TRANSPORT");
	vici_list(&m, "local-ts");
	vici_item_str(&m, "dynamic");
	vici_list_end(&m);
	vici_end(&m);
	vici_end(&m);
	vici_end(&m);
	vici_begin(&m, "foreign");
	vici_kv_str(&m, "version", "IKEv1/2");
	vici_end(&m);
	assert_int_equal(vici_msg_check(&m), 0);
	assert_int_equal(vici_parse(m.buf, m.len, &root, why, sizeof(why)), 0);
	assert_int_equal(vici_conns_from_event(root, &conns, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(conns[0].name, "gatewayctl-a_b-c");
	assert_string_equal(conns[0].local_addr, "10.0.0.1");
	assert_string_equal(conns[0].remote_addr, "10.0.0.2");
	assert_string_equal(conns[0].local_id, "a");
	assert_string_equal(conns[0].remote_id, "b-c");
	assert_string_equal(conns[0].local_auth, "pre-shared key");
	assert_string_equal(conns[0].child, "gatewayctl-a_b-c");
	assert_string_equal(conns[0].child_mode, "TRANSPORT");
	assert_int_equal(conns[0].n_children, 1);
	/* a connection with nothing of ours in it reads as empty fields */
	assert_string_equal(conns[1].name, "foreign");
	assert_string_equal(conns[1].local_id, "");
	assert_int_equal(conns[1].n_children, 0);
	assert_ptr_equal(vici_conn_find(conns, n, "foreign"), &conns[1]);
	assert_null(vici_conn_find(conns, n, "gatewayctl-a-b_c"));
	free(conns);
	vici_free(root);
	vici_msg_free(&m);
}

/* The kept keys: text and back; lines that are not keys are skipped. */
static void test_keys_file(void **state)
{
	struct ipsec_keys k = { 0 }, back;
	const uint8_t psk[] = "0123456789abcdef0123456789abcdef", seed[KEY_LEN] = { 1, 2, 3, 0xff };
	char *text, *mixed;
	size_t len;

	(void)state;
	assert_int_equal(ipsec_keys_set(&k, "gatewayctl-a_b", psk, sizeof(psk) - 1), 0);
	assert_int_equal(ipsec_keys_set(&k, IPSEC_KEY_PRIVATE, seed, sizeof(seed)), 0);
	assert_int_equal(ipsec_keys_set(&k, "gatewayctl-a_b", seed, sizeof(seed)), 0);	/* replaced */
	assert_int_equal(k.n, 2);
	text = ipsec_keys_format(&k, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nprivate 010203ff00"));
	assert_true(asprintf(&mixed, "%s\npsk odd 123\npsk bad zz\npsk  00\nother 00\n", text) > (int)len);
	assert_int_equal(ipsec_keys_parse(mixed, strlen(mixed), &back), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(ipsec_keys_find(&back, "gatewayctl-a_b")->len, sizeof(seed));
	assert_memory_equal(ipsec_keys_find(&back, IPSEC_KEY_PRIVATE)->data, seed, sizeof(seed));
	assert_null(ipsec_keys_find(&back, "odd"));
	ipsec_keys_free(&back);
	ipsec_keys_free(&k);
	free(text);
	free(mixed);
}

/* up refuses when charon holds a connection of one of the site's names that
 * the record does not own, and says which and what to do */
static void test_preflight_foreign(void **state)
{
	struct site s;
	struct peer peers[2];
	struct ipsec_peer_live pl[2];
	struct ipsec_live l;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(peers, 0, sizeof(peers));
	memset(pl, 0, sizeof(pl));
	memset(&l, 0, sizeof(l));
	snprintf(s.name, sizeof(s.name), "a");
	snprintf(s.path, sizeof(s.path), "/etc/gatewayctl/a.ini");
	snprintf(peers[0].name, sizeof(peers[0].name), "b-c");
	snprintf(peers[1].name, sizeof(peers[1].name), "d");
	peers[0].encryption = peers[1].encryption = ENC_IPSEC;
	peers[0].line = 7;
	s.peers = peers;
	s.n_peers = 2;
	l.reachable = true;
	l.peers = pl;
	f = open_memstream(&text, &len);
	assert_int_equal(ipsec_preflight(&s, &l, f), 0);
	pl[0].loaded = pl[0].foreign = true;
	assert_int_equal(ipsec_preflight(&s, &l, f), 1);
	fclose(f);
	assert_non_null(strstr(text, "/etc/gatewayctl/a.ini:7: error: peer b-c: charon holds an IKE connection "
				     "named gatewayctl-a_b-c that gatewayctl did not load for site a"));
	assert_non_null(strstr(text, "swanctl --unload-conn gatewayctl-a_b-c"));
	free(text);
}

/* A PSK peer's load-conn message, from the site file and the key file alone:
 * what charon would list of it, the SHA-256 of the key (not the key itself);
 * `plan`'s text names the key file, never the key; an unreadable key file is
 * said, and the plan says it cannot build the connection. */
static void test_conn_message_psk(void **state)
{
	static const char key[] = "0123456789abcdef0123456789abcdef";
	char dir[] = "/tmp/gwt-ipsec.XXXXXX", hash[65], why[600], *text;
	struct vici_conn_info *conns = NULL;
	struct vici_node *root;
	struct vici_msg m;
	struct site s;
	struct peer p;
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&s, 0, sizeof(s));
	memset(&p, 0, sizeof(p));
	snprintf(s.name, sizeof(s.name), "a");
	s.wan_address.addr = 0x0a000001;
	snprintf(p.name, sizeof(p.name), "b");
	p.endpoint = 0x0a000002;
	p.encryption = ENC_IPSEC;
	p.auth = AUTH_PSK;
	s.peers = &p;
	s.n_peers = 1;
	snprintf(p.psk_file, sizeof(p.psk_file), "%s/b.psk", dir);
	f = fopen(p.psk_file, "w");
	assert_non_null(f);
	assert_int_equal(chmod(p.psk_file, 0600), 0);
	fprintf(f, "%s\n", key);
	fclose(f);
	assert_true(ipsec_site_uses(&s));
	assert_false(ipsec_uses_pubkey(&s));

	vici_msg_init(&m);
	assert_int_equal(ipsec_conn_message(&s, &p, &m, hash, why, sizeof(why)), 0);
	/* sha256sum of the key without its newline */
	assert_string_equal(hash, "3eb1bd439947eb762998e566ccc2e099c791118b2f40579cc4f7da2b5061b7f9");
	assert_null(memmem(m.buf, m.len, key, sizeof(key) - 1));
	assert_int_equal(vici_parse(m.buf, m.len, &root, why, sizeof(why)), 0);
	assert_int_equal(vici_conns_from_event(root, &conns, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(conns[0].name, "gatewayctl-a_b");
	assert_string_equal(conns[0].local_addr, "10.0.0.1");
	assert_string_equal(conns[0].remote_addr, "10.0.0.2");
	assert_string_equal(conns[0].local_id, "a");
	assert_string_equal(conns[0].remote_id, "b");
	assert_int_equal(conns[0].n_children, 1);
	assert_string_equal(conns[0].child, "gatewayctl-a_b");
	assert_string_equal(conns[0].child_mode, "transport");
	free(conns);
	vici_free(root);
	vici_msg_free(&m);

	text = ipsec_plan_text(&s, &p);
	assert_non_null(text);
	assert_non_null(strstr(text, "swanctl --load-all   # IKE connection gatewayctl-a_b (swanctl.conf):\nconnections {\n"));
	assert_non_null(strstr(text, "secret = <the key in "));
	assert_non_null(strstr(text, p.psk_file));
	assert_null(strstr(text, key));
	assert_null(strstr(text, "cannot build it"));
	free(text);
	/* a peer with IPv6 networks (a sit): its child covers protocols 4 and 41 */
	assert_non_null(strstr(text = ipsec_plan_text(&s, &p), "local_ts = dynamic[4]\n"));
	free(text);
	p.n_networks6 = 1;
	text = ipsec_plan_text(&s, &p);
	assert_non_null(text);
	assert_non_null(strstr(text, "local_ts = dynamic[4], dynamic[41]\n"));
	assert_non_null(strstr(text, "remote_ts = dynamic[4], dynamic[41]\n"));
	free(text);
	p.n_networks6 = 0;
	/* over IPv6 (an ip6tnl): IKE between the IPv6 WAN addresses, 4 and 41 */
	p.endpoint_v6 = true;
	memcpy(p.endpoint6, (const uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, [15] = 0x10 }, 16);
	memcpy(s.wan_address6.addr, (const uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, [15] = 0x12 }, 16);
	s.wan_address6.len = 64;
	text = ipsec_plan_text(&s, &p);
	assert_non_null(text);
	assert_non_null(strstr(text, "local_addrs = 2001:db8:a::12\n"));
	assert_non_null(strstr(text, "remote_addrs = 2001:db8:b::10\n"));
	assert_non_null(strstr(text, "local_ts = dynamic[4], dynamic[41]\n"));
	assert_non_null(strstr(text, "encap = no\n"));
	free(text);
	p.endpoint_v6 = false;

	/* the key file gone: said, and plan shows no connection */
	assert_int_equal(unlink(p.psk_file), 0);
	vici_msg_init(&m);
	assert_true(ipsec_conn_message(&s, &p, &m, hash, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, p.psk_file));
	vici_msg_free(&m);
	text = ipsec_plan_text(&s, &p);
	assert_non_null(text);
	assert_non_null(strstr(text, "#   (cannot build it: "));
	assert_null(strstr(text, "connections {"));
	free(text);
	assert_int_equal(rmdir(dir), 0);
}

/* The hex of the record, and back; what is not hex is refused. */
static void test_hex(void **state)
{
	static const uint8_t bytes[] = { 0, 1, 0xab, 0xff };
	uint8_t *back = NULL;
	size_t len = 0;
	char *hex = ipsec_hex(bytes, sizeof(bytes));

	(void)state;
	assert_string_equal(hex, "0001abff");
	assert_int_equal(ipsec_unhex(hex, &back, &len), 0);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(back, bytes, sizeof(bytes));
	free(back);
	assert_int_equal(ipsec_unhex("0g", &back, &len), -EINVAL);
	assert_int_equal(ipsec_unhex("abc", &back, &len), -EINVAL);
	free(hex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_issue_example),
		cmocka_unit_test(test_names_unambiguous),
		cmocka_unit_test(test_list_conn_event),
		cmocka_unit_test(test_keys_file),
		cmocka_unit_test(test_preflight_foreign),
		cmocka_unit_test(test_conn_message_psk),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
