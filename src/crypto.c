/* crypto.c - libcrypto loaded on first use (see crypto.h) */
#include "crypto.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static struct crypto table;
static int loaded;		/* 0 not tried, 1 loaded, -1 failed */
static char error[256];

/* (name, where in the table) for every function */
#define FN(name) { #name, (void **)&table.name }
static const struct {
	const char *name;
	void **slot;
} fns[] = {
	FN(BIO_free), FN(BIO_new_mem_buf), FN(EVP_DecodeBlock), FN(EVP_Digest), FN(EVP_EncodeBlock),
	FN(EVP_PKEY_CTX_free), FN(EVP_PKEY_CTX_new_id), FN(EVP_PKEY_free), FN(EVP_PKEY_get_raw_private_key),
	FN(EVP_PKEY_get_raw_public_key), FN(EVP_PKEY_get_id), FN(EVP_PKEY_keygen), FN(EVP_PKEY_keygen_init),
	FN(EVP_PKEY_new_raw_private_key), FN(EVP_sha1), FN(EVP_sha256), FN(OPENSSL_cleanse),
	FN(PEM_read_bio_PrivateKey),
};
#undef FN

const struct crypto *crypto(void)
{
	void *lib;

	if (loaded)
		return loaded > 0 ? &table : NULL;
	loaded = -1;
	lib = dlopen(CRYPTO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *e = dlerror();

		snprintf(error, sizeof(error), "cannot load %s: %s", CRYPTO_LIBRARY, e ? e : "unknown error");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		*fns[i].slot = dlsym(lib, fns[i].name);
		if (!*fns[i].slot) {
			snprintf(error, sizeof(error), "%s lacks %s: not OpenSSL 3", CRYPTO_LIBRARY, fns[i].name);
			memset(&table, 0, sizeof(table));
			dlclose(lib);
			return NULL;
		}
	}
	loaded = 1;
	return &table;
}

const char *crypto_error(void)
{
	return error[0] ? error : "libcrypto not loaded";
}
