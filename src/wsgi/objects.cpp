// start_response/write, wsgi.input, wsgi.errors and FileWrapper (PEP 3333 §§ "The
// start_response() Callable", "Input and Error Streams", "Optional Platform-Specific File
// Handling").
#include "wsgi/objects.h"

#include <structmember.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "common/wsgi_rules.h"
#include "cpython/guard.h"
#include "wsgi/ssl_functions.h"

namespace mp::wsgi {

using cpython::Guard;
using cpython::Ref;

namespace {

constexpr int kLogError = 3;
constexpr int kLogWarning = 4;
constexpr std::size_t kReadChunk = 65536;

PyObject* finished_error() {
  PyErr_SetString(PyExc_RuntimeError, "the WSGI request has already finished");
  return nullptr;
}

// ---------------------------------------------------------------------- start_response

struct StartResponseObject {
  PyObject_HEAD RequestContext* ctx;
  PyObject* write;  // the bound write callable, created on first use
};

// A str restricted to Latin-1, as bytes; TypeError/ValueError with PEP 3333 wording.
bool latin1(PyObject* obj, const char* what, std::string* out) {
  if (!PyUnicode_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "expected a str object for %s, value of type %.200s found", what,
                 Py_TYPE(obj)->tp_name);
    return false;
  }
  // A 1-byte-kind str holds only code points up to U+00FF: exactly Latin-1.
  if (PyUnicode_KIND(obj) == PyUnicode_1BYTE_KIND) {
    out->assign(reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(obj)),
                static_cast<std::size_t>(PyUnicode_GET_LENGTH(obj)));
    return true;
  }
  PyErr_Format(PyExc_ValueError, "%s contains non latin-1 characters", what);
  return false;
}

bool parse_headers(PyObject* list, std::vector<Header>* out, std::optional<std::uint64_t>* length,
                   RequestContext& ctx) {
  if (!PyList_Check(list)) {
    PyErr_Format(PyExc_TypeError, "response headers must be a list, not %.200s",
                 Py_TYPE(list)->tp_name);
    return false;
  }
  out->clear();
  length->reset();
  Py_ssize_t n = PyList_GET_SIZE(list);
  out->reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyList_GET_ITEM(list, i);
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
      PyErr_Format(PyExc_TypeError, "response header must be a tuple of 2 strings, not %.200s",
                   Py_TYPE(item)->tp_name);
      return false;
    }
    Header h;
    if (!latin1(PyTuple_GET_ITEM(item, 0), "header name", &h.name) ||
        !latin1(PyTuple_GET_ITEM(item, 1), "header value", &h.value)) {
      return false;
    }
    if (!wsgi_rules::valid_header_name(h.name)) {
      PyErr_Format(PyExc_ValueError, "invalid response header name %R", PyTuple_GET_ITEM(item, 0));
      return false;
    }
    switch (wsgi_rules::check_header_value(h.value)) {
      case wsgi_rules::ValueProblem::kNone:
        break;
      case wsgi_rules::ValueProblem::kLineBreak:
        PyErr_SetString(PyExc_ValueError,
                        "carriage return/line feed character present in header value");
        return false;
      case wsgi_rules::ValueProblem::kNul:
        PyErr_SetString(PyExc_ValueError, "NUL character present in header value");
        return false;
      case wsgi_rules::ValueProblem::kControl:
        PyErr_SetString(PyExc_ValueError, "control character present in header value");
        return false;
    }
    if (wsgi_rules::is_hop_by_hop(h.name)) {
      ctx.exchange->log(kLogWarning, "MP2103",
                        "WSGI application set the hop-by-hop header '" + h.name +
                            "' (PEP 3333 forbids it); header dropped");
      continue;
    }
    if (wsgi_rules::iequals(h.name, "Content-Length")) {
      auto value = wsgi_rules::parse_content_length(h.value);
      if (!value) {
        PyErr_Format(PyExc_ValueError, "invalid Content-Length header value %R",
                     PyTuple_GET_ITEM(item, 1));
        return false;
      }
      *length = value;
    }
    out->push_back(std::move(h));
  }
  return true;
}

PyObject* write_impl(PyObject* self, PyObject* data);

PyMethodDef kWriteDef = {"write", Guard<write_impl>::call, METH_O,
                         "write(data): send bytes of the response body now"};

