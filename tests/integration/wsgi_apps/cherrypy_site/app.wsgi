# WSGI entry point of the cherrypydemo application.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cherrypydemo import make_app  # noqa: E402

application = make_app()
