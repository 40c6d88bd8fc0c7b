"""print(), sys.stderr and the logging module inside handlers go to the error log.

Resolved ambiguity: sys.stdout and sys.stderr of every interpreter are line-buffered
streams into Apache's error log (never the client).  A line written while a request
is running is logged against that request (``[client ...]`` context); stdout lines at
NOTICE, stderr lines at ERR.  The ``logging`` module needs no configuration: its
last-resort handler writes WARNING and above to sys.stderr, hence to the error log.
"""

import re

import pytest

from mphelpers import in_directory

LOGMOD = '''
    import io
    import logging
    import sys
    from mod_python import apache

    print("import-time-print-marker")


    def prints(req):
        print("print-marker-1001")
        print("partial-", end="")
        print("line-marker-1002")
        print("multi-line-a-1003\\nmulti-line-b-1003")
        req.content_type = "text/plain"
        req.write("body only")
        return apache.OK


    def stderr(req):
        sys.stderr.write("stderr-marker-2001\\n")
        sys.stderr.write("stderr-unterminated-2002")
        sys.stderr.flush()
        req.write("body only")
        return apache.OK


    def logs(req):
        logging.getLogger("mp.test").warning("logging-warning-marker-%d", 3001)
        logging.getLogger("mp.test").info("logging-info-marker-3002")  # below WARNING
        logging.getLogger().error("logging-error-marker-3003")
        req.write("body only")
        return apache.OK


    def configured(req):
        handler = logging.StreamHandler()  # defaults to sys.stderr
        handler.setFormatter(logging.Formatter("fmt:%(levelname)s:%(message)s"))
        logger = logging.getLogger("mp.configured")
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.info("configured-info-marker-4001")
        req.write("body only")
        return apache.OK


    def streams(req):
        req.write("%s|%s|%s" % (sys.stdout.isatty(), sys.stdout.writable(),
                                sys.stderr.encoding))
        return apache.OK


    def binary(req):
        # Libraries such as Mercurial wrap sys.stdout.buffer at import time.
        sys.stdout.buffer.write(b"binary-stdout-marker-5001\\xff\\n")
        sys.stderr.buffer.write(b"binary-stderr-marker-")
        sys.stderr.buffer.write(b"5002\\n")
        try:
            sys.stdout.fileno()
            fileno = "has fileno"
        except io.UnsupportedOperation:
            fileno = "no fileno"
        try:
            sys.stdout.write(b"bytes")
            text_only = "accepted bytes"
        except TypeError:
            text_only = "text only"
        req.write("%s|%s|%s|%s" % (type(sys.stdout).__name__, sys.stdout.name, fileno,
                                   text_only))
        return apache.OK
'''


def serve(apache, name, **kwargs):
    return apache(in_directory(f"PythonHandler logmod::{name}"), files={"logmod.py": LOGMOD},
                  **kwargs)


def test_print_goes_to_the_error_log_not_the_client(apache):
    srv = serve(apache, "prints")
    r = srv.get("/printing")
    assert r.text == "body only"
    line = srv.wait_for_log("print-marker-1001")
    assert "[client 127.0.0.1:" in line  # logged against the running request
    assert srv.wait_for_log("partial-line-marker-1002")
    srv.wait_for_log("multi-line-a-1003$")
    srv.wait_for_log("multi-line-b-1003$")
    srv.wait_for_log("import-time-print-marker")


@pytest.mark.allow_log("stderr-marker-2001", "stderr-unterminated-2002")
def test_stderr_goes_to_the_error_log(apache):
    srv = serve(apache, "stderr")
    assert srv.get("/x").text == "body only"
    line = srv.wait_for_log("stderr-marker-2001")
    assert re.search(r"\[[\w.-]*:?error\]", line), line
    assert "[client 127.0.0.1:" in line
    srv.wait_for_log("stderr-unterminated-2002")  # flush() writes a partial line


@pytest.mark.allow_log("logging-warning-marker-3001", "logging-error-marker-3003")
def test_logging_module_output_goes_to_the_error_log(apache):
    srv = serve(apache, "logs")
    assert srv.get("/x").text == "body only"
    srv.wait_for_log("logging-warning-marker-3001")
    srv.wait_for_log("logging-error-marker-3003")
    assert "logging-info-marker-3002" not in srv.error_log()


@pytest.mark.allow_log("configured-info-marker-4001")
def test_configured_stream_handler_writes_to_the_error_log(apache):
    srv = serve(apache, "configured")
    assert srv.get("/x").text == "body only"
    line = srv.wait_for_log("configured-info-marker-4001")
    assert "fmt:INFO:configured-info-marker-4001" in line


def test_streams_look_like_text_files(apache):
    srv = serve(apache, "streams")
    assert srv.get("/x").text == "False|True|utf-8"


@pytest.mark.allow_log("binary-stderr-marker-5002")
def test_binary_buffers_of_stdout_and_stderr_reach_the_error_log(apache):
    srv = serve(apache, "binary")
    assert srv.get("/x").text == "TextIOWrapper|<stdout>|no fileno|text only"
    line = srv.wait_for_log("binary-stdout-marker-5001")
    # The undecodable byte is backslash-escaped (and Apache doubles the backslash).
    assert re.search(r"binary-stdout-marker-5001\\+xff$", line), line
    assert re.search(r"\[[\w.-]*:?error\]", srv.wait_for_log("binary-stderr-marker-5002$"))
