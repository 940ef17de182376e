/* pending.c - the files of safe remote changes, and the watcher's identity
 *
 * The run directory is a tmpfs cleared at boot, but a change left unconfirmed
 * must still be undone after a reboot, so these files persist, in
 * LIBDIR = $GATEWAYCTL_LIBDIR or /var/lib/gatewayctl (0700 root, checked like
 * the run directory; files opened with O_NOFOLLOW, replaced by rename):
 *
 *   SITE.confirmed.ini   0600  the bytes of the last confirmed configuration as
 *                              applied: written by a plain `up` and by
 *                              `confirm`, removed by `down`
 *   SITE.pending         0600  a change waiting for `confirm`: its id, deadline,
 *                              watcher, whether the site was up before
 *   SITE.pending.ini     0600  the unconfirmed bytes (`confirm` renames them
 *                              to SITE.confirmed.ini)
 *
 * Everything here runs with the site's lock held, except reading for status.
 */
#define _GNU_SOURCE
#include "pending.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gatewayctl.h"
#include "ipsec_keys.h"
#include "proc.h"
#include "state.h"


/* ---- the confirmed copy ------------------------------------------------ */

static void file_name(char *buf, size_t len, const char *site, const char *suffix)
{
	snprintf(buf, len, "%s%s", site, suffix);
}

void confirmed_path(const char *site, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.confirmed.ini", lib_dir(), site);
}

bool confirmed_exists(const char *site)
{
	char name[SITE_NAME_MAX + 32];
	struct stat st;
	int dfd = lib_dirfd(false);

	file_name(name, sizeof(name), site, ".confirmed.ini");
	return dfd >= 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int confirmed_keep(const struct site *site)
{
	char name[SITE_NAME_MAX + 32];

	file_name(name, sizeof(name), site->name, ".confirmed.ini");
	return lib_write_file(name, site->text, site->text_len);
}

int confirmed_forget(const char *site)
{
	char name[SITE_NAME_MAX + 32];

	file_name(name, sizeof(name), site, ".confirmed.ini");
	return lib_remove_file(name);
}

int confirmed_load(const char *site_name, struct site *site, FILE *err)
{
	char name[SITE_NAME_MAX + 32], path[4200], *buf;
	size_t len;
	int r;

	memset(site, 0, sizeof(*site));
	file_name(name, sizeof(name), site_name, ".confirmed.ini");
	confirmed_path(site_name, path, sizeof(path));
	if ((r = lib_read_file(name, &buf, &len)) < 0) {
		fprintf(err, "%s: error: cannot read the last confirmed configuration: %s\n", path, lib_strerror(r));
		return r;
	}
	r = config_parse(buf, len, path, site, err);
	free(buf);
	if (r < 0)
		return -EINVAL;
	if (strcmp(site->name, site_name)) {
		fprintf(err, "%s: error: names site %s, not %s\n", path, site->name, site_name);
		config_free(site);
		return -EINVAL;
	}
	return 0;
}

/* ---- the record -------------------------------------------------------- */

/* One line of text: control characters would end it early. */
static void put_line(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s ", key);
	for (const char *c = value; *c; c++)
		fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, f);
	fputc('\n', f);
}

/* --probe: "probe 1", "probe_from ADDR", "probe_peer NAME ADDR ANSWERED" */
static void format_probe(FILE *f, const struct pending_probe *pp)
{
	char ip[16];

	if (!pp->on)
		return;
	fprintf(f, "probe 1\nprobe_from %s\n", ip4_str(pp->from, ip));
	for (size_t i = 0; i < pp->n && i < PENDING_PROBE_MAX; i++)
		fprintf(f, "probe_peer %s %s %d\n", pp->peers[i].name, ip4_str(pp->peers[i].addr, ip),
			pp->peers[i].answered ? 1 : 0);
}

