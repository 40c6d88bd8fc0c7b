// mp_server implementation.
#include "python/server_object.h"

#include <string>
#include <vector>

#include "apache/log.h"
#include "apache/module_config.h"
#include "cpython/guard.h"
#include "cpython/strings.h"
#include "python/table_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

ServerObject* as_server(PyObject* o) { return reinterpret_cast<ServerObject*>(o); }
server_rec* srv(PyObject* self) { return as_server(self)->s; }

PyObject* str_attr(const char* value) {
  GilAssumed g;
  return cpython::str_or_none(g.gil(), value).release();
}

PyObject* string_array(const apr_array_header_t* arr) {
  if (arr == nullptr) return PyTuple_New(0);
  PyObject* tuple = PyTuple_New(arr->nelts);
  if (tuple == nullptr) return nullptr;
  auto** items = reinterpret_cast<char**>(arr->elts);
  for (int i = 0; i < arr->nelts; ++i) {
    PyObject* s = str_attr(items[i]);
    if (s == nullptr) {
      Py_DECREF(tuple);
      return nullptr;
    }
    PyTuple_SET_ITEM(tuple, i, s);
  }
  return tuple;
}

double seconds(apr_interval_time_t t) {
  return static_cast<double>(t) / static_cast<double>(APR_USEC_PER_SEC);
}

PyObject* get_defn_name(PyObject* self, void*) { return str_attr(srv(self)->defn_name); }
PyObject* get_defn_line_number(PyObject* self, void*) {
  return PyLong_FromLong(static_cast<long>(srv(self)->defn_line_number));
}
PyObject* get_server_admin(PyObject* self, void*) { return str_attr(srv(self)->server_admin); }
PyObject* get_server_hostname(PyObject* self, void*) {
  return str_attr(srv(self)->server_hostname);
}
PyObject* get_names(PyObject* self, void*) { return string_array(srv(self)->names); }
PyObject* get_wild_names(PyObject* self, void*) { return string_array(srv(self)->wild_names); }
PyObject* get_port(PyObject* self, void*) { return PyLong_FromLong(srv(self)->port); }
PyObject* get_error_fname(PyObject* self, void*) { return str_attr(srv(self)->error_fname); }
PyObject* get_loglevel(PyObject* self, void*) { return PyLong_FromLong(srv(self)->log.level); }
PyObject* get_is_virtual(PyObject* self, void*) { return PyLong_FromLong(srv(self)->is_virtual); }
PyObject* get_timeout(PyObject* self, void*) {
  return PyFloat_FromDouble(seconds(srv(self)->timeout));
}
PyObject* get_keep_alive_timeout(PyObject* self, void*) {
  return PyFloat_FromDouble(seconds(srv(self)->keep_alive_timeout));
}
PyObject* get_keep_alive_max(PyObject* self, void*) {
  return PyLong_FromLong(srv(self)->keep_alive_max);
}
PyObject* get_keep_alive(PyObject* self, void*) { return PyLong_FromLong(srv(self)->keep_alive); }
PyObject* get_path(PyObject* self, void*) { return str_attr(srv(self)->path); }
PyObject* get_pathlen(PyObject* self, void*) { return PyLong_FromLong(srv(self)->pathlen); }
PyObject* get_limit_req_line(PyObject* self, void*) {
  return PyLong_FromLong(srv(self)->limit_req_line);
}
PyObject* get_limit_req_fieldsize(PyObject* self, void*) {
  return PyLong_FromLong(srv(self)->limit_req_fieldsize);
}
PyObject* get_limit_req_fields(PyObject* self, void*) {
  return PyLong_FromLong(srv(self)->limit_req_fields);
}
PyObject* get_next(PyObject* self, void*) {
  if (srv(self)->next == nullptr) Py_RETURN_NONE;
  GilAssumed g;
  return make_server(g.gil(), state_of(self), srv(self)->next).release();
}
PyObject* get_my_generation(PyObject* /*self*/, void*) {
  int generation = 0;
  ap_mpm_query(AP_MPMQ_GENERATION, &generation);
  return PyLong_FromLong(generation);
}
PyObject* get_restart_time(PyObject* /*self*/, void*) {
  if (ap_scoreboard_image == nullptr || ap_scoreboard_image->global == nullptr)
    return PyFloat_FromDouble(0.0);
  return PyFloat_FromDouble(seconds(ap_scoreboard_image->global->restart_time));
}
PyObject* get_server_rec(PyObject* self, void*) {
  return PyCapsule_New(srv(self), "server_rec", nullptr);
}

