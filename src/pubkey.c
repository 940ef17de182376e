/* pubkey.c - gatewayctl pubkey: the public key of a private key read on stdin */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "gatewayctl.h"
#include "keys.h"

static void pubkey_about(FILE *out)
{
	fprintf(out, "Read an Ed25519 private key on standard input (what `%s genkey` printed,\n"
		"or a PEM PRIVATE KEY block) and print its public key in base64: the value\n"
		"of `public_key =` in the peer sections of the other sites.\n", prog);
}

static const struct cmdopt pubkey_opts[] = { { 0 } };
static const struct cmdspec pubkey_spec = {
	.name = "pubkey", .usage = "< FILE", .about = pubkey_about, .opts = pubkey_opts,
};

int pubkey_main(int argc, char **argv)
{
	uint8_t buf[KEY_FILE_MAX + 1], seed[KEY_LEN], pub[KEY_LEN];
	char text[KEY_B64_LEN + 1], why[256];
	struct cmdline cl;
	size_t len = 0;
	int ret;

	if ((ret = cmdopt_parse(&pubkey_spec, argc, argv, &cl)))
		return ret == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands)
		return usage_error("pubkey", "unexpected argument `%s`", cl.operands[0]);
	while (len < sizeof(buf)) {
		ssize_t n = read(STDIN_FILENO, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("gatewayctl pubkey: reading standard input");
			key_wipe(buf, len);
			return EXIT_FAIL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > KEY_FILE_MAX) {
		key_wipe(buf, sizeof(buf));
		fprintf(stderr, "%s pubkey: standard input holds more than %d bytes: not a key\n",
			prog, KEY_FILE_MAX);
		return EXIT_USAGE;
	}
	ret = key_private_parse(buf, len, seed, why, sizeof(why));
	key_wipe(buf, sizeof(buf));
	if (ret < 0) {
		fprintf(stderr, "%s pubkey: standard input: %s\n", prog, why);
		return EXIT_USAGE;
	}
	ret = key_public(seed, pub);
	key_wipe(seed, sizeof(seed));
	if (ret < 0) {
		fprintf(stderr, "%s pubkey: OpenSSL cannot derive the public key\n", prog);
		return EXIT_FAIL;
	}
	key_b64(pub, text);
	if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
		perror("gatewayctl pubkey: writing the key");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