/* "NAME ADDR 0|1" into the next peer of PP. 0 or -1. */
static int parse_probe_peer(char *v, struct pending_probe *pp)
{
	char *addr = strchr(v, ' '), *flag;

	if (!addr || pp->n >= PENDING_PROBE_MAX)
		return -1;
	*addr++ = '\0';
	flag = strchr(addr, ' ');
	if (!flag)
		return -1;
	*flag++ = '\0';
	if (!site_name_valid(v) || parse_ip4(addr, &pp->peers[pp->n].addr) < 0 || (strcmp(flag, "0") && strcmp(flag, "1")))
		return -1;
	snprintf(pp->peers[pp->n].name, sizeof(pp->peers[pp->n].name), "%s", v);
	pp->peers[pp->n++].answered = flag[0] == '1';
	return 0;
}

char *pending_format(const struct pending *p, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	fprintf(f, "# gatewayctl: a change of site %s waiting for `gatewayctl confirm %s`\n", p->site, p->site);
	put_line(f, "site", p->site);
	put_line(f, "id", p->id);
	put_line(f, "file", p->file);
	fprintf(f, "seconds %u\n", p->seconds);
	fprintf(f, "applied %lld\n", (long long)p->applied);
	fprintf(f, "deadline %lld\n", (long long)p->deadline);
	fprintf(f, "deadline_boot_ms %llu\n", (unsigned long long)p->deadline_boot_ms);
	put_line(f, "boot_id", p->boot_id);
	fprintf(f, "watcher_pid %d\n", (int)p->watcher_pid);
	fprintf(f, "watcher_start %llu\n", (unsigned long long)p->watcher_start);
	fprintf(f, "was_up %d\n", p->was_up ? 1 : 0);
	if (p->failed_at) {
		fprintf(f, "failed_at %lld\n", (long long)p->failed_at);
		put_line(f, "failure", p->failure);
	}
	if (p->started)
		fprintf(f, "started 1\n");
	format_probe(f, &p->probe);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	*out = 0;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

static bool hex_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 32 && !s[n];
}

int pending_parse(const char *text, size_t len, struct pending *p)
{
	enum { HAVE_SITE = 1, HAVE_ID = 2, HAVE_DEADLINE = 4, HAVE_BOOT = 8, HAVE_UP = 16, HAVE_ALL = 31 };
	unsigned have = 0;
	size_t pos = 0;

	memset(p, 0, sizeof(*p));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char line[4200], *v;
		unsigned long long u = 0;
		bool bad = false;

		if (n >= sizeof(line) || memchr(text + pos, '\0', n))
			return -EINVAL;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (!line[0] || line[0] == '#')
			continue;
		v = strchr(line, ' ');
		if (!v)
			return -EINVAL;
		*v++ = '\0';
		if (!strcmp(line, "site")) {
			bad = !site_name_valid(v);
			if (!bad) {
				snprintf(p->site, sizeof(p->site), "%s", v);
				have |= HAVE_SITE;
			}
		} else if (!strcmp(line, "id")) {
			bad = !hex_id(v);
			if (!bad) {
				memcpy(p->id, v, 33);
				have |= HAVE_ID;
			}
		} else if (!strcmp(line, "file")) {
			bad = strlen(v) >= sizeof(p->file);
			if (!bad)
				snprintf(p->file, sizeof(p->file), "%s", v);
		} else if (!strcmp(line, "seconds")) {
			bad = parse_u64(v, CONFIRM_MAX_SECONDS, &u) < 0;
			p->seconds = (unsigned)u;
		} else if (!strcmp(line, "applied")) {
			bad = parse_u64(v, INT64_MAX, &u) < 0;
			p->applied = (int64_t)u;
		} else if (!strcmp(line, "deadline")) {
			bad = parse_u64(v, INT64_MAX, &u) < 0;
			p->deadline = (int64_t)u;
		} else if (!strcmp(line, "deadline_boot_ms")) {
			bad = parse_u64(v, INT64_MAX, &u) < 0;
			p->deadline_boot_ms = u;
			have |= bad ? 0 : HAVE_DEADLINE;
		} else if (!strcmp(line, "boot_id")) {
			bad = strlen(v) != 36 || strspn(v, "0123456789abcdef-") != 36;
			if (!bad) {
				memcpy(p->boot_id, v, 37);
				have |= HAVE_BOOT;
			}
		} else if (!strcmp(line, "watcher_pid")) {
			bad = parse_u64(v, INT_MAX, &u) < 0;
			p->watcher_pid = (pid_t)u;
		} else if (!strcmp(line, "watcher_start")) {
			bad = parse_u64(v, ULLONG_MAX, &u) < 0;
			p->watcher_start = u;
		} else if (!strcmp(line, "was_up")) {
			bad = strcmp(v, "0") && strcmp(v, "1");
			p->was_up = !strcmp(v, "1");
			have |= bad ? 0 : HAVE_UP;
		} else if (!strcmp(line, "failed_at")) {
			bad = parse_u64(v, INT64_MAX, &u) < 0;
			p->failed_at = (int64_t)u;
		} else if (!strcmp(line, "failure")) {
			snprintf(p->failure, sizeof(p->failure), "%s", v);
		} else if (!strcmp(line, "started")) {
			bad = strcmp(v, "1");
			p->started = !bad;
		} else if (!strcmp(line, "probe")) {
			bad = strcmp(v, "1");
			p->probe.on = !bad;
		} else if (!strcmp(line, "probe_from")) {
			bad = parse_ip4(v, &p->probe.from) < 0;
		} else if (!strcmp(line, "probe_peer")) {
			bad = parse_probe_peer(v, &p->probe) < 0;
		} /* other keys: written by a newer version, ignored */
		if (bad)
			return -EINVAL;
	}
	if (!p->probe.on) /* peers without `probe 1` mean nothing */
		memset(&p->probe, 0, sizeof(p->probe));
	return have == HAVE_ALL ? 0 : -EINVAL;
}

