// Filter dispatch: find the Python filter for an Apache filter instance, call it with an
// mp_filter, and keep the stream intact whatever the Python code does (errors disable it).
#include "handlers/filter_dispatch.h"

#include <cctype>
#include <string>

#include "apache/boundary.h"
#include "apache/brigade.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "common/path_util.h"
#include "cpython/exception.h"
#include "handlers/handler_cache.h"
#include "handlers/interpreter_choice.h"
#include "handlers/request_state.h"
#include "python/filter_object.h"

namespace mp::handlers {

using apache::FilterEntry;
using cpython::Ref;

namespace {

ap_filter_rec_t* g_generic_output = nullptr;
ap_filter_rec_t* g_generic_input = nullptr;
constexpr const char* kGenericOutput = "MOD_PYTHON_REQUEST_OUTPUT";
constexpr const char* kGenericInput = "MOD_PYTHON_REQUEST_INPUT";

// One per Apache filter instance, in the request pool.
struct FilterState {
  FilterEntry entry;
  bool disabled;
  request_rec* r;
  cpython::Interpreter* interp;
  PyObject* object;              // mp_filter (strong), released at request-pool cleanup
  apr_bucket_brigade* pending;   // output: data written; input: data fetched not yet read
  apr_bucket_brigade* consumed;  // output: input read during the current call
  apr_bucket_brigade* carry;     // output: unfinished line held back by readline()
};

apr_status_t release_filter(void* data) noexcept {
  auto* state = static_cast<FilterState*>(data);
  if (state->object != nullptr) {
    cpython::AttachScope attach(*state->interp);
    reinterpret_cast<python::FilterObject*>(state->object)->dead = true;
    Py_CLEAR(state->object);
  }
  return APR_SUCCESS;
}

std::string lower(const char* name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const FilterEntry* configured_entry(const request_rec* r, const char* name) {
  std::string key = lower(name);
  if (const RequestState* state = existing_request_state(r); state && state->filters) {
    if (auto* e = static_cast<const FilterEntry*>(
            apr_hash_get(state->filters, key.data(), static_cast<apr_ssize_t>(key.size())))) {
      return e;
    }
  }
  const auto* cfg = apache::dir_config(r);
  if (cfg == nullptr || cfg->filters == nullptr) return nullptr;
  return static_cast<const FilterEntry*>(
      apr_hash_get(cfg->filters, key.data(), static_cast<apr_ssize_t>(key.size())));
}

FilterState* state_for(ap_filter_t* f) {
  if (f->ctx != nullptr) return static_cast<FilterState*>(f->ctx);
  if (f->r == nullptr) return nullptr;
  const FilterEntry* entry = configured_entry(f->r, f->frec->name);
  if (entry == nullptr) return nullptr;
  auto* state = static_cast<FilterState*>(apr_pcalloc(f->r->pool, sizeof(FilterState)));
  state->entry = *entry;
  state->r = f->r;
  state->pending = apr_brigade_create(f->r->pool, f->c->bucket_alloc);
  state->consumed = apr_brigade_create(f->r->pool, f->c->bucket_alloc);
  state->carry = apr_brigade_create(f->r->pool, f->c->bucket_alloc);
  f->ctx = state;
  apr_pool_cleanup_register(f->r->pool, state, release_filter, apr_pool_cleanup_null);
  return state;
}

// Prepares the mp_filter for this call; false (logged) when Python is unavailable.
python::FilterObject* prepare(const cpython::Gil& gil, ap_filter_t* f, FilterState* state) {
  if (state->object == nullptr) {
    PyObject* req = request_object(gil, f->r, *state->interp);
    if (req == nullptr) return nullptr;
    auto* data = python::data_of(*state->interp);
    Ref obj = python::make_filter(gil, data->state, f, state->entry.is_input, &state->disabled, req,
                                  state->entry.handler, state->entry.directory);
    if (!obj) return nullptr;
    state->object = obj.release();
  }
  auto* filter = reinterpret_cast<python::FilterObject*>(state->object);
  filter->f = f;
  filter->eos_seen = false;
  return filter;
}

void log_filter_error(const cpython::Gil& gil, ap_filter_t* f, FilterState* state,
                      python::FilterObject* filter) {
  const char* phase = state->entry.is_input ? "PythonInputFilter" : "PythonOutputFilter";
  std::string prefix = std::string(phase) + " " + state->entry.handler;
  auto lines = cpython::format_current_exception(gil);
  apache::log_request(APLOG_ERR, 0, f->r, "MP0140",
                      prefix + ": filter raised; disabled for the rest of the request");
  for (const auto& line : lines)
    apache::log_request(APLOG_ERR, 0, f->r, "MP0140", prefix + ": " + line);
  state->disabled = true;
  const auto* cfg = apache::dir_config(f->r);
  if (filter != nullptr && !filter->is_input && apache::is_on(cfg->debug, false)) {
    std::string text = "\n" + prefix + " raised:\n";
    for (const auto& line : lines) text += line + "\n";
    // Goes after the replayed input (see run_output).
    apr_bucket_brigade* target = filter->consumed != nullptr ? filter->consumed : filter->out;
    APR_BRIGADE_INSERT_TAIL(
        target, apr_bucket_heap_create(text.data(), text.size(), nullptr, f->c->bucket_alloc));
  }
}

void log_setup_failure(const cpython::Gil& gil, ap_filter_t* f, FilterState* state) {
  for (const auto& line : cpython::format_current_exception(gil)) {
    apache::log_request(
        APLOG_ERR, 0, f->r, "MP0140",
        std::string("cannot prepare Python filter ") + state->entry.handler + ": " + line);
  }
  state->disabled = true;
}

// Runs the Python function once. Returns false when it raised (already logged).
bool call_python(const cpython::Gil& gil, ap_filter_t* f, FilterState* state,
                 python::FilterObject* filter) {
  auto& data = *handler_data(*state->interp);
  const auto* cfg = apache::dir_config(f->r);
  apache::HandlerEntry entry{state->entry.handler, state->entry.directory, state->entry.is_location,
                             false, state->entry.stable};
  ResolveOptions options{apache::is_on(cfg->autoreload, true), apache::is_on(cfg->debug, false),
                         cfg->python_path};
  ResolveError error = ResolveError::kNone;
  Phase phase = state->entry.is_input ? Phase::kInputFilter : Phase::kOutputFilter;
  bool ok = apply_python_path(gil, data, cfg->python_path);
  const ResolvedHandler* handler =
      ok ? resolve_handler(gil, data, phase, entry, options, &error) : nullptr;
  Ref callable;
  if (handler != nullptr && !handler->missing) {
    callable = callable_for(gil, *handler, state->object);
  }
  python::CurrentRequestScope current(f->r);
  Ref result = callable ? Ref::steal(PyObject_CallOneArg(callable.get(), state->object)) : Ref();
  if (!result) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_AttributeError, "filter callable not found");
    log_filter_error(gil, f, state, filter);
    return false;
  }
  return true;
}

bool attach_state(ap_filter_t* f, FilterState* state) {
  if (state->interp != nullptr) return true;
  apache::HandlerEntry entry{state->entry.handler, state->entry.directory, state->entry.is_location,
                             false, state->entry.stable};
  std::string name = interpreter_name(f->r, apache::dir_config(f->r), &entry);
  std::string error;
  state->interp = cpython::InterpreterRegistry::instance().get(name, &error);
  if (state->interp == nullptr) {
    apache::log_request(APLOG_ERR, 0, f->r, "MP0001", error);
    state->disabled = true;
    return false;
  }
  return true;
}

// One call of an output filter over `bb`; leaves the output in filter->out.
void call_output(const cpython::Gil& gil, ap_filter_t* f, FilterState* state,
                 python::FilterObject* filter, apr_bucket_brigade* bb) {
  apache::move_to_front(bb, state->carry);  // a line held back by the previous call
  filter->in = bb;
  filter->out = state->pending;
  filter->consumed = state->consumed;
  filter->carry = state->carry;
  if (!call_python(gil, f, state, filter)) {
    // Transparent from here on: what this call read goes on instead of what it wrote.
    apr_brigade_cleanup(filter->out);
    apr_brigade_cleanup(state->carry);  // its bytes are in `consumed` too
    apache::move_to_end(filter->out, state->consumed);
  }
  apr_brigade_cleanup(state->consumed);
  filter->consumed = nullptr;
  filter->carry = nullptr;
  if (filter->eos_seen && !filter->closed) {
    apache::append_eos(filter->out, f->c->bucket_alloc);
    filter->closed = true;
  }
}

apr_status_t run_output(ap_filter_t* f, apr_bucket_brigade* bb) {
  FilterState* state = state_for(f);
  if (state == nullptr || state->disabled || !attach_state(f, state)) {
    return ap_pass_brigade(f->next, bb);
  }
  cpython::AttachScope attach(*state->interp);
  python::FilterObject* filter = prepare(attach.gil(), f, state);
  if (filter == nullptr) {
    log_setup_failure(attach.gil(), f, state);
    cpython::DetachScope io(attach.gil());
    return ap_pass_brigade(f->next, bb);
  }
  if (filter->closed) {  // stream already ended by this filter: drop anything after it
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
  }
  call_output(attach.gil(), f, state, filter, bb);
  apr_status_t status = APR_SUCCESS;
  {
    // Unread input (and everything after an error) passes on after what was written.
    cpython::DetachScope io(attach.gil());
    status = python::flush_filter_output(filter, true);
  }
  filter->in = nullptr;
  return status;
}

// Calls an input filter until it produced data or EOS (the caller needs one of them).
void call_input(const cpython::Gil& gil, ap_filter_t* f, FilterState* state,
                python::FilterObject* filter, apr_bucket_brigade* bb) {
  for (int round = 0; round < 64 && apache::brigade_empty(bb) && !filter->closed; ++round) {
    if (!call_python(gil, f, state, filter)) break;
    if (filter->eos_seen && !filter->closed) {
      apache::append_eos(bb, f->c->bucket_alloc);
      filter->closed = true;
    }
  }
}

apr_status_t run_input(ap_filter_t* f, apr_bucket_brigade* bb, ap_input_mode_t mode,
                       apr_read_type_e block, apr_off_t readbytes) {
  FilterState* state = state_for(f);
  bool usable_mode = mode == AP_MODE_READBYTES || mode == AP_MODE_GETLINE;
  if (state == nullptr || state->disabled || !usable_mode || !attach_state(f, state)) {
    return ap_get_brigade(f->next, bb, mode, block, readbytes);
  }
  cpython::AttachScope attach(*state->interp);
  python::FilterObject* filter = prepare(attach.gil(), f, state);
  if (filter == nullptr) {
    log_setup_failure(attach.gil(), f, state);
    cpython::DetachScope io(attach.gil());
    return ap_get_brigade(f->next, bb, mode, block, readbytes);
  }
  if (filter->closed) {
    apache::append_eos(bb, f->c->bucket_alloc);
    return APR_SUCCESS;
  }
  filter->in = state->pending;
  filter->out = bb;
  filter->mode = mode;
  filter->block = block;
  filter->readbytes = readbytes;
  call_input(attach.gil(), f, state, filter, bb);
  filter->in = nullptr;
  if (!apache::brigade_empty(bb)) return APR_SUCCESS;
  // Disabled (error) or unproductive: continue transparently with what was fetched.
  if (!apache::brigade_empty(state->pending)) {
    apache::move_to_end(bb, state->pending);
    return APR_SUCCESS;
  }
  state->disabled = true;
  cpython::DetachScope io(attach.gil());
  return ap_get_brigade(f->next, bb, mode, block, readbytes);
}

}  // namespace

