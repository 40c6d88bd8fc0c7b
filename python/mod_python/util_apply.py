"""mod_python.util.apply_fs_data: calling an object with the form fields it takes (spec §11).

Used by the publisher and PSP; re-exported by ``mod_python.util``.
"""

from __future__ import annotations

import inspect
from typing import Any


def _expected_args(obj: Any, depth: int = 0) -> tuple:
    """``(names, accepts_any_keyword)`` of the keyword-passable parameters of ``obj``."""
    skip = 0
    code = None
    if inspect.isfunction(obj):
        code = obj.__code__
    elif inspect.ismethod(obj):
        func = obj.__func__
        if not inspect.isfunction(func):
            return (), False
        code = func.__code__
        skip = 1
    elif inspect.isclass(obj):
        init = getattr(obj, "__init__", None)
        if not inspect.isfunction(init):
            return (), False
        code = init.__code__
        skip = 1
    elif inspect.isbuiltin(obj) or inspect.isroutine(obj):
        return (), False
    elif callable(obj) and depth < 8:
        call = getattr(obj, "__call__", None)  # noqa: B004
        if inspect.ismethod(call):
            func = call.__func__
            if not inspect.isfunction(func):
                return (), False
            code = func.__code__
            skip = 1
        else:
            return _expected_args(call, depth + 1)
    if code is None:
        return (), False
    positional = code.co_varnames[:code.co_argcount]
    keyword_only = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    # Positional-only parameters cannot be passed by keyword.
    first = max(skip, code.co_posonlyargcount)
    names = tuple(positional[first:]) + tuple(keyword_only)
    return names, bool(code.co_flags & inspect.CO_VARKEYWORDS)


def _text(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    return value


def apply_fs_data(object: Any, fs: Any, **args: Any) -> Any:  # noqa: A002 (3.5 name)
    """Call ``object`` with the form fields of ``fs`` that match its parameter names.

    Fields with a filename are passed as Field objects, others as their value as ``str``
    (UTF-8; bytes that are not UTF-8 kept as surrogates), which is what 3.5 passed for query
    string fields and what ``"Hello %s" % name`` expects; repeated names become lists.
    Keyword arguments given here win over form fields.
    """
    fields: dict = {}
    for field in fs.list:
        value = field if field.filename else _text(field.value)
        if field.name in fields:
            current = fields[field.name]
            if isinstance(current, list):
                current.append(value)
            else:
                fields[field.name] = [current, value]
        else:
            fields[field.name] = value
    fields.update(args)
    names, any_keyword = _expected_args(object)
    if not any_keyword:
        fields = {name: fields[name] for name in names if name in fields}
    return object(**fields)