PyObject* start_response_call(PyObject* self, PyObject* args, PyObject* kwargs) {
  auto* sr = reinterpret_cast<StartResponseObject*>(self);
  static const char* kKeywords[] = {"status", "response_headers", "exc_info", nullptr};
  PyObject* status = nullptr;
  PyObject* headers = nullptr;
  PyObject* exc_info = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response",
                                   const_cast<char**>(kKeywords), &status, &headers, &exc_info)) {
    return nullptr;
  }
  RequestContext* ctx = sr->ctx;
  if (ctx == nullptr) return finished_error();
  if (exc_info != Py_None) {
    if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
      PyErr_SetString(PyExc_TypeError, "exc_info must be a tuple of 3 items or None");
      return nullptr;
    }
    if (ctx->headers_sent) {
      // PEP 3333: too late to change the response; re-raise the application's exception.
      PyObject* type = PyTuple_GET_ITEM(exc_info, 0);
      PyObject* value = PyTuple_GET_ITEM(exc_info, 1);
      PyObject* tb = PyTuple_GET_ITEM(exc_info, 2);
      PyErr_Restore(Py_NewRef(type), Py_NewRef(value), tb == Py_None ? nullptr : Py_NewRef(tb));
      return nullptr;
    }
  } else if (ctx->headers_sent) {
    PyErr_SetString(PyExc_RuntimeError, "headers have already been sent");
    return nullptr;
  }
  std::string line;
  if (!latin1(status, "status", &line)) return nullptr;
  std::string error;
  auto code = wsgi_rules::parse_status(line, &error);
  if (!code) {
    PyErr_Format(PyExc_ValueError, "invalid status %R: %s", status, error.c_str());
    return nullptr;
  }
  std::vector<Header> parsed;
  std::optional<std::uint64_t> length;
  if (!parse_headers(headers, &parsed, &length, *ctx)) return nullptr;
  ctx->status = *code;
  ctx->status_line = std::move(line);
  ctx->headers = std::move(parsed);
  ctx->content_length = length;
  ctx->status_set = true;
  if (sr->write == nullptr) {
    sr->write = PyCFunction_New(&kWriteDef, self);
    if (sr->write == nullptr) return nullptr;
  }
  return Py_NewRef(sr->write);
}

PyObject* write_impl(PyObject* self, PyObject* data) {
  auto* sr = reinterpret_cast<StartResponseObject*>(self);
  RequestContext* ctx = sr->ctx;
  if (ctx == nullptr) return finished_error();
  if (!ctx->status_set) {
    PyErr_SetString(PyExc_RuntimeError, "write() called before start_response()");
    return nullptr;
  }
  if (!PyBytes_Check(data)) {
    PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %.200s",
                 Py_TYPE(data)->tp_name);
    return nullptr;
  }
  if (ctx->client_gone || ctx->failed) {
    PyErr_SetString(PyExc_OSError, "failed to write response data: client connection closed");
    return nullptr;
  }
  cpython::GilAssumed g;
  if (!send_body(g.gil(), *ctx, PyBytes_AS_STRING(data),
                 static_cast<std::size_t>(PyBytes_GET_SIZE(data)), true)) {
    PyErr_SetString(PyExc_OSError, ctx->client_gone
                                       ? "failed to write response data: client connection closed"
                                       : "failed to write response data");
    return nullptr;
  }
  Py_RETURN_NONE;
}

void start_response_dealloc(PyObject* self) {
  auto* sr = reinterpret_cast<StartResponseObject*>(self);
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_CLEAR(sr->write);
  type->tp_free(self);
  Py_DECREF(type);
}

int start_response_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<StartResponseObject*>(self)->write);
  Py_VISIT(Py_TYPE(self));
  return 0;
}

int start_response_clear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<StartResponseObject*>(self)->write);
  return 0;
}

