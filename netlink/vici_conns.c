/* vici_conns.c - list-conns: the connections charon holds, with what tells
 * whose they are (addresses, identities, the CHILD_SA's mode). See vici.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vici.h"

/* more connections than any gateway has: a charon gone mad */
#define CONNS_MAX 100000

static void put_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* The first item of list NAME in SEC, "" when absent or empty. */
static void first_item(const struct vici_node *sec, const char *name, char *dst, size_t size)
{
	const struct vici_node *l = vici_find(sec, name);

	put_str(dst, size, l && l->kind == VICI_NODE_LIST && l->first ? vici_node_str(l->first) : NULL);
}

/* charon names the authentication rounds local-1, local-2... (older ones: local) */
static const struct vici_node *auth_round(const struct vici_node *conn, const char *side)
{
	size_t n = strlen(side);

	for (const struct vici_node *s = conn->first; s; s = s->next)
		if (s->kind == VICI_NODE_SECTION && !strncmp(s->name, side, n) &&
		    (s->name[n] == '\0' || s->name[n] == '-'))
			return s;
	return NULL;
}

static int conn_from(const struct vici_node *sec, struct vici_conn_info *c)
{
	const struct vici_node *local = auth_round(sec, "local"), *remote = auth_round(sec, "remote");
	const struct vici_node *children = vici_find(sec, "children");

	memset(c, 0, sizeof(*c));
	put_str(c->name, sizeof(c->name), sec->name);
	first_item(sec, "local_addrs", c->local_addr, sizeof(c->local_addr));
	first_item(sec, "remote_addrs", c->remote_addr, sizeof(c->remote_addr));
	if (local) {
		put_str(c->local_id, sizeof(c->local_id), vici_str(local, "id"));
		put_str(c->local_auth, sizeof(c->local_auth), vici_str(local, "class"));
	}
	if (remote) {
		put_str(c->remote_id, sizeof(c->remote_id), vici_str(remote, "id"));
		put_str(c->remote_auth, sizeof(c->remote_auth), vici_str(remote, "class"));
	}
	if (children && children->kind != VICI_NODE_SECTION)
		return -EPROTO;
	for (const struct vici_node *ch = children ? children->first : NULL; ch; ch = ch->next) {
		if (ch->kind != VICI_NODE_SECTION)
			continue;
		if (!c->n_children++) {
			put_str(c->child, sizeof(c->child), ch->name);
			put_str(c->child_mode, sizeof(c->child_mode), vici_str(ch, "mode"));
		}
	}
	return 0;
}

int vici_conns_from_event(const struct vici_node *msg, struct vici_conn_info **conns, size_t *n)
{
	for (const struct vici_node *sec = msg ? msg->first : NULL; sec; sec = sec->next) {
		struct vici_conn_info *grown;
		int ret;

		if (sec->kind != VICI_NODE_SECTION)
			continue;
		if (*n >= CONNS_MAX)
			return -E2BIG;
		grown = realloc(*conns, (*n + 1) * sizeof(**conns));
		if (!grown)
			return -ENOMEM;
		*conns = grown;
		ret = conn_from(sec, &grown[*n]);
		if (ret < 0)
			return ret;
		(*n)++;
	}
	return 0;
}

struct conn_list {
	struct vici_conn_info *conns;
	size_t n;
};

static int on_conn(const char *event, const struct vici_node *msg, void *arg)
{
	struct conn_list *l = arg;

	(void)event;
	return vici_conns_from_event(msg, &l->conns, &l->n);
}

int vici_list_conns(struct vici *v, const char *ike, struct vici_conn_info **conns, size_t *n)
{
	struct conn_list l = { 0 };
	struct vici_msg m;
	int ret;

	*conns = NULL;
	*n = 0;
	vici_msg_init(&m);
	if (ike)
		vici_kv_str(&m, "ike", ike);
	ret = vici_call(v, "list-conns", &m, "list-conn", on_conn, &l, 0, NULL);
	vici_msg_free(&m);
	if (ret < 0) {
		if (!v->err[0])		/* on_conn failed */
			vici_set_err(v, ret, ret == -ENOMEM ? "out of memory listing the connections" :
				     ret == -E2BIG ? "charon lists more than 100000 connections" :
				     "charon's `list-conn` event is not laid out as documented");
		free(l.conns);
		return ret;
	}
	*conns = l.conns;
	*n = l.n;
	return 0;
}

const struct vici_conn_info *vici_conn_find(const struct vici_conn_info *conns, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(conns[i].name, name))
			return &conns[i];
	return NULL;
}
