"""Python filters at the edges of the stream: early close, end of stream, metadata order,
errors after output went on, re-entry, read sizes and upstream failures (spec §2.6, §10.5).
"""

import hashlib
import os
import socket
import time

import pytest

from mphelpers import REQUEST_TIMEOUT, in_directory
from test_filters import FILES as FILTER_TEST_FILES
from test_session_socache import configtest

EDGE = '''
    from mod_python import apache

    # test_filters' filt.py: the documentation's canonical filter and a line numberer.
    from filt import numbering, outputfilter as upper


    def first_ten_then_close(filter):
        """Input: keeps only the first 10 bytes of the body."""
        data = filter.read(10)
        if data:
            filter.write(data)
        filter.close()


    def read_then_pass_on(filter):
        data = filter.read()
        if data:
            filter.write(data.upper())
        filter.pass_on()


    def replace_without_reading(filter):
        filter.write(b"replaced")
        filter.close()


    def flush_then_raise(filter):
        data = filter.read()
        if data:
            filter.write(data.upper())
            filter.flush()
            raise RuntimeError("raised after flush marker-5150")
        if data is None:
            filter.close()


    def keep_for_later(filter):
        filter.req.saved_filter = filter
        filter.pass_on()


    def writes_to_its_request(filter):
        req = filter.req
        if not getattr(req, "nested_done", False):
            req.nested_done = True
            try:
                req.write("nested")
            except RuntimeError as exc:
                filter.write(("[%s]" % exc).encode())
        upper(filter)


    def double_bytes(data):
        return bytes(b for byte in data for b in (byte, byte))


    def doubling(filter):
        """Input: every byte twice, so the filter writes more than it was asked for."""
        data = filter.read()
        if data is None:
            filter.close()
        elif data:
            filter.write(double_bytes(data))


    def brackets(filter):
        """Output: wraps the whole body in brackets."""
        req = filter.req
        if not getattr(req, "opened", False):
            req.opened = True
            filter.write(b"[")
        data = filter.read()
        while data:
            filter.write(data)
            data = filter.read()
        if data is None:
            filter.write(b"]")
            filter.close()


    def reads_then_raises(filter):
        req = filter.req
        req.calls = getattr(req, "calls", 0) + 1
        data = filter.read()
        if req.calls == 3:
            raise RuntimeError("input raised after reading marker-5151")
        if data is None:
            filter.close()
        elif data:
            filter.write(data.upper())


    def one_line_then_disable(filter):
        line = filter.readline()
        if line:
            filter.write(line.upper())
        filter.disable()


    def collect_until_end(filter):
        """Input: writes nothing until the end of the body (as a decompressor does)."""
        req = filter.req
        data = filter.read()
        if data:
            req.collected = getattr(req, "collected", b"") + data
        elif data is None:
            filter.write(getattr(req, "collected", b"")[::-1])
            filter.close()


    def doubling_flushes(filter):
        data = filter.read()
        while data:
            filter.write(double_bytes(data))
            filter.flush()
            data = filter.read()
        if data is None:
            filter.close()


    def names_itself(filter):
        data = filter.read()
        if data is None:
            filter.write(("|name=%s" % filter.name).encode())
            filter.close()
        elif data:
            filter.write(data)


    def names_itself_at_the_end(filter):
        data = filter.read()
        while data:
            filter.write(data)
            data = filter.read()
        if data is None:
            filter.write(("|name=%s" % filter.name).encode())
            filter.close()
'''

EDGE_PAGES = '''
    from mod_python import apache


    def use_saved_filter(req):
        body = req.read()
        try:
            req.saved_filter.read()
            outcome = "no error"
        except RuntimeError as exc:
            outcome = "RuntimeError: %s" % exc
        req.content_type = "text/plain"
        req.write("%d|%s" % (len(body), outcome))
        return apache.OK


    def big(req):
        req.content_type = "text/plain"
        for _ in range(400):
            req.write("x" * 65536)
        return apache.OK


    def register_deflate(req):
        try:
            req.register_output_filter("DEFLATE", "edge::upper")
            outcome = "registered"
        except ValueError as exc:
            outcome = "ValueError: %s" % exc
        req.add_output_filter("NO_SUCH_FILTER_ANYWHERE")
        req.content_type = "text/plain"
        req.write(outcome)
        return apache.OK


    def filter_name(req):
        req.content_type = "text/plain"
        req.write("body")
        return apache.OK


    def long_line(req):
        req.content_type = "text/plain"
        for _ in range(32):
            req.write("x" * 65536)
        req.write("\\nend\\n")
        return apache.OK
'''

