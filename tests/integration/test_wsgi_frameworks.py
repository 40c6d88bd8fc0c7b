"""Real frameworks from Debian's packages, unmodified, behind WSGIScriptAlias.

mod_wsgi compatibility spec §2, §5, §8, §9.

The applications live in ``wsgi_apps/`` (see its README). One Apache per module and
interpreter mode serves all of them: each framework is mounted twice, at ``/<fw>`` (its
``app.wsgi``) and at ``/<fw>-v`` (``app_validated.wsgi``: the same application wrapped in
``wsgiref.validate.validator`` with every ``WSGIWarning`` turned into an exception).  Every
test runs against both mounts, in sub-interpreters (the default ``%{RESOURCE}`` application
group) and in the main interpreter (``WSGIApplicationGroup %{GLOBAL}``); the MPM comes from
``MP_TEST_MPM`` as for the rest of the suite.

After each test the error-log lines written during it are checked: error-level lines,
crashes and anything the validator or an unclosed iterator left behind fail the test.

``MP_TEST_WSGI_MODULE=/usr/lib/apache2/modules/mod_wsgi.so`` runs the same tests against
Debian's real mod_wsgi instead of our module (a check of the tests themselves).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DEFAULT_MPM, PRELOAD, Server, _live_servers
from mphelpers import MODULE_SO, find_log_problems, launcher

APPS_SRC = Path(__file__).resolve().parent / "wsgi_apps"
PYTHON = "/usr/bin/python3"
REFERENCE_SO = os.environ.get("MP_TEST_WSGI_MODULE") or None

FRAMEWORKS = ("django", "flask", "pyramid", "bottle", "falcon", "cherrypy")
MODES = ("subinterp", "global")
VARIANTS = ("plain", "validated")

ADMIN_USER = "admin"
ADMIN_PASSWORD = "s3cret-Adm1n"

# Lines the validator (or an iterator it wraps and that was never closed) leaves in the log.
VALIDATOR_MARKERS = (
    "WSGIWarning",
    "wsgiref",
    "AssertionError",
    "Exception ignored",
    "Traceback (most recent call last)",
)
# Log ids our module uses for expected per-request events (none are expected here).
ALLOWED_LOG: tuple[str, ...] = ()
# Users for Apache authentication against Django's database (WSGIAuthUserScript).
DJANGO_AUTH_USERS = """
from django.contrib.auth.models import Group, User
editors = Group.objects.create(name="editors")
User.objects.create_user("editor", password="ed-Pass-1").groups.add(editors)
User.objects.create_user("gone", password="gone-Pass-1", is_active=False)
"""
# Debian's mod_wsgi 4.9.4 on Python 3.11 hangs destroying sub-interpreters at child exit
# (GrahamDumpleton/mod_wsgi#730, python/cpython#122517): httpd SIGKILLs the child (AH00046).
# Tolerated only in a reference run; our module must stop promptly (spec §15 item 15).
ALLOWED_AT_STOP: tuple[str, ...] = ("AH00046",) if REFERENCE_SO else ()
# Tests that provoke errors on purpose and check the log themselves.
LOG_CHECKED_BY_TEST = {"test_validator_warning_fails_the_request",
                       "test_django_users_authenticate_apache_requests"}
if REFERENCE_SO:
    # mod_wsgi logs its refusal of a chunked request body (411) at error level.
    LOG_CHECKED_BY_TEST.add("test_flask_chunked_request_body")


# --------------------------------------------------------------------------- setup


def _server_user() -> tuple[str, str] | None:
    return launcher.server_user()


@pytest.fixture(scope="module")
def apps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of wsgi_apps/ with the Django database migrated and static collected."""
    base = tmp_path_factory.mktemp("wsgi_apps")
    apps = base / "apps"
    shutil.copytree(
        APPS_SRC,
        apps,
        ignore=shutil.ignore_patterns("__pycache__", "var", "*.pyc", "*.sqlite3"),
    )
    django_site = apps / "django_site"
    (django_site / "var").mkdir()
    # A binary file Django serves through FileResponse (wsgi.file_wrapper).
    (django_site / "files" / "blob.bin").write_bytes(bytes(range(256)) * 1024 + b"end")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD}
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["createsuperuser", "--noinput", "--username", ADMIN_USER,
         "--email", "admin@example.org"],
        ["collectstatic", "--noinput", "-v0"],
        ["shell", "-c", DJANGO_AUTH_USERS],
    ):
        done = subprocess.run(
            [PYTHON, "manage.py", *command],
            cwd=django_site,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"manage.py {command[0]} failed:\n{done.stdout}{done.stderr}"
    user = _server_user()
    launcher.make_accessible(base)
    if user is not None:
        # sqlite writes the database and its journal next to it: the children need the dir.
        pw = pwd.getpwnam(user[0])
        for dirpath, _dirs, files in os.walk(django_site / "var"):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for name in files:
                os.chown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)
    return apps


