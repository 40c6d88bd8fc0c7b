"""Run a WSGI (PEP 3333) application as a mod_python handler (spec §16).

    PythonHandler mod_python.wsgi
    PythonOption mod_python.wsgi.application module[::callable]
    PythonOption mod_python.wsgi.base_uri /app      (optional, no trailing '/')
"""

from __future__ import annotations

import re
import threading
from typing import Any, Optional

from mod_python import apache

__all__ = ["handler", "FileWrapper", "build_environ"]

_STATUS = re.compile(r"^([0-9]{3})(?: ([^\x00-\x1f\x7f]*))?$")
_TOKEN_BAD = re.compile(r"[\x00-\x20\x7f:()<>@,;\\\"/\[\]?={}]")
_VALUE_BAD = re.compile(r"[\r\n\x00]")


def _latin1(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if value.isascii():  # the usual case: no need to encode to find out
        return value
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("unicode object contains non latin-1 characters") from None
    return value


class ErrorStream:
    """wsgi.errors: text written here goes to Apache's error log, a line at a time."""

    def __init__(self, req: Any) -> None:
        self._req = req
        self._buffer = ""
        self._lock = threading.Lock()

    def write(self, text: Any) -> int:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._log(line)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            pending, self._buffer = self._buffer, ""
        if pending:
            self._log(pending)

    def _log(self, line: str) -> None:
        try:
            self._req.log_error(line, apache.APLOG_ERR)
        except RuntimeError:  # the request ended: fall back to the server log
            apache.log_error(line, apache.APLOG_ERR)


class InputStream:
    """wsgi.input over the request body; other attributes reach the request object."""

    def __init__(self, req: Any, response: "_Response") -> None:
        self._req = req
        self._response = response

    def _check(self) -> None:
        if self._response.closed:
            raise RuntimeError("wsgi.input used after the request finished")

    def read(self, size: Optional[int] = -1) -> bytes:
        self._check()
        if size is None or size < 0:
            return self._req.read()
        if size == 0:
            return b""
        return self._req.read(size)

    def readline(self, size: Optional[int] = -1) -> bytes:
        self._check()
        if size is None or size < 0:
            return self._req.readline()
        if size == 0:
            return b""
        return self._req.readline(size)

    def readlines(self, hint: Optional[int] = -1) -> list:
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                break
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> "InputStream":
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._req, name)


class FileWrapper:
    """wsgi.file_wrapper: iterates a file-like object in ``blksize`` blocks."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> "FileWrapper":
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class _Response:
    """start_response/write state of one request (PEP 3333)."""

    def __init__(self, req: Any) -> None:
        self.req = req
        self.status: Optional[str] = None
        self.headers: Optional[list] = None
        self.headers_sent = False
        self.closed = False
        self.applied: list = []  # header names set by apply_headers()

    def start_response(self, status: str, response_headers: list,
                       exc_info: Any = None) -> Any:
        if self.closed:
            raise RuntimeError("start_response() called after the request finished")
        if exc_info is not None:
            if not isinstance(exc_info, tuple) or len(exc_info) != 3:
                raise TypeError("exc_info must be a 3-tuple or None")
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        # A second call without exc_info before headers are sent replaces them (tolerated).
        elif self.headers_sent:
            raise RuntimeError("headers have already been sent")
        _latin1(status, "status")
        if not _STATUS.match(status):
            raise ValueError(f"invalid status line {status!r}")
        if not 200 <= int(status[:3]) <= 599:
            # A 1xx sent as the final response would desynchronise the client's connection.
            raise ValueError(f"status code must be between 200 and 599, not {status[:3]}")
        if not isinstance(response_headers, list):
            raise TypeError("response headers must be a list")
        checked = []
        for item in response_headers:
            if not isinstance(item, tuple) or len(item) != 2:
                raise TypeError("response headers must be 2-tuples")
            name, value = item
            _latin1(name, "header name")
            _latin1(value, "header value")
            if not name or _TOKEN_BAD.search(name):
                raise ValueError(f"invalid header name {name!r}")
            if _VALUE_BAD.search(value):
                raise ValueError("carriage return/line feed character present in header value")
            if name.lower() == "content-length":
                if not value.strip().isdigit():
                    raise ValueError(f"invalid Content-Length {value!r}")
            checked.append((name, value))
        self.status = status
        self.headers = checked
        return self.write

    def apply_headers(self) -> None:
        """For req.wsgi_start_response(): its caller writes with req.write(), so the status
        and headers go on the request now. A second call (with exc_info, before the body
        started) replaces the headers of the first."""
        req = self.req
        for name in self.applied:
            if name in req.headers_out:
                del req.headers_out[name]
            if name.lower() == "www-authenticate" and name in req.err_headers_out:
                del req.err_headers_out[name]
        self._apply()
        self.applied = [name for name, _ in self.headers
                        if name.lower() not in ("content-type", "content-length")]

    def _send_headers(self) -> None:
        if self.headers_sent:
            return
        self._apply()
        self.headers_sent = True

    def _apply(self) -> None:
        if self.status is None:
            raise RuntimeError("the WSGI application did not call start_response()")
        req = self.req
        code = int(self.status[:3])
        req.status = code
        if len(self.status) > 4:
            req.status_line = self.status
        for name, value in self.headers:
            lower = name.lower()
            if lower == "content-type":
                req.content_type = value
            elif lower == "content-length":
                req.set_content_length(int(value))
            else:
                req.headers_out.add(name, value)
                if lower == "www-authenticate":
                    req.err_headers_out.add(name, value)

    def write(self, data: Any) -> None:
        if self.closed:
            raise RuntimeError("write() called after the request finished")
        if self.status is None:
            raise RuntimeError("write() called before start_response()")
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"WSGI body blocks must be bytes, not {type(data).__name__}")
        if not data:
            return
        self._send_headers()
        self.req.write(bytes(data))

    def finish(self) -> None:
        self._send_headers()


def _script_name(req: Any, options: Any) -> str:
    base_uri = options.get("mod_python.wsgi.base_uri")
    if base_uri is not None:
        if base_uri.endswith("/"):
            raise ValueError("mod_python.wsgi.base_uri must not end with '/': "
                             f"{base_uri!r}")
        return base_uri
    hlist = getattr(req, "hlist", None)
    if hlist is not None and getattr(hlist, "is_location", 0) and hlist.directory:
        return hlist.directory.rstrip("/")
    return ""


_MPM_FLAGS: Optional[tuple] = None


def _mpm_flags() -> tuple:
    """(multithread, multiprocess) of this process's MPM: fixed for its lifetime."""
    global _MPM_FLAGS
    if _MPM_FLAGS is None:
        try:
            not_supported = apache.AP_MPMQ_NOT_SUPPORTED
            _MPM_FLAGS = (apache.mpm_query(apache.AP_MPMQ_IS_THREADED) != not_supported,
                          apache.mpm_query(apache.AP_MPMQ_IS_FORKED) != not_supported)
        except Exception:  # noqa: BLE001 - not available: assume both
            _MPM_FLAGS = (True, True)
    return _MPM_FLAGS


