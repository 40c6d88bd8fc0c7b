"""mod_python.Cookie: rendering, parsing, signing, marshalling, request helpers (§12)."""

import base64
import hashlib
import hmac
import marshal
import random
import time

import pytest

from mod_python import Cookie
from mod_python.Cookie import CookieError, MarshalCookie, SignedCookie

from .fakes import FakeRequest

SECRET = "s3cr3t"


def sha256_mac(secret, name, value):
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, (name + value).encode("utf-8", "surrogateescape"),
                    hashlib.sha256).hexdigest()


def md5_mac(secret, name, value):
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, (name + value).encode("utf-8", "surrogateescape"),
                    hashlib.md5).hexdigest()


# --------------------------------------------------------------------------- Cookie


def test_constants():
    assert (Cookie.Cookie.DOWNGRADE, Cookie.Cookie.IGNORE, Cookie.Cookie.EXCEPTION) == (0, 1, 3)
    assert issubclass(CookieError, Exception)


def test_render_all_attributes_in_order():
    cookie = Cookie.Cookie("sid", "abc", httponly=True, port="80", discard=True,
                           commentURL="http://x/", samesite="strict", max_age=3600,
                           expires=0, comment="c", secure=True, domain="example.com",
                           path="/app", version=1)
    assert str(cookie) == (
        "sid=abc; version=1; path=/app; domain=example.com; secure; comment=c; "
        "expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=3600; samesite=Strict; "
        "commentURL=http://x/; discard; port=80; httponly")


def test_attribute_names_are_lower_cased():
    cookie = Cookie.Cookie("a", "b", Path="/", HttpOnly=1, SameSite="Lax", Max_Age=5,
                           commenturl="u")
    assert cookie.path == "/" and cookie.samesite == "Lax" and cookie.max_age == "5"
    assert str(cookie) == "a=b; path=/; Max-Age=5; samesite=Lax; commentURL=u; httponly"


def test_false_flags_and_none_are_omitted():
    cookie = Cookie.Cookie("a", "b", secure=False, httponly=0, path=None)
    assert str(cookie) == "a=b"
    cookie.path = "/"
    cookie.path = None
    assert str(cookie) == "a=b"


def test_unset_attribute_is_attribute_error():
    cookie = Cookie.Cookie("a", "b")
    with pytest.raises(AttributeError):
        cookie.path
    cookie.path = "/"
    del cookie.path
    assert str(cookie) == "a=b"


def test_invalid_attribute():
    with pytest.raises(AttributeError):
        Cookie.Cookie("a", "b", colour="red")
    cookie = Cookie.Cookie("a", "b")
    with pytest.raises(AttributeError):
        cookie.bogus = 1


def test_expires_number_and_string():
    stamp = time.mktime((2030, 6, 15, 12, 0, 0, 0, 0, 0)) - time.timezone
    cookie = Cookie.Cookie("a", "b", expires=stamp)
    assert cookie.expires == "Sat, 15-Jun-2030 12:00:00 GMT"
    cookie.expires = "Mon, 01-Jan-2029 00:00:00 GMT"
    assert str(cookie) == "a=b; expires=Mon, 01-Jan-2029 00:00:00 GMT"
    # What 3.5's strptime accepted: any case, one-digit day and time fields; kept as given.
    for text in ("Mon, 1-Jan-2029 0:00:00 GMT", "mon, 01-jan-2029 00:00:00 gmt"):
        assert Cookie.Cookie("a", "b", expires=text).expires == text


@pytest.mark.parametrize("bad", ["tomorrow", "Mon, 01 Jan 2029 00:00:00 GMT",
                                 "Mon, 32-Jan-2029 00:00:00 GMT",
                                 "Mon, 01-Jan-2029 00:00:00 GMT; path=/", [1]])
def test_expires_invalid(bad):
    with pytest.raises(ValueError):
        Cookie.Cookie("a", "b", expires=bad)


@pytest.mark.parametrize("name", ["", "a;b", "a=b", "a b", "a\r\nb", "a\nSet-Cookie: x",
                                  "a\x00", "a,b", '"a"', "$Version", "a\tb"])
