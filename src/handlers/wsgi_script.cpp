// Loading WSGI scripts as modules of their interpreter and keeping them current.
#include "handlers/wsgi_script.h"

#include <apr_md5.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "apache/log.h"
#include "apache/wsgi_config.h"
#include "handlers/handler_cache.h"
#include "python/interpreter_setup.h"

namespace mp::handlers {

using cpython::Ref;

namespace {

std::string module_name_for(const char* path) {
  unsigned char digest[APR_MD5_DIGESTSIZE];
  apr_md5(digest, path, std::strlen(path));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "_mod_wsgi_";
  for (unsigned char b : digest) {
    name.push_back(kHex[b >> 4]);
    name.push_back(kHex[b & 0xf]);
  }
  return name;
}

// Where entries added to sys.path go: first (after our own package directory, sys.path[0]),
// or where a virtual environment's site-packages would be: after the standard library,
// before the system's site directories.
enum class Placement { kFront, kBeforeSystemSites };

bool is_site_directory(PyObject* entry) {
  const char* text = PyUnicode_Check(entry) ? PyUnicode_AsUTF8(entry) : nullptr;
  if (text == nullptr) {
    PyErr_Clear();  // not a str, or not encodable: not a site directory
    return false;
  }
  std::string_view path(text);
  return path.ends_with("dist-packages") || path.ends_with("site-packages");
}

// Moves the entries of sys.path that are not in `before` to `placement`, keeping their order.
bool place_new_entries(PyObject* before, Placement placement) {
  PyObject* path = PySys_GetObject("path");  // borrowed
  if (path == nullptr || !PyList_Check(path)) return true;
  Ref now = Ref::steal(PySequence_List(path));
  Ref added = Ref::steal(PyList_New(0));
  Ref kept = Ref::steal(PyList_New(0));
  if (!now || !added || !kept) return false;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(now.get()); ++i) {
    PyObject* entry = PyList_GET_ITEM(now.get(), i);
    int known = PySequence_Contains(before, entry);
    if (known < 0) return false;
    if (PyList_Append(i > 0 && known == 0 ? added.get() : kept.get(), entry) < 0) return false;
  }
  Py_ssize_t at = 1;
  if (placement == Placement::kBeforeSystemSites) {
    while (at < PyList_GET_SIZE(kept.get()) &&
           !is_site_directory(PyList_GET_ITEM(kept.get(), at))) {
      ++at;
    }
  }
  if (PyList_SetSlice(kept.get(), at, at, added.get()) < 0) return false;
  return PyList_SetSlice(path, 0, PyList_GET_SIZE(path), kept.get()) == 0;
}

// site.addsitedir() for each directory of a ':' list (so .pth files work).
bool add_site_directories(PyObject* site, std::string_view list) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t colon = list.find(':', start);
    if (colon == std::string_view::npos) colon = list.size();
    std::string dir(list.substr(start, colon - start));
    if (!dir.empty()) {
      Ref r = Ref::steal(PyObject_CallMethod(site, "addsitedir", "s", dir.c_str()));
      if (!r) return false;
    }
    start = colon + 1;
  }
  return true;
}

// The virtual environment of WSGIPythonHome where it would be on sys.path if it were the
// running Python's own, then the WSGIPythonPath directories first, as mod_wsgi puts them: a
// project's copy of a package wins over the system's.
bool apply_python_paths(const cpython::Gil& /*gil*/) {
  const apache::WsgiGlobals& globals = apache::wsgi_globals();
  const apr_array_header_t* paths = globals.python_paths;
  bool any_path = paths != nullptr && paths->nelts > 0;
  if (!any_path && globals.home_site_packages == nullptr) return true;
  Ref site = Ref::steal(PyImport_ImportModule("site"));
  if (!site) return false;
  auto snapshot = [] {
    PyObject* path = PySys_GetObject("path");  // borrowed
    return Ref::steal(path != nullptr ? PySequence_List(path) : PyList_New(0));
  };
  if (globals.home_site_packages != nullptr) {
    Ref before = snapshot();
    if (!before || !add_site_directories(site.get(), globals.home_site_packages) ||
        !place_new_entries(before.get(), Placement::kBeforeSystemSites)) {
      return false;
    }
  }
  if (!any_path) return true;
  Ref before = snapshot();
  if (!before) return false;
  const auto* entries = reinterpret_cast<const char* const*>(paths->elts);
  for (int i = 0; i < paths->nelts; ++i) {
    if (!add_site_directories(site.get(), entries[i])) return false;
  }
  return place_new_entries(before.get(), Placement::kFront);
}

// `import mod_wsgi` inside the application sees this interpreter's names and FileWrapper.
bool publish_mod_wsgi(const WsgiInterpreterData& data, const std::string& application_group) {
  Ref module = Ref::steal(PyImport_ImportModule("mod_wsgi"));
  if (!module) return false;
  Ref group = Ref::steal(PyUnicode_DecodeLatin1(
      application_group.data(), static_cast<Py_ssize_t>(application_group.size()), nullptr));
  return group && PyObject_SetAttrString(module.get(), "application_group", group.get()) == 0 &&
         PyObject_SetAttrString(module.get(), "FileWrapper", data.types.file_wrapper.get()) == 0;
}

