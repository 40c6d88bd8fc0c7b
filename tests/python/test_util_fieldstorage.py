"""util.FieldStorage with a fake request: query, urlencoded, multipart, limits (§11.1)."""

import io
import os
import random
import subprocess
import sys
import tracemalloc

import pytest

from mod_python import apache, util

from .fakes import (FakeRequest, PYTHON_DIR, multipart_body, multipart_request,
                    streamed_content, streamed_upload)

BOUNDARY = "XyZzy-boundary"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"


def status_of(excinfo):
    return excinfo.value.args[0]


def parse(req, **kwargs):
    return util.FieldStorage(req, **kwargs)


def raw_part(name: bytes, value: bytes, extra: bytes = b"", boundary: bytes = BOUNDARY.encode()):
    return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
            + extra + b"\r\n\r\n" + value + b"\r\n")


def close(boundary: bytes = BOUNDARY.encode()):
    return b"--" + boundary + b"--\r\n"


# --------------------------------------------------------------------------- import


def test_import_does_not_need_apache():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import mod_python.util, mod_python.Cookie;"
        "assert '_apache' not in sys.modules, 'util/Cookie imported _apache';"
        "assert 'mod_python.apache' not in sys.modules;"
        "print(mod_python.util.parse_qsl('a=1'))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(PYTHON_DIR)], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[('a', '1')]"


# --------------------------------------------------------------------------- query / urlencoded


def test_query_string_fields():
    fs = parse(FakeRequest(args="a=1&b=2;a=3&c&d="))
    assert fs.keys() == ["a", "b"]
    assert fs["a"] == [b"1", b"3"]
    assert fs["b"] == b"2"
    assert all(isinstance(f, util.StringField) for f in fs.list)
    assert all(type(name) is str for name in fs.keys())


def test_query_keep_blank_values():
    fs = parse(FakeRequest(args="a=1&c&d="), keep_blank_values=1)
    assert fs.items() == [("a", b"1"), ("c", b""), ("d", b"")]


def test_query_non_utf8_name_and_value():
    # req.args is the UTF-8/surrogateescape decoding of the raw query (spec §1).
    args = b"%ff%fe=%ff&\xe9t\xe9=\xc3\xa9".decode("utf-8", "surrogateescape")
    fs = parse(FakeRequest(args=args))
    assert fs.keys() == ["\udcff\udcfe", "\udce9t\udce9"]
    assert fs["\udcff\udcfe"] == b"\xff"
    assert fs["\udce9t\udce9"] == b"\xc3\xa9"
    assert fs[b"\xff\xfe"] == b"\xff"  # bytes names are decoded the same way


def test_strict_parsing_bad_query_is_400():
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest(args="a=1&b"), strict_parsing=1)
    assert status_of(exc) == 400


def test_urlencoded_body_names_are_str():
    req = FakeRequest("POST", args="q=1", body=b"a=%41&b=x+y&%C3%A9=%ff",
                      content_type="application/x-www-form-urlencoded; charset=utf-8")
    fs = parse(req)
    assert fs.items() == [("q", b"1"), ("a", b"A"), ("b", b"x y"), ("é", b"\xff")]
    assert all(type(name) is str for name, _ in fs.items())


def test_no_content_type_is_urlencoded():
    fs = parse(FakeRequest("POST", body=b"a=1"))
    assert fs["a"] == b"1"


def test_get_body_is_not_read():
    req = FakeRequest("GET", body=b"a=1", content_length=3)
    fs = parse(req)
    assert len(fs) == 0
    assert req.bytes_read == 0


def test_post_without_length_is_411():
    req = FakeRequest("POST", body=[b"a=1"])  # iterable body: no Content-Length
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(req)
    assert status_of(exc) == 411


def test_unsupported_content_type_is_501():
    req = FakeRequest("POST", body=b"{}", content_type="application/json")
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(req)
    assert status_of(exc) == 501


