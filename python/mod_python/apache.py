"""mod_python.apache: the Python side of the Apache integration (spec §9).

Dispatch runs in C++; this module holds constants, the import/reload policy that dispatch
calls on a cache miss (``import_module``), and helpers handlers use.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import io
import os
import sys
import threading
import time
from typing import Any, Optional

import _apache
from _apache import (  # noqa: F401  (re-exported API)
    SERVER_RETURN,
    config_tree,
    exists_config_define,
    log_error,
    make_table,
    mpm_query,
    server_root,
    stat,
    table,
)

# Set by the C++ side for each interpreter.
interpreter: Optional[str] = None
main_server = None

MODULE_MAGIC_NUMBER_MAJOR = _apache.MODULE_MAGIC_NUMBER_MAJOR
MODULE_MAGIC_NUMBER_MINOR = _apache.MODULE_MAGIC_NUMBER_MINOR

# --- result codes -----------------------------------------------------------------------
OK = REQ_PROCEED = 0
DECLINED = REQ_NOACTION = -1
DONE = -2
REQ_ABORTED = 500
REQ_EXIT = "REQ_EXIT"

# --- HTTP status codes ------------------------------------------------------------------
HTTP_CONTINUE = 100
HTTP_SWITCHING_PROTOCOLS = 101
HTTP_PROCESSING = 102
HTTP_OK = 200
HTTP_CREATED = 201
HTTP_ACCEPTED = 202
HTTP_NON_AUTHORITATIVE = 203
HTTP_NO_CONTENT = 204
HTTP_RESET_CONTENT = 205
HTTP_PARTIAL_CONTENT = 206
HTTP_MULTI_STATUS = 207
HTTP_MULTIPLE_CHOICES = 300
HTTP_MOVED_PERMANENTLY = 301
HTTP_MOVED_TEMPORARILY = 302
HTTP_SEE_OTHER = 303
HTTP_NOT_MODIFIED = 304
HTTP_USE_PROXY = 305
HTTP_TEMPORARY_REDIRECT = 307
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_PAYMENT_REQUIRED = 402
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_NOT_ACCEPTABLE = 406
HTTP_PROXY_AUTHENTICATION_REQUIRED = 407
HTTP_REQUEST_TIME_OUT = 408
HTTP_CONFLICT = 409
HTTP_GONE = 410
HTTP_LENGTH_REQUIRED = 411
HTTP_PRECONDITION_FAILED = 412
HTTP_REQUEST_ENTITY_TOO_LARGE = 413
HTTP_REQUEST_URI_TOO_LARGE = 414
HTTP_UNSUPPORTED_MEDIA_TYPE = 415
HTTP_RANGE_NOT_SATISFIABLE = 416
HTTP_EXPECTATION_FAILED = 417
HTTP_IM_A_TEAPOT = 418
HTTP_UNPROCESSABLE_ENTITY = 422
HTTP_LOCKED = 423
HTTP_FAILED_DEPENDENCY = 424
HTTP_UPGRADE_REQUIRED = 426
HTTP_INTERNAL_SERVER_ERROR = 500
HTTP_NOT_IMPLEMENTED = 501
HTTP_BAD_GATEWAY = 502
HTTP_SERVICE_UNAVAILABLE = 503
HTTP_GATEWAY_TIME_OUT = 504
HTTP_VERSION_NOT_SUPPORTED = 505
HTTP_VARIANT_ALSO_VARIES = 506
HTTP_INSUFFICIENT_STORAGE = 507
HTTP_NOT_EXTENDED = 510

# --- log levels -------------------------------------------------------------------------
APLOG_EMERG = 0
APLOG_ALERT = 1
APLOG_CRIT = 2
APLOG_ERR = 3
APLOG_WARNING = 4
APLOG_NOTICE = 5
APLOG_INFO = 6
APLOG_DEBUG = 7
APLOG_NOERRNO = 0

# --- get_remote_host --------------------------------------------------------------------
REMOTE_HOST = 0
REMOTE_NAME = 1
REMOTE_NOLOOKUP = 2
REMOTE_DOUBLE_REV = 3

# --- finfo and parsed_uri indexes -------------------------------------------------------
FINFO_MODE, FINFO_INO, FINFO_DEV, FINFO_NLINK, FINFO_UID, FINFO_GID = range(6)
FINFO_SIZE, FINFO_ATIME, FINFO_MTIME, FINFO_CTIME = range(6, 10)
FINFO_FNAME, FINFO_NAME, FINFO_FILETYPE = range(10, 13)
URI_SCHEME, URI_HOSTINFO, URI_USER, URI_PASSWORD, URI_HOSTNAME = range(5)
URI_PORT, URI_PATH, URI_QUERY, URI_FRAGMENT = range(5, 9)

PROXYREQ_NONE, PROXYREQ_PROXY, PROXYREQ_REVERSE, PROXYREQ_RESPONSE = range(4)

(M_GET, M_PUT, M_POST, M_DELETE, M_CONNECT, M_OPTIONS, M_TRACE, M_PATCH, M_PROPFIND,
 M_PROPPATCH, M_MKCOL, M_COPY, M_MOVE, M_LOCK, M_UNLOCK, M_VERSION_CONTROL, M_CHECKOUT,
 M_UNCHECKOUT, M_CHECKIN, M_UPDATE, M_LABEL, M_REPORT, M_MKWORKSPACE, M_MKACTIVITY,
 M_BASELINE_CONTROL, M_MERGE, M_INVALID) = range(27)

AP_REQ_ACCEPT_PATH_INFO, AP_REQ_REJECT_PATH_INFO, AP_REQ_DEFAULT_PATH_INFO = range(3)

AP_MPMQ_NOT_SUPPORTED, AP_MPMQ_STATIC, AP_MPMQ_DYNAMIC = range(3)
(AP_MPMQ_MAX_DAEMON_USED, AP_MPMQ_IS_THREADED, AP_MPMQ_IS_FORKED, AP_MPMQ_HARD_LIMIT_DAEMONS,
 AP_MPMQ_HARD_LIMIT_THREADS, AP_MPMQ_MAX_THREADS, AP_MPMQ_MIN_SPARE_DAEMONS,
 AP_MPMQ_MIN_SPARE_THREADS, AP_MPMQ_MAX_SPARE_DAEMONS, AP_MPMQ_MAX_SPARE_THREADS,
 AP_MPMQ_MAX_REQUESTS_DAEMON, AP_MPMQ_MAX_DAEMONS) = range(1, 13)

CGI_MAGIC_TYPE = "application/x-httpd-cgi"
INCLUDES_MAGIC_TYPE = "text/x-server-parsed-html"
INCLUDES_MAGIC_TYPE3 = "text/x-server-parsed-html3"
DIR_MAGIC_TYPE = "httpd/unix-directory"

REQUEST_NO_BODY, REQUEST_CHUNKED_ERROR, REQUEST_CHUNKED_DECHUNK = range(3)

AP_CONN_UNKNOWN = _apache.AP_CONN_UNKNOWN
AP_CONN_CLOSE = _apache.AP_CONN_CLOSE
AP_CONN_KEEPALIVE = _apache.AP_CONN_KEEPALIVE

APR_NOFILE = _apache.APR_NOFILE
APR_REG = _apache.APR_REG
APR_DIR = _apache.APR_DIR
APR_CHR = _apache.APR_CHR
APR_BLK = _apache.APR_BLK
APR_PIPE = _apache.APR_PIPE
APR_LNK = _apache.APR_LNK
APR_SOCK = _apache.APR_SOCK
APR_UNKFILE = _apache.APR_UNKFILE

APR_FINFO_LINK = 0x00000001
APR_FINFO_MTIME = 0x00000010
APR_FINFO_CTIME = 0x00000020
APR_FINFO_ATIME = 0x00000040
APR_FINFO_SIZE = 0x00000100
APR_FINFO_CSIZE = 0x00000200
APR_FINFO_DEV = 0x00001000
APR_FINFO_INODE = 0x00002000
APR_FINFO_NLINK = 0x00004000
APR_FINFO_TYPE = 0x00008000
APR_FINFO_USER = 0x00010000
APR_FINFO_GROUP = 0x00020000
APR_FINFO_UPROT = 0x00100000
APR_FINFO_GPROT = 0x00200000
APR_FINFO_WPROT = 0x00400000
APR_FINFO_ICASE = 0x01000000
APR_FINFO_NAME = 0x02000000
APR_FINFO_MIN = 0x00008170
APR_FINFO_IDENT = 0x00003000
APR_FINFO_OWNER = 0x00030000
APR_FINFO_PROT = 0x00700000
APR_FINFO_NORM = 0x0073B170
APR_FINFO_DIRENT = 0x02000000


# --- module import with autoreload (spec §4, §9.1) ---------------------------------------

_locks_guard = threading.Lock()
_module_locks: dict[str, threading.RLock] = {}


def _lock_for(name: str) -> threading.RLock:
    with _locks_guard:
        lock = _module_locks.get(name)
        if lock is None:
            lock = _module_locks[name] = threading.RLock()
        return lock


def module_mtime(module: Any) -> float:
    """Newest mtime of the module's file and its source; recorded as ``__mtime_check__``."""
    mtime = 0.0
    for attr in ("__file__",):
        path = getattr(module, attr, None)
        if not path:
            continue
        candidates = [path]
        if path.endswith((".pyc", ".pyo")):
            source = importlib.util.source_from_cache(path) if "__pycache__" in path else path[:-1]
            candidates.append(source)
        for candidate in candidates:
            try:
                mtime = max(mtime, os.stat(candidate).st_mtime)
            except OSError:
                pass
    try:
        module.__mtime_check__ = time.time()
    except (AttributeError, TypeError):
        pass
    return mtime


