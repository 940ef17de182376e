/* test_vici_events.c - charon's events: the byte stream split into packets in
 * any pieces (never blocking, never out of step), and the IKE events (the
 * shapes strongSwan 5.9's vici_query.c sends) read into what they say. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vici.h"

/* An IKE_SA as list_ike() describes it, in a section named after CONN */
static void sa(struct vici_msg *m, const char *conn, const char *state, const char *remote_id,
	       const char *local, const char *remote)
{
	vici_begin(m, conn);
	vici_kv_str(m, "uniqueid", "7");
	vici_kv_str(m, "version", "2");
	vici_kv_str(m, "state", state);
	vici_kv_str(m, "local-host", local);
	vici_kv_str(m, "local-port", "4500");
	vici_kv_str(m, "local-id", "manhattan");
	vici_kv_str(m, "remote-host", remote);
	vici_kv_str(m, "remote-port", "4500");
	vici_kv_str(m, "remote-id", remote_id);
	vici_kv_str(m, "initiator", "yes");
	vici_begin(m, "child-sas");
	vici_end(m);
	vici_end(m);
}

/* An ike-update: the new addresses first, the SA as it was */
static void update_msg(struct vici_msg *m, const char *conn, const char *state, const char *remote_id,
		       const char *new_remote)
{
	vici_msg_init(m);
	vici_kv_str(m, "local-host", "172.16.1.12");
	vici_kv_str(m, "local-port", "4500");
	vici_kv_str(m, "remote-host", new_remote);
	vici_kv_str(m, "remote-port", "4500");
	sa(m, conn, state, remote_id, "172.16.1.12", "172.17.2.10");
}

static int parse_msg(const char *event, const struct vici_msg *m, struct vici_ike_event *e)
{
	struct vici_node *root;
	int r;

	assert_int_equal(vici_parse(m->buf, m->len, &root, NULL, 0), 0);
	r = vici_ike_event_parse(event, root, e);
	vici_free(root);
	return r;
}

static void test_ike_update(void **state)
{
	struct vici_msg m;
	struct vici_ike_event e;

	(void)state;
	update_msg(&m, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn", "172.17.2.11");
	assert_int_equal(parse_msg("ike-update", &m, &e), 0);
	assert_int_equal(e.kind, VICI_IKE_UPDATE);
	assert_string_equal(e.conn, "gatewayctl-manhattan_brooklyn");
	assert_string_equal(e.state, "ESTABLISHED");
	assert_string_equal(e.remote_id, "brooklyn");
	assert_string_equal(e.local_id, "manhattan");
	assert_string_equal(e.remote_host, "172.17.2.11");	/* the new one */
	assert_string_equal(e.old_remote_host, "172.17.2.10");	/* the section's */
	assert_string_equal(e.local_host, "172.16.1.12");
	vici_msg_free(&m);
}

static void test_ike_updown_and_list(void **state)
{
	struct vici_msg m;
	struct vici_ike_event e;

	(void)state;
	vici_msg_init(&m);
	vici_kv_str(&m, "up", "yes");
	sa(&m, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn", "172.16.1.12", "172.17.2.11");
	assert_int_equal(parse_msg("ike-updown", &m, &e), 0);
	assert_int_equal(e.kind, VICI_IKE_UP);
	assert_string_equal(e.remote_host, "172.17.2.11");
	assert_string_equal(e.old_remote_host, "172.17.2.11");
	vici_msg_free(&m);
	/* going down: no "up" */
	vici_msg_init(&m);
	sa(&m, "x", "DELETING", "brooklyn", "172.16.1.12", "172.17.2.11");
	assert_int_equal(parse_msg("ike-updown", &m, &e), 0);
	assert_int_equal(e.kind, VICI_IKE_DOWN);
	assert_int_equal(parse_msg("list-sa", &m, &e), 0);
	assert_int_equal(e.kind, VICI_IKE_LISTED);
	assert_string_equal(e.state, "DELETING");
	/* not an IKE event */
	assert_int_equal(parse_msg("child-updown", &m, &e), -ENOENT);
	assert_int_equal(parse_msg("log", &m, &e), -ENOENT);
	vici_msg_free(&m);
}

static void test_ike_event_odd(void **state)
{
	struct vici_msg m;
	struct vici_ike_event e;
	char longname[200];	/* over VICI_NAME_MAX, under the wire's 255 */

	(void)state;
	/* no SA section */
	vici_msg_init(&m);
	vici_kv_str(&m, "remote-host", "172.17.2.11");
	assert_int_equal(parse_msg("ike-update", &m, &e), -EPROTO);
	vici_msg_free(&m);
	/* an update without its new address */
	vici_msg_init(&m);
	sa(&m, "c", "ESTABLISHED", "brooklyn", "172.16.1.12", "172.17.2.10");
	assert_int_equal(parse_msg("ike-update", &m, &e), -EPROTO);
	vici_msg_free(&m);
	/* a connection name too long for ours: not read (it could pass for one truncated) */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "gatewayctl-m_b", 14);
	vici_msg_init(&m);
	sa(&m, longname, "ESTABLISHED", "b", "1.2.3.4", "5.6.7.8");
	assert_int_equal(parse_msg("ike-updown", &m, &e), -EPROTO);
	vici_msg_free(&m);
	/* an identity too long, a value with a NUL byte */
	vici_msg_init(&m);
	sa(&m, "c", "ESTABLISHED", longname, "1.2.3.4", "5.6.7.8");
	assert_int_equal(parse_msg("ike-updown", &m, &e), -EPROTO);
	vici_msg_free(&m);
	vici_msg_init(&m);
	vici_begin(&m, "c");
	vici_kv(&m, "state", "ESTAB\0LISHED", 12);
	vici_kv_str(&m, "remote-host", "5.6.7.8");
	vici_end(&m);
	assert_int_equal(parse_msg("ike-updown", &m, &e), -EPROTO);
	vici_msg_free(&m);
	/* a key where the section should be: the section is the first one */
	vici_msg_init(&m);
	vici_kv_str(&m, "c", "not a section");
	sa(&m, "real", "ESTABLISHED", "b", "1.2.3.4", "5.6.7.8");
	assert_int_equal(parse_msg("list-sa", &m, &e), 0);
	assert_string_equal(e.conn, "real");
	vici_msg_free(&m);
}

/* ---- the stream --------------------------------------------------------------- */

struct seen {
	char names[8][64];
	char conns[8][VICI_NAME_MAX + 1];
	int n;
};

static int collect(const char *event, const struct vici_node *msg, void *arg)
{
	struct seen *s = arg;
	struct vici_ike_event e;

	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", event);
		snprintf(s->conns[s->n], sizeof(s->conns[0]), "%s",
			 vici_ike_event_parse(event, msg, &e) == 0 ? e.conn : "-");
		s->n++;
	}
	return 0;
}

