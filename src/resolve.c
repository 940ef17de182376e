/* resolve.c - DNS names of peers, with c-ares (see resolve.h) */
#include "resolve.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct resolver {
	ares_channel ch;
};

struct lookup {
	char *name;
	int family;
	resolve_cb cb;
	void *arg;
};

static int library_ready(void)
{
	static int done;

	if (!done) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
			return -ENOMEM;
		done = 1;
	}
	return 0;
}

int resolver_new(struct resolver **out, char *err, size_t len)
{
	/* c-ares doubles the wait on the second try: 1/3 + 2/3 of the limit */
	struct ares_options opt = { .timeout = RESOLVE_TIMEOUT_MS / 3, .tries = 2 };
	const char *servers = getenv("GATEWAYCTL_DNS_SERVERS");
	struct resolver *r;
	int st;

	*out = NULL;
	if (library_ready() < 0 || !(r = calloc(1, sizeof(*r)))) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	st = ares_init_options(&r->ch, &opt, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (st != ARES_SUCCESS) {
		snprintf(err, len, "cannot set up DNS resolution: %s", ares_strerror(st));
		free(r);
		return -EIO;
	}
	if (servers && *servers && (st = ares_set_servers_ports_csv(r->ch, servers)) != ARES_SUCCESS) {
		snprintf(err, len, "GATEWAYCTL_DNS_SERVERS=\"%s\": %s (expected IP[:PORT],...)", servers,
			 ares_strerror(st));
		ares_destroy(r->ch);
		free(r);
		return -EINVAL;
	}
	*out = r;
	return 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	ares_destroy(r->ch);	/* pending lookups end with ARES_EDESTRUCTION */
	free(r);
}

static unsigned clamp_ttl(int ttl)
{
	if (ttl < RESOLVE_TTL_MIN)
		return RESOLVE_TTL_MIN;
	if (ttl > RESOLVE_TTL_MAX)
		return RESOLVE_TTL_MAX;
	return (unsigned)ttl;
}

static void fail(struct resolved *res, const char *name, int status)
{
	const char *fam = res->family == AF_INET6 ? "IPv6" : "IPv4";

	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		res->status = -ENOENT;
		snprintf(res->error, sizeof(res->error), "%s: no such name in DNS", name);
		break;
	case ARES_ENODATA:
		res->status = -ENODATA;
		snprintf(res->error, sizeof(res->error), "%s: the name has no %s address", name, fam);
		break;
	case ARES_ETIMEOUT:
		res->status = -ETIMEDOUT;
		snprintf(res->error, sizeof(res->error), "%s: no DNS server answered", name);
		break;
	case ARES_ECONNREFUSED:
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
		res->status = -ECONNREFUSED;
		snprintf(res->error, sizeof(res->error), "%s: the DNS server refused or failed (%s)", name,
			 ares_strerror(status));
		break;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		res->status = -ECANCELED;
		snprintf(res->error, sizeof(res->error), "%s: lookup cancelled", name);
		break;
	default:
		res->status = -EIO;
		snprintf(res->error, sizeof(res->error), "%s: %s", name, ares_strerror(status));
	}
}

/* Node N's address into RES unless it is a duplicate or one too many: whether taken */
static bool take_node(struct resolved *res, const struct ares_addrinfo_node *n)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)n->ai_addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)n->ai_addr;
	uint32_t a = 0;
	size_t k;

	if (n->ai_family != res->family || res->n == RESOLVE_MAX_ADDRS ||
	    n->ai_addrlen < (res->family == AF_INET6 ? sizeof(*sin6) : sizeof(*sin)))
		return false;
	if (res->family == AF_INET)
		a = ntohl(sin->sin_addr.s_addr);
	for (k = 0; k < res->n; k++)
		if (res->family == AF_INET ? res->addr[k] == a : !memcmp(res->addr6[k], &sin6->sin6_addr, 16))
			return false;
	if (res->family == AF_INET)
		res->addr[res->n++] = a;
	else
		memcpy(res->addr6[res->n++], &sin6->sin6_addr, 16);
	return true;
}

