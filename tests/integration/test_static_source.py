"""PythonDenyStaticSource: source files are never static pages, yet handlers still run them.

The generated test configuration turns it on at server level (as the launcher does).
"""

import pytest

PAGE = '''
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("ran %s" % req.filename.rsplit("/", 1)[-1])
        return apache.OK
'''

WSGI = '''
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"wsgi ran"]
'''

SNIPPET = '''
    WSGIScriptAlias /app "@DOCROOT@/wsgi/django_style.py"
    <Directory "@DOCROOT@/handled">
        AddHandler mod_python .py
        PythonHandler page
    </Directory>
    <Directory "@DOCROOT@/public">
        PythonDenyStaticSource Off
    </Directory>
'''

FILES = {
    "plain.py": "secret = 1\n",
    "script.wsgi": "secret = 2\n",
    "page.psp": "<%= 1 %>\n",
    "cache.pyc": b"\x00\x01",
    "notes.txt": "plain text\n",
    ".env": "PASSWORD=x\n",
    ".git/config": "[core] secret\n",
    "sub/.venv/pyvenv.cfg": "secret = venv\n",
    "db.sqlite3": "secret database\n",
    "settings.py~": "secret = backup\n",
    "handled/page.py": PAGE,
    "handled/other.py": "secret = 3\n",
    "wsgi/django_style.py": WSGI,
    "public/shown.py": "shown = 1\n",
}


@pytest.fixture
def srv(apache):
    return apache(SNIPPET, files=FILES)


@pytest.mark.parametrize("path", ["/plain.py", "/script.wsgi", "/page.psp", "/cache.pyc",
                                  "/wsgi/django_style.py",
                                  *[pytest.param(path, marks=pytest.mark.allow_log("AH01630"))
                                    for path in ("/.env", "/.git/config", "/sub/.venv/pyvenv.cfg",
                                                 "/db.sqlite3", "/settings.py~")]])
def test_source_is_not_sent_as_a_static_file(srv, path):
    r = srv.get(path)
    assert r.status_code == 403
    assert b"secret" not in r.content and b"PASSWORD" not in r.content


def test_static_refusal_is_logged_at_info(apache):
    srv = apache(SNIPPET, files=FILES, log_level="info")
    assert srv.get("/plain.py").status_code == 403
    line = srv.wait_for_log("MP0108")
    assert "[python:info]" in line and "plain.py" in line


def test_other_files_are_served(srv):
    r = srv.get("/notes.txt")
    assert (r.status_code, r.text) == (200, "plain text\n")


def test_a_handler_for_py_files_still_runs_them(srv):
    r = srv.get("/handled/other.py")
    assert (r.status_code, r.text) == (200, "ran other.py")


def test_a_wsgi_script_named_py_still_runs(srv):
    r = srv.get("/app")
    assert (r.status_code, r.text) == (200, "wsgi ran")


def test_off_in_a_directory_serves_source_there(srv):
    r = srv.get("/public/shown.py")
    assert (r.status_code, r.text) == (200, "shown = 1\n")
