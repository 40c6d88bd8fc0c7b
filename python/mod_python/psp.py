"""Python Server Pages (spec §14): the PSP class, the page interface, the content handler
and the compiled-code caches.

``AddHandler mod_python .psp .psp_`` with ``PythonHandler mod_python.psp`` serves ``*.psp``
pages.  The page is turned into Python source by the C++ generator (``_apache.psp_parse``),
compiled with the page's path as its file name (so tracebacks and syntax errors name the page
and the line), cached per (path, mtime) and run with ``req``, ``psp``, ``form`` and
``session`` in its globals.
"""

from __future__ import annotations

import dbm
import html
import marshal
import os
import sys
import tempfile
import threading
import types
from os.path import split as path_split  # noqa: F401 - a page global in 3.5
from typing import Any, Callable, Optional, Union

import _apache  # noqa: F401 - the generator lives in the built-in module

from mod_python import Session, apache, session_support, util

# Pages run with this module's globals: 3.5 pages use escape() without importing it, and
# its module also gave them tempfile, tempdir, PY2, path_split, code2str and str2code.
escape = html.escape
PY2 = False
tempdir = tempfile.gettempdir()


def code2str(code: types.CodeType) -> bytes:
    """A code object as bytes (marshal), as 3.5's PSP module offered."""
    return marshal.dumps(code)


def str2code(data: bytes) -> types.CodeType:
    """The code object that code2str() turned into bytes."""
    return marshal.loads(data)


__all__ = ["PSP", "PSPInterface", "parse", "parsestring", "handler", "display_code"]

_DBM_OPTION = "mod_python.psp.cache_database_filename"
_DBM_LEGACY_OPTION = "PSPDbmCache"
_DBM_MUTEX = 0  # global mutex guarding the dbm cache (spec §14.4)
_DBM_ERRORS = (OSError,) + tuple(dbm.error)


def _flag(config: Any, name: str, default: str) -> bool:
    return str(config.get(name, default)) not in ("0", "", "Off", "off")


# --------------------------------------------------------------------------- generator


def parse(filename: Union[str, bytes], dir: Optional[Union[str, bytes]] = None) -> str:  # noqa: A002
    """The Python source generated for the page file ``filename`` (joined to ``dir`` when
    relative); ``<%@ include %>`` paths are relative to ``dir``."""
    return _apache.psp_parse(filename, dir)


def parsestring(text: Union[str, bytes]) -> str:
    """The Python source generated for a page given as ``str`` or ``bytes``."""
    return _apache.psp_parsestring(text)


# --------------------------------------------------------------------------- caches


