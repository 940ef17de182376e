/* nlsock.c - netlink socket with extended acks: sending requests, reading answers */
#include "nlsock.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* A new socket on nl->bus, bound and set up, in nl->sock. 0 or -errno. */
static int open_sock(struct nl *nl)
{
	int on = 1, rcvbuf = 4 << 20;
	struct timeval tv = { .tv_sec = 10 };

	/* close-on-exec: nothing that up starts (the relay) inherits it */
	nl->sock = mnl_socket_open2(nl->bus, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return e;
	}
	/* Best effort: old kernels lack some of these, and nothing breaks. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &on, sizeof(on));
	if (nl->bus == NETLINK_ROUTE)
		mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF,
			   &rcvbuf, sizeof(rcvbuf));
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
}

int nl_open(struct nl *nl, int bus)
{
	int r;

	memset(nl, 0, sizeof(*nl));
	nl->bus = bus;
	r = open_sock(nl);
	if (r == 0)
		nl->seq = (uint32_t)time(NULL);
	return r;
}

int nl_reopen(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	return open_sock(nl);
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

const char *nl_strerror(const struct nl *nl)
{
	if (nl->err_msg[0])
		return nl->err_msg;
	return strerror(-nl->err);
}

static void record_error(struct nl *nl, int err, uint32_t seq)
{
	if (nl->err)
		return;
	nl->err = err;
	nl->err_seq = seq;
}

/* Extended-ack attributes that follow an error or a DONE payload. */
static void parse_ext_ack(struct nl *nl, const void *attrs, size_t len)
{
	const struct nlattr *attr;

	mnl_attr_for_each_payload(attrs, len) {
		switch (mnl_attr_get_type(attr)) {
		case NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(nl->err_msg, sizeof(nl->err_msg), "%s",
					 mnl_attr_get_str(attr));
			break;
		case NLMSGERR_ATTR_OFFS:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				nl->err_off = mnl_attr_get_u32(attr);
			break;
		}
	}
}

/* An error code as the kernel sends it (-errno), or -EPROTO for anything
 * else: a positive code must not pass for success, nor one that cannot be
 * negated (INT_MIN) reach strerror. */
static int kernel_errno(int e)
{
	return e < 0 && e >= -4095 ? e : -EPROTO;
}

static void handle_error_msg(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off;

	if (plen < sizeof(*e)) {
		record_error(nl, -EBADMSG, nlh->nlmsg_seq);
		return;
	}
	if (nl->on_ack)
		nl->on_ack(nlh->nlmsg_seq, e->error ? kernel_errno(e->error) : 0, nl->on_ack_arg);
	if (e->error == 0 || nl->err)
		return;
	record_error(nl, kernel_errno(e->error), nlh->nlmsg_seq);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* the attributes follow the request, or only its header if capped */
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	off = NLMSG_ALIGN(off);
	if (off < plen)
		parse_ext_ack(nl, (const char *)e + off, plen - off);
}

static void handle_done_msg(struct nl *nl, const struct nlmsghdr *nlh)
{
	size_t plen = mnl_nlmsg_get_payload_len(nlh);
	int err;

	if (plen < sizeof(int))
		return;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err == 0 || nl->err)
		return;
	record_error(nl, kernel_errno(err), nlh->nlmsg_seq);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && plen > sizeof(int))
		parse_ext_ack(nl, (const char *)mnl_nlmsg_get_payload(nlh) + sizeof(int),
			      plen - sizeof(int));
}

/* Count the requests in BUF that want an answer; note their seq range. */
static size_t count_expected(const void *buf, size_t len, uint32_t *lo, uint32_t *hi)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;
	size_t n = 0;

	*lo = UINT32_MAX;
	*hi = 0;
	while (mnl_nlmsg_ok(nlh, rem)) {
		if (nlh->nlmsg_flags & NLM_F_ACK) {
			n++;
			if (nlh->nlmsg_seq < *lo)
				*lo = nlh->nlmsg_seq;
			if (nlh->nlmsg_seq > *hi)
				*hi = nlh->nlmsg_seq;
		}
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	return n;
}

