"""Access and auth hooks in Python: WSGIAccessScript, WSGIAuthUserScript (the ``wsgi``
authentication provider, Basic and Digest), WSGIAuthGroupScript (``Require wsgi-group``).

Spec mod_wsgi-compat §3.5 and §10: the script runs embedded, in %{GLOBAL} unless
``application-group=`` says otherwise, with a cut-down environ (no wsgi.input).
"""

from __future__ import annotations

import json
import os
import textwrap
import time

import pytest
from requests.auth import HTTPDigestAuth

from wsgiapps import ENV_APP, script

# wsgi.errors lines of the hooks (MP2110) and httpd's own lines for refused credentials
# (auth_basic AH01617/AH01618, auth_digest AH017xx, authz_core AH01631) are expected here.
pytestmark = pytest.mark.allow_log("MP2110", "AH01617", "AH01618", "AH017", "AH01631")

AUTH_SCRIPT = '''
    import os

    USERS = {"spy": "secret", "caf\\xe9": "cr\\xe8me"}
    GROUPS = {"spy": [b"agents", "staff"], "boss": ["chiefs"]}
    CALLS = []


    def check_password(environ, user, password):
        CALLS.append(user)
        assert "wsgi.input" not in environ
        environ["wsgi.errors"].write("checking %s for %s\\n" % (user, environ["REQUEST_URI"]))
        if user == "alias":
            return "spy"  # authenticated, and known as spy from now on
        if user == "umlaut":
            return "j\xf6rg"
        if user == "boom":
            raise RuntimeError("the user database is down")
        if user == "odd":
            return 42
        if user not in USERS:
            return None
        return USERS[user] == password


    def groups_for_user(environ, user):
        if user == "boom":
            raise RuntimeError("the group database is down")
        if user == "odd":
            return "not a list"
        return GROUPS.get(user)


    def calls(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [",".join(CALLS).encode()]
'''

APP = "WSGIScriptAlias /app @DOCROOT@/app.wsgi\n"


def protected(*lines: str, where: str = "/app") -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f'<Location "{where}">\n{body}</Location>\n'


BASIC = ("AuthType Basic", 'AuthName "Top Secret"', "AuthBasicProvider wsgi",
         "WSGIAuthUserScript @ROOT@/auth/auth.wsgi")


def auth_files(auth_source: str = AUTH_SCRIPT) -> dict:
    return {"app.wsgi": script(ENV_APP), "../auth/auth.wsgi": script(auth_source)}


def env(response) -> dict:
    assert response.status_code == 200, response.text[:500]
    return json.loads(response.text)


# ----------------------------------------------------------------- WSGIAuthUserScript (Basic)


def test_basic_auth_through_check_password(apache):
    srv = apache(APP + protected(*BASIC, "Require valid-user"), files=auth_files())
    r = srv.get("/app/x")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Top Secret"'
    e = env(srv.get("/app/x", auth=("spy", "secret")))
    assert e["REMOTE_USER"] == "spy"
    assert e["AUTH_TYPE"] == "Basic"
    assert "HTTP_AUTHORIZATION" not in e
    assert srv.get("/app/x", auth=("spy", "wrong")).status_code == 401  # False
    assert srv.get("/app/x", auth=("nobody", "x")).status_code == 401  # None: unknown user
    # wsgi.errors of the hook reaches the error log, against the request.
    assert srv.wait_for_log(r"checking spy for /app/x")


def test_credentials_are_decoded_as_utf8_like_browsers_send_them(apache):
    srv = apache(APP + protected(*BASIC, "Require valid-user"), files=auth_files())
    r = srv.get("/app/", auth=("caf\xe9".encode(), "cr\xe8me".encode()))
    # The environ itself keeps PEP 3333 native strings: the bytes as latin-1.
    assert env(r)["REMOTE_USER"] == "caf\xe9".encode().decode("latin-1")
    # Bytes that are not UTF-8 reach the script (as surrogates), which does not know them.
    r = srv.get("/app/", auth=("caf\xe9".encode("latin-1"), "cr\xe8me".encode("latin-1")))
    assert r.status_code == 401


