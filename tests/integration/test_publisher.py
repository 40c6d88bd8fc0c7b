"""mod_python.publisher (spec §15, §20.8, §21)."""

import base64
import os
import time

import pytest

from mphelpers import in_directory

PAGE = '''
    import os
    import re
    from os import system
    from os.path import join
    from helper import helper_func

    DATA = {"a": 1}
    TEXT = "plain text"
    from helper import exported
    __all__ = ["exported"]


    def index(req):
        return "index page"


    def hello(req, name="world", extra=None):
        # Form values arrive as str (3.5 passed the query's as str), multipart ones too.
        return "hello %s extra=%s" % (name, extra)


    def kinds(req, a, b=None):
        return "%s:%s %s" % (type(a).__name__, a, type(b).__name__)


    from helper import Base


    class Local(Base):
        pass


    local = Local()
    library = Base()


    def form_keys(req):
        return ",".join(sorted(req.form.keys()))


    def raw(req):
        return b"\\x00\\x01raw"


    def html(req):
        return "<html><body>hi</body></HTML>  \\n"


    def typed(req):
        req.content_type = "application/json"
        return "{}"


    def nothing(req):
        return None


    def _private(req):
        return "secret"


    class Obj:
        attr = "attribute"

        def method(self, req):
            return "method called"


    obj = Obj()


    def gen_text(req):
        return "x" * 50
'''

AUTH_PAGE = '''
    import functools

    __auth_realm__ = "Module Realm"


    def logged(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)
        return wrapper


    @logged
    def decorated(req):
        __access__ = ["bob"]
        return "decorated ok"


    def with_defaults(req):
        def __access__(req, user, allowed=("alice",)):
            return user in allowed
        return "must not run either"


    def __auth__(req, user, passwd):
        return user in ("alice", "bob", "carol") and passwd == "pw"


    def open_to_authenticated(req):
        return "ok " + req.headers_in.get("Authorization", "")[:5]


    def only_bob(req):
        __access__ = ["bob"]
        return "bob only"


    def nested_auth(req):
        __auth_realm__ = "Inner"

        def __auth__(req, user, passwd):
            return user == "carol"

        def __access__(req, user):
            return True

        return "carol only"


    def dict_auth(req):
        __auth__ = {"alice": "pw"}
        __access__ = ("alice",)
        return "dict ok"


    def undeterminable(req):
        __access__ = compute()
        return "must not run"


    def compute():
        return True


    def dead_store(req):
        return "must not run"
        __auth__ = {"nobody": "x"}


    def if_false(req):
        if False:
            __access__ = ["nobody"]
        return "must not run"


    class Secured:
        __auth_realm__ = "Object Realm"

        def __access__(self, req, user):
            return user == "alice"

        def show(self, req):
            return "secured show"


    secured = Secured()
'''

HELPER = '''
    def helper_func(req):
        return "imported helper"


    def exported(req):
        return "exported helper"


    class Base:
        def login(self, req):
            return "login of " + type(self).__name__
'''


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# The test configuration denies *.py as static files; publisher pages are .py URLs.
ALLOW_PY = '<FilesMatch "\\.py$">\n    Require all granted\n</FilesMatch>\n'


def serve(apache, *directives, files=None):
    return apache(
        ALLOW_PY + in_directory("AddHandler mod_python .py", "PythonHandler mod_python.publisher",
                     *directives, handler=None),
        files=files or {"page.py": PAGE, "auth.py": AUTH_PAGE, "helper.py": HELPER},
    )


def test_function_with_form_arguments(apache):
    srv = serve(apache)
    r = srv.get("/page.py/hello?name=bob&extra=1&ignored=2")
    assert r.status_code == 200
    assert r.text == "hello bob extra=1"
    assert r.headers["Content-Type"].startswith("text/plain")
    r = srv.post("/page.py/hello", data={"name": "post"})
    assert r.text == "hello post extra=None"
    r = srv.post("/page.py/kinds?b=2", files={"a": (None, "caf\xe9".encode())})
    assert r.content.decode() == "str:caf\xe9 str"
    assert srv.get("/page.py/form_keys?b=&a=1").text == "a,b"


def test_index_and_module_without_suffix(apache):
    srv = serve(apache)
    assert srv.get("/page.py").text == "index page"
    assert srv.get("/page.py/").text == "index page"
    assert srv.get("/page.py/obj/method").text == "method called"
    assert srv.get("/page.py/obj/attr").text == "attribute"
    assert srv.get("/page.py/TEXT").text == "plain text"


def test_bytes_written_raw_and_content_type(apache):
    srv = serve(apache)
    r = srv.get("/page.py/raw")
    assert r.content == b"\x00\x01raw"
    r = srv.get("/page.py/html")
    assert r.headers["Content-Type"].startswith("text/html")
    r = srv.get("/page.py/typed")
    assert r.headers["Content-Type"] == "application/json"


def test_nothing_published(apache):
    srv = serve(apache)
    r = srv.get("/page.py/nothing")
    assert r.status_code == 200 and r.text == ""


