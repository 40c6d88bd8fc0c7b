"""The publisher handler: maps URLs onto objects of Python pages (spec §15, §21).

``PythonHandler mod_python.publisher``: ``/page.py/obj/attr?x=1`` loads ``page.py`` (through
a page cache, never through ``sys.modules``), authenticates at module level, traverses
``obj`` then ``attr`` with authentication at every step, and publishes the result.
"""

from __future__ import annotations

import ast
import base64
import binascii
import dis
import hmac
import os
import re
import threading
import types
from typing import Any, Optional

from mod_python import apache, util

__all__ = ["handler", "process_auth", "resolve_object", "page_cache"]

_HOOKS = ("__auth_realm__", "__auth__", "__access__")

# --------------------------------------------------------------------------- page cache


def _page_module_name(path: str) -> str:
    return re.sub(r"\W", "_", path)


class _PageCache:
    """Executes page files into fresh module objects keyed by path (spec §15 item 3)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict = {}
        self._pages: dict = {}  # path -> (module, mtime, source)

    def _path_lock(self, path: str) -> threading.Lock:
        with self._lock:
            lock = self._locks.get(path)
            if lock is None:
                lock = self._locks[path] = threading.Lock()
            return lock

    def get(self, req: Any, path: str, autoreload: bool, debug: bool) -> types.ModuleType:
        entry = self._pages.get(path)
        if entry is not None and not autoreload:
            return entry[0]
        with self._path_lock(path):
            entry = self._pages.get(path)
            if entry is not None and not autoreload:
                return entry[0]
            mtime = os.stat(path).st_mtime
            if entry is not None and entry[1] == mtime:
                return entry[0]
            if debug:
                verb = "reloading" if entry is not None else "loading"
                req.log_error(f"Publisher {verb} page {path}", apache.APLOG_NOTICE)
            with open(path, "rb") as handle:
                source = handle.read()
            module = types.ModuleType(_page_module_name(path))
            module.__file__ = path
            code = compile(source, path, "exec", dont_inherit=True)
            exec(code, module.__dict__)
            self._pages[path] = (module, mtime, source)
            return module

    def source(self, path: str) -> Optional[bytes]:
        entry = self._pages.get(path)
        return entry[2] if entry else None

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


page_cache = _PageCache()

# --------------------------------------------------------------------------- type rules

_BUILTIN_TYPES = (
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
)
_TYPES_MODULE_TYPES = tuple(
    {value for value in vars(types).values() if isinstance(value, type)} - {type})


def _traversable(obj: Any) -> bool:
    if isinstance(obj, (type, types.ModuleType) + _BUILTIN_TYPES):
        return False
    if isinstance(obj, _TYPES_MODULE_TYPES):
        return False
    return True


def _publishable(obj: Any) -> bool:
    if isinstance(obj, (type, types.ModuleType) + _BUILTIN_TYPES):
        return False
    return True


# --------------------------------------------------------------------------- auth hooks


class _Undeterminable(Exception):
    """A nested hook whose value cannot be determined: the request is denied."""


def _code_of(obj: Any) -> Optional[types.CodeType]:
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        return obj.__code__
    return None


def _function_of(obj: Any) -> Optional[types.FunctionType]:
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    return obj if isinstance(obj, types.FunctionType) else None


def _ast_function(func: types.FunctionType) -> Optional[ast.AST]:
    """The AST of ``func``'s definition, from the source loaded with the page."""
    code = func.__code__
    source = page_cache.source(code.co_filename)
    if source is None:
        try:
            with open(code.co_filename, "rb") as handle:
                source = handle.read()
        except OSError:
            return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and \
                getattr(node, "name", "<lambda>") == code.co_name:
            lines = {node.lineno}
            lines.update(d.lineno for d in getattr(node, "decorator_list", ()))
            if code.co_firstlineno in lines:
                return node
    return None


def _literal_assignment(func: types.FunctionType, name: str) -> Any:
    node = _ast_function(func)
    if node is None or isinstance(node, ast.Lambda):
        raise _Undeterminable(f"source of {func.__qualname__} not available")
    found = []
    for statement in node.body:  # statements of the function body itself
        targets = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            found.append(statement.value)
    if len(found) != 1:
        raise _Undeterminable(f"{name} in {func.__qualname__} is not a single assignment")
    value = found[0]
    if isinstance(value, ast.Name) and value.id in func.__globals__:
        return func.__globals__[value.id]
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise _Undeterminable(f"{name} in {func.__qualname__} is not a literal: {exc}") from None


