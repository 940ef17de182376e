/* crypto.h - libcrypto, loaded on first use (dlopen), not at every start.
 *
 * Only IPsec's keys need it (keys.c: Ed25519, base64, PEM; ipsec_conn.c: the
 * key's SHA-256), yet linking it made every process map and relocate 4.7 MB:
 * 1.6 MB more resident memory and twice the page faults at each start, paid
 * by the long-running watcher and the relay (which never uses it) and by
 * every relay restart. Now a process that needs it asks crypto() once.
 *
 * The functions keep OpenSSL's names and types (<openssl/evp.h>), reached
 * through the table: C->EVP_Digest(...). */
#ifndef GATEWAYCTL_CRYPTO_H
#define GATEWAYCTL_CRYPTO_H

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define CRYPTO_LIBRARY "libcrypto.so.3"	/* Debian's libssl3 */

struct crypto {
	__typeof__(&BIO_free) BIO_free;
	__typeof__(&BIO_new_mem_buf) BIO_new_mem_buf;
	__typeof__(&EVP_DecodeBlock) EVP_DecodeBlock;
	__typeof__(&EVP_Digest) EVP_Digest;
	__typeof__(&EVP_EncodeBlock) EVP_EncodeBlock;
	__typeof__(&EVP_PKEY_CTX_free) EVP_PKEY_CTX_free;
	__typeof__(&EVP_PKEY_CTX_new_id) EVP_PKEY_CTX_new_id;
	__typeof__(&EVP_PKEY_free) EVP_PKEY_free;
	__typeof__(&EVP_PKEY_get_raw_private_key) EVP_PKEY_get_raw_private_key;
	__typeof__(&EVP_PKEY_get_raw_public_key) EVP_PKEY_get_raw_public_key;
	__typeof__(&EVP_PKEY_get_id) EVP_PKEY_get_id;
	__typeof__(&EVP_PKEY_keygen) EVP_PKEY_keygen;
	__typeof__(&EVP_PKEY_keygen_init) EVP_PKEY_keygen_init;
	__typeof__(&EVP_PKEY_new_raw_private_key) EVP_PKEY_new_raw_private_key;
	__typeof__(&EVP_sha1) EVP_sha1;
	__typeof__(&EVP_sha256) EVP_sha256;
	__typeof__(&OPENSSL_cleanse) OPENSSL_cleanse;
	__typeof__(&PEM_read_bio_PrivateKey) PEM_read_bio_PrivateKey;
};

/* The table, loaded the first time (the library stays loaded); NULL when
 * libcrypto cannot be loaded, with the reason in crypto_error(). */
const struct crypto *crypto(void);
/* "cannot load libcrypto.so.3: ..." (the dynamic loader's words) */
const char *crypto_error(void);

#endif
