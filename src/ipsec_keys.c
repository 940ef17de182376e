/* ipsec_keys.c - the key material a site put into charon (see ipsec_keys.h) */
#define _GNU_SOURCE
#include "ipsec_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libdir.h"
#include "state.h"

const struct ipsec_key *ipsec_keys_find(const struct ipsec_keys *k, const char *name)
{
	for (size_t i = 0; k && i < k->n; i++)
		if (!strcmp(k->k[i].name, name))
			return &k->k[i];
	return NULL;
}

/* gcc 12's -fanalyzer loses track of a pointer stored into an element of a
 * realloc'd array (as in ipsec.c's record_add) and reports the copy as leaked
 * (here and in its callers below); ipsec_keys_free wipes and frees every
 * element's data (ASan unit tests). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
int ipsec_keys_set(struct ipsec_keys *k, const char *name, const uint8_t *data, size_t len)
{
	struct ipsec_key *e = (struct ipsec_key *)ipsec_keys_find(k, name);
	uint8_t *copy;

	if (strlen(name) >= sizeof(e->name) || len == 0 || len > KEY_FILE_MAX)
		return -EINVAL;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	if (!e) {
		struct ipsec_key *grown = realloc(k->k, (k->n + 1) * sizeof(*k->k));

		if (!grown) {
			key_wipe(copy, len);
			free(copy);
			return -ENOMEM;
		}
		k->k = grown;
		e = &k->k[k->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", name);
	} else {
		key_wipe(e->data, e->len);
		free(e->data);
	}
	e->data = copy;
	e->len = len;
	return 0;
}

void ipsec_keys_free(struct ipsec_keys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		key_wipe(k->k[i].data, k->k[i].len);
		free(k->k[i].data);
	}
	free(k->k);
	k->k = NULL;
	k->n = 0;
}

/* ---- the text --------------------------------------------------------------- */

char *ipsec_keys_format(const struct ipsec_keys *k, size_t *len)
{
	size_t cap = 128;
	char *text;

	for (size_t i = 0; i < k->n; i++)
		cap += strlen(k->k[i].name) + 2 * k->k[i].len + 16;
	text = malloc(cap);
	if (!text)
		return NULL;
	*len = (size_t)snprintf(text, cap, "# gatewayctl: the keys loaded into charon (root only)\n");
	for (size_t i = 0; i < k->n; i++) {
		const struct ipsec_key *e = &k->k[i];

		if (!strcmp(e->name, IPSEC_KEY_PRIVATE))
			*len += (size_t)snprintf(text + *len, cap - *len, "private ");
		else
			*len += (size_t)snprintf(text + *len, cap - *len, "psk %s ", e->name);
		for (size_t j = 0; j < e->len; j++)
			*len += (size_t)snprintf(text + *len, cap - *len, "%02x", e->data[j]);
		*len += (size_t)snprintf(text + *len, cap - *len, "\n");
	}
	return text;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One line's hex (HEX, N characters) into NAME's entry. */
static int parse_hex(struct ipsec_keys *k, const char *name, const char *hex, size_t n)
{
	uint8_t buf[KEY_FILE_MAX];
	int r;

	if (n == 0 || n % 2 || n / 2 > sizeof(buf))
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			key_wipe(buf, sizeof(buf));
			return -EINVAL;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	r = ipsec_keys_set(k, name, buf, n / 2);
	key_wipe(buf, sizeof(buf));
	return r;
}

int ipsec_keys_parse(const char *text, size_t len, struct ipsec_keys *k)
{
	const char *p = text, *end = text + len;

	memset(k, 0, sizeof(*k));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *sp;
		size_t n;
		char name[104];

		if (!eol)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 8 && !memcmp(p, "private ", 8)) {
			if (parse_hex(k, IPSEC_KEY_PRIVATE, p + 8, n - 8) == -ENOMEM)
				return -ENOMEM;
		} else if (n > 4 && !memcmp(p, "psk ", 4) && (sp = memchr(p + 4, ' ', n - 4)) &&
			   (size_t)(sp - p - 4) < sizeof(name) && sp > p + 4) {
			memcpy(name, p + 4, (size_t)(sp - p - 4));
			name[sp - p - 4] = '\0';
			if (parse_hex(k, name, sp + 1, (size_t)(eol - sp - 1)) == -ENOMEM)
				return -ENOMEM;
		}
		p = eol + 1;
	}
	return 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* ---- the files ------------------------------------------------------------------ */

