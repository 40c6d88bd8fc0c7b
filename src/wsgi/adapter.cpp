// The WSGI call protocol (PEP 3333): environ, start_response, iterating the result, close().
#include "wsgi/adapter.h"

#include <sys/stat.h>

#include <memory>
#include <string>

#include "cpython/exception.h"
#include "cpython/ref.h"
#include "wsgi/request_context.h"
#include "wsgi/ssl_functions.h"

namespace mp::wsgi {

using cpython::Ref;

// The per-request callables of the environ other than start_response.
struct RequestCallables {
  Ref is_https;
  Ref var_lookup;

  RequestCallables(const cpython::Gil& gil, const Types& types, RequestContext* ctx)
      : is_https(new_ssl_function(gil, types.ssl_function.get(), ctx, SslFunction::kIsHttps)),
        var_lookup(
            is_https ? new_ssl_function(gil, types.ssl_function.get(), ctx, SslFunction::kVarLookup)
                     : Ref()) {}
  ~RequestCallables() {
    detach_ssl_function(is_https.get());
    detach_ssl_function(var_lookup.get());
  }
  RequestCallables(const RequestCallables&) = delete;
  RequestCallables& operator=(const RequestCallables&) = delete;
  [[nodiscard]] bool ok() const noexcept { return var_lookup.get() != nullptr; }
};

namespace {

constexpr int kLogError = 3;
constexpr int kLogDebug = 7;

// Fills the environ dict; counts the variables so that EnvironCache can predict each one.
class DictSink final : public EnvironSink {
 public:
  DictSink(PyObject* dict, const Types& types) : dict_(dict), types_(types) {}
  void add(std::string_view key, std::string_view value, Encoding encoding) override {
    if (failed_) return;
    Ref v = types_.environ.value(value, encoding == Encoding::kFilesystem, position_);
    if (!v || !set(key, v.get())) failed_ = true;
  }
  // Sets `key`; false with a Python exception on failure (`value` null = already failed).
  bool set(std::string_view key, PyObject* value) {
    if (value == nullptr) return false;
    Ref k = types_.environ.key(key, position_++);
    return k && PyDict_SetItem(dict_, k.get(), value) == 0;
  }
  // Keeps a value the exchange already provided (e.g. a scheme from a trusted proxy header).
  bool set_default(std::string_view key, PyObject* value) {
    if (value == nullptr) return false;
    Ref k = types_.environ.key(key, position_++);
    return k && PyDict_SetDefault(dict_, k.get(), value) != nullptr;
  }
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  PyObject* dict_;
  const Types& types_;
  std::size_t position_ = 0;
  bool failed_ = false;
};

// Immutable environ values shared by all requests of the interpreter.
enum Constant { kWsgiVersion, kModWsgiVersion, kApacheVersion, kHttp, kHttps, kConstantCount };

PyObject* constant(const Types& types, Constant which, const RequestTraits& traits) {
  Ref& slot = types.constants[which];
  if (slot) return slot.get();
  switch (which) {
    case kWsgiVersion:
      slot = Ref::steal(Py_BuildValue("(ii)", 1, 0));
      break;
    case kModWsgiVersion:
      slot = Ref::steal(Py_BuildValue("(iii)", 4, 9, 4));
      break;
    case kApacheVersion:
      slot = Ref::steal(Py_BuildValue("(iii)", traits.apache_version[0], traits.apache_version[1],
                                      traits.apache_version[2]));
      break;
    case kHttp:
      slot = Ref::steal(PyUnicode_InternFromString("http"));
      break;
    case kHttps:
      slot = Ref::steal(PyUnicode_InternFromString("https"));
      break;
    default:
      break;
  }
  return slot.get();
}

Ref build_environ(const RequestTraits& traits, Exchange& exchange, const Types& types,
                  PyObject* input, PyObject* errors, const RequestCallables& callables) {
  Ref env = Ref::steal(_PyDict_NewPresized(64));
  if (!env) return {};
  DictSink sink(env.get(), types);
  exchange.environ(sink);
  if (sink.failed()) return {};
  bool ok =
      sink.set("wsgi.version", constant(types, kWsgiVersion, traits)) &&
      sink.set_default("wsgi.url_scheme", constant(types, traits.https ? kHttps : kHttp, traits)) &&
      sink.set("wsgi.errors", errors) &&
      sink.set("wsgi.multithread", traits.multithread ? Py_True : Py_False) &&
      sink.set("wsgi.multiprocess", traits.multiprocess ? Py_True : Py_False) &&
      sink.set("wsgi.run_once", Py_False) &&
      sink.set("apache.version", constant(types, kApacheVersion, traits)) &&
      sink.set("mod_wsgi.version", constant(types, kModWsgiVersion, traits)) &&
      sink.set("mod_ssl.is_https", callables.is_https.get()) &&
      sink.set("mod_ssl.var_lookup", callables.var_lookup.get());
  // Access and auth hooks get no request body and nothing to respond with.
  if (ok && input != nullptr) {
    ok = sink.set("wsgi.input", input) && sink.set("wsgi.input_terminated", Py_True) &&
         sink.set("wsgi.file_wrapper", types.file_wrapper.get());
  }
  if (!ok) return {};
  return env;
}

void log_exception(const cpython::Gil& gil, Exchange& exchange, const RequestTraits& traits,
                   const char* what) {
  exchange.log(kLogError, "MP2100",
               std::string(what) + " in WSGI script '" + traits.script + "' (application group '" +
                   traits.application_group + "')");
  for (const auto& line : cpython::format_current_exception(gil)) {
    exchange.log(kLogError, "MP2100", line);
  }
}

// The application raised the OSError of a request body that could not be read (already
// logged by the exchange) before responding: the client's fault, answered without a traceback.
bool failed_on_request_body(const RequestContext& ctx) {
  return !ctx.headers_sent && !ctx.input_error.empty() && ctx.exchange->body_error_status() != 0 &&
         PyErr_ExceptionMatches(PyExc_OSError) != 0;
}

// Logs the application's exception and says how the request ended.
Outcome application_failed(const cpython::Gil& gil, const RequestContext& ctx,
                           const RequestTraits& traits) {
  if (failed_on_request_body(ctx)) {
    PyErr_Clear();
    return Outcome::kBadRequestBody;
  }
  log_exception(gil, *ctx.exchange, traits, "exception");
  return ctx.headers_sent ? Outcome::kTruncated : Outcome::kFailedBeforeResponse;
}

// Calls result.close() if it has one; logs what it raises.
void close_result(const cpython::Gil& gil, Exchange& exchange, const RequestTraits& traits,
                  PyObject* result, bool* close_failed) {
  if (result == nullptr) return;
  // The common list/tuple result has no close(): spare the AttributeError a lookup would raise.
  if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) return;
  Ref close = Ref::steal(PyObject_GetAttrString(result, "close"));
  if (!close) {
    if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
      PyErr_Clear();
    } else {
      log_exception(gil, exchange, traits, "exception looking up close()");
      *close_failed = true;
    }
    return;
  }
  Ref returned = Ref::steal(PyObject_CallNoArgs(close.get()));
  if (!returned) {
    log_exception(gil, exchange, traits, "exception in close() of the response iterable");
    *close_failed = true;
  }
}

