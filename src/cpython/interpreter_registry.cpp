// Creation and lookup of named interpreters.
#include "cpython/interpreter_registry.h"

#include "cpython/exception.h"

namespace mp::cpython {

InterpreterRegistry& InterpreterRegistry::instance() noexcept {
  // Deliberately never destroyed: interpreters live as long as the process, and releasing
  // Python references from a static destructor (after exit(), without the GIL) would crash.
  // Allocation failure this early in a child is fatal either way.
  static auto* registry = new InterpreterRegistry();  // NOLINT(bugprone-unhandled-exception-at-new)
  return *registry;
}

void InterpreterRegistry::adopt_main(PyThreadState* main_thread_state) {
  std::lock_guard lock(mutex_);
  auto interp = std::make_unique<Interpreter>(std::string(kMainInterpreterName),
                                              main_thread_state->interp, true);
  adopt_thread_state(*interp, main_thread_state);
  main_ = interp.get();
  by_name_.emplace(std::string(kMainInterpreterName), std::move(interp));
}

namespace {

// The last interpreter this thread asked for: most threads serve one application, and
// interpreters are never destroyed, so this skips the registry lock on the hot path.
struct LastLookup {
  std::string name;
  Interpreter* interp = nullptr;
};
thread_local LastLookup t_last;

}  // namespace

Interpreter* InterpreterRegistry::get(std::string_view name, std::string* error) noexcept {
  if (t_last.interp != nullptr && t_last.name == name) return t_last.interp;
  try {
    Interpreter* found = get_locked(name, error);
    if (found != nullptr) {
      t_last.name.assign(name);
      t_last.interp = found;
    }
    return found;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}

Interpreter* InterpreterRegistry::get_locked(std::string_view name, std::string* error) {
  {
    std::lock_guard lock(mutex_);
    if (main_ == nullptr) {
      if (error) *error = "Python is not initialised in this process";
      return nullptr;
    }
    auto it = by_name_.find(name);
    Interpreter* interp = nullptr;
    if (it != by_name_.end()) {
      interp = it->second.get();
    } else {
      interp = create_locked(std::string(name), error);
      if (interp == nullptr) return nullptr;
    }
    if (interp->extension() == nullptr && !initialise_locked(*interp, error)) return nullptr;
    return interp;
  }
}

Interpreter* InterpreterRegistry::create_locked(const std::string& name, std::string* error) {
  AttachScope main_scope(*main_);
  PyThreadState* creator = PyThreadState_Get();  // ours: main_scope holds the GIL
  PyThreadState* fresh = Py_NewInterpreter();
  if (fresh == nullptr) {
    PyThreadState_Swap(creator);
    if (error) *error = "Py_NewInterpreter failed for '" + name + "'";
    return nullptr;
  }
  auto interp = std::make_unique<Interpreter>(name, fresh->interp, false);
  adopt_thread_state(*interp, fresh);
  PyThreadState_Swap(creator);
  Interpreter* raw = interp.get();
  by_name_.emplace(name, std::move(interp));
  return raw;
}

bool InterpreterRegistry::initialise_locked(Interpreter& interp, std::string* error) {
  if (!initializer_) return true;
  AttachScope scope(interp);
  auto ext = initializer_(interp, scope.gil());
  if (!ext) {
    std::string text = "cannot initialise interpreter '" + interp.name() + "'";
    if (PyErr_Occurred()) {
      for (const auto& line : format_current_exception(scope.gil())) text += "\n" + line;
    }
    if (error) *error = text;
    return false;
  }
  interp.set_extension(std::move(ext));
  return true;
}

}  // namespace mp::cpython
