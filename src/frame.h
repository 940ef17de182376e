/* frame.h - the relay's frame format between sites, and reassembly of datagrams
 * split over two frames. Pure functions: no I/O, time is passed in.
 * docs/relay.md describes the format. */
#ifndef GATEWAYCTL_FRAME_H
#define GATEWAYCTL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAGIC 0x6772u		/* "gr" */
#define FRAME_VERSION 1
#define FRAME_HDR_LEN 20
#define UDP_PAYLOAD_MAX 65507		/* largest UDP payload over IPv4 */
#define FRAME_PAYLOAD_MAX (UDP_PAYLOAD_MAX - FRAME_HDR_LEN)
#define FRAME_MAX_FRAGS 4		/* fragments a receiver accepts per datagram */

/* One frame's header, in host byte order. Addresses are host order too. */
struct frame_hdr {
	uint8_t version;
	uint8_t hops;
	uint32_t src_addr;	/* the original sender */
	uint16_t src_port;
	uint16_t dst_port;	/* the relayed port */
	uint32_t id;		/* datagram id, per sender */
	uint16_t total;		/* the whole datagram's payload length */
	uint16_t offset;	/* where this frame's payload sits in it */
};

enum frame_err {
	FRAME_OK = 0,
	FRAME_SHORT = -1,	/* shorter than the header */
	FRAME_BAD_MAGIC = -2,
	FRAME_BAD_VERSION = -3,
	FRAME_BAD_LENGTH = -4,	/* total, offset and payload length disagree */
};
const char *frame_strerror(int err);

/* Write H's header into BUF (FRAME_HDR_LEN bytes); version and magic are set. */
void frame_encode(uint8_t *buf, const struct frame_hdr *h);

/* Parse a frame of LEN bytes. On FRAME_OK, *H, *PAYLOAD (inside BUF) and *PLEN
 * are set; a frame never claims bytes it does not hold. */
int frame_parse(const uint8_t *buf, size_t len, struct frame_hdr *h,
		const uint8_t **payload, size_t *plen);

/* How a datagram of TOTAL bytes is split: number of frames (1 or 2), and
 * fragment I's offset and length. */
unsigned frame_count(size_t total);
void frame_fragment(size_t total, unsigned i, size_t *offset, size_t *len);

/* --- reassembly -------------------------------------------------------------- */

enum reasm_result {
	REASM_PENDING = 0,	/* kept, waiting for the other fragments */
	REASM_COMPLETE = 1,	/* *OUT holds the whole datagram */
	REASM_DUPLICATE = -1,	/* this fragment was already there: dropped */
	REASM_INCONSISTENT = -2, /* overlaps or disagrees with its siblings: datagram dropped */
};

struct reasm_slot {
	bool used;
	uint32_t peer;		/* key: sending relay, id, source, port */
	uint32_t id, src_addr;
	uint16_t src_port, dst_port, total;
	uint8_t hops;
	uint8_t n_frags;
	uint16_t frag_off[FRAME_MAX_FRAGS], frag_len[FRAME_MAX_FRAGS];
	uint32_t have;		/* bytes received */
	uint64_t started_ms;
	uint8_t *data;		/* UDP_PAYLOAD_MAX bytes, preallocated */
};

struct reasm {
	struct reasm_slot *slots;
	size_t n_slots;
	size_t per_peer;	/* at most this many slots per peer (reasm_init: n_slots) */
	uint64_t timeout_ms;
	uint8_t *pool;
	uint64_t timed_out, evicted;	/* datagrams given up */
};

/* N_SLOTS datagrams in reassembly at once, each given TIMEOUT_MS. 0 or -ENOMEM. */
int reasm_init(struct reasm *r, size_t n_slots, uint64_t timeout_ms);
void reasm_free(struct reasm *r);

/* Add a fragment (H, PAYLOAD of PLEN as parsed) from relay PEER at NOW_MS.
 * When complete, *OUT and *OUT_LEN give the datagram (valid until the next
 * call; H's other fields describe it). A new datagram of a peer that holds
 * per_peer slots replaces that peer's oldest; in a full table it takes the
 * oldest slot of the peer holding the most slots, if that is more than PEER
 * holds, else PEER's own oldest: no peer can evict another's fair share. */
int reasm_add(struct reasm *r, uint32_t peer, const struct frame_hdr *h,
	      const uint8_t *payload, size_t plen, uint64_t now_ms,
	      const uint8_t **out, size_t *out_len);

/* Give up datagrams older than the timeout. Returns how many. */
size_t reasm_expire(struct reasm *r, uint64_t now_ms);

/* --- small helpers shared by the relay and its tests ------------------------- */

/* Internet checksum of a UDP datagram over IPv4 (pseudo-header included;
 * addresses host order, UDP_LEN = header + payload). The header's checksum
 * field must be 0 in HDR. Returns the value to store (network order), never 0. */
uint16_t udp4_checksum(uint32_t src, uint32_t dst, const uint8_t *hdr, size_t hdr_len,
		       const uint8_t *payload, size_t plen);

/* Token bucket: RATE tokens per second, at most BURST; time in ns. */
struct bucket {
	uint64_t credit;	/* tokens * 1e9 */
	uint64_t last_ns;
};
void bucket_init(struct bucket *b, unsigned burst, uint64_t now_ns);
bool bucket_take(struct bucket *b, unsigned rate, unsigned burst, uint64_t now_ns);

#endif
