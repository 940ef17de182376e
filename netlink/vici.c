/* vici.c - strongSwan's VICI protocol: message builder, parser and transport.
 * The commands are in vici_cmd.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vici.h"

/* ---- builder ----------------------------------------------------------------- */

void vici_msg_init(struct vici_msg *m)
{
	memset(m, 0, sizeof(*m));
}

/* A message may hold a key (load-shared, load-key): wiped before it is freed. */
void vici_msg_free(struct vici_msg *m)
{
	if (m->buf)
		explicit_bzero(m->buf, m->cap);
	free(m->buf);
	vici_msg_init(m);
}

static void put(struct vici_msg *m, const void *p, size_t n)
{
	if (m->err)
		return;
	if (n > VICI_PACKET_MAX - m->len) {
		m->err = -EMSGSIZE;
		return;
	}
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 256;
		uint8_t *b;

		while (cap < m->len + n)
			cap *= 2;
		/* not realloc: the old buffer may hold a key, wiped before it goes */
		b = malloc(cap);
		if (!b) {
			m->err = -ENOMEM;
			return;
		}
		if (m->buf) {
			memcpy(b, m->buf, m->len);
			explicit_bzero(m->buf, m->cap);
			free(m->buf);
		}
		m->buf = b;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void put_type(struct vici_msg *m, uint8_t type)
{
	put(m, &type, 1);
}

static void put_name(struct vici_msg *m, const char *name)
{
	size_t n = strlen(name);
	uint8_t l = (uint8_t)n;

	if (n > 255) {
		if (!m->err)
			m->err = -EINVAL;
		return;
	}
	put(m, &l, 1);
	put(m, name, n);
}

static void put_value(struct vici_msg *m, const void *value, size_t len)
{
	uint8_t l[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	if (len > 65535 || (len && !value)) {
		if (!m->err)
			m->err = -EINVAL;
		return;
	}
	put(m, l, 2);
	put(m, value, len);
}

static bool misuse(struct vici_msg *m, bool bad)
{
	if (bad && !m->err)
		m->err = -EINVAL;
	return bad || m->err;
}

void vici_begin(struct vici_msg *m, const char *section)
{
	if (misuse(m, m->in_list || m->depth >= VICI_DEPTH_MAX || !section))
		return;
	put_type(m, VICI_SECTION_START);
	put_name(m, section);
	m->depth++;
}

void vici_end(struct vici_msg *m)
{
	if (misuse(m, m->in_list || m->depth == 0))
		return;
	put_type(m, VICI_SECTION_END);
	m->depth--;
}

void vici_kv(struct vici_msg *m, const char *key, const void *value, size_t len)
{
	if (misuse(m, m->in_list || !key))
		return;
	put_type(m, VICI_KEY_VALUE);
	put_name(m, key);
	put_value(m, value, len);
}

void vici_kv_str(struct vici_msg *m, const char *key, const char *value)
{
	if (misuse(m, !value))
		return;
	vici_kv(m, key, value, strlen(value));
}

void vici_kv_fmt(struct vici_msg *m, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (misuse(m, n < 0 || (size_t)n >= sizeof(buf)))
		return;
	vici_kv(m, key, buf, (size_t)n);
}

void vici_list(struct vici_msg *m, const char *name)
{
	if (misuse(m, m->in_list || !name))
		return;
	put_type(m, VICI_LIST_START);
	put_name(m, name);
	m->in_list = true;
}

void vici_item(struct vici_msg *m, const void *value, size_t len)
{
	if (misuse(m, !m->in_list))
		return;
	put_type(m, VICI_LIST_ITEM);
	put_value(m, value, len);
}

void vici_item_str(struct vici_msg *m, const char *value)
{
	if (misuse(m, !value))
		return;
	vici_item(m, value, strlen(value));
}

void vici_list_end(struct vici_msg *m)
{
	if (misuse(m, !m->in_list))
		return;
	put_type(m, VICI_LIST_END);
	m->in_list = false;
}

int vici_msg_check(const struct vici_msg *m)
{
	if (m->err)
		return m->err;
	return m->depth || m->in_list ? -EINVAL : 0;
}

/* ---- parser ------------------------------------------------------------------ */

/* The parse runs twice over the input: once counting nodes and string bytes
 * (and checking everything), once filling one allocation of exactly that size. */
struct build {
	struct vici_node *nodes;	/* NULL while counting */
	size_t n_nodes;
	char *str;
	size_t n_str;
	unsigned sp;
	struct vici_node *stack[VICI_DEPTH_MAX + 2], *tail[VICI_DEPTH_MAX + 2];
};

static const char *copy_str(struct build *b, const void *p, size_t n)
{
	char *s = b->str + b->n_str;

	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	b->n_str += n + 1;
	return s;
}

static struct vici_node *add(struct build *b, enum vici_kind kind, const uint8_t *name, size_t nlen,
			     const uint8_t *val, size_t vlen)
{
	struct vici_node *n, *parent;

	if (!b->nodes) {
		b->n_nodes++;
		b->n_str += nlen + 1 + (val ? vlen + 1 : 0);
		return NULL;
	}
	n = &b->nodes[b->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->name = copy_str(b, name, nlen);
	if (val) {
		n->value = (const uint8_t *)copy_str(b, val, vlen);
		n->len = vlen;
	}
	parent = b->stack[b->sp];
	if (b->tail[b->sp])
		b->tail[b->sp]->next = n;
	else
		parent->first = n;
	b->tail[b->sp] = n;
	return n;
}

static void push(struct build *b, struct vici_node *n)
{
	b->sp++;
	b->stack[b->sp] = n;
	b->tail[b->sp] = NULL;
}

#define FAIL(...) do { if (why) snprintf(why, whylen, __VA_ARGS__); return -EPROTO; } while (0)

static int walk(const uint8_t *buf, size_t len, struct build *b, char *why, size_t whylen)
{
	size_t off = 0;
	unsigned depth = 0;
	bool in_list = false;

	while (off < len) {
		size_t at = off, nlen = 0, vlen = 0;
		uint8_t type = buf[off++];
		const uint8_t *name = NULL, *val = NULL;
		struct vici_node *n;

		if (type < VICI_SECTION_START || type > VICI_LIST_END)
			FAIL("unknown element type %u at offset %zu", type, at);
		if (type == VICI_SECTION_START || type == VICI_KEY_VALUE || type == VICI_LIST_START) {
			if (off >= len)
				FAIL("element at offset %zu: its name is cut off", at);
			nlen = buf[off++];
			if (nlen > len - off)
				FAIL("element at offset %zu: name of %zu bytes, %zu left", at, nlen, len - off);
			name = buf + off;
			off += nlen;
			if (nlen && memchr(name, 0, nlen))
				FAIL("element at offset %zu: NUL byte in its name", at);
		}
		if (type == VICI_KEY_VALUE || type == VICI_LIST_ITEM) {
			if (len - off < 2)
				FAIL("element at offset %zu: its value length is cut off", at);
			vlen = (size_t)buf[off] << 8 | buf[off + 1];
			off += 2;
			if (vlen > len - off)
				FAIL("element at offset %zu: value of %zu bytes, %zu left", at, vlen, len - off);
			val = buf + off;
			off += vlen;
		}
		switch (type) {
		case VICI_SECTION_START:
			if (in_list)
				FAIL("section inside a list at offset %zu", at);
			if (depth >= VICI_DEPTH_MAX)
				FAIL("sections nested deeper than %d at offset %zu", VICI_DEPTH_MAX, at);
			n = add(b, VICI_NODE_SECTION, name, nlen, NULL, 0);
			if (b->nodes)
				push(b, n);
			depth++;
			break;
		case VICI_SECTION_END:
			if (in_list)
				FAIL("section end inside a list at offset %zu", at);
			if (depth == 0)
				FAIL("section end without a section at offset %zu", at);
			if (b->nodes)
				b->sp--;
			depth--;
			break;
		case VICI_KEY_VALUE:
			if (in_list)
				FAIL("key/value inside a list at offset %zu", at);
			add(b, VICI_NODE_VALUE, name, nlen, val, vlen);
			break;
		case VICI_LIST_START:
			if (in_list)
				FAIL("list inside a list at offset %zu", at);
			n = add(b, VICI_NODE_LIST, name, nlen, NULL, 0);
			if (b->nodes)
				push(b, n);
			in_list = true;
			break;
		case VICI_LIST_ITEM:
			if (!in_list)
				FAIL("list item outside a list at offset %zu", at);
			add(b, VICI_NODE_ITEM, NULL, 0, val, vlen);
			break;
		case VICI_LIST_END:
			if (!in_list)
				FAIL("list end without a list at offset %zu", at);
			if (b->nodes)
				b->sp--;
			in_list = false;
			break;
		}
	}
	if (in_list)
		FAIL("a list is not closed at the end");
	if (depth)
		FAIL("%u section(s) not closed at the end", depth);
	return 0;
}

int vici_parse(const void *buf, size_t len, struct vici_node **root, char *why, size_t whylen)
{
	struct build b = { 0 };
	size_t size;
	int ret;

	*root = NULL;
	if (why && whylen)
		why[0] = '\0';
	if (len > VICI_PACKET_MAX)
		FAIL("message of %zu bytes, more than %d", len, VICI_PACKET_MAX);
	if (len && !buf)
		FAIL("no message");
	ret = walk(buf, len, &b, why, whylen);
	if (ret < 0)
		return ret;
	/* the root, and its name "" */
	size = (b.n_nodes + 1) * sizeof(struct vici_node) + b.n_str + 1;
	b.nodes = calloc(1, size);
	if (!b.nodes)
		return -ENOMEM;
	b.str = (char *)(b.nodes + b.n_nodes + 1);
	b.n_nodes = 1;
	b.n_str = 0;
	b.nodes[0].kind = VICI_NODE_SECTION;
	b.nodes[0].name = copy_str(&b, NULL, 0);
	b.stack[0] = &b.nodes[0];
	ret = walk(buf, len, &b, why, whylen);
	if (ret < 0) {		/* not reached: the first walk accepted the same input */
		free(b.nodes);
		return ret;
	}
	*root = b.nodes;
	return 0;
}

void vici_free(struct vici_node *root)
{
	free(root);
}

const struct vici_node *vici_find(const struct vici_node *sec, const char *name)
{
	if (!sec || sec->kind != VICI_NODE_SECTION)
		return NULL;
	for (const struct vici_node *n = sec->first; n; n = n->next)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

const char *vici_node_str(const struct vici_node *n)
{
	if (!n || (n->kind != VICI_NODE_VALUE && n->kind != VICI_NODE_ITEM))
		return NULL;
	if (n->len && memchr(n->value, 0, n->len))
		return NULL;
	return (const char *)n->value;
}

const char *vici_str(const struct vici_node *sec, const char *name)
{
	return vici_node_str(vici_find(sec, name));
}

int vici_u64(const struct vici_node *sec, const char *name, uint64_t *out)
{
	const struct vici_node *n = vici_find(sec, name);
	const char *s;
	uint64_t v = 0;

	if (!n)
		return -ENOENT;
	s = vici_node_str(n);
	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

bool vici_yes(const struct vici_node *sec, const char *name)
{
	const char *s = vici_str(sec, name);

	return s && !strcmp(s, "yes");
}

void vici_encode_tree(struct vici_msg *m, const struct vici_node *root)
{
	if (!root || root->kind != VICI_NODE_SECTION) {
		misuse(m, true);
		return;
	}
	for (const struct vici_node *n = root->first; n; n = n->next) {
		switch (n->kind) {
		case VICI_NODE_SECTION:
			vici_begin(m, n->name);
			vici_encode_tree(m, n);
			vici_end(m);
			break;
		case VICI_NODE_VALUE:
			vici_kv(m, n->name, n->value, n->len);
			break;
		case VICI_NODE_LIST:
			vici_list(m, n->name);
			for (const struct vici_node *i = n->first; i; i = i->next)
				vici_item(m, i->value, i->len);
			vici_list_end(m);
			break;
		case VICI_NODE_ITEM:
			misuse(m, true);
			break;
		}
	}
}

static bool printable(const struct vici_node *n)
{
	for (size_t i = 0; i < n->len; i++)
		if (n->value[i] < 0x20 || n->value[i] > 0x7e)
			return false;
	return true;
}

static bool is_secret(const char *name, const char *const *secret)
{
	for (; secret && *secret; secret++)
		if (!strcmp(name, *secret))
			return true;
	return false;
}

static void print_value(const struct vici_node *n, bool secret, FILE *out)
{
	if (secret)
		fputs("<secret>", out);
	else if (printable(n))
		fputs((const char *)n->value, out);
	else
		fprintf(out, "<%zu bytes>", n->len);
}

static void print_section(const struct vici_node *sec, int indent, FILE *out, const char *const *secret)
{
	for (const struct vici_node *n = sec->first; n; n = n->next) {
		bool hide = is_secret(n->name, secret);

		fprintf(out, "%*s%s", indent * 4, "", n->name);
		switch (n->kind) {
		case VICI_NODE_SECTION:
			fputs(" {\n", out);
			print_section(n, indent + 1, out, secret);
			fprintf(out, "%*s}\n", indent * 4, "");
			break;
		case VICI_NODE_VALUE:
			fputs(" = ", out);
			print_value(n, hide, out);
			fputc('\n', out);
			break;
		case VICI_NODE_LIST:
			fputs(" =", out);
			for (const struct vici_node *i = n->first; i; i = i->next) {
				fputs(i == n->first ? " " : ", ", out);
				print_value(i, hide, out);
			}
			fputc('\n', out);
			break;
		case VICI_NODE_ITEM:
			break;
		}
	}
}

int vici_msg_print(const struct vici_msg *m, FILE *out, const char *const *secret)
{
	struct vici_node *root;
	int ret = vici_msg_check(m);

	if (ret < 0)
		return ret;
	ret = vici_parse(m->buf, m->len, &root, NULL, 0);
	if (ret < 0)
		return ret;
	print_section(root, 0, out, secret);
	vici_free(root);
	return ferror(out) ? -EIO : 0;
}

/* ---- packets and the socket -------------------------------------------------- */

static bool named_type(uint8_t type)
{
	return type == VICI_CMD_REQUEST || type == VICI_EVENT_REGISTER ||
	       type == VICI_EVENT_UNREGISTER || type == VICI_EVENT;
}

int vici_packet_split(const uint8_t *pkt, size_t len, uint8_t *type, char name[256],
		      const uint8_t **msg, size_t *msglen)
{
	size_t off = 1;

	name[0] = '\0';
	if (len < 1 || pkt[0] > VICI_EVENT)
		return -EPROTO;
	*type = pkt[0];
	if (named_type(*type)) {
		size_t nlen;

		if (len < 2)
			return -EPROTO;
		nlen = pkt[1];
		if (nlen > len - 2 || (nlen && memchr(pkt + 2, 0, nlen)))
			return -EPROTO;
		memcpy(name, pkt + 2, nlen);
		name[nlen] = '\0';
		off = 2 + nlen;
	}
	*msg = pkt + off;
	*msglen = len - off;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			return 0;
	}
}

int vici_set_err(struct vici *v, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->err, sizeof(v->err), fmt, ap);
	va_end(ap);
	return ret;
}

int vici_open(struct vici *v, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret = 0;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->timeout_ms = VICI_TIMEOUT_MS;
	if (!path)
		path = VICI_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(v->path))
		return vici_set_err(v, -EINVAL, "charon's socket path `%s` is too long", path);
	strcpy(v->path, path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vici_set_err(v, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		if (ret == -EINPROGRESS) {
			int e = 0;
			socklen_t l = sizeof(e);

			ret = wait_fd(fd, POLLOUT, now_ms() + v->timeout_ms);
			if (!ret && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
				ret = -errno;
			else if (!ret)
				ret = -e;
		}
	}
	if (ret < 0) {
		close(fd);
		if (ret == -ENOENT || ret == -ECONNREFUSED || ret == -ENOTDIR)
			return vici_set_err(v, ret, "cannot reach strongSwan's charon at %s: %s; is it running? "
				       "(systemctl start strongswan)", path, strerror(-ret));
		if (ret == -EAGAIN || ret == -ETIMEDOUT)
			return vici_set_err(v, -ETIMEDOUT, "charon at %s does not accept connections (busy or hung)",
				       path);
		if (ret == -EACCES || ret == -EPERM)
			return vici_set_err(v, ret, "cannot connect to charon at %s: %s (run as root)",
				       path, strerror(-ret));
		return vici_set_err(v, ret, "cannot connect to charon at %s: %s", path, strerror(-ret));
	}
	v->fd = fd;
	return 0;
}

int vici_peer_root(struct vici *v)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (v->fd < 0)
		return vici_set_err(v, -ENOTCONN, "not connected to charon");
	if (getsockopt(v->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return vici_set_err(v, -EPERM, "cannot tell who listens on %s (SO_PEERCRED: %s); keys are sent "
				    "to root's charon only", v->path, strerror(errno));
	if (cred.uid != 0)
		return vici_set_err(v, -EPERM, "the process listening on %s (pid %d) runs as uid %u, not root: "
				    "it is not charon, and gets no key", v->path, (int)cred.pid, (unsigned)cred.uid);
	return 0;
}

void vici_close(struct vici *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

static int write_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			int ret;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			ret = wait_fd(fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			int ret;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			ret = wait_fd(fd, POLLIN, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* An I/O failure leaves the stream out of step: drop the connection. */
static int io_fail(struct vici *v, int ret, const char *what, const char *cmd, int timeout_ms)
{
	vici_close(v);
	if (ret == -ETIMEDOUT)
		return vici_set_err(v, ret, "charon at %s did not answer `%s` within %d.%d s", v->path, cmd,
			       timeout_ms / 1000, timeout_ms % 1000 / 100);
	if (ret == -ECONNRESET || ret == -EPIPE)
		return vici_set_err(v, ret, "charon closed the connection during `%s` (it stopped?)", cmd);
	return vici_set_err(v, ret, "%s `%s` with charon at %s: %s", what, cmd, v->path, strerror(-ret));
}

static int send_packet(struct vici *v, uint8_t type, const char *name, const struct vici_msg *m,
		       int64_t deadline)
{
	size_t nlen = name ? strlen(name) : 0, mlen = m ? m->len : 0;
	size_t len = 1 + (name ? 1 + nlen : 0) + mlen;
	uint8_t *pkt = malloc(4 + len), *p = pkt;
	int ret;

	if (!pkt)
		return -ENOMEM;
	*p++ = (uint8_t)(len >> 24);
	*p++ = (uint8_t)(len >> 16);
	*p++ = (uint8_t)(len >> 8);
	*p++ = (uint8_t)len;
	*p++ = type;
	if (name) {
		*p++ = (uint8_t)nlen;
		memcpy(p, name, nlen);
		p += nlen;
	}
	if (mlen)
		memcpy(p, m->buf, mlen);
	ret = write_all(v->fd, pkt, 4 + len, deadline);
	explicit_bzero(pkt, 4 + len);	/* a copy of the message: perhaps a key */
	free(pkt);
	return ret;
}

static int recv_packet(struct vici *v, int64_t deadline, uint8_t **pkt, size_t *len)
{
	uint8_t hdr[4];
	size_t n;
	int ret = read_all(v->fd, hdr, 4, deadline);

	*pkt = NULL;
	if (ret < 0)
		return ret;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > VICI_PACKET_MAX)
		return -EPROTO;
	*pkt = calloc(1, n);	/* zeroed: gcc -fanalyzer does not see read(2) fill it */
	if (!*pkt)
		return -ENOMEM;
	ret = read_all(v->fd, *pkt, n, deadline);
	if (ret < 0) {
		free(*pkt);
		*pkt = NULL;
		return ret;
	}
	*len = n;
	return 0;
}

/* (Un)register for EVENT: wait for its confirmation, skipping events. */
static int manage_event(struct vici *v, uint8_t type, const char *event, const char *cmd,
			int64_t deadline, int timeout_ms)
{
	int ret = send_packet(v, type, event, NULL, deadline);

	if (ret < 0)
		return io_fail(v, ret, "sending", cmd, timeout_ms);
	for (;;) {
		uint8_t *pkt, ptype;
		const uint8_t *msg;
		size_t len, mlen;
		char name[256];

		ret = recv_packet(v, deadline, &pkt, &len);
		if (ret < 0)
			return io_fail(v, ret, "reading the answer to", cmd, timeout_ms);
		ret = vici_packet_split(pkt, len, &ptype, name, &msg, &mlen);
		free(pkt);
		if (ret < 0 || (ptype != VICI_EVENT && ptype != VICI_EVENT_CONFIRM && ptype != VICI_EVENT_UNKNOWN)) {
			vici_close(v);
			return vici_set_err(v, -EPROTO, "charon answered the (un)registration for `%s` with "
				       "packet type %u", event, ret < 0 ? 255u : ptype);
		}
		if (ptype == VICI_EVENT_CONFIRM)
			return 0;
		if (ptype == VICI_EVENT_UNKNOWN)
			return vici_set_err(v, -EOPNOTSUPP, "charon does not know the event `%s` "
				       "(strongSwan too old for `%s`?)", event, cmd);
	}
}

int vici_register(struct vici *v, const char *event)
{
	v->err[0] = '\0';
	if (!event || !*event || strlen(event) > 255)
		return vici_set_err(v, -EINVAL, "bad event name");
	if (v->fd < 0)
		return vici_set_err(v, -ENOTCONN, "not connected to charon (event `%s`)", event);
	return manage_event(v, VICI_EVENT_REGISTER, event, event, now_ms() + v->timeout_ms, v->timeout_ms);
}

int vici_call(struct vici *v, const char *cmd, const struct vici_msg *req,
	      const char *event, vici_event_fn fn, void *arg, int timeout_ms,
	      struct vici_node **resp)
{
	int64_t deadline;
	int ret, event_ret = 0;
	struct vici_node *root = NULL;

	if (resp)
		*resp = NULL;
	v->err[0] = '\0';
	if (!cmd || strlen(cmd) > 255 || (event && strlen(event) > 255))
		return vici_set_err(v, -EINVAL, "bad command or event name");
	if (req && vici_msg_check(req) < 0)
		return vici_set_err(v, -EINVAL, "the request for `%s` is malformed (%s)", cmd,
			       strerror(-vici_msg_check(req)));
	if (v->fd < 0)
		return vici_set_err(v, -ENOTCONN, "not connected to charon (`%s`)", cmd);
	if (timeout_ms <= 0)
		timeout_ms = v->timeout_ms;
	deadline = now_ms() + timeout_ms;
	if (event) {
		ret = manage_event(v, VICI_EVENT_REGISTER, event, cmd, deadline, timeout_ms);
		if (ret < 0)
			return ret;
	}
	ret = send_packet(v, VICI_CMD_REQUEST, cmd, req, deadline);
	if (ret < 0)
		return io_fail(v, ret, "sending", cmd, timeout_ms);
	for (;;) {
		uint8_t *pkt, type;
		const uint8_t *msg;
		size_t len, mlen;
		char name[256], why[160];

		ret = recv_packet(v, deadline, &pkt, &len);
		if (ret < 0)
			return io_fail(v, ret, "reading the answer to", cmd, timeout_ms);
		ret = vici_packet_split(pkt, len, &type, name, &msg, &mlen);
		if (ret < 0 || (type != VICI_EVENT && type != VICI_CMD_RESPONSE && type != VICI_CMD_UNKNOWN)) {
			free(pkt);
			vici_close(v);
			return vici_set_err(v, -EPROTO, "charon answered `%s` with a malformed packet or one of "
				       "type %u", cmd, ret < 0 ? 255u : type);
		}
		if (type == VICI_CMD_UNKNOWN) {
			free(pkt);
			ret = vici_set_err(v, -EOPNOTSUPP, "charon does not know the command `%s` "
				      "(strongSwan too old?)", cmd);
			break;
		}
		ret = vici_parse(msg, mlen, &root, why, sizeof(why));
		free(pkt);
		if (ret < 0) {
			/* the stream is still in step: packets are delimited by length */
			if (type == VICI_CMD_RESPONSE) {
				ret = vici_set_err(v, ret, "charon's answer to `%s` is malformed: %s", cmd, why);
				break;
			}
			if (!event_ret)
				event_ret = vici_set_err(v, ret, "charon's `%s` event is malformed: %s", name, why);
			continue;
		}
		if (type == VICI_CMD_RESPONSE)
			break;
		if (event && fn && !event_ret && !strcmp(name, event))
			event_ret = fn(name, root, arg);
		vici_free(root);
		root = NULL;
	}
	if (event && v->fd >= 0) {
		int r = manage_event(v, VICI_EVENT_UNREGISTER, event, cmd, deadline, timeout_ms);

		if (r < 0 && ret >= 0) {
			vici_free(root);
			return r;
		}
	}
	if (ret >= 0 && event_ret < 0)
		ret = event_ret;
	if (ret < 0 || !resp)
		vici_free(root);
	else
		*resp = root;
	return ret < 0 ? ret : 0;
}

int vici_call_checked(struct vici *v, const char *cmd, const struct vici_msg *req,
		      struct vici_node **resp)
{
	struct vici_node *root;
	int ret = vici_call(v, cmd, req, NULL, NULL, NULL, 0, &root);

	if (resp)
		*resp = NULL;
	if (ret < 0)
		return ret;
	if (vici_find(root, "success") && !vici_yes(root, "success")) {
		const char *msg = vici_str(root, "errmsg");

		ret = vici_set_err(v, -EREMOTEIO, "charon refused `%s`: %s", cmd,
			      msg && *msg ? msg : "(no reason given)");
		vici_free(root);
		return ret;
	}
	if (resp)
		*resp = root;
	else
		vici_free(root);
	return 0;
}
