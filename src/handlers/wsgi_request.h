// What every embedded WSGI call needs from its request, shared by the content handler and the
// access/auth hooks: the configuration, the application group, the interpreter name, the
// wsgi.* facts and error logging.
#pragma once

#include <string>
#include <string_view>

#include "apache/apache.h"
#include "apache/wsgi_config.h"
#include "cpython/thread_attach.h"
#include "wsgi/exchange.h"

namespace mp::handlers {

// The WSGI* directives merged for the request; null when there are none.
const apache::WsgiConfig* dir_wsgi(const request_rec* r);

// %{ENV:var}: request notes, then subprocess_env, then the process environment.
const char* env_value(const request_rec* r, const std::string& var);

// Expands an application group value (spec §5) to its name ("" = %{GLOBAL}). `r` may be null
// (preloading); `script_name` is what %{RESOURCE} names.
std::string expand_group(const request_rec* r, const server_rec* s, std::string_view value,
                         const std::string& script_name);

// The interpreter registry's name for an expanded application group.
std::string interpreter_for_group(const std::string& group);

// The wsgi.* facts of this request and process.
wsgi::RequestTraits make_traits(request_rec* r, const std::string& group, const char* callable);

// Gives the request and its connection the ids httpd's error log shows (mod_wsgi.request_id).
void ensure_log_ids(request_rec* r);

// Logs `head`, then the current Python exception's traceback, one line each; clears it.
void log_python_error(const cpython::Gil& gil, request_rec* r, const char* id,
                      const std::string& head);

// Whether `handler` is one the WSGI content handler serves.
bool is_wsgi_handler(const char* handler);

}  // namespace mp::handlers
