#!/usr/bin/python3
"""Side-by-side throughput benchmark: our mod_python vs. Apache anchors and WSGI peers.

One invocation runs every configuration in its own self-contained server
(Apache: generated config under a temp ServerRoot, same MPM settings for all;
gunicorn/uWSGI: a command line), clean environment, server pinned to one CPU
and wrk to the other(s); rounds are
interleaved. For each instance: check the body, check the first second of load
for errors, warm up, measure keep-alive wrk, record req/s, server CPU per
request, p50/p99 latency and error-log warn/error lines. Prints a markdown table
with ratios and writes results/<timestamp>/.

Entry point: bench/run.sh (checks/installs tools, then runs this file with
/usr/bin/python3). See bench/README.md.

Adding a configuration = one Config(...) line in CONFIGS below (+ a snippet in
conf/ and, if needed, an app in apps/ or a workload in WORKLOADS).
"""

import argparse
import copy
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CONF_DIR = os.path.join(HERE, "conf")
APPS_SRC = os.path.join(HERE, "apps")
WRK_LUA = os.path.join(HERE, "lib", "report.lua")
NULL_SRC = os.path.join(HERE, "modules", "mod_bench_null.c")

APACHE_BIN = "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"
WRK = "/usr/bin/wrk"
PYTHON = "/usr/bin/python3"          # Debian's 3.11 (gunicorn runs as `python3 -m gunicorn`)
UWSGI = "/usr/bin/uwsgi-core"
UWSGI_PY_PLUGIN = "/usr/lib/uwsgi/plugins/python3_plugin.so"
# Our module under test: $MP_MODULE_SO or <repo>/build/mod_python.so
OURS_SO = os.environ.get("MP_MODULE_SO") or os.path.join(REPO, "build", "mod_python.so")
# A/B: another build of our module; every `ours*` config gets a `<id>@b` twin loading it
# (select the twins with --only; they interleave with the originals in every round).
OURS_SO_B = os.environ.get("MP_MODULE_SO_B")

# Every server (and wrk) starts from exactly this environment: no pyenv on PATH,
# no PYTHON* variables, so embedded interpreters resolve Debian's /usr prefix.
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

HELLO = b"Hello, world!\n"


def _flask_page_ok(body):
    """apps/flask_app.py's /page: rendered, autoescaped, the loop and the filters ran."""
    return (body.startswith(b"<!doctype html>") and b"<h1>Workshop inventory</h1>" in body
            and b"bench &lt;client&gt;" in body and b"<td>Epsilon Gauge</td>" in body
            and b"204.74 in total" in body)


# workload name -> (body check, expected Content-Type prefix, description)
WORKLOADS = {
    "hello": (lambda body: body == HELLO, "text/plain", "exactly 'Hello, world!\\n' (14 bytes)"),
    "flask": (_flask_page_ok, "text/html", "Flask 2.2 route rendering a Jinja2 template (873 B)"),
}


# ---------------------------------------------------------------------------
# configurations: one entry each
# ---------------------------------------------------------------------------

BUILT = "@BUILT@"   # marker: module .so compiled by this script at run time


class Config:
    """One configuration under test: an Apache instance, or a stand-alone server command.

    key      short id used in tables and --only
    label    human description
    snippet  Apache config text appended to conf/httpd-base.conf.in: a file name
             in conf/ (or absolute), or inline text containing a newline.
             Placeholders: @ROOT@ (ServerRoot), @APPS@ (copy of apps/), @PORT@,
             @MODDIR@ (Debian's module dir), @CONFIG_ID@, and the keys of `subst`.
    modules  [(module_symbol, absolute .so path or BUILT)], loaded after the base modules
    path     URL path requested; workload: key of WORKLOADS (body check)
    subst    extra {"@KEY@": value} for the snippet / argv (e.g. @MOUNT@, @WSGI_SCRIPT@)
    argv     instead of Apache: the server's command line (same placeholders; the
             items "@RUN_AS@" expand to the user/group options when run as root, see
             RUN_AS_ARGS); needs: files that must exist; stop_signal: what stops it
    compare  for the "x peer" column: the config this one is compared with (same workload)
    default  part of the default set (else select with --only)
    """

    def __init__(self, key, label, snippet="", modules=(), path="/hello", workload="hello",
                 default=True, subst=None, argv=None, needs=(), stop_signal=signal.SIGTERM,
                 compare=None):
        assert workload in WORKLOADS, workload
        self.key, self.label, self.snippet = key, label, snippet
        self.modules, self.path, self.workload, self.default = list(modules), path, workload, default
        self.subst, self.argv, self.needs = dict(subst or {}), argv, list(needs)
        self.stop_signal, self.compare = stop_signal, compare

    @property
    def kind(self):
        return "command" if self.argv else "apache"

    def missing(self):
        """Why this config cannot run here (a module .so or a program is absent), or None."""
        for sym, so in self.modules:
            if so == BUILT:
                if NULL_BUILD["error"]:
                    return NULL_BUILD["error"]
            elif not os.path.isfile(so):
                return "%s not found" % so
        for path in self.needs:
            if not os.path.exists(path):
                return "%s not found" % path
        return None

    def snippet_text(self):
        s = self.snippet
        if "\n" in s:
            return s
        return open(s if os.path.isabs(s) else os.path.join(CONF_DIR, s)).read()


def deb(name):
    return os.path.join(MODDIR, "mod_%s.so" % name)


# @MOUNT@ is the WSGIScriptAlias / <Location> URL, @WSGI_SCRIPT@ / @WSGI_MODULE@ the app
WSGI_HELLO = {"@MOUNT@": "/hello", "@WSGI_SCRIPT@": "hello_wsgi.py", "@WSGI_MODULE@": "hello_wsgi"}
WSGI_FLASK = {"@MOUNT@": "/", "@WSGI_SCRIPT@": "flask_app.py", "@WSGI_MODULE@": "flask_app"}
FLASK_PATH = "/page"

# Peers get Apache's process count (2) and their best keep-alive setup (README, "Peers"):
# gunicorn gthread workers (sync workers close every connection), 8 threads each (fastest
# of 1/2/8/16); uWSGI --http11-socket with 16 threads per process: a uWSGI thread holds
# a keep-alive connection until it closes, so fewer than 32 threads in all would leave
# some of wrk's 32 connections unserved (no threads: 2 connections served, 30 starved).
PEER_PROCS = 2
GUNICORN_THREADS = 8
UWSGI_THREADS = 16
RUN_AS_ARGS = {   # "@RUN_AS@" in argv, when started as root (children never run as root)
    "gunicorn": ["--user", "@USER@", "--group", "@GROUP@"],
    "uwsgi": ["--uid", "@USER@", "--gid", "@GROUP@"],
}


