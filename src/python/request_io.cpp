// mp_request body I/O (write/flush/read/readline/readlines) and configuration accessors.

#include <string>

#include "apache/log.h"
#include "apache/module_config.h"
#include "apache/request_body.h"
#include "cpython/guard.h"
#include "cpython/strings.h"
#include "python/request_object.h"
#include "python/server_object.h"
#include "python/table_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

PyObject* m_write(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* keywords[] = {"data", "flush", nullptr};
  PyObject* data = nullptr;
  int flush = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|i:write", const_cast<char**>(keywords), &data,
                                   &flush)) {
    return nullptr;
  }
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  cpython::BodyData body;
  if (!cpython::body_data(g.gil(), data, &body)) return nullptr;
  // Nothing to write does nothing, as in 3.5: no flush, so the headers are not sent yet and
  // the handler can still set the status and headers.
  if (body.size == 0) Py_RETURN_NONE;
  int rc = 0;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) rc = ap_rwrite(body.data, static_cast<int>(body.size), r);
    if (r != nullptr && rc >= 0 && flush) rc = ap_rflush(r);
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  if (rc < 0) return client_gone_error(self, "Write failed, client closed connection.");
  as_request(self)->bytes_queued += static_cast<long long>(body.size);
  Py_RETURN_NONE;
}

PyObject* m_flush(PyObject* self, PyObject*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  int rc = 0;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) rc = ap_rflush(r);
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  if (rc < 0) return client_gone_error(self, "Flush failed, client closed connection.");
  Py_RETURN_NONE;
}

// Prepares body reading once: chunked bodies are dechunked (mod_python 3.5 answered 411).
bool start_body(RequestObject* req, request_rec* r) {
  if (req->body_started) return true;
  req->body_started = true;
  if (req->body_buffer == nullptr) req->body_buffer = new std::string();
  int rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
  if (rc != OK) {
    req->body_done = true;
    // httpd refuses a declared Content-Length over LimitRequestBody here without a log line.
    apache::log_request(apache::body_failure_log_level(rc), 0, r, "MP0105",
                        std::string("the request body was refused before reading: ") +
                            apache::body_failure_reason(rc) + " (" + std::to_string(rc) + ")");
    PyObject* code = PyLong_FromLong(rc);
    ModuleState* st = state_of(reinterpret_cast<PyObject*>(req));
    PyErr_SetObject(st->server_return, code);
    Py_XDECREF(code);
    return false;
  }
  if (!ap_should_client_block(r)) req->body_done = true;
  return true;
}

// The OSError of a failed body read (3.5's message).
bool client_read_error() {
  PyErr_SetString(PyExc_OSError, "Client read error (Timeout?)");
  return false;
}

// Appends up to `want` more bytes from the client to the buffer; false on a read error.
bool fill(RequestObject* req, request_rec* r, std::size_t want) {
  constexpr std::size_t kChunk = 65536;
  std::size_t goal = req->body_buffer->size() + want;
  GilAssumed g;
  // A body cut short must never look complete to a later read.
  if (req->body_failed) return client_read_error();
  while (!req->body_done && req->body_buffer->size() < goal) {
    std::size_t step = goal - req->body_buffer->size();
    if (step > kChunk) step = kChunk;
    std::size_t old = req->body_buffer->size();
    req->body_buffer->resize(old + step);
    long got = 0;
    int http_status = 0;
    {
      RequestIo io(g.gil(), req);
      r = io.request();
      if (r != nullptr) {
        got = apache::read_request_body(r, req->body_buffer->data() + old, step, &http_status);
      }
    }
    if (r == nullptr) {
      req->body_buffer->resize(old);
      request_io_refused(req);
      return false;
    }
    if (got < 0) {
      req->body_buffer->resize(old);
      req->body_done = true;
      req->body_failed = true;
      // Kept for the dispatcher: an OSError that escapes the handler becomes this status.
      req->body_error_status = http_status;
      return client_read_error();
    }
    req->body_buffer->resize(old + static_cast<std::size_t>(got));
    if (got == 0) req->body_done = true;
  }
  return true;
}

PyObject* take(RequestObject* req, std::size_t n) {
  std::string* buf = req->body_buffer;
  if (n > buf->size()) n = buf->size();
  PyObject* out = PyBytes_FromStringAndSize(buf->data(), static_cast<Py_ssize_t>(n));
  if (out != nullptr) buf->erase(0, n);
  return out;
}

constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);

std::size_t size_arg(PyObject* const* args, Py_ssize_t nargs, bool* ok) {
  *ok = true;
  if (nargs == 0 || args[0] == Py_None) return kUnlimited;
  long long n = PyLong_AsLongLong(args[0]);
  if (n == -1 && PyErr_Occurred()) {
    *ok = false;
    return 0;
  }
  return n < 0 ? kUnlimited : static_cast<std::size_t>(n);
}

PyObject* m_read(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  bool ok = true;
  std::size_t n = size_arg(args, nargs, &ok);
  if (!ok) return nullptr;
  RequestObject* req = as_request(self);
  if (n == 0) return PyBytes_FromStringAndSize("", 0);
  if (!start_body(req, r)) return nullptr;
  // What arrived before a failed read is not the body: a retry must fail as well.
  if (req->body_failed) {
    client_read_error();
    return nullptr;
  }
  if (n == kUnlimited) {
    while (!req->body_done) {
      if (!fill(req, r, 65536)) return nullptr;
    }
  } else if (req->body_buffer->size() < n && !fill(req, r, n - req->body_buffer->size())) {
    return nullptr;
  }
  return take(req, n);
}

