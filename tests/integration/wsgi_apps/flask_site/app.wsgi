# WSGI entry point of the flaskdemo application.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from flaskdemo import create_app  # noqa: E402

application = create_app()
