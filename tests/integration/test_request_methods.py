"""Request methods and attribute groups, the table dict API, req.server/req.connection
(spec §10.1-§10.4, §10.6)."""

import base64
import email.utils
import os
import socket
import struct

import pytest

from mphelpers import JSON_PAGE, in_directory

METHODS = '''
    import os
    import time
    from mod_python import apache
    from jsonpage import send_json


    def _raises(action):
        try:
            action()
        except Exception as exc:
            return "%s: %s" % (type(exc).__name__, exc)
        return "no error"


    def redirect_start(req):
        req.notes["from-start"] = "start note"
        req.internal_redirect("/redirect_target?x=1")
        return apache.OK


    def redirect_target(req):
        prev = req.prev
        return send_json(req, {
            "uri": req.uri,
            "args": req.args,
            "prev_uri": prev.uri if prev else None,
            "prev_args": prev.args if prev else None,
            "prev_next_uri": prev.next.uri if prev and prev.next else None,
            "prev_note": prev.notes.get("from-start") if prev else None,
            "main": req.main,
            "next": req.next,
            "status": req.status,
        })


    def plain(req):
        return send_json(req, {"main": req.main, "prev": req.prev, "next": req.next})


    def sendfile(req):
        path = os.path.join(req.document_root(), "data.txt")
        req.content_type = "text/plain"
        whole = req.sendfile(path)
        part = req.sendfile(path, 2, 3)
        rest = req.sendfile(path, 8)
        missing = _raises(lambda: req.sendfile(path + ".missing"))
        negative = _raises(lambda: req.sendfile(path, -1))
        req.write("|%d,%d,%d|%s|%s" % (whole, part, rest, missing.split(":")[0],
                                       negative.split(":")[0]))
        return apache.OK


    def allow(req):
        if req.args == "reset":
            req.allow_methods(["GET", "POST", "DELETE"])
            req.allow_methods(["PUT", "OPTIONS", "MYMETHOD"], 1)
        else:
            req.allow_methods(["GET", "POST"])
            req.allow_methods(("DELETE", "MYMETHOD"))
        req.notes["bad"] = _raises(lambda: req.allow_methods(5))
        req.err_headers_out["X-Bad"] = req.notes["bad"].split(":")[0]
        req.err_headers_out["X-Allowed-Methods"] = ",".join(req.allowed_methods)
        return apache.HTTP_METHOD_NOT_ALLOWED


    def auth(req):
        password = req.get_basic_auth_pw()
        result = {
            "password": password,
            "user": req.user,
            "auth_name": req.auth_name(),
            "auth_type": req.auth_type(),
        }
        if req.user is not None:
            req.user = "changed-user"
            result["user_after_set"] = req.user
        req.ap_auth_type = "Custom"
        result["ap_auth_type"] = req.ap_auth_type
        return send_json(req, result)


    def url(req):
        return send_json(req, {
            "url": req.construct_url("/some/path"),
            "query": req.construct_url("/p?q=1"),
            "document_root": req.document_root(),
            "is_https": req.is_https(),
            "ssl_https": req.ssl_var_lookup("HTTPS"),
            "ssl_protocol": req.ssl_var_lookup("SSL_PROTOCOL"),
        })


    def discard(req):
        status = req.discard_request_body()
        after = req.read()
        return send_json(req, {"status": status, "after": len(after)})


    def cleanup_writer(data):
        with open(data["path"], "w") as fh:
            fh.write("cleanup ran for %s" % data["uri"])


    def cleanups(req):
        path = req.get_options()["state"]
        try:
            with open(path) as fh:
                seen = fh.read()
        except FileNotFoundError:
            seen = None
        req.register_cleanup(cleanup_writer, {"path": path, "uri": req.uri})
        return send_json(req, {
            "seen": seen,
            "not_callable": _raises(lambda: req.register_cleanup("not callable")),
        })


    def cgi_vars(req):
        req.add_common_vars()
        common = dict(req.subprocess_env.items())
        req.add_cgi_vars()
        env = dict(req.subprocess_env.items())
        keys = ("GATEWAY_INTERFACE", "SERVER_PROTOCOL", "REQUEST_METHOD", "QUERY_STRING",
                "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "REMOTE_ADDR", "DOCUMENT_ROOT",
                "HTTP_X_CUSTOM", "SERVER_PORT", "SCRIPT_FILENAME")
        return send_json(req, {
            "common": {k: common.get(k) for k in ("REMOTE_ADDR", "HTTP_X_CUSTOM",
                                                 "DOCUMENT_ROOT", "SERVER_SOFTWARE")},
            "cgi": {k: env.get(k) for k in keys},
            "path_translated": "PATH_TRANSLATED" in env,
        })


    MTIME = 1_000_000_000  # 2001-09-09


    def conditional(req):
        req.update_mtime(MTIME)
        req.update_mtime(MTIME - 1000)  # older: no effect
        req.set_last_modified()
        req.set_etag()
        req.headers_out["X-Mtime"] = repr(req.mtime)
        status = req.meets_conditions()
        if status != apache.OK:
            return status
        req.content_type = "text/plain"
        req.write("full body")
        return apache.OK


    def finfo(req):
        fi = req.finfo
        result = {
            "fname": fi.fname,
            "size": fi.size,
            "filetype": fi.filetype,
            "is_reg": fi.filetype == apache.APR_REG,
            "mtime": fi.mtime,
            "mtime_type": type(fi.mtime).__name__,
            "valid": bool(fi.valid),
            "index": {name: fi[getattr(apache, name)] for name in (
                "FINFO_MODE", "FINFO_INO", "FINFO_DEV", "FINFO_NLINK", "FINFO_UID",
                "FINFO_GID", "FINFO_SIZE", "FINFO_ATIME", "FINFO_MTIME", "FINFO_CTIME",
                "FINFO_FNAME", "FINFO_NAME", "FINFO_FILETYPE")},
            "assign_bad": _raises(lambda: setattr(req, "finfo", "not a finfo")),
        }
        other = apache.stat(os.path.join(req.document_root(), "other.bin"), apache.APR_FINFO_NORM)
        req.finfo = other
        result["after_assign"] = [req.finfo.fname, req.finfo.size]
        return send_json(req, result)


    def finfo_kinds(req):
        return send_json(req, {
            "filetype": req.finfo.filetype,
            "nofile": req.finfo.filetype == apache.APR_NOFILE,
            "dir": req.finfo.filetype == apache.APR_DIR,
        })


    def parsed_uri(req):
        return send_json(req, {
            "tuple": list(req.parsed_uri),
            "len": len(req.parsed_uri),
            "path": req.parsed_uri[apache.URI_PATH],
            "query": req.parsed_uri[apache.URI_QUERY],
        })


    def no_cache(req):
        req.no_cache = 1
        req.content_type = "text/plain"
        req.write("no_cache=%d" % req.no_cache)
        return apache.OK


    def remote_host(req):
        return send_json(req, {
            "default": req.get_remote_host(),
            "name": req.get_remote_host(apache.REMOTE_NAME),
            "nolookup": req.get_remote_host(apache.REMOTE_NOLOOKUP),
            "host": req.get_remote_host(apache.REMOTE_HOST),
            "with_flag": list(req.get_remote_host(apache.REMOTE_NAME, 1)),
            "host_with_flag": req.get_remote_host(apache.REMOTE_HOST, 1),
            "flag_none": req.get_remote_host(apache.REMOTE_NAME, None),
        })


    def exts(req):
        return send_json(req, {"exts": req.get_addhandler_exts()})


    def remap(req):
        target = req.document_root() + ("/data.txt" if req.args == "exists" else "/missing.txt")
        req.filename = target
        req.finfo = apache.stat(target, apache.APR_FINFO_MIN)
        return apache.OK


    def queued(req):
        before = req._bytes_queued
        req.write("")
        req.write("hello", 0)
        after_write = req._bytes_queued
        sent = req.sendfile(req.document_root() + "/other.bin")
        req.write("|%d|%d|%d|%d" % (before, after_write, sent, req._bytes_queued))
        return apache.OK


    def empty_write_first(req):
        req.write("")
        req.write(b"", 1)
        req.status = 404
        req.headers_out["X-After"] = "1"
        req.content_type = "text/x-after"
        req.write("body\\n")
        return apache.OK


    def attributes(req):
        body = req.read()
        return send_json(req, {
            "header_only": req.header_only,
            "proto_num": req.proto_num,
            "request_time": [type(req.request_time).__name__,
                             abs(req.request_time - time.time()) < 60],
            "method_number": req.method_number,
            "is_m_post": req.method_number == apache.M_POST,
            "allowed_type": type(req.allowed).__name__,
            "allowed_xmethods": type(req.allowed_xmethods).__name__,
            "allowed_methods": type(req.allowed_methods).__name__,
            "range": req.range,
            "clength": req.clength,
            "remaining": req.remaining,
            "read_length": req.read_length,
            "read_body": req.read_body,
            "read_chunked": req.read_chunked,
            "expecting_100": req.expecting_100,
            "content_languages": req.content_languages,
            "content_encoding": req.content_encoding,
            "vlist_validator": req.vlist_validator,
            "no_local_copy": req.no_local_copy,
            "canonical_filename": req.canonical_filename,
            "filename": req.filename,
            "used_path_info": req.used_path_info,
            "eos_sent": req.eos_sent,
            "useragent_ip": req.useragent_ip,
            "useragent_addr": list(req.useragent_addr),
            "assbackwards": req.assbackwards,
            "proxyreq": req.proxyreq,
            "chunked": req.chunked,
            "status_line": req.status_line,
            "request_rec": type(req._request_rec).__name__,
            "content_type_set_before": req._content_type_set,
            "body_len": len(body),
        })


    def writable(req):
        req.status_line = "299 Custom Status"
        req.status = 299
        req.content_type = "text/x-custom"
        req.uri = "/rewritten"
        req.args = "a=b"
        req.args = None
        req.path_info = "/pi"
        req.handler = None
        req.handler = "mod_python"
        req.used_path_info = apache.AP_REQ_ACCEPT_PATH_INFO
        req.write("%s|%s|%s|%s|%d" % (req.uri, req.args, req.path_info, req.handler,
                                     req._content_type_set))
        return apache.OK


    def head(req):
        req.content_type = "text/plain"
        req.headers_out["X-Header-Only"] = str(req.header_only)
        req.write("body not sent for HEAD")
        return apache.OK


    def connection(req):
        c = req.connection
        return send_json(req, {
            "client_ip": c.client_ip,
            "client_addr": list(c.client_addr),
            "local_addr": list(c.local_addr),
            "local_ip": c.local_ip,
            "keepalives": c.keepalives,
            "aborted": c.aborted,
            "base_server": c.base_server.server_hostname,
            "same_object": c is req.connection,
        })


    def server(req):
        s = req.server
        result = {
            "server_hostname": s.server_hostname,
            "port": s.port,
            "is_virtual": s.is_virtual,
            "timeout": s.timeout,
            "keep_alive_timeout": s.keep_alive_timeout,
            "keep_alive_max": s.keep_alive_max,
            "keep_alive": s.keep_alive,
            "error_fname": s.error_fname,
            "loglevel": s.loglevel,
            "names": list(s.names),
            "wild_names": list(s.wild_names),
            "limit_req_line": s.limit_req_line,
            "limit_req_fieldsize": s.limit_req_fieldsize,
            "limit_req_fields": s.limit_req_fields,
            "defn_name_type": type(s.defn_name).__name__,
            "defn_line_number": type(s.defn_line_number).__name__,
            "server_admin": s.server_admin,
            "my_generation": type(s.my_generation).__name__,
            "restart_time": type(s.restart_time).__name__,
            "path": s.path,
            "pathlen": s.pathlen,
            "next_type": type(s.next).__name__,
            "server_rec": type(s._server_rec).__name__,
            "options": dict(s.get_options().items()),
            "config_has_debug": s.get_config().get("PythonDebug"),
            "read_only": _raises(lambda: setattr(s, "port", 1)),
        }
        s.log_error("server-object-log-marker", apache.APLOG_WARNING)
        return send_json(req, result)


    def read_catching(req):
        try:
            body = req.read()
        except OSError as exc:
            req.log_error("read-failed-marker %s: %s" % (type(exc).__name__, exc),
                          apache.APLOG_WARNING)
            return apache.OK
        req.write("read %d bytes" % len(body))
        return apache.OK


    def write_forever(req):
        req.content_type = "application/octet-stream"
        block = b"w" * 65536
        for _ in range(100000):  # until the client is gone: the OSError escapes
            req.write(block)
        return apache.OK


    def read_raising(req):
        body = req.read()
        req.write("read %d bytes" % len(body))
        return apache.OK


    def read_retried(req):
        outcomes = []
        for attempt in (lambda: req.read(), lambda: req.read(), lambda: req.readline(),
                        lambda: req.read(3)):
            try:
                outcomes.append(repr(attempt()))
            except OSError as exc:
                outcomes.append("OSError")
        req.write(" ".join(outcomes))
        return apache.OK


    def form_fields(req):
        from mod_python import util
        form = util.FieldStorage(req)
        req.write("fields %s" % sorted(form.keys()))
        return apache.OK


    def table_api(req):
        t = req.headers_in
        out = {}
        out["has_key"] = [t.has_key("x-one"), t.has_key("x-nope")]
        out["iterkeys"] = sorted(k.lower() for k in t.iterkeys() if k.lower().startswith("x-"))
        out["itervalues_has"] = "1" in list(t.itervalues())
        out["iteritems_has"] = ["X-One", "1"] in [[k, v] for k, v in t.iteritems()]
        out["iter"] = sorted(k.lower() for k in t if k.lower().startswith("x-"))
        out["len_matches"] = len(t) == len(t.keys())
        copy = apache.table(t)
        out["copy_eq"] = copy == t
        out["ne"] = apache.table({"a": "1"}) != {"a": "2"}
        local = apache.table([("k1", "v1"), ("k2", "v2")])
        out["popitem"] = [list(local.popitem()), len(local)]
        out["popitem_empty"] = _raises(lambda: apache.table().popitem()).split(":")[0]
        out["str_values"] = apache.table({"n": 5})["n"]
        out["dict"] = dict(apache.table({"A": "1", "b": "2"}))
        return send_json(req, out)


    def threads_writing(req):
        import threading
        def work(n):
            for i in range(200):
                req.write("thread %d line %d\\n" % (n, i))
        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return apache.OK


    def header_injection(req):
        out = {}
        for name, action in (("content_type", lambda: setattr(req, "content_type",
                                                               "text/html\\r\\nX: 1")),
                             ("status_line", lambda: setattr(req, "status_line",
                                                              "200 OK\\r\\nX: 1")),
                             ("allow", lambda: req.allow_methods(["BREW\\r\\nX: 1"])),
                             ("sendfile_dir", lambda: req.sendfile(os.path.dirname(__file__)))):
            out[name] = _raises(action).split(":")[0]
        return send_json(req, out)
'''

