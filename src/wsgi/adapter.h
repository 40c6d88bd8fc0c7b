// The WSGI adapter: calls a PEP 3333 application for one request over an Exchange.
#pragma once

#include <Python.h>

#include <memory>

#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "wsgi/exchange.h"
#include "wsgi/objects.h"
#include "wsgi/request_context.h"

namespace mp::wsgi {

struct RequestCallables;  // adapter.cpp

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

// Calls the functions of an access, auth or dispatch hook script (spec mod_wsgi-compat §10)
// with one environ: like an application's, without wsgi.input (the body belongs to the
// handler) or wsgi.file_wrapper; wsgi.errors logs through the exchange until the caller is
// destroyed.
class HookCaller {
 public:
  HookCaller(const cpython::Gil& gil, const Types& types, Exchange& exchange,
             const RequestTraits& traits);
  ~HookCaller();
  HookCaller(const HookCaller&) = delete;
  HookCaller& operator=(const HookCaller&) = delete;

  // function(environ, *args); null with a Python exception set when it (or building the
  // environ) failed.
  cpython::Ref call(PyObject* function, PyObject* args);

 private:
  const cpython::Gil& gil_;
  RequestContext ctx_;  // what wsgi.errors points to
  cpython::Ref errors_;
  std::unique_ptr<RequestCallables> callables_;  // mod_ssl.* of the environ
  cpython::Ref environ_;
};

}  // namespace mp::wsgi
