# gatewayctl's Ansible filters: every gateway's peers, derived from the inventory.
#
#   gatewayctl_site(host, hostvars, groups, networks) -> dict
#
# Each network is an inventory group (NETWORKS: their names). In a group without
# a hub every member peers with every other (full mesh); in a group with one
# member that has `hub: true`, the hub peers with every member and every other
# member (a spoke) with the hub only, reaching the other spokes through it. A
# host in several groups gets the union. Nothing about peers is ever written by
# hand: a peer's endpoint, networks and LAN address come from its own host
# variables (with a `netmap`, the peers name the map and the mapped address).
# lan_address, wan_address and gateway take one address per family, as the site
# file does ("192.168.1.126/24, 2001:db8:1::126/64", or a list): IPv6 LANs are
# carried between sites that both have one, over IPv4 when both WANs have it,
# else over IPv6.
from __future__ import absolute_import, division, print_function

import ipaddress

__metaclass__ = type

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # the unit test runs without Ansible
    class AnsibleFilterError(Exception):
        pass

REQUIRED = ("lan", "lan_address", "wan", "wan_address")


def _truthy(v):
    if isinstance(v, str):
        return v.strip().lower() in ("yes", "true", "on", "1")
    return bool(v)


def _var(hostvars, host, key, default=None):
    hv = hostvars[host]
    try:
        v = hv[key]
    except KeyError:
        return default
    return default if v is None else v


def _families(host, key, value):
    """KEY's VALUE, one address per family ("A, B" or a list): {4: iface, 6: iface}"""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out = {}
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        try:
            iface = ipaddress.ip_interface(item)
        except ValueError as e:
            raise AnsibleFilterError("gatewayctl: host %s: %s: %s (like 192.168.1.126/24, or "
                                     "192.168.1.126/24, 2001:db8:1::126/64)" % (host, key, e))
        if iface.version in out:
            raise AnsibleFilterError("gatewayctl: host %s: %s has two IPv%d addresses; give one address "
                                     "per family" % (host, key, iface.version))
        out[iface.version] = iface
    return out


def _site(hostvars, host):
    """The site of HOST from its host variables, checked."""
    missing = [k for k in REQUIRED if _var(hostvars, host, k) in (None, "")]
    if missing:
        raise AnsibleFilterError("gatewayctl: host %s lacks %s (host variables: name, lan, lan_address, "
                                 "wan, wan_address, public_address, gateway, netmap, relay_ports, encryption, hub)"
                                 % (host, ", ".join(missing)))
    name = str(_var(hostvars, host, "site_name", host))
    lans = _families(host, "lan_address", _var(hostvars, host, "lan_address"))
    wans = _families(host, "wan_address", _var(hostvars, host, "wan_address"))
    if 4 not in lans:
        raise AnsibleFilterError("gatewayctl: host %s: lan_address needs an IPv4 address (like "
                                 "192.168.1.126/24), an IPv6 one beside it if any" % host)
    if not wans:
        raise AnsibleFilterError("gatewayctl: host %s lacks wan_address" % host)
    lan, lan6, wan, wan6 = lans[4], lans.get(6), wans.get(4), wans.get(6)
    public = _var(hostvars, host, "public_address", "")
    if public not in (None, ""):
        try:
            public = str(ipaddress.IPv4Address(str(public)))
        except ValueError as e:
            raise AnsibleFilterError("gatewayctl: host %s: public_address: %s (the NAT router's public "
                                     "IPv4 address, e.g. 203.0.113.7)" % (host, e))
    else:
        public = ""
    netmap = _var(hostvars, host, "netmap", "")
    if netmap not in (None, ""):
        try:
            netmap = ipaddress.IPv4Network(str(netmap))
        except ValueError as e:
            raise AnsibleFilterError("gatewayctl: host %s: netmap: %s (a network of the LAN's prefix "
                                     "length, e.g. 10.1.1.0/24)" % (host, e))
        if netmap.prefixlen != lan.network.prefixlen:
            raise AnsibleFilterError("gatewayctl: host %s: netmap %s must have the LAN's prefix length, /%d"
                                     % (host, netmap, lan.network.prefixlen))
        # what the peers see: the map, and this gateway's address in it
        seen_network = str(netmap)
        seen_address = str(netmap.network_address + (int(lan.ip) - int(lan.network.network_address)))
        netmap = str(netmap)
    else:
        netmap, seen_network, seen_address = "", str(lan.network), str(lan.ip)
    enc = str(_var(hostvars, host, "encryption", "none")).lower()
    if enc not in ("none", "ipsec"):
        raise AnsibleFilterError("gatewayctl: host %s: encryption = %s: expected none or ipsec" % (host, enc))
    gateway = _var(hostvars, host, "gateway", "")
    if isinstance(gateway, (list, tuple)):
        gateway = ", ".join(str(g) for g in gateway)
    ports = _var(hostvars, host, "relay_ports", [])
    if isinstance(ports, (int, str)):
        ports = [p.strip() for p in str(ports).split(",") if p.strip()]
    return {
        "host": host,
        "name": name,
        "lan": str(_var(hostvars, host, "lan")),
        "lan_address": str(lan.ip),
        "lan_prefix": lan.network.prefixlen,
        "lan_network": seen_network,   # as the peers see it: the netmap, if any
        "seen_address": seen_address,
        "netmap": netmap,
        "lan_address6": str(lan6.ip) if lan6 else "",
        "lan_prefix6": lan6.network.prefixlen if lan6 else 0,
        "lan_network6": str(lan6.network) if lan6 else "",
        "wan": str(_var(hostvars, host, "wan")),
        "wan_address": str(wan.ip) if wan else "",
        "wan_prefix": wan.network.prefixlen if wan else 0,
        "wan_address6": str(wan6.ip) if wan6 else "",
        "wan_prefix6": wan6.network.prefixlen if wan6 else 0,
        "public_address": public,
        "gateway": str(gateway),
        "manage_interfaces": _truthy(_var(hostvars, host, "manage_interfaces", False)),
        "relay_ports": [int(p) for p in ports],
        "encryption": enc,
        "hub": _truthy(_var(hostvars, host, "hub", False)),
    }


