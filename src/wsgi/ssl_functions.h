// environ["mod_ssl.is_https"] and environ["mod_ssl.var_lookup"], which mod_wsgi gives every
// environ (access and auth hooks included): the only way to read client-certificate data
// before the fixups phase exports SSL_* variables. Callables bound to one request.
#pragma once

#include <Python.h>

#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "wsgi/request_context.h"

namespace mp::wsgi {

// The callable type, once per interpreter; null with a Python exception set on failure.
cpython::Ref create_ssl_function_type(const cpython::Gil& gil);

enum class SslFunction { kIsHttps, kVarLookup };

// A callable bound to `ctx` (null with an exception set on failure).
cpython::Ref new_ssl_function(const cpython::Gil& gil, PyObject* type, RequestContext* ctx,
                              SslFunction which);

// Cuts it loose from the finished request: calls raise RuntimeError from then on.
void detach_ssl_function(PyObject* function) noexcept;

}  // namespace mp::wsgi