PyType_Slot kStartResponseSlots[] = {
    {Py_tp_call, reinterpret_cast<void*>(Guard<start_response_call>::call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(start_response_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(start_response_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(start_response_clear)},
    {Py_tp_doc, const_cast<char*>("start_response(status, response_headers, exc_info=None)")},
    {0, nullptr}};
PyType_Spec kStartResponseSpec = {
    "mod_wsgi.StartResponse", sizeof(StartResponseObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    kStartResponseSlots};

// ---------------------------------------------------------------------------- wsgi.input

struct InputObject {
  PyObject_HEAD RequestContext* ctx;
};

RequestContext* input_context(PyObject* self) {
  RequestContext* ctx = reinterpret_cast<InputObject*>(self)->ctx;
  if (ctx == nullptr) {
    finished_error();
    return nullptr;
  }
  if (!ctx->input_error.empty()) {
    PyErr_Format(PyExc_OSError, "request data read error: %s", ctx->input_error.c_str());
    return nullptr;
  }
  return ctx;
}

std::size_t buffered(const RequestContext& ctx) { return ctx.input.size() - ctx.input_pos; }

// Reads more body data into the buffer (without the GIL); false with OSError set on error.
bool fill(RequestContext& ctx, std::size_t want) {
  if (ctx.input_eof) return true;
  if (ctx.input_pos > 0 && ctx.input_pos >= ctx.input.size() / 2) {
    ctx.input.erase(0, ctx.input_pos);
    ctx.input_pos = 0;
  }
  std::size_t chunk = std::max(want, kReadChunk);
  std::size_t old = ctx.input.size();
  ctx.input.resize(old + chunk);
  long n = 0;
  std::string error;
  Py_BEGIN_ALLOW_THREADS n = ctx.exchange->read(ctx.input.data() + old, chunk, &error);
  Py_END_ALLOW_THREADS ctx.input.resize(old + static_cast<std::size_t>(std::max(n, 0L)));
  if (n < 0) {
    ctx.input_error = error.empty() ? "unknown error" : error;
    PyErr_Format(PyExc_OSError, "request data read error: %s", ctx.input_error.c_str());
    return false;
  }
  if (n == 0) ctx.input_eof = true;
  return true;
}

PyObject* take(RequestContext& ctx, std::size_t n) {
  n = std::min(n, buffered(ctx));
  PyObject* out =
      PyBytes_FromStringAndSize(ctx.input.data() + ctx.input_pos, static_cast<Py_ssize_t>(n));
  if (out != nullptr) ctx.input_pos += n;
  return out;
}

// The optional size argument: None or negative means "no limit".
bool size_arg(PyObject* const* args, Py_ssize_t nargs, const char* name, Py_ssize_t* size) {
  *size = -1;
  if (nargs > 1) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument (%zd given)", name, nargs);
    return false;
  }
  if (nargs == 0 || args[0] == Py_None) return true;
  if (!PyIndex_Check(args[0])) {
    PyErr_Format(PyExc_TypeError, "%s() argument must be an integer or None, not %.200s", name,
                 Py_TYPE(args[0])->tp_name);
    return false;
  }
  *size = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
  return !(*size == -1 && PyErr_Occurred());
}

PyObject* input_read(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  Py_ssize_t size = -1;
  if (!size_arg(args, nargs, "read", &size)) return nullptr;
  RequestContext* ctx = input_context(self);
  if (ctx == nullptr) return nullptr;
  if (size < 0) {
    while (!ctx->input_eof) {
      if (!fill(*ctx, kReadChunk)) return nullptr;
    }
    return take(*ctx, buffered(*ctx));
  }
  auto want = static_cast<std::size_t>(size);
  while (buffered(*ctx) < want && !ctx->input_eof) {
    if (!fill(*ctx, want - buffered(*ctx))) return nullptr;
  }
  return take(*ctx, want);
}

// One line of at most `limit` bytes (negative: unlimited), including its '\n'.
PyObject* read_line(RequestContext& ctx, Py_ssize_t limit) {
  std::size_t scanned = 0;
  while (true) {
    std::string_view data(ctx.input.data() + ctx.input_pos, buffered(ctx));
    std::size_t nl = data.find('\n', scanned);
    if (nl != std::string_view::npos) {
      std::size_t n = nl + 1;
      if (limit >= 0) n = std::min(n, static_cast<std::size_t>(limit));
      return take(ctx, n);
    }
    if (limit >= 0 && data.size() >= static_cast<std::size_t>(limit)) {
      return take(ctx, static_cast<std::size_t>(limit));
    }
    if (ctx.input_eof) return take(ctx, data.size());
    scanned = data.size();
    if (!fill(ctx, kReadChunk)) return nullptr;
  }
}

PyObject* input_readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  Py_ssize_t size = -1;
  if (!size_arg(args, nargs, "readline", &size)) return nullptr;
  RequestContext* ctx = input_context(self);
  if (ctx == nullptr) return nullptr;
  return read_line(*ctx, size);
}

PyObject* input_readlines(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  Py_ssize_t hint = -1;
  if (!size_arg(args, nargs, "readlines", &hint)) return nullptr;
  RequestContext* ctx = input_context(self);
  if (ctx == nullptr) return nullptr;
  Ref lines = Ref::steal(PyList_New(0));
  if (!lines) return nullptr;
  Py_ssize_t total = 0;
  while (true) {
    Ref line = Ref::steal(read_line(*ctx, -1));
    if (!line) return nullptr;
    if (PyBytes_GET_SIZE(line.get()) == 0) break;
    total += PyBytes_GET_SIZE(line.get());
    if (PyList_Append(lines.get(), line.get()) < 0) return nullptr;
    if (hint > 0 && total >= hint) break;
  }
  return lines.release();
}

PyObject* input_iter(PyObject* self) { return Py_NewRef(self); }

PyObject* input_next(PyObject* self) {
  RequestContext* ctx = input_context(self);
  if (ctx == nullptr) return nullptr;
  PyObject* line = read_line(*ctx, -1);
  if (line != nullptr && PyBytes_GET_SIZE(line) == 0) {
    Py_DECREF(line);
    return nullptr;  // StopIteration
  }
  return line;
}

PyObject* input_close(PyObject* /*self*/, PyObject* /*unused*/) { Py_RETURN_NONE; }

using cpython::cfunc;

PyMethodDef kInputMethods[] = {
    {"read", cfunc(Guard<input_read>::call), METH_FASTCALL,
     "read(size=-1): up to size bytes of the request body; b'' at the end"},
    {"readline", cfunc(Guard<input_readline>::call), METH_FASTCALL,
     "readline(size=-1): one line including its newline"},
    {"readlines", cfunc(Guard<input_readlines>::call), METH_FASTCALL,
     "readlines(hint=-1): a list of lines"},
    {"close", Guard<input_close>::call, METH_NOARGS, "close(): does nothing"},
    {nullptr, nullptr, 0, nullptr}};

void simple_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

PyType_Slot kInputSlots[] = {{Py_tp_methods, kInputMethods},
                             {Py_tp_iter, reinterpret_cast<void*>(input_iter)},
                             {Py_tp_iternext, reinterpret_cast<void*>(Guard<input_next>::call)},
                             {Py_tp_dealloc, reinterpret_cast<void*>(simple_dealloc)},
                             {Py_tp_doc, const_cast<char*>("wsgi.input: the request body")},
                             {0, nullptr}};
PyType_Spec kInputSpec = {"mod_wsgi.Input", sizeof(InputObject), 0,
                          Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, kInputSlots};

// --------------------------------------------------------------------------- wsgi.errors

struct ErrorsObject {
  PyObject_HEAD RequestContext* ctx;
  std::string* pending;  // a partial line not yet logged
};

// After the request, output goes to sys.stderr (which mod_python sends to the error log).
void to_stderr(std::string_view text) {
  PyObject* err = PySys_GetObject("stderr");  // borrowed
  if (err == nullptr || err == Py_None) return;
  Ref s = Ref::steal(
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "backslashreplace"));
  if (!s || PyFile_WriteObject(s.get(), err, Py_PRINT_RAW) < 0) PyErr_Clear();
}

void emit_lines(ErrorsObject* self, bool flush_partial) {
  std::string& pending = *self->pending;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = pending.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(pending.data() + start, nl - start);
    if (self->ctx != nullptr) {
      self->ctx->exchange->log(kLogError, "MP2110", line);
    } else {
      to_stderr(std::string(line) + "\n");
    }
    start = nl + 1;
  }
  pending.erase(0, start);
  if (flush_partial && !pending.empty()) {
    if (self->ctx != nullptr) {
      self->ctx->exchange->log(kLogError, "MP2110", pending);
    } else {
      to_stderr(pending);
    }
    pending.clear();
  }
}