def _snippet(mode: str, apps: Path) -> str:
    lines = []
    if mode == "global":
        lines.append("WSGIApplicationGroup %{GLOBAL}")
    for framework in FRAMEWORKS:
        site = apps / f"{framework}_site"
        # Falcon's Cython modules refuse to load into a second interpreter of a process, so
        # in sub-interpreter mode both Falcon mounts share one named application group.
        option = " application-group=falcon" if framework == "falcon" and mode != "global" else ""
        lines.append(f'WSGIScriptAlias /{framework}-v "{site}/app_validated.wsgi"{option}')
        lines.append(f'WSGIScriptAlias /{framework} "{site}/app.wsgi"{option}')
    lines += [
        f'WSGIScriptAlias /probe-v "{apps}/validator_probe/app_validated.wsgi"',
        f'Alias /djstatic/ "{apps}/django_site/var/static/"',
        # Apache serves these files; Django's user database decides who may read them.
        f'Alias /djprivate/ "{apps}/django_site/files/"',
        f'Alias /djeditors/ "{apps}/django_site/files/"',
        '<Location "/djprivate/">',
        "    AuthType Basic",
        '    AuthName "Django users"',
        "    AuthBasicProvider wsgi",
        f'    WSGIAuthUserScript "{apps}/django_site/auth.wsgi"',
        "    Require valid-user",
        "</Location>",
        '<Location "/djeditors/">',
        "    AuthType Basic",
        '    AuthName "Django editors"',
        "    AuthBasicProvider wsgi",
        f'    WSGIAuthUserScript "{apps}/django_site/auth.wsgi"',
        f'    WSGIAuthGroupScript "{apps}/django_site/auth.wsgi"',
        "    Require wsgi-group editors",
        "</Location>",
        f'<Directory "{apps}">',
        "    Require all granted",
        "</Directory>",
    ]
    return "\n".join(lines) + "\n"


def _render(root: Path, port: int, snippet: str) -> str:
    config = launcher.render_config(
        root,
        port,
        MODULE_SO,
        mpm=DEFAULT_MPM,
        snippet=snippet,
        user=_server_user(),
    )
    if REFERENCE_SO:
        config, count = re.subn(
            r"^LoadModule python_module .*$",
            f'LoadModule wsgi_module "{REFERENCE_SO}"',
            config,
            flags=re.M,
        )
        assert count == 1
    return config


