/* relayctl.c - driving the relay from up/down/status: start, stop, running,
 * counters, config hash. The daemon itself is relay.c. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "proc.h"
#include "relay_priv.h"
#include "sanitize.h"
#include "state.h"

#define START_TIMEOUT_MS 30000	/* generous: sanitizer builds under emulation are slow */

const char *relay_drop_name(enum relay_drop d)
{
	static const char *const names[DROP_REASONS] = {
		[DROP_NOT_BROADCAST] = "not-broadcast",
		[DROP_NOT_FROM_LAN] = "not-from-lan",
		[DROP_RATE] = "rate",
		[DROP_BAD_FRAME] = "bad-frame",
		[DROP_UNKNOWN_PEER] = "unknown-peer",
		[DROP_WRONG_TUNNEL] = "wrong-tunnel",
		[DROP_UNKNOWN_PORT] = "unknown-port",
		[DROP_HOPS] = "hops",
		[DROP_SEND_ERROR] = "send-error",
		[DROP_TOO_BIG] = "too-big",
		[DROP_REASSEMBLY] = "reassembly",
		[DROP_QUEUE_FULL] = "queue-full",
	};

	return (unsigned)d < DROP_REASONS ? names[d] : "?";
}

void relay_file_name(const char *site, const char *kind, char *buf, size_t len)
{
	snprintf(buf, len, "%s.relay.%s", site, kind);
}

void relay_pid_path(const char *site, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.relay.pid", state_private_dir(), site);
}

void relay_stats_path(const char *site, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.relay.stats", state_dir(), site);
}

/* --- the config hash: FNV-1a over each field in a fixed form ---------------------- */

static void h_bytes(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ull;
	}
}

static void h_u64(uint64_t *h, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	h_bytes(h, b, 8);
}

static void h_str(uint64_t *h, const char *s)
{
	size_t n = strlen(s);

	h_u64(h, n);
	h_bytes(h, s, n);
}

uint64_t relay_config_hash(const struct site *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const struct relay_conf *r = &s->relay;

	h_u64(&h, 1);	/* bump when the daemon's behaviour changes incompatibly */
	h_str(&h, s->name);
	h_str(&h, s->lan);
	h_u64(&h, s->lan_address.addr);
	h_u64(&h, s->lan_address.len);
	h_u64(&h, r->enabled);
	h_u64(&h, r->n_ports);
	for (size_t i = 0; i < r->n_ports; i++)
		h_u64(&h, r->ports[i]);
	h_u64(&h, r->transport);
	h_u64(&h, r->rate);
	h_u64(&h, r->burst);
	h_u64(&h, r->preserve_source);
	h_str(&h, r->user);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &s->peers[i];

		if (!p->relay)
			continue;
		h_str(&h, p->name);
		h_str(&h, p->tunnel);
		h_u64(&h, p->lan_address);
		h_u64(&h, p->n_networks);
		for (size_t j = 0; j < p->n_networks; j++) {
			h_u64(&h, p->networks[j].addr);
			h_u64(&h, p->networks[j].len);
		}
	}
	return h;
}

/* --- the stats file ------------------------------------------------------------------ */

static size_t stats_size(size_t n_ports, size_t n_peers)
{
	return sizeof(struct rs_header) + n_ports * sizeof(struct rs_port) +
	       n_peers * sizeof(struct rs_peer) + DROP_REASONS * sizeof(uint64_t);
}

