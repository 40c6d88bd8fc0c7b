"""SocacheSession over PythonSessionCache: shmcb on one host, redis and memcached shared by two
Apache servers (spec §13, §7, §21). redis-server and memcached are started on loopback ports
by the fixtures below and stopped by PID."""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from mphelpers import JSON_PAGE, MODULE_SO, in_directory, launcher

REDIS = "/usr/bin/redis-server"
MEMCACHED = "/usr/bin/memcached"
SECRET = "socache-test-secret"

SESSIONS = '''
    import os
    import time
    from mod_python import Session
    from jsonpage import send_json


    def report(req, sess, **extra):
        data = {"sid": sess.id(), "new": sess.is_new(), "type": type(sess).__name__,
                "n": sess.get("n"), "pid": os.getpid(), "interp": req.interpreter,
                "port": req.connection.local_addr[1]}
        data.update(extra)
        return send_json(req, data)


    def counter(req):
        timeout = int(req.args[8:]) if (req.args or "").startswith("timeout=") else 0
        sess = Session.Session(req, timeout=timeout)
        sess["n"] = sess.get("n", 0) + 1
        if req.args == "sleep":
            time.sleep(0.3)
        sess.save()
        return report(req, sess)


    def signed(req):
        sess = Session.Session(req, secret="cookie-secret")
        sess["n"] = sess.get("n", 0) + 1
        sess.save()
        return report(req, sess)


    def twice(req):
        first = Session.Session(req)
        first["n"] = first.get("n", 0) + 1
        first.save()
        second = Session.SocacheSession(req)   # same request: shares the lock, no deadlock
        return report(req, first, second=second.id())


    def invalidate(req):
        sess = Session.Session(req)
        sess.invalidate()
        return report(req, sess)


    def big(req):
        sess = Session.Session(req)
        kept = sess.get("payload") == b"p" * 70000
        sess["payload"] = b"p" * 70000
        sess.save()
        return report(req, sess, kept=kept)


    def route(req):
        return {"counter": counter, "invalidate": invalidate}[req.uri.rsplit("/", 1)[-1]](req)
'''

FILES = {"sessions.py": SESSIONS, "jsonpage.py": JSON_PAGE}


# --------------------------------------------------------------------------- helpers


