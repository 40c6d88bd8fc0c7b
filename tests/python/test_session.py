"""mod_python.Session without Apache (spec §13, §7, §21): sids, storage, expiry, locking."""

import os
import pickle
import sys
import threading
import time

import pytest

from mod_python import Session, session_support
from mod_python.Session import (BaseSession, DbmSession, FileSession, MemorySession,
                                true_or_false)

from .fakes import LOGGED, FakeRequest

SECRET = "session-secret"
LOCK_COUNT = 8


class FakeLocks:
    """``_apache._global_lock``/``_global_trylock``/``_global_unlock`` over thread locks.

    Not re-entrant (like apr_global_mutex): taking a held lock from the same request would
    hang, so acquisition times out and records a deadlock instead.
    """

    def __init__(self, count=LOCK_COUNT):
        self.count = count
        self.locks = [threading.Lock() for _ in range(count)]
        self.held = {}  # index -> number of times currently held (0/1)
        self.deadlocks = 0
        self.calls = []

    def _index(self, key, index):
        if index == -1:
            raise AssertionError("Session must pass explicit indexes")
        if not 0 <= index < self.count:
            raise ValueError(f"Lock index {index} is out of range for number of global "
                             f"mutex locks ({self.count})")
        return index

    def lock(self, server, key, index=-1):
        index = self._index(key, index)
        if not self.locks[index].acquire(timeout=2):
            self.deadlocks += 1
            raise AssertionError(f"deadlock on global mutex {index}")
        self.held[index] = self.held.get(index, 0) + 1
        self.calls.append(("lock", index))

    def trylock(self, server, key, index=-1):
        index = self._index(key, index)
        return self.locks[index].acquire(blocking=False)

    def unlock(self, server, key, index=-1):
        index = self._index(key, index)
        self.held[index] -= 1
        self.calls.append(("unlock", index))
        self.locks[index].release()


class SessionRequest(FakeRequest):
    """FakeRequest plus what sessions use: server, cleanups, hlist, document_root."""

    def __init__(self, cookie=None, options=None, uri="/app/page", **kwargs):
        headers = {"Cookie": cookie} if cookie else None
        super().__init__(headers=headers, options=options, **kwargs)
        self.uri = uri
        self.server = object()
        self.main = None
        self.prev = None
        self.cleanups = []
        self.https = False

    def register_cleanup(self, callable_, data=None):
        self.cleanups.append((callable_, data))

    def run_cleanups(self):
        pending, self.cleanups = self.cleanups, []
        for callable_, data in pending:
            callable_(data)

    def is_https(self):
        return 1 if self.https else 0

    def document_root(self):
        return "/srv/www"

    class hlist:  # noqa: N801
        directory = "/srv/www/app/"

    def set_cookies(self):
        return [v for k, v in self.headers_out.items() if k.lower() == "set-cookie"]


@pytest.fixture
def locks(monkeypatch):
    fake = FakeLocks()
    module = sys.modules["_apache"]
    monkeypatch.setattr(module, "_global_lock", fake.lock, raising=False)
    monkeypatch.setattr(module, "_global_trylock", fake.trylock, raising=False)
    monkeypatch.setattr(module, "_global_unlock", fake.unlock, raising=False)
    monkeypatch.setattr(session_support, "_lock_count", None)
    monkeypatch.setattr(Session, "CLEANUP_CHANCE", 10 ** 9)
    return fake


@pytest.fixture
def sessdir(tmp_path):
    return str(tmp_path / "sessions")


@pytest.fixture
def opts(sessdir):
    os.makedirs(sessdir, 0o700)
    return {"mod_python.session.database_directory": sessdir}


def cookie_sid(req, name="pysid"):
    for header in req.set_cookies():
        first = header.split(";")[0]
        key, _, value = first.partition("=")
        if key == name:
            return value
    return None


def new_request(opts, cookie=None, **kwargs):
    return SessionRequest(cookie=cookie, options=opts, **kwargs)


# --------------------------------------------------------------------------- sids

