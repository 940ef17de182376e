/* check.c - gatewayctl check FILE...: validate site files, one by one and,
 * given several, as one network (crosscheck.c) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "config.h"
#include "crosscheck.h"
#include "gatewayctl.h"

static void check_about(FILE *out)
{
	fputs("Validate site files. Silent with exit status 0 when every file is valid;\n"
	      "otherwise every error as FILE:LINE: error: ... and exit status 2.\n"
	      "Given several files, also check them as one network: for every peer that\n"
	      "names another site of the set, the endpoint is that site's wan_address (or\n"
	      "its public_address, behind NAT), the networks are its LAN (or what it routes\n"
	      "on to its other peers: a hub), the peer's lan_address is its, it names this\n"
	      "site as a peer too, encryption and key agree (PSK files of equal content,\n"
	      "public_key of its private_key), and relaying peers use the same ports.\n"
	      "Errors name both files. A peer whose site is not among the files is a\n"
	      "warning (exit status 0 if nothing else). Needs no privileges and changes\n"
	      "nothing; a key file the caller may not read is a warning: not checked,\n"
	      "not compared. The same file given twice is checked once.\n", out);
}

static const struct cmdopt check_opts[] = { { 0 } };
static const struct cmdspec check_spec = {
	.name = "check", .usage = "FILE...", .about = check_about, .opts = check_opts, .max_operands = SIZE_MAX,
};

/* keys that this unprivileged caller could not open: said, not refused */
static void warn_unread_keys(const char *path, const struct site *s)
{
	const char *why = "its owner, mode and content were not checked: run the check as root for that";

	if (s->private_key_unread)
		fprintf(stderr, "%s:%d: warning: private_key %s cannot be read as uid %u; %s\n", path,
			s->private_key_line, s->private_key, (unsigned)geteuid(), why);
	for (size_t i = 0; i < s->n_peers; i++)
		if (s->peers[i].key_unread)
			fprintf(stderr, "%s:%d: warning: psk_file %s cannot be read as uid %u; %s\n", path,
				s->peers[i].key_line, s->peers[i].psk_file, (unsigned)geteuid(), why);
}

/* The index of an earlier file naming the same file as FILES[I] (the same
 * inode: another path to it too), or -1. */
static long same_file_before(char **files, size_t i)
{
	struct stat a, b;

	if (stat(files[i], &a) < 0)
		return -1;
	for (size_t k = 0; k < i; k++)
		if (stat(files[k], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return (long)k;
	return -1;
}

int check_main(int argc, char **argv)
{
	int status = EXIT_OK, r;
	size_t files, loaded = 0;
	struct cmdline cl;
	struct site *sites;

	if ((r = cmdopt_parse(&check_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	files = cl.n_operands;
	if (!files)
		return usage_error("check", "no site file given");
	sites = calloc(files, sizeof(*sites));
	if (!sites) {
		fprintf(stderr, "%s check: out of memory\n", prog);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < cl.n_operands; i++) {
		const char *file = cl.operands[i];
		long same = same_file_before(cl.operands, i);

		if (same >= 0) {
			if (strcmp(file, cl.operands[same]))
				fprintf(stderr, "%s check: warning: %s is %s again; checked once\n", prog, file,
					cl.operands[same]);
			else
				fprintf(stderr, "%s check: warning: %s given twice; checked once\n", prog, file);
			files--;
			continue;
		}
		if (config_load(file, &sites[loaded], stderr) < 0)
			status = EXIT_USAGE;
		else
			warn_unread_keys(file, &sites[loaded++]);
	}
	if (files > 1 && loaded > 1) {
		struct crosscheck_result res = crosscheck(sites, loaded, loaded < files, stderr);

		if (res.errors)
			status = EXIT_USAGE;
	}
	if (files > 1 && loaded < files)
		fprintf(stderr, "%s check: %zu of %zu files have errors; the cross-site check %s\n", prog,
			files - loaded, files, loaded > 1 ? "covered only the others" : "did not run");
	for (size_t i = 0; i < loaded; i++)
		config_free(&sites[i]);
	free(sites);
	return status;
}
