"""WSGI test applications and helpers shared by test_wsgi_hosting.py and test_wsgi_bad_apps.py.

Every application is a script for ``WSGIScriptAlias``.  ``script(source, validated=True)``
appends a wrapper that runs it under ``wsgiref.validate.validator`` with every warning turned
into an error, so a PEP 3333 violation of the server (or of the app) becomes a 500 and an
error-log line, which fails the test.
"""

from __future__ import annotations

import os
import socket
import struct
import textwrap
import time
from pathlib import Path

MARKS = "@ROOT@/run"  # writable by the Apache children (the launcher chowns it)

VALIDATE_SUFFIX = '''

import warnings as _warnings
import wsgiref.validate as _validate

_warnings.simplefilter("error")
application = _validate.validator(application)
'''


# Shared head of the test applications that report, through marker files, when the server
# closed their iterable: ``mark(name)`` appends a line to ``<MARKS>/<name>``, and
# ``Body(blocks, name)`` is an iterable whose close() marks ``name``. Callers replace @MARKS@.
MARKED_BODY = '''
    import os

    MARKS = "@MARKS@"


    def mark(name, text="closed"):
        with open(os.path.join(MARKS, name), "a") as f:
            f.write(text + "\\n")


    class Body:
        def __init__(self, blocks, name):
            self.blocks = blocks
            self.name = name

        def __iter__(self):
            return iter(self.blocks)

        def close(self):
            mark(self.name)
'''


def script(source: str, validated: bool = False) -> str:
    text = textwrap.dedent(source).lstrip("\n")
    if validated:
        text += VALIDATE_SUFFIX
    return text


# Reports the environ as JSON (non-JSON values as "<type>").
ENV_APP = '''
    import json


    def application(environ, start_response):
        out = {}
        for key, value in environ.items():
            if isinstance(value, (str, int, float, bool)) or value is None:
                out[key] = value
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = "<%s>" % type(value).__name__
        out["_key_types"] = sorted({type(k).__name__ for k in environ})
        out["_cgi_value_types"] = sorted({type(v).__name__ for k, v in environ.items()
                                          if "." not in k})
        body = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
'''


def marker_path(srv, name: str) -> Path:
    return srv.root / "run" / name


def wait_marker(srv, name: str, timeout: float = 5.0) -> str:
    path = marker_path(srv, name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text()
            if text.endswith("\n"):
                return text
        time.sleep(0.02)
    raise AssertionError(f"marker {name} not written within {timeout} s")


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """Reads a response head off ``sock``; returns (head, the body bytes read after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before the response head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_to_close(sock: socket.socket, within: float | None = None) -> bytes:
    """Everything the server sends until it closes; with ``within``, it must close that soon."""
    sock.settimeout(10)
    start = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    if within is not None:
        assert time.monotonic() - start < within, f"connection still open after {within} s"
    return data


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def connect(srv, timeout: float = 30.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


def abort_close(sock: socket.socket) -> None:
    """Closes with an RST (SO_LINGER 0), as a client that goes away does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


__all__ = ["ENV_APP", "MARKS", "script", "marker_path", "wait_marker", "read_head", "rss_kib",
           "connect", "abort_close", "read_to_close", "os"]
