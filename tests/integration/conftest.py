"""Fixtures that run Debian's apache2 with our mod_python for each test.

The ``apache`` fixture is a factory: ``apache(snippet, files={...})`` writes the
files below the test's document root, renders a self-contained config with
``mod_python.launcher`` (the same code as ``make serve``), starts the server on a
free port and returns a :class:`Server`.  After the test body every server is
stopped by PID and its error log is checked: the test FAILS on error-level lines
that carry no id the test allowed (``@pytest.mark.allow_log("MP0100")`` or
``apache(..., allow_log=[...])``), and on any crash or sanitizer report.

Environment: ``MP_TEST_MPM`` (event|worker|prefork, default event),
``MP_MODULE_SO`` (default ``<repo>/build/mod_python.so``), ``MP_TEST_PRELOAD``
(LD_PRELOAD for the server, e.g. libasan); ``ASAN_OPTIONS``, ``UBSAN_OPTIONS``
and ``LSAN_OPTIONS`` are passed through.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

import pytest
import requests

from mphelpers import MODULE_SO, REQUEST_TIMEOUT, find_log_problems, launcher

DEFAULT_MPM = os.environ.get("MP_TEST_MPM", "event")
PRELOAD = os.environ.get("MP_TEST_PRELOAD") or None

# Requests to 127.0.0.1 must never go through a proxy from the environment.
for _name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_name, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

_live_servers: list["Server"] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_log(*ids): error-log ids (e.g. 'MP0100', 'AH01630') or substrings whose "
        "error-level lines this test expects",
    )


# --------------------------------------------------------------------------- HTTP


@dataclass
class RawResponse:
    """A response read off a raw socket until the server closed it."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    complete: bool  # False: chunked stream without last chunk / short Content-Length
    raw: bytes = field(repr=False)

    def header(self, name: str) -> Optional[bytes]:
        for key, value in self.headers:
            if key.lower() == name.lower().encode():
                return value
        return None

    def header_list(self, name: str) -> list[bytes]:
        return [v for k, v in self.headers if k.lower() == name.lower().encode()]


def parse_raw_response(data: bytes) -> RawResponse:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"no complete response head in {data[:300]!r}")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else b""
    headers = []
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        headers.append((key.strip(), value.strip()))
    hdrs = {k.lower(): v for k, v in headers}
    if hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
        body, complete = _dechunk(rest)
    elif b"content-length" in hdrs:
        length = int(hdrs[b"content-length"])
        body, complete = rest[:length], len(rest) >= length
    else:
        body, complete = rest, True
    return RawResponse(status, reason, headers, body, complete, data)


def _dechunk(data: bytes) -> tuple[bytes, bool]:
    body = b""
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return body, False
        size_text = data[pos:eol].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return body, False
        if size == 0:
            return body, data.find(b"\r\n", eol + 2) >= 0 or data[eol + 2:] == b""
        chunk = data[eol + 2:eol + 2 + size]
        body += chunk
        if len(chunk) < size or data[eol + 2 + size:eol + 4 + size] != b"\r\n":
            return body, False
        pos = eol + 4 + size


# ------------------------------------------------------------------------- server