int pending_read(const char *site, struct pending *p)
{
	char name[SITE_NAME_MAX + 32], *text;
	size_t len;
	int r;

	file_name(name, sizeof(name), site, ".pending");
	memset(p, 0, sizeof(*p));
	r = lib_read_file(name, &text, &len);
	if (r == -EINVAL) /* not a regular file, or huge */
		goto garbled;
	if (r < 0)
		return r;
	r = pending_parse(text, len, p);
	free(text);
	if (r == 0 && !strcmp(p->site, site))
		return 0;
garbled:
	/* something is pending, but what: assume the worst, keep what was read */
	snprintf(p->site, sizeof(p->site), "%s", site);
	p->id[0] = '\0';
	p->was_up = confirmed_exists(site);
	p->watcher_pid = 0;
	return -EINVAL;
}

int pending_write(const struct pending *p)
{
	char name[SITE_NAME_MAX + 32], *text;
	size_t len;
	int r;

	file_name(name, sizeof(name), p->site, ".pending");
	text = pending_format(p, &len);
	if (!text)
		return -ENOMEM;
	r = lib_write_file(name, text, len);
	free(text);
	return r;
}

int pending_clear(const char *site)
{
	char name[SITE_NAME_MAX + 32];
	int r;

	/* the record first: without it, a stray .pending.ini means nothing */
	file_name(name, sizeof(name), site, ".pending");
	if ((r = lib_remove_file(name)) < 0)
		return r;
	if ((r = ipsec_keys_pending_clear(site)) < 0)
		return r;
	file_name(name, sizeof(name), site, ".pending.ini");
	return lib_remove_file(name);
}

/* ---- clocks and processes ---------------------------------------------- */

long long pending_remaining(const struct pending *p)
{
	char boot[37];

	proc_boot_id(boot);
	if (boot[0] && !strcmp(boot, p->boot_id)) {
		uint64_t now = boottime_ms();

		if (p->deadline_boot_ms <= now)
			return -(long long)((now - p->deadline_boot_ms) / 1000);
		return (long long)((p->deadline_boot_ms - now + 999) / 1000);
	}
	return (long long)(p->deadline - (int64_t)time(NULL));
}

bool pending_watcher_alive(const struct pending *p)
{
	char boot[37], state = 0;
	uint64_t start;

	if (p->watcher_pid <= 1 || !p->boot_id[0])
		return false;
	proc_boot_id(boot);
	if (strcmp(boot, p->boot_id))
		return false;
	if (proc_stat(p->watcher_pid, &start, &state) < 0)
		return false;
	return start == p->watcher_start && state != 'Z' && state != 'X' && state != 'x';
}

