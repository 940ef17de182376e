/* watchstate.c - RUNDIR/SITE.watch: the watcher's state for status and the
 * metrics (see watchstate.h). One "key value" line per field:
 *
 *   pid 1234
 *   start_ticks 56789
 *   boot_id 0f3c...
 *   started 1796000000
 *   checks 12
 *   repairs 3
 *   failures 0
 *   last_repair 1796000100
 *   last_what route 192.168.2.0/24 via gw-brooklyn is missing: ip route add ...
 *   failing_since 0
 *   last_error
 *   backoff_ms 0
 *   watching confirmed copy
 */
#include "watchstate.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "gatewayctl.h"
#include "proc.h"
#include "state.h"

enum ftype { F_INT, F_UINT, F_STR };

static const struct field {
	const char *key;
	enum ftype type;
	size_t off, size;
} fields[] = {
#define FLD(k, t) { #k, t, offsetof(struct watch_state, k), sizeof(((struct watch_state *)0)->k) }
	FLD(pid, F_INT),
	FLD(start_ticks, F_UINT),
	FLD(boot_id, F_STR),
	FLD(started, F_INT),
	FLD(checks, F_UINT),
	FLD(repairs, F_UINT),
	FLD(failures, F_UINT),
	FLD(last_repair, F_INT),
	FLD(last_what, F_STR),
	FLD(failing_since, F_INT),
	FLD(last_error, F_STR),
	FLD(backoff_ms, F_UINT),
	FLD(watching, F_STR),
#undef FLD
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int64_t get_int(const void *p, size_t size)
{
	if (size == sizeof(int32_t))
		return *(const int32_t *)p;
	return *(const int64_t *)p;
}

char *watchstate_format(const struct watch_state *ws, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const void *p = (const char *)ws + fields[i].off;

		fprintf(f, "%s ", fields[i].key);
		if (fields[i].type == F_INT)
			fprintf(f, "%lld\n", (long long)get_int(p, fields[i].size));
		else if (fields[i].type == F_UINT)
			fprintf(f, "%llu\n", (unsigned long long)*(const uint64_t *)p);
		else {
			/* one line: control characters would end it early */
			for (const char *c = p; *c; c++)
				fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, f);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* VALUE into field FD of WS. 0 or -EINVAL. */
static int set_field(struct watch_state *ws, const struct field *fd, const char *value)
{
	void *p = (char *)ws + fd->off;
	char *end;

	if (fd->type == F_STR) {
		if (strlen(value) >= fd->size)
			return -EINVAL;
		memcpy(p, value, strlen(value) + 1);
		return 0;
	}
	if (!*value || (fd->type == F_UINT && *value == '-'))
		return -EINVAL;
	errno = 0;
	if (fd->type == F_UINT) {
		unsigned long long v = strtoull(value, &end, 10);

		if (errno || *end)
			return -EINVAL;
		*(uint64_t *)p = v;
	} else {
		long long v = strtoll(value, &end, 10);

		if (errno || *end || (fd->size == sizeof(int32_t) && (v < 0 || v > INT32_MAX)))
			return -EINVAL;
		if (fd->size == sizeof(int32_t))
			*(int32_t *)p = (int32_t)v;
		else
			*(int64_t *)p = v;
	}
	return 0;
}

int watchstate_parse(const char *text, size_t len, struct watch_state *ws)
{
	size_t pos = 0;

	memset(ws, 0, sizeof(*ws));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos, i;
		char line[800], *v;

		if (n >= sizeof(line) || memchr(text + pos, '\0', n))
			return -EINVAL;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (!line[0])
			continue;
		v = strchr(line, ' ');
		if (!v)
			return -EINVAL;
		*v++ = '\0';
		for (i = 0; i < N_FIELDS && strcmp(fields[i].key, line); i++)
			;
		/* a key of a later version is skipped */
		if (i < N_FIELDS && set_field(ws, &fields[i], v) < 0)
			return -EINVAL;
	}
	return ws->pid > 0 ? 0 : -EINVAL;
}

static void file_name(const char *site, char *name, size_t len)
{
	snprintf(name, len, "%s.watch", site);
}

int watchstate_write(const char *site, const struct watch_state *ws)
{
	char name[SITE_NAME_MAX + 8], *text;
	size_t len;
	int r;

	file_name(site, name, sizeof(name));
	if (!(text = watchstate_format(ws, &len)))
		return -ENOMEM;
	r = state_write_file(false, name, text, len, 0644);
	free(text);
	return r;
}

int watchstate_read(const char *site, struct watch_state *ws)
{
	char name[SITE_NAME_MAX + 8], buf[8192];
	FILE *f;
	size_t n;

	memset(ws, 0, sizeof(*ws));
	file_name(site, name, sizeof(name));
	if (!(f = state_fopen(false, name)))
		return errno == ENOENT ? -ENOENT : -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf))
		return -EINVAL;
	return watchstate_parse(buf, n, ws);
}

