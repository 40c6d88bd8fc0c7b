// Calling the functions of a WSGI hook script (WSGIAccessScript, WSGIAuthUserScript,
// WSGIAuthGroupScript, WSGIDispatchScript): the script is loaded like a WSGI script (same module
// per file and interpreter, reloaded when it changes), in %{GLOBAL} unless application-group=
// says otherwise, and each function gets a cut-down environ (no wsgi.input, no credentials)
// first.
#pragma once

#include <Python.h>

#include <functional>
#include <span>
#include <string>

#include "apache/apache.h"
#include "apache/wsgi_config.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"

namespace mp::handlers {

inline constexpr const char* kHookScriptUnusable = "MP2130";
inline constexpr const char* kHookFailed = "MP2131";

struct HookFunction {
  const char* name;
  std::function<cpython::Ref()> make_args;  // the arguments after environ (a tuple)
  // Takes in what the function returned (GIL held); false when it was unusable (logged).
  std::function<bool(const cpython::Gil&, PyObject* result)> take;
};

struct HookScriptUse {
  const char* directive;  // for log lines
  int error_value;        // the answer when the script cannot answer
  bool optional;          // a function the script lacks is skipped instead of an error
};

// Loads `script` and calls `functions` in order with one environ. OK when every call
// succeeded and its result was taken; otherwise `use.error_value`, logged (MP2130: the script
// or a function cannot be used; MP2131: a call raised or returned something unusable).
int call_hook_functions(request_rec* r, const apache::WsgiHookScript* script,
                        const HookScriptUse& use, std::span<const HookFunction> functions);

// One function whose result `interpret` turns into the answer (or error_value when the call
// fails): `call_hook_functions` for the common case.
int run_hook(request_rec* r, const apache::WsgiHookScript* script, const char* directive,
             int error_value, const char* function, const std::function<cpython::Ref()>& make_args,
             const std::function<int(const cpython::Gil&, PyObject* result)>& interpret);

// A native string (PEP 3333): the bytes as latin-1. Null with an exception set on failure.
cpython::Ref native_string(const char* text);

// A str (as UTF-8) or bytes value as text; false for any other type, or a NUL inside.
bool hook_text(PyObject* obj, std::string* out);

// Logs (MP2131) that `function` returned something other than `expected`.
void log_bad_hook_result(request_rec* r, const char* function, PyObject* result,
                         const char* expected);

}  // namespace mp::handlers