def test_method_not_allowed(apache):
    srv = serve(apache)
    r = srv.session().request("PUT", srv.url("/page.py/hello"), timeout=30)
    assert r.status_code == 405


@pytest.mark.parametrize("path,status", [
    ("/page.py/_private", 403),
    ("/page.py/obj/__class__", 403),
    ("/page.py/hello/__globals__", 403),
    ("/page.py/hello/__code__", 403),
    ("/page.py/obj/method/__func__", 403),
    ("/page.py/os", 403),
    ("/page.py/os/system", 403),
    ("/page.py/re", 403),
    ("/page.py/system", 403),
    ("/page.py/DATA/keys", 403),
    ("/page.py/Obj", 403),
    ("/page.py/helper_func", 403),
    ("/page.py/hello/func_code", 403),
    ("/page.py/missing", 404),
    ("/page.py/obj/missing", 404),
    ("/nosuchpage.py/x", 404),
])
def test_security_refusals(apache, path, status):
    srv = serve(apache)
    r = srv.get(path)
    assert r.status_code == status, (path, r.text)
    assert "def hello" not in r.text and "import os" not in r.text


def test_imported_function_listed_in_all_or_option(apache):
    srv = serve(apache)
    assert srv.get("/page.py/exported").text == "exported helper"
    # Methods of an instance of a class the page defined are the page's, inherited or not.
    assert srv.get("/page.py/local/login").text == "login of Local"
    # An instance of an imported class: its methods are published once the page exports it.
    assert srv.get("/page.py/library/login").status_code == 403
    site = apache(
        ALLOW_PY + in_directory("AddHandler mod_python .py",
                                "PythonHandler mod_python.publisher", handler=None),
        files={"site.py": "from helper import Base\nsite = Base()\n__all__ = ['site']\n",
               "helper.py": HELPER},
    )
    assert site.get("/site.py/site/login").text == "login of Base"
    srv2 = serve(apache, "PythonOption mod_python.publisher.publish_imported On")
    assert srv2.get("/page.py/helper_func").text == "imported helper"


def test_module_level_auth(apache):
    srv = serve(apache)
    r = srv.get("/auth.py/open_to_authenticated")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Module Realm"'
    assert srv.get("/auth.py/open_to_authenticated",
                   headers=_basic("alice", "bad")).status_code == 401
    r = srv.get("/auth.py/open_to_authenticated", headers=_basic("alice", "pw"))
    assert r.status_code == 200 and r.text == "ok Basic"
    r = srv.get("/auth.py/open_to_authenticated", headers={"Authorization": "Basic !!!notb64"})
    assert r.status_code == 400


def test_an_empty_user_name_never_reaches_auth(apache):
    # An __auth__ that binds to a directory may take "" for an anonymous bind (3.5: 401).
    srv = apache(
        ALLOW_PY + in_directory("AddHandler mod_python .py",
                                "PythonHandler mod_python.publisher", handler=None),
        files={"anon.py": "def __auth__(req, user, passwd):\n    return True\n\n"
                          "def page(req):\n    return 'in'\n"},
    )
    assert srv.get("/anon.py/page").status_code == 401
    assert srv.get("/anon.py/page", headers=_basic("", "")).status_code == 401
    assert srv.get("/anon.py/page", headers=_basic("x", "")).text == "in"


def test_nested_access_list(apache):
    srv = serve(apache)
    assert srv.get("/auth.py/only_bob", headers=_basic("alice", "pw")).status_code == 403
    r = srv.get("/auth.py/only_bob", headers=_basic("bob", "pw"))
    assert r.status_code == 200 and r.text == "bob only"


