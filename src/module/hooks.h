// Hook registration and the hook functions Apache calls.
#pragma once

#include "apache/apache.h"

namespace mp::module {

void register_hooks(apr_pool_t* pool) noexcept;

}  // namespace mp::module
