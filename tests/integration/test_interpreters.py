"""Interpreter selection and isolation, concurrency and cold start (spec §3, §4, §20.2)."""

import concurrent.futures

import pytest
import requests

from mphelpers import JSON_PAGE, REQUEST_TIMEOUT, in_directory, in_location

INTERP = '''
    import os
    import threading

    from mod_python import apache
    from jsonpage import send_json

    try:
        import _xxsubinterpreters as _interpreters
    except ImportError:  # pragma: no cover - CPython 3.11 has it
        _interpreters = None

    TOKEN = os.urandom(8).hex()
    COUNT = 0
    LOCK = threading.Lock()


    def handler(req):
        global COUNT
        with LOCK:
            COUNT += 1
            count = COUNT
        is_main = None
        if _interpreters is not None:
            is_main = _interpreters.get_current() == _interpreters.get_main()
        return send_json(req, {
            "interpreter": req.interpreter,
            "apache_interpreter": apache.interpreter,
            "is_main": is_main,
            "pid": os.getpid(),
            "token": TOKEN,
            "count": count,
            "args": req.args,
        })
'''

FILES = {"interp.py": INTERP, "jsonpage.py": JSON_PAGE}


def test_default_interpreter_is_the_server_name(apache):
    srv = apache(in_directory("PythonHandler interp"), files=FILES)
    info = srv.get("/x").json()
    assert info["interpreter"] == "127.0.0.1"
    assert info["apache_interpreter"] == "127.0.0.1"
    assert info["is_main"] is False


def test_python_interpreter_directive_names_the_interpreter(apache):
    srv = apache(in_directory("PythonHandler interp", "PythonInterpreter custom_one"), files=FILES)
    info = srv.get("/x").json()
    assert info["interpreter"] == "custom_one"
    assert info["apache_interpreter"] == "custom_one"
    assert info["is_main"] is False


def test_main_interpreter(apache):
    srv = apache(
        in_directory("PythonHandler interp", "PythonInterpreter main_interpreter"), files=FILES
    )
    info = srv.get("/x").json()
    assert info["interpreter"] == "main_interpreter"
    assert info["is_main"] is True


def test_named_interpreters_do_not_share_module_globals(apache):
    snippet = (
        in_directory("PythonHandler interp", "PythonInterpreter first", path="@DOCROOT@/one")
        + in_directory("PythonHandler interp", "PythonInterpreter second", path="@DOCROOT@/two")
    )
    srv = apache(snippet, files={**{f"one/{k}": v for k, v in FILES.items()},
                                 **{f"two/{k}": v for k, v in FILES.items()}})
    with srv.session() as sess:  # one connection: one child process, even under prefork
        seen = [sess.get(srv.url(p)).json()
                for p in ("/one/x", "/two/x", "/one/x", "/two/x", "/one/x")]
    assert len({s["pid"] for s in seen}) == 1
    one = [s for s in seen if s["interpreter"] == "first"]
    two = [s for s in seen if s["interpreter"] == "second"]
    assert len(one) == 3 and len(two) == 2
    assert len({s["token"] for s in one}) == 1
    assert len({s["token"] for s in two}) == 1
    assert one[0]["token"] != two[0]["token"]
    assert [s["count"] for s in one] == [1, 2, 3]
    assert [s["count"] for s in two] == [1, 2]


def test_interp_per_directory_uses_the_directory_of_the_file(apache):
    snippet = in_directory("PythonHandler interp", "PythonInterpPerDirectory On")
    srv = apache(snippet, files={**FILES, "d1/.keep": "", "d2/.keep": ""})
    one = srv.get("/d1/page").json()
    two = srv.get("/d2/page").json()
    assert one["interpreter"] == f"{srv.docroot}/d1/"
    assert two["interpreter"] == f"{srv.docroot}/d2/"
    assert one["apache_interpreter"] == one["interpreter"]


