#!/usr/bin/env python3
# Writes the corpus of bad site files: one mutation of a valid file each, and the
# FILE:LINE: error it must produce. Run in tests/corpus/ after changing a case.
base = """[site]
name = manhattan
lan = eth0
lan_address = 192.168.1.126/24
wan = eth1
wan_address = 172.16.1.12/27
gateway = 172.16.1.30

[peer brooklyn]
endpoint = 172.17.2.10
lan_address = 192.168.2.126
networks = 192.168.2.0/24

[relay]
ports = 6799
"""
L = base.split("\n")
def mut(repl=None, add_after=None, text=None):
    if text is not None: return text
    lines = list(L)
    if repl:
        for k, v in repl.items():
            for i, l in enumerate(lines):
                if l is not None and (l.split(" =")[0] == k or l == k):
                    lines[i] = v
                    break
            else: raise SystemExit("no "+k)
    lines = [l for l in lines if l is not None]
    if add_after:
        for after, new in add_after:
            i = lines.index(after)
            lines[i+1:i+1] = new.split("\n")
    return "\n".join(lines)
P = "networks = 192.168.2.0/24"
cases = [
 ("unknown-key", 7, dict(repl={"gateway": "gatway = 172.16.1.30"}), "unknown key `gatway` in [site]; did you mean `gateway`?"),
 ("unknown-key-typo-address", 4, dict(repl={"lan_address": "lan_adress = 192.168.1.126/24"}), "did you mean `lan_address`?"),
 ("unknown-section", 14, dict(repl={"[relay]": "[relais]"}), "unknown section `[relais]`; did you mean `[relay]`?"),
 ("unknown-section-other", 16, dict(add_after=[("ports = 6799", "[tunnels]\nfoo = 1")]), "unknown section `[tunnels]`"),
 ("duplicate-key", 4, dict(add_after=[("lan = eth0", "lan = eth2")]), "duplicate key `lan` (first at line 3)"),
 ("duplicate-key-case", 11, dict(add_after=[("endpoint = 172.17.2.10", "ENDPOINT = 172.17.2.11")]), "duplicate key `endpoint` (first at line 10)"),
 ("duplicate-section", 16, dict(add_after=[("ports = 6799", "[Peer Brooklyn]\nmtu = 1400")]), "duplicate section `[peer brooklyn]` (first at line 9)"),
 ("duplicate-site", 16, dict(add_after=[("ports = 6799", "[site]\nforwarding = no")]), "duplicate section `[site]`"),
 ("missing-lan", 1, dict(repl={"lan": None}), "[site] lacks the required key `lan`"),
 ("missing-wan-address", 1, dict(repl={"wan_address": None, "gateway": None}), "[site] lacks the required key `wan_address`"),
 ("missing-endpoint", 9, dict(repl={"endpoint": None}), "[peer brooklyn] lacks the required key `endpoint`"),
 ("missing-networks", 9, dict(repl={"networks": None}), "[peer brooklyn] lacks the required key `networks`"),
 ("missing-ports", 14, dict(repl={"ports": "peers = brooklyn"}), "[relay] lacks the required key `ports`"),
 ("missing-site", 1, dict(text="[peer brooklyn]\nendpoint = 172.17.2.10\nnetworks = 192.168.2.0/24\n"), "no [site] section"),
 ("no-peer", 1, dict(text="\n".join(L[:8]) + "\n"), "no [peer NAME] section"),
 ("bad-address", 4, dict(repl={"lan_address": "lan_address = 192.168.1.300/24"}), "expected an address with its prefix length"),
 ("address-without-prefix", 6, dict(repl={"wan_address": "wan_address = 172.16.1.12"}), "expected an address with its prefix length"),
 ("octal-looking-address", 10, dict(repl={"endpoint": "endpoint = 172.017.2.10"}), "expected the peer gateway's public IPv4 address"),
 ("bad-prefix", 4, dict(repl={"lan_address": "lan_address = 192.168.1.126/33"}), "expected an address with its prefix length"),
 ("network-address-as-host", 4, dict(repl={"lan_address": "lan_address = 192.168.1.0/24"}), "that is the network address of 192.168.1.0/24"),
 ("broadcast-as-host", 4, dict(repl={"lan_address": "lan_address = 192.168.1.255/24"}), "that is the broadcast address of 192.168.1.0/24"),
 ("host-bits-set", 12, dict(repl={"networks": "networks = 192.168.2.1/24"}), "has host bits set; did you mean `192.168.2.0/24`?"),
 ("bad-network", 12, dict(repl={"networks": "networks = 192.168.2.0"}), "expected a network like 192.168.2.0/24"),
 ("empty-network-item", 12, dict(repl={"networks": "networks = 192.168.2.0/24,,10.1.0.0/16"}), "an empty item"),
 ("network-too-wide", 12, dict(repl={"networks": "networks = 0.0.0.0/0"}), "wider than a /8"),
 ("gateway-outside-wan", 7, dict(repl={"gateway": "gateway = 172.16.2.30"}), "is not a usable host of the WAN subnet 172.16.1.0/27"),
 ("gateway-is-self", 7, dict(repl={"gateway": "gateway = 172.16.1.12"}), "not a usable host of the WAN subnet"),
 ("bad-gateway", 7, dict(repl={"gateway": "gateway = router"}), "expected an IPv4 address"),
 ("endpoint-in-tunnelled-network", 10, dict(repl={"endpoint": "endpoint = 192.168.2.10"}), "is inside the tunnelled network 192.168.2.0/24 of peer brooklyn"),
 ("endpoint-in-lan", 10, dict(repl={"endpoint": "endpoint = 192.168.1.20"}), "is inside the LAN 192.168.1.0/24"),
 ("endpoint-is-self", 10, dict(repl={"endpoint": "endpoint = 172.16.1.12"}), "this gateway's own wan_address"),
 ("endpoint-multicast", 10, dict(repl={"endpoint": "endpoint = 224.0.0.1"}), "not a unicast address"),
 ("network-overlaps-lan", 12, dict(repl={"networks": "networks = 192.168.0.0/16"}), "overlaps the LAN"),
 ("network-overlaps-wan", 12, dict(repl={"networks": "networks = 172.16.1.0/24"}), "overlaps the WAN subnet"),
 ("networks-overlap-peers", 16, dict(add_after=[(P, "\n[peer queens]\nendpoint = 172.18.0.5\nnetworks = 192.168.2.128/25")]), "overlaps 192.168.2.0/24 of peer brooklyn"),
 ("same-endpoint", 15, dict(add_after=[(P, "\n[peer queens]\nendpoint = 172.17.2.10\nnetworks = 192.168.3.0/24")]), "have the same endpoint 172.17.2.10"),
 ("tunnel-name-collision", 15, dict(add_after=[(P, "tunnel = gw-x\n\n[peer queens]\nendpoint = 172.18.0.5\nnetworks = 192.168.3.0/24\ntunnel = gw-x")]), "both use the tunnel name `gw-x`"),
 ("tunnel-is-lan", 9, dict(add_after=[(P, "tunnel = eth0")]), "tunnel name `eth0` is the LAN interface"),
 ("tunnel-is-tunl0", 9, dict(add_after=[(P, "tunnel = tunl0")]), "`tunl0` is the kernel's fallback device"),
 ("tunnel-name-too-long", 13, dict(add_after=[(P, "tunnel = gw-brooklyn-office")]), "not a valid interface name"),
 ("derived-tunnel-too-long", 9, dict(repl={"[peer brooklyn]": "[peer brooklyn-downtown]"}), "derived from the peer's name is longer than 15"),
 ("ifname-invalid", 3, dict(repl={"lan": "lan = eth 0"}), "not a valid interface name"),
 ("ifname-too-long", 5, dict(repl={"wan": "wan = enp0s31f6-uplink0"}), "not a valid interface name"),
 ("lan-equals-wan", 5, dict(repl={"wan": "wan = eth0"}), "they must be two interfaces"),
 ("bad-boolean", 13, dict(add_after=[(P, "masquerade = perhaps")]), "not a boolean; use yes or no"),
 ("bad-number", 13, dict(add_after=[(P, "ttl = 0x40")]), "expected a whole number from 1 to 255"),
 ("ttl-out-of-range", 13, dict(add_after=[(P, "ttl = 256")]), "expected a whole number from 1 to 255"),
 ("bad-mtu", 13, dict(add_after=[(P, "mtu = big")]), "expected auto or a whole number"),
 ("port-out-of-range", 15, dict(repl={"ports": "ports = 6799, 65536"}), "`65536` in `ports`: expected a UDP port"),
 ("port-zero", 15, dict(repl={"ports": "ports = 0"}), "expected a UDP port from 1 to 65535"),
 ("port-twice", 15, dict(repl={"ports": "ports = 6799, 6799"}), "port 6799 is listed twice"),
 ("relay-unknown-peer", 16, dict(add_after=[("ports = 6799", "peers = bronx")]), "no section [peer bronx] in this file"),
 ("transport-is-relayed", 16, dict(add_after=[("ports = 6799", "transport_port = 6799")]), "both a relayed port and the relays' transport_port"),
 ("bad-site-name", 2, dict(repl={"name": "name = man hattan!"}), "use letters, digits and `-`"),
 ("peer-without-name", 9, dict(repl={"[peer brooklyn]": "[peer]"}), "a peer section needs a name"),
 ("bad-peer-name", 9, dict(repl={"[peer brooklyn]": "[peer brook_lyn]"}), "peer name `brook_lyn` is invalid"),
 ("comment-after-section", 1, dict(repl={"[site]": "[site] ; this gateway"}), "text after the section header"),
 ("colon-in-section", 14, dict(repl={"[relay]": "[relay:x]"}), "contains `:`"),
 ("key-before-section", 1, dict(text="name = manhattan\n" + base), "before any section"),
 ("no-equals", 4, dict(add_after=[("lan = eth0", "forwarding yes")]), "expected `key = value`"),
 ("continuation-line", 12, dict(repl={"networks": "networks = 192.168.2.0/24, \\"}), "may not end with `\\`"),
 ("unclosed-section", 14, dict(repl={"[relay]": "[relay"}), "lacks its closing `]`"),
 ("empty-value", 3, dict(repl={"lan": "lan ="}), "`lan` is empty"),
 ("long-line", 4, dict(add_after=[("lan = eth0", "; " + "x" * 1100)]), "line too long"),
 ("relay-peer-without-lan-address", 9, dict(repl={"lan_address = 192.168.2.126": None}), "peer brooklyn relays broadcasts: set its `lan_address`"),
 ("peer-lan-address-outside", 11, dict(repl={"lan_address = 192.168.2.126": "lan_address = 192.168.3.1"}), "is not inside the peer's networks"),
 ("only-comments", 1, dict(text="; nothing here\n# nor here\n\n"), "empty site file"),
]
for name, line, kw, expect in cases:
    txt = mut(**kw)
    open(name + ".ini", "w").write(txt.rstrip("\n") + "\n")
    open(name + ".expect", "w").write("%d: error: %s\n" % (line, expect))
print(len(cases))
