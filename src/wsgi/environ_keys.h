// The environ keys of one interpreter as interned str objects, created once and shared by every
// request (a request builds ~45 keys; looking them up must cost less than creating them).
// Requests of one application add their keys in nearly the same order every time, so the key
// seen at the same position last time is tried first: a hit costs one comparison, no hashing.
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

class EnvironKeys {
 public:
  // How many distinct keys are kept: header names come from clients, so the set must not
  // grow without bound. Keys beyond it are created per request instead.
  static constexpr std::size_t kMaxKept = 2048;

  // A new reference to the str for `key`, the `position`-th key of the environ being built;
  // null with a Python exception set on failure. Needs the GIL of the keys' interpreter.
  [[nodiscard]] cpython::Ref get(std::string_view key, std::size_t position);

  [[nodiscard]] std::size_t kept() const noexcept { return all_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // The key last seen at each position; its text is compared before it is trusted.
  struct Slot {
    std::string_view text;  // points into the map's key, which never moves or goes away
    PyObject* object = nullptr;
  };
  static constexpr std::size_t kPositions = 256;

  std::array<Slot, kPositions> last_{};
  std::unordered_map<std::string, cpython::Ref, Hash, std::equal_to<>> all_;
};

}  // namespace mp::wsgi