bool append_text(ErrorsObject* self, PyObject* text) {
  if (!PyUnicode_Check(text)) {
    PyErr_Format(PyExc_TypeError, "wsgi.errors.write() argument must be str, not %.200s",
                 Py_TYPE(text)->tp_name);
    return false;
  }
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(text, &size);
  if (utf8 == nullptr) {
    // Lone surrogates: log them escaped rather than fail the application.
    PyErr_Clear();
    Ref bytes = Ref::steal(PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace"));
    if (!bytes) return false;
    self->pending->append(PyBytes_AS_STRING(bytes.get()),
                          static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.get())));
    return true;
  }
  self->pending->append(utf8, static_cast<std::size_t>(size));
  return true;
}

// Returns the number of characters, as a text stream's write() does.
PyObject* errors_write(PyObject* self, PyObject* text) {
  auto* e = reinterpret_cast<ErrorsObject*>(self);
  if (!append_text(e, text)) return nullptr;
  emit_lines(e, false);
  return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(text));
}

PyObject* errors_writelines(PyObject* self, PyObject* seq) {
  auto* e = reinterpret_cast<ErrorsObject*>(self);
  Ref it = Ref::steal(PyObject_GetIter(seq));
  if (!it) return nullptr;
  while (Ref item = Ref::steal(PyIter_Next(it.get()))) {
    if (!append_text(e, item.get())) return nullptr;
  }
  if (PyErr_Occurred()) return nullptr;
  emit_lines(e, false);
  Py_RETURN_NONE;
}

