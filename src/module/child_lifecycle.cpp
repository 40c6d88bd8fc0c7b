// Child start-up: CPython initialisation (never in the Apache parent) and PythonImport.
#include "module/child_lifecycle.h"

#include <string>

#include "apache/boundary.h"
#include "apache/global_locks.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "common/handler_spec.h"
#include "cpython/exception.h"
#include "cpython/runtime.h"
#include "handlers/dispatch_services.h"
#include "handlers/handler_cache.h"
#include "handlers/wsgi_dispatch.h"
#include "module/config.h"
#include "module/session_cache.h"
#include "module/wsgi_runtime_directives.h"
#include "python/interpreter_setup.h"
#include "python/module_state.h"

namespace mp::module {

using cpython::Ref;

namespace {

void log_python_error(server_rec* s, const cpython::Gil& gil, const char* id,
                      const std::string& prefix) {
  for (const auto& line : cpython::format_current_exception(gil)) {
    apache::log_server(APLOG_ERR, 0, s, id, prefix + ": " + line);
  }
}

void run_import(const apache::ImportEntry& entry) {
  server_rec* s = entry.server;
  std::string error;
  cpython::Interpreter* interp =
      cpython::InterpreterRegistry::instance().get(entry.interpreter, &error);
  if (interp == nullptr) {
    apache::log_server(APLOG_ERR, 0, s, "MP0110", std::string("directive_PythonImport: ") + error);
    return;
  }
  cpython::AttachScope attach(*interp);
  auto& data = *handlers::handler_data(*interp);
  const apache::ModuleConfig* cfg = apache::server_config(s);
  std::string prefix = std::string("directive_PythonImport: error importing ") + entry.module;
  if (!handlers::apply_python_path(attach.gil(), data, cfg->python_path)) {
    log_python_error(s, attach.gil(), "MP0110", prefix);
    return;
  }
  HandlerSpec spec;
  parse_handler_spec(entry.module, &spec);
  bool debug = apache::is_on(cfg->debug, false);
  Ref module = Ref::steal(PyObject_CallMethod(data.apache_py.get(), "import_module", "sii",
                                              spec.module.c_str(), 1, debug ? 1 : 0));
  if (!module) {
    log_python_error(s, attach.gil(), "MP0110", prefix);
    return;
  }
  if (!spec.object.empty()) {
    Ref func = Ref::steal(PyObject_GetAttrString(module.get(), spec.object.c_str()));
    Ref result = func ? Ref::steal(PyObject_CallNoArgs(func.get())) : Ref();
    if (!result) log_python_error(s, attach.gil(), "MP0110", prefix);
  }
}

// Child exit: apache.register_cleanup() callbacks of every interpreter. Under prefork a
// SIGTERM/SIGHUP runs this from the signal handler, on the thread it interrupted: if that
// thread was in Python or creating an interpreter, Python cannot be entered safely (its locks
// are held by the interrupted code itself), so the cleanups are skipped and the child exits.
void run_cleanups_of(server_rec* s, cpython::Interpreter& interp) {
  cpython::AttachScope attach(interp);
  Ref result = Ref::steal(PyObject_CallMethod(python::data_of(interp)->apache_py.get(),
                                              "_run_child_cleanups", nullptr));
  if (!result) log_python_error(s, attach.gil(), "MP0121", "child exit cleanup");
}

apr_status_t run_child_exit_cleanups(void* data) noexcept {
  auto* s = static_cast<server_rec*>(data);
  return apache::guard(s, APR_SUCCESS, [&]() -> apr_status_t {
    bool ran = !cpython::in_python_work() &&
               cpython::InterpreterRegistry::instance().for_each_unless_busy(
                   [&](cpython::Interpreter& interp) { run_cleanups_of(s, interp); });
    if (!ran) {
      apache::log_server(APLOG_INFO, 0, s, "MP0122",
                         "child exit cleanups skipped: the child was stopped while running Python");
    }
    return APR_SUCCESS;
  });
}

// get_options() returns live tables, as in 3.5 (a PythonImport function can leave values there
// for handlers). The tables a handler can reach without a per-request merge, each server's
// options and its default directory options, move to a pool of their own, so that writes at
// run time (always under the GIL) never allocate from pconf.
void make_root_options_writable(apr_pool_t* pchild, server_rec* main_server) {
  apr_allocator_t* allocator = nullptr;
  apr_pool_t* pool = nullptr;
  if (apr_allocator_create(&allocator) != APR_SUCCESS) return;
  if (apr_pool_create_ex(&pool, pchild, nullptr, allocator) != APR_SUCCESS) {
    apr_allocator_destroy(allocator);
    return;
  }
  apr_allocator_owner_set(allocator, pool);
  for (server_rec* s = main_server; s != nullptr; s = s->next) {
    apache::ModuleConfig* srv = apache::server_config(s);
    if (srv != nullptr) srv->options = apr_table_copy(pool, srv->options);
    auto* dir = static_cast<apache::ModuleConfig*>(
        ap_get_module_config(s->lookup_defaults, &python_module));
    if (dir != nullptr) dir->options = apr_table_copy(pool, dir->options);
  }
}

}  // namespace

void child_init(apr_pool_t* pchild, server_rec* s) noexcept {
  apache::guard(s, 0, [&]() -> int {
    python::process_context().main_server = s;
    python::process_context().child_pool = pchild;
    apache::attach_global_locks(pchild, s);
    session_cache_child_init(pchild, s);
    make_root_options_writable(pchild, s);
    const apache::ModuleConfig* cfg = apache::server_config(s);
    cpython::RuntimeOptions options;
    options.optimization_level = apache::is_on(cfg->optimize, false) ? 2 : 0;
    apply_wsgi_runtime_settings(&options);
    options.builtin_name = "_apache";
    options.builtin_init = &python::init_apache_module;
    std::string error;
    cpython::InterpreterRegistry::instance().set_initializer(&handlers::create_interpreter_data);
    handlers::install_dispatch_services();
    if (!cpython::start_python(options, &error)) {
      apache::log_server(APLOG_CRIT, 0, s, "MP0001", "cannot initialise Python: " + error);
      return 0;
    }
    apr_pool_cleanup_register(pchild, s, run_child_exit_cleanups, apr_pool_cleanup_null);
    if (apr_array_header_t* imports = import_list()) {
      const auto* entries = reinterpret_cast<const apache::ImportEntry*>(imports->elts);
      for (int i = 0; i < imports->nelts; ++i) run_import(entries[i]);
    }
    handlers::wsgi_preload_scripts();
    return 0;
  });
}

}  // namespace mp::module
