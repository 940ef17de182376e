/* rtnl_group.c - deleting many links at once through a link group (see rtnl_group.h) */
#include "rtnl_group.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* per sendmsg: the acks of this many requests fit any receive buffer */
#define GROUP_CHUNK 64
#define GROUP_MSG_ROOM 64	/* nlmsghdr + ifinfomsg + one u32 attribute: 40 bytes */

static struct nlmsghdr *put_request(char *buf, struct nl *nl, uint16_t type, int ifindex, uint32_t group)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = nl_seq(nl);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return nlh;
}

int rtnl_del_group(struct nl *nl, uint32_t group)
{
	char buf[GROUP_MSG_ROOM] __attribute__((aligned(8))) = { 0 };
	struct nlmsghdr *nlh;

	if (!group)
		return -EINVAL;	/* the kernel refuses group 0: every link is in it */
	nlh = put_request(buf, nl, RTM_DELLINK, 0, group);
	return nl_talk(nl, buf, nlh->nlmsg_len, NULL, NULL);
}

int rtnl_del_links_by_group(struct nl *nl, const int *ifindex, size_t n, uint32_t group)
{
	char *buf;
	int r = 0;

	if (!group)
		return -EINVAL;
	if (!n)
		return 0;
	buf = calloc(GROUP_CHUNK, GROUP_MSG_ROOM);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i += GROUP_CHUNK) {
		size_t len = 0;

		memset(buf, 0, GROUP_CHUNK * GROUP_MSG_ROOM);
		for (size_t k = i; k < n && k < i + GROUP_CHUNK; k++) {
			struct nlmsghdr *nlh = put_request(buf + len, nl, RTM_NEWLINK, ifindex[k], group);

			len += MNL_ALIGN(nlh->nlmsg_len);
		}
		r = nl_talk(nl, buf, len, NULL, NULL);
	}
	free(buf);
	return r < 0 ? r : rtnl_del_group(nl, group);
}
