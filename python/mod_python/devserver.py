"""What the development server (``launcher serve``) adds around Apache: the configuration
built from an application directory and its ``site.conf``, the error log shown live in the
terminal, and a watch on the application's files that triggers a reload.
"""

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Optional

__all__ = ["LogFollower", "TreeWatcher", "WATCHED_SUFFIXES", "build_config",
           "explain_config_lines", "serve", "warn_unreadable"]

# Code, configuration, templates and the data and translations applications load when they
# are imported: a change to any of them should show on the next request.
WATCHED_SUFFIXES = frozenset({
    ".py", ".wsgi", ".conf", ".psp", ".html", ".htm", ".jinja", ".jinja2", ".j2", ".tmpl", ".tpl",
    ".mako", ".xml",
    ".txt", ".json", ".ini", ".cfg", ".toml", ".yaml", ".yml",
    ".md", ".csv", ".sql", ".po", ".mo",
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


def _snippet_name(args: argparse.Namespace) -> str:
    """The file the caller's part of the configuration comes from."""
    return str(args.config_snippet or Path(args.app_dir) / "site.conf")


# The line render_config() puts before the caller's snippet (site.conf) in httpd.conf.
SNIPPET_MARKER = "# ---- caller-supplied configuration ----"
_LISTEN_LINE = re.compile(r"\s*Listen\s+(?:\[[^\]]*\]:|[^\s:]+:)?(\d+)\b", re.I)


def _snippet_lines(config: str) -> list[str]:
    """The lines of httpd.conf that come from the caller's snippet (its line 1 first)."""
    lines = config.split("\n")
    return lines[lines.index(SNIPPET_MARKER) + 1:] if SNIPPET_MARKER in lines else []


def _listen_lines(lines: Iterable[str]) -> Iterable[tuple[int, str, int]]:
    """(line number from 1, the line, its port) for each ``Listen`` line."""
    for number, line in enumerate(lines, 1):
        match = _LISTEN_LINE.match(line)
        if match:
            yield number, line.strip(), int(match.group(1))


def explain_config_lines(text: str, config: str, snippet_name: str) -> str:
    """Adds ``(<snippet_name> line M)`` to httpd's "line N of .../httpd.conf" when line N
    comes from the caller's snippet, which is what the user wrote."""
    lines = config.split("\n")
    if SNIPPET_MARKER not in lines:
        return text
    start = lines.index(SNIPPET_MARKER) + 2  # httpd's line numbers start at 1

    def note(match: "re.Match[str]") -> str:
        number = int(match.group(1))
        if number < start:
            return match.group(0)
        return f"{match.group(0)} ({snippet_name} line {number - start + 1})"

    return re.sub(r"line (\d+) of \S*httpd\.conf(?:\.new)?:?", note, text)


# --------------------------------------------------------------------------- configuration


def _site_snippet(lib: Any, args: argparse.Namespace, root: Path, app_dir: Path) -> str:
    """The site.conf (or --config-snippet) text with its @NAME@ placeholders replaced."""
    source: Optional[Path] = args.config_snippet
    default = app_dir / "site.conf"
    try:
        if source is None and default.is_file():
            source = default
        if source is None:
            return ""
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise lib.ApacheError(f"cannot read {exc.filename or source}: "
                          f"{exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise lib.ApacheError(f"{source} is not UTF-8 text (invalid byte at offset {exc.start})") \
            from None
    text = lib.substitute(
        text,
        {"APP_DIR_PY": lib.python_literal_in_conf(str(app_dir)), "APP_DIR": str(app_dir),
         "ROOT": str(root), "PORT": str(args.port)},
    )
    _refuse_own_port(lib, text, int(args.port), Path(source).name)
    return text


def _refuse_own_port(lib: Any, snippet: str, port: int, name: str) -> None:
    """A ``Listen`` for the launcher's own port (copied configs have ``Listen 80`` or
    ``Listen @PORT@``) makes httpd fail with "Address already in use" whatever port is
    chosen: say what is wrong instead."""
    for number, line, listen_port in _listen_lines(snippet.splitlines()):
        if listen_port == port:
            raise lib.ApacheError(
                f"{name} line {number}: {line!r}: the launcher already listens on "
                f"127.0.0.1:{port} (--port); remove this Listen line")


def build_config(lib: Any, args: argparse.Namespace,
                 root: Path) -> tuple[str, Optional[tuple[str, str]]]:
    """The httpd.conf for ``launcher serve``/``config`` and the user the children run as."""
    app_dir = Path(args.app_dir).resolve()
    if not app_dir.is_dir():
        raise lib.ApacheError(f"--app-dir {app_dir} is not a directory")
    if not os.access(app_dir, os.R_OK | os.X_OK):
        raise lib.ApacheError(f"--app-dir {app_dir} is not readable by this user")
    user = lib.server_user()
    config = lib.render_config(
        root,
        args.port,
        Path(args.module).resolve(),
        mpm=args.mpm,
        snippet=_site_snippet(lib, args, root, app_dir),
        log_level=args.log_level,
        document_root=Path(args.document_root).resolve() if args.document_root else app_dir,
        extra_modules=tuple(getattr(args, "load_module", None) or ()),
        user=user,
        access_log=bool(getattr(args, "log_to_terminal", False)),
    )
    return config, user


def warn_unreadable(path: Path, user: Optional[tuple[str, str]]) -> None:
    """Warns when a directory on the way to ``path`` keeps the children's user out."""
    if user is None:
        return
    for part in [path, *path.parents]:
        if not part.stat().st_mode & 0o001:
            print(
                f"warning: {part} is not traversable by {user[0]}; "
                "Apache's children may get 403 errors",
                file=sys.stderr,
            )
            return


# --------------------------------------------------------------------------- serving


def _reload(lib: Any, args: argparse.Namespace, root: Path, server: Any, reason: str) -> bool:
    """Renders the configuration again (site.conf may have changed) and restarts Apache's
    children gracefully, so that every module is imported afresh. A configuration that
    passes ``httpd -t`` but stops httpd (a Listen port in use) is undone and httpd started
    again. False when httpd could not be brought back."""
    print(f"reloading ({reason}): graceful restart ...", file=sys.stderr, flush=True)
    snippet_name = _snippet_name(args)
    previous = server.config
    try:
        config, _ = build_config(lib, args, root)
    except (lib.ApacheError, ValueError, OSError) as exc:
        print(f"error: {exc}; still serving the previous configuration", file=sys.stderr)
        config = previous
    if config != previous:
        problem = server.reconfigure(config)
        if problem is not None:
            print("error: the new configuration is invalid; still serving the previous one:\n"
                  + explain_config_lines(problem, config, snippet_name),
                  file=sys.stderr, flush=True)
    try:
        server.graceful_restart()
        return True
    except lib.ApacheError as exc:
        print(f"error: {explain_config_lines(str(exc), server.config, snippet_name)}",
              file=sys.stderr, flush=True)
        hint = bind_failure_hint(str(exc), args.port, server.config, snippet_name)
        if hint is not None:
            print(f"({hint})", file=sys.stderr, flush=True)
    if server.is_running():
        return True
    print("starting again with the previous configuration ...", file=sys.stderr, flush=True)
    server.reconfigure(previous)
    try:
        server.start()
        return True
    except lib.ApacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False


def _has_terminal() -> bool:
    """Whether this process still has a controlling terminal (a closed terminal window takes
    it away before its SIGHUP arrives)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _silence_output() -> None:
    """Points stdout/stderr at /dev/null: writes to a hung-up terminal fail (EIO), and so
    would Python's last flush, turning a clean stop into exit status 120."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _say(*args: Any, **kwargs: Any) -> None:
    """print(), except that a terminal closed meanwhile is not an error (its SIGHUP stops the
    server a moment later)."""
    try:
        print(*args, **kwargs)
    except OSError:
        pass


def bind_failure_hint(message: str, port: int, config: str, snippet_name: str) -> Optional[str]:
    """For httpd's "could not bind to address HOST:PORT": which port, whose Listen line it
    is (the launcher's --port or one of the caller's snippet) and what to do; None when
    the message is about something else."""
    match = re.search(r"could not bind to address \S*?:(\d+)", message)
    if match is None and "Address already in use" not in message:
        return None
    busy = int(match.group(1)) if match else port
    refused = "Permission denied" in message
    if busy == port:
        if refused:
            return f"port {port} needs privileges this user lacks: use a port above 1023 " \
                   "with --port"
        return f"port {port} is taken: choose another with --port"
    where = next((f"{snippet_name} line {number}: {line!r}"
                  for number, line, listen_port in _listen_lines(_snippet_lines(config))
                  if listen_port == busy), f"a Listen line of {snippet_name}")
    reason = "needs privileges this user lacks" if refused else "is taken by another program"
    return f"port {busy} ({where}) {reason}: change or remove that Listen line"


ROOT_PREFIX = "mod_python-serve-"
OWNER_FILE = "launcher.pid"  # in a temporary server root while the launcher using it runs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:  # a zombie (its parent, the killed launcher, never reaped it) is gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _pid_in(path: Path) -> Optional[int]:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def sweep_abandoned_roots(temp_dir: Path, httpd_pid_file: Path) -> list[Path]:
    """Removes this user's temporary server roots whose launcher is gone without cleaning
    up (``kill -9``), so they do not pile up. A root kept on purpose (``--keep-root``, or
    after a start-up error) has no owner file and stays."""
    removed = []
    for candidate in Path(temp_dir).glob(ROOT_PREFIX + "*"):
        try:
            if candidate.is_symlink() or candidate.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        owner = _pid_in(candidate / OWNER_FILE)
        if owner is None or _alive(owner):
            continue
        httpd = _pid_in(candidate / httpd_pid_file)
        if httpd is not None and _alive(httpd):
            continue  # its httpd still serves from it
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


def serve(lib: Any, args: argparse.Namespace) -> int:
    """``launcher serve``: ``lib`` is the launcher module (this file is loaded beside it)."""
    module = Path(args.module)
    if not module.is_file():
        print(f"error: {module} does not exist (run `make build` first)", file=sys.stderr)
        return 2
    own_root = args.root is None
    if own_root:
        sweep_abandoned_roots(Path(tempfile.gettempdir()), lib.PID_FILE)
    root = Path(args.root or tempfile.mkdtemp(prefix=ROOT_PREFIX)).resolve()
    keep_root = bool(args.keep_root)
    if own_root and not keep_root:
        (root / OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        try:
            config, user = build_config(lib, args, root)
        except (lib.ApacheError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        lib.prepare_root(root, user)
        warn_unreadable(Path(args.app_dir).resolve(), user)
        server = lib.ApacheInstance(root, config, args.port, die_with_parent=True,
                                preload=getattr(args, "preload", None),
                                pass_sanitizer_env=bool(getattr(args, "preload", None)))
        signals: list[int] = []

        def note(signum: int, _frame: object) -> None:
            signals.append(signum)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, note)
        had_terminal = _has_terminal()
        try:
            server.start()
        except lib.ApacheError as exc:
            print(f"error: {explain_config_lines(str(exc), config, _snippet_name(args))}",
                  file=sys.stderr)
            hint = bind_failure_hint(str(exc), args.port, config, _snippet_name(args))
            if hint is not None:
                print(f"({hint})", file=sys.stderr)
            elif own_root:
                keep_root = True  # the error names files in it
                print(f"(server root kept for inspection: {root})", file=sys.stderr)
            return 1
        app_dir = Path(args.app_dir).resolve()
        _say(f"mod_python: serving {app_dir} at {server.url('/')}  (Ctrl-C to stop)")
        _say(f"server root: {root}\nerror log:   {server.error_log_path}")
        watcher = None
        if args.reload:
            sources = [app_dir] + ([Path(args.config_snippet)] if args.config_snippet else [])
            watcher = TreeWatcher(sources, excluded=[root])
            _say("reloading on changes to the application's files "
                  f"({len(watcher.snapshot)} watched; --no-reload to turn off)")
            if watcher.truncated:
                _say("warning: only the first files are watched; use --no-reload and "
                      f"kill -HUP {os.getpid()} instead", file=sys.stderr)
        _say(f"kill -HUP {os.getpid()} reloads by hand (configuration included)", flush=True)
        followers = [LogFollower(server.error_log_path), LogFollower(root / lib.ACCESS_LOG)]
        for follower in followers:
            follower.new_text()  # start-up lines were shown above or are in the file
        next_scan = time.monotonic() + 1.0
        while server.is_running():
            if args.log_to_terminal:
                try:
                    for follower in followers:
                        sys.stderr.write(follower.new_text())
                    sys.stderr.flush()
                except OSError:
                    pass  # a closed terminal: its SIGHUP is handled below
            reason = None
            if signals and signals[-1] == signal.SIGHUP and had_terminal and \
                    not _has_terminal():
                _silence_output()
                break  # the terminal was closed: stop, as a foreground program does
            if signals and signals[-1] == signal.SIGHUP:
                signals.clear()
                reason = "SIGHUP"
            elif signals:
                break
            elif watcher is not None and time.monotonic() >= next_scan:
                changed = watcher.changed()
                next_scan = time.monotonic() + 1.0
                if changed is not None:
                    reason = f"{changed} changed"
            if reason is not None and not _reload(lib, args, root, server, reason):
                break
            if reason is not None:
                continue
            time.sleep(0.2)
        if server.is_running():
            try:
                print("stopping Apache ...", file=sys.stderr)
            except OSError:
                pass  # the terminal is gone
            server.stop(timeout=3.0)  # a development server stops now, not after httpd's wait
            return 0
        server.stop()  # its children outlive a parent that was killed: take them down too
        print(f"apache2 exited with status {server.process.returncode if server.process else '?'}",
              file=sys.stderr)
        print(server.error_log()[-4000:], file=sys.stderr)
        return 1
    finally:
        if own_root and not keep_root:
            shutil.rmtree(root, ignore_errors=True)
        elif own_root:
            (root / OWNER_FILE).unlink(missing_ok=True)  # kept on purpose: never swept