def test_names_that_could_inject_are_refused(name):
    with pytest.raises(CookieError):
        Cookie.Cookie(name, "v")


@pytest.mark.parametrize("value", ["a;b", "x; path=/evil", "a\r\nSet-Cookie: y=1", "a\n",
                                   "a\r", "a\x00", "\x7f", "a\x01"])
def test_values_that_could_inject_are_refused(value):
    with pytest.raises(CookieError):
        Cookie.Cookie("n", value)
    with pytest.raises(CookieError):
        SignedCookie("n", value, SECRET)


@pytest.mark.parametrize("attr", ["path", "domain", "comment", "commentURL", "port",
                                  "max_age", "version"])
def test_attribute_values_that_could_inject_are_refused(attr):
    with pytest.raises(CookieError):
        Cookie.Cookie("n", "v", **{attr: "/x; secure"})
    with pytest.raises(CookieError):
        Cookie.Cookie("n", "v", **{attr: "/x\r\nX-Evil: 1"})


def test_samesite_values():
    for value, canonical in (("strict", "Strict"), ("LAX", "Lax"), ("None", "None")):
        assert Cookie.Cookie("a", "b", samesite=value).samesite == canonical
    with pytest.raises(CookieError):
        Cookie.Cookie("a", "b", samesite="sometimes")


def test_ordinary_values_are_kept_verbatim():
    for value in ["", "a b", '"quoted"', "a,b", "x=y", "é", "%3B", "a\\b"]:
        assert str(Cookie.Cookie("n", value)) == f"n={value}"


# --------------------------------------------------------------------------- parse


def test_parse_basic():
    cookies = Cookie.Cookie.parse("a=1; b=two;c=3 ;  d = 4")
    assert {k: v.value for k, v in cookies.items()} == {"a": "1", "b": "two", "c": "3", "d": "4"}
    assert all(type(c) is Cookie.Cookie for c in cookies.values())
    assert cookies["a"].name == "a"


def test_parse_quoted_values_verbatim():
    cookies = Cookie.Cookie.parse('a="x;y"; b="q\\"r"; c="unterminated; d=4')
    assert cookies["a"].value == '"x;y"'
    assert cookies["b"].value == '"q\\"r"'
    assert cookies["c"].value == '"unterminated'
    assert cookies["d"].value == "4"


def test_parse_skips_dollar_names_and_pairs_without_equals():
    cookies = Cookie.Cookie.parse('$Version="1"; a=1; $Path="/"; flag; , b=2, ; c=')
    # Commas only separate before a name; a value runs to the next ";".
    assert {k: v.value for k, v in cookies.items()} == {"a": "1", "b": "2,", "c": ""}


def test_parse_names_and_first_wins():
    cookies = Cookie.Cookie.parse("a=1; b=2; a=3", names=["a"])
    assert list(cookies) == ["a"] and cookies["a"].value == "1"


def test_parse_bytes_and_non_ascii():
    cookies = Cookie.Cookie.parse(b"a=\xc3\xa9; b=\xff")
    assert cookies["a"].value == "é" and cookies["b"].value == "\udcff"


def test_parse_never_raises_on_garbage():
    rng = random.Random(5)
    atoms = ['a', '=', ';', ',', ' ', '"', '\\', '$', '\x00', 'é', '\udcff', '\t', 'x=y']
    for _ in range(3000):
        header = "".join(rng.choice(atoms) for _ in range(rng.randrange(0, 40)))
        for cookie in Cookie.Cookie.parse(header).values():
            assert cookie.name and not cookie.name.startswith("$")
        SignedCookie.parse(header, SECRET)
        MarshalCookie.parse(header, SECRET)


def test_parse_is_fast_on_pathological_input():
    start = time.monotonic()
    Cookie.Cookie.parse("a" + " " * 100000 + "x")
    Cookie.Cookie.parse('a="' + "\\" * 100001)
    Cookie.Cookie.parse("=" * 100000)
    assert time.monotonic() - start < 2


