"""The ``mod_python`` command: create, configure, start and stop a server instance.

    mod_python create DIR [--listen [HOST:]PORT] [--pythonhandler H]
                          [--pythonpath a:b] [--pythonoption "k v"]...
    mod_python genconfig DIR|SCRIPT     print the generated httpd.conf
    mod_python start DIR                start Apache (PID in DIR/run/httpd.pid)
    mod_python stop DIR                 stop it by that PID
    mod_python restart DIR              graceful restart (SIGUSR1)
    mod_python version                  versions and paths

An instance directory holds ``conf/httpd_conf.py`` (a Python script printing the
config; edit it to change the server), ``conf/httpd.conf`` (its output, rewritten
by ``start``), ``htdocs/``, ``logs/`` and ``run/``.  The config is self-contained
(never reads /etc/apache2) and works for a non-root user on a high port.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from mod_python import httpdconf, launcher

SCRIPT_NAME = "httpd_conf.py"
CONF_NAME = "httpd.conf"
HTDOCS = "htdocs"


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


def pid_file(root: Path) -> Path:
    return root / launcher.PID_FILE


def read_pid(root: Path) -> Optional[int]:
    try:
        return int(pid_file(root).read_text().strip())
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


def running_pid(root: Path) -> Optional[int]:
    """The PID of the instance's running Apache parent, or None."""
    pid = read_pid(root)
    if pid is not None and is_alive(pid) and _is_httpd(pid):
        return pid
    return None


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
    print(f"Created server instance in {root}")
    print(f"  config script: {script}")
    print(f"  config:        {root / 'conf' / CONF_NAME}")
    print(f"  documents:     {root / HTDOCS}")
    print("Next steps:")
    print(f"  {me} start {root}\n  {me} restart {root}\n  {me} stop {root}")
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


def start_instance(root: Path, timeout: float = 30.0) -> int:
    """Write conf/httpd.conf, start Apache detached and wait until it accepts."""
    pid = running_pid(root)
    if pid is not None:
        raise CLIError(f"already running (PID {pid})")
    config = generate_config(root)
    launcher.prepare_root(root, launcher.server_user())
    server = launcher.ApacheInstance(root, config, die_with_parent=False)
    try:
        server.start(timeout=timeout)
    except launcher.ApacheError as exc:
        raise CLIError(f"start failed: {exc}") from exc
    assert server.process is not None
    # Apache outlives this process; forget the Popen so no wait/kill happens here.
    server.process.returncode = 0
    return server.process.pid


def cmd_start(args: argparse.Namespace) -> int:
    root = instance_root(args.dir)
    pid = start_instance(root, args.timeout)
    print(f"started (PID {pid}), error log: {root / launcher.ERROR_LOG}")
    return 0


def stop_instance(root: Path, timeout: float = 15.0) -> Optional[int]:
    """SIGTERM the PID in run/httpd.pid, wait, then SIGKILL what is left."""
    pid = running_pid(root)
    if pid is None:
        pid_file(root).unlink(missing_ok=True)
        return None
    family = launcher._descendants(pid)
    family[pid] = launcher._proc_start_time(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for other, started in family.items():
        if started is not None and launcher._proc_start_time(other) == started and is_alive(other):
            try:
                os.kill(other, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    while any(is_alive(p) and launcher._proc_start_time(p) == s for p, s in family.items()):
        if time.monotonic() > deadline:
            raise CLIError(f"processes of PID {pid} did not exit")
        time.sleep(0.05)
    pid_file(root).unlink(missing_ok=True)
    return pid


def cmd_stop(args: argparse.Namespace) -> int:
    root = instance_root(args.dir)
    pid = stop_instance(root, args.timeout)
    print("not running" if pid is None else f"stopped (PID {pid})")
    return 0


def restart_instance(root: Path, timeout: float = 30.0) -> int:
    """Regenerate conf/httpd.conf and send SIGUSR1; wait for the new generation."""
    pid = running_pid(root)
    if pid is None:
        raise CLIError("not running")
    config = generate_config(root)
    (root / "conf" / CONF_NAME).write_text(config, encoding="utf-8")
    error_log = root / launcher.ERROR_LOG
    marker = "resuming normal operations"

    def count() -> int:
        try:
            return error_log.read_text(errors="replace").count(marker)
        except OSError:
            return 0

    before = count()
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while count() <= before:
        if not is_alive(pid):
            raise CLIError("apache2 exited during graceful restart; see " + str(error_log))
        if time.monotonic() > deadline:
            raise CLIError("graceful restart did not complete; see " + str(error_log))
        time.sleep(0.05)
    return pid


def cmd_restart(args: argparse.Namespace) -> int:
    root = instance_root(args.dir)
    pid = restart_instance(root, args.timeout)
    print(f"restarted gracefully (PID {pid})")
    return 0


def _httpd_version(httpd: str) -> str:
    try:
        out = subprocess.run([httpd, "-v"], capture_output=True, text=True, timeout=10,
                             env={"PATH": launcher.CLEAN_PATH, "LANG": "C"}).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    for line in out.splitlines():
        if line.startswith("Server version:"):
            return line.split(":", 1)[1].strip()
    return out.strip() or "unknown"


def cmd_version(args: argparse.Namespace) -> int:
    try:
        from mod_python import version as v
    except ImportError:
        v = None  # type: ignore[assignment]
    mp = getattr(v, "version", "unconfigured")
    httpd = getattr(v, "HTTPD", "") or str(launcher.HTTPD)
    print(f"mod_python:   {mp}")
    print(f"  package:    {Path(__file__).resolve().parent}")
    print(f"  module:     {httpdconf.default_module_path()}")
    print(f"Python:       {sys.version.split()[0]} ({sys.executable})")
    print(f"  built for:  {getattr(v, 'PYTHON_BIN', '') or 'unknown'}")
    print(f"httpd:        {getattr(v, 'HTTPD_VERSION', '') or _httpd_version(httpd)}")
    print(f"  binary:     {httpd}")
    print(f"  modules:    {getattr(v, 'LIBEXECDIR', '') or launcher.module_dir()}")
    print(f"  sysconfdir: {getattr(v, 'SYSCONFDIR', '') or 'unknown'}")
    print(f"APR:          {getattr(v, 'APR_VERSION', '') or 'unknown'}")
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
        ("start", cmd_start, "start Apache for an instance"),
        ("stop", cmd_stop, "stop it (by the PID in run/httpd.pid)"),
        ("restart", cmd_restart, "graceful restart (SIGUSR1)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("dir", type=Path, help="instance directory (or its conf file)")
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
