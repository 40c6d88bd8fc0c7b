"""mod_python.launcher: config rendering (no Apache) and the `serve` CLI on the demo site."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from mphelpers import MODULE_SO, REPO, REQUEST_TIMEOUT, find_log_problems, launcher


def render(tmp_path, **kwargs):
    kwargs.setdefault("module_path", Path("/x/mod_python.so"))
    return launcher.render_config(tmp_path, 8099, **kwargs)


def directives(config: str) -> list:
    return [line.strip() for line in config.splitlines()]


def test_render_is_self_contained(tmp_path):
    config = render(tmp_path, snippet="# caller snippet marker", modules_dir=Path("/mods"))
    lines = directives(config)
    assert f'ServerRoot "{tmp_path}"' in lines
    assert "Listen 127.0.0.1:8099" in lines
    assert f'PidFile "{tmp_path}/run/httpd.pid"' in lines
    assert f'ErrorLog "{tmp_path}/logs/error.log"' in lines
    assert f'DefaultRuntimeDir "{tmp_path}/run"' in lines
    assert "LogLevel warn" in lines
    assert 'LoadModule mpm_event_module "/mods/mod_mpm_event.so"' in lines
    for name in ("authz_core", "mime", "dir", "alias", "authn_core", "authn_file",
                 "auth_basic", "authz_user"):
        assert f'LoadModule {name}_module "/mods/mod_{name}.so"' in lines
    assert 'LoadModule python_module "/x/mod_python.so"' in lines
    active = [line for line in lines if line and not line.startswith("#")]
    assert not [line for line in active if "/etc/apache2" in line or line.startswith("Include")]
    python_line = lines.index('LoadModule python_module "/x/mod_python.so"')
    assert lines.index("# caller snippet marker") > python_line


def test_render_denies_python_source(tmp_path):
    config = render(tmp_path)
    assert "PythonDenyStaticSource On" in config
    assert "__pycache__" in config
    no_deny = render(tmp_path, deny_source=False)
    assert "FilesMatch" not in no_deny and "PythonDenyStaticSource" not in no_deny


@pytest.mark.parametrize("mpm", launcher.MPMS)
def test_render_mpm(tmp_path, mpm):
    lines = directives(render(tmp_path, mpm=mpm, modules_dir=Path("/mods")))
    assert f'LoadModule mpm_{mpm}_module "/mods/mod_mpm_{mpm}.so"' in lines
    assert any(line.startswith("MaxRequestWorkers ") for line in lines)


def test_render_options(tmp_path):
    docroot = tmp_path / "site"
    config = render(
        tmp_path,
        log_level="debug",
        extra_modules=("headers", "/abs/mod_thing.so"),
        document_root=docroot,
        user=("www-data", "www-data"),
        mpm_settings={"MaxRequestWorkers": 3},
        modules_dir=Path("/mods"),
    )
    lines = directives(config)
    assert "LogLevel debug" in lines
    assert 'LoadModule headers_module "/mods/mod_headers.so"' in lines
    assert 'LoadModule thing_module "/abs/mod_thing.so"' in lines
    assert f'DocumentRoot "{docroot}"' in lines
    assert "User www-data" in lines and "Group www-data" in lines
    assert "MaxRequestWorkers 3" in lines
    assert not any(line.startswith(("User ", "Group ")) for line in directives(render(tmp_path)))


def test_render_rejects_unknown_mpm(tmp_path):
    with pytest.raises(ValueError):
        render(tmp_path, mpm="threadpool")


def test_free_port_is_bindable():
    port = launcher.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"launcher did not start a server on port {port}")


def _preload_args() -> list[str]:
    """--preload for the sanitizer build (MP_TEST_PRELOAD), else nothing."""
    preload = os.environ.get("MP_TEST_PRELOAD")
    return ["--preload", preload] if preload else []


def _start_serve(tmp_path: Path, app_dir: Path) -> tuple[subprocess.Popen, int, Path]:
    """`launcher serve` for ``app_dir`` on a free port with a kept root: (process, port, root)."""
    if not MODULE_SO.is_file():
        pytest.fail(f"{MODULE_SO} does not exist: run `make build` (or set MP_MODULE_SO)")
    root = tmp_path / "serve-root"
    root.mkdir()
    port = launcher.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO / "python")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mod_python.launcher", "serve", "--app-dir", str(app_dir),
         "--port", str(port), "--module", str(MODULE_SO), "--root", str(root)]
        + _preload_args(),
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return proc, port, root


def _stop(proc: subprocess.Popen) -> str:
    """Ctrl-C to a `launcher serve` started by _start_serve; its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return output


