"""The request object: attributes, write/read, content length, logging, dead requests (§10.1)."""

import hashlib
import os
import re

import pytest

from mphelpers import JSON_PAGE, in_directory, in_location

REQ = '''
    import hashlib
    from mod_python import apache
    from jsonpage import send_json


    def attrs(req):
        return send_json(req, {
            "method": req.method,
            "uri": req.uri,
            "unparsed_uri": req.unparsed_uri,
            "args": req.args,
            "filename": req.filename,
            "canonical_filename": req.canonical_filename,
            "path_info": req.path_info,
            "the_request": req.the_request,
            "protocol": req.protocol,
            "hostname": req.hostname,
            "interpreter": req.interpreter,
            "phase": req.phase,
        })


    def writes(req):
        req.content_type = "application/octet-stream"
        req.write("str \\u00e9 ")
        req.write(b"bytes \\xff\\x00 ")
        req.write("nf1 ", 0)
        req.write(b"nf2 ", flush=0)
        req.write("end")
        return apache.OK


    def read_all(req):
        first = req.read(0)
        body = req.read()
        again = req.read()
        return send_json(req, {
            "read0": [type(first).__name__, len(first)],
            "type": type(body).__name__,
            "len": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "after_end": [type(again).__name__, len(again)],
        })


    def read_parts(req):
        sizes, data = [], b""
        while True:
            part = req.read(1000)
            if not part:
                break
            sizes.append(len(part))
            data += part
        return send_json(req, {
            "max_part": max(sizes) if sizes else 0,
            "len": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        })


    def read_lines(req):
        first = req.readline()
        limited = req.readline(3)
        second_rest = req.readline()
        rest = req.readlines()
        lines = [first, limited, second_rest] + rest
        return send_json(req, {
            "types": sorted({type(x).__name__ for x in lines}),
            "lines": [x.decode("latin-1") for x in lines],
        })


    def content_length(req):
        body = b"x" * 1234
        req.content_type = "text/plain"
        req.set_content_length(len(body))
        req.write(body)
        return apache.OK


    def status(req):
        req.status = apache.HTTP_ACCEPTED
        req.content_type = "application/x-mp-test"
        req.write("accepted")
        return apache.OK


    def log(req):
        req.log_error("req-warning-marker", apache.APLOG_WARNING)
        apache.log_error("apache-warning-marker", apache.APLOG_WARNING)
        apache.log_error("server-warning-marker", apache.APLOG_WARNING, req.server)
        req.write("logged")
        return apache.OK


    KEPT = {}


    def keep(req):
        """Use the request and table of an earlier request: they must be dead."""
        outcome = {}
        if "req" in KEPT:
            for name, action in (
                ("uri", lambda: KEPT["req"].uri),
                ("write", lambda: KEPT["req"].write("zombie")),
                ("headers_in", lambda: KEPT["req"].headers_in),
                ("table", lambda: KEPT["table"]["Host"]),
            ):
                try:
                    action()
                    outcome[name] = "no error"
                except RuntimeError:
                    outcome[name] = "RuntimeError"
                except Exception as exc:
                    outcome[name] = type(exc).__name__
        KEPT["req"] = req
        KEPT["table"] = req.headers_in
        return send_json(req, outcome)
'''

FILES = {"reqmod.py": REQ, "jsonpage.py": JSON_PAGE, "data.txt": "some data\n"}


def serve(apache, name):
    return apache(in_directory(f"PythonHandler reqmod::{name}"), files=FILES)


def test_request_line_attributes(apache):
    srv = serve(apache, "attrs")
    info = srv.get("/some/path?a=1&b=two").json()
    assert info["method"] == "GET"
    assert info["uri"] == "/some/path"
    assert info["unparsed_uri"] == "/some/path?a=1&b=two"
    assert info["args"] == "a=1&b=two"
    assert info["the_request"] == "GET /some/path?a=1&b=two HTTP/1.1"
    assert info["protocol"] == "HTTP/1.1"
    assert info["hostname"] == "127.0.0.1"
    assert info["interpreter"] == "127.0.0.1"
    assert info["phase"] == "PythonHandler"


def test_args_is_none_without_query(apache):
    srv = serve(apache, "attrs")
    assert srv.get("/plain").json()["args"] is None


def test_filename_and_path_info(apache):
    srv = serve(apache, "attrs")
    info = srv.get("/data.txt/extra/path").json()
    assert info["filename"] == str(srv.docroot / "data.txt")
    assert info["path_info"] == "/extra/path"
    assert info["uri"] == "/data.txt/extra/path"


def test_location_handler_gets_the_document_root_mapping(apache):
    srv = apache(
        in_location("/loc", "PythonPath \"sys.path+['@DOCROOT@']\"", "PythonHandler reqmod::attrs"),
        files=FILES,
    )
    info = srv.get("/loc/deeper/path").json()
    assert info["filename"] == f"{srv.docroot}/loc/deeper/path"
    assert info["canonical_filename"] == info["filename"]  # not where the walk stopped
    assert info["path_info"] is None
    assert "AH00029" not in srv.error_log()


