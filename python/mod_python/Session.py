"""mod_python.Session: server-side sessions (spec §13, §7, §21).

* ``Session(req, ...)`` picks ``FileSession``, ``DbmSession``, ``MemorySession`` or
  ``SocacheSession`` from ``PythonOption mod_python.session.session_type`` (legacy
  ``session``); without it the MPM decides between MemorySession and DbmSession (§13.1).
* ``SocacheSession`` keeps records in the socache configured with ``PythonSessionCache``
  (shmcb on one host; memcache/redis shared by several hosts).  Records are signed with
  HMAC-SHA256 and never unpickled unless the signature verifies (see the class).
* A session *is* a dict; ``save()`` is explicit.
* Session ids are ``secrets.token_hex(16)`` (``^[0-9a-f]{32}$``).  A cookie sid that does
  not match is replaced by a fresh session without touching storage; storage paths are only
  derived from validated sids and are checked to stay inside the session directory.
* Locking: the sid's global mutex (``_apache._global_lock``) is held from construction until
  the end of the request.  Locks are recorded per request (on the top-level request object,
  attribute ``_session_locks``, keyed by mutex index) and are re-entrant, so a second
  ``Session(req)`` in one request — or two sids that map to the same mutex — never
  deadlocks.  Everything still held is released by a request cleanup.
* Default storage directory (§21): a private directory ``mod_python-sessions`` (mode 0700,
  owned by the server's user) under Apache's runtime directory.  ``DefaultRuntimeDir`` is not
  exposed to Python, so the candidates are, in order: ``$APACHE_RUN_DIR`` (Debian's
  envvars), ``<ServerRoot>/run``, ``<ServerRoot>/logs`` (httpd's compiled-in default) and,
  only if none of them is writable by the server's user, the system temporary directory.
  An existing directory is used only if it is owned by us and not accessible to others.
* Pickled records are only read from regular files owned by the server's user.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import pickle
import random
import tempfile
import threading
import time
from typing import Any, Optional

from mod_python import Cookie, apache
from mod_python.session_support import (
    _acquire, _apache_module, _cookie_carried_by, _created_sids, _default_directory, _expired,
    _file_cleanup, _lock_index, _lock_owner, _lock_record, _log, _new_sid, _option,
    _owned_regular, _release, _valid_record, _valid_sid, true_or_false,
)

__all__ = [
    "BaseSession", "DbmSession", "FileSession", "MemorySession", "Session", "SocacheSession",
    "DFT_TIMEOUT", "CLEANUP_CHANCE", "COOKIE_NAME", "true_or_false",
]

COOKIE_NAME = "pysid"
DFT_TIMEOUT = 30 * 60  # seconds
CLEANUP_CHANCE = 1000  # cleanup() is scheduled with probability 1/CLEANUP_CHANCE


# --------------------------------------------------------------------------- BaseSession

class BaseSession(dict):
    """A session: a dict plus id, timestamps, cookie handling and locking."""

    def __init__(self, req: Any, sid: Any = None, secret: Any = None, lock: Any = 1,
                 timeout: Any = 0) -> None:
        dict.__init__(self)
        self._req = req
        self._secret = secret
        self._lock = 1 if lock else 0
        self._locked = 0
        self._new = 1
        self._created = 0.0
        self._accessed = 0.0
        self._timeout = 0
        self._invalid = 0
        self._sid: Optional[str] = None
        self._options = req.get_options()
        self._cookie_name = _option(self._options, "mod_python.session.cookie_name",
                                    "session_cookie_name", default=COOKIE_NAME)

        if sid:
            if not _valid_sid(sid):
                raise ValueError(f"Invalid Session ID: sid={sid!r}")
            candidates = [sid]
        else:
            candidates = self._sids_from_cookies()

        # Several cookies of our name (other paths, or one planted by another site): the
        # first that names a live session wins; none does → a new session.
        for candidate in candidates:
            self._sid = candidate
            if self._lock:
                self.lock()
            if self.load():
                self._new = 0
                break
            if self._lock:
                self.unlock()
        if self._new and not sid:
            self._sid = None

        if self._new:
            created = _created_sids(req)
            earlier = None if sid else created.get(self._cookie_name)
            if earlier is not None:
                # A session created earlier in this request: share it instead of making a
                # second, competing one. Its cookie went into the headers of the request that
                # made it; after an internal redirect (an ErrorDocument, say) those are not
                # the ones sent, so this response needs the cookie too.
                self._sid = earlier
                if not _cookie_carried_by(req, self._cookie_name):
                    self._send_cookie()
            else:
                self._sid = _new_sid()
                created[self._cookie_name] = self._sid
                self._send_cookie()
            if self._lock:
                self.lock()
            self._created = time.time()
            self._timeout = timeout or DFT_TIMEOUT
            if earlier is not None and self.load():
                self._new = 0

        self._accessed = time.time()
        if self._lock:
            self.init_lock()
        if random.randint(1, CLEANUP_CHANCE) == 1:
            self.cleanup()

    # -- cookie

    def _send_cookie(self) -> None:
        Cookie.add_cookie(self._req, self.make_cookie())
        _cookie_carried_by(self._req, self._cookie_name, mark=True)

    def _sids_from_cookies(self) -> list:
        """The well-formed (and, with a secret, correctly signed) session ids the request's
        cookies carry, in the order sent."""
        sids = []
        try:
            for value in Cookie._all_values(self._req, self._cookie_name):
                if self._secret:
                    cookie = Cookie.SignedCookie._from_header(self._cookie_name, value,
                                                              self._secret)
                    try:
                        cookie.unsign(self._secret)
                    except Cookie.CookieError:
                        continue
                    value = cookie.value
                if _valid_sid(value) and value not in sids:
                    sids.append(value)
        except Exception:  # noqa: BLE001 - client data never fails the request
            return sids
        return sids

    def _cookie_path(self) -> str:
        path = _option(self._options, "mod_python.session.application_path", "ApplicationPath")
        if path:
            return path
        path = "/"
        try:
            directory = self._req.hlist.directory
            docroot = self._req.document_root()
        except Exception:  # noqa: BLE001
            directory = docroot = None
        if directory and docroot:
            docroot = docroot.rstrip("/")
            if directory == docroot or directory.startswith(docroot + "/"):
                path = directory[len(docroot):] or "/"
                if not path.startswith("/"):
                    path = "/" + path
        uri = getattr(self._req, "uri", None) or "/"
        if not uri.startswith(path):
            path = "/"
        return path

    def make_cookie(self) -> Cookie.Cookie:
        if self._secret:
            cookie: Cookie.Cookie = Cookie.SignedCookie(self._cookie_name, self._sid,
                                                        secret=self._secret)
        else:
            cookie = Cookie.Cookie(self._cookie_name, self._sid)
        domain = _option(self._options, "mod_python.session.application_domain")
        if domain:
            cookie.domain = domain
        cookie.path = self._cookie_path()
        cookie.httponly = 1
        try:
            if self._req.is_https():
                cookie.secure = 1
        except Exception:  # noqa: BLE001
            pass
        return cookie

    # -- accessors

    def id(self) -> Optional[str]:  # noqa: A003 (mod_python API)
        return self._sid

    def is_new(self) -> bool:
        return not not self._new

    def created(self) -> float:
        return self._created

    def last_accessed(self) -> float:
        return self._accessed

    def timeout(self) -> int:
        return self._timeout

    def set_timeout(self, secs: int) -> None:
        self._timeout = secs

    # -- persistence

    def load(self) -> bool:
        """Load the record of this sid; False if it is missing, broken or expired."""
        if not _valid_sid(self._sid):
            return False
        record = self.do_load()
        if record is None or not _valid_record(record):
            return False
        if _expired(record, time.time()):
            try:
                self.do_delete()
            except Exception:  # noqa: BLE001
                pass
            return False
        self._created = record["_created"]
        self._timeout = record["_timeout"]
        dict.clear(self)
        self.update(record["_data"])
        return True

    def save(self) -> None:
        if self._invalid or not _valid_sid(self._sid):
            return
        record = {"_data": dict(self), "_created": self._created,
                  "_accessed": self._accessed, "_timeout": self._timeout}
        self.do_save(record)

    def delete(self) -> None:
        if _valid_sid(self._sid):
            self.do_delete()
        dict.clear(self)

    def invalidate(self) -> None:
        cookie = self.make_cookie()
        cookie.expires = 0
        cookie.max_age = 0
        Cookie.add_cookie(self._req, cookie)
        self.delete()
        self._invalid = 1
        created = _created_sids(self._req)
        if created.get(self._cookie_name) == self._sid:
            del created[self._cookie_name]

    # -- locking

    def init_lock(self) -> None:
        """Make sure the request's locks are released at request cleanup."""
        _lock_record(self._req)

    def _index(self) -> Any:
        return _lock_index(_lock_owner(self._req).server, self._sid)

    def lock(self) -> None:
        if self._lock and not self._locked and self._sid:
            _acquire(self._req, self._index())
            self._locked = 1

    def unlock(self) -> None:
        if self._locked:
            self._locked = 0
            _release(self._req, self._index())

    # -- to be provided by subclasses

    def do_load(self) -> Optional[dict]:
        raise NotImplementedError

    def do_save(self, record: dict) -> None:
        raise NotImplementedError

    def do_delete(self) -> None:
        raise NotImplementedError

    def do_cleanup(self) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        self.do_cleanup()