FILES = {
    "meth.py": METHODS,
    "jsonpage.py": JSON_PAGE,
    "data.txt": "0123456789\n",
    "other.bin": b"x" * 321,
}


def serve(apache, name, *extra, files=None, **kwargs):
    return apache(
        in_directory(f"PythonHandler meth::{name}", *extra), files={**FILES, **(files or {})},
        **kwargs,
    )


def basic(user: bytes, password: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(user + b":" + password).decode()}


def test_internal_redirect(apache):
    srv = apache(
        in_location("/redirect_start", "PythonHandler meth::redirect_start")
        + in_location("/redirect_target", "PythonHandler meth::redirect_target"),
        files=FILES,
    )
    r = srv.get("/redirect_start")
    assert r.status_code == 200
    assert r.json() == {
        "uri": "/redirect_target",
        "args": "x=1",
        "prev_uri": "/redirect_start",
        "prev_args": None,
        "prev_next_uri": "/redirect_target",
        "prev_note": "start note",
        "main": None,
        "next": None,
        "status": 200,
    }


def in_location(location, *directives):
    lines = [f'<Location "{location}">', "    SetHandler mod_python",
             "    PythonPath \"sys.path+['@DOCROOT@']\""]
    lines += [f"    {d}" for d in directives]
    return "\n".join(lines + ["</Location>"]) + "\n"


