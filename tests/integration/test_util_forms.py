"""mod_python.util.FieldStorage and redirect inside Apache (spec §11, §20.9, §20.10)."""

import hashlib
import os

import pytest

from mphelpers import JSON_PAGE, in_directory

FORMS = '''
    import hashlib
    import io
    import os
    import resource

    from mod_python import apache, util
    from jsonpage import send_json


    def describe(field):
        out = {"class": type(field).__name__, "filename": field.filename}
        if isinstance(field, util.Field):
            file = field.file
            file.seek(0, os.SEEK_END)
            size = file.tell()
            out.update(
                size=size,
                sha256=hashlib.sha256(field.value).hexdigest(),
                file_class=type(file).__name__,
                is_bytesio=isinstance(file, io.BytesIO),
                on_disk=hasattr(file, "fileno") and os.fstat(file.fileno()).st_size == size,
                unlinked=os.fstat(file.fileno()).st_nlink == 0,
                type=field.type,
                header_type=field.headers.get("content-type"),
                disposition=[field.disposition,
                             {k.decode(): v for k, v in field.disposition_options.items()}],
            )
        else:
            out.update(value=bytes(field).decode("latin-1"), type=getattr(field, "type", None))
        return out


    def fields(req):
        fs = util.FieldStorage(req, keep_blank_values=int(req.headers_in.get("X-Keep", "0")))
        return send_json(req, {
            "names": [[type(name).__name__, name] for name in fs.keys()],
            "items": [[name, describe(field)] for name, field in fs.items()],
        })


    def memory(req):
        # tracemalloc is process-wide and not usable from a sub-interpreter; the peak RSS
        # of the child process is the (coarse) measure here.
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fs = util.FieldStorage(req)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        upload = fs["file"]
        return send_json(req, {
            "maxrss_growth_kib": after - before,
            "upload": describe(upload),
        })


    def go(req):
        util.redirect(req, req.args or "/target", permanent=req.headers_in.get("X-Perm") == "1")
'''

FILES = {"forms.py": FORMS, "jsonpage.py": JSON_PAGE}
MULTIPART_B = "multipart/form-data; boundary=b"


def serve(apache, func="fields", *directives):
    return apache(in_directory(f"PythonHandler forms::{func}", *directives), files=FILES)


def items(response):
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_query_string_fields(apache):
    srv = serve(apache)
    info = srv.get("/f?a=1&b=2;a=%C3%A9&blank=&c").json()
    assert info["names"] == [["str", "a"], ["str", "b"]]
    assert [[n, f["value"]] for n, f in info["items"]] == \
        [["a", "1"], ["b", "2"], ["a", "Ã©"]]
    keep = srv.get("/f?a=&c", headers={"X-Keep": "1"}).json()
    assert [[n, f["value"]] for n, f in keep["items"]] == [["a", ""], ["c", ""]]


def test_urlencoded_post_names_are_str(apache):
    srv = serve(apache)
    info = srv.post("/f?q=0", data={"name": "value", "é": "ü"}).json()
    assert info["names"] == [["str", "q"], ["str", "name"], ["str", "é"]]
    assert info["items"][2][1]["value"] == "ü".encode().decode("latin-1")


def test_non_utf8_names_never_fail(apache):
    srv = serve(apache)
    info = srv.post("/f?%FF=1", data=b"%FE=2",
                    headers={"Content-Type": "application/x-www-form-urlencoded"}).json()
    assert info["names"] == [["str", "\udcff"], ["str", "\udcfe"]]


def test_multipart_upload_goes_to_a_temporary_file(apache):
    srv = serve(apache)
    data = os.urandom(5 * 1024 * 1024)
    response = srv.post("/f", data={"title": "hello", "note": "é"},
                        files={"upload": ("report.bin", data, "application/x-test")})
    fields = dict((name, f) for name, f in items(response))
    assert fields["title"] == {"class": "StringField", "filename": None, "value": "hello",
                               "type": "text/plain"}
    assert fields["note"]["value"] == "é".encode().decode("latin-1")
    upload = fields["upload"]
    assert upload["class"] == "Field"
    assert upload["filename"] == "report.bin"
    assert upload["type"] == "application/x-test"
    assert upload["header_type"] == "application/x-test"  # part headers in an mp_table
    assert upload["disposition"] == ["form-data", {"name": "upload", "filename": "report.bin"}]
    assert upload["size"] == len(data)
    assert upload["sha256"] == hashlib.sha256(data).hexdigest()
    assert upload["is_bytesio"] is False
    assert upload["on_disk"] is True and upload["unlinked"] is True


