"""Internals of mod_python.Session: session ids, options, per-request global-mutex locking,
the default session directory, record checks and the FileSession cleanup (spec §13, §21).

Not an API: ``mod_python.Session`` is.  Kept apart so that module holds the session classes.
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import stat
import sys
import tempfile
import threading
import time
from typing import Any, Optional

from mod_python import apache

_SID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_DEFAULT_DIR_NAME = "mod_python-sessions"

_TRUE = ("yes", "true", "1", "on")
_FALSE = ("no", "false", "0", "off")


# --------------------------------------------------------------------------- helpers

def true_or_false(item: Any) -> bool:
    """Boolean PythonOption values: ``yes/true/1/on`` and ``no/false/0/off``."""
    if isinstance(item, str):
        text = item.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"Invalid boolean option value: {item!r}")
    return bool(item)


def _valid_sid(sid: Any) -> bool:
    return isinstance(sid, str) and _SID_RE.match(sid) is not None


def _new_sid() -> str:
    return secrets.token_hex(16)


def _option(options: Any, *keys: str, default: Any = None) -> Any:
    """The first non-empty value of ``keys`` (new key first, legacy keys after)."""
    for key in keys:
        try:
            value = options.get(key)
        except Exception:  # noqa: BLE001 - a broken table must not break sessions
            value = None
        if value is not None and value != "":
            return value
    return default


def _log(req: Any, message: str, level: int = apache.APLOG_NOTICE) -> None:
    try:
        req.log_error(message, level)
    except Exception:  # noqa: BLE001 - logging must never fail a request
        pass


def _apache_module() -> Any:
    return sys.modules.get("_apache") or __import__("_apache")


# --------------------------------------------------------------------------- locking

_count_lock = threading.Lock()
_lock_count: Optional[int] = None
_COUNT_RE = re.compile(r"global mutex locks \((\d+)\)")


def _global_lock_count(server: Any) -> Optional[int]:
    """Number of global mutexes (the C side names it in its out-of-range error)."""
    global _lock_count
    with _count_lock:
        if _lock_count is None:
            try:
                _apache_module()._global_trylock(server, None, 2 ** 31 - 1)
            except ValueError as exc:
                match = _COUNT_RE.search(str(exc))
                if match:
                    _lock_count = int(match.group(1))
            except Exception:  # noqa: BLE001 - fall back to key-based locking
                pass
        return _lock_count


def _lock_index(server: Any, sid: str) -> Any:
    """The mutex index of ``sid`` (same FNV-1a as the C side), or the key itself."""
    count = _global_lock_count(server)
    if not count:
        return sid
    if count < 2:
        return 0
    value = 2166136261
    for byte in sid.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return 1 + value % (count - 1)


def _lock_owner(req: Any) -> Any:
    """The request that owns the locks: the top of the main/prev chain."""
    owner = req
    for _ in range(100):
        parent = None
        for attr in ("main", "prev"):
            try:
                parent = getattr(owner, attr, None)
            except Exception:  # noqa: BLE001 - a finished wrapper
                parent = None
            if parent is not None:
                break
        if parent is None:
            break
        owner = parent
    return owner


def _lock_record(req: Any) -> tuple[Any, dict]:
    owner = _lock_owner(req)
    record = getattr(owner, "_session_locks", None)
    if record is None:
        record = {}
        owner._session_locks = record
        owner.register_cleanup(_release_all, owner)
    return owner, record


def _created_sids(req: Any) -> dict:
    """``{cookie name: sid}`` of the sessions created during this request."""
    owner = _lock_owner(req)
    created = getattr(owner, "_session_created", None)
    if created is None:
        created = {}
        owner._session_created = created
    return created


def _cookie_carried_by(req: Any, cookie_name: str, mark: bool = False) -> bool:
    """Whether this request's own headers already hold the cookie of session ``cookie_name``
    (``mark``: record that they do now)."""
    carried = getattr(req, "_session_cookies", None)
    if carried is None:
        carried = set()
        try:
            req._session_cookies = carried
        except (AttributeError, TypeError):
            return False
    if mark:
        carried.add(cookie_name)
    return cookie_name in carried


def _global_mutex(operation: str, server: Any, index: Any) -> None:
    """``_apache._global_lock``/``_global_unlock`` (``operation``): an int is a mutex
    index, anything else a key that picks one."""
    function = getattr(_apache_module(), operation)
    if isinstance(index, int):
        function(server, None, index)
    else:
        function(server, index)


def _acquire(req: Any, index: Any) -> None:
    """Take mutex ``index`` for the request (re-entrant within the request)."""
    owner, record = _lock_record(req)
    held = record.get(index, 0)
    if held:
        record[index] = held + 1
        return
    _global_mutex("_global_lock", owner.server, index)
    record[index] = 1


def _release(req: Any, index: Any) -> None:
    owner, record = _lock_record(req)
    held = record.get(index, 0)
    if held <= 0:
        return
    if held > 1:
        record[index] = held - 1
        return
    del record[index]
    _global_mutex("_global_unlock", owner.server, index)


def _release_all(owner: Any) -> None:
    """Request cleanup: release every mutex the request still holds."""
    record = getattr(owner, "_session_locks", None) or {}
    for index in list(record):
        del record[index]
        try:
            _global_mutex("_global_unlock", owner.server, index)
        except Exception as exc:  # noqa: BLE001
            _log(owner, f"mod_python: failed to release session lock {index!r}: {exc}",
                 apache.APLOG_ERR)


# --------------------------------------------------------------------------- storage dir

_dir_lock = threading.Lock()
_default_dir: Optional[str] = None


def _private_dir(parent: str) -> Optional[str]:
    """``parent/mod_python-sessions`` if it is (or can be made) private to us."""
    if not parent or not os.path.isdir(parent):
        return None
    path = os.path.join(parent, _DEFAULT_DIR_NAME)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return path


def _default_directory() -> str:
    global _default_dir
    with _dir_lock:
        if _default_dir is not None:
            return _default_dir
        candidates = [os.environ.get("APACHE_RUN_DIR")]
        try:
            root = apache.server_root()
        except Exception:  # noqa: BLE001
            root = None
        if root:
            candidates += [os.path.join(root, "run"), os.path.join(root, "logs")]
        candidates.append(tempfile.gettempdir())
        for parent in candidates:
            path = _private_dir(parent) if parent else None
            if path is not None:
                _default_dir = path
                return path
        raise OSError("mod_python.Session: no private session directory could be created "
                      "(set PythonOption mod_python.session.database_directory)")


def _owned_regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()


def _valid_record(record: Any) -> bool:
    try:
        return (isinstance(record, dict) and isinstance(record["_data"], dict)
                and isinstance(record["_created"], (int, float))
                and isinstance(record["_accessed"], (int, float))
                and isinstance(record["_timeout"], (int, float)))
    except KeyError:
        return False


def _expired(record: dict, now: float, grace: float = 0) -> bool:
    return now - record["_accessed"] > record["_timeout"] + grace


# --------------------------------------------------------------------------- FileSession cleanup

_STATUS_VERSION = "MPFS_3.2"
_LOCKFILE_MAX_AGE = 3600


def _file_cleanup(data: dict) -> None:
    """Remove expired session files; one runner at a time, resumable (§13.4)."""
    req = data["req"]
    sessdir = data["sessdir"]
    if not os.path.isdir(sessdir):
        return
    lockfile = os.path.join(sessdir, ".mp_sess.lck")
    try:
        fd = os.open(lockfile, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o660)
    except FileExistsError:
        try:
            if time.time() - os.stat(lockfile).st_mtime > _LOCKFILE_MAX_AGE:
                os.unlink(lockfile)
                _log(req, "mod_python: FileSession cleanup removed a stale lock file")
        except OSError:
            pass
        return
    except OSError:
        return
    os.close(fd)
    try:
        _file_cleanup_run(data, req, sessdir)
    finally:
        try:
            os.unlink(lockfile)
        except OSError:
            pass


def _file_cleanup_run(data: dict, req: Any, sessdir: str) -> None:
    start = time.time()
    status_file = os.path.join(sessdir, "fs_status.txt")
    next_index = 0
    try:
        with open(status_file) as handle:
            fields = handle.read().split()
        if fields and fields[0] == _STATUS_VERSION:
            next_index = int(fields[1]) % 256
    except (OSError, ValueError, IndexError):
        next_index = 0
    grace = data["grace_period"]
    limit = data["cleanup_time_limit"]
    expired = total = 0
    index = next_index
    done = 0
    while done < 256:
        sub = os.path.join(sessdir, f"{index:02x}")
        try:
            names = os.listdir(sub)
        except OSError:
            names = []
        now = time.time()
        for name in names:
            if not _valid_sid(name):
                continue
            total += 1
            path = os.path.join(sub, name)
            try:
                st = os.lstat(path)
                if not _owned_regular(st):
                    continue
                if data["fast_cleanup"] and now - st.st_mtime <= data["timeout"] + grace:
                    continue
                if data["verify_cleanup"]:
                    with open(path, "rb") as handle:
                        record = pickle.load(handle)
                    if _valid_record(record) and not _expired(record, now, grace):
                        continue
                os.unlink(path)
                expired += 1
            except Exception:  # noqa: BLE001 - skip broken entries
                continue
        index = (index + 1) % 256
        done += 1
        if limit and time.time() - start > limit:
            break
    seconds = time.time() - start
    try:
        with open(status_file, "w") as handle:
            handle.write(f"{_STATUS_VERSION} {index} {expired} {total} {seconds:.3f}\n")
    except OSError:
        pass
    _log(req, f"mod_python: FileSession cleanup: {expired} of {total} sessions expired, "
              f"{done} directories in {seconds:.3f}s, next index {index}")
