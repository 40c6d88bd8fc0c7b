"""mod_python.testhandler: the diagnostic page (spec §19)."""

from mphelpers import in_directory


def test_testhandler_shows_request_config_and_interpreter(apache):
    srv = apache(in_directory("PythonHandler mod_python.testhandler",
                              "PythonOption shown.option yes", "PythonDebug On"))
    r = srv.get("/x?a=1", headers={"X-Probe": "<tag>"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    for text in ("mod_python test handler", "shown.option", "PythonDebug", "127.0.0.1",
                 "X-Probe", "&lt;tag&gt;", "sys.path"):
        assert text in r.text, text
    assert "<tag>" not in r.text  # header values are escaped
