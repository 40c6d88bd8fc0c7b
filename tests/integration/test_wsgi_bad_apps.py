"""mod_wsgi-compatible WSGI hosting: misbehaving applications and clients (spec §6, §9).

Every case must end in the right status (or a detectably truncated response), a useful
error-log line, and close() of the returned iterable.
"""

from __future__ import annotations

import socket
import time

import pytest

from wsgiapps import MARKED_BODY, MARKS, abort_close, connect, marker_path, read_head, \
    read_to_close, rss_kib, script, wait_marker

ALIAS = "WSGIScriptAlias /app @DOCROOT@/app.wsgi\n"

# Tracebacks are logged line by line with the same id.
TRACE = ("MP2100",)

BAD_APP = MARKED_BODY + '''
    import sys
    import time


    def failing(name, before=(b"first block",)):
        def gen():
            for block in before:
                yield block
            raise RuntimeError("BOOM-" + name)
        return Body(gen(), name)


    TEXT = [("Content-Type", "text/plain")]


    def application(environ, start_response):
        what = environ["PATH_INFO"].strip("/")
        if what == "raise-before":
            raise RuntimeError("BOOM-raise-before")
        if what == "raise-with-failing-del":
            class FailsOnDelete:
                def __del__(self):
                    raise ValueError("DEL-of-a-local")

            local = FailsOnDelete()  # noqa: F841 (freed with the traceback's frame)
            raise RuntimeError("BOOM-with-failing-del")
        if what == "raise-after-start":
            start_response("200 OK", TEXT + [("X-Leak", "no")])
            raise RuntimeError("BOOM-raise-after-start")
        if what == "raise-in-iter":
            start_response("200 OK", TEXT)
            return failing("raise-in-iter")
        if what == "raise-in-iter-fixed":
            start_response("200 OK", TEXT + [("Content-Length", "100")])
            return failing("raise-in-iter-fixed")
        if what == "raise-in-iter-first":
            start_response("200 OK", TEXT + [("X-Leak", "no")])
            return failing("raise-in-iter-first", before=())
        if what == "raise-in-close":
            class Closing:
                def __iter__(self):
                    return iter([b"body"])

                def close(self):
                    raise RuntimeError("BOOM-in-close")
            start_response("200 OK", TEXT)
            return Closing()
        if what == "none":
            start_response("200 OK", TEXT)
            return None
        if what == "int":
            start_response("200 OK", TEXT)
            return 42
        if what == "str-result":
            start_response("200 OK", TEXT)
            return "a str, not bytes"
        if what == "str-in-list":
            start_response("200 OK", TEXT + [("X-Leak", "no")])
            return [b"ok", "not bytes"]  # a list: checked before anything is sent
        if what == "str-in-gen":
            start_response("200 OK", TEXT)

            def gen():
                yield b"bytes first"
                yield "then str"
            return Body(gen(), "str-in-gen")
        if what == "write-str":
            write = start_response("200 OK", TEXT)
            write("not bytes")
            return [b"unreachable"]
        if what == "no-start":
            return Body([], "no-start")
        if what == "no-start-body":
            return Body([b"body without start_response"], "no-start-body")
        if what == "twice-after-body":
            write = start_response("200 OK", TEXT)
            write(b"already sent")
            start_response("500 Oops", TEXT)
            return [b"unreachable"]
        if what == "excinfo-after-body":
            write = start_response("200 OK", TEXT)
            write(b"partial")
            try:
                raise KeyError("BOOM-excinfo-after-body")
            except KeyError:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            return [b"unreachable"]
        if what == "excinfo-bad-type":
            start_response("200 OK", TEXT, "not a tuple")
            return [b"unreachable"]
        if what == "cl-long":
            start_response("200 OK", TEXT + [("Content-Length", "10")])
            return Body([b"0123456789", b"EXTRA-BYTES-NEVER-SENT"], "cl-long")
        if what == "cl-long-write":
            write = start_response("200 OK", TEXT + [("Content-Length", "4")])
            write(b"abcdEXTRA")
            return Body([b"MORE"], "cl-long-write")
        if what == "cl-exact-raise":
            start_response("200 OK", TEXT + [("Content-Length", "5")])

            def gen():
                yield b"whole"
                raise RuntimeError("BOOM-cl-exact-raise")
            return Body(gen(), "cl-exact-raise")
        if what == "cl-exact-slow":
            start_response("200 OK", TEXT + [("Content-Length", "5")])

            def gen():
                yield b"whole"
                time.sleep(4)  # clean-up after the last block must not hold the response
            return Body(gen(), "cl-exact-slow")
        if what == "cl-exact-big":
            size = 300000
            start_response("200 OK", TEXT + [("Content-Length", str(size))])

            def gen():
                yield b"a" * 1000
                yield b"b" * (size - 1000)  # completes the length: the response ends here
                yield b""
            return Body(gen(), "cl-exact-big")
        if what == "cl-short":
            start_response("200 OK", TEXT + [("Content-Length", "100")])
            return Body([b"only ", b"ten b"], "cl-short")
        if what == "cl-short-list":
            start_response("200 OK", TEXT + [("Content-Length", "100")])
            return [b"short"]
        if what == "cl-invalid":
            start_response("200 OK", TEXT + [("Content-Length", "12abc")])
            return [b"x"]
        if what == "hop":
            start_response("200 OK", TEXT + [("Connection", "x-test-token"),
                                             ("Keep-Alive", "timeout=999"),
                                             ("Upgrade", "h2c-test"),
                                             ("Transfer-Encoding", "gzip"),
                                             ("X-Kept", "yes")])
            return [b"hop body"]
        if what == "big":
            total = int(environ["QUERY_STRING"] or "0")
            block = b"z" * (1 << 20)
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("X-Pid", str(os.getpid()))])

            def gen():
                sent = 0
                while sent < total:
                    yield block
                    sent += len(block)
            return Body(gen(), "big-" + environ["QUERY_STRING"])
        if what == "endless":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])

            class Endless:
                def __iter__(self):
                    while True:
                        yield b"e" * 65536

                def close(self):
                    mark("endless", repr(time.time()))
            return Endless()
        if what == "endless-write":
            write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
            try:
                while True:
                    write(b"w" * 65536)
            except OSError as exc:
                mark("endless-write", str(exc))
                raise
        if what == "body":
            mark("body-app-ran", "ran")
            data = environ["wsgi.input"].read()
            start_response("200 OK", TEXT)
            return [b"%d" % len(data)]
        if what == "read-error":
            inp = environ["wsgi.input"]
            try:
                inp.read()
            except OSError as exc:
                first = str(exc)
                try:
                    inp.read(1)
                    again = "no error"
                except OSError as exc2:
                    again = str(exc2)
                mark("read-error", first + " | " + again)
                raise
            start_response("200 OK", TEXT)
            return [b"read everything?"]
        start_response("404 Not Found", TEXT)
        return [b"unknown"]
'''


