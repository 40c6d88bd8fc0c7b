# WSGI entry point of the bottledemo application.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bottledemo import app as application  # noqa: E402,F401
