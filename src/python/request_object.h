// mp_request: the Python object handlers receive, a view of one request_rec (spec §10.1).
#pragma once

#include <Python.h>

#include <mutex>
#include <span>
#include <string>

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

// Cached live table views; re-created when httpd swaps the underlying table.
struct CachedTable {
  PyObject* object;
  apr_table_t* source;
};

struct RequestObject {
  PyObject_HEAD request_rec* r;  // null once the request has ended
  bool dead;
  cpython::Interpreter* interp;
  PyObject* dict;
  CachedTable headers_in;
  CachedTable headers_out;
  CachedTable err_headers_out;
  CachedTable subprocess_env;
  CachedTable notes;
  PyObject* connection;
  PyObject* phase;           // str or None: the directive of the running phase
  PyObject* extension;       // matched "| .ext" or None
  PyObject* hlist;           // handler list object (or None)
  std::string* body_buffer;  // bytes read from the client not yet returned
  bool body_started;
  bool body_done;
  int body_error_status;  // the HTTP answer to a failed body read (400, 408, 413...), or 0
  bool body_failed;       // a body read failed: every later read raises too
  bool client_gone;       // a write, flush or sendfile failed: the client closed the connection
  bool content_type_set;
  long long bytes_queued;      // bytes handed to write() and sendfile() (req._bytes_queued)
  PyObject* cleanups;          // list of (callable, data) from register_cleanup, or null
  const void* dispatch_entry;  // apache::HandlerEntry being run (for req.hlist), or null
  int filter_depth;            // Python filters of this request running now
  // RequestIo: one thread at a time in httpd's I/O; recursive, so that a filter that calls
  // the request's I/O from inside it gets an error rather than a deadlock (placement-new'd).
  std::recursive_mutex io_mutex;
};

inline RequestObject* as_request(PyObject* obj) { return reinterpret_cast<RequestObject*>(obj); }

// httpd I/O for a request (write, flush, read, sendfile...), run without the GIL. httpd's
// request I/O is not thread-safe, so a handler's threads take turns, and the request cannot
// end in the middle of one (kill_request waits): without this, threads writing at once
// crashed the child.
class RequestIo {
 public:
  RequestIo(const cpython::Gil& gil, RequestObject* req)
      : detached_(gil), lock_(req->io_mutex), req_(req) {}
  // The request_rec, or null when the request ended while this thread waited its turn, or
  // when one of the request's filters is running (httpd's request I/O is not re-entrant).
  [[nodiscard]] request_rec* request() const noexcept {
    return req_->dead || req_->filter_depth > 0 ? nullptr : req_->r;
  }

 private:
  cpython::DetachScope detached_;
  std::lock_guard<std::recursive_mutex> lock_;
  RequestObject* req_;
};

// RuntimeError for a request object whose request has ended; returns null.
PyObject* request_ended_error() noexcept;

// The RuntimeError for a null RequestIo::request(); returns null.
PyObject* request_io_refused(const RequestObject* req) noexcept;

cpython::Ref make_request(const cpython::Gil& gil, ModuleState* st, request_rec* r,
                          cpython::Interpreter* interp);

// Marks the object dead (its request_rec is gone) and drops cached views. GIL held.
void kill_request(const cpython::Gil& gil, PyObject* obj) noexcept;

// The request_rec of a live request object, or nullptr with RuntimeError set.
request_rec* live_request(PyObject* self) noexcept;

// Method and attribute tables contributed by the files that implement them.
std::span<PyMethodDef> request_io_methods();
std::span<PyMethodDef> request_misc_methods();
std::span<PyMethodDef> request_wsgi_methods();

// req.add_cgi_vars(): the CGI variables into r->subprocess_env (spec §10.1).
void add_cgi_vars(request_rec* r);
std::span<PyGetSetDef> request_getsets();

// Services the upper (dispatch) layer provides to request methods; set once at start-up.
struct DispatchServices {
  // req.add_handler: false with a Python exception set on failure.
  bool (*add_handler)(request_rec* r, const char* phase, const char* handler,
                      const char* directory) = nullptr;
  // The request object of another request_rec (main/prev/next) in the same interpreter;
  // borrowed, or nullptr with a Python exception set.
  PyObject* (*object_for)(request_rec* r, cpython::Interpreter* interp) = nullptr;
  // req.register_*_filter and req.add_*_filter.
  bool (*register_filter)(request_rec* r, const char* name, const char* handler, const char* dir,
                          bool is_input) = nullptr;
  bool (*add_filter)(request_rec* r, const char* name, bool is_input) = nullptr;
};
DispatchServices& dispatch_services() noexcept;

// Response started (headers sent): no error page may follow. Output still held by httpd
// does not count: the error response replaces it.
bool response_started(const RequestObject* req) noexcept;

// Raises 3.5's OSError for a write, flush or sendfile that failed because the client is gone,
// and remembers why (the dispatcher logs it as MP0106, not as a handler bug). Returns nullptr.
PyObject* client_gone_error(PyObject* self, const char* message) noexcept;

}  // namespace mp::python