def bad_server(apache, snippet=ALIAS, **kwargs):
    return apache(snippet, files={"app.wsgi": script(BAD_APP.replace("@MARKS@", MARKS))},
                  **kwargs)


def http10(srv, path):
    return srv.raw(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())


def http11(srv, path):
    return srv.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


# ------------------------------------------------------------------ exceptions


@pytest.mark.allow_log(*TRACE)
def test_exception_before_start_response(apache):
    srv = bad_server(apache)
    r = http10(srv, "/app/raise-before")
    assert r.status == 500
    head = srv.wait_for_log("MP2100.*app.wsgi")
    assert "/app/raise-before" in head or "app.wsgi" in head
    srv.wait_for_log("MP2100.*Traceback")
    srv.wait_for_log("MP2100.*RuntimeError: BOOM-raise-before")


@pytest.mark.allow_log(*TRACE, "Exception ignored", "Traceback", "File ", "DEL-of-a-local",
                       "raise ValueError")
def test_traceback_is_logged_whole_before_its_frames_are_freed(apache):
    # A local's failing __del__ runs when the traceback is released: its report must follow
    # the application's traceback, not split it.
    srv = bad_server(apache)
    assert http10(srv, "/app/raise-with-failing-del").status == 500
    srv.wait_for_log("DEL-of-a-local")
    lines = srv.error_log().splitlines()
    head = next(i for i, line in enumerate(lines) if "MP2100" in line and "app.wsgi" in line)
    last = next(i for i, line in enumerate(lines) if "RuntimeError: BOOM-with-failing-del" in line)
    ignored = next(i for i, line in enumerate(lines) if "Exception ignored" in line)
    assert all("MP2100" in line for line in lines[head:last + 1])
    assert last < ignored