def test_nested_auth_function(apache):
    srv = serve(apache)
    r = srv.get("/auth.py/nested_auth", headers=_basic("alice", "pw"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Inner"'
    r = srv.get("/auth.py/nested_auth", headers=_basic("carol", "pw"))
    assert r.status_code == 200 and r.text == "carol only"


def test_nested_dict_auth(apache):
    srv = serve(apache)
    assert srv.get("/auth.py/dict_auth", headers=_basic("bob", "pw")).status_code == 401
    assert srv.get("/auth.py/dict_auth", headers=_basic("alice", "pw")).text == "dict ok"


@pytest.mark.parametrize("page", ["dead_store", "if_false"])
def test_hook_the_compiler_dropped_fails_closed(apache, page):
    # No store survives in the bytecode, so its value is unknown: 403, never served.
    srv = serve(apache)
    r = srv.get(f"/auth.py/{page}", headers=_basic("alice", "pw"))
    assert r.status_code == 403 and "must not run" not in r.text


def test_undeterminable_hook_fails_closed(apache):
    srv = serve(apache)
    r = srv.get("/auth.py/undeterminable", headers=_basic("alice", "pw"))
    assert r.status_code == 403
    assert "must not run" not in r.text
    srv.wait_for_log("denying access")


def test_decorated_function_hooks(apache):
    srv = serve(apache)
    assert srv.get("/auth.py/decorated", headers=_basic("alice", "pw")).status_code == 403
    assert srv.get("/auth.py/decorated", headers=_basic("bob", "pw")).text == "decorated ok"


def test_nested_hook_with_defaults_fails_closed(apache):
    srv = serve(apache)
    assert srv.get("/auth.py/with_defaults", headers=_basic("alice", "pw")).status_code == 403


def test_object_access_hook(apache):
    srv = serve(apache)
    assert srv.get("/auth.py/secured/show", headers=_basic("bob", "pw")).status_code == 403
    r = srv.get("/auth.py/secured/show", headers=_basic("alice", "pw"))
    assert r.status_code == 200 and r.text == "secured show"


def test_page_reloaded_on_change(apache):
    srv = serve(apache, "PythonDebug On", files={"p.py": "def f(req):\n    return 'one'\n"})
    # One keep-alive connection: the same child serves both requests.
    with srv.session() as s:
        assert s.get(srv.url("/p.py/f"), timeout=30).text == "one"
        path = srv.root / "htdocs" / "p.py"
        path.write_text("def f(req):\n    return 'two'\n")
        future = time.time() + 5
        os.utime(path, (future, future))
        assert s.get(srv.url("/p.py/f"), timeout=30).text == "two"
    srv.wait_for_log(r"Publisher reloading page .*p\.py")


def test_index_py_fallback(apache):
    srv = apache(ALLOW_PY + in_directory("PythonHandler mod_python.publisher"), files={"index.py": "def sub(req):\n    return 'sub of index'\n"
                                            "def index(req):\n    return 'the index'\n"})
    assert srv.get("/sub").text == "sub of index"
    assert srv.get("/index.py").text == "the index"


def test_head_request(apache):
    srv = serve(apache)
    r = requests_head(srv, "/page.py/hello")
    assert r.status_code == 200 and r.content == b""


def requests_head(srv, path):
    return srv.session().head(srv.url(path), timeout=30)


def test_debug_logs_loading_and_nothing_to_publish(apache):
    srv = serve(apache, "PythonDebug On")
    assert srv.get("/page.py/nothing").status_code == 200
    srv.wait_for_log(r"Publisher loading page .*page\.py")
    srv.wait_for_log(r"mod_python\.publisher: nothing to publish\.")


def test_autoreload_off_keeps_page(apache):
    srv = serve(apache, "PythonAutoReload Off", files={"p.py": "def f(req):\n    return 'one'\n"})
    with srv.session() as s:
        assert s.get(srv.url("/p.py/f"), timeout=30).text == "one"
        path = srv.root / "htdocs" / "p.py"
        path.write_text("def f(req):\n    return 'two'\n")
        future = time.time() + 5
        os.utime(path, (future, future))
        assert s.get(srv.url("/p.py/f"), timeout=30).text == "one"


def test_location_handler_keeps_directory_and_files_access_control(apache):
    # A handler in <Location> skips the path_info split, but the <Files>/<Directory>
    # denies for the file its URI names still apply: the publisher must not serve it.
    snippet = ('<Location /pub>\n    SetHandler mod_python\n'
               "    PythonHandler mod_python.publisher\n</Location>\n"
               '<Directory "@DOCROOT@/pub">\n    <Files "*.py">\n        Require all granted\n'
               '    </Files>\n    <Files "secret.py">\n        Require all denied\n'
               "    </Files>\n</Directory>\n"
               '<Directory "@DOCROOT@/pub/private">\n    <Files "*.py">\n'
               "        Require all denied\n    </Files>\n</Directory>\n")
    page = "def index(req):\n    return 'page'\n"
    srv = apache(snippet, files={"pub/page.py": page, "pub/secret.py": page,
                                 "pub/private/page.py": page, "pub/private/index.py": page},
                 allow_log=("AH01630", "AH01797"))
    assert srv.get("/pub/page.py").text == "page"
    assert srv.get("/pub/secret.py").status_code == 403
    assert srv.get("/pub/secret.py/index").status_code == 403
    assert srv.get("/pub/private/page.py").status_code == 403
    # Without the extension the publisher still finds the module; the checks apply to it.
    assert srv.get("/pub/page").text == "page"
    assert srv.get("/pub/secret").status_code == 403
    assert srv.get("/pub/private/page").status_code == 403
    assert srv.get("/pub/private/").status_code == 403  # its index.py


def test_directory_publisher_checks_the_module_it_loads(apache):
    # Configured in <Directory>, /pub/secret/index maps to the file "secret" (path_info
    # "/index"), which no <Files "secret.py"> matches; the module loaded is checked too.
    snippet = ('<Directory "@DOCROOT@/pub">\n    SetHandler mod_python\n'
               "    PythonHandler mod_python.publisher\n"
               '    <Files "secret.py">\n        Require all denied\n    </Files>\n'
               "</Directory>\n")
    page = "def index(req):\n    return 'page'\n\ndef other(req):\n    return 'other'\n"
    srv = apache(snippet, files={"pub/page.py": page, "pub/secret.py": page},
                 allow_log=("AH01630",))
    assert srv.get("/pub/page/other").text == "other"
    assert srv.get("/pub/page").text == "page"
    assert srv.get("/pub/secret/other").status_code == 403
    assert srv.get("/pub/secret").status_code == 403
    assert srv.get("/pub/secret.py/other").status_code == 403
