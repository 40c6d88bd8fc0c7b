"""Cross-process global locks: _apache._global_lock/_global_trylock/_global_unlock (spec §7)."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from mphelpers import REQUEST_TIMEOUT, in_directory

MPM = os.environ.get("MP_TEST_MPM", "event")

LOCKS = '''
    import os
    import threading
    import time
    import _apache
    from mod_python import apache


    def _raises(action):
        try:
            action()
        except Exception as exc:
            return type(exc).__name__
        return "no error"


    def critical(req):
        path = req.get_options()["journal"]
        tag = "%d/%d/%s" % (os.getpid(), threading.get_ident(), req.args)
        _apache._global_lock(req.server, "shared key")
        try:
            with open(path, "a") as fh:
                fh.write("start %s\\n" % tag)
            time.sleep(0.1)
            with open(path, "a") as fh:
                fh.write("end %s\\n" % tag)
        finally:
            _apache._global_unlock(req.server, "shared key")
        req.write("%d" % os.getpid())
        return apache.OK


    def hold(req):
        opts = req.get_options()
        _apache._global_lock(req.server, "held key")
        try:
            open(opts["held"], "w").close()
            deadline = time.time() + 10
            while not os.path.exists(opts["release"]) and time.time() < deadline:
                time.sleep(0.02)
        finally:
            _apache._global_unlock(req.server, "held key")
        req.write("released")
        return apache.OK


    def trylock(req):
        got = _apache._global_trylock(req.server, "held key")
        if got:
            _apache._global_unlock(req.server, "held key")
        req.write("%s %s" % (type(got).__name__, got))
        return apache.OK


    def route(req):
        return {"hold": hold, "try": trylock}[req.uri.strip("/")](req)


    def indexes(req):
        n = int(req.get_options().get("expected_locks", "8"))
        result = []
        # index 0 is the dbm lock (key None)
        _apache._global_lock(req.server, None, 0)
        _apache._global_unlock(req.server, None, 0)
        for index in (1, n - 1):
            _apache._global_lock(req.server, "k", index)
            _apache._global_unlock(req.server, "k", index)
            result.append("ok %d" % index)
        for index in (n, 999, -2):
            result.append("%d %s" % (index, _raises(lambda: _apache._global_lock(
                req.server, "k", index))))
        result.append("trylock %s" % _raises(lambda: _apache._global_trylock(req.server, "k", 999)))
        result.append("unlock %s" % _raises(lambda: _apache._global_unlock(req.server, "k", 999)))
        req.write("\\n".join(result))
        return apache.OK
'''


def serve(apache, name, *extra, server_options=""):
    return apache(
        server_options
        + in_directory(f"PythonHandler locks::{name}", "PythonOption journal @ROOT@/run/journal",
                       "PythonOption held @ROOT@/run/held",
                       "PythonOption release @ROOT@/run/release",
                       *extra),
        files={"locks.py": LOCKS},
    )


def test_critical_sections_never_overlap(apache):
    srv = serve(apache, "critical")
    n = 8

    def one(i):
        # A fresh connection each: under prefork the requests spread over children.
        return requests.get(srv.url(f"/x?{i}"), timeout=REQUEST_TIMEOUT)

    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(one, range(n)))
    assert all(r.status_code == 200 for r in responses)
    lines = (srv.root / "run" / "journal").read_text().splitlines()
    assert len(lines) == 2 * n
    for start, end in zip(lines[::2], lines[1::2]):
        kind_s, tag_s = start.split()
        kind_e, tag_e = end.split()
        assert (kind_s, kind_e) == ("start", "end"), lines
        assert tag_s == tag_e, lines  # nobody else entered in between
    assert {line.split()[1].split("/")[2] for line in lines} == {str(i) for i in range(n)}
    if MPM == "prefork":  # the lock really was shared between processes
        assert len({r.text for r in responses}) > 1


def try_while_held(srv, meanwhile=None) -> tuple[str, str]:
    """Holds "held key" in one request, runs ``meanwhile()``, tries the key in another request.

    Returns (what the holder answered once released, what the try answered while held)."""
    held = srv.root / "run" / "held"
    release = srv.root / "run" / "release"
    result = {}

    def holder():
        result["hold"] = requests.get(srv.url("/hold"), timeout=REQUEST_TIMEOUT).text

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not held.exists():
            assert time.monotonic() < deadline, "lock holder never started"
            time.sleep(0.02)
        if meanwhile is not None:
            meanwhile()
        busy = requests.get(srv.url("/try"), timeout=REQUEST_TIMEOUT).text
    finally:
        release.touch()
        thread.join(REQUEST_TIMEOUT)
    return result.get("hold", "(no answer)"), busy


def test_trylock_returns_bool(apache):
    srv = serve(apache, "route")
    # Same handler module, another request: the key is held.
    hold, busy = try_while_held(srv)
    assert hold == "released"
    assert busy == "bool False"
    assert requests.get(srv.url("/try"), timeout=REQUEST_TIMEOUT).text == "bool True"


def test_index_range(apache):
    srv = serve(apache, "indexes")
    lines = srv.get("/x").text.splitlines()
    assert lines == [
        "ok 1",
        "ok 7",
        "8 ValueError",
        "999 ValueError",
        "-2 ValueError",
        "trylock ValueError",
        "unlock ValueError",
    ]


def test_mutex_count_option_and_startup_line(apache):
    srv = serve(apache, "indexes", "PythonOption expected_locks 4",
                server_options="PythonOption mod_python.mutex_locks 4\n")
    line = srv.wait_for_log(r"mod_python: Creating \d+ session mutexes")
    assert "Creating 4 session mutexes based on" in line
    assert " max processes and " in line and " max threads." in line
    lines = srv.get("/x").text.splitlines()
    assert lines[:3] == ["ok 1", "ok 3", "4 ValueError"]


def test_wsgi_only_configuration_has_no_startup_line_about_sessions(apache):
    # A mod_wsgi configuration with our LoadModule line: the locks exist (cheap) but the
    # NOTICE about them, which httpd logs whatever LogLevel says, would only be noise.
    app = "def application(environ, start_response):\n" \
          "    start_response('200 OK', [('Content-Type', 'text/plain')])\n" \
          "    return [b'wsgi']\n"
    srv = apache("WSGIScriptAlias /app @DOCROOT@/app.wsgi\n", files={"app.wsgi": app})
    assert srv.get("/app").text == "wsgi"
    assert "session mutexes" not in srv.error_log()


def test_locks_span_a_graceful_restart(apache):
    # The old generation finishes its requests after a graceful restart: its locks must keep
    # working and keep excluding the new generation's children.
    srv = serve(apache, "route")
    hold, busy = try_while_held(srv, meanwhile=srv.restart)
    assert hold == "released"
    assert busy == "bool False"
    assert requests.get(srv.url("/try"), timeout=REQUEST_TIMEOUT).text == "bool True"
    assert srv.error_log().count("session mutexes based on") == 1  # created once
