"""The `mod_python` command: create an instance, start it, serve, restart, stop (§19).

start / stop / restart run `apache2 -f CONF -k start|graceful-stop|graceful`; the server
detaches, so every test that starts one stops it again at teardown: the `instances`
fixture reads each instance's pid file, runs `mod_python stop`, and if the parent or
any of its children (by PID and start time, never by name) is still there, kills those
PIDs and fails the test.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from mphelpers import MODULE_SO, REPO, REQUEST_TIMEOUT, find_log_problems, launcher

WRAPPER = REPO / "tools" / "mod_python"
HTTPD = "/usr/sbin/apache2"

HANDLER = '''\
import os
from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    req.write("cli-instance-ok pid=%d opt=%s" % (os.getpid(), req.get_options().get("greeting")))
    return apache.OK
'''

needs_module = pytest.mark.skipif(not MODULE_SO.is_file(), reason=f"{MODULE_SO} not built")
no_preload = pytest.mark.skipif(
    bool(os.environ.get("MP_TEST_PRELOAD")),
    reason="the command starts apache2 itself, without the sanitizer preload")


def cli_env(**extra):
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO / "python"),
        "MP_MODULE_SO": str(MODULE_SO),
    }
    env.update(extra)
    return env


def run_cli(*args, check=True, timeout=90, user=None, env=None):
    command = ["/usr/bin/python3", "-m", "mod_python.cli", *map(str, args)]
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True,
                            env=env or cli_env(), timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"mod_python {args} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] not in (b"Z", b"X")


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while [p for p in pids if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def read_pid(root):
    try:
        return int((root / "run" / "httpd.pid").read_text())
    except (OSError, ValueError):
        return None


class Instances:
    """Instance roots registered here are stopped at teardown; every server PID a test
    read (see `pid`) and its children must then be gone."""

    def __init__(self):
        self.roots = []  # (root, user)
        self.seen = {}  # pid -> start time, for the parents read and their children

    def __call__(self, root, user=None):
        self.roots.append((root, user))
        return root

    def pid(self, root):
        """The PID in the instance's pid file, remembered with its children."""
        pid = read_pid(root)
        if pid is not None and alive(pid):
            self.seen[pid] = launcher._proc_start_time(pid)
            self.seen.update(launcher._descendants(pid))
        return pid

    def teardown(self):
        problems = []
        for root, user in self.roots:
            pid = self.pid(root)
            if pid is not None and alive(pid):
                result = run_cli("stop", root, check=False, user=user)
                problems.append(f"{root} still running at teardown (PID {pid}); "
                                f"`mod_python stop`: {result.returncode} {result.stderr}")
        left = [p for p, t in self.seen.items()
                if t is not None and launcher._proc_start_time(p) == t and alive(p)]
        for pid in wait_gone(left, 30.0):
            os.kill(pid, signal.SIGKILL)
            problems.append(f"PID {pid} survived `mod_python stop`; killed")
        assert not problems, problems


@pytest.fixture
def instances():
    tracker = Instances()
    yield tracker
    tracker.teardown()


# --------------------------------------------------------------------------------- version


