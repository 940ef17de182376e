/* xfrm.h - the kernel's IPsec SAs (NETLINK_XFRM), read and deleted by reqid:
 * the ESP states of gatewayctl's connections that charon no longer tracks
 * (a CHILD_SA negotiated by the peer while `down` terminated the IKE_SA). */
#ifndef GATEWAYCTL_XFRM_H
#define GATEWAYCTL_XFRM_H

#include <stddef.h>
#include <stdint.h>

#include "nlsock.h"

struct xfrm_sa {
	uint32_t src, dst;	/* IPv4, host byte order */
	uint32_t spi;		/* host byte order */
	uint8_t proto;		/* IPPROTO_ESP ... */
	uint32_t reqid;
};

/* Every IPv4 SA of the kernel (*SAS malloc'd). NL: nl_open(nl, NETLINK_XFRM).
 * 0 or -errno. */
int xfrm_sas(struct nl *nl, struct xfrm_sa **sas, size_t *n);
/* Delete one SA. 0, -ESRCH when it is gone already, or -errno. */
int xfrm_del_sa(struct nl *nl, const struct xfrm_sa *sa);
/* Parse one XFRM_MSG_NEWSA message into SA: 1 (an IPv4 SA), 0 (another
 * family or too short: skip it). For the dump and the fuzzer. */
struct nlmsghdr;
int xfrm_parse_sa(const struct nlmsghdr *nlh, struct xfrm_sa *sa);
/* A dump of TYPE (XFRM_MSG_GETSA, _GETPOLICY): PARSE turns each answer into
 * an element of SIZE bytes (1: keep it, 0: skip it); *V malloc'd, *N of them.
 * 0 or -errno. */
int xfrm_dump(struct nl *nl, uint16_t type, int (*parse)(const struct nlmsghdr *nlh, void *out),
	      size_t size, void **v, size_t *n);

#endif
