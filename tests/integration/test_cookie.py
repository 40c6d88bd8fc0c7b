"""mod_python.Cookie inside Apache: Set-Cookie headers and round trips with requests (§12)."""

import base64
import hashlib
import hmac
import marshal

from mphelpers import JSON_PAGE, in_directory

SECRET = "integration-secret"

COOKIES = '''
    from mod_python import apache, Cookie
    from jsonpage import send_json

    SECRET = "integration-secret"


    def set_cookies(req):
        Cookie.add_cookie(req, Cookie.Cookie("plain", "hello", path="/", samesite="Lax",
                                             httponly=True, max_age=3600))
        Cookie.add_cookie(req, Cookie.SignedCookie("signed", "user=42", SECRET, path="/"))
        Cookie.add_cookie(req, Cookie.MarshalCookie("data", {"n": [1, 2, 3], "s": "é"}, SECRET,
                                                    path="/"))
        Cookie.add_cookie(req, "secure_one", "x", secure=True, path="/",
                          expires="Fri, 01-Jan-2038 00:00:00 GMT")
        req.content_type = "text/plain"
        req.write("set")
        return apache.OK


    def describe(cookies):
        return {name: [type(c).__name__, c.value] for name, c in cookies.items()}


    def show(req):
        return send_json(req, {
            "plain": describe(Cookie.get_cookies(req)),
            "signed": describe(Cookie.get_cookies(req, Cookie.SignedCookie, secret=SECRET)),
            "strict": describe(Cookie.get_cookies(req, Cookie.SignedCookie, secret=SECRET,
                                                  mismatch=Cookie.Cookie.IGNORE)),
            "marshal": describe(Cookie.get_cookies(req, Cookie.MarshalCookie, secret=SECRET,
                                                   mismatch=Cookie.Cookie.IGNORE)),
            "one": describe({"x": c} if (c := Cookie.get_cookie(req, "plain")) else {}),
        })


    def route(req):
        """/set and /get on one server."""
        return set_cookies(req) if req.uri.endswith("/set") else show(req)


    def inject(req):
        outcome = {}
        for label, name, value in (("crlf", "a", "1\\r\\nX-Injected: yes"),
                                   ("attr", "a", "1; Domain=evil.example"),
                                   ("name", "a=b; path", "1")):
            try:
                Cookie.add_cookie(req, name, value)
                outcome[label] = "added"
            except Cookie.CookieError:
                outcome[label] = "CookieError"
        return send_json(req, outcome)
'''

FILES = {"cookies.py": COOKIES, "jsonpage.py": JSON_PAGE}


def serve(apache, func):
    return apache(in_directory(f"PythonHandler cookies::{func}"), files=FILES)


def sha256_mac(name, value):
    return hmac.new(SECRET.encode(), (name + value).encode(), hashlib.sha256).hexdigest()


def md5_mac(name, value):
    return hmac.new(SECRET.encode(), (name + value).encode(), hashlib.md5).hexdigest()


def test_set_cookie_headers(apache):
    srv = serve(apache, "set_cookies")
    response = srv.get("/c")
    assert response.status_code == 200 and response.text == "set"
    headers = response.raw.headers.getlist("Set-Cookie")
    assert headers[0] == "plain=hello; path=/; Max-Age=3600; samesite=Lax; httponly"
    assert headers[1] == f"signed={sha256_mac('signed', 'user=42')}user=42; path=/"
    assert headers[2].startswith("data=") and headers[2].endswith("; path=/")
    assert headers[3] == "secure_one=x; path=/; secure; expires=Fri, 01-Jan-2038 00:00:00 GMT"
    assert response.headers["Cache-Control"] == 'no-cache="set-cookie"'
    signed_value = headers[2].split(";")[0].split("=", 1)[1]
    mac, encoded = signed_value[:64], signed_value[64:]
    assert mac == sha256_mac("data", encoded)
    assert marshal.loads(base64.b64decode(encoded)) == {"n": [1, 2, 3], "s": "é"}


def test_round_trip_same_server(apache):
    srv = serve(apache, "route")
    with srv.session() as session:
        assert session.get(srv.url("/set")).status_code == 200
        assert {"plain", "signed", "data", "secure_one"} <= set(session.cookies.keys())
        info = session.get(srv.url("/get")).json()
    assert info["plain"]["plain"] == ["Cookie", "hello"]
    assert info["signed"]["signed"] == ["SignedCookie", "user=42"]
    assert info["signed"]["plain"] == ["Cookie", "hello"]
    assert "plain" not in info["strict"] and info["strict"]["signed"] == ["SignedCookie",
                                                                          "user=42"]
    assert info["marshal"] == {"data": ["MarshalCookie", {"n": [1, 2, 3], "s": "é"}]}
    assert info["one"] == {"x": ["Cookie", "hello"]}
    # secure_one is Secure: requests does not send it over plain http.
    assert "secure_one" not in info["plain"]


def test_tampered_cookies_are_not_trusted(apache):
    srv = serve(apache, "show")
    good = sha256_mac("signed", "user=42") + "user=42"
    tampered = sha256_mac("signed", "user=42") + "user=1"
    evil = base64.b64encode(marshal.dumps({"admin": True})).decode()
    forged = "0" * 64 + evil
    header = f"signed={tampered}; data={forged}; other={good}"
    info = srv.get("/g", headers={"Cookie": header}).json()
    assert info["signed"]["signed"] == ["Cookie", tampered]
    assert "signed" not in info["strict"]
    assert info["marshal"] == {}
    # A valid MAC for a different cookie name does not verify either.
    assert info["signed"]["other"][0] == "Cookie"


def test_legacy_md5_cookies_are_accepted(apache):
    srv = serve(apache, "show")
    encoded = base64.b64encode(marshal.dumps([1, "two"])).decode()
    header = (f"signed={md5_mac('signed', 'legacy')}legacy; "
              f"data={md5_mac('data', encoded)}{encoded}")
    info = srv.get("/g", headers={"Cookie": header}).json()
    assert info["signed"]["signed"] == ["SignedCookie", "legacy"]
    assert info["marshal"] == {"data": ["MarshalCookie", [1, "two"]]}


def test_garbage_cookie_header_never_fails(apache):
    srv = serve(apache, "show")
    header = '$Version=1; =; ;;; a="unterminated; b=\xff; , c=3; $Path=/; d'
    response = srv.get("/g", headers={"Cookie": header.encode("latin-1")})
    assert response.status_code == 200
    assert response.json()["plain"]["c"] == ["Cookie", "3"]


def test_injection_is_refused(apache):
    srv = serve(apache, "inject")
    response = srv.get("/i")
    assert response.json() == {"crlf": "CookieError", "attr": "CookieError",
                               "name": "CookieError"}
    assert "X-Injected" not in response.headers
    assert "Set-Cookie" not in response.headers
