"""mod_python.psp (spec §14, §20.11, §21): the handler, the PSP API, page globals, includes,
caches, the debug source view and syntax errors."""

import marshal
import os
import re
import time

import pytest

from mphelpers import in_directory

PSP_CONF = ("AddHandler mod_python .psp .psp_", "PythonHandler mod_python.psp")

LOOP_PAGE = """\
<html>
<%
import os
items = ["a", "b"]
for item in items:
    # the text below repeats once per item
%>
<li><%= item %></li>
<%
# this ends the loop
%>
<p>done "quoted" \\n <%-- not shown --%></p>
</html>
"""


def serve(apache, *directives, files, allow_log=()):
    return apache(in_directory(*PSP_CONF, *directives, handler=None), files=files,
                  allow_log=allow_log)


def test_page_text_code_expressions_and_indentation(apache):
    srv = serve(apache, files={"loop.psp": LOOP_PAGE})
    r = srv.get("/loop.psp")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text == ('<html>\n\n<li>a</li>\n\n<li>b</li>\n\n<p>done "quoted" \\n </p>\n'
                      "</html>\n")


def test_text_bytes_are_written_unchanged(apache):
    page = b'<%\nx = 1\n%>\\x41 """ \\ \xff\xfe \xc3\xa9 %> end'
    srv = serve(apache, files={"raw.psp": page})
    r = srv.get("/raw.psp")
    assert r.status_code == 200
    assert r.content == b'\\x41 """ \\ \xff\xfe \xc3\xa9 %> end'


def test_module_namespace_and_file_globals(apache):
    page = "<%= __file__ %>|<%= apache.OK %>|<%= os.sep %>|<%= util.__name__ %>|<%= psp.__class__.__name__ %>"
    srv = serve(apache, files={"g.psp": page})
    r = srv.get("/g.psp")
    assert r.text == f"{srv.docroot}/g.psp|0|/|mod_python.util|PSPInterface"


def test_form_global(apache):
    page = "<%= form.getfirst('name', b'nobody').decode() %>|<%= sorted(form.keys()) %>|<%= req.form is form %>"
    # `form` is created only when the page's top-level code names it
    noform = "<%= globals()['form'] is None %>"
    srv = serve(apache, files={"f.psp": page, "noform.psp": noform})
    assert srv.get("/f.psp?name=bob&empty=").text == "bob|['empty', 'name']|True"
    assert srv.post("/f.psp", data={"name": "post"}).text == "post|['name']|True"
    assert srv.get("/noform.psp?x=1").text == "True"


COUNTER = """\
<%
session.setdefault("count", 0)
session["count"] += 1
%>count=<%= session["count"] %> new=<%= session.is_new() %>"""


def test_session_global_counts_and_is_saved(apache):
    srv = serve(apache, "PythonOption mod_python.session.session_type MemorySession",
                files={"counter.psp": COUNTER, "nosession.psp": "<%= 'session' %>"})
    client = srv.session()
    r = client.get(srv.url("/counter.psp"), timeout=30)
    assert r.text == "count=1 new=True"
    assert "pysid" in r.headers.get("Set-Cookie", "")
    assert client.get(srv.url("/counter.psp"), timeout=30).text == "count=2 new=False"
    assert client.get(srv.url("/counter.psp"), timeout=30).text == "count=3 new=False"
    # a page that does not name `session` creates none
    r = client.get(srv.url("/nosession.psp"), timeout=30)
    assert "Set-Cookie" not in r.headers


def test_session_shared_with_handler_session(apache):
    handler = """
        from mod_python import apache, psp, Session

        def handler(req):
            req.session = Session.Session(req)
            req.session["by_handler"] = "yes"
            psp.PSP(req, filename="page.psp").run()
            req.session.save()
            return apache.OK
    """
    page = "<%= session['by_handler'] %> <%= session is req.session %>"
    srv = apache(in_directory("PythonHandler h",
                              "PythonOption mod_python.session.session_type MemorySession",
                              "PythonPath \"['@DOCROOT@'] + sys.path\""),
                 files={"h.py": handler, "page.psp": page})
    assert srv.get("/anything").text == "yes True"


def test_include_nested_and_relative_to_page_directory(apache):
    files = {
        "inc/main.psp": '<%@ include file="parts/head.html" %>|<% x = 7 %><%= x %>',
        "inc/parts/head.html": 'head <%@ include file="parts/deep.html" %>',
        "inc/parts/deep.html": "deep<%= 1 + 1 %>",
    }
    srv = serve(apache, files=files)
    assert srv.get("/inc/main.psp").text == "head deep2|7"


