/* ipsec_conn.c - the pure part of IPsec: what gatewayctl asks of charon for
 * one peer, built from the site file alone (no charon, no kernel): the
 * connection's name, its VICI load-conn message and the SHA-256 of its key
 * material, and the swanctl.conf text `plan` prints. */
#define _GNU_SOURCE
#include "ipsec_conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gatewayctl.h"
#include "ipsec_keys.h"
#include "keys.h"

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

size_t ipsec_protocols(const struct peer *p, uint8_t out[IPSEC_PROTOCOLS_MAX])
{
	out[0] = 4;	/* IPPROTO_IPIP */
	if (!p->n_networks6 && !p->endpoint_v6)
		return 1;	/* ipip */
	out[1] = 41;	/* IPPROTO_IPV6 */
	return 2;
}

void ipsec_addrs(const struct site *s, const struct peer *p, char local[IP6_STRLEN], char remote[IP6_STRLEN])
{
	if (p->endpoint_v6) {
		ip6_str(s->wan_address6.addr, local);
		ip6_str(p->endpoint6, remote);
	} else {
		ip4_str(s->wan_address.addr, local);
		ip4_str(p->endpoint, remote);
	}
}

bool ipsec_uses_pubkey(const struct site *s)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].encryption == ENC_IPSEC && s->peers[i].auth == AUTH_PUBKEY)
			return true;
	return false;
}

/* ---- hex, hashes ------------------------------------------------------------ */

char *ipsec_hex(const uint8_t *p, size_t len)
{
	char *s = malloc(len * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[len * 2] = '\0';
	return s;
}

int ipsec_unhex(const char *s, uint8_t **out, size_t *len)
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
	const struct crypto *C = crypto();

	if (!C || !C->EVP_Digest(data, len, md, &mdlen, C->EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
	return 0;
}

/* ---- the connection of a peer ---------------------------------------------------- */

int ipsec_conn_message(const struct site *s, const struct peer *p, struct vici_msg *m,
		       char key_hash[65], char *why, size_t whylen)
{
	char name[VICI_NAME_MAX + 1], local[IP6_STRLEN], remote[IP6_STRLEN];
	struct vici_conn_spec spec = { 0 };
	uint8_t key[KEY_FILE_MAX];
	size_t len = 0;
	int ret;

	ipsec_conn_name(s, p, name, sizeof(name));
	spec.name = name;
	ipsec_addrs(s, p, local, remote);
	spec.local_addr = local;
	spec.remote_addr = remote;
	spec.local_id = s->name;
	spec.remote_id = p->name;
	spec.start_action = VICI_START_TRAP;
	spec.close_action = VICI_CLOSE_TRAP;
	ipsec_protocols(p, spec.protocols);
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
