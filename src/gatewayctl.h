/* gatewayctl.h - the commands */
#ifndef GATEWAYCTL_H
#define GATEWAYCTL_H

#include <stdio.h>

/* Exit codes (docs/gatewayctl.8) */
#define EXIT_OK 0	/* success, or healthy */
#define EXIT_FAIL 1	/* the operation failed, or unhealthy */
#define EXIT_USAGE 2	/* bad usage or invalid configuration: nothing changed */

extern const char *prog;

int check_main(int argc, char **argv);
int plan_main(int argc, char **argv);
int up_main(int argc, char **argv);
int down_main(int argc, char **argv);
int confirm_main(int argc, char **argv);
int rollback_main(int argc, char **argv);
int status_main(int argc, char **argv);

/* "gatewayctl CMD: bad usage..." + hint; returns EXIT_USAGE */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the process may change the network (effective CAP_NET_ADMIN) */
#include <stdbool.h>
bool have_net_admin(void);
/* S as a JSON string: quoted, with escapes */
void json_str(FILE *f, const char *s);
void shell_word(const char *s, char *out, size_t len);
/* Whether ARG is -h or --help */
int is_help(const char *arg);
/* Edits of one character that turn A into B (99 for long strings): "did you mean" */
unsigned edit_distance(const char *a, const char *b);

#endif
