/* test_keys.c - Ed25519 keys, their encodings and the key file rules, against
 * independent witnesses: the openssl command line and strongSwan's pki. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "commands.h"
#include "keys.h"

static char dir[64];

static const char *path_of(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Run CMD (a shell command line of the test, not of the product) and return
 * its whole stdout in BUF; its exit status. */
static int run(const char *cmd, uint8_t *buf, size_t size, size_t *len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	assert_non_null(p);
	while (n < size) {
		size_t r = fread(buf + n, 1, size - n, p);

		if (r == 0)
			break;
		n += r;
	}
	*len = n;
	return pclose(p);
}

static bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gwt-keys-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The public key openssl derives from our PKCS#8 DER equals ours, and its
 * SubjectPublicKeyInfo is byte for byte our key_spki. */
static void test_public_key_matches_openssl(void **state)
{
	uint8_t seed[KEY_LEN], pub[KEY_LEN], der[KEY_PKCS8_LEN], spki[KEY_SPKI_LEN], out[256];
	size_t len;
	char cmd[300];

	(void)state;
	if (!have("openssl"))
		skip();
	for (int round = 0; round < 3; round++) {
		assert_int_equal(key_generate(seed), 0);
		assert_int_equal(key_public(seed, pub), 0);
		key_pkcs8(seed, der);
		write_file(path_of("k.der"), der, sizeof(der), 0600);
		snprintf(cmd, sizeof(cmd), "openssl pkey -inform DER -in %s -pubout -outform DER 2>/dev/null",
			 path_of("k.der"));
		assert_int_equal(run(cmd, out, sizeof(out), &len), 0);
		key_spki(pub, spki);
		assert_int_equal(len, KEY_SPKI_LEN);
		assert_memory_equal(out, spki, KEY_SPKI_LEN);
	}
}

static void test_public_key_matches_pki(void **state)
{
	uint8_t seed[KEY_LEN], pub[KEY_LEN], der[KEY_PKCS8_LEN], out[4096];
	char hex[41], cmd[300], *line;
	size_t len;

	(void)state;
	if (!have("pki"))
		skip();
	assert_int_equal(key_generate(seed), 0);
	assert_int_equal(key_public(seed, pub), 0);
	key_pkcs8(seed, der);
	write_file(path_of("k.der"), der, sizeof(der), 0600);
	snprintf(cmd, sizeof(cmd), "pki --pub --type priv --in %s --outform der 2>/dev/null", path_of("k.der"));
	assert_int_equal(run(cmd, out, sizeof(out), &len), 0);
	assert_int_equal(len, KEY_SPKI_LEN);
	assert_memory_equal(out + len - KEY_LEN, pub, KEY_LEN);
	/* charon's key id: pki's "SHA-1 of subjectPublicKey" */
	assert_int_equal(key_charon_id(pub, hex), 0);
	snprintf(cmd, sizeof(cmd), "pki --keyid --type priv --in %s 2>/dev/null | sed -n '2p' | tr -d ' :'",
		 path_of("k.der"));
	assert_int_equal(run(cmd, out, sizeof(out) - 1, &len), 0);
	out[len] = '\0';
	line = strtok((char *)out, "\n");
	assert_non_null(line);
	assert_string_equal(line, hex);
}

/* Keys made by the witnesses (PEM PKCS#8) read as ours, same public key. */
static void test_reads_foreign_pem(void **state)
{
	static const char *const gens[] = {
		"openssl genpkey -algorithm ed25519 -out %s 2>/dev/null",
		"pki --gen --type ed25519 --outform pem > %s 2>/dev/null",
	};
	uint8_t seed[KEY_LEN], pub[KEY_LEN], mine[KEY_LEN], out[256];
	char why[300], cmd[300];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		if (!have(i == 0 ? "openssl" : "pki"))
			continue;
		unlink(path_of("f.pem"));
		snprintf(cmd, sizeof(cmd), gens[i], path_of("f.pem"));
		assert_int_equal(system(cmd), 0);
		chmod(path_of("f.pem"), 0600);
		assert_int_equal(key_private_read(path_of("f.pem"), seed, why, sizeof(why)), 0);
		assert_int_equal(key_public(seed, pub), 0);
		assert_int_equal(key_public_of_file(path_of("f.pem"), mine, why, sizeof(why)), 0);
		assert_memory_equal(mine, pub, KEY_LEN);
		snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -pubout -outform DER 2>/dev/null", path_of("f.pem"));
		assert_int_equal(run(cmd, out, sizeof(out), &len), 0);
		assert_int_equal(len, KEY_SPKI_LEN);
		assert_memory_equal(out + len - KEY_LEN, pub, KEY_LEN);
	}
}

