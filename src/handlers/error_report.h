// Turning a Python exception raised by a handler into a log entry and an HTTP result: the
// one place this happens for handlers (spec §2.4).
#pragma once

#include <string_view>

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "cpython/thread_attach.h"

namespace mp::handlers {

struct ErrorContext {
  request_rec* r;
  PyObject* request_object;  // may be null
  const cpython::Interpreter* interp;
  std::string_view phase;    // "PythonHandler"
  std::string_view handler;  // "module::object"
  std::string_view log_id;   // "MP0100"
  bool debug;                // PythonDebug On
  bool after_response;       // log/cleanup phases: the response is over, only log
};

// Logs the current exception's traceback and returns the phase result: 500, or DONE when a
// debug page or a truncated response was produced. Clears the exception.
int report_handler_exception(const cpython::Gil& gil, const ErrorContext& ctx);

// The content handlers returned HTTP error `status` after the response's headers and some
// of its body were sent: httpd would append its error page inside that 200 (spec §20 item
// 15). Logs MP0107, ends the response as incomplete so the client can tell, returns DONE.
int cut_off_started_response(request_rec* r, int status);

}  // namespace mp::handlers
