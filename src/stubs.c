/* stubs.c - commands not built yet (removed as each lands) */
#include "gatewayctl.h"

static int not_yet(const char *cmd)
{
	fprintf(stderr, "%s %s: not implemented yet\n", prog, cmd);
	return EXIT_FAIL;
}

int status_main(int argc, char **argv) { (void)argc; (void)argv; return not_yet("status"); }
int relay_main(int argc, char **argv) { (void)argc; (void)argv; return not_yet("relay"); }
