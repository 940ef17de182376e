/* util.c - small things every command uses */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gatewayctl.h"

const char *prog = "gatewayctl";

int is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", prog, cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry `%s %s --help`.\n", prog, cmd);
	return EXIT_USAGE;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* S as one shell word: as is when it needs no quoting, else in $'...' with
 * quotes, backslashes and control characters escaped (a file name may hold a
 * line break; a plan line must stay one line). Cut to fit OUT. */
void shell_word(const char *s, char *out, size_t len)
{
	size_t at = 0;
	const char *p;

	if (!len)
		return;
	for (p = s; *p; p++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-+:,@%=", *p))
			break;
	if (*s && !*p) {
		snprintf(out, len, "%s", s);
		return;
	}
	at = (size_t)snprintf(out, len, "$'");
	for (p = s; *p && at + 6 < len; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\'' || c == '\\')
			at += (size_t)snprintf(out + at, len - at, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			at += (size_t)snprintf(out + at, len - at, "\\x%02x", c);
		else
			out[at++] = (char)c;
	}
	snprintf(out + at, len - at, "'");
}

/* Levenshtein distance between A and B (edits of one character), capped at
 * 99: enough to tell a typo from another word. */
unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* May a user other than root (or us) replace what is at this place? A directory
 * is safe when it belongs to root or us and nobody else may write to it, or when
 * it is sticky (like /tmp) and the entry below it belongs to root or us. */
static bool dir_unsafe(const struct stat *dir, const struct stat *child)
{
	bool mine = dir->st_uid == 0 || dir->st_uid == geteuid();
	bool others_write = (dir->st_mode & S_IWOTH) || ((dir->st_mode & S_IWGRP) && dir->st_gid != 0);

	if (!mine)
		return true;
	if (!others_write)
		return false;
	return !((dir->st_mode & S_ISVTX) && (child->st_uid == 0 || child->st_uid == geteuid()));
}

bool path_unsafe_dir(const char *real, char *dir, size_t dirlen, struct stat *st)
{
	struct stat child;

	if (!dirlen || strlen(real) >= dirlen || real[0] != '/' || stat(real, &child) < 0)
		return false;
	snprintf(dir, dirlen, "%s", real);
	for (;;) {
		char *slash = strrchr(dir, '/');

		if (!slash)
			return false;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, st) < 0)
			return false;
		if (dir_unsafe(st, &child))
			return true;
		if (!strcmp(dir, "/"))
			return false;
		child = *st;
	}
}

void one_line(const char *text, const char *skip, char *out, size_t len)
{
	size_t o = 0, sn = skip ? strlen(skip) : 0;

	for (const char *c = text; *c && o + 1 < len; c++) {
		if (sn && (c == text || c[-1] == '\n') && !strncmp(c, skip, sn))
			c += sn;
		if (!*c)
			break;
		if (*c == '\n') {
			while (c[1] == ' ' || c[1] == '\t')
				c++;
			if (c[1] && o + 3 < len) {
				out[o++] = ';';
				out[o++] = ' ';
			}
		} else {
			out[o++] = (unsigned char)*c < 0x20 ? ' ' : *c;
		}
	}
	out[o] = '\0';
}
