/* rtnl_group.h - deleting many links at once through a link group.
 *
 * The kernel deletes every link of a group with one RTM_DELLINK carrying only
 * IFLA_GROUP (what `ip link delete group N` sends), unregistering them as one
 * batch: one wait for the network stack to let go of them instead of one per
 * link, which is what a deletion costs. A group may hold links of others
 * (gatewayctl's group 203 holds every site's tunnels), so the links to delete
 * are first moved into a spare group that no other link uses.
 */
#ifndef GATEWAYCTL_RTNL_GROUP_H
#define GATEWAYCTL_RTNL_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "nlsock.h"

/* Move the N links IFINDEX[] into GROUP (one RTM_NEWLINK with IFLA_GROUP each,
 * sent in chunks, each acked), then delete GROUP as a whole. 0 when every link
 * is gone; -errno otherwise (nl->err_msg holds the kernel's message): links
 * may then be left in GROUP, still to be deleted one by one. GROUP must be
 * non-zero and hold no other link. */
int rtnl_del_links_by_group(struct nl *nl, const int *ifindex, size_t n, uint32_t group);

/* RTM_DELLINK of every link in GROUP: 0, -ENODEV when it has none,
 * -EOPNOTSUPP when one of them cannot be deleted so (nothing is deleted then). */
int rtnl_del_group(struct nl *nl, uint32_t group);

#endif
