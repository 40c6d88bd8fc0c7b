// The Python objects a WSGI application receives: start_response (and its write callable),
// wsgi.input, wsgi.errors and wsgi.file_wrapper. Types are created once per interpreter.
#pragma once

#include <Python.h>

#include <string>

#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "wsgi/environ_cache.h"
#include "wsgi/request_context.h"

namespace mp::wsgi {

struct Types {
  cpython::Ref start_response;
  cpython::Ref input;
  cpython::Ref errors;
  cpython::Ref file_wrapper;
  cpython::Ref ssl_function;  // mod_ssl.is_https / mod_ssl.var_lookup
  // Environ keys and values, and constant values, reused by every request of the interpreter
  // (filled by the adapter; the GIL serialises access).
  mutable EnvironCache environ;
  mutable cpython::Ref constants[6];
};

// Creates the types in the current interpreter; false with a Python exception set on failure.
[[nodiscard]] bool create_types(const cpython::Gil& gil, Types* out);

// New objects bound to `ctx` (null with an exception set on failure).
cpython::Ref new_start_response(const cpython::Gil& gil, const Types& types, RequestContext* ctx);
cpython::Ref new_input(const cpython::Gil& gil, const Types& types, RequestContext* ctx);
cpython::Ref new_errors(const cpython::Gil& gil, const Types& types, RequestContext* ctx);

// Cuts the objects loose from the finished request: afterwards they raise RuntimeError
// (wsgi.errors falls back to sys.stderr). Flushes a pending partial wsgi.errors line.
void detach(const cpython::Gil& gil, PyObject* start_response, PyObject* input, PyObject* errors);

// Commits headers if needed and sends `size` bytes; used by the adapter and by write().
// Returns false when the client is gone or sending failed (ctx says which).
bool send_body(const cpython::Gil& gil, RequestContext& ctx, const char* data, std::size_t size,
               bool flush);
// Commits the status and headers if they are not sent yet.
bool commit_headers(RequestContext& ctx);

// The file-like object and block size of a FileWrapper instance, or false if `obj` is not one.
bool file_wrapper_parts(const Types& types, PyObject* obj, PyObject** filelike, long* blksize);

}  // namespace mp::wsgi
