// mp_request attributes: request_rec fields, live tables and dispatch state (spec §10.1).
#include <climits>
#include <cstddef>
#include <string>

#include "cpython/guard.h"
#include "cpython/strings.h"
#include "python/connection_object.h"
#include "python/finfo_object.h"
#include "python/hlist_object.h"
#include "python/request_object.h"
#include "python/server_object.h"
#include "python/table_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

// kPath: read like kString, written as UTF-8 (cpython::apache_path) so that paths round-trip.
enum class Kind { kString, kPath, kInt, kOffset, kTime, kLatin1 };

struct Field {
  std::size_t offset;
  Kind kind;
  bool allow_none_on_set;
};

template <typename T>
T& field_at(request_rec* r, std::size_t offset) {
  return *reinterpret_cast<T*>(reinterpret_cast<char*>(r) + offset);
}

PyObject* get_field(PyObject* self, void* closure) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  const auto* f = static_cast<const Field*>(closure);
  GilAssumed g;
  switch (f->kind) {
    case Kind::kString:
    case Kind::kPath:
      return cpython::str_or_none(g.gil(), field_at<const char*>(r, f->offset)).release();
    case Kind::kLatin1:
      return cpython::latin1_str_or_none(g.gil(), field_at<const char*>(r, f->offset)).release();
    case Kind::kInt:
      return PyLong_FromLong(field_at<int>(r, f->offset));
    case Kind::kOffset:
      return PyLong_FromLongLong(static_cast<long long>(field_at<apr_off_t>(r, f->offset)));
    case Kind::kTime:
      return PyFloat_FromDouble(static_cast<double>(field_at<apr_time_t>(r, f->offset)) /
                                static_cast<double>(APR_USEC_PER_SEC));
  }
  Py_RETURN_NONE;
}

int set_field(PyObject* self, PyObject* value, void* closure) {
  request_rec* r = live_request(self);
  if (r == nullptr) return -1;
  const auto* f = static_cast<const Field*>(closure);
  if (value == nullptr) {
    PyErr_SetString(PyExc_AttributeError, "attribute cannot be deleted");
    return -1;
  }
  if (f->kind == Kind::kInt) {
    long v = PyLong_AsLong(value);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < INT_MIN || v > INT_MAX) {
      PyErr_SetString(PyExc_OverflowError, "attribute value out of range");
      return -1;
    }
    field_at<int>(r, f->offset) = static_cast<int>(v);
    return 0;
  }
  if (value == Py_None) {
    if (!f->allow_none_on_set) {
      PyErr_SetString(PyExc_TypeError, "attribute value must be a string");
      return -1;
    }
    field_at<const char*>(r, f->offset) = nullptr;
    return 0;
  }
  std::string text;
  GilAssumed g;
  bool converted = f->kind == Kind::kPath
                       ? cpython::apache_path(g.gil(), value, &text, "attribute value")
                       : cpython::apache_string(g.gil(), value, &text, "attribute value");
  if (!converted) return -1;
  if (!cpython::no_line_breaks(text, "attribute value")) return -1;
  field_at<const char*>(r, f->offset) = apr_pstrmemdup(r->pool, text.data(), text.size());
  return 0;
}

#define MP_FIELD(name, kind, none) \
  Field name##_field { offsetof(request_rec, name), Kind::kind, none }

MP_FIELD(the_request, kString, false);
MP_FIELD(assbackwards, kInt, false);
MP_FIELD(proxyreq, kInt, false);
MP_FIELD(header_only, kInt, false);
MP_FIELD(protocol, kString, false);
MP_FIELD(proto_num, kInt, false);
MP_FIELD(hostname, kString, false);
MP_FIELD(request_time, kTime, false);
MP_FIELD(status_line, kString, true);
MP_FIELD(status, kInt, false);
MP_FIELD(method, kString, false);
MP_FIELD(method_number, kInt, false);
MP_FIELD(sent_bodyct, kOffset, false);
MP_FIELD(bytes_sent, kOffset, false);
MP_FIELD(mtime, kTime, false);
MP_FIELD(chunked, kInt, false);
MP_FIELD(range, kString, false);
MP_FIELD(clength, kOffset, false);
MP_FIELD(remaining, kOffset, false);
MP_FIELD(read_length, kOffset, false);
MP_FIELD(read_body, kInt, false);
MP_FIELD(read_chunked, kInt, false);
MP_FIELD(expecting_100, kInt, false);
MP_FIELD(handler, kString, true);
MP_FIELD(content_encoding, kString, false);
MP_FIELD(vlist_validator, kString, false);
MP_FIELD(user, kLatin1, true);
MP_FIELD(ap_auth_type, kString, true);
MP_FIELD(no_cache, kInt, false);
MP_FIELD(no_local_copy, kInt, false);
MP_FIELD(unparsed_uri, kPath, false);
MP_FIELD(uri, kPath, false);
MP_FIELD(filename, kPath, true);
MP_FIELD(canonical_filename, kPath, true);
MP_FIELD(path_info, kPath, true);
MP_FIELD(args, kPath, true);
MP_FIELD(used_path_info, kInt, false);
MP_FIELD(eos_sent, kInt, false);
MP_FIELD(useragent_ip, kString, false);
#undef MP_FIELD

