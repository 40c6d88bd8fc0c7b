"""A diagnostic content handler: shows what mod_python sees of a request (spec §19).

    <Location /mpinfo>
        SetHandler mod_python
        PythonHandler mod_python.testhandler
        Require ip 127.0.0.1
    </Location>

It shows the request, its headers, mod_python configuration and options, the interpreter,
sys.path and the virtual hosts. Never enable it on a public server: it discloses paths and
configuration (it is not enabled by any configuration we generate).
"""

from __future__ import annotations

import html
import sys
from typing import Any, Iterable

from mod_python import apache

_REQUEST_ATTRIBUTES = (
    "the_request", "method", "protocol", "hostname", "uri", "unparsed_uri", "args",
    "filename", "path_info", "handler", "content_type", "status", "user", "ap_auth_type",
    "interpreter", "phase",
)
_SERVER_ATTRIBUTES = (
    "server_hostname", "port", "is_virtual", "defn_name", "defn_line_number", "server_admin",
    "timeout", "keep_alive", "keep_alive_timeout", "limit_req_line",
)


def _table(title: str, rows: Iterable[tuple[Any, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(repr(v))}</td></tr>"
        for k, v in rows
    )
    return f"<h2>{html.escape(title)}</h2><table>{cells}</table>"


def _attributes(obj: Any, names: Iterable[str]) -> list[tuple[str, Any]]:
    rows = []
    for name in names:
        try:
            rows.append((name, getattr(obj, name)))
        except Exception as exc:  # one unreadable attribute must not hide the rest
            rows.append((name, f"<{type(exc).__name__}: {exc}>"))
    return rows


def _servers(first: Any) -> list[tuple[str, Any]]:
    rows = []
    server = first
    while server is not None:
        rows.append((f"{server.defn_name}:{server.defn_line_number}",
                     f"{server.server_hostname}:{server.port}"))
        server = server.next
    return rows


def handler(req: Any) -> int:
    req.content_type = "text/html; charset=utf-8"
    conn = req.connection
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mod_python test handler"
        "</title><style>body{font:14px sans-serif}th{text-align:left;padding-right:1em;"
        "vertical-align:top}td{font-family:monospace}</style></head><body>",
        "<h1>mod_python test handler</h1>",
        _table("Request", _attributes(req, _REQUEST_ATTRIBUTES)),
        _table("Request headers", req.headers_in.items()),
        _table("Connection", _attributes(conn, ("client_ip", "local_ip", "local_addr",
                                                "keepalive", "keepalives", "id"))),
        _table("mod_python configuration (req.get_config())", req.get_config().items()),
        _table("PythonOption (req.get_options())", req.get_options().items()),
        _table("Interpreter", [
            ("apache.interpreter", apache.interpreter),
            ("sys.version", sys.version),
            ("sys.path", sys.path),
            ("mod_python", getattr(sys.modules.get("mod_python"), "__file__", None)),
        ]),
        _table("Server", _attributes(req.server, _SERVER_ATTRIBUTES)),
        _table("Servers (main and virtual hosts)", _servers(apache.main_server)),
        "</body></html>",
    ]
    req.write("".join(parts))
    return apache.OK