apr_status_t python_output_filter(ap_filter_t* f, apr_bucket_brigade* bb) noexcept {
  return apache::guard(f->c->base_server, static_cast<apr_status_t>(APR_EGENERAL),
                       [&]() { return run_output(f, bb); });
}

apr_status_t python_input_filter(ap_filter_t* f, apr_bucket_brigade* bb, ap_input_mode_t mode,
                                 apr_read_type_e block, apr_off_t readbytes) noexcept {
  return apache::guard(f->c->base_server, static_cast<apr_status_t>(APR_EGENERAL),
                       [&]() { return run_input(f, bb, mode, block, readbytes); });
}

void register_generic_filters() noexcept {
  g_generic_output =
      ap_register_output_filter(kGenericOutput, python_output_filter, nullptr, AP_FTYPE_RESOURCE);
  g_generic_input =
      ap_register_input_filter(kGenericInput, python_input_filter, nullptr, AP_FTYPE_RESOURCE);
}

bool register_request_filter(request_rec* r, const char* name, const char* handler, const char* dir,
                             bool is_input) {
  RequestState* state = request_state(r);
  if (state->filters == nullptr) state->filters = apr_hash_make(r->pool);
  auto* entry = static_cast<FilterEntry*>(apr_pcalloc(r->pool, sizeof(FilterEntry)));
  entry->handler = apr_pstrdup(r->pool, handler);
  entry->directory =
      dir != nullptr ? apr_pstrdup(r->pool, with_trailing_slash(dir).c_str()) : nullptr;
  entry->is_input = is_input;
  std::string key = lower(name);
  apr_hash_set(state->filters, apr_pstrmemdup(r->pool, key.data(), key.size()),
               static_cast<apr_ssize_t>(key.size()), entry);
  return true;
}

