// Interpreter name selection: PythonInterpreter, per-directory, per-directive, ServerName.
#include "handlers/interpreter_choice.h"

#include <apr_file_info.h>

#include "common/path_util.h"
#include "cpython/interpreter_registry.h"

namespace mp::handlers {

using apache::is_on;

namespace {

// The nearest existing directory above a path that names nothing (a <Location> handler's
// URI mapping): a name the client cannot vary, unlike the path's own parent.
std::string nearest_existing_directory(const char* path, apr_pool_t* pool) {
  std::string dir = parent_directory(path);
  while (dir.size() > 1) {
    apr_finfo_t info;
    if (apr_stat(&info, dir.c_str(), APR_FINFO_TYPE, pool) == APR_SUCCESS) {
      return info.filetype == APR_DIR ? dir : parent_directory(dir.substr(0, dir.size() - 1));
    }
    dir = parent_directory(dir.substr(0, dir.size() - 1));
  }
  return dir;
}

}  // namespace

std::string interpreter_name_for_server(const server_rec* s, const apache::ModuleConfig* cfg) {
  if (cfg != nullptr && cfg->interpreter != nullptr) return cfg->interpreter;
  if (s != nullptr && s->server_hostname != nullptr) return s->server_hostname;
  return std::string(cpython::kMainInterpreterName);
}

std::string interpreter_name(const request_rec* r, const apache::ModuleConfig* cfg,
                             const apache::HandlerEntry* entry) {
  if (cfg->interpreter != nullptr) return cfg->interpreter;
  if (is_on(cfg->interp_per_directory, false)) {
    if (r->filename == nullptr) return std::string(cpython::kMainInterpreterName);
    if (r->finfo.filetype == APR_DIR) return with_trailing_slash(r->filename);
    if (r->finfo.filetype == APR_NOFILE) return nearest_existing_directory(r->filename, r->pool);
    return parent_directory(r->filename);
  }
  if (is_on(cfg->interp_per_directive, false)) {
    if (entry == nullptr || entry->directory == nullptr) {
      return std::string(cpython::kMainInterpreterName);
    }
    return entry->directory;
  }
  if (r->server != nullptr && r->server->server_hostname != nullptr) {
    return r->server->server_hostname;
  }
  return std::string(cpython::kMainInterpreterName);
}

}  // namespace mp::handlers
