"""util.parse_header, Field, StringField, apply_fs_data and redirect (§11.2, §11.3)."""

import gc
import io
import pickle

import pytest

from mod_python import apache, util

from .fakes import FakeRequest

# --------------------------------------------------------------------------- parse_header


def test_parse_header_basic():
    assert util.parse_header(b'Form-Data; Name="a"; FILENAME="x y.txt"') == \
        (b"form-data", {b"name": "a", b"filename": "x y.txt"})


def test_parse_header_semicolon_inside_quotes_and_latin1_values():
    main, params = util.parse_header(b'form-data; name="a;b"; filename="\xe9\\"q.txt"; x=1')
    assert main == b"form-data"
    # Inside quotes \" is a quote (as cgi.parse_header and 3.5); a Windows path keeps its
    # single backslashes.
    assert params == {b"name": "a;b", b"filename": '\xe9"q.txt', b"x": "1"}
    assert util.parse_header(b'f; filename="C:\\dir\\a.txt"')[1] == {b"filename": "C:\\dir\\a.txt"}
    assert util.parse_header(b'f; filename="a\\\\b"')[1] == {b"filename": "a\\b"}


def test_parse_header_tolerates_garbage():
    assert util.parse_header(b"") == (b"", {})
    assert util.parse_header(b";;=;a;=b;c=") == (b"", {b"": "b", b"c": ""})
    assert util.parse_header(b'text/plain; a="unterminated') == \
        (b"text/plain", {b"a": '"unterminated'})
    assert util.parse_header(b'x; a=""') == (b"x", {b"a": ""})
    assert util.parse_header(b'x; a="') == (b"x", {b"a": '"'})


def test_parse_header_requires_bytes():
    with pytest.raises(TypeError):
        util.parse_header("text/plain")


# --------------------------------------------------------------------------- Field / StringField


def test_string_field():
    field = util.StringField(b"abc")
    assert isinstance(field, bytes) and field == b"abc"
    assert field.value == b"abc" and type(field.value) is bytes
    assert field.filename is None and field.headers == {} and field.ctype == "text/plain"
    assert field.type_options == {} and field.disposition is None and field.disp_options is None
    assert field.name is None
    field.name = "n"
    assert repr(field) == "Field('n', b'abc')"
    assert field.file.read() == b"abc"
    assert field.file is field.file
    assert util.StringField("é") == "é".encode()
    assert util.StringField("\udcff") == b"\xff"


def test_string_field_pickles():
    field = util.StringField(b"v")
    field.name = "n"
    copy = pickle.loads(pickle.dumps(field))
    assert copy == b"v" and copy.name == "n" and isinstance(copy, util.StringField)


def test_field_value_and_close_on_destruction():
    file = io.BytesIO(b"content")
    field = util.Field("f")
    assert field.value is None
    field.file = file
    field.file.read(3)
    assert field.value == b"content"
    assert field.file.tell() == 0
    del field
    gc.collect()
    assert file.closed


def test_field_legacy_constructor():
    file = io.BytesIO(b"x")
    field = util.Field("f", file, "text/plain", {b"charset": "utf-8"}, "form-data",
                       {b"name": "f", b"filename": "a.txt"}, {"h": "v"})
    assert field.name == "f" and field.file is file and field.type == "text/plain"
    assert field.type_options == {b"charset": "utf-8"} and field.disposition == "form-data"
    assert field.disposition_options[b"filename"] == "a.txt" and field.filename == "a.txt"
    assert field.headers == {"h": "v"} and field.value == b"x"
    legacy = util.Field("g", io.BytesIO(), "text/plain", {}, "form-data", {})
    assert legacy.headers == {} and legacy.filename is None


# --------------------------------------------------------------------------- apply_fs_data


def form(args):
    return util.FieldStorage(FakeRequest(args=args))


def test_apply_fs_data_passes_text_as_str_as_3_5_did_for_the_query():
    def say(what="NOTHING"):
        return "I am saying %s" % what

    assert util.apply_fs_data(say, form("what=caf%C3%A9")) == "I am saying caf\xe9"
    # Bytes that are not UTF-8 survive as surrogates: the original bytes can be recovered.
    raw = util.apply_fs_data(lambda what: what, form("what=%FF1"))
    assert raw == "\udcff1" and raw.encode("utf-8", "surrogateescape") == b"\xff1"


