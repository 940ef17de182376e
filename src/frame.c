/* frame.c - the relay's frame format, reassembly, checksum, token bucket */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Frame header, network byte order (docs/relay.md):
 *   0  u16 magic 0x6772        2  u8 version (1)     3  u8 hops
 *   4  u32 original source address
 *   8  u16 original source port                      10 u16 destination port
 *   12 u32 datagram id
 *   16 u16 total payload length                      18 u16 offset of this frame's payload
 *   20 payload
 */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *frame_strerror(int err)
{
	switch (err) {
	case FRAME_OK: return "ok";
	case FRAME_SHORT: return "shorter than a frame header";
	case FRAME_BAD_MAGIC: return "wrong magic";
	case FRAME_BAD_VERSION: return "unknown version";
	case FRAME_BAD_LENGTH: return "lengths disagree";
	}
	return "?";
}

void frame_encode(uint8_t *buf, const struct frame_hdr *h)
{
	put16(buf, FRAME_MAGIC);
	buf[2] = FRAME_VERSION;
	buf[3] = h->hops;
	put32(buf + 4, h->src_addr);
	put16(buf + 8, h->src_port);
	put16(buf + 10, h->dst_port);
	put32(buf + 12, h->id);
	put16(buf + 16, h->total);
	put16(buf + 18, h->offset);
}

int frame_parse(const uint8_t *buf, size_t len, struct frame_hdr *h,
		const uint8_t **payload, size_t *plen)
{
	size_t n;

	if (len < FRAME_HDR_LEN)
		return FRAME_SHORT;
	if (get16(buf) != FRAME_MAGIC)
		return FRAME_BAD_MAGIC;
	if (buf[2] != FRAME_VERSION)
		return FRAME_BAD_VERSION;
	if (len > UDP_PAYLOAD_MAX)
		return FRAME_BAD_LENGTH;
	h->version = buf[2];
	h->hops = buf[3];
	h->src_addr = get32(buf + 4);
	h->src_port = get16(buf + 8);
	h->dst_port = get16(buf + 10);
	h->id = get32(buf + 12);
	h->total = get16(buf + 16);
	h->offset = get16(buf + 18);
	n = len - FRAME_HDR_LEN;
	if (h->total > UDP_PAYLOAD_MAX || (size_t)h->offset + n > h->total || (n == 0 && h->total != 0))
		return FRAME_BAD_LENGTH;
	*payload = buf + FRAME_HDR_LEN;
	*plen = n;
	return FRAME_OK;
}

unsigned frame_count(size_t total)
{
	return total <= FRAME_PAYLOAD_MAX ? 1 : 2;
}

void frame_fragment(size_t total, unsigned i, size_t *offset, size_t *len)
{
	size_t first;

	if (total <= FRAME_PAYLOAD_MAX) {
		*offset = 0;
		*len = total;
		return;
	}
	/* two halves of about the same size: both well under the limit */
	first = (total + 1) / 2;
	*offset = i ? first : 0;
	*len = i ? total - first : first;
}

/* --- reassembly ------------------------------------------------------------------ */

int reasm_init(struct reasm *r, size_t n_slots, uint64_t timeout_ms)
{
	memset(r, 0, sizeof(*r));
	if (!n_slots)
		return -EINVAL;
	r->slots = calloc(n_slots, sizeof(*r->slots));
	r->pool = malloc(n_slots * (size_t)UDP_PAYLOAD_MAX);
	if (!r->slots || !r->pool) {
		reasm_free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_slots; i++)
		r->slots[i].data = r->pool + i * (size_t)UDP_PAYLOAD_MAX;
	r->n_slots = n_slots;
	r->per_peer = n_slots;
	r->timeout_ms = timeout_ms;
	return 0;
}

void reasm_free(struct reasm *r)
{
	free(r->slots);
	free(r->pool);
	r->slots = NULL;
	r->pool = NULL;
	r->n_slots = 0;
}

static bool slot_matches(const struct reasm_slot *s, uint32_t peer, const struct frame_hdr *h)
{
	return s->used && s->peer == peer && s->id == h->id && s->src_addr == h->src_addr &&
	       s->src_port == h->src_port && s->dst_port == h->dst_port;
}

static bool expired(const struct reasm *r, const struct reasm_slot *s, uint64_t now_ms)
{
	return now_ms - s->started_ms >= r->timeout_ms || now_ms < s->started_ms;
}

/* How many slots PEER holds, and its oldest one. */
static size_t held(const struct reasm *r, uint32_t peer, struct reasm_slot **oldest)
{
	size_t n = 0;

	*oldest = NULL;
	for (size_t i = 0; i < r->n_slots; i++) {
		struct reasm_slot *c = &r->slots[i];

		if (!c->used || c->peer != peer)
			continue;
		n++;
		if (!*oldest || c->started_ms < (*oldest)->started_ms)
			*oldest = c;
	}
	return n;
}

/* A slot for a new datagram of PEER. A peer never holds more than per_peer
 * slots, and takes one from another peer only if that peer holds more than it
 * does (its oldest): a flood from one peer, or from somebody forging it, costs
 * that peer its own half-received datagrams, never another's fair share. */
static struct reasm_slot *new_slot(struct reasm *r, uint32_t peer, uint64_t now_ms)
{
	struct reasm_slot *s = NULL, *own, *victim = NULL;
	size_t mine, most = 0;

