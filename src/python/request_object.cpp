// mp_request type: creation, death, GC support and the assembled method table.
#include "python/request_object.h"
#include "cpython/guard.h"

#include <structmember.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <span>

namespace mp::python {

using cpython::Ref;

namespace {

void clear_cached(CachedTable* t) {
  Py_CLEAR(t->object);
  t->source = nullptr;
}

// Py_VISIT expands to branches; the function is a flat list of them.
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
int request_traverse(PyObject* self, visitproc visit, void* arg) {
  RequestObject* req = as_request(self);
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(req->dict);
  Py_VISIT(req->headers_in.object);
  Py_VISIT(req->headers_out.object);
  Py_VISIT(req->err_headers_out.object);
  Py_VISIT(req->subprocess_env.object);
  Py_VISIT(req->notes.object);
  Py_VISIT(req->connection);
  Py_VISIT(req->phase);
  Py_VISIT(req->extension);
  Py_VISIT(req->hlist);
  Py_VISIT(req->cleanups);
  return 0;
}

int request_clear(PyObject* self) {
  RequestObject* req = as_request(self);
  Py_CLEAR(req->dict);
  clear_cached(&req->headers_in);
  clear_cached(&req->headers_out);
  clear_cached(&req->err_headers_out);
  clear_cached(&req->subprocess_env);
  clear_cached(&req->notes);
  Py_CLEAR(req->connection);
  Py_CLEAR(req->phase);
  Py_CLEAR(req->extension);
  Py_CLEAR(req->hlist);
  Py_CLEAR(req->cleanups);
  return 0;
}

void request_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  request_clear(self);
  delete as_request(self)->body_buffer;
  as_request(self)->io_mutex.~recursive_mutex();
  type->tp_free(self);
  Py_DECREF(type);
}

PyObject* request_repr(PyObject* self) {
  RequestObject* req = as_request(self);
  if (req->dead || req->r == nullptr) return PyUnicode_FromString("<mp_request (ended)>");
  return PyUnicode_FromFormat("<mp_request %s %s>", req->r->method ? req->r->method : "?",
                              req->r->uri ? req->r->uri : "?");
}

// The type's method and attribute tables, gathered from the files that define them. Plain
// static arrays: never destroyed (the type keeps pointing at them, and worker threads may
// still run Python while exit() runs static destructors) and never allocated, since this
// runs whenever httpd loads the module, once per restart.
constexpr std::size_t kMaxMethods = 256;
constexpr std::size_t kMaxGetsets = 256;
std::array<PyMethodDef, kMaxMethods> g_methods{};
std::array<PyGetSetDef, kMaxGetsets> g_getsets{};

// Copies `parts` into `table`, leaving its last entry the null sentinel.
template <typename Def, std::size_t N, typename... Parts>
void gather(std::array<Def, N>& table, const Parts&... parts) {
  std::size_t used = 0;
  auto add = [&](std::span<Def> part) {
    for (const Def& def : part) {
      if (used + 1 >= N) {  // a fixed table too small is a build mistake: fail at once
        std::fputs("mod_python: request type table too small\n", stderr);
        std::abort();
      }
      table.at(used++) = def;
    }
  };
  (add(parts), ...);
  table.at(used) = Def{};
}

PyMemberDef g_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(RequestObject, dict), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot g_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<request_dealloc>::call)},
    {Py_tp_traverse, reinterpret_cast<void*>(cpython::Guard<request_traverse>::call)},
    {Py_tp_clear, reinterpret_cast<void*>(cpython::Guard<request_clear>::call)},
    {Py_tp_repr, reinterpret_cast<void*>(cpython::Guard<request_repr>::call)},
    {Py_tp_members, g_members},
    {Py_tp_methods, nullptr},  // filled in by request_type_spec()
    {Py_tp_getset, nullptr},
    {0, nullptr},
};

PyType_Slot* slots() {
  gather(g_methods, request_io_methods(), request_misc_methods(), request_wsgi_methods());
  gather(g_getsets, request_getsets());
  g_slots[5].pfunc = g_methods.data();
  g_slots[6].pfunc = g_getsets.data();
  return g_slots;
}

}  // namespace

PyType_Spec g_request_spec = {"mp_request", sizeof(RequestObject), 0,
                              Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, slots()};

Ref make_request(const cpython::Gil& /*gil*/, ModuleState* st, request_rec* r,
                 cpython::Interpreter* interp) {
  auto* req = PyObject_GC_New(RequestObject, st->request_type);
  if (req == nullptr) return {};
  // The object's memory comes from Python: the one C++ member is constructed in place (and
  // destroyed in request_dealloc).
  new (&req->io_mutex) std::recursive_mutex();
  req->r = r;
  req->dead = false;
  req->filter_depth = 0;
  req->interp = interp;
  req->dict = nullptr;
  req->headers_in = {nullptr, nullptr};
  req->headers_out = {nullptr, nullptr};
  req->err_headers_out = {nullptr, nullptr};
  req->subprocess_env = {nullptr, nullptr};
  req->notes = {nullptr, nullptr};
  req->connection = nullptr;
  req->phase = Py_NewRef(Py_None);
  req->extension = Py_NewRef(Py_None);
  req->hlist = Py_NewRef(Py_None);
  req->body_buffer = nullptr;
  req->body_started = false;
  req->body_done = false;
  req->body_error_status = 0;
  req->body_failed = false;
  req->client_gone = false;
  req->content_type_set = false;
  req->bytes_queued = 0;
  req->cleanups = nullptr;
  req->dispatch_entry = nullptr;
  PyObject_GC_Track(req);
  return Ref::steal(reinterpret_cast<PyObject*>(req));
}

void kill_request(const cpython::Gil& /*gil*/, PyObject* obj) noexcept {
  RequestObject* req = as_request(obj);
  {
    // A thread of the handler may still be in httpd's I/O for this request (without the
    // GIL, see RequestIo): the request_rec must outlive that call.
    std::lock_guard<std::recursive_mutex> io(req->io_mutex);
    req->dead = true;
    req->r = nullptr;
  }
  clear_cached(&req->headers_in);
  clear_cached(&req->headers_out);
  clear_cached(&req->err_headers_out);
  clear_cached(&req->subprocess_env);
  clear_cached(&req->notes);
  Py_CLEAR(req->connection);
}

PyObject* request_ended_error() noexcept {
  PyErr_SetString(PyExc_RuntimeError,
                  "request object used after its request has ended (do not keep req "
                  "beyond the request)");
  return nullptr;
}

PyObject* request_io_refused(const RequestObject* req) noexcept {
  if (req->dead) return request_ended_error();
  PyErr_SetString(PyExc_RuntimeError,
                  "the request's I/O cannot be used from inside one of its own filters "
                  "(use filter.read() and filter.write())");
  return nullptr;
}

request_rec* live_request(PyObject* self) noexcept {
  RequestObject* req = as_request(self);
  if (req->dead || req->r == nullptr) {
    request_ended_error();
    return nullptr;
  }
  return req->r;
}

DispatchServices& dispatch_services() noexcept {
  static DispatchServices services;
  return services;
}

bool response_started(const RequestObject* req) noexcept {
  // Headers on the wire, not bytes queued: output still held by httpd (req.write(s, 0), every
  // PSP page) is dropped by its error response, which can still say 500 (as 3.5 did).
  return req->r != nullptr && req->r->sent_bodyct != 0;
}

PyObject* client_gone_error(PyObject* self, const char* message) noexcept {
  as_request(self)->client_gone = true;
  PyErr_SetString(PyExc_OSError, message);
  return nullptr;
}

}  // namespace mp::python
