// Connection handler dispatch: interpreter of the base server, mp_conn, cached callable.
#include "handlers/connection_dispatch.h"

#include <string>

#include "apache/boundary.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "cpython/exception.h"
#include "handlers/handler_cache.h"
#include "handlers/interpreter_choice.h"
#include "python/connection_object.h"

namespace mp::handlers {

using cpython::Ref;

namespace {

void log_exception(const cpython::Gil& gil, conn_rec* c, const char* handler) {
  std::string prefix = std::string("PythonConnectionHandler ") + handler;
  for (const auto& line : cpython::format_current_exception(gil)) {
    apache::log_connection(APLOG_ERR, 0, c, "MP0150", prefix + ": " + line);
  }
}

int run(conn_rec* c) {
  const auto* cfg = apache::server_config(c->base_server);
  if (cfg == nullptr || cfg->connection_handler == nullptr) return DECLINED;
  std::string error;
  cpython::Interpreter* interp = cpython::InterpreterRegistry::instance().get(
      interpreter_name_for_server(c->base_server, cfg), &error);
  if (interp == nullptr) {
    apache::log_connection(APLOG_ERR, 0, c, "MP0001", error);
    return DECLINED;
  }
  cpython::AttachScope attach(*interp);
  const cpython::Gil& gil = attach.gil();
  auto& data = *handler_data(*interp);
  Ref conn = python::make_connection(gil, data.state, c, interp);
  apache::HandlerEntry entry{cfg->connection_handler, cfg->connection_handler_dir, false, false,
                             true};
  ResolveOptions options{apache::is_on(cfg->autoreload, true), apache::is_on(cfg->debug, false),
                         cfg->python_path};
  ResolveError resolve_error = ResolveError::kNone;
  const ResolvedHandler* handler = nullptr;
  if (conn && apply_python_path(gil, data, cfg->python_path)) {
    handler = resolve_handler(gil, data, Phase::kConnection, entry, options, &resolve_error);
  }
  Ref callable = handler != nullptr ? callable_for(gil, *handler, conn.get()) : Ref();
  auto* conn_obj = reinterpret_cast<python::ConnectionObject*>(conn.get());
  if (conn_obj != nullptr) conn_obj->dispatch_entry = &entry;
  Ref result = callable ? Ref::steal(PyObject_CallOneArg(callable.get(), conn.get())) : Ref();
  if (conn_obj != nullptr) conn_obj->dispatch_entry = nullptr;
  if (!result) {
    log_exception(gil, c, cfg->connection_handler);
    c->keepalive = AP_CONN_CLOSE;
    return OK;  // the connection is closed; HTTP processing must not take over a half-read one
  }
  if (!PyLong_Check(result.get())) {
    apache::log_connection(APLOG_ERR, 0, c, "MP0101",
                           std::string("PythonConnectionHandler ") + cfg->connection_handler +
                               " returned a non-int result");
    c->keepalive = AP_CONN_CLOSE;
    return OK;
  }
  int overflow = 0;
  long code = PyLong_AsLongAndOverflow(result.get(), &overflow);
  return (overflow == 0 && code == DECLINED) ? DECLINED : OK;
}

}  // namespace

int run_connection_handler(conn_rec* c) noexcept {
  return apache::guard(c->base_server, static_cast<int>(DECLINED), [&]() { return run(c); });
}

}  // namespace mp::handlers
