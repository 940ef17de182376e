/* gatewayctl.h - what every command shares: exit codes, usage errors, small helpers */
#ifndef GATEWAYCTL_H
#define GATEWAYCTL_H

#include <stdio.h>

/* Exit codes (docs/gatewayctl.8) */
#define EXIT_OK 0	/* success, or healthy */
#define EXIT_FAIL 1	/* the operation failed, or unhealthy */
#define EXIT_USAGE 2	/* bad usage or invalid configuration: nothing changed */

extern const char *prog;

/* the commands' entry points: commands.h */

/* "gatewayctl CMD: bad usage..." + hint; returns EXIT_USAGE */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the process may change the network (effective CAP_NET_ADMIN) */
#include <stdbool.h>
bool have_net_admin(void);
/* S as a JSON string: quoted, with escapes */
void json_str(FILE *f, const char *s);
void shell_word(const char *s, char *out, size_t len);
/* Whether a user other than root (or us) could swap the file at REAL (an
 * absolute path without symbolic links, from realpath): some directory from its
 * parent up to / belongs to someone else, or others may write to it (unless it
 * is sticky, like /tmp, and the entry below it is root's or ours). false when
 * all are safe (or REAL cannot be examined: opening it reports that); true with
 * that directory in DIR and its stat in *ST. */
struct stat;
bool path_unsafe_dir(const char *real, char *dir, size_t dirlen, struct stat *st);
/* TEXT's lines as one, in OUT: "a; b" (a line's leading blanks dropped,
 * control characters as spaces, SKIP removed from the start of each line
 * when not NULL): for syslog and one-line records. */
void one_line(const char *text, const char *skip, char *out, size_t len);
/* Whether ARG is -h or --help */
int is_help(const char *arg);
/* Edits of one character that turn A into B (99 for long strings): "did you mean" */
unsigned edit_distance(const char *a, const char *b);

#endif