# --------------------------------------------------------------------------- SignedCookie


def test_signed_render_uses_hmac_sha256():
    cookie = SignedCookie("sid", "value", SECRET, path="/")
    assert cookie.hexdigest("value") == sha256_mac(SECRET, "sid", "value")
    assert str(cookie) == f"sid={sha256_mac(SECRET, 'sid', 'value')}value; path=/"
    assert len(cookie.hexdigest("")) == 64


def test_signed_without_secret():
    cookie = SignedCookie("sid", "value")
    with pytest.raises(CookieError, match="Cannot sign without a secret"):
        cookie.hexdigest("value")
    with pytest.raises(CookieError):
        str(cookie)


@pytest.mark.parametrize("secret", ["text secret", b"bytes secret", "sécret"])
def test_signed_round_trip(secret):
    rendered = str(SignedCookie("n", "some value é", secret)).split("; ")[0]
    cookies = SignedCookie.parse(rendered, secret)
    assert type(cookies["n"]) is SignedCookie
    assert cookies["n"].value == "some value é"


def test_signed_parse_mismatch_modes():
    good = str(SignedCookie("good", "1", SECRET))
    mac = sha256_mac(SECRET, "bad", "1")
    tampered = f"bad={mac}2"
    header = f"{good}; {tampered}; plain=3"
    cookies = SignedCookie.parse(header, SECRET)  # DOWNGRADE
    assert type(cookies["good"]) is SignedCookie and cookies["good"].value == "1"
    assert type(cookies["bad"]) is Cookie.Cookie and cookies["bad"].value == f"{mac}2"
    assert type(cookies["plain"]) is Cookie.Cookie and cookies["plain"].value == "3"
    cookies = SignedCookie.parse(header, SECRET, SignedCookie.IGNORE)
    assert list(cookies) == ["good"]
    with pytest.raises(CookieError, match="Incorrectly Signed Cookie"):
        SignedCookie.parse(header, SECRET, SignedCookie.EXCEPTION)
    assert list(SignedCookie.parse(header, SECRET, SignedCookie.EXCEPTION, names=["good"])) \
        == ["good"]


@pytest.mark.parametrize("mutate", [
    lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),    # value changed
    lambda v: ("f" if v[0] != "f" else "e") + v[1:],      # MAC changed
    lambda v: v.upper(),                                  # MAC case changed
    lambda v: v[:64],                                     # value dropped
    lambda v: v[1:],                                      # MAC shortened
    lambda v: v + "x",                                    # value extended
    lambda v: "",
])
def test_tampered_signed_cookies_are_rejected(mutate):
    value = str(SignedCookie("n", "payload0", SECRET)).split("=", 1)[1]
    cookie = SignedCookie.parse(f"n={mutate(value)}", SECRET)["n"]
    assert type(cookie) is Cookie.Cookie


def test_wrong_secret_and_no_secret_downgrade():
    rendered = str(SignedCookie("n", "v", SECRET))
    assert type(SignedCookie.parse(rendered, "other")["n"]) is Cookie.Cookie
    assert type(SignedCookie.parse(rendered, None)["n"]) is Cookie.Cookie
    assert type(SignedCookie.parse(rendered, "")["n"]) is Cookie.Cookie


def test_unsign_directly():
    signed = sha256_mac(SECRET, "n", "v") + "v"
    cookie = Cookie.Cookie.parse(f"n={signed}")["n"]
    cookie.__class__ = SignedCookie
    cookie.unsign(SECRET)
    assert cookie.value == "v"
    bad = SignedCookie.parse(f"n=0{signed[1:]}", SECRET)["n"]
    bad.__class__ = SignedCookie
    with pytest.raises(CookieError, match="^Incorrectly Signed Cookie: "):
        bad.unsign(SECRET)


