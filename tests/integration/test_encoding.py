"""Client bytes never make a handler fail: surrogateescape in, Latin-1/UTF-8 out (spec §1)."""

import json

from mphelpers import JSON_PAGE, in_directory

ENC = '''
    from mod_python import apache
    from jsonpage import send_json


    def info(req):
        headers = req.headers_in
        return send_json(req, {
            "args": req.args,
            "uri": req.uri,
            "unparsed_uri": req.unparsed_uri,
            "the_request": req.the_request,
            "path_info": req.path_info,
            "filename": req.filename,
            "latin": headers.get("X-Latin"),
            "items": [[k, v] for k, v in headers.items() if k.lower().startswith("x-")],
            "keys_are_str": all(isinstance(k, str) for k in headers.keys()),
        })


    def echo_header(req):
        req.headers_out["X-Echo"] = req.headers_in["X-Latin"]
        req.headers_out["X-Latin1-Str"] = "caf\\u00e9"
        req.headers_out["X-Bytes"] = b"raw\\xfe"
        try:
            req.headers_out["X-Wide"] = "\\u20ac"
            wide = "accepted"
        except TypeError as exc:
            wide = "TypeError: %s" % exc
        req.content_type = "text/plain"
        req.write(wide)
        return apache.OK


    def write_surrogates(req):
        req.content_type = "application/octet-stream"
        req.write("\\udcff\\udcfe|\\u00e9|")
        req.write(req.args or "")
        return apache.OK


    def paths(req):
        # Non-ASCII str paths and URIs mean the UTF-8 bytes, as Python's file functions do
        # (and as 3.5 took them); values read from Apache round-trip.
        import os
        from mod_python import apache as mp_apache
        here = os.path.dirname(req.filename)
        if req.args == "sendfile":
            req.content_type = "text/plain"
            req.sendfile(os.path.join(here, "caf\u00e9 \u20ac.txt"))
            return apache.OK
        if req.args == "redirect":
            req.internal_redirect("/enc/\u00e9t\u00e9 \u20ac?landed")
            return apache.OK
        if req.args == "landed":
            req.content_type = "text/plain"
            req.write(req.uri)
            return apache.OK
        named = os.path.join(here, "caf\u00e9 \u20ac.txt")
        req.filename = named  # the setter and the getter agree
        round_trip = req.filename == named
        return send_json(req, {
            "url": req.construct_url("/caf\u00e9/\u20ac"),
            "size": mp_apache.stat(os.path.join(here, "caf\u00e9 \u20ac.txt"),
                                   mp_apache.APR_FINFO_SIZE).size,
            "round_trip": round_trip,
        })
'''

FILES = {"enc.py": ENC, "jsonpage.py": JSON_PAGE, "caf\u00e9 \u20ac.txt": "utf-8 name\n"}


def serve(apache, name):
    return apache(in_directory(f"PythonHandler enc::{name}"), files=FILES)


def raw_get(srv, target: bytes, *headers: bytes):
    request = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for header in headers:
        request += header + b"\r\n"
    return srv.raw(request + b"\r\n")


def test_percent_encoded_ff_in_query(apache):
    srv = serve(apache, "info")
    r = srv.get("/enc?x=%FF")
    assert r.status_code == 200
    assert r.json()["args"] == "x=%FF"


def test_percent_encoded_utf8_in_path_is_decoded(apache):
    srv = serve(apache, "info")
    r = srv.get("/enc/caf%C3%A9")
    assert r.status_code == 200
    assert r.json()["uri"] == "/enc/café"


def test_raw_non_utf8_byte_in_query(apache):
    srv = serve(apache, "info")
    resp = raw_get(srv, b"/enc?x=\xff&y=caf\xc3\xa9")
    assert resp.status == 200, resp.raw
    info = json.loads(resp.body)
    assert info["args"] == "x=\udcff&y=café"
    assert info["unparsed_uri"] == "/enc?x=\udcff&y=café"
    assert info["the_request"] == "GET /enc?x=\udcff&y=café HTTP/1.1"


def test_raw_non_utf8_bytes_in_path(apache):
    srv = serve(apache, "info")
    resp = raw_get(srv, b"/enc/\xff\xfe")
    assert resp.status == 200, resp.raw
    info = json.loads(resp.body)
    assert info["uri"] == "/enc/\udcff\udcfe"
    assert info["filename"].startswith(str(srv.docroot))
    assert (info["filename"] + (info["path_info"] or "")).endswith("/enc/\udcff\udcfe")


def test_latin1_header_value(apache):
    srv = serve(apache, "info")
    resp = raw_get(srv, b"/enc", b"X-Latin: caf\xe9", b"X-Other: plain")
    assert resp.status == 200, resp.raw
    info = json.loads(resp.body)
    assert info["latin"] == "caf\udce9"
    assert sorted(info["items"]) == [["X-Latin", "caf\udce9"], ["X-Other", "plain"]]
    assert info["keys_are_str"] is True


def test_header_values_round_trip_and_encode_latin1(apache):
    srv = serve(apache, "echo_header")
    resp = raw_get(srv, b"/enc", b"X-Latin: caf\xe9")
    assert resp.status == 200, resp.raw
    assert resp.header("X-Echo") == b"caf\xe9"
    assert resp.header("X-Latin1-Str") == b"caf\xe9"
    assert resp.header("X-Bytes") == b"raw\xfe"
    assert resp.header("X-Wide") is None
    assert resp.body.startswith(b"TypeError")
    assert b"not an ISO-8859-1 string" in resp.body


def test_write_restores_surrogate_escapes_and_encodes_utf8(apache):
    srv = serve(apache, "write_surrogates")
    resp = raw_get(srv, b"/enc?\xfa")
    assert resp.status == 200, resp.raw
    assert resp.body == b"\xff\xfe|\xc3\xa9|\xfa"


def test_str_paths_and_uris_are_utf8(apache):
    srv = serve(apache, "paths")
    info = srv.get("/enc/caf%C3%A9").json()
    assert info["url"] == f"http://127.0.0.1:{srv.port}/caf\u00e9/\u20ac"
    assert info["size"] == len("utf-8 name\n")
    assert info["round_trip"] is True
    assert srv.get("/enc?sendfile").text == "utf-8 name\n"
    assert srv.get("/enc?redirect").content.decode() == "/enc/\u00e9t\u00e9 \u20ac"
