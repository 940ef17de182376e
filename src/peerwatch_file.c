/* peerwatch_file.c - RUNDIR/SITE.probes: what the watcher's probes found, for
 * status and the metrics (see peerwatch.h). One line per item:
 *
 *   pid 812
 *   start 123456            the watcher's start time (/proc/PID/stat field 22)
 *   boot_id 0123...
 *   interval 10
 *   written 1796000000
 *   error cannot send from ...            (only while no probe can be sent)
 *   peer brooklyn 192.168.2.126 up 1796000000 0.412 0.398 0.100 10 123 120
 *        NAME ADDR STATE SINCE RTT_MS AVG_MS LOSS PROBES SENT RECEIVED
 */
#define _GNU_SOURCE
#include "peerwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gatewayctl.h"
#include "proc.h"
#include "state.h"

double pw_loss(const struct pw_peer *p)
{
	unsigned lost = 0;

	for (unsigned i = 0; i < p->n_history; i++)
		lost += !(p->history >> i & 1);
	return p->n_history ? (double)lost / p->n_history : 0;
}

static const char *const state_words[] = { [PW_UNKNOWN] = "unknown", [PW_UP] = "up", [PW_DOWN] = "down" };

char *peerwatch_format(const struct peerwatch *pw, size_t *len)
{
	char *text = NULL, boot[37], ip[16];
	uint64_t start = 0;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	proc_stat(getpid(), &start, NULL);
	proc_boot_id(boot);
	fprintf(f, "# gatewayctl watch: the probes of site %s\npid %d\nstart %llu\nboot_id %s\ninterval %llu\n"
		"written %lld\n", pw->site, (int)getpid(), (unsigned long long)start, boot[0] ? boot : "-",
		(unsigned long long)(pw->interval_ms / 1000), (long long)time(NULL));
	if (pw->error[0])
		fprintf(f, "error %s\n", pw->error);
	for (size_t i = 0; i < pw->n; i++) {
		const struct pw_peer *p = &pw->p[i];

		fprintf(f, "peer %s %s %s %lld %.3f %.3f %.3f %u %llu %llu\n", p->name, ip4_str(p->addr, ip),
			state_words[p->state], (long long)p->since, p->rtt_ms, p->rtt_avg_ms, pw_loss(p), p->n_history,
			(unsigned long long)p->sent, (unsigned long long)p->received);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int parse_state(const char *w, enum pw_state *s)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(w, state_words[i])) {
			*s = (enum pw_state)i;
			return 0;
		}
	return -1;
}

static bool finite_in(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

/* "NAME ADDR STATE SINCE RTT AVG LOSS PROBES SENT RECEIVED" */
static int parse_peer(const char *v, struct pw_file_peer *p)
{
	char name[64], addr[32], st[16];
	long long since;
	unsigned long long sent, received;
	int used = 0;

	memset(p, 0, sizeof(*p));
	if (sscanf(v, "%63s %31s %15s %lld %lf %lf %lf %u %llu %llu%n", name, addr, st, &since, &p->rtt_ms,
		   &p->rtt_avg_ms, &p->loss, &p->n_history, &sent, &received, &used) != 10 || v[used])
		return -1;
	if (!site_name_valid(name) || parse_ip4(addr, &p->addr) < 0 || parse_state(st, &p->state) < 0 || since < 0 ||
	    !finite_in(p->rtt_ms, 0, 1e7) || !finite_in(p->rtt_avg_ms, 0, 1e7) || !finite_in(p->loss, 0, 1) ||
	    p->n_history > PW_HISTORY)
		return -1;
	memcpy(p->name, name, strlen(name) + 1); /* a valid name fits */
	p->since = since;
	p->sent = sent;
	p->received = received;
	return 0;
}

/* One line (NUL-terminated, no newline) into F. 0 or -1. */
static int parse_line(char *line, struct pw_file *f)
{
	char *v = strchr(line, ' ');
	unsigned long long u;
	char *end;

	if (!line[0] || line[0] == '#')
		return 0;
	if (!v)
		return -1;
	*v++ = '\0';
	if (!strcmp(line, "peer")) {
		struct pw_file_peer *q = realloc(f->peers, (f->n + 1) * sizeof(*q));

		if (!q)
			return -1;
		f->peers = q;
		return parse_peer(v, &f->peers[f->n++]);
	}
	if (!strcmp(line, "error")) {
		snprintf(f->error, sizeof(f->error), "%s", v);
		return 0;
	}
	if (!strcmp(line, "boot_id")) {
		snprintf(f->boot_id, sizeof(f->boot_id), "%s", v);
		return 0;
	}
	if (strcmp(line, "pid") && strcmp(line, "start") && strcmp(line, "interval") && strcmp(line, "written"))
		return 0; /* other keys: a newer version's */
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno || *end)
		return -1;
	if (!strcmp(line, "pid") && u <= INT_MAX)
		f->pid = (pid_t)u;
	else if (!strcmp(line, "start"))
		f->start = u;
	else if (!strcmp(line, "interval") && u <= PROBE_INTERVAL_MAX)
		f->interval = (unsigned)u;
	else if (!strcmp(line, "written") && u <= INT64_MAX)
		f->written = (int64_t)u;
	else if (strcmp(line, "start"))
		return -1;
	return 0;
}

