"""mod_python.devserver: the launcher's file watcher and log follower (no Apache)."""

import os

from mod_python.devserver import LogFollower, TreeWatcher


def bump(path, seconds=5):
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + seconds))


def test_watcher_sees_changed_added_and_removed_files(tmp_path):
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("<p>\n")
    watcher = TreeWatcher([tmp_path])
    assert watcher.changed() is None
    bump(tmp_path / "app.py")
    assert watcher.changed() == str(tmp_path / "app.py")
    assert watcher.changed() is None
    (tmp_path / "templates" / "new.html").write_text("<p>\n")
    assert watcher.changed() == str(tmp_path / "templates" / "new.html")
    (tmp_path / "app.py").unlink()
    assert watcher.changed() == str(tmp_path / "app.py")


def test_watcher_ignores_caches_hidden_dirs_other_files_and_excluded_dirs(tmp_path):
    for rel in ("__pycache__/app.cpython-311.pyc", ".git/config.py", "data.bin",
                "server-root/logs/error.conf", "node_modules/x.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    watcher = TreeWatcher([tmp_path], excluded=[tmp_path / "server-root"])
    assert watcher.snapshot == {}
    for rel in ("__pycache__/app.cpython-311.pyc", ".git/config.py", "data.bin",
                "server-root/logs/error.conf", "node_modules/x.json"):
        bump(tmp_path / rel)
    assert watcher.changed() is None


def test_watcher_accepts_a_single_file_and_stops_at_its_limit(tmp_path):
    conf = tmp_path / "extra.conf"
    conf.write_text("# x\n")
    for i in range(5):
        (tmp_path / f"m{i}.py").write_text("")
    assert list(TreeWatcher([conf]).snapshot) == [str(conf)]
    limited = TreeWatcher([tmp_path], max_files=3)
    assert limited.truncated and len(limited.snapshot) == 3


def test_log_follower_returns_whole_new_lines(tmp_path):
    log = tmp_path / "error.log"
    follower = LogFollower(log)
    assert follower.new_text() == ""  # no file yet
    log.write_text("first\nsecond (partial")
    assert follower.new_text() == "first\n"
    with open(log, "a") as f:
        f.write(" line)\nthird\n")
    assert follower.new_text() == "second (partial line)\nthird\n"
    assert follower.new_text() == ""
    log.write_text("rotated\n")  # shorter: read from the start again
    assert follower.new_text() == "rotated\n"
