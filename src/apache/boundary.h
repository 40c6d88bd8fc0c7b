// The C boundary: every function Apache calls runs its body through guard(), so no C++
// exception ever unwinds into httpd.
#pragma once

#include <exception>
#include <utility>

#include "apache/log.h"

namespace mp::apache {

// Logs MP0200 for a C++ exception that reached the boundary. Never throws.
void log_boundary_failure(const server_rec* s, const char* what) noexcept;

// Runs `body`; on a C++ exception logs MP0200 against `s` and returns `on_failure`.
template <typename Result, typename Body>
Result guard(const server_rec* s, Result on_failure, Body&& body) noexcept {
  try {
    return std::forward<Body>(body)();
  } catch (const std::exception& e) {
    log_boundary_failure(s, e.what());
  } catch (...) {
    log_boundary_failure(s, "unknown exception");
  }
  return on_failure;
}

}  // namespace mp::apache
