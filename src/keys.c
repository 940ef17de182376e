/* keys.c - Ed25519 keys (OpenSSL's libcrypto) and the rules for key files */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "gatewayctl.h"
#include "keys.h"

/* RFC 8410, section 7: OneAsymmetricKey { version 0, AlgorithmIdentifier
 * id-Ed25519 (1.3.101.112), privateKey OCTET STRING { OCTET STRING seed } } */
static const uint8_t pkcs8_prefix[16] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
	0x04, 0x22, 0x04, 0x20,
};
/* RFC 8410, section 4: SubjectPublicKeyInfo { AlgorithmIdentifier id-Ed25519,
 * BIT STRING (no unused bits) key } */
static const uint8_t spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

void key_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);	/* (libcrypto's OPENSSL_cleanse: the same, without loading it) */
}

int key_generate(uint8_t seed[KEY_LEN])
{
	const struct crypto *C = crypto();
	EVP_PKEY_CTX *ctx = C ? C->EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL) : NULL;
	EVP_PKEY *pkey = NULL;
	size_t len = KEY_LEN;
	int ok;

	ok = ctx && C->EVP_PKEY_keygen_init(ctx) == 1 && C->EVP_PKEY_keygen(ctx, &pkey) == 1 &&
	     C->EVP_PKEY_get_raw_private_key(pkey, seed, &len) == 1 && len == KEY_LEN;
	if (C) {
		C->EVP_PKEY_free(pkey);
		C->EVP_PKEY_CTX_free(ctx);
	}
	if (!ok)
		key_wipe(seed, KEY_LEN);
	return ok ? 0 : -EIO;
}

int key_public(const uint8_t seed[KEY_LEN], uint8_t pub[KEY_LEN])
{
	const struct crypto *C = crypto();
	EVP_PKEY *pkey = C ? C->EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, KEY_LEN) : NULL;
	size_t len = KEY_LEN;
	int ok = pkey && C->EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 && len == KEY_LEN;

	if (C)
		C->EVP_PKEY_free(pkey);
	return ok ? 0 : -EIO;
}

void key_b64(const uint8_t key[KEY_LEN], char out[KEY_B64_LEN + 1])
{
	const struct crypto *C = crypto();

	out[0] = '\0';	/* (no libcrypto: an empty text, which no key file equals) */
	if (C)
		C->EVP_EncodeBlock((unsigned char *)out, key, KEY_LEN);
	out[KEY_B64_LEN] = '\0';
}