// __spec__ and __loader__ as an import would set them (a SourceFileLoader, whatever the
// file's suffix), for code that reads them; a failure here only leaves them None.
void set_module_spec(PyObject* dict, const std::string& name, PyObject* file) {
  Ref machinery = Ref::steal(PyImport_ImportModule("importlib.machinery"));
  Ref util = Ref::steal(PyImport_ImportModule("importlib.util"));
  Ref loader;
  Ref spec;
  if (machinery && util) {
    loader = Ref::steal(
        PyObject_CallMethod(machinery.get(), "SourceFileLoader", "sO", name.c_str(), file));
  }
  if (loader) {
    spec = Ref::steal(
        PyObject_CallMethod(util.get(), "spec_from_loader", "sO", name.c_str(), loader.get()));
  }
  if (!spec || PyDict_SetItemString(dict, "__spec__", spec.get()) < 0 ||
      PyDict_SetItemString(dict, "__loader__", loader.get()) < 0) {
    PyErr_Clear();
  }
}

// Process lifecycle lines, shown with LogLevel wsgi:info (spec mod_wsgi-compat §9.8).
void log_lifecycle(std::string_view id, const std::string& text) {
  apache::log_wsgi_server(
      APLOG_INFO, 0, python::process_context().main_server, id,
      "mod_wsgi (pid=" + std::to_string(static_cast<long>(getpid())) + "): " + text);
}

Ref load(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string source = text.str();
  if (source.find('\0') != std::string::npos) {
    PyErr_Format(PyExc_SyntaxError, "WSGI script '%s' contains a NUL byte", path);
    return {};
  }
  Ref code = Ref::steal(Py_CompileStringExFlags(source.c_str(), path, Py_file_input, nullptr, -1));
  if (!code) return {};
  std::string name = module_name_for(path);
  Ref module = Ref::steal(PyModule_New(name.c_str()));
  if (!module) return {};
  PyObject* dict = PyModule_GetDict(module.get());  // borrowed
  Ref file = Ref::steal(PyUnicode_DecodeFSDefault(path));
  if (!file || PyDict_SetItemString(dict, "__file__", file.get()) < 0 ||
      PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) < 0) {
    return {};
  }
  set_module_spec(dict, name, file.get());
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (PyDict_SetItemString(modules, name.c_str(), module.get()) < 0) return {};
  Ref result = Ref::steal(PyEval_EvalCode(code.get(), dict, dict));
  if (!result) {
    // A failed load leaves nothing behind: the next request tries again.
    PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
    PyErr_Fetch(&type, &value, &tb);
    if (PyDict_GetItemString(modules, name.c_str()) == module.get()) {
      PyDict_DelItemString(modules, name.c_str());
    }
    PyErr_Restore(type, value, tb);
    return {};
  }
  return module;
}

}  // namespace

WsgiInterpreterData* wsgi_data(const cpython::Gil& gil, cpython::Interpreter& interp,
                               const std::string& application_group) {
  HandlerInterpreterData* handler = handler_data(interp);
  if (handler->wsgi != nullptr) return handler->wsgi;
  // Setting up runs Python (site.addsitedir, imports) that can let other threads in: without
  // the lock, concurrent first requests each built their own state and loaded the script again.
  std::unique_lock<std::mutex> lock(handler->wsgi_setup_mutex, std::defer_lock);
  {
    cpython::DetachScope wait(gil);
    lock.lock();
  }
  if (handler->wsgi != nullptr) return handler->wsgi;
  auto* data = new (std::nothrow) WsgiInterpreterData();
  if (data == nullptr) {
    PyErr_NoMemory();
    return nullptr;
  }
  if (!wsgi::create_types(gil, &data->types) || !apply_python_paths(gil) ||
      !publish_mod_wsgi(*data, application_group)) {
    delete data;
    return nullptr;
  }
  data->application_group = application_group;
  log_lifecycle("MP2133", "interpreter '" + application_group + "' set up for WSGI");
  handler->wsgi = data;  // lives as long as the interpreter: the process
  return data;
}

PyObject* wsgi_script_module(const cpython::Gil& gil, WsgiInterpreterData& data, const char* path,
                             apr_time_t mtime, bool reload_on_change, bool force_reload,
                             bool* loaded) {
  if (loaded != nullptr) *loaded = false;
  auto current = [&](auto it) {
    return it != data.scripts.end() && !force_reload &&
           (!reload_on_change || mtime == 0 || it->second.mtime == mtime);
  };
  auto it = data.scripts.find(path);
  if (current(it)) return it->second.module.get();
  std::unique_lock<std::mutex> lock(data.load_mutex, std::defer_lock);
  {
    cpython::DetachScope wait(gil);  // another thread may be loading it; never hold the GIL here
    lock.lock();
  }
  it = data.scripts.find(path);
  if (current(it)) return it->second.module.get();
  log_lifecycle(it == data.scripts.end() ? "MP2134" : "MP2135",
                std::string(it == data.scripts.end() ? "loading" : "reloading") + " WSGI script '" +
                    path + "' in interpreter '" + data.application_group + "'");
  Ref module = load(path);
  if (!module) {
    data.scripts.erase(path);
    return nullptr;
  }
  WsgiScript& entry = data.scripts[path];
  entry.module = std::move(module);
  entry.mtime = mtime;
  if (loaded != nullptr) *loaded = true;
  return entry.module.get();
}

}  // namespace mp::handlers
