"""mod_python.httpdconf: rendering Apache config text from Python objects (no Apache)."""

import subprocess
import sys
from pathlib import Path

import pytest

from mod_python import httpdconf
from mod_python.httpdconf import (
    Comment, Container, ContainerTag, Directive, Directory, Files, IfModule, Listen,
    Location, LogFormat, PythonHandler, PythonInterpPerDirective, PythonInterpPerDirectory,
    PythonOption, PythonPath, SetHandler, VirtualHost, DocumentRoot, write_basic_config,
)


def test_directive_renders_name_and_value():
    assert str(Directive("KeepAlive", "On")) == "KeepAlive On"
    assert str(PythonHandler("mod_python.publisher")) == "PythonHandler mod_python.publisher"
    assert str(Listen(8080)) == "Listen 8080"


def test_flipslash():
    assert str(DocumentRoot("C:\\www\\docs")) == "DocumentRoot C:/www/docs"
    assert str(Directive("X", "a\\b", flipslash=0)) == "X a\\b"
    # LogFormat keeps its backslash escapes.
    assert str(LogFormat('"%h \\"%r\\""')) == 'LogFormat "%h \\"%r\\""'


def test_all_spec_directive_classes_exist():
    for name in httpdconf._ONE_VALUE_DIRECTIVES + ("LogFormat",):
        cls = getattr(httpdconf, name)
        assert str(cls("v")) == f"{name} v"
    assert str(PythonInterpPerDirectory()) == "PythonInterpPerDirectory Off"
    assert str(PythonInterpPerDirective("On")) == "PythonInterpPerDirective On"


def test_sections_indent_and_nest():
    conf = VirtualHost("*:80",
                       Location("/app",
                                SetHandler("mod_python"),
                                PythonHandler("h")))
    assert str(conf) == (
        "<VirtualHost *:80>\n"
        "    <Location /app>\n"
        "        SetHandler mod_python\n"
        "        PythonHandler h\n"
        "    </Location>\n"
        "</VirtualHost>"
    )


@pytest.mark.parametrize("cls", [Directory, Files, IfModule, Location, VirtualHost])
def test_section_tag_names(cls):
    text = str(cls("x", Directive("A", "b")))
    assert text.splitlines() == [f"<{cls.__name__} x>", "    A b", f"</{cls.__name__}>"]


def test_section_attr_with_space_is_quoted():
    assert str(Directory("/srv/my docs")).splitlines()[0] == '<Directory "/srv/my docs">'


def test_container_tag_generic_and_append():
    tag = ContainerTag("IfDefine", "DEBUG", [Directive("LogLevel", "debug")])
    tag.append(Comment("more"))
    assert str(tag) == "<IfDefine DEBUG>\n    LogLevel debug\n    # more\n</IfDefine>"


def test_container_append_and_comment():
    conf = Container(Comment("line one\nline two"))
    conf.append(Listen("127.0.0.1:1"))
    assert str(conf) == "# line one\n# line two\nListen 127.0.0.1:1"


def test_only_if_evaluated_at_render_time():
    flag = Container(PythonOption("a b"), only_if="os.environ.get('MP_TEST_ONLY_IF') == '1'")
    conf = Container(Listen(1), flag)
    import os
    os.environ.pop("MP_TEST_ONLY_IF", None)
    assert str(conf) == "Listen 1"
    os.environ["MP_TEST_ONLY_IF"] = "1"
    try:
        assert str(conf) == "Listen 1\nPythonOption a b"
    finally:
        del os.environ["MP_TEST_ONLY_IF"]
    assert str(Container(Listen(2), only_if="mod_python.version.version != ''")) == "Listen 2"


def test_repr_recreates_objects():
    conf = Container(
        Comment("generated"),
        Listen("127.0.0.1:8888"),
        VirtualHost("*:80",
                    Directory("C:\\srv", SetHandler("mod_python"),
                              Container(PythonHandler("h"), only_if="True")),
                    Directive("Custom", "x\\y", flipslash=0)),
        ContainerTag("IfDefine", "X", [LogFormat("%h\\n")]),
        PythonInterpPerDirectory(),
    )
    namespace = {}
    exec("from mod_python.httpdconf import *", namespace)
    again = eval(repr(conf), namespace)
    assert str(again) == str(conf)
    assert repr(again) == repr(conf)
    assert repr(PythonHandler("h")) == "PythonHandler('h')"