// wsgi.file_wrapper fast path: a regular file sent as a file (sendfile where allowed).
// Returns true when the body was handled (sent or failed); false to iterate instead.
bool try_send_file(const cpython::Gil& /*gil*/, const Types& types, RequestContext& ctx,
                   PyObject* result) {
  PyObject* filelike = nullptr;
  long blksize = 0;
  if (!ctx.status_set || ctx.body_sent != 0 || ctx.headers_sent) return false;
  if (!file_wrapper_parts(types, result, &filelike, &blksize)) return false;
  Ref fileno = Ref::steal(PyObject_CallMethod(filelike, "fileno", nullptr));
  if (!fileno) {
    PyErr_Clear();
    return false;
  }
  long fd = PyLong_AsLong(fileno.get());
  if (fd < 0) {
    PyErr_Clear();
    return false;
  }
  struct stat st {};
  if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  Ref tell = Ref::steal(PyObject_CallMethod(filelike, "tell", nullptr));
  long long offset = tell ? PyLong_AsLongLong(tell.get()) : -1;
  if (offset < 0 || PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  auto start = static_cast<std::uint64_t>(offset);
  std::uint64_t length = start < size ? size - start : 0;
  if (ctx.content_length && *ctx.content_length < length) length = *ctx.content_length;
  if (!commit_headers(ctx)) return true;
  if (length == 0 || (ctx.traits->head && ctx.content_length)) return true;  // see send_body
  IoResult r = IoResult::kOk;
  Py_BEGIN_ALLOW_THREADS r = ctx.exchange->send_file(static_cast<int>(fd), start, length);
  Py_END_ALLOW_THREADS if (ctx.record(r)) ctx.body_sent += length;
  return true;
}

// Data of one block from the iterable: bytes only (PEP 3333).
bool block_bytes(PyObject* item) {
  if (PyBytes_Check(item)) return true;
  PyErr_Format(PyExc_TypeError,
               "sequence of byte string values expected, value of type %.200s found",
               Py_TYPE(item)->tp_name);
  return false;
}

enum class IterEnd { kDone, kException, kStopped };

IterEnd body_before_start() {
  PyErr_SetString(PyExc_RuntimeError, "response body produced before start_response() was called");
  return IterEnd::kException;
}

// A list or tuple: every item checked first (so a bad one still gives a clean 500), then
// queued and sent at the end in one go (Apache can then compute Content-Length).
IterEnd send_sequence(const cpython::Gil& gil, RequestContext& ctx, PyObject* result) {
  Py_ssize_t n = PySequence_Fast_GET_SIZE(result);
  PyObject** items = PySequence_Fast_ITEMS(result);
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!block_bytes(items[i])) return IterEnd::kException;
  }
  if (n > 0 && !ctx.status_set) return body_before_start();
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!send_body(gil, ctx, PyBytes_AS_STRING(items[i]),
                   static_cast<std::size_t>(PyBytes_GET_SIZE(items[i])), false)) {
      return IterEnd::kStopped;
    }
  }
  return IterEnd::kDone;
}

