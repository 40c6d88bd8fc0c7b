// Ref: an owned strong reference to a Python object (RAII over Py_INCREF/Py_DECREF).
#pragma once

#include <Python.h>

#include <utility>

namespace mp::cpython {

// Copy increments, move steals, destruction decrements. The GIL of the object's interpreter
// must be held whenever a non-empty Ref is copied or destroyed.
class Ref {
 public:
  Ref() noexcept = default;
  static Ref steal(PyObject* p) noexcept { return Ref(p); }
  static Ref borrow(PyObject* p) noexcept {
    Py_XINCREF(p);
    return Ref(p);
  }
  Ref(const Ref& other) noexcept : p_(other.p_) { Py_XINCREF(p_); }
  Ref(Ref&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  Ref& operator=(const Ref& other) noexcept {
    if (this != &other) {
      Py_XINCREF(other.p_);
      Py_XSETREF(p_, other.p_);
    }
    return *this;
  }
  Ref& operator=(Ref&& other) noexcept {
    if (this != &other) Py_XSETREF(p_, std::exchange(other.p_, nullptr));
    return *this;
  }
  ~Ref() { Py_XDECREF(p_); }

  [[nodiscard]] PyObject* get() const noexcept { return p_; }
  // Hands ownership to the caller (e.g. to return it to CPython).
  [[nodiscard]] PyObject* release() noexcept { return std::exchange(p_, nullptr); }
  [[nodiscard]] bool is_null() const noexcept { return p_ == nullptr; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  void reset() noexcept { Py_CLEAR(p_); }

 private:
  explicit Ref(PyObject* p) noexcept : p_(p) {}
  PyObject* p_ = nullptr;
};

// Returns a new reference to None for functions that hand ownership back to CPython.
inline PyObject* none_result() noexcept { Py_RETURN_NONE; }

}  // namespace mp::cpython
