/* state.c - the run directory of this network namespace: state files and locks
 *
 * Layout (RUNDIR = $GATEWAYCTL_RUNDIR or /run/gatewayctl):
 *   RUNDIR/                       0755 root
 *   RUNDIR/ns-COOKIE/             0755 root: one per network namespace
 *       SITE.state                0644: what `down` restores
 *       private/                  0700 root: locks and pid files
 *
 * Kernel state belongs to a network namespace, so the sites a command sees are
 * those of its caller's namespace. COOKIE is the namespace's cookie
 * (SO_NETNS_COOKIE): never reused while the machine runs, unlike its inode.
 *
 * Every directory is checked before use (a real directory, not a link, owned by
 * root or us, writable by nobody else) and every file is opened relative to it
 * with O_NOFOLLOW; files are replaced by writing a temporary file and renaming.
 */
#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static char base_path[4096], ns_path[4200], priv_path[4300];
static int ns_fd = -1, priv_fd = -1;
static char dir_error[4600];

static const char *base_dir(void)
{
	const char *d = getenv("GATEWAYCTL_RUNDIR");

	return d && *d ? d : "/run/gatewayctl";
}

/* "ns-COOKIE", or "ns-iINODE" on kernels without netns cookies (before 5.14). */
static void ns_name(char *dst, size_t len)
{
	uint64_t cookie = 0;
	socklen_t sl = sizeof(cookie);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct stat st;

	if (s >= 0 && getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &sl) == 0 && sl == sizeof(cookie)) {
		close(s);
		snprintf(dst, len, "ns-%llu", (unsigned long long)cookie);
		return;
	}
	if (s >= 0)
		close(s);
	if (stat("/proc/self/ns/net", &st) == 0)
		snprintf(dst, len, "ns-i%llu", (unsigned long long)st.st_ino);
	else
		snprintf(dst, len, "ns-unknown");
}

const char *state_dir(void)
{
	if (!ns_path[0]) {
		char name[64];

		snprintf(base_path, sizeof(base_path), "%s", base_dir());
		ns_name(name, sizeof(name));
		snprintf(ns_path, sizeof(ns_path), "%s/%s", base_path, name);
		snprintf(priv_path, sizeof(priv_path), "%s/private", ns_path);
	}
	return ns_path;
}

const char *state_private_dir(void)
{
	state_dir();
	return priv_path;
}

/* Open (creating it if CREATE) directory NAME below AT, and check it. */
static int open_dir(int at, const char *name, const char *shown, mode_t mode, bool create)
{
	struct stat st;
	int fd;

	for (int tries = 0;; tries++) {
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || !create || tries > 0)
			break;
		if (mkdirat(at, name, mode) < 0 && errno != EEXIST) {
			snprintf(dir_error, sizeof(dir_error), "cannot create %s: %s", shown, strerror(errno));
			return -1;
		}
	}
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			snprintf(dir_error, sizeof(dir_error), "%s is not a directory (a symbolic link?); "
				 "remove it, gatewayctl makes its own", shown);
		else
			snprintf(dir_error, sizeof(dir_error), "cannot open %s: %s", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(dir_error, sizeof(dir_error), "cannot stat %s: %s", shown, strerror(errno));
		close(fd);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		snprintf(dir_error, sizeof(dir_error),
			 "%s may be written by others than root (mode %04o, owner %u, group %u): refusing to "
			 "keep state there; remove it or chown root and chmod 755 it", shown,
			 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
		close(fd);
		errno = EACCES;	/* not an earlier call's ENOENT: a refused directory is no empty state */
		return -1;
	}
	return fd;
}

int state_check_dir(int at, const char *name, const char *shown, mode_t mode, bool create)
{
	return open_dir(at, name, shown, mode, create);
}

static int open_dirs(bool create)
{
	int base;

	if (ns_fd >= 0)
		return 0;
	state_dir();
	/* the base: created only as its last component (its parent must exist) */
	base = open_dir(AT_FDCWD, base_path, base_path, 0755, create);
	if (base < 0)
		return -1;
	ns_fd = open_dir(base, strrchr(ns_path, '/') + 1, ns_path, 0755, create);
	close(base);
	if (ns_fd < 0)
		return -1;
	return 0;
}