int relay_stats_create(const char *site, size_t n_ports, size_t n_peers, struct rs_map *m)
{
	char name[SITE_NAME_MAX + 16];
	size_t size = stats_size(n_ports, n_peers);
	int dfd, fd, r;
	void *p;

	memset(m, 0, sizeof(*m));
	dfd = state_dirfd(false, true);
	if (dfd < 0)
		return -EACCES;
	relay_file_name(site, "stats", name, sizeof(name));
	/* afresh: whoever still maps the old file keeps it, nobody else sees it */
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		close(fd);
		unlinkat(dfd, name, 0);
		return r;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = -errno;
	close(fd);
	if (p == MAP_FAILED) {
		unlinkat(dfd, name, 0);
		return r;
	}
	m->base = p;
	m->size = size;
	m->hdr = p;
	m->ports = (struct rs_port *)(m->hdr + 1);
	m->peers = (struct rs_peer *)(m->ports + n_ports);
	m->other = (uint64_t *)(m->peers + n_peers);
	m->hdr->magic = RELAY_STATS_MAGIC;
	m->hdr->version = RELAY_STATS_VERSION;
	m->hdr->header_size = sizeof(struct rs_header);
	m->hdr->n_ports = (uint32_t)n_ports;
	m->hdr->n_peers = (uint32_t)n_peers;
	m->hdr->n_reasons = DROP_REASONS;
	m->hdr->port_size = sizeof(struct rs_port);
	m->hdr->peer_size = sizeof(struct rs_peer);
	return 0;
}

void relay_stats_unmap(struct rs_map *m)
{
	if (m->base)
		munmap(m->base, m->size);
	memset(m, 0, sizeof(*m));
}

static void copy_drops(uint64_t *dst, const uint8_t *src, uint32_t n_reasons)
{
	for (uint32_t i = 0; i < n_reasons && i < DROP_REASONS; i++)
		memcpy(&dst[i], src + i * sizeof(uint64_t), sizeof(uint64_t));
}

int relay_parse_stats(const uint8_t *buf, size_t size, struct relay_stats *st)
{
	struct rs_header h;
	size_t off;

	memset(st, 0, sizeof(*st));
	if (size < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != RELAY_STATS_MAGIC || h.version != RELAY_STATS_VERSION ||
	    h.header_size < sizeof(h) || h.n_ports > RELAY_PORTS_MAX || h.n_peers > 4096 ||
	    h.n_reasons == 0 || h.n_reasons > 1024 ||
	    h.port_size < 32 + 8ull * h.n_reasons || h.peer_size < RELAY_PEER_NAME_LEN + 16 + 8ull * h.n_reasons ||
	    (uint64_t)h.header_size + (uint64_t)h.n_ports * h.port_size +
		    (uint64_t)h.n_peers * h.peer_size + 8ull * h.n_reasons > size)
		return -EBADMSG;
	st->pid = (pid_t)h.pid;
	if ((int64_t)st->pid != h.pid || h.pid < 0)
		st->pid = 0;	/* not a pid: nothing to check against */
	st->started = (time_t)h.started;
	st->config_hash = h.config_hash;
	st->start_ticks = h.start_ticks;
	st->n_ports = h.n_ports;
	off = h.header_size;
	for (uint32_t i = 0; i < h.n_ports; i++, off += h.port_size) {
		struct relay_port_stats *p = &st->ports[i];
		uint32_t port;

		memcpy(&port, buf + off, 4);
		p->port = (uint16_t)port;
		memcpy(&p->received, buf + off + 8, 8);
		memcpy(&p->relayed, buf + off + 16, 8);
		memcpy(&p->rebroadcast, buf + off + 24, 8);
		copy_drops(p->dropped, buf + off + 32, h.n_reasons);
	}
	if (h.n_peers) {
		st->peers = calloc(h.n_peers, sizeof(*st->peers));
		if (!st->peers)
			return -ENOMEM;
	}
	st->n_peers = h.n_peers;
	for (uint32_t i = 0; i < h.n_peers; i++, off += h.peer_size) {
		struct relay_peer_stats *p = &st->peers[i];

		memcpy(p->name, buf + off, sizeof(p->name) - 1);
		p->name[sizeof(p->name) - 1] = 0;
		/* written by the unprivileged relay: printed by status and metrics */
		sanitize_text(p->name);
		memcpy(&p->sent, buf + off + RELAY_PEER_NAME_LEN, 8);
		memcpy(&p->received, buf + off + RELAY_PEER_NAME_LEN + 8, 8);
		copy_drops(p->dropped, buf + off + RELAY_PEER_NAME_LEN + 16, h.n_reasons);
	}
	copy_drops(st->dropped_other, buf + off, h.n_reasons);
	return 0;
}

