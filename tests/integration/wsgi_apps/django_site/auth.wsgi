# Django's recipe for letting Apache authenticate against the project's user database
# (docs: "How to authenticate against Django's user database from Apache"):
# WSGIAuthUserScript / WSGIAuthGroupScript name this file.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djdemo.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.handlers.modwsgi import check_password, groups_for_user  # noqa: E402,F401
