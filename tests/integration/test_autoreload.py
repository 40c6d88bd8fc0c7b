"""PythonAutoReload: a changed handler module is re-executed in a running child (spec §4, §20.1).

Every test uses one keep-alive connection, so all its requests reach the same
child process (also under prefork) and the reload happens in a process that
already has the old code loaded.
"""

import os
import textwrap
import time

import pytest

from mphelpers import in_directory

TEMPLATE = '''
    import os
    from mod_python import apache

    VERSION = "@VERSION@"


    def handler(req):
        req.content_type = "text/plain"
        req.write("%s %d" % (VERSION, os.getpid()))
        return apache.OK
'''

# The reload check runs at most once per second per module.
RECHECK_DELAY = 1.2


def source(version: str) -> str:
    return TEMPLATE.replace("@VERSION@", version)


def rewrite(path, text: str) -> None:
    """Replace the file and move its mtime 2 s ahead (1 s mtime granularity)."""
    mtime = path.stat().st_mtime
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    os.utime(path, (mtime + 2, mtime + 2))


def fetch(sess, srv):
    r = sess.get(srv.url("/x"))
    if r.status_code != 200:
        return r.status_code, None
    version, pid = r.text.split()
    return version, int(pid)


@pytest.mark.parametrize("directive", ["PythonAutoReload On", None], ids=["on", "default"])
def test_changed_module_is_reloaded(apache, directive):
    directives = ["PythonHandler reloadme"] + ([directive] if directive else [])
    srv = apache(in_directory(*directives), files={"reloadme.py": source("v1")})
    with srv.session() as sess:
        version, pid = fetch(sess, srv)
        assert version == "v1"
        rewrite(srv.docroot / "reloadme.py", source("v2"))
        time.sleep(RECHECK_DELAY)
        version2, pid2 = fetch(sess, srv)
    assert pid2 == pid, "keep-alive connection was not kept; test is not meaningful"
    assert version2 == "v2"


def test_autoreload_off_keeps_the_loaded_code(apache):
    srv = apache(
        in_directory("PythonHandler reloadme", "PythonAutoReload Off"),
        files={"reloadme.py": source("v1")},
    )
    with srv.session() as sess:
        version, pid = fetch(sess, srv)
        assert version == "v1"
        rewrite(srv.docroot / "reloadme.py", source("v2"))
        time.sleep(RECHECK_DELAY)
        version2, pid2 = fetch(sess, srv)
    assert pid2 == pid, "keep-alive connection was not kept; test is not meaningful"
    assert version2 == "v1"


@pytest.mark.allow_log("MP0100", "MP0102")
def test_failed_reload_reports_error_and_next_request_retries(apache):
    srv = apache(in_directory("PythonHandler reloadme"), files={"reloadme.py": source("v1")})
    path = srv.docroot / "reloadme.py"
    with srv.session() as sess:
        assert fetch(sess, srv)[0] == "v1"
        rewrite(path, "this is not python (\n")
        time.sleep(RECHECK_DELAY)
        assert fetch(sess, srv) == (500, None)
        rewrite(path, source("v3"))
        time.sleep(RECHECK_DELAY)
        assert fetch(sess, srv)[0] == "v3"


def test_python_debug_logs_reimport(apache):
    srv = apache(
        in_directory("PythonHandler reloadme", "PythonDebug On"),
        files={"reloadme.py": source("v1")},
    )
    with srv.session() as sess:
        assert fetch(sess, srv)[0] == "v1"
        rewrite(srv.docroot / "reloadme.py", source("v2"))
        time.sleep(RECHECK_DELAY)
        assert fetch(sess, srv)[0] == "v2"
    srv.wait_for_log(r"\(Re\)importing module 'reloadme'")
    assert len(srv.log_lines("(Re)importing module 'reloadme'")) >= 2