@pytest.fixture(scope="module", params=MODES)
def wsgi_server(request: pytest.FixtureRequest, apps_dir: Path,
                tmp_path_factory: pytest.TempPathFactory):
    """One Apache serving every framework twice (plain, validated) in the given mode."""
    mode = request.param
    if not REFERENCE_SO and not MODULE_SO.is_file():
        pytest.fail(f"{MODULE_SO} does not exist: run `make build` (or set MP_MODULE_SO)")
    user = _server_user()
    root = launcher.prepare_root(tmp_path_factory.mktemp(f"server-{mode}"), user)
    server = None
    last_error: Exception | None = None
    for _attempt in range(4):
        port = launcher.free_port()
        instance = launcher.ApacheInstance(
            root, _render(root, port, _snippet(mode, apps_dir)), port,
            preload=PRELOAD, pass_sanitizer_env=True,
        )
        try:
            instance.start()
        except launcher.ApacheError as exc:
            last_error = exc
            if "Address already in use" not in str(exc):
                break
            instance.error_log_path.unlink(missing_ok=True)
            continue
        server = Server(instance, root / "htdocs", ALLOWED_LOG + ALLOWED_AT_STOP,
                        f"server-{mode}")
        _live_servers.append(server)
        break
    if server is None:
        pytest.fail(f"could not start apache2: {last_error}", pytrace=False)
    server.mode = mode  # type: ignore[attr-defined]
    server.checked_upto = 0  # type: ignore[attr-defined]
    yield server
    server.finish()
    # The tests checked the log up to here; what is left came from startup and shutdown.
    text = server.error_log()
    problems = find_log_problems(text[server.checked_upto:],  # type: ignore[attr-defined]
                                 server.allowed)
    problems += find_log_problems(text[:_first_test_offset(server)], server.allowed)
    if problems:
        pytest.fail("unexpected lines in the Apache error log:\n" + "\n".join(problems),
                    pytrace=False)


def _first_test_offset(server: Server) -> int:
    return getattr(server, "first_test_offset", len(server.error_log()))


@pytest.fixture(autouse=True)
def clean_log(request: pytest.FixtureRequest, wsgi_server: Server):
    """Fail a test whose requests left error-level lines or validator output in the log."""
    start = len(wsgi_server.error_log())
    if not hasattr(wsgi_server, "first_test_offset"):
        wsgi_server.first_test_offset = start  # type: ignore[attr-defined]
    yield
    text = wsgi_server.error_log()[start:]
    wsgi_server.checked_upto = start + len(text)  # type: ignore[attr-defined]
    if text:
        request.node.add_report_section("teardown", "apache error log (this test)", text)
    if request.node.originalname in LOG_CHECKED_BY_TEST:
        return
    problems = find_log_problems(text, ALLOWED_LOG)
    problems += [line for line in text.splitlines()
                 if any(marker in line for marker in VALIDATOR_MARKERS) and line not in problems]
    if problems:
        pytest.fail("unexpected lines in the Apache error log:\n" + "\n".join(problems),
                    pytrace=False)


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return request.param


def mount(framework: str, variant: str) -> str:
    return f"/{framework}-v" if variant == "validated" else f"/{framework}"


def expected_group(server: Server, framework: str, script_name: str) -> str:
    """mod_wsgi.application_group for a mount in the server's interpreter mode (spec §5)."""
    if server.mode == "global":  # type: ignore[attr-defined]
        return ""
    if framework == "falcon":
        return "falcon"
    return f"127.0.0.1:{server.port}|{script_name}"


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, f"no CSRF token in the form:\n{html[:2000]}"
    return match.group(1)


# --------------------------------------------------------------------------- Django


def test_django_pages_static_and_404(wsgi_server: Server, variant: str) -> None:
    base = mount("django", variant)
    http = wsgi_server.session()

    page = http.get(wsgi_server.url(f"{base}/"))
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<h1>Notes</h1>" in page.text
    assert f'href="{base}/notes/new/"' in page.text  # reverse() honours SCRIPT_NAME
    assert 'href="/djstatic/djdemo/site.css"' in page.text

    # Static files collected by `manage.py collectstatic`, served by Apache next to the app.
    css = http.get(wsgi_server.url("/djstatic/djdemo/site.css"))
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "djdemo stylesheet" in css.text
    admin_css = http.get(wsgi_server.url("/djstatic/admin/css/base.css"))
    assert admin_css.status_code == 200 and "body" in admin_css.text

    # Files served by Django itself: FileResponse through wsgi.file_wrapper.
    text = http.get(wsgi_server.url(f"{base}/files/readme.txt"))
    assert text.status_code == 200
    assert text.text == "Plain text served by django.views.static.serve.\n"
    assert text.headers["Content-Length"] == str(len(text.content))
    blob = http.get(wsgi_server.url(f"{base}/files/blob.bin"))
    assert blob.status_code == 200
    assert blob.content == bytes(range(256)) * 1024 + b"end"
    assert blob.headers["Content-Length"] == str(256 * 1024 + 3)
    assert "Last-Modified" in blob.headers
    missing_file = http.get(wsgi_server.url(f"{base}/files/nothing.txt"))
    assert missing_file.status_code == 404

    # Django's own 404 (DEBUG off), not Apache's.
    missing = http.get(wsgi_server.url(f"{base}/no/such/page/"))
    assert missing.status_code == 404
    assert "The requested resource was not found on this server." in missing.text
    # CommonMiddleware's APPEND_SLASH redirect keeps the mount point.
    slash = http.get(wsgi_server.url(f"{base}/whoami"), allow_redirects=False)
    assert slash.status_code == 301
    assert slash.headers["Location"] == f"{base}/whoami/"

    head = http.head(wsgi_server.url(f"{base}/"))
    assert head.status_code == 200 and head.content == b""