void nl_rx_process(struct nl *nl, struct nl_rx *rx, const void *buf, size_t len,
		   mnl_cb_t cb, void *data)
{
	const char *p = buf;

	/* Every message must lie inside the buffer: checked here in size_t
	 * (mnl_nlmsg_ok compares a length cast to int, and lets one of more
	 * than 2 GiB through). */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t mlen = nlh->nlmsg_len, step = NLMSG_ALIGN(mlen);

		if (mlen < sizeof(*nlh) || mlen > len)
			break;
		p += step < len ? step : len;
		len -= step < len ? step : len;
		if (nlh->nlmsg_pid != nl->portid && nlh->nlmsg_pid != 0)
			continue;
		if (nlh->nlmsg_seq < rx->lo || nlh->nlmsg_seq > rx->hi)
			continue; /* a late answer to an earlier request */
		if (rx->dump && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
			rx->intr = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_OVERRUN:
			record_error(nl, -ENOBUFS, nlh->nlmsg_seq);
			break;
		case NLMSG_ERROR:
			handle_error_msg(nl, nlh);
			rx->acked++;
			if (rx->dump)
				rx->done = true; /* a dump that fails at once */
			break;
		case NLMSG_DONE:
			handle_done_msg(nl, nlh);
			rx->done = true;
			break;
		default:
			errno = 0;
			if (cb && !nl->err && cb(nlh, data) == MNL_CB_ERROR)
				record_error(nl, errno ? -errno : -EINVAL, nlh->nlmsg_seq);
			break;
		}
	}
}

/* Read answers until what RX waits for has come. */
static int receive(struct nl *nl, struct nl_rx *rx, mnl_cb_t cb, void *data)
{
	static char buf[NL_DUMP_BUFSIZE * 2];

	while (rx->dump ? !rx->done : rx->acked < rx->want) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			record_error(nl, (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno,
				     rx->lo);
			/* The rest of an abandoned dump would make the next
			 * one on this socket fail (EBUSY): start afresh. */
			if (rx->dump)
				nl_reopen(nl);
			return nl->err;
		}
		nl_rx_process(nl, rx, buf, (size_t)n, cb, data);
	}
	return nl->err;
}

static void reset_error(struct nl *nl)
{
	nl->err = 0;
	nl->err_seq = 0;
	nl->err_off = 0;
	nl->err_msg[0] = '\0';
}

int nl_talk(struct nl *nl, const void *buf, size_t len, mnl_cb_t cb, void *data)
{
	struct nl_rx rx = { .dump = false };

	rx.want = count_expected(buf, len, &rx.lo, &rx.hi);
	reset_error(nl);
	nl->sent = false;
	if (!nl->sock && nl_reopen(nl) < 0) {
		record_error(nl, -ENOTCONN, rx.lo);
		return nl->err;
	}
	if (mnl_socket_sendto(nl->sock, buf, len) < 0) {
		record_error(nl, -errno, rx.lo);
		return nl->err;
	}
	nl->sent = true;
	if (rx.want == 0)
		return 0;
	return receive(nl, &rx, cb, data);
}

/* One dump, without retries. */
static int dump_once(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct nl_rx rx = { .dump = true, .lo = req->nlmsg_seq, .hi = req->nlmsg_seq };
	int r;

	reset_error(nl);
	if (!nl->sock && nl_reopen(nl) < 0) {
		record_error(nl, -ENOTCONN, req->nlmsg_seq);
		return nl->err;
	}
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0) {
		record_error(nl, -errno, req->nlmsg_seq);
		return nl->err;
	}
	r = receive(nl, &rx, cb, data);
	if (r == 0 && rx.intr) {
		record_error(nl, -EINTR, req->nlmsg_seq);
		snprintf(nl->err_msg, sizeof(nl->err_msg),
			 "the kernel's objects changed during the dump (NLM_F_DUMP_INTR)");
		r = nl->err;
	}
	return r;
}

int nl_dump(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	int r = dump_once(nl, req, cb, data);

	/* another dump still runs on this socket (one left unread by
	 * whoever had it): a fresh socket, and the request once more */
	if (r == -EBUSY && nl_reopen(nl) == 0)
		r = dump_once(nl, req, cb, data);
	return r;
}

void nl_backoff(int tries)
{
	struct timespec ts = { .tv_nsec = 1000000L << (tries < 1 ? 0 : tries < 7 ? tries - 1 : 6) };

	nanosleep(&ts, NULL);
}

int nl_dump_stable(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb,
		   void (*reset)(void *data), void *data)
{
	int r = -EINTR, tries;

	for (tries = 0; tries < NL_DUMP_TRIES && r == -EINTR; tries++) {
		if (reset)
			reset(data);
		if (tries) {
			nl_backoff(tries);
			req->nlmsg_seq = nl_seq(nl);
		}
		r = nl_dump(nl, req, cb, data);
	}
	if (r == -EINTR) {
		nl->err = r = -EAGAIN;
		snprintf(nl->err_msg, sizeof(nl->err_msg),
			 "the kernel's objects kept changing while they were read "
			 "(%d interrupted dumps in a row): try again", NL_DUMP_TRIES);
	}
	return r;
}