PyObject* errors_flush(PyObject* self, PyObject* /*unused*/) {
  emit_lines(reinterpret_cast<ErrorsObject*>(self), true);
  Py_RETURN_NONE;
}

PyObject* errors_true(PyObject* /*self*/, PyObject* /*unused*/) { Py_RETURN_TRUE; }
PyObject* errors_false(PyObject* /*self*/, PyObject* /*unused*/) { Py_RETURN_FALSE; }

// No file descriptor behind it: io.UnsupportedOperation, as a text stream in memory raises.
PyObject* errors_fileno(PyObject* /*self*/, PyObject* /*unused*/) {
  Ref io = Ref::steal(PyImport_ImportModule("io"));
  if (!io) return nullptr;
  Ref unsupported = Ref::steal(PyObject_GetAttrString(io.get(), "UnsupportedOperation"));
  if (!unsupported) return nullptr;
  PyErr_SetString(unsupported.get(), "wsgi.errors has no file descriptor");
  return nullptr;
}

// The attributes of a text stream that libraries probe (rich, click, tqdm read .encoding).
PyObject* errors_encoding(PyObject* /*self*/, void* /*closure*/) {
  return PyUnicode_FromString("utf-8");
}
PyObject* errors_errors(PyObject* /*self*/, void* /*closure*/) {
  return PyUnicode_FromString("backslashreplace");
}
PyObject* errors_name(PyObject* /*self*/, void* /*closure*/) {
  return PyUnicode_FromString("<wsgi.errors>");
}
PyObject* errors_closed(PyObject* /*self*/, void* /*closure*/) { Py_RETURN_FALSE; }
PyObject* errors_line_buffering(PyObject* /*self*/, void* /*closure*/) { Py_RETURN_TRUE; }

PyGetSetDef kErrorsGetSet[] = {{"encoding", errors_encoding, nullptr, nullptr, nullptr},
                               {"errors", errors_errors, nullptr, nullptr, nullptr},
                               {"name", errors_name, nullptr, nullptr, nullptr},
                               {"closed", errors_closed, nullptr, nullptr, nullptr},
                               {"line_buffering", errors_line_buffering, nullptr, nullptr, nullptr},
                               {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMethodDef kErrorsMethods[] = {
    {"write", Guard<errors_write>::call, METH_O, "write(str): log text, one line per entry"},
    {"writelines", Guard<errors_writelines>::call, METH_O, "writelines(seq)"},
    {"flush", Guard<errors_flush>::call, METH_NOARGS, "flush(): log a pending partial line"},
    {"writable", errors_true, METH_NOARGS, nullptr},
    {"readable", errors_false, METH_NOARGS, nullptr},
    {"isatty", errors_false, METH_NOARGS, nullptr},
    {"seekable", errors_false, METH_NOARGS, nullptr},
    {"fileno", Guard<errors_fileno>::call, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr}};

void errors_dealloc(PyObject* self) {
  auto* e = reinterpret_cast<ErrorsObject*>(self);
  if (e->pending != nullptr && !e->pending->empty()) {
    // The partial line is logged before the object goes; preserve any exception in flight.
    PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
    PyErr_Fetch(&type, &value, &tb);
    emit_lines(e, true);
    PyErr_Restore(type, value, tb);
  }
  delete e->pending;
  simple_dealloc(self);
}

PyType_Slot kErrorsSlots[] = {
    {Py_tp_methods, kErrorsMethods},
    {Py_tp_getset, kErrorsGetSet},
    {Py_tp_dealloc, reinterpret_cast<void*>(errors_dealloc)},
    {Py_tp_doc, const_cast<char*>("wsgi.errors: text written here goes to the error log")},
    {0, nullptr}};
PyType_Spec kErrorsSpec = {"mod_wsgi.Log", sizeof(ErrorsObject), 0,
                           Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, kErrorsSlots};

// --------------------------------------------------------------------------- FileWrapper

struct FileWrapperObject {
  PyObject_HEAD PyObject* filelike;
  long blksize;
};

int file_wrapper_init(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"filelike", "blksize", nullptr};
  PyObject* filelike = nullptr;
  long blksize = 8192;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|l:FileWrapper", const_cast<char**>(kKeywords),
                                   &filelike, &blksize)) {
    return -1;
  }
  if (blksize <= 0) {
    PyErr_SetString(PyExc_ValueError, "blksize must be positive");
    return -1;
  }
  auto* fw = reinterpret_cast<FileWrapperObject*>(self);
  Py_XSETREF(fw->filelike, Py_NewRef(filelike));
  fw->blksize = blksize;
  return 0;
}

