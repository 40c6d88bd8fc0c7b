// Functions and constants of the built-in `_apache` module.

#include <util_cfgtree.h>

#include <cerrno>
#include <string>

#include "apache/global_locks.h"
#include "apache/log.h"
#include "cpython/guard.h"
#include "cpython/strings.h"
#include "python/finfo_object.h"
#include "python/interpreter_setup.h"
#include "python/module_state.h"
#include "python/server_object.h"
#include "python/socache_object.h"
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

// sys.stdout/sys.stderr lines: logged against the running request when there is one.
PyObject* f_log_stream(PyObject*, PyObject* args) {
  const char* text = nullptr;
  Py_ssize_t len = 0;
  int level = APLOG_ERR;
  if (!PyArg_ParseTuple(args, "s#i:_log_stream", &text, &len, &level)) return nullptr;
  std::string_view message(text, static_cast<std::size_t>(len));
  if (request_rec* r = CurrentRequestScope::current()) {
    apache::log_request(level, 0, r, {}, message);
  } else {
    apache::log_server(level, 0, process_context().main_server, {}, message);
  }
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

// Arguments of _global_lock/_global_trylock/_global_unlock: (server, key, index=-1).
apr_global_mutex_t* lock_from_args(PyObject* module, PyObject* args, int* index_out) {
  PyObject* server = nullptr;
  PyObject* key = Py_None;
  int index = -1;
  if (!PyArg_ParseTuple(args, "OO|i:_global_lock", &server, &key, &index)) return nullptr;
  if (server_of(state_of_module(module), server) == nullptr) return nullptr;
  int count = apache::global_lock_count();
  if (count == 0) {
    PyErr_SetString(PyExc_RuntimeError, "mod_python's global mutexes are not available");
    return nullptr;
  }
  if (index == -1) {
    std::string text;
    if (key != Py_None) {
      Ref str = Ref::borrow(key);
      if (!PyUnicode_Check(key) && !PyBytes_Check(key)) str = Ref::steal(PyObject_Str(key));
      if (!str) return nullptr;
      cpython::BodyData bytes;
      GilAssumed g;
      if (!cpython::body_data(g.gil(), str.get(), &bytes)) return nullptr;
      text.assign(bytes.data, bytes.size);
    }
    index = apache::global_lock_index(text, count);
  }
  if (index < 0 || index >= count) {
    PyErr_Format(PyExc_ValueError,
                 "Lock index %d is out of range for number of global mutex locks (%d)", index,
                 count);
    return nullptr;
  }
  *index_out = index;
  return apache::global_lock(index);
}

PyObject* f_global_lock(PyObject* module, PyObject* args) {
  int index = 0;
  apr_global_mutex_t* lock = lock_from_args(module, args, &index);
  if (lock == nullptr) return nullptr;
  apr_status_t rv = APR_SUCCESS;
  GilAssumed g;
  {
    cpython::DetachScope wait(g.gil());
    rv = apr_global_mutex_lock(lock);
  }
  if (rv != APR_SUCCESS) {
    PyErr_Format(PyExc_ValueError, "Failed to acquire global mutex lock at index %d", index);
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* f_global_trylock(PyObject* module, PyObject* args) {
  int index = 0;
  apr_global_mutex_t* lock = lock_from_args(module, args, &index);
  if (lock == nullptr) return nullptr;
  apr_status_t rv = apr_global_mutex_trylock(lock);
  if (APR_STATUS_IS_EBUSY(rv)) Py_RETURN_FALSE;
  if (rv != APR_SUCCESS) {
    PyErr_Format(PyExc_ValueError, "Failed to acquire global mutex lock at index %d", index);
    return nullptr;
  }
  Py_RETURN_TRUE;
}

PyObject* f_global_unlock(PyObject* module, PyObject* args) {
  int index = 0;
  apr_global_mutex_t* lock = lock_from_args(module, args, &index);
  if (lock == nullptr) return nullptr;
  if (apr_global_mutex_unlock(lock) != APR_SUCCESS) {
    PyErr_Format(PyExc_ValueError, "Failed to release global mutex lock at index %d", index);
    return nullptr;
  }
  Py_RETURN_NONE;
}

// One level of the configuration tree: (directive, args) tuples; a section's children follow
// its tuple as a nested list.
PyObject* tree_level(const ap_directive_t* node) {
  Ref list = Ref::steal(PyList_New(0));
  if (!list) return nullptr;
  GilAssumed g;
  for (; node != nullptr; node = node->next) {
    Ref name = cpython::str_or_none(g.gil(), node->directive);
    Ref args = cpython::str_or_none(g.gil(), node->args != nullptr ? node->args : "");
    if (!name || !args) return nullptr;
    Ref pair = Ref::steal(PyTuple_Pack(2, name.get(), args.get()));
    if (!pair || PyList_Append(list.get(), pair.get()) < 0) return nullptr;
    if (node->first_child != nullptr) {
      Ref children = Ref::steal(tree_level(node->first_child));
      if (!children || PyList_Append(list.get(), children.get()) < 0) return nullptr;
    }
  }
  return list.release();
}

PyObject* f_config_tree(PyObject*, PyObject*) { return tree_level(ap_conftree); }

PyObject* f_stat(PyObject* module, PyObject* args) {
  PyObject* name = nullptr;
  long wanted = APR_FINFO_NORM;
  if (!PyArg_ParseTuple(args, "O|l:stat", &name, &wanted)) return nullptr;
  std::string path;
  GilAssumed g;
  if (!cpython::apache_path(g.gil(), name, &path, "fname")) return nullptr;
  apr_pool_t* pool = nullptr;
  if (apr_pool_create(&pool, nullptr) != APR_SUCCESS) return PyErr_NoMemory();
  apr_finfo_t finfo;
  apr_status_t rv = apr_stat(&finfo, path.c_str(), static_cast<apr_int32_t>(wanted), pool);
  if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv)) {
    // No such file: an empty finfo whose filetype is APR_NOFILE, as 3.5 gave, so that
    // `req.finfo = apache.stat(req.filename, ...)` in a fixup leads to a 404, not an error.
    finfo = apr_finfo_t{};
    finfo.filetype = APR_NOFILE;
    rv = APR_SUCCESS;
  }
  if (rv != APR_SUCCESS && !APR_STATUS_IS_INCOMPLETE(rv)) {
    apr_pool_destroy(pool);
    errno = APR_TO_OS_ERROR(rv);
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path.c_str());
  }
  Ref result = make_finfo(g.gil(), state_of_module(module), finfo);
  apr_pool_destroy(pool);
  return result.release();
}