	for (size_t i = 0; i < r->n_slots; i++) {
		struct reasm_slot *c = &r->slots[i];

		if (c->used && expired(r, c, now_ms)) {
			c->used = false;
			r->timed_out++;
		}
		if (!c->used && !s)
			s = c;
	}
	mine = held(r, peer, &own);
	if (own && mine >= r->per_peer) {
		r->evicted++;
		return own;
	}
	if (s)
		return s;
	/* full: the oldest slot of the peer that holds the most */
	for (size_t i = 0; i < r->n_slots; i++) {
		struct reasm_slot *c = &r->slots[i], *o;
		size_t n;

		if (c->peer == peer || (victim && c->peer == victim->peer))
			continue;
		n = held(r, c->peer, &o);
		if (!o)
			continue;
		if (n > most || (n == most && victim && o->started_ms < victim->started_ms)) {
			most = n;
			victim = o;
		}
	}
	if ((!victim || most <= mine) && own)
		victim = own;	/* nobody holds more than PEER: its own oldest */
	if (!victim)
		victim = &r->slots[0];	/* (not reached: a full table holds somebody's slot) */
	r->evicted++;
	return victim;
}

int reasm_add(struct reasm *r, uint32_t peer, const struct frame_hdr *h,
	      const uint8_t *payload, size_t plen, uint64_t now_ms,
	      const uint8_t **out, size_t *out_len)
{
	struct reasm_slot *s = NULL;

	if (h->offset == 0 && plen == h->total) {
		/* a whole datagram: nothing to keep; a stale partial copy goes */
		for (size_t i = 0; i < r->n_slots; i++)
			if (slot_matches(&r->slots[i], peer, h))
				r->slots[i].used = false;
		*out = payload;
		*out_len = plen;
		return REASM_COMPLETE;
	}
	for (size_t i = 0; i < r->n_slots; i++) {
		struct reasm_slot *c = &r->slots[i];

		if (slot_matches(c, peer, h)) {
			s = c;
			break;
		}
	}
	if (s && expired(r, s, now_ms)) {
		r->timed_out++;
		s->used = false;
		s = NULL;
	}
	if (s) {
		uint32_t a = h->offset, b = h->offset + (uint32_t)plen;

		if (s->total != h->total) {
			s->used = false;
			return REASM_INCONSISTENT;
		}
		for (unsigned i = 0; i < s->n_frags; i++) {
			uint32_t c = s->frag_off[i], d = c + s->frag_len[i];

			if (c == a && d == b)
				return REASM_DUPLICATE;
			if (a < d && c < b) {
				s->used = false;
				return REASM_INCONSISTENT;
			}
		}
		if (s->n_frags == FRAME_MAX_FRAGS) {
			s->used = false;
			return REASM_INCONSISTENT;
		}
	} else {
		s = new_slot(r, peer, now_ms);
		s->used = true;
		s->peer = peer;
		s->id = h->id;
		s->src_addr = h->src_addr;
		s->src_port = h->src_port;
		s->dst_port = h->dst_port;
		s->total = h->total;
		s->n_frags = 0;
		s->have = 0;
		s->started_ms = now_ms;
	}
	memcpy(s->data + h->offset, payload, plen);
	s->frag_off[s->n_frags] = h->offset;
	s->frag_len[s->n_frags] = (uint16_t)plen;
	s->n_frags++;
	s->have += (uint32_t)plen;
	s->hops = h->hops;
	if (s->have < s->total)
		return REASM_PENDING;
	s->used = false;
	*out = s->data;
	*out_len = s->total;
	return REASM_COMPLETE;
}

size_t reasm_expire(struct reasm *r, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_slots; i++) {
		struct reasm_slot *s = &r->slots[i];

		if (s->used && expired(r, s, now_ms)) {
			s->used = false;
			n++;
		}
	}
	r->timed_out += n;
	return n;
}

/* --- checksum and token bucket ----------------------------------------------------- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	while (n >= 2) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	/* fold often enough that 32 bits never overflow */
	return (sum & 0xffff) + (sum >> 16);
}

uint16_t udp4_checksum(uint32_t src, uint32_t dst, const uint8_t *hdr, size_t hdr_len,
		       const uint8_t *payload, size_t plen)
{
	uint32_t sum = 0;
	size_t ulen = hdr_len + plen;
	uint16_t r;

	sum += src >> 16;
	sum += src & 0xffff;
	sum += dst >> 16;
	sum += dst & 0xffff;
	sum += 17;
	sum += (uint32_t)(ulen & 0xffff);
	sum = sum16(sum, hdr, hdr_len);	/* hdr_len is even */
	/* in chunks, folding between them */
	while (plen) {
		size_t n = plen > 32768 ? 32768 : plen;

		sum = sum16(sum, payload, n);
		payload += n;
		plen -= n;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	r = (uint16_t)~sum;
	return r ? r : 0xffff;
}

#define NS 1000000000ull

void bucket_init(struct bucket *b, unsigned burst, uint64_t now_ns)
{
	b->credit = (uint64_t)burst * NS;
	b->last_ns = now_ns;
}

bool bucket_take(struct bucket *b, unsigned rate, unsigned burst, uint64_t now_ns)
{
	uint64_t max = (uint64_t)burst * NS;

	if (now_ns > b->last_ns) {
		uint64_t elapsed = now_ns - b->last_ns;

		if (rate == 0 || elapsed >= max / rate)
			b->credit = max;
		else if ((b->credit += elapsed * rate) > max)
			b->credit = max;
		b->last_ns = now_ns;
	}
	if (b->credit < NS)
		return false;
	b->credit -= NS;
	return true;
}
