"""mod_python.devserver: the launcher's file watcher and log follower (no Apache)."""

import os
from pathlib import Path

from mod_python.devserver import LogFollower, TreeWatcher, bind_failure_hint


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


CONFIG = "Listen 127.0.0.1:8000\n# ---- caller-supplied configuration ----\n# mine\n" \
    "Listen 127.0.0.1:9000\n  listen 81\n"
TAKEN = "(98)Address already in use: AH00072: make_sock: could not bind to address " \
    "127.0.0.1:{}\nno listening sockets available, shutting down\n"
REFUSED = "(13)Permission denied: AH00072: make_sock: could not bind to address 0.0.0.0:{}\n"


def test_bind_failure_hint_names_the_port_and_whose_listen_line_it_is():
    assert bind_failure_hint(TAKEN.format(8000), 8000, CONFIG, "site.conf") == \
        "port 8000 is taken: choose another with --port"
    assert bind_failure_hint(TAKEN.format(9000), 8000, CONFIG, "site.conf") == \
        "port 9000 (site.conf line 2: 'Listen 127.0.0.1:9000') is taken by another " \
        "program: change or remove that Listen line"
    assert bind_failure_hint(REFUSED.format(81), 8000, CONFIG, "app/site.conf") == \
        "port 81 (app/site.conf line 3: 'listen 81') needs privileges this user lacks: " \
        "change or remove that Listen line"
    assert bind_failure_hint(REFUSED.format(80), 80, CONFIG, "site.conf").startswith(
        "port 80 needs privileges this user lacks")
    # A port no Listen line of the snippet names (an Include, say): the file is still named.
    assert "(a Listen line of site.conf)" in bind_failure_hint(TAKEN.format(7), 8000, CONFIG,
                                                                "site.conf")
    assert bind_failure_hint("AH00526: Syntax error on line 3", 8000, CONFIG, "site.conf") \
        is None


def test_abandoned_temporary_roots_are_swept_and_others_kept(tmp_path):
    import subprocess
    import sys

    from mod_python.devserver import OWNER_FILE, ROOT_PREFIX, sweep_abandoned_roots

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    roots = {name: tmp_path / (ROOT_PREFIX + name) for name in
             ("killed", "running", "kept", "serving", "junk")}
    for root in roots.values():
        (root / "run").mkdir(parents=True)
    (roots["killed"] / OWNER_FILE).write_text(f"{dead_pid}\n")
    (roots["running"] / OWNER_FILE).write_text(f"{os.getpid()}\n")
    # "kept" has no owner file (--keep-root, or kept after a start-up error)
    (roots["serving"] / OWNER_FILE).write_text(f"{dead_pid}\n")
    (roots["serving"] / "run" / "httpd.pid").write_text(f"{os.getpid()}\n")
    (roots["junk"] / OWNER_FILE).write_text("not a pid\n")
    other = tmp_path / "unrelated"
    other.mkdir()
    (other / OWNER_FILE).write_text(f"{dead_pid}\n")

    assert sweep_abandoned_roots(tmp_path, Path("run") / "httpd.pid") == [roots["killed"]]
    assert not roots["killed"].exists()
    assert all(roots[name].is_dir() for name in ("running", "kept", "serving", "junk"))
    assert other.is_dir()


def test_data_and_translation_files_loaded_at_import_are_watched(tmp_path):
    for name in ("schema.sql", "data.csv", "README.md", "locale/de/django.po",
                 "locale/de/django.mo"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    watcher = TreeWatcher([tmp_path])
    assert len(watcher.snapshot) == 5
    bump(tmp_path / "locale" / "de" / "django.mo")
    assert watcher.changed() == str(tmp_path / "locale" / "de" / "django.mo")
