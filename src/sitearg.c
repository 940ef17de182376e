/* sitearg.c - a site file or a site's name on the command line (sitearg.h) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "gatewayctl.h"
#include "sitearg.h"
#include "state.h"

bool sitearg_is_file(const char *arg)
{
	struct stat sb;

	return strchr(arg, '/') || strstr(arg, ".ini") || stat(arg, &sb) == 0;
}

void sitearg_not_here(const char *cmd, const char *name, FILE *err)
{
	char (*sites)[SITE_NAME_MAX + 1] = NULL;
	size_t n = 0;

	fprintf(err, "%s %s: no site %s here", prog, cmd, name);
	if (state_sites(&sites, &n) == 0 && n) {
		fprintf(err, " (the site%s here: ", n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++)
			fprintf(err, "%s%s", i ? ", " : "", sites[i]);
		fprintf(err, ")");
	} else {
		fprintf(err, " (no site is up here)");
	}
	free(sites);
}

int sitearg_recorded(const char *cmd, const char *name, const char *how, char *file, size_t len, FILE *err)
{
	struct state st;

	if (state_read(name, &st) < 0 || state_empty(&st)) {
		sitearg_not_here(cmd, name, err);
		fprintf(err, "; give its site file: %s\n", how);
		return -ENOENT;
	}
	if (!st.file[0]) {
		fprintf(err, "%s %s: site %s: its last up recorded no site file; give the file: %s\n", prog, cmd,
			name, how);
		return -ENOENT;
	}
	snprintf(file, len, "%s", st.file);
	return 0;
}

int sitearg_file(const char *cmd, const char *arg, char *file, size_t len)
{
	char how[64];

	if (sitearg_is_file(arg) || !site_name_valid(arg)) {
		snprintf(file, len, "%s", arg);
		return 0;
	}
	snprintf(how, sizeof(how), "%s %s FILE", prog, cmd);
	return sitearg_recorded(cmd, arg, how, file, len, stderr) < 0 ? -1 : 0;
}
