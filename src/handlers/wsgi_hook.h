// Calling a function of a WSGI hook script (WSGIAccessScript, WSGIAuthUserScript,
// WSGIAuthGroupScript, WSGIDispatchScript): the script is loaded like a WSGI script (same module
// per file and interpreter, reloaded when it changes), in %{GLOBAL} unless application-group=
// says otherwise, and the function gets a cut-down environ (no wsgi.input) first.
#pragma once

#include <Python.h>

#include <functional>
#include <string>

#include "apache/apache.h"
#include "apache/wsgi_config.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"

namespace mp::handlers {

inline constexpr const char* kHookScriptUnusable = "MP2130";
inline constexpr const char* kHookFailed = "MP2131";

struct HookCall {
  const char* directive;  // for log lines
  const char* function;   // the function the script defines
  int error_value;        // the answer when the hook cannot give one
  bool optional = false;  // a script without the function answers DECLINED, silently
};

// Turns what the function returned into the answer (GIL held). May log and return the error
// value for a result of the wrong type.
using HookInterpret = std::function<int(const cpython::Gil&, PyObject* result)>;

// Loads `script`, calls `call.function(environ, *make_args())` and interprets the result.
// Every failure is logged (MP2130: the script or function cannot be used; MP2131: the call
// raised) and answered with `call.error_value`. Attaches to the script's interpreter itself.
int run_hook(request_rec* r, const apache::WsgiHookScript* script, const HookCall& call,
             const std::function<cpython::Ref()>& make_args, const HookInterpret& interpret);

// A native string (PEP 3333): the bytes as latin-1. Null with an exception set on failure.
cpython::Ref native_string(const char* text);

// A str (as UTF-8) or bytes value as text; false for any other type, or a NUL inside.
bool hook_text(PyObject* obj, std::string* out);

// Logs (MP2131) that `function` returned something other than `expected`.
void log_bad_hook_result(request_rec* r, const char* function, PyObject* result,
                         const char* expected);

}  // namespace mp::handlers