int relay_read_stats(const char *site_name, struct relay_stats *st)
{
	char name[SITE_NAME_MAX + 16];
	struct stat sb;
	uint8_t *buf = NULL;
	size_t size, off;
	int fd, r = 0;

	memset(st, 0, sizeof(*st));
	relay_file_name(site_name, "stats", name, sizeof(name));
	fd = state_open(false, name, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	size = (size_t)sb.st_size;
	if (!S_ISREG(sb.st_mode) || size < sizeof(struct rs_header) || size > (64u << 20)) {
		r = -EBADMSG;
		goto out;
	}
	buf = malloc(size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (off = 0; off < size;) {
		ssize_t n = pread(fd, buf + off, size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EBADMSG;
			goto out;
		}
		off += (size_t)n;
	}
	r = relay_parse_stats(buf, size, st);
out:
	free(buf);
	close(fd);
	return r;
}

void relay_stats_free(struct relay_stats *st)
{
	free(st->peers);
	st->peers = NULL;
	st->n_peers = 0;
}

/* --- who the relay is ----------------------------------------------------------------- */

int relay_write_pidfile(const char *site)
{
	char name[SITE_NAME_MAX + 16], text[128], boot[37];
	uint64_t start;
	int r, n;

	if ((r = proc_stat(getpid(), &start, NULL)) < 0)
		return r;
	proc_boot_id(boot);
	n = snprintf(text, sizeof(text), "%ld\n%llu\n%s\n", (long)getpid(), (unsigned long long)start,
		     boot[0] ? boot : "unknown");
	relay_file_name(site, "pid", name, sizeof(name));
	return state_write_file(true, name, text, (size_t)n, 0600);
}

int relay_lock(const char *site, int wait_ms)
{
	char name[SITE_NAME_MAX + 16];
	int fd;

	relay_file_name(site, "lock", name, sizeof(name));
	fd = state_open(true, name, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return -errno;
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 10) {
		int e = errno;

		if (e != EWOULDBLOCK || waited >= wait_ms) {
			close(fd);
			return -e;
		}
		usleep(10000);
	}
	return fd;
}

/* The identity recorded in SITE's pid file. 0, -ENOENT, -EACCES (not root), -EBADMSG. */
static int read_pidfile(const char *site, struct relay_id *id)
{
	char name[SITE_NAME_MAX + 16], buf[160], *p, *end;
	int dfd, n;
	long pid;

	memset(id, 0, sizeof(*id));
	relay_file_name(site, "pid", name, sizeof(name));
	dfd = state_dirfd(true, false);
	if (dfd < 0)
		return errno == ENOENT ? -ENOENT : -EACCES;
	{
		int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		struct stat sb;

		if (fd < 0)
			return -errno;
		/* ours: written by root, for root alone */
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077)) {
			close(fd);
			return -EBADMSG;
		}
		n = (int)read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -EBADMSG;
		buf[n] = 0;
	}
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || *end != '\n' || pid <= 1 || pid > INT_MAX)
		return -EBADMSG;
	p = end + 1;
	id->start = strtoull(p, &end, 10);
	if (errno || end == p || *end != '\n')
		return -EBADMSG;
	p = end + 1;
	p[strcspn(p, "\n")] = 0;
	snprintf(id->boot, sizeof(id->boot), "%s", p);
	id->pid = (pid_t)pid;
	return 0;
}

/* Strip " (deleted)": a relay keeps running from a binary replaced by an upgrade. */
static bool exe_path(const char *link, char *buf, size_t len)
{
	ssize_t n = readlink(link, buf, len - 1);
	size_t k;

	if (n <= 0)
		return false;
	buf[n] = 0;
	k = strlen(buf);
	if (k > 10 && !strcmp(buf + k - 10, " (deleted)"))
		buf[k - 10] = 0;
	return true;
}