def test_apply_fs_data_function():
    def handler(a, b=None, *, c=None):
        return a, b, c

    assert util.apply_fs_data(handler, form("a=1&b=2&c=3&d=4")) == ("1", "2", "3")
    assert util.apply_fs_data(handler, form("a=1&a=2")) == (["1", "2"], None, None)


def test_apply_fs_data_extra_args_win():
    def handler(req, a):
        return req, a

    assert util.apply_fs_data(handler, form("req=evil&a=1"), req="REQ") == ("REQ", "1")


def test_apply_fs_data_kwargs_gets_everything():
    def handler(a, **kw):
        return a, kw

    assert util.apply_fs_data(handler, form("a=1&x=2"), req="R") == \
        ("1", {"x": "2", "req": "R"})


def test_apply_fs_data_method_class_and_callable():
    class Page:
        def __init__(self, a, b=0):
            self.args = (a, b)

        def method(self, x):
            return ("method", x)

        def __call__(self, y, self_=None):
            return ("call", y)

    fs = form("a=1&b=2&x=3&y=4&self=5")
    assert util.apply_fs_data(Page, fs).args == ("1", "2")
    page = Page(0)
    assert util.apply_fs_data(page.method, fs) == ("method", "3")
    assert util.apply_fs_data(page, fs) == ("call", "4")


def test_apply_fs_data_call_attribute_that_is_not_a_method():
    def inner(q):
        return q

    class Holder:
        __call__ = staticmethod(inner)

    assert util.apply_fs_data(Holder(), form("q=9&z=1")) == "9"


def test_apply_fs_data_builtins_get_no_arguments():
    assert util.apply_fs_data(dict, form("a=1")) == {}
    assert util.apply_fs_data(list, form("a=1")) == []


def test_apply_fs_data_passes_file_fields_as_fields():
    fs = util.FieldStorage(FakeRequest(args="t=1"))
    upload = util.Field("f")
    upload.filename = "a.txt"
    upload.file = io.BytesIO(b"data")
    fs.list.append(upload)

    def handler(t, f):
        return t, f

    t, f = util.apply_fs_data(handler, fs)
    assert t == "1" and type(t) is str and f is upload


def test_apply_fs_data_positional_only_not_filled():
    def handler(a, /, b=None):
        return a, b

    with pytest.raises(TypeError):
        util.apply_fs_data(handler, form("a=1&b=2"))


# --------------------------------------------------------------------------- redirect


def test_redirect_temporary():
    req = FakeRequest()
    with pytest.raises(apache.SERVER_RETURN) as exc:
        util.redirect(req, "/new?a=1&b=<2>")
    assert exc.value.args[0] == apache.DONE
    assert req.status == 302
    assert req.err_headers_out["Location"] == "/new?a=1&b=<2>"
    assert bytes(req.output) == \
        b'<p>The document has moved <a href="/new?a=1&amp;b=&lt;2&gt;">here</a></p>\n'


def test_redirect_permanent_with_text():
    req = FakeRequest()
    with pytest.raises(apache.SERVER_RETURN):
        util.redirect(req, "http://example.com/", permanent=1, text="moved")
    assert req.status == 301 and bytes(req.output) == b"moved"


@pytest.mark.parametrize("location", ["/a\r\nSet-Cookie: x=1", "/a\n", "/a\rb", "/a\x00"])
def test_redirect_refuses_header_injection(location):
    req = FakeRequest()
    with pytest.raises(ValueError):
        util.redirect(req, location)
    assert "Location" not in req.err_headers_out


def test_redirect_requires_str():
    with pytest.raises(TypeError):
        util.redirect(FakeRequest(), b"/x")


def test_redirect_after_body_started():
    req = FakeRequest()
    req.write("partial")
    with pytest.raises(IOError, match="Cannot redirect after headers have already been sent."):
        util.redirect(req, "/x")
