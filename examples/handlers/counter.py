"""A per-visitor counter kept in a mod_python Session (cookie "pysid")."""

import html

from mod_python import Session, apache


def handler(req):
    session = Session.Session(req)
    session["visits"] = session.get("visits", 0) + 1
    session.save()
    req.content_type = "text/html; charset=utf-8"
    req.write(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Session</title></head><body>"
        f"<h1>Session counter</h1><p>You have loaded this page {session['visits']} time(s) "
        f"in session <code>{html.escape(session.id())}</code> ({'new' if session.is_new() else 'existing'}, "
        f"{type(session).__name__}).</p>"
        "<p>Reload to count; delete the <code>pysid</code> cookie to start over.</p>"
        "<p><a href='/'>back</a></p></body></html>"
    )
    return apache.OK
