// Per-request state: the request object of each interpreter that served a phase of it. The
// objects die (and are released with their interpreter attached) with the request pool.
#pragma once

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "python/interpreter_setup.h"

namespace mp::handlers {

// The request object of `r` in `interp`, created on first use (borrowed reference). GIL held.
PyObject* request_object(const cpython::Gil& gil, request_rec* r, cpython::Interpreter& interp);

// The request object of `r` in `interp` if one exists (borrowed), else nullptr.
PyObject* existing_request_object(request_rec* r, const cpython::Interpreter& interp) noexcept;

}  // namespace mp::handlers