def gunicorn_argv(module, worker="gthread", workers=PEER_PROCS, threads=GUNICORN_THREADS):
    argv = [PYTHON, "-m", "gunicorn", "--bind", "127.0.0.1:@PORT@", "--workers", str(workers),
            "--worker-class", worker, "--chdir", "@APPS@", "--log-level", "warning",
            "--error-logfile", "@ROOT@/logs/error.log", "--pid", "@ROOT@/run/gunicorn.pid",
            "--worker-tmp-dir", "@ROOT@/run", "--keep-alive", "5", "--backlog", "511",
            "@RUN_AS@:gunicorn"]
    if worker == "gthread":
        argv += ["--threads", str(threads)]
    return argv + [module + ":application"]


def uwsgi_argv(module, socket_opt="--http11-socket", threads=UWSGI_THREADS):
    argv = [UWSGI, "--plugin", "python3", "--master", "--processes", str(PEER_PROCS),
            "--chdir", "@APPS@", "--module", module + ":application", "--need-app",
            "--disable-logging", "--die-on-term", "--logto", "@ROOT@/logs/error.log",
            "--listen", "511", "@RUN_AS@:uwsgi", socket_opt, "127.0.0.1:@PORT@"]
    if threads:
        argv += ["--threads", str(threads)]
    return argv


GUNICORN_NEEDS = ["/usr/lib/python3/dist-packages/gunicorn"]
FLASK_NEEDS = ["/usr/lib/python3/dist-packages/flask"]
UWSGI_NEEDS = [UWSGI, UWSGI_PY_PLUGIN]

CONFIGS = [
    Config("ours", "our mod_python: PythonHandler hello_modpython", "modpython_hello.conf",
           [("python_module", OURS_SO)]),
    Config("a0", "Apache C null handler (modules/mod_bench_null.c)", "a0_null.conf",
           [("bench_null_module", BUILT)]),
    Config("a0m", "C null handler, no dir walk + flush (as mod_python)", "a0m_null_nowalk.conf",
           [("bench_null_module", BUILT)]),
    Config("a0w", "C null handler, no dir walk, no flush", "<Location /hello>\n"
           "    SetHandler bench-null\n    BenchNullSkipWalk On\n</Location>\n",
           [("bench_null_module", BUILT)], default=False),
    Config("a0f", "C null handler + flush, with dir walk", "<Location /hello>\n"
           "    SetHandler bench-null-flush\n</Location>\n",
           [("bench_null_module", BUILT)], default=False),
    Config("a", "Apache static file (14 B)", "a_static.conf", path="/hello.txt"),
    Config("c", "Debian mod_python 3.5: PythonHandler hello_modpython", "modpython_hello.conf",
           [("python_module", deb("python"))]),
    Config("e", "Debian mod_wsgi 4.9 embedded: WSGIScriptAlias hello_wsgi", "e_wsgi_embedded.conf",
           [("wsgi_module", deb("wsgi"))], subst=WSGI_HELLO),
    # ---- WSGI: hello world (apps/hello_wsgi.py) ----
    Config("ours-wsgi-hello", "our module: WSGIScriptAlias hello_wsgi", "e_wsgi_embedded.conf",
           [("python_module", OURS_SO)], subst=WSGI_HELLO, compare="e"),
    Config("ours-mpwsgi", "our module: PythonHandler mod_python.wsgi, hello_wsgi",
           "modpython_wsgi.conf", [("python_module", OURS_SO)], subst=WSGI_HELLO, compare="e"),
    Config("d", "Debian mod_python 3.5: mod_python.wsgi, hello_wsgi", "modpython_wsgi.conf",
           [("python_module", deb("python"))], subst=WSGI_HELLO, compare="e", default=False),
    Config("gunicorn", "gunicorn 20.1 gthread %dx%d: hello_wsgi" % (PEER_PROCS, GUNICORN_THREADS),
           argv=gunicorn_argv("hello_wsgi"), path="/hello", needs=GUNICORN_NEEDS,
           stop_signal=signal.SIGQUIT, compare="e"),
    Config("gunicorn-sync", "gunicorn 20.1 sync w=%d (no keep-alive): hello_wsgi" % PEER_PROCS,
           argv=gunicorn_argv("hello_wsgi", "sync"), path="/hello", needs=GUNICORN_NEEDS,
           stop_signal=signal.SIGQUIT, compare="e", default=False),
    Config("uwsgi", "uWSGI 2.0 --http11-socket p=%d t=%d: hello_wsgi" % (PEER_PROCS, UWSGI_THREADS),
           argv=uwsgi_argv("hello_wsgi"), path="/hello", needs=UWSGI_NEEDS,
           stop_signal=signal.SIGINT, compare="e"),
    Config("uwsgi-close", "uWSGI 2.0 --http-socket p=%d, Connection: close: hello_wsgi"
           % PEER_PROCS, argv=uwsgi_argv("hello_wsgi", "--http-socket", 0) + [
               "--add-header", "Connection: close"], path="/hello", needs=UWSGI_NEEDS,
           stop_signal=signal.SIGINT, compare="e", default=False),
    # ---- WSGI: Flask + Jinja2 page (apps/flask_app.py, GET /page) ----
    Config("ours-wsgi-flask", "our module: WSGIScriptAlias / flask_app", "e_wsgi_embedded.conf",
           [("python_module", OURS_SO)], subst=WSGI_FLASK, path=FLASK_PATH, workload="flask",
           needs=FLASK_NEEDS, compare="e-flask"),
    Config("e-flask", "Debian mod_wsgi 4.9 embedded: WSGIScriptAlias / flask_app",
           "e_wsgi_embedded.conf", [("wsgi_module", deb("wsgi"))], subst=WSGI_FLASK,
           path=FLASK_PATH, workload="flask", needs=FLASK_NEEDS, compare="e-flask"),
    Config("ours-mpwsgi-flask", "our module: mod_python.wsgi, flask_app", "modpython_wsgi.conf",
           [("python_module", OURS_SO)], subst=WSGI_FLASK, path=FLASK_PATH, workload="flask",
           needs=FLASK_NEEDS, compare="e-flask", default=False),
    Config("gunicorn-flask", "gunicorn 20.1 gthread %dx%d: flask_app" % (PEER_PROCS, GUNICORN_THREADS),
           argv=gunicorn_argv("flask_app"), path=FLASK_PATH, workload="flask",
           needs=GUNICORN_NEEDS + FLASK_NEEDS, stop_signal=signal.SIGQUIT, compare="e-flask"),
    Config("uwsgi-flask", "uWSGI 2.0 --http11-socket p=%d t=%d: flask_app"
           % (PEER_PROCS, UWSGI_THREADS),
           argv=uwsgi_argv("flask_app"), path=FLASK_PATH, workload="flask",
           needs=UWSGI_NEEDS + FLASK_NEEDS, stop_signal=signal.SIGINT, compare="e-flask"),
    # More go here, one entry each.
]


