// Configuration of the mod_wsgi-compatible directives (spec mod_wsgi-compat §3). Hangs off
// ModuleConfig::wsgi; records live in pconf and are trivially destructible.
#pragma once

#include <type_traits>

#include "apache/apache.h"
#include "apache/module_config.h"

namespace mp::apache {

// WSGIMapHEADToGET
enum class HeadMapping : signed char { kUnset = -1, kOff = 0, kOn = 1, kAuto = 2 };

// One WSGIScriptAlias / WSGIScriptAliasMatch.
struct WsgiAlias {
  const char* location;           // URL prefix (WSGIScriptAlias) or the pattern text
  ap_regex_t* regex;              // WSGIScriptAliasMatch; null for a prefix
  const char* target;             // file or directory ($1.. substituted for a regex)
  const char* process_group;      // null: not given
  const char* application_group;  // null: not given
  const char* callable_object;    // null: not given
  Tristate pass_authorization;
};

// WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript: a script run embedded.
struct WsgiHookScript {
  const char* path;
  const char* application_group;  // null: %{GLOBAL}
};

// One WSGIHandlerScript: a named handler whose script's handle_request() serves the request.
struct WsgiHandlerScript {
  const char* name;               // the handler name (SetHandler / AddHandler)
  const char* path;               // the script
  const char* application_group;  // null: not given
  Tristate pass_authorization;
};

struct WsgiConfig {
  apr_array_header_t* aliases;  // of WsgiAlias, server/vhost scope, configuration order
  const char* application_group;
  const char* callable_object;
  const char* process_group;
  Tristate pass_authorization;
  Tristate chunked_request;
  Tristate script_reloading;
  Tristate error_override;
  Tristate enable_sendfile;
  Tristate pass_apache_request;
  HeadMapping map_head_to_get;
  apr_array_header_t* trusted_proxy_headers;  // of const char* (lower case); null: not set
  apr_array_header_t* trusted_proxies;        // of apr_ipsubnet_t*; null: not set
  const WsgiHookScript* access_script;        // null: not set
  const WsgiHookScript* auth_user_script;     // null: not set
  const WsgiHookScript* auth_group_script;    // null: not set
  apr_array_header_t* handler_scripts;        // of WsgiHandlerScript, nearest section first
  const WsgiHookScript* dispatch_script;      // WSGIDispatchScript; null: not set
};
static_assert(std::is_trivially_destructible_v<WsgiConfig>);

// A WSGIImportScript, or a WSGIScriptAlias with literal groups: loaded at child start.
struct WsgiPreload {
  const char* script;
  const char* application_group;  // already expanded (literal, %{GLOBAL} or %{SERVER})
  const char* callable_object;    // null: the script is only imported
  server_rec* server;
};

// Process-wide settings (server config only, main server).
struct WsgiGlobals {
  apr_array_header_t* python_paths;  // WSGIPythonPath entries (each may hold ':' lists)
  const char* home_site_packages;    // WSGIPythonHome's site-packages (a virtual environment)
  apr_array_header_t* preloads;      // of WsgiPreload
  bool restrict_embedded;
  bool restrict_signal = true;  // WSGIRestrictSignal: signal.signal() is a logged no-op
  bool any_wsgi;                // some WSGI directive was used (enables the translate hook)
  // How Python runs in the children (mod_wsgi's process-wide directives).
  int python_optimize = 0;                        // WSGIPythonOptimize
  long long hash_seed = -1;                       // WSGIPythonHashSeed: -1 = random
  apr_array_header_t* warning_filters = nullptr;  // WSGIPythonWarnings (const char*)
  bool dont_write_bytecode = false;               // WSGIDontWriteBytecode
  const char* python_eggs = nullptr;              // WSGIPythonEggs: PYTHON_EGG_CACHE
  double switch_interval = 0;                     // WSGISwitchInterval (seconds)
  bool restrict_stdin = false;                    // WSGIRestrictStdin
  bool restrict_stdout = false;                   // WSGIRestrictStdout
};

WsgiGlobals& wsgi_globals() noexcept;

}  // namespace mp::apache