def serve(apache, cache: str, func: str = "counter", *options: str, modules=(), **kwargs):
    directives = [f"PythonHandler sessions::{func}",
                  "PythonOption mod_python.session.session_type SocacheSession"]
    directives += [f"PythonOption {opt}" for opt in options]
    snippet = f"PythonSessionCache {cache}\n" + in_directory(*directives)
    return apache(snippet, files=FILES, extra_modules=modules, **kwargs)


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Redis:
    """A tiny RESP client for looking at and corrupting the store directly."""

    def __init__(self, port: int) -> None:
        self.port = port

    def command(self, *args: bytes | str):
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        wire = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(wire)
            reader = sock.makefile("rb")
            return self._reply(reader)

    def _reply(self, reader):
        line = reader.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = reader.read(size + 2)
            return data[:-2]
        if kind == b"*":
            return [self._reply(reader) for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")


@pytest.fixture
def redis_port(tmp_path):
    if not os.access(REDIS, os.X_OK):
        pytest.skip(f"{REDIS} is not installed (apt-get install redis-server)")
    port = launcher.free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "yes", "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        stop_process(proc)


@pytest.fixture
def memcached_port():
    if not os.access(MEMCACHED, os.X_OK):
        pytest.skip(f"{MEMCACHED} is not installed (apt-get install memcached)")
    port = launcher.free_port()
    command = [MEMCACHED, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16"]
    if os.geteuid() == 0:
        command += ["-u", "nobody"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        stop_process(proc)


def configtest(tmp_path: Path, snippet: str, modules=()) -> subprocess.CompletedProcess:
    root = launcher.prepare_root(tmp_path / "configtest", None)
    config = launcher.render_config(root, launcher.free_port(), MODULE_SO, snippet=snippet,
                                    extra_modules=tuple(modules), user=launcher.server_user())
    conf = root / "conf" / "httpd.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(config)
    env = {"PATH": launcher.CLEAN_PATH, "LANG": "C.UTF-8"}
    if os.environ.get("MP_TEST_PRELOAD"):  # a sanitizer build needs its runtime preloaded
        env["LD_PRELOAD"] = os.environ["MP_TEST_PRELOAD"]
    env.update({k: os.environ[k] for k in launcher.SANITIZER_VARS if k in os.environ})
    return subprocess.run([str(launcher.HTTPD), "-t", "-f", str(conf), "-d", str(root)],
                          capture_output=True, text=True, timeout=60, env=env)


# --------------------------------------------------------------------------- shmcb


def test_shmcb_counter_and_cookie(apache):
    srv = serve(apache, "shmcb", modules=["socache_shmcb"])
    with srv.session() as client:
        first = client.get(srv.url("/c")).json()
        assert first["type"] == "SocacheSession" and first["new"] and first["n"] == 1
        assert re.fullmatch(r"[0-9a-f]{32}", first["sid"])
        assert client.cookies.get("pysid") == first["sid"]
        for expected in (2, 3):
            info = client.get(srv.url("/c")).json()
            assert info["sid"] == first["sid"] and not info["new"] and info["n"] == expected


def test_shmcb_default_size_keeps_a_70_kb_session(apache):
    # Without a size the cache gets 4 MB (shmcb's own 512000 bytes cannot hold 70 KB records).
    srv = serve(apache, "shmcb", "big", modules=["socache_shmcb"])
    with srv.session() as client:
        first = client.get(srv.url("/b")).json()
        second = client.get(srv.url("/b")).json()
    assert first["new"] and not first["kept"]
    assert second["sid"] == first["sid"] and not second["new"] and second["kept"]


def test_shmcb_shared_by_processes_and_serialised(apache):
    # Prefork: simultaneous connections are served by different processes, which share the
    # cache through shared memory made in the parent; the session lock serialises them.
    srv = serve(apache, "shmcb", modules=["socache_shmcb"], mpm="prefork")
    first = srv.get("/c").json()
    cookie = {"Cookie": f"pysid={first['sid']}", "Connection": "close"}

    def hit(_):
        return srv.get("/c?sleep", headers=cookie).json()

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(hit, range(4)))
    elapsed = time.monotonic() - start
    assert all(r["sid"] == first["sid"] for r in results)
    assert sorted(r["n"] for r in results) == [2, 3, 4, 5]
    assert len({r["pid"] for r in results} | {first["pid"]}) >= 2
    assert elapsed >= 4 * 0.3 - 0.05
    assert srv.get("/c", headers=cookie).json()["n"] == 6


def test_concurrent_requests_threaded_mpm(apache):
    srv = serve(apache, "shmcb", modules=["socache_shmcb"], mpm="event")
    first = srv.get("/c").json()
    cookie = {"Cookie": f"pysid={first['sid']}"}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: srv.get("/c?sleep", headers=cookie).json(), range(4)))
    assert sorted(r["n"] for r in results) == [2, 3, 4, 5]


def test_two_interpreters_share_the_cache(apache):
    snippet = "PythonSessionCache shmcb\n" + in_directory(
        "PythonHandler sessions::counter",
        "PythonOption mod_python.session.session_type SocacheSession",
        "PythonInterpreter one") + in_directory(
        "PythonInterpreter two", path="@DOCROOT@/two", handler=None)
    srv = apache(snippet, files={**FILES, "two/.keep": ""}, extra_modules=["socache_shmcb"])
    with srv.session() as client:
        first = client.get(srv.url("/c")).json()
        second = client.get(srv.url("/two/c")).json()
    assert first["interp"] == "one" and second["interp"] == "two"
    assert second["sid"] == first["sid"] and second["n"] == 2


def test_second_session_in_one_request(apache):
    srv = serve(apache, "shmcb", "twice", modules=["socache_shmcb"])
    with srv.session() as client:
        first = client.get(srv.url("/t")).json()
        info = client.get(srv.url("/t")).json()
        assert info["sid"] == info["second"] == first["sid"] and info["n"] == 2


