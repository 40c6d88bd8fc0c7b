"""mod_python.wsgi (spec §16, §20.7, §20.21)."""

import pytest

from mphelpers import in_directory, in_location

APP = '''
    import json
    import sys

    from mod_python import apache

    CLOSED = []


    class Body:
        def __init__(self, blocks, name="body"):
            self.blocks = blocks
            self.name = name

        def __iter__(self):
            return iter(self.blocks)

        def close(self):
            CLOSED.append(True)
            apache.log_error("WSGI-TEST closed " + self.name, apache.APLOG_WARNING)


    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/missing":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"nothing here"]
        if path == "/post":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            start_response("201 Created", [("Content-Type", "application/octet-stream"),
                                           ("X-Len", str(len(body)))])
            return [body[::-1]]
        if path == "/environ":
            start_response("200 OK", [("Content-Type", "application/json")])
            keys = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD",
                    "wsgi.url_scheme", "wsgi.run_once", "wsgi.input_terminated"]
            out = {k: environ[k] for k in keys}
            out["version"] = list(environ["wsgi.version"])
            out["types"] = sorted({type(k).__name__ for k in environ}
                                  | {type(v).__name__ for k, v in environ.items()
                                     if k.isupper()})
            environ["wsgi.errors"].write("logged via wsgi.errors\\n")
            return [json.dumps(out).encode()]
        if path == "/excinfo":
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise ValueError("replaced")
            except ValueError:
                start_response("500 Internal Server Error",
                               [("Content-Type", "text/plain")], sys.exc_info())
            return [b"error page"]
        if path == "/late-excinfo":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"partial")
            try:
                raise KeyError("after headers")
            except KeyError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"unreachable"]
        if path == "/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written ")
            return Body([b"and ", b"iterated"], "written")
        if path == "/closed":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(len(CLOSED)).encode()]
        if path == "/raise":
            def gen():
                yield b"x"
                raise RuntimeError("in iteration")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return Body(gen(), "raising")
        if path.startswith("/native"):
            start_response("200 OK", [("Content-Type", "application/json")])
            keys = ["PATH_INFO", "HTTP_X_NAME", "HTTP_AUTHORIZATION", "QUERY_STRING"]
            return [json.dumps({k: environ.get(k) for k in keys}).encode()]
        if path == "/badheader":
            start_response("200 OK", [("X-Bad", "a\\r\\nb")])
            return [b""]
        if path == "/interim":
            start_response("100 Continue", [("Content-Type", "text/plain")])
            return [b"not a final response"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body([b"Hello ", b"WSGI"])
'''


def serve(apache, *directives, **kwargs):
    snippet = in_directory(
        "PythonHandler mod_python.wsgi",
        "PythonOption mod_python.wsgi.application wsgiapp",
        "PythonOption mod_python.wsgi.base_uri /app",
        *directives,
    )
    return apache(snippet, files={"wsgiapp.py": APP}, **kwargs)


def test_hello(apache):
    srv = serve(apache)
    r = srv.get("/app/hello")
    assert r.status_code == 200
    assert r.text == "Hello WSGI"
    assert r.headers["Content-Type"] == "text/plain"


def test_status_passed_through(apache):
    srv = serve(apache)
    r = srv.get("/app/missing")
    assert r.status_code == 404
    assert r.text == "nothing here"


def test_post_body(apache):
    srv = serve(apache)
    r = srv.post("/app/post", data=b"0123456789" * 1000)
    assert r.status_code == 201
    assert r.headers["X-Len"] == "10000"
    assert r.content == (b"0123456789" * 1000)[::-1]


@pytest.mark.allow_log("logged via wsgi.errors")
def test_environ(apache):
    srv = serve(apache)
    data = srv.get("/app/environ?q=1").json()
    assert data["SCRIPT_NAME"] == "/app"
    assert data["PATH_INFO"] == "/environ"
    assert data["QUERY_STRING"] == "q=1"
    assert data["REQUEST_METHOD"] == "GET"
    assert data["wsgi.url_scheme"] == "http"
    assert data["wsgi.run_once"] is False
    assert data["wsgi.input_terminated"] is True
    assert data["version"] == [1, 0]
    assert data["types"] == ["str"]
    srv.wait_for_log("logged via wsgi.errors")


def test_exc_info_before_headers_replaces_response(apache):
    srv = serve(apache)
    r = srv.get("/app/excinfo")
    assert r.status_code == 500
    assert r.text == "error page"


@pytest.mark.allow_log("after headers", "KeyError", "Traceback", "MP0", "File ", "raise",
                       "start_response", "wsgi", "^", "~")