def test_a_returned_user_name_is_encoded_as_utf8(apache):
    # So that it matches the UTF-8 of a Require line (and of mod_wsgi).
    srv = apache(APP + protected(*BASIC, "Require user j\u00f6rg"), files=auth_files())
    e = env(srv.get("/app/", auth=("umlaut", "anything")))
    assert e["REMOTE_USER"] == "j\xf6rg".encode().decode("latin-1")


def test_a_returned_user_name_replaces_the_client_one(apache):
    srv = apache(
        APP + protected(*BASIC, "Require user spy"),
        files=auth_files(),
    )
    e = env(srv.get("/app/", auth=("alias", "anything")))
    assert e["REMOTE_USER"] == "spy"


@pytest.mark.allow_log("MP2131")
def test_check_password_raising_is_500_with_traceback(apache):
    srv = apache(APP + protected(*BASIC, "Require valid-user"), files=auth_files())
    assert srv.get("/app/", auth=("boom", "x")).status_code == 500
    srv.wait_for_log(r"MP2131.*exception in check_password\(\) of WSGIAuthUserScript")
    assert srv.wait_for_log(r"RuntimeError: the user database is down")
    # The next request is not affected.
    assert srv.get("/app/", auth=("spy", "secret")).status_code == 200


@pytest.mark.allow_log("MP2131")
def test_check_password_returning_nonsense_is_500(apache):
    srv = apache(APP + protected(*BASIC, "Require valid-user"), files=auth_files())
    assert srv.get("/app/", auth=("odd", "x")).status_code == 500
    assert srv.wait_for_log(r"MP2131.*check_password\(\) returned int")


@pytest.mark.allow_log("MP2130")
def test_missing_script_or_function_is_500_and_named(apache):
    srv = apache(
        APP
        + protected("AuthType Basic", 'AuthName "x"', "AuthBasicProvider wsgi",
                    "WSGIAuthUserScript @ROOT@/auth/missing.wsgi", "Require valid-user")
        + protected("AuthType Basic", 'AuthName "x"', "AuthBasicProvider wsgi",
                    "WSGIAuthUserScript @ROOT@/auth/empty.wsgi", "Require valid-user",
                    where="/app/empty")
        + protected("AuthType Basic", 'AuthName "x"', "AuthBasicProvider wsgi",
                    "Require valid-user", where="/plain")
        + "WSGIScriptAlias /plain @DOCROOT@/app.wsgi\n",
        files={**auth_files(), "../auth/empty.wsgi": "x = 1\n"},
    )
    assert srv.get("/app/", auth=("spy", "secret")).status_code == 500
    srv.wait_for_log(r"MP2130.*WSGIAuthUserScript script not found or unable to stat: .*missing")
    assert srv.get("/app/empty/", auth=("spy", "secret")).status_code == 500
    srv.wait_for_log(r"MP2130.*empty.wsgi' defines no check_password\(\)")
    assert srv.get("/plain/", auth=("spy", "secret")).status_code == 500
    srv.wait_for_log(r"MP2130.*WSGIAuthUserScript is not set for this location")


def test_auth_script_is_the_application_module_in_the_same_group(apache):
    # Django's recipe: WSGIAuthUserScript names the project's wsgi.py, loaded once per
    # interpreter, so the hook and the application share one module (and its state).
    srv = apache(
        "WSGIApplicationGroup %{GLOBAL}\n"
        "WSGIScriptAlias /calls @ROOT@/auth/auth.wsgi\n"
        "WSGICallableObject calls\n"
        + protected("AuthType Basic", 'AuthName "x"', "AuthBasicProvider wsgi",
                    "WSGIAuthUserScript @ROOT@/auth/auth.wsgi", "Require valid-user",
                    where="/calls"),
        files=auth_files(),
        mpm="prefork",
    )
    with srv.session() as s:
        s.auth = ("spy", "secret")
        assert s.get(srv.url("/calls")).text.startswith("spy")
        assert s.get(srv.url("/calls")).text.startswith("spy,spy")


