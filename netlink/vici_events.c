/* vici_events.c - charon's events as they happen (vici.h, "events"): the bytes of
 * an event connection split into packets without ever blocking, and the IKE
 * events (ike-update, ike-updown, list-sa) read into what they say about one
 * IKE_SA: its connection, state, identities and addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vici.h"

void vici_stream_free(struct vici_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

static int stream_add(struct vici_stream *s, const uint8_t *data, size_t len)
{
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		uint8_t *b;

		while (cap < s->len + len)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	if (len)
		memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

/* One packet (without its length): an event is parsed and handed on. */
static void dispatch(const uint8_t *pkt, size_t len, vici_event_fn fn, void *arg)
{
	const uint8_t *msg;
	struct vici_node *root;
	size_t mlen;
	uint8_t type;
	char name[256];

	if (vici_packet_split(pkt, len, &type, name, &msg, &mlen) < 0 || type != VICI_EVENT)
		return;
	if (vici_parse(msg, mlen, &root, NULL, 0) < 0)
		return;
	if (fn)
		fn(name, root, arg);
	vici_free(root);
}

int vici_stream_feed(struct vici_stream *s, const uint8_t *data, size_t len, vici_event_fn fn, void *arg)
{
	size_t off = 0;
	int ret = stream_add(s, data, len);

	if (ret < 0)
		return ret;
	while (s->len - off >= 4) {
		const uint8_t *h = s->buf + off;
		size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];

		if (n == 0 || n > VICI_PACKET_MAX) {
			s->len = 0;
			return -EPROTO;
		}
		if (s->len - off - 4 < n)
			break;
		dispatch(h + 4, n, fn, arg);
		off += 4 + n;
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	return 0;
}

int vici_stream_read(struct vici *v, struct vici_stream *s, vici_event_fn fn, void *arg)
{
	uint8_t chunk[8192];

	if (v->fd < 0)
		return -ENOTCONN;
	for (;;) {
		ssize_t n = recv(v->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		int ret;

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		if ((ret = vici_stream_feed(s, chunk, (size_t)n, fn, arg)) < 0)
			return ret;
	}
}

/* ---- the IKE events ----------------------------------------------------------- */

/* Key NAME of SEC into DST: absent gives "", too long or not text -EPROTO. */
static int take(const struct vici_node *sec, const char *name, char *dst, size_t size)
{
	const struct vici_node *n = vici_find(sec, name);
	const char *v;

	dst[0] = '\0';
	if (!n)
		return 0;
	v = n->kind == VICI_NODE_VALUE ? vici_node_str(n) : NULL;
	if (!v || strlen(v) >= size)
		return -EPROTO;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* The first section of MSG: the IKE_SA, named after its connection */
static const struct vici_node *sa_section(const struct vici_node *msg)
{
	for (const struct vici_node *n = msg->first; n; n = n->next)
		if (n->kind == VICI_NODE_SECTION)
			return n;
	return NULL;
}

int vici_ike_event_parse(const char *event, const struct vici_node *msg, struct vici_ike_event *out)
{
	const struct vici_node *sa;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (!strcmp(event, "ike-update"))
		out->kind = VICI_IKE_UPDATE;
	else if (!strcmp(event, "ike-updown"))
		out->kind = vici_yes(msg, "up") ? VICI_IKE_UP : VICI_IKE_DOWN;
	else if (!strcmp(event, "list-sa"))
		out->kind = VICI_IKE_LISTED;
	else
		return -ENOENT;
	sa = sa_section(msg);
	if (!sa || !sa->name[0] || strlen(sa->name) >= sizeof(out->conn))
		return -EPROTO;
	memcpy(out->conn, sa->name, strlen(sa->name) + 1);
	bad |= take(sa, "state", out->state, sizeof(out->state));
	bad |= take(sa, "local-id", out->local_id, sizeof(out->local_id));
	bad |= take(sa, "remote-id", out->remote_id, sizeof(out->remote_id));
	bad |= take(sa, "remote-host", out->old_remote_host, sizeof(out->old_remote_host));
	if (out->kind == VICI_IKE_UPDATE) {
		/* the new addresses are the event's own keys, the section has the old */
		bad |= take(msg, "local-host", out->local_host, sizeof(out->local_host));
		bad |= take(msg, "remote-host", out->remote_host, sizeof(out->remote_host));
	} else {
		bad |= take(sa, "local-host", out->local_host, sizeof(out->local_host));
		memcpy(out->remote_host, out->old_remote_host, sizeof(out->remote_host));
	}
	if (bad || !out->remote_host[0])
		return -EPROTO;
	return 0;
}
