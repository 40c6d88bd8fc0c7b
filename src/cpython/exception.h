// Reading the current Python exception: formatting tracebacks and matching types.
#pragma once

#include <string>
#include <vector>

#include "cpython/ref.h"
#include "cpython/thread_attach.h"

namespace mp::cpython {

// The exception currently set, taken out of the interpreter (PyErr_Fetch, normalised).
struct FetchedException {
  Ref type;
  Ref value;
  Ref traceback;

  static FetchedException fetch(const Gil& gil) noexcept;
  [[nodiscard]] bool empty() const noexcept { return type.is_null(); }
  // Puts it back as the current exception (consumes it).
  void restore(const Gil& gil) noexcept;
};

// traceback.format_exception() output split into lines without trailing newlines. Never
// raises; falls back to "Type: value" when formatting itself fails.
std::vector<std::string> format_exception(const Gil& gil, const FetchedException& exc);

// Fetches, formats and clears the current exception.
std::vector<std::string> format_current_exception(const Gil& gil);

// str(obj) as UTF-8 (replacement on errors); "" when it cannot be converted.
std::string describe(const Gil& gil, PyObject* obj);

}  // namespace mp::cpython
