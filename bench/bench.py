#!/usr/bin/python3
"""Side-by-side throughput benchmark: our mod_python vs. Apache anchors.

One invocation runs every configuration in its own self-contained Apache
instance (generated config under a temp ServerRoot, clean environment, same MPM
settings), server pinned to one CPU and wrk to the other(s); rounds are
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
# Our module under test: $MP_MODULE_SO or <repo>/build/mod_python.so
OURS_SO = os.environ.get("MP_MODULE_SO") or os.path.join(REPO, "build", "mod_python.so")

# Every server (and wrk) starts from exactly this environment: no pyenv on PATH,
# no PYTHON* variables, so embedded interpreters resolve Debian's /usr prefix.
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

HELLO = b"Hello, world!\n"

# workload name -> (body check, description)
WORKLOADS = {
    "hello": (lambda body: body == HELLO, "exactly 'Hello, world!\\n' (14 bytes)"),
    # e.g. later: "flask": (lambda b: b"<h1>" in b and b"Epsilon" in b, "Flask page"),
}


# ---------------------------------------------------------------------------
# configurations: one entry each
# ---------------------------------------------------------------------------

BUILT = "@BUILT@"   # marker: module .so compiled by this script at run time


class Config:
    """One Apache configuration under test.

    key      short id used in tables and --only
    label    human description
    snippet  Apache config text appended to conf/httpd-base.conf.in: a file name
             in conf/ (or absolute), or inline text containing a newline.
             Placeholders: @ROOT@ (ServerRoot), @APPS@ (copy of apps/), @PORT@,
             @MODDIR@ (Debian's module dir), @CONFIG_ID@.
    modules  [(module_symbol, absolute .so path or BUILT)], loaded after the base modules
    path     URL path requested; workload: key of WORKLOADS (body check)
    default  part of the default set (else select with --only)
    """

    def __init__(self, key, label, snippet, modules=(), path="/hello", workload="hello",
                 default=True):
        assert workload in WORKLOADS, workload
        self.key, self.label, self.snippet = key, label, snippet
        self.modules, self.path, self.workload, self.default = list(modules), path, workload, default

    def missing(self):
        """Why this config cannot run here (a module .so is absent), or None."""
        for sym, so in self.modules:
            if so == BUILT:
                if NULL_BUILD["error"]:
                    return NULL_BUILD["error"]
            elif not os.path.isfile(so):
                return "%s not found" % so
        return None

    def snippet_text(self):
        s = self.snippet
        if "\n" in s:
            return s
        return open(s if os.path.isabs(s) else os.path.join(CONF_DIR, s)).read()


def deb(name):
    return os.path.join(MODDIR, "mod_%s.so" % name)


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
    Config("e", "Debian mod_wsgi 4.9 embedded: hello_wsgi", "e_wsgi_embedded.conf",
           [("wsgi_module", deb("wsgi"))]),
    # More go here, one line each, e.g.:
    # Config("ours-wsgi", "our mod_python: WSGI hello", "ours_wsgi.conf", [("python_module", OURS_SO)]),
    # Config("ours-flask", "our mod_python: Flask page", "ours_flask.conf",
    #        [("python_module", OURS_SO)], path="/page", workload="flask", default=False),
]

# (numerator, denominator, informational target on the req/s ratio or None)
RATIOS = [("ours", "a0", 0.95), ("ours", "c", 1.15), ("ours", "e", None), ("ours", "a0m", None),
          ("a0m", "a0", None), ("a", "a0", None), ("c", "a0", None), ("e", "a0", None)]
BASELINE = "a0"   # the "x a0" column


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

    def subst(self, text):
        o = self.opts
        table = {"@ROOT@": self.root, "@APPS@": os.path.join(self.root, "apps"),
                 "@PORT@": str(self.port), "@MODDIR@": MODDIR, "@CONFIG_ID@": self.cfg.key,
                 "@AP_PROCS@": str(o.ap_procs), "@AP_THREADS@": str(o.ap_threads),
                 "@AP_WORKERS@": str(o.ap_procs * o.ap_threads)}
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
                raise RuntimeError("apache exited with status %s" % self.proc.returncode)
            try:
                status, headers, body = self.fetch(timeout=2.0)
                if status == 200 and check(body):
                    self.remember()
                    return headers, body
                last = "HTTP %s, body %r" % (status, body[:200])
                if status == 200:      # wrong body: no point in waiting
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
        """Error-log lines at warn level or above, plus raw stderr lines (tracebacks)."""
        bad = []
        for name, l in self.log_lines():
            if LOG_LEVEL_RE.match(l) or not LOG_ANY_LEVEL_RE.match(l) or "exit signal" in l:
                bad.append(l)
        return bad

    def stop(self):
        if self.proc is None:
            return
        self.remember()
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=self.opts.stop_timeout)
            except subprocess.TimeoutExpired:
                log("  %s: apache parent %d ignored SIGTERM for %.0fs; SIGKILL"
                    % (self.cfg.key, self.proc.pid, self.opts.stop_timeout))
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


def measure_once(inst, opts, seconds):
    t0, c0, m0 = time.time(), inst.cpu_ticks(), machine_cpu()
    r = run_wrk(opts, inst.url(), seconds)
    c1, t1, m1 = inst.cpu_ticks(), time.time(), machine_cpu()
    wall = t1 - t0
    r["srv_cpu_s"] = (c1 - c0) / CLK_TCK
    r["srv_util"] = r["srv_cpu_s"] / wall
    r["wrk_util"] = r["wrk_cpu_s"] / wall
    busy = os.cpu_count() * (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
    # CPU (cores) used by anything but the server tree and wrk during the run
    r["foreign_cores"] = busy - r["srv_util"] - r["wrk_util"]
    r["cpu_us_per_req"] = r["srv_cpu_s"] * 1e6 / r["requests"] if r["requests"] else None
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
    try:
        inst.start()
        if rnd == 0:
            shutil.copy(inst.conf_path, os.path.join(outdir, "httpd-%s.conf" % cfg.key))
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
                "p50_ms": med([x["lat_p50_us"] / 1e3 for x in ka]),
                "p99_ms": med([x["lat_p99_us"] / 1e3 for x in ka]),
                "srv_util": med([x["srv_util"] for x in ka]),
                "wrk_util": med([x["wrk_util"] for x in ka]),
                "foreign_max": max(x["foreign_cores"] for x in ka),
                "ka_err_status": sum(x["err_status"] for x in ka),
                "ka_sock_errors": sum(x["sock_errors"] for x in ka),
                "first_err_status": sum(r["first_second"]["err_status"] for r in ok),
                "first_sock_errors": sum(r["first_second"]["sock_errors"] for r in ok),
                "keepalive": all(r["response"]["keepalive"] for r in ok),
                "content_type": ok[0]["response"]["content_type"],
                "after_ok": all(r.get("after_ok") for r in ok),
                "procs_replaced": sum(r.get("procs_replaced", 0) for r in ok),
                "wrk_bound": sum(1 for x in ka if x["wrk_util"] > 0.9 and x["srv_util"] < 0.9),
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
    L.append("## mod_python bench: keep-alive hello world, %s" % meta["when"])
    L.append("")
    L.append("wrk -t%d -c%d, %d s measured after %d s warm-up, %d round(s) interleaved; "
             "server: %s; Apache event MPM %d procs x %d threads (same for all)."
             % (opts.threads, opts.connections, opts.duration, opts.warmup, opts.rounds,
                meta["pinning"], opts.ap_procs, opts.ap_threads))
    L.append("req/s, CPU, p50/p99 = medians over rounds; ± = half the min-max range; "
             "CPU = user+sys of the whole server process tree per request.")
    L.append("")
    L.append("| id | configuration | req/s | ± | × %s | CPU µs/req | p50 ms | p99 ms "
             "| 1st s: non-2xx / sock err | log warn+err lines | notes |" % BASELINE)
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    base = summary.get(BASELINE, {}).get("rps")
    for cfg in configs:
        s = summary[cfg.key]
        notes = []
        if s.get("rps") is None:
            notes.append("FAILED: " + "; ".join(sorted(set(s["failed"])))[:300])
            L.append("| %s | %s | - | - | - | - | - | - | - | %d | %s |"
                     % (cfg.key, cfg.label, s["log_problem_lines"], " ".join(notes)))
            continue
        if s["failed"]:
            notes.append("%d round(s) failed: %s" % (len(s["failed"]), s["failed"][0][:150]))
        if s["ka_err_status"] or s["ka_sock_errors"]:
            notes.append("during measurement: %d non-2xx, %d socket errors"
                         % (s["ka_err_status"], s["ka_sock_errors"]))
        if not s["keepalive"]:
            notes.append("server closes keep-alive connections")
        if s["content_type"] and not s["content_type"].startswith("text/plain"):
            notes.append("Content-Type %s" % s["content_type"])
        if not s["after_ok"]:
            notes.append("wrong response after load")
        if s["procs_replaced"]:
            notes.append("%d server process(es) replaced during the run (crash?)"
                         % s["procs_replaced"])
        if s["wrk_bound"]:
            notes.append("wrk-bound in %d round(s): req/s is a lower bound" % s["wrk_bound"])
        elif s["srv_util"] is not None and s["srv_util"] < 0.9 and opts.server_cpus:
            notes.append("server CPU only %.0f%% busy" % (100 * s["srv_util"]))
        if s["foreign_max"] > opts.foreign_limit:
            notes.append("other load up to %.2f cores" % s["foreign_max"])
        spread = (s["rps_max"] - s["rps_min"]) / 2
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %d / %d | %d | %s |" % (
            cfg.key, cfg.label, thousands(s["rps"]), thousands(spread),
            f(s["rps"] / base if base else None, "%.2f"), f(s["cpu_us"], "%.1f"),
            f(s["p50_ms"], "%.2f"), f(s["p99_ms"], "%.2f"), s["first_err_status"],
            s["first_sock_errors"], s["log_problem_lines"], "; ".join(notes)))
    for key, why in skipped:
        L.append("| %s | %s | skipped | | | | | | | | %s |"
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
                        "wrk"]).splitlines(),
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
    ap.add_argument("--ap-procs", type=int, default=2, help="event MPM processes")
    ap.add_argument("--ap-threads", type=int, default=32, help="ThreadsPerChild")
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
            print("%-8s %-8s %s  [%s]%s" % (c.key, "default" if c.default else "extra", c.label,
                                             ", ".join(so for _, so in c.modules) or "core",
                                             "" if c.default else " (--only)"))
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
    outdir = os.path.join(opts.out, when + ("-quick" if opts.quick else ""))
    os.makedirs(outdir, exist_ok=True)
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
