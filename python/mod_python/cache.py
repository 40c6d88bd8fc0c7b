"""Generic thread-safe caches (spec §18).

Each entry carries its own lock, so a value is never built twice concurrently while
different entries can be built in parallel.  ``Cache`` is unbounded by default or evicts
the least recently used entries beyond ``max_size``.
"""

from __future__ import annotations

import email.utils
import os
import re
import threading
import time
import types
import urllib.error
import urllib.request
import weakref
from typing import Any, Optional


class _NotInitialized:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_INITIALIZED"

    def __bool__(self) -> bool:
        return False


NOT_INITIALIZED = _NotInitialized()


class Entry:
    """One cache slot: its key, value, per-entry lock and free-form metadata."""

    def __init__(self, key: Any) -> None:
        self._key = key
        self._value = NOT_INITIALIZED
        self._lock = threading.RLock()
        self.timestamp: Optional[float] = None

    def get_key(self) -> Any:
        return self._key

    def get_value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        self._value = value

    def lock(self) -> None:
        self._lock.acquire()

    def unlock(self) -> None:
        self._lock.release()

    def __repr__(self) -> str:
        return f"<Entry {self._key!r}: {self._value!r}>"


class Cache:
    """A thread-safe cache of values built on demand; LRU-bounded when ``max_size`` > 0."""

    def __init__(self, max_size: int = 0) -> None:
        self._max_size = max_size
        self._lock = threading.RLock()
        self._dict: dict = {}  # insertion order = LRU order (oldest first)

    # --- override points ----------------------------------------------------------------
    def key(self, name: Any) -> Any:
        return name

    def check(self, key: Any, name: Any, entry: Entry) -> Any:
        """None when the entry is fresh; else something passed to build() as ``opened``."""
        return None

    def build(self, key: Any, name: Any, opened: Any, entry: Entry) -> Any:
        raise NotImplementedError

    def commit(self) -> None:
        """Called after an entry has been built or set, with the cache lock held."""
        self._evict()

    # --- internals ----------------------------------------------------------------------
    def _entry(self, key: Any) -> Entry:
        with self._lock:
            entry = self._dict.pop(key, None)
            if entry is None:
                entry = self._make_entry(key)
            self._dict[key] = entry  # most recently used
            return entry

    def _make_entry(self, key: Any) -> Entry:
        return Entry(key)

    def _evict(self) -> None:
        if self._max_size <= 0:
            return
        with self._lock:
            while len(self._dict) > self._max_size:
                oldest = next(iter(self._dict))
                del self._dict[oldest]

    def _store(self, entry: Entry, value: Any) -> None:
        entry.set_value(value)

    def _load(self, entry: Entry) -> Any:
        return entry.get_value()

    # --- mapping API --------------------------------------------------------------------
    def __getitem__(self, name: Any) -> Any:
        key = self.key(name)
        while True:
            entry = self._entry(key)
            entry.lock()
            try:
                with self._lock:
                    if self._dict.get(key) is not entry:
                        continue  # removed meanwhile: retry with a fresh entry
                value = self._load(entry)
                opened = None
                if value is NOT_INITIALIZED:
                    opened = self.check(key, name, entry)
                    if opened is None and entry.get_value() is NOT_INITIALIZED:
                        opened = True
                else:
                    opened = self.check(key, name, entry)
                if opened is None:
                    return value
                try:
                    value = self.build(key, name, opened, entry)
                except BaseException:
                    with self._lock:
                        if self._dict.get(key) is entry and \
                                entry.get_value() is NOT_INITIALIZED:
                            del self._dict[key]
                    raise
                self._store(entry, value)
                with self._lock:
                    self.commit()
                return value
            finally:
                entry.unlock()

    def __setitem__(self, name: Any, value: Any) -> None:
        key = self.key(name)
        entry = self._entry(key)
        entry.lock()
        try:
            self._store(entry, value)
            with self._lock:
                self.commit()
        finally:
            entry.unlock()

    def __delitem__(self, name: Any) -> None:
        key = self.key(name)
        with self._lock:
            entry = self._dict.pop(key, None)
        if entry is None:
            raise KeyError(name)
        entry.lock()
        try:
            entry.set_value(NOT_INITIALIZED)
        finally:
            entry.unlock()

    def __contains__(self, name: Any) -> bool:
        with self._lock:
            entry = self._dict.get(self.key(name))
            return entry is not None and self._load(entry) is not NOT_INITIALIZED

    def __len__(self) -> int:
        with self._lock:
            return len(self._dict)

    def keys(self) -> list:
        with self._lock:
            return list(self._dict)

    def mru(self) -> Any:
        """Key of the most recently used entry (None when unbounded or empty)."""
        if self._max_size <= 0:
            return None
        with self._lock:
            return next(reversed(self._dict), None)

    def lru(self) -> Any:
        """Key of the least recently used entry (None when unbounded or empty)."""
        if self._max_size <= 0:
            return None
        with self._lock:
            return next(iter(self._dict), None)

    def clear(self) -> None:
        with self._lock:
            self._dict.clear()