class _HitCache:
    """A bounded map that, when full, evicts the least-hit entries down to 75 %."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: dict = {}  # key -> [value, hits]

    def get(self, key: Any) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry[1] += 1
            return entry[0]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = [value, 0]
            if len(self._entries) > self.size:
                keep = self.size * 3 // 4
                older = [item for item in self._entries.items() if item[0] != key]
                by_hits = sorted(older, key=lambda item: item[1][1])  # never the new entry
                for old_key, _ in by_hits[: len(self._entries) - keep]:
                    del self._entries[old_key]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _FileCache(_HitCache):
    """Compiled pages by path; an entry is valid only for the mtime it was compiled at."""

    def get_code(self, filename: str, mtime: float) -> Optional[types.CodeType]:
        entry = self.get(filename)
        if entry is not None and entry[0] == mtime:
            return entry[1]
        return None

    def put_code(self, filename: str, mtime: float, code: types.CodeType) -> None:
        self.put(filename, (mtime, code))


mem_fcache = _FileCache()  # compiled pages from files, per interpreter
mem_scache = _HitCache()  # compiled pages from strings, keyed by their content


def _dbm_get(req: Any, dbmfile: str, filename: str, mtime: float) -> Optional[types.CodeType]:
    session_support._acquire(req, _DBM_MUTEX)
    try:
        try:
            with dbm.open(dbmfile, "c") as db:
                record = db.get(filename.encode("utf-8", "surrogateescape"))
        except _DBM_ERRORS as exc:
            req.log_error(f"MP0190: mod_python.psp: cannot read the code cache {dbmfile}: {exc}",
                          apache.APLOG_WARNING)
            return None
    finally:
        session_support._release(req, _DBM_MUTEX)
    if not record:
        return None
    stamp, _, payload = bytes(record).partition(b" ")
    try:
        if float(stamp) != mtime:
            return None
        code = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None  # stale format or another Python's marshal: rebuilt by the caller
    return code if isinstance(code, types.CodeType) else None


def _dbm_put(req: Any, dbmfile: str, filename: str, mtime: float, code: types.CodeType) -> None:
    record = repr(mtime).encode() + b" " + marshal.dumps(code)
    session_support._acquire(req, _DBM_MUTEX)
    try:
        with dbm.open(dbmfile, "c") as db:
            db[filename.encode("utf-8", "surrogateescape")] = record
    except _DBM_ERRORS as exc:
        req.log_error(f"MP0190: mod_python.psp: cannot write the code cache {dbmfile}: {exc}",
                      apache.APLOG_WARNING)
    finally:
        session_support._release(req, _DBM_MUTEX)


def _compiled_file(filename: str, mtime: float) -> Optional[types.CodeType]:
    """A precompiled page next to ``filename`` (``page.psc`` as in 3.5, or ``page.pspc``)
    that is at least as new as the page and holds code of this Python; else None."""
    name, ext = os.path.splitext(filename)
    for candidate in (name + ext[:-1] + "c", filename + "c"):
        try:
            if candidate == filename or os.path.getmtime(candidate) < mtime:
                continue
            with open(candidate, "rb") as fh:
                code = marshal.loads(fh.read())
        except (OSError, ValueError, EOFError, TypeError):
            continue
        if isinstance(code, types.CodeType):
            return code
    return None


# --------------------------------------------------------------------------- page objects


class PSPInterface:
    """The ``psp`` object of a page: error page, form application, redirects."""

    def __init__(self, req: Any, filename: Optional[str], form: Any) -> None:
        self.req = req
        self.filename = filename
        self.form = form
        self.error_page: Optional[PSP] = None

    def set_error_page(self, page: str) -> None:
        """Run ``page`` instead of propagating an exception; a leading ``/`` means relative to
        the DocumentRoot, otherwise to this page's directory."""
        if page.startswith("/"):
            path = self.req.document_root().rstrip("/") + page
        else:
            base = self.filename or self.req.filename or ""
            path = os.path.join(os.path.dirname(base), page)
        self.error_page = PSP(self.req, filename=path)

    def apply_data(self, object: Callable) -> Any:  # noqa: A002 (3.5 name)
        """Call ``object`` with the form fields matching its parameters."""
        if self.form is None:
            if getattr(self.req, "form", None) is None:
                self.req.form = util.FieldStorage(self.req, keep_blank_values=1)
            self.form = self.req.form
        return util.apply_fs_data(object, self.form, req=self.req)

    def redirect(self, location: str, permanent: Any = 0) -> None:
        """Redirect the client and end the page (raises SERVER_RETURN)."""
        util.redirect(self.req, location, permanent)


