"""PythonInputFilter / PythonOutputFilter and the filter object (spec §2.6, §10.5)."""

import hashlib
import os
import re
import socket
import time

import pytest

from mphelpers import REQUEST_TIMEOUT, in_directory

FILT = '''
    from mod_python import apache


    def outputfilter(filter):
        """Upper-cases everything; closes at the end of the stream."""
        data = filter.read()
        while data:
            filter.write(data.upper())
            data = filter.read()
        if data is None:
            filter.close()


    def small_reads(filter):
        """The same in many small reads (CVE-2004-2680: no byte lost or repeated)."""
        data = filter.read(1000)
        while data:
            filter.write(data.upper())
            data = filter.read(1000)
        if data is None:
            filter.close()


    def inputfilter(filter):
        data = filter.read()
        if data is None:
            filter.close()
        elif data:
            filter.write(data.upper())


    def attributes(filter):
        req = filter.req
        if not getattr(req, "filter_seen", False):
            req.filter_seen = True
            filter.write("name=%s is_input=%s closed=%s handler=%s req_is_handler_req=%s|" % (
                filter.name, filter.is_input, filter.closed, filter.handler,
                getattr(req, "handler_marker", None) == "set by handler"))
        data = filter.read()
        while data:
            filter.write(data)
            data = filter.read()
        if data is None:
            filter.close()


    def passing(filter):
        filter.pass_on()


    def disabling(filter):
        data = filter.read()
        while data:
            filter.write(data.upper())
            data = filter.read()
        filter.disable()


    def numbering(filter):
        """Numbers lines; a line may be split across brigades."""
        req = filter.req
        line = filter.readline()
        while line:
            if getattr(req, "at_line_start", True):
                req.lineno = getattr(req, "lineno", 0) + 1
                filter.write(b"%d:" % req.lineno)
            filter.write(line)
            req.at_line_start = line.endswith(b"\\n")
            line = filter.readline()
        if line is None:
            filter.close()


    def after_close(filter):
        data = filter.read()
        while data:
            filter.write(data)
            data = filter.read()
        if data is None:
            filter.close()
            try:
                filter.read()
                outcome = "no error"
            except ValueError as exc:
                outcome = "ValueError: %s" % exc
            filter.req.log_error("after-close-marker closed=%s %s" % (filter.closed, outcome),
                                 apache.APLOG_WARNING)


    def flushing(filter):
        data = filter.read()
        while data:
            filter.write(data.upper())
            filter.flush()
            data = filter.read()
        if data is None:
            filter.close()


    def failing(filter):
        """Upper-cases the first brigade, raises on the second."""
        req = filter.req
        req.filter_calls = getattr(req, "filter_calls", 0) + 1
        if req.filter_calls == 2:
            raise RuntimeError("filter failure marker-4711")
        data = filter.read()
        while data:
            filter.write(data.upper())
            data = filter.read()
        if data is None:
            filter.close()


    def failing_input(filter):
        req = filter.req
        req.filter_calls = getattr(req, "filter_calls", 0) + 1
        if req.filter_calls == 2:
            raise RuntimeError("input filter failure marker-4712")
        data = filter.read()
        if data is None:
            filter.close()
        elif data:
            filter.write(data.upper())


    def tagging(filter):
        """Upper-cases and appends which request it filtered."""
        data = filter.read()
        while data:
            filter.write(data.upper())
            data = filter.read()
        if data is None:
            req = filter.req
            filter.write("[req=%s prev=%s main=%s]" % (
                req.uri, req.prev.uri if req.prev else None, req.main))
            filter.close()
'''

PAGES = '''
    import hashlib
    import os
    import time
    from mod_python import apache


    def lower_text(req):
        req.content_type = "text/plain"
        req.handler_marker = "set by handler"
        req.write("hello ")
        req.write("filtered ")
        req.write("world")
        return apache.OK


    def lines(req):
        req.content_type = "text/plain"
        req.write("alpha\\nbe")
        req.write("ta\\ngamma\\nlast")
        return apache.OK


    def three_chunks(req):
        req.content_type = "text/plain"
        for part in ("chunk1 ", "chunk2 ", "chunk3"):
            req.write(part)  # flushes: one brigade per part
        return apache.OK


    def big(req):
        req.content_type = "application/octet-stream"
        piece = bytes(range(256)) * 256  # 64 KiB, all byte values
        for _ in range(160):  # 10 MiB
            req.write(piece, 0)
        return apache.OK


    def wait_for_go(req):
        req.content_type = "text/plain"
        req.write("first\\n")
        go = req.get_options()["go"]
        deadline = time.time() + 10
        while not os.path.exists(go) and time.time() < deadline:
            time.sleep(0.02)
        req.write("second\\n")
        return apache.OK


    def digest(req):
        body = req.read()
        req.content_type = "text/plain"
        req.write("%d %s" % (len(body), hashlib.sha256(body).hexdigest()))
        return apache.OK


    def echo(req):
        req.content_type = "application/octet-stream"
        req.write(req.read())
        return apache.OK


    def scoped(req):
        req.register_output_filter("MY_UPPER", "filt::outputfilter")
        req.add_output_filter("MY_UPPER")
        req.register_input_filter("MY_UPPER_IN", "filt::inputfilter")
        req.add_input_filter("MY_UPPER_IN")
        body = req.read()
        req.content_type = "text/plain"
        req.write(b"body=" + body + b" out=written in lower case")
        return apache.OK


    def redirect(req):
        if req.uri == "/start":
            req.internal_redirect("/target")
            return apache.OK
        req.content_type = "text/plain"
        req.write("target page")
        return apache.OK
'''

