// The per-server and per-directory configuration records of mod_python (spec §6.2). Both use
// one structure; records live in pconf and are trivially destructible.
#pragma once

#include <cctype>
#include <string>
#include <type_traits>

#include "apache/apache.h"
#include "common/phase.h"

namespace mp::apache {

// One handler named by a Python*Handler directive (or added with req.add_handler).
struct HandlerEntry {
  const char* handler;    // "module[::object]"
  const char* directory;  // where the directive was written, with trailing '/'; may be null
  bool is_location;       // written inside <Location>
  bool silent;            // PythonHandlerModule: a missing callable is skipped
  bool stable;            // strings live as long as the configuration (cache by address)
};

// A filter registered with PythonInputFilter/PythonOutputFilter or req.register_*_filter.
struct FilterEntry {
  const char* name;       // as registered
  const char* handler;    // "module[::object]"
  const char* directory;  // where it was registered, with trailing '/'; may be null
  bool is_location;
  bool is_input;
  bool stable;  // from the configuration (not req.register_*_filter)
};

// The key of a filter in a filter table: httpd keeps input and output filter names apart,
// and matches them without regard to case.
inline std::string filter_key(const char* name, bool is_input) {
  std::string key(is_input ? "<" : ">");
  for (const char* p = name; *p != '\0'; ++p) {
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  }
  return key;
}

struct WsgiConfig;  // apache/wsgi_config.h

// A flag that may be unset so that merging can tell "Off" from "not said".
enum class Tristate : signed char { kUnset = -1, kOff = 0, kOn = 1 };

inline bool is_on(Tristate t, bool fallback) noexcept {
  return t == Tristate::kUnset ? fallback : t == Tristate::kOn;
}

struct ModuleConfig {
  const char* config_dir;  // section path with trailing '/', null at server level
  bool is_location;
  apr_table_t* directives;  // non-handler directives as text ("1"/"0" for flags)
  apr_table_t* options;     // PythonOption
  // Handler lists per phase; null when this section does not define the phase.
  apr_array_header_t* handlers[kPhaseCount];
  apr_hash_t* ext_handlers;  // "PythonHandler.ext" -> apr_array_header_t of HandlerEntry
  apr_hash_t* filters;       // filter_key() -> FilterEntry
  Tristate debug;
  Tristate autoreload;
  Tristate interp_per_directory;
  Tristate interp_per_directive;
  Tristate optimize;  // server only
  Tristate enable_pdb;
  Tristate deny_static_source;     // PythonDenyStaticSource
  const char* interpreter;         // PythonInterpreter
  const char* python_path;         // PythonPath expression
  const char* python_path_dir;     // directory of the section that set python_path
  const char* connection_handler;  // PythonConnectionHandler (server config)
  const char* connection_handler_dir;
  WsgiConfig* wsgi;  // WSGI* directives of this section; null when there are none
  // Extensions this section (and its parents) gave to "AddHandler mod_python", space-separated;
  // null when none (req.get_addhandler_exts()).
  const char* addhandler_exts;
};
static_assert(std::is_trivially_destructible_v<ModuleConfig>);

// One PythonImport entry, recorded at configuration time in configuration order.
struct ImportEntry {
  const char* module;       // "module[::function]"
  const char* interpreter;  // interpreter name
  server_rec* server;       // the server (or vhost) it was written in
};

inline ModuleConfig* dir_config(const request_rec* r) noexcept {
  return static_cast<ModuleConfig*>(ap_get_module_config(r->per_dir_config, &python_module));
}
inline ModuleConfig* server_config(const server_rec* s) noexcept {
  return static_cast<ModuleConfig*>(ap_get_module_config(s->module_config, &python_module));
}

}  // namespace mp::apache