bool add_request_filter(request_rec* r, const char* name, bool is_input) {
  std::string key = lower(name);
  const RequestState* state = existing_request_state(r);
  const FilterEntry* scoped =
      state != nullptr && state->filters != nullptr
          ? static_cast<const FilterEntry*>(
                apr_hash_get(state->filters, key.data(), static_cast<apr_ssize_t>(key.size())))
          : nullptr;
  if (scoped != nullptr) {
    if (scoped->is_input != is_input) {
      PyErr_Format(PyExc_ValueError, "filter '%s' was registered as an %s filter", name,
                   scoped->is_input ? "input" : "output");
      return false;
    }
    auto* fs = static_cast<FilterState*>(apr_pcalloc(r->pool, sizeof(FilterState)));
    fs->entry = *scoped;
    fs->r = r;
    fs->pending = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    fs->consumed = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    fs->carry = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_pool_cleanup_register(r->pool, fs, release_filter, apr_pool_cleanup_null);
    ap_filter_t* added = is_input
                             ? ap_add_input_filter_handle(g_generic_input, fs, r, r->connection)
                             : ap_add_output_filter_handle(g_generic_output, fs, r, r->connection);
    if (added == nullptr) {
      PyErr_Format(PyExc_RuntimeError, "could not add filter '%s'", name);
      return false;
    }
    return true;
  }
  ap_filter_t* added = is_input ? ap_add_input_filter(name, nullptr, r, r->connection)
                                : ap_add_output_filter(name, nullptr, r, r->connection);
  if (added == nullptr) {
    PyErr_Format(PyExc_ValueError, "no filter named '%s' is registered", name);
    return false;
  }
  return true;
}

}  // namespace mp::handlers
