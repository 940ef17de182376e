/* watcher.c - `up --confirm`: recording the pending change, the watcher that
 * rolls it back at its deadline, and the rollback itself.
 *
 * The watcher is a process of its own, detached from whoever ran `up`: forked
 * twice (the first child calls setsid() and exits, so the watcher leads no
 * session and can never get a controlling terminal again), SIGHUP and the
 * terminal's signals ignored, stdin/stdout/stderr on /dev/null, every other
 * inherited descriptor closed, working directory /, and then it re-executes
 * this binary (`gatewayctl confirm --watcher ...`) so that it holds nothing of
 * the parent's memory or descriptors. It survives the SSH connection dropping,
 * the terminal closing and its caller being SIGKILLed: nothing of theirs is
 * its. It does not use a transient systemd timer because systemd is not always
 * PID 1 (containers, network namespaces of tests, small systems); see
 * gatewayctl(8).
 *
 * It sleeps on CLOCK_BOOTTIME (time spent suspended counts) until the
 * deadline, takes the site's lock, and acts only if the pending record still
 * carries the id it was started for: a change confirmed, rolled back, or
 * replaced meanwhile is not its business any more. `confirm` and `rollback`
 * also stop it (pending.c), but correctness never depends on that.
 */
#define _GNU_SOURCE
#include "commands.h"
#include "pending.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gatewayctl.h"
#include "ipsec_keys.h"
#include "model.h"
#include "probewatch.h"
#include "proc.h"
#include "state.h"
#include "site.h"

#define READY_TIMEOUT_MS 5000

/* ---- starting the watcher ---------------------------------------------- */

