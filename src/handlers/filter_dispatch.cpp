// Filter dispatch: find the Python filter for an Apache filter instance, call it with an
// mp_filter, and keep the stream intact whatever the Python code does (errors disable it).
#include "handlers/filter_dispatch.h"

#include <strings.h>

#include <string>

#include "apache/boundary.h"
#include "apache/brigade.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "common/path_util.h"
#include "cpython/exception.h"
#include "handlers/filter_slots.h"
#include "handlers/handler_cache.h"
#include "handlers/interpreter_choice.h"
#include "handlers/request_state.h"
#include "python/filter_object.h"
#include "python/request_object.h"

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
  bool busy;                    // the Python function is running (re-entry does not call it)
  bool length_dropped;          // output: the handler's Content-Length was removed
  apr_status_t upstream_error;  // input: a failed read of the next filter, returned from now on
  request_rec* r;
  cpython::Interpreter* interp;
  PyObject* object;              // mp_filter (strong), released at request-pool cleanup
  apr_bucket_brigade* pending;   // output: written, not passed on; input: fetched, not read
  apr_bucket_brigade* produced;  // input: written by the filter, not yet returned
  apr_bucket_brigade* consumed;  // read during the current call (replayed after an error)
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

FilterState* new_state(request_rec* r, const FilterEntry& entry) {
  auto* state = static_cast<FilterState*>(apr_pcalloc(r->pool, sizeof(FilterState)));
  state->entry = entry;
  state->r = r;
  apr_bucket_alloc_t* alloc = r->connection->bucket_alloc;
  state->pending = apr_brigade_create(r->pool, alloc);
  state->produced = apr_brigade_create(r->pool, alloc);
  state->consumed = apr_brigade_create(r->pool, alloc);
  state->carry = apr_brigade_create(r->pool, alloc);
  apr_pool_cleanup_register(r->pool, state, release_filter, apr_pool_cleanup_null);
  return state;
}

const FilterEntry* find_entry(apr_hash_t* table, const std::string& key) {
  if (table == nullptr) return nullptr;
  return static_cast<const FilterEntry*>(
      apr_hash_get(table, key.data(), static_cast<apr_ssize_t>(key.size())));
}

apr_hash_t* request_filters(const request_rec* r) {
  const RequestState* state = existing_request_state(r);
  return state != nullptr ? state->filters : nullptr;
}

const FilterEntry* configured_entry(const request_rec* r, const char* name, bool is_input) {
  std::string key = apache::filter_key(name, is_input);
  if (const FilterEntry* e = find_entry(request_filters(r), key)) return e;
  const auto* cfg = apache::dir_config(r);
  return cfg != nullptr ? find_entry(cfg->filters, key) : nullptr;
}

// The Python filter an Apache filter instance stands for. mod_filter runs providers under its
// own filter record (a FilterDeclare'd chain, or "BYTYPE:<name>" for AddOutputFilterByType):
// `own_name` is the name the C function was registered for, when it knows it (filter_slots.h).
const FilterEntry* entry_for(const ap_filter_t* f, bool is_input, const char* own_name) {
  const char* name = f->frec->name;
  if (own_name != nullptr && strcasecmp(name, own_name) != 0) name = own_name;
  const FilterEntry* entry = configured_entry(f->r, name, is_input);
  if (entry == nullptr && strncasecmp(name, "BYTYPE:", 7) == 0) {
    entry = configured_entry(f->r, name + 7, is_input);
  }
  return entry;
}

FilterState* state_for(ap_filter_t* f, bool is_input, const char* own_name = nullptr) {
  if (f->ctx != nullptr) return static_cast<FilterState*>(f->ctx);
  if (f->r == nullptr) return nullptr;
  const FilterEntry* entry = entry_for(f, is_input, own_name);
  if (entry == nullptr) {
    // Registered somewhere (the name is global) but not configured for this request, or run
    // by mod_filter's FilterChain under the chain's name: transparent, and said once.
    apache::log_request(APLOG_WARNING, 0, f->r, "MP0141",
                        std::string("no Python ") + (is_input ? "input" : "output") +
                            " filter is configured as '" + f->frec->name +
                            "' for this request; the data passes unchanged");
    FilterEntry none{};
    none.is_input = is_input;
    f->ctx = new_state(f->r, none);
    static_cast<FilterState*>(f->ctx)->disabled = true;
    return static_cast<FilterState*>(f->ctx);
  }
  f->ctx = new_state(f->r, *entry);
  return static_cast<FilterState*>(f->ctx);
}