def test_chunked_urlencoded_body():
    pieces = [b"a=1", b"&b", b"=2&c=", b"%4", b"1"]
    fs = parse(FakeRequest("POST", body=pieces, chunked=True))
    assert fs.items() == [("a", b"1"), ("b", b"2"), ("c", b"A")]


def test_urlencoded_too_large_content_length_is_413_without_reading():
    req = FakeRequest("POST", body=b"a=1", content_length=10 ** 12)
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(req)
    assert status_of(exc) == 413
    assert req.bytes_read == 0


def test_urlencoded_chunked_over_limit_is_413():
    req = FakeRequest("POST", body=(b"a=" + b"x" * 1000 for _ in range(100)), chunked=True,
                      options={"mod_python.util.max_field_size": "50000"})
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(req)
    assert status_of(exc) == 413
    assert req.bytes_read <= 50000 + util.readBlockSize


def test_urlencoded_too_many_fields_is_413():
    body = "&".join(f"k{i}=v" for i in range(10001)).encode()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body))
    assert status_of(exc) == 413
    body = "&".join(f"k{i}=v" for i in range(10000)).encode()
    assert len(parse(FakeRequest("POST", body=body)).list) == 10000


def test_query_and_body_count_together():
    options = {"mod_python.util.max_fields": "3"}
    assert len(parse(FakeRequest("POST", args="a=1", body=b"b=2&c=3", options=options)).list) == 3
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", args="a=1&x=0", body=b"b=2&c=3", options=options))
    assert status_of(exc) == 413


def test_invalid_option_value_is_a_configuration_error():
    with pytest.raises(ValueError, match="max_fields"):
        parse(FakeRequest(args="a=1", options={"mod_python.util.max_fields": "many"}))


def test_zero_disables_a_limit():
    options = {"mod_python.util.max_fields": "0"}
    body = "&".join(f"k{i}=v" for i in range(12000)).encode()
    assert len(parse(FakeRequest("POST", body=body, options=options)).list) == 12000


# --------------------------------------------------------------------------- multipart basics


def test_multipart_fields_and_files():
    parts = [("text", "hello"), ("multi", "line1\r\nline2\r\n"), ("empty", ""),
             ("file", b"\x00\x01binary\r\n\xff", "a.bin", "application/octet-stream"),
             ("text", "again"), ("nofile", b"", "")]
    fs = parse(multipart_request(parts))
    assert fs.keys() == ["text", "multi", "empty", "file", "nofile"]
    assert fs["text"] == [b"hello", b"again"]
    assert fs["multi"] == b"line1\r\nline2\r\n"
    assert fs["empty"] == b""
    upload = fs["file"]
    assert isinstance(upload, util.Field)
    assert upload.filename == "a.bin"
    assert upload.value == b"\x00\x01binary\r\n\xff"
    assert upload.type == "application/octet-stream"
    assert upload.disposition == "form-data"
    assert upload.disposition_options == {b"name": "file", b"filename": "a.bin"}
    assert upload.headers["content-type"] == "application/octet-stream"
    assert hasattr(upload.file, "fileno")  # a real temporary file
    # An empty file input (filename="") is a plain empty field, as in 3.5.
    assert fs["nofile"].filename is None and fs["nofile"] == b"" and not fs["nofile"]


def test_multipart_string_field_attributes():
    fs = parse(multipart_request([("a", "1", None, "text/x-test; charset=latin-1")]))
    field = fs["a"]
    assert isinstance(field, util.StringField)
    assert field.name == "a"
    assert field.type == "text/x-test"
    assert field.type_options == {b"charset": "latin-1"}
    assert field.disposition == "form-data"
    assert field.disposition_options == {b"name": "a"}
    assert field.headers["Content-Disposition"] == 'form-data; name="a"'
    assert field.filename is None
    assert field.file.read() == b"1"


def test_multipart_type_without_slash_and_default_type():
    fs = parse(multipart_request([("a", "1", None, "bogus"), ("b", "2")]))
    assert fs["a"].type == "application/octet-stream"
    assert fs["b"].type == "text/plain"


