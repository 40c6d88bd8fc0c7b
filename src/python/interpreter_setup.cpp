// Per-interpreter initialisation: our package first on sys.path, then mod_python.apache.
#include "python/interpreter_setup.h"

#include <string>

#include "apache/log.h"
#include "apache/module_path.h"
#include "apache/wsgi_config.h"
#include "python/server_object.h"

namespace mp::python {

using cpython::Ref;

ProcessContext& process_context() noexcept {
  static ProcessContext context;
  return context;
}

namespace {
thread_local request_rec* t_current_request = nullptr;
}  // namespace

CurrentRequestScope::CurrentRequestScope(request_rec* r) noexcept : previous_(t_current_request) {
  t_current_request = r;
}
CurrentRequestScope::~CurrentRequestScope() { t_current_request = previous_; }
request_rec* CurrentRequestScope::current() noexcept { return t_current_request; }

namespace {

// Puts our package directory at sys.path[0] so Debian's old mod_python in dist-packages can
// never shadow it.
bool put_package_first(const std::string& dir) {
  PyObject* path = PySys_GetObject("path");  // borrowed
  if (path == nullptr || !PyList_Check(path)) {
    PyErr_SetString(PyExc_RuntimeError, "sys.path is not a list");
    return false;
  }
  Ref entry = Ref::steal(PyUnicode_DecodeFSDefault(dir.c_str()));
  if (!entry) return false;
  int present = PySequence_Contains(path, entry.get());
  if (present < 0) return false;
  if (present == 1) {
    Py_ssize_t index = PySequence_Index(path, entry.get());
    if (index == 0) return true;
    if (PySequence_DelItem(path, index) < 0) return false;
  }
  return PyList_Insert(path, 0, entry.get()) == 0;
}

}  // namespace

bool prepare_interpreter(cpython::Interpreter& interp, const cpython::Gil& gil,
                         InterpreterData* data) {
  std::string dir = apache::python_package_dir();
  if (dir.empty()) {
    PyErr_SetString(PyExc_ImportError,
                    "cannot find mod_python's Python package (neither beside mod_python.so "
                    "nor at the install path)");
    return false;
  }
  if (!put_package_first(dir)) return false;
  Ref argv = Ref::steal(Py_BuildValue("[s]", "mod_python"));
  if (!argv || PySys_SetObject("argv", argv.get()) < 0) return false;

  data->apache_builtin = Ref::steal(PyImport_ImportModule("_apache"));
  if (!data->apache_builtin) return false;
  data->state = state_of_module(data->apache_builtin.get());

  data->apache_py = Ref::steal(PyImport_ImportModule("mod_python.apache"));
  if (!data->apache_py) return false;
  Ref name = Ref::steal(PyUnicode_FromStringAndSize(interp.name().data(),
                                                    static_cast<Py_ssize_t>(interp.name().size())));
  if (!name || PyObject_SetAttrString(data->apache_py.get(), "interpreter", name.get()) < 0) {
    return false;
  }
  if (process_context().main_server != nullptr) {
    Ref server = make_server(gil, data->state, process_context().main_server);
    if (!server || PyObject_SetAttrString(data->apache_py.get(), "main_server", server.get()) < 0) {
      return false;
    }
  }
  const apache::WsgiGlobals& wsgi = apache::wsgi_globals();
  Ref init = Ref::steal(PyObject_CallMethod(
      data->apache_py.get(), "_interpreter_started", "sOOO", MP_VERSION_STRING,
      wsgi.restrict_signal ? Py_True : Py_False, wsgi.restrict_stdin ? Py_True : Py_False,
      wsgi.restrict_stdout ? Py_True : Py_False));
  if (!init) return false;
  if (PyUnicode_Check(init.get())) {
    const char* problem = PyUnicode_AsUTF8(init.get());
    if (problem != nullptr && problem[0] != '\0') {
      apache::log_server(APLOG_WARNING, 0, process_context().main_server, "MP0002", problem);
    }
  }
  return true;
}

}  // namespace mp::python