// Marks the Python function as running for as long as the scope lives; the request's own
// I/O refuses to run meanwhile (httpd's is not re-entrant).
class BusyScope {
 public:
  BusyScope(FilterState* state, PyObject* req) noexcept
      : state_(state), req_(req != Py_None ? python::as_request(req) : nullptr) {
    state_->busy = true;
    if (req_ != nullptr) ++req_->filter_depth;
  }
  ~BusyScope() {
    state_->busy = false;
    if (req_ != nullptr) --req_->filter_depth;
  }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;

 private:
  FilterState* state_;
  python::RequestObject* req_;
};

python::FilterObject* filter_of(const FilterState* state) {
  return reinterpret_cast<python::FilterObject*>(state->object);
}

// Prepares the mp_filter for this call; false (logged) when Python is unavailable.
python::FilterObject* prepare(const cpython::Gil& gil, ap_filter_t* f, FilterState* state) {
  if (state->object == nullptr) {
    PyObject* req = request_object(gil, f->r, *state->interp);
    if (req == nullptr) return nullptr;
    auto* data = python::data_of(*state->interp);
    Ref obj = python::make_filter(gil, data->state, f, state->entry.is_input, &state->disabled, req,
                                  state->entry.name, state->entry.handler, state->entry.directory);
    if (!obj) return nullptr;
    state->object = obj.release();
  }
  python::FilterObject* filter = filter_of(state);
  filter->f = f;
  filter->eos_seen = false;
  return filter;
}

// A failed read of the next input filter is the client's doing (or a limit), not the filter's.
bool upstream_failed(const python::FilterObject* filter) {
  return filter != nullptr && filter->is_input && filter->upstream_status != APR_SUCCESS &&
         !APR_STATUS_IS_EAGAIN(filter->upstream_status);
}

// The filter's exception comes from the client: a body it could not read, or a response it
// went away from. Normal traffic, logged at info.
bool client_side_failure(const python::FilterObject* filter) {
  return upstream_failed(filter) || (filter != nullptr && filter->downstream_failed);
}

void write_debug_text(ap_filter_t* f, python::FilterObject* filter, std::string text) {
  const char* type = f->r->content_type;
  if (type != nullptr && strncasecmp(type, "text/html", 9) == 0) {
    text = ap_escape_html(f->r->pool, text.c_str());
  }
  // Goes after the replayed input (see undo_filter_call).
  apr_bucket_brigade* target = filter->consumed != nullptr ? filter->consumed : filter->out;
  APR_BRIGADE_INSERT_TAIL(
      target, apr_bucket_heap_create(text.data(), text.size(), nullptr, f->c->bucket_alloc));
}

void log_filter_error(const cpython::Gil& gil, ap_filter_t* f, FilterState* state,
                      python::FilterObject* filter) {
  const char* phase = state->entry.is_input ? "PythonInputFilter" : "PythonOutputFilter";
  std::string prefix = std::string(phase) + " " + state->entry.handler;
  auto lines = cpython::format_current_exception(gil);
  int level = client_side_failure(filter) ? APLOG_INFO : APLOG_ERR;
  apache::log_request(level, 0, f->r, "MP0140",
                      prefix + ": filter raised; disabled for the rest of the request");
  for (const auto& line : lines)
    apache::log_request(level, 0, f->r, "MP0140", prefix + ": " + line);
  state->disabled = true;
  const auto* cfg = apache::dir_config(f->r);
  if (filter != nullptr && !filter->is_input && filter->out != nullptr &&
      apache::is_on(cfg->debug, false)) {
    std::string text = "\n" + prefix + " raised:\n";
    for (const auto& line : lines) text += line + "\n";
    write_debug_text(f, filter, std::move(text));
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
    if (!filter->closed) python::undo_filter_call(filter);
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
  BusyScope busy(state, filter->req);
  call_python(gil, f, state, filter);  // an error was logged, and the call undone
  apr_brigade_cleanup(state->consumed);
  filter->consumed = nullptr;
  filter->carry = nullptr;
}

// The filter may change the body's length: httpd's CONTENT_LENGTH filter computes it again
// when it sees the whole body at once, otherwise the response is chunked.
void drop_stale_length(FilterState* state, request_rec* r) {
  if (state->length_dropped) return;
  state->length_dropped = true;
  apr_table_unset(r->headers_out, "Content-Length");
}

apr_status_t run_output(ap_filter_t* f, apr_bucket_brigade* bb, const char* own_name) {
  FilterState* state = state_for(f, false, own_name);
  if (state == nullptr) return ap_pass_brigade(f->next, bb);
  if (state->busy) {
    // The filter wrote to its own request (req.write): part of what it writes.
    apache::move_to_end(filter_of(state)->out, bb);
    return APR_SUCCESS;
  }
  if (state->disabled || !attach_state(f, state)) {
    apache::move_to_front(bb, state->carry);
    return ap_pass_brigade(f->next, bb);
  }
  drop_stale_length(state, f->r);
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
    status = python::flush_filter_output(filter);
  }
  filter->in = nullptr;
  filter->out = nullptr;
  return status;
}

