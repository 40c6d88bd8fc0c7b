"""PythonImport: runs at child start, in config order, in the named interpreter (spec §5)."""

import pytest

from mphelpers import JSON_PAGE, in_location

# Modules live in <root>/lib; each PythonImport'ed module appends to order.LOG of
# its interpreter, and the handler reports that list.
LIB = {
    "../lib/order.py": "LOG = []\n",
    "../lib/imp_a.py": "import order\norder.LOG.append('a')\n",
    "../lib/imp_b.py": "import order\norder.LOG.append('b')\n",
    "../lib/imp_c.py": (
        "import order\norder.LOG.append('c')\n\n\ndef setup():\n    order.LOG.append('c.setup')\n"
    ),
    "../lib/imp_other.py": "import order\norder.LOG.append('other')\n",
    "../lib/imp_v.py": "import order\norder.LOG.append('v')\n",
    "../lib/jsonpage.py": JSON_PAGE,
    "../lib/report.py": """
        import order
        from jsonpage import send_json


        def handler(req):
            return send_json(req, {"interpreter": req.interpreter, "log": order.LOG})
    """,
}

PATH = "PythonPath \"sys.path+['@ROOT@/lib']\""


def test_imports_run_in_config_order_in_their_interpreters(apache):
    snippet = "\n".join([
        PATH,
        "PythonImport imp_b 127.0.0.1",
        "PythonImport imp_a 127.0.0.1",
        "PythonImport imp_c::setup 127.0.0.1",
        "PythonImport imp_other other_interp",
        in_location("/default", "PythonHandler report"),
        in_location("/other", "PythonInterpreter other_interp", "PythonHandler report"),
    ])
    srv = apache(snippet, files=LIB)
    assert srv.get("/default").json() == {
        "interpreter": "127.0.0.1",
        "log": ["b", "a", "c", "c.setup"],
    }
    assert srv.get("/other").json() == {"interpreter": "other_interp", "log": ["other"]}


def test_import_inside_virtual_host(apache):
    vhost = "\n".join([
        PATH,
        "PythonImport imp_v v.test",
        in_location("/v", "PythonHandler report"),
    ])
    srv = apache("", files=LIB, vhosts={"v.test": vhost})
    r = srv.get("/v", headers={"Host": f"v.test:{srv.port}"})
    assert r.json() == {"interpreter": "v.test", "log": ["v"]}


def test_import_into_main_interpreter(apache):
    snippet = "\n".join([
        PATH,
        "PythonImport imp_a main_interpreter",
        in_location("/main", "PythonInterpreter main_interpreter", "PythonHandler report"),
    ])
    srv = apache(snippet, files=LIB)
    assert srv.get("/main").json() == {"interpreter": "main_interpreter", "log": ["a"]}


@pytest.mark.allow_log("MP0110")
def test_failing_import_is_logged_and_does_not_stop_the_child(apache):
    snippet = "\n".join([
        PATH,
        "PythonImport no_such_module_for_import 127.0.0.1",
        "PythonImport imp_a 127.0.0.1",
        in_location("/default", "PythonHandler report"),
    ])
    srv = apache(snippet, files=LIB)
    assert srv.get("/default").json() == {"interpreter": "127.0.0.1", "log": ["a"]}
    assert "no_such_module_for_import" in srv.wait_for_log("MP0110")


OPTIONS_LIB = {
    "../lib/jsonpage.py": JSON_PAGE,
    "../lib/mark_options.py": """
        from mod_python import apache


        def mark():
            # 3.5 idiom: a PythonImport function leaves a value for the handlers.
            apache.main_server.get_options()["imported::mark"] = "1"
    """,
    "../lib/opts.py": """
        from mod_python import apache
        from jsonpage import send_json


        def handler(req):
            mine = req.get_options()
            mine["set-by-handler"] = "yes"
            return send_json(req, {
                "server_mark": apache.main_server.get_options().get("imported::mark"),
                "req_server_mark": req.server.get_options().get("imported::mark"),
                "options": sorted(mine.keys()),
                "seen_again": req.get_options().get("set-by-handler"),
            })
    """,
}


def test_options_tables_are_live_as_in_3_5(apache):
    snippet = "\n".join([
        PATH,
        "PythonOption kept here",
        "PythonOption cancelled inherited",
        "PythonImport mark_options::mark 127.0.0.1",
        in_location("/opts", "PythonOption cancelled \"\"", "PythonOption local v",
                    "PythonHandler opts"),
    ])
    srv = apache(snippet, files=OPTIONS_LIB)
    for _ in range(3):  # a handler's write is seen within its request, not by the next one
        assert srv.get("/opts").json() == {
            "server_mark": "1",
            "req_server_mark": "1",
            "options": ["kept", "local", "set-by-handler"],
            "seen_again": "yes",
        }
