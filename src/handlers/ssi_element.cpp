// #python SSI element: code runs in the request's interpreter with per-request globals
// (req.ssi_globals) that include `filter` (writes go into the page) and `__file__`.
#include "handlers/ssi_element.h"

#include <cstring>
#include <string>

#include "apache/apache.h"
// mod_include.h needs httpd's types first.
#include <apr_optional.h>
#include <mod_include.h>

#include "apache/boundary.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "cpython/exception.h"
#include "cpython/strings.h"
#include "handlers/interpreter_choice.h"
#include "handlers/request_state.h"
#include "python/filter_object.h"

namespace mp::handlers {

using cpython::Ref;

namespace {

// exec code: CRLF normalised, trailing whitespace stripped (spec §2.7).
std::string normalise_code(const char* text) {
  std::string code;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p == '\r' && p[1] == '\n') continue;
    code += *p;
  }
  while (!code.empty() && (code.back() == ' ' || code.back() == '\t' || code.back() == '\n' ||
                           code.back() == '\r')) {
    code.pop_back();
  }
  return code;
}

// req.ssi_globals, created on first use with `filter` and `__file__`.
PyObject* ssi_globals(const cpython::Gil& gil, request_rec* r, PyObject* req, PyObject* filter) {
  Ref globals = Ref::steal(PyObject_GetAttrString(req, "ssi_globals"));
  if (!globals) {
    PyErr_Clear();
    globals = Ref::steal(PyDict_New());
    if (!globals || PyObject_SetAttrString(req, "ssi_globals", globals.get()) < 0) return nullptr;
    Ref file = cpython::str_or_none(gil, r->filename);
    if (!file || PyDict_SetItemString(globals.get(), "__file__", file.get()) < 0) return nullptr;
    Ref builtins = Ref::borrow(PyEval_GetBuiltins());
    if (PyDict_SetItemString(globals.get(), "__builtins__", builtins.get()) < 0) return nullptr;
  }
  if (PyDict_SetItemString(globals.get(), "filter", filter) < 0) return nullptr;
  return globals.release();
}

bool run_code(const cpython::Gil& gil, request_rec* r, PyObject* req, PyObject* filter, bool eval,
              const char* value) {
  Ref globals = Ref::steal(ssi_globals(gil, r, req, filter));
  if (!globals) return false;
  std::string code = eval ? std::string(value) : normalise_code(value);
  Ref result = Ref::steal(PyRun_String(code.c_str(), eval ? Py_eval_input : Py_file_input,
                                       globals.get(), globals.get()));
  if (!result) return false;
  if (!eval || result.get() == Py_None) return true;
  Ref text = Ref::steal(PyObject_Str(result.get()));
  if (!text) return false;
  Ref written = Ref::steal(PyObject_CallMethod(filter, "write", "O", text.get()));
  return static_cast<bool>(written);
}

void log_ssi_error(const cpython::Gil& gil, request_rec* r, const char* tag) {
  for (const auto& line : cpython::format_current_exception(gil)) {
    apache::log_request(APLOG_ERR, 0, r, "MP0170",
                        std::string("#python ") + tag + " in " +
                            (r->filename != nullptr ? r->filename : "?") + ": " + line);
  }
}

// Runs eval/exec in the request's interpreter; false (exception logged) on failure.
bool run_element(request_rec* r, ap_filter_t* f, apr_bucket_brigade* bb, bool eval,
                 const char* value) {
  std::string error;
  std::string name = interpreter_name(r, apache::dir_config(r), nullptr);
  cpython::Interpreter* interp = cpython::InterpreterRegistry::instance().get(name, &error);
  if (interp == nullptr) {
    apache::log_request(APLOG_ERR, 0, r, "MP0001", error);
    return false;
  }
  cpython::AttachScope attach(*interp);
  const cpython::Gil& gil = attach.gil();
  PyObject* req = request_object(gil, r, *interp);
  bool disabled = false;
  Ref filter = req != nullptr
                   ? python::make_filter(gil, python::data_of(*interp)->state, f, false, &disabled,
                                         req, f->frec->name, "#python", nullptr)
                   : Ref();
  bool ok = false;
  if (filter) {
    auto* fo = reinterpret_cast<python::FilterObject*>(filter.get());
    fo->in = apr_brigade_create(r->pool, f->c->bucket_alloc);
    fo->out = bb;  // what the code writes goes into the page at this point
    python::CurrentRequestScope current(r);
    ok = run_code(gil, r, req, filter.get(), eval, value);
    fo->dead = true;
  }
  if (!ok) log_ssi_error(gil, r, eval ? "eval" : "exec");
  return ok;
}

apr_status_t python_element(include_ctx_t* ctx, ap_filter_t* f, apr_bucket_brigade* bb) {
  request_rec* r = f->r;
  if ((ctx->flags & SSI_FLAG_PRINTING) == 0) return APR_SUCCESS;
  if ((ctx->flags & SSI_FLAG_NO_EXEC) != 0) {
    apache::log_request(APLOG_ERR, 0, r, "MP0171",
                        std::string("#python used but not allowed in ") +
                            (r->filename != nullptr ? r->filename : "?"));
    SSI_CREATE_ERROR_BUCKET(ctx, f, bb);
    return APR_SUCCESS;
  }
  auto* get_tag = APR_RETRIEVE_OPTIONAL_FN(ap_ssi_get_tag_and_value);
  char* tag = nullptr;
  char* value = nullptr;
  if (get_tag != nullptr) get_tag(ctx, &tag, &value, SSI_VALUE_DECODED);
  bool eval = tag != nullptr && std::strcmp(tag, "eval") == 0;
  bool exec = tag != nullptr && std::strcmp(tag, "exec") == 0;
  if ((!eval && !exec) || value == nullptr) {
    apache::log_request(APLOG_ERR, 0, r, "MP0170",
                        "#python needs eval=\"expression\" or exec=\"code\"");
    SSI_CREATE_ERROR_BUCKET(ctx, f, bb);
    return APR_SUCCESS;
  }
  if (!run_element(r, f, bb, eval, value)) SSI_CREATE_ERROR_BUCKET(ctx, f, bb);
  return APR_SUCCESS;
}

apr_status_t python_element_guarded(include_ctx_t* ctx, ap_filter_t* f,
                                    apr_bucket_brigade* bb) noexcept {
  return apache::guard(f->c->base_server, static_cast<apr_status_t>(APR_SUCCESS),
                       [&]() { return python_element(ctx, f, bb); });
}

}  // namespace

void register_ssi_element() noexcept {
  auto* register_handler = APR_RETRIEVE_OPTIONAL_FN(ap_register_include_handler);
  if (register_handler != nullptr) {
    register_handler(const_cast<char*>("python"), python_element_guarded);
  }
}

}  // namespace mp::handlers