def test_quoted_boundary_and_case_insensitive_type():
    body = multipart_body([("a", "1")], boundary="b b")
    fs = parse(FakeRequest("POST", body=body,
                           content_type='Multipart/Form-Data; boundary="b b"'))
    assert fs["a"] == b"1"


@pytest.mark.parametrize("ctype", ["multipart/form-data", "multipart/form-data; boundary=",
                                   'multipart/form-data; boundary=""', "multipart/mixed; b=x"])
def test_missing_boundary_is_400(ctype):
    req = FakeRequest("POST", body=multipart_body([("a", "1")]), content_type=ctype)
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(req)
    assert status_of(exc) == 400


def test_preamble_and_epilogue_are_ignored():
    body = (b"This is a preamble\r\n--XyZzy-boundary-not\r\n" + raw_part(b"a", b"1") + close()
            + b"epilogue\r\n" + raw_part(b"b", b"2"))
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs.items() == [("a", b"1")]


def test_missing_closing_boundary_ends_the_body():
    body = raw_part(b"a", b"1") + raw_part(b"b", b"two")
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs.items() == [("a", b"1"), ("b", b"two")]
    body = raw_part(b"a", b"1") + b"--XyZzy-boundary\r\nContent-Disposition: form-data; na"
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs.items() == [("a", b"1")]  # a part cut inside its headers is dropped
    body = raw_part(b"a", b"1") + b"--XyZzy-boundary\r\nContent-Disposition: form-data; " \
        b'name="b"\r\n\r\nno newline at the end'
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs["b"] == b"no newline at the end"


def test_body_without_any_boundary_gives_no_fields():
    fs = parse(FakeRequest("POST", body=b"just some text\r\n", content_type=CTYPE))
    assert len(fs) == 0


def test_closing_boundary_without_newline_and_with_padding():
    body = raw_part(b"a", b"1") + b"--XyZzy-boundary--"
    assert parse(FakeRequest("POST", body=body, content_type=CTYPE)).items() == [("a", b"1")]
    body = (b"--XyZzy-boundary \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
            b"--XyZzy-boundary--  \r\n")
    assert parse(FakeRequest("POST", body=body, content_type=CTYPE)).items() == [("a", b"1")]


def test_lines_that_only_look_like_boundaries_are_data():
    value = (b"--XyZzy-boundaryX\r\n--XyZzy-boundary-\r\n x--XyZzy-boundary\r\n"
             b"--XyZzy-boundary--tail\r\n\r\n\n\r")
    fs = parse(FakeRequest("POST", body=raw_part(b"a", value) + close(), content_type=CTYPE))
    assert fs["a"] == value


def test_bare_lf_line_endings():
    body = (b"--XyZzy-boundary\nContent-Disposition: form-data; name=\"a\"\n\nv1\nv2\n"
            b"--XyZzy-boundary\nContent-Disposition: form-data; name=\"b\"\n\n\n"
            b"--XyZzy-boundary--\n")
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs.items() == [("a", b"v1\nv2"), ("b", b"")]


def test_header_continuation_lines():
    body = (b"--XyZzy-boundary\r\nContent-Disposition: form-data;\r\n\tname=\"a\";\r\n"
            b"  filename=\"f.txt\"\r\nX-Other: 1\r\nNot a header line\r\n\r\ndata\r\n" + close())
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    field = fs["a"]
    assert field.filename == "f.txt"
    assert field.headers["x-other"] == "1"
    assert field.value == b"data"


def test_part_without_name_gets_empty_name():
    body = b"--XyZzy-boundary\r\nContent-Type: text/plain\r\n\r\nanon\r\n" + close()
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs.items() == [("", b"anon")]


def test_part_headers_running_into_a_boundary_are_400():
    body = (b"--XyZzy-boundary\r\nContent-Disposition: form-data; name=\"a\"\r\n"
            + raw_part(b"b", b"2") + close())
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert status_of(exc) == 400


def test_nul_in_part_header_is_400():
    body = raw_part(b"a\x00b", b"1") + close()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert status_of(exc) == 400


