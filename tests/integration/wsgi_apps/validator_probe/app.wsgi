# A deliberately sloppy application: "200" without a reason phrase makes wsgiref.validate
# emit a WSGIWarning. Mounted through app_validated.wsgi it proves that a validator warning
# turns into a failed request and a logged traceback, i.e. that the other validated mounts
# would not pass silently.


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/sloppy":
        start_response("200", [("Content-Type", "text/plain")])
        return [b"sloppy"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fine"]