def test_exc_info_after_headers_reraises(apache):
    srv = serve(apache, allow_log=["python:error"])
    r = srv.raw(b"GET /app/late-excinfo HTTP/1.0\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert b"unreachable" not in r.body
    assert b"partial" in r.body
    srv.wait_for_log("after headers")


def test_write_and_close_called(apache):
    srv = serve(apache)
    r = srv.get("/app/write")
    assert r.text == "written and iterated"
    srv.wait_for_log("WSGI-TEST closed written")


@pytest.mark.allow_log("in iteration", "Traceback", "MP0", "File ", "raise", "yield",
                       "wsgi", "^", "~", "for block", "python:error")
def test_close_called_on_exception(apache):
    srv = serve(apache)
    try:
        srv.get("/app/raise")
    except Exception:  # noqa: BLE001 - the response is truncated on purpose
        pass
    srv.wait_for_log("in iteration")
    srv.wait_for_log("WSGI-TEST closed raising")


@pytest.mark.allow_log("carriage return", "Traceback", "MP0", "File ", "ValueError",
                       "wsgi", "^", "~", "raise", "python:error")
def test_bad_header_is_500(apache):
    srv = serve(apache)
    assert srv.get("/app/badheader").status_code == 500


@pytest.mark.allow_log("between 200 and 599", "Traceback", "MP0", "File ", "ValueError",
                       "wsgi", "^", "~", "raise", "python:error")
def test_interim_status_is_500(apache):
    srv = serve(apache)
    r = srv.get("/app/interim")
    assert r.status_code == 500
    assert b"not a final response" not in r.content
    srv.wait_for_log("status code must be between 200 and 599")


def test_declines_without_option(apache):
    srv = apache(in_directory("PythonHandler mod_python.wsgi"), files={"x.txt": "static\n"})
    r = srv.get("/x.txt")
    assert r.status_code == 200 and r.text == "static\n"
    srv.wait_for_log(r"mod_python\.wsgi\.application \(None\) not found, declining")


def test_declines_when_callable_missing(apache):
    srv = serve(apache, "PythonOption mod_python.wsgi.application wsgiapp::nope")
    assert srv.get("/app/hello").status_code == 404
    srv.wait_for_log("not found, declining")


@pytest.mark.allow_log("ValueError", "base_uri", "Traceback", "MP0", "File ", "wsgi",
                       "^", "~", "raise", "python:error")
def test_base_uri_with_trailing_slash_is_500(apache):
    srv = serve(apache, "PythonOption mod_python.wsgi.base_uri /app/")
    assert srv.get("/app/hello").status_code == 500
    srv.wait_for_log("must not end with")


def test_uri_outside_base_uri_declines(apache):
    srv = serve(apache)
    (srv.root / "htdocs" / "other.txt").write_text("other\n")
    r = srv.get("/other.txt")
    assert r.status_code == 200 and r.text == "other\n"
    srv.wait_for_log("does not start with the base uri")


@pytest.mark.allow_log("logged via wsgi.errors")
def test_location_gives_script_name(apache):
    snippet = in_location(
        "/wsgi",
        "PythonHandler mod_python.wsgi",
        "PythonOption mod_python.wsgi.application wsgiapp",
        "PythonPath \"['@DOCROOT@'] + sys.path\"",
    )
    srv = apache(snippet, files={"wsgiapp.py": APP})
    data = srv.get("/wsgi/environ").json()
    assert data["SCRIPT_NAME"] == "/wsgi"
    assert data["PATH_INFO"] == "/environ"


def test_environ_values_are_native_strings(apache):
    # PEP 3333: the bytes httpd has, decoded as latin-1 (UTF-8 "é" arrives as "Ã©").
    srv = serve(apache)
    data = srv.get("/app/native/caf%C3%A9?x=%C3%A9",
                   headers={"X-Name": "caf\xe9".encode("latin-1"),
                            "Authorization": "Bearer t0ken"}).json()
    assert data["PATH_INFO"] == "/native/caf\xc3\xa9"
    assert data["HTTP_X_NAME"] == "caf\xe9"
    assert data["QUERY_STRING"] == "x=%C3%A9"
    assert data["HTTP_AUTHORIZATION"] == "Bearer t0ken"


REQ_API_HANDLER = '''
    from mod_python import apache

    import wsgiapp


    def handler(req):
        # mod_python 3.5 style: the request's own WSGI helpers, body through req.write.
        env = req.build_wsgi_env()
        if env is None:
            req.content_type = "text/plain"
            req.write(b"outside")
            return apache.OK
        result = wsgiapp.application(env, req.wsgi_start_response)
        try:
            for block in result:
                req.write(block)
        finally:
            if hasattr(result, "close"):
                result.close()
        return apache.OK
'''


@pytest.mark.allow_log("logged via wsgi.errors")
def test_request_level_wsgi_helpers(apache):
    snippet = in_directory(
        "PythonHandler reqapi",
        "PythonOption mod_python.wsgi.base_uri /app",
    )
    srv = apache(snippet, files={"wsgiapp.py": APP, "reqapi.py": REQ_API_HANDLER})
    r = srv.get("/app/missing")
    assert (r.status_code, r.text, r.headers["Content-Type"]) == (404, "nothing here", "text/plain")
    data = srv.get("/app/environ?q=2").json()
    assert (data["SCRIPT_NAME"], data["PATH_INFO"], data["QUERY_STRING"]) == \
        ("/app", "/environ", "q=2")
    assert data["types"] == ["str"]
    post = srv.post("/app/post", data=b"abc")
    assert (post.status_code, post.content, post.headers["X-Len"]) == (201, b"cba", "3")
    # exc_info before anything was written replaces the first call's status and headers
    r = srv.get("/app/excinfo")
    assert (r.status_code, r.text) == (500, "error page")
    assert srv.get("/elsewhere.txt").text == "outside"