@pytest.mark.parametrize("cls", [FileSession, DbmSession, MemorySession])
def test_new_session_cookie_and_sid(locks, opts, cls):
    req = new_request(opts)
    sess = cls(req)
    assert sess.is_new()
    assert Session._valid_sid(sess.id())
    header = req.set_cookies()[0]
    assert header.startswith(f"pysid={sess.id()}; path=/app/")
    assert "httponly" in header and "secure" not in header
    assert sess.timeout() == Session.DFT_TIMEOUT
    assert abs(sess.created() - time.time()) < 5
    req.run_cleanups()
    assert all(v == 0 for v in locks.held.values())


@pytest.mark.parametrize("bad", [
    "/path/traversal/attack/bad",
    "../../../../etc/passwd",
    "a" * 384,
    "0" * 31,
    "0" * 33,
    "ABCDEF0123456789ABCDEF0123456789",
    "0123456789abcdef0123456789abcde\n",
    "..%2f..%2fetc",
])
def test_invalid_cookie_sid_is_replaced_without_touching_storage(locks, opts, sessdir,
                                                                 monkeypatch, bad):
    touched = []
    real_open = os.open

    def spy_open(path, *args, **kwargs):
        touched.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    req = new_request(opts, cookie=f"pysid={bad}")
    sess = FileSession(req)
    assert sess.is_new() and sess.id() != bad and Session._valid_sid(sess.id())
    assert not any(bad in str(p) for p in touched)
    assert [c for c in locks.calls if c[0] == "lock"] == [("lock", Session._lock_index(
        None, sess.id()))]
    # Nothing was created outside the session directory.
    assert not os.path.exists(os.path.join(sessdir, "mp_sess"))
    req.run_cleanups()


def test_invalid_explicit_sid_raises(locks, opts):
    with pytest.raises(ValueError, match="Invalid Session ID"):
        FileSession(new_request(opts), sid="/path/traversal/attack/bad")
    with pytest.raises(ValueError, match="Invalid Session ID"):
        MemorySession(new_request(opts), sid="x" * 384)


def test_path_never_leaves_directory(locks, opts, sessdir):
    req = new_request(opts)
    sess = FileSession(req)
    sess._sid = "../../x"
    with pytest.raises(ValueError):
        sess._path()
    sess._sid = sess.id()  # unchanged invalid sid: save/load/delete are no-ops
    sess._sid = "/etc/passwd"
    sess.save()
    assert sess.load() is False
    assert os.path.exists("/etc/passwd")
    req.run_cleanups()


def test_sids_are_random(locks, opts):
    sids = {MemorySession(new_request(opts), lock=0).id() for _ in range(200)}
    assert len(sids) == 200


# --------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("cls", [FileSession, DbmSession, MemorySession])
def test_round_trip(locks, opts, cls):
    req = new_request(opts)
    sess = cls(req)
    sess["n"] = 1
    sess["text"] = "é"
    sess.save()
    sid = sess.id()
    req.run_cleanups()

    req2 = new_request(opts, cookie=f"pysid={sid}")
    again = cls(req2)
    assert not again.is_new() and again.id() == sid
    assert dict(again) == {"n": 1, "text": "é"}
    assert req2.set_cookies() == []
    again["n"] += 1
    again.save()
    req2.run_cleanups()

    req3 = new_request(opts)
    third = cls(req3, sid=sid)
    assert third["n"] == 2
    third.invalidate()
    header = req3.set_cookies()[0]
    assert "Max-Age=0" in header
    third["x"] = 1
    third.save()  # no-op after invalidate
    req3.run_cleanups()

    req4 = new_request(opts, cookie=f"pysid={sid}")
    assert cls(req4).is_new()
    req4.run_cleanups()


def test_file_layout_and_modes(locks, opts, sessdir):
    req = new_request(opts)
    sess = FileSession(req)
    sess["a"] = 1
    sess.save()
    path = os.path.join(sessdir, "mp_sess", sess.id()[:2], sess.id())
    assert os.path.isfile(path)
    assert len([d for d in os.listdir(os.path.join(sessdir, "mp_sess"))
                if len(d) == 2]) == 256
    with open(path, "rb") as handle:
        record = pickle.load(handle)
    assert set(record) == {"_data", "_created", "_accessed", "_timeout"}
    assert record["_data"] == {"a": 1}
    req.run_cleanups()


