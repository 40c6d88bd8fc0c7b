"""Run a CGI script inside the interpreter (spec §17).

``PythonHandler mod_python.cgihandler``: the script named by the request is executed as
``__main__`` with ``sys.stdin`` reading the request body, ``sys.stdout`` parsing the CGI
header block and streaming the body, and ``os.environ`` holding the CGI environment.  One
script runs at a time per process; ``os.environ`` is swapped only for the duration of a run.
"""

from __future__ import annotations

import builtins
import os
import sys
import sysconfig
import threading
from typing import Any

from mod_python import apache

__all__ = ["handler"]

_lock = threading.Lock()

# Modules present when this module was imported are never dropped.
_initial_modules = frozenset(sys.modules)


def _stdlib_dirs() -> tuple:
    dirs = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib"):
        if paths.get(key):
            dirs.add(os.path.realpath(paths[key]))
    return tuple(dirs)


_STDLIB = _stdlib_dirs()


def _in_stdlib(filename: str) -> bool:
    path = os.path.realpath(filename)
    return any(path == d or path.startswith(d + os.sep) for d in _STDLIB)


def _drop_script_modules() -> None:
    """Forget modules imported (by scripts) since cgihandler was loaded, except stdlib ones."""
    for name, module in list(sys.modules.items()):
        if name in _initial_modules or name == __name__:
            continue
        if name == "mod_python" or name.startswith(("mod_python.", "_apache")):
            continue
        filename = getattr(module, "__file__", None)
        if not filename or _in_stdlib(filename):
            continue
        sys.modules.pop(name, None)


def _script_path(req: Any) -> str:
    script = None
    try:
        script = req.subprocess_env.get("script_filename")
    except AttributeError:
        pass
    script = script or req.filename
    if not script or not os.path.isfile(script):
        raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
    directory = os.path.dirname(os.path.abspath(script))
    real = os.path.realpath(script)
    if os.path.dirname(real) != os.path.realpath(directory):
        req.log_error(f"mod_python.cgihandler: {script} resolves outside its directory",
                      apache.APLOG_WARNING)
        raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
    return os.path.abspath(script)


def handler(req: Any) -> int:
    script = _script_path(req)
    with open(script, "rb") as handle:
        source = handle.read()
    code = compile(source, script, "exec", dont_inherit=True)
    with _lock:
        _drop_script_modules()
        saved_cwd = os.getcwd()
        saved_argv = list(sys.argv) if hasattr(sys, "argv") else []
        saved = apache.setup_cgi(req)
        try:
            os.chdir(os.path.dirname(script))
            sys.argv = [script]
            namespace = {"__name__": "__main__", "__file__": script,
                         "__builtins__": builtins}
            try:
                exec(code, namespace)
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    req.log_error(f"mod_python.cgihandler: {script} exited with {exc.code!r}",
                                  apache.APLOG_NOTICE)
            sys.stdout.flush()
        finally:
            apache.restore_nocgi(*saved)
            sys.argv = saved_argv
            try:
                os.chdir(saved_cwd)
            except OSError:
                pass
    return apache.OK
