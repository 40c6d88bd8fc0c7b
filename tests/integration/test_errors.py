"""Handler failures: logging with ids, 500s, PythonDebug pages, errors after output (spec §2.4)."""

import re

import pytest

from mphelpers import in_directory

ERRS = '''
    from mod_python import apache


    def boom(req):
        raise ValueError("boom <b>&amp; marker-7781")


    def returns_none(req):
        return None


    def returns_str(req):
        return "OK"


    def server_return_str(req):
        raise apache.SERVER_RETURN("nope")


    def server_return_float(req):
        raise apache.SERVER_RETURN(404.0)


    def returns_negative(req):
        return -5


    def returns_true(req):
        return True


    def write_then_raise(req):
        req.content_type = "text/plain"
        req.write("partial output\\n")
        raise RuntimeError("after output marker-9921")


    def unflushed_then_raise(req):
        req.content_type = "text/plain"
        req.write("held back\\n", 0)
        raise RuntimeError("before any flush marker-4417")


    def ok(req):
        req.write("still fine")
        return apache.OK
'''

FILES = {"errs.py": ERRS}
GET_CLOSE = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def serve(apache, *directives):
    return apache(in_directory(*directives), files=FILES)


@pytest.mark.allow_log("MP0100")
def test_exception_gives_500_and_logs_traceback(apache):
    srv = serve(apache, "PythonHandler errs::boom", "PythonInterpreter err_interp")
    r = srv.get("/boom-uri")
    assert r.status_code == 500
    assert "Traceback" not in r.text and "marker-7781" not in r.text
    srv.wait_for_log("marker-7781")
    lines = srv.log_lines("MP0100")
    text = "\n".join(lines)
    assert len(lines) >= 3, text  # one line per traceback line
    assert "Traceback (most recent call last)" in text
    assert "ValueError: boom <b>&amp; marker-7781" in text
    assert "err_interp" in text
    assert "/boom-uri" in text
    assert "PythonHandler" in text


@pytest.mark.allow_log("MP0100")
def test_server_keeps_serving_after_an_exception(apache):
    srv = serve(apache, "PythonHandler errs::boom")
    assert srv.get("/x").status_code == 500
    assert srv.get("/x").status_code == 500


@pytest.mark.parametrize("name,message", [
    ("returns_none", "Type of value returned was NoneType"),
    ("returns_str", "Type of value returned was str"),
    ("server_return_str", "Type of value returned was str"),
    ("server_return_float", "Type of value returned was float"),
    ("returns_negative", "with -5, which is not a result httpd accepts"),
    ("returns_true", "Type of value returned was bool"),
])
@pytest.mark.allow_log("MP0101")
def test_non_int_result_is_an_error(apache, name, message):
    srv = serve(apache, f"PythonHandler errs::{name}")
    r = srv.get("/x")
    assert r.status_code == 500
    srv.wait_for_log("MP0101.*" + re.escape(message))


@pytest.mark.allow_log("MP0100")
def test_error_after_output_is_not_a_clean_200(apache):
    srv = serve(apache, "PythonHandler errs::write_then_raise")
    resp = srv.raw(GET_CLOSE)
    assert resp.status == 200  # headers were already sent
    assert resp.body.startswith(b"partial output\n")
    assert not resp.complete, resp.raw
    assert b"Internal Server Error" not in resp.raw
    assert b"<html" not in resp.body.lower()
    srv.wait_for_log("marker-9921")


@pytest.mark.allow_log("MP0100")
def test_error_after_output_with_debug_still_incomplete(apache):
    srv = serve(apache, "PythonHandler errs::write_then_raise", "PythonDebug On")
    resp = srv.raw(GET_CLOSE)
    assert resp.status == 200
    assert resp.body.startswith(b"partial output\n")
    assert not resp.complete, resp.raw


@pytest.mark.allow_log("MP0100")
def test_error_after_unflushed_output_is_a_clean_500(apache):
    # Nothing reached the client yet: the error page replaces the held-back output.
    srv = serve(apache, "PythonHandler errs::unflushed_then_raise")
    resp = srv.raw(GET_CLOSE)
    assert resp.status == 500, resp.raw
    assert resp.complete and b"held back" not in resp.body
    assert b"Internal Server Error" in resp.body
    srv.wait_for_log("marker-4417")


@pytest.mark.allow_log("MP0100")
def test_error_after_unflushed_output_with_debug_is_a_500_page(apache):
    srv = serve(apache, "PythonHandler errs::unflushed_then_raise", "PythonDebug On")
    resp = srv.raw(GET_CLOSE)
    assert resp.status == 500, resp.raw
    assert resp.complete
    assert resp.body.startswith(b"held back\n")
    assert b"RuntimeError: before any flush marker-4417" in resp.body


@pytest.mark.allow_log("MP0100")
def test_python_debug_shows_escaped_traceback(apache):
    srv = serve(apache, "PythonHandler errs::boom", "PythonDebug On")
    r = srv.get("/x")
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")
    body = r.text
    assert "<pre>" in body and "</pre>" in body
    assert 'Mod_python error: "PythonHandler errs::boom' in body
    assert "Traceback (most recent call last)" in body
    assert "ValueError: boom &lt;b&gt;&amp;amp; marker-7781" in body
    assert "<b>" not in body


@pytest.mark.allow_log("MP0102")
def test_missing_handler_module(apache):
    srv = serve(apache, "PythonHandler no_such_module_xyz")
    r = srv.get("/x")
    assert r.status_code == 500
    assert "no_such_module_xyz" in srv.wait_for_log("MP0102")


@pytest.mark.allow_log("MP0103")
def test_missing_callable(apache):
    srv = serve(apache, "PythonHandler errs::no_such_callable")
    r = srv.get("/x")
    assert r.status_code == 500
    assert "no_such_callable" in srv.wait_for_log("MP0103")


@pytest.mark.allow_log("MP0102", "MP0100")
def test_module_raising_at_import(apache):
    srv = apache(
        in_directory("PythonHandler badimport"),
        files={"badimport.py": "raise ImportError('broken at import marker-5150')\n"},
    )
    assert srv.get("/x").status_code == 500
    srv.wait_for_log("marker-5150")
