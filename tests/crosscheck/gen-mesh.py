#!/usr/bin/env python3
"""Write N site files that form one valid network: a full mesh, or a hub and
spokes (--hub). Site i: LAN 10.X.Y.0/24 (gateway .1), WAN 198.(18+X).Y.2/24,
where X = i // 250, Y = i % 250.

Usage: gen-mesh.py N DIR [--hub] [--psk KEYDIR] [--relay] [--ipv6]
  --psk KEYDIR   encryption = ipsec with one PSK file per pair in KEYDIR (0600)
  --relay        a [relay] section relaying port 6799 to every peer
  --ipv6         dual-stack LANs (fd00:X:Y::/64 beside the IPv4 one) over an
                 IPv6-only internet: WAN 2001:db8:X:Y::2/64, IPv6 endpoints
"""
import os
import sys


def site(i):
    x, y = divmod(i, 250)
    return dict(name="s%d" % i, lan="10.%d.%d" % (x, y), wan="198.%d.%d" % (18 + x, y),
                lan6="fd00:%x:%x:" % (x, y), wan6="2001:db8:%x:%x:" % (x, y))


def main():
    args = sys.argv[1:]
    hub = "--hub" in args
    relay = "--relay" in args
    v6 = "--ipv6" in args
    psk = None
    if "--psk" in args:
        psk = args[args.index("--psk") + 1]
        del args[args.index("--psk"):args.index("--psk") + 2]
    args = [a for a in args if not a.startswith("--")]
    n, out = int(args[0]), args[1]
    os.makedirs(out, exist_ok=True)
    if psk:
        os.makedirs(psk, mode=0o700, exist_ok=True)
    sites = [site(i) for i in range(n)]
    for i, s in enumerate(sites):
        if hub:
            peers = range(1, n) if i == 0 else [0]
        else:
            peers = [j for j in range(n) if j != i]
        lines = ["[site]", "name = %s" % s["name"], "lan = eth0",
                 "lan_address = %s.1/24" % s["lan"], "wan = eth1",
                 "wan_address = %s.2/24" % s["wan"], "gateway = %s.1" % s["wan"], ""]
        if v6:
            lines[3] += ", %s:1/64" % s["lan6"]
            lines[5:7] = ["wan_address = %s:2/64" % s["wan6"], "gateway = fe80::1"]
        for j in peers:
            p = sites[j]
            nets = [p["lan"] + ".0/24"] + ([p["lan6"] + ":/64"] if v6 else [])
            if hub and i != 0:
                # a spoke reaches every other site through the hub
                nets += [sites[k]["lan"] + ".0/24" for k in range(1, n) if k != i]
                nets += [sites[k]["lan6"] + ":/64" for k in range(1, n) if k != i and v6]
            lines += ["[peer %s]" % p["name"],
                      "endpoint = %s" % (p["wan6"] + ":2" if v6 else p["wan"] + ".2"),
                      "networks = %s" % ", ".join(nets),
                      "lan_address = %s.1%s" % (p["lan"], ", %s:1" % p["lan6"] if v6 else "")]
            if psk:
                a, b = sorted((i, j))
                path = os.path.join(os.path.abspath(psk), "s%d-s%d.psk" % (a, b))
                if not os.path.exists(path):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                    os.write(fd, ("psk-of-s%d-and-s%d-" % (a, b)).encode() + b"x" * 32 + b"\n")
                    os.close(fd)
                lines += ["encryption = ipsec", "psk_file = %s" % path]
            lines.append("")
        if relay:
            lines += ["[relay]", "ports = 6799", ""]
        with open(os.path.join(out, "%s.ini" % s["name"]), "w") as f:
            f.write("\n".join(lines))


main()
