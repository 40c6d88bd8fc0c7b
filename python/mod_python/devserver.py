"""What the development server (``launcher serve``) adds around Apache: the error log shown
live in the terminal, and a watch on the application's files that triggers a reload.
"""

import os
from pathlib import Path
from typing import Iterable, Optional

__all__ = ["LogFollower", "TreeWatcher", "WATCHED_SUFFIXES"]

# Code, configuration and templates: a change to any of them should show on the next request.
WATCHED_SUFFIXES = frozenset({
    ".py", ".wsgi", ".conf", ".psp", ".html", ".htm", ".jinja", ".jinja2", ".j2", ".tmpl", ".tpl",
    ".mako", ".xml",
    ".txt", ".json", ".ini", ".cfg", ".toml", ".yaml", ".yml",
})
# Never walked: byte code, version control, virtual environments' and tools' caches.
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})


class LogFollower:
    """Returns what was appended to a log file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def new_text(self, limit: int = 1 << 20) -> str:
        try:
            with open(self.path, "rb") as log:
                size = os.fstat(log.fileno()).st_size
                if size < self.offset:  # truncated or replaced
                    self.offset = 0
                log.seek(self.offset)
                data = log.read(limit)
        except OSError:
            return ""
        # Only whole lines: a line being written is shown on the next call.
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].decode("utf-8", "backslashreplace")


class TreeWatcher:
    """Polls the modification times of the watched files below some directories."""

    def __init__(self, roots: Iterable[Path], excluded: Iterable[Path] = (),
                 max_files: int = 20000) -> None:
        self.roots = [Path(r).resolve() for r in roots]
        self.excluded = {Path(e).resolve() for e in excluded}
        self.max_files = max_files
        self.truncated = False
        self.snapshot = self._scan()

    def _wanted(self, name: str) -> bool:
        return os.path.splitext(name)[1].lower() in WATCHED_SUFFIXES

    def _scan(self) -> dict[str, int]:
        found: dict[str, int] = {}
        self.truncated = False
        for root in self.roots:
            if root.is_file():
                self._add(found, str(root))
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [
                    d for d in dirnames
                    if not d.startswith(".") and d not in SKIPPED_DIRS
                    and Path(dirpath, d) not in self.excluded
                ]
                for name in filenames:
                    if not self._wanted(name):
                        continue
                    if len(found) >= self.max_files:
                        self.truncated = True
                        return found
                    self._add(found, os.path.join(dirpath, name))
        return found

    @staticmethod
    def _add(found: dict[str, int], path: str) -> None:
        try:
            found[path] = os.stat(path).st_mtime_ns
        except OSError:
            pass

    def changed(self) -> Optional[str]:
        """A file that was changed, added or removed since the last call, or None."""
        current = self._scan()
        previous, self.snapshot = self.snapshot, current
        for path, mtime in current.items():
            if previous.get(path) != mtime:
                return path
        for path in previous:
            if path not in current:
                return path
        return None