# --------------------------------------------------------------------------- names


def test_multipart_names_are_utf8_str():
    body = (raw_part("é€".encode(), b"1") + raw_part(b"\xe9", b"2")
            + raw_part(b"f", b"x", b'; filename="\xc3\xa9t\xc3\xa9.txt"')
            + raw_part(b"g", b"y", b'; filename="\xff.txt"') + close())
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs.keys() == ["é€", "\udce9", "f", "g"]
    assert fs["f"].filename == "été.txt"
    assert fs["g"].filename == "\udcff.txt"
    assert fs["é€"].headers["Content-Disposition"] == 'form-data; name="é€"'


def test_dangerous_filename_is_only_a_name(tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    seen = []
    parts = [("f", b"payload", "../../x"), ("g", b"p2", "/etc/passwd")]
    fs = parse(multipart_request(parts))
    assert fs["f"].filename == "../../x"
    assert fs["g"].filename == "/etc/passwd"
    assert fs["f"].value == b"payload"
    assert not (tmp_path / "x").exists()
    assert not os.path.exists(os.path.join(tempfile_dir(), "..", "..", "x"))
    # An unnamed temporary file: no path derived from the client's name.
    name = getattr(fs["f"].file, "name", None)
    assert not isinstance(name, str) or "x" not in os.path.basename(name)
    fs = parse(multipart_request(parts), file_callback=lambda n: seen.append(n) or io.BytesIO())
    assert seen == ["../../x", "/etc/passwd"]


def tempfile_dir():
    import tempfile
    return tempfile.gettempdir()


# --------------------------------------------------------------------------- callbacks


def test_file_and_field_callbacks():
    files, fields = [], []

    def file_callback(filename):
        files.append(filename)
        return io.BytesIO()

    def field_callback():
        buf = io.BytesIO()
        fields.append(buf)
        return buf

    parts = [("a", "1"), ("f", b"content", "up.txt"), ("b", "2")]
    fs = parse(multipart_request(parts), file_callback=file_callback,
               field_callback=field_callback)
    assert files == ["up.txt"]
    assert len(fields) == 2
    assert fs["f"].file.getvalue() == b"content"
    assert fs["a"] == b"1" and fs["a"].file is fields[0]
    assert fs["b"] == b"2"


# --------------------------------------------------------------------------- limits


def many_parts(count: int) -> bytes:
    out = bytearray()
    for i in range(count):
        out += raw_part(b"p", str(i).encode())
    return bytes(out + close())


def test_ten_thousand_parts_are_accepted():
    fs = parse(FakeRequest("POST", body=many_parts(10000), content_type=CTYPE))
    assert len(fs.getlist("p")) == 10000
    assert fs.getlist("p")[-1] == b"9999"


def test_too_many_parts_is_413():
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=many_parts(10001), content_type=CTYPE))
    assert status_of(exc) == 413


def test_max_fields_option():
    options = {"mod_python.util.max_fields": "5"}
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=many_parts(6), content_type=CTYPE, options=options))
    assert status_of(exc) == 413
    assert len(parse(FakeRequest("POST", body=many_parts(5), content_type=CTYPE,
                                 options=options)).list) == 5


def file_parts(count: int) -> bytes:
    return b"".join(raw_part(b"p%d" % i, b"v", b'; filename="f%d"' % i)
                    for i in range(count)) + close()


def test_file_parts_are_limited_to_100_by_default():
    # Each file part is an open temporary file: thousands of tiny ones would exhaust the
    # process's descriptors for every other request.
    assert len(parse(FakeRequest("POST", body=file_parts(100), content_type=CTYPE)).list) == 100
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=file_parts(101), content_type=CTYPE))
    assert status_of(exc) == 413


def test_max_files_option_and_log_line():
    from . import fakes
    options = {"mod_python.util.max_files": "2"}
    fakes.LOGGED.clear()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=file_parts(3), content_type=CTYPE, options=options))
    assert status_of(exc) == 413
    assert "mod_python.util.max_files" in fakes.LOGGED[-1][0]
    options = {"mod_python.util.max_files": "0"}  # 0: no limit
    assert len(parse(FakeRequest("POST", body=file_parts(150), content_type=CTYPE,
                                 options=options)).list) == 150