int peerwatch_parse(const char *text, size_t len, struct pw_file *f)
{
	size_t pos = 0;

	memset(f, 0, sizeof(*f));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[512];

		if (n >= sizeof(line) || memchr(text + pos, '\0', n) || parse_line((memcpy(line, text + pos, n),
										     line[n] = '\0', line), f) < 0) {
			pw_file_free(f);
			return -EINVAL;
		}
		pos += n + 1;
	}
	if (!f->pid) {
		pw_file_free(f);
		return -EINVAL;
	}
	return 0;
}

void pw_file_free(struct pw_file *f)
{
	free(f->peers);
	f->peers = NULL;
	f->n = 0;
}

int peerwatch_load(const char *site, struct pw_file *f)
{
	char name[SITE_NAME_MAX + 16], text[65536], boot[37], st = 0;
	uint64_t start;
	size_t len = 0;
	ssize_t r;
	int fd;

	memset(f, 0, sizeof(*f));
	snprintf(name, sizeof(name), "%s.probes", site);
	fd = state_open(false, name, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	while (len < sizeof(text) && (r = read(fd, text + len, sizeof(text) - len)) > 0)
		len += (size_t)r;
	close(fd);
	if (len == sizeof(text))
		return -EINVAL;
	if ((r = peerwatch_parse(text, len, f)) < 0)
		return (int)r;
	/* written by a watcher still running (not a dead one's leftover) */
	proc_boot_id(boot);
	if (strcmp(boot, f->boot_id) || proc_stat(f->pid, &start, &st) < 0 || start != f->start || st == 'Z') {
		pw_file_free(f);
		return -ENOENT;
	}
	return 0;
}

const struct pw_file_peer *pw_file_peer(const struct pw_file *f, const char *peer)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (!strcmp(f->peers[i].name, peer))
			return &f->peers[i];
	return NULL;
}

bool peerwatch_down(const struct pw_file *f, const char *peer, char *why, size_t len)
{
	const struct pw_file_peer *p = pw_file_peer(f, peer);
	char ip[16], at[16];
	time_t t;
	struct tm tm;

	if (!p || p->state != PW_DOWN)
		return false;
	t = (time_t)p->since;
	if (!localtime_r(&t, &tm) || !strftime(at, sizeof(at), "%H:%M:%S", &tm))
		snprintf(at, sizeof(at), "?");
	snprintf(why, len, "peer %s: no answer to gatewayctl watch's probes of %s since %s", peer, ip4_str(p->addr, ip),
		 at);
	return true;
}

void peerwatch_print(FILE *out, const struct pw_file *f, const char *peer)
{
	const struct pw_file_peer *p = pw_file_peer(f, peer);

	if (!p)
		return;
	if (f->error[0]) {
		fprintf(out, "    %-12s %s\n", "watch probe", f->error);
		return;
	}
	fprintf(out, "    %-12s %s", "watch probe",
		p->state == PW_UP ? "answers" : p->state == PW_DOWN ? "NOT ANSWERING" : "no answer yet");
	if (p->received)
		fprintf(out, ", rtt %.2f ms (avg %.2f)", p->rtt_ms, p->rtt_avg_ms);
	fprintf(out, ", loss %.0f%% of the last %u, every %u s\n", p->loss * 100, p->n_history, f->interval);
}

void peerwatch_json(FILE *out, const struct pw_file *f, const char *peer)
{
	const struct pw_file_peer *p = pw_file_peer(f, peer);

	if (!p) {
		fprintf(out, "null");
		return;
	}
	fprintf(out, "{\"state\": \"%s\", \"since\": %lld, \"rtt_ms\": %.3f, \"rtt_avg_ms\": %.3f, \"loss\": %.3f, "
		"\"probes\": %u, \"interval_s\": %u, \"sent\": %llu, \"received\": %llu, \"error\": ",
		state_words[p->state], (long long)p->since, p->rtt_ms, p->rtt_avg_ms, p->loss, p->n_history,
		f->interval, (unsigned long long)p->sent, (unsigned long long)p->received);
	if (f->error[0])
		json_str(out, f->error);
	else
		fprintf(out, "null");
	fprintf(out, "}");
}
