"""The smallest mod_python handler: ``PythonHandler hello`` calls ``handler(req)``."""

from mod_python import apache


def handler(req):
    req.content_type = "text/plain; charset=utf-8"
    req.write("Hello from mod_python!\n")
    return apache.OK