def _reach(reach, me, target, via):
    """What ME routes to TARGET through the peer VIA: its LAN as seen, and its IPv6
    LAN when ME, TARGET and VIA all have one"""
    reach.add(target["lan_network"])
    if me["lan_network6"] and target["lan_network6"] and via["lan_network6"]:
        reach.add(target["lan_network6"])


def _endpoint(me, o):
    """Where ME reaches O: over IPv4 when both WANs have it, else over IPv6"""
    if me["wan_address"] and (o["public_address"] or o["wan_address"]):
        return o["public_address"] or o["wan_address"]
    if me["wan_address6"] and o["wan_address6"]:
        return o["wan_address6"]
    raise AnsibleFilterError("gatewayctl: sites %s and %s have no WAN address family in common (IPv4 "
                             "or IPv6 wan_address on both)" % (me["name"], o["name"]))


def gatewayctl_site(host, hostvars, groups, networks):
    """HOST's site with its peers: what templates/site.ini.j2 renders."""
    if isinstance(networks, str):
        networks = [networks]
    cache = {}

    def site_of(h):
        # each host's variables are read once per call: a hostvars lookup
        # templates the variable, which is slow in a large inventory
        if h not in cache:
            cache[h] = _site(hostvars, h)
        return cache[h]

    me = dict(site_of(host))
    peers = {}  # peer host -> set of networks reached through it
    member_of = [g for g in networks if host in groups.get(g, [])]
    if not member_of:
        raise AnsibleFilterError("gatewayctl: host %s is in none of the network groups %s"
                                 % (host, ", ".join(networks)))
    for g in member_of:
        members = list(groups[g])
        hubs = [h for h in members if site_of(h)["hub"]]
        if len(hubs) > 1:
            raise AnsibleFilterError("gatewayctl: group %s has %d hubs (%s); a hub-and-spokes group has one"
                                     % (g, len(hubs), ", ".join(hubs)))
        hub = hubs[0] if hubs else None
        for other in members:
            if other == host:
                continue
            if hub is None or host == hub:
                _reach(peers.setdefault(other, set()), me, site_of(other), site_of(other))
            elif other == hub:
                reach = peers.setdefault(hub, set())
                _reach(reach, me, site_of(hub), site_of(hub))
                # the other spokes, through the hub
                for spoke in members:
                    if spoke not in (host, hub):
                        _reach(reach, me, site_of(spoke), site_of(hub))
    out = []
    names = {}
    for other in sorted(peers, key=lambda h: site_of(h)["name"]):
        o = site_of(other)
        if o["name"] in names or o["name"] == me["name"]:
            raise AnsibleFilterError("gatewayctl: hosts %s and %s have the same site name %s"
                                     % (names.get(o["name"], host), other, o["name"]))
        names[o["name"]] = other
        enc = "ipsec" if "ipsec" in (me["encryption"], o["encryption"]) else "none"
        relay = bool(me["relay_ports"]) and bool(o["relay_ports"])
        lan_address = o["seen_address"]
        if o["lan_network6"] in peers[other]:
            lan_address += ", " + o["lan_address6"]
        out.append({
            "host": other,
            "name": o["name"],
            "endpoint": _endpoint(me, o),
            "networks": sorted(peers[other], key=lambda n: (ipaddress.ip_network(n).version,
                                                           ipaddress.ip_network(n))),
            "lan_address": lan_address,
            "encryption": enc,
            "psk_id": "_".join(sorted((me["name"], o["name"]))) if enc == "ipsec" else "",
            "relay": relay,
        })
    me["peers"] = out
    me["relay_peers"] = [p["name"] for p in out if p["relay"]]
    return me


class FilterModule(object):
    def filters(self):
        return {"gatewayctl_site": gatewayctl_site}
