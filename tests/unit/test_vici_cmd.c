/* test_vici_cmd.c - the VICI commands (vici_cmd.c) against real charons, with swanctl, ip
 * xfrm and pki as independent witnesses. Started by tests/kernel/vici.sh, which
 * runs one charon per scratch network namespace with a private /run and says
 * where they are:
 *   TEST_VICI_A, TEST_VICI_B          their sockets (B: SA tests only)
 *   TEST_VICI_A_NS, TEST_VICI_B_NS    their network namespaces
 *   TEST_VICI_A_ADDR, TEST_VICI_B_ADDR  their addresses on the link between them
 *   TEST_VICI_XFRM=1                  the kernel has XFRM: SAs can be installed
 *   TEST_VICI_DIR                     a scratch directory
 * Without TEST_VICI_A every test here is skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keys.h"
#include "vici.h"

static const char *sock_a, *sock_b, *ns_a, *ns_b, *addr_a, *addr_b, *scratch;
static bool xfrm;

#define SITE_A "site-a"
#define SITE_B "site-b"
#define CONN_A "gatewayctl-" SITE_A "-" SITE_B	/* on A, towards B */
#define CONN_B "gatewayctl-" SITE_B "-" SITE_A	/* on B, towards A */

static char *out_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The stdout of a witness command (a shell line of the test), malloc'd. */
static char *out_of(const char *fmt, ...)
{
	char cmd[1024], *buf = NULL;
	size_t size = 0, len = 0;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (;;) {
		if (len + 4096 + 1 > size) {
			size = size ? size * 2 : 8192;
			buf = realloc(buf, size);
			assert_non_null(buf);
		}
		size_t n = fread(buf + len, 1, 4096, p);

		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	pclose(p);
	return buf;
}

/* swanctl's options go after its command: "swanctl --list-conns" URI */
#define URI " --uri unix://%s"

static void open_a(struct vici *v)
{
	assert_int_equal(vici_open(v, sock_a), 0);
}

static void open_b(struct vici *v)
{
	assert_int_equal(vici_open(v, sock_b), 0);
}

static bool in_strv(char **sv, const char *s)
{
	for (; sv && *sv; sv++)
		if (!strcmp(*sv, s))
			return true;
	return false;
}

/* The block of `swanctl --list-conns` for connection NAME ("" if absent). */
static char *conn_block(const char *sock, const char *name)
{
	return out_of("swanctl --list-conns" URI " 2>/dev/null | awk -v n='%s:' "
		      "'/^[^ ]/ { on = ($1 == n) } on'", sock, name);
}

static void spec_for(struct vici_conn_spec *s, bool on_a)
{
	memset(s, 0, sizeof(*s));
	s->name = on_a ? CONN_A : CONN_B;
	s->local_addr = on_a ? addr_a : addr_b;
	s->remote_addr = on_a ? addr_b : addr_a;
	s->local_id = on_a ? SITE_A : SITE_B;
	s->remote_id = on_a ? SITE_B : SITE_A;
	s->auth = VICI_AUTH_PSK;
	s->start_action = VICI_START_NONE;
	s->close_action = VICI_CLOSE_NONE;
}

static const char *const owners[] = { SITE_A, SITE_B, NULL };

static int setup(void **state)
{
	(void)state;
	sock_a = getenv("TEST_VICI_A");
	sock_b = getenv("TEST_VICI_B");
	ns_a = getenv("TEST_VICI_A_NS");
	ns_b = getenv("TEST_VICI_B_NS");
	addr_a = getenv("TEST_VICI_A_ADDR");
	addr_b = getenv("TEST_VICI_B_ADDR");
	scratch = getenv("TEST_VICI_DIR");
	xfrm = getenv("TEST_VICI_XFRM") && !strcmp(getenv("TEST_VICI_XFRM"), "1");
	if (!addr_a)
		addr_a = "192.0.2.1";
	if (!addr_b)
		addr_b = "192.0.2.2";
	if (!scratch)
		scratch = "/tmp";
	return 0;
}

static void need_a(void)
{
	if (!sock_a)
		skip();
}

static void need_sa(void)
{
	if (!sock_a || !sock_b || !xfrm || !ns_a || !ns_b)
		skip();
}

static void live_version(void **state)
{
	struct vici v;
	struct vici_version ver;
	char *w, want[400];

	(void)state;
	need_a();
	open_a(&v);
	assert_int_equal(vici_version(&v, &ver), 0);
	assert_string_equal(ver.daemon, "charon");
	/* swanctl --version --daemon: "strongSwan 5.9.8 charon (Linux, 6.1.0-..., x86_64)" */
	w = out_of("swanctl --version --daemon" URI " 2>/dev/null", sock_a);
	snprintf(want, sizeof(want), "strongSwan %s %s (%s, %s, %s)", ver.version, ver.daemon, ver.sysname,
		 ver.release, ver.machine);
	assert_non_null(strstr(w, want));
	free(w);
	vici_close(&v);
}

/* swanctl loads a connection and a secret of its own first; ours come and go
 * around them and leave them as they were. */
static void write_other_conf(char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/other-swanctl.conf", scratch);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "connections {\n other {\n  remote_addrs = 198.51.100.7\n"
		"  local { auth = psk\n id = other-local }\n  remote { auth = psk\n id = other-remote }\n"
		"  children { other { mode = tunnel\n remote_ts = 10.99.0.0/16 } }\n }\n}\n"
		"secrets {\n ike-other {\n  id-1 = other-local\n  secret = 0123456789012345678901234567890123\n }\n}\n");
	fclose(f);
}

/* swanctl with an empty file unloads what it loaded (and whatever else came over VICI) */
static void unload_swanctl_conf(void)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/empty-swanctl.conf", scratch);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	free(out_of("swanctl --load-all --noprompt --file %s" URI " >/dev/null 2>&1", path, sock_a));
}

static void live_config_lifecycle(void **state)
{
	struct vici v;
	struct vici_conn_spec psk, pk;
	uint8_t seed[KEY_LEN], pub[KEY_LEN], peer_seed[KEY_LEN], peer_pub[KEY_LEN], der[KEY_PKCS8_LEN];
	char conf[256], keyid[41], want_id[41], peer_id[41], **sv;
	char *w, *before_other, *before_ours;
	size_t n;
	static const char *const bad[] = { "aes256gcm16-prfsha384-x99999", NULL };

	(void)state;
	need_a();
	write_other_conf(conf, sizeof(conf));
	w = out_of("swanctl --load-all --noprompt --file %s" URI " 2>&1", conf, sock_a);
	assert_non_null(strstr(w, "loaded connection 'other'"));
	assert_non_null(strstr(w, "loaded ike secret 'ike-other'"));
	free(w);
	before_other = conn_block(sock_a, "other");
	assert_non_null(strstr(before_other, "remote: 198.51.100.7"));

	open_a(&v);
	/* a PSK connection, its key, and a public key connection with our private key */
	spec_for(&psk, true);
	assert_int_equal(vici_load_conn(&v, &psk), 0);
	assert_int_equal(vici_load_shared(&v, CONN_A, "0123456789abcdef0123456789abcdef", 32, owners), 0);
	spec_for(&pk, true);
	pk.name = CONN_A "-pk";
	pk.auth = VICI_AUTH_PUBKEY;
	pk.start_action = VICI_START_NONE;
	assert_int_equal(key_generate(seed), 0);
	assert_int_equal(key_public(seed, pub), 0);
	assert_int_equal(key_generate(peer_seed), 0);
	assert_int_equal(key_public(peer_seed, peer_pub), 0);
	memcpy(pk.local_pubkey, pub, KEY_LEN);
	memcpy(pk.remote_pubkey, peer_pub, KEY_LEN);
	assert_int_equal(vici_load_conn(&v, &pk), 0);
	key_pkcs8(seed, der);
	assert_int_equal(vici_load_key(&v, der, sizeof(der), keyid), 0);
	assert_int_equal(key_charon_id(pub, want_id), 0);
	assert_string_equal(keyid, want_id);

	/* read back by us */
	assert_int_equal(vici_get_conns(&v, &sv, &n), 0);
	assert_int_equal(n, 3);
	assert_true(in_strv(sv, "other") && in_strv(sv, CONN_A) && in_strv(sv, CONN_A "-pk"));
	vici_strv_free(sv);
	assert_int_equal(vici_get_shared(&v, &sv, &n), 0);
	assert_true(in_strv(sv, CONN_A) && in_strv(sv, "ike-other"));
	vici_strv_free(sv);
	assert_int_equal(vici_get_keys(&v, &sv, &n), 0);
	assert_true(in_strv(sv, keyid));
	vici_strv_free(sv);

	/* and by swanctl */
	before_ours = conn_block(sock_a, CONN_A);
	{
		char want[200];

		assert_non_null(strstr(before_ours, CONN_A ": IKEv2"));
		snprintf(want, sizeof(want), "local:  %s", addr_a);
		assert_non_null(strstr(before_ours, want));
		snprintf(want, sizeof(want), "remote: %s", addr_b);
		assert_non_null(strstr(before_ours, want));
		assert_non_null(strstr(before_ours, "local pre-shared key authentication:\n    id: " SITE_A));
		assert_non_null(strstr(before_ours, "remote pre-shared key authentication:\n    id: " SITE_B));
		assert_non_null(strstr(before_ours, CONN_A ": TRANSPORT"));
		assert_non_null(strstr(before_ours, "local:  dynamic[ipencap]"));
		assert_non_null(strstr(before_ours, "remote: dynamic[ipencap]"));
	}
	w = conn_block(sock_a, CONN_A "-pk");
	assert_non_null(strstr(w, "remote public key authentication:\n    id: " SITE_B));
	free(w);
	/* the raw public keys charon holds: ours with its private key, the peer's */
	w = out_of("swanctl --list-certs" URI " 2>/dev/null | tr -d ':'", sock_a);
	assert_non_null(strstr(w, "ED25519 256 bits, has private key\n  keyid"));
	assert_non_null(strstr(w, want_id));
	assert_int_equal(key_charon_id(peer_pub, peer_id), 0);
	assert_non_null(strstr(w, peer_id));
	free(w);

	/* a bad proposal: refused with charon's reason, the loaded one unchanged */
	psk.ike_proposals = bad;
	assert_int_equal(vici_load_conn(&v, &psk), -EREMOTEIO);
	assert_string_equal(v.err, "charon refused `load-conn`: invalid value for: proposals, config discarded");
	psk.ike_proposals = NULL;
	psk.esp_proposals = bad;
	assert_int_equal(vici_load_conn(&v, &psk), -EREMOTEIO);
	assert_string_equal(v.err, "charon refused `load-conn`: invalid value for: esp_proposals, config discarded");
	w = conn_block(sock_a, CONN_A);
	assert_string_equal(w, before_ours);
	free(w);

	/* unload ours: nothing of ours left, swanctl's own untouched */
	assert_int_equal(vici_unload_conn(&v, CONN_A), 0);
	assert_int_equal(vici_unload_conn(&v, CONN_A "-pk"), 0);
	assert_int_equal(vici_unload_shared(&v, CONN_A), 0);
	assert_int_equal(vici_unload_key(&v, keyid), 0);
	assert_int_equal(vici_get_conns(&v, &sv, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sv[0], "other");
	vici_strv_free(sv);
	assert_int_equal(vici_get_shared(&v, &sv, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sv[0], "ike-other");
	vici_strv_free(sv);
	assert_int_equal(vici_get_keys(&v, &sv, &n), 0);
	assert_false(in_strv(sv, keyid));
	vici_strv_free(sv);
	w = out_of("swanctl --list-conns" URI " 2>/dev/null | grep -c gatewayctl", sock_a);
	assert_string_equal(w, "0\n");
	free(w);
	w = conn_block(sock_a, "other");
	assert_string_equal(w, before_other);
	free(w);
	/* again: charon says they are gone */
	assert_int_equal(vici_unload_conn(&v, CONN_A), -ENOENT);
	assert_int_equal(vici_unload_key(&v, keyid), -ENOENT);
	assert_int_equal(vici_unload_shared(&v, CONN_A), 0);	/* charon does not check */
	free(before_ours);
	free(before_other);
	vici_close(&v);
	unload_swanctl_conf();
}

/* What the lead must know: `swanctl --load-conns` / `--load-creds` (run by
 * strongswan.service's start and reload) drop every connection and credential
 * loaded over VICI that its files do not name: gatewayctl's too. */
static void live_swanctl_reload_drops_ours(void **state)
{
	struct vici v;
	struct vici_conn_spec s;
	uint8_t seed[KEY_LEN], der[KEY_PKCS8_LEN];
	char conf[256], keyid[41], **sv, *w;
	size_t n;

	(void)state;
	need_a();
	write_other_conf(conf, sizeof(conf));
	open_a(&v);
	spec_for(&s, true);
	assert_int_equal(vici_load_conn(&v, &s), 0);
	assert_int_equal(vici_load_shared(&v, CONN_A, "0123456789abcdef0123456789abcdef", 32, owners), 0);
	assert_int_equal(key_generate(seed), 0);
	key_pkcs8(seed, der);
	assert_int_equal(vici_load_key(&v, der, sizeof(der), keyid), 0);
	w = out_of("swanctl --load-all --noprompt --file %s" URI " 2>&1", conf, sock_a);
	assert_non_null(strstr(w, "1 unloaded"));
	free(w);
	assert_int_equal(vici_get_conns(&v, &sv, &n), 0);
	assert_false(in_strv(sv, CONN_A));
	vici_strv_free(sv);
	assert_int_equal(vici_get_shared(&v, &sv, &n), 0);
	assert_false(in_strv(sv, CONN_A));
	vici_strv_free(sv);
	assert_int_equal(vici_get_keys(&v, &sv, &n), 0);
	assert_false(in_strv(sv, keyid));
	vici_strv_free(sv);
	vici_close(&v);
	unload_swanctl_conf();
}

/* ---- SAs: two charons, a link between them, XFRM ---------------------------------- */

static void load_pair(const struct vici_conn_spec *sa, const struct vici_conn_spec *sb,
		      const char *key_a, const char *key_b)
{
	struct vici a, b;

	open_a(&a);
	open_b(&b);
	assert_int_equal(vici_load_shared(&a, sa->name, key_a, strlen(key_a), owners), 0);
	assert_int_equal(vici_load_shared(&b, sb->name, key_b, strlen(key_b), owners), 0);
	assert_int_equal(vici_load_conn(&a, sa), 0);
	assert_int_equal(vici_load_conn(&b, sb), 0);
	vici_close(&a);
	vici_close(&b);
}

static void unload_pair(const struct vici_conn_spec *sa, const struct vici_conn_spec *sb)
{
	struct vici a, b;

	open_a(&a);
	open_b(&b);
	vici_terminate(&a, sa->name, 3000);
	vici_terminate(&b, sb->name, 3000);
	assert_int_equal(vici_unload_conn(&a, sa->name), 0);
	assert_int_equal(vici_unload_conn(&b, sb->name), 0);
	assert_int_equal(vici_unload_shared(&a, sa->name), 0);
	assert_int_equal(vici_unload_shared(&b, sb->name), 0);
	vici_close(&a);
	vici_close(&b);
}

/* The one IKE_SA named NAME at SOCK, with one CHILD_SA; 0 or -ENOENT. */
static int one_sa(const char *sock, const char *name, struct vici_ike_sa *out)
{
	struct vici v;
	struct vici_ike_sa *sas;
	size_t n;

	assert_int_equal(vici_open(&v, sock), 0);
	assert_int_equal(vici_list_sas(&v, name, &sas, &n), 0);
	vici_close(&v);
	if (n == 0) {
		vici_sas_free(sas, n);
		return -ENOENT;
	}
	assert_int_equal(n, 1);
	*out = sas[0];
	if (sas[0].n_children) {
		out->children = malloc(sizeof(*out->children) * sas[0].n_children);
		memcpy(out->children, sas[0].children, sizeof(*out->children) * sas[0].n_children);
	}
	vici_sas_free(sas, n);
	return 0;
}

static bool xfrm_has_spi(const char *ns, uint32_t spi)
{
	char *w = out_of("ip -n %s xfrm state 2>/dev/null", ns), want[40];
	bool has;

	snprintf(want, sizeof(want), "spi 0x%08x", spi);
	has = strstr(w, want) != NULL;
	free(w);
	return has;
}

/* Terminate every SA and drop everything loaded over VICI in charon SOCK, so
 * that a failed test does not disturb the next one. */
static void clean(const char *sock)
{
	struct vici v;
	struct vici_ike_sa *sas;
	size_t n;
	char path[256];
	FILE *f;

	assert_int_equal(vici_open(&v, sock), 0);
	assert_int_equal(vici_list_sas(&v, NULL, &sas, &n), 0);
	for (size_t i = 0; i < n; i++)
		vici_terminate(&v, sas[i].name, 5000);
	vici_sas_free(sas, n);
	vici_close(&v);
	snprintf(path, sizeof(path), "%s/empty-swanctl.conf", scratch);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	free(out_of("swanctl --load-all --noprompt --file %s" URI " >/dev/null 2>&1", path, sock));
}

static void clean_both(void)
{
	clean(sock_a);
	clean(sock_b);
}

static void live_sa_psk(void **state)
{
	struct vici_conn_spec sa, sb;
	struct vici a;
	struct vici_ike_sa ia, ib, again;
	const struct vici_child_sa *c;
	char *w, want[100];
	int ret;

	(void)state;
	need_sa();
	clean_both();
	spec_for(&sa, true);
	spec_for(&sb, false);
	load_pair(&sa, &sb, "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef");
	open_a(&a);
	assert_int_equal(vici_initiate(&a, CONN_A, 30000), 0);
	assert_non_null(strstr(a.log, "established"));
	vici_close(&a);

	assert_int_equal(one_sa(sock_a, CONN_A, &ia), 0);
	assert_string_equal(ia.state, "ESTABLISHED");
	assert_string_equal(ia.local_id, SITE_A);
	assert_string_equal(ia.remote_id, SITE_B);
	assert_string_equal(ia.remote_host, addr_b);
	assert_true(ia.initiator);
	assert_false(ia.nat_any);
	assert_string_equal(ia.encr_alg, "AES_GCM_16");
	assert_int_equal(ia.encr_keysize, 256);
	assert_string_equal(ia.prf_alg, "PRF_HMAC_SHA2_384");
	assert_string_equal(ia.dh_group, "CURVE_25519");
	assert_in_range(ia.established, 0, 60);
	assert_true(ia.rekey_time > 0);
	assert_int_equal(ia.n_children, 1);
	c = &ia.children[0];
	assert_string_equal(c->name, CONN_A);
	assert_string_equal(c->state, "INSTALLED");
	assert_string_equal(c->mode, "TRANSPORT");
	assert_string_equal(c->protocol, "ESP");
	assert_string_equal(c->encr_alg, "AES_GCM_16");
	assert_int_equal(c->encr_keysize, 256);
	assert_true(c->spi_in && c->spi_out);
	assert_true(c->install_time >= 0 && c->rekey_time > 0 && c->life_time > c->rekey_time);
	/* B sees the same SA from its side */
	assert_int_equal(one_sa(sock_b, CONN_B, &ib), 0);
	assert_string_equal(ib.state, "ESTABLISHED");
	assert_false(ib.initiator);
	assert_int_equal(ib.children[0].spi_in, c->spi_out);
	assert_int_equal(ib.children[0].spi_out, c->spi_in);
	/* the kernel's witness: both ESP SAs, transport mode, protocol 4 policies */
	assert_true(xfrm_has_spi(ns_a, c->spi_in));
	assert_true(xfrm_has_spi(ns_a, c->spi_out));
	w = out_of("ip -n %s xfrm policy 2>/dev/null", ns_a);
	snprintf(want, sizeof(want), "src %s/32 dst %s/32 proto ipencap", addr_a, addr_b);
	if (!strstr(w, want))
		print_message("ip xfrm policy:\n%s", w);
	assert_non_null(strstr(w, want));
	free(w);
	/* and swanctl's */
	w = out_of("swanctl --list-sas" URI " 2>/dev/null", sock_a);
	snprintf(want, sizeof(want), "in  %08x", c->spi_in);
	assert_non_null(strstr(w, want));
	snprintf(want, sizeof(want), "out %08x", c->spi_out);
	assert_non_null(strstr(w, want));
	free(w);

	/* reloading the identical connection (and key) on both sides leaves the SAs alone */
	load_pair(&sa, &sb, "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef");
	sleep(1);
	assert_int_equal(one_sa(sock_a, CONN_A, &again), 0);
	assert_int_equal(again.uniqueid, ia.uniqueid);
	assert_string_equal(again.state, "ESTABLISHED");
	assert_int_equal(again.n_children, 1);
	assert_int_equal(again.children[0].spi_in, c->spi_in);
	assert_int_equal(again.children[0].spi_out, c->spi_out);
	print_message("measured: identical reload: IKE #%u, SPIs %08x/%08x before and after\n",
		      ia.uniqueid, again.children[0].spi_in, again.children[0].spi_out);
	free(again.children);
	/* initiating again an established connection: charon keeps the SA */
	open_a(&a);
	ret = vici_initiate(&a, CONN_A, 10000);
	print_message("measured: initiate when established: %d %s\n", ret, ret ? a.err : "");
	assert_int_equal(ret, -EALREADY);
	vici_close(&a);
	assert_int_equal(one_sa(sock_a, CONN_A, &again), 0);
	assert_int_equal(again.uniqueid, ia.uniqueid);
	assert_int_equal(again.n_children, 1);
	assert_int_equal(again.children[0].spi_in, c->spi_in);
	assert_int_equal(again.children[0].spi_out, c->spi_out);
	free(again.children);
	/* a changed child (its rekey time): measure what happens to the SA */
	sa.child_rekey_time = 1800;
	{
		struct vici v;

		open_a(&v);
		assert_int_equal(vici_load_conn(&v, &sa), 0);
		vici_close(&v);
	}
	sleep(1);
	if (one_sa(sock_a, CONN_A, &again) == 0) {
		print_message("measured: changed child reload: IKE #%u %s, %zu child(ren), SPIs %08x/%08x "
			      "(before %08x/%08x)\n", again.uniqueid, again.state, again.n_children,
			      again.n_children ? again.children[0].spi_in : 0,
			      again.n_children ? again.children[0].spi_out : 0, c->spi_in, c->spi_out);
		free(again.children);
	} else {
		print_message("measured: changed child reload: the IKE_SA is gone\n");
	}
	/* a changed IKE part (dpd delay): measure too */
	sa.dpd_delay = 20;
	{
		struct vici v;

		open_a(&v);
		assert_int_equal(vici_load_conn(&v, &sa), 0);
		vici_close(&v);
	}
	sleep(1);
	if (one_sa(sock_a, CONN_A, &again) == 0) {
		print_message("measured: changed IKE reload: IKE #%u %s, %zu child(ren), SPIs %08x/%08x\n",
			      again.uniqueid, again.state, again.n_children,
			      again.n_children ? again.children[0].spi_in : 0,
			      again.n_children ? again.children[0].spi_out : 0);
		free(again.children);
	} else {
		print_message("measured: changed IKE reload: the IKE_SA is gone\n");
	}

	/* unloading the connection: measure whether the SA stays (start_action none) */
	{
		struct vici v;
		struct vici_ike_sa left;

		open_a(&v);
		assert_int_equal(vici_unload_conn(&v, CONN_A), 0);
		vici_close(&v);
		sleep(1);
		if (one_sa(sock_a, CONN_A, &left) == 0) {
			print_message("measured: after unload-conn the IKE_SA stays (%s, %zu child(ren)): "
				      "terminate it explicitly\n", left.state, left.n_children);
			free(left.children);
		} else {
			print_message("measured: unload-conn removed the IKE_SA too\n");
		}
		open_a(&v);
		vici_load_conn(&v, &sa);
		vici_close(&v);
	}
	/* terminate: gone from charon and from the kernel */
	open_a(&a);
	ret = vici_terminate(&a, CONN_A, 10000);
	assert_true(ret == 0 || ret == -ENOENT);
	vici_close(&a);
	assert_int_equal(one_sa(sock_a, CONN_A, &again), -ENOENT);
	assert_false(xfrm_has_spi(ns_a, c->spi_in));
	assert_false(xfrm_has_spi(ns_a, c->spi_out));
	free(ia.children);
	free(ib.children);
	unload_pair(&sa, &sb);
	/* nothing of ours in either kernel (charon's own per-socket policies stay) */
	w = out_of("ip -n %s xfrm state; ip -n %s xfrm state; { ip -n %s xfrm policy; ip -n %s xfrm policy; } "
		   "| grep -v -e '^src ::/0 dst ::/0 *$' -e '^src 0.0.0.0/0 dst 0.0.0.0/0 *$' "
		   "-e '^[[:space:]]*socket \\(in\\|out\\) priority 0 ptype main *$'",
		   ns_a, ns_b, ns_a, ns_b);
	assert_string_equal(w, "");
	free(w);
}

/* Wait up to 20 s for an ESTABLISHED IKE_SA of NAME at SOCK other than OLD_ID
 * with an installed CHILD_SA; 0 and *OUT, or -ETIMEDOUT. */
static int wait_new_sa(const char *sock, const char *name, unsigned old_id, struct vici_ike_sa *out)
{
	for (int i = 0; i < 200; i++) {
		struct vici v;
		struct vici_ike_sa *sas;
		size_t n;

		assert_int_equal(vici_open(&v, sock), 0);
		assert_int_equal(vici_list_sas(&v, name, &sas, &n), 0);
		vici_close(&v);
		for (size_t k = 0; k < n; k++) {
			if (sas[k].uniqueid != old_id && !strcmp(sas[k].state, "ESTABLISHED") &&
			    sas[k].n_children == 1 && !strcmp(sas[k].children[0].state, "INSTALLED")) {
				*out = sas[k];
				out->children = malloc(sizeof(*out->children));
				memcpy(out->children, sas[k].children, sizeof(*out->children));
				out->n_children = 1;
				vici_sas_free(sas, n);
				return 0;
			}
		}
		vici_sas_free(sas, n);
		usleep(100000);
	}
	return -ETIMEDOUT;
}

/* A new key on both sides: the SA stays on the old one until it is
 * reauthenticated; reauthentication with the new key makes a new IKE_SA. */
static void live_sa_key_change(void **state)
{
	struct vici_conn_spec sa, sb;
	struct vici a;
	struct vici_ike_sa before, after;
	size_t n;

	(void)state;
	need_sa();
	clean_both();
	spec_for(&sa, true);
	spec_for(&sb, false);
	load_pair(&sa, &sb, "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef");
	open_a(&a);
	assert_int_equal(vici_initiate(&a, CONN_A, 30000), 0);
	vici_close(&a);
	assert_int_equal(one_sa(sock_a, CONN_A, &before), 0);
	/* the new key, loaded under the same id on both sides: replaces the old one */
	load_pair(&sa, &sb, "a-new-key-a-new-key-a-new-key-a-new-key", "a-new-key-a-new-key-a-new-key-a-new-key");
	{
		struct vici v;
		char **ids;

		open_a(&v);
		assert_int_equal(vici_get_shared(&v, &ids, &n), 0);
		assert_int_equal(n, 1);		/* replaced, not added */
		vici_strv_free(ids);
		vici_close(&v);
	}
	sleep(1);
	assert_int_equal(one_sa(sock_a, CONN_A, &after), 0);
	assert_int_equal(after.uniqueid, before.uniqueid);
	assert_int_equal(after.children[0].spi_in, before.children[0].spi_in);
	free(after.children);
	/* reauthenticate: a new IKE_SA and CHILD_SA, with the new key */
	open_a(&a);
	assert_int_equal(vici_rekey(&a, CONN_A, true), 0);
	vici_close(&a);
	assert_int_equal(wait_new_sa(sock_a, CONN_A, before.uniqueid, &after), 0);
	print_message("measured: reauth after a key change: IKE #%u -> #%u, SPIs %08x/%08x -> %08x/%08x\n",
		      before.uniqueid, after.uniqueid, before.children[0].spi_in, before.children[0].spi_out,
		      after.children[0].spi_in, after.children[0].spi_out);
	assert_int_not_equal(after.children[0].spi_in, before.children[0].spi_in);
	assert_true(xfrm_has_spi(ns_a, after.children[0].spi_in));
	free(after.children);
	/* the old SA is gone once the new one is up (break-before-make by default) */
	sleep(1);
	{
		struct vici v;
		struct vici_ike_sa *sas;

		open_a(&v);
		assert_int_equal(vici_list_sas(&v, CONN_A, &sas, &n), 0);
		assert_int_equal(n, 1);
		vici_sas_free(sas, n);
		vici_close(&v);
	}
	assert_false(xfrm_has_spi(ns_a, before.children[0].spi_in));
	/* reauthentication with a key the peer does not have fails, and no SA is left */
	{
		struct vici v, w;

		open_b(&w);
		assert_int_equal(vici_load_shared(&w, CONN_B, "yet-another-key-yet-another-key-yet", 35, owners), 0);
		vici_close(&w);
		open_a(&v);
		assert_int_equal(vici_rekey(&v, CONN_A, true), 0);
		assert_int_equal(vici_rekey(&v, "gatewayctl-none", true), -ENOENT);
		vici_close(&v);
		sleep(3);
		assert_int_equal(wait_new_sa(sock_a, CONN_A, after.uniqueid, &after), -ETIMEDOUT);
		{
			struct vici_ike_sa *sas;

			open_a(&v);
			assert_int_equal(vici_list_sas(&v, CONN_A, &sas, &n), 0);
			vici_close(&v);
			print_message("measured: reauth with a key the peer lacks: %zu IKE_SA(s) left%s%s\n", n,
				      n ? ", first " : "", n ? sas[0].state : "");
			vici_sas_free(sas, n);
		}
	}
	free(before.children);
	unload_pair(&sa, &sb);
}

static void live_sa_pubkey_chacha(void **state)
{
	struct vici_conn_spec sa, sb;
	struct vici a, b;
	uint8_t seed_a[KEY_LEN], seed_b[KEY_LEN], der[KEY_PKCS8_LEN];
	char id_a[41], id_b[41];
	struct vici_ike_sa ia;
	static const char *const ike[] = { "chacha20poly1305-prfsha256-x25519", NULL };
	static const char *const esp[] = { "chacha20poly1305-x25519", NULL };

	(void)state;
	need_sa();
	clean_both();
	spec_for(&sa, true);
	spec_for(&sb, false);
	sa.auth = sb.auth = VICI_AUTH_PUBKEY;
	sa.ike_proposals = sb.ike_proposals = ike;
	sa.esp_proposals = sb.esp_proposals = esp;
	assert_int_equal(key_generate(seed_a), 0);
	assert_int_equal(key_generate(seed_b), 0);
	assert_int_equal(key_public(seed_a, sa.local_pubkey), 0);
	assert_int_equal(key_public(seed_b, sb.local_pubkey), 0);
	memcpy(sa.remote_pubkey, sb.local_pubkey, KEY_LEN);
	memcpy(sb.remote_pubkey, sa.local_pubkey, KEY_LEN);
	open_a(&a);
	open_b(&b);
	key_pkcs8(seed_a, der);
	assert_int_equal(vici_load_key(&a, der, sizeof(der), id_a), 0);
	key_pkcs8(seed_b, der);
	assert_int_equal(vici_load_key(&b, der, sizeof(der), id_b), 0);
	assert_int_equal(vici_load_conn(&a, &sa), 0);
	assert_int_equal(vici_load_conn(&b, &sb), 0);
	assert_int_equal(vici_initiate(&a, CONN_A, 30000), 0);
	assert_int_equal(one_sa(sock_a, CONN_A, &ia), 0);
	assert_string_equal(ia.state, "ESTABLISHED");
	assert_string_equal(ia.encr_alg, "CHACHA20_POLY1305");
	assert_string_equal(ia.prf_alg, "PRF_HMAC_SHA2_256");
	assert_int_equal(ia.n_children, 1);
	assert_string_equal(ia.children[0].encr_alg, "CHACHA20_POLY1305");
	assert_true(xfrm_has_spi(ns_a, ia.children[0].spi_out));
	free(ia.children);
	assert_int_equal(vici_terminate(&a, CONN_A, 10000), 0);
	assert_int_equal(vici_unload_conn(&a, CONN_A), 0);
	assert_int_equal(vici_unload_conn(&b, CONN_B), 0);
	assert_int_equal(vici_unload_key(&a, id_a), 0);
	assert_int_equal(vici_unload_key(&b, id_b), 0);
	vici_close(&a);
	vici_close(&b);
}

/* Failures: charon's errmsg and the reason from its log. */
static void live_sa_failures(void **state)
{
	struct vici_conn_spec sa, sb;
	struct vici a;
	struct vici_ike_sa ia;
	static const char *const aes[] = { "aes256gcm16-prfsha384-x25519", NULL };
	static const char *const chacha[] = { "chacha20poly1305-prfsha256-x25519", NULL };
	char *w;
	int ret;

	(void)state;
	need_sa();
	clean_both();
	/* the wrong key */
	spec_for(&sa, true);
	spec_for(&sb, false);
	load_pair(&sa, &sb, "0123456789abcdef0123456789abcdef", "different-key-different-key-different");
	open_a(&a);
	ret = vici_initiate(&a, CONN_A, 30000);
	print_message("measured: wrong key: %d %s\n", ret, a.err);
	assert_int_equal(ret, -EREMOTEIO);
	assert_non_null(strstr(a.err, "AUTHENTICATION_FAILED"));
	vici_close(&a);
	assert_int_equal(one_sa(sock_a, CONN_A, &ia), -ENOENT);
	w = out_of("ip -n %s xfrm state", ns_a);
	assert_string_equal(w, "");		/* nothing installed, nothing in clear */
	free(w);
	unload_pair(&sa, &sb);

	/* no common proposal */
	spec_for(&sa, true);
	spec_for(&sb, false);
	sa.ike_proposals = aes;
	sb.ike_proposals = chacha;
	load_pair(&sa, &sb, "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef");
	open_a(&a);
	ret = vici_initiate(&a, CONN_A, 30000);
	print_message("measured: no proposal: %d %s\n", ret, a.err);
	assert_int_equal(ret, -EREMOTEIO);
	assert_non_null(strstr(a.err, "NO_PROPOSAL_CHOSEN"));
	vici_close(&a);
	unload_pair(&sa, &sb);

	/* no answer: a peer address where nobody runs IKE */
	spec_for(&sa, true);
	sa.remote_addr = "192.0.2.99";
	{
		struct vici v;

		open_a(&v);
		assert_int_equal(vici_load_conn(&v, &sa), 0);
		ret = vici_initiate(&v, CONN_A, 3000);
		print_message("measured: no answer: %d %s\n", ret, v.err);
		assert_int_equal(ret, -ETIMEDOUT);
		assert_non_null(strstr(v.err, "not established after 3000ms"));
		assert_non_null(strstr(v.log, "sending packet"));
		/* it keeps trying in the background: terminate it */
		assert_int_equal(vici_terminate(&v, CONN_A, 3000), 0);
		assert_int_equal(vici_unload_conn(&v, CONN_A), 0);
		vici_close(&v);
	}
	/* the peer has no connection loaded */
	spec_for(&sa, true);
	{
		struct vici v;

		open_a(&v);
		assert_int_equal(vici_load_conn(&v, &sa), 0);
		assert_int_equal(vici_load_shared(&v, CONN_A, "0123456789abcdef0123456789abcdef", 32, owners), 0);
		ret = vici_initiate(&v, CONN_A, 30000);
		print_message("measured: peer without config: %d %s\n", ret, v.err);
		assert_true(ret < 0);
		vici_terminate(&v, CONN_A, 3000);
		assert_int_equal(vici_unload_conn(&v, CONN_A), 0);
		assert_int_equal(vici_unload_shared(&v, CONN_A), 0);
		vici_close(&v);
	}
	/* initiating what is not loaded */
	open_a(&a);
	assert_int_equal(vici_initiate(&a, "gatewayctl-none", 1000), -ENOENT);
	assert_int_equal(vici_terminate(&a, "gatewayctl-none", 1000), -ENOENT);
	vici_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(live_version),
		cmocka_unit_test(live_config_lifecycle),
		cmocka_unit_test(live_swanctl_reload_drops_ours),
		cmocka_unit_test(live_sa_psk),
		cmocka_unit_test(live_sa_key_change),
		cmocka_unit_test(live_sa_pubkey_chacha),
		cmocka_unit_test(live_sa_failures),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, setup, NULL);
}