// Ends the response now (its body is complete; the iterable may still be running).
bool finish_now(RequestContext& ctx) {
  IoResult r = IoResult::kOk;
  Py_BEGIN_ALLOW_THREADS r = ctx.exchange->finish();
  Py_END_ALLOW_THREADS ctx.finished = true;
  return ctx.record(r);
}

// Any other iterable: each non-empty block is flushed as it comes (PEP 3333 streaming).
IterEnd send_iterator(const cpython::Gil& gil, RequestContext& ctx, PyObject* result) {
  Ref it = Ref::steal(PyObject_GetIter(result));
  if (!it) return IterEnd::kException;
  while (true) {
    Ref item = Ref::steal(PyIter_Next(it.get()));
    if (!item) return PyErr_Occurred() ? IterEnd::kException : IterEnd::kDone;
    if (!block_bytes(item.get())) return IterEnd::kException;
    Py_ssize_t size = PyBytes_GET_SIZE(item.get());
    if (size == 0) continue;
    if (!ctx.status_set) return body_before_start();
    // A block that completes the declared Content-Length is the whole rest of the body: it
    // is queued and the response ends with it in one pass, without waiting for the iterable
    // to stop (it may take its time after its last block).
    bool completes = ctx.content_length &&
                     ctx.body_sent + static_cast<std::uint64_t>(size) == *ctx.content_length;
    if (!send_body(gil, ctx, PyBytes_AS_STRING(item.get()), static_cast<std::size_t>(size),
                   !completes)) {
      return IterEnd::kStopped;
    }
    if (completes && !finish_now(ctx)) return IterEnd::kStopped;
  }
}

IterEnd send_iterable(const cpython::Gil& gil, RequestContext& ctx, PyObject* result) {
  if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) {
    return send_sequence(gil, ctx, result);
  }
  return send_iterator(gil, ctx, result);
}

// Ends a response whose body went out without errors: checks Content-Length and finishes.
Outcome complete(RequestContext& ctx) {
  if (ctx.finished) return Outcome::kCompleted;
  if (!commit_headers(ctx)) return ctx.client_gone ? Outcome::kClientGone : Outcome::kTruncated;
  if (ctx.content_length && !ctx.traits->header_only && ctx.body_sent < *ctx.content_length &&
      ctx.status != 204 && ctx.status != 304) {
    ctx.exchange->log(kLogError, "MP2105",
                      "WSGI application returned " + std::to_string(ctx.body_sent) +
                          " bytes but its Content-Length is " +
                          std::to_string(*ctx.content_length) + "; connection closed");
    return Outcome::kTruncated;
  }
  if (ctx.exchange->defer_finish() || finish_now(ctx)) return Outcome::kCompleted;
  return ctx.client_gone ? Outcome::kClientGone : Outcome::kTruncated;
}

