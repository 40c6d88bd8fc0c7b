// Cross-process mutexes for sessions and dbm files (spec §7): created in the Apache parent
// at post_config, re-attached in each child, indexed by a stable hash of a key.
#pragma once

#include <string_view>

#include "apache/apache.h"

namespace mp::apache {

// pre_config: registers the "mod_python" mutex type so `Mutex` can configure it.
void register_global_lock_type(apr_pool_t* pconf) noexcept;
// post_config (parent): creates the locks; logs and returns false on failure. `log_level`
// is that of the "Creating N session mutexes" line (3.5 logged it at NOTICE).
bool create_global_locks(apr_pool_t* pconf, server_rec* s, int log_level) noexcept;
// child_init: re-opens them in the child.
void attach_global_locks(apr_pool_t* pchild, server_rec* s) noexcept;

int global_lock_count() noexcept;
apr_global_mutex_t* global_lock(int index) noexcept;

// Index for a key: 1 + hash(key) % (count - 1); index 0 is reserved for dbm files. The hash
// is FNV-1a over the key's bytes, identical in every process (unlike Python's hash()).
int global_lock_index(std::string_view key, int count) noexcept;

}  // namespace mp::apache