@pytest.mark.allow_log(*TRACE)
def test_exception_after_start_response_before_body(apache):
    srv = bad_server(apache)
    r = http10(srv, "/app/raise-after-start")
    assert r.status == 500
    assert r.header("X-Leak") is None
    srv.wait_for_log("BOOM-raise-after-start")


@pytest.mark.allow_log(*TRACE)
@pytest.mark.parametrize("path,chunked", [("raise-in-iter", True), ("raise-in-iter-fixed", False)])
def test_exception_during_body_truncates(apache, path, chunked):
    srv = bad_server(apache)
    r = http11(srv, f"/app/{path}")
    assert r.status == 200
    assert r.body.startswith(b"first block")
    assert not r.complete, r.raw
    if chunked:
        assert r.header("Transfer-Encoding") == b"chunked"
        assert not r.raw.endswith(b"0\r\n\r\n")
    srv.wait_for_log(f"BOOM-{path}")
    wait_marker(srv, path)


@pytest.mark.allow_log(*TRACE)
def test_exception_at_first_block_is_500(apache):
    srv = bad_server(apache)
    r = http10(srv, "/app/raise-in-iter-first")
    assert r.status == 500 and r.header("X-Leak") is None
    srv.wait_for_log("BOOM-raise-in-iter-first")
    wait_marker(srv, "raise-in-iter-first")


@pytest.mark.allow_log(*TRACE)
def test_exception_in_close_is_logged(apache):
    srv = bad_server(apache)
    r = http11(srv, "/app/raise-in-close")
    assert r.body == b"body"
    srv.wait_for_log("BOOM-in-close")


@pytest.mark.allow_log(*TRACE)
@pytest.mark.parametrize("path,message", [
    ("none", "TypeError"),
    ("int", "TypeError"),
    ("str-result", "TypeError"),
    ("str-in-list", "TypeError"),
    ("write-str", "TypeError"),
    ("excinfo-bad-type", "TypeError"),
    ("no-start-body", "start_response"),
    ("cl-invalid", "Content-Length"),
])
def test_bad_results_before_body_are_500(apache, path, message):
    srv = bad_server(apache)
    r = http10(srv, f"/app/{path}")
    assert r.status == 500, r.raw
    assert r.header("X-Leak") is None
    assert b"not bytes" not in r.raw and b"a str" not in r.raw
    srv.wait_for_log(f"MP2100.*{message}")
    if path == "no-start-body":
        wait_marker(srv, path)


@pytest.mark.allow_log("MP2101")
def test_no_start_response(apache):
    srv = bad_server(apache)
    r = http10(srv, "/app/no-start")
    assert r.status == 500
    srv.wait_for_log("MP2101.*start_response")
    wait_marker(srv, "no-start")


@pytest.mark.allow_log(*TRACE)
@pytest.mark.parametrize("path,needle", [
    ("str-in-gen", "TypeError"),
    ("twice-after-body", "headers have already been sent"),
    ("excinfo-after-body", "BOOM-excinfo-after-body"),
])
def test_errors_after_body_truncate(apache, path, needle):
    srv = bad_server(apache)
    r = http11(srv, f"/app/{path}")
    assert r.status == 200
    assert not r.complete, r.raw
    assert b"unreachable" not in r.raw and b"then str" not in r.raw
    srv.wait_for_log(f"MP2100.*{needle}")
    if path == "str-in-gen":
        wait_marker(srv, path)


# ------------------------------------------------------------------ bad headers


HEADER_APP = '''
    import json


    def application(environ, start_response):
        status, headers = json.loads(environ["QUERY_STRING"].replace("%22", '"')
                                     .replace("%20", " "))
        if headers and headers[0][0] == "BYTES":
            headers = [(b"X-Bytes", "v")]
        else:
            headers = [tuple(h) for h in headers]
        start_response(status, [("Content-Type", "text/plain")] + headers)
        return [b"must not be sent"]
'''


