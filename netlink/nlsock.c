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

int nl_open(struct nl *nl, int bus)
{
	int on = 1, rcvbuf = 4 << 20;
	struct timeval tv = { .tv_sec = 10 };

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open(bus);
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
	if (bus == NETLINK_ROUTE)
		mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF,
			   &rcvbuf, sizeof(rcvbuf));
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
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

static void handle_error_msg(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off;

	if (plen < sizeof(*e)) {
		record_error(nl, -EBADMSG, nlh->nlmsg_seq);
		return;
	}
	if (nl->on_ack)
		nl->on_ack(nlh->nlmsg_seq, e->error, nl->on_ack_arg);
	if (e->error == 0 || nl->err)
		return;
	record_error(nl, e->error, nlh->nlmsg_seq);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
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
	record_error(nl, err, nlh->nlmsg_seq);
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

/*
 * Read answers until WANT acks in [lo, hi] have come (dump == false) or until
 * NLMSG_DONE of the dump with sequence number lo (dump == true).
 */
static int receive(struct nl *nl, bool dump, size_t want, uint32_t lo, uint32_t hi,
		   mnl_cb_t cb, void *data)
{
	static char buf[NL_DUMP_BUFSIZE * 2];
	size_t acked = 0;
	bool done = false;

	while (dump ? !done : acked < want) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rem;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			record_error(nl, (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno, lo);
			return nl->err;
		}
		rem = (int)n;
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_pid != nl->portid && nlh->nlmsg_pid != 0)
				continue;
			if (nlh->nlmsg_seq < lo || nlh->nlmsg_seq > hi)
				continue; /* a late answer to an earlier request */
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_OVERRUN:
				record_error(nl, -ENOBUFS, nlh->nlmsg_seq);
				break;
			case NLMSG_ERROR:
				handle_error_msg(nl, nlh);
				acked++;
				if (dump)
					done = true; /* a dump that fails at once */
				break;
			case NLMSG_DONE:
				handle_done_msg(nl, nlh);
				done = true;
				break;
			default:
				if (cb && !nl->err && cb(nlh, data) == MNL_CB_ERROR)
					record_error(nl, errno ? -errno : -EINVAL, nlh->nlmsg_seq);
				break;
			}
		}
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
	uint32_t lo, hi;
	size_t want = count_expected(buf, len, &lo, &hi);

	reset_error(nl);
	nl->sent = false;
	if (mnl_socket_sendto(nl->sock, buf, len) < 0) {
		record_error(nl, -errno, lo);
		return nl->err;
	}
	nl->sent = true;
	if (want == 0)
		return 0;
	return receive(nl, false, want, lo, hi, cb, data);
}

int nl_dump(struct nl *nl, const struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	reset_error(nl);
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0) {
		record_error(nl, -errno, req->nlmsg_seq);
		return nl->err;
	}
	return receive(nl, true, 0, req->nlmsg_seq, req->nlmsg_seq, cb, data);
}
