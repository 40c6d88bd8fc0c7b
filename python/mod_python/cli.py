"""The ``mod_python`` command: create, configure, start and stop a server instance.

    mod_python create DIR [--listen [HOST:]PORT] [--pythonhandler H]
                          [--pythonpath a:b] [--pythonoption "k v"]...
    mod_python genconfig DIR|SCRIPT     print the generated httpd.conf
    mod_python start DIR|CONF           httpd -f CONF -k start
    mod_python stop DIR|CONF            httpd -f CONF -k graceful-stop
    mod_python restart DIR|CONF         httpd -f CONF -k graceful
    mod_python version                  versions and paths

An instance directory holds ``conf/httpd_conf.py`` (a Python script printing the
config; edit it to change the server), ``conf/httpd.conf`` (its output, rewritten
by ``start`` and ``restart`` once ``httpd -t`` accepts it), ``htdocs/``, ``logs/``
and ``run/``.  The config is self-contained (ServerRoot, PidFile, DefaultRuntimeDir,
ErrorLog and modules by absolute path; ``User``/``Group`` only when generated as
root), so httpd needs none of Debian's ``/etc/apache2/envvars`` and works for a
non-root user on a high port as well as for root.  httpd finds the running server
for ``-k graceful-stop`` / ``-k graceful`` through the PidFile.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from mod_python import httpdconf, launcher

SCRIPT_NAME = "httpd_conf.py"
CONF_NAME = "httpd.conf"
HTDOCS = "htdocs"
READY_MARKER = "resuming normal operations"
# An error-log entry at a level after which httpd exits (e.g. "could not bind").
_FATAL = re.compile(r"^\[[^]]*\] \[[\w:]*(?:emerg|alert)\]", re.M)


class CLIError(Exception):
    """A user-facing failure (message printed, exit status 1)."""


# ------------------------------------------------------------------ instance dirs


def instance_root(target: Path | str) -> Path:
    """The instance directory for DIR, DIR/conf/httpd.conf or DIR/conf/httpd_conf.py."""
    path = Path(target).resolve()
    if path.is_file():
        return path.parent.parent
    return path


def generate_config(root: Path) -> str:
    """Run ``conf/httpd_conf.py`` and return its output (the httpd.conf text)."""
    script = root / "conf" / SCRIPT_NAME
    if not script.is_file():
        raise CLIError(f"{script} not found (create the instance with `mod_python create`)")
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable or "/usr/bin/python3", str(script)],
        capture_output=True, text=True, env=env, cwd=str(root), timeout=60,
    )
    if result.returncode != 0:
        raise CLIError(f"{script} failed (status {result.returncode}):\n{result.stderr}")
    return result.stdout


def _directive(text: str, name: str) -> Optional[str]:
    """The (unquoted) argument of the last top-level-looking ``name`` line of a config."""
    found = None
    for match in re.finditer(rf'^[ \t]*{name}[ \t]+(?:"([^"\n]*)"|(\S+))', text, re.M | re.I):
        found = match.group(1) if match.group(1) is not None else match.group(2)
    return found


@dataclass
class Instance:
    """What the command acts on: a config file, the server root it names, and the
    generator script when the config belongs to a `mod_python create` instance."""

    conf: Path
    root: Path
    script: Optional[Path]

    def _text(self) -> str:
        try:
            return self.conf.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _in_root(self, value: Optional[str], default: Path) -> Path:
        if not value:
            return self.root / default
        return self.root / value  # an absolute value replaces the root

    @property
    def pid_file(self) -> Path:
        return self._in_root(_directive(self._text(), "PidFile"), launcher.PID_FILE)

    @property
    def error_log(self) -> Optional[Path]:
        value = _directive(self._text(), "ErrorLog")
        if value and (value.startswith("|") or value.startswith("syslog")):
            return None
        return self._in_root(value, launcher.ERROR_LOG)

    @property
    def port(self) -> Optional[int]:
        address = self.address
        return address[1] if address else None

    @property
    def address(self) -> Optional[tuple[str, int]]:
        """(host, port) to reach the first Listen line at (a wildcard means loopback)."""
        match = re.search(r"^\s*Listen\s+(\S+)", self._text(), re.M)
        if not match:
            return None
        host, _, digits = match.group(1).rpartition(":")
        if not digits.isdigit():
            return None
        host = host.strip("[]")
        if host in ("", "0.0.0.0", "*"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return host, int(digits)


def resolve_instance(target: Path | str) -> Instance:
    """DIR or DIR/conf/httpd_conf.py: a created instance (its config is regenerated).
    Any other file: an httpd.conf used as it is (root = its ServerRoot)."""
    path = Path(target).resolve()
    if path.is_dir():
        script = path / "conf" / SCRIPT_NAME
        if not script.is_file():
            raise CLIError(f"{path} is not a server instance: {script} not found "
                           "(create one with `mod_python create`)")
        return Instance(path / "conf" / CONF_NAME, path, script)
    if not path.is_file():
        raise CLIError(f"{path}: no such file or directory")
    if path.suffix == ".py":
        root = path.parent.parent
        return Instance(root / "conf" / CONF_NAME, root, path)
    script = path.parent / SCRIPT_NAME
    if path.name == CONF_NAME and script.is_file():
        return Instance(path, path.parent.parent, script)
    text = path.read_text(encoding="utf-8", errors="replace")
    server_root = _directive(text, "ServerRoot")
    if not (server_root and os.path.isabs(server_root)) or not _directive(text, "PidFile"):
        raise CLIError(f"{path} needs an absolute ServerRoot and a PidFile to be managed "
                       "by this command (or pass an instance directory)")
    return Instance(path, Path(server_root), None)


def read_pid(inst: Instance) -> Optional[int]:
    try:
        return int(inst.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _proc_state(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2:].split()[0].decode()


def is_alive(pid: int) -> bool:
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _is_httpd(pid: int) -> bool:
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            return False
        exe = cmd
    name = os.path.basename(exe.replace(" (deleted)", ""))
    return name in ("apache2", "httpd")


def running_pid(inst: Instance) -> Optional[int]:
    """The PID of the instance's running Apache parent (from its PidFile), or None."""
    pid = read_pid(inst)
    if pid is not None and is_alive(pid) and _is_httpd(pid):
        return pid
    return None


