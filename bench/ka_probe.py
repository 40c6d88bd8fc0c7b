#!/usr/bin/python3
"""Keep-alive probe: N connections sending GETs back to back (like wrk), logging every failure.

Diagnostic companion of bench.py (README, "Errors in the first second"): where wrk only
counts "read errors", this says what happened to each connection: EOF before any byte of
a response (the server closed an idle keep-alive connection), a reset, a partial
response, a connect error, `Connection: close`; how many responses the connection had
served, and (with --ss) which server process held it, from `ss -tnp`.

    bench/ka_probe.py http://127.0.0.1:8080/hello               # 32 connections, 1 s
    bench/ka_probe.py http://127.0.0.1:8080/hello -c 32 -d 5 --ss --cpu 0

Asserts nothing; exit status 0. Requests must get a Content-Length response (no chunking).
"""

import argparse
import os
import re
import selectors
import socket
import subprocess
import time
import urllib.parse


class Conn:
    def __init__(self, slot, gen, addr):
        self.slot, self.gen, self.done, self.buf = slot, gen, 0, b""
        self.sent_at, self.lport = None, None
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(addr)
        self.state = "connecting"


def owners(port):
    """{client port: pid of the server process holding the connection} from ss -tnp."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", "( sport = :%d )" % port],
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        m = re.search(r":%d\s+\S+:(\d+).*pid=(\d+)" % port, line)
        if m:
            found[int(m.group(1))] = int(m.group(2))
    return found


def run(host, port, path, nconn, seconds, use_ss):
    addr = (host, port)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode()
    sel = selectors.DefaultSelector()
    events, conns, owner = [], {}, {}
    t0 = time.time()

    def open_conn(slot):
        c = Conn(slot, conns[slot].gen + 1 if slot in conns else 0, addr)
        conns[slot] = c
        sel.register(c.sock, selectors.EVENT_WRITE, c)

    def fail(c, what):
        events.append((time.time() - t0, c, what, owner.get(c.lport)))
        sel.unregister(c.sock)
        c.sock.close()
        open_conn(c.slot)

    for i in range(nconn):
        open_conn(i)
    snapped = not use_ss
    total = 0
    while time.time() - t0 < seconds:
        if not snapped and time.time() - t0 > 0.05:
            owner.update(owners(port))
            snapped = True
        for key, _ in sel.select(0.1):
            c = key.data
            if c.state == "connecting":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect: %s" % os.strerror(err))
                    continue
                c.lport, c.state = c.sock.getsockname()[1], "send"
            if c.state == "send":
                try:
                    c.sock.send(req)
                except OSError as e:
                    fail(c, "write: %s" % e)
                    continue
                c.state, c.sent_at = "recv", time.time()
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(65536)
            except OSError as e:
                fail(c, "read: %s after %d response bytes" % (e, len(c.buf)))
                continue
            if not data:
                fail(c, "EOF %.2f ms after the request, %d response bytes"
                     % ((time.time() - c.sent_at) * 1e3, len(c.buf)))
                continue
            c.buf += data
            head_end = c.buf.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = c.buf[:head_end].decode("latin-1").lower()
            m = re.search(r"\r\ncontent-length:\s*(\d+)", head)
            if not m:
                fail(c, "response without Content-Length: %r" % head[:80])
                continue
            if len(c.buf) < head_end + 4 + int(m.group(1)):
                continue
            status = head.split(" ", 2)[1]
            c.buf, c.done, total = b"", c.done + 1, total + 1
            if not status.startswith(("2", "3")):
                events.append((time.time() - t0, c, "HTTP %s" % status, owner.get(c.lport)))
            if re.search(r"\r\nconnection:\s*close", head):
                fail(c, "server sent Connection: close")
                continue
            c.state = "send"
            sel.modify(c.sock, selectors.EVENT_WRITE, c)
    per_conn = sorted(c.done for c in conns.values())
    for c in conns.values():
        sel.unregister(c.sock)
        c.sock.close()
    return total, events, per_conn, owner


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("-d", "--seconds", type=float, default=1.0)
    ap.add_argument("--ss", action="store_true", help="map connections to server PIDs (ss -tnp)")
    ap.add_argument("--cpu", type=int, help="pin this client to a CPU")
    o = ap.parse_args()
    if o.cpu is not None:
        os.sched_setaffinity(0, {o.cpu})
    u = urllib.parse.urlsplit(o.url)
    total, events, per_conn, owner = run(u.hostname, u.port or 80, u.path or "/", o.connections,
                                         o.seconds, o.ss)
    print("%d responses in %.1f s on %d connection slots" % (total, o.seconds, o.connections))
    print("responses per connection (current generation): %s" % per_conn)
    if owner:
        count = {}
        for pid in owner.values():
            count[pid] = count.get(pid, 0) + 1
        print("connections per server process at +50 ms: %s" % count)
    print("%d failure(s)" % len(events))
    for t, c, what, pid in events:
        print("  t=%.3f s slot %d (gen %d, %d responses on it%s): %s"
              % (t, c.slot, c.gen, c.done, ", pid %s" % pid if pid else "", what))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
