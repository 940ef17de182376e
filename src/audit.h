/* audit.h - every change gatewayctl makes to a machine, one syslog line each
 * (ident "gatewayctl", facility authpriv): who, which site, the equivalent
 * command. `journalctl -t gatewayctl` or /var/log/auth.log shows them. */
#ifndef GATEWAYCTL_AUDIT_H
#define GATEWAYCTL_AUDIT_H

#include <stdio.h>

struct plan;

/* One change CMD ("up", "down", "rollback") made to SITE: TEXT is the
 * equivalent command (several lines are joined with "; "). */
void audit_change(const char *cmd, const char *site, const char *text);
/* CMD failed on SITE: WHAT says how it ended (logged as a warning). */
void audit_failure(const char *cmd, const char *site, const char *what);
/* After apply_plan: RESULT 0 logs every step of PLAN as a change; otherwise the
 * steps still marked done (those a rollback could not undo), then the failure. */
void audit_plan(const char *cmd, const char *site, const struct plan *plan, int result);
/* A stream that copies what is written to OUT and logs each line as a change
 * of CMD on SITE (for functions that print their changes). Close it with
 * fclose (OUT stays open). NULL when it cannot be made: use OUT. */
FILE *audit_stream(const char *cmd, const char *site, FILE *out);

#endif
