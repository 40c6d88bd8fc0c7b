// Which interpreter a handler runs in (spec §3.1).
#pragma once

#include <string>

#include "apache/module_config.h"

namespace mp::handlers {

// The interpreter name for running `entry` for request `r` under `cfg`. `entry` may be null
// (e.g. for PythonImport-free lookups before a handler is known).
std::string interpreter_name(const request_rec* r, const apache::ModuleConfig* cfg,
                             const apache::HandlerEntry* entry);

// Connection handlers and PythonImport: per server.
std::string interpreter_name_for_server(const server_rec* s, const apache::ModuleConfig* cfg);

}  // namespace mp::handlers
