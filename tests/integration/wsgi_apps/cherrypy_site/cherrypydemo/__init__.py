"""cherrypydemo: exposed methods, query and form arguments, JSON out, a POST-only page, a 404.

Hosted as CherryPy documents for mod_wsgi: the 'embedded' environment (no autoreloader, no
signal handlers, no screen logging) and an Application with ``script_name=None`` so that
cherrypy.url() follows the SCRIPT_NAME of each request.
"""
import cherrypy


class Root:
    @cherrypy.expose
    def index(self):
        return "cherrypydemo"

    @cherrypy.expose
    def greet(self, name="nobody", times="1"):
        return " ".join([f"hello {name}"] * int(times))

    @cherrypy.expose
    @cherrypy.tools.allow(methods=["POST"])
    def submit(self, title=None, **rest):
        if not title:
            raise cherrypy.HTTPError(400, "title is required")
        cherrypy.response.status = 201
        return f"stored {title} ({len(rest)} more fields)"

    @cherrypy.expose
    @cherrypy.tools.json_out()
    def info(self):
        environ = cherrypy.request.wsgi_environ
        return {
            "script_name": cherrypy.request.script_name,
            "path_info": cherrypy.request.path_info,
            "url": cherrypy.url("/greet", qs="name=x"),
            "application_group": environ.get("mod_wsgi.application_group"),
        }

    @cherrypy.expose
    @cherrypy.tools.json_in()
    @cherrypy.tools.json_out()
    def echo(self):
        return {"received": cherrypy.request.json}

    @cherrypy.expose
    def go(self):
        raise cherrypy.HTTPRedirect(cherrypy.url("/greet?name=redirected"))


def make_app():
    cherrypy.config.update({"environment": "embedded", "log.screen": False})
    return cherrypy.Application(Root(), script_name=None, config={"/": {}})