def _from_path(module: Any, path: Optional[list]) -> bool:
    if not path:
        return True
    filename = getattr(module, "__file__", None)
    if not filename:
        return False
    directory = os.path.dirname(os.path.abspath(filename))
    return any(os.path.abspath(p) == directory for p in path)


def _load_fresh(module_name: str, path: Optional[list]) -> Any:
    if path:
        spec = importlib.machinery.PathFinder.find_spec(module_name.rpartition(".")[2], path)
        if spec is None:
            raise ImportError(f"No module named '{module_name}' in {path!r}", name=module_name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module
    return importlib.import_module(module_name)


def _reexecute(module_name: str, old: Any, log: bool) -> Any:
    """Runs the module's current source in a fresh module object, then swaps it in.

    Concurrent callers wait on the module lock and never see a half-executed module; if the
    new code raises, the old module stays in place and the error goes to this caller.
    """
    filename = old.__file__
    source_path = filename
    if filename.endswith(".pyc"):
        source_path = importlib.util.source_from_cache(filename) if "__pycache__" in filename \
            else filename[:-1]
    spec = importlib.util.spec_from_file_location(module_name, source_path)
    if spec is None:
        return importlib.reload(old)
    module = importlib.util.module_from_spec(spec)
    with open(source_path, "rb") as handle:
        code = compile(handle.read(), source_path, "exec", dont_inherit=True)
    exec(code, module.__dict__)
    sys.modules[module_name] = module
    parent, _, child = module_name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module


def _initializing(module: Any) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def import_module(module_name: str, autoreload: int = 1, log: int = 0,
                  path: Optional[list] = None) -> Any:
    """Import (or return) a handler module, reloading it when its file changed.

    A module whose first import is still running in another thread is never returned: the
    caller waits for that import to finish (importlib's per-module lock).
    """
    module = sys.modules.get(module_name)
    if module is not None and not autoreload and _from_path(module, path) and \
            not _initializing(module):
        return module
    with _lock_for(module_name):
        module = sys.modules.get(module_name)
        if module is not None and _initializing(module):
            module = importlib.import_module(module_name)
        if module is None or not _from_path(module, path):
            if log:
                log_error(f"mod_python: (Re)importing module '{module_name}'", APLOG_NOTICE)
            module = _load_fresh(module_name, path)
            module.__mtime__ = module_mtime(module)
            return module
        if not autoreload:
            return module
        recorded = getattr(module, "__mtime__", None)
        current = module_mtime(module)
        if recorded is None:
            module.__mtime__ = current
            return module
        if current != recorded and getattr(module, "__file__", None):
            if log:
                log_error(f"mod_python: (Re)importing module '{module_name}'", APLOG_NOTICE)
            module = _reexecute(module_name, module, bool(log))
            module.__mtime__ = current
        return module


def resolve_object(module: Any, obj_str: str, arg: Any = None, silent: int = 0) -> Any:
    """Dotted lookup; a class met on the way is instantiated with ``arg`` (spec §2.2)."""
    obj = module
    parts = obj_str.split(".")
    for index, name in enumerate(parts):
        if index > 0 and isinstance(obj, type):
            obj = obj(arg)
        if not hasattr(obj, name):
            if silent:
                return None
            if index == 0:
                raise AttributeError(
                    f"module '{getattr(module, '__file__', module)}' contains no '{name}'")
            raise AttributeError(f"'{obj!r}' has no attribute '{name}'")
        obj = getattr(obj, name)
    return obj


# --- cleanups at child exit (spec §9.1) -------------------------------------------------

_child_cleanups: list = []
_child_cleanups_lock = threading.Lock()


def register_cleanup(callable_: Any, data: Any = None) -> None:
    """Run ``callable_(data)`` in this interpreter when the Apache child process exits."""
    if not callable(callable_):
        raise ValueError("first argument must be a callable object")
    with _child_cleanups_lock:
        _child_cleanups.append((callable_, data))


def _run_child_cleanups() -> None:
    with _child_cleanups_lock:
        pending = list(_child_cleanups)
        _child_cleanups.clear()
    for callable_, data in pending:
        try:
            callable_(data)
        except Exception:  # one failing cleanup must not stop the others
            import traceback
            for line in traceback.format_exc().splitlines():
                log_error(f"MP0121: child exit cleanup: {line}", APLOG_ERR)


# --- CGI emulation (spec §9.1) ----------------------------------------------------------

def build_cgi_env(req: Any) -> dict:
    """The CGI environment of a request as a dict."""
    req.add_cgi_vars()
    env = dict(req.subprocess_env.items())
    if req.path_info and len(req.path_info) > 0 and req.uri.endswith(req.path_info):
        env["SCRIPT_NAME"] = req.uri[:-len(req.path_info)]
    else:
        env["SCRIPT_NAME"] = req.uri
    env["GATEWAY_INTERFACE"] = "Python-CGI/1.1"
    authorization = req.headers_in.get("Authorization")
    if authorization:
        env["HTTP_AUTHORIZATION"] = authorization
    return env


class NullIO:
    """A file-like object that reads nothing and discards writes."""

    def tell(self) -> int:
        return 0

    def read(self, n: int = -1) -> str:
        return ""

    def readline(self, n: int = -1) -> str:
        return ""

    def readlines(self, hint: int = -1) -> list:
        return []

    def write(self, s: Any) -> int:
        return len(s)

    def writelines(self, lines: Any) -> None:
        pass

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def seek(self, pos: int, mode: int = 0) -> None:
        pass


class _BinaryReader:
    def __init__(self, req: Any) -> None:
        self._req = req

    def read(self, n: int = -1) -> bytes:
        return self._req.read(n)

    def readline(self, n: int = -1) -> bytes:
        return self._req.readline(n)

    def readlines(self, hint: int = -1) -> list:
        return self._req.readlines(hint)


class CGIStdin(NullIO):
    """sys.stdin for CGI scripts: the request body, text decoded Latin-1, bytes in .buffer."""

    def __init__(self, req: Any) -> None:
        self.req = req
        self.buffer = _BinaryReader(req)

    def read(self, n: int = -1) -> str:
        return self.req.read(n).decode("latin-1")

    def readline(self, n: int = -1) -> str:
        return self.req.readline(n).decode("latin-1")

    def readlines(self, hint: int = -1) -> list:
        return [line.decode("latin-1") for line in self.req.readlines(hint)]


class _BinaryWriter:
    def __init__(self, owner: "CGIStdout") -> None:
        self._owner = owner

    def write(self, data: bytes) -> int:
        self._owner._write_bytes(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


class CGIStdout(NullIO):
    """sys.stdout for CGI scripts: parses the CGI header block, then streams the body."""

    def __init__(self, req: Any) -> None:
        self.req = req
        self.headers_sent = False
        self._header_buffer = b""
        self.buffer = _BinaryWriter(self)

    def write(self, s: Any) -> int:
        data = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else bytes(s)
        self._write_bytes(data)
        return len(s)

    def _write_bytes(self, data: bytes) -> None:
        if self.headers_sent:
            self.req.write(data, 0)
            return
        self._header_buffer += data
        for separator in (b"\r\n\r\n", b"\n\n"):
            head, found, body = self._header_buffer.partition(separator)
            if found:
                break
        else:
            return
        for line in head.replace(b"\r\n", b"\n").split(b"\n"):
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                continue
            name, value = name.strip(), value.strip()
            if name.lower() == "status":
                self.req.status = int(value.split()[0])
            elif name.lower() == "content-type":
                self.req.content_type = value
            else:
                self.req.headers_out.add(name, value)
        self.headers_sent = True
        self._header_buffer = b""
        if body:
            self.req.write(body, 0)

    def flush(self) -> None:
        if self.headers_sent:
            self.req.flush()


def setup_cgi(req: Any) -> tuple:
    """Replace os.environ, sys.stdin and sys.stdout for a CGI script; see restore_nocgi."""
    saved_env = os.environ.copy()
    env = build_cgi_env(req)
    os.environ.update(env)
    saved_stdin, saved_stdout = sys.stdin, sys.stdout
    sys.stdin = CGIStdin(req)
    sys.stdout = CGIStdout(req)
    sys.argv = []
    return saved_env, saved_stdin, saved_stdout


def restore_nocgi(saved_env: dict, stdin: Any, stdout: Any) -> None:
    """Undo setup_cgi()."""
    os.environ.clear()
    os.environ.update(saved_env)
    sys.stdout = stdout
    sys.stdin = stdin


class CallBack:
    """Names of mod_python 3.5's Python dispatcher. Dispatch is done in C++ here; these
    methods exist for code that looks them up and are not used by the module."""

    def HandlerDispatch(self, req: Any) -> int:  # noqa: N802 (mod_python name)
        raise NotImplementedError("dispatch is done by the C++ module")

    FilterDispatch = ConnectionDispatch = IncludeDispatch = ImportDispatch = HandlerDispatch

    def ReportError(self, *args: Any, **kwargs: Any) -> int:  # noqa: N802
        return HTTP_INTERNAL_SERVER_ERROR


def init(name: str, server: Any) -> CallBack:
    """Internal per-interpreter initialisation hook (kept for compatibility)."""
    return CallBack()


# --- per-interpreter start-up (called from C++) -----------------------------------------

class _ErrorLogBuffer(io.BufferedIOBase):
    """The binary layer of sys.stdout/sys.stderr: complete lines go to Apache's error log.

    A real binary stream, so that code which writes bytes to ``sys.stdout.buffer`` (as
    Mercurial, Click and others do at import time) works as it does under a terminal."""

    def __init__(self, level: int, name: str) -> None:
        super().__init__()
        self._level = level
        self._name = name
        self._pending = b""
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        chunk = bytes(data)
        with self._lock:
            *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            self._log(line)
        return len(chunk)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, b""
        if pending:
            self._log(pending)

    def _log(self, line: bytes) -> None:
        _apache._log_stream(line.decode("utf-8", "backslashreplace"), self._level)


def _error_log_stream(level: int, name: str) -> io.TextIOWrapper:
    """A text stream like the interpreter's own stdout/stderr, into the error log.

    ``write_through`` hands every write to the line splitter at once, so a line is logged
    as soon as it is complete and a partial line waits for its end or for flush()."""
    return io.TextIOWrapper(_ErrorLogBuffer(level, name), encoding="utf-8",
                            errors="backslashreplace", write_through=True)


def _restrict_signals() -> None:
    """WSGIRestrictSignal On (the default): ``signal.signal()`` logs a warning with the
    caller's stack and changes nothing, so application code cannot take over the signals
    httpd uses to stop and restart its children (under prefork, requests run in the thread
    where Python allows it). Arguments are still checked, and the current handler is
    returned where the real function returns the previous one."""
    import signal as signal_module
    import traceback

    real = signal_module.signal
    if getattr(real, "_mod_python_restricted", False):
        return

    def signal(signalnum: Any, handler: Any) -> Any:
        current = signal_module.getsignal(signalnum)  # ValueError for a bad number
        if handler not in (signal_module.SIG_DFL, signal_module.SIG_IGN) and not callable(handler):
            raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, "
                            "or a callable object")
        _apache._log_stream(f"MP2126: Callback registration for signal {int(signalnum)} "
                            "ignored (WSGIRestrictSignal On)", APLOG_WARNING)
        for entry in traceback.format_stack()[:-1]:
            for line in entry.rstrip("\n").split("\n"):
                _apache._log_stream(f"MP2126: {line}", APLOG_WARNING)
        return current

    signal._mod_python_restricted = True  # type: ignore[attr-defined]
    signal.__doc__ = real.__doc__
    signal_module.signal = signal


class _RestrictedStream:
    """sys.stdin / sys.stdout under WSGIRestrictStdin / WSGIRestrictStdout On: any use raises,
    so code that would read from or write to a server's standard streams (portable WSGI
    applications must not) is found. ``flush()`` stays harmless: Python itself calls it when
    the interpreter ends."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attribute: str) -> Any:
        raise OSError(f"{self._name} access restricted by mod_wsgi")

    def __setattr__(self, attribute: str, value: Any) -> None:
        raise OSError(f"{self._name} access restricted by mod_wsgi")

    def __iter__(self) -> Any:
        raise OSError(f"{self._name} access restricted by mod_wsgi")

    def flush(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<restricted {self._name}>"


def _interpreter_started(c_version: str, restrict_signals: bool = True,
                         restrict_stdin: bool = False, restrict_stdout: bool = False) -> str:
    """Per-interpreter set-up; returns a warning text or ''."""
    # print() and sys.stderr must end up in Apache's error log, never on the client.
    sys.stdout = _RestrictedStream("sys.stdout") if restrict_stdout else \
        _error_log_stream(APLOG_NOTICE, "<stdout>")
    sys.stderr = _error_log_stream(APLOG_ERR, "<stderr>")
    if restrict_stdin:
        sys.stdin = _RestrictedStream("sys.stdin")
    if restrict_signals:
        _restrict_signals()
    try:
        from mod_python import version as _version
    except ImportError:
        # A source tree the build has not configured: version.py comes from version.py.in.
        return (f"the mod_python package in {os.path.dirname(os.path.abspath(__file__))} has no "
                f"version.py (the build generates it), so it cannot be checked against the "
                f"C module's {c_version}")
    if _version.version != c_version:
        return (f"mod_python version mismatch: the C module is {c_version}, "
                f"the Python package is {_version.version}")
    return ""

