// Request state lifetime: created on first use, torn down at request-pool cleanup, where
// registered cleanups and PythonCleanupHandler run before the request objects die.
#include "handlers/request_state.h"

#include "apache/boundary.h"
#include "apache/log.h"
#include "cpython/exception.h"
#include "handlers/phase_dispatch.h"
#include "python/request_object.h"

namespace mp::handlers {
namespace {

// Runs each (callable, data) that req.register_cleanup() recorded on this request object.
void run_registered_cleanups(const cpython::Gil& gil, request_rec* r, PyObject* obj) {
  auto* req = python::as_request(obj);
  PyObject* list = req->cleanups;
  if (list == nullptr) return;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) {
    PyObject* pair = PyList_GET_ITEM(list, i);
    cpython::Ref result = cpython::Ref::steal(
        PyObject_CallOneArg(PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)));
    if (!result) {
      for (const auto& line : cpython::format_current_exception(gil)) {
        apache::log_request(APLOG_ERR, 0, r, "MP0120", "request cleanup: " + line);
      }
    }
  }
  Py_CLEAR(req->cleanups);
}

apr_status_t end_of_request(void* data) noexcept {
  auto* state = static_cast<RequestState*>(data);
  return apache::guard(state->r->server, APR_SUCCESS, [&]() -> apr_status_t {
    for (auto* e = state->objects; e != nullptr; e = e->next) {
      cpython::AttachScope attach(*e->interp);
      run_registered_cleanups(attach.gil(), state->r, e->object);
    }
    // PythonCleanupHandler: results are ignored, errors only logged (by the dispatcher).
    run_request_phase(state->r, Phase::kCleanup);
    for (auto* e = state->objects; e != nullptr; e = e->next) {
      cpython::AttachScope attach(*e->interp);
      python::kill_request(attach.gil(), e->object);
      Py_DECREF(e->object);
    }
    state->objects = nullptr;
    return APR_SUCCESS;
  });
}

}  // namespace

RequestState* existing_request_state(const request_rec* r) noexcept {
  return static_cast<RequestState*>(ap_get_module_config(r->request_config, &python_module));
}

RequestState* request_state(request_rec* r) {
  if (RequestState* state = existing_request_state(r)) return state;
  auto* state = static_cast<RequestState*>(apr_pcalloc(r->pool, sizeof(RequestState)));
  state->r = r;
  ap_set_module_config(r->request_config, &python_module, state);
  apr_pool_cleanup_register(r->pool, state, end_of_request, apr_pool_cleanup_null);
  return state;
}

PyObject* request_object(const cpython::Gil& gil, request_rec* r, cpython::Interpreter& interp) {
  RequestState* state = request_state(r);
  for (auto* e = state->objects; e != nullptr; e = e->next) {
    if (e->interp == &interp) return e->object;
  }
  python::InterpreterData* data = python::data_of(interp);
  cpython::Ref obj = python::make_request(gil, data->state, r, &interp);
  if (!obj) return nullptr;
  auto* node = static_cast<RequestObjects*>(apr_palloc(r->pool, sizeof(RequestObjects)));
  node->interp = &interp;
  node->object = obj.release();
  node->next = state->objects;
  state->objects = node;
  return node->object;
}

void add_dynamic_handler(request_rec* r, Phase phase, const apache::HandlerEntry& entry) {
  RequestState* state = request_state(r);
  apr_array_header_t*& list = state->dynamic[phase_index(phase)];
  if (list == nullptr) list = apr_array_make(r->pool, 2, sizeof(apache::HandlerEntry));
  *static_cast<apache::HandlerEntry*>(apr_array_push(list)) = entry;
}

}  // namespace mp::handlers
