// Guard<fn>::call: the C boundary for CPython callbacks (method thunks, getters, setters,
// slots). A C++ exception (in practice std::bad_alloc) becomes a Python MemoryError or
// SystemError instead of unwinding through CPython's C frames.
#pragma once

#include <Python.h>

#include <exception>
#include <new>
#include <type_traits>

namespace mp::cpython {

void set_error_from_current_exception() noexcept;

template <typename R>
constexpr R failure_value() noexcept {
  if constexpr (std::is_pointer_v<R>) {
    return nullptr;
  } else if constexpr (std::is_void_v<R>) {
    return;
  } else {
    return static_cast<R>(-1);
  }
}

template <auto Fn>
struct Guard;

template <typename R, typename... A, R (*Fn)(A...)>
struct Guard<Fn> {
  static R call(A... args) noexcept {
    try {
      return Fn(args...);
    } catch (...) {
      set_error_from_current_exception();
      return failure_value<R>();
    }
  }
};

// A METH_KEYWORDS (or other non-PyCFunction-shaped) thunk as the PyCFunction PyMethodDef
// stores; CPython calls it back with the signature its flags say.
template <typename F>
PyCFunction cfunc(F f) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

}  // namespace mp::cpython