// Moves the buckets of `from` before `cut` to the end of `bb`.
void move_before(apr_bucket_brigade* bb, apr_bucket_brigade* from, apr_bucket* cut) {
  while (APR_BRIGADE_FIRST(from) != cut) {
    apr_bucket* b = APR_BRIGADE_FIRST(from);
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(bb, b);
  }
}

// Moves to `bb` what the caller asked for from `from`: at most `readbytes` bytes, or one line.
// An EOS right after it goes along.
void deliver(apr_bucket_brigade* bb, apr_bucket_brigade* from, ap_input_mode_t mode,
             apr_off_t readbytes) {
  if (mode == AP_MODE_GETLINE) {
    if (apr_brigade_split_line(bb, from, APR_BLOCK_READ, HUGE_STRING_LEN) != APR_SUCCESS) {
      apache::move_to_end(bb, from);
    }
  } else {
    apr_bucket* cut = APR_BRIGADE_SENTINEL(from);
    if (readbytes > 0 && apr_brigade_partition(from, readbytes, &cut) != APR_SUCCESS) {
      cut = APR_BRIGADE_SENTINEL(from);
    }
    move_before(bb, from, cut);
  }
  if (!APR_BRIGADE_EMPTY(from) && APR_BUCKET_IS_EOS(APR_BRIGADE_FIRST(from))) {
    move_before(bb, from, APR_BUCKET_NEXT(APR_BRIGADE_FIRST(from)));
  }
}

// Calls an input filter until it produced data or EOS (the caller needs one of them), as long
// as each call makes progress.
void call_input(const cpython::Gil& gil, ap_filter_t* f, FilterState* state,
                python::FilterObject* filter) {
  BusyScope busy(state, filter->req);
  int idle_calls = 0;
  while (apache::brigade_empty(state->produced) && !filter->closed && !state->disabled) {
    filter->fetches = 0;
    filter->upstream_status = APR_SUCCESS;
    bool ok = call_python(gil, f, state, filter);
    if (upstream_failed(filter)) {
      state->upstream_error = filter->upstream_status;
      break;
    }
    if (!ok || APR_STATUS_IS_EAGAIN(filter->upstream_status)) break;
    if (filter->eos_seen && !filter->closed) {  // read to the end without close(): ends too
      apr_brigade_cleanup(state->pending);
      apache::append_eos(state->produced, f->c->bucket_alloc);
      filter->closed = true;
    }
    bool progress = filter->fetches > 0 || !apache::brigade_empty(state->produced);
    idle_calls = progress ? 0 : idle_calls + 1;
    if (idle_calls >= 2) break;  // neither reads nor writes: give up on it
  }
  apr_brigade_cleanup(state->consumed);
}

// What an input filter that is out of the way returns: what it fetched, then the next filter.
apr_status_t transparent_input(ap_filter_t* f, FilterState* state, apr_bucket_brigade* bb,
                               ap_input_mode_t mode, apr_read_type_e block, apr_off_t readbytes) {
  if (!apache::brigade_empty(state->pending)) {
    deliver(bb, state->pending, mode, readbytes);
    return APR_SUCCESS;
  }
  return ap_get_brigade(f->next, bb, mode, block, readbytes);
}