FILES = {**FILTER_TEST_FILES, "edge.py": EDGE, "edgepages.py": EDGE_PAGES}


def serve(apache, *directives, files=None, **kwargs):
    return apache(in_directory(*directives), files={**FILES, **(files or {})}, **kwargs)


def output(handler, function):
    return (f"PythonHandler {handler}", f"PythonOutputFilter edge::{function} OUT",
            "SetOutputFilter OUT")


def input_(handler, function):
    return (f"PythonHandler {handler}", f"PythonInputFilter edge::{function} IN",
            "SetInputFilter IN")


def read_all(sock) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def test_input_filter_closing_early_never_leaves_the_body_for_a_next_request(apache):
    srv = serve(apache, *input_("pages::digest", "first_ten_then_close"))
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = b"0123456789" + b"p" * 200_000 + smuggled
    head = b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(head)
        try:
            sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = read_all(sock)
    assert received.count(b"HTTP/1.1 ") == 1, received[:500]
    assert hashlib.sha256(b"0123456789").hexdigest().encode() in received
    assert not srv.log_lines("/smuggled")


def test_pass_on_after_reading_to_the_end_still_ends_the_response(apache):
    srv = serve(apache, *output("pages::lower_text", "read_then_pass_on"))
    r = srv.get("/x", timeout=10)
    assert (r.status_code, r.text) == (200, "HELLO FILTERED WORLD")


def test_close_without_reading_sends_only_what_was_written(apache):
    srv = serve(apache, *output("pages::lower_text", "replace_without_reading"))
    with srv.session() as s:
        for _ in range(2):  # the keep-alive connection stays in step
            r = s.get(srv.url("/x"), timeout=10)
            assert (r.status_code, r.content) == (200, b"replaced")


@pytest.mark.allow_log("MP0140", "marker-5150")
def test_error_after_flush_does_not_send_the_flushed_input_again(apache):
    srv = serve(apache, *output("pages::lower_text", "flush_then_raise"))
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "HELLO filtered world")


def test_filter_object_used_after_its_call_raises(apache):
    srv = serve(apache, *input_("edgepages::use_saved_filter", "keep_for_later"))
    r = srv.post("/x", data=b"some body")
    assert r.status_code == 200
    assert r.text == "9|RuntimeError: filter object used outside its filter call"


def test_output_filter_writing_to_its_own_request_gets_an_error(apache):
    srv = serve(apache, *output("pages::lower_text", "writes_to_its_request"))
    r = srv.get("/x", timeout=10)
    assert r.status_code == 200
    assert r.text == ("[the request's I/O cannot be used from inside one of its own filters "
                      "(use filter.read() and filter.write())]HELLO FILTERED WORLD")


def test_input_filter_writing_more_than_asked_loses_nothing(apache):
    srv = serve(apache, *input_("pages::digest", "doubling"))
    body = os.urandom(300_000)
    doubled = bytes(b for byte in body for b in (byte, byte))
    r = srv.post("/x", data=body)
    assert r.text == f"{len(doubled)} {hashlib.sha256(doubled).hexdigest()}"


def test_input_and_output_filters_may_share_a_name(apache):
    srv = serve(apache, "PythonHandler pages::echo", "PythonInputFilter edge::upper SAME",
                "PythonOutputFilter edge::brackets SAME", "SetInputFilter SAME",
                "SetOutputFilter SAME")
    r = srv.post("/x", data=b"abc")
    assert (r.status_code, r.content) == (200, b"[ABC]")


def test_streaming_handler_output_is_not_held_back_by_the_filter(apache):
    srv = serve(apache, *output("pages::wait_for_go", "upper"), "PythonOption go @ROOT@/run/go")
    go = srv.root / "run" / "go"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        received = b""
        started = time.monotonic()
        while b"FIRST\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        assert time.monotonic() - started < 8  # before the handler's 10 s wait ran out
        go.touch()
        received += read_all(sock)
    assert b"SECOND\n" in received


@pytest.mark.allow_log("MP0140", "marker-5151")
def test_input_filter_raising_after_reading_loses_nothing(apache):
    srv = serve(apache, *input_("pages::echo", "reads_then_raises"))
    body = b"abcdefghij" * 100_000
    r = srv.post("/x", data=body)
    assert r.status_code == 200
    assert len(r.content) == len(body)
    assert r.content.lower() == body
    srv.wait_for_log("marker-5151")


