# WSGI entry point of the pyramiddemo application.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyramiddemo import main  # noqa: E402

application = main()
