// Per-thread thread-state cache and the attach/detach scopes.
#include "cpython/thread_attach.h"

#include <utility>
#include <vector>

#include "cpython/interpreter_registry.h"

// CPython 3.11 exports this (used by its own PyGILState code); it returns the current thread
// state without the fatal error PyThreadState_Get() raises when there is none.
extern "C" PyThreadState* _PyThreadState_UncheckedGet(void);

namespace mp::cpython {
namespace {

struct CachedState {
  PyInterpreterState* interp;
  PyThreadState* tstate;
};

// Few interpreters per process: a linear scan beats a hash map here. Thread states are never
// moved to other threads; they are left to the process when the thread exits.
thread_local std::vector<CachedState> t_states;

PyThreadState* find_cached(PyInterpreterState* interp) noexcept {
  for (const auto& entry : t_states) {
    if (entry.interp == interp) return entry.tstate;
  }
  return nullptr;
}

}  // namespace

void adopt_thread_state(Interpreter& interp, PyThreadState* tstate) noexcept {
  t_states.push_back({interp.state(), tstate});
}

PyThreadState* thread_state_for(Interpreter& interp) noexcept {
  if (PyThreadState* cached = find_cached(interp.state())) return cached;
  PyThreadState* tstate = nullptr;
  if (interp.is_main() && _PyThreadState_UncheckedGet() == nullptr) {
    // Created through PyGILState so that extensions using PyGILState_Ensure find it. The
    // Ensure count stays at one forever, so the state is never torn down between requests.
    PyGILState_Ensure();
    tstate = PyEval_SaveThread();
  } else {
    tstate = PyThreadState_New(interp.state());
  }
  t_states.push_back({interp.state(), tstate});
  return tstate;
}

AttachScope::AttachScope(Interpreter& interp) noexcept {
  PyThreadState* target = thread_state_for(interp);
  previous_ = _PyThreadState_UncheckedGet();
  if (previous_ == target) {
    mode_ = Mode::kNested;
  } else if (previous_ != nullptr) {
    // This thread already holds the (shared) GIL for another interpreter.
    mode_ = Mode::kSwapped;
    PyThreadState_Swap(target);
  } else {
    mode_ = Mode::kAcquired;
    PyEval_RestoreThread(target);
  }
}

AttachScope::~AttachScope() {
  switch (mode_) {
    case Mode::kNested:
      break;
    case Mode::kSwapped:
      PyThreadState_Swap(previous_);
      break;
    case Mode::kAcquired:
      PyEval_SaveThread();
      break;
  }
}

}  // namespace mp::cpython
