"""mod_python.cache without Apache (spec §18)."""

import gc
import http.server
import os
import threading
import time

import pytest

from mod_python import cache


class Counting(cache.Cache):
    def __init__(self, max_size=0, delay=0.0):
        super().__init__(max_size)
        self.builds = []
        self.delay = delay

    def build(self, key, name, opened, entry):
        self.builds.append(name)
        if self.delay:
            time.sleep(self.delay)
        return name.upper()


def test_not_initialized_sentinel():
    assert repr(cache.NOT_INITIALIZED) == "NOT_INITIALIZED"
    assert not cache.NOT_INITIALIZED


def test_builds_once_and_caches():
    c = Counting()
    assert c["a"] == "A"
    assert c["a"] == "A"
    assert c.builds == ["a"]
    assert c.mru() is None and c.lru() is None  # unbounded


def test_set_and_delete():
    c = Counting()
    c["x"] = 42
    assert c["x"] == 42
    assert c.builds == []
    del c["x"]
    assert c["x"] == "X"
    with pytest.raises(KeyError):
        del c["missing"]
    c.clear()
    assert len(c) == 0


def test_lru_eviction_and_order():
    c = Counting(max_size=2)
    c["a"], c["b"]
    assert c.lru() == "a" and c.mru() == "b"
    c["a"]  # touch
    assert c.lru() == "b" and c.mru() == "a"
    c["c"]
    assert sorted(c.keys()) == ["a", "c"]
    c["b"]
    assert c.builds == ["a", "b", "c", "b"]


def test_concurrent_builds_run_once():
    c = Counting(delay=0.2)
    results = []
    threads = [threading.Thread(target=lambda: results.append(c["k"])) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["K"] * 8
    assert c.builds == ["k"]


def test_different_entries_build_in_parallel():
    c = Counting(delay=0.3)
    start = time.monotonic()
    threads = [threading.Thread(target=lambda n=n: c[n]) for n in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - start < 1.0
    assert sorted(c.builds) == list("abcd")


def test_failed_build_is_not_cached():
    class Failing(cache.Cache):
        calls = 0

        def build(self, key, name, opened, entry):
            Failing.calls += 1
            if Failing.calls == 1:
                raise RuntimeError("boom")
            return "ok"

    c = Failing()
    with pytest.raises(RuntimeError):
        c["a"]
    assert c["a"] == "ok"


def test_weak_cache_rebuilds_after_collection():
    class Obj:
        pass

    class W(cache.WeakCache):
        builds = 0

        def build(self, key, name, opened, entry):
            W.builds += 1
            return Obj()

    c = W()
    first = c["a"]
    assert c["a"] is first
    assert W.builds == 1
    del first
    gc.collect()
    c["a"]
    assert W.builds == 2


def test_file_cache_rebuilds_on_mtime_change(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"one")
    c = cache.FileCache()
    assert c[str(path)] == b"one"
    path.write_bytes(b"two")
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert c[str(path)] == b"two"
    text = cache.FileCache(mode="r")
    assert text[str(path)] == "two"
    with pytest.raises(OSError):
        c[str(tmp_path / "missing")]


def test_module_cache(tmp_path):
    path = tmp_path / "mod-1.py"
    path.write_text("VALUE = 1\ndef f():\n    return VALUE\n")
    c = cache.ModuleCache()
    module = c[str(path)]
    assert module.f() == 1
    assert module.__file__ == str(path)
    assert module.__name__ == str(path).replace("/", "_").replace("-", "_").replace(".", "_")
    assert module.__name__ not in __import__("sys").modules
    assert c[str(path)] is module
    path.write_text("VALUE = 2\ndef f():\n    return VALUE\n")
    os.utime(path, (time.time() + 10, time.time() + 10))
    again = c[str(path)]
    assert again is not module and again.f() == 2


def test_function_cache():
    calls = []

    def add(a, b=0):
        calls.append((a, b))
        return a + b

    c = cache.FunctionCache(add)
    assert c(1, b=2) == 3
    assert c(1, b=2) == 3
    assert c(2) == 2
    assert calls == [(1, 2), (2, 0)]


@pytest.fixture
def http_server():
    state = {"hits": 0, "conditional": 0, "body": b"v1", "etag": '"1"', "cc": "max-age=0"}

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            state["hits"] += 1
            if self.headers.get("If-None-Match") == state["etag"]:
                state["conditional"] += 1
                self.send_response(304)
                self.send_header("ETag", state["etag"])
                self.send_header("Cache-Control", state["cc"])
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", state["etag"])
            self.send_header("Cache-Control", state["cc"])
            self.send_header("Content-Length", str(len(state["body"])))
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/x", state
    server.shutdown()
    server.server_close()


def test_http_cache_revalidates(http_server):
    url, state = http_server
    c = cache.HTTPCache()
    first = c[url]
    assert isinstance(first, cache.HTTPEntity)
    assert first.entity == b"v1"
    assert c[url].entity == b"v1"  # max-age=0: revalidated, 304 keeps the value
    assert state["conditional"] == 1
    state["body"], state["etag"] = b"v2", '"2"'
    assert c[url].entity == b"v2"
    state["cc"] = "max-age=100"
    state["body"], state["etag"] = b"v3", '"3"'
    assert c[url].entity == b"v3"
    hits = state["hits"]
    assert c[url].entity == b"v3"  # fresh: no request
    assert state["hits"] == hits


def test_http_module_cache(http_server):
    url, state = http_server
    state["body"] = b"X = 5\n"
    module = cache.HttpModuleCache()[url]
    assert module.X == 5
