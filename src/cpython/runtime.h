// Process-wide CPython start-up (done in each Apache child, never in the parent).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Python.h>

namespace mp::cpython {

struct RuntimeOptions {
  int optimization_level = 0;                // PythonOptimize On -> 2
  std::string python_home;                   // empty: derived from Debian's interpreter path
  std::optional<unsigned long> hash_seed;    // none: random (PYTHONHASHSEED)
  std::vector<std::string> warning_filters;  // -W options
  bool write_bytecode = true;
  double switch_interval = 0;  // seconds; 0 keeps Python's default
  // Built-in modules to register before start-up (name, init function).
  const char* builtin_name = nullptr;
  PyObject* (*builtin_init)() = nullptr;
};

// Initialises the interpreter, registers the main interpreter with the registry and leaves
// the GIL released. Returns false with a message on failure. Idempotent per process.
[[nodiscard]] bool start_python(const RuntimeOptions& options, std::string* error) noexcept;

[[nodiscard]] bool is_python_started() noexcept;

}  // namespace mp::cpython
