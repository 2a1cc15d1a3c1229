#!/usr/bin/env python3
"""faultproxy.py - a fault-injecting HTTP/1.1 proxy for the registry tests.

Listens on 127.0.0.1, forwards every request to one upstream (a real registry) and
injects faults by rule:

    faultproxy.py --upstream 127.0.0.1:5000 --port-file P --log L [--rule R]... [--control F]

A rule is MATCH:ACTION[:WHICH[:ARG]]
  MATCH   METHOD, "METHOD REGEX" (re.search on the path, query included), or "*"
          (METHOD may be "A|B" for several)
  ACTION  reset        read the request, send nothing on, reset the client connection
          reset-mid    forward the request head and half its body, abort both connections
          reset-after  forward the whole request, then reset the client instead of replying
          500 502 503 504   answer with that status (JSON error body), nothing forwarded
          429          answer 429 with Retry-After: ARG (default 1), nothing forwarded
          slow         wait ARG seconds (default 1) before forwarding
          truncate     forward, then send the reply cut short (half the body, or part of
                       the head when there is no body) and close the connection
          lie          a blob upload's completing PUT (?digest=) is answered 201 Created
                       with the right Docker-Content-Digest, and not forwarded
          drip         forward, then send the reply's head one byte every ARG seconds
                       (default 1): a reply that never quite stalls and never ends
          corrupt      forward, then send the reply with the last byte of its body flipped
                       (a registry serving wrong bytes under the right digest)
          307          answer 307 Temporary Redirect to the same path under
                       /v2/ferry-redirected/ (where the registry has nothing), nothing
                       forwarded
  WHICH   N (the Nth matching request only, default 1), N+ (the Nth and every later
          one), N-M, or * (every one)

Several rules may match one request; each counts its own matches and the first one
whose WHICH selects the request fires. With --control FILE, the rules are read from
FILE (one a line, # comments) each time it changes, counters starting again.

Every request is logged to --log as one line, the fault ones too:
    <unix time> <METHOD> <path> -> <status or "reset"...> [fault=<ACTION> rule=<index>]
Location headers that name the upstream are rewritten to the proxy's address.
Standard library only. Stops on SIGTERM/SIGINT.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

ACTIONS = ("reset", "reset-mid", "reset-after", "500", "502", "503", "504", "429", "slow", "truncate", "lie",
           "drip", "307", "corrupt")
HOP = ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length")


class Rule:
    def __init__(self, spec, index):
        parts = spec.split(":")
        at = next((i for i in range(1, len(parts)) if parts[i] in ACTIONS), None)
        if at is None:
            raise ValueError("rule %r: no action (one of %s)" % (spec, " ".join(ACTIONS)))
        match = ":".join(parts[:at]).strip()
        self.spec, self.index, self.action = spec, index, parts[at]
        rest = parts[at + 1:]
        which = rest[0] if rest and rest[0] != "" else "1"
        self.arg = float(rest[1]) if len(rest) > 1 and rest[1] != "" else None
        if " " in match:
            m, rx = match.split(" ", 1)
        else:
            m, rx = match, ""
        self.methods = None if m in ("*", "") else set(m.upper().split("|"))
        self.rx = re.compile(rx.strip()) if rx.strip() else None
        if which == "*":
            self.lo, self.hi = 1, None
        elif which.endswith("+"):
            self.lo, self.hi = int(which[:-1]), None
        elif "-" in which:
            a, b = which.split("-", 1)
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(which)
        if self.lo < 1 or (self.hi is not None and self.hi < self.lo):
            raise ValueError("rule %r: bad WHICH %r" % (spec, which))
        self.seen = 0

    def matches(self, method, path):
        if self.methods is not None and method not in self.methods:
            return False
        if self.rx is not None and not self.rx.search(path):
            return False
        return True


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.loglock = threading.Lock()
        self.upstream = args.upstream
        self.cli_rules = args.rule or []
        self.control = args.control
        self.control_mtime = None
        self.rules = [Rule(s, i) for i, s in enumerate(self.cli_rules)]
        self.logf = open(args.log, "a", buffering=1) if args.log else sys.stderr
        self.me = None

    def reload(self):
        if not self.control:
            return
        try:
            st = os.stat(self.control)
            key = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        if key == self.control_mtime:
            return
        self.control_mtime = key
        specs = list(self.cli_rules)
        if key is not None:
            with open(self.control) as f:
                specs += [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
        self.rules = [Rule(s, i) for i, s in enumerate(specs)]
        self.log("- - rules: %s" % (" ; ".join(specs) or "none"))

    def pick(self, method, path):
        """The fault for this request (counting it against every matching rule), or None."""
        with self.lock:
            self.reload()
            hit = None
            for r in self.rules:
                if not r.matches(method, path):
                    continue
                r.seen += 1
                if hit is None and r.seen >= r.lo and (r.hi is None or r.seen <= r.hi):
                    hit = r
            return hit

    def log(self, msg):
        with self.loglock:
            self.logf.write("%.3f %s\n" % (time.time(), msg))
            self.logf.flush()


def hard_close(sock):
    """Closes with a TCP reset (SO_LINGER 0), not a clean FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"
    sys_version = ""

    def log_message(self, *a):
        pass

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("chunked body cut short")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(8192)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def note(self, result, rule=None, extra=""):
        st = self.server.state
        f = " fault=%s rule=%d" % (rule.action, rule.index) if rule is not None else ""
        st.log("%s %s -> %s%s%s" % (self.command, self.path, result, f, extra))

    def reply(self, code, headers=(), body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def reset_client(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        hard_close(self.connection)

    def upstream_conn(self):
        host, port = self.server.state.upstream.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=120)

    def fwd_headers(self, body):
        hd = {}
        for k, v in self.headers.items():
            if k.lower() in HOP or k.lower() == "host":
                continue
            hd[k] = v
        hd["Host"] = self.server.state.upstream
        if self.command in ("POST", "PUT", "PATCH") or body:
            hd["Content-Length"] = str(len(body))
        return hd

    def rewrite(self, k, v):
        if k.lower() == "location":
            up = "http://" + self.server.state.upstream
            if v.startswith(up):
                v = "http://" + self.server.state.me + v[len(up):]
        return v

    def handle_any(self):
        st = self.server.state
        try:
            body = self.read_body()
        except (ConnectionError, ValueError, OSError) as ex:
            self.close_connection = True
            st.log("%s %s -> bad request body (%s)" % (self.command, self.path, ex))
            return
        rule = st.pick(self.command, self.path)
        act = rule.action if rule else None
        if act == "reset":
            self.note("reset", rule)
            self.reset_client()
            return
        if act in ("500", "502", "503", "504"):
            code = int(act)
            msg = json.dumps({"errors": [{"code": "UNAVAILABLE", "message": "injected %d" % code}]}).encode()
            self.note(str(code), rule)
            self.reply(code, [("Content-Type", "application/json")], msg)
            return
        if act == "429":
            ra = rule.arg if rule.arg is not None else 1
            msg = json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message": "injected"}]}).encode()
            self.note("429", rule, " retry-after=%g" % ra)
            self.reply(429, [("Retry-After", "%d" % ra), ("Content-Type", "application/json")], msg)
            return
        if act == "307" and self.path.startswith("/v2/"):
            where = "/v2/ferry-redirected/" + self.path[4:]
            self.note("307", rule, " location=%s" % where)
            self.reply(307, [("Location", where)])
            return
        if act == "lie":
            m = re.match(r"^(/v2/(.+)/blobs/uploads/[^?]*)\?(.*)$", self.path)
            dg = re.search(r"(?:^|&)digest=([^&]+)", m.group(3)) if m and self.command == "PUT" else None
            if dg is not None:
                digest = dg.group(1).replace("%3A", ":").replace("%3a", ":")
                self.note("201", rule, " (not stored)")
                self.reply(201, [("Location", "/v2/%s/blobs/%s" % (m.group(2), digest)),
                                 ("Docker-Content-Digest", digest)])
                return
            # not a completing PUT: behave
        if act == "slow":
            time.sleep(rule.arg if rule.arg is not None else 1)
        conn = self.upstream_conn()
        try:
            if act == "reset-mid":
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.fwd_headers(body).items():
                    conn.putheader(k, v)
                conn.endheaders()
                if body:
                    conn.send(body[: len(body) // 2])
                    time.sleep(0.2)  # let the upstream take in what it got
                hard_close(conn.sock)
                self.note("reset-mid", rule, " (%d of %d bytes forwarded)" % (len(body) // 2, len(body)))
                self.reset_client()
                return
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.fwd_headers(body).items():
                conn.putheader(k, v)
            conn.endheaders()
            try:
                if body:
                    conn.send(body)
            except OSError:
                pass  # the upstream may answer (and close) before reading the whole body
            r = conn.getresponse()
            data = r.read() if self.command != "HEAD" else b""
        except (OSError, http.client.HTTPException) as ex:
            self.note("upstream error %s" % ex, rule)
            self.reset_client()
            return
        finally:
            conn.close()
        if act == "reset-after":
            self.note("reset-after (upstream said %d)" % r.status, rule)
            self.reset_client()
            return
        # send_response adds its own Date and Server
        hdrs = [(k, self.rewrite(k, v)) for k, v in r.getheaders() if k.lower() not in HOP + ("date", "server")]
        clen = r.getheader("Content-Length")
        if act == "drip":
            self.drip(r, hdrs, clen, data, rule)
            return
        if act == "truncate":
            self.close_connection = True
            out = ["HTTP/1.1 %d %s\r\n" % (r.status, r.reason)]
            out += ["%s: %s\r\n" % (k, v) for k, v in hdrs]
            if self.command != "HEAD" and data:
                out.append("Content-Length: %d\r\n\r\n" % len(data))
                raw = "".join(out).encode("latin-1") + data[: len(data) // 2]
                what = "truncate (%d of %d body bytes)" % (len(data) // 2, len(data))
            else:
                if clen is not None:
                    out.append("Content-Length: %s\r\n" % clen)
                out.append("\r\n")
                head = "".join(out).encode("latin-1")
                raw = head[: len(head) // 2]
                what = "truncate (%d of %d head bytes)" % (len(raw), len(head))
            try:
                self.wfile.write(raw)
                self.wfile.flush()
            except OSError:
                pass
            self.note("%d %s" % (r.status, what), rule)
            self.reset_client()
            return
        if act == "corrupt" and data:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        self.send_response(r.status, r.reason)
        for k, v in hdrs:
            self.send_header(k, v)
        if self.command == "HEAD":
            if clen is not None:
                self.send_header("Content-Length", clen)
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            if data:
                self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        self.note(str(r.status), rule)

    def drip(self, r, hdrs, clen, data, rule):
        """Sends the reply's head one byte at a time, ARG seconds apart, then its body."""
        self.close_connection = True
        out = ["HTTP/1.1 %d %s\r\n" % (r.status, r.reason)]
        out += ["%s: %s\r\n" % (k, v) for k, v in hdrs]
        if self.command == "HEAD":
            out.append("Content-Length: %s\r\n" % (clen if clen is not None else "0"))
        else:
            out.append("Content-Length: %d\r\n" % len(data))
        head = "".join(out + ["\r\n"]).encode("latin-1")
        self.note("%d drip (%d head bytes, one every %gs)" % (r.status, len(head), rule.arg or 1), rule)
        try:
            for i in range(len(head)):
                self.wfile.write(head[i:i + 1])
                self.wfile.flush()
                time.sleep(rule.arg if rule.arg is not None else 1)
            if self.command != "HEAD" and data:
                self.wfile.write(data)
                self.wfile.flush()
        except OSError:
            pass

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description="fault-injecting HTTP proxy for registry tests")
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the real registry")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="request and fault log (default stderr)")
    ap.add_argument("--rule", action="append", help="MATCH:ACTION[:WHICH[:ARG]] (repeatable)")
    ap.add_argument("--control", help="file of rules, re-read when it changes")
    args = ap.parse_args()
    try:
        state = State(args)
        state.reload()
    except (ValueError, re.error) as ex:
        print("faultproxy: %s" % ex, file=sys.stderr)
        return 2
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = state
    port = srv.server_address[1]
    state.me = "127.0.0.1:%d" % port
    state.log("- - listening on %s, upstream %s, rules: %s" % (state.me, state.upstream,
              " ; ".join(r.spec for r in state.rules) or "none"))
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