def build_environ(req: Any, script_name: str, path_info: str) -> dict:
    """The environ for ``req`` without ``wsgi.input`` (spec §16).

    The CGI variables come from ``req._wsgi_cgi_environ`` (C++): ``subprocess_env`` after
    ``add_cgi_vars()``, ``HTTP_AUTHORIZATION``, ``SCRIPT_NAME`` and ``PATH_INFO``, every
    name and value a native string (httpd's bytes as latin-1).
    """
    environ = req._wsgi_cgi_environ(script_name, path_info)
    https = environ.get("HTTPS", "").lower() in ("on", "1")
    threaded, forked = _mpm_flags()
    environ.update({
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if https else "http",
        "wsgi.multithread": threaded,
        "wsgi.multiprocess": forked,
        "wsgi.run_once": False,
        "wsgi.errors": ErrorStream(req),
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    })
    return environ


def _request_response(req: Any) -> "_Response":
    """The start_response state of ``req`` shared by req.build_wsgi_env() and
    req.wsgi_start_response() (one per request, kept in the request's attributes)."""
    response = req.__dict__.get("_mod_python_wsgi_response")
    if response is None:
        response = _Response(req)
        req.__dict__["_mod_python_wsgi_response"] = response
    return response


def request_environ(req: Any) -> Optional[dict]:
    """``req.build_wsgi_env()``: the environ the handler would pass, or None when
    ``req.uri`` is outside ``mod_python.wsgi.base_uri`` (as in mod_python 3.5)."""
    return _mounted_environ(req, req.get_options(), _request_response(req))


def _mounted_environ(req: Any, options: Any, response: "_Response") -> Optional[dict]:
    """The full environ (``wsgi.input`` reading for ``response``), or None when ``req.uri``
    is outside the mount point (``mod_python.wsgi.base_uri`` or the ``<Location>``)."""
    script_name = _script_name(req, options)
    uri = req.uri or ""
    if script_name and not (uri == script_name or uri.startswith(script_name + "/")):
        return None
    environ = build_environ(req, script_name, uri[len(script_name):])
    environ["wsgi.input"] = InputStream(req, response)
    return environ


def request_start_response(req: Any, status: str, response_headers: list,
                           exc_info: Any = None) -> Any:
    """``req.wsgi_start_response``: PEP 3333 start_response for ``req``; the returned
    ``write()`` sends the headers first. Headers of a response that only returns an
    iterable are set on ``req`` when it writes its first block."""
    response = _request_response(req)
    response.headers_sent = response.headers_sent or bool(req.sent_bodyct)
    write = response.start_response(status, response_headers, exc_info)
    response.apply_headers()
    return write


def _flag(config: Any, name: str, default: str) -> bool:
    return str(config.get(name, default)) not in ("0", "", "Off", "off")


def handler(req: Any) -> int:
    options = req.get_options()
    spec = options.get("mod_python.wsgi.application")
    application = None
    if spec:
        module_name, _, callable_name = spec.partition("::")
        config = req.get_config()
        module = apache.import_module(module_name.strip(),
                                      autoreload=_flag(config, "PythonAutoReload", "1"),
                                      log=_flag(config, "PythonDebug", "0"))
        application = getattr(module, callable_name.strip() or "application", None)
    if application is None or not callable(application):
        req.log_error(f"WSGI handler: mod_python.wsgi.application ({spec}) not found, "
                      "declining.", apache.APLOG_WARNING)
        return apache.DECLINED

    response = _Response(req)
    environ = _mounted_environ(req, options, response)
    if environ is None:
        req.log_error(f"WSGI handler: req.uri ({req.uri}) does not start with the base uri "
                      f"({_script_name(req, options)}), declining.", apache.APLOG_WARNING)
        return apache.DECLINED
    result = None
    try:
        result = application(environ, response.start_response)
        for block in result:
            response.write(block)
        response.finish()
    finally:
        try:
            # (a plain list or tuple has no close(); sparing the failed lookup)
            close = None if type(result) in (list, tuple) else getattr(result, "close", None)
            if close is not None:
                close()
        finally:
            response.closed = True
            environ["wsgi.errors"].flush()
    return apache.OK