int state_dirfd(bool private_dir, bool create)
{
	if (open_dirs(create) < 0)
		return -1;
	if (!private_dir)
		return ns_fd;
	if (priv_fd < 0) {
		priv_fd = open_dir(ns_fd, "private", priv_path, 0700, create);
		if (priv_fd < 0)
			return -1;
		if (fchmod(priv_fd, 0700) < 0) {
			snprintf(dir_error, sizeof(dir_error), "cannot chmod %s: %s", priv_path, strerror(errno));
			close(priv_fd);
			priv_fd = -1;
			return -1;
		}
	}
	return priv_fd;
}

void state_close_dirs(void)
{
	if (priv_fd >= 0)
		close(priv_fd);
	if (ns_fd >= 0)
		close(ns_fd);
	priv_fd = ns_fd = -1;
}

const char *state_dir_error(void)
{
	return dir_error;
}

int state_open(bool private_dir, const char *name, int flags, mode_t mode)
{
	int dfd = state_dirfd(private_dir, (flags & O_CREAT) != 0);

	if (dfd < 0) {
		if (errno != ENOENT)
			errno = EACCES;
		return -1;
	}
	return openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
}

int state_write_file(bool private_dir, const char *name, const void *data, size_t len, mode_t mode)
{
	int dfd = state_dirfd(private_dir, true);

	if (dfd < 0)
		return -EACCES;
	return state_write_at(dfd, name, data, len, mode);
}

int state_write_at(int dfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[300];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	return r;
}

int state_remove_file(bool private_dir, const char *name)
{
	int dfd = state_dirfd(private_dir, false);

	if (dfd < 0)
		return errno == ENOENT ? 0 : -EACCES;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int state_lock(const char *site)
{
	char name[SITE_NAME_MAX + 8];
	int fd;

	snprintf(name, sizeof(name), "%s.lock", site);
	fd = state_open(true, name, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		fprintf(stderr, "gatewayctl: cannot open the lock %s/%s: %s\n", state_private_dir(), name,
			dir_error[0] ? dir_error : strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			fprintf(stderr, "gatewayctl: cannot lock %s/%s: %s\n", state_private_dir(), name,
				strerror(errno));
			close(fd);
			return -1;
		}
		fprintf(stderr, "gatewayctl: another gatewayctl is working on site %s; waiting for it\n", site);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "gatewayctl: cannot lock %s/%s: %s\n", state_private_dir(), name,
					strerror(errno));
				close(fd);
				return -1;
			}
		}
	}
	return fd;
}

int state_trylock(const char *site)
{
	char name[SITE_NAME_MAX + 8];
	int fd, e;

	snprintf(name, sizeof(name), "%s.lock", site);
	fd = state_open(true, name, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	return fd;
}

void state_init(struct state *st, const char *site)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->site, sizeof(st->site), "%s", site);
	st->forwarding_was = -1;
	st->forwarding6_was = -1;
	st->accept_ra_was = -1;
}

bool state_empty(const struct state *st)
{
	return !st->file[0] && st->forwarding_was < 0 && st->forwarding6_was < 0 &&
	       st->accept_ra_was < 0 && st->n_addrs == 0 && st->n_links_up == 0 &&
	       st->default_route.gateway == 0 && st->n_addrs6 == 0 && ip6_zero(st->default_route6.gateway);
}

void state_add_addr(struct state *st, const char *ifname, struct net4 a)
{
	for (int i = 0; i < st->n_addrs; i++)
		if (!strcmp(st->addrs[i].ifname, ifname) && st->addrs[i].addr.addr == a.addr &&
		    st->addrs[i].addr.len == a.len)
			return;
	if (st->n_addrs < STATE_MAX_ITEMS) {
		snprintf(st->addrs[st->n_addrs].ifname, sizeof(st->addrs[0].ifname), "%s", ifname);
		st->addrs[st->n_addrs++].addr = a;
	}
}

void state_add_addr6(struct state *st, const char *ifname, struct net6 a)
{
	for (int i = 0; i < st->n_addrs6; i++)
		if (!strcmp(st->addrs6[i].ifname, ifname) && !memcmp(st->addrs6[i].addr.addr, a.addr, 16) &&
		    st->addrs6[i].addr.len == a.len)
			return;
	if (st->n_addrs6 < STATE_MAX_ITEMS) {
		snprintf(st->addrs6[st->n_addrs6].ifname, sizeof(st->addrs6[0].ifname), "%s", ifname);
		st->addrs6[st->n_addrs6++].addr = a;
	}
}

