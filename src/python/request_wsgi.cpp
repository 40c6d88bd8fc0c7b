// The request methods of mod_python.wsgi (spec §16): the CGI part of its environ built from
// request_rec in C++, and req.build_wsgi_env() / req.wsgi_start_response(), which give code
// that calls them directly what the mod_python.wsgi handler does.
#include "cpython/guard.h"
#include "cpython/ref.h"
#include "cpython/strings.h"
#include "python/request_object.h"

namespace mp::python {

using cpython::Ref;

namespace {

// A PEP 3333 native string: the bytes httpd has, as latin-1 (`text` is never null here).
Ref native(const char* text) {
  cpython::GilAssumed g;
  return cpython::latin1_str_or_none(g.gil(), text);
}

// The same for a str that came from httpd (its bytes decoded UTF-8 with surrogateescape).
Ref native_from_str(PyObject* text) {
  Ref bytes = Ref::steal(PyUnicode_AsEncodedString(text, "utf-8", "surrogateescape"));
  if (!bytes) return {};
  return Ref::steal(PyUnicode_DecodeLatin1(PyBytes_AS_STRING(bytes.get()),
                                           PyBytes_GET_SIZE(bytes.get()), nullptr));
}

bool set(PyObject* dict, const char* key, const Ref& value) {
  if (!value) return false;
  Ref k = native(key);
  return k && PyDict_SetItem(dict, k.get(), value.get()) == 0;
}

// req._wsgi_cgi_environ(script_name, path_info): add_cgi_vars(), then subprocess_env (last
// value of a repeated name wins), HTTP_AUTHORIZATION when the request has one, and the given
// SCRIPT_NAME and PATH_INFO, all as native strings. mod_python.wsgi adds the wsgi.* keys.
PyObject* m_wsgi_cgi_environ(PyObject* self, PyObject* args) {
  PyObject* script_name = nullptr;
  PyObject* path_info = nullptr;
  if (!PyArg_ParseTuple(args, "UU:_wsgi_cgi_environ", &script_name, &path_info)) return nullptr;
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  add_cgi_vars(r);
  Ref env = Ref::steal(PyDict_New());
  if (!env) return nullptr;
  const apr_array_header_t* vars = apr_table_elts(r->subprocess_env);
  const auto* entries = reinterpret_cast<const apr_table_entry_t*>(vars->elts);
  for (int i = 0; i < vars->nelts; ++i) {
    if (entries[i].key == nullptr || entries[i].val == nullptr) continue;
    Ref key = native(entries[i].key);
    Ref value = native(entries[i].val);
    if (!key || !value || PyDict_SetItem(env.get(), key.get(), value.get()) < 0) return nullptr;
  }
  const char* authorization = apr_table_get(r->headers_in, "Authorization");
  if (authorization != nullptr && *authorization != '\0' &&
      !set(env.get(), "HTTP_AUTHORIZATION", native(authorization))) {
    return nullptr;
  }
  if (!set(env.get(), "SCRIPT_NAME", native_from_str(script_name)) ||
      !set(env.get(), "PATH_INFO", native_from_str(path_info))) {
    return nullptr;
  }
  return env.release();
}

// Calls mod_python.wsgi.<name>(req, *args, **kwargs).
PyObject* call_wsgi_module(const char* name, PyObject* self, PyObject* args, PyObject* kwargs) {
  Ref module = Ref::steal(PyImport_ImportModule("mod_python.wsgi"));
  if (!module) return nullptr;
  Ref function = Ref::steal(PyObject_GetAttrString(module.get(), name));
  if (!function) return nullptr;
  Py_ssize_t n = args != nullptr ? PyTuple_GET_SIZE(args) : 0;
  Ref full = Ref::steal(PyTuple_New(n + 1));
  if (!full) return nullptr;
  PyTuple_SET_ITEM(full.get(), 0, Ref::borrow(self).release());
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyTuple_SET_ITEM(full.get(), i + 1, Ref::borrow(PyTuple_GET_ITEM(args, i)).release());
  }
  return PyObject_Call(function.get(), full.get(), kwargs);
}

PyObject* m_build_wsgi_env(PyObject* self, PyObject* /*unused*/) {
  if (live_request(self) == nullptr) return nullptr;
  return call_wsgi_module("request_environ", self, nullptr, nullptr);
}

PyObject* m_wsgi_start_response(PyObject* self, PyObject* args, PyObject* kwargs) {
  if (live_request(self) == nullptr) return nullptr;
  return call_wsgi_module("request_start_response", self, args, kwargs);
}

using cpython::cfunc;

}  // namespace

std::span<PyMethodDef> request_wsgi_methods() {
  static PyMethodDef methods[] = {
      {"_wsgi_cgi_environ", cpython::Guard<m_wsgi_cgi_environ>::call, METH_VARARGS,
       "_wsgi_cgi_environ(script_name, path_info): the CGI part of a mod_python.wsgi environ."},
      {"build_wsgi_env", cpython::Guard<m_build_wsgi_env>::call, METH_NOARGS,
       "The environ mod_python.wsgi would pass (None if the URI is outside its base URI)."},
      {"wsgi_start_response", cfunc(cpython::Guard<m_wsgi_start_response>::call),
       METH_VARARGS | METH_KEYWORDS,
       "wsgi_start_response(status, response_headers, exc_info=None): PEP 3333 start_response "
       "for this request; returns write()."},
  };
  return methods;
}

}  // namespace mp::python