/* A packet: length, type, [name], message */
static size_t packet(uint8_t *out, uint8_t type, const char *name, const struct vici_msg *m)
{
	size_t nl = name ? strlen(name) : 0, len = 1 + (name ? 1 + nl : 0) + (m ? m->len : 0);

	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	out[4] = type;
	if (name) {
		out[5] = (uint8_t)nl;
		memcpy(out + 6, name, nl);
	}
	if (m && m->len)
		memcpy(out + 5 + (name ? 1 + nl : 0), m->buf, m->len);
	return 4 + len;
}

static size_t three_packets(uint8_t *buf)
{
	struct vici_msg a, b;
	size_t len = 0;

	update_msg(&a, "gatewayctl-manhattan_brooklyn", "ESTABLISHED", "brooklyn", "172.17.2.11");
	vici_msg_init(&b);
	vici_kv_str(&b, "up", "yes");
	sa(&b, "other", "ESTABLISHED", "x", "1.1.1.1", "2.2.2.2");
	len += packet(buf + len, VICI_EVENT_CONFIRM, NULL, NULL);	/* skipped */
	len += packet(buf + len, VICI_EVENT, "ike-update", &a);
	len += packet(buf + len, VICI_EVENT, "ike-updown", &b);
	vici_msg_free(&a);
	vici_msg_free(&b);
	return len;
}

static void test_stream_in_pieces(void **state)
{
	uint8_t buf[4096];
	size_t len = three_packets(buf);

	(void)state;
	/* whole, then one byte at a time, then in pieces of 7: the same events */
	for (size_t piece = len; piece >= 1; piece = piece == len ? 1 : piece == 1 ? 7 : 0) {
		struct vici_stream s = { 0 };
		struct seen seen = { .n = 0 };

		for (size_t off = 0; off < len; off += piece)
			assert_int_equal(vici_stream_feed(&s, buf + off, off + piece > len ? len - off : piece, collect,
							  &seen), 0);
		assert_int_equal(seen.n, 2);
		assert_string_equal(seen.names[0], "ike-update");
		assert_string_equal(seen.conns[0], "gatewayctl-manhattan_brooklyn");
		assert_string_equal(seen.names[1], "ike-updown");
		assert_string_equal(seen.conns[1], "other");
		assert_int_equal(s.len, 0);
		vici_stream_free(&s);
		if (piece == 7)
			break;
	}
}

static void test_stream_bad_length(void **state)
{
	struct vici_stream s = { 0 };
	struct seen seen = { .n = 0 };
	uint8_t zero[4] = { 0 }, huge[4] = { 0x7f, 0xff, 0xff, 0xff }, junk[9] = { 0, 0, 0, 5, VICI_EVENT, 200, 1 };

	(void)state;
	assert_int_equal(vici_stream_feed(&s, zero, 4, collect, &seen), -EPROTO);
	assert_int_equal(vici_stream_feed(&s, huge, 4, collect, &seen), -EPROTO);
	/* a packet whose name runs past its end: skipped, the stream stays in step */
	assert_int_equal(vici_stream_feed(&s, junk, 9, collect, &seen), 0);
	assert_int_equal(seen.n, 0);
	vici_stream_free(&s);
}

static void test_stream_read_socket(void **state)
{
	uint8_t buf[4096];
	size_t len = three_packets(buf);
	struct vici v = { .fd = -1 };
	struct vici_stream s = { 0 };
	struct seen seen = { .n = 0 };
	int sv[2];

	(void)state;
	assert_int_equal(vici_stream_read(&v, &s, collect, &seen), -ENOTCONN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	v.fd = sv[0];
	/* nothing there: returns at once */
	assert_int_equal(vici_stream_read(&v, &s, collect, &seen), 0);
	assert_int_equal(write(sv[1], buf, 10), 10);
	assert_int_equal(vici_stream_read(&v, &s, collect, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(write(sv[1], buf + 10, len - 10), (ssize_t)(len - 10));
	assert_int_equal(vici_stream_read(&v, &s, collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	close(sv[1]);
	assert_int_equal(vici_stream_read(&v, &s, collect, &seen), -ECONNRESET);
	close(sv[0]);
	vici_stream_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ike_update),
		cmocka_unit_test(test_ike_updown_and_list),
		cmocka_unit_test(test_ike_event_odd),
		cmocka_unit_test(test_stream_in_pieces),
		cmocka_unit_test(test_stream_bad_length),
		cmocka_unit_test(test_stream_read_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
