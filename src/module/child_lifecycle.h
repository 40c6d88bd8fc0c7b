// Per-child start-up: Python is initialised in each child after fork, then PythonImport runs.
#pragma once

#include "apache/apache.h"

namespace mp::module {

void child_init(apr_pool_t* pchild, server_rec* s) noexcept;

}  // namespace mp::module
