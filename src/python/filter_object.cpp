// mp_filter implementation: read/readline/write/flush/close/pass_on/disable over brigades.
#include "python/filter_object.h"

#include <cctype>
#include <cstring>
#include <string>

#include "cpython/guard.h"
#include "cpython/strings.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

FilterObject* as_filter(PyObject* o) { return reinterpret_cast<FilterObject*>(o); }

FilterObject* live(PyObject* self) {
  FilterObject* filter = as_filter(self);
  if (filter->dead) {
    PyErr_SetString(PyExc_RuntimeError, "filter object used after its request ended");
    return nullptr;
  }
  return filter;
}

// The brigades are only valid while httpd is calling this filter.
bool in_call(const FilterObject* filter) {
  if (filter->in != nullptr && filter->out != nullptr) return true;
  PyErr_SetString(PyExc_RuntimeError, "filter object used outside its filter call");
  return false;
}

// The filter, if its I/O may be used now (and, with `must_be_open`, it was not closed).
FilterObject* callable_filter(PyObject* self, bool must_be_open) {
  FilterObject* filter = live(self);
  if (filter == nullptr || !in_call(filter)) return nullptr;
  if (must_be_open && filter->closed) {
    PyErr_SetString(PyExc_ValueError, "I/O operation on closed filter");
    return nullptr;
  }
  return filter;
}

apr_bucket_alloc_t* allocator(const FilterObject* filter) { return filter->f->c->bucket_alloc; }

bool ends_with_eos(apr_bucket_brigade* bb) {
  return !APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb));
}

// Input filters: fetch more data from the next filter into `in`, with the mode and size
// httpd asked this filter for.
bool fetch_input(FilterObject* filter) {
  GilAssumed g;
  apr_status_t status = APR_SUCCESS;
  {
    cpython::DetachScope io(g.gil());
    status =
        ap_get_brigade(filter->f->next, filter->in, filter->mode, filter->block, filter->readbytes);
  }
  if (APR_STATUS_IS_EAGAIN(status)) {
    filter->upstream_status = status;
    return true;
  }
  if (status != APR_SUCCESS) {
    filter->upstream_status = status;
    char reason[128];
    if (status == AP_FILTER_ERROR) {
      apr_cpystrn(reason, "the body was refused (over LimitRequestBody, or malformed)",
                  sizeof(reason));
    } else {
      apr_strerror(status, reason, sizeof(reason));
    }
    PyErr_Format(PyExc_OSError, "Input filter read error: %s", reason);
    return false;
  }
  ++filter->fetches;
  if (ends_with_eos(filter->in)) filter->upstream_ended = true;
  return true;
}

// Metadata buckets keep their place in the stream: moved to the output (output filters).
void route_metadata(FilterObject* filter, apr_bucket* b) {
  APR_BUCKET_REMOVE(b);
  if (filter->is_input) {
    apr_bucket_delete(b);
  } else {
    APR_BRIGADE_INSERT_TAIL(filter->out, b);
  }
}

// A data bucket that was read: kept until output went on, for replay after an error.
void retire(FilterObject* filter, apr_bucket* b) {
  APR_BUCKET_REMOVE(b);
  if (filter->consumed != nullptr) {
    APR_BRIGADE_INSERT_TAIL(filter->consumed, b);
  } else {
    apr_bucket_delete(b);
  }
}

// How many of `len` bytes to take: at most `want`, and for a line through the first '\n'.
std::size_t take_count(const char* data, std::size_t len, std::size_t want, bool line) {
  if (line) {
    const void* nl = std::memchr(data, '\n', len);
    if (nl != nullptr) {
      auto through = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
      if (through < want) want = through;
    }
  }
  return len < want ? len : want;
}

// Appends (part of) one data bucket to `out`; false with OSError set on a read error.
bool take_bucket(FilterObject* filter, apr_bucket* b, std::size_t want, bool line,
                 std::string* out) {
  const char* data = nullptr;
  apr_size_t len = 0;
  if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
    PyErr_SetString(PyExc_OSError, "Filter bucket read error");
    return false;
  }
  std::size_t n = take_count(data, len, want, line);
  if (n < len) apr_bucket_split(b, n);
  out->append(data, n);
  retire(filter, b);
  return true;
}