def ab_twins(configs, so_b):
    """The `<id>@b` twins of the configs that load our module, with `so_b` loaded instead."""
    twins = []
    for c in configs:
        if not any(so == OURS_SO for _, so in c.modules):
            continue
        t = copy.copy(c)
        t.key, t.label, t.default, t.compare = c.key + "@b", c.label + " [B build]", False, c.key
        t.modules = [(sym, so_b if so == OURS_SO else so) for sym, so in c.modules]
        twins.append(t)
    return twins


if OURS_SO_B:
    CONFIGS += ab_twins(CONFIGS, OURS_SO_B)

# (numerator, denominator, informational target on the req/s ratio or None)
RATIOS = [("ours", "a0", 0.95), ("ours", "c", 1.15), ("ours", "e", None), ("ours", "a0m", None),
          ("a0m", "a0", None), ("a", "a0", None), ("c", "a0", None), ("e", "a0", None),
          # WSGI issue targets
          ("ours-wsgi-hello", "e", 2.0), ("ours-wsgi-hello", "a0", 0.8),
          ("ours-wsgi-hello", "uwsgi", None), ("ours-wsgi-hello", "gunicorn", None),
          ("ours-mpwsgi", "e", None), ("ours-mpwsgi", "d", None), ("ours-wsgi-hello", "ours", None),
          ("ours-wsgi-flask", "e-flask", 1.4), ("ours-wsgi-flask", "uwsgi-flask", 1.05),
          ("ours-wsgi-flask", "gunicorn-flask", None), ("uwsgi", "e", None),
          ("gunicorn", "e", None), ("uwsgi-flask", "e-flask", None),
          ("gunicorn-flask", "e-flask", None)]
if OURS_SO_B:
    RATIOS += [(c.key, c.compare, None) for c in CONFIGS if c.key.endswith("@b")]
BASELINE = "a0"   # the "x a0" column
P99_P50_MAX = 3.0   # informational target: p99 <= 3 x p50


# ---------------------------------------------------------------------------
# /proc helpers
# ---------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """(ppid, utime+stime ticks, starttime, state) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rfind(")") + 2:].split()
    return int(f[1]), int(f[11]) + int(f[12]), int(f[19]), f[0]


