/* audit.c - the audit log: one syslog line per change that up, down or a
 * rollback makes, saying who made it, on which site, as the equivalent command.
 *
 *   up site=manhattan uid=0 user=root sudo_user=alice loginuid=1000: ip route add ...
 *
 * Facility authpriv, like sudo's own lines: Debian's rsyslog keeps them in
 * /var/log/auth.log (readable by root and adm only), journald under the
 * identifier "gatewayctl". The text is gatewayctl's own plan text (never a
 * key); control characters (a file name may hold any) are escaped. */
#define _GNU_SOURCE
#include "audit.h"

#include <ctype.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <paths.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "model.h"

#define AUDIT_MAX 4000	/* bytes of command text in one line; longer is cut, and says so */

/* Whether there is a syslog socket to write to. Without one glibc's syslog()
 * drops the line, but only after a socket() and a failed connect() for every
 * line: thousands of wasted calls for a hub's `up`. Asked once. */
static bool audit_open(void)
{
	static int state;	/* 0 not yet, 1 open, -1 no syslog socket */
	struct stat st;

	if (!state) {
		state = stat(_PATH_LOG, &st) == 0 && S_ISSOCK(st.st_mode) ? 1 : -1;
		if (state > 0)
			openlog("gatewayctl", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	}
	return state > 0;
}

/* Append S to DST (of LEN) from *AT: control characters as \xHH, line breaks
 * as "; ", a trailing line break dropped. */
static void escape_into(char *dst, size_t len, size_t *at, const char *s)
{
	for (; *s && *at + 16 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n') {
			if (s[1])
				*at += (size_t)snprintf(dst + *at, len - *at, "; ");
		} else if (c < 0x20 || c == 0x7f) {
			*at += (size_t)snprintf(dst + *at, len - *at, "\\x%02x", c);
		} else {
			dst[(*at)++] = (char)c;
		}
	}
	dst[*at] = '\0';
	if (*s)
		*at += (size_t)snprintf(dst + *at, len - *at, " ... (cut)");
}

/* "uid=0 user=root sudo_user=alice loginuid=1000": who runs this. SUDO_USER
 * is only as trustworthy as the environment; loginuid is the kernel's (set at
 * login, kept across sudo and su). */
static void who_uncached(char *dst, size_t len)
{
	uid_t uid = getuid();
	const struct passwd *pw = getpwuid(uid);
	const char *sudo = getenv("SUDO_USER");
	size_t at;
	char buf[32] = "";
	int fd;

	at = (size_t)snprintf(dst, len, "uid=%u", (unsigned)uid);
	if (pw && pw->pw_name)
		at += (size_t)snprintf(dst + at, len - at, " user=%.64s", pw->pw_name);
	if (sudo && *sudo && at + 20 < len) {
		char clean[65];
		size_t k = 0;

		for (; *sudo && k + 1 < sizeof(clean); sudo++)
			clean[k++] = isgraph((unsigned char)*sudo) ? *sudo : '?';
		clean[k] = '\0';
		at += (size_t)snprintf(dst + at, len - at, " sudo_user=%s", clean);
	}
	fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		close(fd);
		if (n > 0) {
			char *end;
			unsigned long v;

			buf[n] = '\0';
			v = strtoul(buf, &end, 10);
			if (end != buf && v != 4294967295UL && at + 24 < len)
				snprintf(dst + at, len - at, " loginuid=%lu", v);
		}
	}
}

/* who() is the same for every line of one run: asked once (getpwuid reads
 * /etc/passwd, loginuid is a file: a few system calls per line otherwise) */
static const char *who(void)
{
	static char by[200];

	if (!by[0])
		who_uncached(by, sizeof(by));
	return by;
}

static void audit_line(int prio, const char *cmd, const char *site, const char *label, const char *text)
{
	char line[AUDIT_MAX + 400];
	size_t at;

	if (!audit_open())
		return;
	if (!strncmp(cmd, "gatewayctl ", 11))
		cmd += 11;	/* apply's a->cmd */
	at = (size_t)snprintf(line, sizeof(line), "%s site=%s %s: %s", cmd, site, who(), label);
	if (at >= sizeof(line))
		at = sizeof(line) - 1;
	escape_into(line, sizeof(line), &at, text);
	syslog(prio, "%s", line);
}

void audit_change(const char *cmd, const char *site, const char *text)
{
	audit_line(LOG_NOTICE, cmd, site, "", text);
}

void audit_failure(const char *cmd, const char *site, const char *what)
{
	audit_line(LOG_WARNING, cmd, site, "FAILED: ", what);
}

void audit_plan(const char *cmd, const char *site, const struct plan *plan, int result)
{
	size_t left = 0;
	char what[200];

	for (size_t i = 0; i < plan->n; i++) {
		if (result == 0 || plan->steps[i].done) {
			audit_change(cmd, site, plan->steps[i].text);
			left += result != 0;
		}
	}
	if (result == 0)
		return;
	if (left)
		snprintf(what, sizeof(what), "%s; %zu change(s) could not be undone (logged above)",
			 strerror(result < 0 ? -result : result), left);
	else
		snprintf(what, sizeof(what), "%s; rolled back, nothing changed", strerror(result < 0 ? -result : result));
	audit_failure(cmd, site, what);
}

/* ---- a stream whose lines are changes ------------------------------------------ */

struct tee {
	char cmd[16], site[SITE_NAME_MAX + 1];
	FILE *out;
	char buf[AUDIT_MAX];
	size_t n;
};

static void tee_flush_line(struct tee *t)
{
	t->buf[t->n] = '\0';
	if (t->n)
		audit_change(t->cmd, t->site, t->buf);
	t->n = 0;
}

static ssize_t tee_write(void *cookie, const char *data, size_t len)
{
	struct tee *t = cookie;

	if (fwrite(data, 1, len, t->out) != len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			tee_flush_line(t);
		else if (t->n + 1 < sizeof(t->buf))
			t->buf[t->n++] = data[i];
	}
	return (ssize_t)len;
}

static int tee_close(void *cookie)
{
	struct tee *t = cookie;

	tee_flush_line(t);
	fflush(t->out);
	free(t);
	return 0;
}

FILE *audit_stream(const char *cmd, const char *site, FILE *out)
{
	cookie_io_functions_t io = { .write = tee_write, .close = tee_close };
	struct tee *t = calloc(1, sizeof(*t));
	FILE *f;

	if (!t)
		return NULL;
	snprintf(t->cmd, sizeof(t->cmd), "%s", cmd);
	snprintf(t->site, sizeof(t->site), "%s", site);
	t->out = out;
	f = fopencookie(t, "w", io);
	if (!f)
		free(t);
	else
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}