def test_legacy_md5_signed_cookie_is_accepted():
    # mod_python 3.5 (Python 2): hex HMAC-MD5 of name + value, then the value.
    legacy = md5_mac(SECRET, "sid", "1234abcd") + "1234abcd"
    cookie = SignedCookie.parse(f"sid={legacy}", SECRET)["sid"]
    assert type(cookie) is SignedCookie and cookie.value == "1234abcd"
    tampered = md5_mac(SECRET, "sid", "1234abcd") + "1234abce"
    assert type(SignedCookie.parse(f"sid={tampered}", SECRET)["sid"]) is Cookie.Cookie
    wrong_key = md5_mac("other", "sid", "1234abcd") + "1234abcd"
    assert type(SignedCookie.parse(f"sid={wrong_key}", SECRET)["sid"]) is Cookie.Cookie


def test_legacy_value_that_looks_like_hex():
    # A legacy cookie whose value is long hex must not be mistaken for a SHA-256 MAC.
    value = "0123456789abcdef" * 4
    legacy = md5_mac(SECRET, "n", value) + value
    assert SignedCookie.parse(f"n={legacy}", SECRET)["n"].value == value


def test_signature_check_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(Cookie.hmac, "compare_digest", spy)
    SignedCookie.parse(f"n={'0' * 70}", SECRET)
    assert len(calls) == 2  # SHA-256, then legacy MD5
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


# --------------------------------------------------------------------------- MarshalCookie


@pytest.mark.parametrize("value", [{"a": [1, 2.5, "é"], "b": (None, True)}, 12345, "text",
                                   b"\x00bytes", [], {"nested": {"x": {1, 2}}}])
def test_marshal_round_trip(value):
    rendered = str(MarshalCookie("m", value, SECRET, path="/"))
    pair = rendered.split("; ")[0]
    raw = pair.split("=", 1)[1]
    assert "\n" not in rendered and ";" not in raw
    mac, encoded = raw[:64], raw[64:]
    assert mac == sha256_mac(SECRET, "m", encoded)
    assert marshal.loads(base64.b64decode(encoded)) == value
    cookie = MarshalCookie.parse(pair, SECRET)["m"]
    assert type(cookie) is MarshalCookie and cookie.value == value


def test_marshal_tampered_data_is_never_unmarshalled(monkeypatch):
    loads = []
    monkeypatch.setattr(Cookie.marshal, "loads", lambda data: loads.append(data))
    evil = base64.b64encode(marshal.dumps({"admin": True})).decode()
    forged = f"m={'0' * 64}{evil}"
    assert type(MarshalCookie.parse(forged, SECRET)["m"]) is Cookie.Cookie
    assert MarshalCookie.parse(forged, SECRET, MarshalCookie.IGNORE) == {}
    with pytest.raises(CookieError, match="Incorrectly Signed Cookie"):
        MarshalCookie.parse(forged, SECRET, MarshalCookie.EXCEPTION)
    assert loads == []


def test_marshal_signed_but_undecodable():
    bad64 = "!!!not base64!!!"
    cookie = f"m={sha256_mac(SECRET, 'm', bad64)}{bad64}"
    with pytest.raises(CookieError, match="Cannot base64 Decode Cookie"):
        MarshalCookie.parse(cookie, SECRET, MarshalCookie.EXCEPTION)
    junk = base64.b64encode(b"\xff\xfe junk").decode()
    cookie = f"m={sha256_mac(SECRET, 'm', junk)}{junk}"
    with pytest.raises(CookieError, match="Cannot Unmarshal Cookie"):
        MarshalCookie.parse(cookie, SECRET, MarshalCookie.EXCEPTION)
    assert type(MarshalCookie.parse(cookie, SECRET)["m"]) is Cookie.Cookie


def test_marshal_legacy_md5():
    encoded = base64.b64encode(marshal.dumps([1, 2, 3])).decode()
    cookie = MarshalCookie.parse(f"m={md5_mac(SECRET, 'm', encoded)}{encoded}", SECRET)["m"]
    assert cookie.value == [1, 2, 3]


def test_marshal_unmarshal_method():
    rendered = str(MarshalCookie("m", {"k": 1}, SECRET))
    cookie = Cookie.Cookie.parse(rendered)["m"]
    cookie.__class__ = MarshalCookie
    cookie.unmarshal(SECRET)
    assert cookie.value == {"k": 1}