def proc_tree(root):
    """{pid: proc_stat} for root and all its descendants."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st:
                procs[int(d)] = st
    if root not in procs:
        return {}
    kids = {}
    for pid, st in procs.items():
        kids.setdefault(st[0], []).append(pid)
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in procs and p not in out:
            out[p] = procs[p]
            todo.extend(kids.get(p, []))
    return out


def ctx_switches(pids):
    """Voluntary + involuntary context switches summed over every thread of pids."""
    n = 0
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/status" % (pid, tid)) as fh:
                    for line in fh:
                        if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                            n += int(line.split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return n


def alive(pid, starttime):
    st = proc_stat(pid)
    return st is not None and st[2] == starttime and st[3] != "Z"


def machine_cpu():
    """(busy, total) jiffies over all CPUs from /proc/stat (busy excludes idle+iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def busy_cores(seconds):
    b0, t0 = machine_cpu()
    time.sleep(seconds)
    b1, t1 = machine_cpu()
    return os.cpu_count() * (b1 - b0) / max(1, t1 - t0)


# ---------------------------------------------------------------------------
# one Apache instance
# ---------------------------------------------------------------------------

ALL_SEEN = {}                                  # pid -> starttime of every server process seen
NULL_BUILD = {"path": None, "error": "not built yet"}
LOG_LEVEL_RE = re.compile(r"^\[[^\]]*\] \[(?:[\w.-]*:)?(warn|error|crit|alert|emerg)\]")
LOG_ANY_LEVEL_RE = re.compile(r"^\[[^\]]*\] \[(?:[\w.-]*:)?\w+\]")
UWSGI_TROUBLE_RE = re.compile(r"(?i)error|traceback|exception|segmentation|killed|DAMN|!!!|"
                              r"unable|cannot|failed|respawn|uWSGI listen queue .* full")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin_to(cpus):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


class Instance:
    def __init__(self, cfg, opts):
        self.cfg, self.opts = cfg, opts
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="%s-" % cfg.key, dir=opts.scratch)
        self.proc = None
        self.known = {}            # pid -> starttime (this instance)
        self.stdout = None
        self.profiled = False      # --profile: perf already ran for this instance
        self.round = 0

    def subst(self, text):
        o = self.opts
        table = {"@ROOT@": self.root, "@APPS@": os.path.join(self.root, "apps"),
                 "@PORT@": str(self.port), "@MODDIR@": MODDIR, "@CONFIG_ID@": self.cfg.key,
                 "@MPM@": o.mpm, "@AP_PROCS@": str(o.ap_procs), "@AP_THREADS@": str(o.ap_threads),
                 "@AP_WORKERS@": str(o.ap_procs * o.ap_threads),
                 "@USER@": o.run_user, "@GROUP@": o.run_group}
        table.update(self.cfg.subst)
        for k, v in table.items():
            text = text.replace(k, v)
        return text

    def prepare(self):
        for d in ("htdocs", "logs", "run"):
            os.mkdir(os.path.join(self.root, d))
        shutil.copytree(APPS_SRC, os.path.join(self.root, "apps"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        with open(os.path.join(self.root, "htdocs", "hello.txt"), "wb") as f:
            f.write(HELLO)
        open(os.path.join(self.root, "mime.types"), "w").close()
        # children may run as www-data: everything readable, dirs traversable
        os.chmod(self.root, 0o755)
        for dp, dn, fn in os.walk(self.root):
            for n in dn:
                os.chmod(os.path.join(dp, n), 0o755)
            for n in fn:
                os.chmod(os.path.join(dp, n), 0o644)
        if self.cfg.kind == "command":
            self.argv = []
            for a in self.cfg.argv:
                if a.startswith("@RUN_AS@:"):       # user/group options, only as root
                    if os.geteuid() == 0:
                        self.argv += [self.subst(x) for x in RUN_AS_ARGS[a.split(":", 1)[1]]]
                else:
                    self.argv.append(self.subst(a))
            self.conf_path = None
            return
        if os.geteuid() == 0:
            ug = "User %s\nGroup %s" % (self.opts.run_user, self.opts.run_group)
        else:
            ug = "# (not started as root: children keep the current user)"
        loads = []
        for sym, so in self.cfg.modules:
            loads.append("LoadModule %-18s %s" % (sym, NULL_BUILD["path"] if so == BUILT else so))
        with open(os.path.join(CONF_DIR, "httpd-base.conf.in")) as f:
            conf = f.read()
        conf = conf.replace("@USERGROUP@", ug).replace("@LOADMODULES@", "\n".join(loads))
        conf = self.subst(conf.replace("@SNIPPET@", self.cfg.snippet_text()))
        self.conf_path = os.path.join(self.root, "httpd.conf")
        with open(self.conf_path, "w") as f:
            f.write(conf)
        self.argv = [APACHE_BIN, "-DFOREGROUND", "-f", self.conf_path, "-d", self.root]

    def start(self):
        self.prepare()
        self.stdout = open(os.path.join(self.root, "logs", "stdout.log"), "wb")
        self.proc = subprocess.Popen(self.argv, env=CLEAN_ENV, cwd=self.root,
                                     stdin=subprocess.DEVNULL, stdout=self.stdout,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=pin_to(self.opts.server_cpus))
        self.remember()

    def remember(self):
        """Current process tree; every PID in it is recorded for stop()/final check."""
        if self.proc is None:
            return {}
        t = proc_tree(self.proc.pid)
        for pid, st in t.items():
            self.known[pid] = st[2]
            ALL_SEEN[pid] = st[2]
        return t

    def cpu_ticks(self):
        return sum(st[1] for st in self.remember().values())

    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.cfg.path)

    def fetch(self, timeout=5.0):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", self.cfg.path)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def wait_ready(self, timeout):
        """Poll until 200 with the expected body; returns (headers, body)."""
        check = WORKLOADS[self.cfg.workload][0]
        deadline, last = time.time() + timeout, "no answer"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with status %s" % self.proc.returncode)
            try:
                status, headers, body = self.fetch(timeout=2.0)
                if status == 200 and check(body):
                    self.remember()
                    return headers, body
                last = "HTTP %s, body %r" % (status, body[:200])
                if status < 500:       # wrong body or 4xx: the server is up, waiting won't help
                    break
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.1)
        raise RuntimeError("not ready / wrong response: %s" % last)

    def probe_keepalive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            for _ in range(2):
                c.request("GET", self.cfg.path)
                r = c.getresponse()
                r.read()
                if r.will_close:
                    return False
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            c.close()

    def log_lines(self):
        out = []
        for name in ("error.log", "stdout.log"):
            p = os.path.join(self.root, "logs", name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out += [(name, l.rstrip("\n")) for l in f if l.strip()]
        return out

    def log_problems(self):
        """Apache: error-log lines at warn level or above, plus raw stderr lines (tracebacks).
        gunicorn (--log-level warning): every line. uWSGI (logs its banner): lines that
        look like trouble."""
        bad = []
        for name, l in self.log_lines():
            if self.cfg.kind == "apache":
                if LOG_LEVEL_RE.match(l) or not LOG_ANY_LEVEL_RE.match(l) or "exit signal" in l:
                    bad.append(l)
            elif self.cfg.argv[0] == UWSGI:
                if UWSGI_TROUBLE_RE.search(l):
                    bad.append(l)
            else:
                bad.append(l)
        return bad

    def stop(self):
        if self.proc is None:
            return
        self.remember()
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, self.cfg.stop_signal)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=self.opts.stop_timeout)
            except subprocess.TimeoutExpired:
                log("  %s: server parent %d ignored signal %d for %.0fs; SIGKILL"
                    % (self.cfg.key, self.proc.pid, self.cfg.stop_signal, self.opts.stop_timeout))
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(p, s) for p, s in self.known.items()):
            time.sleep(0.1)
        for p, s in self.known.items():
            if alive(p, s):
                log("  %s: PID %d still alive after stop; SIGKILL" % (self.cfg.key, p))
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.stdout:
            self.stdout.close()
        self.proc = None

    def cleanup(self):
        if not self.opts.keep_tmp:
            shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------
# load generation and measurement
# ---------------------------------------------------------------------------

def run_wrk(opts, url, seconds):
    argv = [WRK, "-t", str(opts.threads), "-c", str(opts.connections), "-d", "%ds" % seconds,
            "--timeout", "5s", "-s", WRK_LUA, url]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, capture_output=True, text=True, env=CLEAN_ENV,
                       preexec_fn=pin_to(opts.wrk_cpus), timeout=seconds + 60)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = [l for l in p.stdout.splitlines() if l.startswith("BENCHRESULT ")]
    if p.returncode != 0 or not line:
        raise RuntimeError("wrk failed (rc=%s): %s %s" % (p.returncode, p.stdout[-400:],
                                                          p.stderr[-400:]))
    r = json.loads(line[-1][len("BENCHRESULT "):])
    r["wrk_cpu_s"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    secs = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / secs if secs else 0.0
    r["sock_errors"] = r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"]
    return r


WAITED = [0.0]


def wait_quiet(opts):
    """Before an instance: wait (bounded) until other processes use < --quiet-threshold cores."""
    if opts.quiet_wait <= 0:
        return None
    t0 = time.time()
    deadline = t0 + min(opts.quiet_wait, max(0.0, opts.max_total_wait - WAITED[0]))
    load = busy_cores(0.5)
    while load > opts.quiet_threshold and time.time() < deadline:
        log("  box busy (%.2f cores used by other processes); waiting" % load)
        load = busy_cores(2.0)
    WAITED[0] += time.time() - t0
    return round(load, 3)


PERF = "/usr/bin/perf"
PERF_LINE_RE = re.compile(r"^\s*([\d.]+)%\s+(.*?)\s*$")


def start_profile(inst, opts):
    """--profile: `perf record` (cpu-clock, every thread of the server's processes) for the
    first measured run of each instance; perf itself runs on wrk's CPU."""
    if not opts.profile or inst.profiled:
        return None
    inst.profiled = True
    data = os.path.join(opts.outdir, "perf-%s-r%d.data" % (inst.cfg.key, inst.round + 1))
    pids = ",".join(str(p) for p in sorted(inst.remember()))
    argv = [PERF, "record", "-q", "-e", "cpu-clock", "-F", str(opts.profile_freq), "-p", pids,
            "-o", data]
    if opts.profile_callgraph != "none":
        argv += ["--call-graph", opts.profile_callgraph]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=pin_to(opts.wrk_cpus))
    time.sleep(0.3)                      # let perf attach to every thread before the load
    if p.poll() is not None:
        log("  perf record failed: %s" % p.stderr.read().decode(errors="replace")[-300:])
        return None
    return p, data


