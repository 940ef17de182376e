/* cmdopt.c - a command's options from its table: parsing and --help (cmdopt.h) */
#include "cmdopt.h"

#include <string.h>

#include "gatewayctl.h"

static const struct cmdopt *find(const struct cmdspec *spec, const char *word, size_t len)
{
	for (const struct cmdopt *o = spec->opts; o->id; o++)
		if ((strlen(o->name) == len && !strncmp(o->name, word, len)) ||
		    (o->alias && strlen(o->alias) == len && !strncmp(o->alias, word, len)))
			return o;
	return NULL;
}

static bool all_digits(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

/* Option word ARGV[*I] (its value may be the next word). 0, or 2 after a usage error. */
static int take_option(const struct cmdspec *spec, int argc, char **argv, int *i, struct cmdline *cl)
{
	const char *word = argv[*i], *eq = strchr(word, '=');
	size_t len = eq && word[1] == '-' ? (size_t)(eq - word) : strlen(word);
	const struct cmdopt *o = find(spec, word, len);

	if (!o) {
		usage_error(spec->name, "unknown option `%s`", word);
		return 2;
	}
	cl->given[o->id] = true;
	if (len < strlen(word)) {
		if (o->kind == CMDOPT_FLAG) {
			usage_error(spec->name, "%s takes no value: `%s`", o->name, word);
			return 2;
		}
		cl->value[o->id] = word + len + 1;
		if (o->kind == CMDOPT_VALUE && !*cl->value[o->id])
			goto missing;
	} else if (o->kind == CMDOPT_VALUE) {
		if (*i + 1 >= argc || (argv[*i + 1][0] == '-' && argv[*i + 1][1]))
			goto missing;
		cl->value[o->id] = argv[++*i];
	} else if (o->kind == CMDOPT_NUMBER_OPT && *i + 1 < argc && all_digits(argv[*i + 1])) {
		cl->value[o->id] = argv[++*i];
	}
	return 0;
missing:
	usage_error(spec->name, "%s needs %s: %s %s", o->name, o->needs ? o->needs : o->arg, o->name, o->arg);
	return 2;
}

int cmdopt_parse(const struct cmdspec *spec, int argc, char **argv, struct cmdline *cl)
{
	size_t max = spec->max_operands ? spec->max_operands : 8;
	bool options = true;

	memset(cl, 0, sizeof(*cl));
	cl->operands = argv + 1;
	for (int i = 1; i < argc; i++)
		if (is_help(argv[i])) {
			cmdopt_help(spec, stdout);
			return 1;
		}
	for (int i = 1; i < argc; i++) {
		if (options && !strcmp(argv[i], "--")) {
			options = false;
		} else if (options && argv[i][0] == '-' && argv[i][1]) {
			if (take_option(spec, argc, argv, &i, cl))
				return 2;
		} else if (cl->n_operands >= max) {
			usage_error(spec->name, "too many arguments: `%s`...", argv[i]);
			return 2;
		} else {
			/* never past I: the words still to read stay where they are */
			cl->operands[cl->n_operands++] = argv[i];
		}
	}
	return 0;
}

/* "  -v, --verbose" or "  --output FILE" or "  --confirm [SECONDS]" into BUF. */
static void opt_words(const struct cmdopt *o, char *buf, size_t len)
{
	snprintf(buf, len, "  %s%s%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
		 o->arg ? " " : "", o->kind == CMDOPT_NUMBER_OPT ? "[" : "", o->arg ? o->arg : "",
		 o->kind == CMDOPT_NUMBER_OPT ? "]" : "");
}

void cmdopt_help(const struct cmdspec *spec, FILE *out)
{
	const char *u = spec->usage, *nl;
	char words[80];
	bool first = true;

	/* Usage: PROG CMD FORM, one line per form */
	do {
		nl = strchr(u, '\n');
		fprintf(out, "%s %s%s %s %.*s\n", first ? "Usage:" : "      ",
			first && spec->prefix ? spec->prefix : "", prog, spec->name,
			(int)(nl ? nl - u : (long)strlen(u)), u);
		first = false;
		u = nl ? nl + 1 : NULL;
	} while (u);
	fputc('\n', out);
	spec->about(out);
	if (spec->opts[0].id)
		fputc('\n', out);
	for (const struct cmdopt *o = spec->opts; o->id; o++) {
		const char *h = o->help, *end;
		bool wide;

		opt_words(o, words, sizeof(words));
		wide = strlen(words) > 24;
		fprintf(out, "%-25s", words);
		if (wide)
			fprintf(out, "\n%-25s", "");
		for (;;) {
			end = strchr(h, '\n');
			fprintf(out, "%.*s\n", (int)(end ? end - h : (long)strlen(h)), h);
			if (!end)
				break;
			h = end + 1;
			fprintf(out, "%-25s", "");
		}
	}
	if (spec->after)
		fprintf(out, "\n%s", spec->after);
}