@pytest.mark.allow_log("MP0100")
def test_include_missing_and_cyclic_are_errors(apache):
    files = {"missing.psp": 'x\n<%@ include file="nothere.html" %>',
             "cycle.psp": '<%@ include file="cycle.psp" %>'}
    srv = serve(apache, files=files)
    assert srv.get("/missing.psp").status_code == 500
    srv.wait_for_log(r"FileNotFoundError.*nothere\.html")
    assert srv.get("/cycle.psp").status_code == 500
    srv.wait_for_log(r"cycle\.psp.*line 1|include cycle")


@pytest.mark.allow_log("MP0100")
def test_python_syntax_error_names_page_and_line(apache):
    page = "<html>\n<%\nx = 1\nif x ==:\n    pass\n%>\n</html>\n"
    srv = serve(apache, files={"bad.psp": page})
    r = srv.get("/bad.psp")
    assert r.status_code == 500
    assert "if x" not in r.text  # PythonDebug Off: no source in the response
    line = srv.wait_for_log(r"MP0100")
    assert "bad.psp" in srv.error_log()
    assert re.search(r'File ".*/bad\.psp", line 4', srv.error_log()), srv.error_log()
    assert "SyntaxError" in srv.error_log()
    assert line


@pytest.mark.allow_log("MP0100")
def test_psp_syntax_error_names_page_and_line(apache):
    page = "one\ntwo\nthree <% never_closed = 1\nfour\n"
    srv = serve(apache, files={"open.psp": page, "badtag.psp": "a\n\n<%@ bogus %>"})
    assert srv.get("/open.psp").status_code == 500
    log = srv.wait_for_log(r"open\.psp")
    assert re.search(r'File ".*/open\.psp", line 3', srv.error_log()), srv.error_log()
    assert "unterminated '<%'" in srv.error_log()
    assert log
    assert srv.get("/badtag.psp").status_code == 500
    assert re.search(r'File ".*/badtag\.psp", line 3', srv.error_log())
    assert "malformed directive" in srv.error_log()


@pytest.mark.allow_log("MP0100")
def test_runtime_error_traceback_points_at_page_line(apache):
    page = "<%\n# nothing is written before the error\n#\nx = 1\ny = x / 0\n%>\ntext\n"
    srv = serve(apache, files={"zero.psp": page})
    assert srv.get("/zero.psp").status_code == 500
    srv.wait_for_log("MP0100")
    assert re.search(r'File ".*/zero\.psp", line 5', srv.error_log()), srv.error_log()
    assert "ZeroDivisionError" in srv.error_log()


def test_error_page_gets_the_exception(apache):
    files = {
        "fails.psp": '<% psp.set_error_page("err.psp") %>before <% raise KeyError("boom") %>',
        "err.psp": "error page: <%= exception[0].__name__ %> <%= exception[1] %>",
        "rooted.psp": '<% psp.set_error_page("/errs/e.psp") %><% 1/0 %>',
        "errs/e.psp": "rooted: <%= exception[0].__name__ %>",
    }
    srv = serve(apache, files=files)
    r = srv.get("/fails.psp")
    assert r.status_code == 200
    assert r.text == "before error page: KeyError 'boom'"
    assert srv.get("/rooted.psp").text == "rooted: ZeroDivisionError"


def test_source_view_only_with_python_debug(apache):
    page = "<b>x</b>\n<%\ny = 1 < 2\n%>\n"
    srv = serve(apache, "PythonDebug On", files={"view.psp": page})
    r = srv.get("/view.psp_")
    assert r.status_code == 200
    assert "<table" in r.text
    assert "y = 1 &lt; 2" in r.text
    assert "&lt;b&gt;x&lt;/b&gt;" in r.text
    assert "req.write(" in r.text
    assert srv.get("/view.psp").text == "<b>x</b>\n\n"
    off = serve(apache, files={"view.psp": page})
    r = off.get("/view.psp_")
    assert r.status_code == 404
    assert "y = 1" not in r.text


def test_cache_reuses_code_until_mtime_changes(apache):
    srv = serve(apache, files={"c.psp": "version one"})
    path = srv.docroot / "c.psp"
    client = srv.session()  # one keep-alive connection: one child, one cache
    assert client.get(srv.url("/c.psp"), timeout=30).text == "version one"
    st = path.stat()
    path.write_text("version two")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert client.get(srv.url("/c.psp"), timeout=30).text == "version one"  # cached
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert client.get(srv.url("/c.psp"), timeout=30).text == "version two"


