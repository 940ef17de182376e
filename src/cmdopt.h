/* cmdopt.h - a command's options, declared once in a table: its parser and
 * its --help (usage, the options and what they do) both come from there, so
 * they never disagree (the spirit of strongSwan's swanctl command.h). */
#ifndef GATEWAYCTL_CMDOPT_H
#define GATEWAYCTL_CMDOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cmdopt_kind {
	CMDOPT_FLAG,		/* --json */
	CMDOPT_VALUE,		/* --output FILE, --output=FILE */
	CMDOPT_NUMBER_OPT,	/* --confirm [SECONDS]: --confirm, --confirm=N, or --confirm N
				 * when the next word is all digits */
};

struct cmdopt {
	int id;			/* the command's own number for it: 1..CMDOPT_MAX-1 */
	const char *name;	/* "--output" */
	const char *alias;	/* "-o", or NULL */
	enum cmdopt_kind kind;
	const char *arg;	/* the value's name in the help: "FILE" */
	const char *needs;	/* for "--output needs a file name" (NULL: the value's name) */
	const char *help;	/* what it does; lines separated by '\n' */
};

#define CMDOPT_MAX 16

struct cmdspec {
	const char *name;	/* "status" */
	const char *prefix;	/* before "gatewayctl" in the first usage line: "umask 077; " (NULL: none) */
	const char *usage;	/* after "Usage: gatewayctl status "; a '\n' starts another form */
	void (*about)(FILE *out);	/* the text between the usage and the options */
	const char *after;	/* the text after the options (NULL: none) */
	const struct cmdopt *opts;	/* ended by an entry with id 0 */
	size_t max_operands;	/* more is a usage error (0: 8); how many it needs, the command checks */
};

struct cmdline {
	bool given[CMDOPT_MAX];
	const char *value[CMDOPT_MAX];	/* an option's value (NULL: none given) */
	char **operands;	/* the words that are no option, in order (gathered in ARGV) */
	size_t n_operands;
};

/* Parse ARGV (ARGV[0] is the command) by SPEC's table into *CL. 0 parsed; 1
 * --help (or -h) was printed (the command exits EXIT_OK); 2 a usage error was
 * said (EXIT_USAGE): an unknown option, a missing value, more operands than
 * SPEC's max_operands (how many a command needs, it checks itself, naming
 * them). "-" alone is an operand; after "--" every word is. The operands are
 * moved to the front of ARGV (ARGV[1]...), where CL->operands points. */
int cmdopt_parse(const struct cmdspec *spec, int argc, char **argv, struct cmdline *cl);

/* The help: usage, about, the options (from the table), after. */
void cmdopt_help(const struct cmdspec *spec, FILE *out);

#endif