# -------------------------------------------------------------------------- httpd


def httpd_binary() -> Path:
    """The httpd to run: $MP_HTTPD, else the one mod_python was built for."""
    configured = os.environ.get("MP_HTTPD", "")
    if not configured:
        try:
            from mod_python import version as v

            configured = getattr(v, "HTTPD", "") or ""
        except ImportError:
            configured = ""
    path = Path(configured or launcher.HTTPD)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise CLIError(f"httpd not found: {path} is not an executable file "
                       "(install Apache, e.g. `apt-get install apache2`, or set MP_HTTPD)")
    return path


def run_httpd(inst: Instance, *args: str, conf: Optional[Path] = None,
              timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``httpd -f CONF ARGS`` in a clean environment (the config is self-contained,
    Debian's envvars are not needed).  ``-k start`` returns once the server detached."""
    command = [str(httpd_binary()), "-f", str(conf or inst.conf), *args]
    env = {"PATH": launcher.CLEAN_PATH, "LANG": "C.UTF-8"}
    try:
        return subprocess.run(command, cwd=str(inst.root), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CLIError(f"`{' '.join(command)}` did not return within {timeout:.0f} s") from exc
    except OSError as exc:
        raise CLIError(f"cannot run {command[0]}: {exc}") from exc


def _output(result: subprocess.CompletedProcess) -> str:
    return ((result.stdout or "") + (result.stderr or "")).strip()


def check_config(inst: Instance, conf: Optional[Path] = None) -> None:
    """``httpd -f CONF -t``; a failure is a CLIError showing httpd's output."""
    result = run_httpd(inst, "-t", conf=conf)
    if result.returncode != 0:
        raise CLIError(f"configuration test failed (`httpd -f {conf or inst.conf} -t`, "
                       f"status {result.returncode}):\n{_output(result)}")


def refresh_config(inst: Instance) -> None:
    """Regenerate a created instance's httpd.conf; it replaces the old file only once
    ``httpd -t`` accepts it (a running server keeps a config it can be stopped with)."""
    if inst.script is None:
        check_config(inst)
        return
    config = generate_config(inst.root)
    launcher.prepare_root(inst.root, launcher.server_user())
    candidate = inst.conf.with_name(inst.conf.name + ".new")
    rejected = inst.conf.with_name(inst.conf.name + ".rejected")
    candidate.write_text(config, encoding="utf-8")
    try:
        check_config(inst, candidate)
    except CLIError as exc:
        os.replace(candidate, rejected)
        raise CLIError(f"{exc}\n(the generated config is kept as {rejected}; "
                       f"{inst.conf} was not changed)") from None
    os.replace(candidate, inst.conf)
    rejected.unlink(missing_ok=True)


class _LogWatch:
    """Reads what the error log gained since it was created."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        try:
            self.start = path.stat().st_size if path else 0
        except OSError:
            self.start = 0

    def new_text(self, limit: int = 0) -> str:
        if self.path is None:
            return ""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.start)
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return text[-limit:] if limit else text

    def report(self) -> str:
        text = self.new_text(4000).strip()
        return f"\n{self.path}:\n{text}" if text else f"\n(nothing new in {self.path})"


def _accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------- subcommands


def cmd_create(args: argparse.Namespace) -> int:
    root = Path(args.dir).resolve()
    pythonpath = [p for part in args.pythonpath for p in part.split(":") if p]
    try:
        script = httpdconf.write_basic_config(
            root,
            listen=args.listen,
            htdocs=HTDOCS,
            pythonhandler=args.pythonhandler,
            pythonpath=pythonpath,
            pythonoptions=args.pythonoption,
            mp_comments=["Created by `mod_python create`."],
            replace_config=args.force,
            module_path=args.module,
            mpm=args.mpm,
        )
    except (FileExistsError, ValueError, OSError) as exc:
        raise CLIError(str(exc)) from exc
    launcher.prepare_root(root, launcher.server_user())
    config = generate_config(root)
    (root / "conf" / CONF_NAME).write_text(config, encoding="utf-8")
    me = "mod_python"
    where = shlex.quote(str(root))  # paste-able even with spaces in the path
    print(f"Created server instance in {root}")
    print(f"  config script: {script}")
    print(f"  config:        {root / 'conf' / CONF_NAME}")
    print(f"  documents:     {root / HTDOCS}")
    print("Next steps:")
    print(f"  {me} start {where}\n  {me} restart {where}\n  {me} stop {where}")
    return 0


def cmd_genconfig(args: argparse.Namespace) -> int:
    target = Path(args.src).resolve()
    if target.is_file() and target.suffix == ".py":
        result = subprocess.run([sys.executable or "/usr/bin/python3", str(target)],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise CLIError(f"{target} failed:\n{result.stderr}")
        sys.stdout.write(result.stdout)
        return 0
    sys.stdout.write(generate_config(instance_root(target)))
    return 0


def start_instance(inst: Instance, timeout: float = 30.0) -> int:
    """Refresh and test the config, ``httpd -k start``, wait until the PidFile names a
    live httpd that accepts connections; returns its PID."""
    pid = running_pid(inst)
    if pid is not None:
        raise CLIError(f"already running (PID {pid}, {inst.pid_file})")
    refresh_config(inst)
    inst.pid_file.unlink(missing_ok=True)  # stale: its PID is not a running httpd
    log = _LogWatch(inst.error_log)
    result = run_httpd(inst, "-k", "start")
    if result.returncode != 0:
        raise CLIError(f"httpd -k start failed (status {result.returncode}):\n"
                       f"{_output(result)}{log.report()}")
    address = inst.address
    deadline = time.monotonic() + timeout
    while True:
        pid = read_pid(inst)
        if pid is not None and not is_alive(pid):
            raise CLIError(f"httpd (PID {pid}) exited during start-up{log.report()}")
        if pid is not None and (address is None or _accepts(address)):
            return pid
        if pid is None and _FATAL.search(log.new_text()):
            raise CLIError(f"httpd did not start{log.report()}")  # e.g. port in use
        if time.monotonic() > deadline:
            raise CLIError(f"httpd not ready after {timeout:.0f} s (PidFile {inst.pid_file})"
                           f"{log.report()}")
        time.sleep(0.05)


def cmd_start(args: argparse.Namespace) -> int:
    inst = resolve_instance(args.dir)
    pid = start_instance(inst, args.timeout)
    print(f"started (PID {pid}), error log: {inst.error_log}")
    url = _first_url(inst)
    if url:
        print(f"serving {url}")
    return 0


def _first_url(inst: Instance) -> Optional[str]:
    """http://host:port/ of the config's first Listen line (a wildcard shown as loopback)."""
    address = inst.address
    if address is None:
        return None
    host, port = address
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_instance(inst: Instance, timeout: float = 30.0) -> Optional[int]:
    """``httpd -k graceful-stop`` (in-flight requests finish), wait for the parent and
    its children to exit; after ``timeout`` s escalate to ``-k stop``.  Returns the PID
    that was stopped, None if the instance was not running."""
    pid = running_pid(inst)
    if pid is None:
        if read_pid(inst) is not None:
            inst.pid_file.unlink(missing_ok=True)  # stale
        return None
    family = launcher._descendants(pid)
    started = launcher._proc_start_time(pid)
    log = _LogWatch(inst.error_log)
    result = run_httpd(inst, "-k", "graceful-stop")
    if result.returncode != 0:
        raise CLIError(f"httpd -k graceful-stop failed (status {result.returncode}); "
                       f"the server (PID {pid}) is still running:\n{_output(result)}")
    if not _wait_gone(pid, timeout):
        # httpd removes its PidFile as a graceful stop begins, so `-k stop` would not
        # find the server any more: send its SIGTERM to the PID read before.
        print(f"mod_python: graceful stop did not finish within {timeout:.0f} s; "
              f"sending SIGTERM to PID {pid} (as httpd -k stop)", file=sys.stderr)
        if launcher._proc_start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        # httpd gives stuck children about 10 s (SIGTERM thrice, then SIGKILL).
        if not _wait_gone(pid, 30.0):
            raise CLIError(f"httpd (PID {pid}) did not exit{log.report()}")
    # The parent waits for its children; anything left (same PID and start time) is a
    # stuck child of this server.
    leftovers = {p: t for p, t in family.items()
                 if t is not None and launcher._proc_start_time(p) == t and is_alive(p)}
    deadline = time.monotonic() + 5
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.05)
        leftovers = {p: t for p, t in leftovers.items()
                     if launcher._proc_start_time(p) == t and is_alive(p)}
    for child in leftovers:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if leftovers:
        print(f"mod_python: killed leftover children {sorted(leftovers)}", file=sys.stderr)
    inst.pid_file.unlink(missing_ok=True)
    return pid


def cmd_stop(args: argparse.Namespace) -> int:
    inst = resolve_instance(args.dir)
    pid = stop_instance(inst, args.timeout)
    print("not running" if pid is None else f"stopped (PID {pid})")
    return 0


def restart_instance(inst: Instance, timeout: float = 30.0) -> int:
    """Refresh and test the config, ``httpd -k graceful``, wait for the new generation."""
    pid = running_pid(inst)
    if pid is None:
        raise CLIError("not running")
    refresh_config(inst)
    log = _LogWatch(inst.error_log)
    result = run_httpd(inst, "-k", "graceful")
    if result.returncode != 0:
        raise CLIError(f"httpd -k graceful failed (status {result.returncode}):\n"
                       f"{_output(result)}{log.report()}")
    if inst.error_log is None:
        return pid  # no file to see the new generation in
    deadline = time.monotonic() + timeout
    while READY_MARKER not in log.new_text():
        if not is_alive(pid):
            raise CLIError(f"httpd exited during the graceful restart{log.report()}")
        if time.monotonic() > deadline:
            raise CLIError(f"graceful restart did not complete in {timeout:.0f} s"
                           f"{log.report()}")
        time.sleep(0.05)
    return pid


def cmd_restart(args: argparse.Namespace) -> int:
    inst = resolve_instance(args.dir)
    pid = restart_instance(inst, args.timeout)
    print(f"restarted gracefully (PID {pid})")
    return 0


def httpd_info(httpd: Path) -> dict:
    """``Server version`` and the loaded APR / APR-util versions from ``httpd -V``."""
    info = {"httpd": "unknown", "apr": "unknown", "apr_util": "unknown"}
    try:
        # -f /dev/null: never read /etc/apache2 (its envvars are not set here).
        out = subprocess.run([str(httpd), "-V", "-f", "/dev/null"], capture_output=True,
                             text=True, errors="replace", timeout=10,
                             env={"PATH": launcher.CLEAN_PATH, "LANG": "C"}).stdout
    except (OSError, subprocess.SubprocessError):
        return info
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key == "Server version":
            info["httpd"] = value.strip()
        elif key == "Server loaded":
            for item in value.split(","):
                name, _, ver = item.strip().partition(" ")
                if name == "APR":
                    info["apr"] = ver
                elif name == "APR-UTIL":
                    info["apr_util"] = ver
    return info


def cmd_version(args: argparse.Namespace) -> int:
    try:
        from mod_python import version as v
    except ImportError:
        v = None  # type: ignore[assignment]
    mp = getattr(v, "version", "unconfigured")
    try:
        httpd = httpd_binary()
        info = httpd_info(httpd)
    except CLIError as exc:
        httpd, info = Path(getattr(v, "HTTPD", "") or launcher.HTTPD), {}
        print(f"mod_python: warning: {exc}", file=sys.stderr)
    print(f"mod_python:   {mp}")
    print(f"  package:    {Path(__file__).resolve().parent}")
    print(f"  module:     {httpdconf.default_module_path()}")
    print(f"Python:       {sys.version.split()[0]} ({sys.executable})")
    print(f"  built for:  {getattr(v, 'PYTHON_BIN', '') or 'unknown'}")
    print(f"httpd:        {info.get('httpd', 'not found')}")
    print(f"  binary:     {httpd}")
    print(f"  modules:    {getattr(v, 'LIBEXECDIR', '') or launcher.module_dir()}")
    print(f"  sysconfdir: {getattr(v, 'SYSCONFDIR', '') or 'unknown'}")
    print(f"APR:          {info.get('apr', 'unknown')} "
          f"(APR-util {info.get('apr_util', 'unknown')})")
    print(f"Platform:     {platform.platform()}")
    return 0

# ------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mod_python", description="Create and run self-contained mod_python server instances."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = sub.add_parser("create", help="create a server instance directory")
    create.add_argument("dir", type=Path)
    create.add_argument("--listen", default="127.0.0.1:8888",
                        help="[HOST:]PORT to listen on (default: %(default)s)")
    create.add_argument("--pythonhandler", default="mod_python.publisher",
                        help="PythonHandler for the document root (default: %(default)s)")
    create.add_argument("--pythonpath", action="append", default=[],
                        help="directories (colon separated, repeatable) added to sys.path")
    create.add_argument("--pythonoption", action="append", default=[],
                        help='a PythonOption "key value" (repeatable)')
    create.add_argument("--module", type=Path, default=None,
                        help="mod_python.so (default: $MP_MODULE_SO, the source build, "
                             "or LIBEXECDIR/mod_python.so)")
    create.add_argument("--mpm", choices=launcher.MPMS, default="event")
    create.add_argument("--force", action="store_true", help="replace an existing config")
    create.set_defaults(func=cmd_create)

    gen = sub.add_parser("genconfig", help="print the generated httpd.conf")
    gen.add_argument("src", type=Path, help="instance directory or its conf/httpd_conf.py")
    gen.set_defaults(func=cmd_genconfig)

    for name, func, help_text in (
        ("start", cmd_start, "httpd -f CONF -k start"),
        ("stop", cmd_stop, "httpd -f CONF -k graceful-stop (SIGTERM after --timeout s)"),
        ("restart", cmd_restart, "httpd -f CONF -k graceful"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("dir", type=Path,
                         help="instance directory, its conf/httpd_conf.py, or an httpd.conf")
        cmd.add_argument("--timeout", type=float, default=30.0)
        cmd.set_defaults(func=func)

    ver = sub.add_parser("version", help="print versions and paths")
    ver.set_defaults(func=cmd_version)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"mod_python: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
