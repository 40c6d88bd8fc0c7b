"""falcondemo: resources with JSON media, a POST with Location, query params, a 404."""
import threading

import falcon


class Things:
    def __init__(self):
        self._lock = threading.Lock()
        self._things = {1: {"id": 1, "name": "first"}}

    def on_get(self, req, resp):
        limit = req.get_param_as_int("limit", default=10, min_value=1)
        with self._lock:
            things = sorted(self._things.values(), key=lambda t: t["id"])[:limit]
        resp.media = {"things": things, "limit": limit}

    def on_post(self, req, resp):
        body = req.get_media()
        if not isinstance(body, dict) or not body.get("name"):
            raise falcon.HTTPBadRequest(title="name is required")
        with self._lock:
            key = max(self._things) + 1
            self._things[key] = {"id": key, "name": body["name"]}
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}/things/{key}"
        resp.media = self._things[key]

    def on_get_thing(self, req, resp, key):
        with self._lock:
            thing = self._things.get(key)
        if thing is None:
            raise falcon.HTTPNotFound(title=f"no thing {key}")
        resp.media = thing


class Info:
    def on_get(self, req, resp):
        resp.media = {
            "script_name": req.root_path,
            "path": req.path,
            "uri": req.uri,
            "application_group": req.env.get("mod_wsgi.application_group"),
        }


def create_app():
    app = falcon.App()
    things = Things()
    app.add_route("/things", things)
    app.add_route("/things/{key:int}", things, suffix="thing")
    app.add_route("/info", Info())
    return app
