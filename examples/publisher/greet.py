"""A mod_python.publisher page: each public function is a URL under /publisher/greet/.

  /publisher/greet/         -> index()
  /publisher/greet/hello?name=Ada -> hello(req, name="Ada")

Names starting with "_" and anything imported are never published.
"""

import html

_VISITS = {"count": 0}


def index(req):
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Publisher</title></head><body>"
        "<h1>mod_python.publisher</h1>"
        "<form action='hello'><label>Your name <input name='name'></label> "
        "<button>Greet me</button></form>"
        "<p><a href='/'>back</a></p></body></html>"
    )


def hello(req, name="stranger"):
    # Form values arrive as str (file uploads as mod_python.util.Field objects).
    _VISITS["count"] += 1
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Hello</title></head><body>"
        f"<p>Hello, {html.escape(name) or 'stranger'}!</p>"
        f"<p>Greetings served by this process: {_VISITS['count']}</p>"
        "<p><a href='./'>again</a> &middot; <a href='/'>back</a></p></body></html>"
    )
