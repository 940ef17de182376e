/* state.c - the site's state file and lock */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const char *state_dir(void)
{
	const char *d = getenv("GATEWAYCTL_RUNDIR");

	return d && *d ? d : "/run/gatewayctl";
}

static int ensure_dir(void)
{
	if (mkdir(state_dir(), 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int state_lock(const char *site)
{
	char path[4200];
	int fd, r;

	if ((r = ensure_dir()) < 0) {
		fprintf(stderr, "gatewayctl: cannot create %s: %s\n", state_dir(), strerror(-r));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.lock", state_dir(), site);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "gatewayctl: cannot open the lock %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			fprintf(stderr, "gatewayctl: cannot lock %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		fprintf(stderr, "gatewayctl: another gatewayctl is working on site %s; waiting for it\n", site);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "gatewayctl: cannot lock %s: %s\n", path, strerror(errno));
				close(fd);
				return -1;
			}
		}
	}
	return fd;
}

void state_init(struct state *st, const char *site)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->site, sizeof(st->site), "%s", site);
	st->forwarding_was = -1;
}

bool state_empty(const struct state *st)
{
	return !st->file[0] && st->forwarding_was < 0 && st->n_addrs == 0 && st->n_links_up == 0 &&
	       st->default_route.gateway == 0;
}

int state_read(const char *site, struct state *st)
{
	char path[4200], line[4200], a[64], b[64];
	FILE *f;

	state_init(st, site);
	snprintf(path, sizeof(path), "%s/%s.state", state_dir(), site);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		int v;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "file ", 5)) {
			snprintf(st->file, sizeof(st->file), "%.4095s", line + 5);
		} else if (sscanf(line, "forwarding_was %d", &v) == 1) {
			st->forwarding_was = v;
		} else if (sscanf(line, "addr %63s %63s", a, b) == 2 && st->n_addrs < STATE_MAX_ITEMS) {
			if (ifname_valid(a) && parse_net4(b, &st->addrs[st->n_addrs].addr) == 0) {
				strcpy(st->addrs[st->n_addrs].ifname, a);
				st->n_addrs++;
			}
		} else if (sscanf(line, "link_up %63s", a) == 1 && st->n_links_up < STATE_MAX_ITEMS) {
			if (ifname_valid(a))
				strcpy(st->links_up[st->n_links_up++], a);
		} else if (sscanf(line, "default_route %63s %63s", a, b) == 2) {
			if (parse_ip4(a, &st->default_route.gateway) == 0 && ifname_valid(b))
				strcpy(st->default_route.ifname, b);
			else
				st->default_route.gateway = 0;
		}
	}
	fclose(f);
	return 0;
}

int state_write(const struct state *st)
{
	char path[4200], tmp[4300], buf[20];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s.state", state_dir(), st->site);
	if (state_empty(st)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if ((r = ensure_dir()) < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "# gatewayctl: what `up` changed for site %s that `down` restores\n", st->site);
	if (st->file[0])
		fprintf(f, "file %s\n", st->file);
	if (st->forwarding_was >= 0)
		fprintf(f, "forwarding_was %d\n", st->forwarding_was);
	for (int i = 0; i < st->n_addrs; i++)
		fprintf(f, "addr %s %s\n", st->addrs[i].ifname, net4_str(st->addrs[i].addr, buf));
	for (int i = 0; i < st->n_links_up; i++)
		fprintf(f, "link_up %s\n", st->links_up[i]);
	if (st->default_route.gateway)
		fprintf(f, "default_route %s %s\n", ip4_str(st->default_route.gateway, buf),
			st->default_route.ifname);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		r = -errno;
		fclose(f);
		unlink(tmp);
		return r;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

int state_sites(char (**sites)[SITE_NAME_MAX + 1], size_t *n)
{
	DIR *d = opendir(state_dir());
	struct dirent *e;
	size_t cap = 0;

	*sites = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 6 || len - 6 > SITE_NAME_MAX || strcmp(e->d_name + len - 6, ".state"))
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