using cpython::cfunc;

}  // namespace

PyMethodDef g_apache_functions[] = {
    {"log_error", cfunc(cpython::Guard<f_log_error>::call), METH_VARARGS | METH_KEYWORDS,
     "log_error(message, level=APLOG_ERR, server=None)"},
    {"_log_stream", cpython::Guard<f_log_stream>::call, METH_VARARGS,
     "Log one line of stdout/stderr output."},
    {"make_table", cfunc(cpython::Guard<f_table>::call), METH_VARARGS | METH_KEYWORDS,
     "A new mp_table (3.5's deprecated spelling of apache.table())."},
    {"mpm_query", cpython::Guard<f_mpm_query>::call, METH_O, "ap_mpm_query(code) result."},
    {"server_root", cpython::Guard<f_server_root>::call, METH_NOARGS, "ServerRoot."},
    {"exists_config_define", cpython::Guard<f_exists_config_define>::call, METH_O,
     "Whether -Dname was given."},
    {"config_tree", cpython::Guard<f_config_tree>::call, METH_NOARGS,
     "The parsed configuration as nested lists."},
    {"stat", cpython::Guard<f_stat>::call, METH_VARARGS, "stat(fname, wanted) -> mp_finfo"},
    {"_global_lock", cpython::Guard<f_global_lock>::call, METH_VARARGS,
     "_global_lock(server, key[, index])"},
    {"_global_trylock", cpython::Guard<f_global_trylock>::call, METH_VARARGS,
     "_global_trylock(server, key[, index])"},
    {"_global_unlock", cpython::Guard<f_global_unlock>::call, METH_VARARGS,
     "_global_unlock(server, key[, index])"},
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
  if (PyModule_AddFunctions(module, g_socache_functions) < 0) return -1;
  return 0;
}

}  // namespace mp::python