def test_demo_site_works_from_a_directory_with_quotes_and_backslashes(tmp_path):
    # @APP_DIR_PY@ keeps the demo's PythonPath valid Python whatever the path holds.
    app_dir = tmp_path / "it's a demo\\dir"
    shutil.copytree(REPO / "examples", app_dir)
    proc, port, _root = _start_serve(tmp_path, app_dir)
    try:
        _wait_for_port(port, proc)
        hello = requests.get(f"http://127.0.0.1:{port}/hello", timeout=REQUEST_TIMEOUT)
        assert (hello.status_code, hello.text) == (200, "Hello from mod_python!\n")
    finally:
        _stop(proc)


def test_serve_cli_runs_the_demo_site(tmp_path):
    proc, port, root = _start_serve(tmp_path, REPO / "examples")
    try:
        _wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        index = requests.get(base + "/", timeout=REQUEST_TIMEOUT)
        assert index.status_code == 200
        for link in ('href="/hello"', 'href="/info', 'href="/error"'):
            assert link in index.text

        hello = requests.get(base + "/hello", timeout=REQUEST_TIMEOUT)
        assert (hello.status_code, hello.text) == (200, "Hello from mod_python!\n")

        with requests.Session() as sess:
            first = sess.get(base + "/info?name=value", timeout=REQUEST_TIMEOUT)
            second = sess.get(base + "/info?name=value", timeout=REQUEST_TIMEOUT)
        assert first.status_code == 200
        assert "name=value" in first.text and "GET" in first.text
        assert "<strong>1</strong>" in first.text and "<strong>2</strong>" in second.text

        error = requests.get(base + "/error", timeout=REQUEST_TIMEOUT)
        assert error.status_code == 500
        assert "ZeroDivisionError" in error.text and "<pre>" in error.text

        source = requests.get(base + "/handlers/hello.py", timeout=REQUEST_TIMEOUT)
        assert source.status_code == 403

        with requests.Session() as sess:
            visits = [sess.get(base + "/counter", timeout=REQUEST_TIMEOUT) for _ in range(2)]
        assert [v.status_code for v in visits] == [200, 200]
        assert "1 time(s)" in visits[0].text and "2 time(s)" in visits[1].text
        session_id = visits[0].cookies.get("pysid") or sess.cookies.get("pysid")
        assert session_id and f"in session <code>{session_id}</code>" in visits[1].text

        greet = requests.get(base + "/publisher/greet/hello?name=Ada", timeout=REQUEST_TIMEOUT)
        assert greet.status_code == 200 and "Hello, Ada!" in greet.text
        private = requests.get(base + "/publisher/greet/_VISITS", timeout=REQUEST_TIMEOUT)
        assert private.status_code == 403

        with requests.Session() as sess:
            signed = sess.post(base + "/guestbook/", data={"name": "Ada", "message": "hi <b>"},
                               timeout=REQUEST_TIMEOUT)
        assert signed.status_code == 200 and "<b>Ada</b>: hi &lt;b&gt;" in signed.text
        assert signed.history and signed.history[0].status_code == 303
        assert requests.get(base + "/guestbook/nope", timeout=REQUEST_TIMEOUT).status_code == 404
        wsgi_source = requests.get(base + "/wsgi/guestbook.wsgi", timeout=REQUEST_TIMEOUT)
        assert wsgi_source.status_code == 403

        # SIGHUP to the launcher: a graceful restart (fresh children), still serving.
        log_path = root / "logs" / "error.log"
        generations = log_path.read_text(errors="replace").count("resuming normal operations")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while log_path.read_text(errors="replace").count("resuming normal operations") \
                <= generations:
            assert time.monotonic() < deadline, "no graceful restart after SIGHUP"
            time.sleep(0.1)
        assert proc.poll() is None
        assert requests.get(base + "/hello", timeout=REQUEST_TIMEOUT).status_code == 200
    finally:
        output = _stop(proc)
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    assert "reloading (SIGHUP): graceful restart" in output
    log = (root / "logs" / "error.log").read_text(errors="replace")
    assert find_log_problems(log, ("MP0100", "AH01630")) == [], log
    assert "caught SIGTERM" in log


