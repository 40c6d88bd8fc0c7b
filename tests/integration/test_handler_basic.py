"""Content handler dispatch: PythonHandler forms, SetHandler/AddHandler, stacking (§2.2, §2.3)."""

from mphelpers import in_directory

HELLO = '''
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("hello from handler")
        return apache.OK


    def other(req):
        req.content_type = "text/plain"
        req.write("hello from other")
        return apache.OK


    class Holder:
        def __init__(self, prefix):
            self.prefix = prefix

        def handle(self, req):
            req.write(self.prefix + " via bound method")
            return apache.OK


    holder = Holder("instance")


    class Page:
        def __init__(self, req):
            self.req = req

        def render(self, req):
            req.write("class page: same req=%s uri=%s" % (self.req is req, self.req.uri))
            return apache.OK
'''

STACK = '''
    from mod_python import apache


    def a(req):
        req.write("A")
        return apache.OK


    def b(req):
        req.write("B")
        return apache.OK


    def done(req):
        req.write("D")
        return apache.DONE


    def declines(req):
        return apache.DECLINED
'''


def test_default_callable_is_handler(apache):
    srv = apache(in_directory("PythonHandler hello"), files={"hello.py": HELLO})
    r = srv.get("/anything")
    assert r.status_code == 200
    assert r.text == "hello from handler"
    assert r.headers["Content-Type"].startswith("text/plain")


def test_module_and_callable(apache):
    srv = apache(in_directory("PythonHandler hello::other"), files={"hello.py": HELLO})
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "hello from other")


def test_dotted_object_path(apache):
    srv = apache(in_directory("PythonHandler hello::holder.handle"), files={"hello.py": HELLO})
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "instance via bound method")


def test_class_in_object_path_is_instantiated_with_req(apache):
    srv = apache(in_directory("PythonHandler hello::Page.render"), files={"hello.py": HELLO})
    r = srv.get("/page")
    assert (r.status_code, r.text) == (200, "class page: same req=True uri=/page")


def test_python_program_alias(apache):
    srv = apache(
        in_directory("PythonHandler hello", handler="python-program"), files={"hello.py": HELLO}
    )
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "hello from handler")


def test_addhandler_runs_only_for_its_extension(apache):
    srv = apache(
        in_directory("AddHandler mod_python .mp", "PythonHandler hello", handler=None),
        files={"hello.py": HELLO, "page.mp": "not served", "plain.txt": "static text\n"},
    )
    r = srv.get("/page.mp")
    assert (r.status_code, r.text) == (200, "hello from handler")
    r = srv.get("/plain.txt")
    assert (r.status_code, r.text) == (200, "static text\n")


def test_handler_without_sethandler_does_not_run(apache):
    srv = apache(
        in_directory("PythonHandler hello", handler=None),
        files={"hello.py": HELLO, "plain.txt": "static text\n"},
    )
    r = srv.get("/plain.txt")
    assert (r.status_code, r.text) == (200, "static text\n")


def test_stacked_handlers_on_one_line_run_in_order(apache):
    srv = apache(in_directory("PythonHandler stack::a stack::b"), files={"stack.py": STACK})
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "AB")


def test_repeated_directive_appends_to_the_list(apache):
    srv = apache(
        in_directory("PythonHandler stack::b", "PythonHandler stack::a", "PythonHandler stack::b"),
        files={"stack.py": STACK},
    )
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "BAB")


def test_stacking_stops_at_done(apache):
    srv = apache(
        in_directory("PythonHandler stack::a stack::done stack::b"), files={"stack.py": STACK}
    )
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "AD")


def test_stacking_stops_at_declined_and_apache_serves_the_file(apache):
    srv = apache(
        in_directory("PythonHandler stack::declines stack::b"),
        files={"stack.py": STACK, "plain.txt": "static text\n"},
    )
    r = srv.get("/plain.txt")
    assert (r.status_code, r.text) == (200, "static text\n")
    r = srv.get("/missing.txt")
    assert r.status_code == 404


def test_nested_directory_replaces_the_handler_list(apache):
    snippet = in_directory("PythonHandler stack::a stack::b") + in_directory(
        "PythonHandler substack::done", path="@DOCROOT@/sub"
    )
    srv = apache(snippet, files={"stack.py": STACK, "sub/substack.py": STACK})
    assert srv.get("/x").text == "AB"
    assert srv.get("/sub/x").text == "D"
