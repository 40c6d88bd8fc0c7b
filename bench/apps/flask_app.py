"""Flask page for the framework-bound WSGI workload (every `*flask*` config: same file).

GET /page renders templates/page.html with Jinja2 (a loop, filters, autoescaping):
about 1 KB of HTML. The module-level `application` is what WSGIScriptAlias,
mod_python.wsgi, gunicorn and uWSGI all load.
"""
import os

from flask import Flask, render_template

_HERE = os.path.dirname(os.path.abspath(__file__))
app = Flask(__name__, template_folder=os.path.join(_HERE, "templates"))

PRODUCTS = [
    {"name": "anvil", "price": 19.5, "tags": ["iron", "heavy"]},
    {"name": "bellows", "price": 7.25, "tags": ["leather"]},
    {"name": "chisel", "price": 3.0, "tags": ["steel", "sharp", "small"]},
    {"name": "drill", "price": 54.99, "tags": []},
    {"name": "epsilon gauge", "price": 120.0, "tags": ["precise"]},
]


@app.route("/page")
def page():
    return render_template("page.html", title="Workshop inventory", visitor="bench <client>",
                           products=PRODUCTS)


application = app