@pytest.mark.parametrize("argv,message", [
    (["--app-dir", "/nonexistent/app"], "is not a directory"),
    (["--app-dir", ".", "--port", "70000"], "outside 1-65535"),
    (["--app-dir", ".", "--port", "http"], "not a port number"),
    (["--app-dir", ".", "--config-snippet", "."], "cannot read"),
])
def test_serve_cli_bad_arguments_give_one_line_errors(tmp_path, argv, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO / "python")
    done = subprocess.run(
        [sys.executable, "-m", "mod_python.launcher", "serve", "--module", str(MODULE_SO), *argv],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_site_conf_that_is_not_utf8_is_named(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "site.conf").write_bytes(b"# caf\xe9\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO / "python")
    done = subprocess.run(
        [sys.executable, "-m", "mod_python.launcher", "serve", "--module", str(MODULE_SO),
         "--app-dir", str(app)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"{app / 'site.conf'} is not UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_listen_line_for_the_launchers_own_port_is_named(tmp_path):
    # Copied configurations carry one; httpd would only say "Address already in use".
    app = tmp_path / "app"
    app.mkdir()
    (app / "site.conf").write_text("# copied\nListen @PORT@\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO / "python")
    port = launcher.free_port()
    done = subprocess.run(
        [sys.executable, "-m", "mod_python.launcher", "serve", "--module", str(MODULE_SO),
         "--app-dir", str(app), "--port", str(port)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"site.conf line 2: 'Listen {port}': the launcher already listens" in done.stderr
    assert "is taken" not in done.stderr


def _group_members(group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def test_a_killed_httpd_parent_takes_its_children_along(tmp_path):
    # Its children would otherwise keep serving (from a removed server root) and hold the port.
    proc, port, root = _start_serve(tmp_path, REPO / "examples")
    try:
        _wait_for_port(port, proc)
        # The parent accepts on its listener before any child runs: an answer means one does.
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        parent = int((root / launcher.PID_FILE).read_text().strip())
        assert len(_group_members(parent)) >= 2  # the parent and its children
        os.kill(parent, signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 1, output
        assert "apache2 exited with status" in output
        deadline = time.monotonic() + 5
        while _group_members(parent) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _group_members(parent) == []
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        _stop(proc)


def test_closing_the_terminal_stops_the_server(tmp_path):
    # A SIGHUP sent by hand reloads (tested above); the SIGHUP of a closed terminal stops.
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def take_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    root = tmp_path / "serve-root"
    root.mkdir()
    port = launcher.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO / "python")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mod_python.launcher", "serve", "--app-dir",
         str(REPO / "examples"), "--port", str(port), "--module", str(MODULE_SO),
         "--root", str(root)] + _preload_args(),
        cwd=str(tmp_path), env=env, stdin=slave, stdout=slave, stderr=slave,
        preexec_fn=take_terminal,  # noqa: PLW1509 - only os/fcntl calls
    )
    os.close(slave)
    try:
        _wait_for_port(port, proc)
        os.close(master)  # the terminal window goes away
        master = None
        assert proc.wait(timeout=30) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        if master is not None:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _private_tmpdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A TMPDIR of the test's own (where `serve` makes its server root) and the launcher's
    environment using it."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO / "python")
    env["TMPDIR"] = str(temp)
    return temp, env


def test_serve_on_a_taken_port_says_so_and_leaves_no_temporary_root(tmp_path):
    temp, env = _private_tmpdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "mod_python.launcher", "serve", "--module", str(MODULE_SO),
             "--app-dir", str(REPO / "examples"), "--port", str(port)] + _preload_args(),
            cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, check=False,
        )
    assert done.returncode == 1, done.stderr
    assert f"port {port} is taken" in done.stderr
    assert list(temp.iterdir()) == []


def test_a_root_left_by_a_killed_launcher_is_swept_by_the_next_one(tmp_path):
    temp, env = _private_tmpdir(tmp_path)
    command = [sys.executable, "-m", "mod_python.launcher", "serve", "--module", str(MODULE_SO),
               "--app-dir", str(REPO / "examples")] + _preload_args()
    port = launcher.free_port()
    proc = subprocess.Popen(command + ["--port", str(port)], cwd=str(tmp_path), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(port, proc)
        [left] = list(temp.iterdir())
        deadline = time.monotonic() + 15
        # httpd writes its pid file after it has bound the port
        while not (left / launcher.PID_FILE).is_file() or \
                not (left / launcher.PID_FILE).read_text().strip():
            assert time.monotonic() < deadline, "no httpd.pid"
            time.sleep(0.05)
        parent = int((left / launcher.PID_FILE).read_text().strip())
        proc.kill()  # no clean-up runs; httpd follows its parent (PR_SET_PDEATHSIG)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 15
        while launcher._devserver()._alive(parent):
            assert time.monotonic() < deadline, "httpd outlived its killed launcher"
            time.sleep(0.05)
        assert left.is_dir()
    finally:
        _stop(proc)
    # The next launcher (here one that stops at once: its port is taken) removes it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = subprocess.run(command + ["--port", str(taken.getsockname()[1])],
                              cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert list(temp.iterdir()) == []


WSGI_PROJECT = {
    "site.conf": 'WSGIScriptAlias /app "@APP_DIR@/project/wsgi.py"\n',
    "project/wsgi.py": (
        "import os, sys\n"
        "sys.path.insert(0, os.path.dirname(__file__))\n"
        "import helper\n\n"
        "def application(environ, start_response):\n"
        "    if environ['PATH_INFO'] == '/boom':\n"
        "        raise ZeroDivisionError('boom marker-8811')\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [helper.MESSAGE.encode()]\n"
    ),
    "project/helper.py": "MESSAGE = 'one'\n",
}


def _poll(url: str, expected_text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=REQUEST_TIMEOUT)
            if last.status_code == 200 and last.text == expected_text:
                return
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered {expected_text!r}; last: {last!r}")


def _touch_later(path: Path, text: str) -> None:
    """Rewrites a file with a modification time the watcher cannot miss."""
    before = path.stat().st_mtime if path.exists() else time.time()
    path.write_text(text)
    os.utime(path, (before + 2, before + 2))


def test_serve_reloads_code_and_configuration_and_shows_the_log(tmp_path):
    app = tmp_path / "app"
    for rel, text in WSGI_PROJECT.items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    proc, port, _root = _start_serve(tmp_path, app)
    base = f"http://127.0.0.1:{port}"
    seen: list = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        _wait_for_port(port, proc)
        # A Django-style wsgi.py runs (not refused as Python source).
        _poll(base + "/app", "one")
        # A module the script imports changed: the children restart and import it afresh.
        _touch_later(app / "project" / "helper.py", "MESSAGE = 'two'\n")
        _poll(base + "/app", "two")
        # site.conf changed: the configuration is rendered again.
        _touch_later(app / "site.conf", WSGI_PROJECT["site.conf"]
                     + 'WSGIScriptAlias /again "@APP_DIR@/project/wsgi.py"\n')
        _poll(base + "/again", "two")
        # A broken site.conf is refused; the previous configuration keeps serving.
        _touch_later(app / "site.conf", "# comment\nNoSuchDirective here\n")
        time.sleep(3)
        assert requests.get(base + "/again", timeout=REQUEST_TIMEOUT).text == "two"
        # One that passes httpd -t but stops httpd (its port is taken): httpd is started
        # again with the previous configuration.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            busy_port = busy.getsockname()[1]
            _touch_later(app / "site.conf", WSGI_PROJECT["site.conf"]
                         + f"Listen 127.0.0.1:{busy_port}\n")
            deadline = time.monotonic() + 30
            while "starting again with the previous configuration" not in "".join(seen):
                assert time.monotonic() < deadline, "".join(seen)
                time.sleep(0.2)
            failed = "".join(seen).rsplit("reloading (", 1)[1]
            # The reason, named in the user's terms, and only this restart's log lines.
            assert f"(port {busy_port} (" in failed and \
                f"site.conf line 2: 'Listen 127.0.0.1:{busy_port}') is taken" in failed, failed
            assert "resuming normal operations" not in failed.split("starting again")[0]
        _poll(base + "/again", "two")
        # Errors of the application reach the terminal.
        assert requests.get(base + "/app/boom", timeout=REQUEST_TIMEOUT).status_code == 500
        time.sleep(1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
    output = "".join(seen)
    assert proc.returncode == 0, output
    assert "helper.py changed" in output and "site.conf changed" in output
    assert "the new configuration is invalid" in output and "NoSuchDirective" in output
    assert "site.conf line 2)" in output
    assert "marker-8811" in output
    assert '"GET /app/boom HTTP/1.1" 500' in output  # the access log reaches the terminal