def test_non_file_fields_are_limited_in_total():
    options = {"mod_python.util.max_memory_size": "2500"}
    body = b"".join(raw_part(b"a%d" % i, b"x" * 1000) for i in range(2)) + close()
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE, options=options))
    assert [len(f) for f in fs.list] == [1000, 1000]
    body = b"".join(raw_part(b"a%d" % i, b"x" * 1000) for i in range(3)) + close()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body, content_type=CTYPE, options=options))
    assert status_of(exc) == 413


def test_non_file_field_value_is_held_once():
    # The value is the StringField itself; its .file is made from it only when asked for.
    body = raw_part(b"a", b"y" * 100000) + close()
    field = parse(FakeRequest("POST", body=body, content_type=CTYPE))["a"]
    assert "_file" not in field.__dict__
    assert field.file.read() == b"y" * 100000


def test_one_mib_header_line_is_413_without_buffering_it():
    header = b"X-Big: " + b"a" * (1 << 20) + b"\r\n"
    body = (b"--XyZzy-boundary\r\n" + header
            + b"Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" + close())
    req = FakeRequest("POST", body=body, content_type=CTYPE)
    tracemalloc.start()
    try:
        with pytest.raises(apache.SERVER_RETURN) as exc:
            parse(req)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status_of(exc) == 413
    assert peak < 512 * 1024
    assert req.bytes_read < 3 * util.readBlockSize
    assert req.max_readline_size <= util.readBlockSize


def test_header_line_without_newline_until_eof():
    body = b"--XyZzy-boundary\r\nX: " + b"b" * (200 * 1024)
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert status_of(exc) == 413


def test_long_header_line_within_configured_limit():
    options = {"mod_python.util.max_part_header_size": str(300 * 1024)}
    long_value = b"v" * (100 * 1024)  # longer than one read block
    body = raw_part(b"a", b"1", b"; x=\"" + long_value + b"\"") + close()
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE, options=options))
    assert fs["a"] == b"1"
    assert fs["a"].disposition_options[b"x"] == long_value.decode()


def test_part_header_size_option():
    options = {"mod_python.util.max_part_header_size": "100"}
    body = raw_part(b"a", b"1", b"; pad=\"" + b"p" * 100 + b"\"") + close()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body, content_type=CTYPE, options=options))
    assert status_of(exc) == 413


def test_field_size_limit_applies_to_non_file_parts_only():
    options = {"mod_python.util.max_field_size": "1000"}
    body = raw_part(b"f", b"z" * 5000, b'; filename="big"') + raw_part(b"a", b"y" * 1000) + close()
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE, options=options))
    assert len(fs["f"].value) == 5000 and len(fs["a"]) == 1000
    body = raw_part(b"a", b"y" * 1001) + close()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(FakeRequest("POST", body=body, content_type=CTYPE, options=options))
    assert status_of(exc) == 413


def test_default_field_size_limit_is_16_mib():
    body = streamed_upload(16 * 1024 * 1024 + 1, filename="ignored")

    def as_field():
        first = next(body)
        yield first.replace(b'; filename="ignored"', b"")
        yield from body

    req = FakeRequest("POST", body=as_field(), chunked=True, content_type=CTYPE)
    with pytest.raises(apache.SERVER_RETURN) as exc:
        parse(req)
    assert status_of(exc) == 413


# --------------------------------------------------------------------------- streaming


def test_large_upload_is_streamed_to_a_temporary_file():
    size = 24 * 1024 * 1024
    lines = b"z" * 3000 + b"\r\n--not-a-boundary\n"
    req = FakeRequest("POST", body=streamed_upload(size, pattern=lines), chunked=True,
                      content_type=CTYPE)
    tracemalloc.start()
    try:
        fs = parse(req)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    field = fs["file"]
    assert isinstance(field, util.Field)
    assert field.file.fileno() >= 0
    field.file.seek(0, os.SEEK_END)
    assert field.file.tell() == size
    assert fs["after"] == b"ok"
    # Only a few read blocks are ever held: never the upload.
    assert peak < 4 * 1024 * 1024, peak
    assert req.max_readline_size <= util.readBlockSize
    assert req.peak_buffer <= util.readBlockSize + FakeRequest.CLIENT_BLOCK