def test_interp_per_directory_in_a_location_uses_an_existing_directory(apache):
    # A <Location> handler's file name is its URI's mapping, which names nothing: the
    # interpreter is the nearest existing directory, so clients cannot make new ones.
    srv = apache(in_location("/d1", "PythonPath \"sys.path+['@DOCROOT@']\"",
                             "PythonHandler interp", "PythonInterpPerDirectory On"),
                 files={**FILES, "d1/.keep": ""})
    names = {srv.get(path).json()["interpreter"]
             for path in ("/d1/page", "/d1/x1/page", "/d1/x2/y/page", "/d1")}
    assert names == {f"{srv.docroot}/d1/", f"{srv.docroot}/"}
    assert srv.get("/d1/x3/page").json()["interpreter"] == f"{srv.docroot}/d1/"


def test_interp_per_directive_uses_the_directory_of_the_directive(apache):
    snippet = in_directory(
        "PythonHandler interp", "PythonInterpPerDirective On", path="@DOCROOT@/pd"
    )
    srv = apache(snippet, files={**{f"pd/{k}": v for k, v in FILES.items()}, "pd/sub/.keep": ""})
    top = srv.get("/pd/page").json()
    nested = srv.get("/pd/sub/page").json()
    assert top["interpreter"] == f"{srv.docroot}/pd/"
    assert nested["interpreter"] == f"{srv.docroot}/pd/"


VHOST_BODY = """
    <Directory "@DOCROOT@">
        SetHandler mod_python
        PythonHandler interp
    </Directory>
"""


def test_virtual_hosts_get_their_own_interpreters(apache):
    srv = apache("", files=FILES, vhosts={"a.test": VHOST_BODY, "b.test": VHOST_BODY})
    hosts = ["a.test", "b.test", "a.test", "b.test", "a.test"]
    with srv.session() as sess:
        seen = [
            sess.get(srv.url("/x"), headers={"Host": f"{h}:{srv.port}"}).json()
            for h in hosts
        ]
    assert [s["interpreter"] for s in seen] == hosts
    assert len({s["pid"] for s in seen}) == 1
    a = [s for s in seen if s["interpreter"] == "a.test"]
    b = [s for s in seen if s["interpreter"] == "b.test"]
    assert a[0]["token"] != b[0]["token"]
    assert [s["count"] for s in a] == [a[0]["count"] + i for i in range(3)]
    assert [s["count"] for s in b] == [b[0]["count"] + i for i in range(2)]


# More concurrent requests than the small test server has workers: they queue,
# and Apache says so once (AH00484 "server reached MaxRequestWorkers").
@pytest.mark.allow_log("AH00484")
def test_64_concurrent_requests_over_three_interpreters(apache):
    snippet = "".join(
        in_location(f"/i{n}", "PythonPath \"sys.path+['@DOCROOT@']\"",
                    f"PythonInterpreter interp{n}", "PythonHandler interp")
        for n in range(3)
    )
    srv = apache(snippet, files=FILES)

    def fetch(i: int):
        n = i % 3
        r = requests.get(srv.url(f"/i{n}?req={i}"), timeout=REQUEST_TIMEOUT)
        return i, n, r.status_code, r.json() if r.status_code == 200 else r.text

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(fetch, range(64)))
    for i, n, status, body in results:
        assert status == 200, (i, body)
        assert body["interpreter"] == f"interp{n}"
        assert body["args"] == f"req={i}"


COLD = '''
    import time

    time.sleep(0.5)  # a slow import: concurrent first requests must wait for it

    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("ready " + (req.args or ""))
        return apache.OK
'''


@pytest.mark.allow_log("AH00484")
def test_cold_start_concurrent_first_requests_wait_for_import(apache):
    srv = apache(in_directory("PythonHandler coldmod"), files={"coldmod.py": COLD})

    def fetch(i: int):
        r = requests.get(srv.url(f"/x?{i}"), timeout=REQUEST_TIMEOUT)
        return i, r.status_code, r.text

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(fetch, range(32)))
    assert [(s, t) for _, s, t in results] == [(200, f"ready {i}") for i in range(32)]
