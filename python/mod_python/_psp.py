"""mod_python 3.5's ``_psp`` extension module: the PSP-to-Python generator.

Here the generator is part of the module's built-in ``_apache``; these are the same functions
as ``mod_python.psp.parse`` and ``parsestring``, for code that imported ``_psp`` directly.
"""

from mod_python.psp import parse, parsestring

__all__ = ["parse", "parsestring"]