# --------------------------------------------------------------------------- MemorySession

class MemorySession(BaseSession):
    """Records in a per-process (per-interpreter) dict."""

    sdict: dict = {}
    _sdict_lock = threading.Lock()

    def __init__(self, req: Any, sid: Any = 0, secret: Any = None, timeout: Any = 0,
                 lock: Any = 1) -> None:
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    def do_load(self) -> Optional[dict]:
        with self._sdict_lock:
            record = MemorySession.sdict.get(self._sid)
            if record is None:
                return None
            record = dict(record)
            record["_data"] = dict(record["_data"])
            return record

    def do_save(self, record: dict) -> None:
        with self._sdict_lock:
            MemorySession.sdict[self._sid] = record

    def do_delete(self) -> None:
        with self._sdict_lock:
            MemorySession.sdict.pop(self._sid, None)

    def do_cleanup(self) -> None:
        self._req.register_cleanup(_memory_cleanup, None)


def _memory_cleanup(_data: Any = None) -> None:
    now = time.time()
    with MemorySession._sdict_lock:
        for sid, record in list(MemorySession.sdict.items()):
            if _expired(record, now):
                del MemorySession.sdict[sid]


# --------------------------------------------------------------------------- DbmSession

class DbmSession(BaseSession):
    """All records in one dbm file, guarded by global mutex 0."""

    def __init__(self, req: Any, dbm: Any = None, sid: Any = 0, secret: Any = None,
                 dbmtype: Any = None, timeout: Any = 0, lock: Any = 1) -> None:
        options = req.get_options()
        if not dbm:
            dbm = _option(options, "mod_python.dbm_session.database_filename", "session_dbm")
        if not dbm:
            directory = _option(options, "mod_python.dbm_session.database_directory",
                                "mod_python.session.database_directory",
                                "session_directory") or _default_directory()
            dbm = os.path.join(directory, "mp_sess.dbm")
        self._dbmfile = dbm
        if dbmtype is None:
            import dbm as dbmtype
        self._dbmtype = dbmtype
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    def _files(self) -> list:
        return [p for p in (self._dbmfile, self._dbmfile + ".db", self._dbmfile + ".dat",
                            self._dbmfile + ".dir", self._dbmfile + ".pag")
                if os.path.lexists(p)]

    def _trusted(self) -> bool:
        for path in self._files():
            try:
                if not _owned_regular(os.lstat(path)):
                    _log(self._req, f"mod_python: session dbm file {path} is not a regular "
                                    "file owned by the server's user; ignored", apache.APLOG_ERR)
                    return False
            except OSError:
                return False
        return True

    def _open(self, write: bool) -> Any:
        if not self._files():
            if not write:
                return None
            return self._dbmtype.open(self._dbmfile, "c", 0o640)
        if not self._trusted():
            return None
        return self._dbmtype.open(self._dbmfile, "w" if write else "r")

    def _with_db(self, write: bool, action: Any) -> Any:
        _acquire(self._req, 0)
        try:
            db = self._open(write)
            if db is None:
                return None
            try:
                return action(db)
            finally:
                db.close()
        except Exception as exc:  # noqa: BLE001 - logged, not raised (as FileSession)
            _log(self._req, f"mod_python: DbmSession error on {self._dbmfile}: {exc}",
                 apache.APLOG_ERR)
            return None
        finally:
            _release(self._req, 0)

    def do_load(self) -> Optional[dict]:
        key = self._sid.encode("ascii")

        def load(db: Any) -> Optional[dict]:
            try:
                data = db[key]
            except KeyError:
                return None
            return pickle.loads(data)

        return self._with_db(False, load)

    def do_save(self, record: dict) -> None:
        key = self._sid.encode("ascii")
        data = pickle.dumps(record, 2)

        def save(db: Any) -> None:
            db[key] = data

        self._with_db(True, save)

    def do_delete(self) -> None:
        key = self._sid.encode("ascii")

        def delete(db: Any) -> None:
            try:
                del db[key]
            except KeyError:
                pass

        self._with_db(True, delete)

    def do_cleanup(self) -> None:
        self._req.register_cleanup(_dbm_cleanup, self)