def test_main_prev_next_are_none_for_a_plain_request(apache):
    srv = serve(apache, "plain")
    assert srv.get("/x").json() == {"main": None, "prev": None, "next": None}


def test_sendfile(apache):
    srv = serve(apache, "sendfile")
    r = srv.get("/x")
    assert r.status_code == 200
    body, counts, missing, negative = r.text.split("|")
    assert negative == "ValueError"
    assert body == "0123456789\n" + "234" + "89\n"
    assert counts == "11,3,3"
    assert missing in ("OSError", "IOError")


# Extension methods (MYMETHOD) go to req.allowed_methods; httpd's Allow header only
# lists registered methods.
@pytest.mark.parametrize("query,present,absent", [
    ("add", {"GET", "POST", "DELETE", "MYMETHOD"}, set()),
    ("reset", {"PUT", "OPTIONS", "MYMETHOD"}, {"GET", "POST", "DELETE"}),
])
def test_allow_methods(apache, query, present, absent):
    srv = serve(apache, "allow")
    r = srv.get(f"/x?{query}")
    assert r.status_code == 405
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert present <= allow, allow
    assert not absent & allow, allow
    assert r.headers["X-Bad"] == "TypeError"
    assert "MYMETHOD" in r.headers["X-Allowed-Methods"].split(",")


