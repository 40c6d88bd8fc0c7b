// Per-request state: the request object of each interpreter that served a phase of it, the
// handlers added with req.add_handler, and the end-of-request work (req.register_cleanup
// callbacks, PythonCleanupHandler) done when the request pool is destroyed.
#pragma once

#include "apache/apache.h"
#include "apache/module_config.h"
#include "common/phase.h"
#include "cpython/interpreter_registry.h"
#include "python/interpreter_setup.h"

namespace mp::handlers {

struct RequestObjects {
  cpython::Interpreter* interp;
  PyObject* object;  // strong reference
  RequestObjects* next;
};

struct RequestState {
  request_rec* r;
  RequestObjects* objects;
  apr_array_header_t* dynamic[kPhaseCount];  // req.add_handler entries (HandlerEntry)
  apr_hash_t* filters;  // req.register_*_filter: lower-case name -> FilterEntry
};

// The state of `r`, created (with its pool cleanup) on first use.
RequestState* request_state(request_rec* r);
RequestState* existing_request_state(const request_rec* r) noexcept;

// The request object of `r` in `interp`, created on first use (borrowed reference). GIL held.
PyObject* request_object(const cpython::Gil& gil, request_rec* r, cpython::Interpreter& interp);

// Appends a handler added at run time with req.add_handler.
void add_dynamic_handler(request_rec* r, Phase phase, const apache::HandlerEntry& entry);

}  // namespace mp::handlers
