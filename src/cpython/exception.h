// Reading the current Python exception: formatting tracebacks and matching types.
#pragma once

#include <string>
#include <utility>
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

// The formatted lines of an exception taken out of the interpreter. It holds the exception,
// and so its frames, until it is destroyed (under the GIL): a local whose __del__ fails then
// reports after the caller has logged these lines, not in the middle of them.
class FormattedException {
 public:
  FormattedException(FetchedException exc, std::vector<std::string> lines) noexcept
      : exc_(std::move(exc)), lines_(std::move(lines)) {}
  [[nodiscard]] const std::vector<std::string>& lines() const noexcept { return lines_; }
  [[nodiscard]] auto begin() const noexcept { return lines_.begin(); }
  [[nodiscard]] auto end() const noexcept { return lines_.end(); }

 private:
  FetchedException exc_;
  std::vector<std::string> lines_;
};

// Fetches and formats the current exception, which is cleared.
FormattedException format_current_exception(const Gil& gil);

// str(obj) as UTF-8 (replacement on errors); "" when it cannot be converted.
std::string describe(const Gil& gil, PyObject* obj);

}  // namespace mp::cpython
