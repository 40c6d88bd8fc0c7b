// Handler resolution and caching.
#include "handlers/handler_cache.h"

#include <string_view>

#include "common/handler_spec.h"
#include "cpython/strings.h"

namespace mp::handlers {

using cpython::Ref;

namespace {

constexpr auto kRecheckInterval = std::chrono::seconds(1);

std::vector<std::string> split_dots(std::string_view text) {
  std::vector<std::string> parts;
  while (true) {
    auto dot = text.find('.');
    parts.emplace_back(text.substr(0, dot));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts;
}

// sys.path.insert(0, dir) unless present (handlers without PythonPath, spec §4).
bool ensure_on_sys_path(const char* dir) {
  PyObject* path = PySys_GetObject("path");
  if (path == nullptr || !PyList_Check(path)) return true;
  std::string_view d(dir);
  if (d.size() > 1 && d.back() == '/') d.remove_suffix(1);
  Ref entry =
      Ref::steal(PyUnicode_DecodeFSDefaultAndSize(d.data(), static_cast<Py_ssize_t>(d.size())));
  if (!entry) return false;
  int present = PySequence_Contains(path, entry.get());
  if (present != 0) return present > 0;
  return PyList_Insert(path, 0, entry.get()) == 0;
}

std::string cache_key(Phase phase, const apache::HandlerEntry& entry) {
  std::string key;
  key.reserve(64);
  key += static_cast<char>('A' + static_cast<int>(phase_index(phase)));
  key += entry.handler;
  key += '\x1f';
  if (entry.directory != nullptr) key += entry.directory;
  return key;
}

// Walks the dotted path; stops (needs_instance) at the first class whose attribute is wanted.
bool resolve_path(const Ref& module, const std::vector<std::string>& path, ResolvedHandler* out,
                  bool silent) {
  Ref current = module;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0 && PyType_Check(current.get())) {
      out->needs_instance = true;
      return true;
    }
    Ref next = Ref::steal(PyObject_GetAttrString(current.get(), path[i].c_str()));
    if (!next) {
      if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return false;
      PyErr_Clear();
      if (silent) {
        out->missing = true;
        return true;
      }
      Ref file = Ref::steal(PyObject_GetAttrString(module.get(), "__file__"));
      if (!file) PyErr_Clear();
      PyErr_Format(PyExc_AttributeError, "module '%S' contains no '%s'",
                   file ? file.get() : Py_None, path[i].c_str());
      return false;
    }
    current = std::move(next);
  }
  out->callable = std::move(current);
  return true;
}

}  // namespace

std::unique_ptr<cpython::InterpreterExtension> create_interpreter_data(cpython::Interpreter& interp,
                                                                       const cpython::Gil& gil) {
  auto data = std::make_unique<HandlerInterpreterData>();
  if (!python::prepare_interpreter(interp, gil, data.get())) return nullptr;
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    std::string_view name = phase_info(static_cast<Phase>(i)).directive;
    PyObject* str = PyUnicode_FromStringAndSize(name.data(), static_cast<Py_ssize_t>(name.size()));
    if (str == nullptr) return nullptr;
    PyUnicode_InternInPlace(&str);
    data->phase_names[i] = Ref::steal(str);
  }
  return data;
}

bool apply_python_path(const cpython::Gil& /*gil*/, HandlerInterpreterData& data,
                       const char* expression) {
  if (expression == nullptr || expression == data.last_python_path) return true;
  if (data.evaluated_paths.count(expression) != 0) {
    data.last_python_path = expression;
    return true;
  }
  Ref globals = Ref::steal(PyDict_New());
  Ref sys = Ref::steal(PyImport_ImportModule("sys"));
  Ref os = Ref::steal(PyImport_ImportModule("os"));
  if (!globals || !sys || !os || PyDict_SetItemString(globals.get(), "sys", sys.get()) < 0 ||
      PyDict_SetItemString(globals.get(), "os", os.get()) < 0) {
    return false;
  }
  Ref value = Ref::steal(PyRun_String(expression, Py_eval_input, globals.get(), globals.get()));
  if (!value) return false;
  Ref as_list = Ref::steal(PySequence_List(value.get()));
  if (!as_list || PySys_SetObject("path", as_list.get()) < 0) return false;
  data.evaluated_paths.insert(expression);
  data.last_python_path = expression;
  return true;
}

const ResolvedHandler* resolve_handler(const cpython::Gil& /*gil*/, HandlerInterpreterData& data,
                                       Phase phase, const apache::HandlerEntry& entry,
                                       const ResolveOptions& options, ResolveError* error) {
  *error = ResolveError::kNone;
  StableKey fast{entry.handler, entry.directory, phase_index(phase)};
  ResolvedHandler* cached = nullptr;
  std::string key;
  if (entry.stable) {
    auto hit = data.by_address.find(fast);
    if (hit != data.by_address.end()) cached = hit->second;
  }
  if (cached == nullptr) {
    key = cache_key(phase, entry);
    auto hit = data.handlers.find(key);
    if (hit != data.handlers.end()) cached = &hit->second;
  }
  if (cached != nullptr && !options.autoreload) return cached;
  auto now = std::chrono::steady_clock::now();
  if (cached != nullptr && now - cached->checked < kRecheckInterval) return cached;
  if (key.empty()) key = cache_key(phase, entry);

  HandlerSpec spec;
  if (!parse_handler_spec(entry.handler, &spec)) {
    PyErr_Format(PyExc_ValueError, "invalid handler '%s'", entry.handler);
    *error = ResolveError::kImport;
    return nullptr;
  }
  if (options.python_path == nullptr && entry.directory != nullptr && !entry.is_location &&
      !ensure_on_sys_path(entry.directory)) {
    *error = ResolveError::kImport;
    return nullptr;
  }
  Ref module = Ref::steal(PyObject_CallMethod(data.apache_py.get(), "import_module", "sii",
                                              spec.module.c_str(), options.autoreload ? 1 : 0,
                                              options.debug ? 1 : 0));
  if (!module) {
    *error = ResolveError::kImport;
    return nullptr;
  }
  if (cached != nullptr && cached->module.get() == module.get()) {
    cached->checked = now;  // unchanged module: keep the resolved object
    return cached;
  }
  ResolvedHandler resolved;
  resolved.module = module;
  std::string object =
      spec.object.empty() ? std::string(phase_info(phase).default_object) : spec.object;
  resolved.path = split_dots(object);
  if (!resolve_path(module, resolved.path, &resolved, entry.silent)) {
    *error = ResolveError::kMissingObject;
    return nullptr;
  }
  resolved.checked = now;
  auto [pos, inserted] = data.handlers.insert_or_assign(std::move(key), std::move(resolved));
  (void)inserted;
  if (entry.stable) data.by_address[fast] = &pos->second;
  return &pos->second;
}

Ref callable_for(const cpython::Gil& /*gil*/, const ResolvedHandler& handler, PyObject* arg) {
  if (!handler.needs_instance) return handler.callable;
  Ref current = handler.module;
  for (std::size_t i = 0; i < handler.path.size(); ++i) {
    if (i > 0 && PyType_Check(current.get())) {
      current = Ref::steal(PyObject_CallOneArg(current.get(), arg));
      if (!current) return {};
    }
    current = Ref::steal(PyObject_GetAttrString(current.get(), handler.path[i].c_str()));
    if (!current) return {};
  }
  return current;
}

}  // namespace mp::handlers
