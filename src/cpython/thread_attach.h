// Attaching OS threads to interpreters: a cached thread state per (thread, interpreter),
// AttachScope to take the GIL for one interpreter and DetachScope to release it around I/O.
#pragma once

#include <Python.h>

namespace mp::cpython {

class Interpreter;

// Proof that the calling thread holds the GIL; functions that need it take `const Gil&`.
class Gil {
 public:
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  friend class AttachScope;
  friend class GilAssumed;
  Gil() = default;
};

// Takes the GIL for `interp` on this thread, using this thread's cached thread state (created
// on first use). Re-entrant: attaching to the interpreter the thread is already running is a
// no-op, attaching to another swaps thread states and swaps back on exit.
class AttachScope {
 public:
  explicit AttachScope(Interpreter& interp) noexcept;
  ~AttachScope();
  AttachScope(const AttachScope&) = delete;
  AttachScope& operator=(const AttachScope&) = delete;

  [[nodiscard]] const Gil& gil() const noexcept { return gil_; }

 private:
  enum class Mode { kNested, kSwapped, kAcquired };
  Gil gil_;
  PyThreadState* previous_ = nullptr;
  Mode mode_ = Mode::kAcquired;
  static thread_local int depth_;  // AttachScopes open on this thread
  friend bool in_python_work() noexcept;
};

// Releases the GIL for the duration of blocking work (Apache I/O) and takes it back after.
class DetachScope {
 public:
  explicit DetachScope(const Gil& /*proof*/) noexcept : saved_(PyEval_SaveThread()) {}
  ~DetachScope() { PyEval_RestoreThread(saved_); }
  DetachScope(const DetachScope&) = delete;
  DetachScope& operator=(const DetachScope&) = delete;

 private:
  PyThreadState* saved_;
};

// For CPython callbacks (method thunks, slots): CPython guarantees the GIL is held there.
class GilAssumed {
 public:
  GilAssumed() noexcept = default;
  [[nodiscard]] const Gil& gil() const noexcept { return gil_; }

 private:
  Gil gil_;
};

// The thread state this thread uses for `interp`, created on first use.
PyThreadState* thread_state_for(Interpreter& interp) noexcept;
// Whether the calling thread currently holds the GIL (any interpreter).
bool holds_gil() noexcept;
// Whether the calling thread is inside an AttachScope (running Python, or blocked in I/O that
// Python called): false when it may start Python work from scratch, as at child exit.
bool in_python_work() noexcept;
// Records a thread state created elsewhere (by Py_NewInterpreter) as this thread's for `interp`.
void adopt_thread_state(Interpreter& interp, PyThreadState* tstate) noexcept;

}  // namespace mp::cpython
