// Per-interpreter cache of resolved handler callables: the hot path of dispatch. Imports go
// through mod_python.apache.import_module (autoreload policy), at most once a second per entry.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "apache/module_config.h"
#include "common/phase.h"
#include "cpython/ref.h"
#include "python/interpreter_setup.h"

namespace mp::handlers {

struct ResolvedHandler {
  cpython::Ref module;
  cpython::Ref callable;          // the final object when it needs no per-request instantiation
  std::vector<std::string> path;  // dotted object path (used when needs_instance)
  bool needs_instance = false;    // a class on the path is instantiated with the argument
  bool missing = false;           // silent entry whose object does not exist
  std::chrono::steady_clock::time_point checked;
};

// Cache key for handler entries from the configuration: their strings never move in a child.
struct StableKey {
  const char* handler;
  const char* directory;
  std::size_t phase;
  bool operator==(const StableKey&) const = default;
};
struct StableKeyHash {
  std::size_t operator()(const StableKey& k) const noexcept {
    auto h = reinterpret_cast<std::uintptr_t>(k.handler) * 0x9E3779B97F4A7C15ull;
    h ^= reinterpret_cast<std::uintptr_t>(k.directory) + 0x7F4A7C15ull + (h << 6) + (h >> 2);
    return static_cast<std::size_t>(h ^ k.phase);
  }
};

struct WsgiInterpreterData;  // handlers/wsgi_script.h

// What the handlers layer keeps per interpreter.
struct HandlerInterpreterData : python::InterpreterData {
  WsgiInterpreterData* wsgi = nullptr;  // WSGI hosting state, created on first use
  std::mutex wsgi_setup_mutex;          // one thread creates `wsgi` (taken without the GIL)
  std::unordered_map<std::string, ResolvedHandler> handlers;
  // Address-keyed index into `handlers` for configuration entries (no string building).
  std::unordered_map<StableKey, ResolvedHandler*, StableKeyHash> by_address;
  const char* last_python_path = nullptr;           // fast path of apply_python_path
  std::unordered_set<std::string> evaluated_paths;  // PythonPath expressions already applied
  cpython::Ref phase_names[kPhaseCount];            // interned directive names
};

inline HandlerInterpreterData* handler_data(cpython::Interpreter& interp) noexcept {
  return static_cast<HandlerInterpreterData*>(interp.extension());
}

// Registry initializer creating HandlerInterpreterData for new interpreters.
std::unique_ptr<cpython::InterpreterExtension> create_interpreter_data(cpython::Interpreter& interp,
                                                                       const cpython::Gil& gil);

enum class ResolveError { kNone, kImport, kMissingObject };

struct ResolveOptions {
  bool autoreload;
  bool debug;
  const char* python_path;  // PythonPath in effect (null: prepend the directive's directory)
};

// Looks up (or imports and resolves) the handler for `entry` in `phase`. On failure returns
// nullptr with a Python exception set and `*error` saying which kind.
const ResolvedHandler* resolve_handler(const cpython::Gil& gil, HandlerInterpreterData& data,
                                       Phase phase, const apache::HandlerEntry& entry,
                                       const ResolveOptions& options, ResolveError* error);

// The object to call for a resolved handler; instantiates classes on the path with `arg`.
cpython::Ref callable_for(const cpython::Gil& gil, const ResolvedHandler& handler, PyObject* arg);

// Applies a PythonPath expression once per interpreter (spec §4). False with exception set.
[[nodiscard]] bool apply_python_path(const cpython::Gil& gil, HandlerInterpreterData& data,
                                     const char* expression);

}  // namespace mp::handlers
