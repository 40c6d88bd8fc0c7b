"""WSGI hello world: the same file for every WSGI hello config (mod_wsgi, ours, gunicorn, uWSGI)."""

BODY = b"Hello, world!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", list(HEADERS))
    return [BODY]
