/* sanitize.h - text from a less trusted process (the unprivileged relay's
 * stats file) made safe to print on a terminal, in JSON and in metrics. */
#ifndef GATEWAYCTL_SANITIZE_H
#define GATEWAYCTL_SANITIZE_H

#include <stddef.h>

/* Replace, in place, in the NUL-terminated S: every control character (C0,
 * DEL, and C1 as U+0080..U+009F) and every byte that is not part of a valid
 * UTF-8 sequence (overlong forms, surrogates, above U+10FFFF, cut short) by
 * '?'. Valid UTF-8 text is left as it is. Returns the number of replacements. */
size_t sanitize_text(char *s);

#endif
