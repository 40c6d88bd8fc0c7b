"""Run Debian's Apache httpd with mod_python from a self-contained server root.

Renders an ``httpd.conf`` that never reads ``/etc/apache2`` (modules by absolute
path, logs, pid file and runtime dir inside the root), starts ``apache2`` in the
foreground as a child process, waits until it accepts connections and stops it by
PID.  Used by ``make serve`` and by the integration tests; pure standard library,
importable without Apache.

    python3 -m mod_python.launcher serve --app-dir examples --port 8000
    python3 -m mod_python.launcher config --app-dir examples --port 8000
"""

from __future__ import annotations

import argparse
import ctypes
import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

__all__ = [
    "HTTPD",
    "MPMS",
    "ApacheError",
    "ApacheInstance",
    "free_port",
    "module_dir",
    "default_module_path",
    "prepare_root",
    "render_config",
    "server_user",
    "main",
]

HTTPD = Path("/usr/sbin/apache2")
MPMS = ("event", "worker", "prefork")
FALLBACK_MODULE_DIR = Path("/usr/lib/apache2/modules")
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# Variables a sanitizer run needs in the server's environment.
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")

# Modules every generated server loads, in load order (mod_log_config is built in).
BASE_MODULES = (
    "authz_core",
    "authn_core",
    "authn_file",
    "auth_basic",
    "authz_user",
    "mime",
    "dir",
    "alias",
)

# Small MPM sizing that still allows some concurrency on a 2-core box.
DEFAULT_MPM_SETTINGS: Mapping[str, Mapping[str, int]] = {
    "event": {
        "StartServers": 1,
        "ServerLimit": 2,
        "ThreadLimit": 16,
        "ThreadsPerChild": 16,
        "MinSpareThreads": 4,
        "MaxSpareThreads": 32,
        "MaxRequestWorkers": 32,
        "MaxConnectionsPerChild": 0,
    },
    "worker": {
        "StartServers": 1,
        "ServerLimit": 2,
        "ThreadLimit": 16,
        "ThreadsPerChild": 16,
        "MinSpareThreads": 4,
        "MaxSpareThreads": 32,
        "MaxRequestWorkers": 32,
        "MaxConnectionsPerChild": 0,
    },
    "prefork": {
        "StartServers": 2,
        "MinSpareServers": 1,
        "MaxSpareServers": 4,
        "ServerLimit": 8,
        "MaxRequestWorkers": 8,
        "MaxConnectionsPerChild": 0,
    },
}

# Layout of a server root (relative paths).
CONF_FILE = Path("conf/httpd.conf")
LOGS_DIR = Path("logs")
RUN_DIR = Path("run")
HTDOCS_DIR = Path("htdocs")
ERROR_LOG = LOGS_DIR / "error.log"
ACCESS_LOG = LOGS_DIR / "access.log"
PID_FILE = RUN_DIR / "httpd.pid"


class ApacheError(RuntimeError):
    """Apache could not be started or stopped as asked."""


# --------------------------------------------------------------------------- paths


