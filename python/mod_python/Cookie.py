"""mod_python.Cookie: HTTP cookies, signed and marshalled cookies (spec §12).

* ``Cookie(name, value, **attrs)`` renders a ``Set-Cookie`` value with ``str()``.
* ``SignedCookie`` prefixes the value with an HMAC-SHA256 (hex) of ``name + value`` keyed
  by a secret.  Cookies signed by older mod_python (a 32 hex digit HMAC-MD5 of
  ``name + value`` in front of the value) are still accepted when read.  MACs are
  compared in constant time.
* ``MarshalCookie`` stores ``base64(marshal.dumps(value))`` signed as above and only
  unmarshals data whose MAC verified.

Names, values and attributes that could inject attributes or split the header (``;``,
CR, LF and other control characters) are refused with ``CookieError``; parsing a
client's ``Cookie`` header never raises.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import marshal
import re
import time
from typing import Any, Iterable, Optional, Union

__all__ = [
    "CookieError", "Cookie", "SignedCookie", "MarshalCookie", "add_cookie", "get_cookies",
    "get_cookie",
]


class CookieError(Exception):
    """A cookie that cannot be built, signed, verified or decoded."""


# Characters that would end the cookie pair or the header: any control character and ";".
_UNSAFE_VALUE = re.compile(r"[\x00-\x1f\x7f;]")
# A cookie name additionally must not contain separators that change how it is parsed.
_UNSAFE_NAME = re.compile(r'[\x00-\x20\x7f;,="\\]')

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# What 3.5's time.strptime(text, "%a, %d-%b-%Y %H:%M:%S GMT") took: names in any case,
# one or two digits for the day and the time.
_EXPIRES = re.compile(
    r"(?P<wday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d{1,2})-"
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(?P<year>\d{4}) "
    r"(?P<hh>\d{1,2}):(?P<mm>\d{1,2}):(?P<ss>\d{1,2}) GMT\Z", re.IGNORECASE)

_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


def _format_expires(seconds: float) -> str:
    """``"%a, %d-%b-%Y %H:%M:%S GMT"`` with English names whatever the locale."""
    try:
        t = time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"Invalid expiration time: {seconds!r}") from None
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d}-{_MONTHS[t.tm_mon - 1]}-{t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def _check_expires(text: str) -> str:
    match = _EXPIRES.match(text)
    if match is None:
        raise ValueError(f"Invalid expiration time: {text!r}")
    try:
        datetime.datetime(int(match["year"]), _MONTHS.index(match["mon"].title()) + 1,
                          int(match["day"]), int(match["hh"]), int(match["mm"]),
                          int(match["ss"]))
    except ValueError:
        raise ValueError(f"Invalid expiration time: {text!r}") from None
    return text


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


def _secret_bytes(secret: Union[str, bytes, bytearray]) -> bytes:
    if isinstance(secret, str):
        return secret.encode("utf-8", "surrogateescape")
    return bytes(secret)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class Cookie:
    """One cookie: ``name``, ``value`` and optional attributes."""

    DOWNGRADE = 0
    IGNORE = 1
    EXCEPTION = 3

    # Valid attributes, in the order they are rendered.
    _valid_attr = ("version", "path", "domain", "secure", "comment", "expires", "max_age",
                   "samesite", "commentURL", "discard", "port", "httponly")
    _flags = frozenset(("secure", "discard", "httponly"))
    _attr_by_lower = {attr.lower(): attr for attr in _valid_attr}

    def __init__(self, name: str, value: Any, **attrs: Any) -> None:
        self.name = name
        self.value = value
        for key, attr_value in attrs.items():
            setattr(self, key, attr_value)

    # -- attribute checks

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
            return
        if key == "name":
            object.__setattr__(self, key, self._check_name(value))
            return
        if key == "value":
            object.__setattr__(self, key, self._check_value(value))
            return
        attr = self._attr_by_lower.get(key.lower())
        if attr is None:
            raise AttributeError(f"Invalid cookie attribute: {key!r}")
        if value is None:
            self.__dict__.pop(attr, None)
            return
        object.__setattr__(self, attr, self._check_attr(attr, value))

    def __delattr__(self, key: str) -> None:
        attr = self._attr_by_lower.get(key.lower(), key)
        try:
            del self.__dict__[attr]
        except KeyError:
            raise AttributeError(key) from None

    @staticmethod
    def _check_name(name: Any) -> str:
        name = _as_text(name)
        if not name or _UNSAFE_NAME.search(name) or name.startswith("$"):
            raise CookieError(f"Invalid cookie name: {name!r}")
        return name

    def _check_value(self, value: Any) -> Any:
        value = _as_text(value)
        if _UNSAFE_VALUE.search(value):
            raise CookieError(f"Invalid cookie value: {value!r}")
        return value

    @classmethod
    def _check_attr(cls, attr: str, value: Any) -> Any:
        if attr in cls._flags:
            return value
        if attr == "expires":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return _format_expires(value)
            if isinstance(value, str):
                return _check_expires(value)
            raise ValueError(f"Invalid expiration time: {value!r}")
        text = _as_text(value)
        if _UNSAFE_VALUE.search(text):
            raise CookieError(f"Invalid value for cookie attribute {attr}: {text!r}")
        if attr == "samesite":
            canonical = _SAMESITE.get(text.lower())
            if canonical is None:
                raise CookieError(f"Invalid SameSite value: {text!r}")
            return canonical
        return text

    def _check(self) -> None:
        """Re-check everything that will be rendered (parsed cookies skipped the checks)."""
        self._check_name(self.name)
        if _UNSAFE_VALUE.search(self._rendered_value()):
            raise CookieError(f"Invalid cookie value for {self.name!r}")

    # -- rendering

    def _rendered_value(self) -> str:
        return _as_text(self.value)

    def __str__(self) -> str:
        result = [f"{self.name}={self._rendered_value()}"]
        for attr in self._valid_attr:
            if attr not in self.__dict__:
                continue
            value = self.__dict__[attr]
            if attr in self._flags:
                if value:
                    result.append(attr)
            elif attr == "max_age":
                result.append(f"Max-Age={value}")
            else:
                result.append(f"{attr}={value}")
        return "; ".join(result)

    def __repr__(self) -> str:
        try:
            text = str(self)
        except (CookieError, ValueError):  # e.g. a signed cookie without its secret
            text = f"{self.name}=({type(self).__name__} value not renderable)"
        return f"<{type(self).__name__}: {text}>"

    # -- parsing

    @classmethod
    def _from_header(cls, name: str, value: str) -> "Cookie":
        """A cookie built from client data: no checks, never raises."""
        cookie = cls.__new__(cls)
        cookie.__dict__["name"] = name
        cookie.__dict__["value"] = value
        return cookie

    @classmethod
    def parse(cls, str: Union[str, bytes],  # noqa: A002 (3.5 parameter name)
              names: Optional[Iterable[str]] = None) -> dict:
        """``{name: Cookie}`` of a ``Cookie`` request header value."""
        return {name: cls._from_header(name, value) for name, value in _parse_pairs(str, names)}


# A pair: name up to "=" or ";", then optionally "=" and a quoted string (kept verbatim)
# or anything up to the next ";" or the next ", name=".  httpd joins several Cookie header
# lines with ", " (and RFC 2109 allows "," between cookies), while a comma followed by
# anything else stays in the value, as cookies in the wild have.  Linear time on any input.
_PAIR = re.compile(
    r'(?P<name>[^;=]*)'
    r'(?:=[ \t]*(?P<value>"(?:[^"\\]|\\.)*"(?=[ \t]*(?:[;,]|\Z))'
    r'|(?:[^;,]|,(?![ \t]*[^;=, \t]+=))*))?'
    r'[ \t]*;?', re.DOTALL)


def _parse_pairs(header: Union[str, bytes], names: Optional[Iterable[str]],
                 every: bool = False) -> list:
    """``[(name, value)]`` from a Cookie header; the first occurrence of a name wins (a
    browser sends the cookie of the most specific path first), or all of them with
    ``every``."""
    if isinstance(header, (bytes, bytearray)):
        header = bytes(header).decode("utf-8", "surrogateescape")
    wanted = None if names is None else {_as_text(n) for n in names}
    seen = set()
    pairs = []
    pos = 0
    end = len(header)
    while pos < end:
        match = _PAIR.match(header, pos)
        if match is None or match.end() == pos:  # cannot happen; stay safe
            next_sep = header.find(";", pos)
            if next_sep < 0:
                break
            pos = next_sep + 1
            continue
        pos = match.end()
        value = match["value"]
        if value is None:
            continue  # no "=": not a cookie
        name = match["name"].strip(" \t,").strip()
        if not name or name.startswith("$") or (name in seen and not every):
            continue
        if wanted is not None and name not in wanted:
            continue
        seen.add(name)
        pairs.append((name, value.strip()))
    return pairs


class SignedCookie(Cookie):
    """A cookie whose value carries an HMAC-SHA256 of ``name + value``."""

    def __init__(self, name: str, value: Any, secret: Optional[Union[str, bytes]] = None,
                 **attrs: Any) -> None:
        self._secret = secret
        super().__init__(name, value, **attrs)

    def _digest(self, text: str, algorithm: Any) -> str:
        if not self._secret:
            raise CookieError("Cannot sign without a secret")
        mac = hmac.new(_secret_bytes(self._secret), _utf8(self.name) + _utf8(text), algorithm)
        return mac.hexdigest()

    def hexdigest(self, str: str) -> str:  # noqa: A002 (3.5 parameter name)
        """Hex HMAC-SHA256 of ``name + str`` keyed by the secret."""
        return self._digest(str, hashlib.sha256)

    def _rendered_value(self) -> str:
        value = _as_text(self.value)
        return self.hexdigest(value) + value

    def _verify(self, signed: str) -> Optional[str]:
        """The value without its MAC if the MAC (SHA-256, or legacy MD5) verifies."""
        raw = _utf8(signed)
        for size, algorithm in ((64, hashlib.sha256), (32, hashlib.md5)):
            if len(raw) < size:
                continue
            rest = raw[size:].decode("utf-8", "surrogateescape")
            expected = self._digest(rest, algorithm).encode("ascii")
            if hmac.compare_digest(expected, raw[:size]):
                return rest
        return None

    def unsign(self, secret: Union[str, bytes]) -> None:
        """Verify the MAC in front of the value and strip it (``CookieError`` if bad)."""
        self._secret = secret
        signed = _as_text(self.value)
        value = self._verify(signed) if secret else None
        if value is None:
            raise CookieError(f"Incorrectly Signed Cookie: {self.name}={signed!r}")
        self.__dict__["value"] = value

    @classmethod
    def _from_header(cls, name: str, value: str,
                     secret: Optional[Union[str, bytes]] = None) -> "Cookie":
        cookie = super()._from_header(name, value)
        cookie.__dict__["_secret"] = secret
        return cookie

    @classmethod
    def parse(cls, s: Union[str, bytes], secret: Optional[Union[str, bytes]] = None,
              mismatch: int = Cookie.DOWNGRADE,
              names: Optional[Iterable[str]] = None) -> dict:
        """``{name: cookie}``; a cookie whose MAC does not verify is handled per
        ``mismatch``: raise (EXCEPTION), drop (IGNORE) or plain Cookie (DOWNGRADE)."""
        result: dict = {}
        for name, value in _parse_pairs(s, names):
            cookie = cls._from_header(name, value, secret)
            try:
                cookie._decode(secret)
            except CookieError:
                if mismatch == cls.EXCEPTION:
                    raise
                if mismatch == cls.IGNORE:
                    continue
                cookie = Cookie._from_header(name, value)
            result[name] = cookie
        return result

    def _decode(self, secret: Optional[Union[str, bytes]]) -> None:
        self.unsign(secret)


class MarshalCookie(SignedCookie):
    """A signed cookie holding any marshal-able value (base64 of ``marshal.dumps``)."""

    def _check_value(self, value: Any) -> Any:
        return value  # rendered as hex + base64: nothing can be injected

    def _rendered_value(self) -> str:
        encoded = base64.b64encode(marshal.dumps(self.value)).decode("ascii")
        return self.hexdigest(encoded) + encoded

    def unmarshal(self, secret: Union[str, bytes]) -> None:
        """Verify the MAC, then decode the value (``CookieError`` on any failure)."""
        self.unsign(secret)  # raises before anything is decoded
        encoded = _as_text(self.value)
        try:
            data = base64.b64decode(_utf8(encoded), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CookieError(f"Cannot base64 Decode Cookie: {self.name}={encoded!r}") \
                from exc
        try:
            self.__dict__["value"] = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as exc:
            raise CookieError(f"Cannot Unmarshal Cookie: {self.name}={encoded!r}") from exc

    def _decode(self, secret: Optional[Union[str, bytes]]) -> None:
        self.unmarshal(secret)


# --------------------------------------------------------------------------- request helpers

def add_cookie(req: Any, cookie: Union[Cookie, str], value: Any = "", **attrs: Any) -> None:
    """Add a ``Set-Cookie`` header (and, the first time, ``Cache-Control``)."""
    if not isinstance(cookie, Cookie):
        cookie = Cookie(cookie, value, **attrs)
    cookie._check()
    rendered = str(cookie)
    if "Set-Cookie" not in req.headers_out:
        req.headers_out.add("Cache-Control", 'no-cache="set-cookie"')
    req.headers_out.add("Set-Cookie", rendered)


def _cookie_header(req: Any) -> Optional[str]:
    values = [value for key, value in req.headers_in.items() if key.lower() == "cookie"]
    if not values:
        return None
    return "; ".join(values)


def get_cookies(req: Any, Class: type = Cookie, **kw: Any) -> dict:  # noqa: N803
    """All cookies of the request, parsed with ``Class.parse(header, **kw)``."""
    header = _cookie_header(req)
    if header is None:
        return {}
    return Class.parse(header, **kw)


def _all_values(req: Any, name: str) -> list:
    """Every value the request's cookies give ``name``, in the order sent (internal)."""
    header = _cookie_header(req)
    return [] if header is None else [v for _n, v in _parse_pairs(header, [name], every=True)]


def get_cookie(req: Any, name: str, Class: type = Cookie,  # noqa: N803
               **kw: Any) -> Optional[Cookie]:
    """The cookie called ``name`` or None."""
    header = _cookie_header(req)
    if header is None:
        return None
    return Class.parse(header, names=[name], **kw).get(name)