class PSP:
    """A page from a file (``filename``, default ``req.filename``) or from ``string``."""

    code: Optional[types.CodeType] = None

    def __init__(self, req: Any, filename: Optional[str] = None,
                 string: Optional[Union[str, bytes]] = None, vars: Optional[dict] = None) -> None:  # noqa: A002
        # As in 3.5: an empty filename means "not given", and `vars` is kept by reference
        # (changes made before run() are seen).
        if filename and string is not None:
            raise ValueError("Must specify either filename or string")
        self.req = req
        self.vars = vars if vars is not None else {}
        self.string = string
        self.filename: Optional[str] = None
        if string is not None:
            self.code = self._load_string(string)
            return
        if not filename:
            filename = req.filename
        if not filename:
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
        if not os.path.isabs(filename):
            filename = os.path.join(os.path.dirname(req.filename or ""), filename)
        self.filename = filename
        self.code = self._load_file()

    @staticmethod
    def _load_string(string: Union[str, bytes]) -> types.CodeType:
        if not isinstance(string, (str, bytes)):
            raise TypeError(f"PSP string must be str or bytes, not {type(string).__name__}")
        code = mem_scache.get(string)
        if code is None:
            code = compile(parsestring(string), "__psp__", "exec", dont_inherit=True)
            mem_scache.put(string, code)
        return code

    def _dbm_file(self) -> Optional[str]:
        options = self.req.get_options()
        return options.get(_DBM_OPTION) or options.get(_DBM_LEGACY_OPTION) or None

    def _load_file(self) -> types.CodeType:
        filename = self.filename
        assert filename is not None
        try:
            mtime = os.stat(filename).st_mtime
        except OSError:
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND) from None
        if not os.path.isfile(filename):
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
        code = _compiled_file(filename, mtime)
        if code is not None:
            return code
        dbmfile = self._dbm_file()
        code = (_dbm_get(self.req, dbmfile, filename, mtime) if dbmfile
                else mem_fcache.get_code(filename, mtime))
        if code is not None:
            return code
        directory, name = os.path.split(filename)
        # dont_inherit: this module's `from __future__ import annotations` is not the page's.
        code = compile(parse(name, directory + "/"), filename, "exec", dont_inherit=True)
        if dbmfile:
            _dbm_put(self.req, dbmfile, filename, mtime, code)
        else:
            mem_fcache.put_code(filename, mtime, code)
        return code

    def _globals(self, form: Any, psp: PSPInterface, vars: dict) -> dict:  # noqa: A002
        req = self.req
        scope = dict(globals())
        scope.update({"req": req, "form": form, "psp": psp,
                      "session": getattr(req, "session", None)})
        scope.update(self.vars)
        scope.update(vars)
        scope["__file__"] = req.filename
        return scope

    def run(self, vars: Optional[dict] = None, flush: Any = 0) -> None:  # noqa: A002
        """Execute the page; with an error page set, exceptions run it instead."""
        code, req = self.code, self.req
        assert code is not None
        created_session = None
        if "session" in code.co_names and getattr(req, "session", None) is None:
            req.session = created_session = Session.Session(req)
        form = None
        if "form" in code.co_names:
            if getattr(req, "form", None) is None:
                req.form = util.FieldStorage(req, keep_blank_values=1)
            form = req.form
        psp = PSPInterface(req, self.filename, form)
        try:
            scope = self._globals(form, psp, vars or {})
            try:
                exec(code, scope)  # noqa: S102 - the page is the application's code
                if flush:
                    req.flush()
                session = getattr(req, "session", None)
                if session is not None:
                    session.save()  # access time changes on every request
            except apache.SERVER_RETURN:
                raise
            except Exception:
                if psp.error_page is None:
                    raise
                psp.error_page.run({"exception": sys.exc_info()}, flush)
        finally:
            if created_session is not None:
                created_session.unlock()
                try:
                    del req.session
                except AttributeError:
                    pass

    def __str__(self) -> str:
        self.req.content_type = "text/html"
        self.run()
        return ""

    def _sources(self) -> tuple[list, list]:
        if self.string is not None:
            raw = self.string if isinstance(self.string, bytes) else self.string.encode(
                "utf-8", "surrogateescape")
            generated = parsestring(self.string)
        else:
            assert self.filename is not None
            with open(self.filename, "rb") as fh:
                raw = fh.read()
            directory, name = os.path.split(self.filename)
            generated = parse(name, directory + "/")
        source = raw.decode("utf-8", "surrogateescape").splitlines()
        return generated.splitlines(), source

    def display_code(self) -> None:
        """Write an HTML table: line number, generated Python, original page source."""
        req = self.req
        generated, source = self._sources()
        esc = lambda text: html.escape(text.expandtabs(4)).encode(  # noqa: E731
            "utf-8", "surrogateescape")
        out = [b"<table border=\"0\" cellpadding=\"2\" cellspacing=\"0\">\n",
               b"<tr><th>#</th><th>Python (generated)</th><th>PSP (source)</th></tr>\n"]
        for n in range(max(len(generated), len(source))):
            py = generated[n] if n < len(generated) else ""
            psp = source[n] if n < len(source) else ""
            out.append(b"<tr><td>%d</td><td><pre>%s</pre></td><td><pre>%s</pre></td></tr>\n"
                       % (n + 1, esc(py), esc(psp)))
        out.append(b"</table>\n")
        req.write(b"".join(out), 0)


def display_code(req: Any, filename: Optional[str] = None) -> None:
    """Module-level helper: the side-by-side view of a page (default ``req.filename``)."""
    PSP(req, filename=filename).display_code()


def handler(req: Any) -> int:
    """The ``mod_python.psp`` content handler."""
    req.content_type = "text/html"
    debug = _flag(req.get_config(), "PythonDebug", "0")
    filename = req.filename or ""
    if debug and filename.endswith("_"):
        PSP(req, filename=filename[:-1]).display_code()
    else:
        PSP(req).run()
    return apache.OK
