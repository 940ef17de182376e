/* fuzz_vici.c - libFuzzer target: the VICI client's handling of charon's bytes.
 * The first input byte picks what the rest is:
 *   0  a message: vici_parse; what parses must encode back to the same bytes,
 *      then the list-sa reading and the printer run over it
 *   1  a packet (without its length): vici_packet_split, then its message
 *   2  what charon sends on the socket (length-prefixed packets, then EOF) in
 *      answer to list-sas (event registration, events, response)
 *   3  the same for initiate (control-log events, the reason picked from them)
 *   4  the same for get-conns
 * Nothing may crash, leak or read out of bounds, and the results must be
 * consistent (abort otherwise). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vici.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void touch(const struct vici_node *sec, unsigned depth)
{
	volatile uint8_t sink = 0;

	if (depth > VICI_DEPTH_MAX + 1)
		abort();
	for (const struct vici_node *n = sec->first; n; n = n->next) {
		sink ^= (uint8_t)strlen(n->name);
		if (n->kind == VICI_NODE_VALUE || n->kind == VICI_NODE_ITEM) {
			for (size_t i = 0; i <= n->len; i++)	/* the NUL after the bytes too */
				sink ^= n->value[i];
			if (n->value[n->len] != 0)
				abort();
		}
		if (n->kind == VICI_NODE_SECTION || n->kind == VICI_NODE_LIST)
			touch(n, depth + 1);
		if (n->kind == VICI_NODE_LIST)
			for (const struct vici_node *i = n->first; i; i = i->next)
				if (i->kind != VICI_NODE_ITEM)
					abort();
	}
	(void)sink;
}

static void message(const uint8_t *data, size_t size)
{
	struct vici_node *root;
	struct vici_msg m;
	struct vici_ike_sa *sas = NULL;
	size_t n = 0;
	char why[160];
	int ret = vici_parse(data, size, &root, why, sizeof(why));

	if (ret != 0) {
		if (ret != -EPROTO || root || !why[0])
			abort();
		return;
	}
	touch(root, 0);
	vici_msg_init(&m);
	vici_encode_tree(&m, root);
	if (vici_msg_check(&m) != 0 || m.len != size || (size && memcmp(m.buf, data, size)))
		abort();
	vici_msg_print(&m, devnull, NULL);
	vici_msg_free(&m);
	ret = vici_sas_from_event(root, &sas, &n);
	if (ret != 0 && ret != -EPROTO)
		abort();
	for (size_t i = 0; i < n; i++)
		if (strlen(sas[i].name) > VICI_NAME_MAX || (sas[i].n_children && !sas[i].children))
			abort();
	vici_sas_free(sas, n);
	vici_free(root);
}

/* Play DATA as charon's side of a connection, then EOF; run one command. */
static void stream(uint8_t mode, const uint8_t *data, size_t size)
{
	int sv[2];
	struct vici v;
	size_t off = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (off < size) {
		ssize_t w = write(sv[1], data + off, size - off);

		if (w <= 0)
			break;		/* the rest does not fit in the socket: dropped */
		off += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	memset(&v, 0, sizeof(v));
	v.fd = sv[0];
	v.timeout_ms = 1000;
	strcpy(v.path, "fuzz");
	if (mode == 2) {
		struct vici_ike_sa *sas;
		size_t n;

		if (vici_list_sas(&v, NULL, &sas, &n) == 0)
			vici_sas_free(sas, n);
		else if (sas || n)
			abort();
	} else if (mode == 3) {
		vici_initiate(&v, "gatewayctl-a-b", 1000);
		if (strlen(v.log) >= sizeof(v.log) || strlen(v.err) >= sizeof(v.err))
			abort();
	} else {
		char **names;
		size_t n;

		if (vici_get_conns(&v, &names, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (!names[i])
					abort();
			if (names[n])
				abort();
			vici_strv_free(names);
		} else if (names) {
			abort();
		}
	}
	vici_close(&v);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		message(data + 1, size - 1);
		break;
	case 1: {
		uint8_t type;
		char name[256];
		const uint8_t *msg;
		size_t mlen;

		if (vici_packet_split(data + 1, size - 1, &type, name, &msg, &mlen) == 0) {
			if (type > VICI_EVENT || msg + mlen != data + size || strlen(name) > 255)
				abort();
			message(msg, mlen);
		}
		break;
	}
	default:
		stream(data[0] % 5, data + 1, size - 1);
		break;
	}
	return 0;
}