/* Is process ID->pid the relay ID describes? Its start time and boot must be
 * those recorded, its command `relay`, and (when CHECK_EXE) its executable this
 * program: the same file, or the same path (a relay started before an upgrade
 * runs a deleted file). Files, not paths, first: the path a process sees of
 * another's executable depends on mount namespaces and chroots. A pid reused
 * by another process fails on the start time. */
static bool is_relay(const struct relay_id *id, bool check_exe)
{
	char path[64], buf[4096], mine[PATH_MAX], theirs[PATH_MAX];
	uint64_t start;
	int n;

	if (id->pid <= 1 || proc_stat(id->pid, &start, NULL) < 0 || start != id->start)
		return false;
	if (id->boot[0]) {
		char boot[37];

		proc_boot_id(boot);
		if (strcmp(boot[0] ? boot : "unknown", id->boot))
			return false;
	}
	/* argv[1] is "relay": the daemon's own command line (NUL-separated) */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)id->pid);
	n = proc_read_small(AT_FDCWD, path, buf, sizeof(buf));
	if (n <= 0 || (size_t)n <= strlen(buf) + 1 || strcmp(buf + strlen(buf) + 1, "relay"))
		return false;
	if (!check_exe)
		return true;
	/* the same file as ours; or, after an upgrade replaced it, the same path */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)id->pid);
	{
		struct stat a, b;

		if (stat("/proc/self/exe", &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return true;
	}
	return exe_path("/proc/self/exe", mine, sizeof(mine)) && exe_path(path, theirs, sizeof(theirs)) &&
	       !strcmp(mine, theirs);
}

pid_t relay_running(const char *site_name, time_t *started, uint64_t *config_hash)
{
	struct relay_id id;
	struct relay_stats st;
	bool have_st;
	int r;

	if (started)
		*started = 0;
	if (config_hash)
		*config_hash = 0;
	have_st = relay_read_stats(site_name, &st) == 0;
	r = read_pidfile(site_name, &id);
	if (r == -EACCES && have_st && st.start_ticks) {
		/* not root: the counters file says who the relay is, checked alike
		 * (its executable is not ours to read once it dropped privileges) */
		id.pid = st.pid;
		id.start = st.start_ticks;
		if (!is_relay(&id, false))
			id.pid = 0;
	} else if (r < 0 || !is_relay(&id, true)) {
		id.pid = 0;
	}
	if (have_st) {
		if (id.pid && st.pid == id.pid) {
			if (started)
				*started = st.started;
			if (config_hash)
				*config_hash = st.config_hash;
		}
		relay_stats_free(&st);
	}
	return id.pid;
}

/* The validated bytes in a sealed memory file: what the daemon parses. */
static int config_memfd(const struct site *site)
{
	int fd = memfd_create("gatewayctl-site", MFD_CLOEXEC | MFD_ALLOW_SEALING), e;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < site->text_len;) {
		ssize_t n = write(fd, site->text + off, site->text_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* In the child, before exec: FDS[i] becomes descriptor 3 + i, inherited;
 * every other descriptor above 2 is closed (whatever up or its caller had open). */
static void child_fds(const int *fds, int n)
{
	int tmp[4];

	for (int i = 0; i < n; i++) {
		tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n);
		if (tmp[i] < 0)
			_exit(126);
	}
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], 3 + i) < 0)	/* dup2 clears close-on-exec */
			_exit(126);
	if (close_fds_from(3 + (unsigned)n) < 0)
		_exit(126);
}

