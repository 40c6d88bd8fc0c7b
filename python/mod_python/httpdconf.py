"""Build Apache httpd configuration text from Python objects.

Importable outside httpd (pure standard library).  ``str(obj)`` renders Apache
syntax, ``repr(obj)`` renders Python source that recreates ``obj`` (evaluate it
after ``from mod_python.httpdconf import *``)::

    conf = Container(
        Listen("127.0.0.1:8888"),
        Directory("/srv/app",
                  SetHandler("mod_python"),
                  PythonHandler("mod_python.publisher")),
    )
    print(conf)

:func:`write_basic_config` writes a small Python script that prints a complete,
self-contained httpd.conf (rendered with :mod:`mod_python.launcher`).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

INDENT = "    "

__all__ = [
    "quote_if_space", "Directive", "Container", "ContainerTag", "Comment",
    "Directory", "Files", "IfModule", "Location", "VirtualHost",
    "PythonInterpPerDirectory", "PythonInterpPerDirective",
    "render_server_config", "write_basic_config", "pythonpath_expr",
]

_ONE_VALUE_DIRECTIVES = (
    "AddHandler", "AddOutputFilter", "AddType", "AuthBasicAuthoritative",
    "AuthBasicProvider", "AuthType", "AuthName", "CustomLog", "DirectoryIndex",
    "DocumentRoot", "ErrorLog", "KeepAliveTimeout", "Listen", "LoadModule", "LogLevel",
    "LockFile", "MaxConnectionsPerChild", "MaxClients", "MaxRequestsPerChild",
    "MaxSpareServers", "MaxSpareThreads", "MaxThreadsPerChild", "MinSpareThreads",
    "Mutex", "NameVirtualHost", "NumServers", "Options", "PidFile",
    "PythonAuthenHandler", "PythonAuthzHandler", "PythonCleanupHandler",
    "PythonConnectionHandler", "PythonDebug", "PythonHandler", "PythonAccessHandler",
    "PythonPostReadRequestHandler", "PythonTransHandler", "PythonFixupHandler",
    "PythonImport", "PythonPath", "PythonOutputFilter", "PythonOption", "Require",
    "SetHandler", "ServerAdmin", "ServerName", "ServerPath", "ServerRoot",
    "StartServers", "StartThreads", "ThreadsPerChild", "Timeout", "TypesConfig",
)


def quote_if_space(text: str) -> str:
    """``text`` in double quotes if it contains a space (a path for a directive), else as is."""
    return f'"{text}"' if " " in text else text


def _flip(text: str, flipslash: Any) -> str:
    return text.replace("\\", "/") if flipslash else text


def _value_text(val: Any) -> str:
    if isinstance(val, (list, tuple)):
        return " ".join(str(v) for v in val)
    return str(val)


def _render(item: Any, level: int) -> str:
    if hasattr(item, "render"):
        return item.render(level)
    # Plain strings are emitted verbatim (one line each), indented.
    return "\n".join(INDENT * level + line if line else "" for line in str(item).split("\n"))


def _repr_child(item: Any, level: int) -> str:
    if hasattr(item, "_repr"):
        return item._repr(level)
    return INDENT * level + repr(item)


class Directive:
    """One directive line: ``Name value``."""

    def __init__(self, name: str, val: Any, flipslash: Any = 1) -> None:
        self.name = name
        self.val = val
        self.flipslash = flipslash

    def render(self, level: int = 0) -> str:
        value = _flip(_value_text(self.val), self.flipslash)
        if "\n" in value or "\r" in value:  # would start another directive
            raise ValueError(f"{self.name}: a value cannot contain a line break: {value!r}")
        return f"{INDENT * level}{self.name} {value}".rstrip()

    def __str__(self) -> str:
        return self.render(0)

    def _args_repr(self) -> str:
        args = [repr(self.name), repr(self.val)]
        if not self.flipslash:
            args.append(f"flipslash={self.flipslash!r}")
        return ", ".join(args)

    def _repr(self, level: int = 0) -> str:
        return f"{INDENT * level}{type(self).__name__}({self._args_repr()})"

    def __repr__(self) -> str:
        return self._repr(0)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and str(self) == str(other)

    __hash__ = object.__hash__


class _OneValue(Directive):
    """Base of the ``Name(value)`` directive classes."""

    _default_flipslash = 1

    def __init__(self, val: Any, flipslash: Any = None) -> None:
        if flipslash is None:
            flipslash = self._default_flipslash
        super().__init__(type(self).__name__, val, flipslash)

    def _args_repr(self) -> str:
        args = [repr(self.val)]
        if bool(self.flipslash) != bool(self._default_flipslash):
            args.append(f"flipslash={self.flipslash!r}")
        return ", ".join(args)


def _make_directive_class(name: str, default_flipslash: int = 1) -> type:
    cls = type(name, (_OneValue,), {
        "_default_flipslash": default_flipslash,
        "__doc__": f"The ``{name}`` directive.",
        "__module__": __name__,
    })
    return cls


for _name in _ONE_VALUE_DIRECTIVES:
    globals()[_name] = _make_directive_class(_name)
    __all__.append(_name)
LogFormat = _make_directive_class("LogFormat", 0)  # formats contain backslash escapes
__all__.append("LogFormat")
# A Python expression: its backslashes are escapes, never path separators (as in 3.5).
PythonPath = _make_directive_class("PythonPath", 0)  # noqa: F811
del _name


class PythonInterpPerDirectory(_OneValue):
    """``PythonInterpPerDirectory`` (default ``Off``)."""

    def __init__(self, val: Any = "Off", flipslash: Any = None) -> None:
        super().__init__(val, flipslash)


class PythonInterpPerDirective(_OneValue):
    """``PythonInterpPerDirective`` (default ``Off``)."""

    def __init__(self, val: Any = "Off", flipslash: Any = None) -> None:
        super().__init__(val, flipslash)


def _only_if_namespace() -> dict:
    namespace: dict = {"os": os, "sys": sys}
    try:
        import mod_python
        import mod_python.version  # noqa: F401  (attribute access in expressions)
        namespace["mod_python"] = mod_python
    except ImportError:
        pass
    return namespace


class Container:
    """A sequence of items rendered one after another.

    ``only_if`` is a Python expression evaluated at render time; when false the
    container renders as nothing.
    """

    def __init__(self, *items: Any, only_if: Optional[str] = None) -> None:
        self.items = list(items)
        self.only_if = only_if

    def append(self, item: Any) -> "Container":
        self.items.append(item)
        return self

    def extend(self, items: Iterable[Any]) -> "Container":
        self.items.extend(items)
        return self

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def enabled(self) -> bool:
        if self.only_if is None:
            return True
        return bool(eval(self.only_if, _only_if_namespace()))  # noqa: S307 (config author's code)

    def render(self, level: int = 0) -> str:
        if not self.enabled():
            return ""
        parts = [_render(item, level) for item in self.items]
        return "\n".join(part for part in parts if part != "")

    def __str__(self) -> str:
        return self.render(0)

    def _children_repr(self, level: int) -> list[str]:
        return [_repr_child(item, level) + "," for item in self.items]

    def _repr(self, level: int = 0) -> str:
        pad = INDENT * level
        lines = self._children_repr(level + 1)
        if self.only_if is not None:
            lines.append(f"{INDENT * (level + 1)}only_if={self.only_if!r},")
        if not lines:
            return f"{pad}{type(self).__name__}()"
        return f"{pad}{type(self).__name__}(\n" + "\n".join(lines) + f"\n{pad})"

    def __repr__(self) -> str:
        return self._repr(0)


class ContainerTag:
    """A section ``<tag attr> ... </tag>``; ``args`` is an item or a sequence of items."""

    def __init__(self, tag: str, attr: Any, args: Any = (), flipslash: Any = 1) -> None:
        self.tag = tag
        self.attr = attr
        if isinstance(args, (list, tuple)):
            args = Container(*args)
        elif not isinstance(args, Container):
            args = Container(args)
        self.args = args
        self.flipslash = flipslash

    def append(self, item: Any) -> "ContainerTag":
        self.args.append(item)
        return self

    def _attr_text(self) -> str:
        text = _flip(_value_text(self.attr), self.flipslash)
        if text and any(c.isspace() for c in text) and not text.startswith('"'):
            text = '"' + text.replace('"', '\\"') + '"'
        return text

    def render(self, level: int = 0) -> str:
        pad = INDENT * level
        attr = self._attr_text()
        head = f"{pad}<{self.tag} {attr}>" if attr else f"{pad}<{self.tag}>"
        body = self.args.render(level + 1)
        return "\n".join(part for part in (head, body, f"{pad}</{self.tag}>") if part)

    def __str__(self) -> str:
        return self.render(0)

    def _repr(self, level: int = 0) -> str:
        pad = INDENT * level
        args = [f"{INDENT * (level + 1)}{self.tag!r},", f"{INDENT * (level + 1)}{self.attr!r},"]
        args.append(self.args._repr(level + 1) + ",")
        if not self.flipslash:
            args.append(f"{INDENT * (level + 1)}flipslash={self.flipslash!r},")
        return f"{pad}ContainerTag(\n" + "\n".join(args) + f"\n{pad})"

    def __repr__(self) -> str:
        return self._repr(0)


class _Section(ContainerTag):
    """Base of ``Directory(attr, *children)`` and friends."""

    def __init__(self, attr: Any, *children: Any, flipslash: Any = 1) -> None:
        super().__init__(type(self).__name__, attr, list(children), flipslash)

    def _repr(self, level: int = 0) -> str:
        pad = INDENT * level
        lines = [f"{INDENT * (level + 1)}{self.attr!r},"]
        if self.args.only_if is None:
            lines += self.args._children_repr(level + 1)
        else:
            lines.append(self.args._repr(level + 1) + ",")
        if not self.flipslash:
            lines.append(f"{INDENT * (level + 1)}flipslash={self.flipslash!r},")
        return f"{pad}{type(self).__name__}(\n" + "\n".join(lines) + f"\n{pad})"


class Directory(_Section):
    """``<Directory path>``."""


class Files(_Section):
    """``<Files pattern>``."""


class IfModule(_Section):
    """``<IfModule module>``."""


class Location(_Section):
    """``<Location url>``."""


class VirtualHost(_Section):
    """``<VirtualHost addr>``."""


class Comment:
    """``# text`` (one ``#`` line per line of text)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, level: int = 0) -> str:
        pad = INDENT * level
        return "\n".join(f"{pad}# {line}".rstrip() for line in str(self.text).split("\n"))

    def __str__(self) -> str:
        return self.render(0)

    def _repr(self, level: int = 0) -> str:
        return f"{INDENT * level}Comment({self.text!r})"

    def __repr__(self) -> str:
        return self._repr(0)


