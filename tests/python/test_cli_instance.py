"""mod_python.cli: where `start` looks for the server it started (no Apache)."""

import pytest

from mod_python.cli import Instance


@pytest.mark.parametrize("listen,address", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)),
    ("8080", ("127.0.0.1", 8080)),
    ("0.0.0.0:81", ("127.0.0.1", 81)),
    ("*:82", ("127.0.0.1", 82)),
    ("[::1]:8888", ("::1", 8888)),
    ("[::]:8889", ("::1", 8889)),
    ("192.0.2.7:90", ("192.0.2.7", 90)),
])
def test_address_to_reach_the_listen_line(tmp_path, listen, address):
    conf = tmp_path / "httpd.conf"
    conf.write_text(f"ServerRoot \"{tmp_path}\"\nListen {listen}\n")
    inst = Instance(conf, tmp_path, None)
    assert inst.address == address
    assert inst.port == address[1]


def test_no_listen_line(tmp_path):
    conf = tmp_path / "httpd.conf"
    conf.write_text("ServerRoot /x\n")
    assert Instance(conf, tmp_path, None).address is None


def test_first_listen_line_counts(tmp_path):
    conf = tmp_path / "httpd.conf"
    conf.write_text("Listen 127.0.0.1:8001\nListen [::1]:8002\n")
    assert Instance(conf, tmp_path, None).address == ("127.0.0.1", 8001)