def perf_table(data, sort, us_per_req, limit):
    """perf report --sort <sort> as [(percent, text, us_per_req)], self time only."""
    out = subprocess.run([PERF, "report", "-i", data, "--no-children", "--sort", sort, "--stdio",
                          "-g", "none", "--percent-limit", str(limit)],
                         capture_output=True, text=True, timeout=600).stdout
    rows = []
    for line in out.splitlines():
        m = PERF_LINE_RE.match(line)
        if m and not line.lstrip().startswith("#"):
            pct = float(m.group(1))
            rows.append((pct, m.group(2), pct / 100 * us_per_req if us_per_req else None))
    return rows


def finish_profile(prof, inst, opts, r):
    if not prof:
        return
    p, data = prof
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    us = r.get("cpu_us_per_req")
    path = os.path.join(opts.outdir, "profile-%s.txt" % inst.cfg.key)
    with open(path, "w") as f:
        f.write("# %s (%s): perf record -e cpu-clock -F %d on the server's processes during "
                "the measured run of round %d\n# %.0f req/s, %.1f µs server CPU per request "
                "(perf running); µs/req = share x that\n\n"
                % (inst.cfg.key, inst.cfg.label, opts.profile_freq, inst.round + 1,
                   r["rps"], us or 0))
        for sort, title, limit in (("dso", "by shared object", 0.1),
                                   ("dso,sym", "top symbols (self time)", 0.2)):
            rows = perf_table(data, sort, us, limit)
            f.write("## %s\n\n%8s %8s  %s\n" % (title, "share", "µs/req", sort))
            for pct, text, u in rows[:opts.profile_top if sort != "dso" else 30]:
                f.write("%7.2f%% %8s  %s\n" % (pct, "-" if u is None else "%.2f" % u, text))
            f.write("\n")
    if not opts.keep_perf_data:
        os.unlink(data)
    log("  profile written: %s" % path)