# --------------------------------------------------------------------------- request helpers


def test_add_cookie_headers():
    req = FakeRequest()
    Cookie.add_cookie(req, Cookie.Cookie("a", "1", path="/"))
    Cookie.add_cookie(req, "b", "2", httponly=True)
    assert req.headers_out["Set-Cookie"] == ["a=1; path=/", "b=2; httponly"]
    assert req.headers_out["Cache-Control"] == 'no-cache="set-cookie"'


def test_add_cookie_signed():
    req = FakeRequest()
    Cookie.add_cookie(req, SignedCookie("s", "v", SECRET))
    assert req.headers_out["Set-Cookie"] == f"s={sha256_mac(SECRET, 's', 'v')}v"


def test_add_cookie_refuses_injection():
    req = FakeRequest()
    with pytest.raises(CookieError):
        Cookie.add_cookie(req, "a", "1; Domain=evil.example")
    with pytest.raises(CookieError):
        Cookie.add_cookie(req, "a\r\nX-Evil: 1", "1")
    # A cookie parsed from a client header with a quoted ";" is not sent back unchecked.
    echoed = Cookie.Cookie.parse('a="x; Domain=evil"')["a"]
    with pytest.raises(CookieError):
        Cookie.add_cookie(req, echoed)
    assert "Set-Cookie" not in req.headers_out


def test_get_cookies_joins_headers():
    req = FakeRequest(headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3")])
    cookies = Cookie.get_cookies(req)
    assert {k: v.value for k, v in cookies.items()} == {"a": "1", "b": "2", "c": "3"}
    assert Cookie.get_cookie(req, "c").value == "3"
    assert Cookie.get_cookie(req, "zz") is None


def test_get_cookies_from_lines_httpd_merged():
    # httpd hands several Cookie lines over as one value joined with ", ".
    req = FakeRequest(headers=[("Cookie", "a=1; b=2, c=3, pysid=abc")])
    cookies = Cookie.get_cookies(req)
    assert {k: v.value for k, v in cookies.items()} == {"a": "1", "b": "2", "c": "3",
                                                       "pysid": "abc"}


@pytest.mark.parametrize("header,expected", [
    ("x=a, b", {"x": "a, b"}),                       # a comma not followed by name=
    ('d="q, r", e=5', {"d": '"q, r"', "e": "5"}),    # quoted, then merged
    ("t=Wed, 09 Jun 2021 10:18:14 GMT; z=1", {"t": "Wed, 09 Jun 2021 10:18:14 GMT", "z": "1"}),
    ("k=v,w=1", {"k": "v", "w": "1"}),                # RFC 2109 separator
])
def test_commas_in_cookie_headers(header, expected):
    assert {k: v.value for k, v in Cookie.Cookie.parse(header).items()} == expected


def test_get_cookies_without_header():
    req = FakeRequest()
    assert Cookie.get_cookies(req) == {}
    assert Cookie.get_cookie(req, "a") is None


def test_get_cookies_with_classes():
    signed = str(SignedCookie("s", "v", SECRET))
    marsh = str(MarshalCookie("m", {"x": 1}, SECRET))
    req = FakeRequest(headers={"Cookie": f"{signed}; {marsh}; p=1"})
    cookies = Cookie.get_cookies(req, SignedCookie, secret=SECRET)
    assert cookies["s"].value == "v" and type(cookies["p"]) is Cookie.Cookie
    assert Cookie.get_cookie(req, "m", MarshalCookie, secret=SECRET).value == {"x": 1}
    assert Cookie.get_cookie(req, "p", SignedCookie, secret=SECRET,
                             mismatch=Cookie.Cookie.IGNORE) is None


def test_repr_never_raises():
    assert repr(Cookie.Cookie("a", "b", path="/")) == "<Cookie: a=b; path=/>"
    assert repr(SignedCookie("a", "b")).startswith("<SignedCookie: a=")


def test_expires_out_of_range():
    with pytest.raises(ValueError):
        Cookie.Cookie("a", "b", expires=1e20)