@pytest.mark.allow_log("AH01630", "AH00037")
def test_location_handler_obeys_the_sections_of_the_mapped_path(apache):
    # The walk that applies <Directory>/<Files> to a <Location> handler's URI (spec §2.1)
    # must see what httpd's own walk sees, however many components of the path are missing.
    handler = "PythonHandler reqmod::attrs"
    srv = apache(
        "PythonPath \"sys.path+['@DOCROOT@']\"\n"
        + in_location("/loc", handler)
        + '<Directory "@DOCROOT@/loc/private">\n    Require all denied\n</Directory>\n'
        + '<Files "secret">\n    Require all denied\n</Files>\n'
        + '<Directory "@DOCROOT@/loc/strict">\n    Options -FollowSymLinks\n</Directory>\n',
        files={**FILES, "loc/private/.keep": "", "loc/strict/.keep": "", "elsewhere/.keep": ""},
    )
    os.symlink(srv.docroot / "elsewhere", srv.docroot / "loc" / "strict" / "link")
    ok = srv.get("/loc/a/b/c")
    assert ok.status_code == 200 and ok.json()["filename"] == f"{srv.docroot}/loc/a/b/c"
    assert srv.get("/loc/private").status_code == 403  # the directory itself
    assert srv.get("/loc/private/x").status_code == 403  # one missing component below it
    assert srv.get("/loc/private/x/y/z").status_code == 403  # several
    # <Files> applies to the first missing component, as in httpd's walk.
    assert srv.get("/loc/secret").status_code == 403
    assert srv.get("/loc/secret/more").status_code == 403
    assert srv.get("/loc/other/secret").status_code == 200
    # A symbolic link where the options forbid one is refused on the way.
    assert srv.get("/loc/strict/link/x").status_code == 403
    assert srv.get("/loc/strict/x").status_code == 200


def test_post_method(apache):
    srv = serve(apache, "attrs")
    assert srv.post("/x", data=b"abc").json()["method"] == "POST"


def test_write_str_bytes_and_flush_0(apache):
    srv = serve(apache, "writes")
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.content == "str é ".encode() + b"bytes \xff\x00 nf1 nf2 end"


def test_read_whole_body(apache):
    srv = serve(apache, "read_all")
    body = os.urandom(300_000)
    info = srv.post("/x", data=body).json()
    assert info == {
        "read0": ["bytes", 0],
        "type": "bytes",
        "len": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "after_end": ["bytes", 0],
    }


def test_read_without_body_returns_empty_bytes(apache):
    srv = serve(apache, "read_all")
    info = srv.get("/x").json()
    assert info["type"] == "bytes" and info["len"] == 0


def test_read_in_parts(apache):
    srv = serve(apache, "read_parts")
    body = os.urandom(25_500)
    info = srv.post("/x", data=body).json()
    assert 0 < info["max_part"] <= 1000
    assert info["len"] == len(body)
    assert info["sha256"] == hashlib.sha256(body).hexdigest()


def test_chunked_request_body(apache):
    srv = serve(apache, "read_all")
    pieces = [os.urandom(n) for n in (1, 4096, 70_000, 3, 65_536, 10)]
    r = srv.post("/x", data=iter(pieces))  # a generator body is sent chunked
    assert r.status_code == 200
    body = b"".join(pieces)
    assert r.json()["len"] == len(body)
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_readline_and_readlines(apache):
    srv = serve(apache, "read_lines")
    info = srv.post("/x", data=b"line1\nline2\nline3\nlast").json()
    assert info == {
        "types": ["bytes"],
        "lines": ["line1\n", "lin", "e2\n", "line3\n", "last"],
    }


def test_set_content_length(apache):
    srv = serve(apache, "content_length")
    r = srv.get("/x")
    assert r.headers.get("Content-Length") == "1234"
    assert "Transfer-Encoding" not in r.headers
    assert r.content == b"x" * 1234


def test_status_and_content_type(apache):
    srv = serve(apache, "status")
    r = srv.get("/x")
    assert (r.status_code, r.text) == (202, "accepted")
    assert r.headers["Content-Type"] == "application/x-mp-test"


def test_log_error_at_warning_level(apache):
    srv = serve(apache, "log")
    assert srv.get("/x").text == "logged"
    for marker in ("req-warning-marker", "apache-warning-marker", "server-warning-marker"):
        line = srv.wait_for_log(marker)
        assert re.search(r"\[[\w.-]*:?warn\]", line), line


def test_request_kept_after_its_end_is_dead(apache):
    srv = serve(apache, "keep")
    with srv.session() as sess:  # same child process (and interpreter) for both
        assert sess.get(srv.url("/first")).json() == {}
        outcome = sess.get(srv.url("/second")).json()
    assert outcome == {
        "uri": "RuntimeError",
        "write": "RuntimeError",
        "headers_in": "RuntimeError",
        "table": "RuntimeError",
    }