def _dbm_cleanup(session: DbmSession) -> None:
    now = time.time()

    def clean(db: Any) -> None:
        expired = []
        for key in list(db.keys()):
            try:
                record = pickle.loads(db[key])
                if not _valid_record(record) or _expired(record, now):
                    expired.append(key)
            except Exception:  # noqa: BLE001 - a broken record is dropped
                expired.append(key)
        for key in expired:
            del db[key]
        _log(session._req, f"mod_python: DbmSession cleanup removed {len(expired)} "
                           "expired sessions")

    session._with_db(True, clean)


# --------------------------------------------------------------------------- FileSession


class FileSession(BaseSession):
    """One pickle per session: ``<dir>/mp_sess/<sid[0:2]>/<sid>``."""

    def __init__(self, req: Any, sid: Any = 0, secret: Any = None, timeout: Any = 0,
                 lock: Any = 1, fast_cleanup: Any = -1, verify_cleanup: Any = -1) -> None:
        options = req.get_options()
        if fast_cleanup == -1:
            fast_cleanup = true_or_false(_option(
                options, "mod_python.file_session.enable_fast_cleanup",
                "session_fast_cleanup", default="1"))
        if verify_cleanup == -1:
            verify_cleanup = true_or_false(_option(
                options, "mod_python.file_session.verify_session_timeout",
                "session_verify_cleanup", default="1"))
        self._fast_cleanup = bool(fast_cleanup)
        self._verify_cleanup = bool(verify_cleanup)
        self._grace_period = int(_option(
            options, "mod_python.file_session.cleanup_grace_period", "session_grace_period",
            default=240))
        self._cleanup_time_limit = int(_option(
            options, "mod_python.file_session.cleanup_time_limit",
            "session_cleanup_time_limit", default=2))
        directory = _option(options, "mod_python.file_session.database_directory",
                            "mod_python.session.database_directory",
                            "session_directory") or _default_directory()
        self._sessdir = os.path.join(os.path.realpath(directory), "mp_sess")
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    # -- paths and short locks

    def _path(self) -> str:
        sid = self._sid
        if not _valid_sid(sid):
            raise ValueError(f"Invalid Session ID: sid={sid!r}")
        path = os.path.join(self._sessdir, sid[:2], sid)
        real = os.path.realpath(path)
        if not real.startswith(self._sessdir + os.sep):
            raise ValueError(f"Session path {path!r} leaves the session directory")
        return path

    def _short_lock(self) -> Any:
        if self._lock:
            return None
        index = self._index()
        _acquire(self._req, index)
        return index

    def _short_unlock(self, index: Any) -> None:
        if index is not None:
            _release(self._req, index)

    def _make_dirs(self) -> None:
        if not os.path.isdir(self._sessdir):
            os.makedirs(self._sessdir, 0o750, exist_ok=True)
        for i in range(256):
            sub = os.path.join(self._sessdir, f"{i:02x}")
            if not os.path.isdir(sub):
                try:
                    os.mkdir(sub, 0o750)
                except FileExistsError:
                    pass

    # -- storage

    def do_load(self) -> Optional[dict]:
        index = self._short_lock()
        try:
            path = self._path()
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except FileNotFoundError:
                return None
            with os.fdopen(fd, "rb") as handle:
                if not _owned_regular(os.fstat(fd)):
                    _log(self._req, f"mod_python: session file {path} is not a regular file "
                                    "owned by the server's user; ignored", apache.APLOG_ERR)
                    return None
                record = pickle.load(handle)
                if _valid_record(record) and not _expired(record, time.time()):
                    try:
                        os.utime(fd)
                    except OSError:
                        pass
                return record
        except Exception as exc:  # noqa: BLE001 - logged, not raised
            _log(self._req, f"mod_python: FileSession load error: {exc}", apache.APLOG_ERR)
            return None
        finally:
            self._short_unlock(index)

    def do_save(self, record: dict) -> None:
        index = self._short_lock()
        try:
            path = self._path()
            self._make_dirs()
            directory = os.path.dirname(path)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(record, handle, 2)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except Exception as exc:  # noqa: BLE001 - logged, not raised
            _log(self._req, f"mod_python: FileSession save error: {exc}", apache.APLOG_ERR)
        finally:
            self._short_unlock(index)

    def do_delete(self) -> None:
        index = self._short_lock()
        try:
            os.unlink(self._path())
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - logged, not raised
            _log(self._req, f"mod_python: FileSession delete error: {exc}", apache.APLOG_ERR)
        finally:
            self._short_unlock(index)

    def do_cleanup(self) -> None:
        data = {"sessdir": self._sessdir, "fast_cleanup": self._fast_cleanup,
                "verify_cleanup": self._verify_cleanup, "timeout": self._timeout,
                "grace_period": self._grace_period,
                "cleanup_time_limit": self._cleanup_time_limit, "req": self._req}
        self._req.register_cleanup(_file_cleanup, data)