def test_expired_session_is_replaced(apache):
    srv = serve(apache, "shmcb", modules=["socache_shmcb"])
    first = srv.get("/c?timeout=1").json()
    cookie = {"Cookie": f"pysid={first['sid']}"}
    assert srv.get("/c?timeout=1", headers=cookie).json()["n"] == 2
    time.sleep(2.2)
    info = srv.get("/c", headers=cookie).json()
    assert info["new"] and info["sid"] != first["sid"] and info["n"] == 1


def test_bad_sids_are_replaced(apache):
    srv = serve(apache, "shmcb", modules=["socache_shmcb"])
    for bad in ("../../etc/passwd", "a" * 384, "0" * 31 + "g", "ABCDEF" + "0" * 26):
        info = srv.get("/c", headers={"Cookie": f"pysid={bad}"}).json()
        assert info["new"] and re.fullmatch(r"[0-9a-f]{32}", info["sid"])
    unknown = "0123456789abcdef" * 2
    info = srv.get("/c", headers={"Cookie": f"pysid={unknown}"}).json()
    assert info["new"] and info["sid"] != unknown


def test_invalidate(apache):
    srv = serve(apache, "shmcb", "route", modules=["socache_shmcb"])
    with srv.session() as client:
        first = client.get(srv.url("/counter")).json()
        response = client.get(srv.url("/invalidate"))
        assert "Max-Age=0" in response.headers["Set-Cookie"]
    info = srv.get("/counter", headers={"Cookie": f"pysid={first['sid']}"}).json()
    assert info["new"] and info["sid"] != first["sid"]


def test_virtual_hosts_inherit_or_opt_out(apache):
    snippet = "PythonSessionCache shmcb\n" + in_directory(
        "PythonHandler sessions::counter",
        "PythonOption mod_python.session.session_type SocacheSession")
    srv = apache(snippet, files=FILES, extra_modules=["socache_shmcb"], allow_log=["MP0100"],
                 vhosts={"inherit.test": "", "own.test": "PythonSessionCache shmcb",
                         "none.test": "PythonSessionCache none"})
    main = srv.get("/c").json()
    cookie = f"pysid={main['sid']}"
    inherited = srv.get("/c", headers={"Host": "inherit.test", "Cookie": cookie}).json()
    assert inherited["sid"] == main["sid"] and inherited["n"] == 2
    own = srv.get("/c", headers={"Host": "own.test", "Cookie": cookie}).json()
    assert own["new"] and own["sid"] != main["sid"]  # a cache of its own
    assert srv.get("/c", headers={"Host": "none.test"}).status_code == 500
    assert any("PythonSessionCache" in line for line in srv.log_lines("MP0100"))


def test_repeated_directive_replaces_the_earlier_cache(apache):
    # The dbm cache would fail to initialise (no such directory); only the last one is set up.
    snippet = ("PythonSessionCache dbm:/nonexistent/mod_python/sessions\n"
               "PythonSessionCache shmcb\n") + in_directory(
        "PythonHandler sessions::counter",
        "PythonOption mod_python.session.session_type SocacheSession")
    srv = apache(snippet, files=FILES, extra_modules=["socache_shmcb", "socache_dbm"])
    with srv.session() as client:
        assert [client.get(srv.url("/c")).json()["n"] for _ in range(2)] == [1, 2]


def test_failed_initialisation_stops_the_start(tmp_path):
    root = launcher.prepare_root(tmp_path / "failing", None)
    user = launcher.server_user()
    config = launcher.render_config(
        root, launcher.free_port(), MODULE_SO, extra_modules=("socache_dbm",), user=user,
        snippet="PythonSessionCache dbm:/nonexistent/mod_python/sessions\n")
    launcher.prepare_root(root, user)
    instance = launcher.ApacheInstance(root, config, preload=os.environ.get("MP_TEST_PRELOAD"),
                                       pass_sanitizer_env=True)
    with pytest.raises(launcher.ApacheError):
        instance.start(timeout=20)
    instance.stop()
    assert "MP0180: cannot initialise session cache 'dbm:/nonexistent" in instance.error_log()


