"""Handler results: OK, DECLINED, DONE, HTTP_* and SERVER_RETURN (spec §2.3, §9.2)."""

import pytest

from mphelpers import in_directory

CODES = '''
    from mod_python import apache


    def declined(req):
        return apache.DECLINED


    def done(req):
        req.content_type = "text/plain"
        req.write("done body")
        return apache.DONE


    def forbidden(req):
        return apache.HTTP_FORBIDDEN


    def not_found(req):
        return apache.HTTP_NOT_FOUND


    def raise_forbidden(req):
        raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)


    def raise_ok_after_write(req):
        req.content_type = "text/plain"
        req.write("written before SERVER_RETURN(OK)")
        raise apache.SERVER_RETURN(apache.OK)


    def raise_done_with_status(req):
        raise apache.SERVER_RETURN(apache.DONE, apache.HTTP_CREATED)


    def raise_tuple(req):
        raise apache.SERVER_RETURN((apache.DONE, apache.HTTP_ACCEPTED))


    def status_created(req):
        req.status = apache.HTTP_CREATED
        req.content_type = "text/plain"
        req.write("made it")
        return apache.OK


    def error_after_write(req):
        req.content_type = "text/plain"
        req.write("partial answer")
        if req.args == "raise":
            raise apache.SERVER_RETURN(apache.HTTP_INTERNAL_SERVER_ERROR)
        return apache.HTTP_NOT_FOUND


    def constants(req):
        req.content_type = "text/plain"
        req.write(repr((apache.OK, apache.DECLINED, apache.DONE,
                        apache.HTTP_FORBIDDEN, apache.HTTP_NOT_FOUND,
                        apache.HTTP_INTERNAL_SERVER_ERROR)))
        return apache.OK
'''


def serve(apache, callable_name, **files):
    return apache(
        in_directory(f"PythonHandler codes::{callable_name}"),
        files={"codes.py": CODES, **files},
    )


def test_constants_have_apache_values(apache):
    srv = serve(apache, "constants")
    assert srv.get("/x").text == repr((0, -1, -2, 403, 404, 500))


def test_declined_lets_apache_answer_404_for_missing_file(apache):
    srv = serve(apache, "declined")
    r = srv.get("/no-such-file.txt")
    assert r.status_code == 404
    assert "Not Found" in r.text


def test_declined_lets_apache_serve_the_static_file(apache):
    srv = serve(apache, "declined", **{"static.txt": "static content\n"})
    r = srv.get("/static.txt")
    assert (r.status_code, r.text) == (200, "static content\n")


@pytest.mark.allow_log("AH01630")  # client denied by server configuration
def test_declined_never_serves_python_source(apache):
    srv = serve(apache, "declined")
    r = srv.get("/codes.py")
    assert r.status_code in (403, 404)
    assert "SERVER_RETURN" not in r.text


def test_done_sends_what_was_written(apache):
    srv = serve(apache, "done")
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "done body")


@pytest.mark.parametrize(
    "name, status, phrase",
    [("forbidden", 403, "Forbidden"), ("not_found", 404, "Not Found")],
)
def test_http_status_result_gives_apache_error_document(apache, name, status, phrase):
    srv = serve(apache, name)
    r = srv.get("/x")
    assert r.status_code == status
    assert phrase in r.text
    assert r.headers["Content-Type"].startswith("text/html")


def test_server_return_exception_sets_result(apache):
    srv = serve(apache, "raise_forbidden")
    r = srv.get("/x")
    assert r.status_code == 403
    assert "Forbidden" in r.text


def test_server_return_ok_after_write(apache):
    srv = serve(apache, "raise_ok_after_write")
    r = srv.get("/x")
    assert (r.status_code, r.text) == (200, "written before SERVER_RETURN(OK)")


def test_server_return_status_argument_sets_req_status(apache):
    srv = serve(apache, "raise_done_with_status")
    r = srv.get("/x")
    assert r.status_code == 201


def test_server_return_single_tuple_argument(apache):
    srv = serve(apache, "raise_tuple")
    r = srv.get("/x")
    assert r.status_code == 202


def test_req_status_with_body_and_ok(apache):
    srv = serve(apache, "status_created")
    r = srv.get("/x")
    assert (r.status_code, r.text) == (201, "made it")


@pytest.mark.allow_log("MP0107")
@pytest.mark.parametrize("query", ["", "?raise"])
def test_error_status_after_output_cuts_the_response_off(apache, query):
    # httpd would append its error page inside the 200 already sent (spec §20 item 15).
    import socket
    srv = serve(apache, "error_after_write")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        sock.sendall(f"GET /x{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert b"partial answer" in data
    assert b"<!DOCTYPE" not in data and not data.endswith(b"0\r\n\r\n")
    line = srv.wait_for_log("MP0107")
    assert "after the response had started" in line