apr_status_t run_input(ap_filter_t* f, apr_bucket_brigade* bb, ap_input_mode_t mode,
                       apr_read_type_e block, apr_off_t readbytes) {
  FilterState* state = state_for(f, true);
  bool usable_mode = mode == AP_MODE_READBYTES || mode == AP_MODE_GETLINE;
  if (state == nullptr || state->busy || !usable_mode) {
    return ap_get_brigade(f->next, bb, mode, block, readbytes);
  }
  if (!apache::brigade_empty(state->produced)) {
    deliver(bb, state->produced, mode, readbytes);
    return APR_SUCCESS;
  }
  if (state->upstream_error != APR_SUCCESS) return state->upstream_error;
  if (state->object != nullptr && filter_of(state)->closed) {
    apache::append_eos(bb, f->c->bucket_alloc);
    return APR_SUCCESS;
  }
  if (state->disabled || !attach_state(f, state)) {
    return transparent_input(f, state, bb, mode, block, readbytes);
  }
  cpython::AttachScope attach(*state->interp);
  python::FilterObject* filter = prepare(attach.gil(), f, state);
  if (filter == nullptr) log_setup_failure(attach.gil(), f, state);
  if (filter != nullptr) {
    filter->in = state->pending;
    filter->out = state->produced;
    filter->consumed = state->consumed;
    filter->mode = mode;
    filter->block = block;
    filter->readbytes = readbytes;
    call_input(attach.gil(), f, state, filter);
    filter->in = nullptr;
    filter->out = nullptr;
    filter->consumed = nullptr;
    if (!apache::brigade_empty(state->produced)) {
      deliver(bb, state->produced, mode, readbytes);
      return APR_SUCCESS;
    }
    if (state->upstream_error != APR_SUCCESS) return state->upstream_error;
    if (APR_STATUS_IS_EAGAIN(filter->upstream_status)) return filter->upstream_status;
  }
  // Raised, or made no progress: transparent from here on.
  state->disabled = true;
  cpython::DetachScope io(attach.gil());
  return transparent_input(f, state, bb, mode, block, readbytes);
}

}  // namespace

apr_status_t python_output_filter(ap_filter_t* f, apr_bucket_brigade* bb) noexcept {
  return python_output_filter_named(f, bb, nullptr);
}

apr_status_t python_output_filter_named(ap_filter_t* f, apr_bucket_brigade* bb,
                                        const char* name) noexcept {
  return apache::guard(f->c->base_server, static_cast<apr_status_t>(APR_EGENERAL),
                       [&]() { return run_output(f, bb, name); });
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

bool filter_name_taken(const char* name, bool is_input) noexcept {
  const ap_filter_rec_t* existing =
      is_input ? ap_get_input_filter_handle(name) : ap_get_output_filter_handle(name);
  if (existing == nullptr) return false;
  return is_input ? existing->filter_func.in_func != python_input_filter
                  : !is_python_output_function(existing->filter_func.out_func);
}

bool register_request_filter(request_rec* r, const char* name, const char* handler, const char* dir,
                             bool is_input) {
  if (filter_name_taken(name, is_input)) {
    PyErr_Format(PyExc_ValueError, "the filter name '%s' is already used by another module", name);
    return false;
  }
  RequestState* state = request_state(r);
  if (state->filters == nullptr) state->filters = apr_hash_make(r->pool);
  auto* entry = static_cast<FilterEntry*>(apr_pcalloc(r->pool, sizeof(FilterEntry)));
  entry->name = apr_pstrdup(r->pool, name);
  entry->handler = apr_pstrdup(r->pool, handler);
  entry->directory =
      dir != nullptr ? apr_pstrdup(r->pool, with_trailing_slash(dir).c_str()) : nullptr;
  entry->is_input = is_input;
  std::string key = apache::filter_key(name, is_input);
  apr_hash_set(state->filters, apr_pstrmemdup(r->pool, key.data(), key.size()),
               static_cast<apr_ssize_t>(key.size()), entry);
  return true;
}

bool add_request_filter(request_rec* r, const char* name, bool is_input) {
  apr_hash_t* scoped_filters = request_filters(r);
  if (const FilterEntry* scoped = find_entry(scoped_filters, apache::filter_key(name, is_input))) {
    ap_filter_t* added = is_input ? ap_add_input_filter_handle(
                                        g_generic_input, new_state(r, *scoped), r, r->connection)
                                  : ap_add_output_filter_handle(
                                        g_generic_output, new_state(r, *scoped), r, r->connection);
    if (added == nullptr) {
      PyErr_Format(PyExc_RuntimeError, "could not add filter '%s'", name);
      return false;
    }
    return true;
  }
  if (find_entry(scoped_filters, apache::filter_key(name, !is_input)) != nullptr) {
    PyErr_Format(PyExc_ValueError, "filter '%s' was registered as an %s filter", name,
                 is_input ? "output" : "input");
    return false;
  }
  // An unknown name is logged by httpd (AH00082) and the request goes on without it, as in
  // 3.5: a page must not fail because an optional filter's module is not loaded.
  if (is_input) {
    ap_add_input_filter(name, nullptr, r, r->connection);
  } else {
    ap_add_output_filter(name, nullptr, r, r->connection);
  }
  return true;
}

}  // namespace mp::handlers