static void answered(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct lookup *lk = arg;
	struct resolved res = { .status = 0, .family = lk->family };
	int ttl = RESOLVE_TTL_MAX;

	(void)timeouts;
	if (status != ARES_SUCCESS) {
		fail(&res, lk->name, status);
	} else {
		for (struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next)
			if (take_node(&res, n) && n->ai_ttl < ttl)
				ttl = n->ai_ttl;
		if (!res.n)
			fail(&res, lk->name, ARES_ENODATA);
	}
	res.ttl = clamp_ttl(res.n ? ttl : 0);
	if (ai)
		ares_freeaddrinfo(ai);
	lk->cb(lk->name, &res, lk->arg);
	free(lk->name);
	free(lk);
}

int resolver_start(struct resolver *r, const char *name, resolve_cb cb, void *arg)
{
	return resolver_start_af(r, name, AF_INET, cb, arg);
}

int resolver_start_af(struct resolver *r, const char *name, int family, resolve_cb cb, void *arg)
{
	struct ares_addrinfo_hints hints = { .ai_family = family, .ai_flags = ARES_AI_NOSORT };
	struct lookup *lk = calloc(1, sizeof(*lk));

	if (!lk || !(lk->name = strdup(name))) {
		free(lk);
		return -ENOMEM;
	}
	lk->family = family;
	lk->cb = cb;
	lk->arg = arg;
	ares_getaddrinfo(r->ch, name, NULL, &hints, answered, lk);
	return 0;
}

int resolver_pollfds(struct resolver *r, struct pollfd *pfd, int max)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	/* ares.h's ARES_GETSOCK_WRITABLE shifts an int by 31: unsigned here */
	unsigned bits = (unsigned)ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
	int n = 0;

	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;

		if (bits & (1u << i))
			ev |= POLLIN;
		if (bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
			ev |= POLLOUT;
		if (!ev)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

int resolver_timeout_ms(struct resolver *r)
{
	struct timeval tv, *t = ares_timeout(r->ch, NULL, &tv);

	if (!t)
		return -1;
	return (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
}

void resolver_process(struct resolver *r, const struct pollfd *pfd, int n)
{
	int any = 0;

	for (int i = 0; i < n; i++) {
		ares_socket_t rd = pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD;
		ares_socket_t wr = pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD;

		if (rd != ARES_SOCKET_BAD || wr != ARES_SOCKET_BAD) {
			ares_process_fd(r->ch, rd, wr);
			any = 1;
		}
	}
	if (!any)	/* timeouts and retries */
		ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

struct waiting {
	struct resolved *res;
	int done;
};

static void keep(const char *name, const struct resolved *res, void *arg)
{
	struct waiting *w = arg;

	(void)name;
	*w->res = *res;
	w->done = 1;
}

int resolve_now(const char *name, struct resolved *res)
{
	return resolve_now_af(name, AF_INET, res);
}

int resolve_now_af(const char *name, int family, struct resolved *res)
{
	struct waiting w = { .res = res };
	struct resolver *r;
	char err[160];
	int rc;

	memset(res, 0, sizeof(*res));
	res->family = family;
	if ((rc = resolver_new(&r, err, sizeof(err))) < 0) {
		res->status = rc;
		snprintf(res->error, sizeof(res->error), "%s", err);
		return rc;
	}
	if ((rc = resolver_start_af(r, name, family, keep, &w)) < 0) {
		resolver_free(r);
		res->status = rc;
		snprintf(res->error, sizeof(res->error), "%s: out of memory", name);
		return rc;
	}
	while (!w.done) {
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		int n = resolver_pollfds(r, pfd, ARES_GETSOCK_MAXNUM), t = resolver_timeout_ms(r);

		if (poll(pfd, (nfds_t)n, t < 0 ? RESOLVE_TIMEOUT_MS : t) < 0 && errno != EINTR)
			break;
		resolver_process(r, pfd, n);
	}
	resolver_free(r);	/* a lookup still in flight ends here, cancelled */
	return res->status;
}