/* Wait up to MS for the process behind PIDFD to end (fd -1: poll /proc). */
static bool wait_gone(int pidfd, const struct pending *p, int ms)
{
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int r;

		while ((r = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
			;
		return r > 0;
	}
	for (int i = 0; i < ms / 20; i++) {
		if (!pending_watcher_alive(p))
			return true;
		usleep(20000);
	}
	return !pending_watcher_alive(p);
}

int pending_stop_watcher(const struct pending *p)
{
	int fd, sigs[2] = { SIGTERM, SIGKILL };

	if (!pending_watcher_alive(p))
		return 0;
	fd = proc_pidfd_open(p->watcher_pid);
	if (fd < 0 && errno == ESRCH)
		return 0;
	if (fd < 0 && errno != ENOSYS)
		return -errno;
	/* The pidfd pins the process that had the pid when it was opened: if it
	 * still has our watcher's start time now, the signals reach the watcher and
	 * never a process that reused its pid. (Without pidfds, before Linux 5.3,
	 * the check and kill(2) are a few microseconds apart.) */
	for (int i = 0; i < 2; i++) {
		int r;

		if (!pending_watcher_alive(p))
			break;
		if (fd >= 0)
			r = proc_pidfd_signal(fd, sigs[i]);
		else
			r = kill(p->watcher_pid, sigs[i]);
		if (r < 0 && errno != ESRCH) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			return r;
		}
		if (wait_gone(fd, p, 2000))
			break;
	}
	if (fd >= 0)
		close(fd);
	return pending_watcher_alive(p) ? -ETIMEDOUT : 0;
}

/* ---- what people see --------------------------------------------------- */

static const char *clock_str(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !localtime_r(&tt, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
		snprintf(buf, len, "?");
	return buf;
}

static const char *shown(const char *file)
{
	return file[0] ? file : "?";
}

void pending_refuse(const struct pending *p, const char *cmd, FILE *err)
{
	char a[16], d[16];

	if (!p->id[0]) {
		fprintf(err, "%s %s: site %s: a change is pending, but its record %s/%s.pending cannot be read;\n",
			prog, cmd, p->site, lib_dir(), p->site);
	} else {
		fprintf(err, "%s %s: site %s has a change pending: %s, applied at %s;\n", prog, cmd, p->site,
			shown(p->file), clock_str(p->applied, a, sizeof(a)));
		if (p->failed_at)
			fprintf(err, "  its rollback at %s FAILED: %s\n", clock_str(p->failed_at, d, sizeof(d)),
				p->failure);
		else if (!pending_watcher_alive(p))
			fprintf(err, "  its watcher is gone (the machine restarted, or it was killed): nothing rolls it "
				"back by itself;\n");
		else
			fprintf(err, "  it rolls back at %s (in %lld s) unless confirmed;\n",
				clock_str(p->deadline, d, sizeof(d)), pending_remaining(p));
	}
	fprintf(err, "  end it first:  %s confirm %s   (keep the change)\n"
		     "             or  %s rollback %s  (undo it now)\n", prog, p->site, prog, p->site);
}

/* NAMES of the probed peers that answered through the change (ANSWERED) or
 * not yet, comma-separated ("" when none). */
static void probe_names(const struct pending_probe *pp, bool answered, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < pp->n && o + 1 < len; i++) {
		if (pp->peers[i].answered != answered)
			continue;
		int k = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", pp->peers[i].name);

		if (k < 0 || (size_t)k >= len - o) {
			snprintf(buf + (len > 5 ? len - 5 : 0), len > 5 ? 5 : len, "...");
			return;
		}
		o += (size_t)k;
	}
}

