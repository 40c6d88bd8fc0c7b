"""Query strings and header parameters: the syntax side of ``mod_python.util`` (spec §11.3,
§11.4).  ``util`` re-exports ``parse_qs``, ``parse_qsl`` and ``parse_header``; FieldStorage
uses ``_qsl`` for its field limit.  Pure functions, no Apache.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Iterator, Optional, Union

# --------------------------------------------------------------------------- parse_qs(l)

_SEPARATORS_STR = re.compile(r"[&;]")
_SEPARATORS_BYTES = re.compile(rb"[&;]")
_SEGMENT_STR = re.compile(r"[^&;]+")
_SEGMENT_BYTES = re.compile(rb"[^&;]+")


def _segments(qs: Union[str, bytes], strict_parsing: Any) -> Iterator[Union[str, bytes]]:
    """The ``&``/``;``-separated segments of ``qs``; empty ones only when strict."""
    if not qs:
        return
    is_bytes = isinstance(qs, bytes)
    if not strict_parsing:
        pattern = _SEGMENT_BYTES if is_bytes else _SEGMENT_STR
        for match in pattern.finditer(qs):
            yield match.group()
        return
    separators = _SEPARATORS_BYTES if is_bytes else _SEPARATORS_STR
    start = 0
    while True:
        match = separators.search(qs, start)
        if match is None:
            yield qs[start:]
            return
        yield qs[start:match.start()]
        start = match.end()


def _qsl(qs: Union[str, bytes], keep_blank_values: Any, strict_parsing: Any,
         max_fields: Optional[int] = None) -> list:
    """parse_qsl with an optional limit on the number of returned pairs.

    Raises ValueError for malformed pairs under ``strict_parsing`` and
    OverflowError when more than ``max_fields`` pairs (if not None) would be returned.
    """
    if isinstance(qs, (bytearray, memoryview)):
        qs = bytes(qs)
    if not isinstance(qs, (str, bytes)):
        raise TypeError(f"parse_qsl() argument must be str or bytes, not {type(qs).__name__}")
    is_bytes = isinstance(qs, bytes)
    equal, plus, space = (b"=", b"+", b" ") if is_bytes else ("=", "+", " ")
    result: list = []
    for segment in _segments(qs, strict_parsing):
        if not segment and not strict_parsing:
            continue
        name, sep, value = segment.partition(equal)
        if not sep:
            if strict_parsing:
                raise ValueError(f"bad query field: {segment!r}")
            if not keep_blank_values:
                continue
        if not value and not keep_blank_values:
            continue
        name = name.replace(plus, space)
        value = value.replace(plus, space)
        if is_bytes:
            pair = (urllib.parse.unquote_to_bytes(name), urllib.parse.unquote_to_bytes(value))
        else:
            pair = (urllib.parse.unquote(name, "utf-8", "replace"),
                    urllib.parse.unquote(value, "utf-8", "replace"))
        if max_fields is not None and len(result) >= max_fields:
            raise OverflowError("too many fields")
        result.append(pair)
    return result


def parse_qsl(qs: Union[str, bytes], keep_blank_values: Any = 0,
              strict_parsing: Any = 0) -> list:
    """List of ``(name, value)`` pairs of a query string (spec §11.4).

    Same results as ``urllib.parse.parse_qsl`` except that both ``&`` and ``;`` separate
    pairs.  ``str`` input gives ``str`` (decoded UTF-8 with ``errors="replace"``), ``bytes``
    input gives undecoded ``bytes``.  ``strict_parsing`` raises ValueError on bad pairs.
    """
    return _qsl(qs, keep_blank_values, strict_parsing)


def parse_qs(qs: Union[str, bytes], keep_blank_values: Any = 0,
             strict_parsing: Any = 0) -> dict:
    """``{name: [values...]}`` of a query string, names in first-seen order."""
    result: dict = {}
    for name, value in _qsl(qs, keep_blank_values, strict_parsing):
        result.setdefault(name, []).append(value)
    return result


# --------------------------------------------------------------------------- parse_header

def _split_params(line: bytes) -> list:
    """Split at ``;`` outside double-quoted strings (backslash escapes honoured)."""
    parts = []
    start = 0
    in_quotes = False
    i = 0
    size = len(line)
    while i < size:
        char = line[i]
        if in_quotes:
            if char == 0x5C:  # backslash: skip the escaped byte
                i += 1
            elif char == 0x22:
                in_quotes = False
        elif char == 0x22:
            in_quotes = True
        elif char == 0x3B:
            parts.append(line[start:i])
            start = i + 1
        i += 1
    parts.append(line[start:])
    return parts


def parse_header(line: bytes) -> tuple:
    """Parse a Content-Type-like header value (spec §11.3).

    Returns ``(main_value, params)``: the main value lower-cased (bytes) and a dict of
    lower-cased bytes parameter names to str values (Latin-1), surrounding quotes removed and
    backslash escapes inside them undone.
    """
    if not isinstance(line, bytes):
        raise TypeError(f"parse_header() argument must be bytes, not {type(line).__name__}")
    if b'"' in line:
        parts = _split_params(line)
    else:
        parts = line.split(b";")
    main = parts[0].strip().lower()
    params: dict = {}
    for part in parts[1:]:
        name, sep, value = part.partition(b"=")
        if not sep:
            continue
        name = name.strip().lower()
        value = value.strip()
        if len(value) >= 2 and value[:1] == b'"' and value[-1:] == b'"':
            # A quoted-string: \" and \\ stand for " and \ (as cgi.parse_header and 3.5).
            value = value[1:-1].replace(b"\\\\", b"\\").replace(b'\\"', b'"')
        params[name] = value.decode("latin-1")
    return main, params
