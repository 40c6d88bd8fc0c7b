"""bottledemo: SimpleTemplate, a form POST, a dict as JSON, static_file, redirect, a 404."""
import os

import bottle

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

app = bottle.Bottle()

PAGE = bottle.SimpleTemplate(
    "<!DOCTYPE html><html><body><h1 id=\"greeting\">Hello {{name}}!</h1>\n"
    "% for item in items:\n<li>{{item}}</li>\n% end\n</body></html>"
)


@app.get("/")
def index():
    return "bottledemo"


@app.get("/hello/<name>")
def hello(name):
    items = bottle.request.query.decode().getall("item")
    return PAGE.render(name=name, items=items)


@app.post("/form")
def form():
    forms = bottle.request.forms
    if not forms.get("who"):
        bottle.abort(400, "who is required")
    bottle.response.status = 201
    return {"who": forms.getunicode("who"), "tags": forms.getall("tag"),
            "script_name": bottle.request.script_name}


@app.get("/json")
def as_json():
    environ = bottle.request.environ
    return {"path": bottle.request.path, "fullpath": bottle.request.fullpath,
            "application_group": environ.get("mod_wsgi.application_group")}


@app.get("/static/<filename:path>")
def static(filename):
    return bottle.static_file(filename, root=STATIC)


@app.get("/go")
def go():
    bottle.redirect(bottle.request.script_name + "hello/redirected")
