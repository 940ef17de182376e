/* libdir.c - the persistent directory, LIBDIR = $GATEWAYCTL_LIBDIR or
 * /var/lib/gatewayctl (0700 root, checked like the run directory; files opened
 * with O_NOFOLLOW, replaced by rename): the files of safe remote changes
 * (pending.c) and the keys kept while a change is pending (ipsec_keys.c). */
#define _GNU_SOURCE
#include "libdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#define MAX_LIB_FILE (1 << 20)

static char lib_path[4096];
static int lib_fd = -1;
static bool lib_failed, lib_denied;

const char *lib_dir(void)
{
	if (!lib_path[0]) {
		const char *d = getenv("GATEWAYCTL_LIBDIR");
		char cwd[2048];
		size_t n;

		if (!d || !*d)
			d = "/var/lib/gatewayctl";
		/* absolute: the watcher runs in / */
		if (d[0] != '/' && getcwd(cwd, sizeof(cwd)))
			snprintf(lib_path, sizeof(lib_path), "%s/%s", cwd, d);
		else
			snprintf(lib_path, sizeof(lib_path), "%s", d);
		n = strlen(lib_path);
		while (n > 1 && lib_path[n - 1] == '/')
			lib_path[--n] = '\0';
	}
	return lib_path;
}

int lib_dirfd(bool create)
{
	int fd;

	if (lib_fd >= 0)
		return lib_fd;
	errno = 0;
	fd = state_check_dir(AT_FDCWD, lib_dir(), lib_dir(), 0700, create);
	lib_failed = fd < 0;
	/* not allowed to look (status as a user with CAP_NET_ADMIN alone) */
	lib_denied = fd < 0 && (errno == EACCES || errno == EPERM);
	if (fd < 0) {
		if (errno != ENOENT)
			errno = EACCES;
		return -1;
	}
	if (fchmod(fd, 0700) < 0) {
		close(fd);
		lib_failed = true;
		errno = EACCES;
		return -1;
	}
	lib_fd = fd;
	return fd;
}

void lib_dir_close(void)
{
	if (lib_fd >= 0)
		close(lib_fd);
	lib_fd = -1;
}

bool lib_access_denied(void)
{
	return lib_denied;
}

const char *lib_strerror(int r)
{
	if (lib_failed && state_dir_error()[0])
		return state_dir_error();
	return strerror(r < 0 ? -r : r);
}

int lib_read_file(const char *name, char **buf, size_t *len)
{
	int dfd = lib_dirfd(false), fd, r = 0;
	struct stat st;

	*buf = NULL;
	*len = 0;
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_LIB_FILE) {
		close(fd);
		return -EINVAL;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (*len < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + *len, (size_t)st.st_size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(*buf);
		*buf = NULL;
		*len = 0;
		return r;
	}
	(*buf)[*len] = '\0';
	return 0;
}

int lib_write_file(const char *name, const void *data, size_t len)
{
	int dfd = lib_dirfd(true);

	if (dfd < 0)
		return -errno;
	return state_write_at(dfd, name, data, len, 0600);
}

int lib_remove_file(const char *name)
{
	int dfd = lib_dirfd(false);

	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
