// PythonSessionCache: the server-scope directive that picks the socache provider behind
// SocacheSession, and its configuration lifecycle (pre_config, post_config, child_init).
#pragma once

#include "apache/apache.h"

namespace mp::module {

const char* directive_session_cache(cmd_parms* cmd, void* mconfig, const char* spec) noexcept;

void session_cache_pre_config(apr_pool_t* pconf) noexcept;
// False (MP0180 logged) when a cache cannot be initialised: httpd must not start.
bool session_cache_post_config(apr_pool_t* pconf, server_rec* s) noexcept;
void session_cache_child_init(apr_pool_t* pchild, server_rec* s) noexcept;

}  // namespace mp::module