def test_version_via_wrapper():
    out = subprocess.run([str(WRAPPER), "version"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if not line.startswith(" "))
    assert set(fields) == {"mod_python", "Python", "httpd", "APR", "Platform"}
    assert "3.5" in fields["mod_python"]
    assert fields["Python"].split()[0].startswith("3.11")
    httpd_v = subprocess.run([HTTPD, "-v"], capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/sbin:/usr/bin"}).stdout
    assert fields["httpd"].strip() in httpd_v  # e.g. "Apache/2.4.62 (Debian)"
    assert fields["APR"].strip()[0].isdigit() and "APR-util 1." in fields["APR"]
    for path_line in ("package:", "module:", "binary:", "modules:"):
        assert path_line in out


def test_version_without_httpd_still_prints_the_rest():
    result = run_cli("version", env=cli_env(MP_HTTPD="/nonexistent/apache2"))
    assert "httpd not found: /nonexistent/apache2" in result.stderr
    assert "mod_python:" in result.stdout and "Python:" in result.stdout


def test_genconfig_requires_instance(tmp_path):
    result = run_cli("genconfig", tmp_path, check=False)
    assert result.returncode == 1
    assert "httpd_conf.py" in result.stderr


def test_start_requires_an_instance(tmp_path):
    result = run_cli("start", tmp_path, check=False)
    assert result.returncode == 1
    assert "not a server instance" in result.stderr


# ---------------------------------------------------------------------------- life cycle


def create(root, port, *extra, user=None):
    return run_cli("create", root, "--listen", f"127.0.0.1:{port}", *extra, user=user).stdout


def get(port, path="/anything"):
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=REQUEST_TIMEOUT)


@needs_module
@no_preload
def test_create_start_serve_restart_stop(tmp_path, instances):
    root = instances(tmp_path / "inst")
    app = root / "app"
    port = launcher.free_port()
    out = create(root, port, "--pythonhandler", "clihello", "--pythonpath", app,
                 "--pythonoption", "greeting hi")
    assert "mod_python start" in out
    for sub in ("conf", "htdocs", "logs", "run"):
        assert (root / sub).is_dir()
    assert (root / "conf" / "httpd_conf.py").is_file()
    # Refuses to overwrite an existing instance.
    assert run_cli("create", root, "--listen", f"127.0.0.1:{port}", check=False).returncode == 1

    config = run_cli("genconfig", root).stdout
    assert f"Listen 127.0.0.1:{port}" in config
    assert "PythonHandler clihello" in config
    assert f'LoadModule python_module "{MODULE_SO.resolve()}"' in config
    assert "__pycache__" in config and "PythonDenyStaticSource On" in config
    # Self-contained: what `-k` needs is in the file, nothing from /etc/apache2/envvars.
    for directive in ("ServerRoot", "PidFile", "DefaultRuntimeDir", "ErrorLog"):
        assert f'\n{directive} "' in config
    directives = "\n".join(line for line in config.splitlines()
                           if not line.lstrip().startswith("#"))
    assert "${APACHE_" not in directives and "/etc/apache2" not in directives
    assert (root / "conf" / "httpd.conf").read_text() == config

    app.mkdir()
    (app / "clihello.py").write_text(HANDLER)
    (root / "htdocs" / "secret.py").write_text("SECRET = 1\n")
    os.chmod(app, 0o755)

    out = run_cli("start", root).stdout
    pid = instances.pid(root)
    assert pid is not None and alive(pid) and f"PID {pid}" in out
    log = (root / "logs" / "error.log").read_text()
    # Started by `apache2 -f CONF -k start` (detached), not by the foreground launcher.
    assert f"Command line: '{HTTPD} -f {root / 'conf' / 'httpd.conf'}'" in log
    assert "-DFOREGROUND" not in log
    assert os.getsid(pid) == pid  # detached into its own session (apr_proc_detach)
    result = run_cli("start", root, check=False)
    assert result.returncode == 1 and f"already running (PID {pid}" in result.stderr

    resp = get(port)
    assert resp.status_code == 200, resp.text
    assert resp.text.startswith("cli-instance-ok")
    assert "opt=hi" in resp.text
    # §21: Python sources are never served (here the handler answers for every URL).
    secret = get(port, "/secret.py")
    assert "SECRET" not in secret.text and secret.text.startswith("cli-instance-ok")

    run_cli("restart", root / "conf" / "httpd.conf")  # the conf file works as well as DIR
    assert read_pid(root) == pid  # graceful: same parent
    log = (root / "logs" / "error.log").read_text()
    assert "SIGUSR1 received.  Doing graceful restart" in log
    resp = get(port)
    assert resp.status_code == 200 and resp.text.startswith("cli-instance-ok")

    children = list(launcher._descendants(pid))
    assert children
    out = run_cli("stop", root).stdout
    assert f"stopped (PID {pid})" in out
    assert not wait_gone([pid, *children])
    assert not (root / "run" / "httpd.pid").exists()
    log = (root / "logs" / "error.log").read_text()
    assert "caught SIGWINCH, shutting down gracefully" in log  # -k graceful-stop
    assert "not running" in run_cli("stop", root).stdout
    assert run_cli("restart", root, check=False).returncode == 1
    problems = find_log_problems(log, allowed=("AH01630",))  # the denied secret.py
    assert not problems, problems


@needs_module
@no_preload
def test_bad_config_is_refused_with_httpd_t_output(tmp_path, instances):
    root = instances(tmp_path / "inst")
    port = launcher.free_port()
    create(root, port, "--pythonhandler", "mod_python.testhandler")
    script = root / "conf" / "httpd_conf.py"
    good = script.read_text()
    bad = good.replace('if __name__ == "__main__":',
                       'site.append(Directive("NoSuchDirective", "x"))\n\n'
                       'if __name__ == "__main__":')
    assert bad != good
    script.write_text(bad)
    before = (root / "conf" / "httpd.conf").read_text()

    result = run_cli("start", root, check=False)
    assert result.returncode == 1
    assert "configuration test failed" in result.stderr
    assert "Invalid command 'NoSuchDirective'" in result.stderr  # httpd -t's own words
    assert (root / "conf" / "httpd.conf").read_text() == before
    assert "NoSuchDirective" in (root / "conf" / "httpd.conf.rejected").read_text()
    assert read_pid(root) is None

    # A running server keeps serving when the edited config is broken.
    script.write_text(good)
    run_cli("start", root)
    pid = instances.pid(root)
    assert not (root / "conf" / "httpd.conf.rejected").exists()
    script.write_text(bad)
    result = run_cli("restart", root, check=False)
    assert result.returncode == 1 and "Invalid command 'NoSuchDirective'" in result.stderr
    assert read_pid(root) == pid and alive(pid)
    assert get(port).status_code == 200
    assert "NoSuchDirective" not in (root / "conf" / "httpd.conf").read_text()
    # ... and can still be stopped with the config it runs with.
    assert f"stopped (PID {pid})" in run_cli("stop", root).stdout
    assert not wait_gone([pid])


@needs_module
@no_preload
def test_port_in_use_and_missing_httpd_are_clear_errors(tmp_path, instances):
    import socket

    root = instances(tmp_path / "inst")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        create(root, port, "--pythonhandler", "mod_python.testhandler")
        result = run_cli("start", root, check=False)
    assert result.returncode == 1
    assert "could not bind" in result.stderr or "Address already in use" in result.stderr
    assert read_pid(root) is None

    result = run_cli("start", root, check=False, env=cli_env(MP_HTTPD="/nonexistent/apache2"))
    assert result.returncode == 1
    assert "httpd not found: /nonexistent/apache2" in result.stderr


@needs_module
@no_preload
def test_a_plain_httpd_conf_is_used_as_it_is(tmp_path, instances):
    root = instances(tmp_path / "inst")
    port = launcher.free_port()
    create(root, port, "--pythonhandler", "mod_python.testhandler")
    plain = root / "plain.conf"
    plain.write_text((root / "conf" / "httpd.conf").read_text())
    # Not regenerated from the script: a broken script does not matter.
    (root / "conf" / "httpd_conf.py").write_text("raise SystemExit('not used')\n")
    run_cli("start", plain)
    pid = instances.pid(root)
    log = (root / "logs" / "error.log").read_text()
    assert f"Command line: '{HTTPD} -f {plain}'" in log
    assert get(port, "/").status_code == 200
    assert f"stopped (PID {pid})" in run_cli("stop", plain).stdout
    assert not wait_gone([pid])

    bare = tmp_path / "bare.conf"
    bare.write_text("Listen 127.0.0.1:1\n")
    result = run_cli("start", bare, check=False)
    assert result.returncode == 1 and "needs an absolute ServerRoot and a PidFile" in result.stderr


SLOW_HANDLER = """\
import time
from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    req.write("started\\n")
    req.flush()
    time.sleep(60)
    req.write("done\\n")
    return apache.OK
"""


@needs_module
@no_preload
def test_stop_escalates_when_a_request_outlives_the_timeout(tmp_path, instances):
    import threading

    root = instances(tmp_path / "inst")
    app = root / "app"
    port = launcher.free_port()
    create(root, port, "--pythonhandler", "clislow", "--pythonpath", app)
    app.mkdir()
    (app / "clislow.py").write_text(SLOW_HANDLER)
    run_cli("start", root)
    pid = instances.pid(root)
    children = list(launcher._descendants(pid))
    got = []

    def slow_request():
        try:
            with requests.get(f"http://127.0.0.1:{port}/x", stream=True, timeout=90) as resp:
                for chunk in resp.iter_content(None):
                    got.append(chunk)
        except requests.RequestException as exc:
            got.append(exc)

    client = threading.Thread(target=slow_request, daemon=True)
    client.start()
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:  # the handler is running
        time.sleep(0.05)
    assert got and got[0] == b"started\n", got
    started = time.monotonic()
    result = run_cli("stop", root, "--timeout", "1")
    assert f"stopped (PID {pid})" in result.stdout
    assert "graceful stop did not finish within 1 s; sending SIGTERM" in result.stderr
    assert time.monotonic() - started < 45  # not the handler's 60 s
    assert not wait_gone([pid, *children])
    client.join(30)
    assert not any(chunk == b"done\n" for chunk in got)


def _can_run_as_nobody():
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return False
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    # nobody must be able to read the source tree and the module.
    probe = subprocess.run(["runuser", "-u", "nobody", "--", "test", "-r", str(MODULE_SO)],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.fixture
def nobody_dir():
    """A directory owned by nobody (removed after `instances` has stopped its servers:
    request this fixture before `instances`)."""
    if not _can_run_as_nobody():
        pytest.skip("needs root (to switch to nobody) and a tree nobody can read")
    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="mp-cli-nobody-"))
    os.chown(base, nobody.pw_uid, nobody.pw_gid)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@needs_module