/* The status line of a change made with --probe, its watcher running. */
static void probe_line(struct pending_view *v, const char *site)
{
	char a[16], waiting[400], done[400];

	clock_str(v->p.applied, a, sizeof(a));
	probe_names(&v->p.probe, false, waiting, sizeof(waiting));
	probe_names(&v->p.probe, true, done, sizeof(done));
	if (!v->p.probe.n) {
		snprintf(v->line, sizeof(v->line), "change pending: rolls back in %lld s unless `%s confirm %s` (applied "
			 "from %.200s at %s)\n    not confirming by probe: no peer answered probes before the change",
			 v->remaining > 0 ? v->remaining : 0, prog, site, shown(v->p.file), a);
		return;
	}
	snprintf(v->line, sizeof(v->line), "change pending: confirming by probe: waiting for %s to answer through it%s%s%s; "
		 "else rolls back in %lld s unless `%s confirm %s` (applied from %.200s at %s)", waiting[0] ? waiting : "-",
		 done[0] ? " (answered: " : "", done, done[0] ? ")" : "", v->remaining > 0 ? v->remaining : 0, prog, site,
		 shown(v->p.file), a);
}

int pending_view(const char *site, struct pending_view *v)
{
	char a[16], d[16];
	int r;

	memset(v, 0, sizeof(*v));
	r = pending_read(site, &v->p);
	if (r == -ENOENT || (r < 0 && lib_access_denied()))
		return -ENOENT; /* without access to LIBDIR (not root): nothing to tell */
	if (r < 0 && r != -EINVAL) {
		snprintf(v->line, sizeof(v->line), "change pending: cannot tell (%s)", lib_strerror(r));
		snprintf(v->problem, sizeof(v->problem), "the pending-change record of site %s cannot be read: %s",
			 site, lib_strerror(r));
		return 0;
	}
	v->alive = pending_watcher_alive(&v->p);
	v->remaining = pending_remaining(&v->p);
	snprintf(v->fix, sizeof(v->fix), "%s rollback %s (undo it) or %s confirm %s (keep it)", prog, site, prog,
		 site);
	if (r == -EINVAL) {
		snprintf(v->line, sizeof(v->line), "change pending: its record %.300s/%s.pending cannot be read", lib_dir(),
			 site);
		snprintf(v->problem, sizeof(v->problem), "a change is pending but its record %.300s/%s.pending cannot be "
			 "read: nothing rolls it back by itself", lib_dir(), site);
	} else if (v->p.failed_at) {
		snprintf(v->line, sizeof(v->line), "change pending: its rollback FAILED at %s (applied from %.300s at %s)"
			 "\n    %s", clock_str(v->p.failed_at, d, sizeof(d)), shown(v->p.file),
			 clock_str(v->p.applied, a, sizeof(a)), v->p.failure);
		snprintf(v->problem, sizeof(v->problem), "the rollback of the change applied from %.200s failed at %s: %.900s",
			 shown(v->p.file), d, v->p.failure);
		snprintf(v->fix, sizeof(v->fix), "%s rollback %s (retry once the cause is fixed) or %s confirm %s "
			 "(keep the change)", prog, site, prog, site);
	} else if (!v->alive) {
		snprintf(v->line, sizeof(v->line), "change pending: NOT rolled back by itself: its watcher is gone "
			 "(applied from %.300s at %s)", shown(v->p.file), clock_str(v->p.applied, a, sizeof(a)));
		snprintf(v->problem, sizeof(v->problem), "the change applied from %.300s at %s is pending, but its "
			 "watcher (pid %d) is gone: nothing rolls it back by itself", shown(v->p.file), a,
			 (int)v->p.watcher_pid);
	} else if (v->p.probe.on) {
		probe_line(v, site);
	} else {
		snprintf(v->line, sizeof(v->line), "change pending: rolls back in %lld s unless `%s confirm %s` "
			 "(applied from %.300s at %s)", v->remaining > 0 ? v->remaining : 0, prog, site, shown(v->p.file),
			 clock_str(v->p.applied, a, sizeof(a)));
	}
	return 0;
}