AUTH_CONF = ("AuthType Basic", 'AuthName "method realm"')


def test_get_basic_auth_pw_and_user(apache):
    srv = serve(apache, "auth", *AUTH_CONF)
    info = srv.get("/x", headers=basic(b"alice", b"s3cret:with:colons")).json()
    assert info == {
        "password": "s3cret:with:colons",
        "user": "alice",
        "auth_name": "method realm",
        "auth_type": "Basic",
        "user_after_set": "changed-user",
        "ap_auth_type": "Custom",
    }


def test_basic_auth_credentials_are_latin1(apache):
    srv = serve(apache, "auth", *AUTH_CONF)
    info = srv.get("/x", headers=basic("jürgen".encode("latin-1"),
                                       "pässwörd".encode("latin-1"))).json()
    assert (info["user"], info["password"]) == ("jürgen", "pässwörd")


def test_get_basic_auth_pw_without_credentials(apache):
    srv = serve(apache, "auth", *AUTH_CONF)
    info = srv.get("/x").json()
    assert info["password"] is None and info["user"] is None
    assert info["auth_name"] == "method realm"


def test_auth_name_and_type_without_configuration(apache):
    srv = serve(apache, "auth")
    info = srv.get("/x").json()
    assert info["auth_name"] is None and info["auth_type"] is None