void watchstate_remove(const char *site)
{
	char name[SITE_NAME_MAX + 8];

	file_name(site, name, sizeof(name));
	state_remove_file(false, name);
}

bool watchstate_alive(const struct watch_state *ws)
{
	char boot[37], st = 0;
	uint64_t ticks;

	proc_boot_id(boot);
	if (ws->pid <= 0 || strcmp(boot, ws->boot_id))
		return false;
	return proc_stat(ws->pid, &ticks, &st) == 0 && ticks == ws->start_ticks && st != 'Z' && st != 'X';
}

static void clock_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "never");
}

void watchstate_print(FILE *f, const char *site)
{
	struct watch_state ws;
	char since[32], last[32];

	if (watchstate_read(site, &ws) < 0)
		return;
	if (!watchstate_alive(&ws)) {
		fprintf(f, "  watch: not running (pid %d is gone; `%s watch %s` or gatewayctl-watch@%s.service)\n",
			(int)ws.pid, prog, site, site);
		return;
	}
	clock_text(ws.started, since, sizeof(since));
	clock_text(ws.last_repair, last, sizeof(last));
	fprintf(f, "  watch: running (pid %d, since %s), keeping the %s; %llu repair%s, %llu failure%s\n",
		(int)ws.pid, since, ws.watching[0] ? ws.watching : "?", (unsigned long long)ws.repairs,
		ws.repairs == 1 ? "" : "s", (unsigned long long)ws.failures, ws.failures == 1 ? "" : "s");
	if (ws.last_repair)
		fprintf(f, "    last repair %s: %s\n", last, ws.last_what);
	if (ws.failing_since) {
		clock_text(ws.failing_since, since, sizeof(since));
		fprintf(f, "    FAILING since %s (next try in %llu s at most): %s\n", since,
			(unsigned long long)(ws.backoff_ms + 999) / 1000, ws.last_error);
	}
}

void watchstate_json(FILE *f, const char *site)
{
	struct watch_state ws;

	if (watchstate_read(site, &ws) < 0) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"running\": %s, \"pid\": %d, \"started\": %lld, \"watching\": ",
		watchstate_alive(&ws) ? "true" : "false", (int)ws.pid, (long long)ws.started);
	json_str(f, ws.watching);
	fprintf(f, ", \"checks\": %llu, \"repairs\": %llu, \"failures\": %llu, \"last_repair\": %lld, \"last_what\": ",
		(unsigned long long)ws.checks, (unsigned long long)ws.repairs, (unsigned long long)ws.failures,
		(long long)ws.last_repair);
	json_str(f, ws.last_what);
	fprintf(f, ", \"failing_since\": %lld, \"last_error\": ", (long long)ws.failing_since);
	json_str(f, ws.last_error);
	fprintf(f, ", \"backoff_ms\": %llu}", (unsigned long long)ws.backoff_ms);
}