void pending_json(FILE *f, const struct pending_view *v)
{
	if (!v) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"file\": ");
	json_str(f, v->p.file);
	fprintf(f, ", \"applied\": %lld, \"deadline\": %lld, \"rolls_back_in_s\": %lld, \"rolls_back_to\": \"%s\", "
		"\"watcher\": {\"pid\": %d, \"running\": %s}, \"rollback_failed\": ",
		(long long)v->p.applied, (long long)v->p.deadline, v->remaining > 0 ? v->remaining : 0,
		v->p.was_up ? "confirmed" : "down", (int)v->p.watcher_pid, v->alive ? "true" : "false");
	if (v->p.failed_at) {
		fprintf(f, "{\"at\": %lld, \"error\": ", (long long)v->p.failed_at);
		json_str(f, v->p.failure);
		fprintf(f, "}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ", \"probe\": ");
	if (v->p.probe.on) {
		char ip[16];

		fprintf(f, "{\"confirming\": %s, \"peers\": [", v->alive && v->p.probe.n && !v->p.failed_at ? "true" : "false");
		for (size_t i = 0; i < v->p.probe.n; i++)
			fprintf(f, "%s{\"name\": \"%s\", \"address\": \"%s\", \"answered\": %s}", i ? ", " : "",
				v->p.probe.peers[i].name, ip4_str(v->p.probe.peers[i].addr, ip),
				v->p.probe.peers[i].answered ? "true" : "false");
		fprintf(f, "]}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, "}");
}

int pending_promote(const char *site)
{
	char from[SITE_NAME_MAX + 32], to[SITE_NAME_MAX + 32];
	int dfd = lib_dirfd(false);

	if (dfd < 0)
		return -errno;
	file_name(from, sizeof(from), site, ".pending.ini");
	file_name(to, sizeof(to), site, ".confirmed.ini");
	if (renameat(dfd, from, dfd, to) < 0)
		return -errno;
	return 0;
}

int pending_confirm(const char *site, const struct pending *p, const char *cmd, const char *how, FILE *err)
{
	int r = pending_promote(site);

	if (r < 0) {
		/* a stale copy must not be rolled back to later: forget it */
		fprintf(err, "%s: warning: the unconfirmed copy %s/%s.pending.ini cannot become the confirmed one "
			"(%s); the next `up --confirm` needs a plain `up` first\n", cmd, lib_dir(), site, lib_strerror(r));
		confirmed_forget(site);
	}
	if ((r = pending_clear(site)) < 0) {
		fprintf(err, "%s: cannot remove the pending change of %s in %s: %s\n", cmd, site, lib_dir(),
			lib_strerror(r));
		return -1;
	}
	openlog("gatewayctl", LOG_PID, LOG_DAEMON);
	syslog(LOG_NOTICE, "site %s: change applied from %s confirmed%s", site, p->file[0] ? p->file : "?", how);
	return 0;
}

/* ---- confirm SITE, rollback SITE ------------------------------------------ */

int pending_command_start(const char *cmd, const char *arg, char name[SITE_NAME_MAX + 1], int *lock,
			  struct pending *p)
{
	int r;

	*lock = -1;
	if (site_name_valid(arg)) {
		snprintf(name, SITE_NAME_MAX + 1, "%s", arg);
	} else if (strchr(arg, '/') || strstr(arg, ".ini")) {
		struct site s;

		if (config_load(arg, &s, stderr) < 0) {
			fprintf(stderr, "%s %s: give the site's name instead of the file\n", prog, cmd);
			return EXIT_USAGE;
		}
		snprintf(name, SITE_NAME_MAX + 1, "%s", s.name);
		config_free(&s);
	} else {
		return usage_error(cmd, "`%s` is neither a site name nor a site file", arg);
	}
	if (!have_net_admin()) {
		fprintf(stderr, "%s %s: needs CAP_NET_ADMIN: run it as root\n", prog, cmd);
		return EXIT_FAIL;
	}
	*lock = state_lock(name);
	if (*lock < 0)
		return EXIT_FAIL;
	r = pending_read(name, p);
	if (r == 0 || r == -EINVAL)
		return 0;
	close(*lock);
	*lock = -1;
	if (r == -ENOENT)
		fprintf(stderr, "%s %s: site %s: no change is pending (only `up --confirm` makes one): nothing to %s\n",
			prog, cmd, name, cmd);
	else
		fprintf(stderr, "%s %s: site %s: cannot read its pending change in %s: %s\n", prog, cmd, name,
			lib_dir(), lib_strerror(r));
	return EXIT_FAIL;
}