PyObject* table_attr(PyObject* self, CachedTable RequestObject::*slot,
                     apr_table_t* request_rec::*source, bool header_values) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  RequestObject* req = as_request(self);
  CachedTable& cached = req->*slot;
  apr_table_t* current = r->*source;
  if (cached.object == nullptr || cached.source != current) {
    GilAssumed g;
    Ref view = make_table_view(g.gil(), state_of(self), current, self, &req->dead, header_values);
    if (!view) return nullptr;
    Py_XSETREF(cached.object, view.release());
    cached.source = current;
  }
  return Py_NewRef(cached.object);
}

PyObject* get_headers_in(PyObject* self, void*) {
  return table_attr(self, &RequestObject::headers_in, &request_rec::headers_in, false);
}
PyObject* get_headers_out(PyObject* self, void*) {
  return table_attr(self, &RequestObject::headers_out, &request_rec::headers_out, true);
}
PyObject* get_err_headers_out(PyObject* self, void*) {
  return table_attr(self, &RequestObject::err_headers_out, &request_rec::err_headers_out, true);
}
PyObject* get_subprocess_env(PyObject* self, void*) {
  return table_attr(self, &RequestObject::subprocess_env, &request_rec::subprocess_env, false);
}
PyObject* get_notes(PyObject* self, void*) {
  return table_attr(self, &RequestObject::notes, &request_rec::notes, false);
}

PyObject* get_content_type(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  return cpython::str_or_none(g.gil(), r->content_type).release();
}

int set_content_type(PyObject* self, PyObject* value, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return -1;
  std::string text;
  GilAssumed g;
  if (value == nullptr || !cpython::apache_string(g.gil(), value, &text, "content_type")) {
    if (value == nullptr) PyErr_SetString(PyExc_AttributeError, "cannot delete content_type");
    return -1;
  }
  if (!cpython::no_line_breaks(text, "content_type")) return -1;
  ap_set_content_type(r, apr_pstrmemdup(r->pool, text.data(), text.size()));
  as_request(self)->content_type_set = true;
  return 0;
}

PyObject* get_content_type_set(PyObject* self, void*) {
  return PyLong_FromLong(as_request(self)->content_type_set ? 1 : 0);
}

PyObject* get_bytes_queued(PyObject* self, void*) {
  return PyLong_FromLongLong(as_request(self)->bytes_queued);
}

PyObject* get_connection(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  RequestObject* req = as_request(self);
  if (req->connection == nullptr) {
    GilAssumed g;
    Ref conn = make_connection(g.gil(), state_of(self), r->connection, req->interp);
    if (!conn) return nullptr;
    req->connection = conn.release();
  }
  return Py_NewRef(req->connection);
}

PyObject* get_server(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  return make_server(g.gil(), state_of(self), r->server).release();
}

PyObject* get_interpreter(PyObject* self, void*) {
  if (live_request(self) == nullptr) return nullptr;
  const std::string& name = as_request(self)->interp->name();
  return PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
}

PyObject* get_phase(PyObject* self, void*) { return Py_NewRef(as_request(self)->phase); }
PyObject* get_extension(PyObject* self, void*) { return Py_NewRef(as_request(self)->extension); }
PyObject* get_hlist(PyObject* self, void*) {
  if (live_request(self) == nullptr) return nullptr;
  GilAssumed g;
  return make_hlist(g.gil(), state_of(self),
                    static_cast<const apache::HandlerEntry*>(as_request(self)->dispatch_entry))
      .release();
}

PyObject* get_allowed(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  return PyLong_FromLongLong(static_cast<long long>(r->allowed));
}

PyObject* get_useragent_addr(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  return address_tuple(r->useragent_addr).release();
}

PyObject* get_finfo(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  return make_finfo(g.gil(), state_of(self), r->finfo).release();
}

int set_finfo(PyObject* self, PyObject* value, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return -1;
  if (value == nullptr || !is_finfo(state_of(self), value)) {
    PyErr_SetString(PyExc_TypeError, "finfo must be an mp_finfo (from apache.stat())");
    return -1;
  }
  auto* f = reinterpret_cast<FinfoObject*>(value);
  r->finfo = f->finfo;
  if (f->fname != Py_None) {
    std::string name;
    GilAssumed g;
    if (!cpython::apache_path(g.gil(), f->fname, &name, "fname")) return -1;
    r->finfo.fname = apr_pstrdup(r->pool, name.c_str());
  }
  return 0;
}