def measure_once(inst, opts, seconds):
    prof = start_profile(inst, opts)
    cs0 = ctx_switches(inst.remember())
    t0, c0, m0 = time.time(), inst.cpu_ticks(), machine_cpu()
    r = run_wrk(opts, inst.url(), seconds)
    c1, t1, m1 = inst.cpu_ticks(), time.time(), machine_cpu()
    cs1 = ctx_switches(inst.remember())
    r["cs_per_req"] = (cs1 - cs0) / r["requests"] if r["requests"] else None
    wall = t1 - t0
    r["srv_cpu_s"] = (c1 - c0) / CLK_TCK
    r["srv_util"] = r["srv_cpu_s"] / wall
    r["wrk_util"] = r["wrk_cpu_s"] / wall
    busy = os.cpu_count() * (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
    # CPU (cores) used by anything but the server tree and wrk during the run
    r["foreign_cores"] = busy - r["srv_util"] - r["wrk_util"]
    r["cpu_us_per_req"] = r["srv_cpu_s"] * 1e6 / r["requests"] if r["requests"] else None
    r["profiled"] = prof is not None
    finish_profile(prof, inst, opts, r)
    return r


def measure(inst, opts):
    tries = []
    for attempt in range(opts.retries + 1):
        r = measure_once(inst, opts, opts.duration)
        r["attempt"] = attempt
        tries.append(r)
        if r["foreign_cores"] <= opts.foreign_limit or attempt == opts.retries:
            break
        log("  %s: other processes used %.2f cores during the run; measuring again"
            % (inst.cfg.key, r["foreign_cores"]))
        wait_quiet(opts)
    best = min(tries, key=lambda x: x["foreign_cores"])
    best["retries"] = len(tries) - 1
    return best


def run_instance(cfg, opts, rnd, outdir):
    """Start, check, load, measure, stop one instance; returns a record (dict)."""
    rec = {"key": cfg.key, "round": rnd + 1}
    rec["quiet_load"] = wait_quiet(opts)
    inst = CURRENT[0] = Instance(cfg, opts)
    inst.round = rnd
    try:
        inst.start()
        if rnd == 0 and inst.conf_path:
            shutil.copy(inst.conf_path, os.path.join(outdir, "httpd-%s.conf" % cfg.key))
        elif rnd == 0:
            with open(os.path.join(outdir, "cmd-%s.txt" % cfg.key), "w") as fh:
                fh.write(" ".join(inst.argv) + "\n")
        t0 = time.time()
        headers, body = inst.wait_ready(opts.start_timeout)
        rec["startup_s"] = round(time.time() - t0, 3)
        rec["response"] = {"content_type": headers.get("Content-Type"),
                           "content_length": headers.get("Content-Length"),
                           "body_len": len(body), "keepalive": inst.probe_keepalive()}
        procs0 = set(inst.remember())
        # first second of load on a cold server: any non-2xx/3xx or socket error?
        first = run_wrk(opts, inst.url(), 1)
        rec["first_second"] = {k: first[k] for k in ("requests", "err_status", "sock_errors",
                                                     "err_connect", "err_read", "err_write",
                                                     "err_timeout")}
        if opts.warmup > 0:
            run_wrk(opts, inst.url(), opts.warmup)
        rec["ka"] = measure(inst, opts)
        # still serving the right body after the load?
        status, _, body = inst.fetch()
        rec["after_ok"] = status == 200 and WORKLOADS[cfg.workload][0](body)
        procs1 = set(inst.remember())
        rec["procs"] = len(procs1)
        rec["procs_replaced"] = len(procs0 - procs1)
        ka = rec["ka"]
        log("round %d %-6s %8.0f req/s  cpu %5.1f us/req  p50 %5.2f p99 %6.2f ms  "
            "1st-s non2xx/sockerr %d/%d"
            % (rnd + 1, cfg.key, ka["rps"], ka["cpu_us_per_req"] or 0, ka["lat_p50_us"] / 1e3,
               ka["lat_p99_us"] / 1e3, first["err_status"], first["sock_errors"]))
    except Exception as e:   # record, carry on with the next config
        rec["error"] = " ".join(("%s: %s" % (type(e).__name__, e)).split())[:600]
        log("round %d %-6s FAILED: %s" % (rnd + 1, cfg.key, rec["error"]))
        rec["log_tail"] = [l for _, l in inst.log_lines()[-12:]]
        for l in rec["log_tail"][-6:]:
            log("    " + l.replace(inst.root, "<root>"))
    finally:
        inst.stop()
        problems = inst.log_problems()
        rec["log_problem_lines"] = len(problems)
        if "error" in rec and problems:
            last = re.sub(r"^\[[^\]]*\] ", "", problems[-1].replace(inst.root, "<root>"))
            rec["error"] += " | log: " + last[:240]
        if problems:
            with open(os.path.join(outdir, "errorlog-%s-r%d.txt" % (cfg.key, rnd + 1)), "w") as f:
                f.write("\n".join(l.replace(inst.root, "<root>") for l in problems) + "\n")
        inst.cleanup()
        CURRENT[0] = None
    return rec


CURRENT = [None]


# ---------------------------------------------------------------------------
# summary and report
# ---------------------------------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(records, configs):
    out = {}
    for cfg in configs:
        ok = [r for r in records if r["key"] == cfg.key and "ka" in r]
        failed = [r for r in records if r["key"] == cfg.key and "error" in r]
        s = {"key": cfg.key, "label": cfg.label, "rounds_ok": len(ok),
             "failed": [r["error"] for r in failed],
             "log_problem_lines": sum(r.get("log_problem_lines", 0)
                                      for r in records if r["key"] == cfg.key)}
        if ok:
            ka = [r["ka"] for r in ok]
            rps = [x["rps"] for x in ka]
            s.update({
                "rps": med(rps), "rps_min": min(rps), "rps_max": max(rps),
                "cpu_us": med([x["cpu_us_per_req"] for x in ka]),
                "cs_per_req": med([x.get("cs_per_req") for x in ka]),
                "p50_ms": med([x["lat_p50_us"] / 1e3 for x in ka]),
                "p99_ms": med([x["lat_p99_us"] / 1e3 for x in ka]),
                "srv_util": med([x["srv_util"] for x in ka]),
                "wrk_util": med([x["wrk_util"] for x in ka]),
                "foreign_max": max(x["foreign_cores"] for x in ka),
                "ka_err_status": sum(x["err_status"] for x in ka),
                "ka_sock_errors": sum(x["sock_errors"] for x in ka),
                "first_err_status": sum(r["first_second"]["err_status"] for r in ok),
                "first_sock_errors": sum(r["first_second"]["sock_errors"] for r in ok),
                "first_requests_min": min(r["first_second"]["requests"] for r in ok),
                "p99_p50": med([x["lat_p99_us"] / x["lat_p50_us"] for x in ka
                                if x["lat_p50_us"]]),
                "keepalive": all(r["response"]["keepalive"] for r in ok),
                "content_type": ok[0]["response"]["content_type"],
                "after_ok": all(r.get("after_ok") for r in ok),
                "procs_replaced": sum(r.get("procs_replaced", 0) for r in ok),
                "wrk_bound": sum(1 for x in ka if x["wrk_util"] > 0.9 and x["srv_util"] < 0.9),
                "profiled": sum(1 for x in ka if x.get("profiled")),
            })
        out[cfg.key] = s
    return out


def ratio_stats(records, num, den):
    """req/s and CPU ratios num/den: per round (rounds where both ran) and of the medians."""
    by = {}
    for r in records:
        if "ka" in r:
            by[(r["key"], r["round"])] = r["ka"]
    rounds = sorted({rd for (k, rd) in by if k == num} & {rd for (k, rd) in by if k == den})
    if not rounds:
        return None
    rr = [by[(num, rd)]["rps"] / by[(den, rd)]["rps"] for rd in rounds]
    cr = [by[(num, rd)]["cpu_us_per_req"] / by[(den, rd)]["cpu_us_per_req"] for rd in rounds
          if by[(num, rd)]["cpu_us_per_req"] and by[(den, rd)]["cpu_us_per_req"]]
    return {"rounds": len(rounds), "rps_ratio": med(rr), "rps_ratio_min": min(rr),
            "rps_ratio_max": max(rr), "cpu_ratio": med(cr)}


def f(x, fmt="%.0f"):
    return "-" if x is None else fmt % x


def thousands(x):
    return "-" if x is None else "{:,.0f}".format(x)


def markdown(summary, records, configs, skipped, meta, opts):
    L = []
    L.append("## mod_python bench: keep-alive hello world and WSGI pages, %s" % meta["when"])
    L.append("")
    L.append("wrk -t%d -c%d, %d s measured after %d s warm-up, %d round(s) interleaved; "
             "server: %s; Apache %s MPM %d procs x %d threads (same for all Apache configs); "
             "gunicorn/uWSGI: see the labels."
             % (opts.threads, opts.connections, opts.duration, opts.warmup, opts.rounds,
                meta["pinning"], opts.mpm, opts.ap_procs, opts.ap_threads))
    L.append("req/s, CPU, p50/p99 = medians over rounds; ± = half the min-max range; "
             "CPU = user+sys of the whole server process tree per request; cs = voluntary + "
             "involuntary context switches of all its threads per request; "
             "× peer = req/s / the same workload under Debian's mod_wsgi embedded (e, e-flask); "
             "1st s = the first second of load on a fresh server (summed over rounds; "
             "min req = fewest requests served in it).")
    L.append("")
    L.append("| id | configuration | req/s | ± | × %s | × peer | CPU µs/req | cs/req | p50 ms "
             "| p99 ms | p99/p50 | 1st s: non-2xx / sock err / min req | log warn+err lines "
             "| notes |" % BASELINE)
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    base = summary.get(BASELINE, {}).get("rps")
    for cfg in configs:
        s = summary[cfg.key]
        notes = []
        if s.get("rps") is None:
            notes.append("FAILED: " + "; ".join(sorted(set(s["failed"])))[:300])
            L.append("| %s | %s | - | - | - | - | - | - | - | - | - | - | %d | %s |"
                     % (cfg.key, cfg.label, s["log_problem_lines"], " ".join(notes)))
            continue
        peer = summary.get(cfg.compare, {}).get("rps") if cfg.compare else None
        if s["failed"]:
            notes.append("%d round(s) failed: %s" % (len(s["failed"]), s["failed"][0][:150]))
        if s["ka_err_status"] or s["ka_sock_errors"]:
            notes.append("during measurement: %d non-2xx, %d socket errors"
                         % (s["ka_err_status"], s["ka_sock_errors"]))
        if not s["keepalive"]:
            notes.append("server closes keep-alive connections")
        want_ct = WORKLOADS[cfg.workload][1]
        if not (s["content_type"] or "").startswith(want_ct):
            notes.append("Content-Type %s" % s["content_type"])
        if s["p99_p50"] is not None and s["p99_p50"] > P99_P50_MAX:
            notes.append("p99 > %.0f× p50" % P99_P50_MAX)
        if s["first_requests_min"] < 0.1 * s["rps"]:
            notes.append("first second nearly stalled (%d requests)" % s["first_requests_min"])
        if not s["after_ok"]:
            notes.append("wrong response after load")
        if s["procs_replaced"]:
            notes.append("%d server process(es) replaced during the run (crash?)"
                         % s["procs_replaced"])
        if s["wrk_bound"]:
            notes.append("wrk-bound in %d round(s): req/s is a lower bound" % s["wrk_bound"])
        elif s["srv_util"] is not None and s["srv_util"] < 0.9 and opts.server_cpus:
            notes.append("server CPU only %.0f%% busy" % (100 * s["srv_util"]))
        if s["profiled"]:
            notes.append("perf running in %d round(s)" % s["profiled"])
        if s["foreign_max"] > opts.foreign_limit:
            notes.append("other load up to %.2f cores" % s["foreign_max"])
        spread = (s["rps_max"] - s["rps_min"]) / 2
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d / %d / %s | %d "
                 "| %s |" % (
            cfg.key, cfg.label, thousands(s["rps"]), thousands(spread),
            f(s["rps"] / base if base else None, "%.2f"),
            f(s["rps"] / peer if peer else None, "%.2f"), f(s["cpu_us"], "%.1f"),
            f(s["cs_per_req"], "%.2f"),
            f(s["p50_ms"], "%.2f"), f(s["p99_ms"], "%.2f"), f(s["p99_p50"], "%.1f"),
            s["first_err_status"], s["first_sock_errors"], thousands(s["first_requests_min"]),
            s["log_problem_lines"], "; ".join(notes)))
    for key, why in skipped:
        L.append("| %s | %s | skipped | | | | | | | | | | | %s |"
                 % (key, next(c.label for c in CONFIGS if c.key == key), why))
    L.append("")
    L.append("### Ratios")
    L.append("")
    L.append("req/s ratio = median of the per-round ratios (rounds where both ran), range in "
             "brackets; CPU ratio = CPU µs/req of the first / of the second (< 1: cheaper). "
             "Targets are informational, not asserted.")
    L.append("")
    L.append("| ratio | req/s ratio | per-round range | CPU µs/req ratio | target (req/s) |")
    L.append("|---|---:|---:|---:|---|")
    ratios = {}
    for num, den, target in RATIOS:
        if num not in summary or den not in summary:
            continue
        r = ratio_stats(records, num, den)
        ratios["%s/%s" % (num, den)] = r
        if r is None:
            L.append("| %s / %s | - | - | - | %s |" % (num, den,
                                                       "≥ %.2f" % target if target else ""))
            continue
        tgt = ""
        if target:
            tgt = "≥ %.2f: %s" % (target, "met" if r["rps_ratio"] >= target else "NOT met")
        L.append("| %s / %s | %.3f | %.3f – %.3f | %s | %s |" % (
            num, den, r["rps_ratio"], r["rps_ratio_min"], r["rps_ratio_max"],
            f(r["cpu_ratio"], "%.3f"), tgt))
    L.append("")
    return "\n".join(L), ratios


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