def test_application_group_option_and_reload(apache):
    source = '''
        import sys

        def check_password(environ, user, password):
            environ["wsgi.errors"].write("group=%r\\n" % environ["mod_wsgi.application_group"])
            return password == "one"
    '''
    srv = apache(
        APP + protected("AuthType Basic", 'AuthName "x"', "AuthBasicProvider wsgi",
                        "WSGIAuthUserScript @ROOT@/auth/auth.wsgi application-group=guards",
                        "Require valid-user"),
        files=auth_files(source),
    )
    assert srv.get("/app/", auth=("u", "one")).status_code == 200
    assert srv.wait_for_log(r"group='guards'")
    path = srv.root / "auth" / "auth.wsgi"
    path.write_text(script(source.replace('"one"', '"two"')))
    later = time.time() + 5
    os.utime(path, (later, later))
    assert srv.get("/app/", auth=("u", "one")).status_code == 401
    assert srv.get("/app/", auth=("u", "two")).status_code == 200


def test_provider_alias_carries_the_script(apache):
    srv = apache(
        "<AuthnProviderAlias wsgi guard>\n"
        "    WSGIAuthUserScript @ROOT@/auth/auth.wsgi application-group=guards\n"
        "</AuthnProviderAlias>\n"
        + APP
        + protected("AuthType Basic", 'AuthName "x"', "AuthBasicProvider file guard",
                    "AuthUserFile @ROOT@/auth/none.htpasswd", "Require valid-user"),
        files={**auth_files(), "../auth/none.htpasswd": ""},
    )
    assert env(srv.get("/app/", auth=("spy", "secret")))["REMOTE_USER"] == "spy"
    assert srv.get("/app/", auth=("spy", "bad")).status_code == 401


def test_htaccess_with_authconfig(apache):
    srv = apache(
        "WSGIScriptAlias /app @DOCROOT@/sub/app.wsgi\n"
        '<Directory "@DOCROOT@/sub">\n    AllowOverride AuthConfig\n</Directory>\n',
        files={
            "sub/app.wsgi": script(ENV_APP),
            "sub/.htaccess": "AuthType Basic\nAuthName x\nAuthBasicProvider wsgi\n"
                             "WSGIAuthUserScript @ROOT@/auth/auth.wsgi\nRequire valid-user\n",
            "../auth/auth.wsgi": script(AUTH_SCRIPT),
        },
    )
    assert srv.get("/app/").status_code == 401
    assert env(srv.get("/app/", auth=("spy", "secret")))["REMOTE_USER"] == "spy"


# ----------------------------------------------------------------- Digest: get_realm_hash


def test_digest_auth_through_get_realm_hash(apache):
    source = '''
        import hashlib

        def get_realm_hash(environ, user, realm):
            if user != "spy":
                return None
            return hashlib.md5(("%s:%s:%s" % (user, realm, "secret")).encode()).hexdigest()
    '''
    srv = apache(
        APP + protected("AuthType Digest", 'AuthName "vault"', "AuthDigestProvider wsgi",
                        "WSGIAuthUserScript @ROOT@/auth/auth.wsgi", "Require valid-user"),
        files=auth_files(source),
        extra_modules=("auth_digest",),
    )
    assert srv.get("/app/").status_code == 401
    e = env(srv.get("/app/", auth=HTTPDigestAuth("spy", "secret")))
    assert e["REMOTE_USER"] == "spy"
    assert e["AUTH_TYPE"] == "Digest"
    assert srv.get("/app/", auth=HTTPDigestAuth("spy", "wrong")).status_code == 401
    assert srv.get("/app/", auth=HTTPDigestAuth("other", "secret")).status_code == 401