PyObject* m_get_config(PyObject* self, PyObject*) {
  GilAssumed g;
  apache::ModuleConfig* cfg = apache::server_config(srv(self));
  return make_table_view(g.gil(), state_of(self), cfg->directives, nullptr, nullptr, false)
      .release();
}

PyObject* m_get_options(PyObject* self, PyObject*) {
  GilAssumed g;
  apache::ModuleConfig* cfg = apache::server_config(srv(self));
  return options_table(g.gil(), state_of(self), cfg->options, nullptr, nullptr).release();
}

PyObject* m_log_error(PyObject* self, PyObject* args, PyObject* kwargs) {
  std::string message;
  int level = APLOG_ERR;
  if (!parse_log_args(args, kwargs, &message, &level)) return nullptr;
  apache::log_server(level, 0, srv(self), {}, message);
  Py_RETURN_NONE;
}

// server.register_cleanup(req, callable[, data]): run at child exit (req only type-checked).
PyObject* m_register_cleanup(PyObject* self, PyObject* args) {
  PyObject* req = nullptr;
  PyObject* callable = nullptr;
  PyObject* data = Py_None;
  if (!PyArg_ParseTuple(args, "OO|O:register_cleanup", &req, &callable, &data)) return nullptr;
  if (!PyObject_TypeCheck(req, state_of(self)->request_type)) {
    PyErr_SetString(PyExc_TypeError, "first argument must be a request object");
    return nullptr;
  }
  if (!PyCallable_Check(callable)) {
    PyErr_SetString(PyExc_ValueError, "second argument must be a callable object");
    return nullptr;
  }
  Ref apache = Ref::steal(PyImport_ImportModule("mod_python.apache"));
  if (!apache) return nullptr;
  return PyObject_CallMethod(apache.get(), "register_cleanup", "OO", callable, data);
}

PyGetSetDef g_getsets[] = {
    {"defn_name", cpython::Guard<get_defn_name>::call, nullptr, nullptr, nullptr},
    {"defn_line_number", cpython::Guard<get_defn_line_number>::call, nullptr, nullptr, nullptr},
    {"server_admin", cpython::Guard<get_server_admin>::call, nullptr, nullptr, nullptr},
    {"server_hostname", cpython::Guard<get_server_hostname>::call, nullptr, nullptr, nullptr},
    {"names", cpython::Guard<get_names>::call, nullptr, nullptr, nullptr},
    {"wild_names", cpython::Guard<get_wild_names>::call, nullptr, nullptr, nullptr},
    {"port", cpython::Guard<get_port>::call, nullptr, nullptr, nullptr},
    {"error_fname", cpython::Guard<get_error_fname>::call, nullptr, nullptr, nullptr},
    {"loglevel", cpython::Guard<get_loglevel>::call, nullptr, nullptr, nullptr},
    {"is_virtual", cpython::Guard<get_is_virtual>::call, nullptr, nullptr, nullptr},
    {"timeout", cpython::Guard<get_timeout>::call, nullptr, nullptr, nullptr},
    {"keep_alive_timeout", cpython::Guard<get_keep_alive_timeout>::call, nullptr, nullptr, nullptr},
    {"keep_alive_max", cpython::Guard<get_keep_alive_max>::call, nullptr, nullptr, nullptr},
    {"keep_alive", cpython::Guard<get_keep_alive>::call, nullptr, nullptr, nullptr},
    {"path", cpython::Guard<get_path>::call, nullptr, nullptr, nullptr},
    {"pathlen", cpython::Guard<get_pathlen>::call, nullptr, nullptr, nullptr},
    {"limit_req_line", cpython::Guard<get_limit_req_line>::call, nullptr, nullptr, nullptr},
    {"limit_req_fieldsize", cpython::Guard<get_limit_req_fieldsize>::call, nullptr, nullptr,
     nullptr},
    {"limit_req_fields", cpython::Guard<get_limit_req_fields>::call, nullptr, nullptr, nullptr},
    {"next", cpython::Guard<get_next>::call, nullptr, nullptr, nullptr},
    {"my_generation", cpython::Guard<get_my_generation>::call, nullptr, nullptr, nullptr},
    {"restart_time", cpython::Guard<get_restart_time>::call, nullptr, nullptr, nullptr},
    {"_server_rec", cpython::Guard<get_server_rec>::call, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef g_methods[] = {
    {"get_config", cpython::Guard<m_get_config>::call, METH_NOARGS,
     "Server-level mod_python directives."},
    {"get_options", cpython::Guard<m_get_options>::call, METH_NOARGS,
     "Server-level PythonOptions."},
    {"log_error", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(m_log_error)),
     METH_VARARGS | METH_KEYWORDS, "Write to this server's error log."},
    {"register_cleanup", cpython::Guard<m_register_cleanup>::call, METH_VARARGS,
     "register_cleanup(req, callable[, data]): run at child exit."},
    {nullptr, nullptr, 0, nullptr},
};

void server_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

PyType_Slot g_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<server_dealloc>::call)},
    {Py_tp_getset, g_getsets},
    {Py_tp_methods, g_methods},
    {0, nullptr},
};

}  // namespace

