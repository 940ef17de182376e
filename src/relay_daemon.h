/* relay_daemon.h - the relay daemon's state, shared by its set-up and loop
 * (relay.c) and its data path (relay_io.c). docs/relay.md describes both. */
#ifndef GATEWAYCTL_RELAY_DAEMON_H
#define GATEWAYCTL_RELAY_DAEMON_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "budget.h"
#include "config.h"
#include "frame.h"
#include "relay.h"
#include "proc.h"
#include "relay_priv.h"

#define BATCH 32		/* datagrams per recvmmsg */
#define RECV_BUF 65536		/* per datagram: any UDP payload fits */
#define SEND_MAX 64		/* frames per sendmmsg to peers */
#define LSEND_MAX 128		/* packets (IP fragments) per sendmmsg on the LAN */
#define REASM_PER_PEER 4	/* datagrams in reassembly per peer */
#define REASM_MIN_SLOTS 16
#define REASM_MAX_SLOTS 128	/* 64 KiB each */
#define REASM_TIMEOUT_MS 2000
#define RESOLVE_MS 2000		/* re-read tunnel ifindexes and the LAN MTU */
#define MISS_RESOLVE_MS 200	/* at most this often on a frame from the wrong ifindex */
#define RECV_SOCK_BUF (4 << 20)
#define TR_SEND_BUF (1 << 20)	/* transport: beyond it frames wait in the peers' queues */
#define RAW_SEND_BUF (4 << 20)
#define RAW_TTL 64
#define PQ_FRAMES 64		/* frames waiting per peer ... */
#define PQ_BYTES (512 << 10)	/* ... and bytes */
#define QUEUE_BYTES_MAX (8 << 20)	/* for all peers together */
#define SLICE_NS 20000000ull	/* work per loop turn before signals are looked at again */
#define RETRY_NS 5000000ull	/* after ENOBUFS: try the queues again this much later */
#define EV_TRANSPORT 1000	/* epoll data: the transport socket (ports are 0..63) */
#define EV_SIGNAL 1001

/* a frame waiting for room in the transport socket */
struct qframe {
	uint16_t pi;		/* port index */
	bool last;		/* the datagram's last frame */
	uint32_t len;		/* header + payload */
	uint8_t data[];
};

struct pqueue {
	struct qframe *q[PQ_FRAMES];	/* ring */
	unsigned head, n, taken;	/* taken: in the sendmmsg being built */
	size_t bytes;
};

struct rpeer {
	const struct peer *p;
	uint32_t addr;			/* its lan_address, host order */
	int ifindex;			/* of its tunnel, 0 = absent */
	struct sockaddr_in sa;		/* lan_address:transport */
	struct rs_peer *st;
	struct tbucket *buckets;	/* per port, for rebroadcasts */
	struct pqueue queue;
};

struct smeta {
	struct rpeer *peer;
	uint16_t pi;			/* port index */
	bool last;			/* the datagram's last frame or fragment */
	struct qframe *qf;		/* from the peer's queue (else from the receive buffers) */
};

union pktinfo_buf {
	char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

struct relay {
	struct site site;
	bool site_loaded, debug, daemon;
	int ready_fd, config_fd;
	const char *config_name;
	uid_t uid;
	gid_t gid;
	char err[512];

	int lan_ifindex, lan_mtu;
	uint32_t lan_addr, lan_mask, lan_net, lan_bcast;
	size_t n_ports;
	int lan_fd[RELAY_PORTS_MAX];
	int tr_fd, raw_fd, sig_fd, ep_fd;
	bool tr_out;			/* EPOLLOUT wanted on tr_fd */
	uint8_t port_idx[65536];	/* port -> index + 1 */
	struct limits lim;		/* [relay] rate and burst, and the bytes they imply */
	struct fair port_fair[RELAY_PORTS_MAX];
	struct rpeer *peers;
	struct tbucket *buckets;	/* n_peers x n_ports: the peers' */
	size_t n_peers, rr;		/* rr: the peer whose queue goes first next */
	size_t queued, queued_bytes;	/* frames in all queues */
	uint64_t retry_ns;		/* try the queues again at (0: when writable) */
	struct rs_map stats;
	struct reasm reasm;
	uint32_t next_id;
	uint16_t ip_id;
	uint64_t now_ns, last_resolve_ms, last_miss_ms;
	bool stop;

	/* receive batch, shared by every socket */
	uint8_t *rbuf;
	struct mmsghdr rmsg[BATCH];
	struct iovec riov[BATCH];
	struct sockaddr_in rname[BATCH];
	union pktinfo_buf rctl[BATCH];

	/* frames to peers */
	struct mmsghdr smsg[SEND_MAX];
	struct iovec siov[SEND_MAX][2];
	uint8_t shdr[SEND_MAX][FRAME_HDR_LEN];
	union pktinfo_buf sctl[SEND_MAX];
	struct smeta smeta[SEND_MAX];
	size_t n_send;

	/* rebroadcasts (raw IP packets) on the LAN */
	struct mmsghdr lmsg[LSEND_MAX];
	struct iovec liov[LSEND_MAX][3];
	uint8_t lhdr[LSEND_MAX][28];	/* IP header + UDP header (first fragment) */
	struct smeta lmeta[LSEND_MAX];
	size_t n_lsend;
	struct sockaddr_in bcast_sa;
};

void rlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern bool rlog_syslog;

/* relay_io.c */
void relay_resolve(struct relay *R, uint64_t now_ms);
/* Broadcasts from the LAN on port index PI; frames from peers. Each returns
 * the batch size (BATCH: there may be more). */
int relay_on_lan(struct relay *R, uint16_t pi);
int relay_on_transport(struct relay *R);
/* Send what waits in the peers' queues, while the socket takes it. */
void relay_drain(struct relay *R);
void relay_queues_free(struct relay *R);

#endif