FILES = {"filt.py": FILT, "pages.py": PAGES}


def serve(apache, *directives, files=None, **kwargs):
    return apache(in_directory(*directives), files={**FILES, **(files or {})}, **kwargs)


def static_dir(*directives):
    """The document root without SetHandler: static files, filters from directives."""
    return in_directory(*directives, handler=None)


def test_set_output_filter_on_a_static_file(apache):
    srv = apache(
        static_dir("PythonOutputFilter filt UPPER", "SetOutputFilter UPPER"),
        files={**FILES, "page.txt": "static content\n"},
    )
    r = srv.get("/page.txt")
    assert (r.status_code, r.text) == (200, "STATIC CONTENT\n")


def test_add_output_filter_by_extension(apache):
    srv = apache(
        static_dir("PythonOutputFilter filt UPPER", "AddOutputFilter UPPER .txt"),
        files={**FILES, "a.txt": "text file\n", "b.html": "<p>html file</p>\n"},
    )
    assert srv.get("/a.txt").text == "TEXT FILE\n"
    assert srv.get("/b.html").text == "<p>html file</p>\n"


def test_output_filter_default_name_is_the_handler_string(apache):
    srv = serve(apache, "PythonHandler pages::lower_text", "PythonOutputFilter filt",
                "SetOutputFilter filt")
    assert srv.get("/x").text == "HELLO FILTERED WORLD"


def test_output_filter_on_handler_output(apache):
    srv = serve(apache, "PythonHandler pages::lower_text", "PythonOutputFilter filt UPPER",
                "SetOutputFilter UPPER")
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "HELLO FILTERED WORLD")
    assert r.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("function", ["outputfilter", "small_reads"])
def test_ten_mib_through_an_output_filter(apache, function):
    srv = serve(apache, "PythonHandler pages::big", f"PythonOutputFilter filt::{function} UPPER",
                "SetOutputFilter UPPER")
    expected = (bytes(range(256)) * 256).upper() * 160
    r = srv.get("/x")
    assert r.status_code == 200
    assert len(r.content) == len(expected) == 10 * 1024 * 1024
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(expected).hexdigest()


def test_ten_mib_static_file_through_an_output_filter(apache):
    data = os.urandom(10 * 1024 * 1024)
    srv = apache(
        static_dir("PythonOutputFilter filt UPPER", "SetOutputFilter UPPER"),
        files={**FILES, "big.bin": data},
    )
    r = srv.get("/big.bin")
    assert r.status_code == 200
    assert len(r.content) == len(data)
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data.upper()).hexdigest()


def test_ten_mib_through_an_input_filter(apache):
    srv = serve(apache, "PythonHandler pages::digest", "PythonInputFilter filt UPPER_IN",
                "SetInputFilter UPPER_IN")
    body = os.urandom(10 * 1024 * 1024)
    r = srv.post("/x", data=body)
    assert r.status_code == 200
    assert r.text == f"{len(body)} {hashlib.sha256(body.upper()).hexdigest()}"


def test_input_filter_with_chunked_body(apache):
    srv = serve(apache, "PythonHandler pages::echo", "PythonInputFilter filt UPPER_IN",
                "SetInputFilter UPPER_IN")
    pieces = [b"abc", b"def" * 5000, b"xyz\n"]
    r = srv.post("/x", data=iter(pieces))
    assert r.content == b"".join(pieces).upper()


def test_filter_attributes(apache):
    srv = serve(apache, "PythonHandler pages::lower_text",
                "PythonOutputFilter filt::attributes ATTRS",
                "SetOutputFilter ATTRS")
    r = srv.get("/x")
    head, _, body = r.text.partition("|")
    assert body == "hello filtered world"
    fields = dict(item.split("=", 1) for item in head.split())
    assert fields["name"].lower() == "attrs"
    assert fields["is_input"] in ("False", "0")
    assert fields["closed"] in ("False", "0")
    assert fields["handler"] == "filt::attributes"
    assert fields["req_is_handler_req"] == "True"