PyObject* file_wrapper_iter(PyObject* self) { return Py_NewRef(self); }

PyObject* file_wrapper_next(PyObject* self) {
  auto* fw = reinterpret_cast<FileWrapperObject*>(self);
  if (fw->filelike == nullptr) return nullptr;
  Ref data = Ref::steal(PyObject_CallMethod(fw->filelike, "read", "l", fw->blksize));
  if (!data) return nullptr;
  if (PyObject_Length(data.get()) <= 0) {
    if (PyErr_Occurred()) return nullptr;
    return nullptr;  // StopIteration
  }
  return data.release();
}

PyObject* file_wrapper_close(PyObject* self, PyObject* /*unused*/) {
  auto* fw = reinterpret_cast<FileWrapperObject*>(self);
  if (fw->filelike == nullptr) Py_RETURN_NONE;
  Ref close = Ref::steal(PyObject_GetAttrString(fw->filelike, "close"));
  if (!close) {
    if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return nullptr;
    PyErr_Clear();
    Py_RETURN_NONE;
  }
  return PyObject_CallNoArgs(close.get());
}

void file_wrapper_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  Py_CLEAR(reinterpret_cast<FileWrapperObject*>(self)->filelike);
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);
}

int file_wrapper_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<FileWrapperObject*>(self)->filelike);
  Py_VISIT(Py_TYPE(self));
  return 0;
}

int file_wrapper_clear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<FileWrapperObject*>(self)->filelike);
  return 0;
}

PyMethodDef kFileWrapperMethods[] = {
    {"close", Guard<file_wrapper_close>::call, METH_NOARGS, "close(): closes the file-like object"},
    {nullptr, nullptr, 0, nullptr}};