def test_streamed_content_is_exact():
    size = 3 * 1024 * 1024 + 12345
    req = FakeRequest("POST", body=streamed_upload(size, piece=100003), chunked=True,
                      content_type=CTYPE)
    fs = parse(req)
    assert fs["file"].value == streamed_content(size, piece=100003)


def test_cr_and_lf_split_across_read_blocks():
    value = b"x" * (util.readBlockSize - 1)  # the block ends with the CR of CRLF
    body = raw_part(b"a", value) + raw_part(b"b", value + b"\r") + close()
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs["a"] == value
    assert fs["b"] == value + b"\r"


def test_boundary_after_a_line_longer_than_a_block():
    value = bytes(range(256)).replace(b"\n", b"") * 1000  # no newline, > 1 block
    body = (raw_part(b"f", value, b'; filename="x"') + raw_part(b"g", b"--XyZzy-boundaryZ")
            + close())
    fs = parse(FakeRequest("POST", body=body, content_type=CTYPE))
    assert fs["f"].value == value
    assert fs["g"] == b"--XyZzy-boundaryZ"


def test_boundary_string_at_a_block_boundary_inside_a_line_is_data():
    # A block boundary falls right before "--XyZzy-boundary" in the middle of a line.
    value = b"y" * util.readBlockSize + b"--XyZzy-boundary\r\nmore"
    fs = parse(FakeRequest("POST", body=raw_part(b"a", value) + close(), content_type=CTYPE))
    assert fs["a"] == value


# --------------------------------------------------------------------------- chunked + fuzz


def split_randomly(data: bytes, rng: random.Random) -> list:
    pieces, pos = [], 0
    while pos < len(data):
        step = rng.choice([1, 2, 3, 7, 64, 1000, 70000])
        pieces.append(data[pos:pos + step])
        pos += step
    return pieces


def random_value(rng: random.Random) -> bytes:
    # Values never contain a whole delimiter line (a client picks a boundary that does not
    # occur in the data), only things that look like one.
    atoms = [b"\r", b"\n", b"\r\n", b"--", b"--XyZzy-boundar", b"--XyZzy-boundary-x", b"a",
             b"\x00", b"\xff", b" ", b"=", b'"']
    return b"".join(rng.choice(atoms) for _ in range(rng.randrange(0, 12)))


def test_random_multipart_round_trip_with_chunked_delivery():
    rng = random.Random(4242)
    for _ in range(300):
        parts = []
        for i in range(rng.randrange(1, 6)):
            value = random_value(rng)
            if rng.randrange(2):
                parts.append((f"n{i}", value, f"file{i}.bin"))
            else:
                parts.append((f"n{i}", value))
        body = multipart_body(parts, BOUNDARY)
        if rng.randrange(2):
            req = FakeRequest("POST", body=split_randomly(body, rng), chunked=True,
                              content_type=CTYPE)
        else:
            req = FakeRequest("POST", body=body, content_type=CTYPE)
        fs = parse(req)
        assert [name for name, _ in fs.items()] == [p[0] for p in parts]
        for (name, field), part in zip(fs.items(), parts):
            assert field.value == part[1], (name, part)
            assert (field.filename is not None) == (len(part) > 2)