static bool space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trim whitespace around the LEN bytes at *P. */
static void trim(const uint8_t **p, size_t *len)
{
	while (*len && space((*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len && space((*p)[*len - 1]))
		(*len)--;
}

static int b64_decode(const uint8_t *text, size_t len, uint8_t key[KEY_LEN])
{
	unsigned char out[KEY_B64_LEN];	/* 33 decoded bytes: the padding's zero too */
	char again[KEY_B64_LEN + 1];
	const struct crypto *C = crypto();
	int n;

	trim(&text, &len);
	if (!C)
		return -ELIBACC;
	if (len != KEY_B64_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = text[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || (c == '=' && i == len - 1)))
			return -EINVAL;
	}
	n = C->EVP_DecodeBlock(out, text, (int)len);
	if (n != KEY_LEN + 1)
		return -EINVAL;
	/* only the canonical text of these 32 bytes */
	key_b64(out, again);
	if (memcmp(again, text, KEY_B64_LEN) != 0) {
		key_wipe(out, sizeof(out));
		key_wipe(again, sizeof(again));
		return -EINVAL;
	}
	memcpy(key, out, KEY_LEN);
	key_wipe(out, sizeof(out));
	key_wipe(again, sizeof(again));
	return 0;
}

int key_b64_decode(const char *text, uint8_t key[KEY_LEN])
{
	return text ? b64_decode((const uint8_t *)text, strlen(text), key) : -EINVAL;
}

void key_pkcs8(const uint8_t seed[KEY_LEN], uint8_t der[KEY_PKCS8_LEN])
{
	memcpy(der, pkcs8_prefix, sizeof(pkcs8_prefix));
	memcpy(der + sizeof(pkcs8_prefix), seed, KEY_LEN);
}

void key_spki(const uint8_t pub[KEY_LEN], uint8_t der[KEY_SPKI_LEN])
{
	memcpy(der, spki_prefix, sizeof(spki_prefix));
	memcpy(der + sizeof(spki_prefix), pub, KEY_LEN);
}

int key_charon_id(const uint8_t pub[KEY_LEN], char hex[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const struct crypto *C = crypto();

	if (!C || C->EVP_Digest(pub, KEY_LEN, md, &n, C->EVP_sha1(), NULL) != 1 || n != 20)
		return -EIO;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- key files ------------------------------------------------------------ */

#define WHY(ret, ...) (snprintf(why, whylen, __VA_ARGS__), (ret))

/* The key file open as OPENED: every directory on its way must be one that
 * only root (or we) can change, or the key could be swapped for another. */
static int dirs_unsafe(const char *path, const struct stat *opened, char *why, size_t whylen)
{
	char *real = realpath(path, NULL), dir[4096];
	struct stat st, again;
	int ret = 0;

	if (!real)
		return WHY(-errno, "cannot resolve %s: %s", path, strerror(errno));
	if (stat(real, &again) < 0 || again.st_dev != opened->st_dev || again.st_ino != opened->st_ino)
		ret = WHY(-EAGAIN, "%s changed while being opened", path);
	else if (path_unsafe_dir(real, dir, sizeof(dir), &st))
		ret = WHY(-EPERM, "the directory %s may be written by others than root (mode %04o, owner %u, "
			  "group %u), so the key in %s could be swapped: keep key files in a directory only "
			  "root can write, e.g. /etc/gatewayctl", dir, (unsigned)(st.st_mode & 07777),
			  (unsigned)st.st_uid, (unsigned)st.st_gid, path);
	free(real);
	return ret;
}

int key_file_read(const char *path, uint8_t *buf, size_t cap, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	size_t have = 0;
	int fd, ret = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ELOOP)
			return WHY(ret, "%s is a symbolic link: name the key file itself", path);
		if (ret == -ENOENT)
			return WHY(ret, "%s does not exist", path);
		return WHY(ret, "cannot open %s: %s", path, strerror(-ret));
	}
	if (fstat(fd, &st) < 0)
		ret = WHY(-errno, "cannot stat %s: %s", path, strerror(errno));
	else if ((ret = dirs_unsafe(path, &st, why, whylen)) < 0)
		;
	else if (!S_ISREG(st.st_mode))
		ret = WHY(-EINVAL, "%s is not a regular file", path);
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		ret = WHY(-EPERM, "%s is owned by uid %u: a key file must be owned by root", path,
			  (unsigned)st.st_uid);
	else if (st.st_mode & 077)
		ret = WHY(-EPERM, "%s has mode %04o, which gives group or others access to the key: "
			  "chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
	else if (st.st_size > KEY_FILE_MAX || (size_t)st.st_size > cap)
		ret = WHY(-EFBIG, "%s holds %lld bytes, more than a key file (%zu at most)", path,
			  (long long)st.st_size, cap < KEY_FILE_MAX ? cap : (size_t)KEY_FILE_MAX);
	while (!ret) {
		ssize_t n = read(fd, buf + have, cap - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = WHY(-errno, "cannot read %s: %s", path, strerror(errno));
		else if (n == 0)
			break;
		else if ((have += (size_t)n) == cap)
			ret = WHY(-EFBIG, "%s grew beyond %zu bytes while being read", path, cap);
	}
	close(fd);
	if (ret < 0) {
		key_wipe(buf, have);
		return ret;
	}
	*len = have;
	return 0;
}

int key_psk_read(const char *path, uint8_t *buf, size_t cap, size_t *len, char *why, size_t whylen)
{
	const uint8_t *p = buf;
	size_t n;
	int ret = key_file_read(path, buf, cap, &n, why, whylen);

	*len = 0;
	if (ret < 0)
		return ret;
	trim(&p, &n);
	if (n < PSK_MIN) {
		key_wipe(buf, cap);
		return WHY(-EINVAL, "%s holds %zu bytes of key material (without surrounding whitespace), "
			   "fewer than %d: e.g. head -c 32 /dev/urandom | base64 > %s", path, n, PSK_MIN, path);
	}
	memmove(buf, p, n);
	key_wipe(buf + n, cap - n);
	*len = n;
	return 0;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;	/* never prompt: an encrypted key is an error */
}

static int pem_decode(const uint8_t *text, size_t len, uint8_t seed[KEY_LEN], char *why, size_t whylen)
{
	const struct crypto *C = crypto();
	BIO *bio = C ? C->BIO_new_mem_buf(text, (int)len) : NULL;
	EVP_PKEY *pkey = bio ? C->PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	size_t n = KEY_LEN;
	int ret = 0;

	if (!C)
		return WHY(-ELIBACC, "%s", crypto_error());
	if (!pkey)
		ret = WHY(-EINVAL, "not a readable PEM private key (an encrypted one is refused)");
	else if (C->EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		ret = WHY(-EINVAL, "the PEM private key is not an Ed25519 key");
	else if (C->EVP_PKEY_get_raw_private_key(pkey, seed, &n) != 1 || n != KEY_LEN)
		ret = WHY(-EINVAL, "cannot take the Ed25519 seed out of the PEM key");
	C->EVP_PKEY_free(pkey);
	C->BIO_free(bio);
	return ret;
}

int key_private_parse(const uint8_t *text, size_t len, uint8_t seed[KEY_LEN], char *why, size_t whylen)
{
	static const char pem[] = "-----BEGIN PRIVATE KEY-----";

	trim(&text, &len);
	if (len >= sizeof(pem) - 1 && !memcmp(text, pem, sizeof(pem) - 1))
		return pem_decode(text, len, seed, why, whylen);
	if (b64_decode(text, len, seed) == 0)
		return 0;
	return WHY(-EINVAL, "not a private key: expected the base64 of 32 bytes on one line "
		   "(gatewayctl genkey) or a PEM PRIVATE KEY block of an Ed25519 key");
}

int key_private_read(const char *path, uint8_t seed[KEY_LEN], char *why, size_t whylen)
{
	uint8_t buf[KEY_FILE_MAX];
	size_t len;
	char inner[200];
	int ret = key_file_read(path, buf, sizeof(buf), &len, why, whylen);

	if (ret < 0)
		return ret;
	ret = key_private_parse(buf, len, seed, inner, sizeof(inner));
	key_wipe(buf, sizeof(buf));
	if (ret < 0)
		return WHY(ret, "%s: %s", path, inner);
	return 0;
}

int key_public_of_file(const char *path, uint8_t pub[KEY_LEN], char *why, size_t whylen)
{
	uint8_t seed[KEY_LEN];
	int ret = key_private_read(path, seed, why, whylen);

	if (ret < 0)
		return ret;
	ret = key_public(seed, pub);
	key_wipe(seed, sizeof(seed));
	if (ret < 0)
		return WHY(ret, "%s: OpenSSL cannot derive the public key", path);
	return 0;
}
