"""mod_python.Session inside Apache (§13, §7, §20 items 5/6, §21)."""

import concurrent.futures
import os
import re
import stat
import time

from mphelpers import JSON_PAGE, in_directory

SESSIONS = '''
    import time
    from mod_python import apache, Session, session_support
    from jsonpage import send_json

    SECRET = "integration-secret"


    def report(req, sess, **extra):
        data = {"sid": sess.id(), "new": sess.is_new(), "type": type(sess).__name__,
                "n": sess.get("n"), "pid": __import__("os").getpid(),
                "lock_count": session_support._lock_count}
        data.update(extra)
        return send_json(req, data)


    def counter(req):
        sess = Session.Session(req)
        sess["n"] = sess.get("n", 0) + 1
        if req.args == "sleep":
            time.sleep(0.3)
        sess.save()
        return report(req, sess)


    def signed(req):
        sess = Session.Session(req, secret=SECRET)
        sess["n"] = sess.get("n", 0) + 1
        sess.save()
        return report(req, sess)


    def twice(req):
        first = Session.Session(req)
        first["n"] = first.get("n", 0) + 1
        first.save()
        second = Session.Session(req)       # same request: must not deadlock
        third = Session.FileSession(req, sid=first.id()) if not first.is_new() else None
        second.unlock()
        return report(req, first, second=second.id(),
                      third=third.id() if third is not None else None)


    def invalidate(req):
        sess = Session.Session(req)
        sess.invalidate()
        return report(req, sess)


    def errdoc(req):
        sess = Session.Session(req)
        if req.uri.endswith("/err"):  # the ErrorDocument, after an internal redirect
            return report(req, sess)
        sess["n"] = 1
        sess.save()
        return apache.HTTP_NOT_FOUND


    def route(req):
        return {"counter": counter, "invalidate": invalidate}[req.uri.rsplit("/", 1)[-1]](req)
'''

FILES = {"sessions.py": SESSIONS, "jsonpage.py": JSON_PAGE}


def serve(apache, func, *options):
    directives = [f"PythonHandler sessions::{func}"]
    directives += [f"PythonOption {opt}" for opt in options]
    return apache(in_directory(*directives), files=FILES)


def file_options(root):
    return ("mod_python.session.session_type FileSession",
            f"mod_python.session.database_directory {root}")


def test_file_session_counter(apache):
    srv = serve(apache, "counter", "mod_python.session.session_type FileSession")
    with srv.session() as client:
        first = client.get(srv.url("/c")).json()
        assert first["new"] and first["n"] == 1 and first["type"] == "FileSession"
        assert re.fullmatch(r"[0-9a-f]{32}", first["sid"])
        assert first["lock_count"] == 8  # mutex indexes computed like the C side
        assert client.cookies.get("pysid") == first["sid"]
        for expected in (2, 3, 4):
            info = client.get(srv.url("/c")).json()
            assert info["sid"] == first["sid"] and not info["new"] and info["n"] == expected
    # Default storage: a private directory under the runtime directory (§21).
    private = srv.root / "run" / "mod_python-sessions"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
    record = private / "mp_sess" / first["sid"][:2] / first["sid"]
    assert record.is_file()


def test_error_document_sharing_a_new_session_sends_its_cookie(apache):
    # The first handler's headers_out are dropped by the internal redirect to the
    # ErrorDocument; the page shares that session, so it must send the cookie itself.
    srv = apache(in_directory("PythonHandler sessions::errdoc", "ErrorDocument 404 /err",
                              "PythonOption mod_python.session.session_type FileSession"),
                 files=FILES)
    response = srv.get("/missing")
    assert response.status_code == 404
    sid = response.json()["sid"]
    assert response.headers["Set-Cookie"] == f"pysid={sid}; path=/; httponly"  # just one
    again = srv.get("/err", cookies={"pysid": sid}).json()
    assert again["sid"] == sid and again["n"] == 1 and not again["new"]


def test_set_cookie_header(apache):
    srv = serve(apache, "counter", "mod_python.session.session_type FileSession")
    response = srv.get("/c")
    header = response.headers["Set-Cookie"]
    assert header == f"pysid={response.json()['sid']}; path=/; httponly"


