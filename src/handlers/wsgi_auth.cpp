// WSGIAccessScript, WSGIAuthUserScript and WSGIAuthGroupScript: httpd asks, a function in a
// Python script answers (run_hook, wsgi_hook.h).
#include "handlers/wsgi_auth.h"

#include <ap_expr.h>
#include <ap_provider.h>
#include <http_core.h>
#include <http_request.h>
#include <mod_auth.h>

#include <string>
#include <vector>

#include "apache/boundary.h"
#include "apache/log.h"
#include "apache/wsgi_config.h"
#include "cpython/ref.h"
#include "cpython/strings.h"
#include "handlers/wsgi_hook.h"
#include "handlers/wsgi_request.h"

namespace mp::handlers {

using apache::WsgiHookScript;
using cpython::Ref;

namespace {

constexpr const char* kAccessDenied = "MP2132";

void log_request(request_rec* r, int level, const char* id, const std::string& text) {
  apache::log_wsgi_request(level, 0, r, id, text);
}

// ---- WSGIAccessScript --------------------------------------------------------------------

int access_denied(request_rec* r, const char* script) {
  // Under "Satisfy Any" valid credentials may still admit the client: not an error yet
  // (mod_access_compat's host checks keep quiet there too, with the same test;
  // ap_some_authn_required() would run the access checkers, this one among them).
  bool auth_may_admit = ap_satisfies(r) == SATISFY_ANY && ap_some_auth_required(r);
  log_request(r, auth_may_admit ? APLOG_INFO : APLOG_ERR, kAccessDenied,
              std::string("client denied by WSGIAccessScript '") + script +
                  "': " + (r->uri != nullptr ? r->uri : ""));
  return HTTP_FORBIDDEN;
}

int access_checker(request_rec* r) noexcept {
  return apache::guard(r->server, static_cast<int>(HTTP_INTERNAL_SERVER_ERROR), [&]() -> int {
    const apache::WsgiConfig* cfg = dir_wsgi(r);
    if (cfg == nullptr || cfg->access_script == nullptr) return DECLINED;
    const char* host = ap_get_useragent_host(r, REMOTE_NAME, nullptr);
    return run_hook(
        r, cfg->access_script, "WSGIAccessScript", HTTP_INTERNAL_SERVER_ERROR, "allow_access",
        [&] {
          Ref h = host != nullptr ? native_string(host) : Ref::borrow(Py_None);
          return h ? Ref::steal(PyTuple_Pack(1, h.get())) : Ref();
        },
        [&](const cpython::Gil&, PyObject* result) -> int {
          if (result == Py_None) return DECLINED;
          if (result == Py_True) return OK;
          if (result == Py_False) return access_denied(r, cfg->access_script->path);
          log_bad_hook_result(r, "allow_access", result, "True, False or None");
          return HTTP_INTERNAL_SERVER_ERROR;
        });
  });
}

// ---- WSGIAuthUserScript: authn provider "wsgi" ----------------------------------------------

const WsgiHookScript* auth_user_script(const request_rec* r) {
  const apache::WsgiConfig* cfg = dir_wsgi(r);
  return cfg != nullptr ? cfg->auth_user_script : nullptr;
}

// User names, passwords and realms reach the script as every other Apache string does: UTF-8
// (what browsers send, and what mod_wsgi decodes), other bytes as surrogates. Called with the
// GIL held; null with a Python exception on failure.
Ref credential_args(const char* first, const char* second = nullptr) {
  cpython::GilAssumed g;
  Ref a = cpython::str_or_none(g.gil(), first);
  Ref b = second != nullptr ? cpython::str_or_none(g.gil(), second) : Ref();
  if (!a || (second != nullptr && !b)) return {};
  return Ref::steal(second != nullptr ? PyTuple_Pack(2, a.get(), b.get())
                                      : PyTuple_Pack(1, a.get()));
}

// What check_password() returned, as the provider's answer. A user name means authenticated,
// and known by that name from now on (written back the way credentials are read).
int password_verdict(const cpython::Gil& gil, request_rec* r, PyObject* result) {
  if (result == Py_None) return AUTH_USER_NOT_FOUND;
  if (result == Py_True) return AUTH_GRANTED;
  if (result == Py_False) return AUTH_DENIED;
  std::string name;
  if (PyUnicode_Check(result) && !cpython::apache_path(gil, result, &name, "user name")) {
    PyErr_Clear();
    name.clear();
  }
  if (name.empty()) {
    log_bad_hook_result(r, "check_password", result, "True, False, None or a non-empty user name");
    return AUTH_GENERAL_ERROR;
  }
  r->user = apr_pstrmemdup(r->pool, name.data(), name.size());
  return AUTH_GRANTED;
}

authn_status check_password(request_rec* r, const char* user, const char* password) noexcept {
  return apache::guard(r->server, AUTH_GENERAL_ERROR, [&]() -> authn_status {
    int status = run_hook(
        r, auth_user_script(r), "WSGIAuthUserScript", AUTH_GENERAL_ERROR, "check_password",
        [&] { return credential_args(user, password); },
        [&](const cpython::Gil& gil, PyObject* result) {
          return password_verdict(gil, r, result);
        });
    return static_cast<authn_status>(status);
  });
}

authn_status get_realm_hash(request_rec* r, const char* user, const char* realm,
                            char** rethash) noexcept {
  return apache::guard(r->server, AUTH_GENERAL_ERROR, [&]() -> authn_status {
    int status = run_hook(
        r, auth_user_script(r), "WSGIAuthUserScript", AUTH_GENERAL_ERROR, "get_realm_hash",
        [&] { return credential_args(user, realm); },
        [&](const cpython::Gil&, PyObject* result) -> int {
          if (result == Py_None) return AUTH_USER_NOT_FOUND;
          std::string hash;
          if (!hook_text(result, &hash) || hash.empty()) {
            log_bad_hook_result(r, "get_realm_hash", result,
                                "None or the hex MD5 of 'user:realm:password'");
            return AUTH_GENERAL_ERROR;
          }
          *rethash = apr_pstrmemdup(r->pool, hash.data(), hash.size());
          return AUTH_USER_FOUND;
        });
    return static_cast<authn_status>(status);
  });
}

const authn_provider kAuthnProvider = {&check_password, &get_realm_hash};

// ---- WSGIAuthGroupScript: authz provider "wsgi-group" ---------------------------------------

// The names the user's groups go by; false (logged) when the result is not a sequence of
// names.
bool group_names(const cpython::Gil& gil, request_rec* r, PyObject* result,
                 std::vector<std::string>* out) {
  if (result == Py_None) return true;
  Ref iterator = Ref::steal(PyObject_GetIter(result));
  if (!iterator || PyUnicode_Check(result) || PyBytes_Check(result)) {
    PyErr_Clear();
    log_bad_hook_result(r, "groups_for_user", result, "a list of group names");
    return false;
  }
  while (Ref item = Ref::steal(PyIter_Next(iterator.get()))) {
    std::string name;
    if (!hook_text(item.get(), &name)) {
      log_bad_hook_result(r, "groups_for_user", item.get(), "group names as str or bytes");
      return false;
    }
    out->push_back(std::move(name));
  }
  if (PyErr_Occurred()) {
    log_python_error(gil, r, kHookFailed, "exception iterating the result of groups_for_user()");
    return false;
  }
  return true;
}

// Whether one of the words of `required` is in `groups`.
bool in_required_group(apr_pool_t* pool, const char* required,
                       const std::vector<std::string>& groups) {
  const char* words = required;
  while (*words != '\0') {
    const char* wanted = ap_getword_conf(pool, &words);
    if (*wanted == '\0') break;
    for (const std::string& g : groups) {
      if (g == wanted) return true;
    }
  }
  return false;
}

// What groups_for_user() returned, as the provider's answer.
int group_verdict(const cpython::Gil& gil, request_rec* r, PyObject* result, const char* required) {
  std::vector<std::string> groups;
  if (!group_names(gil, r, result, &groups)) return AUTHZ_GENERAL_ERROR;
  if (in_required_group(r->pool, required, groups)) return AUTHZ_GRANTED;
  log_request(r, APLOG_INFO, kAccessDenied,
              std::string("user '") + r->user + "' is in none of the groups of Require " +
                  "wsgi-group " + required);
  return AUTHZ_DENIED;
}

authz_status check_group(request_rec* r, const char* require_line,
                         const void* parsed_require_line) noexcept {
  return apache::guard(r->server, AUTHZ_GENERAL_ERROR, [&]() -> authz_status {
    if (r->user == nullptr) return AUTHZ_DENIED_NO_USER;
    const char* err = nullptr;
    const auto* expr = static_cast<const ap_expr_info_t*>(parsed_require_line);
    const char* required = expr != nullptr ? ap_expr_str_exec(r, expr, &err) : require_line;
    if (err != nullptr || required == nullptr) {
      log_request(r, APLOG_ERR, kHookFailed,
                  std::string("cannot evaluate Require wsgi-group: ") +
                      (err != nullptr ? err : "no value"));
      return AUTHZ_GENERAL_ERROR;
    }
    const apache::WsgiConfig* cfg = dir_wsgi(r);
    int status = run_hook(
        r, cfg != nullptr ? cfg->auth_group_script : nullptr, "WSGIAuthGroupScript",
        AUTHZ_GENERAL_ERROR, "groups_for_user", [&] { return credential_args(r->user); },
        [&](const cpython::Gil& gil, PyObject* result) {
          return group_verdict(gil, r, result, required);
        });
    return static_cast<authz_status>(status);
  });
}

const char* parse_group_require(cmd_parms* cmd, const char* require_line,
                                const void** parsed_require_line) noexcept {
  const char* err = nullptr;
  ap_expr_info_t* expr = ap_expr_parse_cmd_mi(cmd, require_line, AP_EXPR_FLAG_STRING_RESULT, &err,
                                              nullptr, python_module.module_index);
  if (err != nullptr) {
    return apr_pstrcat(cmd->temp_pool, "Cannot parse expression in require line: ", err, nullptr);
  }
  *parsed_require_line = expr;
  return nullptr;
}

const authz_provider kAuthzProvider = {&check_group, &parse_group_require};

}  // namespace

void register_wsgi_auth_hooks(apr_pool_t* pool) noexcept {
  ap_hook_access_checker(access_checker, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_register_auth_provider(pool, AUTHN_PROVIDER_GROUP, "wsgi", AUTHN_PROVIDER_VERSION,
                            &kAuthnProvider, AP_AUTH_INTERNAL_PER_CONF);
  ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "wsgi-group", AUTHZ_PROVIDER_VERSION,
                            &kAuthzProvider, AP_AUTH_INTERNAL_PER_CONF);
}

}  // namespace mp::handlers