# ----------------------------------------------------------------- WSGIAuthGroupScript


GROUP_AUTH = (*BASIC, "WSGIAuthGroupScript @ROOT@/auth/auth.wsgi")


def test_require_wsgi_group(apache):
    source = AUTH_SCRIPT.replace('USERS = {"spy": "secret",',
                                 'USERS = {"spy": "secret", "boss": "b", "intern": "i",')
    srv = apache(
        APP
        + protected(*GROUP_AUTH, "Require wsgi-group agents")  # bytes in the list
        + protected(*GROUP_AUTH, "Require wsgi-group nobody staff", where="/app/staff")
        + protected(*GROUP_AUTH, "Require wsgi-group chiefs", where="/app/chiefs"),
        files=auth_files(source),
    )
    assert env(srv.get("/app/", auth=("spy", "secret")))["REMOTE_USER"] == "spy"
    assert srv.get("/app/staff/", auth=("spy", "secret")).status_code == 200
    assert srv.get("/app/chiefs/", auth=("spy", "secret")).status_code == 401
    assert srv.get("/app/chiefs/", auth=("boss", "b")).status_code == 200
    assert srv.get("/app/", auth=("intern", "i")).status_code == 401  # None: no groups
    assert srv.get("/app/").status_code == 401


@pytest.mark.allow_log("MP2131", "AH01630", "AH01631")
def test_group_hook_errors_are_500(apache):
    source = AUTH_SCRIPT.replace("if user == \"boom\":\n            raise RuntimeError(\"the user",
                                 "if user == \"never\":\n            raise RuntimeError(\"the user")
    source = source.replace('if user == "odd":\n            return 42',
                            'if user == "never2":\n            return 42')
    source = source.replace("if user not in USERS:", "if user in ('boom', 'odd'):\n"
                            "            return True\n        if user not in USERS:")
    srv = apache(APP + protected(*GROUP_AUTH, "Require wsgi-group agents"),
                 files=auth_files(source))
    assert srv.get("/app/", auth=("boom", "x")).status_code == 500
    assert srv.wait_for_log(r"RuntimeError: the group database is down")
    assert srv.get("/app/", auth=("odd", "x")).status_code == 500
    assert srv.wait_for_log(r"MP2131.*groups_for_user\(\) returned str")


@pytest.mark.allow_log("MP2001")
def test_group_authoritative_off_never_opens_require_all(apache):
    # httpd 2.4 combines Require lines itself; a provider that gave up its "denied" would let
    # every valid user through <RequireAll>. Off is accepted with a warning, as mod_wsgi has
    # no use for it on 2.4 either.
    srv = apache(
        APP + protected(*GROUP_AUTH, "WSGIGroupAuthoritative Off", "<RequireAll>",
                        "    Require wsgi-group chiefs", "    Require valid-user",
                        "</RequireAll>"),
        files=auth_files(),
    )
    assert srv.get("/app/", auth=("spy", "secret")).status_code == 401
    assert srv.wait_for_log(r"MP2001.*WSGIGroupAuthoritative")


def test_hooks_never_see_the_credentials(apache):
    source = AUTH_SCRIPT.replace(
        "        if user not in USERS:",
        '        assert "HTTP_AUTHORIZATION" not in environ, "leaked"\n'
        "        if user not in USERS:",
    ) + textwrap.indent(textwrap.dedent('''

        def allow_access(environ, host):
            assert "HTTP_AUTHORIZATION" not in environ, "credentials leaked"
            return None
    '''), "    ")
    srv = apache(
        APP + protected(*GROUP_AUTH, "WSGIPassAuthorization On",
                        "WSGIAccessScript @ROOT@/auth/auth.wsgi", "Require wsgi-group agents"),
        files=auth_files(source),
    )
    e = env(srv.get("/app/", auth=("spy", "secret")))
    assert e["HTTP_AUTHORIZATION"].startswith("Basic ")  # the application asked for it


