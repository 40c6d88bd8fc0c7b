"""PythonConnectionHandler and the connection object (spec §2.5, §10.3).

The handler runs for a second ``Listen`` port whose IP-based ``<VirtualHost>`` carries
the ``PythonConnectionHandler``; the main port keeps speaking HTTP.  The protocol is a
line-based echo spoken over a raw socket.
"""

import json
import socket

import pytest

from mphelpers import REQUEST_TIMEOUT, launcher

ECHO = '''
    import json
    import time
    from mod_python import apache


    def connectionhandler(conn):
        while True:
            line = conn.readline()
            if not line:  # None or b"" at the end of the stream
                break
            command = line.strip()
            if command == b"quit":
                conn.write(b"bye\\n")
                break
            if command == b"info":
                conn.notes["seen"] = "yes"
                info = {
                    "client_ip": conn.client_ip,
                    "client_addr": list(conn.client_addr),
                    "local_addr": list(conn.local_addr),
                    "local_ip": conn.local_ip,
                    "keepalive": conn.keepalive,
                    "aborted": conn.aborted,
                    "notes": conn.notes.get("seen"),
                    "id_type": type(conn.id).__name__,
                    "keepalives": conn.keepalives,
                    "base_server": conn.base_server.server_hostname,
                    "interpreter": apache.interpreter,
                    "line_type": type(line).__name__,
                }
                conn.write(json.dumps(info).encode() + b"\\n")
            elif command == b"hlist":
                hlist = conn.hlist
                conn.write(("%s|%s\\n" % (hlist.handler, hlist.directory)).encode())
            elif command == b"keepalive":
                conn.keepalive = apache.AP_CONN_CLOSE
                conn.write(b"%d %d\\n" % (conn.keepalive, apache.AP_CONN_CLOSE))
            elif command.startswith(b"read "):
                wanted = int(command.split()[1])
                data = b""
                while len(data) < wanted:
                    chunk = conn.read(wanted - len(data))
                    if not chunk:
                        break
                    assert len(chunk) <= wanted - len(data)
                    data += chunk
                conn.write(b"got %d:" % len(data) + data + b"\\n")
            elif command == b"str":
                conn.write("text \\u00e9\\n")
            elif command == b"deprecated":
                conn.write(("%s|%s\\n" % (conn.remote_ip == conn.client_ip,
                                          conn.remote_addr == conn.client_addr)).encode())
            elif command == b"sleepread":
                conn.write(b"sleeping\\n")
                time.sleep(1.5)
                after = conn.readline()
                conn.log_error("read after stop: %r" % (after,), apache.APLOG_NOTICE)
                break
            elif command == b"raise":
                raise RuntimeError("connection handler failure marker-6021")
            else:
                conn.write(b"echo:" + line)
        return apache.OK


    def declining(conn):
        return apache.DECLINED


    def returns_none(conn):
        conn.write(b"about to return None\\n")
        return None
'''

HELLO = '''
    from mod_python import apache


    def handler(req):
        req.content_type = "text/plain"
        req.write("http on %d" % req.connection.local_addr[1])
        return apache.OK
'''


class LineClient:
    """A raw TCP client that reads line by line."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def at_eof(self) -> bool:
        """One read: True if the server closed the connection, else buffers the data."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        self.buffer += chunk
        return chunk == b""

    def read_to_eof(self) -> bytes:
        while not self.at_eof():
            pass
        data, self.buffer = self.buffer, b""
        return data

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(apache, handler="echo", **kwargs):
    """A server whose second port runs ``handler``; returns (server, second port)."""
    port2 = launcher.free_port()
    snippet = f"""
        Listen 127.0.0.1:{port2}
        <VirtualHost 127.0.0.1:{port2}>
            ServerName conn.test
            PythonPath "sys.path+['@DOCROOT@']"
            PythonConnectionHandler {handler}
        </VirtualHost>
        <Directory "@DOCROOT@">
            SetHandler mod_python
            PythonHandler hello
        </Directory>
    """
    srv = apache(snippet, files={"echo.py": ECHO, "hello.py": HELLO}, **kwargs)
    return srv, port2


def test_echo_protocol_over_raw_socket(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        client.send(b"hello there\n")
        assert client.line() == b"echo:hello there\n"
        client.send(b"first\nsecond\n")  # two lines in one packet
        assert client.line() == b"echo:first\n"
        assert client.line() == b"echo:second\n"
        client.send(b"par")
        client.send(b"tial\n")
        assert client.line() == b"echo:partial\n"
        client.send(b"str\n")
        assert client.line() == "text \u00e9\n".encode()
        client.send(b"quit\n")
        assert client.line() == b"bye\n"
        assert client.at_eof()


def test_main_port_still_speaks_http(apache):
    srv, port2 = serve(apache)
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, f"http on {srv.port}")


