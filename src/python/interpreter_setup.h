// Preparing a freshly created interpreter for mod_python: sys.path, sys.argv, mod_python.apache.
#pragma once

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"
#include "python/module_state.h"

namespace mp::python {

// What the python layer keeps per interpreter. Upper layers derive from it.
struct InterpreterData : cpython::InterpreterExtension {
  cpython::Ref apache_builtin;  // the `_apache` module of this interpreter
  ModuleState* state = nullptr;
  cpython::Ref apache_py;  // mod_python.apache
};

// Process-wide facts the setup needs; set once in each child before interpreters exist.
struct ProcessContext {
  server_rec* main_server = nullptr;
  apr_pool_t* child_pool = nullptr;
  const char* addhandler_exts = "";  // extensions mapped to mod_python by AddHandler
  // AddHandler reached this module's own directive hook, so each section's config knows its
  // extensions (false when mod_mime was searched first: addhandler_exts is the fallback).
  bool addhandler_per_section = false;
};
ProcessContext& process_context() noexcept;

// The request this thread is running Python code for (so print()/stderr output is logged
// with the request's context). Set by the dispatcher around handler calls.
class CurrentRequestScope {
 public:
  explicit CurrentRequestScope(request_rec* r) noexcept;
  ~CurrentRequestScope();
  CurrentRequestScope(const CurrentRequestScope&) = delete;
  CurrentRequestScope& operator=(const CurrentRequestScope&) = delete;
  static request_rec* current() noexcept;

 private:
  request_rec* previous_;
};

// Fills `data` for `interp`; false with a Python exception set on failure.
[[nodiscard]] bool prepare_interpreter(cpython::Interpreter& interp, const cpython::Gil& gil,
                                       InterpreterData* data);

inline InterpreterData* data_of(cpython::Interpreter& interp) noexcept {
  return static_cast<InterpreterData*>(interp.extension());
}

}  // namespace mp::python