void state_add_link(struct state *st, const char *ifname)
{
	for (int i = 0; i < st->n_links_up; i++)
		if (!strcmp(st->links_up[i], ifname))
			return;
	if (st->n_links_up < STATE_MAX_ITEMS)
		snprintf(st->links_up[st->n_links_up++], sizeof(st->links_up[0]), "%s", ifname);
}

struct state_endpoint *state_endpoint(struct state *st, const char *peer)
{
	int i;

	for (i = 0; i < st->n_endpoints && strcmp(st->endpoints[i].peer, peer); i++)
		;
	if (i == st->n_endpoints) {
		if (i >= STATE_MAX_ENDPOINTS)
			return NULL;
		memset(&st->endpoints[i], 0, sizeof(st->endpoints[i]));
		snprintf(st->endpoints[i].peer, sizeof(st->endpoints[i].peer), "%s", peer);
		st->n_endpoints++;
	}
	return &st->endpoints[i];
}

FILE *state_fopen(bool private_dir, const char *name)
{
	int fd = state_open(private_dir, name, O_RDONLY, 0), e;
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

/* An endpoint line's address, IPv4 or IPv6 (older files: IPv4 only), into E */
static bool endpoint_addr(const char *text, struct state_endpoint *e)
{
	if (parse_ip4(text, &e->addr) == 0)
		return true;
	e->v6 = parse_ip6(text, e->addr6) == 0 && !ip6_zero(e->addr6);
	return e->v6;
}

void state_parse(FILE *f, struct state *st)
{
	char line[4200], a[64], b[64], c[64];

	while (fgets(line, sizeof(line), f)) {
		int v, n;
		unsigned ttl;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "file ", 5)) {
			snprintf(st->file, sizeof(st->file), "%.4095s", line + 5);
		} else if (sscanf(line, "forwarding_was %d", &v) == 1) {
			st->forwarding_was = v < 0 ? -1 : v;
		} else if (sscanf(line, "forwarding6_was %d", &v) == 1) {
			st->forwarding6_was = v < 0 ? -1 : v;
		} else if (sscanf(line, "accept_ra_was %63s %d", a, &v) == 2) {
			if (ifname_valid(a) && v >= 0 && v <= 2) {
				strcpy(st->accept_ra_ifname, a);
				st->accept_ra_was = v;
			}
		} else if (sscanf(line, "addr6 %63s %63s", a, b) == 2) {
			struct net6 n6;

			if (ifname_valid(a) && parse_net6(b, &n6) == 0)
				state_add_addr6(st, a, n6);
		} else if (sscanf(line, "default_route6 %63s %63s", a, b) == 2) {
			if (parse_ip6(a, st->default_route6.gateway) == 0 && ifname_valid(b) &&
			    !ip6_zero(st->default_route6.gateway))
				strcpy(st->default_route6.ifname, b);
			else
				memset(&st->default_route6, 0, sizeof(st->default_route6));
		} else if (!strncmp(line, "addr ", 5) && sscanf(line, "addr %63s %63s", a, b) == 2) {
			struct net4 n4;

			if (ifname_valid(a) && parse_net4(b, &n4) == 0)
				state_add_addr(st, a, n4);
		} else if (sscanf(line, "link_up %63s", a) == 1) {
			if (ifname_valid(a))
				state_add_link(st, a);
		} else if ((n = sscanf(line, "endpoint %63s %63s %u ike %63s", a, b, &ttl, c)) >= 3 &&
			   st->n_endpoints < STATE_MAX_ENDPOINTS) {
			struct state_endpoint *e = &st->endpoints[st->n_endpoints];

			memset(e, 0, sizeof(*e));
			if (site_name_valid(a) && endpoint_addr(b, e) &&
			    (n == 3 || (!e->v6 && parse_ip4(c, &e->ike_base) == 0) ||
			     (e->v6 && parse_ip6(c, e->ike_base6) == 0 && !ip6_zero(e->ike_base6)))) {
				strcpy(e->peer, a);
				e->ttl = ttl;
				st->n_endpoints++;
			}
		} else if (!strncmp(line, "default_route ", 14) && sscanf(line, "default_route %63s %63s", a, b) == 2) {
			if (parse_ip4(a, &st->default_route.gateway) == 0 && ifname_valid(b) && st->default_route.gateway)
				strcpy(st->default_route.ifname, b);
			else
				memset(&st->default_route, 0, sizeof(st->default_route));
		}
	}
}

