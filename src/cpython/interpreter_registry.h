// Interpreter and InterpreterRegistry: named interpreters (main + sub-interpreters), created
// once on first use and kept for the life of the process.
#pragma once

#include <Python.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "cpython/thread_attach.h"

namespace mp::cpython {

// State that upper layers keep per interpreter (module objects, handler cache, ...).
// Destroyed never: interpreters live until the process exits.
class InterpreterExtension {
 public:
  virtual ~InterpreterExtension() = default;
};

class Interpreter {
 public:
  Interpreter(std::string name, PyInterpreterState* state, bool is_main)
      : name_(std::move(name)), state_(state), is_main_(is_main) {}

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] PyInterpreterState* state() const noexcept { return state_; }
  [[nodiscard]] bool is_main() const noexcept { return is_main_; }

  // Upper-layer state; set once during creation, read with the GIL held afterwards.
  [[nodiscard]] InterpreterExtension* extension() const noexcept { return extension_.get(); }
  void set_extension(std::unique_ptr<InterpreterExtension> ext) { extension_ = std::move(ext); }

 private:
  std::string name_;
  PyInterpreterState* state_;
  bool is_main_;
  std::unique_ptr<InterpreterExtension> extension_;
};

inline constexpr std::string_view kMainInterpreterName = "main_interpreter";

class InterpreterRegistry {
 public:
  // Called with the new interpreter attached; returns its extension, or nullptr with a Python
  // exception set when the interpreter cannot be prepared.
  using Initializer =
      std::function<std::unique_ptr<InterpreterExtension>(Interpreter&, const Gil&)>;

  static InterpreterRegistry& instance() noexcept;

  // Must be called once, after Python is initialised, by the thread that initialised it and
  // while it still holds the GIL.
  void adopt_main(PyThreadState* main_thread_state);
  void set_initializer(Initializer init) { initializer_ = std::move(init); }

  // Returns the interpreter for `name` (main_interpreter selects the main one), creating and
  // initialising it on first use. Must be called without the GIL held by this thread. Returns
  // nullptr when creation failed (the reason was logged through `on_error`).
  Interpreter* get(std::string_view name, std::string* error) noexcept;

  [[nodiscard]] bool is_started() const noexcept { return main_ != nullptr; }

  // Calls `fn` for every interpreter created so far (process shutdown work). Returns false,
  // calling nothing, while the registry is busy: child exit can run inside a signal handler
  // (prefork's just_die) that interrupted this very thread creating an interpreter.
  template <typename Fn>
  bool for_each_unless_busy(Fn&& fn) {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    for (auto& [name, interp] : by_name_) {
      if (interp->extension() != nullptr) fn(*interp);
    }
    return true;
  }

 private:
  InterpreterRegistry() = default;
  Interpreter* get_locked(std::string_view name, std::string* error);
  Interpreter* create_locked(const std::string& name, std::string* error);
  bool initialise_locked(Interpreter& interp, std::string* error);

  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Interpreter>, std::less<>> by_name_;
  Interpreter* main_ = nullptr;
  Initializer initializer_;
};

}  // namespace mp::cpython