LOGFILE = []


def log(msg):
    line = "[%s] %s\n" % (time.strftime("%H:%M:%S"), msg)
    sys.stderr.write(line)
    sys.stderr.flush()
    for fh in LOGFILE:
        fh.write(line)
        fh.flush()


def sh(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=CLEAN_ENV,
                              timeout=20).stdout.strip()
    except Exception as e:   # noqa: BLE001
        return "?(%s)" % e


def file_info(path):
    try:
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:16]
        st = os.stat(path)
        return {"path": path, "sha256_16": digest, "size": st.st_size,
                "mtime": datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")}
    except OSError as e:
        return {"path": path, "error": str(e)}


def versions():
    return {
        "apache": sh([APACHE_BIN, "-v"]).splitlines()[:1],
        "packages": sh(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "apache2-bin",
                        "libapache2-mod-python", "libapache2-mod-wsgi-py3", "libpython3.11",
                        "wrk", "gunicorn", "python3-gunicorn", "uwsgi-core",
                        "uwsgi-plugin-python3", "python3-flask", "python3-jinja2"]).splitlines(),
        "repo_head": sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]) or None,
        "ours_so": file_info(OURS_SO),
        "kernel": platform.release(),
        "cpu": sh(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip(),
        "ncpu": os.cpu_count(),
    }


def build_null_module(builddir):
    apxs = shutil.which("apxs", path=CLEAN_ENV["PATH"]) or shutil.which("apxs2", path=CLEAN_ENV["PATH"])
    if not apxs:
        return None, "apxs not found (apt-get install apache2-dev)"
    os.makedirs(builddir)
    shutil.copy(NULL_SRC, builddir)
    p = subprocess.run([apxs, "-c", "-Wc,-O2", "mod_bench_null.c"], cwd=builddir,
                       capture_output=True, text=True, env=CLEAN_ENV)
    so = os.path.join(builddir, ".libs", "mod_bench_null.so")
    if p.returncode != 0 or not os.path.exists(so):
        return None, "apxs -c failed: " + (p.stdout + p.stderr)[-300:]
    return so, None


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run.sh", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="1 round, 1 s warm-up, 3 s measured (overrides those options)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="measured keep-alive seconds")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up seconds (after the 1 s check)")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c")
    ap.add_argument("--pin", choices=["split", "none"], default="split",
                    help="split: server on the last CPU, wrk on the others")
    ap.add_argument("--mpm", choices=["event", "worker"], default="event",
                    help="Apache MPM of every Apache config (threaded: Python needs threads)")
    ap.add_argument("--ap-procs", type=int, default=2, help="Apache MPM processes")
    ap.add_argument("--ap-threads", type=int, default=64,
                    help="ThreadsPerChild (>= 2 x --connections: see README, first second)")
    ap.add_argument("--only", default="", help="comma-separated config ids, in this order")
    ap.add_argument("--skip", default="", help="comma-separated config ids to leave out")
    ap.add_argument("--list", action="store_true", help="list config ids and exit")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="results parent dir")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the scratch ServerRoots")
    ap.add_argument("--run-user", default="www-data", help="User when started as root")
    ap.add_argument("--run-group", default="www-data", help="Group when started as root")
    ap.add_argument("--start-timeout", type=float, default=30.0)
    ap.add_argument("--stop-timeout", type=float, default=15.0)
    ap.add_argument("--quiet-wait", type=float, default=30.0,
                    help="max seconds to wait before an instance for other load to go (0 = off)")
    ap.add_argument("--quiet-threshold", type=float, default=0.15,
                    help="'quiet' = other processes use fewer cores than this")
    ap.add_argument("--max-total-wait", type=float, default=120.0,
                    help="cap on the total time spent waiting for quiet")
    ap.add_argument("--foreign-limit", type=float, default=0.25,
                    help="measure again if other processes used more cores than this")
    ap.add_argument("--retries", type=int, default=1, help="max re-measurements per instance")
    ap.add_argument("--profile", action="store_true",
                    help="perf record the server during the first measured run of each "
                         "instance; writes profile-<id>.txt (bench/profile.sh)")
    ap.add_argument("--profile-freq", type=int, default=1999, help="perf -F (cpu-clock Hz)")
    ap.add_argument("--profile-top", type=int, default=40, help="symbols listed")
    ap.add_argument("--profile-callgraph", default="none",
                    help="perf --call-graph mode (none, fp, dwarf); flat profile by default")
    ap.add_argument("--keep-perf-data", action="store_true", help="keep perf-<id>-r<n>.data")
    ap.add_argument("--no-install", action="store_true",
                    help="(run.sh) do not apt-get install missing Debian packages")
    o = ap.parse_args(argv)
    if o.quick:
        o.rounds, o.warmup, o.duration = 1, 1, 3
    return o


