"""The `mod_python` command: create an instance, start it, serve, restart, stop."""

import os
import subprocess
import time

import pytest
import requests

from mphelpers import MODULE_SO, REPO, REQUEST_TIMEOUT, launcher

WRAPPER = REPO / "tools" / "mod_python"

HANDLER = '''\
import os
from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    req.write("cli-instance-ok pid=%d opt=%s" % (os.getpid(), req.get_options().get("greeting")))
    return apache.OK
'''


def run_cli(*args, check=True, timeout=90):
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO / "python"),
        "MP_MODULE_SO": str(MODULE_SO),
    }
    result = subprocess.run(["/usr/bin/python3", "-m", "mod_python.cli", *map(str, args)],
                            capture_output=True, text=True, env=env, timeout=timeout)
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


def test_version_via_wrapper():
    out = subprocess.run([str(WRAPPER), "version"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "mod_python:" in out and "3.5" in out
    assert "Python:" in out and "httpd:" in out and "APR:" in out and "Platform:" in out


def test_genconfig_requires_instance(tmp_path):
    result = run_cli("genconfig", tmp_path, check=False)
    assert result.returncode == 1
    assert "httpd_conf.py" in result.stderr


@pytest.mark.skipif(not MODULE_SO.is_file(), reason=f"{MODULE_SO} not built")
@pytest.mark.skipif(bool(os.environ.get("MP_TEST_PRELOAD")),
                    reason="the command starts apache2 itself, without the sanitizer preload")
def test_create_start_serve_restart_stop(tmp_path):
    root = tmp_path / "inst"
    app = root / "app"
    port = launcher.free_port()
    out = run_cli("create", root, "--listen", f"127.0.0.1:{port}",
                  "--pythonhandler", "clihello", "--pythonpath", app,
                  "--pythonoption", "greeting hi").stdout
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
    assert "__pycache__" in config and "pspc" in config
    assert (root / "conf" / "httpd.conf").read_text() == config

    app.mkdir()
    (app / "clihello.py").write_text(HANDLER)
    (root / "htdocs" / "secret.py").write_text("SECRET = 1\n")
    os.chmod(app, 0o755)

    pid = None
    try:
        run_cli("start", root)
        pid = int((root / "run" / "httpd.pid").read_text())
        assert alive(pid)
        assert run_cli("start", root, check=False).returncode == 1  # already running

        url = f"http://127.0.0.1:{port}/anything"
        resp = requests.get(url, timeout=REQUEST_TIMEOUT)
        assert resp.status_code == 200, resp.text
        assert resp.text.startswith("cli-instance-ok")
        assert "opt=hi" in resp.text
        # §21: Python sources are never served.
        secret = requests.get(f"http://127.0.0.1:{port}/secret.py", timeout=REQUEST_TIMEOUT)
        assert secret.status_code == 403

        run_cli("restart", root)
        assert int((root / "run" / "httpd.pid").read_text()) == pid  # graceful: same parent
        assert "SIGUSR1" in (root / "logs" / "error.log").read_text()
        resp = requests.get(url, timeout=REQUEST_TIMEOUT)
        assert resp.status_code == 200 and resp.text.startswith("cli-instance-ok")

        children = list(launcher._descendants(pid))
        assert children
        out = run_cli("stop", root).stdout
        assert f"PID {pid}" in out
        deadline = time.monotonic() + 10
        while (alive(pid) or any(alive(c) for c in children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid)
        assert not [c for c in children if alive(c)]
        assert not (root / "run" / "httpd.pid").exists()
        assert "not running" in run_cli("stop", root).stdout
        log = (root / "logs" / "error.log").read_text()
        assert "Segmentation fault" not in log and "AddressSanitizer" not in log
        pid = None
    finally:
        if pid is not None and alive(pid):
            run_cli("stop", root, check=False)