// Sends what the application returned, calls its close() and ends the response.
Outcome respond(const cpython::Gil& gil, const Types& types, RequestContext& ctx,
                const RequestTraits& traits, PyObject* result) {
  Exchange& exchange = *ctx.exchange;
  Outcome outcome = Outcome::kCompleted;
  IterEnd end = IterEnd::kDone;
  if (!try_send_file(gil, types, ctx, result)) end = send_iterable(gil, ctx, result);
  if (end == IterEnd::kException) {
    outcome = application_failed(gil, ctx, traits);
  } else if (!ctx.status_set) {
    exchange.log(
        kLogError, "MP2101",
        "WSGI application in '" + traits.script + "' returned without calling start_response()");
    outcome = Outcome::kFailedBeforeResponse;
  }
  // close() runs before the response is finished (unless a streamed block completed the
  // Content-Length): the application is done with its resources by the time the server has
  // everything.
  bool close_failed = false;
  close_result(gil, exchange, traits, result, &close_failed);
  if (outcome != Outcome::kCompleted) return outcome;
  if (ctx.client_gone) {
    exchange.log(kLogDebug, "MP2106", "client closed the connection during the response");
    return Outcome::kClientGone;
  }
  if (ctx.failed) return Outcome::kTruncated;
  if (close_failed && !ctx.headers_sent) return Outcome::kFailedBeforeResponse;
  return complete(ctx);
}

}  // namespace

Outcome run_application(const cpython::Gil& gil, const Types& types, Exchange& exchange,
                        const RequestTraits& traits, PyObject* application) {
  RequestContext ctx;
  ctx.exchange = &exchange;
  ctx.traits = &traits;
  Ref start_response = new_start_response(gil, types, &ctx);
  Ref input = start_response ? new_input(gil, types, &ctx) : Ref();
  Ref errors = input ? new_errors(gil, types, &ctx) : Ref();
  RequestCallables callables(gil, types, &ctx);
  Ref environ = errors && callables.ok()
                    ? build_environ(traits, exchange, types, input.get(), errors.get(), callables)
                    : Ref();
  if (!environ) {
    log_exception(gil, exchange, traits, "cannot build the environ");
    detach(gil, start_response.get(), input.get(), errors.get());
    return Outcome::kFailedBeforeResponse;
  }

  Ref result = Ref::steal(
      PyObject_CallFunctionObjArgs(application, environ.get(), start_response.get(), nullptr));
  Outcome outcome = Outcome::kCompleted;
  if (!result) {
    outcome = application_failed(gil, ctx, traits);
  } else {
    outcome = respond(gil, types, ctx, traits, result.get());
  }
  if (outcome == Outcome::kTruncated && ctx.headers_sent && !ctx.client_gone) {
    if (ctx.finished) {
      exchange.close_after_response();
    } else {
      exchange.abort();
    }
  }
  result.reset();
  detach(gil, start_response.get(), input.get(), errors.get());
  if (PyErr_Occurred()) PyErr_Clear();
  return outcome;
}

HookCaller::HookCaller(const cpython::Gil& gil, const Types& types, Exchange& exchange,
                       const RequestTraits& traits)
    : gil_(gil) {
  ctx_.exchange = &exchange;
  ctx_.traits = &traits;
  errors_ = new_errors(gil, types, &ctx_);
  if (!errors_) return;
  callables_ = std::make_unique<RequestCallables>(gil, types, &ctx_);
  if (callables_->ok()) {
    environ_ = build_environ(traits, exchange, types, nullptr, errors_.get(), *callables_);
  }
}

HookCaller::~HookCaller() {
  if (!errors_) return;
  // Cut wsgi.errors loose (the script may keep it), keeping a pending exception.
  cpython::FetchedException pending = cpython::FetchedException::fetch(gil_);
  detach(gil_, nullptr, nullptr, errors_.get());
  callables_.reset();
  if (PyErr_Occurred()) PyErr_Clear();
  if (!pending.empty()) pending.restore(gil_);
}

Ref HookCaller::call(PyObject* function, PyObject* args) {
  if (!environ_) return {};
  Py_ssize_t extra = PyTuple_GET_SIZE(args);
  Ref call_args = Ref::steal(PyTuple_New(extra + 1));
  if (!call_args) return {};
  PyTuple_SET_ITEM(call_args.get(), 0, Py_NewRef(environ_.get()));
  for (Py_ssize_t i = 0; i < extra; ++i) {
    PyTuple_SET_ITEM(call_args.get(), i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
  }
  return Ref::steal(PyObject_Call(function, call_args.get(), nullptr));
}

}  // namespace mp::wsgi
