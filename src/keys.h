/* keys.h - Ed25519 keys and key files for IPsec (issue 11).
 * The cryptography is OpenSSL's libcrypto; nothing here computes a curve.
 *
 * Private key file: text, surrounding whitespace ignored, either the base64 of
 * the 32-byte Ed25519 seed on one line (what `gatewayctl genkey` prints, like
 * `wg genkey`), or a PEM "PRIVATE KEY" (PKCS#8) block holding an Ed25519 key
 * (`pki --gen --type ed25519 --outform pem`, `openssl genpkey -algorithm ed25519`).
 * Public key: the base64 of the raw 32-byte key (`gatewayctl pubkey`).
 *
 * Key files (private keys and PSKs) must be regular files (a symbolic link is
 * refused: O_NOFOLLOW), owned by root or the effective user, with no
 * permission for group or others (mode 0600 or 0400), at most KEY_FILE_MAX
 * bytes. A PSK file's key material is its bytes without leading and trailing
 * whitespace (space, tab, CR, LF, VT, FF), used as they are (base64 text is
 * not decoded): at least PSK_MIN bytes, e.g. `head -c 32 /dev/urandom | base64`.
 */
#ifndef GATEWAYCTL_KEYS_H
#define GATEWAYCTL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32		/* Ed25519 seed and public key */
#define KEY_B64_LEN 44		/* their base64, without the NUL */
#define KEY_PKCS8_LEN 48	/* DER OneAsymmetricKey of a seed (RFC 8410, 7) */
#define KEY_SPKI_LEN 44		/* DER SubjectPublicKeyInfo (RFC 8410, 4) */
#define PSK_MIN 32		/* bytes of PSK key material at least */
#define KEY_FILE_MAX 4096

/* A new private key (seed) from OpenSSL's CSPRNG. 0 or -EIO. */
int key_generate(uint8_t seed[KEY_LEN]);
/* The public key of SEED. 0 or -EIO. */
int key_public(const uint8_t seed[KEY_LEN], uint8_t pub[KEY_LEN]);
/* Base64 of a 32-byte key, NUL-terminated. */
void key_b64(const uint8_t key[KEY_LEN], char out[KEY_B64_LEN + 1]);
/* Decode base64 TEXT (surrounding whitespace ignored) that must encode exactly
 * 32 bytes, canonically. 0 or -EINVAL. */
int key_b64_decode(const char *text, uint8_t key[KEY_LEN]);
/* DER encodings charon's load-key and pubkeys take */
void key_pkcs8(const uint8_t seed[KEY_LEN], uint8_t der[KEY_PKCS8_LEN]);
void key_spki(const uint8_t pub[KEY_LEN], uint8_t der[KEY_SPKI_LEN]);
/* charon's ID of the key (what load-key answers, unload-key wants): the hex
 * SHA-1 of the raw public key. 0 or -EIO. */
int key_charon_id(const uint8_t pub[KEY_LEN], char hex[41]);

/* Read key file PATH under the rules above into BUF (CAP bytes): 0 and *LEN,
 * or -errno with the reason in WHY, e.g. "mode 0644 gives group or others
 * access: chmod 600 PATH". */
int key_file_read(const char *path, uint8_t *buf, size_t cap, size_t *len, char *why, size_t whylen);
/* A PSK file's key material (trimmed, at least PSK_MIN bytes): 0 and *LEN, or -errno + WHY. */
int key_psk_read(const char *path, uint8_t *buf, size_t cap, size_t *len, char *why, size_t whylen);
/* A private key from text TEXT (LEN bytes, any of the two forms). 0 or -EINVAL + WHY. */
int key_private_parse(const uint8_t *text, size_t len, uint8_t seed[KEY_LEN], char *why, size_t whylen);
/* A private key file. 0 or -errno + WHY. */
int key_private_read(const char *path, uint8_t seed[KEY_LEN], char *why, size_t whylen);
/* The public key of private key file PATH (for checking a peer's public_key). */
int key_public_of_file(const char *path, uint8_t pub[KEY_LEN], char *why, size_t whylen);
/* Overwrite LEN bytes of secret at P. */
void key_wipe(void *p, size_t len);

#endif