PyMemberDef kFileWrapperMembers[] = {
    {"filelike", T_OBJECT, offsetof(FileWrapperObject, filelike), READONLY, nullptr},
    {"blksize", T_LONG, offsetof(FileWrapperObject, blksize), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyType_Slot kFileWrapperSlots[] = {
    {Py_tp_init, reinterpret_cast<void*>(Guard<file_wrapper_init>::call)},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_iter, reinterpret_cast<void*>(file_wrapper_iter)},
    {Py_tp_iternext, reinterpret_cast<void*>(Guard<file_wrapper_next>::call)},
    {Py_tp_methods, kFileWrapperMethods},
    {Py_tp_members, kFileWrapperMembers},
    {Py_tp_dealloc, reinterpret_cast<void*>(file_wrapper_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(file_wrapper_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(file_wrapper_clear)},
    {Py_tp_doc, const_cast<char*>("FileWrapper(filelike, blksize=8192): wsgi.file_wrapper")},
    {0, nullptr}};
PyType_Spec kFileWrapperSpec = {"mod_wsgi.FileWrapper", sizeof(FileWrapperObject), 0,
                                Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
                                kFileWrapperSlots};

Ref make_type(PyType_Spec* spec) { return Ref::steal(PyType_FromSpec(spec)); }

}  // namespace

bool create_types(const cpython::Gil& gil, Types* out) {
  out->start_response = make_type(&kStartResponseSpec);
  out->input = make_type(&kInputSpec);
  out->errors = make_type(&kErrorsSpec);
  out->file_wrapper = make_type(&kFileWrapperSpec);
  out->ssl_function = create_ssl_function_type(gil);
  return out->start_response && out->input && out->errors && out->file_wrapper && out->ssl_function;
}

Ref new_start_response(const cpython::Gil& /*gil*/, const Types& types, RequestContext* ctx) {
  auto* type = reinterpret_cast<PyTypeObject*>(types.start_response.get());
  auto* obj = PyObject_GC_New(StartResponseObject, type);
  if (obj == nullptr) return {};
  obj->ctx = ctx;
  obj->write = nullptr;
  PyObject_GC_Track(obj);
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

Ref new_input(const cpython::Gil& /*gil*/, const Types& types, RequestContext* ctx) {
  auto* obj = PyObject_New(InputObject, reinterpret_cast<PyTypeObject*>(types.input.get()));
  if (obj == nullptr) return {};
  obj->ctx = ctx;
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

Ref new_errors(const cpython::Gil& /*gil*/, const Types& types, RequestContext* ctx) {
  auto* obj = PyObject_New(ErrorsObject, reinterpret_cast<PyTypeObject*>(types.errors.get()));
  if (obj == nullptr) return {};
  obj->ctx = ctx;
  obj->pending = new (std::nothrow) std::string();
  if (obj->pending == nullptr) {
    Py_DECREF(obj);
    return Ref::steal(PyErr_NoMemory());
  }
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

void detach(const cpython::Gil& /*gil*/, PyObject* start_response, PyObject* input,
            PyObject* errors) {
  if (start_response != nullptr) {
    reinterpret_cast<StartResponseObject*>(start_response)->ctx = nullptr;
  }
  if (input != nullptr) reinterpret_cast<InputObject*>(input)->ctx = nullptr;
  if (errors != nullptr) {
    auto* e = reinterpret_cast<ErrorsObject*>(errors);
    emit_lines(e, true);
    e->ctx = nullptr;
  }
}

bool commit_headers(RequestContext& ctx) {
  if (ctx.headers_sent) return true;
  ctx.headers_sent = true;
  return ctx.record(ctx.exchange->start(ctx.status, ctx.status_line, ctx.headers));
}

bool send_body(const cpython::Gil& /*gil*/, RequestContext& ctx, const char* data, std::size_t size,
               bool flush) {
  if (ctx.client_gone || ctx.failed) return false;
  if (size == 0 && !flush) return true;
  if (!commit_headers(ctx)) return false;
  if (ctx.content_length && !ctx.traits->header_only) {
    std::uint64_t room = *ctx.content_length - std::min(*ctx.content_length, ctx.body_sent);
    if (size > room) {
      if (!ctx.overflow_logged) {
        ctx.overflow_logged = true;
        ctx.exchange->log(kLogError, "MP2104",
                          "WSGI application returned more data than its Content-Length of " +
                              std::to_string(*ctx.content_length) + " bytes; output cut");
      }
      size = static_cast<std::size_t>(room);
      if (size == 0 && !flush) return true;
    }
  }
  if (ctx.finished) return true;  // the response already ended; nothing more may go out
  // httpd's content-length filter keeps a HEAD response's Content-Length only when no body
  // data passes it; otherwise it would replace the application's value by what it returned.
  if (ctx.traits->head && ctx.content_length) {
    ctx.body_sent += size;
    return true;
  }
  IoResult r = IoResult::kOk;
  if (flush) {
    Py_BEGIN_ALLOW_THREADS r = ctx.exchange->write(data, size, true);
    Py_END_ALLOW_THREADS
  } else {
    r = ctx.exchange->write(data, size, false);
  }
  ctx.body_sent += size;
  return ctx.record(r);
}

bool file_wrapper_parts(const Types& types, PyObject* obj, PyObject** filelike, long* blksize) {
  if (Py_TYPE(obj) != reinterpret_cast<PyTypeObject*>(types.file_wrapper.get())) return false;
  auto* fw = reinterpret_cast<FileWrapperObject*>(obj);
  if (fw->filelike == nullptr) return false;
  *filelike = fw->filelike;
  *blksize = fw->blksize;
  return true;
}

}  // namespace mp::wsgi
