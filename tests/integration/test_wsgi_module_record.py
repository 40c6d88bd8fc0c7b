"""The wsgi_module / mod_wsgi.c record: <IfModule> sections of mod_wsgi configs, restarts."""

APP = '''
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["mod_wsgi.application_group"].encode()]
'''
def test_restart_and_ifmodule(apache):
    srv = apache("<IfModule mod_wsgi.c>\nWSGIScriptAlias /app @DOCROOT@/app.wsgi\n</IfModule>\n"
                 "<IfModule wsgi_module>\nWSGIScriptAlias /app2 @DOCROOT@/app.wsgi\n</IfModule>\n"
                 "<IfModule !mod_wsgi.c>\nWSGIScriptAlias /bad @DOCROOT@/app.wsgi\n</IfModule>\n",
                 files={"app.wsgi": APP})
    assert srv.get("/app").status_code == 200
    assert srv.get("/app2").status_code == 200
    assert srv.get("/bad").status_code == 404
    for _ in range(3):
        srv.restart()
        r = srv.get("/app/x")
        assert r.status_code == 200, srv.error_log()
    assert srv.get("/app2").status_code == 200
