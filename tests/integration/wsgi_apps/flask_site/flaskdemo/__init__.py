"""flaskdemo: a Jinja template, JSON in and out, a file upload, a streamed response."""
import hashlib
import time

from flask import (Flask, Response, abort, jsonify, render_template, request, session,
                   stream_with_context, url_for)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="flaskdemo-test-only", MAX_CONTENT_LENGTH=8 * 1024 * 1024)

    @app.route("/")
    def index():
        return render_template("index.html", links=[url_for("hello", name="world"),
                                                    url_for("info")])

    @app.route("/hello/<name>")
    def hello(name):
        return render_template("hello.html", name=name, shout=request.args.get("shout"))

    @app.route("/api/info")
    def info():
        environ = request.environ
        return jsonify(
            script_name=environ.get("SCRIPT_NAME"),
            path_info=environ.get("PATH_INFO"),
            url=request.url,
            url_root=request.url_root,
            multithread=environ.get("wsgi.multithread"),
            multiprocess=environ.get("wsgi.multiprocess"),
            application_group=environ.get("mod_wsgi.application_group"),
            main_interpreter=_in_main_interpreter(),
        )

    @app.route("/api/echo", methods=["POST"])
    def echo():
        data = request.get_json()
        if not isinstance(data, dict):
            abort(400)
        return jsonify(received=data, keys=sorted(data)), 201

    @app.route("/upload", methods=["POST"])
    def upload():
        upload = request.files.get("file")
        if upload is None:
            abort(400)
        content = upload.read()
        return jsonify(
            filename=upload.filename,
            content_type=upload.mimetype,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            fields=request.form.to_dict(),
        )

    @app.route("/stream")
    def stream():
        count = request.args.get("n", 5, type=int)

        @stream_with_context
        def generate():
            for i in range(count):
                yield f"line {i} of {count} for {request.path}\n"
                time.sleep(0.01)

        return Response(generate(), mimetype="text/plain")

    @app.route("/counter")
    def counter():
        session["count"] = session.get("count", 0) + 1
        return jsonify(count=session["count"])

    return app


def _in_main_interpreter():
    try:
        import _xxsubinterpreters as subinterpreters
    except ImportError:
        return None
    return subinterpreters.get_current() == subinterpreters.get_main()
