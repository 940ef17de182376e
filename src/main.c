/* main.c - command line entry: a small dispatch table */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "gatewayctl.h"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "check", check_main, "validate site files; silent when they are valid" },
	{ "plan", plan_main, "print the kernel changes `up` would make, as ip/nft commands" },
	{ "up", up_main, "make the kernel match a site file, all or nothing; --confirm" },
	{ "confirm", confirm_main, "keep a change made by `up --confirm`" },
	{ "rollback", rollback_main, "undo a change made by `up --confirm` now" },
	{ "down", down_main, "remove everything gatewayctl created for a site" },
	{ "watch", watch_main, "keep a site as configured: repair drift as it happens" },
	{ "status", status_main, "health, drift from the file, counters; --json, --probe" },
	{ "relay", relay_main, "the UDP broadcast relay (started by up)" },
	{ "genkey", genkey_main, "print a new Ed25519 private key (IPsec)" },
	{ "pubkey", pubkey_main, "print the public key of the private key on stdin" },
};

static void help(FILE *out)
{
	fprintf(out, "Usage: %s COMMAND [ARGS...]\n\n"
		"Site-to-site IPIP gateway from one INI file per site (gatewayctl.ini(5)).\n\n"
		"Commands:\n", prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-8s %s\n", "help", "this text; `COMMAND --help` for one command");
	fprintf(out, "\nOptions: --help, --version\n"
		"Exit status: 0 success or healthy, 1 failed or unhealthy, 2 bad usage or invalid\n"
		"configuration (nothing changed). See gatewayctl(8).\n");
}

/* "unknown command" with the closest command when one is close; EXIT_USAGE */
static int unknown_command(const char *what, const char *name)
{
	const char *best = NULL;
	unsigned best_d = 99, limit = strlen(name) <= 4 ? 1 : 2;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		unsigned d = edit_distance(name, commands[i].name);

		if (d < best_d) {
			best_d = d;
			best = commands[i].name;
		}
	}
	if (edit_distance(name, "help") < best_d)
		best_d = edit_distance(name, best = "help");
	fprintf(stderr, "%s: %s `%s`", prog, what, name);
	if (best && best_d <= limit)
		fprintf(stderr, "; did you mean `%s`?\n", best);
	else
		fprintf(stderr, "\n");
	fprintf(stderr, "Commands:");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, " %s", commands[i].name);
	fprintf(stderr, " help. Try `%s help`.\n", prog);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char *sub[] = { argv[2], "--help", NULL };

			if (!strcmp(argv[2], "help")) {
				help(stdout);
				return EXIT_OK;
			}
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(commands[i].name, argv[2]))
					return commands[i].main(2, sub);
			return unknown_command("no help for unknown command", argv[2]);
		}
		help(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("gatewayctl %s\n", GATEWAYCTL_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].main(argc - 1, argv + 1);
	return unknown_command("unknown command", argv[1]);
}