/* Overwrite NAME in DFD with zeros, then remove it. */
static int wipe_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		static const uint8_t zeros[512];
		off_t left = st.st_size;

		while (left > 0) {
			ssize_t w = write(fd, zeros, left < (off_t)sizeof(zeros) ? (size_t)left : sizeof(zeros));

			if (w <= 0)
				break;
			left -= w;
		}
		fsync(fd);
	}
	close(fd);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void state_name(char *buf, size_t len, const char *site)
{
	snprintf(buf, len, "%s.keys", site);
}

static void pending_name(char *buf, size_t len, const char *site)
{
	snprintf(buf, len, "%s.pending.keys", site);
}

/* the text in TEXT (LEN bytes) parsed into K, TEXT wiped and freed */
static int parse_and_wipe(char *text, size_t len, struct ipsec_keys *k)
{
	int r = ipsec_keys_parse(text, len, k);

	key_wipe(text, len);
	free(text);
	if (r < 0)
		ipsec_keys_free(k);
	return r;
}

int ipsec_keys_load(const char *site, struct ipsec_keys *k)
{
	char name[SITE_NAME_MAX + 16], *text;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	memset(k, 0, sizeof(*k));
	state_name(name, sizeof(name), site);
	fd = state_open(true, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
		close(fd);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size && (n = read(fd, text + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	return parse_and_wipe(text, len, k);
}

int ipsec_keys_store(const char *site, const struct ipsec_keys *k)
{
	char name[SITE_NAME_MAX + 16], *text;
	size_t len = 0;
	int r;

	if (k->n == 0)
		return ipsec_keys_forget(site);
	state_name(name, sizeof(name), site);
	text = ipsec_keys_format(k, &len);
	if (!text)
		return -ENOMEM;
	r = state_write_file(true, name, text, len, 0600);
	key_wipe(text, len);
	free(text);
	return r;
}

int ipsec_keys_forget(const char *site)
{
	char name[SITE_NAME_MAX + 16];
	int dfd = state_dirfd(true, false);

	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	state_name(name, sizeof(name), site);
	return wipe_at(dfd, name);
}

/* ---- while a change is pending ------------------------------------------------------ */

static struct ipsec_keys override;
static bool override_on;

int ipsec_keys_pending_begin(const char *site)
{
	struct ipsec_keys k;
	char name[SITE_NAME_MAX + 24], *text;
	size_t len = 0;
	int r = ipsec_keys_load(site, &k);

	if (r < 0)
		return r;
	if (k.n == 0)
		return ipsec_keys_pending_clear(site);
	pending_name(name, sizeof(name), site);
	text = ipsec_keys_format(&k, &len);
	ipsec_keys_free(&k);
	if (!text)
		return -ENOMEM;
	r = lib_write_file(name, text, len);
	key_wipe(text, len);
	free(text);
	return r;
}

int ipsec_keys_pending_use(const char *site)
{
	char name[SITE_NAME_MAX + 24], *text = NULL;
	size_t len = 0;
	int r;

	ipsec_keys_pending_end();
	pending_name(name, sizeof(name), site);
	r = lib_read_file(name, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = parse_and_wipe(text, len, &override);
	override_on = r == 0;
	return r;
}

void ipsec_keys_pending_end(void)
{
	ipsec_keys_free(&override);
	override_on = false;
}

int ipsec_keys_pending_clear(const char *site)
{
	char name[SITE_NAME_MAX + 24];
	int dfd = lib_dirfd(false);

	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	pending_name(name, sizeof(name), site);
	return wipe_at(dfd, name);
}

/* ---- the key of a peer, of the site ---------------------------------------------------- */

int ipsec_key_psk(const char *conn, const struct peer *p, uint8_t *buf, size_t cap, size_t *len,
		  char *why, size_t whylen)
{
	const struct ipsec_key *e = override_on ? ipsec_keys_find(&override, conn) : NULL;

	if (e && e->len <= cap) {
		memcpy(buf, e->data, e->len);
		*len = e->len;
		return 0;
	}
	return key_psk_read(p->psk_file, buf, cap, len, why, whylen);
}

int ipsec_key_private(const struct site *s, uint8_t seed[KEY_LEN], char *why, size_t whylen)
{
	const struct ipsec_key *e = override_on ? ipsec_keys_find(&override, IPSEC_KEY_PRIVATE) : NULL;

	if (e && e->len == KEY_LEN) {
		memcpy(seed, e->data, KEY_LEN);
		return 0;
	}
	return key_private_read(s->private_key, seed, why, whylen);
}