def test_pass_on_leaves_the_stream_untouched(apache):
    srv = serve(apache, "PythonHandler pages::lower_text", "PythonOutputFilter filt::passing PASS",
                "SetOutputFilter PASS")
    assert srv.get("/x").text == "hello filtered world"


def test_disable_makes_the_filter_transparent(apache):
    srv = serve(apache, "PythonHandler pages::three_chunks",
                "PythonOutputFilter filt::disabling DIS", "SetOutputFilter DIS")
    # Only the first brigade went through the Python function.
    assert srv.get("/x").text == "CHUNK1 chunk2 chunk3"


def test_readline_in_an_output_filter(apache):
    srv = serve(apache, "PythonHandler pages::lines", "PythonOutputFilter filt::numbering NUM",
                "SetOutputFilter NUM")
    assert srv.get("/x").text == "1:alpha\n2:beta\n3:gamma\n4:last"


def test_read_after_close_raises_value_error(apache):
    srv = serve(apache, "PythonHandler pages::lower_text",
                "PythonOutputFilter filt::after_close AC", "SetOutputFilter AC")
    assert srv.get("/x").text == "hello filtered world"
    line = srv.wait_for_log("after-close-marker")
    assert re.search(r"closed=(True|1) ValueError: I/O operation on closed filter$", line), line


def test_flush_sends_data_before_the_handler_finishes(apache):
    srv = serve(apache, "PythonHandler pages::wait_for_go", "PythonOutputFilter filt::flushing FL",
                "SetOutputFilter FL", "PythonOption go @ROOT@/run/go")
    go = srv.root / "run" / "go"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        received = b""
        started = time.monotonic()
        while b"FIRST\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        # The handler is still waiting for the go file (it waits up to 10 s).
        assert time.monotonic() - started < 8
        assert b"SECOND" not in received
        go.touch()
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert b"FIRST\n" in received and b"SECOND\n" in received


def test_request_scoped_filters(apache):
    srv = serve(apache, "PythonHandler pages::scoped")
    r = srv.post("/x", data=b"posted body")
    assert r.status_code == 200
    assert r.text == "BODY=POSTED BODY OUT=WRITTEN IN LOWER CASE"


@pytest.mark.allow_log("MP0140", "PythonOutputFilter filt::failing")
def test_output_filter_raising_mid_stream_becomes_transparent(apache):
    srv = serve(apache, "PythonHandler pages::three_chunks",
                "PythonOutputFilter filt::failing FAIL", "SetOutputFilter FAIL")
    r = srv.get("/x")
    assert r.status_code == 200
    # Nothing is lost: the first brigade was filtered, the rest passes through.
    assert r.text.startswith("CHUNK1 ")
    assert r.text.endswith("chunk3")
    assert r.text.lower() == "chunk1 chunk2 chunk3"
    assert "Traceback" not in r.text
    line = srv.wait_for_log("filter failure marker-4711")
    assert "PythonOutputFilter" in line
    # The next request is filtered again.
    assert srv.get("/x").text.startswith("CHUNK1 ")


@pytest.mark.allow_log("MP0140", "PythonOutputFilter filt::failing")
def test_output_filter_error_with_debug_goes_into_the_stream(apache):
    srv = serve(apache, "PythonHandler pages::three_chunks", "PythonDebug On",
                "PythonOutputFilter filt::failing FAIL", "SetOutputFilter FAIL")
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.text.startswith("CHUNK1 ")
    assert "filter failure marker-4711" in r.text


@pytest.mark.allow_log("MP0140", "PythonInputFilter filt::failing_input")
def test_input_filter_raising_mid_stream_becomes_transparent(apache):
    srv = serve(apache, "PythonHandler pages::echo", "PythonInputFilter filt::failing_input FIN",
                "SetInputFilter FIN")
    body = b"abcdefghij" * 100_000  # 1 MB: several brigades
    r = srv.post("/x", data=body)
    assert r.status_code == 200
    assert len(r.content) == len(body)
    assert r.content.lower() == body
    assert r.content[:10] == b"ABCDEFGHIJ"
    srv.wait_for_log("input filter failure marker-4712")


def test_filter_runs_on_internal_redirect(apache):
    srv = serve(apache, "PythonHandler pages::redirect", "PythonOutputFilter filt::tagging TAG",
                "SetOutputFilter TAG")
    r = srv.get("/start")
    assert r.status_code == 200
    assert r.text == "TARGET PAGE[req=/target prev=/start main=None]"


@pytest.mark.allow_log("MP0102", "MP0140", "no_such_filter_module")
def test_output_filter_with_missing_module_is_transparent(apache):
    srv = serve(apache, "PythonHandler pages::lower_text",
                "PythonOutputFilter no_such_filter_module MISSING", "SetOutputFilter MISSING")
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.text == "hello filtered world"
    srv.wait_for_log("no_such_filter_module")
