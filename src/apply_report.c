/* apply_report.c - how a failed step is told, whichever backend ran it
 * (apply.c's rtnetlink and nftables steps, apply_ipsec.c, block.c): which step
 * of how many, its command, the kernel's or charon's words, a hint. */
#include "apply.h"

#include <errno.h>
#include <string.h>

static const char *hint_for(const struct step *st, int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		if (st->kind == STEP_TUNNEL_ADD)
			return "this kernel cannot create ipip links: load the module with `modprobe ipip` "
			       "(and make it load at boot: echo ipip > /etc/modules-load.d/ipip.conf)";
		break;
	case -EPERM:
	case -EACCES:
		return "gatewayctl needs CAP_NET_ADMIN: run it as root";
	case -EEXIST:
		if (st->kind == STEP_TUNNEL_ADD)
			return "a link of that name appeared meanwhile; run `gatewayctl plan` to see the state";
		if (st->kind == STEP_ROUTE_ADD)
			return "a route to that destination exists that gatewayctl did not create: "
			       "remove it (see `ip route show`) or change the file";
		break;
	case -ENETUNREACH:
	case -EADDRNOTAVAIL:
		if (st->kind == STEP_ROUTE_ADD)
			return "the source or gateway address is not on this gateway: check lan_address and wan_address";
		break;
	}
	return NULL;
}

void apply_report_failure(struct apply *a, const struct step *st, int err, const struct nl *nl,
			  const char *detail)
{
	const char *hint = hint_for(st, err);
	size_t len = strcspn(st->text, "\n");

	fprintf(a->err, "%s: site %s: step %zu of %zu failed: %.*s%s\n", a->cmd, a->site->name,
		(size_t)(st - a->plan->steps) + 1, a->plan->n, (int)len, st->text,
		st->text[len] ? " ..." : "");
	if (detail && *detail)
		fprintf(a->err, "  %s\n", detail);
	else if (nl && nl->err_msg[0])
		fprintf(a->err, "  kernel: %s (%s)\n", nl->err_msg, strerror(-err));
	else
		fprintf(a->err, "  kernel: %s\n", strerror(-err));
	if (hint)
		fprintf(a->err, "  hint: %s\n", hint);
}
