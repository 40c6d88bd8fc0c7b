"""A handler that fails, to show mod_python's error reporting.

With ``PythonDebug On`` the traceback is sent to the browser as an HTML page with
status 500; with the default ``PythonDebug Off`` the client only gets Apache's
500 page. Either way the traceback is written to the error log.
"""

from mod_python import apache


def _average(values):
    return sum(values) / len(values)


def handler(req):
    req.content_type = "text/plain"
    average = _average([])  # ZeroDivisionError: the point of this page
    req.write("average: %s\n" % average)
    return apache.OK
