/* genkey.c - gatewayctl genkey: a new Ed25519 private key, like `wg genkey` */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "gatewayctl.h"
#include "keys.h"

static void genkey_about(FILE *out)
{
	fprintf(out, "Print a new Ed25519 private key for IPsec (`[site] private_key = FILE`): the\n"
		"base64 of its 32 random bytes on one line. Keep FILE owned by root with mode\n"
		"0600 (hence the umask): gatewayctl refuses a key file that group or others\n"
		"may access. `%s pubkey < FILE` shows its public key for the peers'\n"
		"`public_key =`. The key comes from OpenSSL's random generator.\n", prog);
}

static const struct cmdopt genkey_opts[] = { { 0 } };
static const struct cmdspec genkey_spec = {
	.name = "genkey", .prefix = "umask 077; ", .usage = "> FILE", .about = genkey_about, .opts = genkey_opts,
};

int genkey_main(int argc, char **argv)
{
	uint8_t seed[KEY_LEN];
	char text[KEY_B64_LEN + 1];
	struct cmdline cl;
	struct stat st;
	int ret;

	if ((ret = cmdopt_parse(&genkey_spec, argc, argv, &cl)))
		return ret == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands)
		return usage_error("genkey", "unexpected argument `%s`", cl.operands[0]);
	if (key_generate(seed) < 0) {
		fprintf(stderr, "%s genkey: OpenSSL could not generate an Ed25519 key\n", prog);
		return EXIT_FAIL;
	}
	key_b64(seed, text);
	key_wipe(seed, sizeof(seed));
	/* as wg does: warn when the key lands in a file others may read */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		fprintf(stderr, "%s genkey: warning: the output file has mode %04o, so group or others "
			"may read the key, and gatewayctl will refuse it: chmod 600 it (umask 077)\n",
			prog, (unsigned)(st.st_mode & 07777));
	ret = printf("%s\n", text);
	key_wipe(text, sizeof(text));
	if (ret < 0 || fflush(stdout) != 0 || ferror(stdout)) {
		perror("gatewayctl genkey: writing the key");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
