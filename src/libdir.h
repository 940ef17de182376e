/* libdir.h - the persistent directory (libdir.c) */
#ifndef GATEWAYCTL_LIBDIR_H
#define GATEWAYCTL_LIBDIR_H

#include <stdbool.h>
#include <stddef.h>

/* ---- the persistent directory ($GATEWAYCTL_LIBDIR or /var/lib/gatewayctl) ---- */

/* Its absolute path. */
const char *lib_dir(void);
/* A checked descriptor of it (created 0700 when CREATE); owned by this module.
 * -1 with errno (ENOENT when absent) and state_dir_error() saying why. */
int lib_dirfd(bool create);
/* Close that descriptor (a long-lived process holds nothing between reads). */
void lib_dir_close(void);
/* NAME's bytes (malloc'd, NUL-terminated, at most 1 MiB). 0, -ENOENT or -errno. */
int lib_read_file(const char *name, char **buf, size_t *len);
/* Replace NAME atomically (0600). 0 or -errno. */
int lib_write_file(const char *name, const void *data, size_t len);
int lib_remove_file(const char *name);
/* R (-errno from the above) in words: the directory's problem when it was the cause. */
const char *lib_strerror(int r);
/* Whether the last lib_dirfd was refused for lack of permission (a user). */
bool lib_access_denied(void);

#endif
