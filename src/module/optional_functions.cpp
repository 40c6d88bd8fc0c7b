// Optional functions for other modules: take an interpreter's GIL, get our wrapper objects.
#include "module/optional_functions.h"

#include <apr_optional.h>

#include <string>

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "handlers/request_state.h"
#include "python/connection_object.h"
#include "python/interpreter_setup.h"
#include "python/server_object.h"

extern "C" {
APR_DECLARE_OPTIONAL_FN(PyInterpreterState*, mp_acquire_interpreter, (const char*));
APR_DECLARE_OPTIONAL_FN(void, mp_release_interpreter, (void));
APR_DECLARE_OPTIONAL_FN(PyObject*, mp_get_request_object, (request_rec*));
APR_DECLARE_OPTIONAL_FN(PyObject*, mp_get_server_object, (server_rec*));
APR_DECLARE_OPTIONAL_FN(PyObject*, mp_get_connection_object, (conn_rec*));
}

namespace mp::module {
namespace {

// The interpreter this thread acquired through mp_acquire_interpreter (one at a time).
thread_local cpython::Interpreter* t_acquired = nullptr;

PyInterpreterState* acquire(const char* name) noexcept {
  if (t_acquired != nullptr || name == nullptr) return nullptr;
  std::string error;
  cpython::Interpreter* interp = cpython::InterpreterRegistry::instance().get(name, &error);
  if (interp == nullptr) return nullptr;
  PyEval_RestoreThread(cpython::thread_state_for(*interp));
  t_acquired = interp;
  return interp->state();
}

void release() noexcept {
  if (t_acquired == nullptr) return;
  t_acquired = nullptr;
  PyEval_SaveThread();
}

// New references; the caller holds the interpreter from mp_acquire_interpreter.
PyObject* request_object(request_rec* r) noexcept {
  if (t_acquired == nullptr) return nullptr;
  cpython::GilAssumed g;
  PyObject* obj = handlers::request_object(g.gil(), r, *t_acquired);
  return Py_XNewRef(obj);
}

PyObject* server_object(server_rec* s) noexcept {
  if (t_acquired == nullptr) return nullptr;
  cpython::GilAssumed g;
  return python::make_server(g.gil(), python::data_of(*t_acquired)->state, s).release();
}

PyObject* connection_object(conn_rec* c) noexcept {
  if (t_acquired == nullptr) return nullptr;
  cpython::GilAssumed g;
  return python::make_connection(g.gil(), python::data_of(*t_acquired)->state, c, t_acquired)
      .release();
}

}  // namespace

void register_optional_functions() noexcept {
  APR_OPTIONAL_FN_TYPE(mp_acquire_interpreter)* a = &acquire;
  APR_OPTIONAL_FN_TYPE(mp_release_interpreter)* b = &release;
  APR_OPTIONAL_FN_TYPE(mp_get_request_object)* c = &request_object;
  APR_OPTIONAL_FN_TYPE(mp_get_server_object)* d = &server_object;
  APR_OPTIONAL_FN_TYPE(mp_get_connection_object)* e = &connection_object;
  apr_dynamic_fn_register("mp_acquire_interpreter", reinterpret_cast<apr_opt_fn_t*>(a));
  apr_dynamic_fn_register("mp_release_interpreter", reinterpret_cast<apr_opt_fn_t*>(b));
  apr_dynamic_fn_register("mp_get_request_object", reinterpret_cast<apr_opt_fn_t*>(c));
  apr_dynamic_fn_register("mp_get_server_object", reinterpret_cast<apr_opt_fn_t*>(d));
  apr_dynamic_fn_register("mp_get_connection_object", reinterpret_cast<apr_opt_fn_t*>(e));
}

}  // namespace mp::module
