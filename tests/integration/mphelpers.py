"""Small helpers shared by the integration tests (config snippets, JSON pages)."""

from __future__ import annotations

import datetime
import importlib.util
import os
import re
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULE_SO = Path(os.environ.get("MP_MODULE_SO") or REPO / "build" / "mod_python.so")


def _load_launcher():
    # Loaded by path: Debian's own mod_python package in dist-packages must not
    # shadow ours, and the tests must not depend on how sys.path is set up.
    path = REPO / "python" / "mod_python" / "launcher.py"
    spec = importlib.util.spec_from_file_location("mp_test_launcher", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = _load_launcher()
REQUEST_TIMEOUT = 30  # seconds; every HTTP call in the tests has a timeout


def in_directory(*directives: str, path: str = "@DOCROOT@", handler: str = "mod_python") -> str:
    """A ``<Directory>`` section that routes every request to mod_python.

    ``handler=None`` leaves ``SetHandler`` out.
    """
    lines = [f'<Directory "{path}">']
    if handler:
        lines.append(f"    SetHandler {handler}")
    lines += [f"    {d}" for d in directives]
    lines.append("</Directory>")
    return "\n".join(lines) + "\n"


def in_location(location: str, *directives: str, handler: str = "mod_python") -> str:
    """A ``<Location>`` section that routes its URLs to mod_python."""
    lines = [f'<Location "{location}">', f"    SetHandler {handler}"]
    lines += [f"    {d}" for d in directives]
    lines.append("</Location>")
    return "\n".join(lines) + "\n"


# A handler module that reports what it is given as JSON.  Lone surrogates
# (surrogateescape-decoded bytes) survive json.dumps as \udcxx escapes.
JSON_PAGE = textwrap.dedent(
    '''
    import json
    from mod_python import apache


    def send_json(req, data):
        req.content_type = "application/json"
        req.write(json.dumps(data))
        return apache.OK
    '''
)


# "[error]", "[python:error]", "[core:crit]" ...
BAD_LEVEL = re.compile(r"\[(?:[\w.-]*:)?(error|crit|alert|emerg)\]")
# Never acceptable, whatever the test allowed.
FATAL_MARKERS = (
    "Fatal Python error",
    "AddressSanitizer",
    "LeakSanitizer",
    "runtime error:",
    "exit signal",
    "Segmentation fault",
)


# httpd 2.4's event MPM itself sometimes segfaults a child when SIGTERM arrives while the
# child shuts down (reproduced with only mod_mpm_event + mod_authz_core loaded, about 1 in
# 150 start/stop cycles; the crash is in mod_mpm_event closing its listeners). Such a line,
# stamped after the test began stopping the server, is not a crash of ours.  The same
# goes for AH00468: on SIGTERM the event MPM closes the sockets of busy workers to wake
# them, and a worker that then finishes its connection fails to close the socket again;
# or fails to put it back in the (already torn down) pollset for its lingering close or
# keep-alive wait: AH03092 / AH03093 with EBADF, seen when a loaded machine makes the worker
# finish after the test's stop began.
SHUTDOWN_RACE = re.compile(
    r"AH00052: child pid \d+ exit signal Segmentation fault|AH00468: error closing socket"
    r"|\(9\)Bad file descriptor: AH0309[23]: "
)
LOG_TIME = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d\.\d+ \d{4})\]")


def _log_time(line: str):
    match = LOG_TIME.match(line)
    if not match:
        return None
    try:
        return datetime.datetime.strptime(match.group(1), "%a %b %d %H:%M:%S.%f %Y").timestamp()
    except ValueError:
        return None


def find_log_problems(text: str, allowed=(), stopping_since=None) -> list:
    """Lines of an error log that fail a test.

    Crash and sanitizer reports always count (except the known event-MPM shutdown race
    when ``stopping_since`` says when the stop began); error-level lines count unless
    they contain one of the ``allowed`` ids or substrings.
    """
    problems = []
    for line in text.splitlines():
        if stopping_since is not None and SHUTDOWN_RACE.search(line):
            stamp = _log_time(line)
            if stamp is not None and stamp >= stopping_since - 0.05:
                continue
        if any(marker in line for marker in FATAL_MARKERS):
            problems.append(line)
        elif BAD_LEVEL.search(line) and not any(tok in line for tok in allowed):
            problems.append(line)
    return problems