API_HANDLER = '''
from mod_python import apache, psp, util

def handler(req):
    what = req.args or ""
    req.content_type = "text/plain"
    if what == "string":
        psp.PSP(req, string="s=<%= 6 * 7 %>").run()
    elif what == "bytes":
        psp.PSP(req, string=b"b=<%= x %> \\xff", vars={"x": 1}).run({"x": 2})
    elif what == "relative":
        psp.PSP(req, filename="sub/page.psp", vars={"who": "vars"}).run()
    elif what == "str":
        req.write(str(psp.PSP(req, filename="sub/page.psp", vars={"who": "str"})))
        req.write("|" + req.content_type)
    elif what == "string_include":
        page = '[<%@ include file="' + req.document_root() + '/sub/page.psp" %>]'
        psp.PSP(req, string=page, vars={"who": "inc"}).run()
    elif what == "both":
        try:
            psp.PSP(req, filename="x", string="y")
        except ValueError as exc:
            req.write("ValueError: %s" % exc)
    elif what == "missing":
        psp.PSP(req, filename="nope.psp")
    elif what == "empty_filename":
        shared = {"who": "before"}
        page = psp.PSP(req, filename="", string="<%= who %>", vars=shared)
        shared["who"] = "after"  # vars is kept by reference, as in 3.5
        page.run()
    elif what == "parse":
        req.write(psp.parse("sub/page.psp", req.document_root() + "/"))
    elif what == "parse_abs":
        req.write(psp.parse(req.document_root() + "/sub/page.psp"))
    elif what == "parsestring":
        req.write(psp.parsestring("a<%= b %>") + psp.parsestring(b"\\n<%\\nc\\n%>"))
    elif what == "parsestring_bad":
        try:
            psp.parsestring("x\\n<% y")
        except SyntaxError as exc:
            req.write("%s|%s|%s" % (exc.filename, exc.lineno, exc.msg))
    elif what == "parsestring_type":
        try:
            psp.parsestring(42)
        except TypeError as exc:
            req.write("TypeError")
    elif what == "display":
        psp.PSP(req, string="<i><%= 1 %></i>").display_code()
    elif what == "display_file":
        psp.display_code(req, req.document_root() + "/sub/page.psp")
    return apache.OK
'''


def api_server(apache, allow_log=()):
    return apache(in_directory("PythonHandler api", "PythonPath \"['@DOCROOT@'] + sys.path\""),
                  files={"api.py": API_HANDLER, "sub/page.psp": "hello <%= who %>",
                         "page.psp": "wrong directory"}, allow_log=allow_log)


def test_psp_class_api(apache):
    srv = api_server(apache)
    assert srv.get("/run?string").text == "s=42"
    assert srv.get("/run?bytes").content == b"b=2 \xff"
    assert srv.get("/run?relative").text == "hello vars"
    assert srv.get("/run?string_include").text == "[hello inc]"
    assert srv.get("/run?str").text == "hello str|text/html"
    assert srv.get("/run?both").text == "ValueError: Must specify either filename or string"
    assert srv.get("/run?missing").status_code == 404
    assert srv.get("/run?empty_filename").text == "after"


def test_parse_parsestring_and_display_code(apache):
    srv = api_server(apache)
    assert srv.get("/run?parse").text == 'req.write("""hello """,0); req.write(str( who ),0); req.write("""""",0)\n'
    assert srv.get("/run?parse_abs").text == srv.get("/run?parse").text
    assert srv.get("/run?parsestring").text == (
        'req.write("""a""",0); req.write(str( b ),0); req.write("""""",0)\n'
        'req.write("""\n""",0);\nc\nreq.write("""""",0)\n')
    assert srv.get("/run?parsestring_bad").text == "<string>|2|PSP: unterminated '<%' (no '%>')"
    assert srv.get("/run?parsestring_type").text == "TypeError"
    r = srv.get("/run?display")
    assert "&lt;i&gt;&lt;%= 1 %&gt;&lt;/i&gt;" in r.text
    assert "req.write(str( 1 ),0)" in r.text
    assert "hello &lt;%= who %&gt;" in srv.get("/run?display_file").text


