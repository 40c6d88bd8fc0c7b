# WSGI entry point of the djdemo Django project (what `startproject` generates, plus the
# sys.path line a mod_wsgi deployment needs when the project is not installed).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djdemo.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