# ----------------------------------------------------------------- basic config


def pythonpath_expr(paths: Sequence[str]) -> str:
    """The ``PythonPath`` value that appends ``paths`` to ``sys.path``."""
    for path in paths:
        if "'" in path or "\\" in path or "\n" in path or '"' in path:
            raise ValueError(f"path not usable in PythonPath: {path!r}")
    return '"sys.path+[' + ", ".join(f"'{p}'" for p in paths) + ']"'


def _option_value(option: str) -> str:
    """``key value`` as one PythonOption line: a value with spaces is quoted (the directive
    takes one or two arguments); line breaks and double quotes cannot be written."""
    if "\n" in option or "\r" in option or '"' in option:
        raise ValueError(f"PythonOption not usable in httpd.conf: {option!r}")
    key, _, value = option.strip().partition(" ")
    value = value.strip()
    return f'{key} "{value}"' if " " in value or "\t" in value else option.strip()


def _split_listen(listen: Any) -> tuple[str, int]:
    text = str(listen)
    host, sep, port = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad listen address {listen!r} (want PORT or HOST:PORT)")
    return host or "127.0.0.1", int(port)


def render_server_config(
    server_root: Any,
    listen: Any,
    module_path: Any,
    site: Any = "",
    htdocs: str = "htdocs",
    mpm: str = "event",
    log_level: str = "warn",
    published_py: bool = False,
) -> str:
    """A complete, self-contained httpd.conf (see :func:`mod_python.launcher.render_config`)
    with ``site`` (a :class:`Container` or text) appended. ``published_py``: the document
    root is served by ``mod_python.publisher``, so ``.py`` URLs must not be denied."""
    from mod_python import launcher

    root = Path(server_root).resolve()
    host, port = _split_listen(listen)
    text = launcher.render_config(
        root,
        port,
        Path(module_path),
        mpm=mpm,
        snippet=str(site),
        log_level=log_level,
        document_root=root / htdocs,
        user=launcher.server_user(),
        published_py=published_py,
    )
    if host != "127.0.0.1":
        text = text.replace(f"\nListen 127.0.0.1:{port}\n", f"\nListen {host}:{port}\n", 1)
    return text


