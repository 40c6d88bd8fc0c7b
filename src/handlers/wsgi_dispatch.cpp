// Embedded WSGI: mapping URLs to scripts, choosing the interpreter, running the adapter.
#include "handlers/wsgi_dispatch.h"

#include <ap_listen.h>
#include <http_core.h>
#include <http_request.h>
#include <mpm_common.h>

#include <strings.h>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "apache/boundary.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "apache/wsgi_config.h"
#include "common/wsgi_rules.h"
#include "cpython/exception.h"
#include "cpython/interpreter_registry.h"
#include "handlers/handler_cache.h"
#include "handlers/wsgi_exchange.h"
#include "handlers/wsgi_hook.h"
#include "handlers/wsgi_request.h"
#include "handlers/wsgi_script.h"
#include "python/interpreter_setup.h"
#include "wsgi/adapter.h"

namespace mp::handlers {

using apache::Tristate;
using apache::WsgiAlias;
using apache::WsgiConfig;
using cpython::Ref;

namespace {

constexpr const char* kAliasNote = "mod_wsgi.alias";

// mod_alias matching: '/' in the alias matches a run of '/' in the URI, and the match must end
// at a segment boundary. Returns the length of URI matched, or 0.
std::size_t alias_matches(const char* uri, const char* alias) {
  const char* u = uri;
  const char* a = alias;
  while (*a != '\0') {
    if (*a == '/') {
      if (*u != '/') return 0;
      while (*a == '/') ++a;
      while (*u == '/') ++u;
    } else {
      if (*u++ != *a++) return 0;
    }
  }
  if (a > alias && a[-1] != '/' && *u != '\0' && *u != '/') return 0;
  return static_cast<std::size_t>(u - uri);
}

const WsgiAlias* find_alias(request_rec* r, const WsgiConfig* cfg, const char** filename) {
  if (cfg == nullptr || cfg->aliases == nullptr) return nullptr;
  const auto* aliases = reinterpret_cast<const WsgiAlias*>(cfg->aliases->elts);
  for (int i = 0; i < cfg->aliases->nelts; ++i) {
    const WsgiAlias& alias = aliases[i];
    if (alias.regex != nullptr) {
      ap_regmatch_t match[AP_MAX_REG_MATCH];
      if (ap_regexec(alias.regex, r->uri, AP_MAX_REG_MATCH, match, 0) != 0) continue;
      const char* found = ap_pregsub(r->pool, alias.target, r->uri, AP_MAX_REG_MATCH, match);
      if (found == nullptr) continue;
      *filename = apr_pstrcat(r->pool, found, r->uri + match[0].rm_eo, nullptr);
      return &alias;
    }
    std::size_t n = alias_matches(r->uri, alias.location);
    if (n == 0) continue;
    // The rest keeps its leading '/' ("/" mounted on a file: /x/y -> file/x/y), except that a
    // directory target already ends in one.
    const char* rest = r->uri + n;
    if (n > 0 && r->uri[n - 1] == '/') --rest;
    std::size_t target_len = std::strlen(alias.target);
    if (target_len > 0 && alias.target[target_len - 1] == '/' && *rest == '/') ++rest;
    *filename = apr_pstrcat(r->pool, alias.target, rest, nullptr);
    return &alias;
  }
  return nullptr;
}

const WsgiConfig* server_wsgi(const request_rec* r) {
  const auto* cfg = apache::server_config(r->server);
  return cfg != nullptr ? cfg->wsgi : nullptr;
}

// WSGIMapHEADToGET Auto: a content-level output filter (DEFLATE, CACHE_SAVE, ...) needs the
// body a GET would produce.
bool content_filters_present(const request_rec* r) {
  for (const ap_filter_t* f = r->output_filters; f != nullptr; f = f->next) {
    if (f->frec != nullptr && f->frec->ftype < AP_FTYPE_PROTOCOL) return true;
  }
  return false;
}

bool map_head_to_get(const request_rec* r, const WsgiConfig* cfg) {
  if (!r->header_only) return false;
  apache::HeadMapping mode = cfg != nullptr ? cfg->map_head_to_get : apache::HeadMapping::kUnset;
  if (mode == apache::HeadMapping::kOn) return true;
  if (mode == apache::HeadMapping::kOff) return false;
  return content_filters_present(r);
}

// What the request runs: the wsgi-script target itself, or a WSGIHandlerScript's script for
// the target (the resource).
struct Target {
  const char* script = nullptr;  // the file loaded as the module
  apr_time_t mtime = 0;          // its modification time (0: unknown)
  const apache::WsgiHandlerScript* handler = nullptr;
};

// A handler script's optional reload_required(resource) asks for a fresh load of the script
// it was loaded from. When it raises, the error is logged and the loaded script serves; a
// failed reload answers 500 (logged) and returns false.
bool reload_if_required(const cpython::Gil& gil, request_rec* r, WsgiInterpreterData& data,
                        const Target& target, Ref* module) {
  Ref hook = Ref::steal(PyObject_GetAttrString(module->get(), "reload_required"));
  if (!hook) {
    PyErr_Clear();
    return true;
  }
  Ref resource = Ref::steal(PyUnicode_DecodeFSDefault(r->filename != nullptr ? r->filename : ""));
  Ref answer = resource ? Ref::steal(PyObject_CallOneArg(hook.get(), resource.get())) : Ref();
  int truth = answer ? PyObject_IsTrue(answer.get()) : -1;
  if (truth < 0) {
    log_python_error(gil, r, "MP2102",
                     std::string("exception in reload_required() of WSGI handler script '") +
                         target.script + "' (the loaded script serves the request)");
    return true;
  }
  if (truth == 0) return true;
  *module = Ref::borrow(wsgi_script_module(gil, data, target.script, target.mtime, true, true));
  if (!*module) {
    log_python_error(gil, r, "MP2102",
                     std::string("failed to reload WSGI handler script '") + target.script + "'");
    return false;
  }
  return true;
}

// Loads the script in the attached interpreter and runs its application over `exchange`.
int call_application(const cpython::Gil& gil, request_rec* r, const WsgiConfig* cfg,
                     cpython::Interpreter& interp, const wsgi::RequestTraits& traits,
                     ApacheExchange& exchange, const Target& target) {
  python::CurrentRequestScope current(r);
  WsgiInterpreterData* data = wsgi_data(gil, interp, traits.application_group);
  if (data == nullptr) {
    log_python_error(gil, r, "MP2124",
                     "cannot prepare interpreter '" + interp.name() + "' for WSGI");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  bool reloading = cfg == nullptr || cfg->script_reloading != Tristate::kOff;
  bool just_loaded = false;
  Ref module = Ref::borrow(
      wsgi_script_module(gil, *data, target.script, target.mtime, reloading, false, &just_loaded));
  if (!module) {
    log_python_error(gil, r, "MP2102",
                     std::string("failed to load WSGI script '") + target.script + "'");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  if (target.handler != nullptr && reloading && !just_loaded &&
      !reload_if_required(gil, r, *data, target, &module)) {
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  Ref application =
      Ref::steal(PyObject_GetAttrString(module.get(), traits.callable_object.c_str()));
  if (!application) {
    PyErr_Clear();
    apache::log_wsgi_request(APLOG_ERR, 0, r, "MP2103",
                             std::string("Target WSGI script '") + target.script +
                                 "' does not contain WSGI application '" + traits.callable_object +
                                 "'");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  wsgi::Outcome outcome =
      wsgi::run_application(gil, data->types, exchange, traits, application.get());
  if (outcome == wsgi::Outcome::kBadRequestBody) return exchange.body_error_status();
  return outcome == wsgi::Outcome::kFailedBeforeResponse ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

// WSGIRestrictEmbedded On refuses every request; OK otherwise.
int restrict_embedded_status(request_rec* r) {
  if (!apache::wsgi_globals().restrict_embedded) return OK;
  apache::log_wsgi_request(APLOG_ERR, 0, r, "MP2123",
                           "embedded mode of WSGI is disabled by WSGIRestrictEmbedded");
  return HTTP_INTERNAL_SERVER_ERROR;
}

// Whether the target may run at all (spec §2); OK or the HTTP status to answer. A handler
// script's resource is data, not code, and may be virtual: the script decides about it.
// "AcceptPathInfo Off" refuses a URL with path info after the file it names.
bool path_info_refused(const request_rec* r) {
  return r->path_info != nullptr && *r->path_info != '\0' &&
         r->used_path_info == AP_REQ_REJECT_PATH_INFO;
}

// 404 for path info that "AcceptPathInfo Off" refuses, said at info level (a client's URL).
int refuse_path_info(request_rec* r) {
  apache::log_wsgi_request(APLOG_INFO, 0, r, "MP2127",
                           std::string("AcceptPathInfo Off refuses the path info '") +
                               r->path_info + "' after " + (r->filename ? r->filename : ""));
  return HTTP_NOT_FOUND;
}

int check_target(request_rec* r, bool handler_script) {
  // A handler script's resource may be virtual (no file); the section's AcceptPathInfo holds.
  if (handler_script)
    return path_info_refused(r) ? refuse_path_info(r) : restrict_embedded_status(r);
  bool from_alias = apr_table_get(r->notes, kAliasNote) != nullptr;
  if (!from_alias && (ap_allow_options(r) & OPT_EXECCGI) == 0) {
    apache::log_wsgi_request(APLOG_ERR, 0, r, "MP2120",
                             std::string("Options ExecCGI is off in this directory: ") +
                                 (r->filename != nullptr ? r->filename : ""));
    return HTTP_FORBIDDEN;
  }
  if (r->finfo.filetype == APR_NOFILE) {
    apache::log_wsgi_request(APLOG_ERR, 0, r, "MP2121",
                             std::string("Target WSGI script not found or unable to stat: ") +
                                 (r->filename != nullptr ? r->filename : ""));
    return HTTP_NOT_FOUND;
  }
  if (r->finfo.filetype == APR_DIR) {
    apache::log_wsgi_request(
        APLOG_ERR, 0, r, "MP2122",
        std::string("Attempt to invoke directory as WSGI application: ") + r->filename);
    return HTTP_FORBIDDEN;
  }
  if (path_info_refused(r)) return refuse_path_info(r);
  return restrict_embedded_status(r);
}

// The application group and callable for the request, before any WSGIDispatchScript.
struct Choice {
  std::string group;
  std::string callable;
};

Choice configured_choice(request_rec* r, const WsgiConfig* cfg,
                         const apache::WsgiHandlerScript* handler, const std::string& script_name) {
  const char* group_value = apr_table_get(r->notes, "mod_wsgi.application_group");
  if (group_value == nullptr && cfg != nullptr) group_value = cfg->application_group;
  if (handler != nullptr && handler->application_group != nullptr) {
    group_value = handler->application_group;
  }
  Choice choice;
  choice.group =
      expand_group(r, r->server, group_value != nullptr ? group_value : "%{RESOURCE}", script_name);
  if (handler != nullptr) {
    choice.callable = "handle_request";  // fixed for handler scripts
    return choice;
  }
  const char* callable = apr_table_get(r->notes, "mod_wsgi.callable_object");
  if (callable == nullptr && cfg != nullptr) callable = cfg->callable_object;
  if (callable == nullptr) callable = "application";
  choice.callable = callable;
  if (choice.callable.rfind("%{ENV:", 0) == 0 && choice.callable.back() == '}') {
    const char* v = env_value(r, choice.callable.substr(6, choice.callable.size() - 7));
    choice.callable = v != nullptr && *v != '\0' ? v : "application";
  }
  return choice;
}

// WSGIDispatchScript: its optional process_group(), application_group() and
// callable_object() functions may override the choice (None keeps it). OK or 500 (logged).
int apply_dispatch_script(request_rec* r, const apache::WsgiHookScript* script,
                          const std::string& script_name, Choice* choice) {
  // None keeps the configured choice; a str (even "", the main interpreter) replaces it.
  std::optional<std::string> process_group;
  std::optional<std::string> group;
  std::optional<std::string> callable;
  auto no_args = [] { return Ref::steal(PyTuple_New(0)); };
  auto taking = [r](const char* function, std::optional<std::string>* out) {
    return [r, function, out](const cpython::Gil&, PyObject* result) {
      if (result == Py_None) return true;
      std::string text;
      if (PyUnicode_Check(result) && hook_text(result, &text)) {
        *out = std::move(text);
        return true;
      }
      log_bad_hook_result(r, function, result, "a str or None");
      return false;
    };
  };
  const HookFunction functions[] = {
      {"process_group", no_args, taking("process_group", &process_group)},
      {"application_group", no_args, taking("application_group", &group)},
      {"callable_object", no_args, taking("callable_object", &callable)},
  };
  int status = call_hook_functions(
      r, script, HookScriptUse{"WSGIDispatchScript", HTTP_INTERNAL_SERVER_ERROR, true}, functions);
  if (status != OK) return status;
  if (process_group && !process_group->empty() && *process_group != "%{GLOBAL}") {
    apache::log_wsgi_request(APLOG_ERR, 0, r, kHookFailed,
                             "process_group() of WSGIDispatchScript chose daemon process group '" +
                                 *process_group + "': daemon mode is not yet supported");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  if (group) choice->group = expand_group(r, r->server, *group, script_name);
  if (callable) choice->callable = *callable;
  return OK;
}

int run_wsgi(request_rec* r, const apache::WsgiHandlerScript* handler) {
  const WsgiConfig* cfg = dir_wsgi(r);
  if (int status = check_target(r, handler != nullptr); status != OK) return status;
  bool chunked_ok = cfg == nullptr || cfg->chunked_request != Tristate::kOff;
  int status =
      ap_setup_client_block(r, chunked_ok ? REQUEST_CHUNKED_DECHUNK : REQUEST_CHUNKED_ERROR);
  if (status != OK) return status;  // 411 / 413 before the application runs

  std::string path_info = wsgi_rules::collapse_slashes(r->path_info != nullptr ? r->path_info : "");
  std::string script_name = wsgi_rules::script_name(r->uri != nullptr ? r->uri : "", path_info);
  Choice choice = configured_choice(r, cfg, handler, script_name);
  if (cfg != nullptr && cfg->dispatch_script != nullptr) {
    status = apply_dispatch_script(r, cfg->dispatch_script, script_name, &choice);
    if (status != OK) return status;
  }

  Target target;
  target.script = r->filename;
  target.mtime = r->finfo.mtime;
  if (handler != nullptr) {
    target.handler = handler;
    target.script = handler->path;
    apr_finfo_t info;
    target.mtime =
        apr_stat(&info, handler->path, APR_FINFO_MTIME, r->pool) == APR_SUCCESS ? info.mtime : 0;
    if (handler->pass_authorization != Tristate::kUnset) {
      apr_table_setn(r->notes, "mod_wsgi.pass_authorization",
                     handler->pass_authorization == Tristate::kOn ? "1" : "0");
    }
  }

  std::string error;
  cpython::Interpreter* interp =
      cpython::InterpreterRegistry::instance().get(interpreter_for_group(choice.group), &error);
  if (interp == nullptr) {
    apache::log_wsgi_request(APLOG_ERR, 0, r, "MP2124", "cannot create the interpreter: " + error);
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  ensure_log_ids(r);
  wsgi::RequestTraits traits = make_traits(r, choice.group, choice.callable.c_str());
  if (handler != nullptr) {
    traits.script = handler->path;
    traits.handler_script = handler->path;
  }
  bool head_as_get = map_head_to_get(r, cfg);
  traits.head = r->header_only && !head_as_get;
  traits.header_only = r->header_only != 0;
  ApacheExchange exchange(r, cfg, std::move(script_name), std::move(path_info), head_as_get,
                          traits);
  {
    cpython::AttachScope attach(*interp);
    status = call_application(attach.gil(), r, cfg, *interp, traits, exchange, target);
  }
  // A small complete response is passed on only now, after the GIL was given up once.
  exchange.send_deferred();
  return status;
}

// The WSGIHandlerScript named by the request's handler, if any.
const apache::WsgiHandlerScript* handler_script_for(const request_rec* r) {
  const WsgiConfig* cfg = dir_wsgi(r);
  if (r->handler == nullptr || cfg == nullptr || cfg->handler_scripts == nullptr) return nullptr;
  const auto* scripts =
      reinterpret_cast<const apache::WsgiHandlerScript*>(cfg->handler_scripts->elts);
  for (int i = 0; i < cfg->handler_scripts->nelts; ++i) {
    if (strcasecmp(scripts[i].name, r->handler) == 0) return &scripts[i];
  }
  return nullptr;
}

}  // namespace

int wsgi_translate_name(request_rec* r) noexcept {
  return apache::guard(r->server, static_cast<int>(DECLINED), [&]() -> int {
    if (!apache::wsgi_globals().any_wsgi || r->uri == nullptr || r->uri[0] != '/') return DECLINED;
    const char* filename = nullptr;
    const WsgiAlias* alias = find_alias(r, server_wsgi(r), &filename);
    if (alias == nullptr) return DECLINED;
    r->filename = apr_pstrdup(r->pool, filename);
    r->handler = "wsgi-script";
    apr_table_setn(r->notes, kAliasNote, "1");
    if (alias->application_group != nullptr) {
      apr_table_setn(r->notes, "mod_wsgi.application_group", alias->application_group);
    }
    if (alias->callable_object != nullptr) {
      apr_table_setn(r->notes, "mod_wsgi.callable_object", alias->callable_object);
    }
    if (alias->pass_authorization != Tristate::kUnset) {
      apr_table_setn(r->notes, "mod_wsgi.pass_authorization",
                     alias->pass_authorization == Tristate::kOn ? "1" : "0");
    }
    return OK;
  });
}

int wsgi_content_handler(request_rec* r) noexcept {
  if (r->handler == nullptr) return DECLINED;
  return apache::guard(r->server, static_cast<int>(HTTP_INTERNAL_SERVER_ERROR), [&]() -> int {
    if (is_wsgi_handler(r->handler)) return run_wsgi(r, nullptr);
    const apache::WsgiHandlerScript* handler = handler_script_for(r);
    return handler != nullptr ? run_wsgi(r, handler) : static_cast<int>(DECLINED);
  });
}

void wsgi_preload_scripts() noexcept {
  const apr_array_header_t* preloads = apache::wsgi_globals().preloads;
  if (preloads == nullptr) return;
  const auto* entries = reinterpret_cast<const apache::WsgiPreload*>(preloads->elts);
  for (int i = 0; i < preloads->nelts; ++i) {
    const apache::WsgiPreload& p = entries[i];
    apache::guard(p.server, 0, [&]() -> int {
      std::string group = expand_group(nullptr, p.server, p.application_group, "");
      std::string error;
      cpython::Interpreter* interp =
          cpython::InterpreterRegistry::instance().get(interpreter_for_group(group), &error);
      if (interp == nullptr) {
        apache::log_server(APLOG_ERR, 0, p.server, "MP2125",
                           std::string("cannot preload '") + p.script + "': " + error);
        return 0;
      }
      cpython::AttachScope attach(*interp);
      WsgiInterpreterData* data = wsgi_data(attach.gil(), *interp, group);
      apr_finfo_t info;
      apr_time_t mtime = 0;
      apr_pool_t* pool = nullptr;
      if (apr_pool_create(&pool, nullptr) == APR_SUCCESS) {
        if (apr_stat(&info, p.script, APR_FINFO_MTIME, pool) == APR_SUCCESS) mtime = info.mtime;
        apr_pool_destroy(pool);
      }
      if (data == nullptr ||
          wsgi_script_module(attach.gil(), *data, p.script, mtime, true) == nullptr) {
        apache::log_server(APLOG_ERR, 0, p.server, "MP2125",
                           std::string("failed to preload WSGI script '") + p.script + "'");
        for (const auto& line : cpython::format_current_exception(attach.gil())) {
          apache::log_server(APLOG_ERR, 0, p.server, "MP2125", line);
        }
      }
      return 0;
    });
  }
}

}  // namespace mp::handlers
