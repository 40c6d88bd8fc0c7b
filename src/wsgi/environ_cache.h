// The str objects of one interpreter's environs, reused from request to request: a request
// builds ~45 keys and as many values, and most are the same text as last time (the server's
// names, the script, most request headers). Reusing an immutable str costs one comparison;
// creating it costs an allocation and a copy.
//
// Requests of one application add their variables in nearly the same order every time, so
// what was seen at the same position last time is tried first: no hashing on a hit.
#pragma once

#include <Python.h>

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cpython/ref.h"

namespace mp::wsgi {

class EnvironCache {
 public:
  EnvironCache() = default;
  // Slots point into the map: a copy would point into the original.
  EnvironCache(const EnvironCache&) = delete;
  EnvironCache& operator=(const EnvironCache&) = delete;

  // How many distinct keys are kept, and how long one may be: header names come from clients,
  // so what is kept must stay small (at most ~1 MiB). Other keys are created per request.
  static constexpr std::size_t kMaxKept = 2048;
  static constexpr std::size_t kMaxKeptKey = 128;
  // Longer values are always created afresh (nothing large is pinned between requests).
  static constexpr std::size_t kMaxReusedValue = 1024;

  // The interned str for `key`, the `position`-th variable of the environ being built.
  // Null with a Python exception set on failure. All calls need the GIL of the interpreter.
  [[nodiscard]] cpython::Ref key(std::string_view key, std::size_t position);

  // The str for the value of the `position`-th variable: `text` decoded as latin-1, or with
  // the filesystem encoding (surrogateescape) when `filesystem`.
  [[nodiscard]] cpython::Ref value(std::string_view text, bool filesystem, std::size_t position);

  [[nodiscard]] std::size_t kept() const noexcept { return all_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // What the previous request had at one position; the text is compared before it is trusted.
  struct Slot {
    std::string_view key;  // points into the map's key, which never moves or goes away
    PyObject* key_object = nullptr;
    cpython::Ref value;
  };
  static constexpr std::size_t kPositions = 256;

  std::array<Slot, kPositions> last_{};
  std::unordered_map<std::string, cpython::Ref, Hash, std::equal_to<>> all_;
};

}  // namespace mp::wsgi