def test_graceful_restart(apache):
    srv = serve(apache, "shmcb", modules=["socache_shmcb"])
    first = srv.get("/c").json()
    srv.restart()
    # The shared memory belongs to a configuration generation: a new cache, a new session.
    info = srv.get("/c", headers={"Cookie": f"pysid={first['sid']}"}).json()
    assert info["new"] and info["n"] == 1
    assert srv.get("/c", headers={"Cookie": f"pysid={info['sid']}"}).json()["n"] == 2


def test_no_cache_configured_is_a_clear_error(apache):
    snippet = in_directory("PythonHandler sessions::counter",
                           "PythonOption mod_python.session.session_type SocacheSession")
    srv = apache(snippet, files=FILES, allow_log=["MP0100"])
    assert srv.get("/c").status_code == 500
    assert any("PythonSessionCache" in line for line in srv.log_lines("MP0100"))


# --------------------------------------------------------------------------- redis/memcache


def two_hosts(apache, cache: str, module: str, *options: str):
    opts = (f"mod_python.socache_session.secret {SECRET}",) + options
    host_a = serve(apache, cache, "counter", *opts, modules=[module])
    host_b = serve(apache, cache, "counter", *opts, modules=[module])
    return host_a, host_b


def check_shared(host_a, host_b):
    first = host_a.get("/c").json()
    assert first["new"] and first["n"] == 1
    cookie = {"Cookie": f"pysid={first['sid']}"}
    on_b = host_b.get("/c", headers=cookie).json()
    assert on_b["sid"] == first["sid"] and not on_b["new"] and on_b["n"] == 2
    assert host_a.get("/c", headers=cookie).json()["n"] == 3
    return first["sid"]


def test_redis_sessions_shared_by_two_hosts(apache, redis_port):
    host_a, host_b = two_hosts(apache, f"redis:127.0.0.1:{redis_port}", "socache_redis")
    sid = check_shared(host_a, host_b)
    redis = Redis(redis_port)
    assert redis.command("EXISTS", f"mod_python:{sid}") == b"1"
    ttl = int(redis.command("TTL", f"mod_python:{sid}"))
    assert 1700 <= ttl <= 1801  # the session timeout (30 minutes) is the cache's expiry


def test_redis_sessions_behind_a_balancer(apache, redis_port):
    # The deployment the shared cache is for: a front httpd spreads requests over two hosts
    # with no stickiness; the session follows the client whichever host answers.
    host_a, host_b = two_hosts(apache, f"redis:127.0.0.1:{redis_port}", "socache_redis")
    front = apache(
        '<Proxy "balancer://app">\n'
        f'    BalancerMember "http://127.0.0.1:{host_a.port}"\n'
        f'    BalancerMember "http://127.0.0.1:{host_b.port}"\n'
        "    ProxySet lbmethod=byrequests\n"
        "</Proxy>\n"
        'ProxyPass "/" "balancer://app/"\n',
        extra_modules=["proxy", "proxy_http", "proxy_balancer", "lbmethod_byrequests",
                       "slotmem_shm"])
    with front.session() as client:
        answers = [client.get(front.url("/c"), timeout=10).json() for _ in range(8)]
    assert [a["n"] for a in answers] == list(range(1, 9))
    assert len({a["sid"] for a in answers}) == 1
    assert {a["port"] for a in answers} == {host_a.port, host_b.port}


def test_memcache_sessions_shared_by_two_hosts(apache, memcached_port):
    host_a, host_b = two_hosts(apache, f"memcache:127.0.0.1:{memcached_port}",
                               "socache_memcache")
    check_shared(host_a, host_b)