// Takes up to `limit` bytes (or through the first newline when `line`) from the brigade.
// Stops at EOS (left in place; noted when nothing was taken) and at metadata after some
// data, so a FLUSH keeps its place after what the filter writes for the data before it.
bool take_data(FilterObject* filter, std::size_t limit, bool line, std::string* out) {
  apr_bucket_brigade* bb = filter->in;
  while (!APR_BRIGADE_EMPTY(bb) && out->size() < limit) {
    apr_bucket* b = APR_BRIGADE_FIRST(bb);
    if (APR_BUCKET_IS_EOS(b)) {
      filter->eos_seen = out->empty();  // the read that returns None
      break;
    }
    if (APR_BUCKET_IS_METADATA(b)) {
      if (!out->empty()) break;
      route_metadata(filter, b);
      continue;
    }
    if (!take_bucket(filter, b, limit - out->size(), line, out)) return false;
    if (line && !out->empty() && out->back() == '\n') break;
  }
  return true;
}

// An unfinished line longer than this is returned as it is rather than held back.
constexpr std::size_t kMaxHeldLine = std::size_t{64} * 1024;

PyObject* read_impl(PyObject* self, PyObject* const* args, Py_ssize_t nargs, bool line) {
  FilterObject* filter = callable_filter(self, true);
  if (filter == nullptr) return nullptr;
  long long n = -1;
  if (nargs > 0 && args[0] != Py_None) {
    n = PyLong_AsLongLong(args[0]);
    if (n == -1 && PyErr_Occurred()) return nullptr;
  }
  std::size_t limit = n < 0 ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(n);
  std::string data;
  if (filter->is_input && APR_BRIGADE_EMPTY(filter->in) && !filter->upstream_ended &&
      !fetch_input(filter)) {
    return nullptr;
  }
  if (!take_data(filter, limit, line, &data)) return nullptr;
  if (line && !filter->is_input && filter->carry != nullptr && !filter->eos_seen &&
      data.size() < limit && data.size() < kMaxHeldLine && APR_BRIGADE_EMPTY(filter->in) &&
      (data.empty() || data.back() != '\n')) {
    // Output filters see the stream in pieces: an unfinished line waits for the next call
    // instead of being returned cut in two.
    if (!data.empty()) {
      APR_BRIGADE_INSERT_TAIL(filter->carry, apr_bucket_heap_create(data.data(), data.size(),
                                                                    nullptr, allocator(filter)));
    }
    return PyBytes_FromStringAndSize("", 0);
  }
  if (data.empty() && filter->eos_seen) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size()));
}

PyObject* m_read(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return read_impl(self, args, nargs, false);
}
PyObject* m_readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return read_impl(self, args, nargs, true);
}

PyObject* m_write(PyObject* self, PyObject* arg) {
  FilterObject* filter = callable_filter(self, true);
  if (filter == nullptr) return nullptr;
  GilAssumed g;
  cpython::BodyData body;
  if (!cpython::body_data(g.gil(), arg, &body)) return nullptr;
  if (body.size > 0) {
    // Copied: the bucket must never point into Python memory (mod_python 3.5 did).
    apr_bucket* b = apr_bucket_heap_create(body.data, body.size, nullptr, allocator(filter));
    APR_BRIGADE_INSERT_TAIL(filter->out, b);
  }
  Py_RETURN_NONE;
}

