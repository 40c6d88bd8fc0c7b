"""Compatibility module kept for code written for mod_python 3.x.

mod_python 3.5 shipped ``mod_python.python22``, which back-filled builtins for Python 2.2;
on Python 3 it defines nothing. Old handler modules still start with
``from mod_python.python22 import *``, so it has to be importable.
"""

__all__: list[str] = []