PyObject* get_parsed_uri(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  const apr_uri_t& u = r->parsed_uri;
  GilAssumed g;
  auto s = [&](const char* v) { return cpython::str_or_none(g.gil(), v); };
  Ref port = u.port_str != nullptr ? Ref::steal(PyLong_FromLong(u.port)) : Ref::borrow(Py_None);
  Ref parts[9] = {s(u.scheme), s(u.hostinfo), s(u.user),  s(u.password), s(u.hostname),
                  port,        s(u.path),     s(u.query), s(u.fragment)};
  PyObject* tuple = PyTuple_New(9);
  if (tuple == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < 9; ++i) {
    if (!parts[i]) {
      Py_DECREF(tuple);
      return nullptr;
    }
    PyTuple_SET_ITEM(tuple, i, parts[i].release());
  }
  return tuple;
}

PyObject* related(PyObject* self, request_rec* other) {
  if (other == nullptr) Py_RETURN_NONE;
  auto object_for = dispatch_services().object_for;
  if (object_for == nullptr) Py_RETURN_NONE;
  PyObject* obj = object_for(other, as_request(self)->interp);
  return obj != nullptr ? Py_NewRef(obj) : nullptr;
}
PyObject* get_main(PyObject* self, void*) {
  request_rec* r = live_request(self);
  return r == nullptr ? nullptr : related(self, r->main);
}
PyObject* get_prev(PyObject* self, void*) {
  request_rec* r = live_request(self);
  return r == nullptr ? nullptr : related(self, r->prev);
}
PyObject* get_next(PyObject* self, void*) {
  request_rec* r = live_request(self);
  return r == nullptr ? nullptr : related(self, r->next);
}

PyObject* string_tuple(const apr_array_header_t* arr) {
  if (arr == nullptr) return PyTuple_New(0);
  PyObject* tuple = PyTuple_New(arr->nelts);
  if (tuple == nullptr) return nullptr;
  const auto* items = reinterpret_cast<const char* const*>(arr->elts);
  GilAssumed g;
  for (int i = 0; i < arr->nelts; ++i) {
    PyObject* item = cpython::str_or_none(g.gil(), items[i]).release();
    if (item == nullptr) {
      Py_DECREF(tuple);
      return nullptr;
    }
    PyTuple_SET_ITEM(tuple, i, item);
  }
  return tuple;
}
PyObject* get_allowed_xmethods(PyObject* self, void*) {
  request_rec* r = live_request(self);
  return r == nullptr ? nullptr : string_tuple(r->allowed_xmethods);
}
PyObject* get_allowed_methods(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  return string_tuple(r->allowed_methods ? r->allowed_methods->method_list : nullptr);
}
PyObject* get_content_languages(PyObject* self, void*) {
  request_rec* r = live_request(self);
  return r == nullptr ? nullptr : string_tuple(r->content_languages);
}

PyObject* get_request_rec(PyObject* self, void*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  return PyCapsule_New(r, "request_rec", nullptr);
}

PyObject* get_dict(PyObject* self, void*) {
  RequestObject* req = as_request(self);
  if (req->dict == nullptr) {
    req->dict = PyDict_New();
    if (req->dict == nullptr) return nullptr;
  }
  return Py_NewRef(req->dict);
}

#define MP_RW(name, doc)                                                                \
  {                                                                                     \
#name, cpython::Guard < get_field> ::call, cpython::Guard < set_field> ::call, doc, \
        &name##_field                                                                   \
  }
