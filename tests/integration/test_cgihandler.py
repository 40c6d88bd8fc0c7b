"""mod_python.cgihandler (spec §17, §20.21)."""

from mphelpers import in_directory

SCRIPT = '''
    import os
    import sys

    body = sys.stdin.read()
    print("Content-Type: text/plain")
    print("X-Script: yes")
    print()
    print("method=" + os.environ.get("REQUEST_METHOD", ""))
    print("query=" + os.environ.get("QUERY_STRING", ""))
    print("cwd=" + os.path.basename(os.getcwd()))
    print("body=" + body)
    print("name=" + __name__)
'''

STATUS_SCRIPT = '''
    import sys
    sys.stdout.write("Status: 404 Not Found\\r\\nContent-Type: text/html\\r\\n\\r\\n<p>gone</p>")
    sys.exit(0)
'''

ENV_PAGE = '''
    import os
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("REQUEST_METHOD" in os.environ and "yes" or "no")
        return apache.OK
'''


def serve(apache):
    # The test configuration denies *.py as static files; CGI scripts are .py URLs here.
    snippet = in_directory("PythonHandler mod_python.cgihandler",
                           '<FilesMatch "\\.py$">', "    Require all granted", "</FilesMatch>",
                           path="@DOCROOT@/cgi")
    snippet += in_directory("PythonHandler envpage", path="@DOCROOT@/env")
    return apache(snippet, files={
        "cgi/script.py": SCRIPT,
        "cgi/status.py": STATUS_SCRIPT,
        "env/envpage.py": ENV_PAGE,
    })


def test_cgi_script_headers_and_body(apache):
    srv = serve(apache)
    r = srv.post("/cgi/script.py?a=1", data=b"hello body")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["X-Script"] == "yes"
    assert r.text.splitlines() == [
        "method=POST", "query=a=1", "cwd=cgi", "body=hello body", "name=__main__"]


def test_cgi_status_header(apache):
    srv = serve(apache)
    r = srv.get("/cgi/status.py")
    assert r.status_code == 404
    assert r.text == "<p>gone</p>"


def test_missing_script_is_404(apache):
    srv = serve(apache)
    assert srv.get("/cgi/nope.py").status_code == 404


def test_os_environ_restored_after_run(apache):
    srv = serve(apache)
    # The event MPM may serve these from different threads/children; run several.
    for _ in range(3):
        assert srv.get("/cgi/script.py").status_code == 200
    for _ in range(3):
        assert srv.get("/env/").text == "no"
