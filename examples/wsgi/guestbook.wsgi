"""A small WSGI application hosted the mod_wsgi way (WSGIScriptAlias in site.conf).

A guestbook kept in memory: GET shows the entries, POST adds one. It runs in its own
sub-interpreter (the default %{RESOURCE} application group), so its state survives across
requests of one Apache child but is not shared between children.
"""

import html
import threading
from urllib.parse import parse_qs

import mod_wsgi

_entries = []
_lock = threading.Lock()

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>WSGI guestbook</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>WSGI guestbook</h1>
<p>A plain WSGI application (<code>examples/wsgi/guestbook.wsgi</code>) served through
<code>WSGIScriptAlias</code>, in application group <code>{group}</code>.</p>
<form method="post">
  <input name="name" placeholder="your name" maxlength="40" required>
  <input name="message" placeholder="a message" maxlength="200" required>
  <button>Sign</button>
</form>
<ul>{items}</ul>
<p><a href="/">back</a></p>
</body></html>
"""


def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    if environ.get("PATH_INFO", "") not in ("", "/"):
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"no such page\n"]
    if method == "POST":
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size > 10000:
            start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
            return [b"too large\n"]
        form = parse_qs(environ["wsgi.input"].read(size).decode("utf-8", "replace"))
        name = form.get("name", [""])[0].strip()[:40]
        message = form.get("message", [""])[0].strip()[:200]
        if name and message:
            with _lock:
                _entries.append((name, message))
                del _entries[:-50]
        location = environ.get("SCRIPT_NAME", "") + "/"
        start_response("303 See Other", [("Location", location), ("Content-Type", "text/plain")])
        return [b"signed\n"]
    if method not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed", [("Allow", "GET, HEAD, POST")])
        return [b""]
    with _lock:
        items = "".join(
            f"<li><b>{html.escape(n)}</b>: {html.escape(m)}</li>" for n, m in _entries
        ) or "<li>(no entries yet)</li>"
    body = PAGE.format(group=html.escape(mod_wsgi.application_group or "%{GLOBAL}"), items=items)
    data = body.encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(data)))])
    return [data]