@no_preload
def test_non_root_user_runs_an_instance(nobody_dir, instances):
    nobody = pwd.getpwnam("nobody")
    root = instances(nobody_dir / "inst", user="nobody")
    port = launcher.free_port()
    create(root, port, "--pythonhandler", "mod_python.testhandler", user="nobody")
    config = (root / "conf" / "httpd.conf").read_text()
    assert "\nUser " not in config and "\nGroup " not in config  # not root: no switch
    run_cli("start", root, user="nobody")
    pid = instances.pid(root)
    assert pid is not None and os.stat(f"/proc/{pid}").st_uid == nobody.pw_uid
    assert get(port, "/").status_code == 200
    run_cli("restart", root, user="nobody")
    assert get(port, "/").status_code == 200
    children = list(launcher._descendants(pid))
    assert f"stopped (PID {pid})" in run_cli("stop", root, user="nobody").stdout
    assert not wait_gone([pid, *children])
    log = (root / "logs" / "error.log").read_text()
    assert "caught SIGWINCH, shutting down gracefully" in log


@needs_module
@no_preload
def test_publisher_instance_serves_page_py_urls_but_not_byte_code(tmp_path, instances):
    # 3.5's publisher URL form /page.py/function must work in a generated config; byte code
    # and caches stay denied.
    root = instances(tmp_path / "inst")
    port = launcher.free_port()
    create(root, port, "--pythonhandler", "mod_python.publisher")
    (root / "htdocs" / "page.py").write_text("def say(req):\n    return 'published'\n")
    (root / "htdocs" / "page.pyc").write_bytes(b"\x00byte code")
    launcher.make_accessible(root / "htdocs")
    started = run_cli("start", root).stdout
    assert f"serving http://127.0.0.1:{port}/" in started
    instances.pid(root)
    page = get(port, "/page.py/say")
    assert (page.status_code, page.text) == (200, "published")
    assert get(port, "/page/say").text == "published"
    byte_code = get(port, "/page.pyc")
    assert byte_code.status_code in (403, 404) and b"byte code" not in byte_code.content
    run_cli("stop", root)