PyObject* readline_impl(RequestObject* req, request_rec* r, std::size_t limit) {
  if (!start_body(req, r)) return nullptr;
  if (req->body_failed) {
    client_read_error();
    return nullptr;
  }
  std::size_t scanned = 0;
  for (;;) {
    std::string* buf = req->body_buffer;
    std::size_t nl = buf->find('\n', scanned);
    if (nl != std::string::npos && nl < limit) return take(req, nl + 1);
    if (buf->size() >= limit) return take(req, limit);
    if (req->body_done) return take(req, buf->size());
    scanned = buf->size();
    if (!fill(req, r, 8192)) return nullptr;
  }
}

PyObject* m_readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  bool ok = true;
  std::size_t n = size_arg(args, nargs, &ok);
  if (!ok) return nullptr;
  if (n == 0) return PyBytes_FromStringAndSize("", 0);
  return readline_impl(as_request(self), r, n);
}

PyObject* m_readlines(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  bool ok = true;
  std::size_t hint = size_arg(args, nargs, &ok);
  if (!ok) return nullptr;
  Ref lines = Ref::steal(PyList_New(0));
  if (!lines) return nullptr;
  std::size_t total = 0;
  for (;;) {
    Ref line = Ref::steal(readline_impl(as_request(self), r, kUnlimited));
    if (!line) return nullptr;
    Py_ssize_t size = PyBytes_GET_SIZE(line.get());
    if (size == 0) break;
    if (PyList_Append(lines.get(), line.get()) < 0) return nullptr;
    total += static_cast<std::size_t>(size);
    if (hint != kUnlimited && hint != 0 && total >= hint) break;
  }
  return lines.release();
}

PyObject* m_set_content_length(PyObject* self, PyObject* arg) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  long long n = PyLong_AsLongLong(arg);
  if (n == -1 && PyErr_Occurred()) return nullptr;
  if (n < 0) {
    PyErr_SetString(PyExc_ValueError, "content length must not be negative");
    return nullptr;
  }
  ap_set_content_length(r, static_cast<apr_off_t>(n));
  Py_RETURN_NONE;
}

PyObject* m_log_error(PyObject* self, PyObject* args, PyObject* kwargs) {
  std::string message;
  int level = APLOG_ERR;
  if (!parse_log_args(args, kwargs, &message, &level)) return nullptr;
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  apache::log_request(level, 0, r, {}, message);
  Py_RETURN_NONE;
}

PyObject* m_get_config(PyObject* self, PyObject*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  apache::ModuleConfig* cfg = apache::dir_config(r);
  return make_table_view(g.gil(), state_of(self), cfg->directives, self, &as_request(self)->dead,
                         false)
      .release();
}

PyObject* m_get_options(PyObject* self, PyObject*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  return options_table(g.gil(), state_of(self), apache::dir_config(r)->options, self,
                       &as_request(self)->dead)
      .release();
}

PyObject* m_discard_request_body(PyObject* self, PyObject*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  GilAssumed g;
  int rc = 0;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) rc = ap_discard_request_body(r);
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  return PyLong_FromLong(rc);
}

PyObject* m_send_http_header(PyObject* self, PyObject*) {
  if (live_request(self) == nullptr) return nullptr;
  Py_RETURN_NONE;
}

using cpython::cfunc;

}  // namespace

std::span<PyMethodDef> request_io_methods() {
  static PyMethodDef methods[] = {
      {"write", cfunc(cpython::Guard<m_write>::call), METH_VARARGS | METH_KEYWORDS,
       "write(data, flush=1): send body data (str is encoded UTF-8)."},
      {"flush", cpython::Guard<m_flush>::call, METH_NOARGS, "Flush buffered output to the client."},
      {"read", cfunc(cpython::Guard<m_read>::call), METH_FASTCALL,
       "read([len]) -> bytes of the request body."},
      {"readline", cfunc(cpython::Guard<m_readline>::call), METH_FASTCALL,
       "readline([len]) -> one line as bytes."},
      {"readlines", cfunc(cpython::Guard<m_readlines>::call), METH_FASTCALL,
       "readlines([sizehint]) -> list."},
      {"set_content_length", cpython::Guard<m_set_content_length>::call, METH_O,
       "Set Content-Length."},
      {"log_error", cfunc(cpython::Guard<m_log_error>::call), METH_VARARGS | METH_KEYWORDS,
       "log_error(message, level=APLOG_ERR)."},
      {"get_config", cpython::Guard<m_get_config>::call, METH_NOARGS,
       "Merged mod_python directives (live)."},
      {"get_options", cpython::Guard<m_get_options>::call, METH_NOARGS, "PythonOption values."},
      {"discard_request_body", cpython::Guard<m_discard_request_body>::call, METH_NOARGS, nullptr},
      {"send_http_header", cpython::Guard<m_send_http_header>::call, METH_NOARGS,
       "No-op (legacy)."},
  };
  return methods;
}

}  // namespace mp::python