def test_foreign_owned_record_is_not_unpickled(locks, opts, sessdir, monkeypatch):
    req = new_request(opts)
    sess = FileSession(req)
    sess["a"] = 1
    sess.save()
    sid = sess.id()
    req.run_cleanups()
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 12345)
    monkeypatch.setattr(pickle, "load", lambda *a: pytest.fail("unpickled a foreign file"))
    req2 = new_request(opts, cookie=f"pysid={sid}")
    assert FileSession(req2).is_new()
    req2.run_cleanups()


def test_symlinked_record_is_not_followed(locks, opts, sessdir, tmp_path):
    req = new_request(opts)
    sess = FileSession(req)
    sess.save()
    sid = sess.id()
    req.run_cleanups()
    path = os.path.join(sessdir, "mp_sess", sid[:2], sid)
    planted = tmp_path / "planted"
    with open(planted, "wb") as handle:
        pickle.dump({"_data": {"evil": 1}, "_created": time.time(),
                     "_accessed": time.time(), "_timeout": 1000}, handle, 2)
    os.unlink(path)
    os.symlink(planted, path)
    req2 = new_request(opts, cookie=f"pysid={sid}")
    again = FileSession(req2)
    assert again.is_new() and "evil" not in again
    req2.run_cleanups()


# --------------------------------------------------------------------------- expiry

@pytest.mark.parametrize("cls", [FileSession, DbmSession, MemorySession])
def test_expired_session_is_replaced(locks, opts, cls):
    req = new_request(opts)
    sess = cls(req, timeout=1)
    assert sess.timeout() == 1
    sess["secret"] = "old"
    sess._accessed = time.time() - 10
    sess.save()
    sid = sess.id()
    req.run_cleanups()

    req2 = new_request(opts, cookie=f"pysid={sid}")
    again = cls(req2)
    assert again.is_new() and again.id() != sid and "secret" not in again
    assert cookie_sid(req2) == again.id()
    # The old sid's lock was given back, only the new one is held.
    index_new = Session._lock_index(None, again.id())
    assert req2._session_locks == {index_new: 1}
    req2.run_cleanups()
    assert again.load() is False or again.id() != sid


def test_set_timeout_is_stored(locks, opts):
    req = new_request(opts)
    sess = MemorySession(req)
    sess.set_timeout(77)
    sess.save()
    req.run_cleanups()
    req2 = new_request(opts, cookie=f"pysid={sess.id()}")
    assert MemorySession(req2).timeout() == 77
    req2.run_cleanups()


def test_file_cleanup_removes_expired(locks, opts, sessdir):
    sids = []
    for age in (0, 10000):
        req = new_request(opts)
        sess = FileSession(req, timeout=100)
        sess._accessed = time.time() - age
        sess.save()
        path = os.path.join(sessdir, "mp_sess", sess.id()[:2], sess.id())
        os.utime(path, (time.time() - age, time.time() - age))
        sids.append(sess.id())
        req.run_cleanups()
    req = new_request(opts)
    sess = FileSession(req)
    sess.cleanup()
    req.run_cleanups()
    alive, dead = sids
    assert os.path.exists(os.path.join(sessdir, "mp_sess", alive[:2], alive))
    assert not os.path.exists(os.path.join(sessdir, "mp_sess", dead[:2], dead))
    status = open(os.path.join(sessdir, "mp_sess", "fs_status.txt")).read().split()
    assert status[0] == "MPFS_3.2"
    assert not os.path.exists(os.path.join(sessdir, "mp_sess", ".mp_sess.lck"))


def test_dbm_and_memory_cleanup(locks, opts):
    for cls in (DbmSession, MemorySession):
        req = new_request(opts)
        old = cls(req, timeout=1)
        old._accessed = time.time() - 10
        old.save()
        live = cls(new_request(opts), lock=0)
        live.save()
        live.cleanup()
        req.run_cleanups()
        assert cls(new_request(opts), sid=live.id(), lock=0).is_new() is False
        assert cls(new_request(opts), sid=old.id(), lock=0).is_new() is True


