"""mod_wsgi-compatible WSGI hosting: PEP 3333 behaviour and the WSGI* directives.

Spec mod_wsgi-compat §2, §3, §5, §6, §8, §9.  Well-behaved applications run twice: as they
are and wrapped in ``wsgiref.validate.validator`` with warnings as errors (``validated``).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess
import time

import pytest

from mphelpers import SHUTDOWN_RACE
from wsgiapps import ENV_APP, MARKED_BODY, MARKS, connect, marker_path, read_head, script, \
    wait_marker

VALIDATED = pytest.mark.parametrize("validated", [False, True], ids=["plain", "validated"])

ALIAS = "WSGIScriptAlias /app @DOCROOT@/app.wsgi\n"

def scoped(directives: str, scope: str) -> str:
    """``directives`` at server scope or in ``<Directory @DOCROOT@>``."""
    if scope == "server":
        return directives
    inner = "".join(f"    {line}\n" for line in directives.splitlines() if line.strip())
    return f'<Directory "@DOCROOT@">\n{inner}</Directory>\n'


def scope_params():
    """Directives of the S,V,D family must work at server scope and in sections alike."""
    return pytest.mark.parametrize("scope", ["server", "directory"])


def env_server(apache, snippet=ALIAS, validated=False, name="app.wsgi", **kwargs):
    return apache(snippet, files={name: script(ENV_APP, validated)}, **kwargs)


# ------------------------------------------------------------------------------- environ


def test_environ_after_an_internal_redirect_names_what_the_client_asked_for(apache):
    # ErrorDocument, and the front-controller recipe (a directory RewriteRule with [PT]):
    # REQUEST_URI stays the client's, REDIRECT_URL/REDIRECT_QUERY_STRING name what was replaced.
    snippet = (ALIAS + "ErrorDocument 404 /app/notfound\n"
               '<Directory "@DOCROOT@/site">\n'
               "    Options ExecCGI FollowSymLinks\n    AddHandler wsgi-script .wsgi\n"
               "    RewriteEngine On\n    RewriteBase /site/\n"
               "    RewriteCond %{REQUEST_FILENAME} !-f\n"
               "    RewriteRule ^(.*)$ site.wsgi/$1 [QSA,PT,L]\n</Directory>\n")
    srv = apache(snippet, extra_modules=("rewrite",),
                 files={"app.wsgi": script(ENV_APP), "site/site.wsgi": script(ENV_APP)})
    env = srv.get("/no/such/page?q=1").json()
    assert env["REQUEST_URI"] == "/no/such/page?q=1"
    assert env["REDIRECT_URL"] == "/no/such/page" and env["REDIRECT_QUERY_STRING"] == "q=1"
    assert env["REDIRECT_STATUS"] == "404"
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/notfound")
    env = srv.get("/site/some/page?x=1").json()
    assert env["REQUEST_URI"] == "/site/some/page?x=1"
    assert env["REDIRECT_URL"] == "/site/some/page"
    assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["QUERY_STRING"]) == \
        ("/site/site.wsgi", "/some/page", "x=1")
    env = srv.get("/app/direct?y=2").json()  # no redirect: no REDIRECT_ keys
    assert env["REQUEST_URI"] == "/app/direct?y=2"
    assert "REDIRECT_URL" not in env and "REDIRECT_QUERY_STRING" not in env


@VALIDATED
def test_environ_from_request(apache, validated):
    srv = env_server(apache, validated=validated)
    host = b"127.0.0.1:%d" % srv.port
    r = srv.raw(
        b"GET /app/sub/path?q=1&r=%41 HTTP/1.1\r\nHost: " + host + b"\r\nX-Test: h\xe9llo\r\n"
        b"X_Spoof: bad\r\nAuthorization: Basic dTpw\r\nContent-Type: text/x-test\r\n"
        b"Proxy: http://evil.example:8080\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert r.status == 200, r.raw[:500]
    env = json.loads(r.body)
    assert env["_key_types"] == ["str"]
    assert env["_cgi_value_types"] == ["str"]
    assert env["SCRIPT_NAME"] == "/app"
    assert env["PATH_INFO"] == "/sub/path"
    assert env["QUERY_STRING"] == "q=1&r=%41"
    assert env["REQUEST_URI"] == "/app/sub/path?q=1&r=%41"
    assert env["REQUEST_METHOD"] == "GET"
    assert "HTTP_PROXY" not in env  # httpoxy: a Proxy header must not become HTTP_PROXY
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"].isdigit()
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_SCHEME"] == "http"
    assert env["SCRIPT_FILENAME"] == str(srv.docroot / "app.wsgi")
    assert env["DOCUMENT_ROOT"] == str(srv.docroot)
    assert env["HTTP_HOST"] == host.decode()
    # Native strings: the header's bytes decoded as Latin-1.
    assert env["HTTP_X_TEST"] == "h\xe9llo"
    assert env["CONTENT_TYPE"] == "text/x-test"
    assert "HTTP_CONTENT_TYPE" not in env
    # Header names with '_' are dropped (X_Spoof vs X-Spoof); Authorization needs
    # WSGIPassAuthorization On.
    assert not any(k.startswith("HTTP_X_SPOOF") for k in env)
    assert "HTTP_AUTHORIZATION" not in env
    assert "HTTPS" not in env
    assert "PATH_TRANSLATED" not in env
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True
    threaded = os.environ.get("MP_TEST_MPM", "event") != "prefork"
    assert env["wsgi.multithread"] is threaded
    assert env["wsgi.multiprocess"] is True
    assert env["apache.version"][:2] == [2, 4]
    # mod_wsgi.* keys (§8.4)
    assert env["mod_wsgi.version"] == [4, 9, 4]
    assert env["mod_wsgi.process_group"] == ""
    assert env["mod_wsgi.application_group"] == f"127.0.0.1:{srv.port}|/app"
    assert env["mod_wsgi.callable_object"] == "application"
    assert env["mod_wsgi.request_handler"] == "wsgi-script"
    assert env["mod_wsgi.script_reloading"] == "1"
    assert env["mod_wsgi.enable_sendfile"] == "0"
    assert env["mod_wsgi.script_name"] == "/app"
    assert env["mod_wsgi.path_info"] == "/sub/path"
    assert env["mod_wsgi.listener_host"] == "127.0.0.1"
    assert env["mod_wsgi.listener_port"] == str(srv.port)
    now_us = time.time() * 1e6
    for key in ("mod_wsgi.request_start", "mod_wsgi.script_start"):
        assert env[key].isdigit(), key
        assert abs(int(env[key]) - now_us) < 60e6, key
    assert int(env["mod_wsgi.request_start"]) <= int(env["mod_wsgi.script_start"])
    assert env["mod_wsgi.server_pid"] == str(srv.pid)
    assert env["wsgi.input"].startswith("<") and env["wsgi.errors"].startswith("<")


def test_path_info_is_url_decoded_latin1(apache):
    srv = env_server(apache)
    env = srv.get("/app/a%20b/%E9t%C3%A9").json()
    assert env["PATH_INFO"] == "/a b/\xe9t\xc3\xa9"
    assert env["SCRIPT_NAME"] == "/app"
    assert env["REQUEST_URI"] == "/app/a%20b/%E9t%C3%A9"


@VALIDATED
def test_mount_at_root(apache, validated):
    srv = env_server(apache, "WSGIScriptAlias / @DOCROOT@/app.wsgi\n", validated)
    env = srv.get("/x/y").json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/x/y")
    env = srv.get("/x/").json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/x/")


def test_mount_at_root_request_for_root(apache):
    srv = env_server(apache, "WSGIScriptAlias / @DOCROOT@/app.wsgi\n")
    env = srv.get("/").json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/")


@VALIDATED
def test_double_slashes_collapsed(apache, validated):
    srv = env_server(apache, validated=validated)
    env = srv.raw(b"GET /app//x///y HTTP/1.0\r\n\r\n")
    env = json.loads(env.body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/x/y")
    env = json.loads(srv.raw(b"GET //app/z HTTP/1.0\r\n\r\n").body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/z")
    env = json.loads(srv.raw(b"GET /app HTTP/1.0\r\n\r\n").body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "")


def test_alias_matches_segments_only(apache):
    srv = env_server(apache, ALIAS + "Alias /apple @DOCROOT@/static\n")
    (srv.docroot / "static").mkdir()
    (srv.docroot / "static" / "f.txt").write_text("static file\n")
    assert srv.get("/apple/f.txt").text == "static file\n"


@pytest.mark.allow_log("MP2121", "MP2122")
@VALIDATED
def test_directory_target(apache, validated):
    one = script(ENV_APP, validated)
    two = script('''
        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [("two:%s:%s" % (environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]
    ''', validated)
    srv = apache("WSGIScriptAlias /d/ @DOCROOT@/scripts/\n",
                 files={"scripts/one.wsgi": one, "scripts/two.wsgi": two,
                        "scripts/sub/.keep": ""})
    env = srv.get("/d/one.wsgi/extra/path").json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/d/one.wsgi", "/extra/path")
    assert env["SCRIPT_FILENAME"] == str(srv.docroot / "scripts" / "one.wsgi")
    # each file is its own application (its own %{RESOURCE} group)
    assert env["mod_wsgi.application_group"] == f"127.0.0.1:{srv.port}|/d/one.wsgi"
    assert srv.get("/d/two.wsgi").text == "two:/d/two.wsgi:"
    assert srv.get("/d//two.wsgi//p").text == "two:/d/two.wsgi:/p"
    assert srv.get("/d/missing.wsgi").status_code == 404
    srv.wait_for_log("MP2121")
    assert srv.get("/d/sub").status_code == 403
    srv.wait_for_log("MP2122")


@VALIDATED
def test_script_alias_match(apache, validated):
    srv = apache("WSGIScriptAliasMatch ^/m/([^/]+) @DOCROOT@/scripts/$1.wsgi\n",
                 files={"scripts/one.wsgi": script(ENV_APP, validated)})
    env = srv.get("/m/one/more/path?x=1").json()
    assert env["SCRIPT_FILENAME"] == str(srv.docroot / "scripts" / "one.wsgi")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/m/one", "/more/path")
    assert env["QUERY_STRING"] == "x=1"


# ------------------------------------------------------------------- response protocol

PROTO_APP = MARKED_BODY + '''
    import sys


    def application(environ, start_response):
        path = environ["PATH_INFO"]
        text = [("Content-Type", "text/plain")]
        if path == "/write":
            write = start_response("200 OK", text)
            write(b"written ")
            write(b"")
            return Body([b"and ", b"", b"iterated"], "close-write")
        if path == "/replace":
            start_response("200 OK", text + [("X-First", "1")])
            try:
                raise ValueError("replaced")
            except ValueError:
                start_response("503 Busy Here", text + [("X-Second", "2")], sys.exc_info())
            return Body([b"error page"], "close-replace")
        if path == "/twice":
            start_response("200 OK", text + [("X-First", "1")])
            start_response("202 Accepted", text + [("X-Second", "2")])
            return [b"second wins"]
        if path == "/status-only":
            start_response("299 Odd Reason Phrase", text)
            return [b""]
        if path == "/empty":
            start_response("204 No Content", [])
            return Body([], "close-empty")
        if path == "/generator":
            start_response("200 OK", text)

            def gen():
                try:
                    for i in range(5):
                        yield b"%d;" % i
                finally:
                    mark("close-generator")
            return gen()
        if path == "/errors":
            err = environ["wsgi.errors"]
            err.write("WSGIERR line one\\nWSGIERR line two\\n")
            err.writelines(["WSGIERR from ", "writelines\\n"])
            err.write("WSGIERR partial")
            err.flush()
            print("WSGIERR via stderr", file=sys.stderr)
            start_response("200 OK", text)
            return [b"logged"]
        if path == "/lines":
            # Many Set-Cookie headers keep their order and multiplicity.
            start_response("200 OK", text + [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                             ("X-Latin", "caf\\xe9")])
            return [b"ok"]
        start_response("404 Not Found", text)
        return [b"unknown " + path.encode("latin-1")]
'''


def proto_server(apache, validated=False, **kwargs):
    return apache(ALIAS, files={"app.wsgi": script(PROTO_APP.replace("@MARKS@", MARKS),
                                                   validated)}, **kwargs)


@VALIDATED
def test_write_then_iterable_and_close(apache, validated):
    srv = proto_server(apache, validated)
    r = srv.get("/app/write")
    assert r.status_code == 200 and r.text == "written and iterated"
    wait_marker(srv, "close-write")
    r = srv.get("/app/generator")
    assert r.text == "0;1;2;3;4;"
    wait_marker(srv, "close-generator")
    r = srv.get("/app/empty")
    assert r.status_code == 204 and r.content == b""
    wait_marker(srv, "close-empty")


@VALIDATED
def test_exc_info_before_headers_replaces(apache, validated):
    srv = proto_server(apache, validated)
    r = srv.get("/app/replace")
    assert r.status_code == 503
    assert r.reason == "Busy Here"
    assert r.text == "error page"
    assert "X-First" not in r.headers and r.headers["X-Second"] == "2"
    wait_marker(srv, "close-replace")


def test_second_start_response_before_body_replaces(apache):
    # Without exc_info (tolerated as mod_wsgi does; the validator would reject it).
    srv = proto_server(apache)
    r = srv.get("/app/twice")
    assert r.status_code == 202 and r.text == "second wins"
    assert "X-First" not in r.headers and r.headers["X-Second"] == "2"


@VALIDATED
def test_status_line_and_headers(apache, validated):
    srv = proto_server(apache, validated)
    r = srv.raw(b"GET /app/status-only HTTP/1.0\r\n\r\n")
    assert r.status == 299 and r.reason == b"Odd Reason Phrase"
    r = srv.raw(b"GET /app/lines HTTP/1.0\r\n\r\n")
    assert r.header_list("Set-Cookie") == [b"a=1", b"b=2"]
    assert r.header("X-Latin") == b"caf\xe9"


@pytest.mark.allow_log("MP2110", "WSGIERR")
@VALIDATED
def test_wsgi_errors_to_error_log(apache, validated):
    srv = proto_server(apache, validated)
    assert srv.get("/app/errors").text == "logged"
    for text in ("WSGIERR line one", "WSGIERR line two", "WSGIERR from writelines",
                 "WSGIERR partial", "WSGIERR via stderr"):
        line = srv.wait_for_log(text)
        assert "[client 127.0.0.1:" in line, line
    assert "MP2110" in srv.wait_for_log("WSGIERR line one")
    # one log entry per line
    assert len(srv.log_lines("WSGIERR line one")) == 1
    assert not any("WSGIERR line two" in line for line in srv.log_lines("WSGIERR line one"))


# ------------------------------------------------------------------------- wsgi.input

INPUT_APP = '''
    import hashlib
    import json


    def application(environ, start_response):
        inp = environ["wsgi.input"]
        mode = environ["QUERY_STRING"]
        parts = []
        if mode == "read":
            while True:
                block = inp.read(7000)
                if not block:
                    break
                parts.append(block)
        elif mode == "readall":
            parts.append(inp.read())
        elif mode == "read-1":
            parts.append(inp.read(-1))
        elif mode == "readline":
            while True:
                line = inp.readline()
                if not line:
                    break
                parts.append(line)
        elif mode == "readline5":
            while True:
                line = inp.readline(5)
                if not line:
                    break
                parts.append(line)
        elif mode == "readlines":
            parts = inp.readlines()
        elif mode == "readlines-hint":
            parts = inp.readlines(10)
            parts.append(b"|")
            parts += inp.readlines()
        elif mode == "iter":
            parts = [line for line in inp]
        body = b"".join(parts)
        # the end stays the end
        after = [inp.read(10), inp.readline(), inp.read(0)]
        out = {"parts": [p.decode("latin-1") for p in parts], "len": len(body),
               "sha": hashlib.sha256(body).hexdigest(),
               "after": [a.decode("latin-1") for a in after],
               "content_length": environ.get("CONTENT_LENGTH"),
               "terminated": environ.get("wsgi.input_terminated")}
        data = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [data]
'''

INPUT_VALIDATED_APP = INPUT_APP.replace(
    '''parts.append(inp.read())
        elif mode == "read-1":
            parts.append(inp.read(-1))''',
    '''parts.append(inp.read(1 << 20))
        elif mode == "read-1":
            parts.append(inp.read(1 << 20))'''
)


@VALIDATED
def test_wsgi_input_reading(apache, validated):
    source = INPUT_VALIDATED_APP if validated else INPUT_APP
    srv = apache(ALIAS, files={"app.wsgi": script(source, validated)})
    body = b"line one\nsecond line\n\nlast without newline \xff\x00"
    lines = [b"line one\n", b"second line\n", b"\n", b"last without newline \xff\x00"]
    modes = ["read", "readall", "read-1", "readline", "readline5", "readlines", "iter"]
    if validated:
        modes.remove("readall")
        modes.remove("read-1")
    for mode in modes:
        out = srv.post(f"/app?{mode}", data=body).json()
        assert out["len"] == len(body), mode
        assert out["parts"] and "".join(out["parts"]).encode("latin-1") == body, mode
        assert out["after"] == ["", "", ""], mode
        assert out["content_length"] == str(len(body))
        assert out["terminated"] is True
        if mode in ("readline", "readlines", "iter"):
            assert [p.encode("latin-1") for p in out["parts"]] == lines, mode
        if mode == "readline5":
            assert all(len(p) <= 5 for p in out["parts"]), out["parts"]
            assert out["parts"][:3] == ["line ", "one\n", "secon"]
    out = srv.post("/app?readlines-hint", data=body).json()
    assert out["parts"][:2] == ["line one\n", "second line\n"]
    assert "|" in out["parts"]
    # an empty body
    out = srv.post("/app?read", data=b"").json()
    assert out["len"] == 0 and out["after"] == ["", "", ""]
    out = srv.get("/app?readline").json()
    assert out["len"] == 0 and out["content_length"] in (None, "0")


@VALIDATED
def test_wsgi_input_large_and_chunked(apache, validated):
    source = INPUT_VALIDATED_APP if validated else INPUT_APP
    srv = apache(ALIAS, files={"app.wsgi": script(source, validated)})
    import hashlib

    big = os.urandom(300_000) + b"\n" + b"x" * 200_000
    out = srv.post("/app?read", data=big).json()
    assert out["len"] == len(big) and out["sha"] == hashlib.sha256(big).hexdigest()

    def chunks():
        for i in range(0, len(big), 65_000):
            yield big[i:i + 65_000]

    out = srv.post("/app?read", data=chunks()).json()  # Transfer-Encoding: chunked
    assert out["content_length"] is None
    assert out["terminated"] is True
    assert out["len"] == len(big) and out["sha"] == hashlib.sha256(big).hexdigest()
    out = srv.post("/app?iter", data=chunks()).json()
    assert out["sha"] == hashlib.sha256(big).hexdigest()


def test_expect_100_continue(apache):
    srv = apache(ALIAS, files={"app.wsgi": script(INPUT_APP)})
    with connect(srv) as sock:
        sock.sendall(b"POST /app?read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        head, rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 100"), head
        sock.sendall(b"hello")
        data = rest
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert b"200 OK" in data and b'"len": 5' in data


@pytest.mark.allow_log("AH02", "411", "chunked")
@scope_params()
def test_chunked_request_off_gives_411(apache, scope):
    srv = apache(ALIAS + scoped("WSGIChunkedRequest Off\n", scope),
                 files={"app.wsgi": script(INPUT_APP)})
    r = srv.post("/app?read", data=iter([b"abc", b"def"]))
    assert r.status_code == 411
    # with a length it still works
    assert srv.post("/app?read", data=b"abcdef").json()["len"] == 6


# ---------------------------------------------------------------------- file_wrapper

FILE_APP = '''
    import os

    MARKS = "@MARKS@"


    class Tracked:
        """A file-like object whose close() leaves a marker."""

        def __init__(self, path, name):
            self.f = open(path, "rb")
            self.name = name

        def read(self, n=-1):
            return self.f.read(n)

        def fileno(self):
            return self.f.fileno()

        def tell(self):
            return self.f.tell()

        def seek(self, *args):
            return self.f.seek(*args)

        def close(self):
            self.f.close()
            with open(os.path.join(MARKS, self.name), "a") as m:
                m.write("closed\\n")


    class NoFileno:
        def __init__(self, data):
            self.data = data
            self.pos = 0

        def read(self, n):
            out = self.data[self.pos:self.pos + n]
            self.pos += len(out)
            return out


    def application(environ, start_response):
        q = environ["QUERY_STRING"]
        path = os.path.join(os.path.dirname(__file__), "data.bin")
        headers = [("Content-Type", "application/octet-stream")]
        if q == "plain":
            f = Tracked(path, "fw-plain")
        elif q == "offset":
            f = Tracked(path, "fw-offset")
            f.seek(1000)
        elif q == "length":
            f = Tracked(path, "fw-length")
            headers.append(("Content-Length", "5000"))
        elif q == "nofileno":
            start_response("200 OK", headers)
            return environ["wsgi.file_wrapper"](NoFileno(b"0123456789" * 1000), 333)
        elif q == "sendfile":
            import mod_wsgi
            f = Tracked(path, "fw-sendfile")
            headers.append(("X-Sendfile-Flag", environ["mod_wsgi.enable_sendfile"]))
            assert environ["wsgi.file_wrapper"] is mod_wsgi.FileWrapper
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](f, 4096)
'''


@pytest.mark.parametrize("sendfile", [
    "off",
    "server",
    "directory",
])
@pytest.mark.parametrize("validated", [False, True], ids=["plain", "validated"])
def test_file_wrapper(apache, validated, sendfile):
    data = os.urandom(200_000)
    snippet = ALIAS
    if sendfile != "off":
        snippet += scoped("WSGIEnableSendfile On\n", sendfile)
    srv = apache(snippet, files={"app.wsgi": script(FILE_APP.replace("@MARKS@", MARKS),
                                                    validated),
                                 "data.bin": data})
    r = srv.get("/app?plain")
    assert r.status_code == 200 and r.content == data
    wait_marker(srv, "fw-plain")
    r = srv.get("/app?offset")
    assert r.content == data[1000:]
    wait_marker(srv, "fw-offset")
    if not validated:
        # Fast path only: the length is capped by Content-Length. (Under the validator
        # the wrapper is iterated, so extra blocks would be cut and logged as MP2104.)
        r = srv.get("/app?length")
        assert r.content == data[:5000] and r.headers["Content-Length"] == "5000"
        wait_marker(srv, "fw-length")
    r = srv.get("/app?nofileno")
    assert r.content == b"0123456789" * 1000
    r = srv.get("/app?sendfile")
    assert r.content == data
    assert r.headers["X-Sendfile-Flag"] == ("0" if sendfile == "off" else "1")
    wait_marker(srv, "fw-sendfile")


# ------------------------------------------------------------------------------- HEAD

HEAD_APP = '''
    def application(environ, start_response):
        body = b"x" * 1234
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body))),
                                  ("X-Method", environ["REQUEST_METHOD"])])
        return [body]
'''


def _head_params():
    cases = [
        (None, False, "HEAD"),
        ("Auto", False, "HEAD"),
        ("Auto", True, "GET"),
        ("On", False, "GET"),
        ("Off", False, "HEAD"),
        ("Off", True, "HEAD"),
    ]
    out = []
    for scope in ("server", "directory"):
        for setting, filters, seen in cases:
            out.append(pytest.param(scope, setting, filters, seen,
                                    id=f"{scope}-{setting}-{'filter' if filters else 'plain'}"))
    return out


@pytest.mark.parametrize("scope,setting,filters,seen", _head_params())
@VALIDATED
def test_head_mapping(apache, validated, scope, setting, filters, seen):
    if scope == "directory" and setting is None:
        pytest.skip("same as server scope")
    snippet = ALIAS
    if setting:
        snippet += scoped(f"WSGIMapHEADToGET {setting}\n", scope)
    extra = ()
    if filters:
        snippet += "<Location /app>\n    SetOutputFilter DEFLATE\n</Location>\n"
        extra = ("deflate", "filter")
    srv = apache(snippet, files={"app.wsgi": script(HEAD_APP, validated)},
                 extra_modules=extra)
    r = srv.raw(b"HEAD /app HTTP/1.0\r\nAccept-Encoding: identity\r\n\r\n")
    assert r.status == 200
    assert r.header("X-Method") == seen.encode()
    assert r.raw.endswith(b"\r\n\r\n"), "a HEAD response carries no body"
    if not filters:
        assert r.header("Content-Length") == b"1234"
    r = srv.raw(b"GET /app HTTP/1.0\r\n\r\n")
    assert r.header("X-Method") == b"GET"
    if not filters:
        assert r.body == b"x" * 1234


HEAD_LENGTH_APP = '''
    def application(environ, start_response):
        # A HEAD-aware application declares the length of the body a GET would have.
        body = b"" if environ["REQUEST_METHOD"] == "HEAD" else b"x" * 10
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [body[:3]] if environ["PATH_INFO"] == "/short" else [body]
'''


@pytest.mark.parametrize("setting", ["Off", "On"])
def test_head_keeps_application_content_length(apache, setting):
    # Off: the application sees HEAD and its Content-Length stands, whatever body it returned.
    # On: it sees GET; the body reaches httpd's filters but none reaches the client, so a
    # length that does not match is not logged or punished by closing the connection.
    srv = apache(ALIAS + f"WSGIMapHEADToGET {setting}\n",
                 files={"app.wsgi": script(HEAD_LENGTH_APP)})
    with srv.session() as s:
        for path in ("/app", "/app/short"):
            r = s.head(srv.url(path))
            assert r.status_code == 200
            if setting == "Off" or path == "/app":
                assert r.headers["Content-Length"] == "10"
            assert r.headers.get("Connection", "").lower() != "close"
        assert s.get(srv.url("/app")).content == b"x" * 10
    assert "MP2104" not in srv.error_log() and "MP2105" not in srv.error_log()


# ------------------------------------------------------------------- application groups

GROUP_APP = '''
    import json
    import os
    import sys

    import mod_wsgi
    import shared_state


    def application(environ, start_response):
        shared_state.hits.append(environ["SCRIPT_NAME"])
        out = {"group": environ["mod_wsgi.application_group"],
               "module_group": mod_wsgi.application_group,
               "hits": len(shared_state.hits), "pid": os.getpid(),
               "version": list(mod_wsgi.version),
               "process_group": mod_wsgi.process_group,
               "file_wrapper": environ["wsgi.file_wrapper"] is mod_wsgi.FileWrapper}
        body = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
'''


@pytest.mark.parametrize(
    "value,expected,shared",
    [
        (None, "127.0.0.1:{port}|{script}", False),
        ("%{GLOBAL}", "", True),
        ("%{SERVER}", "127.0.0.1:{port}", True),
        ("%{RESOURCE}", "127.0.0.1:{port}|{script}", False),
        ("%{ENV:MY_GROUP}", "from-env", True),
        # unset: the text itself names a sub-interpreter (as mod_wsgi), never the main one
        ("%{ENV:NO_SUCH_GROUP}", "%{{ENV:NO_SUCH_GROUP}}", True),
        ("%{HOST}", "127.0.0.1:{port}", True),
        ("literal-group", "literal-group", True),
    ],
    ids=["default", "global", "server", "resource", "env", "env-unset", "host", "literal"],
)
def test_application_groups(apache, value, expected, shared):
    snippet = ("WSGIScriptAlias /one @DOCROOT@/one.wsgi\n"
               "WSGIScriptAlias /two @DOCROOT@/two.wsgi\n"
               "WSGIPythonPath @ROOT@/lib\n")
    extra = ()
    if value is not None:
        snippet += f'<Directory "@DOCROOT@">\n    WSGIApplicationGroup {value}\n'
        if "ENV" in value:
            snippet += "    SetEnv MY_GROUP from-env\n"
            extra = ("env",)
        snippet += "</Directory>\n"
    srv = apache(snippet, extra_modules=extra,
                 files={"one.wsgi": script(GROUP_APP), "two.wsgi": script(GROUP_APP),
                        "../lib/shared_state.py": "hits = []\n"})
    with srv.session() as s:  # one connection: one child under prefork
        a1 = s.get(srv.url("/one")).json()
        b1 = s.get(srv.url("/two")).json()
        a2 = s.get(srv.url("/one")).json()
    assert a1["pid"] == b1["pid"] == a2["pid"]
    assert a1["group"] == expected.format(port=srv.port, script="/one")
    assert b1["group"] == expected.format(port=srv.port, script="/two")
    assert a1["module_group"] == a1["group"]
    assert b1["module_group"] == b1["group"]
    assert a1["version"] == [4, 9, 4] and a1["process_group"] == ""
    assert a1["file_wrapper"] is True
    if shared:
        assert [a1["hits"], b1["hits"], a2["hits"]] == [1, 2, 3]
    else:
        assert [a1["hits"], b1["hits"], a2["hits"]] == [1, 1, 2]


def test_a_port_in_the_host_header_does_not_make_new_interpreters(apache):
    # The default group names the port; taking it from the client's Host header would let
    # every client-chosen port create an interpreter that lives as long as the child.
    srv = apache("WSGIScriptAlias /one @DOCROOT@/one.wsgi\nWSGIPythonPath @ROOT@/lib\n",
                 files={"one.wsgi": script(GROUP_APP), "../lib/shared_state.py": "hits = []\n"})
    with srv.session() as s:  # one connection: one child under prefork
        answers = [s.get(srv.url("/one"), headers={"Host": f"127.0.0.1:{port}"}).json()
                   for port in (srv.port, 1, 2, 65535)]
    assert {a["group"] for a in answers} == {f"127.0.0.1:{srv.port}|/one"}
    assert [a["hits"] for a in answers] == [1, 2, 3, 4]


SHUTDOWN_APP = '''
    import os

    import mod_wsgi

    # <server root>/run: writable by the children
    EXIT_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "run", "app.exit")


    def stopping(event, **kwargs):
        with open(EXIT_FILE, "w") as out:
            out.write(repr((event, kwargs)))


    mod_wsgi.subscribe_shutdown(stopping)


    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"subscribed"]
'''


def test_subscribe_shutdown_callbacks_run_at_child_exit(apache):
    # httpd's event MPM now and then segfaults a child that SIGTERM reaches while it shuts
    # down (mphelpers.SHUTDOWN_RACE, seen without this module): only then is it tried again.
    for attempt in range(3):
        srv = apache(ALIAS, files={"app.wsgi": script(SHUTDOWN_APP)})
        assert srv.docroot.parent == srv.root
        assert srv.get("/app").text == "subscribed"
        exit_file = srv.root / "run" / "app.exit"
        assert not exit_file.exists()
        srv.stop()
        if not exit_file.exists() and SHUTDOWN_RACE.search(srv.error_log()) and attempt < 2:
            continue
        assert exit_file.read_text() == "('process_stopping', {'shutdown_reason': ''})"
        assert "MP0121" not in srv.error_log()
        return


@scope_params()
def test_application_group_global_scope(apache, scope):
    # The most common mod_wsgi configuration: WSGIApplicationGroup %{GLOBAL} at top level.
    snippet = ("WSGIScriptAlias /one @DOCROOT@/one.wsgi\n"
               "WSGIScriptAlias /two @DOCROOT@/two.wsgi\n"
               "WSGIPythonPath @ROOT@/lib\n" + scoped("WSGIApplicationGroup %{GLOBAL}\n", scope))
    srv = apache(snippet, files={"one.wsgi": script(GROUP_APP), "two.wsgi": script(GROUP_APP),
                                 "../lib/shared_state.py": "hits = []\n"})
    with srv.session() as s:
        a = s.get(srv.url("/one")).json()
        b = s.get(srv.url("/two")).json()
    assert (a["group"], b["group"]) == ("", "")
    assert (a["hits"], b["hits"]) == (1, 2)


@scope_params()
def test_callable_object_scope(apache, scope):
    srv = apache(ALIAS + scoped("WSGICallableObject other\n", scope),
                 files={"app.wsgi": script(CALLABLE_APP)})
    assert srv.get("/app").text == "other:other"


def test_application_group_option_on_alias(apache):
    snippet = ("WSGIScriptAlias /one @DOCROOT@/one.wsgi application-group=shared\n"
               "WSGIScriptAlias /two @DOCROOT@/two.wsgi application-group=shared\n"
               "WSGIScriptAlias /three @DOCROOT@/three.wsgi application-group=%{GLOBAL}\n"
               "WSGIPythonPath @ROOT@/lib\n")
    srv = apache(snippet, files={"one.wsgi": script(GROUP_APP), "two.wsgi": script(GROUP_APP),
                                 "three.wsgi": script(GROUP_APP),
                                 "../lib/shared_state.py": "hits = []\n"})
    with srv.session() as s:
        a = s.get(srv.url("/one")).json()
        b = s.get(srv.url("/two")).json()
        c = s.get(srv.url("/three")).json()
    assert (a["group"], b["group"], c["group"]) == ("shared", "shared", "")
    assert (a["hits"], b["hits"], c["hits"]) == (1, 2, 1)


# ----------------------------------------------------------------- other directives

CALLABLE_APP = '''
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"default:" + environ["mod_wsgi.callable_object"].encode()]


    def other(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"other:" + environ["mod_wsgi.callable_object"].encode()]
'''


@VALIDATED
def test_callable_object(apache, validated):
    source = script(CALLABLE_APP, False)
    if validated:
        source += ("\nimport warnings, wsgiref.validate\nwarnings.simplefilter('error')\n"
                   "other = wsgiref.validate.validator(other)\n")
    snippet = ("WSGIScriptAlias /default @DOCROOT@/a.wsgi\n"
               "WSGIScriptAlias /opt @DOCROOT@/a.wsgi callable-object=other\n"
               "WSGIScriptAlias /dir @DOCROOT@/b.wsgi\n"
               '<Directory "@DOCROOT@/b.wsgi">\n</Directory>\n'
               '<Files "b.wsgi">\n    WSGICallableObject other\n</Files>\n')
    srv = apache(snippet, files={"a.wsgi": source, "b.wsgi": source})
    assert srv.get("/default").text == "default:application"
    assert srv.get("/opt").text == "other:other"
    assert srv.get("/dir").text == "other:other"


def test_python_path(apache):
    app = '''
        import json, sys
        import first, second, third
        import bottle

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"x": first.X + second.X + third.X, "bottle": bottle.X,
                                "path": sys.path[:4]}).encode()]
    '''
    srv = apache(ALIAS + "WSGIPythonPath @ROOT@/lib1:@ROOT@/lib2\n",
                 files={"app.wsgi": app, "../lib1/first.py": "X = 'a'\n",
                        "../lib2/second.py": "X = 'b'\n",
                        # .pth files are processed (site.addsitedir)
                        "../lib1/extra.pth": "@ROOT@/lib3\n",
                        "../lib3/third.py": "X = 'c'\n",
                        # a project's copy of a package Debian also has (python3-bottle)
                        "../lib2/bottle.py": "X = 'project copy'\n"})
    answer = srv.get("/app").json()
    assert answer["x"] == "abc"
    # First in sys.path after the module's own package, as mod_wsgi puts them: the project's
    # copy wins over the system's.
    assert answer["bottle"] == "project copy"
    assert answer["path"][1:] == [str(srv.root / d) for d in ("lib1", "lib3", "lib2")]
    assert answer["path"][0].endswith("python")


def test_python_home_site_packages_come_before_the_systems(apache):
    # A virtual environment's packages win over Debian's (as when it is the running Python),
    # but not over the standard library; WSGIPythonPath still comes first.
    app = '''
        import json, sys
        import bottle

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"bottle": bottle.X, "path": sys.path}).encode()]
    '''
    site = "../venv/lib/python3.11/site-packages"
    srv = apache(ALIAS + "WSGIPythonHome @ROOT@/venv\nWSGIPythonPath @ROOT@/lib1\n",
                 files={"app.wsgi": app, "../lib1/first.py": "X = 1\n",
                        f"{site}/bottle.py": "X = 'venv copy'\n"})
    answer = srv.get("/app").json()
    assert answer["bottle"] == "venv copy"
    path = answer["path"]
    venv = str(srv.root / site[3:])
    assert path[1] == str(srv.root / "lib1")
    assert path.index("/usr/lib/python3.11") < path.index(venv)
    assert path.index(venv) < min(i for i, p in enumerate(path) if p.endswith("-packages")
                                  and p != venv)


def test_concurrent_first_requests_load_the_script_once(apache):
    # The interpreter's WSGI set-up runs Python that lets other threads in (here a .pth
    # file that sleeps): every first request must still share one load of the script.
    app = f'''
        import os, threading
        with open("{MARKS}/loads.txt", "a") as fh:
            fh.write("%d\\n" % os.getpid())
        LOADED_BY = threading.get_ident()

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"%d %d" % (os.getpid(), LOADED_BY)]
    '''
    srv = apache(ALIAS + "WSGIPythonPath @ROOT@/slow\n",
                 files={"app.wsgi": app, "../slow/slow.pth": "import time; time.sleep(0.5)\n"})
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: srv.get("/app").text, range(12)))
    loaded_by = {}
    for answer in answers:
        pid, ident = answer.split()
        loaded_by.setdefault(pid, set()).add(ident)
    assert all(len(idents) == 1 for idents in loaded_by.values()), loaded_by
    loads = marker_path(srv, "loads.txt").read_text().split()
    assert sorted(loads) == sorted(set(loads)), loads  # once per child


def test_import_script_preloads_at_child_start(apache):
    pre = f'''
        import os, sys
        sys.wsgi_preloaded = os.getpid()
        with open(os.path.join("{MARKS}", "preloaded"), "a") as f:
            f.write("%d\\n" % os.getpid())
    '''
    app = '''
        import os, sys

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            ok = getattr(sys, "wsgi_preloaded", None) == os.getpid()
            return [b"preloaded" if ok else b"not preloaded"]
    '''
    snippet = (ALIAS + '<Directory "@DOCROOT@">\n    WSGIApplicationGroup %{GLOBAL}\n'
               "</Directory>\n"
               "WSGIImportScript @DOCROOT@/pre.wsgi process-group=%{GLOBAL} "
               "application-group=%{GLOBAL}\n")
    srv = apache(snippet, files={"app.wsgi": app, "pre.wsgi": pre})
    # Written at child start, before any request.
    pids = wait_marker(srv, "preloaded").split()
    assert all(p.isdigit() for p in pids)
    assert srv.get("/app").text == "preloaded"


def test_script_alias_with_literal_groups_preloads(apache):
    app = f'''
        import os
        with open(os.path.join("{MARKS}", "alias-preloaded"), "a") as f:
            f.write("%d\\n" % os.getpid())

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(os.getpid()).encode()]
    '''
    snippet = ("WSGIScriptAlias /app @DOCROOT@/app.wsgi process-group=%{GLOBAL} "
               "application-group=%{GLOBAL}\n")
    srv = apache(snippet, files={"app.wsgi": app})
    wait_marker(srv, "alias-preloaded")
    # Under prefork every child preloads at its start, not all at once: wait
    # until no further child reports before looking.
    marker = marker_path(srv, "alias-preloaded")
    pids_before = marker.read_text().split()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = marker.read_text().split()
        if now == pids_before:
            break
        pids_before = now
    serving_pid = srv.get("/app").text
    time.sleep(0.2)
    # The serving child had loaded the script at start, and the request did
    # not load it a second time.
    assert serving_pid in pids_before
    assert marker.read_text().split() == pids_before


@pytest.mark.parametrize(
    "snippet,passed",
    [
        ("", False),
        ("WSGIPassAuthorization On\n", True),
        ("WSGIPassAuthorization Off\n", False),
    ],
    ids=["default", "on", "off"],
)
@pytest.mark.parametrize("scope", ["server", "directory"])
def test_pass_authorization(apache, snippet, passed, scope):
    srv = env_server(apache, ALIAS + scoped(snippet, scope))
    env = srv.get("/app", headers={"Authorization": "Bearer tok"}).json()
    assert ("HTTP_AUTHORIZATION" in env) is passed
    if passed:
        assert env["HTTP_AUTHORIZATION"] == "Bearer tok"


def test_pass_authorization_alias_option(apache):
    srv = env_server(apache, "WSGIScriptAlias /app @DOCROOT@/app.wsgi pass-authorization=On\n")
    env = srv.get("/app", headers={"Authorization": "Bearer tok"}).json()
    assert env["HTTP_AUTHORIZATION"] == "Bearer tok"


RELOAD_APP = '''
    import reload_helper
    reload_helper.loads.append(1)

    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"VERSION:%d" % len(reload_helper.loads)]
'''


@pytest.mark.parametrize("setting", [None, "On", "Off"])
@pytest.mark.parametrize("scope", ["server", "directory"])
def test_script_reloading(apache, setting, scope):
    snippet = ALIAS + "WSGIPythonPath @ROOT@/lib\n"
    if setting:
        snippet += scoped(f"WSGIScriptReloading {setting}\n", scope)
    srv = apache(snippet, files={"app.wsgi": script(RELOAD_APP),
                                 "../lib/reload_helper.py": "loads = []\n"})
    path = srv.docroot / "app.wsgi"
    with srv.session() as s:
        assert s.get(srv.url("/app")).text == "VERSION:1"
        path.write_text(script(RELOAD_APP).replace("VERSION", "CHANGED"))
        st = path.stat()
        os.utime(path, (st.st_atime, st.st_mtime + 5))
        text = s.get(srv.url("/app")).text
    if setting == "Off":
        assert text == "VERSION:1"
    else:
        # Re-executed in the same process; other modules keep their state.
        assert text == "CHANGED:2"


def test_lifecycle_is_logged_at_wsgi_info(apache):
    srv = apache(ALIAS + "LogLevel warn wsgi:info\nWSGIPythonPath @ROOT@/lib\n",
                 files={"app.wsgi": script(RELOAD_APP),
                        "../lib/reload_helper.py": "loads = []\n"})
    path = srv.docroot / "app.wsgi"
    with srv.session() as s:
        assert s.get(srv.url("/app")).text == "VERSION:1"
        st = path.stat()
        os.utime(path, (st.st_atime, st.st_mtime + 5))
        assert s.get(srv.url("/app")).text == "VERSION:2"
    group = f"127.0.0.1:{srv.port}|/app"
    assert srv.wait_for_log(rf"\[wsgi:info\].*MP2133: mod_wsgi \(pid=\d+\): interpreter "
                            rf"'{re.escape(group)}' set up for WSGI")
    srv.wait_for_log(rf"MP2134: .*loading WSGI script '{re.escape(str(path))}' in interpreter "
                     rf"'{re.escape(group)}'")
    srv.wait_for_log(rf"MP2135: .*reloading WSGI script '{re.escape(str(path))}'")


def test_lifecycle_is_not_logged_by_default(apache):
    srv = env_server(apache)
    assert srv.get("/app").status_code == 200
    assert "MP2134" not in srv.error_log()


# ------------------------------------------------------------------- proxy headers


def proxy_get(srv, headers):
    return srv.get("/app", headers=headers).json()


@scope_params()
def test_trusted_proxy_headers_without_proxies(apache, scope):
    snippet = ALIAS + scoped("WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto "
                             "X-Forwarded-Host X-Forwarded-Port X-Script-Name\n", scope)
    srv = env_server(apache, snippet)
    env = proxy_get(srv, {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https",
                          "X-Forwarded-Host": "example.test", "X-Forwarded-Port": "8443",
                          "X-Script-Name": "/mount", "X-Real-IP": "6.6.6.6"})
    assert env["REMOTE_ADDR"] == "10.1.2.3"
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "example.test"
    assert env["SERVER_PORT"] == "8443"
    assert env["SCRIPT_NAME"] == "/mount"
    assert env["mod_wsgi.mount_point"] == "/mount"
    assert env["mod_wsgi.script_name"] == "/app"
    # Unlisted variants of a trusted category are removed; the honoured header stays, as a
    # record of what set the variable (mod_wsgi does the same).
    assert "HTTP_X_REAL_IP" not in env
    assert env["HTTP_X_FORWARDED_FOR"] == "10.1.2.3"
    assert env["HTTP_X_FORWARDED_PROTO"] == "https"


@scope_params()
def test_trusted_proxy_headers_from_untrusted_peer(apache, scope):
    snippet = ALIAS + scoped("WSGITrustedProxyHeaders (X-Forwarded-For X-Forwarded-Proto)\n"
                             "WSGITrustedProxies 10.0.0.0/8\n", scope)
    srv = env_server(apache, snippet)
    env = proxy_get(srv, {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https",
                          "X-Forwarded-Host": "keep.test"})
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in env
    assert "HTTP_X_FORWARDED_PROTO" not in env
    # not listed at all: passed through as an ordinary header
    assert env["HTTP_X_FORWARDED_HOST"] == "keep.test"


@scope_params()
def test_trusted_proxies_walk_forwarded_for(apache, scope):
    snippet = ALIAS + scoped("WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-HTTPS\n"
                             "WSGITrustedProxies 127.0.0.1 10.0.0.0/8\n", scope)
    srv = env_server(apache, snippet)
    env = proxy_get(srv, {"X-Forwarded-For": "9.9.9.9, 1.2.3.4, 10.0.0.5",
                          "X-Forwarded-HTTPS": "on"})
    assert env["REMOTE_ADDR"] == "1.2.3.4"
    assert env["wsgi.url_scheme"] == "https"
    # What the client wrote left of its own address (9.9.9.9) is gone: code reading the
    # leftmost entry gets the client, as under mod_wsgi.
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4, 10.0.0.5"


def test_only_the_client_address_header_used_stays(apache):
    snippet = ALIAS + "WSGITrustedProxyHeaders X-Forwarded-For X-Real-IP\n"
    srv = env_server(apache, snippet)
    env = proxy_get(srv, {"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "203.0.113.7"})
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["HTTP_X_REAL_IP"] == "203.0.113.7"
    assert "HTTP_X_FORWARDED_FOR" not in env
    env = proxy_get(srv, {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert env["REMOTE_ADDR"] == "6.6.6.6"  # no WSGITrustedProxies: the leftmost entry
    assert env["HTTP_X_FORWARDED_FOR"] == "6.6.6.6, 203.0.113.9"


@scope_params()
def test_trusted_scheme_flag_removes_spoofed_scheme_names(apache, scope):
    # Flag and name headers are one category: trusting X-Forwarded-HTTPS must remove a
    # client's X-Forwarded-Proto / X-Scheme, which Django or Werkzeug's ProxyFix may read.
    snippet = ALIAS + scoped("WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-HTTPS\n", scope)
    srv = env_server(apache, snippet)
    env = proxy_get(srv, {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-HTTPS": "off",
                          "X-Forwarded-Proto": "https", "X-Scheme": "https",
                          "X-Forwarded-SSL": "on"})
    assert env["wsgi.url_scheme"] == "http"
    assert env["HTTP_X_FORWARDED_HTTPS"] == "off"
    for spoofed in ("HTTP_X_FORWARDED_PROTO", "HTTP_X_SCHEME", "HTTP_X_FORWARDED_SSL"):
        assert spoofed not in env


def test_https_variable_sets_url_scheme(apache):
    # The usual recipe behind a TLS-terminating proxy, without WSGITrustedProxyHeaders.
    snippet = ALIAS + ("SetEnvIf X-Forwarded-Proto ^https$ HTTPS=on\n"
                       '<Location /app/one>\n    SetEnv HTTPS 1\n</Location>\n'
                       '<Location /app/scheme>\n    SetEnv wsgi.url_scheme https\n</Location>\n')
    srv = env_server(apache, snippet, extra_modules=("setenvif", "env"))
    assert proxy_get(srv, {"X-Forwarded-Proto": "https"})["wsgi.url_scheme"] == "https"
    assert proxy_get(srv, {"X-Forwarded-Proto": "http"})["wsgi.url_scheme"] == "http"
    env = srv.get("/app/one").json()
    assert env["wsgi.url_scheme"] == "https" and "HTTPS" not in env
    # SetEnv cannot set the scheme directly (as with mod_wsgi)
    assert srv.get("/app/scheme").json()["wsgi.url_scheme"] == "http"


SSL_APP = """
    import json

    KEPT = []


    def application(environ, start_response):
        is_https, lookup = environ["mod_ssl.is_https"], environ["mod_ssl.var_lookup"]
        report = {"is_https": is_https(), "protocol": lookup("SSL_PROTOCOL"),
                  "unknown": lookup("NO_SUCH_VARIABLE")}
        if KEPT:
            try:
                KEPT[0]("SSL_PROTOCOL")
            except RuntimeError as exc:
                report["stale"] = str(exc)
        KEPT[:] = [lookup]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(report).encode()]
