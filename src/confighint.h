/* confighint.h - what a site file's mistakes probably meant: a file that is
 * not text at all, addresses written with leading zeros (010.016.001.012) or
 * with a netmask instead of a prefix length (/255.255.255.0). config.c adds
 * these hints to its errors. */
#ifndef GATEWAYCTL_CONFIGHINT_H
#define GATEWAYCTL_CONFIGHINT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether BUF (LEN bytes) is not a text file: NUL bytes beyond a stray one,
 * or mostly bytes that are neither printable nor valid UTF-8. WHY (LEN_WHY
 * bytes) then says what was seen, e.g. "412 NUL bytes". */
bool confighint_binary(const char *buf, size_t len, char *why, size_t len_why);

/* For an address V (a.b.c.d, or a.b.c.d/N) that did not parse: the form that
 * was probably meant, as "; did you mean `...`? (...)" in HINT (LEN bytes),
 * or "" when nothing better can be said. */
void confighint_address(const char *v, char *hint, size_t len);

#endif