def test_write_basic_config(tmp_path):
    root = tmp_path / "srv"
    script = write_basic_config(root, listen="127.0.0.1:8899", pythonhandler="myapp",
                                pythonpath=[str(tmp_path / "lib")], pythonoptions=["k v"],
                                mp_comments=["hello"], module_path="/x/mod_python.so")
    assert Path(script) == root / "conf" / "httpd_conf.py"
    for sub in ("conf", "logs", "public"):
        assert (root / sub).is_dir()
    with pytest.raises(FileExistsError):
        write_basic_config(root)
    write_basic_config(root, listen="127.0.0.1:8899", pythonhandler="myapp",
                       replace_config=True, module_path="/x/mod_python.so")
    write_basic_config(root, listen="127.0.0.1:8899", pythonhandler="myapp",
                       pythonpath=[str(tmp_path / "lib")], pythonoptions=["k v"],
                       mp_comments=["hello"], replace_config=True,
                       module_path="/x/mod_python.so")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout
    lines = [line.strip() for line in out.splitlines()]
    assert "ServerName 127.0.0.1" in lines
    assert "Listen 127.0.0.1:8899" in lines
    assert f'ServerRoot "{root}"' in lines
    assert f'PidFile "{root}/run/httpd.pid"' in lines
    assert f'DocumentRoot "{root}/public"' in lines
    assert 'LoadModule python_module "/x/mod_python.so"' in lines
    assert "SetHandler mod_python" in lines
    assert "PythonHandler myapp" in lines
    assert f"PythonPath \"sys.path+['{tmp_path}/lib']\"" in lines
    assert "PythonOption k v" in lines
    assert "# hello" in lines
    # §21: sources, byte code and __pycache__ are never served.
    assert "PythonDenyStaticSource On" in lines
    assert any("__pycache__" in line for line in lines)
    assert not [l for l in lines if l.startswith("Include") or ("/etc/apache2" in l and not l.startswith("#"))]


def test_write_basic_config_listen_host_and_validation(tmp_path):
    script = write_basic_config(tmp_path / "a", module_path="/x/mod_python.so")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True,
                         check=True).stdout
    assert "\nListen 0.0.0.0:8888\n" in out
    with pytest.raises(ValueError):
        write_basic_config(tmp_path / "b", listen="127.0.0.1:notaport")


def test_quote_if_space():
    # mod_python 3.5's own test harness quotes paths for directives with it.
    assert httpdconf.quote_if_space("/usr/sbin/apache2") == "/usr/sbin/apache2"
    assert httpdconf.quote_if_space("/opt/my apps/x.so") == '"/opt/my apps/x.so"'
    assert "quote_if_space" in httpdconf.__all__


def test_python22_compat_module_imports_nothing():
    # Old handler modules start with `from mod_python.python22 import *`.
    namespace: dict = {}
    exec("from mod_python.python22 import *", namespace)
    assert set(namespace) == {"__builtins__"}


def test_python_path_keeps_backslashes_as_in_3_5():
    assert str(PythonPath("\"sys.path+['a\\\\b']\"")) == "PythonPath \"sys.path+['a\\\\b']\""
    assert str(DocumentRoot("c:\\www")) == "DocumentRoot c:/www"


def test_a_value_with_a_line_break_is_refused():
    with pytest.raises(ValueError, match="line break"):
        str(PythonHandler("app\nLoadModule evil /tmp/evil.so"))


def test_basic_config_quotes_an_option_value_with_spaces(tmp_path):
    script = write_basic_config(tmp_path / "a", module_path="/x/mod_python.so",
                                pythonoptions=["greeting hello world", "plain v"])
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True).stdout
    assert 'PythonOption greeting "hello world"' in out
    assert "PythonOption plain v" in out
    with pytest.raises(ValueError):
        write_basic_config(tmp_path / "b", module_path="/x/mod_python.so",
                           pythonoptions=["k v\nLoadModule x y"])


def test_launcher_default_module_honours_mp_module_so(monkeypatch, tmp_path):
    from mod_python import launcher

    monkeypatch.setenv("MP_MODULE_SO", str(tmp_path / "custom.so"))
    assert launcher.default_module_path() == tmp_path / "custom.so"
    monkeypatch.delenv("MP_MODULE_SO")
    assert launcher.default_module_path().name == "mod_python.so"