def test_connection_attributes(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        client.send(b"info\n")
        info = json.loads(client.line())
        local_port = client.sock.getsockname()[1]
    assert info["client_ip"] == "127.0.0.1"
    assert info["client_addr"] == ["127.0.0.1", local_port]
    assert info["local_addr"] == ["127.0.0.1", port2]
    assert info["local_ip"] == "127.0.0.1"
    assert isinstance(info["keepalive"], int)
    assert info["aborted"] in (0, False)
    assert info["notes"] == "yes"
    assert info["id_type"] == "int"
    assert isinstance(info["keepalives"], int)
    assert info["base_server"] == "conn.test"
    assert info["interpreter"] == "conn.test"  # the base server's name
    assert info["line_type"] == "bytes"


def test_connection_hlist(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        client.send(b"hlist\n")
        handler, _, directory = client.line().decode().rstrip("\n").partition("|")
    assert handler == "echo"
    assert directory in ("None", "")  # server-level directive: no directory


def test_keepalive_is_writable(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        client.send(b"keepalive\n")
        value, close = client.line().split()
    assert value == close


def test_read_while_the_child_stops_is_end_of_stream(apache):
    # On SIGTERM the event MPM closes the socket under a busy worker: the handler's next
    # read must see the end of the stream, not raise (prefork children just exit).
    srv, port2 = serve(apache, mpm="event")
    with LineClient(port2) as client:
        client.send(b"sleepread\n")
        assert client.line() == b"sleeping\n"
        srv.stop()
    assert any("read after stop: None" in line for line in srv.log_lines("read after stop"))
    assert not srv.log_lines("Connection read error")


def test_read_with_length(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        client.send(b"read 10\n0123456789tail\n")
        assert client.line() == b"got 10:0123456789\n"
        assert client.line() == b"echo:tail\n"
        payload = bytes(range(256)).replace(b"\n", b"") * 400  # ~100 KB
        client.send(b"read %d\n" % len(payload))
        client.send(payload)
        assert client.line() == b"got %d:" % len(payload) + payload + b"\n"


def test_deprecated_aliases_log_a_warning_once(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        for _ in range(3):  # one connection: the same child process each time
            client.send(b"deprecated\n")
            assert client.line() == b"True|True\n"
    srv.wait_for_log("conn.remote_addr is deprecated")
    log = srv.error_log()
    assert log.count("conn.remote_ip is deprecated, use conn.client_ip") == 1
    assert log.count("conn.remote_addr is deprecated, use conn.client_addr") == 1


def test_concurrent_connections(apache):
    srv, port2 = serve(apache)
    clients = [LineClient(port2) for _ in range(4)]
    try:
        for i, client in enumerate(clients):
            client.send(b"client %d\n" % i)
        for i, client in enumerate(reversed(clients)):
            n = len(clients) - 1 - i
            assert client.line() == b"echo:client %d\n" % n
    finally:
        for client in clients:
            client.close()


@pytest.mark.allow_log("MP0150", "marker-6021")
def test_raising_handler_closes_the_connection_and_logs(apache):
    srv, port2 = serve(apache)
    with LineClient(port2) as client:
        client.send(b"before\n")
        assert client.line() == b"echo:before\n"
        client.send(b"raise\n")
        assert client.at_eof()
    line = srv.wait_for_log("connection handler failure marker-6021")
    assert "ConnectionHandler echo" in line
    # The server keeps serving, on both ports.
    with LineClient(port2) as client:
        client.send(b"again\n")
        assert client.line() == b"echo:again\n"
    assert srv.get("/x").status_code == 200


@pytest.mark.allow_log("MP0101")
def test_non_int_result_is_logged_and_closes(apache):
    srv, port2 = serve(apache, handler="echo::returns_none")
    with LineClient(port2) as client:
        client.send(b"anything\n")
        assert client.line() == b"about to return None\n"
        assert client.at_eof()
    srv.wait_for_log("MP0101")


def test_declined_lets_http_proceed(apache):
    srv, port2 = serve(apache, handler="echo::declining")
    with LineClient(port2) as client:
        client.send(b"GET /x HTTP/1.0\r\nHost: conn.test\r\n\r\n")
        status = client.line()
        assert status.startswith(b"HTTP/1.1 200"), status
        rest = client.read_to_eof()
    assert rest.endswith(f"http on {port2}".encode())


@pytest.mark.allow_log("MP0102", "MP0150", "no_such_connection_module")
def test_missing_module_closes_and_logs(apache):
    srv, port2 = serve(apache, handler="no_such_connection_module")
    with LineClient(port2) as client:
        client.send(b"hello\n")
        assert client.at_eof()
    srv.wait_for_log("no_such_connection_module")
    assert srv.get("/x").status_code == 200