// Output filters: sends what was written on. What was read before is then answered for.
PyObject* pass_out(FilterObject* filter) {
  if (filter->is_input) Py_RETURN_NONE;  // input filters return their output to the caller
  GilAssumed g;
  apr_status_t status = APR_SUCCESS;
  {
    cpython::DetachScope io(g.gil());
    status = ap_pass_brigade(filter->f->next, filter->out);
    apr_brigade_cleanup(filter->out);
  }
  if (filter->consumed != nullptr) apr_brigade_cleanup(filter->consumed);
  if (status != APR_SUCCESS) {
    filter->downstream_failed = true;
    PyErr_SetString(PyExc_OSError, "Flush failed, client closed connection.");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* m_flush(PyObject* self, PyObject*) {
  FilterObject* filter = callable_filter(self, true);
  if (filter == nullptr) return nullptr;
  if (!filter->is_input) {
    APR_BRIGADE_INSERT_TAIL(filter->out, apr_bucket_flush_create(allocator(filter)));
  }
  return pass_out(filter);
}

PyObject* m_close(PyObject* self, PyObject*) {
  FilterObject* filter = callable_filter(self, false);
  if (filter == nullptr) return nullptr;
  if (filter->closed) Py_RETURN_NONE;
  filter->closed = true;
  // Whatever was not read is dropped: nothing may follow the end of the stream.
  apr_brigade_cleanup(filter->in);
  if (filter->consumed != nullptr) apr_brigade_cleanup(filter->consumed);
  if (filter->is_input && !filter->upstream_ended) {
    // The rest of the body is still on the connection; it must never be read as the
    // next request.
    filter->f->c->keepalive = AP_CONN_CLOSE;
  }
  APR_BRIGADE_INSERT_TAIL(filter->out, apr_bucket_eos_create(allocator(filter)));
  return pass_out(filter);
}

// Moves all of `in` to `out`; true when that included the end of the stream.
bool move_input_to_output(FilterObject* filter) {
  bool eos = false;
  while (!APR_BRIGADE_EMPTY(filter->in)) {
    apr_bucket* b = APR_BRIGADE_FIRST(filter->in);
    eos = eos || APR_BUCKET_IS_EOS(b);
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(filter->out, b);
  }
  return eos;
}

PyObject* m_pass_on(PyObject* self, PyObject*) {
  FilterObject* filter = callable_filter(self, true);
  if (filter == nullptr) return nullptr;
  if (filter->is_input && APR_BRIGADE_EMPTY(filter->in) && !filter->upstream_ended &&
      !fetch_input(filter)) {
    return nullptr;
  }
  if (move_input_to_output(filter)) {
    filter->eos_seen = true;
    filter->closed = true;
  }
  if (filter->is_input && filter->consumed != nullptr) apr_brigade_cleanup(filter->consumed);
  return pass_out(filter);
}

PyObject* m_disable(PyObject* self, PyObject*) {
  FilterObject* filter = live(self);
  if (filter == nullptr) return nullptr;
  *filter->disabled = true;
  Py_RETURN_NONE;
}

PyObject* get_closed(PyObject* self, void*) { return PyBool_FromLong(as_filter(self)->closed); }
PyObject* get_is_input(PyObject* self, void*) { return PyBool_FromLong(as_filter(self)->is_input); }
PyObject* get_req(PyObject* self, void*) { return Py_NewRef(as_filter(self)->req); }
PyObject* get_name(PyObject* self, void*) { return Py_NewRef(as_filter(self)->name); }
PyObject* get_handler(PyObject* self, void*) { return Py_NewRef(as_filter(self)->handler); }
PyObject* get_dir(PyObject* self, void*) { return Py_NewRef(as_filter(self)->dir); }
PyObject* get_softspace(PyObject* self, void*) {
  return PyLong_FromLong(as_filter(self)->softspace);
}
int set_softspace(PyObject* self, PyObject* value, void*) {
  long v = value != nullptr ? PyLong_AsLong(value) : 0;
  if (v == -1 && PyErr_Occurred()) return -1;
  as_filter(self)->softspace = static_cast<int>(v);
  return 0;
}

using cpython::cfunc;

PyMethodDef g_methods[] = {
    {"read", cfunc(cpython::Guard<m_read>::call), METH_FASTCALL,
     "read([len]) -> bytes, or None at end of stream"},
    {"readline", cfunc(cpython::Guard<m_readline>::call), METH_FASTCALL, "readline([len])"},
    {"write", cpython::Guard<m_write>::call, METH_O, "Append data (copied) to the output."},
    {"flush", cpython::Guard<m_flush>::call, METH_NOARGS,
     "Pass the output on with a FLUSH bucket."},
    {"close", cpython::Guard<m_close>::call, METH_NOARGS, "End the stream (EOS)."},
    {"pass_on", cpython::Guard<m_pass_on>::call, METH_NOARGS, "Pass the input on untouched."},
    {"disable", cpython::Guard<m_disable>::call, METH_NOARGS,
     "Be transparent for the rest of the request."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef g_getsets[] = {
    {"closed", cpython::Guard<get_closed>::call, nullptr, nullptr, nullptr},
    {"is_input", cpython::Guard<get_is_input>::call, nullptr, nullptr, nullptr},
    {"req", cpython::Guard<get_req>::call, nullptr, nullptr, nullptr},
    {"name", cpython::Guard<get_name>::call, nullptr, nullptr, nullptr},
    {"handler", cpython::Guard<get_handler>::call, nullptr, nullptr, nullptr},
    {"dir", cpython::Guard<get_dir>::call, nullptr, nullptr, nullptr},
    {"softspace", cpython::Guard<get_softspace>::call, cpython::Guard<set_softspace>::call, nullptr,
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

int filter_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(as_filter(self)->req);
  return 0;
}

void filter_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  FilterObject* filter = as_filter(self);
  Py_CLEAR(filter->req);
  Py_CLEAR(filter->name);
  Py_CLEAR(filter->handler);
  Py_CLEAR(filter->dir);
  type->tp_free(self);
  Py_DECREF(type);
}

PyType_Slot g_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<filter_dealloc>::call)},
    {Py_tp_traverse, reinterpret_cast<void*>(cpython::Guard<filter_traverse>::call)},
    {Py_tp_methods, g_methods},
    {Py_tp_getset, g_getsets},
    {0, nullptr},
};

}  // namespace

