// mod_wsgi's process-wide directives for how Python runs in the children (spec mod_wsgi-compat
// §3.3) that take a value: start-up settings read into WsgiGlobals and applied by child_init
// before Python starts. The On/Off ones (WSGIDontWriteBytecode, WSGIRestrictStdin/Stdout) are
// flags of wsgi_directives.cpp.
#include "module/wsgi_runtime_directives.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "apache/wsgi_config.h"

namespace mp::module {
namespace {

const char* refuse(cmd_parms* cmd, const std::string& text) {
  return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", text.c_str(), nullptr);
}

const char* server_only(cmd_parms* cmd) { return ap_check_cmd_context(cmd, GLOBAL_ONLY); }

// A whole decimal number in [0, max], or false.
bool parse_unsigned(const char* text, unsigned long max, unsigned long* out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long value = std::strtoul(text, &end, 10);
  if (errno != 0 || *end != '\0' || value > max) return false;
  *out = value;
  return true;
}

}  // namespace

const char* directive_python_optimize(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  if (const char* err = server_only(cmd)) return err;
  unsigned long level = 0;
  if (!parse_unsigned(value, 2, &level)) return refuse(cmd, "expects 0, 1 or 2");
  apache::wsgi_globals().python_optimize = static_cast<int>(level);
  return nullptr;
}

const char* directive_python_hash_seed(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  if (const char* err = server_only(cmd)) return err;
  unsigned long seed = 0;
  if (std::string(value) == "random") {
    apache::wsgi_globals().hash_seed = -1;
  } else if (parse_unsigned(value, 4294967295UL, &seed)) {
    apache::wsgi_globals().hash_seed = static_cast<long long>(seed);
  } else {
    return refuse(cmd, "expects 'random' or a number from 0 to 4294967295");
  }
  return nullptr;
}

const char* directive_python_warnings(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  if (const char* err = server_only(cmd)) return err;
  auto& globals = apache::wsgi_globals();
  if (globals.warning_filters == nullptr) {
    globals.warning_filters = apr_array_make(cmd->pool, 2, sizeof(const char*));
  }
  *static_cast<const char**>(apr_array_push(globals.warning_filters)) =
      apr_pstrdup(cmd->pool, value);
  return nullptr;
}

const char* directive_python_eggs(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  if (const char* err = server_only(cmd)) return err;
  apache::wsgi_globals().python_eggs = apr_pstrdup(cmd->pool, value);
  return nullptr;
}

const char* directive_switch_interval(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  if (const char* err = server_only(cmd)) return err;
  errno = 0;
  char* end = nullptr;
  double seconds = std::strtod(value, &end);
  if (errno != 0 || end == value || *end != '\0' || !(seconds > 0) || seconds > 3600) {
    return refuse(cmd, "expects a number of seconds greater than 0 (e.g. 0.005)");
  }
  apache::wsgi_globals().switch_interval = seconds;
  return nullptr;
}

void apply_wsgi_runtime_settings(cpython::RuntimeOptions* options) {
  const auto& globals = apache::wsgi_globals();
  if (globals.python_optimize > options->optimization_level) {
    options->optimization_level = globals.python_optimize;
  }
  if (globals.hash_seed >= 0) options->hash_seed = static_cast<unsigned long>(globals.hash_seed);
  if (globals.warning_filters != nullptr) {
    const auto* filters = reinterpret_cast<const char* const*>(globals.warning_filters->elts);
    for (int i = 0; i < globals.warning_filters->nelts; ++i) {
      options->warning_filters.emplace_back(filters[i]);
    }
  }
  options->write_bytecode = !globals.dont_write_bytecode;
  options->switch_interval = globals.switch_interval;
  // Read by pkg_resources when it unpacks eggs; before start-up, so os.environ has it too.
  if (globals.python_eggs != nullptr) setenv("PYTHON_EGG_CACHE", globals.python_eggs, 1);
}

}  // namespace mp::module
