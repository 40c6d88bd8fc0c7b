"""PythonHandler hello world (configs `ours` and `c`: same file, same directives)."""
from mod_python import apache

BODY = b"Hello, world!\n"


def handler(req):
    req.content_type = "text/plain"
    req.set_content_length(len(BODY))
    req.write(BODY)
    return apache.OK
