"""mod_python: Apache httpd 2.4 module embedding CPython (C++ implementation, 3.5 API).

Importing this package works outside httpd; ``mod_python.apache`` only works inside it.
"""

__all__ = ["apache", "util", "Cookie", "Session", "psp", "publisher", "wsgi", "version"]

try:
    from mod_python.version import version as mp_version
except ImportError:  # source tree that was never configured
    mp_version = "3.5.0+cpp.unconfigured"