def test_store_keeps_short_and_long_timeouts(apache, redis_port, memcached_port):
    # The providers turn the expiry back into whole seconds, rounding down; memcached reads
    # more than 30 days as a Unix time. A 1-second session, a 31-day one and sys.maxsize must
    # all still be there on the next request, on every store.
    stores = [(f"redis:127.0.0.1:{redis_port}", "socache_redis"),
              (f"memcache:127.0.0.1:{memcached_port}", "socache_memcache"),
              ("shmcb", "socache_shmcb")]
    for cache, module in stores:
        srv = serve(apache, cache, "counter", f"mod_python.socache_session.secret {SECRET}",
                    modules=[module])
        for timeout in (1, 31 * 86400, 9223372036854775807):
            first = srv.get(f"/c?timeout={timeout}").json()
            again = srv.get(f"/c?timeout={timeout}",
                            headers={"Cookie": f"pysid={first['sid']}"}).json()
            assert (again["sid"], again["new"], again["n"]) == (first["sid"], False, 2), \
                (cache, timeout)
        assert "MP0182" not in srv.error_log(), cache
        if module == "socache_redis":  # the whole timeout reaches the store, not one second less
            sid = srv.get("/c?timeout=3").json()["sid"]
            assert int(Redis(redis_port).command("TTL", f"mod_python:{sid}")) == 3


def test_signed_cookies_across_hosts(apache, redis_port):
    cache = f"redis:127.0.0.1:{redis_port}"
    # No record secret: the cookie secret (secret=) signs the records too.
    host_a = serve(apache, cache, "signed", modules=["socache_redis"])
    host_b = serve(apache, cache, "signed", modules=["socache_redis"])
    with host_a.session() as client:
        first = client.get(host_a.url("/s")).json()
        value = client.cookies.get("pysid")
    assert value.endswith(first["sid"]) and len(value) == 96
    on_b = host_b.get("/s", headers={"Cookie": f"pysid={value}"}).json()
    assert on_b["sid"] == first["sid"] and on_b["n"] == 2
    # An unsigned or forged cookie is a new session.
    for forged in (first["sid"], "0" * 64 + first["sid"]):
        info = host_b.get("/s", headers={"Cookie": f"pysid={forged}"}).json()
        assert info["new"] and info["sid"] != first["sid"]


def test_redis_sessions_survive_a_graceful_restart(apache, redis_port):
    srv = serve(apache, f"redis:127.0.0.1:{redis_port}", "counter",
                f"mod_python.socache_session.secret {SECRET}", modules=["socache_redis"])
    first = srv.get("/c").json()
    srv.restart()
    info = srv.get("/c", headers={"Cookie": f"pysid={first['sid']}"}).json()
    assert info["sid"] == first["sid"] and info["n"] == 2


def test_shared_cache_without_secret_is_refused(apache, redis_port):
    srv = serve(apache, f"redis:127.0.0.1:{redis_port}", modules=["socache_redis"],
                allow_log=["MP0100"])
    assert srv.get("/c").status_code == 500
    assert any("mod_python.socache_session.secret" in line for line in srv.log_lines("MP0100"))
    assert Redis(redis_port).command("KEYS", "*") == []


def test_tampered_records_are_never_unpickled(apache, redis_port, tmp_path):
    marker = tmp_path / "unpickled"
    srv = serve(apache, f"redis:127.0.0.1:{redis_port}", "counter",
                f"mod_python.socache_session.secret {SECRET}", modules=["socache_redis"],
                allow_log=["MP0183"])
    redis = Redis(redis_port)

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = pickle.dumps(Exploit())
    for make in (
        lambda good: evil,                                   # a bare pickle
        lambda good: good[:40] + evil,                       # our header, foreign payload
        lambda good: good[:8] + bytes(32) + good[40:],       # zeroed MAC
        lambda good: b"garbage",
    ):
        first = srv.get("/c").json()
        key = f"mod_python:{first['sid']}"
        good = redis.command("GET", key)
        assert good.startswith(b"MPS1") and len(good) > 40
        redis.command("SET", key, make(good))
        info = srv.get("/c", headers={"Cookie": f"pysid={first['sid']}"}).json()
        assert info["new"] and info["sid"] != first["sid"] and info["n"] == 1
    assert not marker.exists()
    assert len(srv.log_lines("MP0183")) == 4


