#!/usr/bin/env python3
"""Readiness probe for RabbitMQ: a complete AMQP 0-9-1 login and clean close.

Proves the broker really serves clients (listener up, guest can log in,
vhost "/" opens), in ~10 ms and with the stdlib only. A full handshake rather
than just the protocol header keeps the broker log free of "client
unexpectedly closed TCP connection" warnings on every probe.
Usage: amqp_ping.py [host] [port] [user] [password] [vhost]; exit 0 when OK.
"""
import socket
import struct
import sys


def shortstr(s: bytes) -> bytes:
    return bytes([len(s)]) + s


def longstr(s: bytes) -> bytes:
    return struct.pack(">I", len(s)) + s


def send_method(sock, class_id, method_id, args=b""):
    payload = struct.pack(">HH", class_id, method_id) + args
    sock.sendall(struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return buf


def recv_method(sock, expect):
    """Read one method frame on channel 0; return its arguments."""
    ftype, channel, size = struct.unpack(">BHI", recv_exact(sock, 7))
    payload = recv_exact(sock, size + 1)[:-1]
    ids = struct.unpack(">HH", payload[:4])
    if ftype != 1 or channel != 0 or ids != expect:
        raise ConnectionError(f"expected method {expect}, got frame {ftype} {ids}")
    return payload[4:]


def ping(host, port, user, password, vhost):
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        recv_method(sock, (10, 10))  # Connection.Start
        send_method(sock, 10, 11,  # Start-Ok: no client props, PLAIN login
                    struct.pack(">I", 0) + shortstr(b"PLAIN")
                    + longstr(b"\0" + user + b"\0" + password) + shortstr(b"en_US"))
        tune = recv_method(sock, (10, 30))  # Tune (a Close here = bad login)
        send_method(sock, 10, 31, tune[:8])  # Tune-Ok: accept the broker's limits
        send_method(sock, 10, 40, shortstr(vhost) + shortstr(b"") + b"\x00")  # Open
        recv_method(sock, (10, 41))  # Open-Ok
        send_method(sock, 10, 50, struct.pack(">H", 200) + shortstr(b"") + struct.pack(">HH", 0, 0))
        recv_method(sock, (10, 51))  # Close-Ok


if __name__ == "__main__":
    a = sys.argv[1:] + [None] * 5
    try:
        ping(a[0] or "127.0.0.1", int(a[1] or 5672), (a[2] or "guest").encode(),
             (a[3] or "guest").encode(), (a[4] or "/").encode())
    except (OSError, ConnectionError, struct.error) as e:
        print(f"amqp_ping: {e}", file=sys.stderr)
        sys.exit(1)