def default_module_path() -> Path:
    """mod_python.so to load: $MP_MODULE_SO, the source tree's build, or LIBEXECDIR's."""
    env = os.environ.get("MP_MODULE_SO")
    if env:
        return Path(env).resolve()
    built = Path(__file__).resolve().parents[2] / "build" / "mod_python.so"
    if built.is_file():
        return built
    try:
        from mod_python.version import LIBEXECDIR
    except ImportError:
        LIBEXECDIR = "/usr/lib/apache2/modules"
    return Path(LIBEXECDIR) / "mod_python.so"


_SCRIPT_TEMPLATE = '''#!{python}
# Generated by mod_python.httpdconf.write_basic_config.
# Running this script prints a complete, self-contained httpd.conf; edit it to
# change the server (then `mod_python genconfig` / `mod_python restart`).
import sys
{syspath}
from mod_python.httpdconf import *

SERVER_ROOT = {server_root!r}
LISTEN = {listen!r}
MODULE = {module!r}
MPM = {mpm!r}
HTDOCS = {htdocs!r}
# The publisher serves /page.py/function URLs itself: .py files are not denied then.
PUBLISHED_PY = {published_py!r}

site = {site}

if __name__ == "__main__":
    sys.stdout.write(render_server_config(SERVER_ROOT, LISTEN, MODULE, site,
                                          htdocs=HTDOCS, mpm=MPM, published_py=PUBLISHED_PY))
'''


