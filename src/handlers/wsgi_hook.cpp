// Calling the functions of a WSGI hook script (see wsgi_hook.h).
#include "handlers/wsgi_hook.h"

#include <cstring>

#include "apache/log.h"
#include "common/wsgi_rules.h"
#include "cpython/interpreter_registry.h"
#include "handlers/wsgi_exchange.h"
#include "handlers/wsgi_request.h"
#include "handlers/wsgi_script.h"
#include "python/interpreter_setup.h"
#include "wsgi/adapter.h"

namespace mp::handlers {

using apache::Tristate;
using apache::WsgiHookScript;
using cpython::Ref;

namespace {

void log_request(request_rec* r, int level, const char* id, const std::string& text) {
  apache::log_wsgi_request(level, 0, r, id, text);
}

// Calls the functions in the attached interpreter (GIL held).
int call_loaded(const cpython::Gil& gil, request_rec* r, const WsgiHookScript* script,
                const HookScriptUse& use, std::span<const HookFunction> functions, PyObject* module,
                wsgi::HookCaller& caller) {
  for (const HookFunction& f : functions) {
    Ref function = Ref::steal(PyObject_GetAttrString(module, f.name));
    if (!function) {
      PyErr_Clear();
      if (use.optional) continue;
      log_request(
          r, APLOG_ERR, kHookScriptUnusable,
          std::string(use.directive) + " '" + script->path + "' defines no " + f.name + "()");
      return use.error_value;
    }
    Ref args = f.make_args();
    Ref result = args ? caller.call(function.get(), args.get()) : Ref();
    if (!result) {
      log_python_error(gil, r, kHookFailed,
                       std::string("exception in ") + f.name + "() of " + use.directive + " '" +
                           script->path + "'");
      return use.error_value;
    }
    if (!f.take(gil, result.get())) return use.error_value;
  }
  return OK;
}

}  // namespace

int call_hook_functions(request_rec* r, const WsgiHookScript* script, const HookScriptUse& use,
                        std::span<const HookFunction> functions) {
  const char* first = functions.empty() ? "a function" : functions.front().name;
  if (script == nullptr) {
    log_request(r, APLOG_ERR, kHookScriptUnusable,
                std::string(use.directive) + " is not set for this location, but " + first +
                    "() is needed: add the directive where the authentication or access "
                    "control is configured");
    return use.error_value;
  }
  apr_finfo_t info;
  if (apr_stat(&info, script->path, APR_FINFO_MTIME | APR_FINFO_TYPE, r->pool) != APR_SUCCESS ||
      info.filetype != APR_REG) {
    log_request(
        r, APLOG_ERR, kHookScriptUnusable,
        std::string(use.directive) + " script not found or unable to stat: " + script->path);
    return use.error_value;
  }
  std::string path_info = wsgi_rules::collapse_slashes(r->path_info != nullptr ? r->path_info : "");
  std::string script_name = wsgi_rules::script_name(r->uri != nullptr ? r->uri : "", path_info);
  const char* group_value =
      script->application_group != nullptr ? script->application_group : "%{GLOBAL}";
  std::string group = expand_group(r, r->server, group_value, script_name);
  std::string error;
  cpython::Interpreter* interp =
      cpython::InterpreterRegistry::instance().get(interpreter_for_group(group), &error);
  if (interp == nullptr) {
    log_request(r, APLOG_ERR, kHookScriptUnusable, "cannot create the interpreter: " + error);
    return use.error_value;
  }
  const apache::WsgiConfig* cfg = dir_wsgi(r);
  bool reloading = cfg == nullptr || cfg->script_reloading != Tristate::kOff;
  ensure_log_ids(r);
  wsgi::RequestTraits traits = make_traits(r, group, first);
  traits.script = script->path;
  ApacheExchange exchange(r, cfg, script_name, path_info, false, traits);
  exchange.hide_credentials();  // the hook sees the outcome of authentication, never its input

  cpython::AttachScope attach(*interp);
  const cpython::Gil& gil = attach.gil();
  python::CurrentRequestScope current(r);
  WsgiInterpreterData* data = wsgi_data(gil, *interp, group);
  Ref module =
      data != nullptr
          ? Ref::borrow(wsgi_script_module(gil, *data, script->path, info.mtime, reloading))
          : Ref();
  if (!module) {
    log_python_error(gil, r, kHookScriptUnusable,
                     std::string("failed to load ") + use.directive + " '" + script->path + "'");
    return use.error_value;
  }
  wsgi::HookCaller caller(gil, data->types, exchange, traits);
  return call_loaded(gil, r, script, use, functions, module.get(), caller);
}

int run_hook(request_rec* r, const WsgiHookScript* script, const char* directive, int error_value,
             const char* function, const std::function<Ref()>& make_args,
             const std::function<int(const cpython::Gil&, PyObject* result)>& interpret) {
  int answer = error_value;
  const HookFunction call{function, make_args, [&](const cpython::Gil& gil, PyObject* result) {
                            answer = interpret(gil, result);
                            return true;
                          }};
  int status = call_hook_functions(r, script, HookScriptUse{directive, error_value, false},
                                   std::span<const HookFunction>(&call, 1));
  return status == OK ? answer : error_value;
}

Ref native_string(const char* text) {
  return Ref::steal(
      PyUnicode_DecodeLatin1(text, static_cast<Py_ssize_t>(std::strlen(text)), "strict"));
}

bool hook_text(PyObject* obj, std::string* out) {
  const char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyUnicode_Check(obj)) {
    data = PyUnicode_AsUTF8AndSize(obj, &size);
    if (data == nullptr) {
      PyErr_Clear();
      return false;
    }
  } else if (PyBytes_Check(obj)) {
    data = PyBytes_AS_STRING(obj);
    size = PyBytes_GET_SIZE(obj);
  } else {
    return false;
  }
  out->assign(data, static_cast<std::size_t>(size));
  return out->find('\0') == std::string::npos;
}

void log_bad_hook_result(request_rec* r, const char* function, PyObject* result,
                         const char* expected) {
  log_request(
      r, APLOG_ERR, kHookFailed,
      std::string(function) + "() returned " + Py_TYPE(result)->tp_name + ", expected " + expected);
}

}  // namespace mp::handlers