# --------------------------------------------------------------------------- signed cookies

def test_signed_cookie_round_trip_and_tamper(locks, opts):
    req = new_request(opts)
    sess = FileSession(req, secret=SECRET)
    sess["user"] = "alice"
    sess.save()
    sid = sess.id()
    value = cookie_sid(req)
    assert value != sid and value.endswith(sid) and len(value) == 64 + 32
    req.run_cleanups()

    req2 = new_request(opts, cookie=f"pysid={value}")
    assert FileSession(req2, secret=SECRET)["user"] == "alice"
    req2.run_cleanups()

    # A bare sid (no MAC), a forged MAC or a different secret: new session.
    for header in (f"pysid={sid}", f"pysid={'0' * 64}{sid}",
                   f"pysid={value[:-1]}{'0' if value[-1] != '0' else '1'}"):
        req3 = new_request(opts, cookie=header)
        other = FileSession(req3, secret=SECRET)
        assert other.is_new() and other.id() != sid
        req3.run_cleanups()
    req4 = new_request(opts, cookie=f"pysid={value}")
    assert FileSession(req4, secret="another secret").is_new()
    req4.run_cleanups()


@pytest.mark.parametrize("secret", [None, SECRET])
def test_the_cookie_naming_a_live_session_wins_over_stale_or_planted_ones(locks, opts,
                                                                          secret):
    req = new_request(opts)
    sess = FileSession(req, secret=secret)
    sess["user"] = "alice"
    sess.save()
    live = cookie_sid(req)
    req.run_cleanups()
    stale = "0123456789abcdef0123456789abcdef"
    for header in (f"pysid=junk; pysid={live}", f"pysid={stale}; pysid={live}",
                   f"pysid={live}; pysid={stale}"):
        req2 = new_request(opts, cookie=header)
        again = FileSession(req2, secret=secret)
        assert not again.is_new() and again["user"] == "alice", header
        req2.run_cleanups()


def test_https_cookie_is_secure(locks, opts):
    req = new_request(opts)
    req.https = True
    MemorySession(req)
    assert "secure" in req.set_cookies()[0]
    req.run_cleanups()


def test_cookie_options(locks, opts):
    options = dict(opts)
    options.update({"session_cookie_name": "legacy", "ApplicationPath": "/x",
                    "mod_python.session.application_domain": "example.org"})
    req = new_request(options)
    sess = MemorySession(req)
    header = req.set_cookies()[0]
    assert header.startswith(f"legacy={sess.id()}; path=/x; domain=example.org")
    # End the first request before the second: its new sid may map to the same mutex, and
    # both "requests" run on this one thread.
    req.run_cleanups()
    options["mod_python.session.cookie_name"] = "newname"
    req2 = new_request(options, cookie=f"legacy={sess.id()}")
    assert MemorySession(req2).id() != sess.id()
    assert cookie_sid(req2, "newname")
    req2.run_cleanups()


# --------------------------------------------------------------------------- locking

def test_second_session_in_same_request_does_not_deadlock(locks, opts):
    req = new_request(opts)
    first = FileSession(req)
    first["n"] = 1
    first.save()
    sid = first.id()
    req.run_cleanups()

    options = dict(opts, **{"mod_python.session.session_type": "FileSession"})
    req2 = new_request(options, cookie=f"pysid={sid}")
    one = FileSession(req2)
    two = FileSession(req2)  # same sid, same request: re-entrant
    three = Session.Session(req2)
    assert one.id() == two.id() == three.id() == sid
    index = Session._lock_index(None, sid)
    assert req2._session_locks == {index: 3}
    two.unlock()
    assert locks.held[index] == 1  # still held for the others
    req2.run_cleanups()
    assert locks.held[index] == 0 and locks.deadlocks == 0
    assert req2._session_locks == {}


def test_second_new_session_in_same_request_shares_it(locks, opts):
    req = new_request(opts, cookie="pysid=" + "f" * 32)  # unknown sid: new session
    one = FileSession(req)
    one["a"] = 1
    two = FileSession(req)
    assert two.id() == one.id() and two.is_new() and len(req.set_cookies()) == 1
    one.save()
    three = FileSession(req)
    assert three.id() == one.id() and not three.is_new() and three["a"] == 1
    assert locks.deadlocks == 0
    three.invalidate()
    four = FileSession(req)
    assert four.id() != one.id()
    req.run_cleanups()
    assert all(v == 0 for v in locks.held.values())