def test_construct_url_document_root_and_ssl(apache):
    srv = serve(apache, "url")
    info = srv.get("/x").json()
    assert info == {
        "url": f"http://127.0.0.1:{srv.port}/some/path",
        "query": f"http://127.0.0.1:{srv.port}/p?q=1",
        "document_root": str(srv.docroot),
        "is_https": 0,
        "ssl_https": None,
        "ssl_protocol": None,
    }


def test_discard_request_body_keeps_the_connection_usable(apache):
    srv = serve(apache, "discard")
    with srv.session() as sess:
        info = sess.post(srv.url("/x"), data=b"z" * 100_000).json()
        assert info == {"status": 0, "after": 0}
        assert sess.get(srv.url("/x")).json() == {"status": 0, "after": 0}


def test_register_cleanup_runs_after_the_request(apache):
    srv = serve(apache, "cleanups", "PythonOption state @ROOT@/run/cleanup.txt")
    with srv.session() as sess:
        first = sess.get(srv.url("/first")).json()
        second = sess.get(srv.url("/second")).json()
    assert first["seen"] is None
    assert first["not_callable"].startswith("ValueError")
    assert second["seen"] == "cleanup ran for /first"


def test_add_common_vars_and_add_cgi_vars(apache):
    srv = serve(apache, "cgi_vars")
    info = srv.get("/data.txt/extra/a%20b?q=1&r=2", headers={"X-Custom": "yes"}).json()
    assert info["common"]["REMOTE_ADDR"] == "127.0.0.1"
    assert info["common"]["HTTP_X_CUSTOM"] == "yes"
    assert info["common"]["DOCUMENT_ROOT"] == str(srv.docroot)
    assert info["common"]["SERVER_SOFTWARE"].startswith("Apache")
    cgi = info["cgi"]
    assert cgi["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert cgi["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert cgi["REQUEST_METHOD"] == "GET"
    assert cgi["QUERY_STRING"] == "q=1&r=2"
    # 3.5 set req.uri (decoded, no query string), unlike mod_cgi and WSGI environs
    assert cgi["REQUEST_URI"] == "/data.txt/extra/a b"
    assert cgi["SCRIPT_NAME"] == "/data.txt"
    assert cgi["PATH_INFO"] == "/extra/a b"
    assert cgi["SERVER_PORT"] == str(srv.port)
    assert info["path_translated"] is False


def test_add_cgi_vars_without_query(apache):
    srv = serve(apache, "cgi_vars")
    cgi = srv.get("/data.txt").json()["cgi"]
    assert cgi["QUERY_STRING"] == ""
    assert cgi["SCRIPT_NAME"] == "/data.txt"
    assert cgi["PATH_INFO"] in (None, "")


def test_conditional_request_helpers(apache):
    srv = serve(apache, "conditional")
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "full body")
    last_modified = r.headers["Last-Modified"]
    assert email.utils.parsedate_to_datetime(last_modified).timestamp() == 1_000_000_000
    assert float(r.headers["X-Mtime"]) == 1_000_000_000
    etag = r.headers["ETag"]
    assert etag
    r2 = srv.get("/x", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    r3 = srv.get("/x", headers={"If-Modified-Since": last_modified})
    assert r3.status_code == 304
    r4 = srv.get("/x", headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert r4.status_code == 200
    r5 = srv.get("/x", headers={"If-None-Match": '"something-else"'})
    assert r5.status_code == 200


def test_finfo_attributes_and_indexes(apache):
    srv = serve(apache, "finfo")
    info = srv.get("/data.txt").json()
    path = srv.docroot / "data.txt"
    st = os.stat(path)
    assert info["fname"] == str(path)
    assert info["size"] == 11
    assert info["is_reg"] is True
    assert info["valid"] is True
    assert info["mtime_type"] == "float"
    assert abs(info["mtime"] - st.st_mtime) < 1
    index = info["index"]
    assert index["FINFO_SIZE"] == 11
    assert index["FINFO_FNAME"] == str(path)
    assert index["FINFO_FILETYPE"] == info["filetype"]  # 3.5 raised IndexError (§20.12)
    assert index["FINFO_INO"] == st.st_ino
    assert index["FINFO_NLINK"] == st.st_nlink
    assert abs(index["FINFO_MTIME"] - st.st_mtime) < 1
    # APR protection bits: 0644 is 0x0644.
    assert index["FINFO_MODE"] == int("%o" % (st.st_mode & 0o777), 16)
    assert info["assign_bad"].startswith("TypeError")
    assert info["after_assign"] == [str(srv.docroot / "other.bin"), 321]


def test_finfo_for_missing_file_and_directory(apache):
    srv = serve(apache, "finfo_kinds", files={"sub/.keep": ""})
    assert srv.get("/no-such-file").json()["nofile"] is True
    assert srv.get("/sub/").json()["dir"] is True


def test_parsed_uri(apache):
    srv = serve(apache, "parsed_uri")
    info = srv.get("/p/a?q=1").json()
    assert info["len"] == 9
    assert (info["path"], info["query"]) == ("/p/a", "q=1")
    scheme, hostinfo, user, password, hostname, port, path, query, fragment = info["tuple"]
    assert (user, password, fragment) == (None, None, None)
    assert (path, query) == ("/p/a", "q=1")


def test_parsed_uri_of_an_absolute_request_uri(apache):
    srv = serve(apache, "parsed_uri")
    resp = srv.raw(
        f"GET http://127.0.0.1:{srv.port}/abs/path?k=v HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{srv.port}\r\nConnection: close\r\n\r\n".encode()
    )
    import json

    info = json.loads(resp.body)
    assert info["tuple"] == [
        "http", f"127.0.0.1:{srv.port}", None, None, "127.0.0.1", srv.port, "/abs/path", "k=v",
        None,
    ]


def test_no_cache_sets_expires(apache):
    srv = serve(apache, "no_cache")
    r = srv.get("/x")
    assert r.text == "no_cache=1"
    assert "Expires" in r.headers


def test_get_remote_host(apache):
    srv = serve(apache, "remote_host")
    info = srv.get("/x").json()
    assert info["default"] == "127.0.0.1"  # HostnameLookups Off: the IP
    assert info["name"] == "127.0.0.1"
    assert info["nolookup"] == "127.0.0.1"
    assert info["host"] is None
    assert info["with_flag"][0] == "127.0.0.1" and info["with_flag"][1]
    assert info["host_with_flag"] is None  # no name: None, not a tuple (3.5)
    assert info["flag_none"] == "127.0.0.1"  # None is "no flag"


def test_fixup_remapping_with_apache_stat(apache):
    # The 3.5 idiom: a missing target is an APR_NOFILE finfo, so httpd answers 404.
    srv = apache(in_directory("PythonFixupHandler meth::remap", handler=None), files=FILES)
    assert srv.get("/other.bin?exists").text == "0123456789\n"
    assert srv.get("/other.bin").status_code == 404


def test_bytes_queued_counts_writes_and_sendfile(apache):
    text = serve(apache, "queued").get("/x").text
    assert text.startswith("hello" + "x" * 321)
    assert text.endswith("|0|5|321|326")


def test_an_empty_write_does_not_start_the_response(apache):
    # 3.5 wrote and flushed only when there was data: status and headers set afterwards count.
    r = serve(apache, "empty_write_first").get("/x")
    assert r.status_code == 404
    assert r.headers["X-After"] == "1"
    assert r.headers["Content-Type"] == "text/x-after"
    assert r.text == "body\n"


def test_get_addhandler_exts(apache):
    srv = apache(
        in_directory("AddHandler mod_python .py .MPY .py", "PythonHandler meth::exts", handler=None),
        files={**FILES, "page.mpy": ""},
    )
    # mod_mime's keys, as 3.5 listed them: callers build the regex "\\." + ext
    assert srv.get("/page.mpy").json()["exts"].split() == ["py", "mpy"]


def test_get_addhandler_exts_is_the_request_sections(apache):
    # Another directory's AddHandler is not this one's (3.5 read the section's mod_mime map).
    srv = apache(
        in_directory("AddHandler mod_python .py", "PythonHandler meth::exts", handler=None)
        + in_directory("AddHandler mod_python .other", path="@DOCROOT@/elsewhere")
        # The handler is inherited (its directory, and so its sys.path entry, stays DOCROOT).
        + in_directory("AddHandler mod_python .sub", handler=None, path="@DOCROOT@/sub"),
        files={**FILES, "page.py": "", "sub/page.sub": "", "elsewhere/x.other": ""},
    )
    assert srv.get("/page.py").json()["exts"].split() == ["py"]
    assert srv.get("/sub/page.sub").json()["exts"].split() == ["py", "sub"]


def test_request_attribute_groups(apache):
    srv = serve(apache, "attributes")
    r = srv.post("/data.txt/pi", data=b"0123456789", headers={"Range": "bytes=0-3"})
    info = r.json()
    assert info["header_only"] == 0
    assert info["proto_num"] == 1001
    assert info["request_time"] == ["float", True]
    assert info["method_number"] == 2 and info["is_m_post"] is True
    assert info["allowed_type"] == "int"
    assert info["allowed_xmethods"] == "tuple" and info["allowed_methods"] == "tuple"
    assert info["range"] in (None, "bytes=0-3")  # set by the byterange filter
    assert info["clength"] == 0
    assert info["remaining"] == 0  # all read
    assert info["read_length"] == 10
    assert info["read_body"] in (1, 2)  # REQUEST_CHUNKED_ERROR (3.5) or _DECHUNK
    assert info["read_chunked"] in (0, False)
    assert info["expecting_100"] in (0, False)
    assert info["content_languages"] in (None, [], ())
    assert info["no_local_copy"] in (0, False)
    assert info["canonical_filename"] == info["filename"] == str(srv.docroot / "data.txt")
    assert isinstance(info["used_path_info"], int)
    assert info["eos_sent"] in (0, False)
    assert info["useragent_ip"] == "127.0.0.1"
    assert info["useragent_addr"][0] == "127.0.0.1"
    assert info["assbackwards"] == 0
    assert info["proxyreq"] == 0
    assert info["request_rec"] == "PyCapsule"
    assert info["content_type_set_before"] == 0
    assert info["body_len"] == 10


def test_writable_attributes(apache):
    srv = serve(apache, "writable")
    r = srv.get("/x?orig")
    assert r.status_code == 299
    assert r.reason == "Custom Status"
    assert r.headers["Content-Type"] == "text/x-custom"
    assert r.text == "/rewritten|None|/pi|mod_python|1"


def test_header_only_for_head(apache):
    srv = serve(apache, "head")
    r = srv.session().head(srv.url("/x"))
    assert r.status_code == 200
    assert r.headers["X-Header-Only"] == "1"
    assert r.content == b""


def test_request_connection_object(apache):
    srv = serve(apache, "connection")
    with srv.session() as sess:
        first = sess.get(srv.url("/x")).json()
        second = sess.get(srv.url("/x")).json()
    assert first["client_ip"] == "127.0.0.1"
    assert first["client_addr"][0] == "127.0.0.1"
    assert first["local_addr"] == ["127.0.0.1", srv.port]
    assert first["local_ip"] == "127.0.0.1"
    assert first["aborted"] in (0, False)
    assert first["base_server"] == "127.0.0.1"
    assert first["same_object"] is True
    assert second["keepalives"] == first["keepalives"] + 1
    assert second["client_addr"] == first["client_addr"]


def test_server_object_attributes(apache):
    srv_conf = "PythonOption server.level yes\nPythonDebug On\n"
    srv = apache(srv_conf + in_directory("PythonHandler meth::server"), files=FILES)
    info = srv.get("/x").json()
    assert info["server_hostname"] == "127.0.0.1"
    assert info["port"] in (0, srv.port)
    assert info["is_virtual"] in (0, False)
    assert info["timeout"] == 30.0
    assert info["keep_alive_timeout"] == 5.0
    assert info["keep_alive_max"] == 0
    assert info["keep_alive"] in (1, True)
    assert info["error_fname"].endswith("error.log")
    assert isinstance(info["loglevel"], int)
    assert info["limit_req_line"] == 8190
    assert info["limit_req_fieldsize"] == 8190
    assert info["limit_req_fields"] == 100
    assert info["defn_line_number"] == "int"
    assert info["my_generation"] == "int"
    assert info["restart_time"] == "float"
    assert info["server_rec"] == "PyCapsule"
    assert info["options"] == {"server.level": "yes"}
    assert info["config_has_debug"] == "1"
    assert info["read_only"].split(":")[0] in ("AttributeError", "TypeError")
    srv.wait_for_log("server-object-log-marker")


def test_table_dict_api_on_a_request_table(apache):
    srv = serve(apache, "table_api")
    info = srv.get("/x", headers={"X-One": "1", "X-Two": "2"}).json()
    assert info == {
        "has_key": [True, False],
        "iterkeys": ["x-one", "x-two"],
        "itervalues_has": True,
        "iteritems_has": True,
        "iter": ["x-one", "x-two"],
        "len_matches": True,
        "copy_eq": True,
        "ne": True,
        "popitem": info["popitem"],
        "popitem_empty": "KeyError",
        "str_values": "5",
        "dict": {"A": "1", "b": "2"},
    }
    pair, remaining = info["popitem"]
    assert pair in (["k1", "v1"], ["k2", "v2"]) and remaining == 1


def send_truncated_body(port: int) -> None:
    """Announce 1 MB, send 10 bytes, hang up."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 1000000\r\n\r\n0123456789")


def test_client_disconnect_mid_body_raises_ioerror(apache):
    srv = serve(apache, "read_catching")
    send_truncated_body(srv.port)
    line = srv.wait_for_log("read-failed-marker")
    assert "read-failed-marker OSError: Client read error (Timeout?)" in line
    r = srv.post("/x", data=b"abc")
    assert (r.status_code, r.text) == (200, "read 3 bytes")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.allow_log("MP0100")
def test_client_gone_during_the_response_is_one_info_line(apache, debug):
    srv = serve(apache, "write_forever", f"PythonDebug {'On' if debug else 'Off'}",
                log_level="info")
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an RST, as a client that goes away
    line = srv.wait_for_log("MP0106" if not debug else "MP0100")
    if debug:  # PythonDebug On: the traceback, as before
        assert "Write failed, client closed connection" in srv.error_log()
    else:
        assert "PythonHandler meth::write_forever: the client closed the connection" in line
        assert "MP0100" not in srv.error_log()
    with srv.get("/x", stream=True) as r:  # the server is fine
        assert r.status_code == 200


@pytest.mark.allow_log("MP0105")
def test_client_disconnect_mid_body_uncaught_is_logged_and_server_survives(apache):
    srv = serve(apache, "read_raising", log_level="warn python:info")  # a client abort: info
    for _ in range(3):
        send_truncated_body(srv.port)
    line = srv.wait_for_log("MP0105")
    assert "PythonHandler meth::read_raising: the request body could not be read" in line
    assert "MP0100" not in srv.error_log()  # the client's fault: no traceback
    r = srv.post("/x", data=b"abcd")
    assert (r.status_code, r.text) == (200, "read 4 bytes")


@pytest.mark.allow_log("MP0105")
@pytest.mark.parametrize("handler", ["read_raising", "form_fields"])
@pytest.mark.parametrize("request_head,body", [
    (b"Content-Length: 100\r\nContent-Type: application/x-www-form-urlencoded", b"a=1&b"),
    (b"Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded",
     b"10\r\na=1"),
    (b"Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded",
     b"zz\r\na=1\r\n0\r\n\r\n"),
], ids=["short-content-length", "cut-chunk", "bad-chunk-size"])
def test_unreadable_body_is_answered_400_not_500(apache, handler, request_head, body):
    srv = serve(apache, handler, log_level="warn python:info")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n" + request_head + b"\r\n\r\n"
                     + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 "), data[:300]
    srv.wait_for_log("MP0105")
    assert "MP0100" not in srv.error_log()


@pytest.mark.allow_log("MP0105")
@pytest.mark.parametrize("handler", ["read_raising", "form_fields"])
def test_declared_length_over_limit_is_413_with_a_log_line(apache, handler):
    # httpd refuses it in ap_setup_client_block without logging anything itself.
    srv = serve(apache, handler, "LimitRequestBody 1000")
    r = srv.post("/x", data=b"a=" + b"x" * 5000,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    line = srv.wait_for_log("MP0105")
    assert "larger than LimitRequestBody (413)" in line and ":warn]" in line
    assert "MP0100" not in srv.error_log()


def test_a_body_read_that_failed_keeps_failing(apache):
    # The bytes that did arrive are not the body: a retry must not pass them off as complete.
    srv = serve(apache, "read_retried", log_level="warn python:info")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                     b"partial")
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.endswith(b"OSError OSError OSError OSError"), data[-300:]


@pytest.mark.allow_log("MP0100")
def test_unreadable_body_with_python_debug_shows_the_traceback_page(apache):
    # 3.5's own test_req_read expects the OSError on the debug page.
    srv = apache(in_directory("PythonHandler meth::read_raising", "PythonDebug On"),
                 files=FILES)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n123")
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 500 "), data[:300]
    assert b"OSError: Client read error (Timeout?)" in data


def test_threads_writing_at_once_take_turns(apache):
    # httpd's request I/O is not thread-safe: this crashed the child before.
    srv = serve(apache, "threads_writing")
    for _ in range(3):
        r = srv.get("/x")
        lines = r.text.splitlines()
        assert r.status_code == 200 and len(lines) == 1200
        assert sorted(lines) == sorted(f"thread {n} line {i}" for n in range(6) for i in range(200))


def test_header_values_with_line_breaks_raise(apache):
    out = serve(apache, "header_injection").get("/x").json()
    assert out == {"content_type": "ValueError", "status_line": "ValueError",
                   "allow": "ValueError", "sendfile_dir": "OSError"}