def main(argv):
    opts = parse_args(argv)
    if opts.list:
        for c in CONFIGS:
            what = " ".join(c.argv[:3]) + " ..." if c.argv else \
                ", ".join(so for _, so in c.modules) or "core"
            print("%-17s %-7s %s  [%s]%s" % (c.key, "default" if c.default else "extra", c.label,
                                              what, "" if c.default else " (--only)"))
        return 0
    ids = {c.key for c in CONFIGS}
    only = [k for k in opts.only.split(",") if k]
    skip = {k for k in opts.skip.split(",") if k}
    bad = [k for k in only + sorted(skip) if k not in ids]
    if bad:
        raise SystemExit("unknown config id(s): %s (see --list)" % ", ".join(bad))
    wanted = [next(c for c in CONFIGS if c.key == k) for k in only] if only else \
        [c for c in CONFIGS if c.default]
    wanted = [c for c in wanted if c.key not in skip]

    ncpu = os.cpu_count()
    if opts.pin == "split" and ncpu >= 2:
        opts.server_cpus, opts.wrk_cpus = {ncpu - 1}, set(range(ncpu - 1))
        pinning = "pinned to CPU %d, wrk to CPU %s" % (ncpu - 1, ",".join(map(str, sorted(opts.wrk_cpus))))
    else:
        opts.server_cpus = opts.wrk_cpus = None
        pinning = "not pinned (server and wrk share %d CPUs)" % ncpu

    when = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(opts.out, when + ("-quick" if opts.quick else "")
                          + ("-profile" if opts.profile else ""))
    os.makedirs(outdir, exist_ok=True)
    opts.outdir = outdir
    if opts.profile and not os.access(PERF, os.X_OK):
        raise SystemExit("--profile needs %s (apt-get install linux-perf)" % PERF)
    LOGFILE.append(open(os.path.join(outdir, "run.log"), "a"))

    opts.scratch = tempfile.mkdtemp(prefix="mp-bench-")
    os.chmod(opts.scratch, 0o755)         # www-data must traverse it
    records, skipped = [], []
    t_start = time.time()
    try:
        if any(so == BUILT for c in wanted for _, so in c.modules):
            so, err = build_null_module(os.path.join(opts.scratch, "build"))
            NULL_BUILD["path"], NULL_BUILD["error"] = so, err
        configs = []
        for c in wanted:
            why = c.missing()
            if why:
                skipped.append((c.key, why))
                log("skipping %s: %s" % (c.key, why))
            else:
                configs.append(c)
        meta = {"when": when, "pinning": pinning, "configs": [c.key for c in configs],
                "skipped": skipped, "versions": versions(),
                "opts": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(opts).items()}}
        with open(os.path.join(outdir, "meta.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
        per = 1 + opts.warmup + opts.duration + 3
        log("%d configs (%s) x %d rounds, ~%.1f min; server %s; results -> %s"
            % (len(configs), ",".join(c.key for c in configs), opts.rounds,
               len(configs) * opts.rounds * per / 60, pinning, outdir))
        with open(os.path.join(outdir, "raw.jsonl"), "w") as raw:
            for rnd in range(opts.rounds):
                k = rnd % max(1, len(configs))
                for cfg in configs[k:] + configs[:k]:     # rotate the order every round
                    rec = run_instance(cfg, opts, rnd, outdir)
                    records.append(rec)
                    raw.write(json.dumps(rec) + "\n")
                    raw.flush()
    except KeyboardInterrupt:
        log("interrupted: stopping the current server")
        if CURRENT[0] is not None:
            CURRENT[0].stop()
            CURRENT[0].cleanup()
        raise
    finally:
        leftovers = [p for p, s in ALL_SEEN.items() if alive(p, s)]
        for p in leftovers:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        still = [p for p, s in ALL_SEEN.items() if alive(p, s)]
        # belt and braces: any process at all still referring to this run's scratch dir?
        for d in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % d, "rb") as fh:
                    if d.isdigit() and opts.scratch.encode() in fh.read():
                        still.append(int(d))
            except OSError:
                pass
        still = sorted(set(still))
        log("process check: %d server PIDs seen, %d alive at the end%s%s"
            % (len(ALL_SEEN), len(leftovers),
               " (killed: %s)" % leftovers if leftovers else "",
               "; STILL ALIVE: %s" % still if still else ""))
        if not opts.keep_tmp:
            shutil.rmtree(opts.scratch, ignore_errors=True)

    meta["elapsed_s"] = round(time.time() - t_start, 1)
    meta["leftover_pids"] = leftovers
    summary = summarize(records, configs)
    md, ratios = markdown(summary, records, configs, skipped, meta, opts)
    md += ("\nProcess check: %d server PIDs seen, %s left running. Wall time %.1f min. "
           "Raw data: %s\n" % (len(ALL_SEEN), len(leftovers) or "none", meta["elapsed_s"] / 60,
                               outdir))
    with open(os.path.join(outdir, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    with open(os.path.join(outdir, "summary.json"), "w") as fh:
        json.dump({"summary": summary, "ratios": ratios}, fh, indent=1)
    with open(os.path.join(outdir, "table.md"), "w") as fh:
        fh.write(md)
    print(md)
    return 0


def _sigterm(signum, frame):
    raise KeyboardInterrupt()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _sigterm)
    sys.exit(main(sys.argv[1:]))