@pytest.mark.parametrize("group", ["%{RESOURCE}", "%{ENV:WHO}", "%{HOST}", ""])
def test_hook_groups_that_depend_on_the_request_are_refused(apache, group):
    with pytest.raises(pytest.fail.Exception) as info:
        apache(APP + protected(f"WSGIAccessScript @ROOT@/auth/a.wsgi application-group={group}"),
               files=auth_files())
    assert "application-group must be a name, %{GLOBAL} or %{SERVER}" in str(info.value)


# ----------------------------------------------------------------- WSGIAccessScript


ACCESS_SCRIPT = '''
    def allow_access(environ, host):
        environ["wsgi.errors"].write("host=%r\\n" % (host,))
        assert "wsgi.input" not in environ
        path = environ["PATH_INFO"]
        if path.startswith("/deny"):
            return False
        if path.startswith("/pass"):
            return None
        if path.startswith("/odd"):
            return "yes"
        if path.startswith("/boom"):
            raise ValueError("no access today")
        return host in ("127.0.0.1", "localhost")
'''


@pytest.mark.allow_log("MP2131", "MP2132")
def test_access_script(apache):
    srv = apache(
        APP + protected("WSGIAccessScript @ROOT@/auth/access.wsgi"),
        files={"app.wsgi": script(ENV_APP), "../auth/access.wsgi": script(ACCESS_SCRIPT)},
    )
    assert srv.get("/app/ok").status_code == 200
    assert srv.wait_for_log(r"host='127.0.0.1'")
    assert srv.get("/app/deny").status_code == 403
    assert srv.wait_for_log(r"MP2132.*client denied by WSGIAccessScript")
    assert srv.get("/app/pass").status_code == 200  # None: no opinion
    assert srv.get("/app/odd").status_code == 500
    assert srv.wait_for_log(r"MP2131.*allow_access\(\) returned str")
    assert srv.get("/app/boom").status_code == 500
    assert srv.wait_for_log(r"ValueError: no access today")


def test_access_refused_under_satisfy_any_is_no_error_when_credentials_admit(apache):
    # Not allowed to log MP2132 at error level: the credentials let the client in.
    srv = apache(
        APP + protected("WSGIAccessScript @ROOT@/auth/access.wsgi", *BASIC,
                        "Require valid-user", "Satisfy Any", where="/app/deny"),
        files={**auth_files(), "../auth/access.wsgi": script(ACCESS_SCRIPT)},
        extra_modules=("access_compat",),
    )
    assert srv.get("/app/deny/x").status_code == 401
    assert srv.get("/app/deny/x", auth=("spy", "secret")).status_code == 200


def test_access_script_guards_static_files_too(apache):
    srv = apache(
        protected("WSGIAccessScript @ROOT@/auth/access.wsgi", where="/files"),
        files={"files/deny.txt": "secret\n", "files/ok.txt": "fine\n",
               "../auth/access.wsgi": script('''
                   def allow_access(environ, host):
                       return not environ["REQUEST_URI"].endswith("deny.txt")
               ''')},
        allow_log=("MP2132",),
    )
    assert srv.get("/files/ok.txt").text == "fine\n"
    assert srv.get("/files/deny.txt").status_code == 403


def test_directives_need_authconfig_context(apache):
    # Server level is not a place for them (mod_wsgi: directory and .htaccess only).
    with pytest.raises(pytest.fail.Exception) as info:
        apache("WSGIAuthUserScript @ROOT@/auth/auth.wsgi\n", files=auth_files())
    assert "WSGIAuthUserScript not allowed here" in str(info.value)


def test_unknown_option_is_a_config_error(apache):
    with pytest.raises(pytest.fail.Exception) as info:
        apache(APP + protected("WSGIAccessScript @ROOT@/auth/a.wsgi process-group=x"),
               files=auth_files())
    assert "unknown option 'process-group'" in str(info.value)

