/* model_tun.c - a peer's tunnel: which kind (ipip, sit or ip6tnl in mode
 * any: DESIGN.md, "IPv6"), its MTU, its ip command, how a live link differs
 * from it, and its netlink spec. */
#include "model.h"
#include "gatewayctl.h"

#include <linux/if.h>
#include <stdio.h>
#include <string.h>

enum tun_kind model_tunnel_kind(const struct peer *p)
{
	if (p->endpoint_v6)
		return TUN_IP6TNL;
	return p->n_networks6 ? TUN_SIT : TUN_IPIP;
}

const char *model_kind_name(enum tun_kind k)
{
	return k == TUN_IP6TNL ? "ip6tnl" : k == TUN_SIT ? "sit" : "ipip";
}

/* The MTU a peer's tunnel gets: the configured one, or the WAN's less the
 * outer header (20 bytes of IPv4, 40 of IPv6) and IPsec's overhead. */
unsigned model_tunnel_mtu(const struct site *s, const struct peer *p, const struct live *live)
{
	const struct link_info *wan = live_link(live, s->wan);
	unsigned outer = model_tunnel_kind(p) == TUN_IP6TNL ? 40 : 20;
	unsigned mtu = (wan && wan->mtu > outer + IPSEC_OVERHEAD + 576 ? wan->mtu : 1500) - outer;

	if (p->mtu)
		return (unsigned)p->mtu;
	/* IPIP in ESP: room for the ESP header, IV, ICV, trailer and NAT-T's UDP */
	return p->encryption == ENC_IPSEC ? mtu - IPSEC_OVERHEAD : mtu;
}

void model_tunnel_text(char *buf, size_t len, const char *verb, const struct site *s, const struct peer *p,
		       unsigned mtu)
{
	char local[IP6_STRLEN], remote[IP6_STRLEN], alias[128];
	enum tun_kind k = model_tunnel_kind(p);

	/* the kernel ignores an alias given when a link is created: a line of its own */
	model_alias(s, p, alias, sizeof(alias));
	if (k == TUN_IP6TNL)
		snprintf(buf, len, "ip link %s %s%s mtu %u up type ip6tnl mode any local %s remote %s hoplimit %d "
			 "encaplimit none\nip link set %s alias %s",
			 verb, !strcmp(verb, "add") ? "name " : "", p->tunnel, mtu,
			 ip6_str(s->wan_address6.addr, local), ip6_str(p->endpoint6, remote), p->ttl, p->tunnel, alias);
	else
		snprintf(buf, len, "ip link %s %s%s mtu %u up type %s%s local %s remote %s ttl %d pmtudisc\n"
			 "ip link set %s alias %s",
			 verb, !strcmp(verb, "add") ? "name " : "", p->tunnel, mtu, model_kind_name(k),
			 k == TUN_SIT ? " mode any" : "", ip4_str(s->wan_address.addr, local),
			 ip4_str(p->endpoint, remote), p->ttl, p->tunnel, alias);
}

void model_link_ends(const struct link_info *l, char *local, char *remote)
{
	if (!strcmp(l->kind, "ip6tnl")) {
		ip6_str(l->local6.s6_addr, local);
		ip6_str(l->remote6.s6_addr, remote);
	} else {
		ip4_str(l->local, local);
		ip4_str(l->remote, remote);
	}
}

/* ip6tnl's endpoints, hop limit and encapsulation limit: how L differs from
 * what P asks ("" when it does not) */
static void drift_ip6tnl(const struct site *s, const struct peer *p, const struct link_info *l, char *out,
			 size_t len)
{
	char a[IP6_STRLEN], b[IP6_STRLEN];

	if (!ip6_equal(l->local6.s6_addr, s->wan_address6.addr))
		snprintf(out, len, "local is %s, not %s", ip6_str(l->local6.s6_addr, a), ip6_str(s->wan_address6.addr, b));
	else if (!ip6_equal(l->remote6.s6_addr, p->endpoint6))
		snprintf(out, len, "remote is %s, not %s", ip6_str(l->remote6.s6_addr, a), ip6_str(p->endpoint6, b));
	else if (l->ttl != p->ttl)
		snprintf(out, len, "hop limit is %u, not %d", l->ttl, p->ttl);
	else if (!(l->tun_flags & 1 /* IP6_TNL_F_IGN_ENCAP_LIMIT */))
		snprintf(out, len, "%s adds an encapsulation limit option", l->name);
}

/* ipip's and sit's */
static void drift_ipv4(const struct site *s, const struct peer *p, const struct link_info *l, char *out,
		       size_t len)
{
	char a[16], b[16];

	if (l->local != s->wan_address.addr)
		snprintf(out, len, "local is %s, not %s", ip4_str(l->local, a), ip4_str(s->wan_address.addr, b));
	else if (l->remote != p->endpoint)
		snprintf(out, len, "remote is %s, not %s", ip4_str(l->remote, a), ip4_str(p->endpoint, b));
	else if (l->ttl != p->ttl)
		snprintf(out, len, "ttl is %u, not %d", l->ttl, p->ttl);
	else if (!l->pmtudisc)
		snprintf(out, len, "path MTU discovery is off");
}

void model_tunnel_drift(const struct site *s, const struct peer *p, const struct link_info *l, unsigned mtu,
			char *out, size_t len)
{
	enum tun_kind k = model_tunnel_kind(p);
	char alias[128];

	out[0] = '\0';
	model_alias(s, p, alias, sizeof(alias));
	if (strcmp(l->kind, model_kind_name(k)))
		snprintf(out, len, "%s is of kind `%s`, not %s", l->name, l->kind, model_kind_name(k));
	else if (k != TUN_IPIP && l->proto != 0)
		snprintf(out, len, "%s is not in mode any (protocol %u)", l->name, l->proto);
	else if (k == TUN_IP6TNL)
		drift_ip6tnl(s, p, l, out, len);
	else
		drift_ipv4(s, p, l, out, len);
	if (out[0])
		return;
	if (l->mtu != mtu)
		snprintf(out, len, "mtu is %u, not %u", l->mtu, mtu);
	else if (!(l->flags & IFF_UP))
		snprintf(out, len, "%s is down", l->name);
	else if (strcmp(l->alias, alias))
		snprintf(out, len, "%s lacks its alias %s (an interrupted up?)", l->name, alias);
}

/* The netlink spec of P's tunnel (ipip: rtnl_add_ipip; sit, ip6tnl:
 * rtnl_add_tun), named NAME, with ALIAS. */
void model_tun_spec(const struct site *s, const struct peer *p, const char *name, unsigned mtu,
		    const char *alias, struct tun_spec *spec)
{
	enum tun_kind k = model_tunnel_kind(p);

	memset(spec, 0, sizeof(*spec));
	spec->name = name;
	spec->alias = alias;
	spec->v6 = k == TUN_IP6TNL;
	spec->local = s->wan_address.addr;
	spec->remote = p->endpoint;
	memcpy(&spec->local6, s->wan_address6.addr, 16);
	memcpy(&spec->remote6, p->endpoint6, 16);
	spec->ttl = (uint8_t)p->ttl;
	spec->pmtudisc = true;
	spec->mtu = mtu;
	spec->group = RTNL_LINK_GROUP;
}