PyType_Spec g_filter_spec = {"mp_filter", sizeof(FilterObject), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, g_slots};

Ref make_filter(const cpython::Gil& gil, ModuleState* st, ap_filter_t* f, bool is_input,
                bool* disabled, PyObject* req, const char* name, const char* handler,
                const char* dir) {
  auto* obj = PyObject_GC_New(FilterObject, st->filter_type);
  if (obj == nullptr) return {};
  obj->f = f;
  obj->dead = false;
  obj->is_input = is_input;
  obj->closed = false;
  obj->eos_seen = false;
  obj->upstream_ended = false;
  obj->disabled = disabled;
  obj->in = nullptr;
  obj->out = nullptr;
  obj->consumed = nullptr;
  obj->carry = nullptr;
  obj->mode = AP_MODE_READBYTES;
  obj->block = APR_BLOCK_READ;
  obj->readbytes = 0;
  obj->upstream_status = APR_SUCCESS;
  obj->downstream_failed = false;
  obj->fetches = 0;
  obj->req = Py_NewRef(req != nullptr ? req : Py_None);
  // httpd records filter names in lower case; 3.5 filters compare against that.
  std::string lowered = name != nullptr ? name : "";
  for (char& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  obj->name = name != nullptr ? PyUnicode_FromStringAndSize(lowered.data(),
                                                            static_cast<Py_ssize_t>(lowered.size()))
                              : Py_NewRef(Py_None);
  obj->handler = cpython::str_or_none(gil, handler).release();
  obj->dir = cpython::str_or_none(gil, dir).release();
  obj->softspace = 0;
  PyObject_GC_Track(obj);
  Ref result = Ref::steal(reinterpret_cast<PyObject*>(obj));
  if (obj->name == nullptr || obj->handler == nullptr || obj->dir == nullptr) return {};
  return result;
}

apr_status_t flush_filter_output(FilterObject* filter) noexcept {
  if (filter->is_input) return APR_SUCCESS;
  if (!filter->closed && move_input_to_output(filter)) filter->closed = true;
  apr_brigade_cleanup(filter->in);  // after the end of the stream: dropped
  if (APR_BRIGADE_EMPTY(filter->out)) return APR_SUCCESS;
  apr_status_t status = ap_pass_brigade(filter->f->next, filter->out);
  apr_brigade_cleanup(filter->out);
  return status;
}

void undo_filter_call(FilterObject* filter) noexcept {
  // Keep metadata (FLUSH) that went to the output; drop the data the call wrote.
  for (apr_bucket* b = APR_BRIGADE_FIRST(filter->out); b != APR_BRIGADE_SENTINEL(filter->out);) {
    apr_bucket* next = APR_BUCKET_NEXT(b);
    if (!APR_BUCKET_IS_METADATA(b) || filter->is_input) apr_bucket_delete(b);
    b = next;
  }
  if (filter->carry != nullptr) apr_brigade_cleanup(filter->carry);  // also in `consumed`
  if (filter->consumed != nullptr) APR_BRIGADE_PREPEND(filter->in, filter->consumed);
}

}  // namespace mp::python