class _Session(requests.Session):
    """requests.Session with a default timeout and no proxies from the environment."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False

    def request(self, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return super().request(*args, **kwargs)


class Server:
    """A running test server: URLs, HTTP helpers and its error log."""

    def __init__(self, instance, docroot: Path, allowed: Iterable[str], name: str) -> None:
        self.instance = instance
        self.docroot = docroot
        self.allowed = tuple(allowed)
        self.name = name
        self.finished = False

    @property
    def port(self) -> int:
        return int(self.instance.port)

    @property
    def root(self) -> Path:
        return Path(self.instance.root)

    @property
    def pid(self) -> Optional[int]:
        return self.instance.pid

    def url(self, path: str = "/") -> str:
        return self.instance.url(path)

    # -- HTTP

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return requests.get(self.url(path), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return requests.post(self.url(path), **kwargs)

    def session(self) -> requests.Session:
        """A keep-alive session: under prefork its requests stay in one child."""
        return _Session()

    def raw(self, request: bytes, timeout: float = REQUEST_TIMEOUT) -> RawResponse:
        """Send raw bytes, read until the server closes, parse the response."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(request)
            chunks = []
            while True:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                chunks.append(data)
        return parse_raw_response(b"".join(chunks))

    # -- log and lifecycle

    def error_log(self) -> str:
        return self.instance.error_log()

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> str:
        """Poll the error log until a line matches ``pattern`` (regex); return that line."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.error_log().splitlines():
                if regex.search(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matching {pattern!r}:\n{self.error_log()}")
            time.sleep(0.02)

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.error_log().splitlines() if needle in line]

    def restart(self) -> None:
        """Graceful restart (SIGUSR1); returns when the new generation is up."""
        self.instance.graceful_restart()

    def stop(self) -> Optional[int]:
        return self.instance.stop()

    def log_problems(self) -> list[str]:
        """Error-log lines that make the test fail."""
        text = self.error_log()
        try:
            text += (self.root / "logs" / "stdout.log").read_text(errors="replace")
        except OSError:
            pass
        event_mpm = "mod_mpm_event.so" in getattr(self.instance, "config", "")
        stopping = getattr(self.instance, "stop_started", None) if event_mpm else None
        return find_log_problems(text, self.allowed, stopping)

    def finish(self) -> list[str]:
        """Stop the server (idempotent) and return the log problems."""
        if self.finished:
            return []
        self.finished = True
        try:
            self.stop()
        finally:
            if self in _live_servers:
                _live_servers.remove(self)
        return [f"{self.name}: {line}" for line in self.log_problems()]


def _stop_all_at_exit() -> None:
    for server in list(_live_servers):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(_stop_all_at_exit)

FileContent = Union[str, bytes]


def write_files(base: Path, files: Mapping[str, FileContent], values: Mapping[str, str]) -> None:
    """Write ``files`` (paths relative to ``base``; str content is dedented)."""
    for rel, content in files.items():
        path = (base / rel).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = launcher.substitute(textwrap.dedent(content).lstrip("\n"), values)
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)


def _vhost_blocks(vhosts: Mapping[str, str], port: int) -> str:
    # A first, default vhost keeps requests for 127.0.0.1 on the main server's
    # name (interpreter "127.0.0.1"); name-based vhosts follow.
    blocks = [f"<VirtualHost *:{port}>\n    ServerName 127.0.0.1\n</VirtualHost>"]
    for name, body in vhosts.items():
        inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        blocks.append(f"<VirtualHost *:{port}>\n    ServerName {name}\n{inner}\n</VirtualHost>")
    return "\n".join(blocks)


@pytest.fixture
def apache(request: pytest.FixtureRequest, tmp_path: Path):
    """Factory fixture: ``apache(snippet, files=..., mpm=..., vhosts=..., allow_log=...)``.

    ``snippet`` and vhost bodies may use ``@ROOT@``, ``@DOCROOT@`` and ``@PORT@``.
    ``files`` maps paths relative to the document root (``../lib/x.py`` is fine)
    to their content.  ``vhosts`` maps a ServerName to the body of a name-based
    ``<VirtualHost *:PORT>``.
    """
    marker_ids: list[str] = []
    for marker in request.node.iter_markers("allow_log"):
        marker_ids.extend(marker.args)
    servers: list[Server] = request.node.__dict__.setdefault("_mp_servers", [])

    def factory(
        snippet: str = "",
        files: Optional[Mapping[str, FileContent]] = None,
        mpm: Optional[str] = None,
        vhosts: Optional[Mapping[str, str]] = None,
        allow_log: Iterable[str] = (),
        log_level: str = "warn",
        extra_modules: Iterable[str] = (),
    ) -> Server:
        if not MODULE_SO.is_file():
            pytest.fail(f"{MODULE_SO} does not exist: run `make build` (or set MP_MODULE_SO)")
        index = len(servers)
        root = tmp_path / (f"server{index}" if index else "server")
        user = launcher.server_user()
        root = launcher.prepare_root(root, None)
        docroot = root / "htdocs"
        last_error: Optional[Exception] = None
        for _attempt in range(4):
            port = launcher.free_port()
            values = {"ROOT": str(root), "DOCROOT": str(docroot), "PORT": str(port)}
            text = textwrap.dedent(snippet)
            if vhosts:
                text += "\n" + _vhost_blocks(vhosts, port)
            config = launcher.render_config(
                root,
                port,
                MODULE_SO,
                mpm=mpm or DEFAULT_MPM,
                snippet=launcher.substitute(text, values),
                log_level=log_level,
                extra_modules=tuple(extra_modules),
                user=user,
            )
            write_files(docroot, files or {}, values)
            launcher.prepare_root(root, user)  # permissions for www-data when root
            instance = launcher.ApacheInstance(
                root,
                config,
                port,
                preload=PRELOAD,
                pass_sanitizer_env=True,
            )
            server = Server(instance, docroot, [*marker_ids, *allow_log], root.name)
            servers.append(server)
            _live_servers.append(server)
            try:
                instance.start()
                return server
            except launcher.ApacheError as exc:
                last_error = exc
                server.finished = True
                _live_servers.remove(server)
                servers.remove(server)
                if "Address already in use" not in str(exc):
                    break
                instance.error_log_path.unlink(missing_ok=True)
        pytest.fail(f"could not start apache2: {last_error}", pytrace=False)

    yield factory
    # Safety net (setup errors, interrupted tests): the call hook below normally
    # stopped and checked everything already.
    for server in servers:
        server.finish()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After the test body: stop its servers and fail on unexpected log lines."""
    outcome = yield
    servers: list[Server] = item.__dict__.get("_mp_servers", [])
    problems: list[str] = []
    for server in servers:
        problems.extend(server.finish())
        log = server.error_log()
        if log:
            item.add_report_section("call", f"apache error log ({server.name})", log)
    if problems and outcome.excinfo is None:
        pytest.fail(
            "unexpected lines in the Apache error log:\n" + "\n".join(problems),
            pytrace=False,
        )
