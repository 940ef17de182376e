#!/usr/bin/python3
"""pcap-summary.py FILE [ADDR...] - what crossed a link, from a tcpdump -w file.

Prints one line: esp=N udp500=N udp4500=N ipip=N sit=N other=N inner=N nonip=N
  esp      IP protocol 50
  udp500   UDP to or from port 500 (IKE)
  udp4500  UDP to or from port 4500 (IKE after NAT detection or MOBIKE, ESP in UDP,
           NAT-T keepalives)
  ipip     IP protocol 4 (plain IPIP)
  sit      IP protocol 41 (plain IPv6 in IPv4: a sit's 6in4)
  other    any other IP packet
  inner    IP packets holding one of the ADDRs (IPv4 or IPv6) anywhere after their
           outer header, i.e. an address that should be hidden inside the tunnel
  nonip    frames that are not IP (ARP...)
An outer IPv6 header counts the same way by its next header (no extension
headers expected: gatewayctl's ip6tnl sends none): ipip is then 4in6, sit 6in6.
Understands the classic pcap format with Ethernet (1) or Linux cooked (113) frames.
"""
import socket
import struct
import sys


def main():
    path = sys.argv[1]
    needles = [socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a) for a in sys.argv[2:]]
    counts = dict.fromkeys(("esp", "udp500", "udp4500", "ipip", "sit", "other", "inner", "nonip"), 0)
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        print("pcap-summary: %s: no pcap header" % path, file=sys.stderr)
        return 2
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1" or magic == b"\x4d\x3c\xb2\xa1":
        end = "<"
    elif magic == b"\xa1\xb2\xc3\xd4" or magic == b"\xa1\xb2\x3c\x4d":
        end = ">"
    else:
        print("pcap-summary: %s: not a classic pcap file" % path, file=sys.stderr)
        return 2
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype == 1:
        l2, proto_at = 14, 12
    elif linktype == 113:
        l2, proto_at = 16, 14
    else:
        print("pcap-summary: link type %d not understood" % linktype, file=sys.stderr)
        return 2
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ethertype = frame[proto_at:proto_at + 2]
        ip = frame[l2:]
        if ethertype == b"\x08\x00" and len(ip) >= 20:
            proto, body = ip[9], ip[(ip[0] & 0x0F) * 4:]
        elif ethertype == b"\x86\xdd" and len(ip) >= 40:
            proto, body = ip[6], ip[40:]
        else:
            counts["nonip"] += 1
            continue
        if proto == 50:
            counts["esp"] += 1
        elif proto == 4:
            counts["ipip"] += 1
        elif proto == 41:
            counts["sit"] += 1
        elif proto == 17 and len(body) >= 4:
            sport, dport = struct.unpack(">HH", body[:4])
            if 4500 in (sport, dport):
                counts["udp4500"] += 1
            elif 500 in (sport, dport):
                counts["udp500"] += 1
            else:
                counts["other"] += 1
        else:
            counts["other"] += 1
        if any(n in body for n in needles):
            counts["inner"] += 1
    print(" ".join("%s=%d" % (k, v) for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
