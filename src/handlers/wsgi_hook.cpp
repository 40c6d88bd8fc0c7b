// Calling a function of a WSGI hook script (see wsgi_hook.h).
#include "handlers/wsgi_hook.h"

#include <cstring>

#include "apache/log.h"
#include "common/wsgi_rules.h"
#include "cpython/interpreter_registry.h"
#include "handlers/wsgi_exchange.h"
#include "handlers/wsgi_request.h"
#include "handlers/wsgi_script.h"
#include "wsgi/adapter.h"

namespace mp::handlers {

using apache::Tristate;
using apache::WsgiHookScript;
using cpython::Ref;

namespace {

void log_request(request_rec* r, int level, const char* id, const std::string& text) {
  apache::log_wsgi_request(level, 0, r, id, text);
}

}  // namespace

int run_hook(request_rec* r, const WsgiHookScript* script, const HookCall& call,
             const std::function<Ref()>& make_args, const HookInterpret& interpret) {
  if (script == nullptr) {
    log_request(r, APLOG_ERR, kHookScriptUnusable,
                std::string(call.directive) + " is not set for this location, but " +
                    call.function + "() is needed: add the directive where the " +
                    "authentication or access control is configured");
    return call.error_value;
  }
  apr_finfo_t info;
  if (apr_stat(&info, script->path, APR_FINFO_MTIME | APR_FINFO_TYPE, r->pool) != APR_SUCCESS ||
      info.filetype != APR_REG) {
    log_request(
        r, APLOG_ERR, kHookScriptUnusable,
        std::string(call.directive) + " script not found or unable to stat: " + script->path);
    return call.error_value;
  }
  std::string path_info = r->path_info != nullptr ? r->path_info : "";
  std::string script_name = wsgi_rules::script_name(r->uri != nullptr ? r->uri : "", path_info);
  const char* group_value =
      script->application_group != nullptr ? script->application_group : "%{GLOBAL}";
  std::string group = expand_group(r, r->server, group_value, script_name);
  std::string error;
  cpython::Interpreter* interp =
      cpython::InterpreterRegistry::instance().get(interpreter_for_group(group), &error);
  if (interp == nullptr) {
    log_request(r, APLOG_ERR, kHookScriptUnusable, "cannot create the interpreter: " + error);
    return call.error_value;
  }
  const apache::WsgiConfig* cfg = dir_wsgi(r);
  bool reloading = cfg == nullptr || cfg->script_reloading != Tristate::kOff;
  ensure_log_ids(r);
  wsgi::RequestTraits traits = make_traits(r, group, call.function);
  traits.script = script->path;
  ApacheExchange exchange(r, cfg, script_name, path_info, false, traits);

  cpython::AttachScope attach(*interp);
  const cpython::Gil& gil = attach.gil();
  WsgiInterpreterData* data = wsgi_data(gil, *interp, group);
  PyObject* module = data != nullptr
                         ? wsgi_script_module(gil, *data, script->path, info.mtime, reloading)
                         : nullptr;
  if (module == nullptr) {
    log_python_error(gil, r, kHookScriptUnusable,
                     std::string("failed to load ") + call.directive + " '" + script->path + "'");
    return call.error_value;
  }
  Ref function = Ref::steal(PyObject_GetAttrString(module, call.function));
  if (!function) {
    PyErr_Clear();
    if (call.optional) return DECLINED;
    log_request(
        r, APLOG_ERR, kHookScriptUnusable,
        std::string(call.directive) + " '" + script->path + "' defines no " + call.function + "()");
    return call.error_value;
  }
  Ref args = make_args();
  Ref result = args
                   ? wsgi::call_hook(gil, data->types, exchange, traits, function.get(), args.get())
                   : Ref();
  if (!result) {
    log_python_error(gil, r, kHookFailed,
                     std::string("exception in ") + call.function + "() of " + call.directive +
                         " '" + script->path + "'");
    return call.error_value;
  }
  return interpret(gil, result.get());
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
