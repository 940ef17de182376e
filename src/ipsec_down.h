/* ipsec_down.h - `down`'s IPsec part (ipsec_down.c): the site's connections
 * and keys in charon, planned as steps (plan_down.c) and removed best effort
 * (apply_down.c). */
#ifndef GATEWAYCTL_IPSEC_DOWN_H
#define GATEWAYCTL_IPSEC_DOWN_H

#include <stdio.h>

struct site;
struct plan;

/* Plan: a step per connection of SITE that charon holds (names from the
 * record and from the site file S, which may be NULL; one whose local
 * identity is another site's is left alone, said on NOTES), one for the
 * site's private key; when charon is gone with what it held, one that forgets
 * the record. 0, or -errno when charon holds something of the record and
 * cannot be asked (said on ERR). */
int ipsec_plan_down(const char *site, const struct site *s, struct plan *plan, FILE *notes, FILE *err);
/* Run PLAN's IPsec steps: each connection unloaded, its SAs terminated, its
 * key unloaded; the private key; ESP states charon lost track of meanwhile.
 * Each change on OUT (counted in *CHANGES), each failure on ERR: 0 or -EIO. */
int ipsec_remove(const char *site, const struct plan *plan, FILE *out, FILE *err, int *changes);
/* After a down that removed everything: the record and the kept keys go. */
void ipsec_forget(const char *site);

#endif