def test_input_filter_disabled_after_one_line_loses_nothing(apache):
    srv = serve(apache, *input_("pages::echo", "one_line_then_disable"))
    body = b"first line\n" + b"rest of the body " * 5000
    r = srv.post("/x", data=body)
    assert r.content == b"FIRST LINE\n" + body[len(b"first line\n"):]


def test_input_filter_collecting_a_large_body_until_its_end(apache):
    srv = serve(apache, *input_("pages::digest", "collect_until_end"))
    body = os.urandom(2 * 1024 * 1024)  # hundreds of reads of the next filter
    r = srv.post("/x", data=body)
    assert r.text == f"{len(body)} {hashlib.sha256(body[::-1]).hexdigest()}"


def test_body_over_the_limit_through_an_input_filter_is_413(apache):
    srv = serve(apache, *input_("pages::digest", "upper"), "LimitRequestBody 1000")
    r = srv.post("/x", data=iter([b"a" * 600, b"b" * 600, b"c" * 600]))  # chunked
    assert r.status_code == 413
    assert not srv.log_lines("[python:error]")


def test_static_file_through_a_filter_that_changes_its_length(apache):
    data = os.urandom(300_000)
    srv = apache(
        in_directory("PythonOutputFilter edge::doubling_flushes DBL", "SetOutputFilter DBL",
                     handler=None),
        files={**FILES, "file.bin": data},
    )
    with srv.session() as s:
        for _ in range(2):
            r = s.get(srv.url("/file.bin"), timeout=10)
            assert r.status_code == 200
            assert len(r.content) == 2 * len(data)
            assert r.content == bytes(b for byte in data for b in (byte, byte))


def test_readline_returns_a_very_long_line_in_pieces(apache):
    srv = serve(apache, *output("edgepages::long_line", "numbering"))
    r = srv.get("/x", timeout=30)
    assert r.text == "1:" + "x" * 32 * 65536 + "\n2:end\n"


@pytest.mark.parametrize("directive", ["PythonOutputFilter", "PythonInputFilter"])
def test_a_filter_name_of_another_module_is_refused(tmp_path, directive):
    result = configtest(tmp_path, f"{directive} edge DEFLATE\n", ["deflate"])
    assert result.returncode != 0
    assert "DEFLATE" in result.stderr and "another module" in result.stderr


def test_add_output_filter_by_type_runs_the_python_filter(apache):
    srv = apache(
        in_directory("PythonOutputFilter edge::upper UPPER",
                     "AddOutputFilterByType UPPER text/plain", handler=None),
        files={**FILES, "a.txt": "by type\n", "b.html": "<p>not text/plain</p>\n"},
        extra_modules=("filter",),
    )
    assert srv.get("/a.txt").text == "BY TYPE\n"
    assert srv.get("/b.html").text == "<p>not text/plain</p>\n"


def test_mod_filter_chains_run_the_python_provider_they_select(apache):
    # mod_filter calls a provider under the chain's own filter record ("smart"), so the
    # Python filter must be known by its function, not by the name httpd passes it.
    srv = apache(
        in_directory("PythonOutputFilter edge::upper UPPER",
                     "PythonOutputFilter edge::names_itself_at_the_end NAMER",
                     "FilterDeclare smart",
                     "FilterProvider smart UPPER \"%{CONTENT_TYPE} =~ m|^text/plain|\"",
                     "FilterProvider smart NAMER \"%{CONTENT_TYPE} =~ m|^text/html|\"",
                     "FilterChain smart", handler=None),
        files={**FILES, "a.txt": "plain\n", "b.html": "<p>html</p>\n", "c.css": "p {}\n"},
        extra_modules=("filter",),
    )
    assert srv.get("/a.txt").text == "PLAIN\n"
    assert srv.get("/b.html").text == "<p>html</p>\n|name=namer"
    assert srv.get("/c.css").text == "p {}\n"


@pytest.mark.allow_log("AH00082")
def test_request_filters_cannot_take_another_modules_name_and_unknown_ones_are_skipped(apache):
    srv = serve(apache, "PythonHandler edgepages::register_deflate", extra_modules=("deflate",))
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.text == "ValueError: the filter name 'DEFLATE' is already used by another module"
    srv.wait_for_log("AH00082")


def test_filter_name_is_lower_case_as_httpd_records_it(apache):
    srv = serve(apache, *output("edgepages::filter_name", "names_itself"))
    assert srv.get("/x").text == "body|name=out"


def test_client_leaving_during_filtered_output_is_not_an_error(apache):
    srv = serve(apache, *output("edgepages::big", "upper"), log_level="info")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(1000)
    srv.wait_for_log("client closed connection")
    # The harness fails the test on any error-level line.
