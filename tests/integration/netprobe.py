#!/usr/bin/env python3
"""netprobe.py: tiny TCP/UDP servers and probes for the enforcer's integration test.

  netprobe.py serve-tcp PORT         accept on [::]:PORT (IPv4 too), answer "hello\\n"
  netprobe.py serve-udp PORT         echo datagrams on [::]:PORT (IPv4 too)
  netprobe.py tcp HOST PORT [SECS]   exit 0 if HOST:PORT answers "hello" within SECS
  netprobe.py udp HOST PORT [SECS]   exit 0 if HOST:PORT echoes a datagram within SECS

Probes exit 1 on no answer (dropped), 2 on usage errors. Servers run until killed.
"""
import socket
import sys


def dual_stack(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    return s


def serve_tcp(port):
    s = dual_stack(socket.SOCK_STREAM, port)
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b"hello\n")
        except OSError:
            pass
        c.close()


def serve_udp(port):
    s = dual_stack(socket.SOCK_DGRAM, port)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def probe_tcp(host, port, secs):
    try:
        with socket.create_connection((host, port), timeout=secs) as c:
            c.settimeout(secs)
            return 0 if c.recv(16).startswith(b"hello") else 1
    except OSError:
        return 1


def probe_udp(host, port, secs):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(secs)
    try:
        s.sendto(b"ping", (host, port))
        data, _ = s.recvfrom(2048)
        return 0 if data == b"ping" else 1
    except OSError:
        return 1
    finally:
        s.close()


def main(argv):
    if len(argv) == 3 and argv[1] == "serve-tcp":
        serve_tcp(int(argv[2]))
    elif len(argv) == 3 and argv[1] == "serve-udp":
        serve_udp(int(argv[2]))
    elif len(argv) in (4, 5) and argv[1] in ("tcp", "udp"):
        secs = float(argv[4]) if len(argv) == 5 else 2.0
        probe = probe_tcp if argv[1] == "tcp" else probe_udp
        return probe(argv[2], int(argv[3]), secs)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