def test_mutated_multipart_never_raises_anything_but_server_return():
    rng = random.Random(1234)
    base = multipart_body([("a", b"1\r\n2"), ("f", b"data", "x.txt", "text/plain"), ("b", "")])
    for _ in range(1500):
        data = bytearray(base)
        for _ in range(rng.randrange(1, 6)):
            op = rng.randrange(3)
            pos = rng.randrange(len(data) + 1)
            if op == 0 and data:
                del data[pos:pos + rng.randrange(1, 20)]
            elif op == 1:
                data[pos:pos] = rng.choice([b"\r\n", b"--", b"\x00", b";", b'"', b"\n\n",
                                            b"--XyZzy-boundary", b"=", b"\xff"])
            else:
                data = data[:pos]
        req = FakeRequest("POST", body=bytes(data), content_type=CTYPE)
        try:
            fs = parse(req)
        except apache.SERVER_RETURN as exc:
            assert exc.args[0] in (400, 413)
            continue
        for name, field in fs.items():
            assert type(name) is str
            assert isinstance(field.value, bytes)


# --------------------------------------------------------------------------- dict API


def make_fs():
    return parse(FakeRequest(args="a=1&b=2&a=3&c=4"))


def test_mapping_api():
    fs = make_fs()
    assert fs["a"] == [b"1", b"3"] and fs["b"] == b"2"
    with pytest.raises(KeyError):
        fs["zz"]
    assert fs.get("zz") is None and fs.get("zz", 5) == 5 and fs.get("b") == b"2"
    assert fs.getfirst("a") == b"1" and fs.getfirst("zz", "d") == "d"
    assert fs.getlist("a") == [b"1", b"3"] and fs.getlist("zz") == []
    assert fs.keys() == ["a", "b", "c"] and list(fs) == ["a", "b", "c"]
    assert "a" in fs and b"a" in fs and fs.has_key("c") and "zz" not in fs and 3 not in fs
    assert len(fs) == 3
    assert [(n, bytes(v)) for n, v in fs.items()] == [("a", b"1"), ("b", b"2"), ("a", b"3"),
                                                    ("c", b"4")]
    assert isinstance(fs.list, util.FieldList)


def test_mutation_api():
    fs = make_fs()
    del fs["a"]
    assert fs.keys() == ["b", "c"]
    with pytest.raises(KeyError):
        del fs["a"]
    fs["b"] = "é"
    assert fs["b"] == "é".encode() and isinstance(fs["b"], util.StringField)
    fs[b"\xffk"] = b"raw"
    assert fs["\udcffk"] == b"raw"
    fs.add_field("c", b"5")
    assert fs.getlist("c") == [b"4", b"5"]
    assert fs.keys() == ["c", "b", "\udcffk"]
    fs.clear()
    assert len(fs) == 0 and fs.items() == []


def test_field_list_index_follows_changes():
    fs = make_fs()
    assert fs.list.table()["a"][0] == b"1"
    fs.list.pop(0)
    assert fs.getfirst("a") == b"3"
    fs.list.insert(0, util.StringField(b"9"))
    fs.list[0].name = "z"
    fs.list._changed()
    assert fs.getfirst("z") == b"9"
    extra = util.StringField(b"7")
    extra.name = "a"
    fs.list.append(extra)
    assert fs.getlist("a") == [b"3", b"7"]
    fs.list.remove(extra)
    assert fs.getlist("a") == [b"3"]


def test_refusals_log_why_and_which_option():
    from . import fakes

    fakes.LOGGED.clear()
    options = {"mod_python.util.max_fields": "5"}
    with pytest.raises(apache.SERVER_RETURN):
        parse(FakeRequest("POST", body=many_parts(6), content_type=CTYPE, options=options))
    message, level = fakes.LOGGED[-1]
    assert message.startswith("MP0130: util.FieldStorage: more than 5 fields")
    assert "mod_python.util.max_fields" in message and message.endswith("answering 413")
    assert level == apache.APLOG_WARNING  # a limit the admin may need to raise

    fakes.LOGGED.clear()
    with pytest.raises(apache.SERVER_RETURN):
        parse(FakeRequest("POST", body=b"x", content_type="multipart/form-data"))
    message, level = fakes.LOGGED[-1]
    assert "multipart Content-Type without boundary: answering 400" in message
    assert level == apache.APLOG_INFO  # malformed input, as httpd logs its own refusals
