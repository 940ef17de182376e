/* check.c - gatewayctl check FILE...: validate site files, one by one and,
 * given several, as one network (crosscheck.c) */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "crosscheck.h"
#include "gatewayctl.h"

static int check_help(void)
{
	printf("Usage: %s check FILE...\n\n"
	       "Validate site files. Silent with exit status 0 when every file is valid;\n"
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
	       "not compared. The same file given twice is checked once.\n", prog);
	return EXIT_OK;
}

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

/* The index of an earlier argument naming the same file as argv[I] (the same
 * inode: another path to it too), or 0. */
static int same_file_before(int argc, char **argv, int i)
{
	struct stat a, b;

	if (stat(argv[i], &a) < 0)
		return 0;
	for (int k = 1; k < i && k < argc; k++)
		if (strcmp(argv[k], "--") && stat(argv[k], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return k;
	return 0;
}

int check_main(int argc, char **argv)
{
	int status = EXIT_OK;
	size_t files = 0, loaded = 0;
	struct site *sites;

	for (int i = 1; i < argc; i++)
		if (is_help(argv[i]))
			return check_help();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("check", "unknown option `%s`", argv[i]);
		files++;
	}
	if (!files)
		return usage_error("check", "no site file given");
	sites = calloc(files, sizeof(*sites));
	if (!sites) {
		fprintf(stderr, "%s check: out of memory\n", prog);
		return EXIT_FAIL;
	}
	for (int i = 1; i < argc; i++) {
		int same;

		if (!strcmp(argv[i], "--"))
			continue;
		if ((same = same_file_before(argc, argv, i)) > 0) {
			if (strcmp(argv[i], argv[same]))
				fprintf(stderr, "%s check: warning: %s is %s again; checked once\n", prog, argv[i],
					argv[same]);
			else
				fprintf(stderr, "%s check: warning: %s given twice; checked once\n", prog, argv[i]);
			files--;
			continue;
		}
		if (config_load(argv[i], &sites[loaded], stderr) < 0)
			status = EXIT_USAGE;
		else
			warn_unread_keys(argv[i], &sites[loaded++]);
	}
	if (files > 1 && loaded > 1) {
		struct crosscheck_result r = crosscheck(sites, loaded, loaded < files, stderr);

		if (r.errors)
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
