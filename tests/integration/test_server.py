"""Process level: our package, PythonOptimize, Server banner, graceful restart (spec §3, §8)."""

import os
import threading
import time

import requests

from mphelpers import JSON_PAGE, MODULE_SO, REPO, REQUEST_TIMEOUT, in_directory

INSPECT = '''
    import sys
    import mod_python
    import mod_python.version
    from mod_python import apache
    from jsonpage import send_json


    def package(req):
        return send_json(req, {
            "package": mod_python.__file__,
            "apache": apache.__file__,
            "version": mod_python.version.version,
            "mp_version": getattr(mod_python, "mp_version", None),
            "python": "%d.%d" % sys.version_info[:2],
        })


    def optimize(req):
        """A docstring that -OO removes."""
        try:
            assert False, "assert statements still run"
            asserts_stripped = True
        except AssertionError:
            asserts_stripped = False
        return send_json(req, {
            "optimize": sys.flags.optimize,
            "asserts_stripped": asserts_stripped,
            "docstring": optimize.__doc__,
        })


    def hello(req):
        req.content_type = "text/plain"
        req.write("hello")
        return apache.OK
'''

FILES = {"inspect_mp.py": INSPECT, "jsonpage.py": JSON_PAGE}


def test_our_package_is_imported_not_debians(apache):
    # The module finds its own package: the source tree's python/ or the copy
    # next to the built module (build/python/), never Debian's dist-packages.
    srv = apache(in_directory("PythonHandler inspect_mp::package"), files=FILES)
    info = srv.get("/x").json()
    ours = (REPO / "python" / "mod_python", MODULE_SO.parent / "python" / "mod_python")
    for key in ("package", "apache"):
        assert "dist-packages" not in info[key], info
        assert info[key].startswith(tuple(str(p) + os.sep for p in ours)), info
    assert info["version"].startswith("3.5"), info
    assert info["mp_version"] == info["version"]
    assert info["python"] == "3.11"


def test_no_version_mismatch_warning(apache):
    srv = apache(in_directory("PythonHandler inspect_mp::hello"), files=FILES)
    assert srv.get("/x").text == "hello"
    assert "MP0002" not in srv.error_log()
    assert "version mismatch" not in srv.error_log()


def test_server_banner_names_mod_python_and_python(apache):
    srv = apache(in_directory("PythonHandler inspect_mp::hello"), files=FILES)
    banner = srv.get("/x").headers["Server"]
    assert "mod_python/3.5" in banner
    assert "Python/3.11." in banner


def test_python_optimize_on(apache):
    srv = apache(
        "PythonOptimize On\n" + in_directory("PythonHandler inspect_mp::optimize"), files=FILES
    )
    assert srv.get("/x").json() == {"optimize": 2, "asserts_stripped": True, "docstring": None}


def test_python_optimize_default_off(apache):
    srv = apache(in_directory("PythonHandler inspect_mp::optimize"), files=FILES)
    assert srv.get("/x").json() == {
        "optimize": 0,
        "asserts_stripped": False,
        "docstring": "A docstring that -OO removes.",
    }


def test_graceful_restart_while_serving(apache):
    srv = apache(in_directory("PythonHandler inspect_mp::hello"), files=FILES)
    assert srv.get("/x").text == "hello"
    results: list = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                r = requests.get(srv.url("/x"), timeout=REQUEST_TIMEOUT)
                results.append((r.status_code, r.text))
            except requests.RequestException as exc:
                results.append(("exception", repr(exc)))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        srv.restart()
        time.sleep(0.3)
        srv.restart()
        time.sleep(0.3)
    finally:
        stop.set()
        for worker in workers:
            worker.join(REQUEST_TIMEOUT)
    bad = [res for res in results if res != (200, "hello")]
    assert not bad, bad[:5]
    assert len(results) > 10
    assert srv.get("/x").text == "hello"