int relay_start(const struct site *site, char *msg, size_t len)
{
	char buf[512];
	int p[2], fds[2], cfd, status, r;
	size_t have = 0;
	uint64_t deadline;
	pid_t child;

	if (msg && len)
		msg[0] = 0;
	if (!site->text) {
		snprintf(msg, len, "relay: no validated site text to hand over");
		return -EINVAL;
	}
	cfd = config_memfd(site);
	if (cfd < 0) {
		snprintf(msg, len, "relay: memfd: %s", strerror(-cfd));
		return cfd;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		close(cfd);
		snprintf(msg, len, "relay: pipe: %s", strerror(-r));
		return r;
	}
	child = fork();
	if (child < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		close(cfd);
		snprintf(msg, len, "relay: fork: %s", strerror(-r));
		return r;
	}
	if (child == 0) {
		/* the ready pipe becomes 3, the site's bytes 4; nothing else crosses exec */
		fds[0] = p[1];
		fds[1] = cfd;
		child_fds(fds, 2);
		execl("/proc/self/exe", "gatewayctl", "relay", "--config-fd", "4", "--config-name", site->path,
		      "--daemon", "--ready-fd", "3", (char *)NULL);
		dprintf(3, "%d cannot run /proc/self/exe: %s\n", errno, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	close(cfd);
	/* the exec'd process forks the daemon and exits at once */
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	deadline = mono_ms() + START_TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t n;

		if (have + 1 >= sizeof(buf) || memchr(buf, '\n', have))
			break;
		if (now >= deadline) {
			close(p[0]);
			snprintf(msg, len, "relay: not ready after %d s", START_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR) {
			r = -errno;
			close(p[0]);
			snprintf(msg, len, "relay: poll: %s", strerror(-r));
			return r;
		}
		if (r <= 0)
			continue;
		n = read(p[0], buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(p[0]);
	buf[have] = 0;
	{
		char *end, *nl = strchr(buf, '\n');
		long code;

		if (nl)
			*nl = 0;
		code = strtol(buf, &end, 10);
		if (!have || end == buf) {
			snprintf(msg, len, "relay: exited during start without a word%s",
				 WIFEXITED(status) && WEXITSTATUS(status) ? " (see syslog)" : "");
			return -ECHILD;
		}
		if (code == 0)
			return 0;
		while (*end == ' ')
			end++;
		snprintf(msg, len, "relay: %s", end);
		return code > 0 && code < 4096 ? -(int)code : -EIO;
	}
}

static void remove_files(const char *site_name)
{
	char name[SITE_NAME_MAX + 16];

	relay_file_name(site_name, "pid", name, sizeof(name));
	state_remove_file(true, name);
	relay_file_name(site_name, "stats", name, sizeof(name));
	state_remove_file(false, name);
}

/* Wait up to MS for the process behind PIDFD to end. */
static bool ended(int pidfd, int ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		uint64_t now = mono_ms();
		int r;

		if (now >= deadline)
			return false;
		r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

int relay_stop(const char *site_name)
{
	struct relay_id id;
	int r = read_pidfile(site_name, &id), pidfd;

	if (r == -EACCES)
		return r;	/* not root: not ours to stop */
	if (r < 0) {
		remove_files(site_name);
		return 0;
	}
	/* the pidfd first, then the checks: whatever they find stays true of the
	 * process the pidfd holds, even if the pid is reused meanwhile */
	pidfd = proc_pidfd_open(id.pid);
	if (pidfd < 0 && errno != ESRCH && errno != ENOSYS)
		return -errno;
	if (pidfd < 0 && errno == ENOSYS) {
		/* before Linux 5.3: the same checks, then kill() at once */
		if (is_relay(&id, true)) {
			uint64_t deadline = mono_ms() + 5000;

			if (kill(id.pid, SIGTERM) < 0 && errno != ESRCH)
				return -errno;
			while (is_relay(&id, true) && mono_ms() < deadline)
				usleep(20000);
			if (is_relay(&id, true))
				return -ETIMEDOUT;
		}
		remove_files(site_name);
		return 0;
	}
	if (pidfd >= 0 && is_relay(&id, true)) {
		if (proc_pidfd_signal(pidfd, SIGTERM) < 0 && errno != ESRCH) {
			r = -errno;
			close(pidfd);
			return r;
		}
		if (!ended(pidfd, 3000)) {
			if (proc_pidfd_signal(pidfd, SIGKILL) < 0 && errno != ESRCH) {
				r = -errno;
				close(pidfd);
				return r;
			}
			if (!ended(pidfd, 2000)) {
				close(pidfd);
				return -ETIMEDOUT;
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	/* the relay ended, or the file named no relay of ours: stale either way */
	remove_files(site_name);
	return 0;
}