def write_basic_config(
    server_root: Any,
    listen: Any = "0.0.0.0:8888",
    conf: str = "conf",
    logs: str = "logs",
    htdocs: str = "public",
    pythonhandler: str = "mod_python.publisher",
    pythonpath: Sequence[str] = (),
    pythonoptions: Sequence[str] = (),
    mp_comments: Sequence[str] = (),
    conf_name: str = "httpd_conf.py",
    createdirs: bool = True,
    replace_config: bool = False,
    *,
    module_path: Any = None,
    mpm: str = "event",
) -> str:
    """Create a server root and write ``<server_root>/<conf>/<conf_name>``.

    That file is a Python script printing a complete httpd.conf: core modules,
    logs and pid file inside the root, ``ServerName 127.0.0.1``, ``Listen``,
    DocumentRoot, ``LoadModule python_module``, then a ``<Directory>`` for the
    document root with ``SetHandler mod_python``, ``PythonHandler`` and optional
    ``PythonPath``/``PythonOption`` lines.  Python sources, byte code and
    ``__pycache__`` are never served as static files.  Returns the script's path.
    Raises :class:`FileExistsError` when it exists, unless ``replace_config``.
    """
    _split_listen(listen)  # validate early
    root = Path(server_root).resolve()
    conf_dir = root / conf
    script = conf_dir / conf_name
    if script.exists() and not replace_config:
        raise FileExistsError(f"{script} exists (`mod_python create --force` or "
                              "replace_config=True overwrites it)")
    if createdirs:
        for sub in (conf, logs, htdocs, "run"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        if Path("/etc/mime.types").is_file():
            shutil.copyfile("/etc/mime.types", conf_dir / "mime.types")
    elif not conf_dir.is_dir():
        raise FileNotFoundError(f"{conf_dir} does not exist")

    docroot = str(root / htdocs)
    section = Directory(docroot, SetHandler("mod_python"), PythonHandler(pythonhandler))  # noqa: F821
    if pythonpath:
        section.append(PythonPath(pythonpath_expr([str(Path(p).resolve()) for p in pythonpath])))  # noqa: F821
    for option in pythonoptions:
        section.append(PythonOption(_option_value(option)))  # noqa: F821
    items: list = [Comment(c) for c in mp_comments]
    items.append(section)
    site = Container(*items)
    str(site)  # a value that cannot be written (a line break) fails here, not in genconfig

    package_dir = str(Path(__file__).resolve().parents[1])
    syspath = f"sys.path.insert(0, {package_dir!r})"
    text = _SCRIPT_TEMPLATE.format(
        python=sys.executable or "/usr/bin/python3",
        syspath=syspath,
        server_root=str(root),
        listen=str(listen),
        module=str(Path(module_path).resolve() if module_path else default_module_path()),
        mpm=mpm,
        htdocs=htdocs,
        published_py=pythonhandler == "mod_python.publisher",
        site=repr(site),
    )
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    return str(script)
