"""WSGIHandlerScript (named handlers served by a script's handle_request()) and
WSGIDispatchScript (per-request choice of application group and callable).

Spec mod_wsgi-compat §3.1.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from wsgiapps import ENV_APP, script

# A handler script: serves the resource upper-cased, and reports what it saw in headers.
HANDLER = '''
    import os
    import sys

    # Loads of this script in the interpreter, kept where a reload cannot reset it.
    sys._upper_loads = getattr(sys, "_upper_loads", 0) + 1


    def handle_request(environ, start_response):
        name = environ["SCRIPT_FILENAME"]
        if not os.path.isfile(name):  # the resource may be virtual: the script decides
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such resource"]
        with open(name, "rb") as f:
            body = f.read().upper()
        start_response("200 OK", [
            ("Content-Type", "text/plain"),
            ("X-Handler-Script", environ["mod_wsgi.handler_script"]),
            ("X-Script-Name", environ["SCRIPT_NAME"]),
            ("X-Path-Info", environ["PATH_INFO"]),
            ("X-Loads", str(sys._upper_loads)),
            ("X-Auth", environ.get("HTTP_AUTHORIZATION", "-")),
        ])
        return [body]


    def reload_required(resource):
        if resource.endswith("boom.md"):
            raise RuntimeError("cannot tell")
        return resource.endswith("reload.md")
'''


def handler_files(**extra) -> dict:
    return {"../scripts/upper.wsgi": script(HANDLER), "docs/a.md": "hello\n",
            "docs/reload.md": "again\n", "docs/boom.md": "boom\n", **extra}


def test_addhandler_runs_the_handler_script_for_the_resource(apache):
    srv = apache(
        # Handler names compare without case, as httpd's SetHandler/AddHandler values do.
        "WSGIHandlerScript Upper-MD @ROOT@/scripts/upper.wsgi application-group=%{GLOBAL}\n"
        '<Directory "@DOCROOT@/docs">\n    AddHandler upper-md .md\n</Directory>\n',
        files=handler_files(),
    )
    r = srv.get("/docs/a.md")
    assert r.status_code == 200, r.text
    assert r.text == "HELLO\n"
    assert r.headers["X-Handler-Script"] == str(srv.root / "scripts" / "upper.wsgi")
    assert r.headers["X-Script-Name"] == "/docs/a.md"
    assert r.headers["X-Auth"] == "-"
    # No ExecCGI needed: the resource is data. A missing one is the script's business.
    missing = srv.get("/docs/missing.md")
    assert missing.status_code == 404 and missing.text == "no such resource"


def test_sethandler_and_path_info(apache):
    srv = apache(
        '<Directory "@DOCROOT@/docs">\n'
        "    WSGIHandlerScript upper @ROOT@/scripts/upper.wsgi pass-authorization=On\n"
        '    <Files "a.md">\n        SetHandler upper\n    </Files>\n'
        "</Directory>\n",
        files=handler_files(),
    )
    r = srv.get("/docs/a.md/extra/path", auth=("u", "p"))
    assert r.status_code == 200, r.text
    assert r.headers["X-Script-Name"] == "/docs/a.md"
    assert r.headers["X-Path-Info"] == "/extra/path"
    assert r.headers["X-Auth"].startswith("Basic ")
    assert srv.get("/docs/reload.md").text == "again\n"  # not the handler: served as is


def test_accept_path_info_off_applies_to_handler_scripts(apache):
    srv = apache(
        "WSGIHandlerScript upper-md @ROOT@/scripts/upper.wsgi\n"
        '<Directory "@DOCROOT@/docs">\n    AddHandler upper-md .md\n'
        "    AcceptPathInfo Off\n</Directory>\n",
        files=handler_files(),
        log_level="info",
    )
    assert srv.get("/docs/a.md").text == "HELLO\n"
    assert srv.get("/docs/a.md/more").status_code == 404
    assert srv.wait_for_log(r"MP2127: AcceptPathInfo Off refuses the path info '/more'")


@pytest.mark.allow_log("MP2102")
def test_reload_required_reloads_the_handler_script(apache):
    srv = apache(
        "WSGIHandlerScript upper-md @ROOT@/scripts/upper.wsgi application-group=one\n"
        "AddHandler upper-md .md\n",
        files=handler_files(),
        mpm="prefork",
    )
    with srv.session() as s:
        loads = [s.get(srv.url("/docs/a.md")).headers["X-Loads"] for _ in range(3)]
        assert loads == ["1", "1", "1"]  # loaded once, kept
        assert s.get(srv.url("/docs/reload.md")).headers["X-Loads"] == "2"  # loaded again
        assert s.get(srv.url("/docs/a.md")).headers["X-Loads"] == "2"
        # reload_required() raising: logged, and the loaded script serves.
        boom = s.get(srv.url("/docs/boom.md"))
        assert boom.status_code == 200 and boom.headers["X-Loads"] == "2"
    assert srv.wait_for_log(r"MP2102.*exception in reload_required\(\)")
    assert srv.wait_for_log(r"RuntimeError: cannot tell")


def test_the_nearest_section_names_the_handler(apache):
    other = HANDLER.replace(".upper()", ".lower()")
    srv = apache(
        "WSGIHandlerScript conv @ROOT@/scripts/upper.wsgi\n"
        "AddHandler conv .md\n"
        '<Directory "@DOCROOT@/docs/low">\n'
        "    WSGIHandlerScript conv @ROOT@/scripts/lower.wsgi\n"
        "</Directory>\n",
        files=handler_files(**{"../scripts/lower.wsgi": script(other), "docs/low/b.md": "MiXeD\n"}),
    )
    assert srv.get("/docs/a.md").text == "HELLO\n"
    assert srv.get("/docs/low/b.md").text == "mixed\n"


@pytest.mark.allow_log("MP2103", "MP2102")
def test_handler_script_without_handle_request_is_500(apache):
    srv = apache(
        "WSGIHandlerScript broken @ROOT@/scripts/app.wsgi\n"
        "WSGIHandlerScript gone @ROOT@/scripts/none.wsgi\n"
        "AddHandler broken .md\nAddHandler gone .txt\n",
        files={"../scripts/app.wsgi": script(ENV_APP), "docs/a.md": "x\n", "docs/b.txt": "y\n"},
    )
    assert srv.get("/docs/a.md").status_code == 500
    assert srv.wait_for_log(r"MP2103.*does not contain WSGI application 'handle_request'")
    assert srv.get("/docs/b.txt").status_code == 500
    assert srv.wait_for_log(r"MP2102.*failed to load WSGI script '.*none.wsgi'")


def test_handler_script_is_not_for_htaccess(apache):
    # It runs any Python file: .htaccess authors must not be able to name one.
    srv = apache(
        '<Directory "@DOCROOT@/docs">\n    AllowOverride FileInfo\n</Directory>\n',
        files={**handler_files(), "docs/.htaccess":
               "WSGIHandlerScript up @ROOT@/scripts/upper.wsgi\nAddHandler up .md\n"},
        allow_log=("not allowed here",),
    )
    assert srv.get("/docs/a.md").status_code == 500
    assert srv.wait_for_log(r"WSGIHandlerScript not allowed here")


def test_handler_script_options_are_checked(apache):
    with pytest.raises(pytest.fail.Exception) as info:
        apache("WSGIHandlerScript h @ROOT@/scripts/upper.wsgi callable-object=x\n",
               files=handler_files())
    assert "callable-object is not an option here" in str(info.value)
    with pytest.raises(pytest.fail.Exception) as info:
        apache("WSGIHandlerScript h @ROOT@/scripts/upper.wsgi process-group=daemon\n",
               files=handler_files())
    assert "daemon mode is not yet supported" in str(info.value)


# ----------------------------------------------------------------- WSGIDispatchScript

DISPATCH = '''
    def application_group(environ):
        if environ["PATH_INFO"].startswith("/isolated"):
            return "isolated"
        if environ["PATH_INFO"].startswith("/server"):
            return "%{SERVER}"
        if environ["PATH_INFO"].startswith("/main"):
            return ""  # the main interpreter, not "no choice"
        return None


    def callable_object(environ):
        return "other" if environ["PATH_INFO"].startswith("/other") else None


    def process_group(environ):
        if environ["PATH_INFO"].startswith("/daemon"):
            return "elsewhere"
        if environ["PATH_INFO"].startswith("/odd"):
            return 42
        return ""
'''

ENV_WITH_OTHER = ENV_APP + '''

    def other(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"other callable"]
'''


@pytest.mark.allow_log("MP2131")
def test_dispatch_script_chooses_group_and_callable(apache):
    srv = apache(
        "WSGIScriptAlias /app @DOCROOT@/app.wsgi\n"
        "WSGIApplicationGroup %{GLOBAL}\n"
        "WSGIDispatchScript @ROOT@/scripts/dispatch.wsgi\n",
        files={"app.wsgi": script(ENV_WITH_OTHER), "../scripts/dispatch.wsgi": script(DISPATCH)},
    )
    assert json.loads(srv.get("/app/plain").text)["mod_wsgi.application_group"] == ""
    assert json.loads(srv.get("/app/isolated").text)["mod_wsgi.application_group"] == "isolated"
    assert json.loads(srv.get("/app/server").text)["mod_wsgi.application_group"] == \
        f"127.0.0.1:{srv.port}"
    assert srv.get("/app/other").text == "other callable"
    assert srv.get("/app/daemon").status_code == 500
    assert srv.wait_for_log(r"MP2131.*chose daemon process group 'elsewhere'")
    assert srv.get("/app/odd").status_code == 500
    assert srv.wait_for_log(r"MP2131.*process_group\(\) returned int")


def test_dispatch_script_functions_are_optional_and_reloaded(apache):
    srv = apache(
        "WSGIScriptAlias /app @DOCROOT@/app.wsgi\n"
        '<Location "/app">\n    WSGIDispatchScript @ROOT@/scripts/dispatch.wsgi\n</Location>\n',
        files={"app.wsgi": script(ENV_APP), "../scripts/dispatch.wsgi": "# nothing to say\n"},
    )
    group = json.loads(srv.get("/app/x").text)["mod_wsgi.application_group"]
    assert group == f"127.0.0.1:{srv.port}|/app"  # the default, %{RESOURCE}
    path = srv.root / "scripts" / "dispatch.wsgi"
    path.write_text(script(DISPATCH))
    later = time.time() + 5
    os.utime(path, (later, later))
    assert json.loads(srv.get("/app/isolated").text)["mod_wsgi.application_group"] == "isolated"
    assert json.loads(srv.get("/app/main").text)["mod_wsgi.application_group"] == ""
    assert json.loads(srv.get("/app/y").text)["mod_wsgi.application_group"] == group
