"""PythonOption, get_config(), PythonPath, the directive directory on sys.path (spec §4, §6)."""

from mphelpers import JSON_PAGE, in_directory, in_location

REPORT = '''
    import sys
    from jsonpage import send_json


    def options(req):
        opts = req.get_options()
        return send_json(req, {k: opts[k] for k in opts.keys()})


    def config(req):
        cfg = req.get_config()
        return send_json(req, {
            "PythonDebug": cfg.get("PythonDebug"),
            "PythonAutoReload": cfg.get("PythonAutoReload"),
        })
'''


def test_python_option_merging_and_unsetting(apache):
    snippet = """
        PythonOption server.level yes
        PythonOption overridden server
        PythonOption removed inherited
        PythonOption removed2 inherited
    """ + in_directory(
        "PythonHandler report::options",
        "PythonOption dir.level 1",
        "PythonOption overridden directory",
        'PythonOption removed ""',
        "PythonOption removed2",
        'PythonOption "spaced key" "a value with spaces"',
    )
    srv = apache(snippet, files={"report.py": REPORT, "jsonpage.py": JSON_PAGE})
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.json() == {
        "server.level": "yes",
        "overridden": "directory",
        "dir.level": "1",
        "spaced key": "a value with spaces",
    }


def test_get_config_flags_are_1_and_0(apache):
    snippet = in_directory(
        "PythonHandler report::config", "PythonDebug On", "PythonAutoReload Off"
    ) + in_directory("PythonDebug Off", "PythonAutoReload On", path="@DOCROOT@/sub", handler=None)
    srv = apache(snippet, files={"report.py": REPORT, "jsonpage.py": JSON_PAGE, "sub/.keep": ""})
    assert srv.get("/x").json() == {"PythonDebug": "1", "PythonAutoReload": "0"}
    assert srv.get("/sub/x").json() == {"PythonDebug": "0", "PythonAutoReload": "1"}


LIB_HANDLER = '''
    import sys
    import libmod
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("%s|%s|%s" % (libmod.VALUE, libmod.__file__, sys.path[-1]))
        return apache.OK
'''


def test_python_path_expression_extends_sys_path(apache):
    snippet = in_location(
        "/app", "PythonPath \"sys.path+['@ROOT@/lib']\"", "PythonHandler libhandler"
    )
    srv = apache(
        snippet,
        files={
            "../lib/libmod.py": "VALUE = 'from lib'\n",
            "../lib/libhandler.py": LIB_HANDLER,
        },
    )
    r = srv.get("/app")
    assert r.status_code == 200
    value, path, last = r.text.split("|")
    assert value == "from lib"
    assert path == str(srv.root / "lib" / "libmod.py")
    assert last == str(srv.root / "lib")


SIBLING_HANDLER = '''
    import sys
    import sibling
    from mod_python import apache


    def handler(req):
        here = "@DOCROOT@/sub"
        req.content_type = "text/plain"
        req.write("%s|%s" % (sibling.VALUE, any(p.rstrip("/") == here for p in sys.path)))
        return apache.OK
'''


def test_directive_directory_is_prepended_to_sys_path(apache):
    srv = apache(
        in_directory("PythonHandler subhandler", path="@DOCROOT@/sub"),
        files={"sub/subhandler.py": SIBLING_HANDLER, "sub/sibling.py": "VALUE = 'sibling'\n"},
    )
    r = srv.get("/sub/x")
    assert (r.status_code, r.text) == (200, "sibling|True")
