// Request objects per (request, interpreter), released at request-pool cleanup.
#include "handlers/request_state.h"

#include "python/request_object.h"

namespace mp::handlers {
namespace {

struct RequestObjects {
  cpython::Interpreter* interp;
  PyObject* object;  // strong reference
  RequestObjects* next;
};

apr_status_t release_objects(void* data) noexcept {
  for (auto* e = static_cast<RequestObjects*>(data); e != nullptr; e = e->next) {
    cpython::AttachScope attach(*e->interp);
    python::kill_request(attach.gil(), e->object);
    Py_DECREF(e->object);
  }
  return APR_SUCCESS;
}

RequestObjects* head_of(request_rec* r) noexcept {
  return static_cast<RequestObjects*>(ap_get_module_config(r->request_config, &python_module));
}

}  // namespace

PyObject* existing_request_object(request_rec* r, const cpython::Interpreter& interp) noexcept {
  for (auto* e = head_of(r); e != nullptr; e = e->next) {
    if (e->interp == &interp) return e->object;
  }
  return nullptr;
}

PyObject* request_object(const cpython::Gil& gil, request_rec* r, cpython::Interpreter& interp) {
  if (PyObject* found = existing_request_object(r, interp)) return found;
  python::InterpreterData* data = python::data_of(interp);
  cpython::Ref obj = python::make_request(gil, data->state, r, &interp);
  if (!obj) return nullptr;
  RequestObjects* head = head_of(r);
  auto* node = static_cast<RequestObjects*>(apr_palloc(r->pool, sizeof(RequestObjects)));
  node->interp = &interp;
  node->object = obj.release();
  if (head == nullptr) {
    node->next = nullptr;
    ap_set_module_config(r->request_config, &python_module, node);
    apr_pool_cleanup_register(r->pool, node, release_objects, apr_pool_cleanup_null);
  } else {
    node->next = head->next;
    head->next = node;
  }
  return node->object;
}

}  // namespace mp::handlers