int state_read(const char *site, struct state *st)
{
	char name[SITE_NAME_MAX + 8];
	FILE *f;

	state_init(st, site);
	snprintf(name, sizeof(name), "%s.state", site);
	f = state_fopen(false, name);
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	state_parse(f, st);
	fclose(f);
	return 0;
}

char *state_format(const struct state *st, size_t *len)
{
	char buf[20], buf6[NET6_STRLEN], *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	fprintf(f, "# gatewayctl: what `up` changed for site %s that `down` restores\n", st->site);
	if (st->file[0])
		fprintf(f, "file %s\n", st->file);
	if (st->forwarding_was >= 0)
		fprintf(f, "forwarding_was %d\n", st->forwarding_was);
	if (st->forwarding6_was >= 0)
		fprintf(f, "forwarding6_was %d\n", st->forwarding6_was);
	if (st->accept_ra_was >= 0)
		fprintf(f, "accept_ra_was %s %d\n", st->accept_ra_ifname, st->accept_ra_was);
	for (int i = 0; i < st->n_addrs; i++)
		fprintf(f, "addr %s %s\n", st->addrs[i].ifname, net4_str(st->addrs[i].addr, buf));
	for (int i = 0; i < st->n_addrs6; i++)
		fprintf(f, "addr6 %s %s\n", st->addrs6[i].ifname, net6_str(st->addrs6[i].addr, buf6));
	for (int i = 0; i < st->n_links_up; i++)
		fprintf(f, "link_up %s\n", st->links_up[i]);
	if (st->default_route.gateway)
		fprintf(f, "default_route %s %s\n", ip4_str(st->default_route.gateway, buf),
			st->default_route.ifname);
	if (!ip6_zero(st->default_route6.gateway))
		fprintf(f, "default_route6 %s %s\n", ip6_str(st->default_route6.gateway, buf6),
			st->default_route6.ifname);
	for (int i = 0; i < st->n_endpoints; i++) {
		fprintf(f, "endpoint %s %s %u", st->endpoints[i].peer, st->endpoints[i].v6 ?
			ip6_str(st->endpoints[i].addr6, buf6) : ip4_str(st->endpoints[i].addr, buf), st->endpoints[i].ttl);
		if (st->endpoints[i].v6 && !ip6_zero(st->endpoints[i].ike_base6))
			fprintf(f, " ike %s", ip6_str(st->endpoints[i].ike_base6, buf6));
		else if (!st->endpoints[i].v6 && st->endpoints[i].ike_base)
			fprintf(f, " ike %s", ip4_str(st->endpoints[i].ike_base, buf));
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int state_write(const struct state *st)
{
	char name[SITE_NAME_MAX + 8], *text;
	size_t len = 0;
	int r;

	snprintf(name, sizeof(name), "%s.state", st->site);
	if (state_empty(st))
		return state_remove_file(false, name);
	if (!(text = state_format(st, &len)))
		return -ENOMEM;
	r = state_write_file(false, name, text, len, 0644);
	free(text);
	return r;
}

int state_sites(char (**sites)[SITE_NAME_MAX + 1], size_t *n)
{
	int dfd = state_dirfd(false, false), fd;
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	*sites = NULL;
	*n = 0;
	if (dfd < 0)
		return errno == ENOENT ? 0 : -EACCES;
	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 6 || len - 6 > SITE_NAME_MAX || strcmp(e->d_name + len - 6, ".state") ||
		    e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			void *p = realloc(*sites, (cap = cap ? cap * 2 : 8) * sizeof(**sites));

			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			*sites = p;
		}
		memcpy((*sites)[*n], e->d_name, len - 6);
		(*sites)[(*n)++][len - 6] = '\0';
	}
	closedir(d);
	return 0;
}

int state_update(const char *site, const char *what, size_t (*change)(struct state *st, void *arg), void *arg,
		 char *why, size_t len)
{
	struct state st;
	int r = state_read(site, &st);

	if (r == 0 && change(&st, arg))
		r = state_write(&st);
	if (r < 0)
		snprintf(why, len, "cannot record %s in the state file of site %s (%s): the repair waits; check the "
			 "run directory\n", what, site, strerror(-r));
	return r < 0 ? -1 : 0;
}