static void test_refuses_other_pem(void **state)
{
	uint8_t seed[KEY_LEN];
	char why[300], cmd[300];

	(void)state;
	if (!have("openssl"))
		skip();
	/* an EC key, and an encrypted Ed25519 key: refused, never a passphrase prompt */
	snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null; "
		 "openssl genpkey -algorithm ed25519 -aes256 -pass pass:secret -out %s 2>/dev/null; chmod 600 %s %s",
		 path_of("ec.pem"), path_of("enc.pem"), path_of("ec.pem"), path_of("enc.pem"));
	assert_int_equal(system(cmd), 0);
	assert_int_equal(key_private_read(path_of("ec.pem"), seed, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not an Ed25519 key"));
	assert_int_equal(key_private_read(path_of("enc.pem"), seed, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a private key"));
}

static void test_b64(void **state)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char text[KEY_B64_LEN + 1], t[80];

	(void)state;
	for (int i = 0; i < KEY_LEN; i++)
		key[i] = (uint8_t)(i * 37 + 1);
	key_b64(key, text);
	assert_int_equal(strlen(text), KEY_B64_LEN);
	assert_int_equal(text[43], '=');
	assert_int_equal(key_b64_decode(text, back), 0);
	assert_memory_equal(back, key, KEY_LEN);
	snprintf(t, sizeof(t), " \t%s\r\n", text);
	assert_int_equal(key_b64_decode(t, back), 0);		/* surrounding whitespace */
	memset(key, 0, sizeof(key));
	key_b64(key, text);
	assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", back), -EINVAL);	/* 43 */
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", back), -EINVAL);	/* 33 bytes */
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", back), -EINVAL);	/* not canonical */
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", back), -EINVAL);	/* 31 bytes */
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA=", back), -EINVAL);	/* inner space */
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=", back), -EINVAL);
	assert_int_equal(key_b64_decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", back), -EINVAL);	/* 36 bytes */
	assert_int_equal(key_b64_decode("", back), -EINVAL);
	assert_int_equal(key_b64_decode(NULL, back), -EINVAL);
	assert_int_equal(key_b64_decode("============================================", back), -EINVAL);
}

/* RFC 8410, section 10.3: the example private key and its public key */
static void test_rfc8410_example(void **state)
{
	static const char pem[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
		"-----END PRIVATE KEY-----\n";
	static const uint8_t want_spki[] = {	/* its public key, section 10.1 */
		0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
		0x19, 0xbf, 0x44, 0x09, 0x69, 0x84, 0xcd, 0xfe, 0x85, 0x41, 0xba, 0xc1,
		0x67, 0xdc, 0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6, 0xb6, 0xcb,
		0x0c, 0x5c, 0x38, 0xad, 0x70, 0x31, 0x66, 0xe1,
	};
	uint8_t seed[KEY_LEN], pub[KEY_LEN], der[KEY_PKCS8_LEN], spki[KEY_SPKI_LEN];
	char why[200];

	(void)state;
	assert_int_equal(key_private_parse((const uint8_t *)pem, strlen(pem), seed, why, sizeof(why)), 0);
	assert_int_equal(key_public(seed, pub), 0);
	key_spki(pub, spki);
	assert_memory_equal(spki, want_spki, sizeof(want_spki));
	/* our PKCS#8 of that seed is the RFC's DER: base64 of it is the PEM's body */
	key_pkcs8(seed, der);
	{
		char b64[80];

		EVP_EncodeBlock((unsigned char *)b64, der, sizeof(der));
		assert_string_equal(b64, "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC");
	}
}

/* Capture what MAIN prints with stdin from IN (may be NULL) to stdout file OUT. */
static int run_main(int (*main_fn)(int, char **), char *arg, const char *in, const char *out,
		    mode_t out_mode, const char *err)
{
	char *argv[] = { "cmd", arg, NULL };
	int saved[3], fd, ret;

	fflush(stdout);
	fflush(stderr);
	saved[0] = dup(0);
	saved[1] = dup(1);
	saved[2] = dup(2);
	if (in) {
		fd = open(in, O_RDONLY);
		assert_true(fd >= 0);
		dup2(fd, 0);
		close(fd);
	}
	unlink(out);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fchmod(fd, out_mode);
	dup2(fd, 1);
	close(fd);
	fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	ret = main_fn(arg ? 2 : 1, argv);
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	return ret;
}

static size_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void test_genkey_pubkey_commands(void **state)
{
	char priv[200], pubtext[200], err[400], expect[KEY_B64_LEN + 1], why[200];
	uint8_t seed[KEY_LEN], pub[KEY_LEN], out[256];
	char cmd[300];
	size_t len;

	(void)state;
	assert_int_equal(run_main(genkey_main, NULL, NULL, path_of("g.key"), 0600, path_of("err")), 0);
	assert_int_equal(slurp(path_of("g.key"), priv, sizeof(priv)), KEY_B64_LEN + 1);
	assert_int_equal(priv[KEY_B64_LEN], '\n');
	assert_int_equal(slurp(path_of("err"), err, sizeof(err)), 0);	/* no warning for 0600 */
	assert_int_equal(key_private_read(path_of("g.key"), seed, why, sizeof(why)), 0);
	assert_int_equal(key_public(seed, pub), 0);
	key_b64(pub, expect);

	assert_int_equal(run_main(pubkey_main, NULL, path_of("g.key"), path_of("p.pub"), 0600, path_of("err")), 0);
	slurp(path_of("p.pub"), pubtext, sizeof(pubtext));
	assert_int_equal(strlen(pubtext), KEY_B64_LEN + 1);
	pubtext[KEY_B64_LEN] = '\0';
	assert_string_equal(pubtext, expect);

	/* the witness: openssl's public key of the same seed */
	if (have("openssl")) {
		snprintf(cmd, sizeof(cmd), "(printf '\\060\\056\\002\\001\\000\\060\\005\\006\\003\\053\\145\\160"
			 "\\004\\042\\004\\040'; base64 -d %s) | openssl pkey -inform DER -pubout -outform DER "
			 "2>/dev/null | tail -c 32 | base64", path_of("g.key"));
		assert_int_equal(run(cmd, out, sizeof(out) - 1, &len), 0);
		out[len] = '\0';
		assert_int_equal(len, KEY_B64_LEN + 1);
		out[KEY_B64_LEN] = '\0';
		assert_string_equal((char *)out, expect);
	}
	/* two keys differ */
	assert_int_equal(run_main(genkey_main, NULL, NULL, path_of("g2.key"), 0600, path_of("err")), 0);
	slurp(path_of("g2.key"), pubtext, sizeof(pubtext));
	assert_string_not_equal(pubtext, priv);
	/* a file others may read: written, with a warning */
	assert_int_equal(run_main(genkey_main, NULL, NULL, path_of("g3.key"), 0644, path_of("err")), 0);
	slurp(path_of("err"), err, sizeof(err));
	assert_non_null(strstr(err, "warning"));
	assert_non_null(strstr(err, "chmod 600"));
	/* pubkey of garbage: exit 2, a reason */
	write_file(path_of("junk"), "hello\n", 6, 0600);
	assert_int_equal(run_main(pubkey_main, NULL, path_of("junk"), path_of("p.pub"), 0600, path_of("err")), 2);
	slurp(path_of("err"), err, sizeof(err));
	assert_non_null(strstr(err, "not a private key"));
	slurp(path_of("p.pub"), pubtext, sizeof(pubtext));
	assert_string_equal(pubtext, "");
	/* stray arguments */
	assert_int_equal(run_main(genkey_main, "extra", NULL, path_of("p.pub"), 0600, path_of("err")), 2);
	assert_int_equal(run_main(pubkey_main, "--help", NULL, path_of("p.pub"), 0600, path_of("err")), 0);
	slurp(path_of("p.pub"), pubtext, sizeof(pubtext));
	assert_non_null(strstr(pubtext, "Usage"));
}

static void test_key_file_rules(void **state)
{
	uint8_t buf[KEY_FILE_MAX], seed[KEY_LEN];
	static uint8_t big[KEY_FILE_MAX + 1];
	char why[400], text[KEY_B64_LEN + 2];
	size_t len;

	(void)state;
	assert_int_equal(key_generate(seed), 0);
	key_b64(seed, text);
	strcat(text, "\n");
	write_file(path_of("ok.key"), text, strlen(text), 0600);
	assert_int_equal(key_file_read(path_of("ok.key"), buf, sizeof(buf), &len, why, sizeof(why)), 0);
	assert_int_equal(len, KEY_B64_LEN + 1);
	write_file(path_of("ro.key"), text, strlen(text), 0400);
	assert_int_equal(key_file_read(path_of("ro.key"), buf, sizeof(buf), &len, why, sizeof(why)), 0);

	static const mode_t bad_modes[] = { 0644, 0640, 0604, 0620, 0602, 0610, 0601, 0666 };
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		write_file(path_of("m.key"), text, strlen(text), bad_modes[i]);
		assert_int_equal(key_file_read(path_of("m.key"), buf, sizeof(buf), &len, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "chmod 600"));
		assert_int_equal(len, 0);
		assert_int_equal(key_private_read(path_of("m.key"), seed, why, sizeof(why)), -EPERM);
	}
	/* a symbolic link to a good file */
	unlink(path_of("link.key"));
	assert_int_equal(symlink(path_of("ok.key"), path_of("link.key")), 0);
	assert_int_equal(key_file_read(path_of("link.key"), buf, sizeof(buf), &len, why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "symbolic link"));
	/* missing, a directory, a FIFO (no hang) */
	assert_int_equal(key_file_read(path_of("none.key"), buf, sizeof(buf), &len, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "does not exist"));
	mkdir(path_of("d.key"), 0700);
	assert_int_equal(key_file_read(path_of("d.key"), buf, sizeof(buf), &len, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a regular file"));
	unlink(path_of("fifo.key"));
	assert_int_equal(mkfifo(path_of("fifo.key"), 0600), 0);
	assert_int_equal(key_file_read(path_of("fifo.key"), buf, sizeof(buf), &len, why, sizeof(why)), -EINVAL);
	/* too large */
	memset(big, 'a', sizeof(big));
	write_file(path_of("big.key"), big, sizeof(big), 0600);
	assert_int_equal(key_file_read(path_of("big.key"), buf, sizeof(buf), &len, why, sizeof(why)), -EFBIG);
	/* owned by someone else (root can make such a file) */
	if (geteuid() == 0) {
		write_file(path_of("other.key"), text, strlen(text), 0600);
		assert_int_equal(chown(path_of("other.key"), 12345, 12345), 0);
		assert_int_equal(key_file_read(path_of("other.key"), buf, sizeof(buf), &len, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "owned by uid 12345"));
	}
}

/* Every directory on the way to a key file is checked, not only the file: one
 * that others may write lets them swap the key (issue 18). */
static void test_key_dirs_checked(void **state)
{
	uint8_t buf[KEY_FILE_MAX];
	char why[600], text[KEY_B64_LEN + 2], key[160], link[160];
	uint8_t seed[KEY_LEN];
	size_t len;

	(void)state;
	assert_int_equal(key_generate(seed), 0);
	key_b64(seed, text);
	strcat(text, "\n");
	mkdir(path_of("open"), 0700);
	snprintf(key, sizeof(key), "%s/psk.key", path_of("open"));
	write_file(key, "0123456789abcdef0123456789abcdef\n", 33, 0600);
	/* safe: read */
	assert_int_equal(key_psk_read(key, buf, sizeof(buf), &len, why, sizeof(why)), 0);
	/* world-writable, not sticky: anyone may rename the key away and put theirs */
	assert_int_equal(chmod(path_of("open"), 0777), 0);
	assert_int_equal(key_psk_read(key, buf, sizeof(buf), &len, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, path_of("open")));
	assert_non_null(strstr(why, "may be written by others than root"));
	assert_int_equal(len, 0);
	/* ... and through a symbolic link to that directory */
	snprintf(link, sizeof(link), "%s/psk.key", path_of("via"));
	unlink(path_of("via"));
	assert_int_equal(symlink(path_of("open"), path_of("via")), 0);
	assert_int_equal(key_psk_read(link, buf, sizeof(buf), &len, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, path_of("open")));
	/* the private key reader too */
	write_file(key, text, strlen(text), 0600);
	assert_int_equal(key_private_read(key, seed, why, sizeof(why)), -EPERM);
	/* group-writable by a group other than root's */
	assert_int_equal(chmod(path_of("open"), 0770), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path_of("open"), 0, 12345), 0);
		assert_int_equal(key_private_read(key, seed, why, sizeof(why)), -EPERM);
		/* another user's directory, even read-only for the others */
		assert_int_equal(chmod(path_of("open"), 0755), 0);
		assert_int_equal(chown(path_of("open"), 12345, 0), 0);
		assert_int_equal(key_private_read(key, seed, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "owner 12345"));
		assert_int_equal(chown(path_of("open"), 0, 0), 0);
	}
	/* sticky like /tmp, the entry below it ours: safe */
	assert_int_equal(chmod(path_of("open"), 01777), 0);
	assert_int_equal(key_private_read(key, seed, why, sizeof(why)), 0);
	assert_int_equal(chmod(path_of("open"), 0700), 0);
	assert_int_equal(key_private_read(key, seed, why, sizeof(why)), 0);
}

/* A user other than root cannot read root's key file: a clear -EACCES. */
static void test_unreadable(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	write_file(path_of("root.key"), "x", 1, 0600);
	chmod(dir, 0755);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t buf[64];
		char why[300];
		size_t len;
		int ret;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		ret = key_file_read(path_of("root.key"), buf, sizeof(buf), &len, why, sizeof(why));
		_exit(ret == -EACCES && strstr(why, "Permission denied") ? 0 : 11);
	}
	waitpid(pid, &st, 0);
	chmod(dir, 0700);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_psk_material(void **state)
{
	uint8_t buf[KEY_FILE_MAX];
	char why[400];
	size_t len;
	const char *k32 = "0123456789abcdef0123456789ABCDEF";

	(void)state;
	write_file(path_of("psk"), k32, 32, 0600);
	assert_int_equal(key_psk_read(path_of("psk"), buf, sizeof(buf), &len, why, sizeof(why)), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(buf, k32, 32);
	/* surrounding whitespace is not key material */
	write_file(path_of("psk"), " \n0123456789abcdef0123456789ABCDEF\r\n\n", 37, 0600);
	assert_int_equal(key_psk_read(path_of("psk"), buf, sizeof(buf), &len, why, sizeof(why)), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(buf, k32, 32);
	write_file(path_of("psk"), "0123456789abcdef0123456789ABCDE\n\n\n", 34, 0600);	/* 31 + newlines */
	assert_int_equal(key_psk_read(path_of("psk"), buf, sizeof(buf), &len, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "31 bytes of key material"));
	assert_int_equal(len, 0);
	/* inner whitespace is material: 33 bytes */
	write_file(path_of("psk"), "0123456789abcdef 0123456789ABCDEF", 33, 0600);
	assert_int_equal(key_psk_read(path_of("psk"), buf, sizeof(buf), &len, why, sizeof(why)), 0);
	assert_int_equal(len, 33);
	/* the recipe: base64 of 32 random bytes = 44 bytes of material */
	assert_int_equal(system("head -c 32 /dev/urandom | base64 > /dev/null"), 0);
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -f %s; (umask 077; head -c 32 /dev/urandom | base64 > %s)",
			 path_of("psk2"), path_of("psk2"));
		assert_int_equal(system(cmd), 0);
		assert_int_equal(key_psk_read(path_of("psk2"), buf, sizeof(buf), &len, why, sizeof(why)), 0);
		assert_int_equal(len, 44);
	}
	/* the file rules apply */
	write_file(path_of("psk"), k32, 32, 0640);
	assert_int_equal(key_psk_read(path_of("psk"), buf, sizeof(buf), &len, why, sizeof(why)), -EPERM);
}

static void test_private_key_forms(void **state)
{
	uint8_t seed[KEY_LEN], got[KEY_LEN];
	char text[KEY_B64_LEN + 8], why[300];

	(void)state;
	assert_int_equal(key_generate(seed), 0);
	key_b64(seed, text);
	/* with a newline, CRLF, spaces */
	strcat(text, "\r\n");
	assert_int_equal(key_private_parse((uint8_t *)text, strlen(text), got, why, sizeof(why)), 0);
	assert_memory_equal(got, seed, KEY_LEN);
	/* a public key has the same form: undetectable, but garbage is refused */
	assert_int_equal(key_private_parse((const uint8_t *)"x", 1, got, why, sizeof(why)), -EINVAL);
	assert_int_equal(key_private_parse((const uint8_t *)"", 0, got, why, sizeof(why)), -EINVAL);
	assert_int_equal(key_private_parse((const uint8_t *)"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
					   58, got, why, sizeof(why)), -EINVAL);
	/* two lines of base64 */
	key_b64(seed, text);
	text[20] = '\n';
	assert_int_equal(key_private_parse((uint8_t *)text, strlen(text), got, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_key_matches_openssl),
		cmocka_unit_test(test_public_key_matches_pki),
		cmocka_unit_test(test_reads_foreign_pem),
		cmocka_unit_test(test_refuses_other_pem),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_rfc8410_example),
		cmocka_unit_test(test_genkey_pubkey_commands),
		cmocka_unit_test(test_key_file_rules),
		cmocka_unit_test(test_key_dirs_checked),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_psk_material),
		cmocka_unit_test(test_private_key_forms),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
