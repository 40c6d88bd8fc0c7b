"""Mercurial's hgweb (Debian's ``mercurial`` package), unmodified, behind WSGIScriptAlias.

A real application that does things the framework tests do not: ``hgweb.wsgi`` as Mercurial
ships it turns on ``demandimport`` (lazy imports through ``importlib.util.LazyLoader``), and
``mercurial.utils.procutil`` wraps ``sys.stdout.buffer`` and ``sys.stderr.buffer`` at import
time. The ``hg`` client then clones over HTTP (wire protocol GETs with ``X-HgArg`` headers)
and pushes a changeset (a POST whose body is a bundle) that must land in the served repo.
Runs in a sub-interpreter (the default application group) and in the main interpreter.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from mphelpers import launcher

HGWEB_WSGI = """\
# hgweb.wsgi as in Mercurial's documentation (contrib/hgweb.wsgi).
config = b"@ROOT@/hgweb.config"

from mercurial import demandimport

demandimport.enable()

from mercurial.hgweb import hgweb

application = hgweb(config)
"""

COMMIT_MESSAGE = "second: naïve café"
BLOB = bytes(range(256)) * 800  # 200 kB of binary for the push


def hg(*args: str, cwd: Path) -> str:
    hg_path = shutil.which("hg", path="/usr/bin:/bin")
    assert hg_path, "Mercurial's hg is missing: install Debian's mercurial package"
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HGRCPATH": "", "HGPLAIN": "1",
           "HGENCODING": "utf-8", "HGUSER": "Tester <tester@example.org>",
           "HOME": str(cwd)}
    done = subprocess.run([hg_path, *args], cwd=cwd, env=env, capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout.decode("utf-8")


@pytest.fixture
def served_repo(tmp_path: Path) -> Path:
    """A repository with two changesets, writable by the server's user (for the push)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    hg("init", cwd=repo)
    (repo / "page.txt").write_bytes(b"<b>bold</b> & more\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "notes.txt").write_text("première ligne\n", encoding="utf-8")
    hg("add", cwd=repo)
    hg("commit", "-m", "first", cwd=repo)
    with open(repo / "page.txt", "ab") as page:
        page.write(b"second line\n")
    hg("commit", "-m", COMMIT_MESSAGE, cwd=repo)
    user = launcher.server_user()
    launcher.make_accessible(tmp_path)
    if user is not None:
        pw = pwd.getpwnam(user[0])
        for dirpath, _dirs, files in os.walk(repo):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for name in files:
                os.chown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)
    return repo


@pytest.mark.parametrize("group", ["subinterp", "global"])
def test_hgweb_browse_clone_and_push(apache, served_repo: Path, tmp_path: Path,
                                     group: str) -> None:
    snippet = "WSGIScriptAlias /hg @DOCROOT@/hgweb.wsgi\n"
    if group == "global":
        snippet += "WSGIApplicationGroup %{GLOBAL}\n"
    config = (f"[paths]\n/ = {served_repo}\n[web]\nallow_push = *\npush_ssl = false\n"
              "encoding = utf-8\n")
    srv = apache(snippet, files={"hgweb.wsgi": HGWEB_WSGI, "../hgweb.config": config})

    log = srv.get("/hg/log")
    assert log.status_code == 200, log.text[:2000]
    assert log.headers["Content-Type"].startswith("text/html")
    assert COMMIT_MESSAGE in log.content.decode("utf-8")
    # hgweb builds its links from SCRIPT_NAME.
    assert 'href="/hg/rev/' in log.text

    raw = srv.get("/hg/raw-file/tip/page.txt")
    assert raw.status_code == 200
    assert raw.content == b"<b>bold</b> & more\nsecond line\n"
    assert srv.get("/hg/raw-file/tip/docs/notes.txt").content == "première ligne\n".encode()
    shown = srv.get("/hg/file/tip/page.txt")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in shown.text
    assert srv.get("/hg/raw-file/tip/no-such-file").status_code == 404

    work = tmp_path / "work"
    work.mkdir()
    url = srv.url("/hg")
    hg("clone", url, "clone", cwd=work)
    clone = work / "clone"
    assert (clone / "page.txt").read_bytes() == b"<b>bold</b> & more\nsecond line\n"
    (clone / "blob.bin").write_bytes(BLOB)
    hg("add", "blob.bin", cwd=clone)
    hg("commit", "-m", "third: pushed over HTTP", cwd=clone)
    pushed = hg("push", url, cwd=clone)
    assert "added 1 changesets with 1 changes to 1 files" in pushed

    assert hg("log", "-r", "tip", "--template", "{desc}", cwd=served_repo) == \
        "third: pushed over HTTP"
    blob = srv.get("/hg/raw-file/tip/blob.bin")
    assert blob.status_code == 200
    assert blob.content == BLOB