"""

SSL_ACCESS = """
    def allow_access(environ, host):
        return environ["mod_ssl.is_https"]() and \\
            environ["mod_ssl.var_lookup"]("SSL_PROTOCOL") is not None
"""


def test_mod_ssl_functions_without_tls(apache):
    srv = apache(ALIAS, files={"app.wsgi": script(SSL_APP)})
    with srv.session() as s:
        first = s.get(srv.url("/app")).json()
        again = s.get(srv.url("/app")).json()
    assert first == {"is_https": False, "protocol": None, "unknown": None}
    assert again["stale"] == "mod_ssl.var_lookup used after the request finished"


def test_mod_ssl_functions_over_tls_and_in_hooks(apache, tmp_path):
    import subprocess

    import requests
    import urllib3

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    srv = apache(
        ALIAS + f'SSLEngine on\nSSLCertificateFile "{cert}"\nSSLCertificateKeyFile "{key}"\n'
        '<Location "/app">\n    WSGIAccessScript @ROOT@/auth/access.wsgi\n</Location>\n',
        files={"app.wsgi": script(SSL_APP), "../auth/access.wsgi": script(SSL_ACCESS)},
        extra_modules=("ssl", "socache_shmcb"),
    )
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    r = requests.get(f"https://127.0.0.1:{srv.port}/app", verify=False, timeout=30)
    assert r.status_code == 200, r.text  # the access script saw TLS too
    report = r.json()
    assert report["is_https"] is True
    assert report["protocol"].startswith("TLSv1")
    assert report["unknown"] is None


# ------------------------------------------------------------------- handler mapping


@pytest.mark.allow_log("MP2120")
@VALIDATED
def test_add_handler_needs_exec_cgi(apache, validated):
    snippet = ('<Directory "@DOCROOT@/cgi">\n    Options +ExecCGI\n'
               "    AddHandler wsgi-script .wsgi\n</Directory>\n"
               '<Directory "@DOCROOT@/nocgi">\n    AddHandler wsgi-script .wsgi\n</Directory>\n'
               '<Directory "@DOCROOT@/mime">\n    Options +ExecCGI\n'
               "    AddHandler application/x-httpd-wsgi .py3\n</Directory>\n")
    app = script(ENV_APP, validated)
    srv = apache(snippet, files={"cgi/x.wsgi": app, "nocgi/x.wsgi": app, "mime/y.py3": app})
    env = srv.get("/cgi/x.wsgi/more").json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/cgi/x.wsgi", "/more")
    assert env["mod_wsgi.request_handler"] == "wsgi-script"
    env = srv.get("/mime/y.py3").json()
    assert env["mod_wsgi.request_handler"] == "application/x-httpd-wsgi"
    r = srv.get("/nocgi/x.wsgi")
    assert r.status_code == 403
    assert "Options ExecCGI is off in this directory" in srv.wait_for_log("MP2120")


@pytest.mark.allow_log("MP2121")
def test_missing_script_is_404(apache):
    srv = apache("WSGIScriptAlias /gone @DOCROOT@/gone.wsgi\n")
    assert srv.get("/gone").status_code == 404
    assert "gone.wsgi" in srv.wait_for_log("MP2121")


@pytest.mark.allow_log("MP2122")
def test_directory_as_script_is_403(apache):
    srv = apache("WSGIScriptAlias /dir @DOCROOT@/adir\n", files={"adir/.keep": ""})
    assert srv.get("/dir").status_code == 403
    srv.wait_for_log("MP2122")


def _ifmodule(name):
    return (f"<IfModule {name}>\n    WSGIScriptAlias /yes @DOCROOT@/app.wsgi\n</IfModule>\n"
            f"<IfModule !{name}>\n    WSGIScriptAlias /no @DOCROOT@/app.wsgi\n</IfModule>\n")


@pytest.mark.parametrize("name", [
    "mod_wsgi.c",
    "wsgi_module",
    "mod_python.c",
    "python_module",
])
def test_ifmodule_sections(apache, name):
    srv = env_server(apache, _ifmodule(name))
    assert srv.get("/yes").status_code == 200
    assert srv.get("/yes").json()["SCRIPT_NAME"] == "/yes"
    assert srv.get("/no").status_code == 404


@pytest.mark.parametrize(
    "snippet",
    [
        "WSGIDaemonProcess mygroup processes=2 threads=4\n",
        "WSGIProcessGroup mygroup\n",
        "WSGIScriptAlias /x @DOCROOT@/app.wsgi process-group=mygroup\n",
        "WSGIImportScript @DOCROOT@/app.wsgi process-group=mygroup application-group=%{GLOBAL}\n",
    ],
    ids=["daemon-process", "process-group", "alias-option", "import-option"],
)
def test_daemon_directives_refuse_to_start(apache, snippet):
    with pytest.raises(pytest.fail.Exception) as info:
        apache(snippet, files={"app.wsgi": script(ENV_APP)})
    text = str(info.value)
    assert "daemon mode is not yet supported" in text, text
    assert "Syntax error" in text or "AH00526" in text, text


def test_process_group_global_is_embedded(apache):
    srv = env_server(apache, ALIAS + '<Location /app>\n    WSGIProcessGroup %{GLOBAL}\n'
                                     "</Location>\n")
    assert srv.get("/app").json()["mod_wsgi.process_group"] == ""


@pytest.mark.allow_log("MP2123")
def test_restrict_embedded(apache):
    srv = env_server(apache, ALIAS + "WSGIRestrictEmbedded On\n")
    assert srv.get("/app").status_code == 500
    srv.wait_for_log("MP2123")


def test_no_effect_directive_warns(apache):
    srv = env_server(apache, ALIAS + "WSGIVerboseDebugging On\nWSGISocketPrefix run/wsgi\n")
    assert srv.get("/app").status_code == 200
    assert "WSGIVerboseDebugging" in srv.wait_for_log("MP2001.*WSGIVerboseDebugging")


RUNTIME_APP = '''
    import json, os, sys


    def attempt(action):
        try:
            action()
            return "allowed"
        except OSError as exc:
            return str(exc)


    def application(environ, start_response):
        out = {"optimize": sys.flags.optimize, "hash": hash("mod_python"),
               "randomized": sys.flags.hash_randomization, "warnoptions": sys.warnoptions,
               "dont_write_bytecode": sys.dont_write_bytecode,
               "eggs": os.environ.get("PYTHON_EGG_CACHE"),
               "switch": sys.getswitchinterval(),
               "print": attempt(lambda: print("to stdout")),
               "stdin": attempt(lambda: sys.stdin.read()),
               "flush": attempt(sys.stdout.flush)}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(out).encode()]
'''


def test_python_runtime_directives(apache):
    snippet = ALIAS + ("WSGIPythonOptimize 1\nWSGIPythonHashSeed 4242\n"
                       "WSGIPythonWarnings ignore::DeprecationWarning\n"
                       "WSGIPythonWarnings error::ResourceWarning\n"
                       "WSGIDontWriteBytecode On\nWSGIPythonEggs /tmp/egg-cache\n"
                       "WSGISwitchInterval 0.002\n"
                       "WSGIRestrictStdout On\nWSGIRestrictStdin On\n")
    for group in ("%{GLOBAL}", "%{RESOURCE}"):  # the main interpreter and a sub-interpreter
        srv = apache(snippet + f"WSGIApplicationGroup {group}\n",
                     files={"app.wsgi": script(RUNTIME_APP)})
        got = srv.get("/app").json()
        expected_hash = subprocess.run(
            ["/usr/bin/python3.11", "-c", "print(hash('mod_python'))"], check=True,
            env={"PYTHONHASHSEED": "4242"}, capture_output=True, text=True).stdout.strip()
        assert got["hash"] == int(expected_hash)
        assert got["randomized"] == 1 and got["optimize"] == 1
        assert got["warnoptions"] == ["ignore::DeprecationWarning", "error::ResourceWarning"]
        assert got["dont_write_bytecode"] is True
        assert got["eggs"] == "/tmp/egg-cache"
        assert got["switch"] == pytest.approx(0.002)
        assert got["print"] == "sys.stdout access restricted by mod_wsgi"
        assert got["stdin"] == "sys.stdin access restricted by mod_wsgi"
        assert got["flush"] == "allowed"
        srv.stop()
        assert "Exception ignored" not in srv.error_log()  # not even at interpreter exit


MAIN_THREAD_APP = '''
    import threading


    def application(environ, start_response):
        main = threading.current_thread() is threading.main_thread()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"main" if main else b"worker"]
'''


def test_the_main_thread_is_the_childs_own_in_the_main_interpreter(apache):
    # Under a threaded MPM no request thread is Python's main thread (asyncio and signal code
    # test for it), whichever thread served first; under prefork the child's main thread
    # serves every request.
    srv = apache(ALIAS + "WSGIApplicationGroup %{GLOBAL}\n",
                 files={"app.wsgi": script(MAIN_THREAD_APP)})
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = set(pool.map(lambda _: srv.get("/app").text, range(48)))
    threaded = os.environ.get("MP_TEST_MPM", "event") != "prefork"
    assert answers == ({"worker"} if threaded else {"main"})


def test_python_runtime_defaults(apache):
    srv = apache(ALIAS, files={"app.wsgi": script(RUNTIME_APP)})
    got = srv.get("/app").json()
    assert got["optimize"] == 0 and got["randomized"] == 1 and got["warnoptions"] == []
    assert got["print"] == "allowed" and got["flush"] == "allowed"
    assert srv.wait_for_log("to stdout")  # print() goes to the error log


@pytest.mark.parametrize("line,message", [
    ("WSGIPythonOptimize 3", "expects 0, 1 or 2"),
    ("WSGIPythonHashSeed -1", "expects 'random' or a number"),
    ("WSGIPythonHashSeed 4294967296", "expects 'random' or a number"),
    ("WSGISwitchInterval 0", "greater than 0"),
    ("WSGISwitchInterval fast", "greater than 0"),
    ("<Location /x>\nWSGIRestrictStdout On\n</Location>", "not allowed in <Location>"),
    # one setting per process: the main server only
    ("<VirtualHost 127.0.0.1:*>\nWSGIRestrictStdout On\n</VirtualHost>",
     "cannot occur within <VirtualHost>"),
    ("<VirtualHost 127.0.0.1:*>\nWSGIPythonHashSeed 1\n</VirtualHost>",
     "cannot occur within <VirtualHost>"),
])
def test_python_runtime_directives_refuse_bad_values(apache, line, message):
    with pytest.raises(pytest.fail.Exception) as info:
        apache(ALIAS + line + "\n", files={"app.wsgi": script(ENV_APP)})
    assert message in str(info.value), str(info.value)


def test_ifmodule_sections_together(apache):
    snippet = ("<IfModule mod_wsgi.c>\n    WSGIScriptAlias /a @DOCROOT@/app.wsgi\n</IfModule>\n"
               "<IfModule wsgi_module>\n    WSGIScriptAlias /b @DOCROOT@/app.wsgi\n</IfModule>\n"
               "<IfModule !mod_wsgi.c>\n    WSGIScriptAlias /c @DOCROOT@/app.wsgi\n</IfModule>\n"
               "<IfModule !wsgi_module>\n    WSGIScriptAlias /d @DOCROOT@/app.wsgi\n</IfModule>\n")
    srv = env_server(apache, snippet)
    assert srv.get("/a").json()["SCRIPT_NAME"] == "/a"
    assert srv.get("/b").json()["SCRIPT_NAME"] == "/b"
    assert srv.get("/c").status_code == 404
    assert srv.get("/d").status_code == 404


# ----------------------------------------------------------------- more environ


def test_apache_auth_and_setenv_in_environ(apache):
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha1(b"secret").digest()).decode()
    snippet = ALIAS + ('<Location /app>\n    AuthType Basic\n    AuthName "wsgi test"\n'
                       "    AuthUserFile @ROOT@/htpasswd\n    Require valid-user\n"
                       "    SetEnv WSGI_TEST_VAR from-setenv\n</Location>\n")
    srv = apache(snippet, extra_modules=("env",),
                 files={"app.wsgi": script(ENV_APP),
                        "../htpasswd": f"alice:{{SHA}}{digest}\n"})
    assert srv.get("/app").status_code == 401
    env = srv.get("/app", auth=("alice", "secret")).json()
    assert env["REMOTE_USER"] == "alice"
    assert env["AUTH_TYPE"] == "Basic"
    assert env["WSGI_TEST_VAR"] == "from-setenv"
    # Apache checked the credentials; they are not handed to the application by default.
    assert "HTTP_AUTHORIZATION" not in env


def test_virtual_host_alias_and_server_group(apache):
    vhost = ("WSGIScriptAlias /v @DOCROOT@/app.wsgi\n"
             '<Directory "@DOCROOT@">\n    WSGIApplicationGroup %{SERVER}\n</Directory>\n')
    srv = apache("", files={"app.wsgi": script(ENV_APP)}, vhosts={"a.test": vhost})
    env = srv.get("/v", headers={"Host": f"a.test:{srv.port}"}).json()
    assert env["SERVER_NAME"] == "a.test"
    assert env["mod_wsgi.application_group"] == f"a.test:{srv.port}"
    # the alias belongs to the vhost only
    assert srv.get("/v").status_code == 404


def test_virtual_host_also_sees_the_main_server_aliases(apache):
    # As mod_alias: a vhost's own aliases come first, then those of the main server.
    vhost = ("WSGIScriptAlias /v @DOCROOT@/app.wsgi\n"
             "WSGIScriptAlias /both @DOCROOT@/other.wsgi\n")
    snippet = ("WSGIScriptAlias /main @DOCROOT@/app.wsgi\n"
               "WSGIScriptAlias /both @DOCROOT@/app.wsgi\n")
    other = ("def application(environ, start_response):\n"
             "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
             "    return [b'other']\n")
    srv = apache(snippet, files={"app.wsgi": script(ENV_APP), "other.wsgi": other},
                 vhosts={"a.test": vhost})
    host = {"Host": f"a.test:{srv.port}"}
    assert srv.get("/v", headers=host).json()["SCRIPT_NAME"] == "/v"
    inherited = srv.get("/main/x", headers=host).json()
    assert (inherited["SCRIPT_NAME"], inherited["PATH_INFO"]) == ("/main", "/x")
    assert inherited["SERVER_NAME"] == "a.test"
    assert srv.get("/both", headers=host).text == "other"
    assert srv.get("/both").json()["SCRIPT_NAME"] == "/both"
    assert srv.get("/v").status_code == 404


def test_request_and_connection_ids(apache):
    srv = env_server(apache)
    with srv.session() as s:
        a = s.get(srv.url("/app")).json()
        b = s.get(srv.url("/app")).json()
    for env in (a, b):
        assert env.get("mod_wsgi.request_id"), env.keys()
        assert env.get("mod_wsgi.connection_id")
    assert a["mod_wsgi.request_id"] != b["mod_wsgi.request_id"]
    assert a["mod_wsgi.connection_id"] == b["mod_wsgi.connection_id"]


STALE_APP = '''
    import json

    KEPT = {}


    def application(environ, start_response):
        out = {}
        if "start_response" in KEPT:
            for name, call in [("start_response",
                                lambda: KEPT["start_response"]("200 OK", [])),
                               ("write", lambda: KEPT["write"](b"x")),
                               ("input", lambda: KEPT["input"].read(1))]:
                try:
                    call()
                    out[name] = "no error"
                except Exception as exc:
                    out[name] = type(exc).__name__
        write = start_response("200 OK", [("Content-Type", "application/json")])
        KEPT.update(start_response=start_response, write=write, input=environ["wsgi.input"])
        return [json.dumps(out).encode()]
'''


def test_request_objects_unusable_after_the_request(apache):
    srv = apache(ALIAS + '<Directory "@DOCROOT@">\n    WSGIApplicationGroup %{GLOBAL}\n'
                 "</Directory>\n", files={"app.wsgi": script(STALE_APP)})
    with srv.session() as s:
        assert s.get(srv.url("/app")).json() == {}
        out = s.get(srv.url("/app")).json()
    assert out == {"start_response": "RuntimeError", "write": "RuntimeError",
                   "input": "RuntimeError"}


SLOW_APP = '''
    import time


    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"first|"
            time.sleep(1.5)
            yield b"second"
        return gen()
'''


@VALIDATED
def test_blocks_are_sent_promptly(apache, validated):
    srv = apache(ALIAS, files={"app.wsgi": script(SLOW_APP, validated)})
    with connect(srv) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /app HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, rest = read_head(sock)
        while b"first|" not in rest:
            rest += sock.recv(65536)
        first_at = time.monotonic() - start
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    assert first_at < 1.0, f"first block arrived after {first_at:.2f} s"
    assert b"second" in rest and rest.endswith(b"0\r\n\r\n")


EXTRAS_APP = '''
    def application(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/lazy":
            def gen():
                start_response("200 OK", [("Content-Type", "text/plain"), ("X-Lazy", "1")])
                yield b"lazy"
                yield b" body"
            return gen()
        if path == "/lazy-empty":
            def gen():
                start_response("200 OK", [("Content-Type", "text/plain"), ("X-Lazy", "1")])
                return
                yield b""
            return gen()
        if path == "/zero":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        if path == "/no-reason":
            start_response("200", [("Content-Type", "text/plain")])
            return [b"no reason"]
        if path == "/latin-reason":
            start_response("200 Caf\\xe9", [("Content-Type", "text/plain"),
                                            ("x-lower-CASE", " spaced value ")])
            return [b"latin"]
        if path == "/dup":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [environ.get("HTTP_X_DUP", "").encode("latin-1")]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]
'''


@VALIDATED
def test_protocol_extras(apache, validated):
    srv = apache(ALIAS, files={"app.wsgi": script(EXTRAS_APP, validated)})
    r = srv.get("/app/lazy")
    assert r.status_code == 200 and r.text == "lazy body" and r.headers["X-Lazy"] == "1"
    r = http11_raw(srv, "/app/lazy-empty")
    assert r.status == 200 and r.body == b"" and r.complete and r.header("X-Lazy") == b"1"
    r = http11_raw(srv, "/app/zero")
    assert r.status == 200 and r.header("Content-Length") == b"0" and r.body == b""
    r = srv.raw(b"GET /app/dup HTTP/1.0\r\nX-Dup: one\r\nX-Dup: two\r\n\r\n")
    assert r.body == b"one, two"
    if not validated:  # the validator wants "NNN reason"
        r = http11_raw(srv, "/app/no-reason")
        assert r.status == 200 and r.body == b"no reason"
    r = http11_raw(srv, "/app/latin-reason")
    assert r.status == 200 and r.reason == b"Caf\xe9"
    assert r.header("x-lower-CASE") == b"spaced value"
    assert b"x-lower-CASE:" in r.raw


def http11_raw(srv, path):
    return srv.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def test_env_group_value_expanded_once_more(apache):
    # %{ENV:var} whose value is itself %{...} (other than %{ENV:) is expanded again (§5).
    snippet = (ALIAS + '<Directory "@DOCROOT@">\n    WSGIApplicationGroup %{ENV:MY_GROUP}\n'
               "    SetEnv MY_GROUP %{SERVER}\n"
               "    SetEnv MY_CALLABLE other\n"
               "    WSGICallableObject %{ENV:MY_CALLABLE}\n</Directory>\n")
    srv = apache(snippet, extra_modules=("env",), files={"app.wsgi": script(CALLABLE_APP)})
    assert srv.get("/app").text == "other:other"
    srv2 = env_server(apache, snippet.replace("    SetEnv MY_CALLABLE other\n", "")
                      .replace("    WSGICallableObject %{ENV:MY_CALLABLE}\n", ""),
                      extra_modules=("env",))
    env = srv2.get("/app").json()
    assert env["mod_wsgi.application_group"] == f"127.0.0.1:{srv2.port}"


def test_import_script_server_group_matches_requests(apache):
    pre = f'''
        import os, sys
        sys.wsgi_preloaded_server = os.getpid()
        with open(os.path.join("{MARKS}", "preloaded-server"), "a") as f:
            f.write("%d\\n" % os.getpid())
    '''
    app = '''
        import os, sys

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            ok = getattr(sys, "wsgi_preloaded_server", None) == os.getpid()
            return [environ["mod_wsgi.application_group"].encode() + b":" +
                    (b"preloaded" if ok else b"not preloaded")]
    '''
    snippet = (ALIAS + '<Directory "@DOCROOT@">\n    WSGIApplicationGroup %{SERVER}\n'
               "</Directory>\n"
               "WSGIImportScript @DOCROOT@/pre.wsgi process-group=%{GLOBAL} "
               "application-group=%{SERVER}\n")
    srv = apache(snippet, files={"app.wsgi": app, "pre.wsgi": pre})
    wait_marker(srv, "preloaded-server")
    assert srv.get("/app").text == f"127.0.0.1:{srv.port}:preloaded"


# ------------------------------------------------------------------- WSGIRestrictSignal

SIGNAL_APP = '''
    import signal

    def application(environ, start_response):
        before = signal.getsignal(signal.SIGTERM)
        returned = signal.signal(signal.SIGTERM, lambda *args: None)
        after = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, 42)
            bad = "accepted"
        except TypeError:
            bad = "TypeError"
        body = "%s %s %s" % (before == after, returned == before, bad)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]
'''


@pytest.mark.allow_log("MP2126")
@pytest.mark.parametrize("setting", [None, "On"])
@pytest.mark.parametrize("group", ["%{GLOBAL}", "%{RESOURCE}"])
def test_restrict_signal_ignores_handlers(apache, setting, group):
    # Under prefork the request runs in the thread Python calls main, where a real
    # signal.signal() would take SIGTERM away from httpd.
    snippet = ALIAS + f"WSGIApplicationGroup {group}\n"
    if setting:
        snippet += f"WSGIRestrictSignal {setting}\n"
    srv = apache(snippet, files={"app.wsgi": script(SIGNAL_APP)})
    r = srv.get("/app")
    assert (r.status_code, r.text) == (200, "True True TypeError")
    line = srv.wait_for_log("MP2126")
    assert "Callback registration for signal 15 ignored" in line
    assert "app.wsgi" in srv.error_log()  # the caller's stack is logged
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 5, "SIGTERM must still stop the children promptly"


# ------------------------------------------------------------------- byte ranges

RANGE_APP = '''
    def application(environ, start_response):
        headers = [("Content-Type", "text/plain")]
        if environ["PATH_INFO"] == "/none":
            headers.append(("Accept-Ranges", "none"))
        start_response("200 OK", headers)
        return [b"0123456789"]
'''


def test_ranges_of_a_list_body(apache):
    # A list body is one block with a known length, so httpd's byte-range filter serves
    # Range requests from it, unless the application says it serves none.
    srv = apache(ALIAS, files={"app.wsgi": script(RANGE_APP)})
    r = srv.get("/app", headers={"Range": "bytes=2-4"})
    assert (r.status_code, r.content) == (206, b"234")
    r = srv.get("/app/none", headers={"Range": "bytes=2-4"})
    assert (r.status_code, r.content) == (200, b"0123456789")
    assert r.headers["Accept-Ranges"] == "none"


SPEC_APP = '''
    import importlib.machinery

    SEEN = "%s %s %s" % (__spec__.origin == __file__, __spec__.name == __name__,
                         isinstance(__loader__, importlib.machinery.SourceFileLoader))

    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [SEEN.encode()]
'''


def test_script_module_has_spec_and_loader(apache):
    srv = apache(ALIAS, files={"app.wsgi": script(SPEC_APP)})
    assert srv.get("/app").text == "True True True"
