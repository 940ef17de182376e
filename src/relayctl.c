/* relayctl.c - driving the relay from up/down/status: start, stop, running,
 * counters, config hash. The daemon itself is relay.c. */
#define _GNU_SOURCE
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "relay_priv.h"
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
	};

	return (unsigned)d < DROP_REASONS ? names[d] : "?";
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
	char path[4200];
	size_t size = stats_size(n_ports, n_peers);
	int fd, r;
	void *p;

	memset(m, 0, sizeof(*m));
	if (state_dirfd(false, true) < 0)
		return -EACCES;
	relay_stats_path(site, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = -errno;
	close(fd);
	if (p == MAP_FAILED) {
		unlink(path);
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

int relay_read_stats(const char *site_name, struct relay_stats *st)
{
	char path[4200];
	struct rs_header h;
	struct stat sb;
	uint8_t *buf = NULL;
	size_t size, off;
	int fd, r = 0;

	memset(st, 0, sizeof(*st));
	relay_stats_path(site_name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	size = (size_t)sb.st_size;
	if (size < sizeof(h) || size > (64u << 20)) {
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
	memcpy(&h, buf, sizeof(h));
	if (h.magic != RELAY_STATS_MAGIC || h.version != RELAY_STATS_VERSION ||
	    h.header_size < sizeof(h) || h.n_ports > RELAY_PORTS_MAX || h.n_peers > 4096 ||
	    h.n_reasons == 0 || h.n_reasons > 1024 ||
	    h.port_size < 32 + 8ull * h.n_reasons || h.peer_size < RELAY_PEER_NAME_LEN + 16 + 8ull * h.n_reasons ||
	    (uint64_t)h.header_size + (uint64_t)h.n_ports * h.port_size +
		    (uint64_t)h.n_peers * h.peer_size + 8ull * h.n_reasons > size) {
		r = -EBADMSG;
		goto out;
	}
	st->pid = (pid_t)h.pid;
	st->started = (time_t)h.started;
	st->config_hash = h.config_hash;
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
		if (!st->peers) {
			r = -ENOMEM;
			goto out;
		}
	}
	st->n_peers = h.n_peers;
	for (uint32_t i = 0; i < h.n_peers; i++, off += h.peer_size) {
		struct relay_peer_stats *p = &st->peers[i];

		memcpy(p->name, buf + off, sizeof(p->name) - 1);
		p->name[sizeof(p->name) - 1] = 0;
		memcpy(&p->sent, buf + off + RELAY_PEER_NAME_LEN, 8);
		memcpy(&p->received, buf + off + RELAY_PEER_NAME_LEN + 8, 8);
		copy_drops(p->dropped, buf + off + RELAY_PEER_NAME_LEN + 16, h.n_reasons);
	}
	copy_drops(st->dropped_other, buf + off, h.n_reasons);
out:
	if (r < 0)
		relay_stats_free(st);
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

/* --- running, start, stop ------------------------------------------------------------ */

pid_t relay_running(const char *site_name, time_t *started, uint64_t *config_hash)
{
	char path[4200], buf[32];
	ssize_t n;
	long pid;
	int fd;

	if (started)
		*started = 0;
	if (config_hash)
		*config_hash = 0;
	relay_pid_path(site_name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	/* the daemon holds an exclusive lock for its lifetime: a lock we can take
	 * means the file is stale */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		close(fd);
		return 0;
	}
	/* a relay that just took the lock writes its pid right after */
	for (int tries = 0; (n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0 && tries < 20; tries++)
		usleep(5000);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > INT_MAX)
		return 0;
	if (started || config_hash) {
		struct relay_stats st;

		if (relay_read_stats(site_name, &st) == 0) {
			if (st.pid == (pid_t)pid) {
				if (started)
					*started = st.started;
				if (config_hash)
					*config_hash = st.config_hash;
			}
			relay_stats_free(&st);
		}
	}
	return (pid_t)pid;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int relay_start(const struct site *site, char *msg, size_t len)
{
	char path[PATH_MAX], fdarg[16], buf[512];
	int p[2], status, r;
	size_t have = 0;
	uint64_t deadline;
	pid_t child;

	if (msg && len)
		msg[0] = 0;
	if (!realpath(site->path, path)) {
		r = -errno;
		snprintf(msg, len, "relay: %s: %s", site->path, strerror(-r));
		return r;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(msg, len, "relay: pipe: %s", strerror(-r));
		return r;
	}
	child = fork();
	if (child < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		snprintf(msg, len, "relay: fork: %s", strerror(-r));
		return r;
	}
	if (child == 0) {
		/* the write end crosses exec; everything else is close-on-exec */
		int fl = fcntl(p[1], F_GETFD);

		if (fl >= 0)
			fcntl(p[1], F_SETFD, fl & ~FD_CLOEXEC);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl("/proc/self/exe", "gatewayctl", "relay", "-f", path, "--daemon",
		      "--ready-fd", fdarg, (char *)NULL);
		dprintf(p[1], "%d cannot run /proc/self/exe: %s\n", errno, strerror(errno));
		_exit(127);
	}
	close(p[1]);
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
	char path[4200];

	relay_pid_path(site_name, path, sizeof(path));
	unlink(path);
	relay_stats_path(site_name, path, sizeof(path));
	unlink(path);
}

int relay_stop(const char *site_name)
{
	pid_t pid = relay_running(site_name, NULL, NULL);
	uint64_t deadline;

	if (!pid) {
		remove_files(site_name);
		return 0;
	}
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return -errno;
	deadline = mono_ms() + 3000;
	while (relay_running(site_name, NULL, NULL) == pid && mono_ms() < deadline)
		usleep(20000);
	if (relay_running(site_name, NULL, NULL) == pid) {
		if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
			return -errno;
		deadline = mono_ms() + 2000;
		while (relay_running(site_name, NULL, NULL) == pid && mono_ms() < deadline)
			usleep(20000);
		if (relay_running(site_name, NULL, NULL) == pid)
			return -ETIMEDOUT;
	}
	remove_files(site_name);
	return 0;
}
