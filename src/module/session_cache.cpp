// PythonSessionCache directive and the hook calls that set its caches up in the parent.
#include "module/session_cache.h"

#include "apache/boundary.h"
#include "apache/socache_binding.h"

namespace mp::module {

const char* directive_session_cache(cmd_parms* cmd, void* /*mconfig*/, const char* spec) noexcept {
  return apache::guard(cmd->server, static_cast<const char*>("PythonSessionCache: internal error"),
                       [&]() -> const char* {
                         const char* error = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
                         if (error != nullptr) return error;
                         return apache::configure_session_cache(cmd->pool, cmd->temp_pool,
                                                                cmd->server, spec);
                       });
}

void session_cache_pre_config(apr_pool_t* pconf) noexcept { apache::reset_session_caches(pconf); }

bool session_cache_post_config(apr_pool_t* pconf, server_rec* s) noexcept {
  return apache::init_session_caches(pconf, s);
}

void session_cache_child_init(apr_pool_t* pchild, server_rec* s) noexcept {
  apache::attach_session_caches(pchild, s);
}

}  // namespace mp::module