class WeakCache(Cache):
    """Values are held by weak reference; a collected value is rebuilt."""

    def _store(self, entry: Entry, value: Any) -> None:
        entry.set_value(weakref.ref(value))

    def _load(self, entry: Entry) -> Any:
        ref = entry.get_value()
        if ref is NOT_INITIALIZED:
            return NOT_INITIALIZED
        value = ref()
        if value is None:
            entry.set_value(NOT_INITIALIZED)
            return NOT_INITIALIZED
        return value


class FileCache(Cache):
    """File content by path, rebuilt when the file's mtime changes."""

    def __init__(self, max_size: int = 0, mode: str = "rb") -> None:
        super().__init__(max_size)
        self.mode = mode

    def key(self, name: Any) -> Any:
        return os.path.normpath(os.path.abspath(name))

    def check(self, key: Any, name: Any, entry: Entry) -> Any:
        mtime = os.stat(key).st_mtime
        if entry.get_value() is not NOT_INITIALIZED and entry.timestamp == mtime:
            return None
        entry.timestamp = mtime
        return open(key, self.mode)

    def build(self, key: Any, name: Any, opened: Any, entry: Entry) -> Any:
        try:
            return opened.read()
        finally:
            opened.close()


class HTTPEntity:
    """A cached HTTP entity and its response metadata (a dict-like of headers)."""

    def __init__(self, entity: Any, metadata: Any) -> None:
        self.entity = entity
        self.metadata = metadata

    def __repr__(self) -> str:
        return f"HTTPEntity({self.entity!r}, {self.metadata!r})"

    def __str__(self) -> str:
        return str(self.entity)


_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)


class HTTPCache(Cache):
    """The entity at a URL with max-age/Expires freshness and ETag/Last-Modified revalidation."""

    timeout = 30

    def check(self, key: Any, name: Any, entry: Entry) -> Any:
        value = entry.get_value()
        now = time.time()
        if value is not NOT_INITIALIZED and getattr(entry, "expires", None) is not None \
                and now < entry.expires:
            return None
        request = urllib.request.Request(key)
        if value is not NOT_INITIALIZED:
            etag = getattr(entry, "etag", None)
            last_modified = getattr(entry, "last_modified", None)
            if etag:
                request.add_header("If-None-Match", etag)
            if last_modified:
                request.add_header("If-Modified-Since", last_modified)
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and value is not NOT_INITIALIZED:
                self._freshness(entry, exc.headers)
                return None
            raise
        self._freshness(entry, response.headers)
        entry.etag = response.headers.get("ETag")
        entry.last_modified = response.headers.get("Last-Modified")
        return response

    def _freshness(self, entry: Entry, headers: Any) -> None:
        entry.expires = None
        control = headers.get("Cache-Control") or ""
        match = _MAX_AGE.search(control)
        if match:
            entry.expires = time.time() + int(match.group(1))
            return
        expires = headers.get("Expires")
        if expires:
            try:
                entry.expires = email.utils.parsedate_to_datetime(expires).timestamp()
            except (TypeError, ValueError, IndexError):
                entry.expires = None

    def build(self, key: Any, name: Any, opened: Any, entry: Entry) -> Any:
        try:
            return HTTPEntity(opened.read(), dict(opened.headers.items()))
        finally:
            opened.close()


def _module_name(path: str) -> str:
    return re.sub(r"\W", "_", path)


def _exec_module(name: str, source: bytes, filename: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = filename
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


class ModuleCache(FileCache):
    """Executes a Python file into a fresh module (not in sys.modules); re-run on mtime change."""

    def __init__(self, max_size: int = 0) -> None:
        super().__init__(max_size, "rb")

    def build(self, key: Any, name: Any, opened: Any, entry: Entry) -> Any:
        try:
            source = opened.read()
        finally:
            opened.close()
        return _exec_module(_module_name(key), source, key)


class HttpModuleCache(HTTPCache):
    """Executes the Python source at a URL into a fresh module."""

    def build(self, key: Any, name: Any, opened: Any, entry: Entry) -> Any:
        try:
            source = opened.read()
        finally:
            opened.close()
        return _exec_module(_module_name(key), source, key)


class FunctionCache(Cache):
    """Memoises ``function(*args, **kw)``; ``cache[args]`` or ``cache(*args, **kw)``."""

    def __init__(self, function: Any, max_size: int = 0) -> None:
        super().__init__(max_size)
        self.function = function

    def build(self, key: Any, name: Any, opened: Any, entry: Entry) -> Any:
        if isinstance(name, _Call):
            return self.function(*name.args, **dict(name.kw))
        if isinstance(name, tuple):
            return self.function(*name)
        return self.function(name)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return self[_Call(args, tuple(sorted(kw.items())))]


class _Call(tuple):
    def __new__(cls, args: tuple, kw: tuple) -> "_Call":
        return super().__new__(cls, (args, kw))

    @property
    def args(self) -> tuple:
        return self[0]

    @property
    def kw(self) -> tuple:
        return self[1]


__all__ = [
    "NOT_INITIALIZED", "Entry", "Cache", "WeakCache", "FileCache", "HTTPEntity", "HTTPCache",
    "ModuleCache", "HttpModuleCache", "FunctionCache",
]