def test_record_of_another_sid_is_refused(apache, redis_port):
    # A valid record copied under another session's key does not verify (the MAC binds the sid).
    srv = serve(apache, f"redis:127.0.0.1:{redis_port}", "counter",
                f"mod_python.socache_session.secret {SECRET}", modules=["socache_redis"],
                allow_log=["MP0183"])
    redis = Redis(redis_port)
    one = srv.get("/c").json()
    two = srv.get("/c").json()
    redis.command("SET", f"mod_python:{two['sid']}", redis.command("GET", f"mod_python:{one['sid']}"))
    info = srv.get("/c", headers={"Cookie": f"pysid={two['sid']}"}).json()
    assert info["new"] and info["sid"] not in (one["sid"], two["sid"])


def test_unreachable_redis_logs_and_serves(apache):
    port = launcher.free_port()  # nothing listens there
    srv = serve(apache, f"redis:127.0.0.1:{port}", "counter",
                f"mod_python.socache_session.secret {SECRET}", modules=["socache_redis"],
                allow_log=["MP0182", "AH03479", "AH03478", "scache_rd"])
    response = srv.get("/c")
    assert response.status_code == 200 and response.json()["new"]
    assert srv.log_lines("MP0182")


@pytest.mark.parametrize("provider", ["redis", "memcache"])
def test_a_store_that_stops_answering_does_not_hold_requests(apache, provider):
    # A server that takes connections and never answers (paused, partitioned): httpd's
    # providers would wait for days. The first call gives up after 5 s; for the next 5 s the
    # process's calls fail at once; every request still gets a (new, unsaved) session.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes handshakes; nothing is ever read or answered
    try:
        srv = serve(apache, f"{provider}:127.0.0.1:{silent.getsockname()[1]}", "counter",
                    f"mod_python.socache_session.secret {SECRET}",
                    modules=[f"socache_{provider}"], mpm="event",
                    allow_log=["MP0182", "MP0184", "AH03479", "AH03478", "scache_rd", "AH0079"])
        start = time.monotonic()
        first = srv.get("/c", timeout=30)
        waited = time.monotonic() - start
        assert first.status_code == 200 and first.json()["new"]
        assert 4.5 <= waited < 15, waited
        assert srv.wait_for_log("MP0184")
        start = time.monotonic()
        for _ in range(3):
            again = srv.get("/c", timeout=30)
            assert again.status_code == 200 and again.json()["new"]
        assert time.monotonic() - start < 3
        assert len(srv.log_lines("MP0184")) == 1  # the hung call is reported once
        assert len(srv.log_lines("MP0182")) <= 2  # a line a second, not one per failure
    finally:
        silent.close()


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("spec, modules, message", [
    ("nosuch", (), 'LoadModule socache_nosuch_module'),
    ("redis:127.0.0.1:6379", (), 'LoadModule socache_redis_module'),
    ("redis", ("socache_redis",), "needs host[:port]"),
    ("memcache:127.0.0.1:notaport", ("socache_memcache",), "is not a host[:port]"),
    ("shmcb:/tmp/x(12)", ("socache_shmcb",), "size has to be >= 8192"),
])
def test_configuration_errors(tmp_path, spec, modules, message):
    result = configtest(tmp_path, f"PythonSessionCache {spec}\n", modules)
    assert result.returncode != 0
    assert "PythonSessionCache" in result.stderr and message in result.stderr, result.stderr


def test_directive_is_server_scope(tmp_path):
    snippet = in_directory("PythonSessionCache shmcb")
    result = configtest(tmp_path, snippet, ("socache_shmcb",))
    assert result.returncode != 0 and "PythonSessionCache" in result.stderr, result.stderr


def test_valid_configuration_passes_configtest(tmp_path):
    result = configtest(tmp_path, "PythonSessionCache shmcb\n", ("socache_shmcb",))
    assert result.returncode == 0, result.stderr