@pytest.mark.allow_log(*TRACE)
@pytest.mark.parametrize("status,headers,error", [
    ("200 OK", [["X-Bad", "a\r\nInjected: 1"]], "ValueError"),
    ("200 OK", [["X-Bad", "a\nInjected: 1"]], "ValueError"),
    ("200 OK", [["X-Bad", "a\rInjected: 1"]], "ValueError"),
    ("200 OK", [["X-Bad", "a\x00Injected"]], "ValueError"),
    ("200 OK", [["X-Bad", "Injected \u20ac"]], "latin-1"),
    ("200 OK", [["Injected\u20ac", "v"]], "latin-1"),
    ("200 OK", [["Injected Name", "v"]], "ValueError"),
    ("200 OK", [["Injected:Name", "v"]], "ValueError"),
    ("200 OK", [["", "Injected"]], "ValueError"),
    ("200 OK", [["Injected\r\nX", "v"]], "ValueError"),
    ("200 OK", [["BYTES", "v"]], "TypeError"),
    ("2000 Injected", [], "ValueError"),
    ("abc Injected", [], "ValueError"),
    ("200 Injected\r\nX-Evil: 1", [], "ValueError"),
    ("200 Injected\u20ac", [], "latin-1"),
    ("100 Continue", [], "between 200 and 599"),
    ("101 Switching Protocols", [], "between 200 and 599"),
    ("600 Injected", [], "between 200 and 599"),
], ids=["crlf", "lf", "cr", "nul", "value-nonlatin1", "name-nonlatin1", "name-space",
        "name-colon", "name-empty", "name-crlf", "name-bytes", "status-4digits",
        "status-letters", "status-crlf", "status-nonlatin1", "status-100", "status-101",
        "status-600"])
def test_bad_response_headers_are_500(apache, status, headers, error):
    import json
    import urllib.parse

    srv = apache(ALIAS, files={"app.wsgi": script(HEADER_APP)})
    query = urllib.parse.quote(json.dumps([status, headers]), safe="")
    # the app undoes only %22 and %20; decode the rest here so it sees the JSON text
    query = urllib.parse.unquote(query).replace('"', "%22").replace(" ", "%20")
    raw = srv.raw(b"GET /app?" + query.encode("utf-8") + b" HTTP/1.0\r\n\r\n")
    assert raw.status == 500, raw.raw
    assert b"Injected" not in raw.raw and b"must not be sent" not in raw.raw
    assert b"X-Evil" not in raw.raw
    srv.wait_for_log(f"MP2100.*{error}")


def test_hop_by_hop_headers_dropped(apache):
    srv = bad_server(apache)
    r = http11(srv, "/app/hop")
    assert r.status == 200 and r.body == b"hop body"
    assert r.header("X-Kept") == b"yes"
    for value in (b"x-test-token", b"timeout=999", b"h2c-test", b"gzip"):
        assert value not in r.raw
    line = srv.wait_for_log("MP2103.*hop-by-hop")
    assert "warn" in line


# ------------------------------------------------------------- Content-Length


