"""pyramiddemo: URL dispatch, JSON and string renderers, a form POST, route_url, a 404."""
import threading

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.view import notfound_view_config, view_config

_ITEMS = {1: "first"}
_LOCK = threading.Lock()


@view_config(route_name="home", renderer="string")
def home(request):
    return f"pyramiddemo at {request.script_name or '/'}"


@view_config(route_name="item", renderer="json")
def item(request):
    try:
        key = int(request.matchdict["id"])
    except ValueError:
        raise HTTPNotFound()
    with _LOCK:
        name = _ITEMS.get(key)
    if name is None:
        raise HTTPNotFound()
    return {"id": key, "name": name, "self": request.route_url("item", id=key),
            "application_group": request.environ.get("mod_wsgi.application_group")}


@view_config(route_name="items", request_method="POST")
def create_item(request):
    name = request.POST.get("name", "").strip()
    if not name:
        raise HTTPBadRequest("name is required")
    with _LOCK:
        key = max(_ITEMS) + 1
        _ITEMS[key] = name
    return HTTPSeeOther(location=request.route_url("item", id=key))


@view_config(route_name="items", request_method="GET", renderer="json")
def list_items(request):
    with _LOCK:
        return {"count": len(_ITEMS)}


@notfound_view_config(renderer="json")
def notfound(request):
    request.response.status = 404
    return {"error": "not found", "path": request.path}


def main():
    with Configurator(settings={"pyramid.reload_templates": False}) as config:
        config.add_route("home", "/")
        config.add_route("items", "/items")
        config.add_route("item", "/items/{id}")
        config.scan(__name__)
        return config.make_wsgi_app()