def test_django_admin_login(wsgi_server: Server, variant: str) -> None:
    base = mount("django", variant)
    http = wsgi_server.session()

    # Not logged in: the admin redirects to its login page, keeping the mount point.
    index = http.get(wsgi_server.url(f"{base}/admin/"), allow_redirects=False)
    assert index.status_code == 302
    assert index.headers["Location"] == f"{base}/admin/login/?next={base}/admin/"

    form = http.get(wsgi_server.url(f"{base}/admin/login/?next={base}/admin/"))
    assert form.status_code == 200
    assert "csrftoken" in http.cookies
    token = csrf_token(form.text)
    login_url = wsgi_server.url(f"{base}/admin/login/?next={base}/admin/")

    # Without the token the CSRF middleware refuses the POST.
    no_token = wsgi_server.post(
        f"{base}/admin/login/",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
        cookies={"csrftoken": http.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert no_token.status_code == 403
    assert "CSRF verification failed" in no_token.text

    wrong = http.post(login_url, data={"csrfmiddlewaretoken": token, "username": ADMIN_USER,
                                       "password": "wrong"}, allow_redirects=False)
    assert wrong.status_code == 200
    assert "Please enter the correct username and password" in wrong.text

    token = csrf_token(wrong.text)
    ok = http.post(login_url, data={"csrfmiddlewaretoken": token, "username": ADMIN_USER,
                                    "password": ADMIN_PASSWORD, "next": f"{base}/admin/"},
                   allow_redirects=False)
    assert ok.status_code == 302, ok.text
    assert ok.headers["Location"] == f"{base}/admin/"
    assert "sessionid" in http.cookies
    session_cookie = [c for c in http.cookies if c.name == "sessionid"][0]
    assert session_cookie.path == "/"

    admin = http.get(wsgi_server.url(f"{base}/admin/"))
    assert admin.status_code == 200
    assert "Site administration" in admin.text
    assert f'href="{base}/admin/notes/note/"' in admin.text

    who = http.get(wsgi_server.url(f"{base}/whoami/")).json()
    assert who["user"] == ADMIN_USER and who["is_staff"] is True
    assert who["script_name"] == base
    assert who["path_info"] == "/whoami/"
    assert who["path"] == f"{base}/whoami/"

    changelist = http.get(wsgi_server.url(f"{base}/admin/notes/note/"))
    assert changelist.status_code == 200
    assert "Select note to change" in changelist.text

    # The session is server-side (database): a fresh client with the cookie is logged in too.
    again = wsgi_server.get(f"{base}/whoami/",
                            cookies={"sessionid": http.cookies["sessionid"]}).json()
    assert again["user"] == ADMIN_USER

    logout = http.get(wsgi_server.url(f"{base}/admin/logout/"))
    assert logout.status_code == 200
    assert http.get(wsgi_server.url(f"{base}/whoami/")).json()["user"] is None


def test_django_users_authenticate_apache_requests(wsgi_server: Server) -> None:
    start = len(wsgi_server.error_log())
    readme = "/djprivate/readme.txt"
    denied = wsgi_server.get(readme)
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"] == 'Basic realm="Django users"'
    ok = wsgi_server.get(readme, auth=(ADMIN_USER, ADMIN_PASSWORD))
    assert ok.status_code == 200 and ok.text.startswith("Plain text")
    assert wsgi_server.get(readme, auth=(ADMIN_USER, "wrong")).status_code == 401
    assert wsgi_server.get(readme, auth=("gone", "gone-Pass-1")).status_code == 401  # inactive
    assert wsgi_server.get(readme, auth=("nobody", "x")).status_code == 401
    # Require wsgi-group: Django's groups_for_user() answers (group names as bytes).
    assert wsgi_server.get("/djeditors/readme.txt", auth=("editor", "ed-Pass-1")).status_code == 200
    assert wsgi_server.get("/djeditors/readme.txt",
                           auth=(ADMIN_USER, ADMIN_PASSWORD)).status_code == 401
    # Refusals are httpd's own log lines; nothing else may appear.
    text = wsgi_server.error_log()[start:]
    refusals = ("AH01617", "AH01618", "AH01631")
    assert not find_log_problems(text, ALLOWED_LOG + refusals)


def test_django_form_post(wsgi_server: Server, variant: str) -> None:
    base = mount("django", variant)
    http = wsgi_server.session()
    form = http.get(wsgi_server.url(f"{base}/notes/new/"))
    assert form.status_code == 200
    assert 'name="title"' in form.text
    token = csrf_token(form.text)

    title = f"Grüße ✓ {variant} {wsgi_server.mode}"  # type: ignore[attr-defined]
    body = "line one\nline <two> & three\n" + "x" * 20000
    created = http.post(wsgi_server.url(f"{base}/notes/new/"),
                        data={"csrfmiddlewaretoken": token, "title": title, "body": body},
                        allow_redirects=False)
    assert created.status_code == 302, created.text
    location = created.headers["Location"]
    assert re.fullmatch(rf"{re.escape(base)}/notes/\d+/", location), location

    detail = http.get(wsgi_server.url(location))
    assert detail.status_code == 200
    assert f'<h1 id="title">{title}</h1>' in detail.text
    assert "line &lt;two&gt; &amp; three" in detail.text
    assert detail.text.count("x" * 20000) == 1

    listing = http.get(wsgi_server.url(f"{base}/"))
    assert f'href="{location}">{title}</a>' in listing.text

    invalid = http.post(wsgi_server.url(f"{base}/notes/new/"),
                        data={"csrfmiddlewaretoken": token, "title": "", "body": "b"},
                        allow_redirects=False)
    assert invalid.status_code == 400
    assert "This field is required." in invalid.text

    forged = wsgi_server.post(f"{base}/notes/new/", data={"title": "forged"},
                              allow_redirects=False)
    assert forged.status_code == 403

    missing = http.get(wsgi_server.url(f"{base}/notes/999999/"))
    assert missing.status_code == 404


def test_django_json_body(wsgi_server: Server, variant: str) -> None:
    base = mount("django", variant)
    payload = {"items": list(range(30000)), "text": "é" * 1000}
    raw = json.dumps(payload).encode()
    answer = wsgi_server.post(f"{base}/echo/", data=raw,
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": payload, "length": len(raw)}
    assert wsgi_server.get(f"{base}/echo/").status_code == 405


# --------------------------------------------------------------------------- Flask


def test_flask_templates(wsgi_server: Server, variant: str) -> None:
    base = mount("flask", variant)
    index = wsgi_server.get(f"{base}/")
    assert index.status_code == 200
    assert f'<a href="{base}/hello/world">' in index.text
    assert f'<a href="{base}/api/info">' in index.text

    hello = wsgi_server.get(f"{base}/hello/<b>Zoë", params={"shout": "hey"})
    assert hello.status_code == 200
    assert hello.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<h1 id="greeting">Hello, &lt;b&gt;Zoë!</h1>' in hello.text
    assert '<p id="shout">HEY</p>' in hello.text
    assert hello.headers["Content-Length"] == str(len(hello.content))

    head = wsgi_server.session().head(wsgi_server.url(f"{base}/hello/x"))
    assert head.status_code == 200 and head.content == b""

    missing = wsgi_server.get(f"{base}/no/such/page")
    assert missing.status_code == 404
    assert "<title>404 Not Found</title>" in missing.text


def test_flask_json_and_session(wsgi_server: Server, variant: str) -> None:
    base = mount("flask", variant)
    info = wsgi_server.get(f"{base}/api/info")
    assert info.status_code == 200
    assert info.headers["Content-Type"] == "application/json"
    data = info.json()
    assert data["script_name"] == base
    assert data["path_info"] == "/api/info"
    assert data["url"] == wsgi_server.url(f"{base}/api/info")
    assert data["url_root"] == wsgi_server.url(f"{base}/")
    assert data["application_group"] == expected_group(wsgi_server, "flask", base)
    assert data["main_interpreter"] is (wsgi_server.mode == "global")  # type: ignore[attr-defined]
    if DEFAULT_MPM == "prefork":
        assert data["multithread"] is False and data["multiprocess"] is True
    else:
        assert data["multithread"] is True

    sent = {"name": "Zoë", "values": [1, 2.5, None, True], "nested": {"k": "v"}}
    echo = wsgi_server.post(f"{base}/api/echo", json=sent)
    assert echo.status_code == 201
    assert echo.json() == {"received": sent, "keys": ["name", "nested", "values"]}

    bad = wsgi_server.post(f"{base}/api/echo", data=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert wsgi_server.get(f"{base}/api/echo").status_code == 405

    http = wsgi_server.session()
    counts = [http.get(wsgi_server.url(f"{base}/counter")).json()["count"] for _ in range(3)]
    assert counts == [1, 2, 3]


def test_flask_chunked_request_body(wsgi_server: Server) -> None:
    """A chunked JSON POST: Werkzeug reads to the end because wsgi.input_terminated is True.

    WSGIChunkedRequest defaults to On here (spec §3.4); mod_wsgi's default Off answers 411.
    Only the plain mount: behind the validator the application gets no input_terminated and
    no CONTENT_LENGTH, so it would (correctly) read an empty body.
    """
    sent = {"chunked": True, "text": "ü" * 5000}
    raw = json.dumps(sent).encode()
    pieces = iter([raw[:1000], raw[1000:7000], raw[7000:]])
    answer = wsgi_server.post("/flask/api/echo", data=pieces,
                              headers={"Content-Type": "application/json"})
    if REFERENCE_SO:
        assert answer.status_code == 411
        return
    assert answer.status_code == 201, answer.text
    assert answer.json()["received"] == sent


def test_flask_upload(wsgi_server: Server, variant: str) -> None:
    base = mount("flask", variant)
    content = hashlib.sha256(b"seed").digest() * 40000  # 1.28 MB of binary data
    answer = wsgi_server.post(
        f"{base}/upload",
        files={"file": ("data.bin", content, "application/x-test")},
        data={"comment": "ünïcode field", "n": "1"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "filename": "data.bin",
        "content_type": "application/x-test",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "fields": {"comment": "ünïcode field", "n": "1"},
    }
    empty = wsgi_server.post(f"{base}/upload", data={"comment": "no file"})
    assert empty.status_code == 400


def test_flask_streaming(wsgi_server: Server, variant: str) -> None:
    base = mount("flask", variant)
    with wsgi_server.session() as http:
        answer = http.get(wsgi_server.url(f"{base}/stream"), params={"n": 25}, stream=True)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        # No length is known in advance: HTTP/1.1 gets a chunked response.
        assert "Content-Length" not in answer.headers
        assert answer.headers.get("Transfer-Encoding") == "chunked"
        lines = [line.decode() for line in answer.iter_lines()]
    assert lines == [f"line {i} of 25 for /stream" for i in range(25)]

    # HTTP/1.0 client: no chunking, the end of the body is the end of the connection.
    raw = wsgi_server.raw(f"GET {base}/stream?n=3 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert raw.status == 200
    assert raw.header("Transfer-Encoding") is None
    assert raw.body == b"".join(f"line {i} of 3 for /stream\n".encode() for i in range(3))


# --------------------------------------------------------------------------- Pyramid


def test_pyramid_routes(wsgi_server: Server, variant: str) -> None:
    base = mount("pyramid", variant)
    home = wsgi_server.get(f"{base}/")
    assert home.status_code == 200
    assert home.text == f"pyramiddemo at {base}"
    assert home.headers["Content-Type"] == "text/plain; charset=UTF-8"

    first = wsgi_server.get(f"{base}/items/1")
    assert first.status_code == 200
    data = first.json()
    assert data["name"] == "first"
    assert data["self"] == wsgi_server.url(f"{base}/items/1")
    assert data["application_group"] == expected_group(wsgi_server, "pyramid", base)

    http = wsgi_server.session()
    created = http.post(wsgi_server.url(f"{base}/items"), data={"name": "Größe"},
                        allow_redirects=False)
    assert created.status_code == 303
    location = created.headers["Location"]
    assert location.startswith(wsgi_server.url(f"{base}/items/"))
    fetched = http.get(location)
    assert fetched.status_code == 200 and fetched.json()["name"] == "Größe"

    # Same keep-alive connection, so the same process under prefork (in-memory store).
    assert http.get(wsgi_server.url(f"{base}/items")).json()["count"] >= 2
    # (httpd closes the connection after a 400.)
    assert http.post(wsgi_server.url(f"{base}/items"), data={}).status_code == 400

    missing = wsgi_server.get(f"{base}/no/such/thing")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not found", "path": f"{base}/no/such/thing"}
    assert wsgi_server.get(f"{base}/items/999999").status_code == 404


# --------------------------------------------------------------------------- Bottle


def test_bottle_routes(wsgi_server: Server, variant: str) -> None:
    base = mount("bottle", variant)
    assert wsgi_server.get(f"{base}/").text == "bottledemo"

    hello = wsgi_server.get(f"{base}/hello/<i>you", params=[("item", "a&b"), ("item", "ç")])
    assert hello.status_code == 200
    assert '<h1 id="greeting">Hello &lt;i&gt;you!</h1>' in hello.text
    assert "<li>a&amp;b</li>" in hello.text
    assert "<li>ç</li>" in hello.text

    posted = wsgi_server.post(f"{base}/form", data=[("who", "Jürgen"), ("tag", "x"),
                                                    ("tag", "y")])
    assert posted.status_code == 201
    assert posted.json() == {"who": "Jürgen", "tags": ["x", "y"], "script_name": f"{base}/"}
    assert wsgi_server.post(f"{base}/form", data={"tag": "x"}).status_code == 400

    data = wsgi_server.get(f"{base}/json").json()
    assert data["path"] == "/json" and data["fullpath"] == f"{base}/json"
    assert data["application_group"] == expected_group(wsgi_server, "bottle", base)

    static = wsgi_server.get(f"{base}/static/note.txt")
    assert static.status_code == 200
    assert static.text == "bottle static text\n"
    assert static.headers["Content-Length"] == str(len(static.content))
    assert "Last-Modified" in static.headers
    assert wsgi_server.get(f"{base}/static/missing.txt").status_code == 404

    go = wsgi_server.get(f"{base}/go", allow_redirects=False)
    assert go.status_code == 303
    assert go.headers["Location"] == wsgi_server.url(f"{base}/hello/redirected")

    missing = wsgi_server.get(f"{base}/no/such/page")
    assert missing.status_code == 404
    assert "Error: 404 Not Found" in missing.text


# --------------------------------------------------------------------------- Falcon


def test_falcon_resources(wsgi_server: Server, variant: str) -> None:
    base = mount("falcon", variant)
    listing = wsgi_server.get(f"{base}/things", params={"limit": 1})
    assert listing.status_code == 200
    assert listing.headers["Content-Type"] == "application/json"
    assert listing.json() == {"things": [{"id": 1, "name": "first"}], "limit": 1}
    assert wsgi_server.get(f"{base}/things", params={"limit": 0}).status_code == 400

    http = wsgi_server.session()
    created = http.post(wsgi_server.url(f"{base}/things"), json={"name": "Fálcon"})
    assert created.status_code == 201
    location = created.headers["Location"]
    assert re.fullmatch(rf"{re.escape(base)}/things/\d+", location), location
    assert created.json()["name"] == "Fálcon"
    fetched = http.get(wsgi_server.url(location))
    assert fetched.status_code == 200 and fetched.json() == created.json()

    assert http.post(wsgi_server.url(f"{base}/things"), json={"x": 1}).status_code == 400

    missing = http.get(wsgi_server.url(f"{base}/things/999999"))
    assert missing.status_code == 404
    assert missing.json() == {"title": "no thing 999999"}
    assert http.get(wsgi_server.url(f"{base}/nothing/here")).status_code == 404

    info = http.get(wsgi_server.url(f"{base}/info"), params={"q": "1"}).json()
    assert info["script_name"] == base and info["path"] == "/info"
    assert info["uri"] == wsgi_server.url(f"{base}/info?q=1")
    assert info["application_group"] == expected_group(wsgi_server, "falcon", base)


# --------------------------------------------------------------------------- CherryPy


def test_cherrypy_pages(wsgi_server: Server, variant: str) -> None:
    base = mount("cherrypy", variant)
    index = wsgi_server.get(f"{base}/")
    assert index.status_code == 200 and index.text == "cherrypydemo"

    greet = wsgi_server.get(f"{base}/greet", params={"name": "Ånne", "times": "2"})
    assert greet.text == "hello Ånne hello Ånne"

    submitted = wsgi_server.post(f"{base}/submit", data={"title": "t1", "a": "1", "b": "2"})
    assert submitted.status_code == 201
    assert submitted.text == "stored t1 (2 more fields)"
    assert wsgi_server.get(f"{base}/submit").status_code == 405
    assert wsgi_server.post(f"{base}/submit", data={"a": "1"}).status_code == 400

    echo = wsgi_server.post(f"{base}/echo", json={"k": ["v", 1]})
    assert echo.status_code == 200 and echo.json() == {"received": {"k": ["v", 1]}}

    info = wsgi_server.get(f"{base}/info").json()
    assert info["script_name"] == base and info["path_info"] == "/info"
    assert info["url"] == wsgi_server.url(f"{base}/greet?name=x")
    assert info["application_group"] == expected_group(wsgi_server, "cherrypy", base)

    go = wsgi_server.get(f"{base}/go", allow_redirects=False)
    assert go.status_code == 303
    assert go.headers["Location"] == wsgi_server.url(f"{base}/greet?name=redirected")

    missing = wsgi_server.get(f"{base}/no/such/page")
    assert missing.status_code == 404
    assert "<title>404 Not Found</title>" in missing.text


# ------------------------------------------------------------------- all frameworks


def test_interpreter_isolation(wsgi_server: Server) -> None:
    """Sub-interpreters: each mount has its own sys.modules; %{GLOBAL}: one shared."""
    groups = {}
    for framework, path in (("flask", "/api/info"), ("pyramid", "/items/1"),
                            ("bottle", "/json"), ("falcon", "/info"),
                            ("cherrypy", "/info")):
        for variant_name in VARIANTS:
            base = mount(framework, variant_name)
            data = wsgi_server.get(f"{base}{path}").json()
            groups[base] = data["application_group"]
            assert data["application_group"] == expected_group(wsgi_server, framework, base)
    who = wsgi_server.get("/django/whoami/").json()
    assert who["application_group"] == expected_group(wsgi_server, "django", "/django")
    assert who["main_interpreter"] is (wsgi_server.mode == "global")  # type: ignore[attr-defined]
    if wsgi_server.mode == "global":  # type: ignore[attr-defined]
        assert set(groups.values()) == {""}
    else:
        assert len(set(groups.values())) == len(groups) - 1  # both Falcon mounts share one


def test_validator_warning_fails_the_request(wsgi_server: Server) -> None:
    """The validated mounts cannot pass silently: a WSGIWarning becomes a 500 and a traceback."""
    assert wsgi_server.get("/probe-v/fine").text == "fine"
    start = len(wsgi_server.error_log())
    sloppy = wsgi_server.get("/probe-v/sloppy")
    assert sloppy.status_code == 500
    wsgi_server.wait_for_log(r"WSGIWarning: The status string \('200'\) should be")
    assert "WSGIWarning" in wsgi_server.error_log()[start:]
