#!/usr/bin/env python3
"""Test tool: HTTP clients that misbehave, for the `ferry-load serve` tests (plain HTTP
on loopback, raw sockets; curl cannot do these).

  rawhttp.py bighdr PORT MIB                 GET /v2/ with one header of MIB MiB; prints
                                             the status line the server sent, or "closed"
  rawhttp.py rawget PORT PATH               GET PATH sent as raw bytes (control bytes
                                             and all); prints the status line
  rawhttp.py idle PORT N SECONDS             opens N connections that send nothing and
                                             holds them SECONDS; prints how many opened
  rawhttp.py slow PORT PATH SECONDS          GET PATH with a tiny receive buffer, reads
                                             one byte a second for SECONDS, then the rest
                                             at full speed; prints "read N bytes ..."
  rawhttp.py flipmid PORT PATH OUT FILE OFFSET
                                             GET PATH, reads 1 MiB of the body slowly, then
                                             flips the byte at OFFSET of FILE with
                                             dd conv=notrunc (its mtime put back with
                                             touch -r) and reads on to the end; the body
                                             goes to OUT; prints "status S, body N bytes"
"""
import os
import socket
import subprocess
import sys
import time


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    return s


def get(s, path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: rawhttp\r\n\r\n" % path).encode())


def read_head(s):
    """Reads up to the end of the response head; returns (status line, rest of buffer)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = s.recv(1)
        if not c:
            return None, b""
        buf += c
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.split(b"\r\n")[0].decode("latin-1"), rest


def bighdr(port, mib):
    s = connect(port)
    try:
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        chunk = b"a" * 65536
        for _ in range(mib * 16):
            s.sendall(chunk)
        s.sendall(b"\r\n\r\n")
    except OSError:
        pass  # the server stopped reading and closed: what it answered is still there
    try:
        line, _ = read_head(s)
    except OSError:
        line = None
    print(line or "closed")


def rawget(port, path):
    s = connect(port)
    s.sendall(b"GET " + os.fsencode(path) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    line, _ = read_head(s)
    print(line or "closed")


def idle(port, n, secs):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(port))
        except OSError:
            break
    print(len(socks), flush=True)
    time.sleep(secs)
    for s in socks:
        s.close()


def slow(port, path, secs):
    s = connect(port, rcvbuf=4096)
    get(s, path)
    got = 0
    for _ in range(secs):
        try:
            c = s.recv(1)
        except OSError:
            c = b""
        if not c:
            break
        got += 1
        time.sleep(1)
    while True:  # then at full speed, to see where the server stopped sending
        try:
            c = s.recv(65536)
        except OSError:
            c = b""
        if not c:
            break
        got += len(c)
    print("read %d bytes in all (headers included)" % got)


def flipmid(port, path, out, victim, offset):
    s = connect(port, rcvbuf=65536)
    get(s, path)
    line, body = read_head(s)
    first = True
    with open(out, "wb") as f:
        f.write(body)
        got = len(body)
        while True:
            try:
                c = s.recv(65536)
            except OSError:
                c = b""
            if not c:
                break
            f.write(c)
            got += len(c)
            if got < (1 << 20):
                time.sleep(0.01)
            elif first:
                first = False
                with open(victim, "rb") as v:
                    v.seek(offset)
                    old = v.read(1)
                with open(victim + ".flip", "wb") as b:
                    b.write(bytes([old[0] ^ 0xFF]))
                open(victim + ".stamp", "wb").close()
                subprocess.run(["touch", "-r", victim, victim + ".stamp"], check=True)
                subprocess.run(["dd", "if=" + victim + ".flip", "of=" + victim, "bs=1", "seek=%d" % offset,
                                "conv=notrunc", "status=none"], check=True)
                subprocess.run(["touch", "-r", victim + ".stamp", victim], check=True)
                os.unlink(victim + ".stamp")
                os.unlink(victim + ".flip")
    print("status %s, body %d bytes" % ((line or "none").split(" ")[1] if line else "none", got))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "bighdr" and len(a) == 3:
        bighdr(int(a[1]), int(a[2]))
    elif a[0] == "rawget" and len(a) == 3:
        rawget(int(a[1]), a[2])
    elif a[0] == "idle" and len(a) == 4:
        idle(int(a[1]), int(a[2]), float(a[3]))
    elif a[0] == "slow" and len(a) == 4:
        slow(int(a[1]), a[2], int(a[3]))
    elif a[0] == "flipmid" and len(a) == 6:
        flipmid(int(a[1]), a[2], a[3], a[4], int(a[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