PyType_Spec g_server_spec = {"mp_server", sizeof(ServerObject), 0, Py_TPFLAGS_DEFAULT, g_slots};

Ref make_server(const cpython::Gil& /*gil*/, ModuleState* st, server_rec* s) {
  auto* obj = PyObject_New(ServerObject, st->server_type);
  if (obj == nullptr) return {};
  obj->s = s;
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

server_rec* server_of(ModuleState* st, PyObject* obj) noexcept {
  if (!PyObject_TypeCheck(obj, st->server_type)) {
    PyErr_SetString(PyExc_TypeError, "an mp_server object is required");
    return nullptr;
  }
  return as_server(obj)->s;
}

bool parse_log_args(PyObject* args, PyObject* kwargs, std::string* message, int* level) {
  static const char* keywords[] = {"message", "level", nullptr};
  PyObject* msg = nullptr;
  int lvl = APLOG_ERR;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|i:log_error", const_cast<char**>(keywords),
                                   &msg, &lvl)) {
    return false;
  }
  Ref text = Ref::borrow(msg);
  if (!PyUnicode_Check(msg) && !PyBytes_Check(msg)) {
    text = Ref::steal(PyObject_Str(msg));
    if (!text) return false;
  }
  if (PyUnicode_Check(text.get())) {
    Ref utf8 = Ref::steal(PyUnicode_AsEncodedString(text.get(), "utf-8", "surrogateescape"));
    if (!utf8) return false;
    message->assign(PyBytes_AS_STRING(utf8.get()),
                    static_cast<size_t>(PyBytes_GET_SIZE(utf8.get())));
  } else {
    message->assign(PyBytes_AS_STRING(text.get()),
                    static_cast<size_t>(PyBytes_GET_SIZE(text.get())));
  }
  // 0 (APLOG_EMERG, also the deprecated APLOG_NOERRNO) means ERR, as in mod_python.
  *level = (lvl <= 0) ? APLOG_ERR : (lvl > APLOG_TRACE8 ? APLOG_TRACE8 : lvl);
  return true;
}

Ref options_table(const cpython::Gil& gil, ModuleState* st, apr_table_t* options, PyObject* owner,
                  const bool* owner_dead) {
  std::vector<std::string> empty_keys;
  const apr_array_header_t* arr = apr_table_elts(options);
  const auto* e = reinterpret_cast<const apr_table_entry_t*>(arr->elts);
  for (int i = 0; i < arr->nelts; ++i) {
    if (e[i].key != nullptr && (e[i].val == nullptr || e[i].val[0] == '\0')) {
      empty_keys.emplace_back(e[i].key);
    }
  }
  for (const std::string& key : empty_keys) apr_table_unset(options, key.c_str());
  return make_table_view(gil, st, options, owner, owner_dead, false);
}

}  // namespace mp::python