@pytest.mark.allow_log("MP2104")
@pytest.mark.parametrize("path,length,body", [
    ("cl-long", 10, b"0123456789"),
    ("cl-long-write", 4, b"abcd"),
])
def test_more_than_content_length_is_cut(apache, path, length, body):
    srv = bad_server(apache)
    r = http10(srv, f"/app/{path}")
    assert r.status == 200
    assert r.header("Content-Length") == str(length).encode()
    assert r.raw.partition(b"\r\n\r\n")[2] == body
    assert b"EXTRA" not in r.raw and b"MORE" not in r.raw
    srv.wait_for_log("MP2104")
    wait_marker(srv, path)
    # keep-alive connection stays usable and in sync
    with connect(srv) as sock:
        sock.sendall(f"GET /app/{path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                     + b"GET /app/hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_to_close(sock)
    assert data.count(b"HTTP/1.1 200") == 2, data
    assert b"EXTRA" not in data and b"MORE" not in data
    assert data.endswith(b"hop body")


def test_block_completing_content_length_then_keep_alive(apache):
    srv = bad_server(apache)
    with connect(srv) as sock:
        sock.sendall(b"GET /app/cl-exact-big HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /app/hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_to_close(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 300000" in head
    assert rest[:300000] == b"a" * 1000 + b"b" * 299000
    assert rest[300000:].startswith(b"HTTP/1.1 200") and rest.endswith(b"hop body")
    wait_marker(srv, "cl-exact-big")


def test_block_completing_content_length_is_not_held_back(apache):
    # PEP 3333: no block is delayed. The one that completes Content-Length ends the response
    # even though the generator still sleeps before it stops.
    srv = bad_server(apache)
    with connect(srv) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /app/cl-exact-slow HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(10)
        data = b""
        while not data.endswith(b"whole"):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        elapsed = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 200") and b"Content-Length: 5" in data
    assert elapsed < 3, f"the response waited {elapsed:.1f} s for the generator to stop"
    wait_marker(srv, "cl-exact-slow", timeout=10)


@pytest.mark.allow_log(*TRACE)
def test_exception_after_the_whole_body_closes_the_connection(apache):
    srv = bad_server(apache)
    with connect(srv) as sock:
        sock.sendall(b"GET /app/cl-exact-raise HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_to_close(sock, within=5)  # closed after the failed response
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nwhole")
    srv.wait_for_log("BOOM-cl-exact-raise")
    wait_marker(srv, "cl-exact-raise")


@pytest.mark.allow_log("MP2105")
@pytest.mark.parametrize("path", ["cl-short", "cl-short-list"])
def test_fewer_than_content_length_closes(apache, path):
    srv = bad_server(apache)
    with connect(srv) as sock:
        # keep-alive requested: the server must still close after the short body
        sock.sendall(f"GET /app/{path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = read_to_close(sock, within=5)
    from conftest import parse_raw_response

    r = parse_raw_response(data)
    assert r.status == 200
    assert r.header("Content-Length") == b"100"
    assert not r.complete
    srv.wait_for_log("MP2105")
    if path == "cl-short":
        wait_marker(srv, path)


# ------------------------------------------------------------------- streaming


def test_one_gib_generator_memory_stays_flat(apache):
    srv = bad_server(apache)
    # warm-up: the interpreter and the script are loaded, the child's RSS settles
    assert len(srv.get(f"/app/big?{8 << 20}").content) == 8 << 20
    total = 1 << 30
    with connect(srv) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.sendall(f"GET /app/big?{total} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        head, rest = read_head(sock)
        pid = int([line.split(b":")[1] for line in head.split(b"\r\n")
                   if line.lower().startswith(b"x-pid:")][0])
        received = len(rest)
        before = rss_kib(pid)
        peak = before
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        next_sample = 64 << 20
        while True:
            n = sock.recv_into(view)
            if n == 0:
                break
            received += n
            if received >= next_sample:
                peak = max(peak, rss_kib(pid))
                next_sample += 64 << 20
    assert received == total
    wait_marker(srv, f"big-{total}")
    growth_mib = (peak - before) / 1024
    assert growth_mib < 32, f"child RSS grew by {growth_mib:.0f} MiB while streaming 1 GiB"


def test_client_disconnect_stops_iteration_and_closes(apache):
    srv = bad_server(apache)
    sock = connect(srv)
    sock.sendall(b"GET /app/endless HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _ = read_head(sock)
    assert b" 200 " in head.split(b"\r\n")[0]
    got = 0
    while got < 1 << 20:
        got += len(sock.recv(65536))
    abort_close(sock)
    gone = time.time()
    stamp = float(wait_marker(srv, "endless", timeout=5).strip())
    assert stamp - gone < 1.0, f"close() ran {stamp - gone:.2f} s after the disconnect"
    # the server is fine afterwards
    assert srv.get("/app/hop").text == "hop body"


@pytest.mark.allow_log(*TRACE)
def test_client_disconnect_makes_write_raise(apache):
    srv = bad_server(apache)
    sock = connect(srv)
    sock.sendall(b"GET /app/endless-write HTTP/1.1\r\nHost: x\r\n\r\n")
    read_head(sock)
    got = 0
    while got < 1 << 20:
        got += len(sock.recv(65536))
    abort_close(sock)
    text = wait_marker(srv, "endless-write", timeout=5)
    assert "client connection closed" in text


# ------------------------------------------------------------------- request body


def test_body_over_limit_request_body_is_413(apache):
    srv = bad_server(apache, ALIAS + "LimitRequestBody 1000\n")
    r = srv.post("/app/body", data=b"x" * 5000)
    assert r.status_code == 413
    time.sleep(0.2)
    assert not marker_path(srv, "body-app-ran").exists(), "the application ran"
    assert srv.post("/app/body", data=b"x" * 999).text == "999"


def read_until_closed(sock) -> bytes:
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    return data


# A body that cannot be read is the client's fault: when the application lets the OSError
# escape before responding, the answer is httpd's (400) with the one MP2107 line, no traceback.
@pytest.mark.allow_log("MP2107")
def test_truncated_chunked_body(apache):
    srv = bad_server(apache, log_level="warn wsgi:info")  # a client abort is logged at info
    with connect(srv, timeout=20) as sock:
        sock.sendall(b"POST /app/read-error HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        data = read_until_closed(sock)
    text = wait_marker(srv, "read-error", timeout=10)
    first, again = text.strip().split(" | ")
    assert "request data read error" in first
    assert "request data read error" in again  # the stream stays in error
    srv.wait_for_log("MP2107")
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert b"read everything" not in data
    assert "MP2100" not in srv.error_log()


@pytest.mark.allow_log("MP2107")
def test_bad_chunk_size(apache):
    srv = bad_server(apache)
    r = srv.raw(b"POST /app/read-error HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    assert r.status == 400, r.raw
    assert b"read everything" not in r.raw
    assert "MP2100" not in srv.error_log()


@pytest.mark.allow_log("MP2107")
def test_body_shorter_than_content_length(apache):
    srv = bad_server(apache, log_level="warn wsgi:info")
    with connect(srv, timeout=20) as sock:
        sock.sendall(b"POST /app/body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    line = srv.wait_for_log("MP2107")
    assert "cut short" in line and "[wsgi:info]" in line
    assert "MP2100" not in srv.error_log()


# ------------------------------------------------------------------ script loading


@pytest.mark.allow_log("MP2102")
def test_script_raising_on_load_is_500_and_retried(apache):
    srv = apache(ALIAS, files={"app.wsgi": "raise ImportError('BOOM-on-load')\n"})
    assert srv.get("/app").status_code == 500
    srv.wait_for_log("MP2102.*app.wsgi")
    srv.wait_for_log("MP2102.*BOOM-on-load")
    path = srv.docroot / "app.wsgi"
    path.write_text(script('''
        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"fixed"]
    '''))
    assert srv.get("/app").text == "fixed"


@pytest.mark.allow_log("MP2102")
def test_script_syntax_error_is_500(apache):
    srv = apache(ALIAS, files={"app.wsgi": "def application(:\n"})
    assert srv.get("/app").status_code == 500
    srv.wait_for_log("MP2102.*SyntaxError")


@pytest.mark.allow_log("MP2103")
def test_missing_callable_is_500(apache):
    srv = apache("WSGIScriptAlias /app @DOCROOT@/app.wsgi callable-object=nothere\n",
                 files={"app.wsgi": "application = None\n"})
    assert srv.get("/app").status_code == 500
    line = srv.wait_for_log("MP2103")
    assert "does not contain WSGI application 'nothere'" in line


@pytest.mark.allow_log("MP2107", *TRACE)
def test_short_fixed_length_body(apache):
    srv = bad_server(apache, log_level="warn wsgi:info")
    with connect(srv, timeout=20) as sock:
        sock.sendall(b"POST /app/read-error HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                     b"only twenty bytes...")
        sock.shutdown(socket.SHUT_WR)
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
    text = wait_marker(srv, "read-error", timeout=10)
    assert "request data read error" in text
    srv.wait_for_log("MP2107")
