"""Request phases, stacking, `| .ext`, PythonHandlerModule, req.add_handler (spec §2.1-§2.4).

Phases up to the content handler record ``label=req.phase`` in ``req.notes["trace"]``
(one request_rec for all of them); the content handler reports the trace.  The log
and cleanup phases run after the response is sent, so they append to a trace file
below the server root (``PythonOption trace_file``) that the test polls.
"""

import base64
import time
from pathlib import Path

import pytest

from mphelpers import in_directory

TRACE = '''
    from mod_python import apache


    def note(req, label):
        prev = req.notes.get("trace")
        item = "%s=%s" % (label, req.phase)
        req.notes["trace"] = prev + " " + item if prev else item


    def to_file(req, label):
        with open(req.get_options()["trace_file"], "a") as fh:
            fh.write("%s=%s\\n" % (label, req.phase))


    def report(req):
        req.content_type = "text/plain"
        req.write(req.notes.get("trace") or "")
        return apache.OK
'''

# Every phase with its default callable name (the directives name only the module).
ALLPHASES = '''
    from mod_python import apache
    from mptrace import note, to_file


    def inithandler(req):
        note(req, "init_server")
        return apache.OK


    def postreadrequesthandler(req):
        note(req, "postread")
        return apache.OK


    def transhandler(req):
        note(req, "trans")
        return apache.DECLINED


    def dir_init(req):
        note(req, "init_dir")
        return apache.OK


    def headerparserhandler(req):
        note(req, "headerparser")
        return apache.OK


    def accesshandler(req):
        note(req, "access")
        return apache.OK


    def authenhandler(req):
        note(req, "authen")
        password = req.get_basic_auth_pw()
        if req.user == "alice" and password == "secret":
            return apache.OK
        return apache.HTTP_UNAUTHORIZED


    def authzhandler(req):
        note(req, "authz")
        return apache.OK if req.user == "alice" else apache.HTTP_FORBIDDEN


    def typehandler(req):
        note(req, "type")
        return apache.DECLINED


    def fixuphandler(req):
        note(req, "fixup")
        return apache.OK


    def handler(req):
        note(req, "handler")
        req.content_type = "text/plain"
        req.write(req.notes["trace"])
        return apache.OK


    def loghandler(req):
        to_file(req, "log")
        return apache.OK


    def cleanuphandler(req):
        to_file(req, "cleanup")
        return apache.OK
'''

