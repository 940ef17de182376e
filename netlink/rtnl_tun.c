/* rtnl_tun.c - sit and ip6tnl links in mode any (rtnl_tun.h), and the
 * tunnel attributes of every tunnel kind read back (ipip, sit, ip6tnl). */
#include "rtnl_tun.h"
#include "rtnl_priv.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/ip6_tunnel.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

/* IFLA_LINKINFO of a sit or ip6tnl link in mode any */
static void put_tun_info(struct nlmsghdr *nlh, const struct tun_spec *spec)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO), *data;

	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, spec->v6 ? "ip6tnl" : "sit");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (spec->v6) {
		mnl_attr_put(nlh, IFLA_IPTUN_LOCAL, sizeof(spec->local6), &spec->local6);
		mnl_attr_put(nlh, IFLA_IPTUN_REMOTE, sizeof(spec->remote6), &spec->remote6);
		mnl_attr_put_u8(nlh, IFLA_IPTUN_TTL, spec->ttl);
		/* no encapsulation limit option: 40 bytes of outer header */
		mnl_attr_put_u32(nlh, IFLA_IPTUN_FLAGS, IP6_TNL_F_IGN_ENCAP_LIMIT);
		mnl_attr_put_u8(nlh, IFLA_IPTUN_ENCAP_LIMIT, 0);
	} else {
		mnl_attr_put_u32(nlh, IFLA_IPTUN_LOCAL, htonl(spec->local));
		mnl_attr_put_u32(nlh, IFLA_IPTUN_REMOTE, htonl(spec->remote));
		mnl_attr_put_u8(nlh, IFLA_IPTUN_TTL, spec->ttl);
		mnl_attr_put_u8(nlh, IFLA_IPTUN_PMTUDISC, spec->pmtudisc ? 1 : 0);
	}
	mnl_attr_put_u8(nlh, IFLA_IPTUN_PROTO, 0);	/* mode any: 4 and 41 */
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

static void put_tun(struct nlmsghdr *nlh, const void *spec)
{
	put_tun_info(nlh, spec);
}

void rtnl_add_tun(struct rtnl_batch *b, const struct tun_spec *spec)
{
	struct rt_tunnel t = { spec->name, spec->alias, spec->mtu, spec->group, put_tun, spec };

	rt_add_tunnel(b, &t);
}

void rtnl_change_tun(struct rtnl_batch *b, int ifindex, const struct tun_spec *spec, bool up)
{
	struct rt_tunnel t = { NULL, spec->alias, spec->mtu, 0, put_tun, spec };

	rt_change_tunnel(b, ifindex, &t, up);
}

bool rtnl_tun_matches(const struct link_info *li, const struct tun_spec *spec)
{
	if (strcmp(li->kind, spec->v6 ? "ip6tnl" : "sit") != 0 || li->proto != 0 || li->ttl != spec->ttl)
		return false;
	if (spec->v6)
		return memcmp(&li->local6, &spec->local6, sizeof(li->local6)) == 0 &&
		       memcmp(&li->remote6, &spec->remote6, sizeof(li->remote6)) == 0 &&
		       (li->tun_flags & IP6_TNL_F_IGN_ENCAP_LIMIT);
	return li->local == spec->local && li->remote == spec->remote &&
	       (li->pmtudisc != 0) == spec->pmtudisc;
}

/* An IPv6 address attribute, :: when absent or short. */
static void get_in6(const struct nlattr *a, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a && mnl_attr_get_payload_len(a) >= sizeof(*out))
		memcpy(out, mnl_attr_get_payload(a), sizeof(*out));
}

void rtnl_parse_tun(const char *kind, const struct nlattr *data, struct link_info *li)
{
	const struct nlattr *d[IFLA_IPTUN_MAX + 1];
	bool ip6tnl = strcmp(kind, "ip6tnl") == 0;

	if (strcmp(kind, "ipip") != 0 && strcmp(kind, "sit") != 0 && !ip6tnl)
		return;
	rt_parse_nested(data, d, IFLA_IPTUN_MAX);
	li->ttl = rt_get_u8(d[IFLA_IPTUN_TTL], 0);
	li->proto = rt_get_u8(d[IFLA_IPTUN_PROTO], 0);
	if (ip6tnl) {
		get_in6(d[IFLA_IPTUN_LOCAL], &li->local6);
		get_in6(d[IFLA_IPTUN_REMOTE], &li->remote6);
		li->encap_limit = rt_get_u8(d[IFLA_IPTUN_ENCAP_LIMIT], 0);
		li->tun_flags = rt_get_u32(d[IFLA_IPTUN_FLAGS], 0);
		return;
	}
	li->local = rt_get_in_addr(d[IFLA_IPTUN_LOCAL]);
	li->remote = rt_get_in_addr(d[IFLA_IPTUN_REMOTE]);
	li->pmtudisc = rt_get_u8(d[IFLA_IPTUN_PMTUDISC], 0);
	/* sit's flags are 16 bits (ISATAP) */
	if (d[IFLA_IPTUN_FLAGS] && mnl_attr_get_payload_len(d[IFLA_IPTUN_FLAGS]) >= sizeof(uint16_t))
		li->tun_flags = mnl_attr_get_u16(d[IFLA_IPTUN_FLAGS]);
}
