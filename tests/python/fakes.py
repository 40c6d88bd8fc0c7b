"""Fakes for testing mod_python's pure-Python modules without Apache.

``install()`` puts the repository's ``python/`` first on ``sys.path`` (so Debian's
``mod_python`` in dist-packages never shadows ours) and registers a minimal fake of the
built-in ``_apache`` module, so that ``mod_python.apache`` — and everything importing it
lazily — works in a plain interpreter.

``FakeTable`` follows the ``mp_table`` rules of spec §10.2/§1 (case-insensitive multi-dict,
values stored as bytes: ``str`` encoded Latin-1 with surrogate escapes restored, read back
as UTF-8 with ``surrogateescape``).  ``FakeRequest`` provides the subset of ``mp_request``
the form and cookie code uses, with ``read``/``readline`` behaving like the C++ ones
(``src/python/request_io.cpp``) and a streaming body source so large uploads never need
to exist in memory.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Union

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"


# --------------------------------------------------------------------------- table

def _to_apache(value: Any, header: bool = False) -> bytes:
    """Python → Apache conversion of spec §1."""
    if isinstance(value, bytes):
        data = value
    else:
        if not isinstance(value, str):
            value = str(value)
        out = bytearray()
        for char in value:
            code = ord(char)
            if code <= 0xFF:
                out.append(code)
            elif 0xDC80 <= code <= 0xDCFF:
                out.append(code - 0xDC00)
            else:
                raise TypeError("not an ISO-8859-1 string")
        data = bytes(out)
    if b"\x00" in data:
        raise ValueError("embedded null character")
    if header and (b"\r" in data or b"\n" in data):
        raise ValueError("header values must not contain CR or LF")
    return data


def _from_apache(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class FakeTable:
    """A case-insensitive multi-dict like ``mp_table``."""

    def __init__(self, init: Any = None, header: bool = False) -> None:
        self._items: list[tuple[bytes, bytes]] = []
        self._header = header
        if init is not None:
            pairs = init.items() if hasattr(init, "items") else init
            for key, value in pairs:
                self.add(key, value)

    @staticmethod
    def _key(key: Any) -> bytes:
        return _to_apache(key).lower()

    def add(self, key: Any, value: Any) -> None:
        self._items.append((_to_apache(key), _to_apache(value, self._header)))

    def __setitem__(self, key: Any, value: Any) -> None:
        data = _to_apache(value, self._header)
        lowered = self._key(key)
        self._items = [(k, v) for k, v in self._items if k.lower() != lowered]
        self._items.append((_to_apache(key), data))

    def __getitem__(self, key: Any) -> Union[str, list]:
        lowered = self._key(key)
        found = [_from_apache(v) for k, v in self._items if k.lower() == lowered]
        if not found:
            raise KeyError(key)
        return found[0] if len(found) == 1 else found

    def __delitem__(self, key: Any) -> None:
        lowered = self._key(key)
        kept = [(k, v) for k, v in self._items if k.lower() != lowered]
        if len(kept) == len(self._items):
            raise KeyError(key)
        self._items = kept

    def get(self, key: Any, default: Any = None) -> Any:
        lowered = self._key(key)
        for k, v in self._items:
            if k.lower() == lowered:
                return _from_apache(v)
        return default

    def setdefault(self, key: Any, default: Any = "") -> Any:
        if key not in self:
            self.add(key, default)
        return self.get(key)

    def __contains__(self, key: Any) -> bool:
        if not isinstance(key, (str, bytes)):
            return False
        lowered = self._key(key)
        return any(k.lower() == lowered for k, _ in self._items)

    has_key = __contains__

    def keys(self) -> list:
        return [_from_apache(k) for k, _ in self._items]

    def values(self) -> list:
        return [_from_apache(v) for _, v in self._items]

    def items(self) -> list:
        return [(_from_apache(k), _from_apache(v)) for k, v in self._items]

    def update(self, mapping: Any) -> None:
        pairs = mapping.items() if hasattr(mapping, "items") else mapping
        for key, value in pairs:
            self[key] = value

    def clear(self) -> None:
        self._items = []

    def copy(self) -> "FakeTable":
        other = FakeTable(header=self._header)
        other._items = list(self._items)
        return other

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"FakeTable({self.items()!r})"

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------- _apache

class SERVER_RETURN(Exception):  # noqa: N801 (mod_python name)
    """The fake ``_apache.SERVER_RETURN``."""


LOGGED: list[tuple[str, int]] = []


def _log_error(message: str, level: int = 3, server: Any = None) -> None:
    LOGGED.append((message, level))


def _make_fake_apache() -> types.ModuleType:
    module = types.ModuleType("_apache")
    module.__dict__.update(
        SERVER_RETURN=SERVER_RETURN,
        log_error=_log_error,
        _log_stream=lambda line, level: LOGGED.append((line, level)),
        table=FakeTable,
        make_table=FakeTable,
        config_tree=lambda: [],
        exists_config_define=lambda name: False,
        mpm_query=lambda code: 0,
        server_root=lambda: str(REPO),
        stat=lambda fname, wanted: None,
        MODULE_MAGIC_NUMBER_MAJOR=20120211,
        MODULE_MAGIC_NUMBER_MINOR=0,
        AP_CONN_UNKNOWN=0,
        AP_CONN_CLOSE=1,
        AP_CONN_KEEPALIVE=2,
        APR_NOFILE=0, APR_REG=1, APR_DIR=2, APR_CHR=3, APR_BLK=4, APR_PIPE=5, APR_LNK=6,
        APR_SOCK=7, APR_UNKFILE=127,
        __fake__=True,
    )
    return module


def install() -> types.ModuleType:
    """Make ``mod_python`` (ours) and a fake ``_apache`` importable; return ``apache``."""
    path = str(PYTHON_DIR)
    if sys.path[:1] != [path]:
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    existing = sys.modules.get("mod_python")
    if existing is not None and not str(getattr(existing, "__file__", "")).startswith(path):
        for name in [n for n in sys.modules if n == "mod_python" or n.startswith("mod_python.")]:
            del sys.modules[name]
    if "_apache" not in sys.modules:
        sys.modules["_apache"] = _make_fake_apache()
    from mod_python import apache
    assert apache.__file__.startswith(path), apache.__file__
    return apache


# --------------------------------------------------------------------------- request

BodySource = Union[bytes, bytearray, Iterable[bytes]]


class FakeRequest:
    """The parts of ``mp_request`` used by util and Cookie.

    ``body`` is bytes or an iterable of byte chunks (streamed: at most one chunk is held
    besides the read buffer).  ``chunked=True`` sends ``Transfer-Encoding: chunked``
    instead of a Content-Length (the body is then delivered in the given pieces, as
    httpd's dechunking input filter would).
    """

    CLIENT_BLOCK = 65536  # the C++ fill() reads at most this much per ap_get_client_block

    def __init__(self, method: str = "GET", args: Optional[str] = None,
                 headers: Any = None, body: BodySource = b"",
                 options: Optional[dict] = None, chunked: bool = False,
                 content_length: Optional[int] = None, content_type: Optional[str] = None
                 ) -> None:
        self.method = method
        self.args = args
        self.uri = "/"
        self.headers_in = FakeTable(headers)
        self.headers_out = FakeTable(header=True)
        self.err_headers_out = FakeTable(header=True)
        self.status = 200
        self.content_type: Optional[str] = None
        self.sent_bodyct = 0
        self.output = bytearray()
        self._options = FakeTable(options or {})
        if content_type is not None:
            self.headers_in["Content-Type"] = content_type
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
            self._source: Iterator[bytes] = iter([data] if data else [])
            size: Optional[int] = len(data)
        else:
            self._source = iter(body)
            size = None
        if chunked:
            self.headers_in["Transfer-Encoding"] = "chunked"
        elif content_length is not None:
            self.headers_in["Content-Length"] = str(content_length)
        elif size is not None and method == "POST":
            self.headers_in["Content-Length"] = str(size)
        self._current = b""  # the source chunk being delivered, from _offset on
        self._offset = 0
        self._buffer = bytearray()
        self._done = False
        # Instrumentation for the tests.
        self.peak_buffer = 0
        self.bytes_read = 0
        self.readline_calls = 0
        self.max_readline_size: Optional[int] = None  # None: readline() without a limit
        self.read_calls = 0

    # -- body input (mirrors request_io.cpp)

    def _get_client_block(self, size: int) -> bytes:
        while self._offset >= len(self._current):
            try:
                self._current = next(self._source)
            except StopIteration:
                self._current = b""
                self._offset = 0
                return b""
            self._offset = 0
        start = self._offset
        self._offset = min(start + size, len(self._current))
        return self._current[start:self._offset]

    def _fill(self, want: int) -> None:
        goal = len(self._buffer) + want
        while not self._done and len(self._buffer) < goal:
            step = min(goal - len(self._buffer), self.CLIENT_BLOCK)
            got = self._get_client_block(step)
            if not got:
                self._done = True
            self._buffer += got
            self.peak_buffer = max(self.peak_buffer, len(self._buffer))

    def _take(self, n: int) -> bytes:
        n = min(n, len(self._buffer))
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        self.bytes_read += n
        return out

    def read(self, n: Optional[int] = None) -> bytes:
        self.read_calls += 1
        if n == 0:
            return b""
        if n is None or n < 0:
            while not self._done:
                self._fill(self.CLIENT_BLOCK)
            return self._take(len(self._buffer))
        if len(self._buffer) < n:
            self._fill(n - len(self._buffer))
        return self._take(n)

    def readline(self, n: Optional[int] = None) -> bytes:
        self.readline_calls += 1
        if self.readline_calls == 1 or self.max_readline_size is not None:
            self.max_readline_size = None if n is None or n < 0 else \
                max(n, self.max_readline_size or 0)
        if n == 0:
            return b""
        limit = sys.maxsize if n is None or n < 0 else n
        scanned = 0
        while True:
            nl = self._buffer.find(b"\n", scanned)
            if 0 <= nl < limit:
                return self._take(nl + 1)
            if len(self._buffer) >= limit:
                return self._take(limit)
            if self._done:
                return self._take(len(self._buffer))
            scanned = len(self._buffer)
            self._fill(8192)

    def readlines(self, sizehint: Optional[int] = None) -> list:
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if sizehint and total >= sizehint:
                return lines

    # -- output and configuration

    def write(self, data: Union[str, bytes], flush: int = 1) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.output += data
        if data:
            self.sent_bodyct = 1

    def flush(self) -> None:
        pass

    def get_options(self) -> FakeTable:
        return self._options.copy()

    def log_error(self, message: str, level: int = 3) -> None:
        LOGGED.append((message, level))


def multipart_body(parts: Iterable[tuple], boundary: str = "XyZzy-boundary") -> bytes:
    """Build a multipart/form-data body from ``(name, value[, filename[, ctype]])``."""
    out = bytearray()
    for part in parts:
        name, value = part[0], part[1]
        filename = part[2] if len(part) > 2 else None
        ctype = part[3] if len(part) > 3 else None
        if isinstance(value, str):
            value = value.encode("utf-8")
        out += f"--{boundary}\r\n".encode()
        disp = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += disp.encode("utf-8", "surrogateescape") + b"\r\n"
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def multipart_request(parts: Iterable[tuple], boundary: str = "XyZzy-boundary",
                      **kwargs: Any) -> FakeRequest:
    body = kwargs.pop("body", None)
    if body is None:
        body = multipart_body(parts, boundary)
    return FakeRequest("POST", body=body,
                       content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def streamed_upload(size: int, boundary: str = "XyZzy-boundary", name: str = "file",
                    filename: str = "big.bin", piece: int = 1 << 20,
                    pattern: bytes = b"0123456789abcdef\r\n--not-a-boundary\n") -> Iterator[bytes]:
    """A multipart body with one ``size``-byte file part, generated piece by piece."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
           f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
           ).encode()
    block = (pattern * (piece // len(pattern) + 1))[:piece]
    remaining = size
    while remaining > 0:
        chunk = block[:remaining]
        remaining -= len(chunk)
        yield chunk
    yield f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nok\r\n" \
          f"--{boundary}--\r\n".encode()


def streamed_content(size: int, piece: int = 1 << 20,
                     pattern: bytes = b"0123456789abcdef\r\n--not-a-boundary\n") -> bytes:
    """What ``streamed_upload`` puts in the file part (for small sizes in tests)."""
    block = (pattern * (piece // len(pattern) + 1))[:piece]
    out = bytearray()
    remaining = size
    while remaining > 0:
        chunk = block[:remaining]
        remaining -= len(chunk)
        out += chunk
    return bytes(out)