def test_concurrent_requests_do_not_lose_updates(apache, tmp_path):
    srv = serve(apache, "counter", *file_options(tmp_path / "store"))
    os.makedirs(tmp_path / "store", exist_ok=True)
    os.chmod(tmp_path / "store", 0o777)
    first = srv.get("/c").json()
    cookie = {"Cookie": f"pysid={first['sid']}"}

    def hit(_):
        return srv.get("/c?sleep", headers=cookie).json()

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(hit, range(4)))
    elapsed = time.monotonic() - start
    assert all(r["sid"] == first["sid"] for r in results)
    assert sorted(r["n"] for r in results) == [2, 3, 4, 5]
    assert elapsed >= 4 * 0.3 - 0.05  # serialised by the session lock
    assert srv.get("/c", headers=cookie).json()["n"] == 6


def test_second_session_in_one_request(apache):
    srv = serve(apache, "twice", "mod_python.session.session_type FileSession")
    with srv.session() as client:
        first = client.get(srv.url("/t")).json()
        assert first["n"] == 1
        info = client.get(srv.url("/t")).json()
        assert info["sid"] == info["second"] == info["third"] == first["sid"]
        assert info["n"] == 2
        # The locks were released at the end of each request.
        assert client.get(srv.url("/t")).json()["n"] == 3


def test_dbm_session_round_trip(apache, tmp_path):
    store = tmp_path / "dbm"
    store.mkdir()
    os.chmod(store, 0o777)
    srv = serve(apache, "counter", "mod_python.session.session_type DbmSession",
                f"mod_python.dbm_session.database_directory {store}")
    with srv.session() as client:
        values = [client.get(srv.url("/c")).json() for _ in range(3)]
    assert [v["n"] for v in values] == [1, 2, 3]
    assert values[0]["type"] == "DbmSession"
    assert len({v["sid"] for v in values}) == 1
    assert any(name.startswith("mp_sess.dbm") for name in os.listdir(store))


def test_memory_session_round_trip(apache):
    srv = serve(apache, "counter", "mod_python.session.session_type MemorySession")
    with srv.session() as client:  # keep-alive: one connection, one child process
        values = [client.get(srv.url("/c")).json() for _ in range(3)]
    assert values[0]["type"] == "MemorySession"
    assert len({v["pid"] for v in values}) == 1
    assert [v["n"] for v in values] == [1, 2, 3]


def test_signed_session_cookie(apache):
    srv = serve(apache, "signed", "mod_python.session.session_type FileSession")
    with srv.session() as client:
        first = client.get(srv.url("/s")).json()
        value = client.cookies.get("pysid")
        assert value.endswith(first["sid"]) and len(value) == 96
        assert client.get(srv.url("/s")).json()["n"] == 2
    tampered = "0" * 64 + first["sid"]
    for header in (f"pysid={first['sid']}", f"pysid={tampered}"):
        info = srv.get("/s", headers={"Cookie": header}).json()
        assert info["new"] and info["sid"] != first["sid"]


def test_bad_sids_are_replaced(apache):
    srv = serve(apache, "counter", "mod_python.session.session_type FileSession")
    for bad in ("/path/traversal/attack/bad", "../../../../etc/passwd", "a" * 384):
        response = srv.get("/c", headers={"Cookie": f"pysid={bad}"})
        assert response.status_code == 200
        info = response.json()
        assert info["new"] and re.fullmatch(r"[0-9a-f]{32}", info["sid"])


def test_invalidate(apache):
    srv = serve(apache, "route", "mod_python.session.session_type FileSession")
    with srv.session() as client:
        first = client.get(srv.url("/counter")).json()
        assert client.get(srv.url("/counter")).json()["n"] == 2
        response = client.get(srv.url("/invalidate"))
        assert "Max-Age=0" in response.headers["Set-Cookie"]
    info = srv.get("/counter", headers={"Cookie": f"pysid={first['sid']}"}).json()
    assert info["new"] and info["sid"] != first["sid"] and info["n"] == 1
