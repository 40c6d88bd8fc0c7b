// Per-thread thread-state cache and the attach/detach scopes.
#include "cpython/thread_attach.h"

#include <utility>
#include <vector>

#include "cpython/interpreter_registry.h"

// CPython 3.11 exports this; it returns the runtime's current thread state (that of the
// thread holding the GIL, whichever thread that is) without failing when there is none.
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

// The thread state this thread runs with if it holds the GIL, else nullptr. In 3.11 the
// "current" thread state is process-wide, so it must be checked against this thread's id.
PyThreadState* held_by_this_thread() noexcept {
  PyThreadState* current = _PyThreadState_UncheckedGet();
  if (current != nullptr && current->thread_id == PyThread_get_thread_ident()) return current;
  return nullptr;
}

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

namespace {

// The main interpreter's thread state must be this thread's first: CPython records the first
// thread state of an OS thread for PyGILState_*, and extensions calling PyGILState_Ensure must
// get a main-interpreter state. It is created through PyGILState_Ensure and the Ensure count
// stays at one forever, so the state is never torn down between requests.
PyThreadState* ensure_main_state() noexcept {
  PyInterpreterState* main = PyInterpreterState_Main();
  if (PyThreadState* cached = find_cached(main)) return cached;
  PyThreadState* tstate = nullptr;
  if (held_by_this_thread() == nullptr) {
    PyGILState_Ensure();
    tstate = PyEval_SaveThread();
  } else {
    tstate = PyThreadState_New(main);  // GIL held here already: cannot use PyGILState
  }
  t_states.push_back({main, tstate});
  return tstate;
}

}  // namespace

bool holds_gil() noexcept { return held_by_this_thread() != nullptr; }

thread_local int AttachScope::depth_ = 0;

bool in_python_work() noexcept { return AttachScope::depth_ > 0; }

PyThreadState* thread_state_for(Interpreter& interp) noexcept {
  if (PyThreadState* cached = find_cached(interp.state())) return cached;
  PyThreadState* main_state = ensure_main_state();
  if (interp.is_main()) return main_state;
  PyThreadState* tstate = PyThreadState_New(interp.state());
  t_states.push_back({interp.state(), tstate});
  return tstate;
}

AttachScope::AttachScope(Interpreter& interp) noexcept {
  ++depth_;
  PyThreadState* target = thread_state_for(interp);
  previous_ = held_by_this_thread();
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
  --depth_;
}

}  // namespace mp::cpython