/* In the grandchild: become the watcher. Never returns. */
static void become_watcher(int ready_fd, const struct pending *p)
{
	static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
	static const int dfl[] = { SIGTERM, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_handler = SIG_IGN };
	char deadline[32];
	const char *rundir = getenv("GATEWAYCTL_RUNDIR");
	sigset_t none;
	int ready, null;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		sigaction(dfl[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* paths absolute: the watcher works from / */
	if (rundir && *rundir && rundir[0] != '/') {
		char *abs = realpath(rundir, NULL);

		if (abs)
			setenv("GATEWAYCTL_RUNDIR", abs, 1);
		free(abs);
	}
	setenv("GATEWAYCTL_LIBDIR", lib_dir(), 1);
	/* the ready pipe to fd 3 (stdin..stderr may have been closed: the pipe
	 * could be one of them), /dev/null on 0-2, nothing else open */
	ready = fcntl(ready_fd, F_DUPFD, 3);
	null = open("/dev/null", O_RDWR);
	if (ready < 0 || null < 0) {
		dprintf(ready_fd, "%d cannot open /dev/null: %s\n", errno, strerror(errno));
		_exit(1);
	}
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	if (ready != 3)
		dup2(ready, 3);
	close_fds_from(4);
	if (chdir("/") < 0)
		_exit(1);
	umask(077);
	snprintf(deadline, sizeof(deadline), "%llu", (unsigned long long)p->deadline_boot_ms);
	execl("/proc/self/exe", "gatewayctl", "confirm", "--watcher", p->site, p->id, deadline, "--ready-fd", "3",
	      (char *)NULL);
	dprintf(3, "%d cannot run /proc/self/exe: %s\n", errno, strerror(errno));
	_exit(127);
}

/* Start the watcher of P; its pid and start time into P. 0 or -errno (MSG). */
static int spawn_watcher(struct pending *p, char *msg, size_t len)
{
	char buf[256];
	size_t have = 0;
	int pfd[2], status, r;
	uint64_t deadline;
	pid_t child;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(msg, len, "pipe: %s", strerror(-r));
		return r;
	}
	child = fork();
	if (child < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		snprintf(msg, len, "fork: %s", strerror(-r));
		return r;
	}
	if (child == 0) {
		pid_t g;

		close(pfd[0]);
		if (setsid() < 0) {
			dprintf(pfd[1], "%d setsid: %s\n", errno, strerror(errno));
			_exit(1);
		}
		g = fork();
		if (g < 0) {
			dprintf(pfd[1], "%d fork: %s\n", errno, strerror(errno));
			_exit(1);
		}
		if (g > 0)
			_exit(0);
		become_watcher(pfd[1], p);
	}
	close(pfd[1]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	/* "0 PID START" once it runs, or "ERRNO reason" */
	deadline = mono_ms() + READY_TIMEOUT_MS;
	while (have + 1 < sizeof(buf) && !memchr(buf, '\n', have)) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t n;

		if (now >= deadline)
			break;
		r = poll(&pf, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = read(pfd[0], buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(pfd[0]);
	buf[have] = '\0';
	{
		long code, pid;
		unsigned long long start;
		char *end;

		code = strtol(buf, &end, 10);
		if (!have || end == buf) {
			snprintf(msg, len, "the watcher did not start (no word within %d s)", READY_TIMEOUT_MS / 1000);
			return -ECHILD;
		}
		if (code != 0) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(msg, len, "the watcher did not start: %s", end + strspn(end, " "));
			return code > 0 && code < 4096 ? -(int)code : -EIO;
		}
		if (sscanf(end, "%ld %llu", &pid, &start) != 2 || pid <= 1 || pid > INT_MAX) {
			snprintf(msg, len, "the watcher's answer makes no sense: %s", buf);
			return -EIO;
		}
		p->watcher_pid = (pid_t)pid;
		p->watcher_start = start;
	}
	return 0;
}

/* ---- up --confirm -------------------------------------------------------- */

static bool site_was_up(const struct site *site, const struct live *live)
{
	struct state st;
	char alias[64];

	if (state_read(site->name, &st) == 0 && !state_empty(&st))
		return true;
	if (live->nft_present)
		return true;
	snprintf(alias, sizeof(alias), RTNL_ALIAS_PREFIX "%s/", site->name);
	for (size_t i = 0; i < live->n_links; i++)
		if (!strncmp(live->links[i].alias, alias, strlen(alias)))
			return true;
	return false;
}

int pending_begin(const struct site *site, const struct live *live, unsigned seconds,
		  const struct pending_probe *probe, struct pending *p, FILE *err)
{
	unsigned char rnd[16];
	char name[SITE_NAME_MAX + 32], msg[300], *abs;
	int r;

	memset(p, 0, sizeof(*p));
	snprintf(p->site, sizeof(p->site), "%s", site->name);
	p->was_up = site_was_up(site, live);
	if (probe)
		p->probe = *probe;
	if (p->was_up && !confirmed_exists(site->name)) {
		fprintf(err, "%s up: site %s is up, but its last confirmed configuration is unknown (no %s/%s.confirmed.ini: "
			"it was brought up by an older gatewayctl, or the copy is gone), so it could not be rolled back; "
			"run `%s up FILE` with the configuration in force first, then `up --confirm` the change\n",
			prog, site->name, lib_dir(), site->name, prog);
		return -1;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		fprintf(err, "%s up: no random bytes for the change's id: %s\n", prog, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(p->id + 2 * i, 3, "%02x", rnd[i]);
	abs = realpath(site->path, NULL);
	snprintf(p->file, sizeof(p->file), "%s", abs ? abs : site->path);
	free(abs);
	p->seconds = seconds;
	p->applied = (int64_t)time(NULL);
	p->deadline = p->applied + seconds;
	p->deadline_boot_ms = boottime_ms() + (uint64_t)seconds * 1000;
	proc_boot_id(p->boot_id);
	if (!p->boot_id[0]) {
		fprintf(err, "%s up: cannot read /proc/sys/kernel/random/boot_id\n", prog);
		return -1;
	}
	/* the keys charon holds now: a rollback puts them back, whatever the key
	 * files hold by then */
	if ((r = ipsec_keys_pending_begin(site->name)) < 0) {
		fprintf(err, "%s up: cannot keep the keys in force in %s: %s\n", prog, lib_dir(), lib_strerror(r));
		return -1;
	}
	snprintf(name, sizeof(name), "%s.pending.ini", site->name);
	if ((r = lib_write_file(name, site->text, site->text_len)) < 0) {
		fprintf(err, "%s up: cannot record the pending change in %s: %s\n", prog, lib_dir(), lib_strerror(r));
		return -1;
	}
	if ((r = spawn_watcher(p, msg, sizeof(msg))) < 0) {
		fprintf(err, "%s up: %s\n", prog, msg);
		pending_clear(site->name);
		return -1;
	}
	if ((r = pending_write(p)) < 0) {
		fprintf(err, "%s up: cannot record the pending change in %s: %s\n", prog, lib_dir(), lib_strerror(r));
		pending_stop_watcher(p);
		pending_clear(site->name);
		return -1;
	}
	return 0;
}

int pending_started(struct pending *p)
{
	p->started = true;
	p->applied = (int64_t)time(NULL);
	p->deadline = p->applied + p->seconds;
	p->deadline_boot_ms = boottime_ms() + (uint64_t)p->seconds * 1000;
	return pending_write(p);
}

void pending_abort(struct pending *p)
{
	/* the record first: a watcher waking meanwhile finds nothing to do */
	pending_clear(p->site);
	pending_stop_watcher(p);
}

/* ---- the rollback ---------------------------------------------------------- */

int pending_rollback(struct pending *p, const char *why, FILE *out, FILE *err)
{
	char *otext = NULL, *etext = NULL, cmd[64], at[32], path[4200];
	size_t olen = 0, elen = 0;
	FILE *mo = open_memstream(&otext, &olen), *me = open_memstream(&etext, &elen);
	struct tm tm;
	time_t t = (time_t)p->applied;
	int r;

	if (!mo || !me) {
		if (mo)
			fclose(mo);
		if (me)
			fclose(me);
		free(otext);
		free(etext);
		fprintf(err, "%s: out of memory\n", prog);
		return -1;
	}
	openlog("gatewayctl", LOG_PID, LOG_DAEMON);
	snprintf(cmd, sizeof(cmd), "%s rollback", prog);
	if (!t || !localtime_r(&t, &tm) || !strftime(at, sizeof(at), "%H:%M:%S", &tm))
		snprintf(at, sizeof(at), "?");
	confirmed_path(p->site, path, sizeof(path));
	if (p->was_up) {
		struct site s;

		r = confirmed_load(p->site, &s, me);
		if (r == 0) {
			struct site_up_opts o = { .cmd = cmd, .out = mo, .err = me };
			int k = ipsec_keys_pending_use(p->site);

			/* the keys in force before the change, not what the files hold now */
			if (k < 0)
				fprintf(me, "%s: warning: cannot read the keys kept in %s (%s): the key files are used\n",
					cmd, lib_dir(), lib_strerror(k));
			r = site_up(&s, &o);
			ipsec_keys_pending_end();
			config_free(&s);
		}
	} else {
		r = site_down(p->site, NULL, mo, me);
	}
	fclose(mo);
	fclose(me);
	fputs(otext, out);
	fputs(etext, err);
	if (r >= 0) {
		int c = pending_clear(p->site);

		fprintf(out, "site %s: rolled back the change applied from %s at %s (%s): %s\n", p->site,
			p->file[0] ? p->file : "?", at, why,
			p->was_up ? "back to the last confirmed configuration" : "the site was down before it, and is again");
		if (p->was_up)
			syslog(LOG_WARNING, "site %s: rolled back the change applied from %s at %s (%s): back to the "
			       "last confirmed configuration %s (%d change%s)", p->site, p->file[0] ? p->file : "?", at,
			       why, path, r, r == 1 ? "" : "s");
		else
			syslog(LOG_WARNING, "site %s: rolled back the change applied from %s at %s (%s): the site was "
			       "down before it, and is again", p->site, p->file[0] ? p->file : "?", at, why);
		if (c < 0)
			fprintf(err, "%s: warning: cannot remove the pending change's files in %s: %s\n", cmd, lib_dir(),
				lib_strerror(c));
		free(otext);
		free(etext);
		return 0;
	}
	p->failed_at = (int64_t)time(NULL);
	one_line(etext && *etext ? etext : "no reason given", NULL, p->failure, sizeof(p->failure));
	if ((r = pending_write(p)) < 0)
		fprintf(err, "%s: cannot record the failure in %s: %s\n", cmd, lib_dir(), lib_strerror(r));
	fprintf(err, "site %s: the rollback of the change applied from %s at %s FAILED (%s); the change stays "
		"pending: `%s rollback %s` tries again, `%s confirm %s` keeps it\n", p->site,
		p->file[0] ? p->file : "?", at, why, prog, p->site, prog, p->site);
	syslog(LOG_ERR, "site %s: rollback of the change applied from %s at %s (%s) FAILED: %s", p->site,
	       p->file[0] ? p->file : "?", at, why, p->failure);
	free(otext);
	free(etext);
	return -1;
}

/* ---- the watcher process ------------------------------------------------- */

static int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	*out = 0;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

int watcher_main(int argc, char **argv)
{
	unsigned long long target, ready;
	uint64_t start = 0;
	const char *site, *id;
	int tries = 0;

	if (argc != 6 || strcmp(argv[0], "--watcher") || !site_name_valid(argv[1]) || strlen(argv[2]) != 32 ||
	    strspn(argv[2], "0123456789abcdef") != 32 || parse_ull(argv[3], INT64_MAX, &target) < 0 ||
	    strcmp(argv[4], "--ready-fd") || parse_ull(argv[5], INT_MAX, &ready) < 0) {
		fprintf(stderr, "%s confirm --watcher: started by `up --confirm`, not by hand\n", prog);
		return EXIT_USAGE;
	}
	site = argv[1];
	id = argv[2];
	openlog("gatewayctl", LOG_PID, LOG_DAEMON);
	proc_stat(getpid(), &start, NULL);
	dprintf((int)ready, "0 %d %llu\n", (int)getpid(), (unsigned long long)start);
	close((int)ready);
	for (;;) {
		struct pending p;
		char why[80];
		sigset_t term;
		int lock, r;

		/* with --probe, it may confirm the change before its deadline */
		bool answered = probewatch_wait(site, id, &target) == 1;

		lock = state_lock(site);
		if (lock < 0) {
			if (++tries >= 12) {
				syslog(LOG_ERR, "site %s: cannot take the site's lock in %s to roll back the pending "
				       "change: giving up; `%s rollback %s` does it", site, state_private_dir(), prog, site);
				return EXIT_FAIL;
			}
			target = boottime_ms() + 5000;
			continue;
		}
		r = pending_read(site, &p);
		if (r == -ENOENT || (r == 0 && (strcmp(p.id, id) || p.failed_at))) {
			/* confirmed, rolled back, or another change's: not ours any more */
			close(lock);
			return EXIT_OK;
		}
		if (r < 0) {
			syslog(LOG_ERR, "site %s: cannot read the pending change in %s (%s): NOT rolled back; "
			       "`%s rollback %s` does it", site, lib_dir(), lib_strerror(r), prog, site);
			close(lock);
			return EXIT_FAIL;
		}
		if (answered && p.probe.on) {
			sigemptyset(&term);
			sigaddset(&term, SIGTERM);
			sigaddset(&term, SIGINT);
			sigprocmask(SIG_BLOCK, &term, NULL);
			r = probewatch_confirm(&p);
			close(lock);
			return r < 0 ? EXIT_FAIL : EXIT_OK;
		}
		if (p.deadline_boot_ms > boottime_ms()) {
			/* the deadline moved: up counts it from the end of its work */
			target = p.deadline_boot_ms;
			close(lock);
			continue;
		}
		snprintf(why, sizeof(why), "not confirmed within %u s", p.seconds);
		/* once started, the rollback is finished (and undone on failure) before
		 * a SIGTERM ends the watcher: a rollback cut in half helps nobody */
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		sigaddset(&term, SIGINT);
		sigprocmask(SIG_BLOCK, &term, NULL);
		r = pending_rollback(&p, why, stdout, stderr);
		close(lock);
		return r < 0 ? EXIT_FAIL : EXIT_OK;
	}
}
