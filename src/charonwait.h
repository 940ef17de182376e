/* charonwait.h - `up --boot` waits for charon: at boot gatewayctl@.service may
 * start while strongSwan's charon is still starting (its VICI socket file
 * appears before it answers). */
#ifndef GATEWAYCTL_CHARONWAIT_H
#define GATEWAYCTL_CHARONWAIT_H

#include <stdio.h>

#include "config.h"

#define CHARON_WAIT_DEFAULT 90	/* seconds; GATEWAYCTL_CHARON_WAIT overrides */
#define CHARON_WAIT_MAX 3600

/* The bound: GATEWAYCTL_CHARON_WAIT (whole seconds, 0 to CHARON_WAIT_MAX) or
 * CHARON_WAIT_DEFAULT; a bad value is said on ERR and the default used. */
unsigned charon_wait_limit(FILE *err);

/* When S has ipsec peers, wait until charon answers on its VICI socket, up
 * to charon_wait_limit() seconds, saying so on OUT once it has to wait. 0
 * when it answers (or S needs no charon), -ETIMEDOUT when it never did (ERR
 * says so; up's preflight then refuses with the reason). */
int charon_wait(const struct site *s, FILE *out, FILE *err);

#endif
