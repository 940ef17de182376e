/* sitearg.h - the site argument of up, plan, status, down and metrics: a site
 * file, or the name of a site brought up here (its file then is the one its
 * last `up` recorded in the state file). */
#ifndef GATEWAYCTL_SITEARG_H
#define GATEWAYCTL_SITEARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether ARG is meant as a file: it has a '/' or ".ini" in it, or exists. */
bool sitearg_is_file(const char *arg);

/* The site file recorded for site NAME into FILE (LEN bytes). 0, or -ENOENT
 * when there is none, with "CMD: no site NAME here (the sites here: ...)" or
 * "CMD: site NAME: no site file recorded" and how to go on (HOW, e.g.
 * "gatewayctl up FILE") on ERR. */
int sitearg_recorded(const char *cmd, const char *name, const char *how, char *file, size_t len, FILE *err);

/* For up and plan: the file to load for ARG, into FILE. A file name is kept
 * as it is; a site name becomes its recorded file. 0, or -1 (said on stderr;
 * the command exits EXIT_USAGE). */
int sitearg_file(const char *cmd, const char *arg, char *file, size_t len);

/* "no site NAME here" and the sites that are (state files), on ERR. */
void sitearg_not_here(const char *cmd, const char *name, FILE *err);

#endif