#define MP_RO(name, doc) \
  { #name, cpython::Guard < get_field> ::call, nullptr, doc, &name##_field }

PyGetSetDef g_getsets[] = {
    MP_RO(the_request, "First line of the request"),
    MP_RW(assbackwards, "HTTP/0.9 request"),
    MP_RW(proxyreq, "PROXYREQ_* value"),
    MP_RO(header_only, "HEAD request"),
    MP_RO(protocol, "Protocol, e.g. HTTP/1.1"),
    MP_RO(proto_num, "Protocol version, 1.1 = 1001"),
    MP_RO(hostname, "Host from the request line or Host header"),
    MP_RO(request_time, "Start of the request, seconds since the epoch"),
    MP_RW(status_line, "Status line"),
    MP_RW(status, "HTTP status"),
    MP_RO(method, "Request method"),
    MP_RO(method_number, "M_* value"),
    MP_RO(sent_bodyct, "Whether the body has started"),
    MP_RO(bytes_sent, "Body bytes sent"),
    MP_RO(mtime, "Last-modified time"),
    MP_RW(chunked, "Chunked response"),
    MP_RO(range, "Range header"),
    MP_RO(clength, "Content length"),
    MP_RO(remaining, "Request body bytes remaining"),
    MP_RO(read_length, "Request body bytes read"),
    MP_RO(read_body, "REQUEST_* body policy"),
    MP_RO(read_chunked, "Chunked request body"),
    MP_RO(expecting_100, "Client expects 100-continue"),
    MP_RW(handler, "Handler name"),
    MP_RO(content_encoding, "Content-Encoding"),
    MP_RO(vlist_validator, "Variant list validator"),
    MP_RW(user, "Authenticated user (Latin-1)"),
    MP_RW(ap_auth_type, "Authentication type"),
    MP_RW(no_cache, "No caching"),
    MP_RW(no_local_copy, "No local copy"),
    MP_RO(unparsed_uri, "URI as sent"),
    MP_RW(uri, "Path part of the URI"),
    MP_RW(filename, "File name the URI maps to"),
    MP_RW(canonical_filename, "Canonical file name"),
    MP_RW(path_info, "Path info"),
    MP_RW(args, "Query string"),
    MP_RW(used_path_info, "AP_REQ_* path-info policy"),
    MP_RO(eos_sent, "End of stream sent"),
    MP_RO(useragent_ip, "Client IP (after mod_remoteip)"),
    {"headers_in", cpython::Guard<get_headers_in>::call, nullptr, "Request headers", nullptr},
    {"headers_out", cpython::Guard<get_headers_out>::call, nullptr, "Response headers", nullptr},
    {"err_headers_out", cpython::Guard<get_err_headers_out>::call, nullptr,
     "Response headers kept on errors", nullptr},
    {"subprocess_env", cpython::Guard<get_subprocess_env>::call, nullptr,
     "Environment for subprocesses", nullptr},
    {"notes", cpython::Guard<get_notes>::call, nullptr, "Notes shared between modules", nullptr},
    {"content_type", cpython::Guard<get_content_type>::call, cpython::Guard<set_content_type>::call,
     "Content-Type", nullptr},
    {"_content_type_set", cpython::Guard<get_content_type_set>::call, nullptr, nullptr, nullptr},
    {"_bytes_queued", cpython::Guard<get_bytes_queued>::call, nullptr,
     "Bytes handed to write() and sendfile()", nullptr},
    {"connection", cpython::Guard<get_connection>::call, nullptr, "mp_conn", nullptr},
    {"server", cpython::Guard<get_server>::call, nullptr, "mp_server", nullptr},
    {"interpreter", cpython::Guard<get_interpreter>::call, nullptr, "Interpreter name", nullptr},
    {"phase", cpython::Guard<get_phase>::call, nullptr, "Running phase", nullptr},
    {"extension", cpython::Guard<get_extension>::call, nullptr, "Matched handler extension",
     nullptr},
    {"hlist", cpython::Guard<get_hlist>::call, nullptr, "Handler list", nullptr},
    {"allowed", cpython::Guard<get_allowed>::call, nullptr, "Allowed methods bitmask", nullptr},
    {"useragent_addr", cpython::Guard<get_useragent_addr>::call, nullptr,
     "(ip, port) of the client", nullptr},
    {"_request_rec", cpython::Guard<get_request_rec>::call, nullptr, nullptr, nullptr},
    {"finfo", cpython::Guard<get_finfo>::call, cpython::Guard<set_finfo>::call,
     "mp_finfo of req.filename", nullptr},
    {"parsed_uri", cpython::Guard<get_parsed_uri>::call, nullptr, "9-tuple of URI parts", nullptr},
    {"main", cpython::Guard<get_main>::call, nullptr, "Main request of a sub-request", nullptr},
    {"prev", cpython::Guard<get_prev>::call, nullptr, "Previous request of an internal redirect",
     nullptr},
    {"next", cpython::Guard<get_next>::call, nullptr, "Next request of an internal redirect",
     nullptr},
    {"allowed_xmethods", cpython::Guard<get_allowed_xmethods>::call, nullptr, nullptr, nullptr},
    {"allowed_methods", cpython::Guard<get_allowed_methods>::call, nullptr, nullptr, nullptr},
    {"content_languages", cpython::Guard<get_content_languages>::call, nullptr, nullptr, nullptr},
    {"__dict__", cpython::Guard<get_dict>::call, nullptr, nullptr, nullptr},
};
#undef MP_RW
#undef MP_RO

}  // namespace

std::span<PyGetSetDef> request_getsets() { return g_getsets; }

}  // namespace mp::python
