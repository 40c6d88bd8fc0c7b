"""Show what a handler sees of the request, and state kept between requests.

Module globals live as long as the interpreter, i.e. for the life of the Apache
child process, so ``COUNT`` keeps growing across requests (each child process
has its own copy; threads of one child share it, hence the lock).
"""

import html
import os
import threading

from mod_python import apache

COUNT = 0
_LOCK = threading.Lock()

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Request info</title>
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 48em; margin: 3em auto;
          padding: 0 1em; }}
  th {{ text-align: left; padding-right: 1.5em; vertical-align: top; font-weight: 600; }}
  td {{ font-family: ui-monospace, monospace; word-break: break-all; }}
</style></head>
<body>
<h1>Request info</h1>
<p>This interpreter has answered <strong>{count}</strong> request(s) to this page
   (process {pid}, interpreter <code>{interpreter}</code>). Reload to see it grow.</p>
<table>
{request_rows}
</table>
<h2>Request headers</h2>
<table>
{header_rows}
</table>
<p><a href="/">Back</a></p>
</body>
</html>
"""


def _rows(pairs):
    return "\n".join(
        "<tr><th>{}</th><td>{}</td></tr>".format(html.escape(str(k)), html.escape(str(v)))
        for k, v in pairs
    )


def handler(req):
    global COUNT
    with _LOCK:
        COUNT += 1
        count = COUNT
    request_rows = _rows([
        ("req.method", req.method),
        ("req.uri", req.uri),
        ("req.args", req.args),
        ("req.interpreter", req.interpreter),
    ])
    header_rows = _rows(req.headers_in.items())
    req.content_type = "text/html; charset=utf-8"
    req.write(PAGE.format(
        count=count,
        pid=os.getpid(),
        interpreter=html.escape(req.interpreter),
        request_rows=request_rows,
        header_rows=header_rows,
    ))
    return apache.OK