def module_dir() -> Path:
    """Apache's module directory as reported by ``apxs -q LIBEXECDIR``."""
    for apxs in ("/usr/bin/apxs", "/usr/bin/apxs2"):
        if not os.access(apxs, os.X_OK):
            continue
        try:
            out = subprocess.run(
                [apxs, "-q", "LIBEXECDIR"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if out and Path(out).is_dir():
            return Path(out)
    return FALLBACK_MODULE_DIR


def default_module_path() -> Path:
    """mod_python.so to load: $MP_MODULE_SO, the build of the source tree this file belongs
    to, or the installed module (LIBEXECDIR of the version.py beside this file)."""
    env = os.environ.get("MP_MODULE_SO")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    built = here.parents[2] / "build" / "mod_python.so"
    if built.is_file():
        return built
    try:
        facts = here.with_name("version.py").read_text(encoding="utf-8")
    except OSError:
        facts = ""
    match = re.search(r'^LIBEXECDIR = "([^"]+)"', facts, re.M)
    return Path(match.group(1) if match else FALLBACK_MODULE_DIR) / "mod_python.so"


def server_user() -> Optional[tuple[str, str]]:
    """(user, group) children run as: www-data when started as root, else None."""
    if os.geteuid() != 0:
        return None
    for user, group in (("www-data", "www-data"), ("nobody", "nogroup")):
        try:
            pwd.getpwnam(user)
            grp.getgrnam(group)
        except KeyError:
            continue
        return user, group
    raise ApacheError("running as root but neither www-data nor nobody exists")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quote(path: Path | str) -> str:
    text = str(path)
    if '"' in text or "\n" in text:
        raise ValueError(f"path not usable in httpd.conf: {text!r}")
    return f'"{text}"'


def _regex_path(path: Path | str) -> str:
    """``path`` as a literal inside a quoted regular expression of httpd.conf."""
    _quote(path)  # the same characters are refused
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", str(path))


# ------------------------------------------------------------------------- config


def render_config(
    root: Path,
    port: int,
    module_path: Path,
    mpm: str = "event",
    snippet: str = "",
    log_level: str = "warn",
    extra_modules: Iterable[str] = (),
    document_root: Optional[Path] = None,
    *,
    user: Optional[tuple[str, str]] = None,
    server_name: str = "127.0.0.1",
    mpm_settings: Optional[Mapping[str, int]] = None,
    deny_source: bool = True,
    modules_dir: Optional[Path] = None,
    access_log: bool = False,
    published_py: bool = False,  # noqa: ARG001 (kept for callers; .py URLs always work now)
) -> str:
    """Return a complete, self-contained httpd.conf.

    ``extra_modules`` are module names (``"headers"`` loads ``mod_headers.so``
    from the module directory) or absolute paths of ``.so`` files.  ``user`` is
    the (user, group) the children run as; it is only needed when Apache is
    started as root (see :func:`server_user`).  ``mpm_settings`` overrides the
    small default sizing of the chosen MPM key by key.
    """
    if mpm not in MPMS:
        raise ValueError(f"unknown MPM {mpm!r}; choose one of {', '.join(MPMS)}")
    root = Path(root).resolve()
    moddir = Path(modules_dir) if modules_dir else module_dir()
    docroot = Path(document_root).resolve() if document_root else root / HTDOCS_DIR
    mime_types = Path("/etc/mime.types")
    types_config = mime_types if mime_types.is_file() else root / "conf" / "mime.types"

    settings = dict(DEFAULT_MPM_SETTINGS[mpm])
    settings.update(mpm_settings or {})

    lines: list[str] = [
        "# Generated by mod_python.launcher: self-contained, never reads /etc/apache2.",
        f"ServerRoot {_quote(root)}",
        f"ServerName {server_name}",
        f"Listen 127.0.0.1:{int(port)}",
        f"PidFile {_quote(root / PID_FILE)}",
        f"DefaultRuntimeDir {_quote(root / RUN_DIR)}",
        f"ErrorLog {_quote(root / ERROR_LOG)}",
        f"LogLevel {log_level}",
        *([f'CustomLog {_quote(root / ACCESS_LOG)} "%h \\"%r\\" %>s %b %{{ms}}Tms"']
          if access_log else []),
        "ServerTokens Full",
        "HostnameLookups Off",
        "",
    ]
    if user is not None:
        lines += [f"User {user[0]}", f"Group {user[1]}", ""]

    lines.append(f"LoadModule mpm_{mpm}_module {_quote(moddir / f'mod_mpm_{mpm}.so')}")
    for name in BASE_MODULES:
        lines.append(f"LoadModule {name}_module {_quote(moddir / f'mod_{name}.so')}")
    for extra in extra_modules:
        path = Path(extra) if os.path.isabs(extra) else moddir / f"mod_{extra}.so"
        name = path.stem[4:] if path.stem.startswith("mod_") else path.stem
        lines.append(f"LoadModule {name}_module {_quote(path)}")
    lines.append(f"LoadModule python_module {_quote(Path(module_path).resolve())}")
    lines.append("")

    lines.append(f"TypesConfig {_quote(types_config)}")
    lines.append("DirectoryIndex index.html")
    lines.append("")
    lines.append(f"# MPM sizing ({mpm})")
    lines += [f"{key} {value}" for key, value in settings.items()]
    lines += [
        "KeepAlive On",
        "KeepAliveTimeout 5",
        "MaxKeepAliveRequests 0",
        "Timeout 30",
        "",
        f"DocumentRoot {_quote(docroot)}",
        "<Directory />",
        "    AllowOverride None",
        "    Require all denied",
        "</Directory>",
        f"<Directory {_quote(docroot)}>",
        "    AllowOverride None",
        "    Options FollowSymLinks",
        "    Require all granted",
        "</Directory>",
    ]
    if deny_source:
        lines += [
            "# Never send Python source, byte code, WSGI scripts or PSP pages as static files;",
            "# the handlers that run them (WSGIScriptAlias, AddHandler mod_python .py) still do.",
            "PythonDenyStaticSource On",
            '<DirectoryMatch "/__pycache__(/|$)">',
            "    Require all denied",
            "</DirectoryMatch>",
            "# Nor what hides in an application directory: dot-directories (.git, .venv, .ssh),",
            "# dot-files (.env), databases, editor backups, keys and the launcher's site.conf.",
            f'<DirectoryMatch "^{_regex_path(docroot)}/(.+/)?\\.">',
            "    Require all denied",
            "</DirectoryMatch>",
            '<FilesMatch "^(\\.|site\\.conf$)|~$|\\.(sqlite3?|db|bak|orig|swp|swo|pyi|pyx|pxd'
            '|pem|key)$">',
            "    Require all denied",
            "</FilesMatch>",
        ]
    lines += ["", "# ---- caller-supplied configuration ----", snippet.rstrip("\n"), ""]
    return "\n".join(lines)


def prepare_root(root: Path, user: Optional[tuple[str, str]] = None) -> Path:
    """Create the directories of a server root; return the (resolved) root.

    When children run as another user (Apache started as root), the root and
    its ancestors are made traversable and readable for them, and the runtime
    directory is handed to that user (file-based mutexes are reopened there).
    """
    root = Path(root).resolve()
    for sub in (CONF_FILE.parent, LOGS_DIR, RUN_DIR, HTDOCS_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if not Path("/etc/mime.types").is_file():
        (root / "conf" / "mime.types").touch()
    if user is not None:
        make_accessible(root)
        pw = pwd.getpwnam(user[0])
        gr = grp.getgrnam(user[1])
        os.chown(root / RUN_DIR, pw.pw_uid, gr.gr_gid)
    return root


def make_accessible(root: Path) -> None:
    """Let other users traverse ``root``'s ancestors and read everything below it."""
    root = Path(root).resolve()
    for parent in reversed(root.parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, (mode & 0o7777) | 0o001)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, (os.stat(dirpath).st_mode & 0o7777) | 0o055)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, (os.stat(path).st_mode & 0o7777) | 0o044)


# ----------------------------------------------------------------------- process


def _proc_children(pid: int) -> list[int]:
    """Direct children of ``pid`` found through /proc."""
    children: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            children.append(int(entry))
    return children


def _proc_start_time(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()
    return int(fields[19]) if len(fields) > 19 else None


def _descendants(pid: int) -> dict[int, Optional[int]]:
    """All descendants of ``pid`` mapped to their start time (guards PID reuse)."""
    found: dict[int, Optional[int]] = {}
    todo = [pid]
    while todo:
        for child in _proc_children(todo.pop()):
            if child not in found:
                found[child] = _proc_start_time(child)
                todo.append(child)
    return found


def _set_parent_death_signal() -> None:
    """In the forked child: get SIGTERM if the launching thread dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _kill_orphaned_group(group: int) -> None:
    """SIGKILL what is left of the process group of an httpd parent that has died (it was
    started as a session leader): its children get no shutdown signal any more and would keep
    serving the port. Linux reuses no PID while a process group still carries it, so only
    httpd's own processes can be hit."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ApacheInstance:
    """One ``apache2 -DFOREGROUND`` process owned by this Python process."""

    def __init__(
        self,
        root: Path,
        config: str,
        port: Optional[int] = None,
        *,
        httpd: Path = HTTPD,
        preload: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        pass_sanitizer_env: bool = False,
        die_with_parent: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.config = config
        if port is None:
            match = re.search(r"^\s*Listen\s+(?:[\d.]+:)?(\d+)\s*$", config, re.M)
            if not match:
                raise ValueError("config has no Listen line and no port was given")
            port = int(match.group(1))
        self.port = int(port)
        self.httpd = Path(httpd)
        self.preload = preload
        self.extra_env = dict(env or {})
        self.pass_sanitizer_env = pass_sanitizer_env
        self.die_with_parent = die_with_parent
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.returncode: Optional[int] = None

    # -- paths and text

    @property
    def conf_path(self) -> Path:
        return self.root / CONF_FILE

    @property
    def error_log_path(self) -> Path:
        return self.root / ERROR_LOG

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    def url(self, path: str = "/") -> str:
        if not path.startswith("/"):
            path = "/" + path
        return f"http://127.0.0.1:{self.port}{path}"

    def error_log(self) -> str:
        """Current text of the error log (invalid bytes shown as escapes)."""
        try:
            return self.error_log_path.read_bytes().decode("utf-8", "backslashreplace")
        except FileNotFoundError:
            return ""

    def environment(self) -> dict[str, str]:
        """The clean environment Apache runs with."""
        env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}
        if self.preload:
            env["LD_PRELOAD"] = self.preload
        if self.pass_sanitizer_env:
            for name in SANITIZER_VARS:
                if name in os.environ:
                    env[name] = os.environ[name]
        env.update(self.extra_env)
        for name in list(env):
            if name.startswith("PYTHON"):
                del env[name]
        return env

    def command(self) -> list[str]:
        return [str(self.httpd), "-f", str(self.conf_path), "-d", str(self.root), "-DFOREGROUND"]

    # -- lifecycle

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 20.0) -> None:
        """Write the config, spawn Apache and wait until it accepts connections."""
        if self.is_running():
            raise ApacheError("already running")
        self.conf_path.parent.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config, encoding="utf-8")
        pid_file = self.root / PID_FILE
        pid_file.unlink(missing_ok=True)
        self.returncode = None
        (self.root / LOGS_DIR).mkdir(parents=True, exist_ok=True)
        with open(self.root / LOGS_DIR / "stdout.log", "ab") as output:
            self.process = subprocess.Popen(
                self.command(),
                cwd=str(self.root),
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_set_parent_death_signal if self.die_with_parent else None,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        pid_file = self.root / PID_FILE
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise ApacheError(
                    f"apache2 exited with status {code} during startup\n"
                    + self.startup_output()
                )
            if self._pid_file_is_ours(pid_file) and self._accepts():
                return
            if time.monotonic() > deadline:
                raise ApacheError(
                    f"apache2 not ready on port {self.port} after {timeout} s\n"
                    + self.startup_output()
                )
            time.sleep(0.02)

    def _pid_file_is_ours(self, pid_file: Path) -> bool:
        try:
            return int(pid_file.read_text().strip()) == self.pid
        except (OSError, ValueError):
            return False

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def startup_output(self) -> str:
        """stdout/stderr of apache2 plus the error log, for error messages."""
        out = ""
        try:
            out = (self.root / LOGS_DIR / "stdout.log").read_text(errors="replace")
        except OSError:
            pass
        return out + self.error_log()

    def reconfigure(self, config: str) -> Optional[str]:
        """Check ``config`` with ``httpd -t``; if it is valid, make it the configuration the
        next (graceful) restart reads and return None, otherwise return httpd's complaint
        and keep the current one (a restart with a broken configuration stops httpd)."""
        candidate = self.conf_path.with_name(self.conf_path.name + ".new")
        candidate.write_text(config, encoding="utf-8")
        try:
            done = subprocess.run(
                [str(self.httpd), "-t", "-f", str(candidate), "-d", str(self.root)],
                env=self.environment(), capture_output=True, text=True, timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            candidate.unlink(missing_ok=True)
            return str(exc)
        if done.returncode != 0:
            candidate.unlink(missing_ok=True)
            return (done.stderr or done.stdout).strip()
        os.replace(candidate, self.conf_path)
        self.config = config
        return None

    def graceful_restart(self, timeout: float = 20.0) -> None:
        """SIGUSR1; return once the new generation announced itself in the log."""
        if not self.is_running():
            raise ApacheError("not running")
        assert self.process is not None
        marker = "resuming normal operations"
        log = self.error_log()
        before, start = log.count(marker), len(log)
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while self.error_log().count(marker) <= before:
            # only what this restart logged: the whole log would bury the reason
            if self.process.poll() is not None:
                raise ApacheError("apache2 exited during graceful restart\n"
                                  + self.error_log()[start:])
            if time.monotonic() > deadline:
                raise ApacheError("graceful restart did not complete\n"
                                  + self.error_log()[start:])
            time.sleep(0.02)
        while not self._accepts():
            if time.monotonic() > deadline:
                raise ApacheError("not accepting after graceful restart")
            time.sleep(0.02)

    def stop(self, timeout: float = 15.0, graceful_timeout: float = 0.0) -> Optional[int]:
        """SIGTERM the parent (after a graceful stop, SIGWINCH, when `graceful_timeout` > 0),
        wait, then SIGKILL it and whatever children remain.

        Note: httpd 2.4's event MPM occasionally segfaults a child when SIGTERM races its
        shutdown (seen here with no third-party module loaded at all).
        Returns the parent's exit status (None if it was never started).
        """
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is not None:
            self.returncode = proc.returncode
            _kill_orphaned_group(proc.pid)
            return self.returncode
        family = _descendants(proc.pid)
        self.stop_started = time.time()
        try:
            if graceful_timeout > 0:
                proc.send_signal(signal.SIGWINCH)
                proc.wait(graceful_timeout)
            else:
                proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            family.update(_descendants(proc.pid))
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            proc.wait()
        for pid, started in family.items():
            if started is not None and _proc_start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.returncode = proc.returncode
        return self.returncode

    def __enter__(self) -> "ApacheInstance":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- CLI


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace ``@NAME@`` placeholders."""
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def python_literal_in_conf(text: str) -> str:
    r"""``text`` as a Python string literal, written for the inside of a double-quoted httpd
    argument (``PythonPath "sys.path + [@APP_DIR_PY@]"``): httpd turns ``\`` into ``\`` and
    ``"`` into ``"`` there, so backslashes are doubled once more and quotes escaped."""
    literal = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return literal.replace("\\", "\\\\").replace('"', '\\"')


def _cmd_config(args: argparse.Namespace) -> int:
    root = Path(args.root or tempfile.gettempdir() + "/mod_python-root").resolve()
    try:
        config, _ = _devserver().build_config(sys.modules[__name__], args, root)
    except (ApacheError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(config)
    return 0


def _devserver():
    """mod_python/devserver.py beside this file (this file is also loaded by path, where
    ``mod_python`` may name another installation)."""
    import importlib.util

    path = Path(__file__).resolve().with_name("devserver.py")
    spec = importlib.util.spec_from_file_location("_mod_python_devserver", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m mod_python.launcher",
        description="Run Apache httpd with mod_python from a generated, self-contained root.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run Apache in the foreground until Ctrl-C"),
        ("config", "print the generated httpd.conf"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--app-dir", required=True, type=Path,
                         help="application directory (its site.conf is the default snippet)")
        cmd.add_argument("--port", type=_port, default=8000)
        cmd.add_argument("--mpm", choices=MPMS, default="event")
        cmd.add_argument("--config-snippet", type=Path, default=None,
                         help="file appended to the config (@APP_DIR@, @ROOT@, @PORT@ replaced; "
                              "@APP_DIR_PY@: the app dir as a Python string literal)")
        cmd.add_argument("--root", type=Path, default=None,
                         help="server root (default: a new temporary directory)")
        cmd.add_argument("--module", type=Path, default=default_module_path(),
                         help="mod_python.so to load (default: %(default)s)")
        cmd.add_argument("--document-root", type=Path, default=None,
                         help="DocumentRoot (default: the app dir)")
        cmd.add_argument("--log-level", default="warn")
        cmd.add_argument("--load-module", action="append", default=[], metavar="NAME",
                         help="also load mod_NAME.so (headers, rewrite, ...) or a .so path; "
                              "repeatable")
        cmd.add_argument("--preload", default=None,
                         help="library to LD_PRELOAD into apache2 (e.g. libasan for a "
                              "sanitizer build of the module)")
        cmd.add_argument("--keep-root", action="store_true",
                         help="do not delete the temporary root on exit")
        if name == "serve":
            cmd.add_argument("--reload", action=argparse.BooleanOptionalAction, default=True,
                             help="graceful restart when a file of the app dir changes "
                                  "(code, site.conf, templates); default: on")
            cmd.add_argument("--log-to-terminal", action=argparse.BooleanOptionalAction,
                             default=True, help="copy the error log and an access log to stderr as they grow")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _devserver().serve(sys.modules[__name__], args)
    return _cmd_config(args)


if __name__ == "__main__":
    sys.exit(main())
