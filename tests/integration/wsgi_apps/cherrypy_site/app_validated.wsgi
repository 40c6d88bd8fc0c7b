# The application of app.wsgi (next to this file) wrapped in wsgiref.validate.validator.
# Every WSGIWarning the validator emits is turned into an exception, so a server that breaks
# PEP 3333 answers 500 and logs the traceback instead of a warning that could be missed.
# (A separate script, because SetEnv values are not visible while a script is imported.)
import os
import runpy
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)

_here = os.path.dirname(os.path.abspath(__file__))
_app = runpy.run_path(os.path.join(_here, "app.wsgi"))["application"]


def _behind_validator(environ, start_response):
    # The validator's wsgi.input wrapper insists on read(size) as PEP 3333 says, while the
    # wsgi.input_terminated extension (set by mod_wsgi and by us) tells applications such as
    # Werkzeug that a bare read() is safe. The validator has already checked the server's
    # environ at this point; the application behind it gets the plain PEP 3333 contract.
    environ.pop("wsgi.input_terminated", None)
    return _app(environ, start_response)


application = validator(_behind_validator)