def test_apply_data_and_redirect(apache):
    files = {
        "apply.psp": ("<%\ndef greet(name, greeting='hi'):\n    return '%s %s' % (greeting, name)\n"
                      "# the indentation ends here\n%><%= psp.apply_data(greet) %>"),
        "go.psp": '<% psp.redirect("/elsewhere", permanent=int(form.getfirst("p", "0"))) %>',
        "guarded.psp": '<% psp.set_error_page("err.psp") %><% psp.redirect("/there") %>',
        "err.psp": "error page ran",
    }
    srv = serve(apache, files=files)
    assert srv.get("/apply.psp?name=bob&greeting=hello&x=1").text == "hello bob"
    assert srv.get("/apply.psp?name=ann").text == "hi ann"
    r = srv.get("/go.psp", allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "/elsewhere"
    assert srv.get("/go.psp?p=1", allow_redirects=False).status_code == 301
    # a redirect is not an error: the error page does not replace it
    r = srv.get("/guarded.psp", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, "/there")
    assert "error page ran" not in r.text


def test_dbm_cache_stores_marshalled_code(apache):
    srv = serve(apache, "PythonOption mod_python.psp.cache_database_filename @ROOT@/run/pspcache",
                files={"d.psp": "dbm <%= 1 + 1 %>"})
    assert srv.get("/d.psp").text == "dbm 2"
    import dbm
    dbfile = str(srv.root / "run" / "pspcache")
    with dbm.open(dbfile, "r") as db:
        record = db[str(srv.docroot / "d.psp").encode()]
    stamp, _, payload = record.partition(b" ")
    assert float(stamp) == (srv.docroot / "d.psp").stat().st_mtime
    assert isinstance(marshal.loads(payload), type((lambda: 0).__code__))
    # served from the dbm file (shared by all children) while the mtime is unchanged
    path = srv.docroot / "d.psp"
    st = path.stat()
    path.write_text("changed")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    for _ in range(3):
        assert srv.get("/d.psp").text == "dbm 2"
    # an entry that does not load is ignored and rebuilt
    with dbm.open(dbfile, "w") as db:
        db[str(path).encode()] = repr(st.st_mtime).encode() + b" not marshal data"
    assert srv.get("/d.psp").text == "changed"


def test_legacy_dbm_option(apache):
    srv = serve(apache, "PythonOption PSPDbmCache @ROOT@/run/legacy", files={"l.psp": "legacy"})
    assert srv.get("/l.psp").text == "legacy"
    assert any(name.startswith("legacy") for name in os.listdir(srv.root / "run"))


def test_precompiled_pspc_used_when_newer_and_valid(apache):
    srv = serve(apache, files={"pre.psp": "from source", "junk.psp": "junk source"})
    code = compile('req.write("precompiled")', str(srv.docroot / "pre.psp"), "exec")
    later = time.time() + 5
    for name in ("pre.psc", "junk.psc"):
        (srv.docroot / name).write_bytes(marshal.dumps(code) if name == "pre.psc" else b"\x00garbage")
        os.utime(srv.docroot / name, (later, later))
    assert srv.get("/pre.psp").text == "precompiled"
    assert srv.get("/junk.psp").text == "junk source"
    older = time.time() - 100
    os.utime(srv.docroot / "pre.psc", (older, older))
    assert srv.get("/pre.psp").text == "from source"


def test_demo_page_form_and_session_counter(apache):
    """examples/psp/demo.psp (shown by `make serve`) with the configuration of site.conf."""
    from mphelpers import REPO

    demo = (REPO / "examples" / "psp" / "demo.psp").read_bytes()
    srv = apache(in_directory("AddHandler mod_python .psp", "PythonHandler mod_python.psp",
                              path="@DOCROOT@/psp", handler=None),
                 files={"psp/demo.psp": demo})
    with srv.session() as client:
        first = client.get(srv.url("/psp/demo.psp"), timeout=30)
        second = client.post(srv.url("/psp/demo.psp"), data={"name": "<Ada>"}, timeout=30)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "<strong>1</strong> time(s)" in first.text and "Hello," not in first.text
    assert "<strong>2</strong> time(s)" in second.text
    assert "Hello, &lt;Ada&gt;!" in second.text
    assert 'value="&lt;Ada&gt;"' in second.text


def test_psp_module_of_3_5_is_importable(apache):
    # 3.5 shipped the generator as the extension module mod_python._psp.
    handler = '''
        from mod_python import _psp, psp


        def handler(req):
            code = _psp.parsestring("a<%= 1 + 1 %>b")
            req.write("%s|%s" % (code == psp.parsestring("a<%= 1 + 1 %>b"), "req.write" in code))
            return 0
    '''
    srv = apache(in_directory("PythonHandler gen"), files={"gen.py": handler})
    assert srv.get("/x").text == "True|True"


def test_a_runtime_error_after_page_text_is_a_500(apache):
    # The page's text is held back (written without flush), so the error page replaces it.
    srv = serve(apache, files={"bad.psp": "<html>text before\n<%= 1/0 %>\n"},
                allow_log=("MP0100",))
    r = srv.get("/bad.psp")
    assert r.status_code == 500
    assert "text before" not in r.text and "Internal Server Error" in r.text
    srv.wait_for_log("ZeroDivisionError")


def test_page_globals_of_3_5_and_real_annotations(apache):
    page = ("<%= escape('<a href=\"x\">') %>|"
            "<%\ndef f(x: int):\n    return x\n# the indentation ends here\n%>"
            "<%= f.__annotations__['x'] is int %>")
    more = ("<%= PY2 %>|<%= tempdir == tempfile.gettempdir() %>|<%= path_split('/a/b')[1] %>|"
            "<%= str2code(code2str(compile('1 + 1', 'x', 'eval'))).co_filename %>")
    srv = serve(apache, files={"g.psp": page, "more.psp": more})
    assert srv.get("/g.psp").text == "&lt;a href=&quot;x&quot;&gt;|True"
    assert srv.get("/more.psp").text == "False|True|b|x"
