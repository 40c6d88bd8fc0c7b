// The WSGI adapter: calls a PEP 3333 application for one request over an Exchange.
#pragma once

#include <Python.h>

#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "wsgi/exchange.h"
#include "wsgi/objects.h"

namespace mp::wsgi {

enum class Outcome {
  kCompleted,             // the response was sent in full
  kFailedBeforeResponse,  // nothing was sent; the caller answers 500 (traceback logged)
  kTruncated,             // the response started and was cut (logged; client can tell)
  kClientGone,            // the client went away; the application was closed
  kBadRequestBody,        // nothing was sent: the application failed on a request body that
                          // could not be read; the caller answers exchange.body_error_status()
};

// Builds the environ, calls `application`, sends what it returns and always calls its
// close(). Never leaves a Python exception set.
Outcome run_application(const cpython::Gil& gil, const Types& types, Exchange& exchange,
                        const RequestTraits& traits, PyObject* application);

// Calls `function(environ, *args)` for an access or auth hook (spec mod_wsgi-compat §10): the
// environ has no wsgi.input (the body belongs to the handler) and no wsgi.file_wrapper;
// wsgi.errors logs through the exchange. Null with a Python exception set when the call (or
// building the environ) failed.
cpython::Ref call_hook(const cpython::Gil& gil, const Types& types, Exchange& exchange,
                       const RequestTraits& traits, PyObject* function, PyObject* args);

}  // namespace mp::wsgi