# --------------------------------------------------------------------------- SocacheSession

_SC_MAGIC = b"MPS1"
_SC_CONTEXT = b"mod_python.SocacheSession record key v1"
_SC_HEADER = len(_SC_MAGIC) + 4 + 32  # magic, key id, HMAC-SHA256
_SC_PROTOCOL = 4
_SC_MAX_TTL = 2**31 - 1  # seconds; the store keeps a record at most this long
# cache name -> [when a timeout was last logged, timeouts not logged since]
_TIMEOUT_LOG: dict = {}


def _record_key(secret: Any) -> bytes:
    """The record-signing key derived from a configured secret (str or bytes)."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8", "surrogateescape")
    return hmac.new(bytes(secret), _SC_CONTEXT, hashlib.sha256).digest()


class SocacheSession(BaseSession):
    """Records in the server's session cache (``PythonSessionCache provider[:args]``).

    * Records are pickled and stored under the 16 bytes of the sid with the session timeout
      as the cache's expiry, as ``MPS1 | key id | HMAC-SHA256 | pickle``.  The MAC covers the
      key id, the sid and the pickle; a record whose MAC does not verify (tampered, written
      by someone else, signed with another key, bound to another sid) is never unpickled: it
      is logged (MP0183) and the request gets a new session.
    * The signing key is derived from ``PythonOption mod_python.socache_session.secret``,
      else from the ``secret`` argument (the signed-cookie secret).  Without either, a
      host-local cache (``shmcb``, ``dbm``) uses a random key made by the Apache parent at
      start-up (records do not outlive a restart), and a cache other hosts can reach
      (``memcache``, ``redis``, any other provider) is refused: every host sharing it must
      sign with the same secret.
    * Locking serialises the requests of one session on this host (the sid's global mutex,
      §7); requests of one session served at the same time by two hosts are not serialised,
      so the last ``save()`` wins.
    * The cache expires records itself, so ``cleanup()`` has nothing to do.
    """

    def __init__(self, req: Any, sid: Any = 0, secret: Any = None, timeout: Any = 0,
                 lock: Any = 1) -> None:
        module = _apache_module()
        info = module._socache_info(req.server)
        if info is None:
            raise RuntimeError("SocacheSession needs a session cache: add 'PythonSessionCache "
                               "provider[:arguments]' to the server or virtual host")
        self._cache_server = req.server
        self._cache_name = info["provider"]
        record_secret = _option(req.get_options(), "mod_python.socache_session.secret")
        if record_secret:
            key = _record_key(record_secret)
        elif secret:
            key = _record_key(secret)
        elif not info["shared"] and info["local_key"]:
            key = bytes(info["local_key"])
        else:
            raise RuntimeError(
                f"SocacheSession: the session cache '{info['provider']}' may be shared with "
                "other hosts, so its records must be signed with a secret every host knows: "
                "set PythonOption mod_python.socache_session.secret (or pass secret=...)")
        self._record_key = key
        self._key_id = hashlib.sha256(key).digest()[:4]
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    # -- record format

    def _cache_id(self) -> bytes:
        return bytes.fromhex(self._sid)

    def _mac(self, payload: bytes) -> bytes:
        message = _SC_MAGIC + self._key_id + self._cache_id() + payload
        return hmac.new(self._record_key, message, hashlib.sha256).digest()

    def _seal(self, payload: bytes) -> bytes:
        return _SC_MAGIC + self._key_id + self._mac(payload) + payload

    def _open(self, blob: bytes) -> Optional[bytes]:
        """The pickle inside ``blob`` if it is a record we signed for this sid, else None."""
        short = self._sid[:8]
        if len(blob) < _SC_HEADER or not blob.startswith(_SC_MAGIC):
            _log(self._req, f"MP0183: SocacheSession: the record of session {short}... in "
                            f"the {self._cache_name} cache is not ours; ignored",
                 apache.APLOG_WARNING)
            return None
        key_id = blob[4:8]
        mac = blob[8:_SC_HEADER]
        payload = blob[_SC_HEADER:]
        if key_id != self._key_id:
            _log(self._req, f"mod_python: SocacheSession: the record of session {short}... "
                            "was signed with another key (secret changed or server "
                            "restarted); starting a new session", apache.APLOG_INFO)
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            _log(self._req, f"MP0183: SocacheSession: the record of session {short}... in "
                            f"the {self._cache_name} cache fails its signature check; "
                            "ignored", apache.APLOG_WARNING)
            return None
        return payload

    # -- storage

    def _failed(self, what: str, exc: Exception) -> None:
        extra = ""
        if isinstance(exc, TimeoutError):
            # A hung store fails every request of every client: a line a second is enough.
            now = time.monotonic()
            slot = _TIMEOUT_LOG.setdefault(self._cache_name, [float("-inf"), 0])
            if now - slot[0] < 1.0:
                slot[1] += 1
                return
            if slot[1]:
                extra = f" ({slot[1]} more such failures not logged)"
            slot[0], slot[1] = now, 0
        _log(self._req, f"MP0182: SocacheSession: cannot {what} session {self._sid[:8]}... "
                        f"in the {self._cache_name} cache: {exc}{extra}", apache.APLOG_ERR)

    def do_load(self) -> Optional[dict]:
        try:
            blob = _apache_module()._socache_retrieve(self._cache_server, self._cache_id())
        except Exception as exc:  # noqa: BLE001 - logged; the request gets a new session
            self._failed("load", exc)
            return None
        if blob is None:
            return None
        payload = self._open(blob)
        if payload is None:
            return None
        try:
            return pickle.loads(payload)
        except Exception as exc:  # noqa: BLE001 - our own record, but unreadable
            self._failed("unpickle", exc)
            return None

    def do_save(self, record: dict) -> None:
        # Clamped: the C side takes a C long (and the providers fewer bits still).
        ttl = max(1, min(math.ceil(record["_accessed"] + record["_timeout"] - time.time()),
                         _SC_MAX_TTL))
        try:
            blob = self._seal(pickle.dumps(record, _SC_PROTOCOL))
            _apache_module()._socache_store(self._cache_server, self._cache_id(), blob, ttl)
        except Exception as exc:  # noqa: BLE001 - logged, not raised (as FileSession)
            self._failed("save", exc)

    def do_delete(self) -> None:
        try:
            _apache_module()._socache_remove(self._cache_server, self._cache_id())
        except Exception as exc:  # noqa: BLE001 - logged, not raised
            self._failed("delete", exc)

    def do_cleanup(self) -> None:
        """Nothing to do: every provider drops expired records by itself."""


# --------------------------------------------------------------------------- factory

_TYPES = {"FileSession": FileSession, "DbmSession": DbmSession,
          "MemorySession": MemorySession, "SocacheSession": SocacheSession}


def Session(req: Any, sid: Any = 0, secret: Any = None, timeout: Any = 0,  # noqa: N802
            lock: Any = 1) -> BaseSession:
    """A session of the configured (or the MPM's default) type."""
    options = req.get_options()
    sess_type = _option(options, "mod_python.session.session_type", "session")
    if sess_type:
        cls = _TYPES.get(sess_type)
        if cls is None:
            raise Exception(f"Unknown session type {sess_type}")
    else:
        threaded = apache.mpm_query(apache.AP_MPMQ_IS_THREADED)
        forked = apache.mpm_query(apache.AP_MPMQ_IS_FORKED)
        daemons = apache.mpm_query(apache.AP_MPMQ_MAX_DAEMONS)
        if threaded and ((not forked) or daemons == 1):
            cls = MemorySession
        else:
            cls = DbmSession
    return cls(req, sid=sid, secret=secret, timeout=timeout, lock=lock)