def _nested_hooks(func: types.FunctionType) -> dict:
    """Hooks bound inside the body of ``func``: found from its bytecode via ``dis``.

    A nested ``def`` becomes a function built from its code object (no closure, no
    defaults); a local assignment must be a literal in the source.  Anything else raises
    _Undeterminable (fail closed).
    """
    code = func.__code__
    bound = [n for n in _HOOKS if n in code.co_varnames or n in code.co_cellvars]
    if not bound:
        return {}
    hooks: dict = {}
    instructions = list(dis.get_instructions(code))
    for name in bound:
        stores = [i for i, ins in enumerate(instructions)
                  if ins.opname in ("STORE_FAST", "STORE_DEREF") and ins.argval == name]
        if not stores:
            # A local of that name the compiler kept no store for (after a return, under
            # "if False:"): 3.5 would enforce it; we cannot tell its value, so fail closed.
            raise _Undeterminable(f"{name} in {func.__qualname__} is never assigned "
                                  "where it would run")
        if len(stores) != 1:
            raise _Undeterminable(f"{name} is assigned more than once in {func.__qualname__}")
        index = stores[0]
        previous = instructions[index - 1] if index else None
        nested = [c for c in code.co_consts
                  if isinstance(c, types.CodeType) and c.co_name == name]
        if previous is not None and previous.opname == "MAKE_FUNCTION" and nested:
            if len(nested) != 1 or previous.arg or nested[0].co_freevars:
                raise _Undeterminable(
                    f"nested {name} in {func.__qualname__} uses defaults or a closure")
            hooks[name] = types.FunctionType(nested[0], func.__globals__, name)
        else:
            hooks[name] = _literal_assignment(func, name)
    return hooks


def _hooks_of(obj: Any) -> dict:
    func = _function_of(obj)
    if func is not None:
        # A decorated function (functools.wraps) keeps its hooks in the wrapped function.
        hooks: dict = {}
        for _depth in range(16):
            for name, value in _nested_hooks(func).items():
                hooks.setdefault(name, value)
            func = _function_of(getattr(func, "__wrapped__", None))
            if func is None:
                break
        return hooks
    hooks = {}
    for name in _HOOKS:
        try:
            hooks[name] = getattr(obj, name)
        except AttributeError:
            pass
    return hooks


def _credentials(req: Any) -> tuple:
    header = req.headers_in.get("Authorization")
    if not header:
        return None, None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST) from None
    user, colon, passwd = decoded.partition(":")
    if not colon:
        raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
    return user, passwd


def _unauthorized(req: Any, realm: str) -> BaseException:
    realm = str(realm).replace("\\", "\\\\").replace('"', '\\"')
    req.err_headers_out["WWW-Authenticate"] = f'Basic realm="{realm}"'
    return apache.SERVER_RETURN(apache.HTTP_UNAUTHORIZED)


def _same_secret(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return hmac.compare_digest(a.encode("utf-8", "surrogateescape"),
                                   b.encode("utf-8", "surrogateescape"))
    return a == b


_UNSET = object()


def process_auth(req: Any, object: Any, realm: str = "unknown",  # noqa: A002 (3.5 name)
                 user: Any = _UNSET, passwd: Any = None) -> tuple:
    """Apply the ``__auth_realm__``/``__auth__``/``__access__`` hooks of ``object``.

    Returns ``(realm, user, passwd)``; raises SERVER_RETURN with 400, 401 or 403.
    """
    try:
        hooks = _hooks_of(object)
    except _Undeterminable as exc:
        req.log_error(f"mod_python.publisher: denying access: {exc}", apache.APLOG_WARNING)
        raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN) from None
    if "__auth_realm__" in hooks:
        realm = hooks["__auth_realm__"]
    if "__auth__" not in hooks and "__access__" not in hooks:
        return realm, user, passwd
    if user is _UNSET:
        user, passwd = _credentials(req)
    if "__auth__" in hooks:
        auth = hooks["__auth__"]
        if not user:  # no credentials, or an empty user name (an anonymous bind): 3.5's test
            raise _unauthorized(req, realm)
        if callable(auth):
            granted = auth(req, user, passwd)
        elif isinstance(auth, dict):
            granted = user in auth and _same_secret(auth[user], passwd)
        else:
            granted = auth
        if not granted:
            raise _unauthorized(req, realm)
    if "__access__" in hooks:
        access = hooks["__access__"]
        if callable(access):
            granted = access(req, user)
        elif isinstance(access, (list, tuple, set, frozenset)):
            granted = user in access
        else:
            granted = access
        if not granted:
            raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)
    return realm, user, passwd


# --------------------------------------------------------------------------- traversal


def resolve_object(req: Any, obj: Any, object_str: str, realm: str = "unknown",
                   user: Any = _UNSET, passwd: Any = None) -> Any:
    """Traverse ``object_str`` (dotted) from ``obj`` with authentication at every step."""
    parts = object_str.split(".")
    for index, name in enumerate(parts):
        if not name:
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
        if name.startswith("_"):
            req.log_error(f"mod_python.publisher: refusing access to '{name}' in "
                          f"{req.uri}", apache.APLOG_WARNING)
            raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)
        if index > 0 and not _traversable(obj):
            req.log_error(f"mod_python.publisher: cannot traverse {type(obj).__name__} "
                          f"object to reach '{name}'", apache.APLOG_WARNING)
            raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND) from None
        realm, user, passwd = process_auth(req, obj, realm, user, passwd)
    if not _publishable(obj):
        req.log_error(f"mod_python.publisher: {type(obj).__name__} object "
                      f"'{object_str}' is not publishable", apache.APLOG_WARNING)
        raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)
    return obj


