// mod_ssl.is_https / mod_ssl.var_lookup callables (see ssl_functions.h).
#include "wsgi/ssl_functions.h"

#include <optional>
#include <string>

namespace mp::wsgi {

using cpython::Ref;

namespace {

struct SslFunctionObject {
  PyObject_HEAD RequestContext* ctx;
  SslFunction which;
};

SslFunctionObject* as_function(PyObject* self) {
  return reinterpret_cast<SslFunctionObject*>(self);
}

PyObject* is_https(RequestContext* ctx, PyObject* args) {
  if (!PyArg_ParseTuple(args, ":is_https")) return nullptr;
  return PyBool_FromLong(ctx->exchange->ssl_is_https() ? 1 : 0);
}

PyObject* var_lookup(RequestContext* ctx, PyObject* args) {
  PyObject* name = nullptr;
  if (!PyArg_ParseTuple(args, "O:var_lookup", &name)) return nullptr;
  std::string text;
  if (PyUnicode_Check(name)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(name, &size);
    if (data == nullptr) return nullptr;
    text.assign(data, static_cast<std::size_t>(size));
  } else if (PyBytes_Check(name)) {
    text.assign(PyBytes_AS_STRING(name), static_cast<std::size_t>(PyBytes_GET_SIZE(name)));
  } else {
    PyErr_Format(PyExc_TypeError, "variable name must be a str, not %.200s",
                 Py_TYPE(name)->tp_name);
    return nullptr;
  }
  if (text.find('\0') != std::string::npos) {
    PyErr_SetString(PyExc_ValueError, "variable name contains a NUL character");
    return nullptr;
  }
  std::optional<std::string> value = ctx->exchange->ssl_var(text);
  if (!value || value->empty()) Py_RETURN_NONE;
  // A native string, like the rest of the environ (PEM certificates and DNs as they are).
  return PyUnicode_DecodeLatin1(value->data(), static_cast<Py_ssize_t>(value->size()), nullptr);
}

PyObject* function_call(PyObject* self, PyObject* args, PyObject* kwargs) {
  SslFunctionObject* f = as_function(self);
  const char* name = f->which == SslFunction::kIsHttps ? "is_https" : "var_lookup";
  if (kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) {
    PyErr_Format(PyExc_TypeError, "mod_ssl.%s() takes no keyword arguments", name);
    return nullptr;
  }
  if (f->ctx == nullptr) {
    PyErr_Format(PyExc_RuntimeError, "mod_ssl.%s used after the request finished", name);
    return nullptr;
  }
  return f->which == SslFunction::kIsHttps ? is_https(f->ctx, args) : var_lookup(f->ctx, args);
}

void function_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

PyType_Slot kSlots[] = {
    {Py_tp_call, reinterpret_cast<void*>(function_call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(function_dealloc)},
    {Py_tp_doc, const_cast<char*>("mod_ssl.is_https() / mod_ssl.var_lookup(name)")},
    {0, nullptr}};
PyType_Spec kSpec = {"mod_wsgi.SslFunction", sizeof(SslFunctionObject), 0,
                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, kSlots};

}  // namespace

Ref create_ssl_function_type(const cpython::Gil& /*gil*/) {
  return Ref::steal(PyType_FromSpec(&kSpec));
}

Ref new_ssl_function(const cpython::Gil& /*gil*/, PyObject* type, RequestContext* ctx,
                     SslFunction which) {
  auto* obj = PyObject_New(SslFunctionObject, reinterpret_cast<PyTypeObject*>(type));
  if (obj == nullptr) return {};
  obj->ctx = ctx;
  obj->which = which;
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

void detach_ssl_function(PyObject* function) noexcept {
  if (function != nullptr) as_function(function)->ctx = nullptr;
}

}  // namespace mp::wsgi
