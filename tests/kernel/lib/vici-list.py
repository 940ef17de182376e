#!/usr/bin/env python3
"""vici-list.py SOCKET WHAT - what charon holds, straight from its VICI socket
(an independent witness for the kernel tests: no gatewayctl code, no swanctl).

  conns    one line per connection: NAME LOCAL_ID REMOTE_ID (list-conns)
  shared   the ids of the shared keys loaded over VICI (get-shared)
  keys     the ids of the private keys loaded over VICI (get-keys)
"""
import socket
import struct
import sys


def packet(sock, ptype, name=None, msg=b""):
    body = bytes([ptype]) + (bytes([len(name)]) + name.encode() if name is not None else b"") + msg
    sock.sendall(struct.pack("!I", len(body)) + body)


def recv(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError("charon closed the connection")
            data += chunk
        return data
    (length,) = struct.unpack("!I", exactly(4))
    return exactly(length)


def parse(msg):
    """a message as nested dicts; lists as Python lists"""
    root, stack, i, lst = {}, [], 0, None
    cur = root
    while i < len(msg):
        t = msg[i]
        i += 1
        if t in (1, 3, 4):
            n = msg[i]
            name = msg[i + 1:i + 1 + n].decode()
            i += 1 + n
        if t == 1:
            stack.append(cur)
            cur[name] = {}
            cur = cur[name]
        elif t == 2:
            cur = stack.pop()
        elif t == 3:
            (vlen,) = struct.unpack("!H", msg[i:i + 2])
            cur[name] = msg[i + 2:i + 2 + vlen].decode(errors="replace")
            i += 2 + vlen
        elif t == 4:
            lst = cur[name] = []
        elif t == 5:
            (vlen,) = struct.unpack("!H", msg[i:i + 2])
            lst.append(msg[i + 2:i + 2 + vlen].decode(errors="replace"))
            i += 2 + vlen
        elif t == 6:
            lst = None
    return root


def command(sock, cmd, event=None):
    events = []
    if event:
        packet(sock, 3, event)
        if recv(sock)[0] != 5:
            raise RuntimeError("cannot register for " + event)
    packet(sock, 0, cmd)
    while True:
        pkt = recv(sock)
        if pkt[0] == 7:
            n = pkt[1]
            events.append(parse(pkt[2 + n:]))
        elif pkt[0] == 1:
            reply = parse(pkt[1:])
            break
        else:
            raise RuntimeError("unexpected packet type %d" % pkt[0])
    if event:
        packet(sock, 4, event)
        while recv(sock)[0] != 5:
            pass
    return reply, events


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    what = sys.argv[2]
    if what == "conns":
        _, events = command(sock, "list-conns", "list-conn")
        for ev in events:
            for name, conn in ev.items():
                local = next((v for k, v in conn.items() if k.startswith("local") and isinstance(v, dict)), {})
                remote = next((v for k, v in conn.items() if k.startswith("remote") and isinstance(v, dict)), {})
                print(name, local.get("id", "-"), remote.get("id", "-"))
    elif what in ("shared", "keys"):
        reply, _ = command(sock, "get-" + what)
        for k in reply.get("keys", []):
            print(k)
    else:
        sys.exit("vici-list.py: WHAT is conns, shared or keys")


main()