@pytest.mark.skipif(bool(os.environ.get("MP_TEST_PRELOAD")),
                    reason="resident memory is not meaningful under AddressSanitizer")
def test_upload_memory_stays_bounded(apache):
    srv = serve(apache, "memory")
    size = 32 * 1024 * 1024
    data = (b"0123456789abcdef" * 4096 + b"\r\n") * (size // 65538 + 1)
    data = data[:size]
    response = srv.post("/m", files={"file": ("big.bin", data)})
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["upload"]["size"] == size
    assert info["upload"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["upload"]["on_disk"] is True
    # The parser holds a few read blocks, never the upload (peak RSS of the child grew
    # by far less than the 32 MiB upload).
    assert info["maxrss_growth_kib"] < 12 * 1024, info


def test_chunked_multipart_upload(apache):
    srv = serve(apache)
    boundary = "chunky-boundary"
    payload = os.urandom(200_000)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"c.bin\"\r\n"
            f"\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    pieces = [body[i:i + 7777] for i in range(0, len(body), 7777)]
    response = srv.post("/f", data=iter(pieces),
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    fields = dict((name, f) for name, f in items(response))
    assert fields["a"]["value"] == "1"
    assert fields["f"]["sha256"] == hashlib.sha256(payload).hexdigest()


def test_traversal_filename_is_only_a_name(apache):
    srv = serve(apache)
    response = srv.post("/f", files={"f": ("../../x", b"payload")})
    (name, field), = items(response)
    assert field["filename"] == "../../x"
    assert field["sha256"] == hashlib.sha256(b"payload").hexdigest()
    for base in (srv.docroot, srv.root, srv.root.parent):
        assert not (base / "x").exists()


def test_missing_boundary_is_400(apache):
    srv = serve(apache)
    response = srv.post("/f", data=b"--x\r\n\r\n",
                        headers={"Content-Type": "multipart/form-data"})
    assert response.status_code == 400


def test_unsupported_type_is_501(apache):
    srv = serve(apache)
    response = srv.post("/f", data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 501


def test_post_without_length_is_411(apache):
    srv = serve(apache)
    response = srv.raw(b"POST /f HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                       b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
    assert response.status == 411


def test_missing_closing_boundary_ends_the_body(apache):
    srv = serve(apache)
    body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n"
    response = srv.post("/f", data=body, headers={"Content-Type": MULTIPART_B})
    assert [[n, f["value"]] for n, f in items(response)] == [["a", "value"]]


def test_part_limit_option_gives_413(apache):
    srv = serve(apache, "fields", "PythonOption mod_python.util.max_fields 10")
    ok = srv.post("/f", files={f"p{i}": (None, str(i)) for i in range(10)})
    assert len(items(ok)) == 10
    too_many = srv.post("/f", files={f"p{i}": (None, str(i)) for i in range(11)})
    assert too_many.status_code == 413


def test_huge_part_header_line_gives_413(apache):
    srv = serve(apache)
    body = (b"--b\r\nX-Big: " + b"h" * (1 << 20) + b"\r\n"
            b"Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n")
    response = srv.post("/f", data=body, headers={"Content-Type": MULTIPART_B})
    assert response.status_code == 413


def test_redirect(apache):
    srv = serve(apache, "go")
    response = srv.get("/r?/elsewhere%3Fa=1", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/elsewhere%3Fa=1"
    assert "The document has moved" in response.text
    response = srv.get("/r", headers={"X-Perm": "1"}, allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"] == "/target"


def test_multipart_non_ascii_names_and_headers(apache):
    srv = serve(apache)
    body = ("--b\r\nContent-Disposition: form-data; name=\"é\"\r\n\r\nv\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"été.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\nfile\r\n--b--\r\n").encode()
    info = srv.post("/f", data=body, headers={"Content-Type": MULTIPART_B}).json()
    assert info["names"] == [["str", "é"], ["str", "f"]]
    fields = dict((name, f) for name, f in info["items"])
    assert fields["f"]["filename"] == "été.txt"
    assert fields["f"]["disposition"][1]["filename"] == "été.txt".encode().decode("latin-1")
    body = b"--b\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nraw\r\n--b--\r\n"
    info = srv.post("/f", data=body, headers={"Content-Type": MULTIPART_B}).json()
    assert info["names"] == [["str", "\udcff"]]
