// The dispatch loop: pick interpreter, get req, resolve cached callables, call, apply the
// phase's continue rule, report errors.
#include "handlers/phase_dispatch.h"

#include <optional>
#include <string>

#include "apache/boundary.h"
#include "apache/log.h"
#include "common/handler_spec.h"
#include "cpython/exception.h"
#include "cpython/strings.h"
#include "handlers/error_report.h"
#include "handlers/handler_cache.h"
#include "handlers/interpreter_choice.h"
#include "handlers/request_state.h"
#include "python/request_object.h"

namespace mp::handlers {

using apache::HandlerEntry;
using apache::ModuleConfig;
using cpython::Ref;

namespace {

const apr_array_header_t* handlers_for(const request_rec* r, const ModuleConfig* cfg, Phase phase,
                                       std::string_view* extension) {
  if (cfg->ext_handlers != nullptr && r->filename != nullptr) {
    std::string_view ext = filename_extension(r->filename);
    if (!ext.empty()) {
      std::string key(phase_info(phase).directive);
      key += ext;
      auto* list = static_cast<const apr_array_header_t*>(
          apr_hash_get(cfg->ext_handlers, key.data(), static_cast<apr_ssize_t>(key.size())));
      if (list != nullptr) {
        *extension = ext;
        return list;
      }
    }
  }
  return cfg->handlers[phase_index(phase)];
}

// The result of a call: the int it returned, or the code of an apache.SERVER_RETURN.
enum class Outcome { kResult, kException, kNonInt, kOutOfRange };

// On kNonInt and kOutOfRange, *bad is the value that is no status (the result, or SERVER_RETURN's
// argument).
Outcome interpret(PyObject* result, const python::ModuleState* st, request_rec* r, int* code,
                  Ref* bad) {
  PyObject* value = result;
  Ref from_exception;
  if (result == nullptr) {
    if (!PyErr_ExceptionMatches(st->server_return)) return Outcome::kException;
    cpython::GilAssumed g;
    cpython::FetchedException exc = cpython::FetchedException::fetch(g.gil());
    Ref args = Ref::steal(PyObject_GetAttrString(exc.value.get(), "args"));
    if (!args || !PyTuple_Check(args.get()) || PyTuple_GET_SIZE(args.get()) == 0) {
      PyErr_Clear();
      *code = HTTP_INTERNAL_SERVER_ERROR;
      return Outcome::kNonInt;
    }
    PyObject* first = PyTuple_GET_ITEM(args.get(), 0);
    PyObject* status = PyTuple_GET_SIZE(args.get()) > 1 ? PyTuple_GET_ITEM(args.get(), 1) : nullptr;
    if (PyTuple_Check(first) && PyTuple_GET_SIZE(first) == 2) {  // SERVER_RETURN((code, status))
      status = PyTuple_GET_ITEM(first, 1);
      first = PyTuple_GET_ITEM(first, 0);
    }
    if (status != nullptr && PyObject_IsTrue(status) == 1 && PyLong_Check(status)) {
      r->status = static_cast<int>(PyLong_AsLong(status));
    }
    from_exception = Ref::borrow(first);
    value = from_exception.get();
  }
  *bad = Ref::borrow(value);
  // `return True` is no status (httpd would get 1): reported as 3.5 does, with its type
  if (!PyLong_Check(value) || PyBool_Check(value)) return Outcome::kNonInt;
  int overflow = 0;
  long v = PyLong_AsLongAndOverflow(value, &overflow);
  if (overflow != 0 || v < -2 || v > 999) return Outcome::kOutOfRange;
  *code = static_cast<int>(v);
  return Outcome::kResult;
}

// Sets the error logged for a result that is no status: a TypeError for a value that is no
// int, a ValueError quoting an int that httpd does not accept.
void raise_bad_result(Outcome outcome, PyObject* value) {
  if (outcome == Outcome::kNonInt) {
    PyErr_Format(PyExc_TypeError,
                 "Handler has returned result or raised SERVER_RETURN exception with "
                 "argument having non integer type. Type of value returned was %.100s, "
                 "whereas int was expected.",
                 Py_TYPE(value)->tp_name);
  } else {
    PyErr_Format(PyExc_ValueError,
                 "Handler has returned result or raised SERVER_RETURN exception with %R, "
                 "which is not a result httpd accepts (apache.OK, DECLINED, DONE or an HTTP "
                 "status).",
                 value);
  }
}

struct PhaseRun {
  request_rec* r;
  Phase phase;
  const ModuleConfig* cfg;
  const apr_array_header_t* list;            // configured handlers (may be null)
  const apr_array_header_t* const* dynamic;  // req.add_handler list slot (may grow while running)
  std::string_view extension;
};

// Entry `i` of the configured list followed by the dynamic one; null past the end. Re-read on
// every step because a running handler may append to the dynamic list.
const HandlerEntry* entry_at(const PhaseRun& run, int i) {
  int configured = run.list != nullptr ? run.list->nelts : 0;
  if (i < configured) return &reinterpret_cast<const HandlerEntry*>(run.list->elts)[i];
  const apr_array_header_t* dyn = run.dynamic != nullptr ? *run.dynamic : nullptr;
  if (dyn == nullptr || i - configured >= dyn->nelts) return nullptr;
  return &reinterpret_cast<const HandlerEntry*>(dyn->elts)[i - configured];
}

// Log and cleanup phases run after the response: errors are only logged.
bool may_show_debug_page(Phase phase) { return phase != Phase::kLog && phase != Phase::kCleanup; }

// The interpreter, GIL and request object the loop currently works with.
struct Attached {
  std::optional<cpython::AttachScope> scope;
  cpython::Interpreter* interp = nullptr;
  PyObject* req = nullptr;
};

// Logs a possibly multi-line message one line at a time, each with the id.
void log_lines(const request_rec* r, const char* id, const std::string& text) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    apache::log_request(APLOG_ERR, 0, r, id, std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
}

// Switches `att` to the interpreter named `name`; false (result set) when that fails.
bool attach_to(const PhaseRun& run, const std::string& name, Attached* att, int* result) {
  if (att->interp != nullptr && att->interp->name() == name) return true;
  if (att->req != nullptr) Py_XSETREF(python::as_request(att->req)->phase, Py_NewRef(Py_None));
  att->scope.reset();
  att->req = nullptr;
  std::string error;
  att->interp = cpython::InterpreterRegistry::instance().get(name, &error);
  if (att->interp == nullptr) {
    log_lines(run.r, "MP0001", error);
    *result = HTTP_INTERNAL_SERVER_ERROR;
    return false;
  }
  att->scope.emplace(*att->interp);
  att->req = request_object(att->scope->gil(), run.r, *att->interp);
  if (att->req == nullptr) {
    for (const auto& line : cpython::format_current_exception(att->scope->gil())) {
      apache::log_request(APLOG_ERR, 0, run.r, "MP0001",
                          "cannot create the request object: " + line);
    }
    *result = HTTP_INTERNAL_SERVER_ERROR;
    return false;
  }
  return true;
}

void set_dispatch_state(const cpython::Gil& gil, const PhaseRun& run, HandlerInterpreterData& data,
                        PyObject* req) {
  auto* req_obj = python::as_request(req);
  Py_XSETREF(req_obj->phase, Py_NewRef(data.phase_names[phase_index(run.phase)].get()));
  if (!run.extension.empty()) {
    Py_XSETREF(req_obj->extension, cpython::str_from_bytes(gil, run.extension).release());
  }
}

// PythonEnablePdb On with httpd -DONE_PROCESS: the call runs under pdb (spec §2.3).
Ref call_handler(const PhaseRun& run, PyObject* callable, PyObject* req) {
  if (apache::is_on(run.cfg->enable_pdb, false) && ap_exists_config_define("ONE_PROCESS")) {
    Ref pdb = Ref::steal(PyImport_ImportModule("pdb"));
    if (!pdb) return {};
    return Ref::steal(PyObject_CallMethod(pdb.get(), "runcall", "OO", callable, req));
  }
  return Ref::steal(PyObject_CallOneArg(callable, req));
}

enum class Step { kContinue, kStop, kSkipped };

// Runs one handler entry; sets *result and says whether the loop may go on.
Step run_entry(const PhaseRun& run, const HandlerEntry& entry, Attached& att, int* result) {
  const cpython::Gil& gil = att.scope->gil();
  HandlerInterpreterData& data = *handler_data(*att.interp);
  bool debug = apache::is_on(run.cfg->debug, false);
  set_dispatch_state(gil, run, data, att.req);
  python::as_request(att.req)->dispatch_entry = &entry;
  ErrorContext ctx{run.r,
                   att.req,
                   att.interp,
                   phase_info(run.phase).directive,
                   entry.handler,
                   "MP0100",
                   debug && may_show_debug_page(run.phase),
                   !may_show_debug_page(run.phase)};
  if (!apply_python_path(gil, data, run.cfg->python_path)) {
    *result = report_handler_exception(gil, ctx);
    return Step::kStop;
  }
  ResolveOptions options{apache::is_on(run.cfg->autoreload, true), debug, run.cfg->python_path};
  ResolveError resolve_error = ResolveError::kNone;
  const ResolvedHandler* handler =
      resolve_handler(gil, data, run.phase, entry, options, &resolve_error);
  if (handler == nullptr) {
    ctx.log_id = resolve_error == ResolveError::kMissingObject ? "MP0103" : "MP0102";
    *result = report_handler_exception(gil, ctx);
    return Step::kStop;
  }
  if (handler->missing) return Step::kSkipped;  // PythonHandlerModule: silently skipped
  python::CurrentRequestScope current(run.r);
  Ref callable = callable_for(gil, *handler, att.req);
  Ref returned = callable ? call_handler(run, callable.get(), att.req) : Ref();
  int code = HTTP_INTERNAL_SERVER_ERROR;
  Ref bad;
  Outcome outcome = interpret(returned.get(), data.state, run.r, &code, &bad);
  if (outcome == Outcome::kException) {
    *result = report_handler_exception(gil, ctx);
    return Step::kStop;
  }
  if (outcome == Outcome::kNonInt || outcome == Outcome::kOutOfRange) {
    raise_bad_result(outcome, bad ? bad.get() : Py_None);
    ctx.log_id = "MP0101";
    *result = report_handler_exception(gil, ctx);
    return Step::kStop;
  }
  *result = (run.phase == Phase::kHandler && code == HTTP_OK) ? OK : code;
  return should_continue(run.phase, *result) ? Step::kContinue : Step::kStop;
}

int run_entries(const PhaseRun& run) {
  Attached att;
  int result = DECLINED;
  bool any_ran = false;
  for (int i = 0;; ++i) {
    const HandlerEntry* entry = entry_at(run, i);
    if (entry == nullptr) break;
    // Copied: the dynamic list may be reallocated while this handler runs.
    HandlerEntry current = *entry;
    if (!attach_to(run, interpreter_name(run.r, run.cfg, &current), &att, &result)) return result;
    Step step = run_entry(run, current, att, &result);
    if (step == Step::kSkipped) continue;
    any_ran = true;
    if (step == Step::kStop) break;
  }
  if (att.req != nullptr) {
    auto* req = python::as_request(att.req);
    Py_XSETREF(req->phase, Py_NewRef(Py_None));
    req->dispatch_entry = nullptr;
  }
  return any_ran ? result : DECLINED;
}

// After the authentication phase (spec §2.1): OK needs a user; 401 asks for credentials.
int check_authen_result(request_rec* r, int result) {
  if (result == OK && r->user == nullptr) {
    apache::log_request(APLOG_ERR, 0, r, "MP0104",
                        "After PythonAuthenHandler req->user is NULL. Assign something to "
                        "req.user if returning OK to avoid this error.");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  if (result == HTTP_UNAUTHORIZED && ap_auth_type(r) != nullptr) ap_note_auth_failure(r);
  return result;
}

// The server-level PythonInitHandler list (runs at post_read_request).
const apr_array_header_t* server_init_list(const request_rec* r) {
  const auto* cfg = static_cast<const ModuleConfig*>(
      ap_get_module_config(r->server->lookup_defaults, &python_module));
  return cfg != nullptr ? cfg->handlers[phase_index(Phase::kInit)] : nullptr;
}

int run_phase(request_rec* r, Phase phase, const ModuleConfig* cfg, const apr_array_header_t* list,
              std::string_view extension) {
  const RequestState* existing = existing_request_state(r);
  const apr_array_header_t* pending =
      existing != nullptr ? existing->dynamic[phase_index(phase)] : nullptr;
  bool has_dynamic = pending != nullptr && pending->nelts > 0;
  if ((list == nullptr || list->nelts == 0) && !has_dynamic) return DECLINED;
  // Created now so that handlers added to this very phase join the running list.
  const apr_array_header_t* const* dynamic = &request_state(r)->dynamic[phase_index(phase)];
  int result = run_entries(PhaseRun{r, phase, cfg, list, dynamic, extension});
  if (phase == Phase::kAuthen) result = check_authen_result(r, result);
  if (phase == Phase::kHandler && ap_is_HTTP_ERROR(result) && r->sent_bodyct != 0) {
    return cut_off_started_response(r, result);
  }
  return result;
}

}  // namespace

int run_request_phase(request_rec* r, Phase phase) noexcept {
  return apache::guard(r->server, static_cast<int>(HTTP_INTERNAL_SERVER_ERROR), [&]() -> int {
    const ModuleConfig* cfg = apache::dir_config(r);
    if (cfg == nullptr) return DECLINED;
    std::string_view extension;
    const apr_array_header_t* list = handlers_for(r, cfg, phase, &extension);
    return run_phase(r, phase, cfg, list, extension);
  });
}

int run_init_phase(request_rec* r, bool server_level) noexcept {
  return apache::guard(r->server, static_cast<int>(HTTP_INTERNAL_SERVER_ERROR), [&]() -> int {
    const ModuleConfig* cfg = apache::dir_config(r);
    if (cfg == nullptr) return DECLINED;
    const apr_array_header_t* server_list = server_init_list(r);
    std::string_view extension;
    const apr_array_header_t* list = handlers_for(r, cfg, Phase::kInit, &extension);
    // A directory-level list runs at header_parser; the inherited server-level list already
    // ran at post_read_request and never runs twice.
    if (server_level ? list != server_list : list == server_list) return DECLINED;
    return run_phase(r, Phase::kInit, cfg, list, extension);
  });
}

}  // namespace mp::handlers
