// CPython initialisation with a PyConfig that does not depend on the caller's PATH.
#include "cpython/runtime.h"

#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"

namespace mp::cpython {
namespace {

bool g_started = false;

bool set_wide(PyConfig* config, wchar_t** field, const std::string& value, std::string* error) {
  PyStatus status = PyConfig_SetBytesString(config, field, value.c_str());
  if (PyStatus_Exception(status)) {
    if (error) *error = status.err_msg ? status.err_msg : "PyConfig_SetBytesString failed";
    return false;
  }
  return true;
}

bool add_warning_filters(PyConfig* config, const std::vector<std::string>& filters,
                         std::string* error) {
  for (const std::string& filter : filters) {
    wchar_t* wide = Py_DecodeLocale(filter.c_str(), nullptr);
    if (wide == nullptr) {
      if (error) *error = "cannot decode warning filter '" + filter + "'";
      return false;
    }
    PyStatus status = PyWideStringList_Append(&config->warnoptions, wide);
    PyMem_RawFree(wide);
    if (PyStatus_Exception(status)) {
      if (error) *error = status.err_msg ? status.err_msg : "PyWideStringList_Append failed";
      return false;
    }
  }
  return true;
}

// Settings that exist only as calls once Python runs (the GIL is held). The directive
// checked the value, so a failure here is not expected; Python then keeps its default.
void apply_after_start(const RuntimeOptions& options) {
  // threading.main_thread() is the thread that first imports threading: make it this one (the
  // child's own main thread, as under mod_wsgi), not whichever request thread imports it
  // first, which asyncio.get_event_loop() would then treat as the main thread.
  Ref threading = Ref::steal(PyImport_ImportModule("threading"));
  if (!threading) PyErr_Clear();
  if (options.switch_interval <= 0) return;
  Ref sys = Ref::steal(PyImport_ImportModule("sys"));
  Ref done = sys ? Ref::steal(PyObject_CallMethod(sys.get(), "setswitchinterval", "d",
                                                  options.switch_interval))
                 : Ref{};
  if (!done) PyErr_Clear();
}

}  // namespace

bool is_python_started() noexcept { return g_started; }

bool start_python(const RuntimeOptions& options, std::string* error) noexcept {
  if (g_started) return true;
  try {
    if (options.builtin_name != nullptr &&
        PyImport_AppendInittab(options.builtin_name, options.builtin_init) != 0) {
      if (error) *error = "PyImport_AppendInittab failed";
      return false;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    // Apache owns signals; Python must not install handlers in its processes.
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    config.optimization_level = options.optimization_level;
    config.write_bytecode = options.write_bytecode ? 1 : 0;
    if (options.hash_seed) {
      config.use_hash_seed = 1;
      config.hash_seed = *options.hash_seed;
    }
    // The interpreter's prefix is computed from this path, never from whatever python3 comes
    // first on PATH (a pyenv build there would give a foreign stdlib).
    bool ok = set_wide(&config, &config.program_name, MP_PYTHON_BIN, error);
    if (ok && !options.python_home.empty()) {
      ok = set_wide(&config, &config.home, options.python_home, error);
    }
    if (ok) ok = add_warning_filters(&config, options.warning_filters, error);
    if (ok) {
      PyStatus status = Py_InitializeFromConfig(&config);
      if (PyStatus_Exception(status)) {
        if (error) *error = status.err_msg ? status.err_msg : "Py_InitializeFromConfig failed";
        ok = false;
      }
    }
    PyConfig_Clear(&config);
    if (!ok) return false;
    InterpreterRegistry::instance().adopt_main(PyThreadState_Get());
    apply_after_start(options);
    PyEval_SaveThread();
    g_started = true;
    return true;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return false;
  }
}

}  // namespace mp::cpython
