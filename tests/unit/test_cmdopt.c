/* test_cmdopt.c - src/cmdopt.c: a command's options parsed from its table
 * (flags, values, --opt=value, an optional number, operands, "--", help, bad
 * usage, a command of many operands) and its --help printed from the same
 * table (a usage prefix too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdopt.h"

enum { O_FLAG = 1, O_FILE, O_SECS };
static const struct cmdopt opts[] = {
	{ O_FLAG, "--flag", "-f", CMDOPT_FLAG, NULL, NULL, "a flag" },
	{ O_FILE, "--output", NULL, CMDOPT_VALUE, "FILE", "a file name", "where to write\nsecond line" },
	{ O_SECS, "--confirm", NULL, CMDOPT_NUMBER_OPT, "SECONDS", NULL, "a number, maybe" },
	{ 0 }
};
static void about(FILE *out)
{
	fputs("About this command.\n", out);
}
static const struct cmdspec spec = {
	.name = "demo", .usage = "[-f] FILE\n--other", .about = about, .opts = opts, .after = "After.\n",
};

/* Parse the words of LINE (space-separated; at most 15). */
static int parse(const char *line, struct cmdline *cl)
{
	static char buf[256];
	char *argv[16] = { "demo" }, *save = NULL;
	int argc = 1, r;
	FILE *null = fopen("/dev/null", "w"), *err = stderr;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok_r(buf, " ", &save); w && argc < 15; w = strtok_r(NULL, " ", &save))
		argv[argc++] = strcmp(w, "''") ? w : (char *)"";
	stderr = null;		/* usage errors: only the result counts here */
	r = cmdopt_parse(&spec, argc, argv, cl);
	stderr = err;
	fclose(null);
	return r;
}

static void test_flags_values(void **state)
{
	struct cmdline cl;

	(void)state;
	assert_int_equal(parse("-f a.ini", &cl), 0);
	assert_true(cl.given[O_FLAG]);
	assert_false(cl.given[O_FILE]);
	assert_int_equal(cl.n_operands, 1);
	assert_string_equal(cl.operands[0], "a.ini");
	assert_int_equal(parse("--output x.prom --flag", &cl), 0);
	assert_string_equal(cl.value[O_FILE], "x.prom");
	assert_true(cl.given[O_FLAG]);
	assert_int_equal(cl.n_operands, 0);
	assert_int_equal(parse("--output=y.prom - b", &cl), 0);
	assert_string_equal(cl.value[O_FILE], "y.prom");
	assert_int_equal(cl.n_operands, 2);	/* "-" alone is an operand */
	assert_string_equal(cl.operands[0], "-");
}

static void test_optional_number(void **state)
{
	struct cmdline cl;

	(void)state;
	assert_int_equal(parse("--confirm a.ini", &cl), 0);
	assert_true(cl.given[O_SECS]);
	assert_null(cl.value[O_SECS]);
	assert_string_equal(cl.operands[0], "a.ini");
	assert_int_equal(parse("--confirm 30 a.ini", &cl), 0);
	assert_string_equal(cl.value[O_SECS], "30");
	assert_int_equal(cl.n_operands, 1);
	assert_int_equal(parse("--confirm=2x a.ini", &cl), 0);	/* the command judges the value */
	assert_string_equal(cl.value[O_SECS], "2x");
}

static void test_bad_usage(void **state)
{
	struct cmdline cl;

	(void)state;
	assert_int_equal(parse("--bogus", &cl), 2);
	assert_int_equal(parse("--flag=1", &cl), 2);		/* a flag takes no value */
	assert_int_equal(parse("--output", &cl), 2);		/* a value is missing */
	assert_int_equal(parse("--output --flag", &cl), 2);	/* an option is no value */
	assert_int_equal(parse("--output=", &cl), 2);		/* nor is nothing */
	assert_int_equal(parse("--out x", &cl), 2);		/* no abbreviations */
	assert_int_equal(parse("a b c d e f g h i", &cl), 2);	/* more than 8 operands */
	assert_int_equal(parse("a b c d e f g h", &cl), 0);
	assert_int_equal(cl.n_operands, 8);
}

static void test_help(void **state)
{
	struct cmdline cl;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len), *out = stdout;

	(void)state;
	assert_non_null(f);
	stdout = f;
	assert_int_equal(parse("--bogus --help", &cl), 1);	/* help wins, wherever it is */
	assert_int_equal(parse("a -h", &cl), 1);
	stdout = out;
	fclose(f);
	assert_non_null(strstr(text, "Usage: gatewayctl demo [-f] FILE\n       gatewayctl demo --other\n\n"
				     "About this command.\n\n"));
	assert_non_null(strstr(text, "  -f, --flag             a flag\n"));
	assert_non_null(strstr(text, "  --output FILE          where to write\n                         second line\n"));
	assert_non_null(strstr(text, "  --confirm [SECONDS]    a number, maybe\n\nAfter.\n"));
	free(text);
}

/* "--" ends the options: what follows is an operand, even "-x" or "--flag";
 * the operands come in order, gathered at the front of argv. */
static void test_double_dash(void **state)
{
	struct cmdline cl;

	(void)state;
	assert_int_equal(parse("a -f -- -x --flag b", &cl), 0);
	assert_true(cl.given[O_FLAG]);
	assert_int_equal(cl.n_operands, 4);
	assert_string_equal(cl.operands[0], "a");
	assert_string_equal(cl.operands[1], "-x");
	assert_string_equal(cl.operands[2], "--flag");
	assert_string_equal(cl.operands[3], "b");
	assert_int_equal(parse("--output -- x", &cl), 2);	/* "--" is no value either */
	assert_int_equal(parse("-- --output", &cl), 0);
	assert_false(cl.given[O_FILE]);
}

/* A command of many operands (check FILE...): no limit at 8. */
static void test_many_operands(void **state)
{
	static const struct cmdopt none[] = { { 0 } };
	const struct cmdspec many = { .name = "many", .usage = "FILE...", .about = about, .opts = none,
				      .max_operands = SIZE_MAX };
	char *argv[40] = { "many" };
	struct cmdline cl;
	char words[39][16];

	(void)state;
	for (int i = 0; i < 39; i++) {
		snprintf(words[i], sizeof(words[i]), "f%d", i);
		argv[i + 1] = words[i];
	}
	argv[20] = "--";
	assert_int_equal(cmdopt_parse(&many, 40, argv, &cl), 0);
	assert_int_equal(cl.n_operands, 38);
	assert_string_equal(cl.operands[0], "f0");
	assert_string_equal(cl.operands[18], "f18");
	assert_string_equal(cl.operands[19], "f20");	/* after the "--" */
	assert_string_equal(cl.operands[37], "f38");
}

/* A usage line with a prefix: genkey's "umask 077; gatewayctl genkey > FILE". */
static void test_help_prefix(void **state)
{
	static const struct cmdopt none[] = { { 0 } };
	const struct cmdspec gen = { .name = "gen", .prefix = "umask 077; ", .usage = "> FILE", .about = about,
				     .opts = none };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	cmdopt_help(&gen, f);
	fclose(f);
	/* no options: no list, the about right after the usage */
	assert_string_equal(text, "Usage: umask 077; gatewayctl gen > FILE\n\nAbout this command.\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags_values),
		cmocka_unit_test(test_optional_number),
		cmocka_unit_test(test_bad_usage),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_many_operands),
		cmocka_unit_test(test_help_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
