// mod_wsgi's process-wide directives for how Python runs in the children: optimisation, hash
// seed, warning filters, byte code, egg cache, switch interval, restricted standard streams.
#pragma once

#include "apache/apache.h"
#include "cpython/runtime.h"

namespace mp::module {

const char* directive_python_optimize(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_python_hash_seed(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_python_warnings(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_python_eggs(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_switch_interval(cmd_parms* cmd, void* mconfig, const char* value);

// WSGIDontWriteBytecode, WSGIRestrictStdin, WSGIRestrictStdout (cmd->info names which).
enum class RuntimeFlag : int { kDontWriteBytecode, kRestrictStdin, kRestrictStdout };
const char* directive_runtime_flag(cmd_parms* cmd, void* mconfig, int on);
const RuntimeFlag* runtime_flag_info(RuntimeFlag which) noexcept;

// Copies the settings into the options Python starts with (before start-up, in the child).
void apply_wsgi_runtime_settings(cpython::RuntimeOptions* options);

}  // namespace mp::module