def test_colliding_sids_in_one_request(locks, opts):
    req = new_request(opts)
    a = MemorySession(req)
    index = Session._lock_index(None, a.id())
    while True:
        sid = Session._new_sid()
        if Session._lock_index(None, sid) == index and sid != a.id():
            break
    b = MemorySession(req, sid=sid)  # another sid, same mutex: no deadlock
    assert b.is_new() and locks.deadlocks == 0  # (unknown sid: replaced by a new one)
    req.run_cleanups()
    assert locks.held[index] == 0


def test_lock_released_at_request_end_and_serialises(locks, opts):
    req = new_request(opts)
    sess = MemorySession(req)
    sess.save()
    sid = sess.id()
    order = []

    def other_request():
        req2 = new_request(opts, cookie=f"pysid={sid}")
        MemorySession(req2)
        order.append("second got the lock")
        req2.run_cleanups()

    thread = threading.Thread(target=other_request)
    thread.start()
    time.sleep(0.3)
    order.append("first releases")
    req.run_cleanups()
    thread.join(5)
    assert order == ["first releases", "second got the lock"]


def test_internal_redirect_shares_lock(locks, opts):
    req = new_request(opts)
    sess = MemorySession(req)
    sess.save()
    redirected = new_request(opts, cookie=f"pysid={sess.id()}")
    redirected.prev = req
    again = MemorySession(redirected)
    assert again.id() == sess.id() and locks.deadlocks == 0
    assert not hasattr(redirected, "_session_locks")
    req.run_cleanups()
    assert all(v == 0 for v in locks.held.values())


def test_lock_zero_takes_no_lasting_lock(locks, opts):
    req = new_request(opts)
    sess = FileSession(req, lock=0)
    sess.save()
    assert sess.load()
    assert getattr(req, "_session_locks", {}) == {}
    req.run_cleanups()


def test_dbm_uses_mutex_zero(locks, opts):
    req = new_request(opts)
    sess = DbmSession(req)
    sess.save()
    assert ("lock", 0) in locks.calls and locks.held[0] == 0
    req.run_cleanups()


def test_single_mutex_does_not_deadlock(monkeypatch, opts):
    fake = FakeLocks(count=1)
    module = sys.modules["_apache"]
    monkeypatch.setattr(module, "_global_lock", fake.lock, raising=False)
    monkeypatch.setattr(module, "_global_trylock", fake.trylock, raising=False)
    monkeypatch.setattr(module, "_global_unlock", fake.unlock, raising=False)
    monkeypatch.setattr(session_support, "_lock_count", None)
    req = new_request(opts)
    sess = DbmSession(req)  # session lock and dbm lock are both index 0
    sess.save()
    assert fake.deadlocks == 0
    req.run_cleanups()
    assert fake.held[0] == 0


# --------------------------------------------------------------------------- factory / options

def test_factory_types(locks, opts):
    for name, cls in (("FileSession", FileSession), ("DbmSession", DbmSession),
                      ("MemorySession", MemorySession)):
        options = dict(opts, **{"mod_python.session.session_type": name})
        req = new_request(options)
        assert type(Session.Session(req)) is cls
        req.run_cleanups()
    req = new_request(dict(opts, session="MemorySession"))
    assert type(Session.Session(req)) is MemorySession
    with pytest.raises(Exception, match="Unknown session type"):
        Session.Session(new_request(dict(opts, session="Bogus")))


def test_factory_default_by_mpm(locks, opts, monkeypatch):
    from mod_python import apache
    answers = {}
    monkeypatch.setattr(apache, "mpm_query", lambda code: answers.get(code, 0))
    req = new_request(opts)
    assert type(Session.Session(req)) is DbmSession  # prefork-like
    answers.update({apache.AP_MPMQ_IS_THREADED: 1, apache.AP_MPMQ_IS_FORKED: 0})
    assert type(Session.Session(req)) is MemorySession
    answers.update({apache.AP_MPMQ_IS_FORKED: 1, apache.AP_MPMQ_MAX_DAEMONS: 4})
    assert type(Session.Session(req)) is DbmSession
    req.run_cleanups()


