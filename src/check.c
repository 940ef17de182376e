/* check.c - gatewayctl check FILE...: validate site files */
#include <string.h>

#include "config.h"
#include "gatewayctl.h"

int check_main(int argc, char **argv)
{
	int status = EXIT_OK, files = 0;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf("Usage: %s check FILE...\n\n"
			       "Validate site files. Silent with exit status 0 when every file is valid;\n"
			       "otherwise every error as FILE:LINE: error: ... and exit status 2.\n"
			       "Needs no privileges and changes nothing.\n", prog);
			return EXIT_OK;
		}
	}
	for (int i = 1; i < argc; i++) {
		struct site site;

		if (!strcmp(argv[i], "--"))
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("check", "unknown option `%s`", argv[i]);
		files++;
		if (config_load(argv[i], &site, stderr) < 0) {
			status = EXIT_USAGE;
			continue;
		}
		config_free(&site);
	}
	if (!files)
		return usage_error("check", "no site file given");
	return status;
}