# mod_auth_basic (loaded before mod_python, same hook order) authenticates first for
# AuthType Basic; as mod_python's documentation says, let it fall through to the Python
# handler: not authoritative, and a user file (empty) that knows nobody.
AUTH = (
    "AuthType Basic",
    'AuthName "mp realm"',
    "AuthBasicAuthoritative Off",
    "AuthUserFile /dev/null",
    "Require valid-user",
)


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def wait_for_lines(path: Path, count: int, timeout: float = 10.0) -> list:
    """The lines of ``path`` once it has at least ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


PYPATH = "PythonPath \"sys.path+['@DOCROOT@']\"\n"


def trace_option():
    return "PythonOption trace_file @ROOT@/run/trace.txt\n"


def test_every_phase_runs_in_order_with_its_phase_name(apache):
    snippet = (
        trace_option()
        + PYPATH
        + "PythonInitHandler allphases\n"
        + "PythonPostReadRequestHandler allphases\n"
        + "PythonTransHandler allphases\n"
        + in_directory(
            *AUTH,
            "PythonInitHandler allphases::dir_init",
            "PythonHeaderParserHandler allphases",
            "PythonAccessHandler allphases",
            "PythonAuthenHandler allphases",
            "PythonAuthzHandler allphases",
            "PythonTypeHandler allphases",
            "PythonFixupHandler allphases",
            "PythonHandler allphases",
            "PythonLogHandler allphases",
            "PythonCleanupHandler allphases",
        )
    )
    srv = apache(snippet, files={"mptrace.py": TRACE, "allphases.py": ALLPHASES})
    r = srv.get("/page", headers=basic("alice", "secret"))
    assert r.status_code == 200, r.text
    assert r.text.split() == [
        "init_server=PythonInitHandler",
        "postread=PythonPostReadRequestHandler",
        "trans=PythonTransHandler",
        "init_dir=PythonInitHandler",
        "headerparser=PythonHeaderParserHandler",
        "access=PythonAccessHandler",
        "authen=PythonAuthenHandler",
        "authz=PythonAuthzHandler",
        "type=PythonTypeHandler",
        "fixup=PythonFixupHandler",
        "handler=PythonHandler",
    ]
    lines = wait_for_lines(srv.root / "run" / "trace.txt", 2)
    assert lines == ["log=PythonLogHandler", "cleanup=PythonCleanupHandler"]


def test_request_object_is_shared_across_phases(apache):
    # One request object per request_rec: attributes set in fixup are seen by the handler.
    module = TRACE + '''

    KEPT = {}


    def fixup(req):
        KEPT["req"] = req
        req.custom_attribute = ["from fixup"]
        return apache.OK


    def handler(req):
        req.content_type = "text/plain"
        req.write("%s|%s|%s" % (KEPT.pop("req") is req, req.custom_attribute, req.phase))
        return apache.OK
    '''
    srv = apache(
        in_directory("PythonFixupHandler keep::fixup", "PythonHandler keep::handler"),
        files={"keep.py": module},
    )
    assert srv.get("/x").text == "True|['from fixup']|PythonHandler"


def test_server_level_init_handler_runs_once_at_post_read_request(apache):
    module = '''
    from mod_python import apache
    from mptrace import note


    def inithandler(req):
        # Before URI translation: no filename yet.
        note(req, "init:%s" % (req.filename is None))
        return apache.OK


    def headerparserhandler(req):
        note(req, "hp")
        return apache.OK
    '''
    snippet = PYPATH + "PythonInitHandler init\n" + in_directory(
        "PythonHeaderParserHandler init", "PythonHandler mptrace::report"
    )
    srv = apache(snippet, files={"mptrace.py": TRACE, "init.py": module})
    assert srv.get("/x").text == "init:True=PythonInitHandler hp=PythonHeaderParserHandler"


def test_directory_level_init_handler_runs_at_header_parser(apache):
    module = '''
    from mod_python import apache
    from mptrace import note


    def inithandler(req):
        # After URI translation and the directory walk.
        note(req, "init:%s" % (req.filename is not None))
        return apache.OK


    def headerparserhandler(req):
        note(req, "hp")
        return apache.OK


    def transhandler(req):
        note(req, "trans")
        return apache.DECLINED
    '''
    snippet = PYPATH + "PythonTransHandler init\n" + in_directory(
        "PythonInitHandler init",
        "PythonHeaderParserHandler init",
        "PythonHandler mptrace::report",
    )
    srv = apache(snippet, files={"mptrace.py": TRACE, "init.py": module})
    assert srv.get("/x").text == (
        "trans=PythonTransHandler init:True=PythonInitHandler hp=PythonHeaderParserHandler"
    )


def test_init_handler_in_location_runs_at_header_parser(apache):
    module = '''
    from mod_python import apache
    from mptrace import note


    def inithandler(req):
        note(req, "init")
        return apache.OK
    '''
    snippet = (
        '<Location "/loc">\n'
        "    SetHandler mod_python\n"
        "    PythonPath \"sys.path+['@DOCROOT@']\"\n"
        "    PythonInitHandler init\n"
        "    PythonHandler mptrace::report\n"
        "</Location>\n"
    )
    srv = apache(snippet, files={"mptrace.py": TRACE, "init.py": module})
    assert srv.get("/loc/x").text == "init=PythonInitHandler"


def test_trans_handler_maps_a_virtual_uri(apache):
    module = '''
    import os
    from mod_python import apache


    def transhandler(req):
        if req.uri.startswith("/virtual/"):
            req.filename = os.path.join("@DOCROOT@", "real", req.uri[len("/virtual/"):])
            return apache.OK
        return apache.DECLINED
    '''
    report = '''
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("%s|%s|%s" % (req.uri, req.filename, req.get_options().get("where")))
        return apache.OK
    '''
    snippet = (
        "PythonPath \"sys.path+['@ROOT@/lib']\"\n"
        "PythonTransHandler trans\n"
        + in_directory("PythonHandler report", "PythonOption where real-dir", path="@DOCROOT@/real")
    )
    srv = apache(
        snippet,
        files={"../lib/trans.py": module, "../lib/report.py": report, "real/a.txt": "a"},
    )
    r = srv.get("/virtual/a.txt")
    assert r.status_code == 200
    # The <Directory> of the translated filename applies: the walk used our filename.
    assert r.text == f"/virtual/a.txt|{srv.docroot}/real/a.txt|real-dir"
    # Not translated: core's translation, outside <Directory real> -> no handler, 404.
    assert srv.get("/other.txt").status_code == 404


def test_access_handler_forbidden(apache):
    module = '''
    from mod_python import apache


    def accesshandler(req):
        if req.args == "deny":
            return apache.HTTP_FORBIDDEN
        return apache.OK


    def handler(req):
        req.write("allowed")
        return apache.OK
    '''
    srv = apache(
        in_directory("PythonAccessHandler acc", "PythonHandler acc"), files={"acc.py": module}
    )
    assert srv.get("/x?deny").status_code == 403
    r = srv.get("/x?ok")
    assert (r.status_code, r.text) == (200, "allowed")


AUTHMOD = '''
    from mod_python import apache


    def authenhandler(req):
        password = req.get_basic_auth_pw()
        if req.args == "ok-without-user":
            return apache.OK
        if req.user in ("alice", "bob") and password == "secret":
            return apache.OK
        return apache.HTTP_UNAUTHORIZED


    def authzhandler(req):
        if req.user == "alice":
            return apache.OK
        return apache.HTTP_FORBIDDEN


    def handler(req):
        req.content_type = "text/plain"
        req.write("%s|%s|%s" % (req.user, req.ap_auth_type, req.auth_name()))
        return apache.OK
'''


def auth_server(apache, *extra):
    return apache(
        in_directory(
            *AUTH, "PythonAuthenHandler auth", "PythonAuthzHandler auth", "PythonHandler auth",
            *extra,
        ),
        files={"auth.py": AUTHMOD},
    )


def test_authen_and_authz_accept_a_user(apache):
    srv = auth_server(apache)
    r = srv.get("/x", headers=basic("alice", "secret"))
    assert (r.status_code, r.text) == (200, "alice|Basic|mp realm")


@pytest.mark.allow_log("AH01630", "AH01631")
def test_authen_401_sends_basic_challenge(apache):
    srv = auth_server(apache)
    for headers in ({}, basic("alice", "wrong"), basic("mallory", "secret")):
        r = srv.get("/x", headers=headers)
        assert r.status_code == 401
        assert r.headers.get("WWW-Authenticate") == 'Basic realm="mp realm"'


@pytest.mark.allow_log("AH01630", "AH01631")
def test_authz_forbidden(apache):
    srv = auth_server(apache)
    r = srv.get("/x", headers=basic("bob", "secret"))
    assert r.status_code == 403


@pytest.mark.allow_log("MP0104", "req->user is NULL")
def test_authen_ok_without_user_is_500_and_logged(apache):
    # mod_auth_basic would set r->user from the header before our handler runs: use an
    # AuthType of our own so that nothing but the Python handler looks at the request.
    srv = apache(
        in_directory(
            "AuthType MPTest", 'AuthName "mp realm"', "Require valid-user",
            "PythonAuthenHandler auth", "PythonHandler auth",
        ),
        files={"auth.py": AUTHMOD},
    )
    r = srv.get("/x?ok-without-user")
    assert r.status_code == 500
    line = srv.wait_for_log(r"req->user is NULL")
    assert (
        "After PythonAuthenHandler req->user is NULL. Assign something to req.user if "
        "returning OK to avoid this error." in line
    )


def test_authen_not_consulted_without_require(apache):
    # Without AuthType/Require nothing needs a user: check_user_id is not run.
    module = '''
    from mod_python import apache


    def authenhandler(req):
        req.notes["authen"] = "ran"
        return apache.HTTP_UNAUTHORIZED


    def handler(req):
        req.write(req.notes.get("authen") or "not run")
        return apache.OK
    '''
    srv = apache(
        in_directory("PythonAuthenHandler au", "PythonHandler au"), files={"au.py": module}
    )
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "not run")


def test_type_handler_sets_content_type(apache):
    module = '''
    from mod_python import apache


    def typehandler(req):
        req.content_type = "application/x-from-type-handler"
        return apache.OK


    def handler(req):
        req.write("%s|%s" % (req.content_type, req.phase))
        return apache.OK
    '''
    srv = apache(
        in_directory("PythonTypeHandler ty", "PythonHandler ty"),
        files={"ty.py": module, "f.mpunknown": "x"},
    )
    # mod_mime's type checker (same hook order, loaded first) answers for known
    # extensions; for an unknown one it declines and the Python type handler decides.
    r = srv.get("/f.mpunknown")
    assert r.text == "application/x-from-type-handler|PythonHandler"
    assert r.headers["Content-Type"] == "application/x-from-type-handler"


def test_cleanup_handler_writes_a_file_the_next_request_reads(apache):
    module = '''
    import os
    from mod_python import apache


    def path(req):
        return req.get_options()["state"]


    def handler(req):
        try:
            with open(path(req)) as fh:
                seen = fh.read()
        except FileNotFoundError:
            seen = "none"
        req.write(seen)
        return apache.OK


    def cleanuphandler(req):
        with open(path(req), "w") as fh:
            fh.write("cleanup of %s in %s" % (req.uri, req.phase))
        return apache.OK
    '''
    srv = apache(
        in_directory(
            "PythonHandler cl",
            "PythonCleanupHandler cl",
            "PythonOption state @ROOT@/run/state.txt",
        ),
        files={"cl.py": module},
    )
    with srv.session() as sess:  # the next request on this connection comes after cleanup
        assert sess.get(srv.url("/first")).text == "none"
        assert sess.get(srv.url("/second")).text == "cleanup of /first in PythonCleanupHandler"


# ---------------------------------------------------------------- stacking rules

# phase -> the results that let the next handler of the list run (spec §2.1).
CONTINUE = {
    "PythonPostReadRequestHandler": {"OK", "DECLINED"},
    "PythonTransHandler": {"DECLINED"},
    "PythonHeaderParserHandler": {"OK", "DECLINED"},
    "PythonInitHandler": {"OK", "DECLINED"},
    "PythonAccessHandler": {"OK", "DECLINED"},
    "PythonAuthenHandler": {"DECLINED"},
    "PythonAuthzHandler": {"DECLINED"},
    "PythonTypeHandler": {"DECLINED"},
    "PythonFixupHandler": {"OK", "DECLINED"},
    "PythonHandler": {"OK"},
    "PythonLogHandler": {"OK", "DECLINED"},
    "PythonCleanupHandler": {"OK"},
}
SERVER_ONLY = {"PythonPostReadRequestHandler", "PythonTransHandler"}
AFTER_RESPONSE = {"PythonLogHandler", "PythonCleanupHandler"}

STACK = TRACE + '''

    import os


    def record(req, label):
        if req.phase in ("PythonLogHandler", "PythonCleanupHandler"):
            to_file(req, label)
        else:
            note(req, label)


    def first(req):
        record(req, "first")
        if req.phase == "PythonTransHandler":
            req.filename = os.path.join(req.document_root(), req.uri.lstrip("/"))
        if req.phase in ("PythonAuthenHandler", "PythonAuthzHandler"):
            req.user = "u"
        code = getattr(apache, req.args)
        if req.phase == "PythonHandler":
            req.content_type = "text/plain"
            req.write((req.notes.get("trace") or "") + ";")
        return code


    def second(req):
        record(req, "second")
        if req.phase == "PythonHandler":
            req.content_type = "text/plain"
            req.write(req.notes.get("trace"))
            return apache.OK
        if req.phase == "PythonTransHandler":
            return apache.DECLINED
        if req.phase in ("PythonAuthenHandler", "PythonAuthzHandler"):
            req.user = "u"
        return apache.OK


    def set_user(req):
        req.user = "u"
        return apache.OK
'''


def stack_server(apache, phase):
    directive = f"{phase} stack::first stack::second"
    dir_directives = ["PythonHandler stack::report"] if phase != "PythonHandler" else []
    if phase in ("PythonAuthenHandler", "PythonAuthzHandler"):
        dir_directives += list(AUTH)
    if phase == "PythonAuthzHandler":
        dir_directives.append("PythonAuthenHandler stack::set_user")
    snippet = trace_option() + PYPATH
    if phase in SERVER_ONLY:
        snippet += directive + "\n"
    else:
        dir_directives.append(directive)
    snippet += in_directory(*dir_directives)
    return apache(snippet, files={"stack.py": STACK, "mptrace.py": TRACE})


@pytest.mark.parametrize("phase", sorted(CONTINUE))
def test_stacked_handlers_continue_rules(apache, phase):
    srv = stack_server(apache, phase)
    trace_file = srv.root / "run" / "trace.txt"
    for code in ("OK", "DECLINED") if phase != "PythonHandler" else ("OK", "DONE"):
        trace_file.unlink(missing_ok=True)
        r = srv.get(f"/page?{code}", headers=basic("u", "pw"))
        assert r.status_code == 200, (code, r.status_code, r.text)
        expected = ["first", "second"] if code in CONTINUE[phase] else ["first"]
        if phase in AFTER_RESPONSE:
            lines = wait_for_lines(trace_file, len(expected))
            time.sleep(0.2)  # a second entry that should not come
            lines = trace_file.read_text().splitlines()
            assert lines == [f"{label}={phase}" for label in expected], code
        elif phase == "PythonHandler":
            # first writes its trace and ";", second (if it runs) the whole trace
            want = "first=PythonHandler;"
            if code == "OK":
                want += "first=PythonHandler second=PythonHandler"
            assert r.text == want, code
        else:
            assert r.text.split() == [f"{label}={phase}" for label in expected], code


# ---------------------------------------------------------------- | .ext

EXT = '''
    from mod_python import apache
    from mptrace import note


    def plain(req):
        note(req, "plain:%s" % req.extension)
        return apache.OK


    def for_txt(req):
        note(req, "txt:%s" % req.extension)
        return apache.OK


    def for_targz(req):
        note(req, "targz:%s" % req.extension)
        return apache.OK
'''


def test_ext_restricted_lists(apache):
    snippet = in_directory(
        "PythonFixupHandler ext::plain",
        "PythonFixupHandler ext::for_txt | .txt .text",
        "PythonFixupHandler ext::for_targz | .tar.gz",
        "PythonHandler mptrace::report",
    )
    srv = apache(snippet, files={"mptrace.py": TRACE, "ext.py": EXT})
    assert srv.get("/a.txt").text == "txt:.txt=PythonFixupHandler"
    assert srv.get("/b.text").text == "txt:.text=PythonFixupHandler"
    # The extension starts at the first dot of the basename.
    assert srv.get("/a.tar.gz").text == "targz:.tar.gz=PythonFixupHandler"
    assert srv.get("/a.gz").text == "plain:None=PythonFixupHandler"
    assert srv.get("/a.html").text == "plain:None=PythonFixupHandler"
    assert srv.get("/noext").text == "plain:None=PythonFixupHandler"


def test_ext_restricted_content_handler_only(apache):
    module = '''
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("python:%s" % req.extension)
        return apache.OK
    '''
    snippet = in_directory("PythonHandler onlypy | .mpy")
    srv = apache(snippet, files={"onlypy.py": module, "page.mpy": "", "page.html": "<p>"})
    assert srv.get("/page.mpy").text == "python:.mpy"
    # No handler for .html: mod_python declines, which is a 500 for SetHandler mod_python.
    assert "python:" not in srv.get("/page.html").text


@pytest.mark.parametrize("directive", ["PythonPostReadRequestHandler", "PythonTransHandler"])
def test_ext_syntax_rejected_for_server_phases(apache, directive):
    with pytest.raises(pytest.fail.Exception) as info:
        apache(f"{directive} mod | .txt\n")
    assert 'does not accept "| .ext" syntax' in str(info.value)


# ---------------------------------------------------------------- PythonHandlerModule

HMODULE = '''
    from mod_python import apache
    from mptrace import note, to_file


    def postreadrequesthandler(req):
        note(req, "postread")
        return apache.OK


    def headerparserhandler(req):
        note(req, "headerparser")
        return apache.OK


    def fixuphandler(req):
        note(req, "fixup")
        return apache.OK


    def handler(req):
        seen_type = req.content_type
        req.content_type = "text/plain"
        req.write("%s %s" % (req.notes.get("trace"), seen_type))
        return apache.OK


    def loghandler(req):
        to_file(req, "log")
        return apache.OK
'''


def test_python_handler_module_registers_every_phase_silently(apache):
    # Missing functions (transhandler, accesshandler, typehandler, ...) are skipped silently.
    snippet = (
        trace_option()
        + "PythonPath \"sys.path+['@DOCROOT@']\"\n"
        + "PythonHandlerModule hmod\n"
        + in_directory("PythonHandlerModule hmod")
    )
    srv = apache(snippet, files={"mptrace.py": TRACE, "hmod.py": HMODULE, "f.html": "static"})
    r = srv.get("/f.html")
    assert r.status_code == 200
    assert r.text.split() == [
        "postread=PythonPostReadRequestHandler",
        "headerparser=PythonHeaderParserHandler",
        "fixup=PythonFixupHandler",
        "text/html",  # no typehandler: the type phase declined, mod_mime set the type
    ]
    assert wait_for_lines(srv.root / "run" / "trace.txt", 1) == ["log=PythonLogHandler"]
    assert "MP0103" not in srv.error_log()


def test_python_handler_module_without_content_handler_declines(apache):
    # Silent mode with no handler() at all: the phase declines and the file is served.
    module = '''
    from mod_python import apache


    def fixuphandler(req):
        req.headers_out["X-Fixup"] = "yes"
        return apache.OK
    '''
    srv = apache(
        in_directory("PythonHandlerModule nohandler", handler=None),
        files={"nohandler.py": module, "f.html": "static"},
    )
    r = srv.get("/f.html")
    assert (r.status_code, r.text, r.headers.get("X-Fixup")) == (200, "static", "yes")


# ---------------------------------------------------------------- req.add_handler

ADD = TRACE + '''

    def access_adds(req):
        note(req, "access")
        # The running phase: joins its list, runs next because access continues on OK.
        req.add_handler("PythonAccessHandler", "add::added_access")
        # A later phase that no directive configures.
        req.add_handler("PythonFixupHandler", "add::fixup")
        return apache.OK


    def added_access(req):
        note(req, "added_access")
        return apache.OK


    def fixup(req):
        note(req, "fixup")
        req.add_handler("PythonFixupHandler", "add::added_fixup")
        # Later phases without configured handlers (SetHandler mod_python is set).
        req.add_handler("PythonHandler", "add::added_handler")
        req.add_handler("PythonLogHandler", "add::added_log")
        # A phase that is already over: no effect.
        req.add_handler("PythonAccessHandler", "add::too_late")
        return apache.OK


    def added_fixup(req):
        note(req, "added_fixup")
        return apache.OK


    def too_late(req):
        note(req, "too_late")
        return apache.OK


    def added_handler(req):
        note(req, "added_handler")
        req.content_type = "text/plain"
        req.write(req.notes["trace"])
        return apache.OK


    def added_log(req):
        to_file(req, "added_log")
        return apache.OK


    def errors(req):
        out = []
        for args in (("PythonCleanupHandler", "add"), ("PythonBogusHandler", "add"),
                     ("PythonConnectionHandler", "add"), ("PythonOutputFilter", "add"),
                     ("PythonHandler",), ("PythonHandler", 42)):
            try:
                req.add_handler(*args)
                out.append("no error")
            except Exception as exc:
                out.append("%s: %s" % (type(exc).__name__, exc))
        req.content_type = "text/plain"
        req.write("\\n".join(out))
        return apache.OK


    def with_dir(req):
        req.add_handler("PythonHandler", "dirmod::handler", "@ROOT@/lib")
        return apache.OK
'''


def test_add_handler_current_and_later_phases(apache):
    srv = apache(
        trace_option()
        + in_directory("PythonAccessHandler add::access_adds"),
        files={"mptrace.py": TRACE, "add.py": ADD},
    )
    r = srv.get("/x")
    assert r.status_code == 200, r.text
    assert r.text.split() == [
        "access=PythonAccessHandler",
        "added_access=PythonAccessHandler",
        "fixup=PythonFixupHandler",
        "added_fixup=PythonFixupHandler",
        "added_handler=PythonHandler",
    ]
    assert wait_for_lines(srv.root / "run" / "trace.txt", 1) == ["added_log=PythonLogHandler"]


def test_add_handler_to_running_phase_stops_with_the_list(apache):
    module = TRACE + '''

    def first(req):
        req.add_handler("PythonHandler", "add2::never")
        req.write("first")
        return apache.DONE


    def never(req):
        req.write("never")
        return apache.OK
    '''
    srv = apache(in_directory("PythonHandler add2::first"), files={"add2.py": module})
    assert srv.get("/x").text == "first"


def test_add_handler_with_directory(apache):
    dirmod = '''
    import sys
    from mod_python import apache


    def handler(req):
        req.write("dirmod from %s|%s" % (__file__, req.hlist.directory))
        return apache.OK
    '''
    srv = apache(
        in_directory("PythonFixupHandler add::with_dir"),
        files={"add.py": ADD, "mptrace.py": TRACE, "../lib/dirmod.py": dirmod},
    )
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.text == f"dirmod from {srv.root}/lib/dirmod.py|{srv.root}/lib/"


def test_add_handler_errors(apache):
    srv = apache(in_directory("PythonHandler add::errors"),
                 files={"add.py": ADD, "mptrace.py": TRACE})
    lines = srv.get("/x").text.splitlines()
    assert lines[0] == "IndexError: Invalid phase: PythonCleanupHandler"
    assert lines[1] == "IndexError: Invalid phase: PythonBogusHandler"
    assert lines[2] == "IndexError: Invalid phase: PythonConnectionHandler"
    assert lines[3] == "IndexError: Invalid phase: PythonOutputFilter"
    assert lines[4].startswith("TypeError")
    assert lines[5].startswith("TypeError")


# ---------------------------------------------------------------- req.hlist

def test_hlist_describes_the_running_entry(apache):
    module = '''
    from mod_python import apache


    def handler(req):
        h = req.hlist
        req.content_type = "text/plain"
        req.write("%s|%s|%s|%s" % (h.handler, h.silent, h.is_location, h.directory))
        return apache.OK
    '''
    srv = apache(in_directory("PythonHandler hl"), files={"hl.py": module})
    handler, silent, is_location, directory = srv.get("/x").text.split("|")
    assert handler == "hl"
    assert silent in ("0", "False") and is_location in ("0", "False")
    assert directory == f"{srv.docroot}/"


# ---------------------------------------------------------------- errors in phases

BOOM = '''
    from mod_python import apache


    def boom(req):
        raise RuntimeError("phase failure marker-%s" % req.phase)


    def report(req):
        req.write("alive")
        return apache.OK


    def cleanup_ok(req):
        return apache.OK
'''

REQUEST_PHASES = [
    "PythonPostReadRequestHandler",
    "PythonTransHandler",
    "PythonInitHandler",
    "PythonHeaderParserHandler",
    "PythonAccessHandler",
    "PythonAuthenHandler",
    "PythonAuthzHandler",
    "PythonTypeHandler",
    "PythonFixupHandler",
    "PythonHandler",
]


@pytest.mark.parametrize("phase", REQUEST_PHASES)
@pytest.mark.allow_log("MP0100")
def test_exception_in_phase_is_500_and_server_keeps_serving(apache, phase):
    directives = [f"{phase} boom::boom"] if phase not in SERVER_ONLY else []
    if phase in ("PythonAuthenHandler", "PythonAuthzHandler"):
        directives += list(AUTH)
    if phase == "PythonAuthzHandler":
        directives.append("PythonAuthenHandler boom::authen")
    snippet = "PythonPath \"sys.path+['@DOCROOT@']\"\n"
    if phase in SERVER_ONLY:
        snippet += f"{phase} boom::boom\n"
    snippet += in_directory(*directives, "PythonHandler boom::report" if phase != "PythonHandler"
                            else "PythonDebug Off")
    module = BOOM + '''

    def authen(req):
        req.user = "someone"
        return apache.OK
    '''
    srv = apache(snippet, files={"boom.py": module})
    for _ in range(3):
        r = srv.get("/x?q", headers=basic("u", "pw"))
        assert r.status_code == 500
        assert "marker" not in r.text
    line = srv.wait_for_log(f"phase failure marker-{phase}")
    assert "MP0100" in line and phase in line


@pytest.mark.parametrize("phase", ["PythonLogHandler", "PythonCleanupHandler"])
def test_exception_after_response_is_logged_only(apache, phase):
    # The response is already out: the client sees 200; the traceback is logged.
    snippet = in_directory(f"{phase} boom::boom", "PythonHandler boom::report")
    srv = apache(snippet, files={"boom.py": BOOM}, allow_log=["marker-Python", "MP01"])
    for _ in range(2):
        r = srv.get("/x")
        assert (r.status_code, r.text) == (200, "alive")
    srv.wait_for_log(f"phase failure marker-{phase}")


@pytest.mark.allow_log("MP0101")
def test_non_int_result_in_fixup_is_500(apache):
    module = '''
    from mod_python import apache


    def fixuphandler(req):
        return "OK"


    def handler(req):
        req.write("not reached")
        return apache.OK
    '''
    srv = apache(in_directory("PythonFixupHandler nonint", "PythonHandler nonint"),
                 files={"nonint.py": module})
    assert srv.get("/x").status_code == 500
    srv.wait_for_log("MP0101")


@pytest.mark.allow_log("MP0102")
def test_missing_module_in_access_phase_is_500(apache):
    srv = apache(
        in_directory("PythonAccessHandler no_such_phase_module", "PythonHandler x"),
        files={"x.py": "def handler(req):\n    return 0\n"},
    )
    assert srv.get("/x").status_code == 500
    assert "no_such_phase_module" in srv.wait_for_log("MP0102")


@pytest.mark.allow_log("MP0103")
def test_missing_callable_in_header_parser_phase_is_500(apache):
    srv = apache(
        in_directory("PythonHeaderParserHandler x::nothing_here", "PythonHandler x"),
        files={"x.py": "def handler(req):\n    return 0\n"},
    )
    assert srv.get("/x").status_code == 500
    assert "nothing_here" in srv.wait_for_log("MP0103")