def test_default_directory_is_private(locks, tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    monkeypatch.delenv("APACHE_RUN_DIR", raising=False)
    from mod_python import apache
    monkeypatch.setattr(apache, "server_root", lambda: str(root))
    monkeypatch.setattr(session_support, "_default_dir", None)
    req = new_request({})
    sess = FileSession(req)
    sess.save()
    private = root / "run" / "mod_python-sessions"
    assert (os.stat(private).st_mode & 0o777) == 0o700
    assert (private / "mp_sess" / sess.id()[:2] / sess.id()).is_file()
    req.run_cleanups()
    # A directory others can write to is refused.
    os.chmod(private, 0o777)
    monkeypatch.setattr(session_support, "_default_dir", None)
    assert session_support._private_dir(str(root / "run")) is None


def test_true_or_false():
    assert true_or_false("Yes") and true_or_false("1") and not true_or_false("off")
    with pytest.raises(ValueError):
        true_or_false("maybe")


def test_basesession_is_a_dict(locks, opts):
    req = new_request(opts)
    sess = MemorySession(req)
    assert isinstance(sess, dict) and isinstance(sess, BaseSession)
    sess["k"] = "v"
    assert sess.get("k") == "v" and len(sess) == 1
    assert sess.last_accessed() >= sess.created()
    req.run_cleanups()


# --------------------------------------------------------------------------- SocacheSession

class FakeSocache:
    """``_apache._socache_*`` over a dict: {id: (data, expires_at)}."""

    def __init__(self, provider="shmcb", shared=False):
        self.info = {"provider": provider, "args": "", "shared": shared, "ready": True,
                     "local_key": None if shared else os.urandom(32), "max_record": 1 << 20}
        self.entries = {}
        self.ttls = []
        self.fail = None
        self.fail_with = OSError

    def _info(self, server):
        return self.info

    def store(self, server, key, data, ttl):
        if self.fail:
            raise self.fail_with(self.fail)
        assert isinstance(key, bytes) and len(key) == 16 and ttl >= 1
        self.ttls.append(ttl)
        self.entries[key] = (bytes(data), time.time() + ttl)

    def retrieve(self, server, key):
        if self.fail:
            raise self.fail_with(self.fail)
        data, expires = self.entries.get(key, (None, 0))
        return data if data is not None and expires > time.time() else None

    def remove(self, server, key):
        return self.entries.pop(key, None) is not None


@pytest.fixture
def socache(monkeypatch, locks):
    fake = FakeSocache()
    module = sys.modules["_apache"]
    monkeypatch.setattr(module, "_socache_info", fake._info, raising=False)
    monkeypatch.setattr(module, "_socache_store", fake.store, raising=False)
    monkeypatch.setattr(module, "_socache_retrieve", fake.retrieve, raising=False)
    monkeypatch.setattr(module, "_socache_remove", fake.remove, raising=False)
    return fake


SECRET_OPT = {"mod_python.socache_session.secret": "record-secret"}


def socache_round(opts, cookie=None, **kwargs):
    req = new_request(opts, cookie=cookie)
    sess = Session.SocacheSession(req, **kwargs)
    sess["n"] = sess.get("n", 0) + 1
    sess.save()
    req.run_cleanups()
    return sess, req


def test_socache_round_trip_local_key(socache):
    first, req = socache_round({})
    assert first.is_new() and Session._valid_sid(first.id())
    assert cookie_sid(req) == first.id()
    key = bytes.fromhex(first.id())
    assert socache.entries[key][0].startswith(b"MPS1")
    assert socache.ttls == [Session.DFT_TIMEOUT]
    second, _ = socache_round({}, cookie=f"pysid={first.id()}")
    assert not second.is_new() and second["n"] == 2


def test_socache_timeout_is_the_expiry(socache):
    sess, _ = socache_round({}, timeout=120)
    assert socache.ttls == [120] and sess.timeout() == 120


def test_socache_shared_store_needs_a_secret(socache):
    socache.info.update(provider="redis", shared=True, local_key=None)
    with pytest.raises(RuntimeError, match="mod_python.socache_session.secret"):
        Session.SocacheSession(new_request({}))
    first, _ = socache_round(SECRET_OPT)
    second, _ = socache_round(SECRET_OPT, cookie=f"pysid={first.id()}")
    assert second["n"] == 2
    # The cookie secret signs records when no record secret is configured.
    third, req = socache_round({}, secret=SECRET)
    signed = req.set_cookies()[0].split(";")[0].split("=", 1)[1]
    fourth, _ = socache_round({}, cookie=f"pysid={signed}", secret=SECRET)
    assert fourth.id() == third.id() and fourth["n"] == 2


def test_socache_without_cache_is_an_error(socache):
    socache.info = None
    with pytest.raises(RuntimeError, match="PythonSessionCache"):
        Session.SocacheSession(new_request({}))


class _Exploit:
    ran = []

    def __reduce__(self):
        return (_Exploit.ran.append, ("unpickled",))


@pytest.mark.parametrize("tamper", [
    lambda good: pickle.dumps(_Exploit()),
    lambda good: good[:40] + pickle.dumps(_Exploit()),
    lambda good: good[:8] + bytes(32) + good[40:],
    lambda good: b"MPS1",
])
def test_socache_tampered_records_are_not_unpickled(socache, tamper):
    _Exploit.ran.clear()
    first, _ = socache_round(SECRET_OPT)
    key = bytes.fromhex(first.id())
    data, expires = socache.entries[key]
    socache.entries[key] = (tamper(data), expires)
    del LOGGED[:]
    second, _ = socache_round(SECRET_OPT, cookie=f"pysid={first.id()}")
    assert second.is_new() and second.id() != first.id() and second["n"] == 1
    assert _Exploit.ran == []
    assert any("MP0183" in message for message, _ in LOGGED)


def test_socache_other_key_or_other_sid_is_refused(socache):
    first, _ = socache_round(SECRET_OPT)
    other = {"mod_python.socache_session.secret": "another"}
    second, _ = socache_round(other, cookie=f"pysid={first.id()}")
    assert second.is_new()
    # A valid record moved to another sid's key does not verify.
    third, _ = socache_round(SECRET_OPT)
    socache.entries[bytes.fromhex(third.id())] = socache.entries[bytes.fromhex(first.id())]
    fourth, _ = socache_round(SECRET_OPT, cookie=f"pysid={third.id()}")
    assert fourth.is_new()


def test_socache_errors_are_logged_not_raised(socache):
    socache.fail = "connection refused"
    del LOGGED[:]
    sess, _ = socache_round({})
    assert sess.is_new()
    assert any("MP0182" in m and "connection refused" in m for m, _ in LOGGED)


def test_socache_timeouts_are_logged_a_line_a_second(socache, monkeypatch):
    # A hung store fails every request; the log gets one line a second, with the count of the
    # lines left out.
    socache.fail, socache.fail_with = "deadline missed", TimeoutError
    clock = [1000.0]
    monkeypatch.setattr(Session.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(Session, "_TIMEOUT_LOG", {})
    del LOGGED[:]
    for _ in range(3):
        socache_round({})  # new sessions: one failed save each
    assert [m for m, _ in LOGGED if "MP0182" in m] and len(LOGGED) == 1
    clock[0] += 1.5
    socache_round({})
    lines = [m for m, _ in LOGGED if "MP0182" in m]
    assert len(lines) == 2 and "(2 more such failures not logged)" in lines[1]
    socache.fail_with = OSError  # other failures are never held back
    for _ in range(2):
        socache_round({})
    assert len([m for m, _ in LOGGED if "MP0182" in m]) == 4


def test_socache_delete_and_factory(socache):
    opts = {"mod_python.session.session_type": "SocacheSession"}
    req = new_request(opts)
    sess = Session.Session(req)
    assert isinstance(sess, Session.SocacheSession)
    sess.save()
    assert socache.entries
    sess.delete()
    assert not socache.entries
    req.run_cleanups()
