// What every embedded WSGI call needs from its request (see wsgi_request.h).
#include "handlers/wsgi_request.h"

#include <ap_listen.h>
#include <ap_mpm.h>
#include <http_core.h>
#include <http_protocol.h>

#include <strings.h>
#include <cstdlib>
#include <cstring>

#include "apache/log.h"
#include "apache/module_config.h"
#include "cpython/exception.h"
#include "cpython/interpreter_registry.h"

namespace mp::handlers {

using apache::WsgiConfig;

namespace {

std::string with_port(const char* host, unsigned port) {
  std::string out = host != nullptr ? host : "";
  if (port != 0 && port != 80 && port != 443) out += ":" + std::to_string(port);
  return out;
}

// The port a request to `s` will report: its own, else the first listener's (preloading
// happens before any request exists).
unsigned preload_port(const server_rec* s) {
  if (s->port != 0) return s->port;
  for (const ap_listen_rec* l = ap_listeners; l != nullptr; l = l->next) {
    if (l->bind_addr != nullptr) return l->bind_addr->port;
  }
  return 0;
}

// The port in a group name. With UseCanonicalName Off (the default) httpd's server port is
// the one in the client's Host header: each new one would make an interpreter that lives as
// long as the process, so the port the connection came in on is used instead (the same
// unless the client names another port).
unsigned group_port(const request_rec* r, const server_rec* s) {
  if (r == nullptr) return preload_port(s);
  const auto* core =
      static_cast<const core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
  bool canonical = core != nullptr && core->use_canonical_name == USE_CANONICAL_NAME_ON;
  if (!canonical && r->parsed_uri.port_str != nullptr && r->connection->local_addr != nullptr &&
      r->connection->local_addr->port != 0) {
    return r->connection->local_addr->port;
  }
  return ap_get_server_port(r);
}

std::string expand_group_at(const request_rec* r, const server_rec* s, std::string_view value,
                            const std::string& script_name, int depth) {
  if (value == "%{GLOBAL}" || value.empty()) return "";
  if (value == "%{SERVER}") return with_port(s->server_hostname, group_port(r, s));
  if (value == "%{HOST}") {
    const char* host = r != nullptr && r->hostname != nullptr ? r->hostname : s->server_hostname;
    return with_port(host, group_port(r, s));
  }
  if (value == "%{RESOURCE}") {
    return with_port(s->server_hostname, group_port(r, s)) + "|" + script_name;
  }
  if (value.size() > 7 && value.substr(0, 6) == "%{ENV:" && value.back() == '}') {
    std::string var(value.substr(6, value.size() - 7));
    const char* v = env_value(r, var);
    // Unset: the directive's own text names the interpreter, as in mod_wsgi, so a missing
    // variable never puts the application in the main interpreter with every %{GLOBAL} one.
    if (v == nullptr) return std::string(value);
    std::string result = v;
    if (depth == 0 && result.rfind("%{", 0) == 0 && result.rfind("%{ENV:", 0) != 0) {
      return expand_group_at(r, s, result, script_name, depth + 1);
    }
    return result;
  }
  return std::string(value);
}

// Facts about this process that do not change while it runs.
struct ProcessFacts {
  bool multithread = false;
  bool multiprocess = false;
  int version[3] = {2, 4, 0};
};

const ProcessFacts& process_facts() {
  static const ProcessFacts facts = [] {
    ProcessFacts f;
    int threaded = 0;
    int max_daemons = 0;
    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &max_daemons);
    f.multithread = threaded != AP_MPMQ_NOT_SUPPORTED;
    f.multiprocess = max_daemons != 1;
    ap_version_t version;
    ap_get_server_revision(&version);
    f.version[0] = version.major;
    f.version[1] = version.minor;
    f.version[2] = version.patch;
    return f;
  }();
  return facts;
}

// HTTPS=on|1 in the request's environment (SetEnvIf X-Forwarded-Proto https HTTPS=on behind a
// TLS-terminating proxy, or mod_ssl's StdEnvVars) makes wsgi.url_scheme https, as in mod_wsgi.
bool https_variable_on(const request_rec* r) {
  const char* value = apr_table_get(r->subprocess_env, "HTTPS");
  return value != nullptr && (strcasecmp(value, "on") == 0 || std::strcmp(value, "1") == 0);
}

}  // namespace

const WsgiConfig* dir_wsgi(const request_rec* r) {
  const auto* cfg = apache::dir_config(r);
  return cfg != nullptr ? cfg->wsgi : nullptr;
}

// %{ENV:var}: request notes, then subprocess_env, then the process environment.
const char* env_value(const request_rec* r, const std::string& var) {
  if (r != nullptr) {
    if (const char* v = apr_table_get(r->notes, var.c_str())) return v;
    if (const char* v = apr_table_get(r->subprocess_env, var.c_str())) return v;
  }
  return std::getenv(var.c_str());
}

std::string expand_group(const request_rec* r, const server_rec* s, std::string_view value,
                         const std::string& script_name) {
  return expand_group_at(r, s, value, script_name, 0);
}

std::string interpreter_for_group(const std::string& group) {
  return group.empty() ? std::string(cpython::kMainInterpreterName) : group;
}

wsgi::RequestTraits make_traits(request_rec* r, const std::string& group, const char* callable) {
  const ProcessFacts& facts = process_facts();
  wsgi::RequestTraits traits;
  traits.https = std::strcmp(ap_http_scheme(r), "https") == 0 || https_variable_on(r);
  traits.multithread = facts.multithread;
  traits.multiprocess = facts.multiprocess;
  traits.application_group = group;
  traits.callable_object = callable;
  for (int i = 0; i < 3; ++i) traits.apache_version[i] = facts.version[i];
  traits.script = r->filename != nullptr ? r->filename : "";
  return traits;
}

// mod_wsgi.request_id / connection_id: the ids httpd's error log (%L) shows.
void ensure_log_ids(request_rec* r) {
  if (r->log_id == nullptr) {
    const char* id = nullptr;
    ap_run_generate_log_id(r->connection, r, &id);
    r->log_id = id;
  }
  if (r->connection->log_id == nullptr) {
    const char* id = nullptr;
    ap_run_generate_log_id(r->connection, nullptr, &id);
    r->connection->log_id = id;
  }
}

void log_python_error(const cpython::Gil& gil, request_rec* r, const char* id,
                      const std::string& head) {
  apache::log_wsgi_request(APLOG_ERR, 0, r, id, head);
  for (const auto& line : cpython::format_current_exception(gil)) {
    apache::log_wsgi_request(APLOG_ERR, 0, r, id, line);
  }
}

bool is_wsgi_handler(const char* handler) {
  return handler != nullptr && (std::strcmp(handler, "wsgi-script") == 0 ||
                                std::strcmp(handler, "application/x-httpd-wsgi") == 0);
}

}  // namespace mp::handlers
