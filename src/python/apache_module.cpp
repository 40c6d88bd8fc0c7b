// Functions and constants of the built-in `_apache` module.

#include <string>

#include "apache/log.h"
#include "cpython/strings.h"
#include "python/interpreter_setup.h"
#include "python/module_state.h"
#include "python/server_object.h"
#include "python/table_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

PyObject* f_log_error(PyObject* module, PyObject* args, PyObject* kwargs) {
  static const char* keywords[] = {"message", "level", "server", nullptr};
  PyObject* message = nullptr;
  int level = APLOG_ERR;
  PyObject* server = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|iO:log_error", const_cast<char**>(keywords),
                                   &message, &level, &server)) {
    return nullptr;
  }
  server_rec* s = process_context().main_server;
  if (server != Py_None) {
    s = server_of(state_of_module(module), server);
    if (s == nullptr) return nullptr;
  }
  Ref inner_args = Ref::steal(Py_BuildValue("(Oi)", message, level));
  std::string text;
  int lvl = APLOG_ERR;
  if (!inner_args || !parse_log_args(inner_args.get(), nullptr, &text, &lvl)) return nullptr;
  apache::log_server(lvl, 0, s, {}, text);
  Py_RETURN_NONE;
}

PyObject* f_table(PyObject* module, PyObject* args, PyObject* kwargs) {
  return PyObject_Call(reinterpret_cast<PyObject*>(state_of_module(module)->table_type), args,
                       kwargs);
}

PyObject* f_mpm_query(PyObject*, PyObject* arg) {
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return nullptr;
  int result = 0;
  if (ap_mpm_query(static_cast<int>(code), &result) != APR_SUCCESS) result = 0;
  return PyLong_FromLong(result);
}

PyObject* f_server_root(PyObject*, PyObject*) {
  GilAssumed g;
  return cpython::str_or_none(g.gil(), ap_server_root).release();
}

PyObject* f_exists_config_define(PyObject*, PyObject* arg) {
  std::string name;
  GilAssumed g;
  if (!cpython::apache_string(g.gil(), arg, &name, "name")) return nullptr;
  return PyBool_FromLong(ap_exists_config_define(name.c_str()));
}

template <typename F>
PyCFunction cfunc(F f) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

}  // namespace

PyMethodDef g_apache_functions[] = {
    {"log_error", cfunc(f_log_error), METH_VARARGS | METH_KEYWORDS,
     "log_error(message, level=APLOG_ERR, server=None)"},
    {"table", cfunc(f_table), METH_VARARGS | METH_KEYWORDS, "A new mp_table."},
    {"make_table", cfunc(f_table), METH_VARARGS | METH_KEYWORDS, "Alias of table()."},
    {"mpm_query", f_mpm_query, METH_O, "ap_mpm_query(code) result."},
    {"server_root", f_server_root, METH_NOARGS, "ServerRoot."},
    {"exists_config_define", f_exists_config_define, METH_O, "Whether -Dname was given."},
    {nullptr, nullptr, 0, nullptr},
};

int add_module_functions_and_constants(PyObject* module) noexcept {
  struct IntConstant {
    const char* name;
    long value;
  };
  const IntConstant constants[] = {
      {"AP_CONN_UNKNOWN", AP_CONN_UNKNOWN},
      {"AP_CONN_CLOSE", AP_CONN_CLOSE},
      {"AP_CONN_KEEPALIVE", AP_CONN_KEEPALIVE},
      {"APR_NOFILE", APR_NOFILE},
      {"APR_REG", APR_REG},
      {"APR_DIR", APR_DIR},
      {"APR_CHR", APR_CHR},
      {"APR_BLK", APR_BLK},
      {"APR_PIPE", APR_PIPE},
      {"APR_LNK", APR_LNK},
      {"APR_SOCK", APR_SOCK},
      {"APR_UNKFILE", APR_UNKFILE},
      {"MODULE_MAGIC_NUMBER_MAJOR", MODULE_MAGIC_NUMBER_MAJOR},
      {"MODULE_MAGIC_NUMBER_MINOR", MODULE_MAGIC_NUMBER_MINOR},
  };
  for (const auto& c : constants) {
    if (PyModule_AddIntConstant(module, c.name, c.value) < 0) return -1;
  }
  if (PyModule_AddStringConstant(module, "mp_version", MP_VERSION_STRING) < 0) return -1;
  return 0;
}

}  // namespace mp::python