def _imported_function(page: types.ModuleType, obj: Any, object_str: str) -> bool:
    """True for a function the page did not define (imported into it) and does not export.

    A method counts as the page's when the instance it is bound to is of a class the page
    defined (inherited methods included), or when the page lists the object the URL starts
    from in ``__all__``: ``site = SomeLibraryClass()`` plus ``__all__ = ["site"]`` publishes
    ``site``'s methods.
    """
    func = _function_of(obj)
    if func is None:
        return False
    if getattr(func, "__module__", None) == page.__name__:
        return False
    owner = getattr(obj, "__self__", None) if isinstance(obj, types.MethodType) else None
    if owner is not None and not isinstance(owner, type) and \
            getattr(type(owner), "__module__", None) == page.__name__:
        return False
    names = getattr(page, "__all__", None) or ()
    first = object_str.split(".", 1)[0]
    try:
        return not any(isinstance(n, str) and (n == first or getattr(page, n, None) is obj)
                       for n in names)
    except TypeError:
        return True


# --------------------------------------------------------------------------- publishing

_HTML_END = re.compile(r"</html\s*>\s*$", re.I)


def _flag(config: Any, name: str, default: str) -> bool:
    return str(config.get(name, default)) not in ("0", "", "Off", "off")


def _module_path(req: Any) -> tuple:
    filename = req.filename or ""
    directory, base = os.path.split(filename)
    suffixes = [".py"]
    try:
        # mod_mime's keys, without the dot ("py psp"), as in 3.5
        suffixes += ["." + ext for ext in (req.get_addhandler_exts() or "").split()]
    except AttributeError:
        pass
    extension = getattr(req, "extension", None)
    if extension:
        suffixes.append(extension)
    for suffix in suffixes:
        if suffix and base.endswith(suffix) and len(base) > len(suffix):
            base = base[:-len(suffix)]
    if os.path.isdir(filename):
        directory, base = filename, ""
    if not base:
        base = "index"
    path_info = req.path_info or ""
    if path_info.startswith("/"):
        path_info = path_info[1:]
    if path_info.endswith("/"):
        path_info = path_info[:-1]
    module_path = os.path.normpath(os.path.join(directory, base + ".py"))
    if not os.path.isfile(module_path):
        module_path = os.path.normpath(os.path.join(directory, "index.py"))
        path_info = base + ("/" + path_info if path_info else "")
        if not os.path.isfile(module_path):
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
    object_str = path_info.replace("/", ".") or "index"
    return module_path, object_str


def publish_object(req: Any, obj: Any) -> bool:
    """Call or convert ``obj`` and write it; returns whether anything was written."""
    if callable(obj):
        req.form = util.FieldStorage(req, keep_blank_values=1)
        return publish_object(req, util.apply_fs_data(obj, req.form, req=req))
    if obj is None:
        return False
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        if not req._content_type_set:
            tail = data[-100:].decode("latin-1")
            req.content_type = "text/html" if _HTML_END.search(tail) else "text/plain"
        req.write(data, 0)
        return bool(data)
    text = str(obj)
    if not req._content_type_set:
        req.content_type = "text/html" if _HTML_END.search(text[-100:]) else "text/plain"
    req.write(text, 0)
    return bool(text)


def handler(req: Any) -> int:
    req.allow_methods(["GET", "POST", "HEAD"])
    if req.method not in ("GET", "POST", "HEAD"):
        raise apache.SERVER_RETURN(apache.HTTP_METHOD_NOT_ALLOWED)
    config = req.get_config()
    debug = _flag(config, "PythonDebug", "0")
    autoreload = _flag(config, "PythonAutoReload", "1")
    requested = req.filename
    module_path, object_str = _module_path(req)
    if requested is None or os.path.normpath(requested) != module_path:
        # The URL named the module without its extension (or a directory, for index.py):
        # the <Files>/<Directory> checks the request went through were about another name.
        status = req._file_access_status(module_path)
        if status != apache.HTTP_OK:
            raise apache.SERVER_RETURN(status)
    req.filename = module_path
    try:
        page = page_cache.get(req, module_path, autoreload, debug)
    except FileNotFoundError:
        raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND) from None
    realm, user, passwd = process_auth(req, page)
    obj = resolve_object(req, page, object_str, realm, user, passwd)
    publish_imported = _flag(req.get_options(), "mod_python.publisher.publish_imported", "0")
    if not publish_imported and _imported_function(page, obj, object_str):
        req.log_error(f"mod_python.publisher: '{object_str}' was not defined in "
                      f"{module_path} and is not listed in its __all__", apache.APLOG_WARNING)
        raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)
    written = publish_object(req, obj)
    if not written and debug:
        req.log_error("mod_python.publisher: nothing to publish.", apache.APLOG_NOTICE)
    return apache.OK
